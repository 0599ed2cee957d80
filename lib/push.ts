import { fstatSync } from 'node:fs';
import { Writable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  createChecksum,
  type ChecksumAlgorithm,
  type ChecksumStream,
} from '../transforms/checksum.js';
import {
  AUTO_SAMPLE_BYTES,
  chooseCompression,
  createCompressor,
  localCompressions,
  type Compression,
  type CompressionChoice,
} from '../transforms/compress.js';
import { createThrottle } from '../transforms/throttle.js';
import { ControlConnection } from './control.js';
import {
  AbortError,
  ConnectionError,
  LocalIOError,
  type SshStreamError,
  UsageError,
  VerificationError,
  type ErrorContext,
} from './errors.js';
import { classifyFailure, type SshExit } from './failure.js';
import { checkCompressLevel } from './compress-level.js';
import { destroyOnAbort } from './abort.js';
import { debug } from './debug.js';
import { verifiedResult, type TransferResult } from './result.js';
import { descriptorOffset, digestOfDirect, fileStamp, type DirectInput } from './direct-input.js';
import { encodeArgument } from './remote-script.js';
import { ReportReader } from './reports.js';
import { createSkipBytes, hashPrefix } from './skip-bytes.js';
import { buildSshInvocation, type SshOptions, type SshProcess } from './ssh.js';
import { parseTarget, type Target } from './target.js';
import {
  stallError,
  StalledError,
  stallTimeoutOf,
  watchStall,
  type StallOptions,
  type StallWatch,
} from './stall-watchdog.js';

/** Options of a push: where ssh connects and how the bytes travel. */
export interface PushOptions extends SshOptions, StallOptions {
  /** Hash over the uncompressed bytes on both ends. Default 'md5'. */
  checksum?: ChecksumAlgorithm;
  /**
   * Compress on the wire (hashes stay over the uncompressed bytes). `'auto'`: only when the
   * first 64 KiB of the input shrink below 90%, with zstd if both ends have it, else gzip.
   */
  compress?: CompressionChoice | undefined;
  /** Compression level (gzip 1-9, zstd 1-19). */
  compressLevel?: number | undefined;
  /** Permission bits of the file, e.g. 0o640 or '640'. Default: keep an existing file's, else 0666 & ~umask. */
  mode?: number | string | undefined;
  /** Create missing parent directories on the remote host. */
  mkdir?: boolean | undefined;
  /** Limit the rate on the wire, in bytes per second. */
  limitRate?: number | undefined;
  /**
   * For a destination that cannot be renamed over (a bind-mounted file, Docker's `-v file:file`):
   * the data still lands in a temporary file and is verified there, then it is copied over the
   * existing file in place, written back and hashed again. Not atomic: a failure during that copy
   * leaves the destination damaged. A missing destination is still renamed into place.
   */
  inplace?: boolean | undefined;
  /** Aborting kills ssh, removes the remote temporary file and rejects with AbortError. */
  signal?: AbortSignal | undefined;
  /**
   * Resumable: a failed transfer keeps its remote partial file (`.NAME.sshstream-partial`), and
   * a partial file left by an earlier resumable push is continued when its content equals the
   * beginning of the input (re-read from `resumeSource`); otherwise it starts over. The whole
   * file is still verified before the commit.
   */
  resume?: boolean | undefined;
  /**
   * The digest of the input, computed elsewhere over the same bytes (a fan-out hashes its input
   * once for all targets); this stream then only counts. Called after the input has ended.
   */
  digestSource?: (() => Promise<string>) | undefined;
  /** The input again, as a local path or file descriptor (read with pread), to check a partial file. */
  resumeSource?: string | number | undefined;
  /**
   * The input is this descriptor of a regular file, from `start` on, and ssh reads it itself:
   * no byte passes through node (the local hash reads the range with pread). Write nothing to
   * the stream; end() it. Not with compress, limitRate or resume.
   */
  direct?: DirectInput | undefined;
  /**
   * Called once the input has ended and before the commit, with the number of bytes sent. A
   * throw (or rejection) calls the push off: nothing is committed and the promise rejects with
   * that error. E.g. wait for the process that produced the input and refuse unless it exited 0.
   */
  beforeCommit?: ((bytes: number) => void | Promise<void>) | undefined;
}

/**
 * An input of at most this many bytes, complete by the time the connection is up, travels on
 * the control session itself (octal-encoded, about 3 bytes per byte): no second session to
 * start, which costs a login shell's start-up (with a heavy .bashrc, more than the transfer).
 */
export const INLINE_LIMIT = 16 * 1024;

