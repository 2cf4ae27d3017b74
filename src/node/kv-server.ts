// KvServer is a tab's etcd: the KV state machine (src/kv) replicated by a
// RaftNode. Writes go through the log and are answered from the proposer's
// own apply; linearizable reads wait for a ReadIndex; serializable reads and
// watches are served from this replica. The leader keeps lease time, revokes
// expired leases through the log, and follows the membership policy.
import {
  KvStore,
  LeaseNotFoundError,
  decodeCommand,
  encodeProposal,
  type KvCommand,
  type KvConfig,
  type KvError,
  type KvResult,
  type LeaseId,
  type RangeRequest,
  type RangeResponse,
  type TxnRequest,
  type WatchCreateRequest,
  type WatchId,
  type WatchSink,
  type SnapshotEncoder,
} from '../kv/index.js';
import type { LogIndex, NodeId, StateType } from '../raft/index.js';
import type { LoadedState } from '../storage/durable-storage.js';
import { decodeEnvelope } from './envelope.js';
import { planMembershipChange, type MembershipPolicyConfig } from './membership-policy.js';
import { RaftNode, type Applier, type NodeStatus, type RaftNodeConfig } from './raft-node.js';

/** Payload tags of the entries a KvServer proposes. */
const Tag = {
  /** A KV command encoded by src/kv/codec.ts. */
  Kv: 1,
  /** A lease keepAlive: the leader renews; every replica answers with the lease's TTL. */
  KeepAlive: 2,
} as const;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export type KvServerConfig = Omit<RaftNodeConfig, 'applier' | 'onRoleChange' | 'onApplied'> & {
  readonly kv?: Partial<KvConfig>;
  /** ticksPerSecond: how many ticks make a second (lease TTLs are seconds). */
  readonly ticksPerSecond: number;
  /** membership: the policy the leader applies; undefined disables automatic membership changes. */
  readonly membership?: MembershipPolicyConfig;
  /** membershipEveryTicks: how often the leader looks at membership. */
  readonly membershipEveryTicks?: number;
  /** progressEveryTicks: how often watchers that asked for progress notifications get one. */
  readonly progressEveryTicks?: number;
  readonly onRoleChange?: RaftNodeConfig['onRoleChange'];
  readonly onApplied?: RaftNodeConfig['onApplied'];
};

export type Callback<T> = (err: Error | undefined, result?: T) => void;

/** KeepAliveResponse: the lease's TTL after a successful keepAlive. */
export interface KeepAliveResponse {
  readonly id: LeaseId;
  readonly ttlSeconds: number;
  readonly revision: number;
}

class KvApplier implements Applier {
  kv: KvStore;
  nowTick = 0;
  /** onRestore: the store was replaced by a snapshot's (watchers must move over). */
  onRestore: (old: KvStore) => void = () => {};
  /** revokeFollows: does this leader's log hold a revoke of the lease after `index`? */
  revokeFollows: (id: LeaseId, index: LogIndex) => boolean = () => false;
  constructor(private readonly config: Partial<KvConfig>) {
    this.kv = new KvStore(config);
  }

  apply(index: LogIndex, payload: Uint8Array): unknown {
    const tag = payload[0];
    const body = payload.subarray(1);
    if (tag === Tag.Kv) {
      let cmd: KvCommand;
      try {
        cmd = decodeCommand(body);
      } catch (err) {
        // Deterministic on every replica: the entry applies as a no-op with an error result.
        this.kv.markApplied(index);
        return { ok: false, error: err as KvError };
      }
      return this.kv.apply(cmd, { index, nowTick: this.nowTick });
    }
    this.kv.markApplied(index);
    if (tag === Tag.KeepAlive) {
      const id = textDecoder.decode(body) as LeaseId;
      const lease = this.kv.lessor.get(id);
      if (!lease) return { ok: false, error: new LeaseNotFoundError(id) };
      if (this.kv.lessor.isPrimary) {
        // The leader's clock decides: a lease already past its expiry is being
        // revoked, so the keepAlive must not be answered as a renewal.
        const r = this.kv.lessor.renew(id, this.nowTick);
        if (!r.ok) return { ok: false, error: r.error.code === 'lease-expired' ? new LeaseNotFoundError(id) : r.error };
        // An expiry revoke proposed before this leader's term reset the lease's expiry may still
        // follow in the log: it will delete the lease whatever this renewal says.
        if (this.revokeFollows(id, index)) return { ok: false, error: new LeaseNotFoundError(id) };
      }
      return { ok: true, response: { id, ttlSeconds: lease.ttlSeconds, revision: this.kv.revision } };
    }
    return undefined;
  }

  snapshot(): Uint8Array {
    return this.kv.snapshot();
  }

  beginSnapshot(): SnapshotEncoder {
    return this.kv.beginSnapshot();
  }

