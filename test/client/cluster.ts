// An in-process tabd cluster for client tests: KvServers over synchronous in-memory durable
// storage and a loopback network (microtask delivery, through the real wire codec), ticked by a
// real interval timer so the promise-based client runs as it would in a tab, only faster: with
// the defaults one tick is 5 ms and one lease second is 20 ticks (100 ms).
import { LocalClient } from '../../src/client/local-client.js';
import type { KvConfig } from '../../src/kv/index.js';
import { KvServer } from '../../src/node/kv-server.js';
import { SeededRng, nodeId, type NodeId } from '../../src/raft/index.js';
import { MemoryDurableStorage } from '../../src/storage/memory-durable-storage.js';
import { LoopbackNetwork } from '../../src/transport/loopback.js';

export interface ClusterOptions {
  readonly size?: number;
  readonly tickMs?: number;
  readonly ticksPerSecond?: number;
  readonly electionTicks?: number;
  readonly requestTimeoutTicks?: number;
  readonly progressEveryTicks?: number;
  readonly kv?: Partial<KvConfig>;
  readonly seed?: number;
}

export interface TestCluster {
  readonly ids: readonly NodeId[];
  readonly servers: readonly KvServer[];
  /** clients[i] is a LocalClient on servers[i]. */
  readonly clients: readonly LocalClient[];
  readonly net: LoopbackNetwork;
  /** leaseSecondMs: wall-clock ms per lease second. */
  readonly leaseSecondMs: number;
  readonly tickMs: number;
  /** leaderIndex waits until one server leads (and the others know it), and returns its index. */
  leaderIndex(timeoutMs?: number): Promise<number>;
  /** stop stops ticking, closes the clients and stops every server. */
  stop(): Promise<void>;
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** waitFor polls cond every few ms until it holds or timeoutMs passes (then throws). */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export async function startCluster(opts: ClusterOptions = {}): Promise<TestCluster> {
  const size = opts.size ?? 3;
  const tickMs = opts.tickMs ?? 5;
  const ticksPerSecond = opts.ticksPerSecond ?? 20;
  const net = new LoopbackNetwork({ deliver: 'microtask' });
  const ids = Array.from({ length: size }, (_, i) => nodeId(`n${i + 1}`));
  const seeds = new SeededRng(opts.seed ?? 1);
  const servers = ids.map((id) => {
    const durable = new MemoryDurableStorage();
    return new KvServer(
      {
        id,
        durable,
        transport: net.createTransport(id),
        rng: new SeededRng(seeds.nextUint32()),
        raft: { electionTicks: opts.electionTicks ?? 10, heartbeatTicks: 1 },
        bootstrap: ids,
        ticksPerSecond,
        requestTimeoutTicks: opts.requestTimeoutTicks ?? 200,
        ...(opts.progressEveryTicks === undefined
          ? {}
          : { progressEveryTicks: opts.progressEveryTicks }),
        ...(opts.kv === undefined ? {} : { kv: opts.kv }),
      },
      durable.load(),
    );
  });
  const leaseSecondMs = tickMs * ticksPerSecond;
  const clients = servers.map((s) => new LocalClient(s, { leaseSecondMs }));
  const timer = setInterval(() => {
    for (const s of servers) s.tick();
  }, tickMs);

  const leaderIndex = async (timeoutMs = 20_000): Promise<number> => {
    let found = -1;
    await waitFor(
      () => {
        const live = servers.filter((s) => !s.node.isStopped);
        const leaders = live.filter((s) => s.node.status().role === 'leader');
        if (leaders.length !== 1) return false;
        const lead = leaders[0]!.id;
        if (!live.every((s) => s.leader() === lead)) return false;
        found = servers.indexOf(leaders[0]!);
        return true;
      },
      timeoutMs,
      'a leader',
    );
    return found;
  };
  await leaderIndex();

  return {
    ids,
    servers,
    clients,
    net,
    leaseSecondMs,
    tickMs,
    leaderIndex,
    stop: async () => {
      clearInterval(timer);
      await Promise.all(clients.map((c) => c.close()));
      for (const s of servers) s.stop();
    },
  };
}
