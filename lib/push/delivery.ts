import type { Compression } from '../../transforms/compress.js';
import type { ProgressProbe } from '../util/stall-watchdog.js';
import type { DataSession } from './data-session.js';

/** Count and digest of the input as this side saw it. */
export interface LocalDigest {
  bytes: number;
  digest: string;
}

/**
 * How the bytes of a push reach the remote temporary file. One implementation per strategy:
 * inline (on the control session), piped (a data session fed by node), direct (a data session
 * that reads the input file itself); auto-compression wraps piped until it knows the format.
 */
export interface Delivery {
  /** Takes one chunk of input; calls back once it may take the next (backpressure). */
  write(chunk: Buffer, callback: (error?: Error | null) => void): void;
  /** The input has ended: resolves once every byte has landed, with the local count and digest. */
  end(): Promise<LocalDigest>;
  /** The compression used on the wire, for the result. */
  readonly compress: Compression | undefined;
  /**
   * Stops at once: the push has failed (the owner stops the data session it was told of;
   * a delivery with sessions of its own stops them, and settles once they have exited).
   */
  stop(): void | Promise<void>;
  /** Why a verification may have failed, beyond the digests (e.g. the input file changed). */
  mismatchNote?(): string;
}

/** What a delivery reports to the push that owns it. */
export interface DeliveryEvents {
  /** A data session has started: the push watches it (failure, liveness) and its progress. */
  sessionStarted(session: DataSession, progress: ProgressProbe): void;
  /**
   * Bytes have started to move on sessions the delivery runs itself (parallel ranges): the
   * push fails at once if `failed` rejects, and watches `progress` for a stall.
   */
  transferStarted(failed: Promise<void>, progress: ProgressProbe): void;
}
