// Lessor: leases (etcd's lease.lessor), in two parts.
//
// Replicated state, changed only by applied commands: each lease's id, granted TTL, checkpointed
// remaining TTL, and the keys attached to it (derived from the keys' `lease` fields). It is the
// same on every replica and is what a snapshot holds (TTLs, never expiry times).
//
// Leader-only state, never replicated: expiry ticks. Like etcd, only the primary lessor (the
// leader's) counts time: promote() gives every lease a full TTL from now (or its checkpointed
// remaining TTL), so a TTL is a minimum, never cut short by a leader change; renew() (keepAlive,
// served by the leader and not replicated, as in etcd 3.4) restarts it; expired() lists leases
// whose time is up, and the node proposes a leaseRevoke for each through the log. Time comes in
// as ticks; ticksPerSecond converts TTL seconds. A non-primary lessor never expires anything.
import type { KvConfig } from './config.js';
import type { LeaseCheckpoint, LeaseId } from './types.js';
import { NO_LEASE, compareLeaseIds } from './types.js';
import { LeaseExpiredError, LeaseNotFoundError, LeaseNotPrimaryError } from './errors.js';
import type { LeaseAttachments } from './mvcc.js';
import { assert } from './errors.js';

/** LeaseState is one lease. Invariant: keys holds exactly the live keys whose lease is id. */
export interface LeaseState {
  readonly id: LeaseId;
  /** ttlSeconds: the granted TTL, after raising to minLeaseTtlSeconds. */
  readonly ttlSeconds: number;
  /** remainingTtlSeconds: the last checkpointed remaining TTL; 0 = none. */
  remainingTtlSeconds: number;
  /** keys: attached keys as latin1 strings (see types.bytesToLatin1). */
  readonly keys: Set<string>;
  /** expiryTick: leader only; Infinity on a non-primary lessor. */
  expiryTick: number;
  /** reportTick: leader only; expired() reports the lease again once nowTick reaches it. */
  reportTick: number;
}

export type RenewResult =
  | { readonly ok: true; readonly ttlSeconds: number; readonly clearCheckpoint: boolean }
  | {
      readonly ok: false;
      readonly error: LeaseNotFoundError | LeaseNotPrimaryError | LeaseExpiredError;
    };

const MASK63 = (1n << 63n) - 1n;

/**
 * leaseIdForIndex derives a lease id from the Raft index of the grant (so every replica picks the
 * same one): a splitmix64 mix of the index, made positive and non-zero, stepped past taken ids.
 */
export function leaseIdForIndex(index: number, taken: (id: LeaseId) => boolean): LeaseId {
  let z = BigInt.asUintN(64, BigInt(index) + 0x9e3779b97f4a7c15n);
  z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
  z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
  z = (z ^ (z >> 31n)) & MASK63;
  for (;;) {
    if (z === 0n) z = 1n;
    const id = z.toString() as LeaseId;
    if (!taken(id)) return id;
    z = (z + 1n) & MASK63;
  }
}

export class Lessor implements LeaseAttachments {
  private readonly leaseMap = new Map<LeaseId, LeaseState>();
  private primary = false;
  private ticksPerSecond = 1;
  /** lastTick: the newest tick seen, used when a grant applies without ctx.nowTick. */
  private lastTick = 0;

  constructor(private readonly config: KvConfig) {}

  get isPrimary(): boolean {
    return this.primary;
  }
  get size(): number {
    return this.leaseMap.size;
  }

  get(id: LeaseId): LeaseState | undefined {
    return this.leaseMap.get(id);
  }

  /** ids lists every lease id in numeric order. */
  ids(): LeaseId[] {
    return [...this.leaseMap.keys()].sort(compareLeaseIds);
  }

  // ---- replicated changes (called while applying) ----

  /** grant adds a lease (checks were done by the caller); ttl is raised to the minimum. */
  grant(id: LeaseId, ttlSeconds: number, nowTick: number | undefined): LeaseState {
    assert(id !== NO_LEASE && !this.leaseMap.has(id), 'grant of an existing or zero lease id');
    const ttl = Math.max(ttlSeconds, this.config.minLeaseTtlSeconds);
    const l: LeaseState = {
      id,
      ttlSeconds: ttl,
      remainingTtlSeconds: 0,
      keys: new Set(),
      expiryTick: Infinity,
      reportTick: 0,
    };
    if (this.primary) {
      const now = this.seeTick(nowTick);
      l.expiryTick = now + ttl * this.ticksPerSecond;
    }
    this.leaseMap.set(id, l);
    return l;
  }

  /** restoreLease adds a lease read from a snapshot. */
  restoreLease(id: LeaseId, ttlSeconds: number, remainingTtlSeconds: number): void {
    this.leaseMap.set(id, {
      id,
      ttlSeconds,
      remainingTtlSeconds,
      keys: new Set(),
      expiryTick: Infinity,
      reportTick: 0,
    });
  }

  /** remove drops a lease (its keys are deleted by the caller first). */
  remove(id: LeaseId): void {
    const l = this.leaseMap.get(id);
    assert(l !== undefined && l.keys.size === 0, 'remove of a missing lease or one with keys');
    this.leaseMap.delete(id);
  }

