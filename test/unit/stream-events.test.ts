// The streams' own events are typed: a listener of the wrong shape for 'verify', 'connected',
// 'outcome' or 'size' fails to compile (the @ts-expect-error lines below fail `tsc` the day
// the typing lets them through), while every other event keeps Node's own typing.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { PushStream } from '../../lib/push/push-stream.js';
import type { FanOutPushStream } from '../../lib/push/fan-out.js';
import type { PullStream } from '../../lib/pull/pull-stream.js';

function listen(push: PushStream, fanOut: FanOutPushStream, pull: PullStream): string[] {
  const heard: string[] = [];
  push.on('connected', () => heard.push('connected')).once('verify', () => heard.push('verify'));
  push.on('error', (error) => heard.push(error.message));
  push.on('finish', () => heard.push('finish'));
  fanOut.on('outcome', (outcome) => heard.push(outcome.target));
  pull.once('size', (size) => heard.push(String(size ?? 'unknown')));
  return heard;
}

// Never called: it only has to compile, with each of its listeners refused.
function mistyped(push: PushStream, fanOut: FanOutPushStream, pull: PullStream): string[] {
  const heard: string[] = [];
  // @ts-expect-error 'verify' passes no argument
  push.on('verify', (phase: string) => heard.push(phase));
  // @ts-expect-error 'connected' passes no argument
  push.once('connected', (count: number) => heard.push(String(count)));
  // @ts-expect-error an outcome is not a string
  fanOut.on('outcome', (outcome: string) => heard.push(outcome));
  // @ts-expect-error the size may be unknown
  pull.on('size', (size: number) => heard.push(size.toFixed()));
  return heard;
}
void mistyped;

describe('stream events', () => {
  it('hands each listener what its event carries', () => {
    const [push, fanOut, pull] = [new EventEmitter(), new EventEmitter(), new EventEmitter()];
    const heard = listen(
      push as unknown as PushStream,
      fanOut as unknown as FanOutPushStream,
      pull as unknown as PullStream,
    );
    push.emit('connected');
    push.emit('error', new Error('lost'));
    fanOut.emit('outcome', { target: 'h:/f', ok: false });
    pull.emit('size', undefined);
    assert.deepEqual(heard, ['connected', 'lost', 'h:/f', 'unknown']);
  });
});
