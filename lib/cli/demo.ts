import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createProgress } from '../../transforms/progress.js';
import { printResult } from './report.js';
import { execRemote } from '../ssh/exec.js';
import { createPushStream } from '../push/create.js';
import { startSandbox } from '../sandbox/sandbox.js';

/** What `sshstream demo` runs. */
export interface DemoOptions {
  /** MiB of random data to push. */
  mib: number;
  signal?: AbortSignal;
}

const say = (text: string) => process.stderr.write(`${text}\n`);

/**
 * The whole job against a throwaway local sshd: start it, push generated data through the real
 * ssh client, check the remote file independently, print the command a user would type, tear
 * down. Needs only OpenSSH installed; says what to install otherwise.
 */
export async function runDemo({ mib, signal }: DemoOptions): Promise<void> {
  say('sshstream demo: starting a throwaway sshd on 127.0.0.1 ...');
  const sandbox = await startSandbox();
  try {
    say(
      `  sshd on 127.0.0.1:${sandbox.port}, user ${sandbox.user}, ssh config ${sandbox.configPath}`,
    );
    const target = `${sandbox.host}:${sandbox.scratch}/demo.bin`;
    const bytes = Math.round(mib * 1024 * 1024);
    const localHash = createHash('md5');
    const source = Readable.from(generate(bytes, (chunk) => localHash.update(chunk)));
    say(`  pushing ${mib} MiB of random data to ${target}`);
    const push = createPushStream(target, { config: sandbox.configPath, signal });
    const progress = createProgress({
      output: process.stderr,
      label: `push ${target}`,
      total: bytes,
      mode: process.stderr.isTTY ? 'tty' : 'lines',
    });
    push.once('verify', () => progress.setPhase('verifying md5 on the remote side…'));
    await pipeline(source, progress, push);
    progress.done();
    const result = await push.result;
    printResult(result, { checksum: 'md5', option: [], streams: 'auto' }, 'pushed');
    const remote = await execRemote(sandbox.host, ['md5sum', `${sandbox.scratch}/demo.bin`], {
      config: sandbox.configPath,
    });
    const remoteMd5 = remote.stdout.toString('latin1').split(' ')[0];
    const ok = remoteMd5 === localHash.digest('hex') && remoteMd5 === result.digest;
    say(`  independent check: remote md5sum says ${remoteMd5}: ${ok ? 'identical' : 'DIFFERENT'}`);
    if (!ok) throw new Error('demo: the remote file differs from what was sent');
    say('');
    say('Against a real host you would type:');
    say('  cat demo.bin | sshstream push user@host:/path/demo.bin');
    say('Here that was:');
    say(`  cat demo.bin | sshstream push -F ${sandbox.configPath} ${target}`);
  } finally {
    await sandbox.stop();
  }
}

// Random bytes in 1 MiB chunks, generated as they are read (constant memory).
function* generate(total: number, onChunk: (chunk: Buffer) => void): Generator<Buffer> {
  for (let sent = 0; sent < total;) {
    const chunk = randomBytes(Math.min(1 << 20, total - sent));
    onChunk(chunk);
    sent += chunk.length;
    yield chunk;
  }
}