/** What a verified and committed push reports. */
export type PushResult = TransferResult;

/**
 * The Writable returned by createPushStream; `result` settles once the file is committed or not.
 * Emits `'connected'` once ssh has authenticated and the remote side is ready (until then ssh
 * may be asking on the terminal for a password or a host key).
 */
export class PushStream extends Writable {
  /** Resolves after the remote file is verified and renamed into place; rejects otherwise. */
  readonly result: Promise<PushResult>;
  private readonly target: Target;
  private readonly context: ErrorContext;
  private readonly started = performance.now();
  private control: ControlConnection | undefined;
  private data: SshProcess | undefined;
  private dataStderr: ReportReader | undefined;
  private readonly checksum: ChecksumStream;
  private readonly algorithm: ChecksumAlgorithm;
  private flow: Promise<unknown> | undefined;
  private committed = false;
  private skip = 0;
  // The compression on the wire; with 'auto', decided once `sample` is full or the input ended.
  private compress: Compression | undefined;
  private sample: Buffer[] | undefined;
  private sampled = 0;
  private available: Compression[] = [];
  private watchingControl = false;
  // Direct input: the local count and digest, and the file's size and mtime when it started.
  private directDigest: Promise<{ bytes: number; digest: string }> | undefined;
  private directStamp = '';
  // The input's chunks when it is small enough to go inline (see INLINE_LIMIT).
  private inline: Buffer[] | undefined;
  // Set once _final runs: from then on finish() reports failures itself, with the right class.
  private finishing = false;
  private stall: StallWatch | undefined;
  // Aborted by a destroy that comes while the push connects (see destroy).
  private readonly connecting = new AbortController();
  private opened = false;
  private resolveResult!: (result: PushResult) => void;
  private rejectResult!: (error: Error) => void;

