// The header line before a session's data: found past login-shell noise, the data left intact.
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { bytesAfterHeader, parseDataHeader, readHeader } from '../../lib/remote/header.js';

const TAG = 'SSHSTREAM-0123456789abcdef';
const context = { operation: 'pull', target: 'h:/f' };

const collect = async (source: AsyncIterable<Buffer>): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks).toString('latin1');
};

const tooMuchNoise = {
  name: 'RemoteIOError',
  code: 'ERR_SSHSTREAM_REMOTE_IO',
  exitCode: 4,
  message: /^pull h:\/f: no data header from the remote side after 1 MiB of output/,
};

describe('readHeader', () => {
  it('reads the fields and leaves the stream at the first byte of data', async () => {
    const stream = new PassThrough();
    const header = readHeader(stream, TAG, context);
    stream.write('motd\nno newline yet');
    stream.write(`${TAG} 11 0 -`);
    stream.write(`\nhello `);
    assert.deepEqual(await header, { fields: ['11', '0', '-'] });
    stream.end('world');
    assert.equal(await text(stream), 'hello world');
  });

  it('gives the last line printed when the output ends without a header', async () => {
    const stream = Readable.from([Buffer.from('welcome\nThis account is disabled.\x1b[0m\n\n')]);
    assert.deepEqual(await readHeader(stream, TAG, context), {
      fields: undefined,
      noise: 'This account is disabled.\\x1b[0m',
    });
  });

  it('rejects after 1 MiB of output without a header', async () => {
    const stream = new PassThrough();
    const header = readHeader(stream, TAG, context);
    stream.write(Buffer.alloc(1024 * 1024 + 1, 'y'));
    await assert.rejects(header, tooMuchNoise);
  });

  it('passes on a stream error', async () => {
    const stream = new PassThrough();
    const header = readHeader(stream, TAG, context);
    stream.destroy(new Error('EPIPE here'));
    await assert.rejects(header, /EPIPE here/);
  });
});

describe('bytesAfterHeader', () => {
  it('drops everything up to the header line, split over chunks', async () => {
    const chunks = [
      'noise ',
      `${TAG.slice(0, 5)}`,
      `${TAG.slice(5)} 3 0 gzip\nab`,
      'c',
      `\n${TAG} x\n`,
    ];
    const out = await collect(
      bytesAfterHeader(Readable.from(chunks.map((c) => Buffer.from(c))), TAG, context),
    );
    // A second header-like line is data: only the first one is the header.
    assert.equal(out, `abc\n${TAG} x\n`);
  });

  it('yields nothing when the header never comes', async () => {
    const out = await collect(
      bytesAfterHeader(Readable.from([Buffer.from('noise\n')]), TAG, context),
    );
    assert.equal(out, '');
  });

  it('throws after 1 MiB of output without a header', async () => {
    const source = Readable.from([Buffer.alloc(600 * 1024, 'y'), Buffer.alloc(600 * 1024, 'y')]);
    await assert.rejects(collect(bytesAfterHeader(source, TAG, context)), tooMuchNoise);
  });
});

describe('parseDataHeader', () => {
  it('reads size, offset and compression', () => {
    assert.deepEqual(parseDataHeader(['1048576', '4096', 'zstd']), {
      size: 1048576,
      offset: 4096,
      compress: 'zstd',
    });
  });

  it("reads '-' (not a regular file) and missing fields", () => {
    assert.deepEqual(parseDataHeader(['-', '0', '-']), {
      size: undefined,
      offset: 0,
      compress: '-',
    });
    assert.deepEqual(parseDataHeader([]), { size: undefined, offset: 0, compress: undefined });
    assert.deepEqual(parseDataHeader(['0']), { size: 0, offset: 0, compress: undefined });
  });

  it('takes garbage for unknown, not for a number', () => {
    assert.deepEqual(parseDataHeader(['12x', 'zz', 'gzip']), {
      size: undefined,
      offset: 0,
      compress: 'gzip',
    });
  });
});
