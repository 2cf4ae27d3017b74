// The oracle: a small sequential model of etcd's KV and lease semantics, written to be obviously
// correct rather than fast. It is deliberately independent of src/kv: if both were written from
// the same misunderstanding, the checker would agree with the bug.
//
// Semantics (etcd 3.4, mvcc/kvstore_txn.go and lease/lessor.go; etcd's robustness model agrees):
// - A fresh store is at revision 1 (ModelOptions.initialRevision).
// - The revision grows by one per write that changed something: put always; delete only if it
//   deleted a key (all keys of a range in one revision); a txn only if its executed branch wrote;
//   lease revoke only if it deleted attached keys (etcd's storeTxnWrite.End bumps only when the
//   txn has changes). Lease grant never touches the revision.
// - A key records createRevision, modRevision (the revision of its last put) and version (puts
//   since creation); an absent key reads as modRevision 0, version 0.
// - A put attaches the key to its lease (0 = none), detaching it from any earlier lease.
//   Revoking a lease deletes every key attached to it in one revision.
// - Txn compare on mod_revision of an absent key compares against 0; a compare on value of an
//   absent key is always false (etcd's applyCompare).
// - Errors that change nothing: put-with-lease or lease-revoke of a lease that does not exist
//   (lease-not-found), lease-grant of an existing id (lease-exists).
// - The checker's own "bump" (a write to another key, in a history projected onto one key) only
//   raises the revision.
//
// States are immutable: applyOp returns a new state when something changed and the same object
// otherwise. Each state carries a 32-bit hash (maintained incrementally) so the search can
// memoize (linearized set, state) pairs; stateEquals decides equality.
import type {
  GetResult,
  KvOp,
  LeaseGrantResult,
  OpResult,
  RangeKv,
  RangeResult,
  RevisionResult,
  DeleteResult,
  TxnCasResult,
} from './history';

/** ModelOptions are the points where etcd's behaviour is a choice the checker should not hide. */
export interface ModelOptions {
  /** The revision of the empty store; etcd reports 1 before the first write. */
  readonly initialRevision: number;
  /**
   * Whether revoking a lease with no attached keys bumps the revision. etcd: no (the revoke's
   * write txn has no changes, so storeTxnWrite.End leaves currentRev alone). Kept as an option
   * because this is the least documented of these rules and tabd may choose otherwise.
   */
  readonly leaseRevokeBumpsWhenEmpty: boolean;
}

export const defaultModelOptions: ModelOptions = {
  initialRevision: 1,
  leaseRevokeBumpsWhenEmpty: false,
};

/** KeyRecord is one live key. Invariant: 0 < createRevision <= modRevision, version >= 1. */
export interface KeyRecord {
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  /** Attached lease id, 0 for none. */
  readonly lease: number;
}

/** ModelState is the whole store at one revision. Immutable. */
export interface ModelState {
  readonly revision: number;
  readonly keys: ReadonlyMap<string, KeyRecord>;
  /** Granted, not yet revoked lease ids. */
  readonly leases: ReadonlySet<number>;
  /** stateHash of the fields above, kept incrementally. */
  readonly hash: number;
}

export const ModelError = {
  LeaseNotFound: 'lease-not-found',
  LeaseExists: 'lease-exists',
} as const;
export type ModelError = (typeof ModelError)[keyof typeof ModelError];

/** ModelResponse is what etcd would answer: a result in the history format, or an error. */
export type ModelResponse =
  | { readonly ok: true; readonly result: OpResult }
  | { readonly ok: false; readonly error: ModelError };

export interface Applied {
  readonly state: ModelState;
  readonly response: ModelResponse;
}

// ---- keys -----------------------------------------------------------------------------------

