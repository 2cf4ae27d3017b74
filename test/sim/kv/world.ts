// The KV workload's deterministic world: 3 or 5 real KvServers (src/node + src/kv + src/raft),
// each on a synchronous MemoryDurableStorage and a simulated transport, driven by one seeded RNG.
// Time is discrete (steps); everything is an event in one queue ordered by (time, insertion
// order), and no promise is ever created, so a seed reproduces a run exactly.
//
// A run:
// 1. faults (until healAt): clients and watchers work while the network drops, delays,
//    duplicates and reorders messages, partitions come and go (one of them may isolate the
//    leader), nodes crash and restart (killed, closed gracefully, or killed in the middle of a
//    durable write so that the whole batch is lost), leadership moves, and, with --membership,
//    members are added as learners, promoted, removed and replaced;
// 2. liveness: the network heals, crashed members restart, removed ones are shut; a probe write
//    must commit within the bound;
// 3. converge: every running member must reach the same applied index, revision and key space,
//    equal to the committed history's.
// Then the history is checked (checks.ts).
import { KvServer, type KvServerConfig } from '../../../src/node/kv-server.js';
import {
  ConfChangeTransition,
  ConfChangeType,
  MemoryStorage,
  NONE,
  Raft,
  maxVoters,
  nodeId,
  type ConfChange,
  type ConfState,
  type NodeId,
  type RaftConfig,
} from '../../../src/raft/index.js';
import {
  MemoryDurableStorage,
  SimulatedCrashError,
} from '../../../src/storage/memory-durable-storage.js';
import { EventQueue } from '../event-queue.js';
import { SimRng } from '../sim-rng.js';
import { Trace } from '../trace.js';
import { runChecks, type KvViolation, type LincheckSummary } from './checks.js';
import { CommittedHistory } from './oracle.js';
import {
  KvCrashKind,
  KvPartitionShape,
  KvTarget,
  type KvTarget as Target,
  describeKvFault,
  describeKvProfile,
  makeKvProfile,
  makeKvSchedule,
  type KvCrashKind as CrashKind,
  type KvFault,
  type KvRunProfile,
} from './profile.js';
import { KvNetwork, SimTransport, type NetHost } from './sim-transport.js';
import { SimAsyncDurable } from './async-durable.js';
import { LogicalWatch, randomWatchSpec } from './watches.js';
import {
  History,
  KvClient,
  LeaseIds,
  ProbeClient,
  workloadKeys,
  workloadPrefixes,
  type ClusterView,
} from './workload.js';
import type { HistoryOp } from '../../lincheck/history.js';

export interface KvSimOptions {
  readonly seed: number;
  readonly nodes?: number | undefined;
  readonly membership?: boolean | undefined;
  readonly mutant?: 'stale-read' | undefined;
  readonly faultSteps?: number | undefined;
  readonly keepTrace?: boolean | undefined;
  /** lincheckSteps: the checker's search budget (default: test/lincheck's). */
  readonly lincheckSteps?: number | undefined;
  /** allowProposalDuplicates: let the network duplicate MsgProp (see sim-transport.ts). */
  readonly allowProposalDuplicates?: boolean | undefined;
}

export interface KvSimResult {
  readonly seed: number;
  readonly profile: KvRunProfile;
  readonly schedule: readonly string[];
  readonly violations: readonly KvViolation[];
  readonly lincheck: LincheckSummary;
  readonly stats: Record<string, number>;
  readonly traceHash: string;
  readonly summary: readonly string[];
  readonly history: readonly HistoryOp[];
  readonly trace?: readonly string[];
}

type Phase = 'faults' | 'liveness' | 'converge' | 'done';

const NodeState = { Up: 'up', Down: 'down', Stopped: 'stopped' } as const;
type NodeState = (typeof NodeState)[keyof typeof NodeState];

class SimKvNode {
  handle: MemoryDurableStorage | undefined;
  /** async: the asynchronous view of `handle` the node writes through (profile.writeSteps > 0). */
  async: SimAsyncDurable | undefined;
  server: KvServer | undefined;
  transport: SimTransport | undefined;
  raftStorage: MemoryStorage | undefined;
  state: NodeState = NodeState.Down;
  inc = 0;
  /** lastApplied: the last index this incarnation reported (starts at its snapshot). */
  lastApplied = 0;
  /** crashDownSteps: how long a node killed by an armed write fault stays down. */
  crashDownSteps = 0;
  /** armed: the next durable write of this incarnation will crash. */
  armed = false;

  constructor(
    readonly id: NodeId,
    readonly founder: boolean,
  ) {}

  get up(): boolean {
    return this.state === NodeState.Up && this.server !== undefined && !this.server.node.isStopped;
  }
}

