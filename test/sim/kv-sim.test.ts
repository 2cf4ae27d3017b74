// The KV workload of the deterministic simulator (test/sim/kv/): real KvServers under faults,
// checked for strict serializability (linearizable history, serializable reads), the watch
// guarantees, lease TTLs, convergence and liveness after the heal.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { checkHistory, readHistoryFile, writeHistoryFile } from '../lincheck/index.js';

import { deriveSeed } from './sim-rng.js';
import { runKvSimulation, type KvSimOptions, type KvSimResult } from './kv/world.js';

/** ciBaseSeed: the CI slice's seeds are deriveSeed(ciBaseSeed, i); a failure prints its replay. */
const ciBaseSeed = 1;
const ciRuns = 200;

function replay(o: KvSimOptions): string {
  const flags = ['--workload kv', `--nodes ${o.nodes}`];
  if (o.membership) flags.push('--membership');
  if (o.mutant) flags.push(`--mutant ${o.mutant}`);
  return `npm run sim -- ${flags.join(' ')} --seed ${o.seed}`;
}

function describeFailure(o: KvSimOptions, r: KvSimResult): string {
  const v = r.violations[0]!;
  return `seed ${r.seed}: ${v.kind} at t=${v.time}: ${v.message}\n  replay: ${replay(o)}`;
}

describe('KV simulator', () => {
  it(`CI slice: ${ciRuns} seeded runs with faults (3 and 5 nodes, a quarter with membership changes), no violation`, () => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const failures: string[] = [];
    const unknown: number[] = [];
    const totals = {
      ops: 0,
      revisions: 0,
      watchEvents: 0,
      crashes: 0,
      partitions: 0,
      confChanges: 0,
      snapshotsInstalled: 0,
      leaseExpiries: 0,
      followerKeepAlive: 0,
    };
    for (let i = 0; i < ciRuns; i++) {
      const o: KvSimOptions = {
        seed: deriveSeed(ciBaseSeed, i),
        nodes: i % 2 === 0 ? 3 : 5,
        membership: i % 4 === 3,
      };
      const r = runKvSimulation(o);
      if (r.violations.length > 0) failures.push(describeFailure(o, r));
      if (r.lincheck.verdict === 'unknown') unknown.push(r.seed);
      const s = r.stats;
      totals.ops += r.history.length;
      totals.revisions += s['revision'] ?? 0;
      totals.watchEvents += s['watchEventsChecked'] ?? 0;
      totals.crashes += (s['crashes'] ?? 0) + (s['crashesInWrite'] ?? 0);
      totals.partitions += s['partitions'] ?? 0;
      totals.confChanges += s['confChanges'] ?? 0;
      totals.snapshotsInstalled += s['snapshotsInstalled'] ?? 0;
      totals.leaseExpiries += r.history.filter((h) => h.client === 'lessor').length;
      totals.followerKeepAlive += s['knownDeviation:followerKeepAlive'] ?? 0;
    }
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `kv sim CI slice: ${ciRuns} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s (cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s); ${JSON.stringify(totals)}; ` +
        `${failures.length} violations, ${unknown.length} runs with linearizability unknown`,
    );
    expect(failures).toEqual([]);
    // A verdict of "unknown" (search budget spent) is not a pass.
    expect(unknown).toEqual([]);
    // The runs did what they are meant to: faults, snapshots, membership, lease expiry, watches.
    expect(totals.crashes).toBeGreaterThan(ciRuns);
    expect(totals.snapshotsInstalled).toBeGreaterThan(0);
    expect(totals.confChanges).toBeGreaterThan(0);
    expect(totals.leaseExpiries).toBeGreaterThan(0);
    expect(totals.watchEvents).toBeGreaterThan(ciRuns * 10);
  });

  it('a seed reproduces its run exactly', () => {
    for (const o of [
      { seed: deriveSeed(7, 0), nodes: 3 },
      { seed: deriveSeed(7, 1), nodes: 5, membership: true },
    ] satisfies KvSimOptions[]) {
      const a = runKvSimulation(o);
      const b = runKvSimulation(o);
      expect(b.traceHash).toBe(a.traceHash);
      expect(JSON.stringify(b.history)).toBe(JSON.stringify(a.history));
      expect(b.summary).toEqual(a.summary);
      const { lincheckMs: _a, ...statsA } = a.stats;
      const { lincheckMs: _b, ...statsB } = b.stats;
      expect(statsB).toEqual(statsA);
      expect(a.history.length).toBeGreaterThan(20);
      // Another seed is another run.
      expect(runKvSimulation({ ...o, seed: o.seed + 1 }).traceHash).not.toBe(a.traceHash);
    }
  });

  it('writes histories the checker reads back (--history-out)', () => {
    const r = runKvSimulation({ seed: deriveSeed(11, 0), nodes: 3 });
    const dir = mkdtempSync(path.join(tmpdir(), 'tabd-kv-history-'));
    try {
      const file = path.join(dir, `kv-${r.seed}.jsonl`);
      writeHistoryFile(file, r.history);
      const back = readHistoryFile(file);
      expect(back).toHaveLength(r.history.length);
      expect(checkHistory(back).verdict).toBe('ok');
      expect(back.some((h) => h.client === 'probe' && h.outcome === 'ok')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Why the simulated network never duplicates a forwarded proposal: Raft appends every MsgProp
  // it receives, so a duplicate is a second write (etcd-io/raft alike); the real transport (an
  // ordered, reliable data channel with no retransmission) delivers each message at most once.
  it('a duplicated forwarded proposal is applied twice, and the checker sees it', () => {
    let caught = 0;
    for (let i = 0; i < 40 && caught === 0; i++) {
      const r = runKvSimulation({ seed: deriveSeed(5, i), allowProposalDuplicates: true });
      if (r.violations.some((v) => v.kind === 'linearizability')) caught++;
    }
    expect(caught).toBeGreaterThan(0);
  });
});
