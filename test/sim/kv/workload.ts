// The KV workload's clients. Each client does one operation at a time against the callback API
// of a KvServer on a node of its choice, and records it in the history format of
// docs/history-format.md: call and return times in simulator steps, the result with the revision
// it saw, and the outcome (ok; fail = definitely not applied: no-quorum, proposal dropped, or a
// KV error such as lease-not-found; unknown = may apply later: timeout, or the node stopped).
//
// Values are unique per write ("c<client>-<n>"), which the checker relies on. Lease ids are
// chosen by the clients (small integers, unique per run) so that the history can name them.
// Watches are separate logical watchers (watches.ts).
import type { KeepAliveResponse, KvServer } from '../../../src/node/kv-server.js';
import {
  KvError,
  leaseId,
  prefixEnd,
  type KvCommand,
  type KvResult,
  type RangeResponse,
} from '../../../src/kv/index.js';
import type { NodeId } from '../../../src/raft/index.js';
import type { GetResult, HistoryOp, KvOp, OpResult, RangeKv } from '../../lincheck/history.js';
import type { SimRng } from '../sim-rng.js';
import { keyString } from './oracle.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Keys the clients use: two prefixes, so prefix ranges and range deletes have neighbours. */
export const workloadKeys: readonly string[] = ['a0', 'a1', 'a2', 'a3', 'b0', 'b1', 'b2'];
export const workloadPrefixes: readonly string[] = ['a', 'b'];

/** MutableOp is a history record being filled in. */
interface MutableOp {
  id: number;
  client: number | string;
  call: number;
  return: number | null;
  op: KvOp;
  result: OpResult | null;
  outcome: 'ok' | 'fail' | 'unknown';
  error?: string;
}

/** SerializableRead is a serializable get, checked against the committed history. */
export interface SerializableRead {
  readonly op: HistoryOp;
  readonly node: NodeId;
  /** committedAtReturn: the committed history's revision when the read returned. */
  readonly committedAtReturn: number;
}

/** ClusterView is what clients may see and do. */
export interface ClusterView {
  readonly now: number;
  readonly rng: SimRng;
  /** servers lists the running KvServers, in node id order. */
  servers(): { readonly id: NodeId; readonly server: KvServer }[];
  leaderId(): NodeId | undefined;
  /** later runs fn after `steps` (never re-entrantly inside a node call). */
  later(steps: number, fn: () => void): void;
  /** committedRevision: the highest revision any node has applied (the committed history's). */
  committedRevision(): number;
}

/** History records every client operation. */
export class History {
  private readonly ops: MutableOp[] = [];
  private nextId = 1;
  readonly serializable: MutableOp[] = [];
  /** wrongAnswers: operations answered with another command's result (a bug). */
  readonly wrongAnswers: string[] = [];
  private readonly serializableNodes = new Map<number, NodeId>();
  private readonly committedAtReturn = new Map<number, number>();

  begin(client: number | string, op: KvOp, now: number): MutableOp {
    const rec: MutableOp = {
      id: this.nextId++,
      client,
      call: now,
      return: null,
      op,
      result: null,
      outcome: 'unknown',
    };
    this.ops.push(rec);
    return rec;
  }

  noteSerializable(rec: MutableOp, node: NodeId): void {
    this.serializable.push(rec);
    this.serializableNodes.set(rec.id, node);
  }

  noteSerializableReturn(rec: MutableOp, committed: number): void {
    this.committedAtReturn.set(rec.id, committed);
  }

  /** add appends a record made elsewhere (expiry revokes). */
  addUnknown(client: string, op: KvOp, call: number, error: string): void {
    this.ops.push({
      id: this.nextId++,
      client,
      call,
      return: null,
      op,
      result: null,
      outcome: 'unknown',
      error,
    });
  }

  get size(): number {
    return this.ops.length;
  }

  /** pending lists calls that never returned. */
  pending(): readonly HistoryOp[] {
    return this.ops.filter(
      (o) => o.return === null && o.outcome === 'unknown' && o.error === undefined,
    );
  }

  all(): readonly HistoryOp[] {
    return this.ops;
  }

  serializableReads(): SerializableRead[] {
    return this.serializable
      .filter((o) => o.outcome === 'ok')
      .map((op) => ({
        op,
        node: this.serializableNodes.get(op.id)!,
        committedAtReturn: this.committedAtReturn.get(op.id) ?? -1,
      }));
  }
}

