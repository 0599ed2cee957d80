// ReportReader: tagged report lines from a remote output stream, apart from the shell's noise.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { ReportReader } from '../../lib/remote/reports.js';

const TAG = 'SSHSTREAM-0123456789abcdef';
const hex = (text: string) => Buffer.from(text).toString('hex');

// Feeds `chunks` to a new reader and waits for the stream's end.
async function read(...chunks: (string | Buffer)[]): Promise<ReportReader> {
  const stream = new PassThrough();
  const reader = new ReportReader(TAG, stream);
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  await reader.ended;
  return reader;
}

describe('ReportReader', () => {
  it('parses tagged lines into word and fields, in order', async () => {
    const reader = await read(`${TAG} ready 0 zstd,gzip\n${TAG} ok 5 abc\n`);
    assert.deepEqual(reader.reports, [
      { word: 'ready', fields: ['0', 'zstd,gzip'] },
      { word: 'ok', fields: ['5', 'abc'] },
    ]);
  });

  it('keeps untagged noise apart, even a report that follows noise on its line', async () => {
    const reader = await read('Welcome!\n', `motd without newline${TAG} ready 0\r\n`, 'bye\n');
    assert.deepEqual(reader.reports, [{ word: 'ready', fields: ['0'] }]);
    assert.equal(reader.lastLine, 'bye');
    assert.ok(reader.includes('Welcome!'));
    assert.ok(reader.includes('motd without newline'));
    assert.ok(!reader.includes(TAG));
    const oneByte = await read(`x${TAG} ok 1\n`);
    assert.deepEqual(oneByte.reports, [{ word: 'ok', fields: ['1'] }]);
    assert.equal(oneByte.lastLine, 'x');
  });

  it('does not take another tag, or the tag without its space, for a report', async () => {
    const reader = await read(`SSHSTREAM-ffffffffffffffff ok 1\n${TAG}ok 1\n`);
    assert.deepEqual(reader.reports, []);
    assert.equal(reader.lastLine, `${TAG}ok 1`);
  });

  it('joins a report split across chunks, and reads a last line without newline', async () => {
    const line = `${TAG} commit 12 d41d8cd9\n`;
    const reader = await read(line.slice(0, 7), line.slice(7, 30), line.slice(30), `${TAG} done`);
    assert.deepEqual(reader.reports, [
      { word: 'commit', fields: ['12', 'd41d8cd9'] },
      { word: 'done', fields: [] },
    ]);
  });

  it('decodes the first error report and escapes its control characters', async () => {
    const reader = await read(
      `${TAG} err perm ${hex('cannot write /srv/\x1b[2Jx')}\n`,
      `${TAG} err io ${hex('second')}\n`,
    );
    assert.deepEqual(reader.error, { kind: 'perm', message: 'cannot write /srv/\\x1b[2Jx' });
  });

  it('has no error without an err report, and defaults a bare one to io', async () => {
    assert.equal((await read(`${TAG} ok 1\n`)).error, undefined);
    assert.deepEqual((await read(`${TAG} err\n`)).error, { kind: 'io', message: '' });
  });

  it('escapes the last line of noise and cuts it to its end', async () => {
    assert.equal((await read('ok\n\x1b]0;title\x07\n  \n')).lastLine, '\\x1b]0;title\\x07');
    const long = (await read('a'.repeat(5000) + 'END\n')).lastLine;
    assert.ok(long.startsWith('[...]a'), long.slice(0, 10));
    assert.ok(long.endsWith('aEND'));
    assert.equal(long.length, '[...]'.length + 2048);
  });

  it('next() waits for a later report, and gives undefined once the stream ends', async () => {
    const stream = new PassThrough();
    const reader = new ReportReader(TAG, stream);
    const committed = reader.next(['commit', 'mismatch']);
    stream.write(`${TAG} ready 0\n`);
    stream.write(`${TAG} mismatch 3 ab\n`);
    assert.deepEqual(await committed, { word: 'mismatch', fields: ['3', 'ab'] });
    // `from` skips reports already handled.
    const later = reader.next(['ready'], 1);
    stream.end();
    assert.equal(await later, undefined);
  });

  it('end() ends a reader without a stream', async () => {
    const reader = new ReportReader(TAG, undefined);
    const next = reader.next(['ok']);
    reader.end();
    assert.equal(await next, undefined);
    await reader.ended;
  });

  it('holds a bounded amount of text whatever the peer sends', async () => {
    const stream = new PassThrough();
    const reader = new ReportReader(TAG, stream);
    const noise = Buffer.alloc(256 * 1024, 'x');
    for (let i = 0; i < 8; i++) stream.write(noise); // 2 MiB on one line
    stream.write(Buffer.from(`\n${'line\n'.repeat(10_000)}`));
    stream.write(`tail ${TAG} ok 9\n`);
    stream.end();
    await once(stream, 'end');
    await reader.ended;
    assert.ok(reader.retained <= 16 * 1024, String(reader.retained));
    assert.deepEqual(reader.reports, [{ word: 'ok', fields: ['9'] }]);
  });
});