/**
 * compareKeys orders keys as etcd does: by their UTF-8 bytes, which is code point order (plain
 * `<` on JS strings compares UTF-16 code units, which differs for characters above U+FFFF).
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i) ?? 0;
    const cb = b.codePointAt(i) ?? 0;
    if (ca !== cb) return ca < cb ? -1 : 1;
    if (ca > 0xffff) i++; // both strings hold the same surrogate pair here
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** inRange follows etcd: rangeEnd "" is the single key, "\0" is every key >= key. */
export function inRange(k: string, key: string, rangeEnd: string | undefined): boolean {
  if (rangeEnd === undefined || rangeEnd === '') return k === key;
  if (compareKeys(k, key) < 0) return false;
  return rangeEnd === '\0' || compareKeys(k, rangeEnd) < 0;
}

// ---- hashing --------------------------------------------------------------------------------

function mix(h: number): number {
  // murmur3's fmix32: cheap and spreads every input bit.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function stringHash(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0; // FNV-1a
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix(h);
}

function recordHash(key: string, r: KeyRecord): number {
  let h = stringHash(key, 0x9e3779b9);
  h = mix(h ^ stringHash(r.value, 0x7f4a7c15));
  h = mix(h ^ r.createRevision);
  h = mix(h ^ Math.imul(r.modRevision, 0x27d4eb2f));
  h = mix(h ^ Math.imul(r.version, 0x165667b1));
  return mix(h ^ Math.imul(r.lease, 0x61c88647));
}

function leaseHash(lease: number): number {
  return mix(Math.imul(lease, 0x2545f491) ^ 0x5bd1e995);
}

function revisionHash(revision: number): number {
  return mix(revision ^ 0x68e31da4);
}

/** stateHash computes a state's hash from scratch (applyOp keeps it incrementally). */
export function stateHash(
  revision: number,
  keys: ReadonlyMap<string, KeyRecord>,
  leases: ReadonlySet<number>,
): number {
  let h = revisionHash(revision);
  for (const [k, r] of keys) h ^= recordHash(k, r);
  for (const l of leases) h ^= leaseHash(l);
  return h >>> 0;
}

// ---- states ---------------------------------------------------------------------------------

export function initialState(options: ModelOptions = defaultModelOptions): ModelState {
  const keys = new Map<string, KeyRecord>();
  const leases = new Set<number>();
  return {
    revision: options.initialRevision,
    keys,
    leases,
    hash: stateHash(options.initialRevision, keys, leases),
  };
}

function recordsEqual(a: KeyRecord, b: KeyRecord): boolean {
  return (
    a.value === b.value &&
    a.modRevision === b.modRevision &&
    a.createRevision === b.createRevision &&
    a.version === b.version &&
    a.lease === b.lease
  );
}

/** stateEquals: same revision, same keys with the same records, same leases. */
export function stateEquals(a: ModelState, b: ModelState): boolean {
  if (a === b) return true;
  if (a.hash !== b.hash || a.revision !== b.revision) return false;
  if (a.keys.size !== b.keys.size || a.leases.size !== b.leases.size) return false;
  if (a.keys !== b.keys) {
    for (const [k, ra] of a.keys) {
      const rb = b.keys.get(k);
      if (rb === undefined || !recordsEqual(ra, rb)) return false;
    }
  }
  if (a.leases !== b.leases) {
    for (const l of a.leases) if (!b.leases.has(l)) return false;
  }
  return true;
}

/** Builds the next state from the changed keys (null = deleted) and the new revision. */
function withChanges(
  s: ModelState,
  revision: number,
  changes: ReadonlyArray<readonly [string, KeyRecord | null]>,
  leases: ReadonlySet<number> = s.leases,
): ModelState {
  let hash = s.hash ^ revisionHash(s.revision) ^ revisionHash(revision);
  let keys = s.keys;
  if (changes.length > 0) {
    const next = new Map(s.keys);
    for (const [k, r] of changes) {
      const old = next.get(k);
      if (old !== undefined) hash ^= recordHash(k, old);
      if (r === null) {
        next.delete(k);
      } else {
        next.set(k, r);
        hash ^= recordHash(k, r);
      }
    }
    keys = next;
  }
  if (leases !== s.leases) {
    for (const l of s.leases) if (!leases.has(l)) hash ^= leaseHash(l);
    for (const l of leases) if (!s.leases.has(l)) hash ^= leaseHash(l);
  }
  return { revision, keys, leases, hash: hash >>> 0 };
}