type SimEvent =
  | { readonly k: 'tick'; readonly node: SimKvNode; readonly inc: number }
  | {
      readonly k: 'deliver';
      readonly from: NodeId;
      readonly to: NodeId;
      readonly frame: Uint8Array;
    }
  | { readonly k: 'restart'; readonly node: SimKvNode; readonly inc: number }
  | { readonly k: 'fault'; readonly f: KvFault }
  | { readonly k: 'unpartition'; readonly id: number }
  | { readonly k: 'call'; readonly fn: () => void }
  | { readonly k: 'watch-step' }
  | { readonly k: 'membership' }
  | { readonly k: 'heal' }
  | { readonly k: 'probe' }
  | { readonly k: 'converge' };

export function runKvSimulation(options: KvSimOptions): KvSimResult {
  return new KvWorld(options).run();
}

class KvWorld implements NetHost {
  private readonly rng: SimRng;
  readonly profile: KvRunProfile;
  private readonly schedule: KvFault[];
  private readonly net: KvNetwork;
  private readonly trace: Trace;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes = new Map<NodeId, SimKvNode>();
  private readonly founders: NodeId[] = [];
  private readonly oracle = new CommittedHistory();
  private readonly history = new History();
  private readonly leaseIds = new LeaseIds();
  private readonly clients: KvClient[] = [];
  private readonly watches: LogicalWatch[] = [];
  private readonly probe: ProbeClient;
  private readonly violations: KvViolation[] = [];
  private readonly summary: string[] = [];
  private readonly stats: Record<string, number> = {};
  private readonly view: ClusterView;
  private now = 0;
  private phase: Phase = 'faults';
  private nextNodeNumber = 1;
  private partitionSeq = 0;
  private membershipPending = false;
  private healAt = 0;
  private livenessDeadline = 0;
  private convergeDeadline = 0;
  private lastLeader: NodeId = NONE;
  private lastClosedForGood = -Infinity;
  private readonly closedForGood = new Set<NodeId>();
  private readonly electionSteps: number;

  constructor(private readonly opts: KvSimOptions) {
    this.rng = new SimRng(opts.seed);
    this.profile = makeKvProfile(this.rng, {
      nodes: opts.nodes,
      membership: opts.membership ?? false,
      faultSteps: opts.faultSteps,
    });
    this.schedule = makeKvSchedule(this.rng, this.profile);
    this.net = new KvNetwork(this.rng, this.profile.net);
    this.net.allowProposalDuplicates = opts.allowProposalDuplicates ?? false;
    this.trace = new Trace(opts.keepTrace ?? false);
    this.electionSteps = this.profile.electionTicks * this.profile.tickSteps;
    const now = (): number => this.now;
    this.view = {
      get now() {
        return now();
      },
      rng: this.rng,
      servers: () => this.upNodes().map((n) => ({ id: n.id, server: n.server! })),
      leaderId: () => this.leaderNode()?.id,
      later: (steps, fn) => this.queue.push(this.now + Math.max(1, steps), { k: 'call', fn }),
      committedRevision: () => this.oracle.revision,
    };
    this.probe = new ProbeClient(this.view, this.history);
  }

  run(): KvSimResult {
    let lincheck: LincheckSummary = { verdict: 'skipped', steps: 0 };
    try {
      this.start();
      this.loop();
    } catch (err) {
      this.exception(err);
    }
    if (this.violations.length === 0 || this.phase === 'done') {
      this.checkLostCallbacks();
      try {
        const r = runChecks({
          history: this.history,
          oracle: this.oracle,
          watches: this.watches,
          leases: this.leaseIds,
          minStepsPerLeaseSecond:
            this.profile.ticksPerSecond * (this.profile.tickSteps - this.profile.tickJitterSteps),
          maxStepsPerTick: this.profile.tickSteps + this.profile.tickJitterSteps,
          nodeRevision: (id) => {
            const n = this.nodes.get(id);
            return n?.up ? n.server!.kv.revision : undefined;
          },
          lincheckSteps: this.opts.lincheckSteps,
          stats: this.stats,
        });
        this.violations.push(...r.violations.map((v) => ({ ...v, time: v.time ?? this.now })));
        lincheck = r.lincheck;
      } catch (err) {
        this.exception(err);
      }
    }
    for (const v of this.violations) this.note(`VIOLATION ${v.kind}: ${v.message.split('\n')[0]}`);
    this.stats['endTime'] = this.now;
    this.stats['historyOps'] = this.history.size;
    this.stats['revision'] = this.oracle.revision;
    this.stats['committedIndex'] = this.oracle.lastIndex;
    this.stats['nodesEver'] = this.nodes.size;
    this.stats['confChangesCommitted'] = this.oracle.confChanges;
    return {
      seed: this.opts.seed,
      profile: this.profile,
      schedule: [...describeKvProfile(this.profile), ...this.schedule.map(describeKvFault)],
      violations: this.violations,
      lincheck,
      stats: this.stats,
      traceHash: this.trace.hash(),
      summary: this.summary,
      history: this.history.all(),
      ...(this.opts.keepTrace ? { trace: this.trace.lines } : {}),
    };
  }

