// checkHistory: validate, drop what cannot matter, look for contradictions in the revisions, then
// search for a linearization; turn a failure into text a person can act on.
import { applyOp, defaultModelOptions, type ModelOptions, type ModelState } from './etcd-model';
import { describeOp, describeResponse, describeState } from './describe';
import { validateHistory, type HistoryOp } from './history';
import { prepareHistory, type CheckedOp, type HistoryStats } from './prepare';
import { projectOnKey } from './projection';
import { analyzeRevisions, type RevisionWindow } from './revision-windows';
import { Reject, searchLinearization, type DeadEnd } from './search';

/** The step budget when none is given: about a second or two of search on this machine. */
export const defaultTimeoutSteps = 2_000_000;

export interface CheckOptions {
  /**
   * Search budget in steps (candidates tried on the model + backtracks); past it the verdict is
   * "unknown". If the full search runs out, the projections onto single keys get as much again,
   * so at most twice this many steps are taken.
   */
  readonly timeoutSteps?: number;
  /** Model choices (initial revision, lease-revoke rule); etcd's by default. */
  readonly model?: Partial<ModelOptions>;
  /**
   * Revision-guided pruning and the checks before the search (revision-windows.ts, search.ts).
   * Default true; false runs the plain memoized search, for comparison in tests.
   */
  readonly pruning?: boolean;
}

