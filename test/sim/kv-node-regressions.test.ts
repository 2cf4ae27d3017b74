// Focused regressions for bugs the KV simulator found in src/node, each reduced from a seed to a
// scripted scenario on a synchronous cluster (test/sim/kv/sync-cluster.ts).
import { describe, expect, it } from 'vitest';

import { leaseId, prefixEnd, type KvResult, type WatchResponse } from '../../src/kv/index.js';
import { nodeId } from '../../src/raft/index.js';
import { SyncCluster } from './kv/sync-cluster.js';

const enc = new TextEncoder();
const n1 = nodeId('n1');
const n2 = nodeId('n2');
const n3 = nodeId('n3');
const n4 = nodeId('n4');

function put(key: string, value: string) {
  return { type: 'put' as const, request: { key: enc.encode(key), value: enc.encode(value) } };
}

describe('KV simulator regressions (src/node)', () => {
  // Found as `wrong-answer` (a txn answered with a put's result) by
  // `npm run sim -- --workload kv --seed 365722844` before the fix.
  it('a proposal of an earlier incarnation that commits after a restart does not answer a new proposal', () => {
    const c = new SyncCluster(3);
    c.elect(n1);
    // n2 forwards a proposal to the leader, which appends it but cannot replicate it yet.
    c.cutLinks.add('n1>n2');
    c.cutLinks.add('n1>n3');
    let oldAnswer: Error | undefined;
    c.server(n2).proposeKv(put('x', 'old'), (err) => (oldAnswer = err));
    c.flush();
    expect(c.server(n1).node.status().lastIndex).toBeGreaterThan(
      c.server(n1).node.status().commitIndex,
    );
    // n2 restarts; its proposal commits only later, after n2 proposed again.
    c.stop(n2);
    expect((oldAnswer as { code?: string } | undefined)?.code).toBe('stopped');
    c.start(n2);
    // The new incarnation proposes before it hears of a leader, so its proposal is pending when
    // the old one commits and is applied.
    let answer: KvResult | undefined;
    c.server(n2).proposeKv(put('y', 'new'), (err, r) => {
      expect(err).toBeUndefined();
      answer = r;
    });
    c.cutLinks.clear();
    c.tick(5);
    expect(answer?.ok).toBe(true);
    expect(answer?.type).toBe('put');
    const y = c.server(n2).kv.range({ key: enc.encode('y') });
    expect(y.ok && y.response.kvs[0]?.modRevision).toBe(
      answer?.ok ? answer.response.header.revision : -1,
    );
  });

  // Found as `convergence` (a learner stuck at index 0) by
  // `npm run sim -- --workload kv --membership --base-seed 31 --runs 60` before the fix.
  it('a member added after the last snapshot catches up from a snapshot that names it', () => {
    const c = new SyncCluster(3, { snapshotEntries: 5, snapshotCatchUpEntries: 0 });
    c.elect(n1);
    for (let i = 0; i < 12; i++) {
      c.server(n1).proposeKv(put(`k${i}`, `v${i}`), () => {});
      c.flush();
    }
    c.tick(2);
    const leader = c.server(n1).node;
    const snapBefore = leader.status().snapshotIndex;
    expect(snapBefore).toBeGreaterThan(1); // the log before it is compacted
    c.start(n4);
    let added = false;
    leader.proposeConfChange(
      { transition: 'auto', changes: [{ type: 'add-learner', nodeId: n4 }] },
      (err) => {
        expect(err).toBeUndefined();
        added = true;
      },
    );
    c.tick(3);
    expect(added).toBe(true);
    // No snapshot has been taken since n4 joined: the stored one does not name it.
    expect(leader.status().snapshotIndex).toBe(snapBefore);
    c.tick(30);
    expect(c.server(n4).node.status().appliedIndex).toBe(leader.status().appliedIndex);
    expect(c.server(n4).kv.revision).toBe(c.server(n1).kv.revision);
  });

  // Found as `watch: cancelled without a reason` by `npm run sim -- --workload kv --seed 2831443818`
  // before the fix.
  it('a watch on a follower survives the follower installing a snapshot', () => {
    const c = new SyncCluster(3, { snapshotEntries: 5, snapshotCatchUpEntries: 0 });
    c.elect(n1);
    const got: WatchResponse[] = [];
    const id = c
      .server(n3)
      .watch({ key: enc.encode('k'), rangeEnd: prefixEnd(enc.encode('k')), prevKv: true }, (r) => {
        got.push(r);
      });
    c.cut.add(n3);
    for (let i = 0; i < 12; i++) {
      c.server(n1).proposeKv(put(`k${i}`, `v${i}`), () => {});
      c.flush();
    }
    c.tick(2);
    c.cut.delete(n3);
    const before = c.server(n3).kv;
    c.tick(30);
    expect(c.server(n3).kv).not.toBe(before); // n3 installed a snapshot
    expect(got.filter((r) => r.canceled)).toEqual([]);
    const keys = got.flatMap((r) => r.events.map((e) => new TextDecoder().decode(e.kv.key)));
    expect(keys).toEqual(Array.from({ length: 12 }, (_, i) => `k${i}`));
    expect(c.server(n3).cancelWatch(id)).toBe(true);
  });
});

describe('KV simulator regressions: keepAlive', () => {
  // Found as `lease: expired and was revoked ... but it was kept alive` by
  // `npm run sim -- --workload kv --membership --base-seed 5000 --runs 500` (seed 2081835726).
  it('a leader does not answer a keepAlive as renewed when an earlier term revoke follows it in its log', () => {
    const c = new SyncCluster(3);
    c.elect(n1);
    const L = leaseId(7);
    let granted = false;
    c.server(n1).proposeKv({ type: 'leaseGrant', request: { id: L, ttlSeconds: 1 } }, (err) => {
      expect(err).toBeUndefined();
      granted = true;
    });
    c.tick(1);
    expect(granted).toBe(true);
    c.tick(6);
    // n1 alone: the keepAlive and then, when the lease runs out on n1's clock, its revoke are
    // appended but cannot commit.
    c.cut.add(n2);
    c.cut.add(n3);
    let answer: { err?: Error; ttl?: number } | undefined;
    c.server(n1).keepAlive(L, (err, r) => (answer = { err, ttl: r?.ttlSeconds }));
    c.tick(4);
    expect(c.server(n1).node.status().lastIndex).toBeGreaterThan(
      c.server(n1).node.status().commitIndex + 1,
    );
    // n1 loses leadership (no quorum), then wins it back with n2: its new term resets the lease's
    // expiry, and the keepAlive and the old revoke commit together.
    c.tick(25);
    expect(c.server(n1).node.status().role).not.toBe('leader');
    c.cut.delete(n2);
    c.elect(n1);
    c.tick(5);
    expect(answer).toBeDefined();
    const leaseAlive = c.server(n1).kv.lessor.get(L) !== undefined;
    // Renewed means the lease lives on; else the answer must say it is gone.
    if (!leaseAlive)
      expect((answer!.err as { code?: string } | undefined)?.code).toBe('lease-not-found');
  });
});
