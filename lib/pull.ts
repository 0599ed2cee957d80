import { randomBytes, type Hash } from 'node:crypto';
import { Transform, type Duplex, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  createChecksum,
  type ChecksumAlgorithm,
  type ChecksumStream,
} from '../transforms/checksum.js';
import {
  createDecompressor,
  DEFAULT_COMPRESSION_LEVEL,
  isCompression,
  localCompressions,
  type Compression,
  type CompressionChoice,
} from '../transforms/compress.js';
import { createThrottle } from '../transforms/throttle.js';
import {
  AbortError,
  ConnectionError,
  LocalIOError,
  SshStreamError,
  VerificationError,
  type ErrorContext,
} from './errors.js';
import { fastCipherOptions } from './ssh/cipher.js';
import { keepAliveOptions } from './ssh/keep-alive.js';
import { sessionOptions } from './ssh/session-options.js';
import {
  stallError,
  stallTimeoutOf,
  watchStall,
  type StallOptions,
  type StallWatch,
} from './util/stall-watchdog.js';
import { classifyFailure } from './ssh/failure.js';
import { checkCompressLevel } from './util/compress-level.js';
import { destroyOnAbort } from './util/abort.js';
import { verifiedResult, type TransferResult } from './util/result.js';
import { buildRemoteCommand, SCRIPT_INPUT } from './remote/script.js';
import { HeaderStripper } from './header.js';
import { LateDecompressor } from './late-decompressor.js';
import { ReportReader } from './remote/reports.js';
import { buildSshInvocation, spawnSsh, type SshOptions, type SshProcess } from './ssh/command.js';
import { parseTarget, type Target } from './ssh/target.js';

/** Options of a pull. */
export interface PullOptions extends SshOptions, StallOptions {
  /** Hash over the uncompressed bytes on both ends. Default 'md5'. */
  checksum?: ChecksumAlgorithm;
  /**
   * Compress on the wire. `'auto'`: the remote side samples the file's first 64 KiB and
   * compresses (zstd if both ends have it, else gzip) only when they shrink below 90%.
   */
  compress?: CompressionChoice | undefined;
  /** Limit the rate on the wire, in bytes per second. */
  limitRate?: number | undefined;
  /** Compression level (gzip 1-9, zstd 1-19), applied on the remote side. */
  compressLevel?: number | undefined;
  /** Aborting kills ssh and errors the stream with AbortError. */
  signal?: AbortSignal | undefined;
  /**
   * Resume: the caller already holds the first `bytes` bytes, and `hash` (of the chosen
   * algorithm) has seen them. If the remote file starts with the same bytes, only the rest is
   * sent (`offset` then equals `bytes`); otherwise all of it is. The digest still covers the
   * whole file.
   */
  resumeFrom?: { bytes: number; hash: Hash } | undefined;
}

// How long a local stage's error waits for the remote side's own report of the cause.
const REMOTE_REPORT_GRACE_MS = 2000;

/** What a verified pull reports. */
export type PullResult = TransferResult;

/**
 * The Readable returned by createPullStream. It ends only after the remote count and digest
 * matched what arrived; otherwise it errors (typed). `size` is known once the header arrived.
 */
export class PullStream extends Transform {
  /** Resolves after verification; rejects with the stream's error. */
  readonly result: Promise<PullResult>;
  /** Size the remote side announced (regular files), once known. */
  size: number | undefined;
  /** Where the data starts in the remote file: 0, or `resumeFrom.bytes` when resuming. */
  offset = 0;
  /** The compression on the wire; with `'auto'`, what the remote side chose (once the data starts). */
  compress: Compression | undefined;
  private child: SshProcess | undefined;
  private readonly checksum: ChecksumStream;
  private stderr!: ReportReader;
  private stall: StallWatch | undefined;
  private header: HeaderStripper | undefined;
  private readonly tag = `SSHSTREAM-${randomBytes(8).toString('hex')}`;
  private readonly started = performance.now();
  private resolveResult!: (result: PullResult) => void;
  private rejectResult!: (error: Error) => void;

