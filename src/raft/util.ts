import type { Entry } from './types.js';

/** entrySizeBytes is the size an entry counts for in every byte limit: its payload. */
export function entrySizeBytes(e: Entry): number {
  return e.data.length;
}

/** payloadsSizeBytes sums the payload sizes of entries. */
export function payloadsSizeBytes(ents: readonly Entry[]): number {
  let s = 0;
  for (const e of ents) s += e.data.length;
  return s;
}

/**
 * limitSize returns the longest prefix of `ents` whose payloads fit in
 * `maxSizeBytes`, but always at least one entry (so progress is possible).
 */
export function limitSize<T extends Entry>(ents: T[], maxSizeBytes: number): T[] {
  if (ents.length === 0) return ents;
  let size = ents[0]!.data.length;
  let n = 1;
  for (; n < ents.length; n++) {
    size += ents[n]!.data.length;
    if (size > maxSizeBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}
