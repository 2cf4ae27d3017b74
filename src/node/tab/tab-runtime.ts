// TabRuntime makes this browser tab a tabd peer: it claims an identity (Web
// Lock + its own IndexedDB database), opens storage, joins the mesh, decides
// whether to bootstrap a new cluster or join an existing one, drives ticks
// from a Worker clock, and leaves gracefully on pagehide.
//
// Where the node runs: on the page, with only the clock in a Worker. Data
// channels exist only on the page (Chromium has no RTCDataChannel in
// workers), so a node in a Worker would add a page ↔ worker hop to every Raft
// message in both directions; the clock Worker alone is enough to keep ticks
// on time in a hidden tab (BROWSER-LIFECYCLE.md: worker timers and all
// message delivery are unthrottled).
import { SeededRng, nodeId, type NodeId } from '../../raft/index.js';
import { IdbStorage } from '../../storage/idb-storage.js';
import type { Transport, TransportHandlers } from '../../transport/transport.js';
import { KvServer } from '../kv-server.js';
import { claimIdentity, type Identity } from './identity.js';
import { WorkerTickSource } from './tick-source.js';

/** MeshTransport is a Transport with partition hooks for tests and workshops. */
export interface MeshTransport extends Transport {
  isolate(): void;
  heal(): void;
  /** peersSeen: peers announced by signaling, connected or not. */
  peersSeen(): NodeId[];
}

export interface TabRuntimeOptions {
  readonly cluster: string;
  /** targetVoters: 1, 3 or 5. */
  readonly targetVoters?: number;
  /** tickMs: length of a Raft tick. */
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** discoveryMs: how long a brand-new identity looks for peers before bootstrapping a cluster. */
  readonly discoveryMs?: number;
  /** graceMs: a member unheard this long is replaced / removed by the leader. */
  readonly graceMs?: number;
  /** snapshotEntries: snapshot (and compact the log) after this many applied entries; default RaftNode's. */
  readonly snapshotEntries?: number;
  /** snapshotCatchUpEntries: entries kept before a snapshot for slow followers; default RaftNode's. */
  readonly snapshotCatchUpEntries?: number;
  /** createTransport builds the mesh for this peer id. */
  readonly createTransport: (peerId: NodeId) => MeshTransport | Promise<MeshTransport>;
  /** log receives the Raft core's event lines (debugging; ?debug=1 on the page). */
  readonly log?: (line: string) => void;
}

export const tabRuntimeDefaults = {
  targetVoters: 3,
  tickMs: 25,
  // 8 ticks of 25 ms: an election timeout randomized in [200, 400) ms, which
  // sets crash failover time; heartbeats every 50 ms keep it from firing.
  electionTicks: 8,
  heartbeatTicks: 2,
  discoveryMs: 700,
  graceMs: 30_000,
} as const;

const bootstrappedKey = (cluster: string) => `tabd/${cluster}/bootstrapped`;

export class TabRuntime {
  readonly server: KvServer;
  readonly identity: Identity;
  readonly transport: MeshTransport;
  private readonly ticks: WorkerTickSource;
  private stopped = false;
  private readonly storage: IdbStorage;
  /** pauses: wake-ups after a gap much longer than a tick (frozen or throttled tab). */
  pauses = 0;

  private constructor(identity: Identity, storage: IdbStorage, transport: MeshTransport, server: KvServer, ticks: WorkerTickSource) {
    this.identity = identity;
    this.storage = storage;
    this.transport = transport;
    this.server = server;
    this.ticks = ticks;
  }

