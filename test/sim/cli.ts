// The simulator's command line: `npm run sim -- [flags]` (tsx test/sim/cli.ts).
//
//   --runs N          runs to do (default 100); run i uses seed deriveSeed(base, i)
//   --base-seed B     base of the derived seeds (default 1, so CI is reproducible)
//   --seed S          replay exactly the run with seed S: print its profile, fault
//                     schedule and a summary of what happened (--verbose: every event)
//   --nodes 3|5       founding voters (default: drawn from each run's seed)
//   --membership      random membership changes (learners, promotions, removals,
//                     joint-consensus replacements, leadership transfers)
//   --known-hazards   with --membership, also explore what is known to lose liveness
//                     (README, "Known liveness hazards"): a leader removing itself, one-
//                     and two-voter configurations shrinking, no PreVote and no CheckQuorum
//   --snapshots       periodic snapshots and log compaction (followers need MsgSnap)
//   --mutant NAME     run a broken Raft: vote-twice, commit-old-term, skip-joint
//   --fault-steps N   length of the fault phase in steps (default: drawn, 1500..3000)
//   --verbose         one line per run; with --seed, the full trace
//
// Prints `violation in seed S: ...` with a replay command for every failing run
// and ends with the line `sim: <runs> runs, <violations> violations` (runs with
// at least one violation). Exit code 1 if any run had a violation.
import process from 'node:process';

import { describeFailure, runBatch } from './batch.js';
import { isMutantName, mutantNames, type MutantName } from './mutants.js';
import { runSimulation, type SimOptions } from './simulator.js';

interface CliOptions {
  runs: number;
  baseSeed: number;
  seed: number | undefined;
  nodes: number | undefined;
  membership: boolean;
  knownHazards: boolean;
  snapshots: boolean;
  mutant: MutantName | undefined;
  faultSteps: number | undefined;
  verbose: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = {
    runs: 100,
    baseSeed: 1,
    seed: undefined,
    nodes: undefined,
    membership: false,
    knownHazards: false,
    snapshots: false,
    mutant: undefined,
    faultSteps: undefined,
    verbose: false,
  };
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isSafeInteger(n) || n < min)
      throw new UsageError(`${flag} needs an integer >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--runs':
        o.runs = int(a, argv[++i], 1);
        break;
      case '--base-seed':
        o.baseSeed = int(a, argv[++i], 0) >>> 0;
        break;
      case '--seed':
        o.seed = int(a, argv[++i], 0) >>> 0;
        break;
      case '--nodes': {
        const n = int(a, argv[++i], 1);
        if (n !== 3 && n !== 5) throw new UsageError('--nodes must be 3 or 5');
        o.nodes = n;
        break;
      }
      case '--membership':
        o.membership = true;
        break;
      case '--known-hazards':
        o.knownHazards = true;
        break;
      case '--snapshots':
        o.snapshots = true;
        break;
      case '--mutant': {
        const m = argv[++i] ?? '';
        if (!isMutantName(m))
          throw new UsageError(`--mutant must be one of ${mutantNames.join(', ')}`);
        o.mutant = m;
        break;
      }
      case '--fault-steps':
        o.faultSteps = int(a, argv[++i], 1);
        break;
      case '--verbose':
        o.verbose = true;
        break;
      default:
        throw new UsageError(`unknown argument ${a}`);
    }
  }
  return o;
}

function simOptions(o: CliOptions): Omit<SimOptions, 'seed'> {
  return {
    nodes: o.nodes,
    membership: o.membership,
    knownHazards: o.knownHazards,
    snapshots: o.snapshots,
    mutant: o.mutant,
    faultSteps: o.faultSteps,
  };
}

function main(): number {
  let o: CliOptions;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`sim: ${err.message}`);
    console.error(
      'usage: npm run sim -- [--runs N] [--base-seed B | --seed S] [--nodes 3|5] [--membership [--known-hazards]] [--snapshots] [--mutant NAME] [--fault-steps N] [--verbose]',
    );
    return 2;
  }

  if (o.seed !== undefined) {
    const r = runSimulation({ ...simOptions(o), seed: o.seed, keepTrace: o.verbose });
    console.log(
      `seed ${r.seed}${o.mutant ? ` (mutant ${o.mutant})` : ''}: profile and fault schedule`,
    );
    for (const line of r.schedule) console.log(`  ${line}`);
    console.log('what happened:');
    for (const line of r.summary) console.log(`  ${line}`);
    if (r.trace) {
      console.log('trace:');
      for (const line of r.trace) console.log(`  ${line}`);
    }
    console.log(`stats: ${JSON.stringify(r.stats)}`);
    console.log(`trace hash: ${r.traceHash}`);
    for (const v of r.violations) console.log(`violation: ${v.kind} at t=${v.time}: ${v.message}`);
    if (r.violations.length > 0) console.log(describeFailure(simOptions(o), r));
    console.log(`sim: 1 runs, ${r.violations.length > 0 ? 1 : 0} violations`);
    return r.violations.length > 0 ? 1 : 0;
  }

  const b = runBatch({
    ...simOptions(o),
    baseSeed: o.baseSeed,
    runs: o.runs,
    onRun: (i, r) => {
      if (o.verbose) {
        console.log(
          `run ${i} seed ${r.seed} (${r.profile.style}, ${r.profile.nodes} nodes): ${r.violations.length === 0 ? 'ok' : r.violations[0]!.kind}, ${r.stats['elections'] ?? 0} elections, ${r.stats['crashes'] ?? 0} crashes, applied ${r.stats['maxApplied'] ?? 0}, end t=${r.stats['endTime'] ?? 0}`,
        );
      }
      if (r.violations.length > 0) console.log(describeFailure(simOptions(o), r));
    },
  });
  const kinds = Object.entries(b.kinds)
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
  const styles = Object.entries(b.styles)
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
  const t = b.totals;
  console.log(
    `(${(b.elapsedMs / 1000).toFixed(1)}s, base seed ${o.baseSeed}; styles ${styles}; ${t['elections'] ?? 0} elections, ${t['crashes'] ?? 0} crashes, ${t['partitions'] ?? 0} partitions, ${t['snapshotsInstalled'] ?? 0} snapshot installs, ${t['confChangesProposed'] ?? 0} conf changes${kinds ? `; first violation per run: ${kinds}` : ''})`,
  );
  console.log(`sim: ${o.runs} runs, ${b.failures.length} violations`);
  return b.failures.length > 0 ? 1 : 0;
}

// `--workload kv` hands every argument to the KV workload's runner (test/sim/kv/cli.ts).
const simArgv = process.argv.slice(2);
process.exitCode = simArgv.includes('--workload')
  ? (await import('./kv/cli.js')).runKvCli(simArgv)
  : main();
