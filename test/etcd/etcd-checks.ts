// API checks that need a real etcd: the shared client scenarios (watch, keepAlive, Election,
// Mutex; test/client/scenarios.ts, also run over LocalClient by the unit suite) and the
// cluster/maintenance calls, run over EtcdClient against one throwaway etcd member.
import assert from 'node:assert/strict';
import { EtcdClient } from '../../src/client/etcd-client.js';
import {
  electionScenario,
  keepAliveScenario,
  mutexExpiryScenario,
  mutexScenario,
  watchScenario,
} from '../client/scenarios.js';
import { startEtcd } from './etcd-process.js';

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly error?: string;
}

export async function runEtcdChecks(): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let etcd;
  try {
    etcd = await startEtcd();
  } catch (err) {
    return [{ name: 'start etcd for the API checks', ok: false, ms: 0, error: String(err) }];
  }
  const clients = [0, 1, 2].map(() => new EtcdClient({ endpoint: etcd.endpoint }));
  const c = clients[0]!;
  const checks: [string, () => Promise<void>][] = [
    [
      'status, member list and alarms over etcd',
      async () => {
        const s = await c.status();
        assert.match(s.version, /^3\.4\./);
        assert.equal(s.memberId, s.header.memberId);
        assert.equal(s.leader, s.memberId);
        assert.ok(s.raftTerm > 0 && s.raftIndex > 0 && s.dbSize > 0);
        assert.deepEqual(s.alarms, []);
        const m = await c.memberList();
        assert.equal(m.members.length, 1);
        assert.deepEqual(m.members[0]!.clientUrls, [etcd.endpoint]);
        assert.equal(m.members[0]!.id, s.memberId);
        assert.deepEqual((await c.alarmList()).alarms, []);
        assert.deepEqual((await c.alarmDisarm()).alarms, []);
      },
    ],
    [
      'watch scenario over etcd (live, resume without gaps, catch-up, compacted)',
      () => watchScenario(c, 'chk-watch/'),
    ],
    [
      'keepAlive scenario over etcd (keeps a lease, loses it after close, reports a revoked lease)',
      () => keepAliveScenario(c, 'chk-ka/', 1000),
    ],
    ['election scenario over etcd', () => electionScenario(clients, 'chk-elect', 30)],
    [
      'mutex scenario over etcd (exclusion, increasing fencing revisions)',
      () => mutexScenario(clients, 'chk-lock', 3, 3, 30),
    ],
    [
      'mutex expiry scenario over etcd (a holder whose session expires loses the lock)',
      () => mutexExpiryScenario(clients, 'chk-lock-exp', 1000),
    ],
  ];
  try {
    for (const [name, fn] of checks) {
      const t0 = Date.now();
      try {
        await fn();
        results.push({ name, ok: true, ms: Date.now() - t0 });
      } catch (err) {
        results.push({
          name,
          ok: false,
          ms: Date.now() - t0,
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        });
      }
    }
  } finally {
    await Promise.all(clients.map((x) => x.close()));
    await etcd.stop();
  }
  return results;
}
