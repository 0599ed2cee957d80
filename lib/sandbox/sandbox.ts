import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  dropbearCommand,
  findDropbearTools,
  homeOf,
  writeDropbearHostKey,
  writeDropbearKeys,
  type ServerCommand,
} from './dropbear.js';
import { findExecutable } from '../../transforms/which.js';

const run = promisify(execFile);

/** The SSH server a sandbox runs: OpenSSH's sshd (default) or Dropbear (routers, NAS). */
export type SandboxServer = 'openssh' | 'dropbear';

/** Options for {@link startSandbox}. */
export interface SandboxOptions {
  /**
   * `'dropbear'` runs Dropbear instead of sshd (root on Linux only: it sees the sandbox key as the
   * login user's ~/.ssh/authorized_keys in a private mount namespace). Default `'openssh'`.
   */
  server?: SandboxServer;
  /** Extra Host aliases in the generated ssh_config that point at the same sshd (for multi-target tests). */
  aliases?: string[];
  /** Log in as this existing local user instead of the current one (root only). */
  user?: string;
  /**
   * Extra sshd_config lines. They go before the defaults, so they override them (sshd keeps the
   * first value of a keyword); a `Match` block goes in `sshdMatch`.
   */
  sshdConfig?: string[];
  /** sshd_config lines appended after the defaults: `Match` blocks (e.g. `Match User NAME`). */
  sshdMatch?: string[];
}

/** A running throwaway sshd on 127.0.0.1 and the ssh_config that reaches it. */
export interface Sandbox {
  /** Which server runs: `'openssh'` or `'dropbear'`. */
  readonly server: SandboxServer;
  /** The main alias in ssh_config: `'sandbox'`. */
  readonly host: string;
  /** All aliases, host first. */
  readonly aliases: string[];
  /** sshd port on 127.0.0.1. */
  readonly port: number;
  /** Login user name. */
  readonly user: string;
  /** Temp dir holding keys, configs, logs (mode 0755). */
  readonly dir: string;
  /** Generated ssh_config. */
  readonly configPath: string;
  /** User private key. */
  readonly identityPath: string;
  readonly knownHostsPath: string;
  /** A fresh directory writable by the login user, for remote files in tests. */
  readonly scratch: string;
  /** `['-F', configPath]`: what a client passes to ssh to reach the alias. */
  readonly sshArgs: string[];
  /** The server's log so far (its stderr, last 64 KiB); raise sshd's `LogLevel` to see logins. */
  log(): string;
  /** Stop sshd and its sessions (SIGTERM, wait for exit) and remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Thrown by {@link startSandbox} when no OpenSSH server binary is installed. */
export class SshdNotFoundError extends Error {
  constructor() {
    super(
      'sshd (OpenSSH server) not found in /usr/sbin, /usr/local/sbin, /sbin or PATH: install it with ' +
        '`apt-get install openssh-server` (Debian, Ubuntu) or `dnf install openssh-server` (Fedora, ' +
        'RHEL); macOS ships /usr/sbin/sshd',
    );
    this.name = 'SshdNotFoundError';
  }
}

const HOST = 'sandbox';
const HOST_KEY_ALIAS = 'sshstream-sandbox';
const READY_TIMEOUT_MS = 10_000;
const KILL_AFTER_MS = 3_000;
const PORT_ATTEMPTS = 5;
const STDERR_LIMIT = 64 * 1024;

interface LoginUser {
  name: string;
  uid: number;
  gid: number;
}

interface Sshd {
  child: ChildProcess;
  exited: Promise<void>;
  stderr: () => string;
}

// sshd is usually outside an ordinary user's PATH, so look in the sbin dirs first.
const findFirst = (candidates: string[], name: string): string | undefined =>
  candidates.map((path) => findExecutable(path)).find(Boolean) ?? findExecutable(name);

/** The absolute path of the OpenSSH server, or `undefined` when it is not installed. */
export const findSshd = (): string | undefined =>
  findFirst(['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/sbin/sshd'], 'sshd');

const findSshKeygen = (): string => {
  const path = findFirst(['/usr/bin/ssh-keygen', '/usr/local/bin/ssh-keygen'], 'ssh-keygen');
  if (path === undefined) {
    throw new Error(
      'ssh-keygen not found: install the OpenSSH client (`apt-get install openssh-client` or ' +
        '`dnf install openssh-clients`)',
    );
  }
  return path;
};

// scp talks SFTP since OpenSSH 9.0, so the sandbox needs an sftp subsystem.
const findSftpServer = (): string =>
  findFirst(
    [
      '/usr/lib/openssh/sftp-server',
      '/usr/libexec/openssh/sftp-server',
      '/usr/libexec/sftp-server',
    ],
    'sftp-server',
  ) ?? 'internal-sftp';

// Config files are written unquoted and some keywords expand % tokens, so refuse odd temp paths.
const assertPlainPath = (path: string): void => {
  if (!/^[\w./+,=@-]+$/.test(path)) {
    throw new Error(`temp dir ${JSON.stringify(path)} is not a plain path: set TMPDIR to one`);
  }
};

// A non-root sshd can only authenticate the user it runs as.
const resolveLoginUser = async (user: string | undefined): Promise<LoginUser> => {
  const self = userInfo();
  if (user === undefined || user === self.username) {
    return { name: self.username, uid: self.uid, gid: self.gid };
  }
  if (self.uid !== 0) {
    throw new Error(
      `sandbox user ${user}: only root can run an sshd that logs in as another user ` +
        `(a non-root sshd can only log in as ${self.username})`,
    );
  }
  const id = async (flag: string): Promise<number> => {
    try {
      return Number((await run('id', [flag, '--', user])).stdout.trim());
    } catch {
      throw new Error(`sandbox user ${user}: no such local user`);
    }
  };
  return { name: user, uid: await id('-u'), gid: await id('-g') };
};

// With UsePAM no, sshd refuses locked accounts ('!' password, useradd's default) even for keys.
const assertNotLocked = async (user: string): Promise<void> => {
  const shadow = await readFile('/etc/shadow', 'utf8').catch(() => '');
  const password = shadow
    .split('\n')
    .find((line) => line.startsWith(`${user}:`))
    ?.split(':')[1];
  if (password?.startsWith('!')) {
    throw new Error(
      `sandbox user ${user}: the account is locked (password "!..." in /etc/shadow) and sshd ` +
        `refuses it without PAM; unlock key logins with \`usermod -p '*' ${user}\``,
    );
  }
};

const generateKey = async (keygen: string, path: string): Promise<void> => {
  await run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'sshstream-sandbox', '-f', path]);
};

