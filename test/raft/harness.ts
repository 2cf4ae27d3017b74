// A small in-memory cluster for tests: real RawNodes over MemoryStorage, with
// messages held in a queue that the test delivers, drops or reorders. The
// Ready handling here follows the order src/raft/index.ts prescribes.
import {
  EntryType,
  MemoryStorage,
  RawNode,
  SeededRng,
  decodeConfChange,
  nodeId,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type RaftConfig,
  type ReadState,
} from '../../src/raft/index.js';

export interface HarnessNode {
  readonly id: NodeId;
  rawNode: RawNode;
  storage: MemoryStorage;
  /** applied: the committed entries this node applied, in order (normal entries only). */
  applied: Entry[];
  /** confState: the last ConfState produced by applying a conf change or snapshot. */
  confState?: ConfState;
  /** readStates: every ReadState this node's Readys carried, in order. */
  readStates: ReadState[];
}

export type HarnessConfig = Partial<Omit<RaftConfig, 'id' | 'storage' | 'rng'>>;

export class Cluster {
  readonly nodes = new Map<NodeId, HarnessNode>();
  /** queue: messages sent and not yet delivered, in send order. */
  queue: Message[] = [];
  private readonly rng: SeededRng;

  constructor(
    readonly opts: { seed?: number; config?: HarnessConfig } = {},
  ) {
    this.rng = new SeededRng(opts.seed ?? 1);
  }

  /** bootstrap creates nodes with ids and bootstraps them as the founding voters. */
  static bootstrapped(ids: readonly string[], opts: { seed?: number; config?: HarnessConfig } = {}): Cluster {
    const c = new Cluster(opts);
    const voters = ids.map(nodeId);
    for (const id of voters) c.addNode(id).rawNode.bootstrap(voters);
    c.processAll();
    return c;
  }

  addNode(id: NodeId, storage = new MemoryStorage()): HarnessNode {
    const rawNode = new RawNode(this.raftConfig(id, storage));
    const n: HarnessNode = { id, rawNode, storage, applied: [], readStates: [] };
    this.nodes.set(id, n);
    return n;
  }

  raftConfig(id: NodeId, storage: MemoryStorage): RaftConfig {
    return {
      id,
      storage,
      electionTicks: 10,
      heartbeatTicks: 1,
      rng: new SeededRng(this.rng.nextUint32()),
      ...this.opts.config,
    };
  }

  node(id: string): HarnessNode {
    const n = this.nodes.get(nodeId(id));
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** process handles every Ready of one node: persist, queue messages, apply, advance. */
  process(n: HarnessNode): void {
    while (n.rawNode.hasReady()) {
      const rd = n.rawNode.ready();
      if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
      n.storage.append(rd.entries);
      if (rd.hardState) n.storage.setHardState(rd.hardState);
      this.queue.push(...rd.messages);
      n.readStates.push(...rd.readStates);
      if (rd.snapshot) n.confState = rd.snapshot.metadata.confState;
      for (const e of rd.committedEntries) {
        if (e.type === EntryType.ConfChange) {
          n.confState = n.rawNode.applyConfChange(decodeConfChange(e.data));
        } else if (e.data.length > 0) {
          n.applied.push(e);
        }
      }
      n.rawNode.advance(rd);
    }
  }

  processAll(): void {
    for (const n of this.nodes.values()) this.process(n);
  }

  /** deliver delivers every queued message (and what they cause) until the network is quiet. */
  stabilize(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      this.processAll();
      if (this.queue.length === 0) return;
      const msgs = this.queue;
      this.queue = [];
      for (const m of msgs) this.deliver(m);
    }
    throw new Error('cluster did not stabilize');
  }

  deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (!n) return;
    n.rawNode.step(m);
    this.process(n);
  }

  tick(id: string, times = 1): void {
    const n = this.node(id);
    for (let i = 0; i < times; i++) n.rawNode.tick();
    this.process(n);
  }

  campaign(id: string): void {
    const n = this.node(id);
    n.rawNode.campaign();
    this.process(n);
  }

  leader(): HarnessNode | undefined {
    for (const n of this.nodes.values()) if (n.rawNode.raft.state === 'leader') return n;
    return undefined;
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
