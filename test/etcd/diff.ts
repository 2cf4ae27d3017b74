// Differential test: tabd against a real etcd (`npm run test:etcd`).
//
// For each seed, a fresh single-member etcd (Debian's /usr/bin/etcd, free ports on 127.0.0.1, a
// temporary data dir) and a fresh in-process 3-node tabd cluster receive the same seeded random
// operations, one at a time, through the same KvClient interface (EtcdClient over etcd's JSON
// gateway, LocalClient over a tabd node; which node rotates with the seed, so followers serve
// too). Every answer is compared field by field (compare.ts; exclusions point to README.md,
// "Differences from etcd"). Four watches live through the whole seed and their event streams are
// compared at the end. Then API checks that need a real etcd run (etcd-checks.ts).
//
// A difference prints the seed, the op index, the op and both answers; rerun one seed with
// `npm run test:etcd -- --seed N`. Output ends with
//   etcd-diff: <ops> ops compared, <differences> differences
//   <passed> passed, <failed> failed
// where each seed and each API check is one test. Exit code 1 if anything failed.
import { EtcdClient } from '../../src/client/etcd-client.js';
import type { KvClient } from '../../src/client/types.js';
import { startCluster, type TestCluster } from '../client/cluster.js';
import { canonical, firstDifference, type Outcome } from './compare.js';
import { runEtcdChecks } from './etcd-checks.js';
import { startEtcd, type EtcdProcess } from './etcd-process.js';
import { EDGE_OPS, OpGenerator, type DiffOp, type WatchSpec } from './ops.js';
import { Collector, runOp, revisionAfter, watchOptions } from './run-op.js';

interface Args {
  seeds: number[];
  ops: number;
  checks: boolean;
  maxPrinted: number;
}

function parseArgs(argv: readonly string[]): Args {
  let seeds = [1, 2, 3, 4, 5];
  let ops = 1100;
  let checks = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--seed' && v) {
      seeds = v.split(',').map(Number);
      i++;
    } else if (a === '--seeds' && v) {
      seeds = Array.from({ length: Number(v) }, (_, j) => j + 1);
      i++;
    } else if (a === '--ops' && v) {
      ops = Number(v);
      i++;
    } else if (a === '--no-checks') {
      checks = false;
    } else {
      throw new Error(`unknown argument ${a} (use --seed N[,M], --seeds N, --ops N, --no-checks)`);
    }
  }
  return { seeds, ops, checks, maxPrinted: 10 };
}

/** Long-lived watches of every seed: all keys with prevKv, a prefix without DELETEs, one key without PUTs, a range. */
const LONG_WATCHES: readonly WatchSpec[] = [
  { key: 'a', fromKey: true, prevKv: true },
  { key: 'a', prefix: true, noDelete: true },
  { key: 'c', noPut: true, prevKv: true },
  { key: 'b', rangeEnd: 'e' },
];

interface SeedResult {
  compared: number;
  differences: number;
  error?: string;
}

const clip = (s: string, n = 1500): string =>
  s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s;

class Reporter {
  printed = 0;
  constructor(private readonly max: number) {}
  difference(
    seed: number,
    index: number | string,
    op: unknown,
    etcd: unknown,
    tabd: unknown,
  ): void {
    this.printed++;
    if (this.printed > this.max) {
      if (this.printed === this.max + 1) console.log(`(further differences not printed)`);
      return;
    }
    console.log(`DIFFERENCE seed=${seed} op#${index} at ${firstDifference(etcd, tabd)}`);
    console.log(`  op:   ${clip(JSON.stringify(op))}`);
    console.log(`  etcd: ${clip(canonical(etcd))}`);
    console.log(`  tabd: ${clip(canonical(tabd))}`);
  }
}

/** tally counts what the ops did on etcd (op kind and outcome), to show what the run covered. */
function tally(coverage: Map<string, number>, op: DiffOp, o: Outcome): void {
  let what: string;
  if (!o.ok) what = (o.error as { code: string }).code;
  else if (op.kind === 'txn')
    what = (o.value as { succeeded?: boolean }).succeeded ? 'succeeded' : 'failed';
  else if (op.kind === 'watch') {
    const end = (o.value as { end?: { reason?: string } | string }).end;
    const events = (o.value as { events?: unknown[] }).events?.length ?? 0;
    what =
      typeof end === 'object' && end?.reason !== undefined
        ? end.reason
        : events > 0
          ? 'events'
          : 'no-events';
  } else what = 'ok';
  const k = `${op.kind}:${what}`;
  coverage.set(k, (coverage.get(k) ?? 0) + 1);
}