  constructor(
    private readonly source: Target,
    private readonly options: PullOptions,
    private readonly context: ErrorContext,
  ) {
    super({ highWaterMark: 1 << 20 });
    this.result = new Promise((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    this.result.catch(() => {});
    this.checksum = createChecksum(options.checksum ?? 'md5');
    this.compress = options.compress === 'auto' ? undefined : options.compress;
    this.on('close', () => this.stopSsh());
    destroyOnAbort(this, options.signal, context);
  }

  override _construct(callback: (error?: Error | null) => void): void {
    Promise.all([
      fastCipherOptions(this.source, this.options),
      keepAliveOptions(this.source, this.options, stallTimeoutOf(this.options)),
      sessionOptions(this.source, this.options),
    ])
      .then(([cipher, keepAlive, session]) => this.start([...cipher, ...keepAlive, ...session]))
      .then(() => callback(), callback);
  }

  // Spawns ssh running the remote pull script and wires its stdout through the stages into us.
  private start(extraOptions: string[]): void {
    const { options, source, tag } = this;
    const algorithm = this.checksum.algorithm;
    const resume = algorithm !== 'none' ? options.resumeFrom : undefined;
    const auto = options.compress === 'auto';
    const fixed = this.compress;
    // auto: the remote side picks among the formats this side can decompress, at its level.
    const compress = auto ? `auto:${localCompressions().join(',')}` : (fixed ?? '');
    const level = fixed && (options.compressLevel ?? DEFAULT_COMPRESSION_LEVEL[fixed]);
    const invocation = buildSshInvocation(
      source,
      options,
      extraOptions,
      buildRemoteCommand([
        tag,
        'pull',
        source.path,
        algorithm,
        compress,
        String(level ?? ''),
        String(resume?.bytes ?? 0),
        resume ? resume.hash.copy().digest('hex') : '',
      ]),
    );
    this.child = spawnSsh(invocation, {
      input: SCRIPT_INPUT,
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
    });
    this.stderr = new ReportReader(tag, this.child.stderr);
    void this.child.then(() => this.stderr.end());
    const late = auto ? new LateDecompressor() : undefined;
    this.header = new HeaderStripper(
      tag,
      (size, offset, chosen) => {
        if (late && isCompression(chosen)) {
          late.decompressWith(chosen);
          this.compress = chosen;
        }
        if (resume && offset === resume.bytes && offset > 0) {
          this.offset = offset;
          this.checksum.continueFrom(resume.hash.copy(), offset);
        }
        this.announce(size);
        this.watchStall();
      },
      this.context,
    );
    const stages: Duplex[] = [this.header];
    if (options.limitRate) stages.push(createThrottle(options.limitRate));
    if (late) stages.push(late);
    else if (fixed) stages.push(createDecompressor(fixed));
    stages.push(this.checksum);
    // Errors inside are reported through this stream; the exit status decides the cause.
    pipeline([this.child.stdout!, ...stages, this] as unknown as NodeJS.WritableStream[]).catch(
      () => {},
    );
  }

  // From the header on the data flows: ssh's output not moving while we read it is a stall.
  // Before it (connecting, the remote side comparing a resumed prefix) keep-alives watch.
  private watchStall(): void {
    const stdout = this.child!.stdout! as Readable & { bytesRead?: number };
    const ms = stallTimeoutOf(this.options);
    this.stall = watchStall(
      ms,
      {
        moved: () => stdout.bytesRead ?? 0,
        waiting: () => stdout.readableFlowing === true && this.child!.exitCode === null,
      },
      () => this.destroy(stallError(ms, this.context)),
    );
  }

  private stopSsh(): void {
    this.stall?.stop();
    if (this.child && this.child.exitCode === null) this.child.kill('SIGTERM');
  }

  private announce(size: number | undefined): void {
    this.size = size;
    this.emit('size', size);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(null, chunk);
  }

  // The end of the data is not the end of the transfer: wait for ssh, then compare.
  override _flush(callback: TransformCallback): void {
    this.stall?.stop();
    this.verify().then(
      (result) => {
        this.resolveResult(result);
        callback();
      },
      (error: Error) => callback(error),
    );
  }

  private async verify(): Promise<PullResult> {
    const exit = await this.child!;
    this.stderr.end();
    if (exit.exitCode !== 0) {
      throw classifyFailure(exit, this.stderr, this.context, this.header?.noiseLine);
    }
    const { digest, bytes, algorithm } = await this.checksum.result;
    const sum = this.stderr.reports.find((report) => report.word === 'sum');
    if (!sum)
      throw new ConnectionError('the remote side ended without a checksum report', this.context);
    const [remoteBytes = '', remoteDigest = ''] = sum.fields;
    if (remoteBytes !== String(bytes) || remoteDigest !== digest) {
      throw new VerificationError(
        `verification failed: remote read ${remoteBytes} bytes ${remoteDigest || '-'}, ` +
          `received ${bytes} bytes ${digest || '-'}`,
        { bytes: Number(remoteBytes), digest: remoteDigest },
        { bytes, digest },
        this.context,
      );
    }
    return verifiedResult({
      target: this.source.display,
      bytes,
      algorithm,
      digest,
      started: this.started,
      compress: this.compress,
      resumed: this.offset,
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    let settled = false;
    const settle = (failure: Error | null) => {
      if (settled) return;
      settled = true;
      this.rejectResult(failure ?? new AbortError('pull closed before the end', this.context));
      this.stopSsh();
      callback(failure);
    };
    if (!error || error instanceof SshStreamError || !this.child) return settle(error);
    // A local stage failing (gunzip on an empty stream, say) is often only the echo of a
    // remote failure: if ssh ends with a remote report soon, that report is the cause.
    const child = this.child;
    const grace = setTimeout(() => settle(error), REMOTE_REPORT_GRACE_MS);
    void child.then((exit) => {
      clearTimeout(grace);
      this.stderr.end();
      settle(
        exit.exitCode !== 0 && this.stderr.error
          ? classifyFailure(exit, this.stderr, this.context, this.header?.noiseLine)
          : error,
      );
    });
  }
}

/**
 * A Readable of the remote file `source` (`[user@]host:path`) through the system ssh. It ends
 * only after the remote count and digest of the bytes it read equal those that arrived;
 * otherwise it errors with a typed error (VerificationError, RemoteIOError, ConnectionError).
 */
export function createPullStream(source: string, options: PullOptions = {}): PullStream {
  const target = parseTarget(source, 'pull');
  const context = { operation: 'pull', target: target.display };
  checkCompressLevel(options.compress, options.compressLevel, context);
  buildSshInvocation(target, options, [], ''); // refuses a bad jump host now, not later
  // A local tool missing is a local problem, found before connecting.
  if (options.compress === 'zstd' && !localCompressions().includes('zstd')) {
    throw new LocalIOError('zstd not found locally: install zstd (it must be on PATH)', context);
  }
  return new PullStream(target, options, context);
}
