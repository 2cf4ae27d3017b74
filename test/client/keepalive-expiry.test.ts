// keepAlive at the moment of expiry. On the leader the answer now follows the leader's clock.
// Known remaining bug, kept as a failing case (it.fails passes while the bug is there): a
// follower answers from its own apply and cannot see that the leader's revoke is already on its
// way; fixing it needs the expiry revoke to be conditional on replicated keepAlive state.
//
// KvServer.keepAlive renews through the log, and the leader's KvApplier ignores the result of
// lessor.renew(): a keepAlive that commits after the lease's expiry tick (but before the revoke
// the leader proposes at that tick) is answered "renewed, TTL n" although nothing was renewed,
// and the lease and its keys are revoked at once. etcd answers lease-not-found in that case (its
// leader renews on receipt, and a keepAlive for an expired lease waits for the revoke). A
// keepAlive handle trusting the answer believes the lease alive for a whole TTL after it was
// deleted. When the keepAlive was proposed by a follower, the follower answers from its own
// apply, which cannot know what the leader's renew decided: checking renew()'s result on the
// leader fixes the first case only. Reported to the lead with proposed fixes.
import { expect, it } from 'vitest';
import { LocalClient } from '../../src/client/local-client.js';
import { KvServer } from '../../src/node/kv-server.js';
import { SeededRng, nodeId } from '../../src/raft/index.js';
import { MemoryDurableStorage } from '../../src/storage/memory-durable-storage.js';
import { LoopbackNetwork } from '../../src/transport/loopback.js';

const flush = async () => {
  for (let i = 0; i < 50; i++) await Promise.resolve();
};

/**
 * renewAtExpiry asks `via` to renew a 1-second lease one tick before it expires, lets the expiry
 * tick happen before the keepAlive entry commits, and answers what the keepAlive said and how
 * many ticks the lease's key then survived.
 */
async function renewAtExpiry(
  via: 'leader' | 'follower',
): Promise<{ answer: string; survivedTicks: number; ticksPerSecond: number }> {
  const net = new LoopbackNetwork({ deliver: 'microtask' });
  const ids = ['n1', 'n2', 'n3'].map(nodeId);
  const ticksPerSecond = 10;
  const servers = ids.map((id, i) => {
    const d = new MemoryDurableStorage();
    return new KvServer(
      {
        id,
        durable: d,
        transport: net.createTransport(id),
        rng: new SeededRng(i + 1),
        bootstrap: ids,
        ticksPerSecond,
        raft: { electionTicks: 10, heartbeatTicks: 1 },
      },
      d.load(),
    );
  });
  const tickAll = async (n: number) => {
    for (let i = 0; i < n; i++) {
      for (const s of servers) s.tick();
      await flush();
    }
  };
  try {
    servers[0]!.node.campaign();
    await tickAll(5);
    const leader = servers.find((s) => s.node.status().role === 'leader')!;
    const proposer = via === 'leader' ? leader : servers.find((s) => s !== leader)!;
    const c = new LocalClient(leader);
    const pg = c.grant(1);
    await tickAll(1);
    const g = await pg;
    const pp = c.put('k', 'v', { lease: g.id });
    await tickAll(1);
    await pp;
    const expiry = leader.kv.lessor.get(g.id)!.expiryTick;
    while (leader.node.ticks < expiry - 1) await tickAll(1);
    // The keepAlive entry is appended on the leader before the expiry tick, and commits after it.
    const last = leader.node.rawNode.raft.raftLog.lastIndex();
    const ka = new Promise<unknown>((resolve, reject) =>
      proposer.keepAlive(g.id, (err, r) => (err ? reject(err) : resolve(r))),
    );
    for (let i = 0; i < 50 && leader.node.rawNode.raft.raftLog.lastIndex() === last; i++)
      await Promise.resolve();
    expect(leader.node.rawNode.raft.raftLog.lastIndex()).toBeGreaterThan(last);
    leader.tick();
    await flush();
    const answer = await ka.then(
      () => 'renewed',
      (e: { code?: string }) => e.code ?? String(e),
    );
    let survivedTicks = 0;
    while (
      survivedTicks < ticksPerSecond &&
      (await c.get('k', { serializable: true })).count === 1
    ) {
      await tickAll(1);
      survivedTicks++;
    }
    return { answer, survivedTicks, ticksPerSecond };
  } finally {
    for (const s of servers) s.stop();
  }
}

/** expectEtcdLike: etcd answers lease-not-found, or renews so that the key lives another TTL. */
function expectEtcdLike(r: {
  answer: string;
  survivedTicks: number;
  ticksPerSecond: number;
}): void {
  if (r.answer === 'renewed') expect(r.survivedTicks).toBeGreaterThanOrEqual(r.ticksPerSecond - 1);
  else expect(r.answer).toBe('lease-not-found');
}

it(
  'a keepAlive the leader answers as successful has renewed the lease',
  { timeout: 30_000 },
  async () => {
    expectEtcdLike(await renewAtExpiry('leader'));
  },
);

it.fails(
  'a keepAlive a follower answers as successful has renewed the lease (node bug)',
  { timeout: 30_000 },
  async () => {
    expectEtcdLike(await renewAtExpiry('follower'));
  },
);
