// A session that rides a running ssh master (our private one, or the user's own) is a second ssh
// client that hands its command to the master over the ControlPath. Usually that is all it
// does. But the server may refuse a further session on the master's connection: OpenSSH's
// `MaxSessions 1` allows one, and the master's own session (the control script) holds it.
// ssh then falls back to a connection of its own, and that fallback is what carries the data:
// it reads the same stdin from its start (the refused session never read a byte of it), so
// nothing is lost and nothing needs replaying, whatever has already been written. The one
// thing that must never happen there is a second question to the user (a password, an OTP, a
// passphrase, a host key): the user answered once, for the master. Hence BatchMode (ssh never
// asks), and a session of its own with no controlling terminal and no askpass, because a
// ProxyJump's inner ssh does not inherit BatchMode and would otherwise ask on /dev/tty.
// Where the fallback cannot log in without asking (password-only accounts), it fails and
// classifyFailure names the server's session limit. The same fallback runs should the master
// be gone; harmless: its control script is then gone too, and the push fails on that.

import { ConnectionError } from '../util/errors.js';

/**
 * ssh options of a client riding a master: never becomes a master itself, never asks anything
 * should it have to connect on its own. Put the ControlPath in too for a private master.
 */
export const RIDER_OPTIONS: readonly string[] = ['-o', 'ControlMaster=no', '-o', 'BatchMode=yes'];

/** Spawn options of a rider (see the top of this file): no terminal, no askpass, ever. */
export const RIDER_SPAWN = {
  detached: true,
  env: { SSH_ASKPASS_REQUIRE: 'never' },
} as const;

// What OpenSSH's client prints when the master's connection refused the session.
const REFUSED = 'Session open refused by peer';

/**
 * The reason to report when a rider failed because the server refused it a session on the
 * master's connection and the fallback connection could not log in without asking, else
 * undefined. `said`: the rider's stderr; `lastLine`: the last line ssh printed there.
 */
export function sessionRefusal(
  said: { includes(text: string): boolean },
  lastLine: string,
): string | undefined {
  if (!said.includes(REFUSED)) return undefined;
  const why = lastLine === '' || lastLine.includes(REFUSED) ? '' : ` (${lastLine})`;
  return (
    'the server allows no further session on one connection (sshd MaxSessions), and a ' +
    `second connection could not log in without asking again${why}: use key or agent ` +
    'authentication, or raise MaxSessions on the server'
  );
}

/**
 * A rider the server refused a session on the master's connection (sshd MaxSessions), whose own
 * connection failed too (it could not log in without asking). A transfer in ranges whose other
 * sessions run may carry on without it (see runLanes).
 */
export class SessionRefusedError extends ConnectionError {
  constructor(...args: ConstructorParameters<typeof ConnectionError>) {
    super(...args);
    // Callers that tell errors by name see what it is to them: a connection error, exit 2.
    this.name = 'ConnectionError';
  }
}