/** classify maps an error from the node or the KV layer to an outcome. */
export function classify(err: Error): 'fail' | 'unknown' {
  if (err instanceof KvError) return 'fail';
  const e = err as { code?: unknown; unknownOutcome?: unknown };
  if (e.unknownOutcome === true) return 'unknown';
  switch (e.code) {
    case 'no-quorum':
    case 'proposal-dropped':
    case 'not-leader':
      return 'fail';
    default:
      // 'timeout', 'stopped' and anything unexpected: the command may still apply.
      return 'unknown';
  }
}

function errorText(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : err.name;
}

export function getResult(r: RangeResponse): GetResult {
  const kv = r.kvs[0];
  if (kv === undefined)
    return {
      revision: r.header.revision,
      value: null,
      modRevision: 0,
      version: 0,
      createRevision: 0,
    };
  return {
    revision: r.header.revision,
    value: dec.decode(kv.value),
    modRevision: kv.modRevision,
    version: kv.version,
    createRevision: kv.createRevision,
  };
}

function rangeKvs(r: RangeResponse): RangeKv[] {
  return r.kvs.map((kv) => ({
    key: keyString(kv.key),
    value: dec.decode(kv.value),
    modRevision: kv.modRevision,
    version: kv.version,
    createRevision: kv.createRevision,
  }));
}

interface ClientLease {
  readonly n: number;
  revoked: boolean;
}

/** Counters shared by all clients. */
export type WorkloadStats = Record<string, number>;

/** LeaseIds hands out lease ids unique within a run, and remembers what clients did with them. */
export class LeaseIds {
  private next = 1000;
  /** attempted: every lease id a grant was called for, with the call time. */
  readonly attempted = new Map<number, number>();
  /** ttlSeconds: the TTL each grant asked for. */
  readonly ttlSeconds = new Map<number, number>();
  /** keptAt: the call time of the latest keepAlive the leader answered ok, per lease. */
  readonly keptAt = new Map<number, number>();
  /**
   * keptByFollowerAt: the same for keepAlives a follower answered ok. A follower answers from its
   * own apply and cannot know whether the leader renewed (a known bug, see
   * test/client/keepalive-expiry.test.ts): counted as a known deviation, not a violation.
   */
  readonly keptByFollowerAt = new Map<number, number>();
  /** revokeCalled: leases a client tried to revoke (their removal may not be an expiry). */
  readonly revokeCalled = new Set<number>();
  take(now: number, ttlSeconds: number): number {
    const n = this.next++;
    this.attempted.set(n, now);
    this.ttlSeconds.set(n, ttlSeconds);
    return n;
  }
}

/** KvClient plays one client. */
export class KvClient {
  private seq = 0;
  private busy = false;
  /** busySince: when the operation in flight was issued. */
  busySince = 0;
  private sticky: NodeId | undefined;
  private readonly seen = new Map<string, { modRevision: number; value: string | null }>();
  private readonly leases: ClientLease[] = [];
  private lastRevision = 1;
  active = true;

  constructor(
    readonly id: number,
    private readonly view: ClusterView,
    private readonly history: History,
    private readonly leaseIds: LeaseIds,
    private readonly stats: WorkloadStats,
    private readonly gapSteps: number,
  ) {}

  get idle(): boolean {
    return !this.busy;
  }

  start(): void {
    this.view.later(this.view.rng.between(1, this.gapSteps), () => this.act());
  }

  private count(k: string): void {
    this.stats[k] = (this.stats[k] ?? 0) + 1;
  }

  private pickServer(): { id: NodeId; server: KvServer } | undefined {
    const rng = this.view.rng;
    const servers = this.view.servers();
    if (servers.length === 0) return undefined;
    if (this.sticky !== undefined && rng.chance(0.7)) {
      const s = servers.find((x) => x.id === this.sticky);
      if (s) return s;
    }
    const leader = this.view.leaderId();
    const s =
      leader !== undefined && rng.chance(0.3) ? servers.find((x) => x.id === leader) : undefined;
    const chosen = s ?? rng.pick(servers);
    this.sticky = chosen.id;
    return chosen;
  }