async function runSeed(
  seed: number,
  nOps: number,
  rep: Reporter,
  coverage: Map<string, number>,
): Promise<SeedResult> {
  const res: SeedResult = { compared: 0, differences: 0 };
  let etcd: EtcdProcess | undefined;
  let cluster: TestCluster | undefined;
  let ec: EtcdClient | undefined;
  try {
    etcd = await startEtcd();
    // minLeaseTtlSeconds 2: etcd's minimum lease TTL with its default timings (README).
    cluster = await startCluster({
      size: 3,
      // etcd raises lease TTLs below 2 s with its default timings; tabd's minimum is configured
      // to match, so grants of tiny TTLs compare (README, "Leases chosen by the server").
      kv: { minLeaseTtlSeconds: 2 },
      tickMs: 10,
      ticksPerSecond: 100,
      electionTicks: 20,
      requestTimeoutTicks: 500,
      seed,
    });
    ec = new EtcdClient({ endpoint: etcd.endpoint, requestTimeoutMs: 10_000 });
    const tc: KvClient = cluster.clients[seed % cluster.clients.length]!;
    const compare = (
      index: number | string,
      op: unknown,
      e: Outcome | unknown,
      t: Outcome | unknown,
    ): boolean => {
      res.compared++;
      if (canonical(e) === canonical(t)) return true;
      res.differences++;
      rep.difference(seed, index, op, e, t);
      return false;
    };

    const longE = LONG_WATCHES.map((w) => new Collector(ec!.watch(w.key, watchOptions(w))));
    const longT = LONG_WATCHES.map((w) => new Collector(tc.watch(w.key, watchOptions(w))));
    await Promise.all([...longE, ...longT].map((c) => c.watch.created));

    const gen = new OpGenerator(seed);
    let state = { rev: 1, compactRev: 0 };
    for (let i = 0; i < EDGE_OPS.length + nOps; i++) {
      const op: DiffOp = i < EDGE_OPS.length ? EDGE_OPS[i]! : gen.next(state);
      const e = await runOp(ec, op);
      const t = await runOp(tc, op);
      compare(i, op, e, t);
      tally(coverage, op, e);
      const rev = revisionAfter(e);
      if (rev !== undefined) state = { ...state, rev };
      if (op.kind === 'compact' && e.ok) state = { ...state, compactRev: op.revision };
    }

    // End of seed: one revision that puts a, b, c and one that deletes them, so every long-lived
    // watch has a last event to wait for; then compare the whole event streams.
    const endPut: DiffOp = {
      kind: 'txn',
      txn: {
        compare: [],
        success: ['a', 'b', 'c'].map((k) => ({ put: { key: k, value: 'end' } })),
        failure: [],
      },
    };
    const endDel: DiffOp = {
      kind: 'txn',
      txn: {
        compare: [],
        success: ['a', 'b', 'c'].map((k) => ({ delete: { key: k } })),
        failure: [],
      },
    };
    const results: [Outcome, Outcome][] = [];
    for (const op of [endPut, endDel]) {
      const pair: [Outcome, Outcome] = [await runOp(ec, op), await runOp(tc, op)];
      compare(`end-${results.length}`, op, pair[0], pair[1]);
      results.push(pair);
    }
    const r1 = revisionAfter(results[0]![0]) ?? 0;
    const r2 = revisionAfter(results[1]![0]) ?? 0;
    for (let j = 0; j < LONG_WATCHES.length; j++) {
      const spec = LONG_WATCHES[j]!;
      const target = spec.noDelete ? r1 : r2;
      const [we, wt] = [longE[j]!, longT[j]!];
      const waited = await Promise.all([we.waitFor(target, 5000), wt.waitFor(target, 5000)]);
      compare(
        `watch-${j}`,
        { longLivedWatch: spec, untilRevision: target },
        { waited: waited[0], ...(we.result(target) as object) },
        {
          waited: waited[1],
          ...(wt.result(target) as object),
        },
      );
    }
    await Promise.all([...longE, ...longT].map((c) => c.watch.cancel()));
    return res;
  } catch (err) {
    res.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    if (etcd) res.error += `\netcd log tail:\n${etcd.log().slice(-2000)}`;
    return res;
  } finally {
    await ec?.close().catch(() => {});
    await cluster?.stop().catch(() => {});
    await etcd?.stop().catch(() => {});
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // A hard bound on the whole run: a hang must fail the suite, not stall CI.
  const deadline = setTimeout(() => {
    console.log('etcd-diff: time limit (15 min) reached');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }, 15 * 60_000);
  deadline.unref();

  const rep = new Reporter(args.maxPrinted);
  const coverage = new Map<string, number>();
  let passed = 0;
  let failed = 0;
  let compared = 0;
  let differences = 0;
  for (const seed of args.seeds) {
    const t0 = Date.now();
    const r = await runSeed(seed, args.ops, rep, coverage);
    compared += r.compared;
    differences += r.differences;
    const ok = r.differences === 0 && r.error === undefined;
    if (ok) passed++;
    else failed++;
    console.log(
      `${ok ? 'PASS' : 'FAIL'} seed ${seed}: ${r.compared} ops compared, ${r.differences} differences (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
    if (r.error !== undefined) console.log(`  error: ${r.error}`);
  }
  console.log(
    `coverage (op:outcome on etcd): ${[...coverage.entries()]
      .sort()
      .map(([k, n]) => `${k}=${n}`)
      .join(' ')}`,
  );
  if (args.checks) {
    const checks = await runEtcdChecks();
    for (const c of checks) {
      console.log(
        `${c.ok ? 'PASS' : 'FAIL'} check ${c.name} (${(c.ms / 1000).toFixed(1)} s)${c.ok ? '' : `\n  ${c.error}`}`,
      );
      if (c.ok) passed++;
      else failed++;
    }
  }
  console.log(`etcd-diff: ${compared} ops compared, ${differences} differences`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