function put(s: ModelState, key: string, value: string, lease: number): ModelState {
  const revision = s.revision + 1;
  const old = s.keys.get(key);
  const record: KeyRecord = {
    value,
    createRevision: old === undefined ? revision : old.createRevision,
    modRevision: revision,
    version: old === undefined ? 1 : old.version + 1,
    lease,
  };
  return withChanges(s, revision, [[key, record]]);
}

function keysInRange(s: ModelState, key: string, rangeEnd: string | undefined): string[] {
  if (rangeEnd === undefined || rangeEnd === '') return s.keys.has(key) ? [key] : [];
  return [...s.keys.keys()].filter((k) => inRange(k, key, rangeEnd)).sort(compareKeys);
}

function ok(state: ModelState, result: OpResult): Applied {
  return { state, response: { ok: true, result } };
}

function error(state: ModelState, e: ModelError): Applied {
  return { state, response: { ok: false, error: e } };
}

/** applyOp executes one operation on the store, as etcd would, alone. */
export function applyOp(
  s: ModelState,
  op: KvOp,
  options: ModelOptions = defaultModelOptions,
): Applied {
  switch (op.type) {
    case 'put': {
      const next = put(s, op.key, op.value, 0);
      return ok(next, { revision: next.revision } satisfies RevisionResult);
    }
    case 'put-with-lease': {
      if (!s.leases.has(op.lease)) return error(s, ModelError.LeaseNotFound);
      const next = put(s, op.key, op.value, op.lease);
      return ok(next, { revision: next.revision } satisfies RevisionResult);
    }
    case 'get': {
      const r = s.keys.get(op.key);
      const result: Required<GetResult> =
        r === undefined
          ? { revision: s.revision, value: null, modRevision: 0, version: 0, createRevision: 0 }
          : {
              revision: s.revision,
              value: r.value,
              modRevision: r.modRevision,
              version: r.version,
              createRevision: r.createRevision,
            };
      return ok(s, result);
    }
    case 'range': {
      const kvs = keysInRange(s, op.key, op.rangeEnd).map((k): Required<RangeKv> => {
        const r = s.keys.get(k);
        if (r === undefined) throw new Error('unreachable: key listed but absent');
        return {
          key: k,
          value: r.value,
          modRevision: r.modRevision,
          version: r.version,
          createRevision: r.createRevision,
        };
      });
      return ok(s, { revision: s.revision, kvs, count: kvs.length } satisfies RangeResult);
    }
    case 'delete': {
      const doomed = keysInRange(s, op.key, op.rangeEnd);
      if (doomed.length === 0)
        return ok(s, { revision: s.revision, deleted: 0 } satisfies DeleteResult);
      const next = withChanges(
        s,
        s.revision + 1,
        doomed.map((k) => [k, null] as const),
      );
      return ok(next, { revision: next.revision, deleted: doomed.length } satisfies DeleteResult);
    }
    case 'txn-cas': {
      const r = s.keys.get(op.key);
      const succeeded =
        'expectedModRevision' in op
          ? (r?.modRevision ?? 0) === op.expectedModRevision
          : r !== undefined && r.value === op.expectedValue;
      if (!succeeded) return ok(s, { revision: s.revision, succeeded } satisfies TxnCasResult);
      const next = put(s, op.key, op.value, 0);
      return ok(next, { revision: next.revision, succeeded } satisfies TxnCasResult);
    }
    case 'lease-grant': {
      if (s.leases.has(op.lease)) return error(s, ModelError.LeaseExists);
      const leases = new Set(s.leases).add(op.lease);
      const next = withChanges(s, s.revision, [], leases);
      return ok(next, { revision: next.revision } satisfies LeaseGrantResult);
    }
    case 'bump': {
      let doomed: Array<readonly [string, null]> = [];
      let leases = s.leases;
      if (op.revokes !== undefined) {
        if (!s.leases.has(op.revokes)) return error(s, ModelError.LeaseNotFound);
        const rest = new Set(s.leases);
        rest.delete(op.revokes);
        leases = rest;
        doomed = [...s.keys]
          .filter(([, r]) => r.lease === op.revokes)
          .map(([k]) => [k, null] as const);
      }
      const bump = doomed.length > 0 || op.maybeTo === null || s.revision === op.maybeTo - 1;
      const next = withChanges(s, bump ? s.revision + 1 : s.revision, doomed, leases);
      return ok(next, { revision: next.revision } satisfies RevisionResult);
    }
    case 'lease-revoke': {
      if (!s.leases.has(op.lease)) return error(s, ModelError.LeaseNotFound);
      const leases = new Set(s.leases);
      leases.delete(op.lease);
      const doomed = [...s.keys]
        .filter(([, r]) => r.lease === op.lease)
        .map(([k]) => [k, null] as const);
      const bump = doomed.length > 0 || options.leaseRevokeBumpsWhenEmpty;
      const next = withChanges(s, bump ? s.revision + 1 : s.revision, doomed, leases);
      return ok(next, { revision: next.revision } satisfies RevisionResult);
    }
  }
}