  constructor(
    target: string,
    private readonly options: PushOptions = {},
  ) {
    // Bad arguments throw here, synchronously, before the stream schedules any work.
    const parsed = parseTarget(target, 'push');
    const context = { operation: 'push', target: parsed.display };
    modeArgument(options.mode, context);
    checkCompressLevel(options.compress, options.compressLevel, context);
    buildSshInvocation(parsed, options, [], ''); // refuses a bad jump host now, not later
    const { direct, compress, limitRate, resume } = options;
    if (direct && (compress || limitRate || resume)) {
      throw new UsageError(
        'a direct input cannot be combined with compress, limitRate or resume',
        context,
      );
    }
    super({ highWaterMark: 1 << 20 });
    this.target = parsed;
    this.context = context;
    this.algorithm = options.checksum ?? 'md5';
    this.compress = options.compress === 'auto' ? undefined : options.compress;
    this.checksum = createChecksum(options.digestSource ? 'none' : this.algorithm);
    this.result = new Promise<PushResult>((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    this.result.catch(() => {});
    destroyOnAbort(this, options.signal, context);
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.open().then(
      () => {
        this.opened = true;
        callback();
      },
      // Destroyed meanwhile: the destroy's error is the one to report, not how connecting ended.
      (error: Error) => {
        this.opened = true;
        callback(this.destroyed ? null : error);
      },
    );
  }

  // Node holds a destroy back until _construct has called back, and connecting can last
  // minutes (a silent server, a prompt nobody answers): ssh is stopped now, so it goes through.
  override destroy(error?: Error): this {
    if (!this.opened) this.connecting.abort(error);
    return super.destroy(error);
  }

  private async open(): Promise<void> {
    const { options, target } = this;
    const algorithm = options.checksum ?? 'md5';
    const auto = options.compress === 'auto';
    // The data session starts as soon as ssh has authenticated, so its start-up overlaps the
    // control script's checks; it waits for our "go" line before it touches any file. With
    // auto compression it needs the choice, made once a sample of the input is here.
    const startEarly = (control: ControlConnection) => {
      if (!auto && !options.direct && !this.fitsInline()) this.startDataSession(control);
    };
    this.control = await ControlConnection.open(
      {
        destination: target,
        ssh: options,
        remoteArgs: [
          'push-control',
          target.path,
          options.mkdir ? '1' : '0',
          algorithm,
          modeArgument(options.mode, this.context),
          options.compress ?? '',
          options.resume ? '1' : '0',
          options.inplace ? '1' : '0',
        ],
        context: this.context,
        stallTimeout: stallTimeoutOf(options),
        signal: this.connecting.signal,
      },
      startEarly,
    );
    if (this.destroyed) return; // cleanup (after this returns) closes the connection
    this.emit('connected');
    const partial = Number(this.control.ready.fields[0] ?? 0);
    this.skip = options.resume && partial > 0 ? await this.continuePartial(partial, algorithm) : 0;
    if (options.direct) return this.beginDirect(options.direct);
    if (!this.data && this.fitsInline()) {
      debug('push: small input, sent inline');
      this.inline = [];
      this.checksum.resume(); // only its count and digest are wanted
      return;
    }
    if (auto) {
      const remote = (this.control.ready.fields[1] ?? '').split(',');
      this.available = localCompressions().filter((kind) => remote.includes(kind));
      this.sample = [];
      this.watchControl();
      return;
    }
    this.beginData();
  }

  private startDataSession(control: ControlConnection): void {
    const { target, options } = this;
    this.data ??= control.spawnSession(
      ['push-data', target.path, this.compress ?? '', options.resume ? '1' : '0'],
      { stdin: 'pipe', stdout: 'ignore', stderr: 'pipe', buffer: false },
    );
    this.dataStderr ??= new ReportReader(control.tag, this.data.stderr);
  }

  // Direct input: the data session's stdin is the file itself, and it starts hashing at once
  // (no "go" line); the local hash reads the same bytes meanwhile.
  private async beginDirect(direct: DirectInput): Promise<void> {
    const control = this.control!;
    await control.saveScript(this.target.path);
    debug('push: ssh reads the input file itself');
    this.directStamp = fileStamp(direct.fd);
    const data = control.spawnSession(['push-data', this.target.path, '', '0', this.algorithm], {
      // Any descriptor number is passed on to the child; execa's types list only 0 and 3-9.
      stdin: direct.fd as 0,
      stdout: 'ignore',
      stderr: 'pipe',
      buffer: false,
    });
    this.data = data;
    this.dataStderr = new ReportReader(control.tag, data.stderr);
    this.directDigest = digestOfDirect(
      direct,
      this.algorithm,
      this.options.digestSource,
      () => this.destroyed,
    );
    this.directDigest.catch(() => {});
    this.checksum.resume();
    this.watchSessions(data);
    // ssh reads the file itself: its offset in the file is the progress.
    const size = fstatSync(direct.fd).size;
    this.watchStall({
      moved: () => descriptorOffset(direct.fd) ?? 0,
      waiting: () => data.exitCode === null && (descriptorOffset(direct.fd) ?? size) < size,
    });
  }

  // Starts the data session if it is not running yet, and the pipeline that feeds it.
  private beginData(): void {
    const { options } = this;
    this.startDataSession(this.control!);
    const data = this.data!;
    // Hashed in the same pass on the remote side, unless the file continues a partial one.
    data.stdin!.write(`go ${this.skip > 0 ? '-' : this.algorithm}\n`);
    const stages: Duplex[] = [this.checksum];
    if (this.skip > 0) stages.push(createSkipBytes(this.skip));
    // auto picks its format's default level: one level cannot suit both gzip and zstd.
    const level = options.compress === 'auto' ? undefined : options.compressLevel;
    if (this.compress) stages.push(createCompressor(this.compress, level));
    if (options.limitRate) stages.push(createThrottle(options.limitRate));
    // A failing stage (EPIPE when the remote side quit early) is not the cause; the data
    // session's exit is, and _final or the watchers below report that.
    const streams: NodeJS.WritableStream[] = [...stages, data.stdin!];
    this.flow = pipeline(streams).catch((error: unknown) => error);
    this.watchSessions(data);
    // Progress: bytes the pipe to ssh took. Data held in front of it means ssh is not reading.
    const stdin = data.stdin! as Writable & { bytesWritten?: number };
    this.watchStall({
      moved: () => (stdin.bytesWritten ?? 0) - stdin.writableLength,
      waiting: () => stdin.writableLength > 0 && data.exitCode === null,
    });
  }

  // Data ready to go and none moving for the stall timeout fails the push (retryable). After
  // the last byte left, ssh's keep-alives watch the link (see keepAliveOptions).
  private watchStall(probe: Parameters<typeof watchStall>[1]): void {
    const ms = stallTimeoutOf(this.options);
    this.stall = watchStall(ms, probe, () => {
      if (!this.destroyed) this.destroy(stallError(ms, this.context));
    });
  }

  // A data session failing before the input ends fails the push at once.
  private watchSessions(data: SshProcess): void {
    void data.then((exit) => {
      if (exit.exitCode !== 0 && !this.finishing && !this.destroyed)
        this.destroy(this.failureOf(exit, this.dataStderr!));
    });
    this.watchControl();
  }

  // The control script gone before the commit means nothing can be committed; the data
  // session would keep the ssh master (and this push) going, so it is ended too.
  private watchControl(): void {
    const control = this.control!;
    if (this.watchingControl) return;
    this.watchingControl = true;
    void control.sessionEnded.then(async () => {
      if (this.finishing || this.destroyed) return;
      control.endSessions();
      const exit = await control.exited;
      if (!this.finishing && !this.destroyed) this.destroy(this.failureOf(exit, control.stderr));
    });
  }

  // Whether the whole input is already here and small: compression or a rate limit would not
  // matter for it; a resumable push keeps the data session's partial-file handling.
  private fitsInline(): boolean {
    const { resume, limitRate, direct } = this.options;
    return (
      !resume && !limitRate && !direct && this.writableEnded && this.writableLength <= INLINE_LIMIT
    );
  }

  // The remote partial file is kept only if it equals the same prefix of the input.
  private async continuePartial(partial: number, algorithm: ChecksumAlgorithm): Promise<number> {
    const control = this.control!;
    const source = this.options.resumeSource;
    if (source !== undefined && algorithm !== 'none') {
      const [local, remote] = await Promise.all([
        hashPrefix(source, partial, algorithm),
        control.request('partial-sum', ['partial-sum']),
      ]);
      const [remoteBytes, remoteDigest] = remote.fields;
      if (
        local.bytes === partial &&
        remoteBytes === String(partial) &&
        remoteDigest === local.digest
      ) {
        return partial;
      }
    }
    await control.request('truncate', ['truncated']);
    return 0;
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error) => void,
  ): void {
    if (this.options.direct) {
      return callback(new UsageError('a direct push reads its file itself: write nothing to it'));
    }
    if (this.sample) {
      this.sample.push(chunk);
      this.sampled += chunk.length;
      if (this.sampled >= AUTO_SAMPLE_BYTES) this.endSampling(callback);
      else callback();
      return;
    }
    this.inline?.push(chunk);
    if (this.checksum.write(chunk)) callback();
    else this.checksum.once('drain', () => callback());
  }

  // Auto compression: decides from the sample, starts the data session, sends the sample.
  private endSampling(callback: (error?: Error) => void): void {
    const chunks = this.sample!;
    this.sample = undefined;
    try {
      this.compress = chooseCompression(Buffer.concat(chunks), this.available);
      debug(`push: auto compression chose ${this.compress ?? 'none'}`);
      this.beginData();
    } catch (error) {
      return callback(error as Error);
    }
    let flowing = true;
    for (const chunk of chunks) flowing = this.checksum.write(chunk);
    if (flowing) callback();
    else this.checksum.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finish().then(() => callback(), callback);
  }

  private async finish(): Promise<void> {
    this.finishing = true;
    debug('push: input ended');
    if (this.sample) {
      await new Promise<void>((resolve, reject) =>
        this.endSampling((error) => (error ? reject(error) : resolve())),
      );
    }
    const checksum = this.checksum;
    checksum.end();
    if (this.inline) this.sendInline(this.inline);
    else if (this.directDigest) await this.dataExited();
    else await this.dataSent();
    const { bytes, digest } = await this.localDigest();
    this.refuseChangedFile(bytes, digest);
    await this.options.beforeCommit?.(bytes);
    this.emit('verify');
    const reply = await this.commitRequest(bytes, digest);
    const [remoteBytes = '', remoteDigest = '', how] = reply.fields;
    if (reply.word === 'mismatch' && how === 'inplace') {
      throw new VerificationError(
        `verification failed after the in-place copy: sent ${bytes} bytes ${this.algorithm} ` +
          `${digest || '-'}, the destination has ${remoteBytes} bytes ${remoteDigest || '-'}; ` +
          'it may be damaged (an in-place copy is not atomic): push again',
        { bytes, digest },
        { bytes: Number(remoteBytes), digest: remoteDigest },
        this.context,
      );
    }
    if (reply.word !== 'committed' || remoteBytes !== String(bytes) || remoteDigest !== digest) {
      const changed =
        this.options.direct && fileStamp(this.options.direct.fd) !== this.directStamp
          ? ' (the input file changed while it was sent)'
          : '';
      throw new VerificationError(
        `verification failed: sent ${bytes} bytes ${this.algorithm} ${digest || '-'}, ` +
          `remote has ${remoteBytes} bytes ${remoteDigest || '-'}; nothing committed${changed}`,
        { bytes, digest },
        { bytes: Number(remoteBytes), digest: remoteDigest },
        this.context,
      );
    }
    this.committed = true;
    await this.control!.close();
    this.resolveResult(
      verifiedResult({
        target: this.target.display,
        bytes,
        algorithm: this.algorithm,
        digest,
        started: this.started,
        compress: this.inline ? undefined : this.compress,
        resumed: this.skip,
      }),
    );
  }

  // A direct input file that changed size or mtime while ssh read it may have been read by
  // both ends alike (a truncated file): equal hashes then prove nothing.
  private refuseChangedFile(bytes: number, digest: string): void {
    const direct = this.options.direct;
    if (!direct || fileStamp(direct.fd) === this.directStamp) return;
    throw new VerificationError(
      `${bytes} bytes read; nothing committed (the input file changed while it was sent)`,
      { bytes, digest },
      { bytes, digest },
      this.context,
    );
  }

  // The commit itself. Lost after the rename but before the report, the file is in place
  // though we cannot know: the message says so.
  private async commitRequest(bytes: number, digest: string) {
    try {
      return await this.control!.request(`commit ${bytes} ${digest}`, ['committed', 'mismatch']);
    } catch (error) {
      if (!(error instanceof ConnectionError)) throw error;
      throw new ConnectionError(
        `${error.reason}; the connection was lost during the commit: the file may have been committed (check it, or push again)`,
        { ...this.context, cause: error },
      );
    }
  }

  // Count and digest of the input as this side saw it.
  private async localDigest(): Promise<{ bytes: number; digest: string }> {
    if (this.directDigest) {
      return this.directDigest.catch((error: Error) => {
        throw new LocalIOError(`cannot read input: ${error.message}`, {
          ...this.context,
          cause: error,
        });
      });
    }
    const { bytes } = await this.checksum.result;
    const digest = this.options.digestSource
      ? await this.options.digestSource()
      : this.checksum.digest();
    return { bytes, digest };
  }

  // The data session has written everything to the temporary file, or the push fails.
  private async dataSent(): Promise<void> {
    const flowError = await this.flow;
    await this.dataExited();
    if (flowError)
      throw new LocalIOError(String((flowError as Error).message ?? flowError), this.context);
  }

  // The control script appends it to the temporary file and checks the size; the commit that
  // follows hashes the file on disk.
  private sendInline(chunks: Buffer[]): void {
    const input = Buffer.concat(chunks);
    if (input.length > 0) this.control!.send(`put ${input.length} ${encodeArgument(input)}`);
  }

  private async dataExited(): Promise<void> {
    const exit = await this.data!;
    this.stall?.stop();
    debug('push: data session exited');
    if (exit.exitCode !== 0) throw this.failureOf(exit, this.dataStderr!);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const failure = error ?? new AbortError('push aborted before the end of input', this.context);
    // `result` settles only after cleanup, so whoever awaits it knows the remote side is clean.
    const done = () => {
      this.rejectResult(failure);
      callback(error);
    };
    this.cleanup(failure).then(done, done);
  }

  // Stops the data session first (so nothing more lands), then has the remote side remove the
  // temporary file. With the connection gone, the remote control script removes it on EOF.
  // A resumable push keeps its partial file, unless its content is known to be wrong.
  private async cleanup(failure: Error): Promise<void> {
    this.stall?.stop();
    this.checksum.destroy();
    // A stalled link would not carry the abort request: the master goes at once, and the
    // remote side removes (or, resuming, keeps) its file when the connection ends.
    if (failure instanceof StalledError) this.control?.kill();
    if (this.data && this.data.exitCode === null) this.data.kill('SIGTERM');
    if (this.data) await this.data;
    if (!this.control) return;
    if (this.committed) await this.control.close();
    else
      await this.control.abort(
        this.options.resume === true && !(failure instanceof VerificationError),
      );
  }

  private failureOf(exit: SshExit, stderr: ReportReader): SshStreamError {
    return classifyFailure(exit, stderr, this.context);
  }
}

/**
 * A Writable that streams everything written to it into `target` (`[user@]host:path`) through
 * the system ssh, hashed on both ends. The stream finishes only after the remote file is
 * verified and atomically renamed into place; on any failure the destination is untouched.
 */
export function createPushStream(target: string, options?: PushOptions): PushStream {
  return new PushStream(target, options);
}

function modeArgument(mode: number | string | undefined, context: ErrorContext): string {
  if (mode === undefined) return '';
  const value =
    typeof mode === 'number' ? mode : /^[0-7]{1,4}$/.test(mode) ? parseInt(mode, 8) : NaN;
  if (!Number.isInteger(value) || value < 0 || value > 0o7777) {
    throw new UsageError(
      `invalid mode ${JSON.stringify(String(mode))}: expected octal like 644`,
      context,
    );
  }
  return value.toString(8);
}
