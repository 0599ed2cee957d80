import type { ControlConnection } from '../ssh/control-connection.js';
import { openControlConnection } from '../ssh/open-control.js';
import type { ErrorContext } from '../util/errors.js';
import { stallTimeoutOf } from '../util/stall-watchdog.js';
import type { Target } from '../ssh/target.js';
import { modeArgument, type PushOptions } from './options.js';

/**
 * Connects and authenticates, and starts the remote control script that owns the temporary
 * file; resolves once it is ready. `onConnected` runs as soon as ssh has authenticated, so a
 * data session can start while the control script still checks the destination. `lanes`: a
 * transfer in that many ranges, whose extra connections open at once (see lanesBeforeConnecting).
 */
export function connectPush(
  target: Target,
  options: PushOptions,
  context: ErrorContext,
  signal: AbortSignal,
  onConnected: (control: ControlConnection) => void,
  lanes = 1,
): Promise<ControlConnection> {
  return openControlConnection(
    {
      destination: target,
      ssh: options,
      remoteArgs: [
        'push-control',
        target.path,
        options.mkdir ? '1' : '0',
        options.checksum ?? 'md5',
        modeArgument(options.mode, context),
        options.compress ?? '',
        options.resume ? '1' : '0',
        options.inplace ? '1' : '0',
      ],
      context,
      stallTimeout: stallTimeoutOf(options),
      signal,
      lanes,
    },
    onConnected,
  );
}