  static async start(opts: TabRuntimeOptions): Promise<TabRuntime> {
    const o = { ...tabRuntimeDefaults, ...opts };
    const identity = await claimIdentity(o.cluster);
    const id = nodeId(identity.peerId);
    const storage = await IdbStorage.open(IdbStorage.databaseName(o.cluster, identity.peerId));
    const loaded = await storage.load();
    const transport = await o.createTransport(id);
    // Join the room before deciding whether to found the cluster: until the
    // transport starts, signaling has not joined and peersSeen() is always
    // empty, so a tab of another browser (no shared bootstrapped flag) would
    // found a second cluster of the same name and peers would take both
    // leaders' messages. The node binds its handlers when it starts; messages
    // arriving before then are dropped (Raft retransmits).
    const lateBound = bindLater(transport);
    const empty = loaded.snapshot.metadata.index === 0 && loaded.entries.length === 0;
    const bootstrap = empty ? await decideBootstrap(o.cluster, transport, o.discoveryMs) : false;
    const seed = crypto.getRandomValues(new Uint32Array(1))[0]!;
    const ticksPerSecond = 1000 / o.tickMs;
    const server = new KvServer(
      {
        id,
        durable: storage,
        transport: lateBound,
        rng: new SeededRng(seed),
        raft: {
          electionTicks: o.electionTicks,
          heartbeatTicks: o.heartbeatTicks,
          checkQuorum: true,
          preVote: true,
          ...(opts.log ? { logger: opts.log } : {}),
        },
        bootstrap: bootstrap ? [id] : undefined,
        ticksPerSecond,
        requestTimeoutTicks: Math.ceil(5000 / o.tickMs),
        ...(opts.snapshotEntries !== undefined ? { snapshotEntries: opts.snapshotEntries } : {}),
        ...(opts.snapshotCatchUpEntries !== undefined ? { snapshotCatchUpEntries: opts.snapshotCatchUpEntries } : {}),
        membership: {
          targetVoters: o.targetVoters,
          graceTicks: Math.ceil(o.graceMs / o.tickMs),
          caughtUpEntries: 64,
        },
        membershipEveryTicks: 4,
        kv: { minLeaseTtlSeconds: Math.ceil((o.electionTicks * o.tickMs * 2) / 1000) },
        // Snapshots are encoded in slices of a few milliseconds each, between which messages,
        // ticks and writes go on (a 100k-key snapshot in one task outlasts an election timeout).
        schedule: taskScheduler(),
        snapshotSliceItems: 2_000,
      },
      loaded,
    );
    const ticks = new WorkerTickSource({ tickMs: o.tickMs });
    const rt = new TabRuntime(identity, storage, transport, server, ticks);
    ticks.start((n, gapMs) => {
      if (gapMs !== undefined) rt.pauses++;
      for (let i = 0; i < n; i++) server.tick();
    });
    addEventListener('pagehide', () => rt.stop({ handOver: true }));
    return rt;
  }

  /** stop leaves the cluster gracefully: a leader hands over, then every channel closes. */
  stop(opts: { handOver?: boolean } = {}): void {
    if (this.stopped) return;
    this.stopped = true;
    this.server.stop({ handOver: opts.handOver ?? true });
    this.ticks.stop();
    this.transport.close();
    void this.storage.close();
    this.identity.release();
  }
}

/**
 * bindLater starts `transport` now (joining the signaling room) and returns a
 * Transport for the node whose start() only binds the node's handlers.
 */
function bindLater(transport: MeshTransport): Transport {
  let handlers: TransportHandlers | undefined;
  transport.start({
    onMessage: (m) => handlers?.onMessage(m),
    onPeerUp: (p) => handlers?.onPeerUp?.(p),
    onPeerDown: (p) => handlers?.onPeerDown?.(p),
    onSendDropped: (m, reason) => handlers?.onSendDropped?.(m, reason),
  });
  return {
    localId: transport.localId,
    start: (h) => {
      handlers = h;
    },
    send: (m) => transport.send(m),
    connectedPeers: () => transport.connectedPeers(),
    stats: () => transport.stats(),
    close: () => transport.close(),
  };
}

/**
 * decideBootstrap: does this brand-new peer found the cluster? Only if no
 * other peer shows up within the discovery window and no tab of this browser
 * founded it before (a Web Lock serializes the decision between tabs).
 */
async function decideBootstrap(cluster: string, transport: MeshTransport, discoveryMs: number): Promise<boolean> {
  return navigator.locks.request(`tabd/${cluster}/bootstrap`, async () => {
    if (localStorage.getItem(bootstrappedKey(cluster))) return false;
    const deadline = performance.now() + discoveryMs;
    while (performance.now() < deadline) {
      if (transport.peersSeen().length > 0 || transport.connectedPeers().length > 0) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    localStorage.setItem(bootstrappedKey(cluster), String(Date.now()));
    return true;
  });
}

/**
 * taskScheduler runs each function in a task of its own, soon: a MessageChannel message, which a
 * hidden tab does not throttle (its timers it does) and which lets the tasks already queued
 * (data-channel messages, ticks, storage completions) run first.
 */
function taskScheduler(): (fn: () => void) => void {
  const ch = new MessageChannel();
  const queue: (() => void)[] = [];
  ch.port1.onmessage = () => queue.shift()?.();
  return (fn) => {
    queue.push(fn);
    ch.port2.postMessage(0);
  };
}
