// KvStore: the state machine. apply() takes committed commands in log order; reads, lease
// queries and watches are served from the replica's own state. See index.ts for the contract.
import type {
  AlarmResponse,
  ApplyContext,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KvCommand,
  KvCommandType,
  KvResponseMap,
  LeaseLeasesResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  ResponseHeader,
  Revision,
  TxnRequest,
} from './types.js';
import { EMPTY_BYTES, NO_LEASE, bytesToLatin1, latin1ToBytes } from './types.js';
import { resolveKvConfig, MAX_LEASE_TTL_SECONDS, type KvConfig } from './config.js';
import {
  CompactedError,
  EmptyKeyError,
  FutureRevisionError,
  KeyNotFoundError,
  LeaseExistsError,
  LeaseNotFoundError,
  LeaseTtlTooLargeError,
  QuotaExceededError,
  assert,
  type KvError,
} from './errors.js';
import { Mvcc, keySpan, type RevisionChanges } from './mvcc.js';
import { Lessor, leaseIdForIndex } from './lessor.js';
import { WatchHub } from './watch-hub.js';
import { LEASE_OVERHEAD_BYTES, costPut, costTxn } from './quota.js';
import {
  checkPutOnPath,
  checkPutRequest,
  checkRangeOnPath,
  compareToPath,
  executeTxn,
  forEachOpOnPath,
  isTxnReadonly,
  validateTxn,
  type TxnWriter,
} from './txn.js';
import { SnapshotEncoder, decodeSnapshot, encodeSnapshot } from './snapshot.js';

/** KvResult is the outcome of applying one command: its response, or a typed error. */
export type KvResult =
  | {
      [T in KvCommandType]: {
        readonly ok: true;
        readonly type: T;
        readonly response: KvResponseMap[T];
      };
    }[KvCommandType]
  | { readonly ok: false; readonly type: KvCommandType; readonly error: KvError };

/** KvReadResult is the outcome of a read served without the log. */
export type KvReadResult<T> =
  { readonly ok: true; readonly response: T } | { readonly ok: false; readonly error: KvError };

export interface KvStatus {
  readonly revision: Revision;
  /** compactRevision: -1 before the first compaction (etcd's compactMainRev). */
  readonly compactRevision: number;
  readonly appliedIndex: number;
  readonly usedBytes: number;
  readonly quotaBytes: number;
  /** keys: keys with retained history; liveKeys: keys that exist now. */
  readonly keys: number;
  readonly liveKeys: number;
  readonly leases: number;
  readonly watchers: number;
  readonly alarms: readonly 'NOSPACE'[];
}

/** KvRestoredState is what decodeSnapshot rebuilds (internal to the kv layer). */
export interface KvRestoredState {
  readonly mvcc: Mvcc;
  readonly lessor: Lessor;
  readonly appliedIndex: number;
  readonly nospace: boolean;
}

export class KvStore {
  readonly config: KvConfig;
  /** lessor: lease state; the node drives its leader-only clock (promote, renew, expired). */
  readonly lessor: Lessor;
  /** watches: the watch hub, fed by every applied revision. */
  readonly watches: WatchHub;
  private readonly mvcc: Mvcc;
  private applied = 0;
  private nospace = false;
  private applying = false;

  /** KvStore creates an empty store (revision 1, like a new etcd), or wraps restored state. */
  constructor(config: Partial<KvConfig> = {}, restored?: (config: KvConfig) => KvRestoredState) {
    this.config = resolveKvConfig(config);
    if (restored === undefined) {
      this.lessor = new Lessor(this.config);
      this.mvcc = new Mvcc(this.lessor);
    } else {
      const s = restored(this.config);
      this.lessor = s.lessor;
      this.mvcc = s.mvcc;
      this.applied = s.appliedIndex;
      this.nospace = s.nospace;
    }
    this.watches = new WatchHub(this.mvcc, this.config);
  }

  /** restore rebuilds a store from snapshot() bytes (throws SnapshotCorruptError on bad input). */
  static restore(bytes: Uint8Array, config: Partial<KvConfig> = {}): KvStore {
    return new KvStore(config, (cfg) => decodeSnapshot(bytes, cfg));
  }

  /** snapshot encodes the whole replicated state: history, compaction point, leases (TTLs), applied index, alarm. */
  snapshot(): Uint8Array {
    assert(!this.applying, 'snapshot during apply');
    return encodeSnapshot(this.mvcc, this.lessor, this.applied, this.nospace);
  }