// ---- comparing responses --------------------------------------------------------------------

function kvMatches(recorded: RangeKv, model: RangeKv): boolean {
  return (
    recorded.key === model.key &&
    recorded.value === model.value &&
    recorded.modRevision === model.modRevision &&
    recorded.version === model.version &&
    (recorded.createRevision === undefined || recorded.createRevision === model.createRevision)
  );
}

/**
 * resultMatches says whether a recorded ok result is exactly what the model answered. Revisions
 * are compared exactly; optional fields (createRevision, a lease grant's revision) only when
 * recorded. The casts are safe: parseHistoryOp checked that the result has op's shape, and
 * applyOp answers with the same shape.
 */
export function resultMatches(op: KvOp, recorded: OpResult, response: ModelResponse): boolean {
  if (!response.ok) return false;
  const model = response.result;
  switch (op.type) {
    case 'put':
    case 'put-with-lease':
    case 'lease-revoke':
    case 'bump':
      return (recorded as RevisionResult).revision === (model as RevisionResult).revision;
    case 'lease-grant': {
      const rev = (recorded as LeaseGrantResult).revision;
      return rev === undefined || rev === (model as LeaseGrantResult).revision;
    }
    case 'get': {
      const a = recorded as GetResult;
      const b = model as Required<GetResult>;
      return (
        a.revision === b.revision &&
        a.value === b.value &&
        a.modRevision === b.modRevision &&
        a.version === b.version &&
        (a.createRevision === undefined || a.createRevision === b.createRevision)
      );
    }
    case 'range': {
      const a = recorded as RangeResult;
      const b = model as RangeResult;
      if (a.revision !== b.revision || a.count !== b.count || a.kvs.length !== b.kvs.length)
        return false;
      for (let i = 0; i < a.kvs.length; i++) {
        const x = a.kvs[i];
        const y = b.kvs[i];
        if (x === undefined || y === undefined || !kvMatches(x, y)) return false;
      }
      return true;
    }
    case 'delete': {
      const a = recorded as DeleteResult;
      const b = model as DeleteResult;
      return a.revision === b.revision && a.deleted === b.deleted;
    }
    case 'txn-cas': {
      const a = recorded as TxnCasResult;
      const b = model as TxnCasResult;
      return a.revision === b.revision && a.succeeded === b.succeeded;
    }
  }
}