  /** checkLostCallbacks: every request is answered, at the latest by its timeout. */
  private checkLostCallbacks(): void {
    const p = this.profile;
    const bound = (p.requestTimeoutTicks + 2 * p.electionTicks) * (p.tickSteps + p.tickJitterSteps);
    for (const op of this.history.pending()) {
      if (op.call < this.now - bound) {
        this.violate(
          'lost-callback',
          `operation #${op.id} by c${op.client} called at ${op.call} never returned (now ${this.now}, timeout ${bound} steps)`,
        );
      }
    }
    for (const c of this.clients) {
      if (!c.idle && c.busySince < this.now - bound) {
        this.violate(
          'lost-callback',
          `client c${c.id} has waited since ${c.busySince} for an answer (now ${this.now})`,
        );
      }
    }
  }

  private exception(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    const where = (e.stack ?? '')
      .split('\n')
      .slice(1, 5)
      .map((s) => s.trim())
      .join(' < ');
    this.violate('exception', `${e.name}: ${e.message} (${where})`);
  }

  private violate(kind: KvViolation['kind'], message: string): void {
    this.violations.push({ kind, time: this.now, message });
  }

  private count(k: string, by = 1): void {
    this.stats[k] = (this.stats[k] ?? 0) + by;
  }

  private note(s: string): void {
    this.summary.push(`t=${this.now} ${s}`);
    this.trace.event(this.now, 'note', s);
  }

  // ------------------------------------------------------------------ set-up and loop

  private start(): void {
    for (let i = 0; i < this.profile.nodes; i++) this.founders.push(this.freshId());
    for (const id of this.founders) {
      const n = new SimKvNode(id, true);
      this.nodes.set(id, n);
      this.startNode(n);
    }
    this.note(`founders ${this.founders.join(',')}`);
    for (const f of this.schedule) this.queue.push(f.at, { k: 'fault', f });
    this.healAt = this.profile.healAt;
    this.queue.push(this.healAt, { k: 'heal' });
    for (let c = 0; c < this.profile.clients; c++) {
      const client = new KvClient(
        c + 1,
        this.view,
        this.history,
        this.leaseIds,
        this.stats,
        this.profile.clientGapSteps,
      );
      this.clients.push(client);
      client.start();
    }
    for (let w = 0; w < this.profile.watchers; w++) {
      const x = this.rng.intn(10);
      this.addWatch(x < 4 ? 1 : x < 7 ? 0 : -1); // -1: a revision from the recent past, when it opens
    }
    this.queue.push(this.rng.between(1, 50), { k: 'watch-step' });
    if (this.profile.membershipGapSteps > 0)
      this.queue.push(this.rng.between(1, this.profile.membershipGapSteps), { k: 'membership' });
  }

  private addWatch(start: number): void {
    const spec = randomWatchSpec(this.rng, workloadKeys, workloadPrefixes);
    const name = `watch ${this.watches.length + 1} ${JSON.stringify(spec)} from ${start}`;
    this.watches.push(new LogicalWatch(name, spec, start, this.view, this.oracle, this.stats));
  }

  private loop(): void {
    const maxSteps = this.profile.faultSteps + 100 * this.electionSteps;
    while (this.phase !== 'done') {
      const ev = this.queue.pop();
      if (!ev) throw new Error('event queue ran dry');
      this.now = ev.time;
      if (this.now > maxSteps) throw new Error(`run did not finish by step ${maxSteps}`);
      this.handle(ev.value);
      if (this.oracle.violations.length > 0) {
        for (const m of this.oracle.violations.splice(0))
          this.violate(m.startsWith('oracle') ? 'oracle' : 'state-machine-safety', m);
      }
      if (this.violations.length > 0) return;
    }
  }

