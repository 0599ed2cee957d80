import { debug } from '../util/debug.js';
import { buildSshInvocation, spawnSsh, type SshDestination, type SshOptions } from './command.js';

/**
 * What `ssh -G` prints: each keyword's first value (lower-case keyword -> value), as ssh uses it,
 * and with {@link all} every value of a keyword given more than once (`identityfile`).
 */
export class SshSettings extends Map<string, string> {
  private readonly lists = new Map<string, string[]>();

  /** Records one line of `ssh -G`. */
  add(keyword: string, value: string): void {
    if (!this.has(keyword)) this.set(keyword, value);
    const list = this.lists.get(keyword);
    if (list) list.push(value);
    else this.lists.set(keyword, [value]);
  }

  /** Every value of `keyword`, in ssh's order; none when ssh printed none. */
  all(keyword: string): readonly string[] {
    return this.lists.get(keyword) ?? [];
  }
}

const cache = new Map<string, Promise<SshSettings | undefined>>();

// `ssh -G` costs a process start, and every transfer asks for the same settings several times
// (ciphers, keep-alives, session options, the user's master), a fan-out once per target: one
// run per destination and options serves the whole process. A failed run is not kept, so a
// later transfer tries again.
/**
 * The effective ssh settings for `destination` with the user's options (`ssh -G`), or
 * undefined when ssh cannot tell. Always the system ssh, never --ssh.
 */
export function effectiveSshConfig(
  destination: SshDestination,
  options: SshOptions,
): Promise<SshSettings | undefined> {
  const { port, identity, config, options: extra, jump } = options;
  const key = JSON.stringify([
    destination.host,
    destination.user,
    port,
    identity,
    config,
    extra,
    jump,
  ]);
  let found = cache.get(key);
  if (!found) {
    found = readConfig(destination, options);
    cache.set(key, found);
    const forget = () => cache.delete(key);
    found.then((settings) => {
      if (!settings) forget();
    }, forget);
  }
  return found;
}

async function readConfig(
  destination: SshDestination,
  options: SshOptions,
): Promise<SshSettings | undefined> {
  const invocation = buildSshInvocation(
    destination,
    { ...options, sshCommand: '' },
    ['-G'],
    'true',
  );
  debug('ssh -G: spawning');
  const result = await spawnSsh(invocation, { stdin: 'ignore', timeout: 5000 });
  debug(`ssh -G: exit ${result.exitCode}`);
  if (result.exitCode !== 0) return undefined;
  const settings = new SshSettings();
  for (const line of Buffer.from(result.stdout as Uint8Array)
    .toString('latin1')
    .split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) settings.add(line.slice(0, space), line.slice(space + 1).trim());
  }
  return settings;
}