// Let the kernel pick a free port; sshd binds it a moment later (startSandbox retries on a race).
const freePort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
};

const sshdConfigText = (dir: string, port: number, extra: string[], match: string[]): string =>
  [
    ...extra,
    'ListenAddress 127.0.0.1',
    `Port ${port}`,
    `HostKey ${join(dir, 'host_ed25519_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'MaxSessions 100',
    'MaxStartups 200:30:300',
    'LogLevel ERROR',
    'PrintMotd no',
    'PrintLastLog no',
    `Subsystem sftp ${findSftpServer()}`,
    ...match,
    '',
  ].join('\n');

const sshConfigText = (aliases: string[], port: number, user: string, dir: string): string =>
  aliases
    .map((alias) =>
      [
        `Host ${alias}`,
        '  HostName 127.0.0.1',
        `  Port ${port}`,
        `  User ${user}`,
        `  IdentityFile ${join(dir, 'id_ed25519')}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
        `  HostKeyAlias ${HOST_KEY_ALIAS}`,
        '  StrictHostKeyChecking yes',
        '  BatchMode yes',
        '  LogLevel ERROR',
        '',
      ].join('\n'),
    )
    .join('\n');

// A bad alias would silently become an ssh_config pattern or a second keyword.
const validateAliases = (extra: string[]): string[] => {
  const aliases = [...new Set([HOST, ...extra])];
  for (const alias of aliases) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(alias)) {
      throw new Error(`sandbox alias ${JSON.stringify(alias)}: use letters, digits, . _ -`);
    }
  }
  return aliases;
};

