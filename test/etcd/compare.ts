// Normalizing and comparing the two stores' answers. Every field of every answer is compared,
// except what README.md, "Differences from etcd", lists as an intentional or inherent
// difference; each such exclusion below says which entry of that section it implements.
import type { KeyValue, WatchEvent } from '../../src/kv/index.js';
import { isTabdError } from '../../src/client/errors.js';

/** Outcome is one op's result on one store, normalized to plain data. */
export type Outcome =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/** hashBytes is FNV-1a over bytes (to print large values compactly). */
function hashBytes(b: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) {
    h ^= b[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16);
}

/** bytesText shows short byte strings as text (latin1, escaped by JSON) and long ones as size + hash. */
export function bytesText(b: Uint8Array): string {
  if (b.length > 64) return `<${b.length} bytes fnv ${hashBytes(b)}>`;
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/**
 * plain turns an answer into plain, canonical data: byte arrays become strings, every header
 * keeps only its revision. Exclusion (README "Differences from etcd", member identity): header
 * member id, cluster id and raft term name the answering member and differ by nature.
 */
export function plain(x: unknown, key = ''): unknown {
  if (x instanceof Uint8Array) return bytesText(x);
  if (Array.isArray(x)) return x.map((v) => plain(v));
  if (x !== null && typeof x === 'object') {
    if (key === 'header') return { revision: (x as { revision: number }).revision };
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(x).sort()) {
      const v = (x as Record<string, unknown>)[k];
      if (v === undefined) continue;
      out[k] = plain(v, k);
    }
    return out;
  }
  return x;
}

export function plainKv(kv: KeyValue): unknown {
  return plain(kv);
}

export function plainEvent(e: WatchEvent): unknown {
  return plain(e);
}

/**
 * plainError keeps an error's code (the typed error class). Exclusion (README, "compacted
 * errors"): etcd's error answer carries only a message, so details such as the compact revision
 * of a `compacted` read or the sizes of `value-too-large` are not compared, only the code.
 */
export function plainError(err: unknown): unknown {
  if (isTabdError(err)) return { code: err.code };
  return { code: 'not-a-tabd-error', message: String(err) };
}

/** canonical is a stable JSON text of plain data (keys were sorted by plain). */
export function canonical(v: unknown): string {
  return JSON.stringify(v);
}

/** firstDifference names the first path where a and b differ ('' if they are equal). */
export function firstDifference(a: unknown, b: unknown, path = '$'): string {
  if (a === b) return '';
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return path;
  if (Array.isArray(a) !== Array.isArray(b)) return path;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d !== '') return d;
    }
    return '';
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) {
    const d = firstDifference(ao[k], bo[k], `${path}.${k}`);
    if (d !== '') return d;
  }
  return '';
}

/**
 * normalizeTimeToLive: Exclusion (README, "remaining lease TTL"): the remaining TTL depends on
 * when each store was asked and, in tabd, on whether the answering member is the leader. It is
 * compared as -1 (no such lease) or as "within [0, granted TTL]". Exclusion (README, "order of
 * lists etcd builds from Go maps"): etcd lists a lease's keys in map order, so they are sorted.
 */
export function normalizeTimeToLive(v: {
  ttlSeconds: number;
  grantedTtlSeconds: number;
  keys: readonly Uint8Array[];
}): unknown {
  const p = plain(v) as Record<string, unknown>;
  const ttl = v.ttlSeconds;
  p['ttlSeconds'] =
    ttl === -1 ? -1 : ttl >= 0 && ttl <= v.grantedTtlSeconds ? 'within-granted' : ttl;
  p['keys'] = v.keys.map(bytesText).sort();
  return p;
}

/** normalizeLeases: Exclusion (README, "order of lists etcd builds from Go maps"): ids are sorted. */
export function normalizeLeases(v: { leases: readonly { id: string }[] }): unknown {
  const p = plain(v) as Record<string, unknown>;
  p['leases'] = v.leases
    .map((l) => l.id)
    .sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : BigInt(x) > BigInt(y) ? 1 : 0));
  return p;
}
