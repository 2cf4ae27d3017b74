// The safety checkers. The simulator reports what it observes (leaders as they
// are elected, entries as they enter a log, commits once durable, entries as
// they are applied, state fingerprints); each report is checked at once
// against everything seen before, and every violation names what, which
// nodes, which term and index.
import type { Entry, LogIndex, NodeId, Term } from '../../src/raft/index.js';

export const ViolationKind = {
  ElectionSafety: 'election-safety',
  LogMatching: 'log-matching',
  LeaderCompleteness: 'leader-completeness',
  StateMachineSafety: 'state-machine-safety',
  LostCommit: 'lost-commit',
  ReadIndex: 'read-index',
  Liveness: 'liveness',
  Convergence: 'convergence',
  /** The core threw (an AssertionError is the core detecting a broken invariant). */
  Exception: 'exception',
  Workload: 'workload',
} as const;
export type ViolationKind = (typeof ViolationKind)[keyof typeof ViolationKind];

export interface Violation {
  readonly kind: ViolationKind;
  readonly time: number;
  readonly message: string;
}

/** LogView is a read-only view of one node's log (stable and unstable). */
export interface LogView {
  readonly node: NodeId;
  /** first is the first retained entry index; first - 1 is the snapshot index. */
  readonly first: number;
  readonly last: number;
  termAt(i: number): Term | undefined;
  /** entries returns the retained entries first..last. */
  entries(): readonly Entry[];
}

interface CommitObs {
  readonly term: Term;
  /** obsTerm: the lowest term of a node that knew this index committed; leaders of terms ≥ it must hold it. */
  obsTerm: number;
  by: NodeId;
}

interface Applied {
  readonly term: Term;
  readonly key: string;
  readonly by: NodeId;
}

interface Registered {
  readonly key: string;
  readonly prevTerm: number | undefined;
  readonly by: NodeId;
}

const dec = new TextDecoder();

/** entryKey identifies an entry's content (type and payload). */
export function entryKey(e: Entry): string {
  return (e.type === 'normal' ? 'n:' : 'c:') + (e.data.length === 0 ? '' : dec.decode(e.data));
}

function show(key: string): string {
  if (key === 'n:') return '(empty)';
  return key.length > 60 ? `${key.slice(0, 57)}...` : key;
}

/** SafetyChecker accumulates observations and records violations. */
export class SafetyChecker {
  readonly violations: Violation[] = [];
  /** leaders: term → the node that became leader in it. */
  readonly leaders = new Map<number, NodeId>();
  private readonly committed: (CommitObs | undefined)[] = [];
  private committedMax = 0;
  private readonly canon: (Applied | undefined)[] = [];
  private readonly fps = new Map<number, { fp: string; by: NodeId; desc: string }>();
  private readonly registry = new Map<string, Registered>();
  /** maxObservedCommit: the highest commit index any node made visible (durable or applied). */
  maxObservedCommit = 0;
  maxObservedBy: NodeId | undefined;
  /** maxApplied: the highest index any node ever applied. */
  maxApplied = 0;
  maxAppliedBy: NodeId | undefined;
  /** limit stops recording after this many violations (the first ones explain the rest). */
  constructor(private readonly limit = 20) {}

  violate(kind: ViolationKind, time: number, message: string): void {
    if (this.violations.length < this.limit) this.violations.push({ kind, time, message });
  }

  /** Election safety: at most one leader per term (§5.2). */
  onLeader(time: number, node: NodeId, t: Term, log: LogView): void {
    const prev = this.leaders.get(t);
    if (prev !== undefined && prev !== node) {
      this.violate(
        ViolationKind.ElectionSafety,
        time,
        `two leaders in term ${t}: ${prev} and ${node}`,
      );
    } else {
      this.leaders.set(t, node);
    }
    // Leader completeness (§5.4): every entry known committed by a node of term ≤ t is in the new leader's log.
    const from = Math.max(1, log.first - 1);
    for (let i = from; i <= this.committedMax; i++) {
      const c = this.committed[i];
      if (!c || c.obsTerm > t) continue;
      const have = log.termAt(i);
      if (have !== c.term) {
        this.violate(
          ViolationKind.LeaderCompleteness,
          time,
          `leader ${node} of term ${t} lacks committed entry ${i} (term ${c.term}, known committed by ${c.by} at term ${c.obsTerm}); its log has ${have === undefined ? 'nothing' : `term ${have}`} there (log ${log.first}..${log.last})`,
        );
        return;
      }
    }
  }

