// The consumers of the packed package that test/e2e/package.test.ts installs it for: a typed
// TypeScript one (checked by tsc against the shipped declarations), ES module, CommonJS, and
// the sandbox export.

/** A TypeScript consumer of every public type, for tsc with {@link consumerTsconfig}. */
export const CONSUMER_TS = `import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  createPullStream,
  createPushStream,
  type ErrorContext,
  type PullResult,
  type PullStream,
  type PullWithRetriesOptions,
  type PushInput,
  type PushResult,
  type PushStream,
  type PushWithRetriesOptions,
  type RetryOptions,
  type TransferResult,
} from 'sshstream';

// Every type that appears in a public signature can be named from the package root.
export type PublicTypes = [
  ErrorContext,
  PullWithRetriesOptions,
  PushInput,
  PushWithRetriesOptions,
  RetryOptions,
  TransferResult,
];

export async function roundTrip(target: string, config: string): Promise<[PushResult, PullResult]> {
  const push: PushStream = createPushStream(target, { config, checksum: 'sha256', mkdir: true });
  await pipeline(Readable.from([Buffer.from('typed')]), push);
  const pull: PullStream = createPullStream(target, { config, compress: 'gzip' });
  pull.resume();
  const pulled: PullResult = await pull.result;
  const bytes: number = pulled.bytes;
  const verified: true = pulled.verified;
  void bytes;
  void verified;
  return [await push.result, pulled];
}

// @ts-expect-error checksum is one of the supported algorithm names, not any string
createPushStream('h:f', { checksum: 'crc32' });
// @ts-expect-error a pull reads one source, not a list
createPullStream(['h:a', 'h:b']);
`;

/** A TypeScript consumer of every public type, for tsc with {@link consumerTsconfig}. */
export /** The consumer's tsconfig: strict, nodenext, Node's types from `typeRoots`. */
function consumerTsconfig(typeRoots: string): object {
  return {
    compilerOptions: {
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noEmit: true,
      types: ['node'],
      typeRoots: [typeRoots],
    },
    files: ['consumer.ts'],
  };
}

/** Pushes and pulls through `import 'sshstream'`; prints what came back as JSON. */
export const ESM_CONSUMER = `import { createPullStream, createPushStream } from 'sshstream';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const [target, config] = process.argv.slice(2);
const push = createPushStream(target, { config });
await pipeline(Readable.from([Buffer.from('imported as ESM\\n')]), push);
const chunks = [];
const pull = createPullStream(target, { config });
for await (const chunk of pull) chunks.push(chunk);
const pushed = await push.result;
const pulled = await pull.result;
console.log(JSON.stringify({ pushed: pushed.bytes, text: Buffer.concat(chunks).toString(), verified: pulled.verified }));
`;

/** `require('sshstream')`: prints the types of the main functions. */
export const CJS_CONSUMER = `const sshstream = require('sshstream');
console.log(JSON.stringify(['createPushStream', 'createPullStream', 'push', 'pull'].map((name) => typeof sshstream[name])));
`;

/** The sandbox is its own export: prints the type of startSandbox there and in the root. */
export const SANDBOX_CONSUMER = `import { startSandbox } from 'sshstream/sandbox';
import * as library from 'sshstream';
console.log(JSON.stringify([typeof startSandbox, typeof library.startSandbox]));
`;
