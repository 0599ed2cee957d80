/**
 * A promise that resolves with `undefined` after `ms`, and a cancel that clears its timer:
 * raced against a reply, it must not hold the process open once the reply has come.
 */
export function cancellableDelay(ms: number): { promise: Promise<undefined>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}