  /**
   * onLogEntries: entries entered node's log (a Ready's entries), the first
   * following an entry of term prevTerm. Log matching (§5.3) holds if an
   * (index, term) pair always names the same content and the same
   * predecessor term: then equal pairs imply equal prefixes by induction.
   */
  onLogEntries(
    time: number,
    node: NodeId,
    entries: readonly Entry[],
    prevTerm: number | undefined,
  ): void {
    let pt = prevTerm;
    for (const e of entries) {
      const k = `${e.index}:${e.term}`;
      const key = entryKey(e);
      const r = this.registry.get(k);
      if (!r) {
        this.registry.set(k, { key, prevTerm: pt, by: node });
      } else if (r.key !== key) {
        this.violate(
          ViolationKind.LogMatching,
          time,
          `entry ${e.index} of term ${e.term} differs: ${r.by} has ${show(r.key)}, ${node} has ${show(key)}`,
        );
      } else if (r.prevTerm !== undefined && pt !== undefined && r.prevTerm !== pt) {
        this.violate(
          ViolationKind.LogMatching,
          time,
          `entry ${e.index} of term ${e.term} follows term ${r.prevTerm} on ${r.by} but term ${pt} on ${node}`,
        );
      }
      pt = e.term;
    }
  }

  /** checkLogs compares every pair of logs directly (log matching, §5.3). */
  checkLogs(time: number, views: readonly LogView[]): void {
    const logs = views.map((v) => ({ v, ents: v.entries() }));
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const x = logs[a]!;
        const y = logs[b]!;
        const lo = Math.max(x.v.first, y.v.first);
        const hi = Math.min(x.v.last, y.v.last);
        // Find the highest common index with equal terms; below it, all must be identical.
        let i = hi;
        for (; i >= lo; i--) {
          if (x.ents[i - x.v.first]!.term === y.ents[i - y.v.first]!.term) break;
        }
        for (; i >= lo; i--) {
          const ex = x.ents[i - x.v.first]!;
          const ey = y.ents[i - y.v.first]!;
          if (ex.term !== ey.term || entryKey(ex) !== entryKey(ey)) {
            this.violate(
              ViolationKind.LogMatching,
              time,
              `logs of ${x.v.node} and ${y.v.node} agree on a later entry but differ at ${i}: term ${ex.term} ${show(entryKey(ex))} vs term ${ey.term} ${show(entryKey(ey))}`,
            );
            return;
          }
        }
      }
    }
  }

  /** onCommitKnown: node made index known committed (durable hard state or apply) while at term obsTerm. */
  onCommitKnown(
    time: number,
    node: NodeId,
    index: LogIndex,
    entryTerm: Term | undefined,
    obsTerm: Term,
  ): void {
    if (index > this.maxObservedCommit) {
      this.maxObservedCommit = index;
      this.maxObservedBy = node;
    }
    if (entryTerm === undefined || index === 0) return;
    const c = this.committed[index];
    if (!c) {
      this.committed[index] = { term: entryTerm, obsTerm, by: node };
      if (index > this.committedMax) this.committedMax = index;
    } else if (c.term !== entryTerm) {
      this.violate(
        ViolationKind.StateMachineSafety,
        time,
        `index ${index} known committed with term ${c.term} (by ${c.by}) and with term ${entryTerm} (by ${node})`,
      );
    } else if (obsTerm < c.obsTerm) {
      c.obsTerm = obsTerm;
      c.by = node;
    }
  }

  /** onApply: node applied entry e while at term t. State machine safety (§5.4.3): one entry per index. */
  onApply(time: number, node: NodeId, e: Entry, t: Term): void {
    const key = entryKey(e);
    const a = this.canon[e.index];
    if (!a) {
      this.canon[e.index] = { term: e.term, key, by: node };
    } else if (a.term !== e.term || a.key !== key) {
      this.violate(
        ViolationKind.StateMachineSafety,
        time,
        `index ${e.index}: ${a.by} applied term ${a.term} ${show(a.key)}, ${node} applied term ${e.term} ${show(key)}`,
      );
    }
    if (e.index > this.maxApplied) {
      this.maxApplied = e.index;
      this.maxAppliedBy = node;
    }
    this.onCommitKnown(time, node, e.index, e.term, t);
  }

  /** onStateAt: node's state machine is at applied index with fingerprint fp; all nodes must agree per index. */
  onStateAt(
    time: number,
    node: NodeId,
    index: number,
    fp: string,
    desc: string,
    how: string,
  ): void {
    if (index > this.maxApplied) {
      this.maxApplied = index;
      this.maxAppliedBy = node;
    }
    const f = this.fps.get(index);
    if (!f) {
      this.fps.set(index, { fp, by: node, desc });
    } else if (f.fp !== fp) {
      this.violate(
        ViolationKind.StateMachineSafety,
        time,
        `state at applied index ${index} differs: ${f.by} has ${f.desc}, ${node} (${how}) has ${desc}`,
      );
    }
  }

  /** fingerprintAt is the recorded state fingerprint at an applied index, if any node reached it. */
  fingerprintAt(index: number): { fp: string; by: NodeId; desc: string } | undefined {
    return this.fps.get(index);
  }

  /** appliedEntry is the entry first applied at index (for reports). */
  appliedAt(index: number): { term: number; what: string; by: NodeId } | undefined {
    const a = this.canon[index];
    return a && { term: a.term, what: show(a.key), by: a.by };
  }
}