export const Verdict = {
  Ok: 'ok',
  Violation: 'violation',
  Unknown: 'unknown',
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

export interface CheckResult {
  readonly verdict: Verdict;
  /** Search steps used (0 when a contradiction was found before searching). */
  readonly steps: number;
  /** For violation and unknown: what was found, for a person. */
  readonly explanation?: string;
  readonly stats: HistoryStats;
  /** For ok: history ids of a witness, in order (ok ops and the unknown ones that took effect). */
  readonly linearization?: readonly number[];
  /** For a violation found by search, and for unknown: ids of the longest linearizable prefix. */
  readonly longestPrefix?: readonly number[];
  /** For violation: ids of the operations that could not be placed (the one due first first). */
  readonly unplaced?: readonly number[];
}

const prefixShown = 10;
const candidatesShown = 12;

function statsLine(s: HistoryStats): string {
  return (
    `${s.total} operations: ${s.required} ok and ${s.unknownWrites} unknown-outcome writes checked; ` +
    `dropped ${s.droppedFailed} failed, ${s.droppedUnknownReads} unknown-outcome reads; ` +
    `ignored ${s.ignoredSerializable} serializable reads`
  );
}

function revisionNeed(w: RevisionWindow): string {
  const pre = w.preLo === w.preHi ? `${w.preLo}` : `${w.preLo} or ${w.preHi}`;
  return `it needs the store at revision ${pre} before it and ${w.postLo} after`;
}

function reasonText(
  ops: readonly CheckedOp[],
  windows: ReadonlyArray<RevisionWindow | null>,
  end: DeadEnd,
  index: number,
  reason: Reject,
  model: ModelOptions,
): string {
  const o = ops[index];
  if (o === undefined) return '?';
  const culprit = end.culprits.get(index);
  const culpritOp = culprit === undefined ? undefined : ops[culprit];
  const victimText = culpritOp === undefined ? 'an operation pinned there' : `#${culpritOp.h.id}`;
  const after = (): ModelState => applyOp(end.state, o.h.op, model).state;
  const w = windows[index] ?? null;
  switch (reason) {
    case Reject.Window:
      return w === null
        ? 'revision window'
        : `${revisionNeed(w)}, but it is at ${end.state.revision}`;
    case Reject.Result:
      return `the model answers ${describeResponse(o.h.op, applyOp(end.state, o.h.op, model).response)}`;
    case Reject.Strands:
      return `it would raise the revision past ${end.state.revision}, the last chance of ${victimText}`;
    case Reject.NoOp:
      return 'outcome unknown, and it would change nothing here (it may still take effect later)';
    case Reject.Blocked:
      return `outcome unknown; a write now would raise the revision past ${end.state.revision}, the last chance of ${victimText}`;
    case Reject.Explored:
      return 'every way on from placing it was already explored and failed';
    case Reject.Open:
      return 'not explored yet (the step budget ran out)';
    case Reject.Frozen:
      return `it would change a key at revision ${after().revision}, where ${culpritOp === undefined ? 'an ok read' : describeOp(culpritOp.h)} saw that key unchanged`;
    case Reject.WritePin:
      return `${culpritOp === undefined ? 'a read' : describeOp(culpritOp.h)} shows that the write reaching revision ${after().revision} put another key or left another record`;
    case Reject.EarlyRead: {
      if (culpritOp === undefined)
        return 'an ok read at the revision it would reach would not get its recorded result';
      const response = applyOp(after(), culpritOp.h.op, model).response;
      return `then ${describeOp(culpritOp.h)}, which runs at revision ${after().revision}, would get ${describeResponse(culpritOp.h.op, response)}`;
    }
    case Reject.Symmetry:
      return 'an earlier-called write to another key, which has the same effect, takes this place';
    case Reject.Obligation:
      return 'an unknown lease operation was placed just before; only an operation on its lease may follow it';
  }
}

function explainDeadEnd(
  verdict: 'violation' | 'unknown',
  ops: readonly CheckedOp[],
  windows: ReadonlyArray<RevisionWindow | null>,
  end: DeadEnd,
  steps: number,
  stats: HistoryStats,
  model: ModelOptions,
): string {
  const lines: string[] = [];
  lines.push(
    verdict === 'violation'
      ? `not linearizable: no order of the ${ops.length} checked operations respects real time and etcd's semantics (${steps} steps).`
      : `unknown: the step budget ran out after ${steps} steps; nothing is proven either way.`,
  );
  const prefix = end.prefix;
  lines.push(
    `Longest linearizable prefix found: ${prefix.length} operations${prefix.length > prefixShown ? ` (the last ${prefixShown})` : ''}:`,
  );
  for (const i of prefix.slice(-prefixShown)) {
    const o = ops[i];
    if (o !== undefined) lines.push(`  ${describeOp(o.h)}`);
  }
  lines.push(`Store after it: ${describeState(end.state)}`);
  const blocked = end.blocked === null ? undefined : ops[end.blocked];
  if (blocked !== undefined) {
    lines.push(
      `Due next: ${describeOp(blocked.h)} had to take effect before it returned at ${blocked.h.return}, but no candidate could be placed:`,
    );
  } else {
    lines.push('Candidates at that point:');
  }
  const shown = end.candidates.slice(0, candidatesShown);
  for (const c of shown) {
    const o = ops[c.index];
    if (o === undefined) continue;
    lines.push(`  ${describeOp(o.h)}: ${reasonText(ops, windows, end, c.index, c.reason, model)}`);
  }
  if (end.candidates.length > shown.length)
    lines.push(`  … ${end.candidates.length - shown.length} more`);
  lines.push(`(${statsLine(stats)})`);
  return lines.join('\n');
}

/** Checks a validated history (or a projection of one) once: checks before search, then search. */
function checkOnce(
  history: readonly HistoryOp[],
  model: ModelOptions,
  pruning: boolean,
  stepBudget: number,
): CheckResult {
  const { ops, failed, stats } = prepareHistory(history);
  const analysis = pruning
    ? analyzeRevisions(ops, failed, model)
    : {
        writePins: new Map(),
        frozen: new Map(),
        windows: ops.map(() => null),
        maxRevision: model.initialRevision,
        violation: null,
      };
  if (analysis.violation !== null) {
    return {
      verdict: Verdict.Violation,
      steps: 0,
      explanation: `not linearizable (found before searching): ${analysis.violation.message}\n(${statsLine(stats)})`,
      stats,
      unplaced: analysis.violation.ops,
    };
  }
  const outcome = searchLinearization(ops, analysis, { model, stepBudget, pruning });
  const ids = (indices: readonly number[]): number[] => indices.map((i) => ops[i]?.h.id ?? -1);
  if (outcome.verdict === 'ok') {
    return {
      verdict: Verdict.Ok,
      steps: outcome.steps,
      stats,
      linearization: ids(outcome.linearization),
    };
  }
  const end = outcome.deadEnd;
  // The operation due first, then the other ok candidates, then the ok reads that refused them.
  const unplaced: number[] = [];
  const note = (i: number | null | undefined): void => {
    if (i !== null && i !== undefined && ops[i]?.required === true && !unplaced.includes(i))
      unplaced.push(i);
  };
  note(end.blocked);
  for (const c of end.candidates) note(c.index);
  for (const c of end.candidates) note(end.culprits.get(c.index));
  return {
    verdict: outcome.verdict,
    steps: outcome.steps,
    explanation: explainDeadEnd(
      outcome.verdict,
      ops,
      analysis.windows,
      end,
      outcome.steps,
      stats,
      model,
    ),
    stats,
    longestPrefix: ids(end.prefix),
    unplaced: ids(unplaced),
  };
}

/** Keys to project onto: those of the operations the search got stuck on, then the busiest. */
function keysToProject(history: readonly HistoryOp[], stuck: readonly number[]): string[] {
  const count = new Map<string, number>();
  const keyOf = (h: HistoryOp): string | null => ('key' in h.op ? h.op.key : null);
  for (const h of history) {
    const k = keyOf(h);
    if (k !== null) count.set(k, (count.get(k) ?? 0) + 1);
    if (h.op.type === 'range' && h.result !== null) {
      for (const kv of (h.result as { kvs: ReadonlyArray<{ key: string }> }).kvs) {
        if (!count.has(kv.key)) count.set(kv.key, 0);
      }
    }
  }
  const byId = new Map(history.map((h) => [h.id, h]));
  const first = stuck.map((id) => byId.get(id)).flatMap((h) => (h === undefined ? [] : [keyOf(h)]));
  const rest = [...count.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k]) => k);
  return [...new Set([...first, ...rest].filter((k): k is string => k !== null))];
}