  /**
   * beginSnapshot starts encoding the state as of now in slices (SnapshotEncoder.step); the store
   * may apply further commands between them. The result equals snapshot() called now.
   */
  beginSnapshot(): SnapshotEncoder {
    assert(!this.applying, 'snapshot during apply');
    return new SnapshotEncoder(this.mvcc, this.lessor, this.applied, this.nospace);
  }

  get revision(): Revision {
    return this.mvcc.currentRevision as Revision;
  }
  /** compactRevision: -1 before the first compaction (etcd's compactMainRev). */
  get compactRevision(): number {
    return this.mvcc.compactRevision;
  }
  get appliedIndex(): number {
    return this.applied;
  }
  /** usedBytes: the quota estimate (quota.ts). */
  get usedBytes(): number {
    return this.mvcc.usedKvBytes + this.lessor.size * LEASE_OVERHEAD_BYTES;
  }
  get alarmArmed(): boolean {
    return this.nospace;
  }

  private header(): ResponseHeader {
    return { revision: this.mvcc.currentRevision as Revision };
  }

  // ---- apply ----

  /**
   * apply applies one committed command at Raft index ctx.index (> appliedIndex). It never
   * throws for a bad request: the same entry gives the same result and state on every replica.
   * Watchers are notified before it returns.
   */
  apply(cmd: KvCommand, ctx: ApplyContext): KvResult {
    assert(!this.applying, 're-entrant apply (a watch sink must not apply commands)');
    assert(
      Number.isSafeInteger(ctx.index) && ctx.index > this.applied,
      `apply index ${ctx.index} after ${this.applied}`,
    );
    this.applying = true;
    try {
      const out = this.dispatch(cmd, ctx);
      const changes = out.changes;
      this.applied = ctx.index;
      if (changes !== null) this.watches.notify(this.mvcc.currentRevision, changes);
      return out.result;
    } finally {
      this.applying = false;
    }
  }

  /** markApplied records a log entry that carried no KV command (empty or configuration entries). */
  markApplied(index: number): void {
    assert(!this.applying, 'markApplied during apply');
    assert(
      Number.isSafeInteger(index) && index > this.applied,
      `markApplied ${index} after ${this.applied}`,
    );
    this.applied = index;
  }

