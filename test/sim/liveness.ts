// The liveness and convergence checks that run once the faults stop (the
// "heal"): a leader must commit a probe proposal in bounded time, and then
// every live member must apply it and converge on one state that holds
// everything any node ever applied.
import type { RaftError } from '../../src/raft/index.js';
import type { SimApp } from './app.js';
import { ViolationKind, type SafetyChecker } from './checker.js';
import type { RunProfile } from './faults.js';
import type { SimNode } from './sim-node.js';

/**
 * livenessCapTimeouts bounds, in election timeouts, how long after the heal
 * steady replication may take to commit the probe (and to converge).
 */
export const livenessCapTimeouts = 400;

/** LivenessHost is what the checks need from the world. */
export interface LivenessHost {
  now(): number;
  readonly profile: RunProfile;
  readonly checker: SafetyChecker;
  readonly stats: Record<string, number>;
  readonly app: SimApp;
  leaderNode(): SimNode | undefined;
  /** liveMembers: running members of the latest configuration. */
  liveMembers(): SimNode[];
  upNodes(): SimNode[];
  /** propose proposes at a node; settle then handles what follows (its Readys). */
  propose(n: SimNode, data: Uint8Array): RaftError | undefined;
  settle(n: SimNode): void;
  note(s: string): void;
  /** describeState: one line with every node's role, term, commit, applied, last index. */
  describeState(): string;
  describeConfig(): string;
  checkLogs(): void;
  finishWorkload(): readonly string[];
}

const dec = new TextDecoder();

/** LivenessMonitor runs the checks after the heal, one step per tick. */
export class LivenessMonitor {
  stage: 'waiting' | 'probing' | 'converging' | 'done' = 'waiting';
  private healAt = 0;
  private readonly probes = new Set<string>();
  private probeCount = 0;
  private probeAt = -1;
  private probeIndex: number | undefined;
  private deadline = 0;
  private lastCommit = -1;
  private lastLeader = '';
  private lastMatch = 0;
  private convergeDeadline = 0;
  private convergeCap = 0;
  private convergeProgress = -1;
  private readonly electionSteps: number;

  constructor(private readonly h: LivenessHost) {
    this.electionSteps = h.profile.electionTicks * h.profile.tickSteps;
  }

  /** timeouts: election timeouts a leader has to commit the probe after the heal. */
  timeouts(): number {
    // Without PreVote a voter whose log is behind keeps calling elections it
    // cannot win, resetting the others' timers; one of them wins only when
    // its randomized timeout happens to fire first (Raft thesis §9.6). That
    // is a matter of luck per round, so those runs get more rounds.
    return this.h.profile.preVote ? 20 : 60;
  }

  heal(): void {
    this.stage = 'probing';
    this.healAt = this.h.now();
    this.deadline = this.healAt + this.timeouts() * this.electionSteps;
  }

  /** onApplied notices the first index at which a probe was applied (it is committed). */
  onApplied(index: number, data: Uint8Array): void {
    if (
      this.probeIndex === undefined &&
      this.probes.size > 0 &&
      this.probes.has(dec.decode(data))
    ) {
      this.probeIndex = index;
    }
  }

  /** step runs one check; returns whether to call it again after a tick. */
  step(): boolean {
    if (this.stage === 'probing') return this.probeStep();
    if (this.stage === 'converging') return this.convergeStep();
    return false;
  }

  private probeStep(): boolean {
    const h = this.h;
    const now = h.now();
    const pi = this.probeIndex;
    if (pi !== undefined) {
      // Committed (someone applied it). Every live member applying it is
      // checked next, for as long as the laggards make progress.
      h.stats['livenessSteps'] = now - this.healAt;
      h.note(`liveness: probe committed at index ${pi} ${now - this.healAt} steps after heal`);
      this.stage = 'converging';
      this.convergeDeadline = now + 10 * this.electionSteps;
      this.convergeCap = now + livenessCapTimeouts * this.electionSteps;
      return true;
    }
    // Catching up a backlog one small message at a time may take longer than
    // any fixed bound without anything being wrong: while replication makes
    // progress, the deadline moves too (at most 10 election timeouts ahead,
    // up to livenessCapTimeouts after the heal).
    if (this.progress()) {
      this.deadline = Math.max(
        this.deadline,
        Math.min(
          now + 10 * this.electionSteps,
          this.healAt + livenessCapTimeouts * this.electionSteps,
        ),
      );
    }
    if (now > this.deadline) {
      const capped = now - this.healAt >= livenessCapTimeouts * this.electionSteps;
      const why = capped
        ? `replication still had not committed a probe ${livenessCapTimeouts} election timeouts after heal`
        : `no leader committed a probe within ${this.timeouts() * h.profile.electionTicks} ticks after heal, nor did replication progress in the last ${10 * h.profile.electionTicks} ticks`;
      h.checker.violate(
        ViolationKind.Liveness,
        now,
        `${why} (heal at t=${this.healAt}); leader ${h.leaderNode()?.id ?? 'none'}, probe index none, config ${h.describeConfig()}; nodes ${h.describeState()}`,
      );
      this.stage = 'done';
      return false;
    }
    if (this.probeAt < 0 || now - this.probeAt > 3 * this.electionSteps) {
      const lead = h.leaderNode();
      if (lead) {
        const k = ++this.probeCount;
        const data = h.app.probe(k);
        const err = h.propose(lead, data);
        h.note(`probe ${k} at ${lead.id}${err ? `: ${err.message}` : ''}`);
        if (!err) {
          this.probes.add(dec.decode(data));
          this.probeAt = now;
        }
        // Only now: a lone voter may apply the probe within its own Ready loop.
        h.settle(lead);
      }
    }
    return true;
  }

