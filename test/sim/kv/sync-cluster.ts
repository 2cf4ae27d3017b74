// A small synchronous KvServer cluster for focused regression tests: real KvServers over
// MemoryDurableStorage and the simulator's transport, messages delivered in FIFO order when the
// test says so (flush), ticks when the test says so. No randomness but the nodes' seeded RNGs.
import { KvServer } from '../../../src/node/kv-server.js';
import { SeededRng, nodeId, type NodeId } from '../../../src/raft/index.js';
import { MemoryDurableStorage } from '../../../src/storage/memory-durable-storage.js';
import { SimTransport, type NetHost } from './sim-transport.js';

export interface SyncClusterOptions {
  readonly snapshotEntries?: number;
  readonly snapshotCatchUpEntries?: number;
  readonly seed?: number;
}

interface Member {
  handle: MemoryDurableStorage | undefined;
  server: KvServer | undefined;
  transport: SimTransport | undefined;
}

export class SyncCluster implements NetHost {
  readonly founders: NodeId[];
  private readonly members = new Map<NodeId, Member>();
  private queue: { from: NodeId; to: NodeId; frame: Uint8Array }[] = [];
  /** cut: nodes whose messages (both ways) are lost. */
  readonly cut = new Set<NodeId>();
  /** cutLinks: directed links "from>to" whose messages are lost. */
  readonly cutLinks = new Set<string>();
  private readonly seeds: SeededRng;

  constructor(
    founders: number,
    private readonly opts: SyncClusterOptions = {},
  ) {
    this.seeds = new SeededRng(opts.seed ?? 1);
    this.founders = Array.from({ length: founders }, (_, i) => nodeId(`n${i + 1}`));
    for (const id of this.founders) this.start(id);
  }

  /** start starts id (again): a fresh node if it never ran, else a restart from its storage. */
  start(id: NodeId): KvServer {
    let m = this.members.get(id);
    if (!m) {
      m = { handle: undefined, server: undefined, transport: undefined };
      this.members.set(id, m);
    }
    m.handle = m.handle === undefined ? new MemoryDurableStorage() : m.handle.reopen();
    m.transport = new SimTransport(id, this);
    const founder = this.founders.includes(id);
    m.server = new KvServer(
      {
        id,
        durable: m.handle,
        transport: m.transport,
        // A fresh seed per incarnation, as a tab draws one from crypto at each start.
        rng: new SeededRng(this.seeds.nextUint32()),
        raft: { electionTicks: 10, heartbeatTicks: 1 },
        ...(founder ? { bootstrap: this.founders } : {}),
        ticksPerSecond: 10,
        requestTimeoutTicks: 100,
        ...(this.opts.snapshotEntries === undefined
          ? {}
          : { snapshotEntries: this.opts.snapshotEntries }),
        ...(this.opts.snapshotCatchUpEntries === undefined
          ? {}
          : { snapshotCatchUpEntries: this.opts.snapshotCatchUpEntries }),
      },
      m.handle.load(),
    );
    return m.server;
  }

  /** stop kills id (the tab dies; what it wrote stays). */
  stop(id: NodeId): void {
    const m = this.members.get(id)!;
    m.server!.stop();
    m.handle!.crash();
    m.transport!.close();
  }

  server(id: NodeId): KvServer {
    return this.members.get(id)!.server!;
  }

  transmit(from: NodeId, to: NodeId, frame: Uint8Array): void {
    this.queue.push({ from, to, frame });
  }

  connectedPeers(id: NodeId): NodeId[] {
    return [...this.members.keys()].filter((p) => p !== id);
  }

  /** flush delivers every queued message (and those they cause) in FIFO order. */
  flush(limit = 100_000): void {
    for (let n = 0; this.queue.length > 0; n++) {
      if (n > limit) throw new Error('flush did not settle');
      const { from, to, frame } = this.queue.shift()!;
      if (this.cut.has(from) || this.cut.has(to) || this.cutLinks.has(`${from}>${to}`)) continue;
      const t = this.members.get(to)?.transport;
      if (t?.open) t.deliver(frame);
    }
  }

  /** tick ticks every running node `times` times, flushing after each round. */
  tick(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const m of this.members.values())
        if (m.server && !m.server.node.isStopped) m.server.tick();
      this.flush();
    }
  }

  /** elect makes id the leader. */
  elect(id: NodeId): void {
    this.server(id).node.campaign();
    this.flush();
    this.tick(3);
    if (this.server(id).node.status().role !== 'leader')
      throw new Error(`${id} did not become leader`);
  }
}