/**
 * checkProjection checks the projection of a history onto one key (projection.ts); null when
 * the projection does not handle that key. Its "violation" is a violation of the history; its
 * "ok" says nothing about the history. Exported for tests.
 */
export function checkProjection(
  history: readonly HistoryOp[],
  key: string,
  options: CheckOptions = {},
): CheckResult | null {
  const model: ModelOptions = { ...defaultModelOptions, ...options.model };
  const projected = projectOnKey(validateHistory(history), key, model);
  if (projected === null) return null;
  return checkOnce(projected, model, true, options.timeoutSteps ?? defaultTimeoutSteps);
}

/**
 * checkHistory decides whether a history of etcd-style operations is linearizable, with
 * revision-exact results and indeterminate operations (docs/history-format.md). It throws
 * HistoryFormatError on a malformed history. "ok" comes with a witness; "unknown" means the step
 * budget ran out.
 *
 * When the full search runs out of budget (with pruning on), the history's projections onto
 * single keys (projection.ts) are checked, sharing a second budget of the same size; a projection
 * without a witness proves the violation.
 */
export function checkHistory(
  history: readonly HistoryOp[],
  options: CheckOptions = {},
): CheckResult {
  const model: ModelOptions = { ...defaultModelOptions, ...options.model };
  const pruning = options.pruning ?? true;
  const stepBudget = options.timeoutSteps ?? defaultTimeoutSteps;
  const validated = validateHistory(history);
  const full = checkOnce(validated, model, pruning, stepBudget);
  if (full.verdict !== Verdict.Unknown || !pruning) return full;
  let spent = 0;
  let tried = 0;
  for (const key of keysToProject(validated, full.unplaced ?? [])) {
    if (spent >= stepBudget) break;
    const projected = projectOnKey(validated, key, model);
    if (projected === null) continue;
    tried++;
    const result = checkOnce(projected, model, true, stepBudget - spent);
    spent += result.steps;
    if (result.verdict === Verdict.Violation) {
      return {
        verdict: Verdict.Violation,
        steps: full.steps + spent,
        explanation:
          `not linearizable: proven on the history projected onto key ${JSON.stringify(key)} ` +
          `(writes to other keys seen only as revision bumps), after the full search ran out of ` +
          `budget (${full.steps} steps).\n${result.explanation ?? ''}`,
        stats: full.stats,
        ...(result.longestPrefix === undefined ? {} : { longestPrefix: result.longestPrefix }),
        ...(result.unplaced === undefined ? {} : { unplaced: result.unplaced }),
      };
    }
  }
  return {
    ...full,
    steps: full.steps + spent,
    explanation: `${full.explanation ?? ''}\nNo projection onto one key was refuted either (${tried} keys tried, ${spent} steps).`,
  };
}