// Keys, configs and the scratch dir, readable (and scratch writable) by the login user.
const writeFiles = async (
  dir: string,
  user: LoginUser,
  dropbear: ReturnType<typeof findDropbearTools> | undefined,
): Promise<string> => {
  const keygen = findSshKeygen();
  await chmod(dir, 0o755);
  await generateKey(keygen, join(dir, 'id_ed25519'));
  const userKey = await readFile(join(dir, 'id_ed25519.pub'), 'utf8');
  await writeFile(join(dir, 'authorized_keys'), userKey, { mode: 0o644 });
  let hostKey: string;
  if (dropbear === undefined) {
    await generateKey(keygen, join(dir, 'host_ed25519_key'));
    hostKey = await readFile(join(dir, 'host_ed25519_key.pub'), 'utf8');
  } else {
    hostKey = await writeDropbearHostKey(dropbear.dropbearkey, dir);
    await writeDropbearKeys(dir, userKey, { ...user, home: await homeOf(user.name) });
  }
  const [type, key] = hostKey.split(' ');
  await writeFile(join(dir, 'known_hosts'), `${HOST_KEY_ALIAS} ${type} ${key}\n`, { mode: 0o644 });
  const scratch = join(dir, 'scratch');
  await mkdir(scratch);
  await chmod(scratch, 0o755);
  if (user.uid !== userInfo().uid) await chown(scratch, user.uid, user.gid);
  return scratch;
};

// As root, sshd insists on its privilege separation directory (Debian's is /run/sshd).
const ensurePrivsepDir = async (): Promise<void> => {
  if (process.getuid?.() === 0 && process.platform === 'linux') {
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  }
};

// Unref'd so a forgotten sandbox never holds the process open; the exit hook kills it instead.
const launchServer = ({ command, args }: ServerCommand): Sshd => {
  const child = spawn(command, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_LIMIT);
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      stderr += error.message;
      resolve();
    });
  });
  child.unref();
  (child.stderr as Socket | null)?.unref();
  return { child, exited, stderr: () => stderr };
};

const hasExited = (child: ChildProcess): boolean =>
  child.exitCode !== null || child.signalCode !== null;

// A listening socket is not enough: only the SSH banner proves sshd accepts and serves connections.
const readsBanner = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (received.length >= 4) finish(received.startsWith('SSH-'));
    });
  });

// The pid file check makes sure the banner came from our sshd, not another server on a reused port.
const isOurs = async (pidPath: string, child: ChildProcess): Promise<boolean> => {
  const pid = await readFile(pidPath, 'utf8').catch(() => '');
  return pid.trim() === String(child.pid);
};

const waitUntilReady = async (sshd: Sshd, port: number, pidPath: string): Promise<void> => {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (hasExited(sshd.child) || sshd.child.pid === undefined) {
      await sshd.exited;
      throw new Error(`sshd exited early (${sshd.child.exitCode}): ${sshd.stderr().trim()}`);
    }
    if ((await isOurs(pidPath, sshd.child)) && (await readsBanner(port))) return;
    await sleep(50);
  }
  throw new Error(`sshd not ready on port ${port} after ${READY_TIMEOUT_MS} ms: ${sshd.stderr()}`);
};

// The listener's exit leaves sessions (and the commands they run) alive, so find them in /proc.
const descendantPids = (root: number): number[] => {
  const children = new Map<number, number[]>();
  for (const entry of readdirSafe('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readFileSafe(`/proc/${entry}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  let generation = [root];
  while (generation.length > 0) {
    generation = generation.flatMap((pid) => children.get(pid) ?? []);
    found.push(...generation);
  }
  return found;
};

const readdirSafe = (path: string): string[] => {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
};

const readFileSafe = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

// Signals the listener and every session it spawned; processes already gone are fine.
const signalAll = (sshd: Sshd, listenerSignal: NodeJS.Signals): void => {
  const sessions = sshd.child.pid === undefined ? [] : descendantPids(sshd.child.pid);
  sshd.child.kill(listenerSignal);
  for (const pid of sessions) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // exited meanwhile
    }
  }
};

const terminate = async (sshd: Sshd): Promise<void> => {
  if (!hasExited(sshd.child)) {
    sshd.child.ref();
    signalAll(sshd, 'SIGTERM');
    const timer = setTimeout(() => sshd.child.kill('SIGKILL'), KILL_AFTER_MS);
    await sshd.exited;
    clearTimeout(timer);
  }
  sshd.child.stderr?.destroy();
};