  private handle(ev: SimEvent): void {
    switch (ev.k) {
      case 'tick': {
        const n = ev.node;
        if (n.inc !== ev.inc || n.state !== NodeState.Up) return;
        const s = n.server!;
        if (s.node.isStopped) {
          // It applied its own removal (RaftNode stops itself) or its storage failed.
          this.nodeGone(n, NodeState.Stopped, 'stopped itself (removed from the cluster)');
          return;
        }
        s.tick();
        this.afterNodeCall(n);
        const j = this.profile.tickJitterSteps;
        this.queue.push(this.now + this.profile.tickSteps + this.rng.between(-j, j), {
          k: 'tick',
          node: n,
          inc: n.inc,
        });
        return;
      }
      case 'deliver': {
        const n = this.nodes.get(ev.to);
        if (!n?.up || this.net.blocked(ev.from, ev.to)) return;
        n.transport!.deliver(ev.frame);
        this.afterNodeCall(n);
        return;
      }
      case 'restart':
        if (ev.node.state === NodeState.Down && ev.node.inc === ev.inc && this.phase === 'faults')
          this.restart(ev.node);
        return;
      case 'fault':
        if (this.phase === 'faults') this.applyFault(ev.f);
        return;
      case 'unpartition':
        if (this.net.partition?.id === ev.id) {
          this.note(`partition healed: ${this.net.partition.what}`);
          this.net.partition = undefined;
        }
        return;
      case 'call':
        ev.fn();
        return;
      case 'watch-step':
        if (this.phase === 'done') return;
        for (const w of [...this.watches]) {
          if (!w.active) continue;
          if (this.phase === 'faults' && this.rng.chance(0.04)) {
            // A new client watches from an old revision: catch-up, or a compaction cancel.
            w.retire();
            this.addWatch(Math.max(1, this.oracle.revision - this.rng.between(1, 60)));
            continue;
          }
          if (this.phase === 'faults' || this.rng.chance(0.5)) w.step(this.rng);
        }
        this.queue.push(this.now + this.rng.between(20, 120), { k: 'watch-step' });
        return;
      case 'membership':
        if (this.phase !== 'faults') return;
        this.membershipStep();
        this.queue.push(this.now + this.rng.between(1, this.profile.membershipGapSteps), {
          k: 'membership',
        });
        return;
      case 'heal':
        this.heal();
        return;
      case 'probe':
        this.probeStep();
        return;
      case 'converge':
        this.convergeStep();
        return;
    }
  }

  /** afterNodeCall notices a node that stopped itself, and new leaders. */
  private afterNodeCall(n: SimKvNode): void {
    if (n.state === NodeState.Up && n.server!.node.isStopped) {
      this.nodeGone(n, NodeState.Stopped, 'stopped itself (removed from the cluster)');
      return;
    }
    const leader = this.leaderNode();
    const id = leader?.id ?? NONE;
    if (id !== this.lastLeader) {
      this.lastLeader = id;
      if (leader) {
        this.count('leaderChanges');
        this.note(`leader ${id} term ${leader.server!.node.rawNode.raft.term}`);
      }
    }
  }

  private freshId(): NodeId {
    return nodeId(`n${this.nextNodeNumber++}`);
  }

