import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findSshKeygen } from './binaries.js';
import {
  type findDropbearTools,
  homeOf,
  writeDropbearHostKey,
  writeDropbearKeys,
} from './dropbear.js';
import type { LoginUser } from './login-user.js';
import { HOST_KEY_ALIAS } from './ssh-configs.js';

const run = promisify(execFile);

/**
 * Refuses a temp dir that config files could not name as it is. Config files are written unquoted
 * and some keywords expand % tokens, so refuse odd temp paths.
 */
export const assertPlainPath = (path: string): void => {
  if (!/^[\w./+,=@-]+$/.test(path)) {
    throw new Error(`temp dir ${JSON.stringify(path)} is not a plain path: set TMPDIR to one`);
  }
};

const generateKey = async (keygen: string, path: string): Promise<void> => {
  await run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'sshstream-sandbox', '-f', path]);
};

/**
 * Writes the keys, known_hosts and the scratch dir into `dir`; returns the scratch dir. Keys,
 * configs and the scratch dir, readable (and scratch writable) by the login user.
 */
export const writeLoginFiles = async (
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