  private act(): void {
    if (!this.active) return;
    const target = this.pickServer();
    if (!target) {
      this.view.later(this.view.rng.between(1, this.gapSteps), () => this.act());
      return;
    }
    this.busy = true;
    this.busySince = this.view.now;
    this.issue(target.id, target.server);
  }

  private done(): void {
    this.busy = false;
    if (this.active) this.view.later(this.view.rng.between(1, this.gapSteps), () => this.act());
  }

  private value(): string {
    return `c${this.id}-${++this.seq}`;
  }

  private note(key: string, modRevision: number, value: string | null): void {
    this.seen.set(key, { modRevision, value });
  }

  private seeRevision(r: number): void {
    this.lastRevision = Math.max(this.lastRevision, r);
  }

  private issue(node: NodeId, server: KvServer): void {
    const rng = this.view.rng;
    const key = rng.pick(workloadKeys);
    const x = rng.intn(100);
    const liveLeases = this.leases.filter((l) => !l.revoked);
    const lease = liveLeases.length > 0 ? rng.pick(liveLeases) : undefined;
    if (x < 22) return this.put(server, key);
    if (x < 38) return this.get(node, server, key, false);
    if (x < 48) return this.get(node, server, key, true);
    if (x < 54) return this.range(server);
    if (x < 59) return this.del(server, key, rng.chance(0.25));
    if (x < 70) return this.cas(server, key);
    if (x < 74 || lease === undefined) return x < 97 ? this.grant(server) : this.compact(server);
    if (x < 81) return this.putWithLease(server, key, lease);
    if (x < 83) return this.revoke(server, lease);
    if (x < 97) return this.keepAlive(server, lease);
    return this.compact(server);
  }

  /** propose runs a KV command and records it; onOk turns the response into the history result. */
  private propose(
    server: KvServer,
    op: KvOp,
    cmd: KvCommand,
    onOk: (r: KvResult & { ok: true }) => OpResult,
  ): void {
    const rec = this.history.begin(this.id, op, this.view.now);
    this.count(`op:${op.type}`);
    server.proposeKv(cmd, (err, result) => {
      rec.return = this.view.now;
      if (err) {
        rec.outcome = classify(err);
        rec.error = errorText(err);
        if (rec.outcome === 'unknown') rec.return = null;
      } else if (result === undefined) {
        rec.outcome = 'unknown';
        rec.return = null;
        rec.error = 'no result';
      } else if (result.type !== cmd.type) {
        // The node answered with the result of another command: a bug, reported as such; the
        // operation itself may or may not have been applied.
        rec.outcome = 'unknown';
        rec.return = null;
        rec.error = `answered with the result of a ${result.type}`;
        this.history.wrongAnswers.push(
          `#${rec.id} ${op.type} by c${this.id} called at ${rec.call} was answered at ${this.view.now} with the result of a ${result.type} command`,
        );
      } else if (!result.ok) {
        rec.outcome = 'fail';
        rec.error = result.error.code;
      } else {
        rec.outcome = 'ok';
        rec.result = onOk(result);
        const rev = (rec.result as { revision?: number }).revision;
        if (rev !== undefined) this.seeRevision(rev);
      }
      this.count(`outcome:${rec.outcome}`);
      this.done();
    });
  }

  private put(server: KvServer, key: string): void {
    const value = this.value();
    this.propose(
      server,
      { type: 'put', key, value },
      { type: 'put', request: { key: enc.encode(key), value: enc.encode(value) } },
      (r) => {
        const revision = r.type === 'put' ? r.response.header.revision : -1;
        this.note(key, revision, value);
        return { revision };
      },
    );
  }

  private putWithLease(server: KvServer, key: string, lease: ClientLease): void {
    const value = this.value();
    this.propose(
      server,
      { type: 'put-with-lease', key, value, lease: lease.n },
      {
        type: 'put',
        request: { key: enc.encode(key), value: enc.encode(value), lease: leaseId(lease.n) },
      },
      (r) => {
        const revision = r.type === 'put' ? r.response.header.revision : -1;
        this.note(key, revision, value);
        return { revision };
      },
    );
  }

