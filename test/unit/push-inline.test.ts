// InlineDelivery: a small input goes on the control session as one `put` line.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { encodePrintfFormat } from '../../lib/remote/script.js';
import { InlineDelivery } from '../../lib/push/inline.js';
import { createInputHash } from '../../lib/push/input-hash.js';
import type { ControlConnection } from '../../lib/ssh/control-connection.js';

// Only what the class uses: send() of a line to the control script.
function fakeControl() {
  const sent: string[] = [];
  const control = { send: (line: string) => void sent.push(line) };
  return { control: control as unknown as ControlConnection, sent };
}

const write = (delivery: InlineDelivery, chunk: Buffer) =>
  new Promise<void>((resolve, reject) =>
    delivery.write(chunk, (error) => (error ? reject(error) : resolve())),
  );

describe('InlineDelivery', () => {
  it('sends the whole input as one put line at the end, with count and digest', async () => {
    const { control, sent } = fakeControl();
    const delivery = new InlineDelivery(control, createInputHash('sha256'));
    const data = randomBytes(3000);
    await write(delivery, data.subarray(0, 1));
    await write(delivery, data.subarray(1, 2000));
    await write(delivery, data.subarray(2000));
    assert.deepEqual(sent, [], 'nothing before the end');
    const result = await delivery.end();
    assert.deepEqual(result, {
      bytes: 3000,
      digest: createHash('sha256').update(data).digest('hex'),
    });
    assert.deepEqual(sent, [`put 3000 ${encodePrintfFormat(data)}`]);
    assert.equal(delivery.compress, undefined);
  });

  it('sends every byte as a printf octal escape, newlines and NULs included', async () => {
    const { control, sent } = fakeControl();
    const delivery = new InlineDelivery(control, createInputHash('md5'));
    await write(delivery, Buffer.from('a\n\0\xff', 'latin1'));
    await delivery.end();
    assert.deepEqual(sent, ['put 4 \\141\\012\\000\\377']);
  });

  it('sends nothing for an empty input', async () => {
    const { control, sent } = fakeControl();
    const delivery = new InlineDelivery(control, createInputHash('md5'));
    assert.deepEqual(await delivery.end(), {
      bytes: 0,
      digest: createHash('md5').digest('hex'),
    });
    assert.deepEqual(sent, []);
  });

  it('gives the digest from digestSource when the input is hashed elsewhere', async () => {
    const { control, sent } = fakeControl();
    const delivery = new InlineDelivery(
      control,
      createInputHash('sha256', () => Promise.resolve('from-fan-out')),
    );
    await write(delivery, Buffer.from('abc'));
    assert.deepEqual(await delivery.end(), { bytes: 3, digest: 'from-fan-out' });
    assert.deepEqual(sent, ['put 3 \\141\\142\\143']);
  });
});