  private upNodes(): SimKvNode[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  /** leaderNode: a running node that believes it leads, with the highest term. */
  private leaderNode(): SimKvNode | undefined {
    let best: SimKvNode | undefined;
    let bestTerm = -1;
    for (const n of this.nodes.values()) {
      if (!n.up) continue;
      const r = n.server!.node.rawNode.raft;
      if (r.state === 'leader' && r.term > bestTerm) {
        best = n;
        bestTerm = r.term;
      }
    }
    return best;
  }

  // ------------------------------------------------------------------ nodes

  private startNode(n: SimKvNode): void {
    n.inc++;
    const inc = n.inc;
    n.handle = n.handle === undefined ? new MemoryDurableStorage() : n.handle.reopen();
    const writeSteps = this.profile.writeSteps;
    n.async =
      writeSteps === 0
        ? undefined
        : new SimAsyncDurable(n.handle, {
            now: () => this.now,
            at: (step, fn) => this.queue.push(step, { k: 'call', fn }),
            latency: () => this.rng.between(1, writeSteps),
          });
    const loaded = n.handle.load();
    n.lastApplied = loaded.snapshot.metadata.index;
    n.server = undefined;
    n.raftStorage = undefined;
    const transport = new SimTransport(n.id, this);
    n.transport = transport;
    const p = this.profile;
    const cfg: KvServerConfig = {
      id: n.id,
      durable: n.async ?? n.handle,
      transport,
      rng: this.rng.fork(),
      raft: {
        electionTicks: p.electionTicks,
        heartbeatTicks: p.heartbeatTicks,
        preVote: p.preVote,
        checkQuorum: p.checkQuorum,
        maxSizePerMsgBytes: p.maxSizePerMsgBytes,
        maxInflightMsgs: p.maxInflightMsgs,
      },
      ...(n.founder ? { bootstrap: this.founders } : {}),
      requestTimeoutTicks: p.requestTimeoutTicks,
      snapshotEntries: p.snapshotEntries,
      snapshotCatchUpEntries: p.snapshotCatchUpEntries,
      ...(p.snapshotSlice > 0
        ? {
            schedule: (fn: () => void) => this.queue.push(this.now + 1, { k: 'call', fn }),
            snapshotSliceItems: p.snapshotSlice,
          }
        : {}),
      ticksPerSecond: p.ticksPerSecond,
      ...(this.opts.mutant ? { mutant: this.opts.mutant } : {}),
      ...(p.membershipMode === 'policy'
        ? {
            membership: {
              targetVoters: p.nodes,
              graceTicks: 3 * p.electionTicks,
              caughtUpEntries: 20,
            },
            membershipEveryTicks: 10,
          }
        : {}),
      raftFactory: (config: RaftConfig) => {
        // The Raft storage is where the node's applied entries can be read (onApplied below).
        n.raftStorage = config.storage as MemoryStorage;
        return new Raft(config);
      },
      onError: (err) => this.onNodeError(n, inc, err),
      onApplied: (applied) => this.onApplied(n, inc, applied),
    };
    n.state = NodeState.Up;
    n.server = new KvServer(cfg, loaded);
    this.trace.event(
      this.now,
      'start',
      n.id,
      inc,
      loaded.snapshot.metadata.index,
      loaded.entries.length,
    );
    this.queue.push(this.now + this.rng.between(1, p.tickSteps), { k: 'tick', node: n, inc });
  }

  /** onApplied reads the entries a node just applied and hands them to the committed history. */
  private onApplied(n: SimKvNode, inc: number, applied: number): void {
    if (n.inc !== inc) return;
    try {
      const st = n.raftStorage!;
      const lo = Math.max(n.lastApplied + 1, st.firstIndex());
      if (lo > n.lastApplied + 1) this.count('snapshotsInstalled');
      if (applied >= lo) {
        for (const e of st.entries(lo as never, (applied + 1) as never, Number.MAX_SAFE_INTEGER))
          this.oracle.offer(n.id, e, this.now);
      }
      n.lastApplied = applied;
      this.count('appliedReports');
      // Differential check of src/kv against the model, on the committed log.
      const server = n.server;
      const want = this.oracle.revisionAtIndex[applied];
      if (server !== undefined && want !== undefined && server.kv.revision !== want) {
        this.violate(
          'kv-divergence',
          `node ${n.id} is at revision ${server.kv.revision} after applying index ${applied}; the committed history is at revision ${want} there`,
        );
      }
    } catch (err) {
      this.exception(err);
    }
  }

  private onNodeError(n: SimKvNode, inc: number, err: unknown): void {
    if (n.inc !== inc) return;
    if (err instanceof SimulatedCrashError) {
      n.armed = false;
      this.count('crashesInWrite');
      this.note(`${n.id} crashed in the middle of a write (the batch is lost)`);
      this.nodeGone(n, NodeState.Down, 'crashed in a write');
      this.queue.push(this.now + Math.max(1, n.crashDownSteps), {
        k: 'restart',
        node: n,
        inc: n.inc,
      });
      return;
    }
    this.exception(err);
  }

  /** nodeGone takes a node out: its transport closes, its watchers resume elsewhere. */
  private nodeGone(n: SimKvNode, state: NodeState, why: string): void {
    n.state = state;
    n.transport?.close();
    this.trace.event(this.now, 'gone', n.id, state, why);
    if (state === NodeState.Stopped) this.note(`${n.id} ${why}`);
    for (const w of this.watches) w.nodeStopped(n.id);
  }

  private crash(n: SimKvNode, kind: CrashKind, downSteps: number): void {
    if (!n.up) return;
    if (kind === KvCrashKind.InWrite) {
      n.handle!.crashDuringNextWrite();
      n.armed = true;
      n.crashDownSteps = downSteps;
      this.note(`${n.id} will crash in its next write`);
      return;
    }
    this.count('crashes');
    this.note(`${n.id} ${kind === KvCrashKind.Close ? 'closed' : 'killed'} for ${downSteps} steps`);
    n.server!.stop(kind === KvCrashKind.Close ? { handOver: true } : {});
    if (kind === KvCrashKind.Kill) (n.async ?? n.handle!).crash();
    else (n.async ?? n.handle!).close();
    this.nodeGone(n, NodeState.Down, kind);
    this.queue.push(this.now + downSteps, { k: 'restart', node: n, inc: n.inc });
  }

  /** restart reloads a crashed node from its storage (a removed one stops itself when it finds out). */
  private restart(n: SimKvNode): void {
    this.count('restarts');
    this.startNode(n);
    this.note(`${n.id} restarted (incarnation ${n.inc})`);
  }

  // ------------------------------------------------------------------ network

  transmit(from: NodeId, to: NodeId, frame: Uint8Array, type: string): void {
    this.count('messages');
    for (const d of this.net.plan(type))
      this.queue.push(this.now + d, { k: 'deliver', from, to, frame });
  }

  connectedPeers(id: NodeId): NodeId[] {
    return this.upNodes()
      .map((n) => n.id)
      .filter((p) => p !== id && !this.net.blocked(id, p));
  }

  // ------------------------------------------------------------------ faults

  private pickTarget(target: Target): SimKvNode | undefined {
    const up = this.upNodes();
    if (up.length === 0) return undefined;
    const leader = this.leaderNode();
    if (target === KvTarget.Leader) return leader ?? this.rng.pick(up);
    if (target === KvTarget.Follower) {
      const f = up.filter((n) => n !== leader);
      return f.length > 0 ? this.rng.pick(f) : undefined;
    }
    return this.rng.pick(up);
  }

  private applyFault(f: KvFault): void {
    switch (f.kind) {
      case 'partition': {
        if (this.net.partition) return;
        const ids = [...this.nodes.values()]
          .filter((n) => n.state !== NodeState.Stopped)
          .map((n) => n.id);
        if (ids.length < 2) return;
        const leader = this.leaderNode()?.id;
        let side: NodeId[];
        switch (f.shape) {
          case KvPartitionShape.Split: {
            const k = this.rng.between(1, ids.length - 1);
            side = this.rng.shuffled(ids).slice(0, k);
            break;
          }
          case KvPartitionShape.Isolate:
            side = [this.rng.pick(ids)];
            break;
          case KvPartitionShape.IsolateLeader:
            side = [leader ?? this.rng.pick(ids)];
            break;
          case KvPartitionShape.LeaderMinority: {
            const others = this.rng.shuffled(ids.filter((i) => i !== leader));
            side = [
              leader ?? others.pop()!,
              ...others.slice(0, Math.max(0, Math.floor((ids.length - 1) / 2) - 1)),
            ];
            break;
          }
        }
        const id = ++this.partitionSeq;
        const what = `${f.shape} {${side.join(',')}}`;
        this.net.partition = { id, side: new Set(side), what };
        this.count('partitions');
        this.note(`partition ${what} for ${f.durationSteps} steps`);
        this.queue.push(this.now + f.durationSteps, { k: 'unpartition', id });
        return;
      }
      case 'crash': {
        const n = this.pickTarget(f.target);
        if (n) this.crash(n, f.crash, f.downSteps);
        return;
      }
      case 'transfer': {
        const leader = this.leaderNode();
        if (!leader) return;
        const voters = leader.server!.node.status().config.voters.filter((v) => v !== leader.id);
        if (voters.length === 0) return;
        const to = this.rng.pick(voters);
        const err = leader.server!.node.transferLeadership(to);
        this.count('transfers');
        this.note(
          `transfer leadership ${leader.id} -> ${to}${err ? ` refused: ${err.message}` : ''}`,
        );
        this.afterNodeCall(leader);
        return;
      }
      case 'net':
        this.net.dropRate = f.dropRate;
        this.net.dupRate = f.dupRate;
        this.note(`network drop=${f.dropRate} dup=${f.dupRate}`);
        return;
    }
  }

  // ------------------------------------------------------------------ membership

  /**
   * policyStep: with KvServer's own membership policy, the world only opens new tabs (fresh
   * nodes, which the leader adds as learners and promotes) and closes some for good (the leader
   * replaces dead voters), always leaving a majority of the voters running.
   */
  private policyStep(): void {
    const open = [...this.nodes.values()].filter((n) => n.state !== NodeState.Stopped);
    if (this.rng.chance(0.5)) {
      if (open.length >= 7) return;
      const n = new SimKvNode(this.freshId(), false);
      this.nodes.set(n.id, n);
      this.startNode(n);
      this.count('tabsOpened');
      this.note(`new tab ${n.id} (empty, no bootstrap)`);
      return;
    }
    const leader = this.leaderNode();
    if (!leader) return;
    const cs = leader.server!.node.status().config;
    if (cs.votersOutgoing.length > 0) return;
    // Tabs close one at a time: not while a configuration change is in flight (it may promote
    // the one closing), nor before the policy had time to notice the previous one (graceTicks)
    // and replace it. A majority of the voters lost for good would be a majority failure.
    const raft = leader.server!.node.rawNode.raft;
    if (raft.pendingConfIndex > raft.raftLog.applied) return;
    const p = this.profile;
    if (this.now < this.lastClosedForGood + (3 + 10) * p.electionTicks * p.tickSteps) return;
    const up = this.upNodes();
    const victim = this.rng.pick(up);
    const upVoters = cs.voters.filter((v) => up.some((n) => n.id === v));
    if (cs.voters.includes(victim.id) && upVoters.length - 1 <= cs.voters.length / 2) return;
    this.count('tabsClosedForGood');
    this.lastClosedForGood = this.now;
    this.closedForGood.add(victim.id);
    this.note(`${victim.id} closed for good${victim === leader ? ' (the leader)' : ''}`);
    victim.server!.stop({ handOver: this.rng.chance(0.5) });
    victim.handle!.close();
    this.nodeGone(victim, NodeState.Stopped, 'closed for good');
  }

  private membershipStep(): void {
    if (this.profile.membershipMode === 'policy') return this.policyStep();
    if (this.membershipPending) return;
    const leader = this.leaderNode();
    if (!leader) return;
    const cs = leader.server!.node.status().config;
    if (cs.votersOutgoing.length > 0) return; // joint: the leader leaves it by itself (auto-leave)
    const change = this.chooseChange(cs);
    if (!change) return;
    for (const id of change.fresh) {
      const n = new SimKvNode(id, false);
      this.nodes.set(id, n);
      this.startNode(n);
      this.note(`started fresh node ${id} (empty, no bootstrap)`);
    }
    this.membershipPending = true;
    this.count('confChanges');
    this.note(`propose ${change.what} at ${leader.id}`);
    leader.server!.node.proposeConfChange(change.cc, (err, st) => {
      this.membershipPending = false;
      this.trace.event(
        this.now,
        'confchange-done',
        change.what,
        err ? err.message : JSON.stringify(st),
      );
      if (err) this.count('confChangesFailed');
      else
        this.note(
          `applied ${change.what}: voters ${st?.voters.join(',')} learners ${st?.learners.join(',')}`,
        );
    });
    this.afterNodeCall(leader);
  }

  private chooseChange(
    cs: ConfState,
  ): { cc: Omit<ConfChange, 'context'>; fresh: NodeId[]; what: string } | undefined {
    const rng = this.rng;
    const voters = cs.voters;
    const learners = cs.learners;
    const members = voters.length + learners.length;
    const single = (type: ConfChangeType, id: NodeId, fresh: NodeId[], what: string) => ({
      cc: { transition: ConfChangeTransition.Auto, changes: [{ type, nodeId: id }] },
      fresh,
      what,
    });
    const x = rng.intn(10);
    if (x < 3 && members < 7) {
      const id = this.freshId();
      return single(ConfChangeType.AddLearnerNode, id, [id], `add learner ${id}`);
    }
    if (x < 5 && learners.length > 0 && voters.length < maxVoters) {
      const id = rng.pick(learners);
      return single(ConfChangeType.AddNode, id, [], `promote learner ${id}`);
    }
    if (x < 6 && learners.length > 0) {
      const id = rng.pick(learners);
      return single(ConfChangeType.RemoveNode, id, [], `remove learner ${id}`);
    }
    // Voters are removed or replaced only from 3 up: etcd documents removing a member of a
    // two-member cluster as unsafe (if the removed leader's commit does not reach the other one,
    // it needs both to elect anyone, and the removed one has shut itself down).
    if (x < 7 && voters.length >= 3) {
      const id = rng.pick(voters);
      return single(ConfChangeType.RemoveNode, id, [], `remove voter ${id}`);
    }
    if (x < 10 && voters.length >= 3 && (learners.length > 0 || members < 7)) {
      // Replace a voter, atomically through a joint configuration (left automatically: RaftNode
      // cannot propose the explicit leave, whose context must be empty).
      const fresh: NodeId[] = [];
      let add: NodeId;
      if (learners.length > 0 && rng.chance(0.7)) add = rng.pick(learners);
      else {
        add = this.freshId();
        fresh.push(add);
      }
      const remove = rng.pick(voters);
      const transition = rng.pick([ConfChangeTransition.Auto, ConfChangeTransition.JointImplicit]);
      const changes = [
        { type: ConfChangeType.AddNode, nodeId: add },
        { type: ConfChangeType.RemoveNode, nodeId: remove },
      ];
      return {
        cc: { transition, changes: rng.chance(0.5) ? changes.reverse() : changes },
        fresh,
        what: `replace voter ${remove} by ${add} (${transition})`,
      };
    }
    return undefined;
  }

  // ------------------------------------------------------------------ heal, liveness, convergence

  private heal(): void {
    this.phase = 'liveness';
    this.net.heal();
    for (const c of this.clients) c.active = false;
    this.note('heal: network healed, clients stop, crashed members restart, removed ones are shut');
    // The latest applied configuration (the most advanced running node's): removed nodes that it
    // does not name again are shut, as an operator would.
    let latest: SimKvNode | undefined;
    for (const n of this.upNodes()) {
      if (
        !latest ||
        n.server!.node.status().appliedIndex > latest.server!.node.status().appliedIndex
      )
        latest = n;
    }
    const cs = latest?.server!.node.status().config;
    const members = new Set(
      cs ? [...cs.voters, ...cs.learners, ...cs.votersOutgoing, ...cs.learnersNext] : [],
    );
    for (const n of this.nodes.values()) {
      if (n.state === NodeState.Stopped) continue;
      if (this.oracle.removed.has(n.id) && !members.has(n.id)) {
        if (n.up) {
          n.server!.stop();
          this.nodeGone(n, NodeState.Stopped, 'shut (removed from the cluster)');
        } else n.state = NodeState.Stopped;
        continue;
      }
      if (n.state === NodeState.Down) this.restart(n);
      else if (n.up && n.armed) {
        // Faults end here: a node still armed to crash in its next write is restarted cleanly
        // (its new storage handle carries no fault).
        n.armed = false;
        n.server!.stop();
        (n.async ?? n.handle!).crash();
        this.nodeGone(n, NodeState.Down, 'restarted at the heal');
        this.restart(n);
      }
    }
    this.livenessDeadline = this.now + 40 * this.electionSteps;
    this.queue.push(this.now + 1, { k: 'probe' });
  }

  private probeStep(): void {
    if (this.phase !== 'liveness') return;
    if (this.probe.okAt !== undefined) {
      this.stats['livenessSteps'] = this.probe.okAt - this.healAt;
      this.note(
        `liveness: a probe write committed ${this.probe.okAt - this.healAt} steps after the heal`,
      );
      this.phase = 'converge';
      this.convergeDeadline = this.now + 40 * this.electionSteps;
      this.queue.push(this.now + 1, { k: 'converge' });
      return;
    }
    if (this.now > this.livenessDeadline) {
      const lost = this.quorumLostForGood();
      if (lost !== undefined) {
        // Not a liveness failure: a majority of the voters is gone for good.
        this.count('livenessNotRequired');
        this.note(`liveness not required: ${lost}`);
        this.phase = 'done';
        return;
      }
      this.violate(
        'liveness',
        `no write committed within ${this.livenessDeadline - this.healAt} steps after the heal (${this.describeNodes()})`,
      );
      this.phase = 'done';
      return;
    }
    this.probe.tryOnce();
    this.queue.push(this.now + 20, { k: 'probe' });
  }

  /**
   * quorumLostForGood says why no quorum can ever form again when the latest configuration (the
   * most advanced running node's) has a majority of voters closed for good (joint: in either
   * half), or undefined.
   */
  private quorumLostForGood(): string | undefined {
    let latest: SimKvNode | undefined;
    for (const n of this.upNodes()) {
      if (
        !latest ||
        n.server!.node.status().appliedIndex > latest.server!.node.status().appliedIndex
      )
        latest = n;
    }
    if (!latest) return 'no node is running';
    const cs = latest.server!.node.status().config;
    for (const half of [cs.voters, cs.votersOutgoing]) {
      if (half.length === 0) continue;
      const gone = half.filter((v) => this.closedForGood.has(v));
      if (gone.length * 2 >= half.length)
        return `voters ${half.join(',')} of which ${gone.join(',')} closed for good`;
    }
    return undefined;
  }

  private describeNodes(): string {
    return [...this.nodes.values()]
      .map((n) => {
        if (!n.up) return `${n.id}:${n.state}`;
        const s = n.server!.node.status();
        return `${n.id}:${s.role} t${s.term} commit ${s.commitIndex} applied ${s.appliedIndex} last ${s.lastIndex} voters ${s.config.voters.join('/')}${s.config.learners.length ? ` learners ${s.config.learners.join('/')}` : ''}`;
      })
      .join('; ');
  }

  private convergeStep(): void {
    if (this.phase !== 'converge') return;
    const leader = this.leaderNode();
    if (leader) {
      const st = leader.server!.node.status();
      const members = new Set([
        ...st.config.voters,
        ...st.config.learners,
        ...st.config.votersOutgoing,
        ...st.config.learnersNext,
      ]);
      const live = this.upNodes().filter((n) => members.has(n.id));
      const target = st.lastIndex;
      if (
        st.commitIndex === target &&
        live.every((n) => n.server!.node.status().appliedIndex === target)
      ) {
        this.finalCompare(live);
        this.phase = 'done';
        return;
      }
    }
    if (this.now > this.convergeDeadline) {
      this.violate(
        'convergence',
        `the running members did not converge within ${40 * this.electionSteps} steps (${this.describeNodes()})`,
      );
      this.phase = 'done';
      return;
    }
    this.queue.push(this.now + 10, { k: 'converge' });
  }

  /** finalCompare: every running member holds exactly the committed history's final state. */
  private finalCompare(live: SimKvNode[]): void {
    const o = this.oracle;
    const final = o.stateAt(o.revision)!;
    for (const n of live) {
      const kv = n.server!.kv;
      kv.checkInvariants();
      if (kv.revision !== o.revision) {
        this.violate(
          'convergence',
          `node ${n.id} ended at revision ${kv.revision}, the committed history at ${o.revision}`,
        );
        continue;
      }
      const r = kv.range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) });
      if (!r.ok) {
        this.violate('convergence', `node ${n.id}: final range failed: ${r.error.message}`);
        continue;
      }
      const got = r.response.kvs
        .map(
          (x) =>
            `${new TextDecoder().decode(x.key)}=${new TextDecoder().decode(x.value)}@${x.createRevision}/${x.modRevision}/v${x.version}/l${x.lease}`,
        )
        .join(' ');
      const want = [...final.keys.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(
          ([k, x]) =>
            `${k}=${x.value}@${x.createRevision}/${x.modRevision}/v${x.version}/l${x.lease}`,
        )
        .join(' ');
      if (got !== want)
        this.violate(
          'convergence',
          `node ${n.id} ended with {${got}}, the committed history with {${want}}`,
        );
      const leases = kv.lessor.ids().join(',');
      const wantLeases = [...final.leases].sort((a, b) => a - b).join(',');
      if (leases !== wantLeases)
        this.violate(
          'convergence',
          `node ${n.id} ended with leases {${leases}}, the committed history with {${wantLeases}}`,
        );
    }
    this.stats['convergedMembers'] = live.length;
    this.note(
      `converged: ${live.length} running members at index ${live[0]?.server!.node.status().appliedIndex} revision ${o.revision}`,
    );
  }
}
