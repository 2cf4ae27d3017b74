// Test helpers for the KV layer: byte/string conversion and a store that numbers log indices.
import {
  KvStore,
  latin1ToBytes,
  bytesToLatin1,
  type KvCommand,
  type KvCommandType,
  type KvConfig,
  type KvError,
  type KvResponseMap,
  type KvResult,
  type LeaseId,
  type PutRequest,
} from '../../src/kv/index.js';

/** ResultOf narrows a KvResult to one command type. */
export type ResultOf<T extends KvCommandType> =
  | { readonly ok: true; readonly type: T; readonly response: KvResponseMap[T] }
  | { readonly ok: false; readonly type: KvCommandType; readonly error: KvError };

/** b turns a latin1 string into key/value bytes (one byte per char). */
export const b = (s: string): Uint8Array => latin1ToBytes(s);
/** s turns bytes back into a latin1 string. */
export const s = (u: Uint8Array): string => bytesToLatin1(u);
export const lid = (x: string): LeaseId => x as LeaseId;

/** TestStore wraps KvStore and feeds it consecutive Raft indices. */
export class TestStore {
  readonly kv: KvStore;
  index = 0;
  constructor(config: Partial<KvConfig> = {}, kv?: KvStore) {
    this.kv = kv ?? new KvStore(config);
    this.index = this.kv.appliedIndex;
  }
  apply<C extends KvCommand>(cmd: C, nowTick?: number): ResultOf<C['type']> {
    return this.kv.apply(cmd, {
      index: ++this.index,
      ...(nowTick === undefined ? {} : { nowTick }),
    }) as ResultOf<C['type']>;
  }
  put(key: string, value = 'v', extra: Partial<PutRequest> = {}): ResultOf<'put'> {
    return this.apply({ type: 'put', request: { key: b(key), value: b(value), ...extra } });
  }
  del(key: string, rangeEnd?: string, prevKv = false): ResultOf<'deleteRange'> {
    return this.apply({
      type: 'deleteRange',
      request: {
        key: b(key),
        ...(rangeEnd === undefined ? {} : { rangeEnd: b(rangeEnd) }),
        prevKv,
      },
    });
  }
  compact(revision: number): ResultOf<'compact'> {
    return this.apply({ type: 'compact', request: { revision } });
  }
  get(key: string, revision?: number) {
    const r = this.kv.range({ key: b(key), ...(revision === undefined ? {} : { revision }) });
    if (!r.ok) throw r.error;
    return r.response.kvs[0];
  }
  keys(key: string, rangeEnd: string, revision?: number): string[] {
    const r = this.kv.range({
      key: b(key),
      rangeEnd: b(rangeEnd),
      ...(revision === undefined ? {} : { revision }),
    });
    if (!r.ok) throw r.error;
    return r.response.kvs.map((kv) => s(kv.key));
  }
}

/** ok unwraps a successful KvResult's response (fails the test otherwise). */
export function ok<T>(
  r: { readonly ok: true; readonly response: T } | { readonly ok: false; readonly error: KvError },
): T {
  if (!r.ok) throw new Error(`expected success, got ${r.error.code}: ${r.error.message}`);
  return r.response;
}

/** errCode is the error code of a failed result, or 'ok'. */
export function errCode(
  r: KvResult | { readonly ok: boolean; readonly error?: { readonly code: string } },
): string {
  return r.ok ? 'ok' : (r as { error: { code: string } }).error.code;
}
