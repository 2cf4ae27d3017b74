// InteractionEnv: a small cluster of real RawNodes over MemoryStorage that
// scenario scripts drive one step at a time. Nothing happens unless a command
// says so: ticks are explicit, messages wait in one queue until delivered,
// Readys are handled only by process-ready / stabilize. Every command returns
// the lines it printed; the Raft logger of each node prints into the same
// trace, prefixed with `[id]`. README.md documents the commands.
import {
  ConfChangeTransition,
  ConfChangeType,
  EntryType,
  MemoryStorage,
  RaftError,
  RawNode,
  SeededRng,
  emptyConfState,
  logIndex,
  nodeId,
  term,
  type ConfChange,
  type ConfChangeSingle,
  type ConfState,
  type LogIndex,
  type Message,
  type NodeId,
  type RaftConfig,
  type Ready,
} from '../../src/raft/index.js';
import {
  describeConfState,
  describeEntry,
  describeHardState,
  describeMessage,
  describeProgress,
  describeReady,
  describeSnapshot,
  describeSoftState,
  describeStatus,
} from '../../src/raft/describe.js';
import { Args, ScenarioUsageError, parseCommand, parseList } from './args.js';
import type { CommandHandler } from './datadriven.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** NodeOptions are the per-node settings add-nodes takes; restart reuses them. */
interface NodeOptions {
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxInflightMsgs?: number;
  readonly maxSizePerMsgBytes?: number;
}

/** AppliedEntry is one normal entry in a node's state machine (a plain list of payloads). */
interface AppliedEntry {
  readonly index: LogIndex;
  readonly data: string;
}

interface EnvNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly opts: NodeOptions;
  /** rng survives restarts so that a script's timeouts never depend on how often a node restarted. */
  readonly rng: SeededRng;
  /** rawNode is undefined while the node is crashed. */
  rawNode: RawNode | undefined;
  /** stateMachine: applied normal entries; restored from snapshot data on install and restart. */
  stateMachine: AppliedEntry[];
  appliedIndex: LogIndex;
  /** confHistory: the ConfState after each applied change (and snapshot), to snapshot at any applied index. */
  confHistory: { index: LogIndex; cs: ConfState }[];
}

/** The env's own default timing: short, so traces stay small (etcd's env uses the same shape). */
const defaultElectionTicks = 3;
const defaultHeartbeatTicks = 1;