  restore(data: Uint8Array, index: LogIndex): void {
    // A fresh store when there is no snapshot; watchers of the old store are cancelled by the
    // caller (KvServer) because history may have jumped.
    void index;
    const old = this.kv;
    this.kv = data.length === 0 ? new KvStore(this.config) : KvStore.restore(data, this.config);
    this.onRestore(old);
  }
}

export class KvServer {
  readonly node: RaftNode;
  private readonly applier: KvApplier;
  private readonly cfg: KvServerConfig;
  private readonly revokesInFlight = new Set<LeaseId>();
  private membershipPending = false;
  /** watchers: every watch created here, so that a snapshot install can move them to the new store. */
  private readonly watchers = new Map<WatchId, { req: WatchCreateRequest; sink: WatchSink; inner: WatchId; lastRevision: number }>();
  private nextWatchId = 1;

  static async open(cfg: KvServerConfig): Promise<KvServer> {
    const loaded = await cfg.durable.load();
    return new KvServer(cfg, loaded);
  }

  constructor(cfg: KvServerConfig, loaded: LoadedState) {
    this.cfg = cfg;
    this.applier = new KvApplier(cfg.kv ?? {});
    this.applier.onRestore = (old) => this.moveWatchers(old);
    this.applier.revokeFollows = (id, index) => this.revokeInLog(id, index);
    this.node = new RaftNode(
      {
        ...cfg,
        applier: this.applier,
        onRoleChange: (role, leader, term) => {
          this.onRoleChange(role);
          cfg.onRoleChange?.(role, leader, term);
        },
        onApplied: (applied) => cfg.onApplied?.(applied),
      },
      loaded,
    );
  }

  /** kv is this replica's state machine (reads here are serializable). */
  get kv(): KvStore {
    return this.applier.kv;
  }

  get id(): NodeId {
    return this.node.id;
  }

  // ---------------------------------------------------------------- time

  tick(): void {
    this.node.tick();
    const now = this.node.ticks;
    this.applier.nowTick = now;
    if (this.node.isStopped) return;
    const st = this.node.rawNode.raft;
    if (st.state === 'leader') {
      for (const id of this.kv.lessor.expired(now, 16)) this.revokeExpired(id);
      const every = this.cfg.membershipEveryTicks ?? 10;
      if (this.cfg.membership && now % every === 0) this.maybeChangeMembership();
    }
    const progressEvery = this.cfg.progressEveryTicks ?? 10 * this.cfg.ticksPerSecond;
    if (now % progressEvery === 0) this.kv.watches.periodicProgress();
  }

  private onRoleChange(role: StateType): void {
    if (role === 'leader') this.kv.lessor.promote(this.node.ticks, this.cfg.ticksPerSecond);
    else this.kv.lessor.demote();
  }

  /** revokeInLog: does this peer's log (stable and unstable) hold a revoke of lease `id` after `index`? */
  private revokeInLog(id: LeaseId, index: LogIndex): boolean {
    const log = this.node.rawNode.raft.raftLog;
    if (index >= log.lastIndex()) return false;
    for (const e of log.entries((index + 1) as LogIndex, Number.MAX_SAFE_INTEGER)) {
      if (e.type !== 'normal' || e.data.length === 0) continue;
      const env = decodeEnvelope(e.data);
      if (!env || env.payload[0] !== Tag.Kv) continue;
      try {
        const cmd = decodeCommand(env.payload.subarray(1));
        if (cmd.type === 'leaseRevoke' && cmd.request.id === id) return true;
      } catch {
        // Not a command: it applies as a no-op.
      }
    }
    return false;
  }

  private revokeExpired(id: LeaseId): void {
    if (this.revokesInFlight.has(id)) return;
    this.revokesInFlight.add(id);
    this.proposeKv({ type: 'leaseRevoke', request: { id } }, () => this.revokesInFlight.delete(id));
  }

  private maybeChangeMembership(): void {
    if (this.membershipPending || !this.cfg.membership) return;
    const st = this.node.status();
    const raftStatus = this.node.rawNode.status();
    const peers = new Map<NodeId, { connected: boolean; lastHeardTicks: number; match: number }>();
    const connected = new Set(this.cfg.transport.connectedPeers());
    for (const m of st.members) {
      if (m.id === this.id) continue;
      peers.set(m.id, {
        connected: connected.has(m.id),
        lastHeardTicks: m.lastHeardTicks,
        match: raftStatus.progress?.get(m.id)?.match ?? -1,
      });
    }
    for (const id of connected) {
      if (!peers.has(id)) peers.set(id, { connected: true, lastHeardTicks: 0, match: -1 });
    }
    const change = planMembershipChange(
      { config: st.config, leaderLastIndex: st.lastIndex, peers, self: this.id },
      this.cfg.membership,
    );
    if (!change) return;
    this.membershipPending = true;
    this.node.proposeConfChange(change, () => {
      this.membershipPending = false;
    });
  }