  private del(server: KvServer, key: string, prefix: boolean): void {
    const p = prefix ? this.view.rng.pick(workloadPrefixes) : undefined;
    const op: KvOp =
      p === undefined
        ? { type: 'delete', key }
        : { type: 'delete', key: p, rangeEnd: keyString(prefixEnd(enc.encode(p))) };
    const request =
      p === undefined
        ? { key: enc.encode(key) }
        : { key: enc.encode(p), rangeEnd: prefixEnd(enc.encode(p)) };
    this.propose(server, op, { type: 'deleteRange', request }, (r) => {
      const resp = r.type === 'deleteRange' ? r.response : undefined;
      return { revision: resp?.header.revision ?? -1, deleted: resp?.deleted ?? -1 };
    });
  }

  private cas(server: KvServer, key: string): void {
    const rng = this.view.rng;
    const seen = this.seen.get(key);
    const value = this.value();
    const put = {
      type: 'put' as const,
      request: { key: enc.encode(key), value: enc.encode(value) },
    };
    const get = { type: 'range' as const, request: { key: enc.encode(key) } };
    let op: KvOp;
    let cmd: KvCommand;
    if (seen?.value != null && rng.chance(0.4)) {
      op = { type: 'txn-cas', key, expectedValue: seen.value, value };
      cmd = {
        type: 'txn',
        request: {
          compare: [
            {
              target: 'VALUE',
              key: enc.encode(key),
              result: 'EQUAL',
              value: enc.encode(seen.value),
            },
          ],
          success: [put],
          failure: [get],
        },
      };
    } else {
      // Mostly what this client last saw (often still current), sometimes a guess.
      const expected =
        seen !== undefined && rng.chance(0.8)
          ? seen.modRevision
          : rng.between(0, this.lastRevision);
      op = { type: 'txn-cas', key, expectedModRevision: expected, value };
      cmd = {
        type: 'txn',
        request: {
          compare: [
            { target: 'MOD', key: enc.encode(key), result: 'EQUAL', modRevision: expected },
          ],
          success: [put],
          failure: [get],
        },
      };
    }
    this.propose(server, op, cmd, (r) => {
      if (r.type !== 'txn') return { revision: -1, succeeded: false };
      const resp = r.response;
      if (resp.succeeded) this.note(key, resp.header.revision, value);
      else {
        const got = resp.responses[0];
        if (got?.type === 'range') {
          const g = getResult(got.response);
          this.note(key, g.modRevision, g.value);
        }
      }
      return { revision: resp.header.revision, succeeded: resp.succeeded };
    });
  }

  private grant(server: KvServer): void {
    const ttlSeconds = this.view.rng.between(1, 3);
    const n = this.leaseIds.take(this.view.now, ttlSeconds);
    this.propose(
      server,
      { type: 'lease-grant', lease: n },
      { type: 'leaseGrant', request: { id: leaseId(n), ttlSeconds } },
      (r) => {
        this.leases.push({ n, revoked: false });
        return r.type === 'leaseGrant' ? { revision: r.response.header.revision } : {};
      },
    );
  }

  private revoke(server: KvServer, lease: ClientLease): void {
    lease.revoked = true; // whatever the outcome, this client stops using it
    this.leaseIds.revokeCalled.add(lease.n);
    this.propose(
      server,
      { type: 'lease-revoke', lease: lease.n },
      { type: 'leaseRevoke', request: { id: leaseId(lease.n) } },
      (r) => ({
        revision: r.type === 'leaseRevoke' ? r.response.header.revision : -1,
      }),
    );
  }

  private keepAlive(server: KvServer, lease: ClientLease): void {
    this.count('op:keep-alive');
    const call = this.view.now;
    // Not in the history (it changes nothing the model knows); its answer is still checked, and
    // an ok answer means the lease lives at least its TTL after the call (checks.ts).
    server.keepAlive(leaseId(lease.n), (err, resp?: KeepAliveResponse) => {
      if (err) {
        this.count(`keep-alive:${errorText(err)}`);
        if (err instanceof KvError && err.code === 'lease-not-found') lease.revoked = true;
      } else {
        this.count('keep-alive:ok');
        // The answer comes from the proposing replica's apply: the leader's renews.
        const kept = server.kv.lessor.isPrimary
          ? this.leaseIds.keptAt
          : this.leaseIds.keptByFollowerAt;
        kept.set(lease.n, Math.max(call, kept.get(lease.n) ?? 0));
        if (
          resp === undefined ||
          resp.id !== leaseId(lease.n) ||
          resp.ttlSeconds !== this.leaseIds.ttlSeconds.get(lease.n)
        ) {
          this.history.wrongAnswers.push(
            `keepAlive of lease ${lease.n} by c${this.id} called at ${call} answered ${JSON.stringify(resp)}`,
          );
        }
      }
      this.done();
    });
  }

