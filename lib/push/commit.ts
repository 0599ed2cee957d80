import type { ChecksumAlgorithm } from '../../transforms/checksum.js';
import type { ControlConnection } from '../ssh/control-connection.js';
import { ConnectionError, VerificationError, type ErrorContext } from '../util/errors.js';
import type { Report } from '../remote/reports.js';
import type { LocalDigest } from './delivery.js';

/**
 * The commit protocol's last step: we send our count and digest; the control script hashes the
 * temporary file on disk, and renames it into place (fsynced) only if both agree. It replies
 * `committed`, or `mismatch` with what it found (and `inplace` when an in-place copy went
 * wrong after the check). Throws unless the file is committed and agrees with `local`.
 * (`keep` and `abort`, the other endings, are ControlConnection.abort.)
 */
export async function commitPush(
  control: ControlConnection,
  local: LocalDigest,
  algorithm: ChecksumAlgorithm,
  context: ErrorContext,
  mismatchNote: () => string,
): Promise<void> {
  const { bytes, digest } = local;
  const reply = await commitRequest(control, local, context);
  const [remoteBytes = '', remoteDigest = '', how] = reply.fields;
  const remote = { bytes: Number(remoteBytes), digest: remoteDigest };
  if (reply.word === 'mismatch' && how === 'inplace') {
    throw new VerificationError(
      `verification failed after the in-place copy: sent ${bytes} bytes ${algorithm} ` +
        `${digest || '-'}, the destination has ${remoteBytes} bytes ${remoteDigest || '-'}; ` +
        'it may be damaged (an in-place copy is not atomic): push again',
      local,
      remote,
      context,
    );
  }
  if (reply.word !== 'committed' || remoteBytes !== String(bytes) || remoteDigest !== digest) {
    throw new VerificationError(
      `verification failed: sent ${bytes} bytes ${algorithm} ${digest || '-'}, ` +
        `remote has ${remoteBytes} bytes ${remoteDigest || '-'}; nothing committed${mismatchNote()}`,
      local,
      remote,
      context,
    );
  }
}

// Lost after the rename but before the report, the file is in place though we cannot know:
// the message says so.
async function commitRequest(
  control: ControlConnection,
  { bytes, digest }: LocalDigest,
  context: ErrorContext,
): Promise<Report> {
  try {
    return await control.request(`commit ${bytes} ${digest}`, ['committed', 'mismatch']);
  } catch (error) {
    if (!(error instanceof ConnectionError)) throw error;
    throw new ConnectionError(
      `${error.reason}; the connection was lost during the commit: the file may have been committed (check it, or push again)`,
      { ...context, cause: error },
    );
  }
}
