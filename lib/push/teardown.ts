import type { ControlConnection } from '../ssh/control-connection.js';
import { VerificationError } from '../util/errors.js';
import { StalledError } from '../util/stall-watchdog.js';
import type { DataSession } from './data-session.js';
import type { Delivery } from './delivery.js';
import { killSsh } from '../ssh/process-tree.js';

/** What a push holds when it ends, whichever of its parts were already running. */
export interface PushParts {
  control: ControlConnection | undefined;
  delivery: Delivery | undefined;
  session: DataSession | undefined;
  committed: boolean;
  /** A resumable push keeps its partial file on failure (unless its content is known wrong). */
  resume: boolean;
}

/**
 * Ends a push that failed or was aborted: stops the data session first (so nothing more
 * lands), then has the remote side remove the temporary file, or keep it to resume. With the
 * connection gone, the remote control script removes it on EOF.
 */
export async function tearDownPush(parts: PushParts, failure: Error): Promise<void> {
  const { control, delivery, session } = parts;
  const stopped = delivery?.stop();
  // A stalled link would not carry the abort request: the master goes at once, and the
  // remote side removes (or, resuming, keeps) its file when the connection ends.
  if (failure instanceof StalledError) control?.kill();
  if (session && session.process.exitCode === null) killSsh(session.process);
  if (session) await session.process;
  await stopped;
  if (!control) return;
  if (parts.committed) await control.close();
  else await control.abort(parts.resume && !(failure instanceof VerificationError));
}
