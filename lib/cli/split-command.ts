import { UsageError } from '../util/errors.js';

/**
 * `push HOST:PATH -- COMMAND ARGS...`: the operands after the "--" that follows a target are
 * the command (commander hands them over as more operands). A "--" before any target only ends
 * the options, as usual (`push -- -odd-host:path`); a second "--" then starts the command.
 * Returns the targets and the command, if any.
 */
export function splitCommand(
  args: string[],
  raw: readonly string[],
): [string[], string[] | undefined] {
  const at = raw.indexOf('--');
  if (at < 0) return [args, undefined];
  const after = raw.slice(at + 1);
  let targets = args.slice(0, args.length - after.length);
  let command = after;
  if (targets.length === 0) {
    const second = after.indexOf('--');
    if (second < 0) return [after, undefined];
    targets = after.slice(0, second);
    command = after.slice(second + 1);
  }
  if (command.length === 0) throw new UsageError('push: nothing after --: give COMMAND [ARGS...]');
  return [targets, command];
}