  private dispatch(
    cmd: KvCommand,
    ctx: ApplyContext,
  ): { result: KvResult; changes: RevisionChanges | null } {
    const fail = (error: KvError): { result: KvResult; changes: null } => ({
      result: { ok: false, type: cmd.type, error },
      changes: null,
    });
    switch (cmd.type) {
      case 'put': {
        const r = cmd.request;
        if (!this.available(costPut(r))) return fail(this.raiseNospace());
        const invalid = checkPutRequest(r);
        if (invalid !== null) return fail(invalid);
        if (this.nospace) return fail(this.quotaError());
        const lease = r.lease ?? NO_LEASE;
        if (lease !== NO_LEASE && this.lessor.get(lease) === undefined)
          return fail(new LeaseNotFoundError(lease));
        if (
          (r.ignoreValue === true || r.ignoreLease === true) &&
          this.mvcc.latest(bytesToLatin1(r.key)) === undefined
        ) {
          return fail(new KeyNotFoundError());
        }
        this.mvcc.beginWrite();
        const response = this.doPut(r);
        return { result: { ok: true, type: 'put', response }, changes: this.mvcc.endWrite() };
      }
      case 'deleteRange': {
        const r = cmd.request;
        if (r.key.length === 0) return fail(new EmptyKeyError());
        this.mvcc.beginWrite();
        const response = this.doDelete(r);
        return {
          result: { ok: true, type: 'deleteRange', response },
          changes: this.mvcc.endWrite(),
        };
      }
      case 'txn':
        return this.applyTxn(cmd.request, fail);
      case 'compact': {
        const rev = cmd.request.revision;
        if (rev <= this.mvcc.compactRevision)
          return fail(new CompactedError(this.mvcc.compactRevision));
        if (rev > this.mvcc.currentRevision)
          return fail(new FutureRevisionError(this.mvcc.currentRevision));
        this.mvcc.compact(rev);
        return {
          result: { ok: true, type: 'compact', response: { header: this.header() } },
          changes: null,
        };
      }
      case 'leaseGrant': {
        const r = cmd.request;
        if (!this.available(LEASE_OVERHEAD_BYTES)) return fail(this.raiseNospace());
        if (this.nospace) return fail(this.quotaError());
        if (r.ttlSeconds > MAX_LEASE_TTL_SECONDS)
          return fail(new LeaseTtlTooLargeError(r.ttlSeconds));
        const id =
          r.id === undefined || r.id === NO_LEASE
            ? leaseIdForIndex(ctx.index, (x) => this.lessor.get(x) !== undefined)
            : r.id;
        if (this.lessor.get(id) !== undefined) return fail(new LeaseExistsError(id));
        const l = this.lessor.grant(id, r.ttlSeconds, ctx.nowTick);
        const response = { header: this.header(), id, ttlSeconds: l.ttlSeconds };
        return { result: { ok: true, type: 'leaseGrant', response }, changes: null };
      }
      case 'leaseRevoke': {
        const id = cmd.request.id;
        const l = this.lessor.get(id);
        if (l === undefined) return fail(new LeaseNotFoundError(id));
        // Sorted, so every replica deletes in the same order (etcd sorts too).
        const keys = [...l.keys].sort();
        this.mvcc.beginWrite();
        for (const k of keys) {
          const e = this.mvcc.index.get(k);
          assert(e !== undefined, 'lease holds a key the index does not have');
          this.mvcc.deleteEntry(e);
        }
        const changes = this.mvcc.endWrite();
        this.lessor.remove(id);
        return {
          result: { ok: true, type: 'leaseRevoke', response: { header: this.header() } },
          changes,
        };
      }
      case 'leaseCheckpoint': {
        for (const cp of cmd.request.checkpoints)
          this.lessor.checkpoint(cp.id, cp.remainingTtlSeconds);
        return {
          result: { ok: true, type: 'leaseCheckpoint', response: { header: this.header() } },
          changes: null,
        };
      }
      case 'alarmDisarm': {
        const alarms = this.nospace ? (['NOSPACE'] as const) : ([] as const);
        this.nospace = false;
        return {
          result: { ok: true, type: 'alarmDisarm', response: { header: this.header(), alarms } },
          changes: null,
        };
      }
    }
  }

  /** available is etcd's quota test: usedBytes + cost < quotaBytes. */
  private available(cost: number): boolean {
    return this.usedBytes + cost < this.config.quotaBytes;
  }
  private quotaError(): QuotaExceededError {
    return new QuotaExceededError(this.usedBytes, this.config.quotaBytes);
  }
  private raiseNospace(): QuotaExceededError {
    this.nospace = true;
    return this.quotaError();
  }

  private applyTxn(
    r: TxnRequest,
    fail: (e: KvError) => { result: KvResult; changes: null },
  ): { result: KvResult; changes: RevisionChanges | null } {
    const cost = costTxn(r);
    // A txn without puts costs nothing and always passes (etcd 3.5's rule; 3.4 let a read-only
    // txn fail NOSPACE once the file was over quota).
    if (cost > 0 && !this.available(cost)) return fail(this.raiseNospace());
    const invalid = validateTxn(r, this.config.maxTxnOps);
    if (invalid !== null) return fail(invalid);
    if (this.nospace && cost > 0) return fail(this.quotaError());
    const path = compareToPath(this.mvcc, r);
    if (!isTxnReadonly(r)) {
      const e = forEachOpOnPath(r, path, (op) =>
        checkPutOnPath(this.mvcc, (id) => this.lessor.get(id) !== undefined, op),
      );
      if (e !== null) return fail(e);
    }
    const e = forEachOpOnPath(r, path, (op) => checkRangeOnPath(this.mvcc, op));
    if (e !== null) return fail(e);
    const writer: TxnWriter = {
      put: (req) => ({ type: 'put', response: this.doPut(req) }),
      deleteRange: (op) => ({ type: 'deleteRange', response: this.doDelete(op.request) }),
    };
    this.mvcc.beginWrite();
    const inner = executeTxn(this.mvcc, writer, r, path);
    const changes = this.mvcc.endWrite();
    return {
      result: { ok: true, type: 'txn', response: { ...inner, header: this.header() } },
      changes,
    };
  }

