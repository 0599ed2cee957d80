import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

describe('sshstream demo', () => {
  it('pushes through a throwaway sshd and shows the verified md5 and the command to type', async () => {
    const result = await runCli(['demo', '--size', '8']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /starting a throwaway sshd on 127\.0\.0\.1/);
    assert.match(
      result.stderr,
      /sshstream: pushed 8\.0 MiB to sandbox:\S+\/demo\.bin in .* md5 ([0-9a-f]{32}) verified/,
    );
    const verified = /md5 ([0-9a-f]{32}) verified/.exec(result.stderr)![1];
    assert.match(
      result.stderr,
      new RegExp(`independent check: remote md5sum says ${verified}: identical`),
    );
    assert.match(result.stderr, /cat demo\.bin \| sshstream push user@host:\/path\/demo\.bin/);
    assert.equal(result.stdout.length, 0);
  });

  it('--help documents the exit codes', async () => {
    const result = await runCli(['--help']);
    assert.equal(result.code, 0);
    for (const code of ['0 ', '1 ', '2 ', '3 ', '4 ', '5 ', '130/143']) {
      assert.ok(result.stdout.toString().includes(`\n  ${code}`), code);
    }
  });
});
