// LocalClient: KvClient over this tab's node (a KvServer). Writes go through the Raft log;
// reads are linearizable (ReadIndex) unless `serializable`; watches are served by this replica.
// Every callback of the node becomes a promise that rejects only with tabd's typed errors.
import {
  leaseId,
  type Compare,
  type KvCommand,
  type KvResponseMap,
  type KvResult,
  type RangeRequest,
  type RangeResponse as KvRangeResponse,
  type Revision,
  type TxnRequest,
  type WatchCreateRequest,
  type WatchId,
  type WatchSink,
} from '../kv/index.js';
import type { Callback, KeepAliveResponse, KvServer } from '../node/kv-server.js';
import { rangeEndOf, toBytes, type Bytes } from './bytes.js';
import { ClientClosedError, WatchCanceledError, toTabdError } from './errors.js';
import { KeepAliveLoop, type KeepAlive, type KeepAliveOptions } from './keep-alive.js';
import { TxnBuilder, deleteRequest, putRequest, rangeRequest } from './txn-builder.js';
import type {
  AlarmResponse,
  CompactionResponse,
  DeleteOptions,
  DeleteRangeResponse,
  GetOptions,
  KvClient,
  LeaseGrantResponse,
  LeaseIdInput,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  MemberListResponse,
  PutOptions,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  StatusResponse,
  TxnResponse,
  WatchOptions,
} from './types.js';
import { WatchStream, compactedEnd, type Watch } from './watch.js';

export interface LocalClientOptions {
  /**
   * leaseSecondMs: how many wall-clock ms one lease second lasts on this node (its
   * ticksPerSecond times its tick interval); keepAlive handles renew by it. Default 1000.
   */
  readonly leaseSecondMs?: number;
  /** version: what status() reports as the server version. */
  readonly version?: string;
}

/** LocalClient is the KvClient of this tab's node. */
export class LocalClient implements KvClient {
  private closed = false;
  private readonly watches = new Set<WatchStream>();
  private readonly keepAlives = new Set<KeepAlive>();
  private readonly leaseSecondMs: number;
  private readonly version: string;

  constructor(
    readonly server: KvServer,
    opts: LocalClientOptions = {},
  ) {
    this.leaseSecondMs = opts.leaseSecondMs ?? 1000;
    this.version = opts.version ?? 'tabd-0.1.0';
  }

  // ---------------------------------------------------------------- plumbing

  private header(revision: number): ResponseHeader {
    return {
      revision: revision as Revision,
      memberId: this.server.id,
      raftTerm: this.server.node.rawNode.raft.term,
      clusterId: '',
    };
  }

