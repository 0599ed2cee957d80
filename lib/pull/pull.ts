import { localCompressions } from '../../transforms/compress.js';
import { checkCompressLevel } from '../util/compress-level.js';
import { LocalIOError } from '../util/errors.js';
import type { PullOptions } from './options.js';
import type { SessionStarter } from './pull-session.js';
import { PullStream } from './pull-stream.js';
import { buildSshInvocation } from '../ssh/command.js';
import { parseTarget } from '../ssh/target.js';

export type { PullOptions, PullResult } from './options.js';

/**
 * A Readable of the remote file `source` (`[user@]host:path`) through the system ssh. It ends
 * only after the remote count and digest of the bytes it read equal those that arrived;
 * otherwise it errors with a typed error (VerificationError, RemoteIOError, ConnectionError).
 * `starter` (internal): a connection already open for the session to ride.
 */
export function createPullStream(
  source: string,
  options: PullOptions = {},
  starter?: SessionStarter,
): PullStream {
  const target = parseTarget(source, 'pull');
  const context = { operation: 'pull', target: target.display };
  checkCompressLevel(options.compress, options.compressLevel, context);
  buildSshInvocation(target, options, [], ''); // refuses a bad jump host now, not later
  // A local tool missing is a local problem, found before connecting.
  if (options.compress === 'zstd' && !localCompressions().includes('zstd')) {
    throw new LocalIOError('zstd not found locally: install zstd (it must be on PATH)', context);
  }
  return new PullStream(target, options, context, starter);
}