  // ---------------------------------------------------------------- requests

  /** proposeKv replicates a KV command; cb gets the KvResult applied on this replica. */
  proposeKv(cmd: KvCommand, cb: Callback<KvResult>): void {
    const enc = encodeProposal(cmd, this.kv.config);
    if (!enc.ok) return cb(enc.error);
    const payload = new Uint8Array(enc.data.length + 1);
    payload[0] = Tag.Kv;
    payload.set(enc.data, 1);
    this.node.propose(payload, (err, result) => cb(err, result as KvResult | undefined));
  }

  /** range reads linearizably (ReadIndex) unless req.serializable. */
  range(req: RangeRequest, cb: Callback<RangeResponse>): void {
    const serve = (): void => {
      const r = this.kv.range(req);
      if (r.ok) cb(undefined, r.response);
      else cb(r.error);
    };
    if (req.serializable) return serve();
    this.node.readIndex((err) => (err ? cb(err) : serve()));
  }

  /** txn proposes the txn (a read-only txn could skip the log; etcd also sends it through ReadIndex). */
  txn(req: TxnRequest, cb: Callback<KvResult>): void {
    this.proposeKv({ type: 'txn', request: req }, cb);
  }

  /** keepAlive renews a lease on the leader, through the log so any replica can ask. */
  keepAlive(id: LeaseId, cb: Callback<KeepAliveResponse>): void {
    const body = textEncoder.encode(id);
    const payload = new Uint8Array(body.length + 1);
    payload[0] = Tag.KeepAlive;
    payload.set(body, 1);
    this.node.propose(payload, (err, result) => {
      if (err) return cb(err);
      const r = result as { ok: true; response: KeepAliveResponse } | { ok: false; error: KvError };
      if (r.ok) cb(undefined, r.response);
      else cb(r.error);
    });
  }

  /** readIndex runs fn on this replica once it reflects every write committed before the call. */
  linearizable<T>(fn: () => T, cb: Callback<T>): void {
    this.node.readIndex((err) => {
      if (err) return cb(err);
      let out: T;
      try {
        out = fn();
      } catch (e) {
        return cb(e as Error);
      }
      cb(undefined, out);
    });
  }

  /**
   * watch registers a watcher on this replica. Its id is stable for the
   * watcher's life even when a snapshot install replaces the store: the
   * watcher is then re-created from its last delivered revision + 1, so it
   * sees no gap (or is cancelled as compacted, never silently skipped).
   */
  watch(req: WatchCreateRequest, sink: WatchSink): WatchId {
    const id = this.nextWatchId++ as WatchId;
    const start = req.startRevision ?? 0;
    const w = { req, sink, inner: -1 as WatchId, lastRevision: start > 0 ? start - 1 : this.kv.revision };
    this.watchers.set(id, w);
    w.inner = this.kv.watches.watch(req, this.trackingSink(id, w));
    return id;
  }

  private trackingSink(
    id: WatchId,
    w: { sink: WatchSink; lastRevision: number },
  ): WatchSink {
    return (resp) => {
      const last = resp.events.at(-1);
      if (last) w.lastRevision = last.kv.modRevision;
      if (resp.canceled) this.watchers.delete(id);
      return w.sink({ ...resp, watchId: id });
    };
  }

  private moveWatchers(_old: KvStore): void {
    for (const [id, w] of this.watchers) {
      // The old store is dropped whole, watchers included. Cancelling them there would send each
      // a `canceled` response through its tracking sink, which would end the watch for the
      // client (and drop it from this.watchers) while its replacement kept delivering.
      const sink = this.trackingSink(id, w);
      // The client saw `created` once already; the re-creation is invisible to it.
      w.inner = this.kv.watches.watch({ ...w.req, startRevision: w.lastRevision + 1 }, (resp) =>
        resp.created && resp.events.length === 0 ? true : sink(resp),
      );
    }
  }

  cancelWatch(id: WatchId): boolean {
    const w = this.watchers.get(id);
    if (!w) return false;
    this.watchers.delete(id);
    return this.kv.watches.cancel(w.inner);
  }

  status(): NodeStatus & { readonly revision: number; readonly compactRevision: number; readonly usedBytes: number; readonly alarms: readonly string[] } {
    const s = this.node.status();
    const k = this.kv.status();
    return { ...s, revision: k.revision, compactRevision: k.compactRevision, usedBytes: k.usedBytes, alarms: k.alarms };
  }

  leader(): NodeId {
    return this.node.rawNode.raft.lead;
  }

  stop(opts: { handOver?: boolean } = {}): void {
    this.node.stop(opts);
  }
}

