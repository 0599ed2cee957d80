import { LocalIOError, SshStreamError, isInternalError } from './errors.js';

// When a pipeline fails, our stream's typed error names the cause; anything else happened on
// the local side (reading the input, writing the output), unless it is a bug.
export async function preferOwnError(
  result: Promise<unknown>,
  error: unknown,
  what: string,
  operation: string,
  target: string,
): Promise<Error> {
  const own = await result.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  if (own instanceof SshStreamError) return own;
  if (error instanceof SshStreamError) return error;
  // A bug (a TypeError, say) stays what it is: reported as a disk error it would mislead.
  if (isInternalError(error)) return error as Error;
  return new LocalIOError(`${what}: ${(error as Error).message}`, {
    operation,
    target,
    cause: error,
  });
}
