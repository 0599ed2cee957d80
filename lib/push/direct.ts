import { fstatSync } from 'node:fs';
import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import type { ControlConnection } from '../ssh/control-connection.js';
import { debug } from '../util/debug.js';
import { descriptorOffset } from '../util/descriptor-offset.js';
import { digestOfDirect, fileStamp, type DirectInput } from './direct-input.js';
import { LocalIOError, UsageError, VerificationError, type ErrorContext } from '../util/errors.js';
import { startDataSession, type DataSession } from './data-session.js';
import type { Delivery, DeliveryEvents, LocalDigest } from './delivery.js';

/**
 * ssh reads the input file itself: the data session's stdin is the file's descriptor, and the
 * remote side hashes at once (no "go" line), while the local hash reads the same bytes with
 * pread. No byte passes through node.
 */
export class DirectDelivery implements Delivery {
  readonly compress = undefined;
  private stopped = false;
  private readonly digest: Promise<LocalDigest>;
  // Size and mtime when it started: a file that changes while it is read proves nothing.
  private readonly stamp: string;

  /** Starts the data session on `direct.fd`; the remote script must be saved first (stdin is not a pipe). */
  static async start(
    control: ControlConnection,
    path: string,
    direct: DirectInput,
    algorithm: ChecksumAlgorithm,
    digestSource: (() => Promise<string>) | undefined,
    context: ErrorContext,
    events: DeliveryEvents,
  ): Promise<DirectDelivery> {
    await control.saveScript(path);
    return new DirectDelivery(control, path, direct, algorithm, digestSource, context, events);
  }

  private readonly session: DataSession;

  private constructor(
    control: ControlConnection,
    path: string,
    private readonly direct: DirectInput,
    algorithm: ChecksumAlgorithm,
    digestSource: (() => Promise<string>) | undefined,
    private readonly context: ErrorContext,
    events: DeliveryEvents,
  ) {
    debug('push: ssh reads the input file itself');
    this.stamp = fileStamp(direct.fd);
    // Any descriptor number is passed on to the child; execa's types list only 0 and 3-9.
    const stdin = direct.fd as 0;
    this.session = startDataSession(control, [path, '', '0', algorithm], stdin, context);
    this.digest = digestOfDirect(direct, algorithm, digestSource, () => this.stopped);
    this.digest.catch(() => {});
    // ssh reads the file itself: its offset in the file is the progress.
    const size = fstatSync(direct.fd).size;
    const process = this.session.process;
    events.sessionStarted(this.session, {
      moved: () => (descriptorOffset(direct.fd) ?? direct.start) - direct.start,
      waiting: () => process.exitCode === null && (descriptorOffset(direct.fd) ?? size) < size,
    });
  }

  write(_chunk: Buffer, callback: (error?: Error | null) => void): void {
    callback(new UsageError('a direct push reads its file itself: write nothing to it'));
  }

  async end(): Promise<LocalDigest> {
    await this.session.done;
    const local = await this.digest.catch((error: Error) => {
      throw new LocalIOError(`cannot read input: ${error.message}`, {
        ...this.context,
        cause: error,
      });
    });
    // Both ends may have read the same truncated file: equal hashes would prove nothing.
    if (this.changed()) {
      throw new VerificationError(
        `${local.bytes} bytes read; nothing committed (the input file changed while it was sent)`,
        local,
        local,
        this.context,
      );
    }
    return local;
  }

  stop(): void {
    this.stopped = true;
  }

  mismatchNote(): string {
    return this.changed() ? ' (the input file changed while it was sent)' : '';
  }

  private changed(): boolean {
    return fileStamp(this.direct.fd) !== this.stamp;
  }
}