  /**
   * progress: did the highest commit index grow, or did the same leader
   * (same term) learn that followers hold more of its log, since the last
   * call? A new leader alone is not progress: leaders that keep being
   * deposed must not hold the deadline off.
   */
  private progress(): boolean {
    let progress = false;
    const commit = Math.max(0, ...this.h.upNodes().map((n) => n.rawNode.raft.raftLog.committed));
    if (commit > this.lastCommit) {
      progress = this.lastCommit >= 0;
      this.lastCommit = commit;
    }
    const lead = this.h.leaderNode();
    if (lead) {
      const r = lead.rawNode.raft;
      let sum = 0;
      r.trk.visit((_id, pr) => (sum += pr.match));
      const key = `${lead.id}/${r.term}`;
      if (key === this.lastLeader && sum > this.lastMatch) progress = true;
      this.lastLeader = key;
      this.lastMatch = sum;
    }
    return progress;
  }

  private convergeStep(): boolean {
    const h = this.h;
    const now = h.now();
    const live = h.liveMembers();
    const lead = h.leaderNode();
    const target = lead?.rawNode.raft.raftLog.committed ?? -1;
    const pi = this.probeIndex ?? 0;
    const settled =
      live.length > 0 &&
      live.every((n) => n.applied === target && n.applied >= pi) &&
      new Set(live.map((n) => n.sm.fingerprint())).size === 1;
    // Catching up may be slow (one entry per message, one in flight): wait as
    // long as the laggards make progress, up to 10 election timeouts without any.
    const progress = live.reduce((s, n) => s + n.applied, 0) + target;
    if (progress !== this.convergeProgress) {
      this.convergeProgress = progress;
      this.convergeDeadline = Math.min(now + 10 * this.electionSteps, this.convergeCap);
    }
    if (!settled && now <= this.convergeDeadline) return true;
    this.stage = 'done';
    h.checkLogs();
    if (!settled) {
      const lagging = live.filter((n) => n.applied < pi);
      const what =
        lagging.length > 0
          ? `probe at ${pi} not applied on ${lagging.map((n) => n.id).join(',')}`
          : 'live members did not converge';
      h.checker.violate(
        lagging.length > 0 ? ViolationKind.Liveness : ViolationKind.Convergence,
        now,
        `${what} (no progress for ${10 * h.profile.electionTicks} ticks): leader ${lead?.id ?? 'none'} commit ${target}; ${live.map((n) => `${n.id}: applied ${n.applied} ${n.sm.describe()}`).join('; ')}`,
      );
      return false;
    }
    h.stats['convergeSteps'] = now - this.healAt;
    // No committed entry lost: every live member holds everything any node ever applied.
    for (const n of live) {
      h.checker.onStateAt(now, n.id, n.applied, n.sm.fingerprint(), n.sm.describe(), 'final state');
      if (n.applied < h.checker.maxApplied) {
        h.checker.violate(
          ViolationKind.LostCommit,
          now,
          `${n.id} converged at applied index ${n.applied}, but ${h.checker.maxAppliedBy ?? '?'} had applied up to ${h.checker.maxApplied}`,
        );
      }
    }
    for (const msg of h.finishWorkload()) h.checker.violate(ViolationKind.Workload, now, msg);
    h.stats['finalApplied'] = live[0]?.applied ?? 0;
    h.stats['finalMembers'] = live.length;
    h.note(
      `converged: ${live.map((n) => n.id).join(',')} at applied ${live[0]?.applied ?? 0} (${live[0]?.sm.describe() ?? ''})`,
    );
    return false;
  }
}