  /** call turns a node callback API into a promise of tabd errors. */
  private call<T>(start: (cb: Callback<T>) => void): Promise<T> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    return new Promise<T>((resolve, reject) => {
      try {
        start((err, result) => (err ? reject(toTabdError(err)) : resolve(result as T)));
      } catch (err) {
        reject(toTabdError(err));
      }
    });
  }

  /** attempt runs fn now and answers its result, or its error as a tabd error. */
  private attempt<T>(fn: () => T): Promise<T> {
    return this.call<T>((cb) => cb(undefined, fn()));
  }

  /** propose replicates a KV command and answers its response (or its typed error). */
  private async propose<T extends KvCommand['type']>(
    cmd: KvCommand & { type: T },
  ): Promise<KvResponseMap[T]> {
    const r = await this.call<KvResult>((cb) => this.server.proposeKv(cmd, cb));
    if (!r.ok) throw toTabdError(r.error);
    return r.response as KvResponseMap[T];
  }

  /** read runs fn on this replica after a ReadIndex (linearizable). */
  private read<T>(fn: () => T): Promise<T> {
    return this.call<T>((cb) => this.server.linearizable(fn, cb));
  }

  // ---------------------------------------------------------------- KV

  async put(key: Bytes, value: Bytes, opts?: PutOptions): Promise<PutResponse> {
    const r = await this.propose({ type: 'put', request: putRequest(key, value, opts) });
    return { ...r, header: this.header(r.header.revision) };
  }

  get(key: Bytes, opts?: GetOptions): Promise<RangeResponse> {
    return this.rangeOrReject(() => rangeRequest(key, opts));
  }

  range(req: RangeRequest): Promise<RangeResponse> {
    return this.rangeOrReject(() => req);
  }

  private async rangeOrReject(build: () => RangeRequest): Promise<RangeResponse> {
    const req = await this.attempt(build);
    const r = await this.call<KvRangeResponse>((cb) => this.server.range(req, cb));
    return { ...r, header: this.header(r.header.revision) };
  }

  async delete(key: Bytes, opts?: DeleteOptions): Promise<DeleteRangeResponse> {
    const r = await this.propose({ type: 'deleteRange', request: deleteRequest(key, opts) });
    return { ...r, header: this.header(r.header.revision) };
  }

  async txn(req: TxnRequest): Promise<TxnResponse> {
    const r = await this.propose({ type: 'txn', request: req });
    return { ...r, header: this.header(r.header.revision) };
  }

  if(...compares: Compare[]): TxnBuilder {
    return new TxnBuilder((req) => this.txn(req), compares);
  }

  async compact(revision: number, physical = false): Promise<CompactionResponse> {
    const r = await this.propose({ type: 'compact', request: { revision, physical } });
    return { header: this.header(r.header.revision) };
  }

  // ---------------------------------------------------------------- watch

  watch(key: Bytes, opts: WatchOptions = {}): Watch {
    const k = toBytes(key);
    const stream = new WatchStream(k, opts);
    if (this.closed) {
      stream.pushEnd({ reason: 'error', error: new ClientClosedError() });
      return stream;
    }
    let rangeEnd: Uint8Array | undefined;
    try {
      rangeEnd = rangeEndOf(k, opts);
    } catch (err) {
      stream.pushEnd({ reason: 'error', error: toTabdError(err) });
      return stream;
    }
    const req: WatchCreateRequest = {
      key: k,
      ...(rangeEnd === undefined ? {} : { rangeEnd }),
      ...(opts.startRevision ? { startRevision: opts.startRevision } : {}),
      ...(opts.prevKv === true ? { prevKv: true } : {}),
      ...(opts.noPut === true || opts.noDelete === true
        ? { filters: { noPut: opts.noPut === true, noDelete: opts.noDelete === true } }
        : {}),
      ...(opts.progressNotify === true ? { progressNotify: true } : {}),
    };
    // The sink runs inside the node's apply: it only hands responses to the stream (which
    // delivers them in a microtask) and never refuses one: KvServer has no way to resume a
    // refused watcher, so the stream bounds its backlog itself (WatchOverflowError).
    const sink: WatchSink = (resp) => {
      const header = this.header(resp.header.revision);
      if (resp.created) {
        if (resp.canceled)
          stream.pushEnd({ reason: 'error', error: new WatchCanceledError(resp.cancelReason) });
        else stream.pushCreated(header);
      } else if (resp.canceled) {
        if (resp.compactRevision > 0) stream.pushEnd(compactedEnd(resp.compactRevision));
        else if (resp.cancelReason !== '')
          stream.pushEnd({ reason: 'error', error: new WatchCanceledError(resp.cancelReason) });
        else stream.pushEnd({ reason: 'canceled' });
      } else {
        stream.pushResponse({
          header,
          events: resp.events,
          progressNotify: resp.events.length === 0,
        });
      }
      return true;
    };
    let id: WatchId;
    try {
      id = this.server.watch(req, sink);
    } catch (err) {
      stream.pushEnd({ reason: 'error', error: toTabdError(err) });
      return stream;
    }
    this.watches.add(stream);
    void stream.done.then(() => this.watches.delete(stream));
    stream.attach({
      // Deferred: cancel may be asked from inside the sink (overflow), i.e. inside apply.
      cancel: () => queueMicrotask(() => this.server.cancelWatch(id)),
      requestProgress: async () => {
        if (this.closed) throw new ClientClosedError();
        // Every event up to the replica's revision has already been handed to the stream (the
        // sink is called while applying), so a notification at that revision is truthful.
        stream.pushResponse({
          header: this.header(this.server.kv.revision),
          events: [],
          progressNotify: true,
        });
      },
      restart: (o) => this.watch(key, o),
    });
    return stream;
  }

  // ---------------------------------------------------------------- leases

  async grant(ttlSeconds: number, id?: LeaseIdInput): Promise<LeaseGrantResponse> {
    const request = { ttlSeconds, ...(id === undefined ? {} : { id: leaseId(id) }) };
    const r = await this.propose({ type: 'leaseGrant', request });
    return { ...r, header: this.header(r.header.revision) };
  }

  async revoke(id: LeaseIdInput): Promise<LeaseRevokeResponse> {
    const r = await this.propose({ type: 'leaseRevoke', request: { id: leaseId(id) } });
    return { header: this.header(r.header.revision) };
  }

  async keepAliveOnce(id: LeaseIdInput): Promise<LeaseKeepAliveResponse> {
    const lid = await this.attempt(() => leaseId(id));
    const r = await this.call<KeepAliveResponse>((cb) => this.server.keepAlive(lid, cb));
    return { header: this.header(r.revision), id: r.id, ttlSeconds: r.ttlSeconds };
  }

  keepAlive(id: LeaseIdInput, opts?: KeepAliveOptions): KeepAlive {
    const ka = new KeepAliveLoop(
      leaseId(id),
      (i) => this.keepAliveOnce(i),
      this.leaseSecondMs,
      opts,
    );
    this.keepAlives.add(ka);
    void ka.closed.then(() => this.keepAlives.delete(ka));
    return ka;
  }

  async timeToLive(
    id: LeaseIdInput,
    opts: { readonly keys?: boolean } = {},
  ): Promise<LeaseTimeToLiveResponse> {
    const lid = await this.attempt(() => leaseId(id));
    const r = await this.read(() =>
      this.server.kv.leaseTimeToLive({ id: lid, keys: opts.keys === true }, this.server.node.ticks),
    );
    return { ...r, header: this.header(r.header.revision) };
  }

  async leases(): Promise<LeaseLeasesResponse> {
    const r = await this.read(() => this.server.kv.leaseLeases());
    return { ...r, header: this.header(r.header.revision) };
  }

  // ---------------------------------------------------------------- cluster and maintenance

  async status(): Promise<StatusResponse> {
    const s = await this.attempt(() => this.server.status());
    return {
      header: this.header(s.revision),
      version: this.version,
      memberId: s.id,
      leader: s.leader,
      raftTerm: s.term,
      raftIndex: s.commitIndex,
      raftAppliedIndex: s.appliedIndex,
      revision: s.revision as Revision,
      dbSize: s.usedBytes,
      dbSizeInUse: s.usedBytes,
      isLearner: s.isLearner,
      alarms: s.alarms.map(() => ({ memberId: s.id, alarm: 'NOSPACE' as const })),
      errors: s.quorum ? [] : ['no-quorum: this member has no leader with a quorum'],
    };
  }

  async memberList(): Promise<MemberListResponse> {
    const s = await this.attempt(() => this.server.status());
    return {
      header: this.header(s.revision),
      members: s.members.map((m) => ({
        id: m.id,
        name: m.id,
        peerUrls: [],
        clientUrls: [],
        isLearner: m.role === 'learner',
      })),
    };
  }

  async alarmList(): Promise<AlarmResponse> {
    const r = await this.read(() => this.server.kv.alarmList());
    return {
      header: this.header(r.header.revision),
      alarms: r.alarms.map((alarm) => ({ memberId: this.server.id, alarm })),
    };
  }

  async alarmDisarm(): Promise<AlarmResponse> {
    const r = await this.propose({ type: 'alarmDisarm', request: { alarm: 'NOSPACE' } });
    return {
      header: this.header(r.header.revision),
      alarms: r.alarms.map((alarm) => ({ memberId: this.server.id, alarm })),
    };
  }

  /** close cancels this client's watches and keepAlives; the node itself keeps running. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ka of this.keepAlives) ka.close();
    await Promise.all([...this.watches].map((w) => w.cancel()));
  }
}
