// Dropbear (OpenWrt, many NAS images) refuses an exec command longer than 9,000 bytes
// (MAX_CMD_LEN): every operation's command line must stay well below that, whatever the path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildRemoteCommand,
  buildSavedScriptCommand,
  savedScriptPath,
} from '../../lib/remote/script.js';

const TAG = 'SSHSTREAM-0123456789abcdef';
// A 1,000-byte path: three digits per byte, still leaves room under the limit.
const PATH = `/srv/${'d'.repeat(990)}/f`;
const LIMIT = 9000;

describe('the remote command line stays under Dropbear MAX_CMD_LEN', () => {
  const cases: Record<string, string> = {
    'push-control': buildRemoteCommand([
      TAG,
      'push-control',
      PATH,
      '1',
      'sha256',
      '0644',
      'gzip',
      '1',
    ]),
    'push-data': buildRemoteCommand([TAG, 'push-data', PATH, 'zstd', '1']),
    'push-data, direct': buildSavedScriptCommand(savedScriptPath(PATH, TAG), [
      TAG,
      'push-data',
      PATH,
      '',
      '0',
      'md5',
    ]),
    pull: buildRemoteCommand([
      TAG,
      'pull',
      PATH,
      'md5',
      'auto:zstd,gzip',
      '3',
      '1048576',
      'f'.repeat(64),
    ]),
    exec: buildRemoteCommand([TAG, 'exec', 'printf', '%s', 'x'.repeat(200)]),
  };
  for (const [operation, command] of Object.entries(cases)) {
    it(`${operation}: ${command.length} bytes`, () => {
      assert.ok(command.length < LIMIT, `${command.length} bytes`);
    });
  }

  it('the saved copy lies beside the destination, as the remote script names it', () => {
    assert.equal(savedScriptPath('a/b', TAG), `./a/.sshstream-${TAG}.sh`);
    assert.equal(savedScriptPath('b', TAG), `./.sshstream-${TAG}.sh`);
    assert.equal(savedScriptPath('/b', TAG), `//.sshstream-${TAG}.sh`);
  });
});