  /** checkpoint records a lease's remaining TTL; a new leader resumes from it. */
  checkpoint(id: LeaseId, remainingTtlSeconds: number): void {
    const l = this.leaseMap.get(id);
    if (l !== undefined) l.remainingTtlSeconds = Math.max(0, remainingTtlSeconds);
  }

  attach(id: LeaseId, keyStr: string): void {
    const l = this.leaseMap.get(id);
    assert(l !== undefined, `attach to missing lease ${id}`);
    l.keys.add(keyStr);
  }

  detach(id: LeaseId, keyStr: string): void {
    // etcd logs and goes on when the lease is gone; here it cannot be (revoke deletes its keys).
    const l = this.leaseMap.get(id);
    assert(l !== undefined, `detach from missing lease ${id}`);
    l.keys.delete(keyStr);
  }

  // ---- leader-only time keeping ----

  private seeTick(nowTick: number | undefined): number {
    if (nowTick !== undefined) {
      assert(Number.isFinite(nowTick), 'nowTick must be finite');
      this.lastTick = Math.max(this.lastTick, nowTick);
    }
    return nowTick ?? this.lastTick;
  }

  /** promote makes this the primary lessor and gives every lease a full (or checkpointed) TTL from now. */
  promote(nowTick: number, ticksPerSecond: number): void {
    assert(
      Number.isFinite(ticksPerSecond) && ticksPerSecond > 0,
      'ticksPerSecond must be positive',
    );
    const now = this.seeTick(nowTick);
    this.primary = true;
    this.ticksPerSecond = ticksPerSecond;
    for (const l of this.leaseMap.values()) {
      const ttl = l.remainingTtlSeconds > 0 ? l.remainingTtlSeconds : l.ttlSeconds;
      l.expiryTick = now + ttl * ticksPerSecond;
      l.reportTick = 0;
    }
  }

  /** demote stops time keeping (this replica is no longer the leader). */
  demote(): void {
    this.primary = false;
    for (const l of this.leaseMap.values()) l.expiryTick = Infinity;
  }

  /**
   * renew is keepAlive: restarts the lease's TTL. clearCheckpoint asks the node to propose a
   * checkpoint with remaining 0 (etcd clears a checkpointed TTL on renew).
   */
  renew(id: LeaseId, nowTick: number): RenewResult {
    if (!this.primary) return { ok: false, error: new LeaseNotPrimaryError() };
    const now = this.seeTick(nowTick);
    const l = this.leaseMap.get(id);
    if (l === undefined) return { ok: false, error: new LeaseNotFoundError(id) };
    if (l.expiryTick <= now) return { ok: false, error: new LeaseExpiredError(id) };
    l.expiryTick = now + l.ttlSeconds * this.ticksPerSecond;
    return { ok: true, ttlSeconds: l.ttlSeconds, clearCheckpoint: l.remainingTtlSeconds > 0 };
  }

  /**
   * expired lists up to limit leases whose TTL has run out, soonest first, for the node to revoke
   * through the log. A lease reported here is reported again after leaseRevokeRetrySeconds if
   * its revoke has not applied by then (etcd retries likewise). Empty unless primary.
   */
  expired(nowTick: number, limit = Infinity): LeaseId[] {
    if (!this.primary) return [];
    const now = this.seeTick(nowTick);
    const due: LeaseState[] = [];
    for (const l of this.leaseMap.values()) {
      if (l.expiryTick <= now && l.reportTick <= now) due.push(l);
    }
    due.sort((a, b) => a.expiryTick - b.expiryTick || compareLeaseIds(a.id, b.id));
    const out = due.slice(0, limit);
    for (const l of out)
      l.reportTick = now + this.config.leaseRevokeRetrySeconds * this.ticksPerSecond;
    return out.map((l) => l.id);
  }

  /**
   * remainingTtlSeconds: on the leader, whole seconds until expiry (truncated, as etcd's
   * int64(Remaining().Seconds())); elsewhere the checkpointed or granted TTL, which a new leader
   * would give (etcd forwards this query to the leader instead).
   */
  remainingTtlSeconds(l: LeaseState, nowTick: number | undefined): number {
    if (!this.primary) return l.remainingTtlSeconds > 0 ? l.remainingTtlSeconds : l.ttlSeconds;
    const now = this.seeTick(nowTick);
    return Math.trunc((l.expiryTick - now) / this.ticksPerSecond);
  }

  /** checkpoints lists every lease's remaining TTL now (leader only), for a leaseCheckpoint proposal. */
  checkpoints(nowTick: number): LeaseCheckpoint[] {
    if (!this.primary) return [];
    return this.ids().map((id) => {
      const l = this.leaseMap.get(id)!;
      return { id, remainingTtlSeconds: Math.max(0, this.remainingTtlSeconds(l, nowTick)) };
    });
  }

  /** byExpiry lists ids soonest expiry first (etcd's Leases order), then by id. */
  byExpiry(): LeaseId[] {
    return [...this.leaseMap.values()]
      .sort(
        (a, b) =>
          (a.expiryTick === b.expiryTick ? 0 : a.expiryTick < b.expiryTick ? -1 : 1) ||
          compareLeaseIds(a.id, b.id),
      )
      .map((l) => l.id);
  }
}