/** fnv1a derives a node's rng seed from the env seed and its id, independent of creation order. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const ch of s) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class InteractionEnv implements CommandHandler {
  private readonly nodes = new Map<NodeId, EnvNode>();
  /** queue: messages handed out by Readys and not yet delivered, in send order. */
  private queue: Message[] = [];
  /** groups: node → partition group; undefined when the network is whole. */
  private groups: Map<NodeId, number> | undefined;
  /** tracing: when false (`trace off`), commands print nothing; set-up blocks stay short. */
  private tracing = true;
  private out: string[] = [];
  private indent = '';

  constructor(private readonly seed = 1) {}

  run(line: string): string[] {
    this.out = [];
    this.indent = '';
    const cmd = parseCommand(line);
    const a = new Args(cmd);
    const handler = this.commands[cmd.name];
    if (!handler) throw new ScenarioUsageError(`unknown command ${cmd.name}`);
    handler(a);
    a.done();
    return this.out;
  }

  // ---------------------------------------------------------------- output

  private emit(line: string): void {
    if (this.tracing) this.out.push(this.indent + line);
  }

  private nested(extra: string, f: () => void): void {
    const saved = this.indent;
    this.indent += extra;
    try {
      f();
    } finally {
      this.indent = saved;
    }
  }

  private refusal(err: RaftError | undefined): void {
    if (err) this.emit(`refused: ${err.code}: ${err.message}`);
  }

  // ---------------------------------------------------------------- nodes

  private node(idArg: string | undefined, cmd: string): EnvNode {
    if (idArg === undefined) throw new ScenarioUsageError(`${cmd}: node id required`);
    const n = this.nodes.get(nodeId(idArg));
    if (!n) throw new ScenarioUsageError(`${cmd}: no node ${idArg}`);
    return n;
  }

  private running(idArg: string | undefined, cmd: string): { n: EnvNode; rn: RawNode } {
    const n = this.node(idArg, cmd);
    if (!n.rawNode)
      throw new ScenarioUsageError(`${cmd}: node ${n.id} is crashed (restart it first)`);
    return { n, rn: n.rawNode };
  }

  private sortedIds(): NodeId[] {
    return [...this.nodes.keys()].sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : 1));
  }

  private idsOrAll(a: Args): NodeId[] {
    if (a.positional.length === 0) return this.sortedIds();
    return a.positional.map((p) => this.node(p, a.cmd.name).id);
  }

  private raftConfig(n: EnvNode, applied: LogIndex): RaftConfig {
    return {
      id: n.id,
      storage: n.storage,
      applied,
      electionTicks: n.opts.electionTicks,
      heartbeatTicks: n.opts.heartbeatTicks,
      preVote: n.opts.preVote,
      checkQuorum: n.opts.checkQuorum,
      ...(n.opts.maxInflightMsgs !== undefined ? { maxInflightMsgs: n.opts.maxInflightMsgs } : {}),
      ...(n.opts.maxSizePerMsgBytes !== undefined
        ? { maxSizePerMsgBytes: n.opts.maxSizePerMsgBytes }
        : {}),
      rng: n.rng,
      logger: (l) => this.emit(`[${n.id}] ${l}`),
    };
  }

  /** start builds a RawNode from the node's storage, with the state machine restored from the snapshot. */
  private start(n: EnvNode): RawNode {
    const snap = n.storage.snapshot();
    this.restoreStateMachine(n, snap.metadata.index, snap.data, snap.metadata.confState);
    const rn = new RawNode(this.raftConfig(n, snap.metadata.index));
    n.rawNode = rn;
    return rn;
  }

  private restoreStateMachine(n: EnvNode, index: LogIndex, data: Uint8Array, cs: ConfState): void {
    n.stateMachine = data.length === 0 ? [] : (JSON.parse(dec(data)) as AppliedEntry[]);
    n.appliedIndex = index;
    n.confHistory = [{ index, cs }];
  }

  private stateMachineData(n: EnvNode, upTo: LogIndex): Uint8Array {
    return enc(JSON.stringify(n.stateMachine.filter((e) => e.index <= upTo)));
  }

  // ---------------------------------------------------------------- Ready handling

  /**
   * handleReady processes one Ready in the order src/raft/index.ts prescribes:
   * persist (snapshot, entries, hard state), send (queue), apply, advance.
   */
  private handleReady(n: EnvNode, rn: RawNode): void {
    const rd: Ready = rn.ready();
    for (const l of describeReady(rd)) this.emit(l);
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    this.queue.push(...rd.messages);
    if (rd.snapshot) {
      const m = rd.snapshot.metadata;
      this.restoreStateMachine(n, m.index, rd.snapshot.data, m.confState);
    }
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.ConfChange) {
        const cs = rn.applyConfChangeEntry(e);
        n.confHistory.push({ index: e.index, cs });
        this.emit(`applied ${e.index}: ${describeConfState(cs)}`);
      } else if (e.data.length > 0) {
        n.stateMachine.push({ index: e.index, data: dec(e.data) });
      }
      n.appliedIndex = e.index;
    }
    rn.advance(rd);
  }

  /** processReady handles one Ready of the node if it has one; returns whether it did. */
  private processReady(n: EnvNode): boolean {
    const rn = n.rawNode;
    if (!rn || !rn.hasReady()) return false;
    this.handleReady(n, rn);
    return true;
  }

  private partitioned(a: NodeId, b: NodeId): boolean {
    if (!this.groups) return false;
    return this.groups.get(a) !== this.groups.get(b);
  }

  /**
   * deliverTo steps every queued message for `to` (optionally only of one
   * type, or dropping them all); returns how many it took off the queue.
   */
  private deliverTo(to: NodeId, opts: { drop?: boolean; type?: string } = {}): number {
    const mine = this.queue.filter(
      (m) => m.to === to && (opts.type === undefined || m.type === opts.type),
    );
    if (mine.length === 0) return 0;
    this.queue = this.queue.filter((m) => !mine.includes(m));
    const n = this.nodes.get(to);
    for (const m of mine) {
      const d = describeMessage(m);
      if (opts.drop) this.emit(`dropped: ${d}`);
      else if (this.partitioned(m.from, m.to)) this.emit(`dropped (partition): ${d}`);
      else if (!n?.rawNode) this.emit(`dropped (${to} is ${n ? 'crashed' : 'unknown'}): ${d}`);
      else {
        this.emit(d);
        const rn = n.rawNode;
        this.nested('  ', () => this.refusal(rn.step(m)));
      }
    }
    return mine.length;
  }

  // ---------------------------------------------------------------- commands

  private readonly commands: Record<string, (a: Args) => void> = {
    trace: (a) => {
      const v = a.positional[0];
      if (v !== 'on' && v !== 'off') throw new ScenarioUsageError('trace on|off');
      this.tracing = v === 'on';
    },

    'add-nodes': (a) => {
      const count = Number(a.positional[0]);
      if (!Number.isSafeInteger(count) || count < 1)
        throw new ScenarioUsageError('add-nodes N: N must be >= 1');
      const voters = (a.list('voters') ?? []).map(nodeId);
      const learners = (a.list('learners') ?? []).map(nodeId);
      const index = a.int('index');
      const content = a.str('content');
      const opts: NodeOptions = {
        electionTicks: a.int('election') ?? defaultElectionTicks,
        heartbeatTicks: a.int('heartbeat') ?? defaultHeartbeatTicks,
        preVote: a.bool('prevote') ?? false,
        checkQuorum: a.bool('checkquorum') ?? false,
        ...(a.int('max-inflight') !== undefined ? { maxInflightMsgs: a.int('max-inflight')! } : {}),
        ...(a.int('max-msg-bytes') !== undefined
          ? { maxSizePerMsgBytes: a.int('max-msg-bytes')! }
          : {}),
      };
      const first = this.nodes.size + 1;
      for (let i = 0; i < count; i++) {
        const id = nodeId(String(first + i));
        const storage = new MemoryStorage();
        const n: EnvNode = {
          id,
          storage,
          opts,
          rng: new SeededRng(fnv1a(`${this.seed}/${id}`)),
          rawNode: undefined,
          stateMachine: [],
          appliedIndex: logIndex(0),
          confHistory: [{ index: logIndex(0), cs: emptyConfState }],
        };
        this.nodes.set(id, n);
        if (index !== undefined) {
          // Start from a snapshot at `index` (term 1) holding the configuration, as if
          // the cluster had already run that far: the log proper begins at index+1.
          if (index < 1) throw new ScenarioUsageError('add-nodes: index must be >= 1');
          const cs: ConfState = { ...emptyConfState, voters, learners };
          const data =
            content === undefined
              ? new Uint8Array(0)
              : enc(JSON.stringify([{ index, data: content }]));
          storage.applySnapshot({
            metadata: { index: logIndex(index), term: term(1), confState: cs },
            data,
          });
          storage.setHardState({ term: term(1), vote: nodeId(''), commit: logIndex(index) });
          this.start(n);
        } else if (voters.length > 0) {
          // Bootstrap: the founding voters' ConfChange entries 1..len(voters) at term 1.
          if (learners.length > 0)
            throw new ScenarioUsageError(
              'add-nodes: learners need index= (bootstrap adds voters only)',
            );
          if (content !== undefined)
            throw new ScenarioUsageError('add-nodes: content= needs index=');
          const rn = this.start(n);
          rn.bootstrap(voters);
          // The bootstrap Ready is part of creating the node: handle it without printing it.
          const saved = this.out;
          this.out = [];
          this.handleReady(n, rn);
          this.out = saved;
        } else {
          // An empty node: no log, no configuration. It learns both from a leader.
          if (learners.length > 0 || content !== undefined)
            throw new ScenarioUsageError('add-nodes: learners/content need index=');
          this.start(n);
        }
      }
    },

    campaign: (a) => {
      const { rn } = this.running(a.positional[0], 'campaign');
      this.refusal(rn.campaign());
    },

    propose: (a) => {
      const { rn } = this.running(a.positional[0], 'propose');
      const data = a.positional[1];
      if (data === undefined) throw new ScenarioUsageError('propose ID DATA');
      this.refusal(rn.propose(enc(data.replace(/^"(.*)"$/, '$1'))));
    },

    'propose-conf-change': (a) => {
      const { rn } = this.running(a.positional[0], 'propose-conf-change');
      const transition = a.str('transition') ?? 'auto';
      if (!(Object.values(ConfChangeTransition) as string[]).includes(transition)) {
        throw new ScenarioUsageError(`propose-conf-change: transition=${transition}`);
      }
      const kinds: Record<string, ConfChangeType> = {
        v: ConfChangeType.AddNode,
        l: ConfChangeType.AddLearnerNode,
        r: ConfChangeType.RemoveNode,
      };
      const changes: ConfChangeSingle[] = a.positional.slice(1).map((tok) => {
        const type = kinds[tok[0] ?? ''];
        if (!type || tok.length < 2)
          throw new ScenarioUsageError(`propose-conf-change: bad change ${tok} (want v2, l3, r4)`);
        return { type, nodeId: nodeId(tok.slice(1)) };
      });
      const cc: ConfChange = {
        transition: transition as ConfChangeTransition,
        changes,
        context: '',
      };
      this.refusal(rn.proposeConfChange(cc));
    },

    'transfer-leadership': (a) => {
      const { rn } = this.running(a.str('from'), 'transfer-leadership');
      const to = a.str('to');
      if (to === undefined) throw new ScenarioUsageError('transfer-leadership from=ID to=ID');
      this.refusal(rn.transferLeader(nodeId(to)));
    },

    'read-index': (a) => {
      const { rn } = this.running(a.positional[0], 'read-index');
      const ctx = a.positional[1];
      if (ctx === undefined) throw new ScenarioUsageError('read-index ID CTX');
      this.refusal(rn.readIndex(ctx));
    },

    tick: (a) => {
      const { rn } = this.running(a.positional[0], 'tick');
      const times = Number(a.positional[1] ?? '1');
      if (!Number.isSafeInteger(times) || times < 1) throw new ScenarioUsageError('tick ID [N]');
      for (let i = 0; i < times; i++) rn.tick();
    },

    'tick-heartbeat': (a) => {
      const { n, rn } = this.running(a.positional[0], 'tick-heartbeat');
      for (let i = 0; i < n.opts.heartbeatTicks; i++) rn.tick();
    },

    'tick-election': (a) => {
      // Enough ticks for the node's election timer to fire: a follower or
      // candidate reaches its randomized timeout (and campaigns if it may); a
      // leader reaches electionTicks (CheckQuorum, transfer timeout).
      const { n, rn } = this.running(a.positional[0], 'tick-election');
      const r = rn.raft;
      const target = r.state === 'leader' ? n.opts.electionTicks : r.randomizedElectionTimeout;
      const times = Math.max(1, target - r.electionElapsed);
      for (let i = 0; i < times; i++) rn.tick();
    },

    'process-ready': (a) => {
      const ids = this.idsOrAll(a);
      for (const id of ids) {
        const n = this.nodes.get(id)!;
        if (ids.length > 1) this.emit(`> ${id} process-ready`);
        this.nested(ids.length > 1 ? '  ' : '', () => {
          if (!this.processReady(n)) this.emit(n.rawNode ? 'no Ready' : 'crashed');
        });
      }
    },

    'deliver-msgs': (a) => {
      const drop = a.list('drop') ?? [];
      const type = a.str('type');
      const ids = a.positional.map((p) => this.node(p, 'deliver-msgs').id);
      for (const id of drop) this.deliverTo(nodeId(id), { drop: true, ...(type ? { type } : {}) });
      for (const id of ids) this.deliverTo(id, type ? { type } : {});
    },

    stabilize: (a) => {
      const ids = this.idsOrAll(a);
      for (let round = 0; ; round++) {
        if (round > 1000) throw new Error('stabilize: no quiescence after 1000 rounds (livelock?)');
        let busy = false;
        for (const id of ids) {
          const n = this.nodes.get(id)!;
          if (n.rawNode?.hasReady()) {
            busy = true;
            this.emit(`> ${id} process-ready`);
            this.nested('  ', () => this.processReady(n));
          }
        }
        for (const id of ids) {
          if (!this.queue.some((m) => m.to === id)) continue;
          busy = true;
          this.emit(`> ${id} deliver-msgs`);
          this.nested('  ', () => this.deliverTo(id));
        }
        if (!busy) return;
      }
    },

    partition: (a) => {
      if (a.positional.length === 0) throw new ScenarioUsageError('partition (1 2) (3) ...');
      const groups = new Map<NodeId, number>();
      a.positional.forEach((g, i) => {
        for (const id of parseList(g)) groups.set(this.node(id, 'partition').id, i + 1);
      });
      // Nodes not named form one more group of their own.
      for (const id of this.nodes.keys()) if (!groups.has(id)) groups.set(id, 0);
      this.groups = groups;
    },

    heal: () => {
      this.groups = undefined;
    },

    crash: (a) => {
      // Whatever the node did not persist through a Ready is lost: unstable
      // entries, unsent messages, volatile state. Messages already sent stay in flight.
      const { n } = this.running(a.positional[0], 'crash');
      n.rawNode = undefined;
    },

    restart: (a) => {
      const n = this.node(a.positional[0], 'restart');
      n.rawNode = undefined;
      this.start(n);
    },

    compact: (a) => {
      // Snapshot the state machine at INDEX (applied) and discard the log up to it.
      const n = this.node(a.positional[0], 'compact');
      const i = logIndex(Number(a.positional[1]));
      if (!Number.isSafeInteger(i) || i < 1) throw new ScenarioUsageError('compact ID INDEX');
      if (i > n.appliedIndex)
        throw new ScenarioUsageError(
          `compact: ${i} is not applied on ${n.id} (applied ${n.appliedIndex})`,
        );
      let cs = emptyConfState;
      for (const h of n.confHistory) if (h.index <= i) cs = h.cs;
      n.storage.createSnapshot(i, cs, this.stateMachineData(n, i));
      n.storage.compact(i);
      this.printLog(n);
    },

    'report-snapshot': (a) => {
      const { rn } = this.running(a.positional[0], 'report-snapshot');
      const to = a.positional[1];
      const status = a.positional[2] ?? 'ok';
      if (to === undefined || (status !== 'ok' && status !== 'failed'))
        throw new ScenarioUsageError('report-snapshot LEADER ID [ok|failed]');
      rn.reportSnapshot(nodeId(to), status === 'ok');
    },

    'report-unreachable': (a) => {
      const { rn } = this.running(a.positional[0], 'report-unreachable');
      const to = a.positional[1];
      if (to === undefined) throw new ScenarioUsageError('report-unreachable LEADER ID');
      rn.reportUnreachable(nodeId(to));
    },

    status: (a) => {
      const { rn } = this.running(a.positional[0], 'status');
      for (const l of describeStatus(rn.status())) this.emit(l);
    },

    'raft-state': (a) => {
      for (const id of this.idsOrAll(a)) {
        const n = this.nodes.get(id)!;
        const r = n.rawNode?.raft;
        if (!r) {
          this.emit(`${id}: crashed`);
          continue;
        }
        const role = r.isLearner ? ' (learner)' : r.trk.progress.has(id) ? '' : ' (not a member)';
        this.emit(
          `${id}: ${describeSoftState(r.softState())} ${describeHardState(r.hardState())}${role}`,
        );
        if (r.state !== 'leader') continue;
        r.trk.visit((pid, pr) => this.emit(`  ${pid}: ${describeProgress(pr)}`));
        if (r.leadTransferee !== '') this.emit(`  transferring to ${r.leadTransferee}`);
      }
    },

    'raft-log': (a) => this.printLog(this.node(a.positional[0], 'raft-log')),

    'print-applied': (a) => {
      const n = this.node(a.positional[0], 'print-applied');
      const cs = n.confHistory[n.confHistory.length - 1]!.cs;
      this.emit(`applied:${n.appliedIndex} ${describeConfState(cs)}`);
      for (const e of n.stateMachine) this.emit(`  ${e.index} ${JSON.stringify(e.data)}`);
    },

    queue: () => {
      // The messages in flight, oldest first.
      for (const m of this.queue) this.emit(describeMessage(m));
    },
  };

  /** printLog prints the node's stable storage: snapshot, hard state and entries. */
  private printLog(n: EnvNode): void {
    const s = n.storage;
    const snap = s.snapshot();
    if (snap.metadata.index > 0) this.emit(`snapshot ${describeSnapshot(snap)}`);
    this.emit(`hardstate ${describeHardState(s.hardState)}`);
    const first = s.firstIndex();
    const last = s.lastIndex();
    if (last < first) {
      this.emit('log empty');
      return;
    }
    for (const e of s.entries(first, logIndex(last + 1), Number.MAX_SAFE_INTEGER))
      this.emit(describeEntry(e));
  }
}