// The command that starts OpenSSH's sshd on `port`, after writing its config.
const sshdCommand = async (
  sshd: string,
  dir: string,
  port: number,
  extra: string[],
  match: string[],
): Promise<ServerCommand> => {
  const configPath = join(dir, 'sshd_config');
  await writeFile(configPath, sshdConfigText(dir, port, extra, match), { mode: 0o644 });
  return { command: sshd, args: ['-D', '-e', '-f', configPath] };
};

// Free ports can be taken between probing and binding, so retry on "Address already in use".
const startServer = async (
  dir: string,
  commandFor: (port: number) => Promise<ServerCommand>,
): Promise<{ sshd: Sshd; port: number }> => {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = launchServer(await commandFor(port));
    try {
      await waitUntilReady(server, port, join(dir, 'sshd.pid'));
      return { sshd: server, port };
    } catch (error) {
      await terminate(server);
      if (attempt >= PORT_ATTEMPTS || !server.stderr().includes('Address already in use')) {
        throw error;
      }
    }
  }
};

/**
 * Starts a throwaway OpenSSH sshd (or Dropbear, with `server: 'dropbear'`) on 127.0.0.1 at a
 * free port, with fresh host and user keys and an ssh_config whose aliases reach it with real
 * host key checking. Works as root (login user
 * root or `options.user`) and as an ordinary user (logging in as that user). Call `stop()` when
 * done; if the process exits first, sshd is killed and the temp dir removed anyway.
 *
 * @throws {SshdNotFoundError} when sshd is not installed.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const server = options.server ?? 'openssh';
  const dropbear = server === 'dropbear' ? findDropbearTools() : undefined;
  if (dropbear !== undefined && (options.sshdConfig ?? options.sshdMatch) !== undefined) {
    throw new Error('dropbear sandbox: sshdConfig and sshdMatch apply to OpenSSH only');
  }
  const sshdPath = dropbear === undefined ? findSshd() : dropbear.dropbear;
  if (sshdPath === undefined) throw new SshdNotFoundError();
  const aliases = validateAliases(options.aliases ?? []);
  const user = await resolveLoginUser(options.user);
  await assertNotLocked(user.name);
  if (dropbear === undefined) await ensurePrivsepDir();
  const dir = await mkdtemp(join(tmpdir(), 'sshstream-'));
  let sshd: Sshd | undefined;
  try {
    assertPlainPath(dir);
    const scratch = await writeFiles(dir, user, dropbear);
    const home = dropbear === undefined ? '' : await homeOf(user.name);
    const started = await startServer(dir, async (port) =>
      dropbear === undefined
        ? sshdCommand(sshdPath, dir, port, options.sshdConfig ?? [], options.sshdMatch ?? [])
        : dropbearCommand(dropbear, dir, port, home),
    );
    sshd = started.sshd;
    const configPath = join(dir, 'ssh_config');
    const config = sshConfigText(aliases, started.port, user.name, dir);
    await writeFile(configPath, config, { mode: 0o644 });
    return createSandbox({
      ...started,
      server,
      dir,
      scratch,
      aliases,
      user: user.name,
      configPath,
    });
  } catch (error) {
    if (sshd !== undefined) await terminate(sshd);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

// Ties stop() and the process exit hook to one running sshd.
const createSandbox = (running: {
  server: SandboxServer;
  sshd: Sshd;
  port: number;
  dir: string;
  scratch: string;
  aliases: string[];
  user: string;
  configPath: string;
}): Sandbox => {
  const { sshd, dir, configPath } = running;
  const onExit = (): void => {
    signalAll(sshd, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  let stopping: Promise<void> | undefined;
  return {
    server: running.server,
    host: HOST,
    aliases: running.aliases,
    port: running.port,
    user: running.user,
    dir,
    configPath,
    identityPath: join(dir, 'id_ed25519'),
    knownHostsPath: join(dir, 'known_hosts'),
    scratch: running.scratch,
    sshArgs: ['-F', configPath],
    log: sshd.stderr,
    stop: () =>
      (stopping ??= (async () => {
        process.off('exit', onExit);
        await terminate(sshd);
        await rm(dir, { recursive: true, force: true });
      })()),
  };
};
