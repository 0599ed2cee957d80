import { rmSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropbearCommand, findDropbearTools, homeOf } from './dropbear.js';
import { findSshd } from './binaries.js';
import { assertNotLocked, resolveLoginUser } from './login-user.js';
import { assertPlainPath, writeLoginFiles } from './keys.js';
import { HOST, sshConfigText, sshdCommand, validateAliases, withoutBashrc } from './ssh-configs.js';
import { signalAll, terminate, type Sshd } from './server-process.js';
import { startServer } from './start-server.js';

export { findSshd };

/** The SSH server a sandbox runs: OpenSSH's sshd (default) or Dropbear (routers, NAS). */
export type SandboxServer = 'openssh' | 'dropbear';

/** Options for {@link startSandbox}. */
export interface SandboxOptions {
  /**
   * `'dropbear'` runs Dropbear instead of sshd (root on Linux only: it sees the sandbox key as the
   * login user's ~/.ssh/authorized_keys in a private mount namespace). Default `'openssh'`.
   */
  server?: SandboxServer;
  /**
   * The OpenSSH server binary to run, instead of the one installed (another version of it, say:
   * one from 9.8 on needs `SshdSessionPath` in `sshdConfig` when its helpers live elsewhere).
   */
  sshd?: string;
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
  /**
   * Whether the login user's bash reads ~/.bashrc for each ssh command, as Debian's bash does
   * under sshd (OpenSSH only; other users logging in always do). Default: no when the sandbox
   * logs in as the account running it, whose
   * startup files belong to the machine, not to the test (a CI machine's `pyenv init` there,
   * waiting on a stale lock, took 60 s per login); yes for a `user`, whose files the caller set up.
   */
  bashrc?: boolean;
  /**
   * Variables added to the server's environment (which its connections' processes inherit; the
   * login sessions get sshd's own): a benchmark can give sshd glibc's malloc settings, say.
   */
  serverEnv?: Record<string, string>;
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

// As root, sshd insists on its privilege separation directory (Debian's is /run/sshd).
const ensurePrivsepDir = async (): Promise<void> => {
  if (process.getuid?.() === 0 && process.platform === 'linux') {
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
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
  if (
    dropbear !== undefined &&
    (options.sshd ?? options.sshdConfig ?? options.sshdMatch ?? options.bashrc) !== undefined
  ) {
    throw new Error(
      'dropbear sandbox: sshd, sshdConfig, sshdMatch and bashrc apply to OpenSSH only',
    );
  }
  const bashrc = options.bashrc ?? options.user !== undefined;
  const sshdPath = dropbear === undefined ? (options.sshd ?? findSshd()) : dropbear.dropbear;
  if (sshdPath === undefined) throw new SshdNotFoundError();
  const aliases = validateAliases(options.aliases ?? []);
  const user = await resolveLoginUser(options.user);
  const sshdMatch = [
    ...(bashrc ? [] : withoutBashrc(user.name, options.sshdConfig ?? [])),
    ...(options.sshdMatch ?? []),
  ];
  await assertNotLocked(user.name);
  if (dropbear === undefined) await ensurePrivsepDir();
  const dir = await mkdtemp(join(tmpdir(), 'sshstream-'));
  let sshd: Sshd | undefined;
  try {
    assertPlainPath(dir);
    const scratch = await writeLoginFiles(dir, user, dropbear);
    const home = dropbear === undefined ? '' : await homeOf(user.name);
    const started = await startServer(
      dir,
      async (port) =>
        dropbear === undefined
          ? sshdCommand(sshdPath, dir, port, options.sshdConfig ?? [], sshdMatch)
          : dropbearCommand(dropbear, dir, port, home),
      options.serverEnv,
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
