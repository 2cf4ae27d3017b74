// Many seeded runs in a row, for the CLI and the Vitest slices: run i uses
// deriveSeed(baseSeed, i), and every failing run is reported with the exact
// command that replays it.
import { deriveSeed } from './sim-rng.js';
import { runSimulation, type SimOptions, type SimResult } from './simulator.js';

/** BatchOptions: the run options shared by every run, plus the seed range. */
export type BatchOptions = Omit<SimOptions, 'seed' | 'keepTrace'> & {
  readonly baseSeed: number;
  readonly runs: number;
  /** onRun is called after every run (progress output). */
  readonly onRun?: (i: number, r: SimResult) => void;
};

export interface BatchResult {
  readonly runs: number;
  /** failures: one line per run with a violation, with its replay command. */
  readonly failures: readonly string[];
  /** kinds counts runs by the kind of their first violation. */
  readonly kinds: Readonly<Record<string, number>>;
  /** styles counts runs by schedule style. */
  readonly styles: Readonly<Record<string, number>>;
  /** totals sums every run's statistics. */
  readonly totals: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
}

/** replayFlags are the CLI flags that, with --seed, reproduce a run of these options. */
export function replayFlags(o: Omit<SimOptions, 'seed'>): string {
  const f: string[] = [];
  if (o.nodes !== undefined) f.push(`--nodes ${o.nodes}`);
  if (o.membership) f.push('--membership');
  if (o.knownHazards) f.push('--known-hazards');
  if (o.snapshots) f.push('--snapshots');
  if (o.mutant) f.push(`--mutant ${o.mutant}`);
  if (o.faultSteps !== undefined) f.push(`--fault-steps ${o.faultSteps}`);
  return f.join(' ');
}

/** describeFailure is the report line of a run with a violation. */
export function describeFailure(o: Omit<SimOptions, 'seed'>, r: SimResult): string {
  const v = r.violations[0]!;
  const more = r.violations.length > 1 ? ` (+${r.violations.length - 1} more)` : '';
  const flags = replayFlags(o);
  return `violation in seed ${r.seed}: ${v.kind} at t=${v.time}: ${v.message}${more} (replay: npm run sim -- --seed ${r.seed}${flags ? ` ${flags}` : ''})`;
}

/** runBatch runs `runs` simulations with derived seeds. */
export function runBatch(o: BatchOptions): BatchResult {
  const started = Date.now();
  const failures: string[] = [];
  const kinds: Record<string, number> = {};
  const styles: Record<string, number> = {};
  const totals: Record<string, number> = {};
  const { baseSeed, runs, onRun, ...sim } = o;
  for (let i = 0; i < runs; i++) {
    const r = runSimulation({ ...sim, seed: deriveSeed(baseSeed, i) });
    styles[r.profile.style] = (styles[r.profile.style] ?? 0) + 1;
    for (const [k, v] of Object.entries(r.stats)) totals[k] = (totals[k] ?? 0) + v;
    if (r.violations.length > 0) {
      const k = r.violations[0]!.kind;
      kinds[k] = (kinds[k] ?? 0) + 1;
      failures.push(describeFailure(sim, r));
    }
    onRun?.(i, r);
  }
  return { runs, failures, kinds, styles, totals, elapsedMs: Date.now() - started };
}