  private compact(server: KvServer): void {
    const target = this.lastRevision - this.view.rng.between(2, 40);
    if (target < 2) return this.put(server, this.view.rng.pick(workloadKeys));
    this.count('op:compact');
    server.proposeKv({ type: 'compact', request: { revision: target } }, (err, r) => {
      this.count(
        err
          ? `compact:${errorText(err)}`
          : r?.ok === true
            ? 'compact:ok'
            : `compact:${r?.ok === false ? r.error.code : '?'}`,
      );
      this.done();
    });
  }

  private get(node: NodeId, server: KvServer, key: string, serializable: boolean): void {
    const op: KvOp = serializable ? { type: 'get', key, serializable: true } : { type: 'get', key };
    const rec = this.history.begin(this.id, op, this.view.now);
    if (serializable) this.history.noteSerializable(rec, node);
    this.count(serializable ? 'op:get-serializable' : 'op:get');
    server.range({ key: enc.encode(key), serializable }, (err, resp) => {
      rec.return = this.view.now;
      if (serializable) this.history.noteSerializableReturn(rec, this.view.committedRevision());
      if (err || resp === undefined) {
        rec.outcome = err ? classify(err) : 'unknown';
        rec.error = err ? errorText(err) : 'no response';
        if (rec.outcome === 'unknown') rec.return = null;
      } else {
        rec.outcome = 'ok';
        const g = getResult(resp);
        rec.result = g;
        this.seeRevision(g.revision);
        this.note(key, g.modRevision, g.value);
      }
      this.count(`outcome:${rec.outcome}`);
      this.done();
    });
  }

  private range(server: KvServer): void {
    const rng = this.view.rng;
    const all = rng.chance(0.3);
    const p = rng.pick(workloadPrefixes);
    const key = all ? 'a' : p;
    const rangeEnd = all ? new Uint8Array([0]) : prefixEnd(enc.encode(p));
    const rec = this.history.begin(
      this.id,
      { type: 'range', key, rangeEnd: keyString(rangeEnd) },
      this.view.now,
    );
    this.count('op:range');
    server.range({ key: enc.encode(key), rangeEnd }, (err, resp) => {
      rec.return = this.view.now;
      if (err || resp === undefined) {
        rec.outcome = err ? classify(err) : 'unknown';
        rec.error = err ? errorText(err) : 'no response';
        if (rec.outcome === 'unknown') rec.return = null;
      } else {
        rec.outcome = 'ok';
        rec.result = { revision: resp.header.revision, kvs: rangeKvs(resp), count: resp.count };
        this.seeRevision(resp.header.revision);
      }
      this.count(`outcome:${rec.outcome}`);
      this.done();
    });
  }
}

/** ProbeClient writes during the liveness phase: its puts must commit within the bound. */
export class ProbeClient {
  private seq = 0;
  private busy = false;
  okAt: number | undefined;

  constructor(
    private readonly view: ClusterView,
    private readonly history: History,
  ) {}

  /** tryOnce issues one probe put (at the leader if one is known) unless one is in flight. */
  tryOnce(): void {
    if (this.busy || this.okAt !== undefined) return;
    const servers = this.view.servers();
    if (servers.length === 0) return;
    const leader = this.view.leaderId();
    const target = servers.find((s) => s.id === leader) ?? this.view.rng.pick(servers);
    const value = `probe-${++this.seq}`;
    const rec = this.history.begin('probe', { type: 'put', key: 'p', value }, this.view.now);
    this.busy = true;
    target.server.proposeKv(
      { type: 'put', request: { key: enc.encode('p'), value: enc.encode(value) } },
      (err, r) => {
        this.busy = false;
        rec.return = this.view.now;
        if (err) {
          rec.outcome = classify(err);
          rec.error = errorText(err);
          if (rec.outcome === 'unknown') rec.return = null;
        } else if (r?.ok === true && r.type === 'put') {
          rec.outcome = 'ok';
          rec.result = { revision: r.response.header.revision };
          this.okAt ??= this.view.now;
        } else {
          rec.outcome = 'fail';
          rec.error = r?.ok === false ? r.error.code : 'no result';
        }
      },
    );
  }
}