  /** doPut writes a validated put inside an open write; ignoreValue/ignoreLease/prevKv read the current (in-txn) state. */
  private doPut(r: PutRequest): PutResponse {
    const keyStr = bytesToLatin1(r.key);
    const prev = this.mvcc.latest(keyStr);
    let value: Uint8Array;
    if (r.ignoreValue === true) {
      assert(prev !== undefined, 'ignoreValue on a missing key after checks');
      value = prev.value;
    } else {
      const v = r.value ?? EMPTY_BYTES;
      value = v.length === 0 ? EMPTY_BYTES : v.slice();
    }
    let lease = r.lease ?? NO_LEASE;
    if (r.ignoreLease === true) {
      assert(prev !== undefined, 'ignoreLease on a missing key after checks');
      lease = prev.lease;
    }
    this.mvcc.put(r.key, keyStr, value, lease);
    return r.prevKv === true && prev !== undefined
      ? { header: this.header(), prevKv: prev }
      : { header: this.header() };
  }

  private doDelete(r: DeleteRangeRequest): DeleteRangeResponse {
    const span = keySpan(r.key, r.rangeEnd);
    const prevKvs =
      r.prevKv === true ? this.mvcc.rangeKeys(span, this.mvcc.currentRevision, 0).kvs : [];
    const deleted = this.mvcc.deleteRange(span);
    return { header: this.header(), deleted, prevKvs };
  }

  // ---- reads (served by this replica; the node decides about linearizability) ----

  /** range reads the current or a past revision (etcd's Range). */
  range(req: RangeRequest): KvReadResult<RangeResponse> {
    if (req.key.length === 0) return { ok: false, error: new EmptyKeyError() };
    switch (this.mvcc.checkRevision(req.revision)) {
      case 'future':
        return { ok: false, error: new FutureRevisionError(this.mvcc.currentRevision) };
      case 'compacted':
        return { ok: false, error: new CompactedError(this.mvcc.compactRevision) };
      case 'ok':
        return { ok: true, response: this.mvcc.range(req) };
    }
  }

  /**
   * leaseTimeToLive answers etcd's LeaseTimeToLive: ttlSeconds -1 for a missing lease; the
   * remaining TTL is counted on the leader (nowTick) and is the granted TTL elsewhere.
   * Keys are in byte order.
   */
  leaseTimeToLive(req: LeaseTimeToLiveRequest, nowTick?: number): LeaseTimeToLiveResponse {
    const l = this.lessor.get(req.id);
    if (l === undefined)
      return { header: this.header(), id: req.id, ttlSeconds: -1, grantedTtlSeconds: 0, keys: [] };
    const keys = req.keys === true ? [...l.keys].sort().map(latin1ToBytes) : [];
    return {
      header: this.header(),
      id: req.id,
      ttlSeconds: this.lessor.remainingTtlSeconds(l, nowTick),
      grantedTtlSeconds: l.ttlSeconds,
      keys,
    };
  }

  /** leaseLeases lists every lease, soonest expiry first on the leader, by id elsewhere. */
  leaseLeases(): LeaseLeasesResponse {
    return { header: this.header(), leases: this.lessor.byExpiry().map((id) => ({ id })) };
  }

  /** alarmList lists the armed alarms (etcd's AlarmRequest GET). */
  alarmList(): AlarmResponse {
    return { header: this.header(), alarms: this.nospace ? ['NOSPACE'] : [] };
  }

  status(): KvStatus {
    return {
      revision: this.revision,
      compactRevision: this.mvcc.compactRevision,
      appliedIndex: this.applied,
      usedBytes: this.usedBytes,
      quotaBytes: this.config.quotaBytes,
      keys: this.mvcc.index.size,
      liveKeys: this.mvcc.index.liveCount,
      leases: this.lessor.size,
      watchers: this.watches.size,
      alarms: this.nospace ? ['NOSPACE'] : [],
    };
  }

  /** checkInvariants asserts the internal invariants (tests and the simulator call it). */
  checkInvariants(): void {
    this.mvcc.index.checkInvariants();
    this.mvcc.checkInvariants();
    this.mvcc.index.forEach((e) => {
      const kv = this.mvcc.latest(e.keyStr);
      if (kv !== undefined && kv.lease !== NO_LEASE) {
        assert(
          this.lessor.get(kv.lease)?.keys.has(e.keyStr) === true,
          `key not attached to its lease ${kv.lease}`,
        );
      }
    });
    for (const id of this.lessor.ids()) {
      for (const k of this.lessor.get(id)!.keys) {
        assert(
          this.mvcc.latest(k)?.lease === id,
          `lease ${id} holds key that is not attached to it`,
        );
      }
    }
  }
}
