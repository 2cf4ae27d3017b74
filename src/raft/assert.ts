/**
 * AssertionError marks a broken invariant: a bug, never an expected outcome.
 * It is never caught; a peer that hits one stops rather than corrupt data.
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/** assert throws an AssertionError when `cond` is false. */
export function assert(cond: unknown, msg: string | (() => string)): asserts cond {
  if (!cond) throw new AssertionError(typeof msg === 'string' ? msg : msg());
}
