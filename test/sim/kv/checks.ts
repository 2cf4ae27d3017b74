// The checks run on a finished KV run's history:
// - linearizability of everything except serializable reads (test/lincheck's checkHistory,
//   revision-exact, with unknown outcomes); a verdict of "unknown" (search budget spent) is
//   reported as such, never as a pass;
// - serializable reads: each returned a committed state, no newer than the committed history at
//   its return, and exactly that state's record of the key;
// - the watch guarantees (watches.ts).
// Convergence, liveness, state machine safety and the per-index differential check of src/kv
// against the model run during the run (world.ts, oracle.ts).
import { checkHistory } from '../../lincheck/index.js';
import type { GetResult } from '../../lincheck/history.js';
import type { NodeId } from '../../../src/raft/index.js';
import type { CommittedHistory } from './oracle.js';
import type { LogicalWatch } from './watches.js';
import type { History, LeaseIds } from './workload.js';

export const KvViolationKind = {
  Linearizability: 'linearizability',
  SerializableRead: 'serializable-read',
  Watch: 'watch',
  Convergence: 'convergence',
  Liveness: 'liveness',
  StateMachineSafety: 'state-machine-safety',
  KvDivergence: 'kv-divergence',
  LostCallback: 'lost-callback',
  /** WrongAnswer: a request answered with the result of another command. */
  WrongAnswer: 'wrong-answer',
  Exception: 'exception',
  Oracle: 'oracle',
  /** Lease: a lease expired before its TTL. */
  Lease: 'lease',
} as const;
export type KvViolationKind = (typeof KvViolationKind)[keyof typeof KvViolationKind];

export interface KvViolation {
  readonly kind: KvViolationKind;
  readonly time: number;
  readonly message: string;
}

export interface LincheckSummary {
  readonly verdict: 'ok' | 'violation' | 'unknown' | 'skipped';
  readonly steps: number;
  readonly explanation?: string;
  readonly ms?: number;
}

export interface CheckInput {
  readonly history: History;
  readonly oracle: CommittedHistory;
  readonly watches: readonly LogicalWatch[];
  /** leases: what the clients did with each lease id. */
  readonly leases: LeaseIds;
  /** minStepsPerLeaseSecond: the fewest steps a lease second can take on any node (tick jitter). */
  readonly minStepsPerLeaseSecond: number;
  /** stepsPerTick: the longest a tick can take, in steps. */
  readonly maxStepsPerTick: number;
  readonly nodeRevision: (node: NodeId) => number | undefined;
  readonly lincheckSteps?: number | undefined;
  readonly stats: Record<string, number>;
}

export function runChecks(input: CheckInput): {
  violations: (Omit<KvViolation, 'time'> & { time?: number })[];
  lincheck: LincheckSummary;
} {
  const { history, oracle, stats } = input;
  const out: (Omit<KvViolation, 'time'> & { time?: number })[] = [];
  for (const g of oracle.gaps()) out.push({ kind: KvViolationKind.Oracle, message: g });
  for (const m of history.wrongAnswers) out.push({ kind: KvViolationKind.WrongAnswer, message: m });

  // Leases the leader revoked on expiry: a revoke nobody called, at some time after the grant.
  // Added as unknown-outcome revokes by the pseudo-client "lessor" (docs/history-format.md).
  for (const n of [...oracle.revokedLeases.keys()].sort((a, b) => a - b)) {
    history.addUnknown(
      'lessor',
      { type: 'lease-revoke', lease: n },
      input.leases.attempted.get(n) ?? 0,
      'lease expiry (the leader revokes)',
    );
  }

  // Leases: the TTL is a minimum, counted from the grant or the latest keepAlive answered ok
  // (the leader renews when it applies the keepAlive, after the call), whoever leads meanwhile.
  // Only leases no client tried to revoke: their removal was an expiry. One tick of slack: the
  // leader may count the tick the grant applied in.
  for (const [n, rev] of oracle.revokedLeases) {
    if (input.leases.revokeCalled.has(n)) continue;
    const ttl = input.leases.ttlSeconds.get(n);
    const granted = input.leases.attempted.get(n);
    if (ttl === undefined || granted === undefined) continue;
    const from = Math.max(granted, input.leases.keptAt.get(n) ?? 0);
    const earliest = from + ttl * input.minStepsPerLeaseSecond - input.maxStepsPerTick;
    const byFollower = input.leases.keptByFollowerAt.get(n) ?? 0;
    if (
      rev.at < byFollower + ttl * input.minStepsPerLeaseSecond - input.maxStepsPerTick &&
      rev.at >= earliest
    ) {
      stats['knownDeviation:followerKeepAlive'] =
        (stats['knownDeviation:followerKeepAlive'] ?? 0) + 1;
    }
    if (rev.at < earliest) {
      out.push({
        kind: KvViolationKind.Lease,
        time: rev.at,
        message: `lease ${n} (TTL ${ttl} s) expired and was revoked at t=${rev.at} (index ${rev.index}), but it was granted or kept alive at t=${from} and had to live until t=${earliest} at least`,
      });
    }
  }

  // Linearizability.
  const t0 = performance.now();
  const r = checkHistory(
    history.all(),
    input.lincheckSteps === undefined ? {} : { timeoutSteps: input.lincheckSteps },
  );
  const ms = Math.round(performance.now() - t0);
  stats['lincheckMs'] = ms;
  stats['lincheckSteps'] = r.steps;
  stats['lincheckRequired'] = r.stats.required;
  stats['lincheckUnknownWrites'] = r.stats.unknownWrites;
  const lincheck: LincheckSummary = {
    verdict: r.verdict,
    steps: r.steps,
    ms,
    ...(r.explanation === undefined ? {} : { explanation: r.explanation }),
  };
  if (r.verdict === 'violation') {
    out.push({
      kind: KvViolationKind.Linearizability,
      message: r.explanation ?? 'not linearizable',
    });
  }

  // Serializable reads.
  let serializable = 0;
  for (const { op, node, committedAtReturn } of history.serializableReads()) {
    serializable++;
    const res = op.result as GetResult;
    const key = op.op.type === 'get' ? op.op.key : '?';
    const where = `serializable get ${JSON.stringify(key)} #${op.id} by c${op.client} on ${node} [${op.call}..${op.return}]`;
    if (res.revision > committedAtReturn) {
      out.push({
        kind: KvViolationKind.SerializableRead,
        time: op.return ?? 0,
        message: `${where} saw revision ${res.revision}, but only ${committedAtReturn} was committed when it returned`,
      });
      continue;
    }
    const st = oracle.stateAt(res.revision);
    if (st === undefined) {
      out.push({
        kind: KvViolationKind.SerializableRead,
        time: op.return ?? 0,
        message: `${where} saw revision ${res.revision}, never committed`,
      });
      continue;
    }
    const rec = st.keys.get(key);
    const want =
      rec === undefined
        ? { value: null, modRevision: 0, version: 0, createRevision: 0 }
        : {
            value: rec.value,
            modRevision: rec.modRevision,
            version: rec.version,
            createRevision: rec.createRevision,
          };
    const got = {
      value: res.value,
      modRevision: res.modRevision,
      version: res.version,
      createRevision: res.createRevision ?? want.createRevision,
    };
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      out.push({
        kind: KvViolationKind.SerializableRead,
        time: op.return ?? 0,
        message: `${where} at revision ${res.revision} returned ${JSON.stringify(got)}; the committed state at that revision has ${JSON.stringify(want)}`,
      });
    }
  }
  stats['serializableReadsChecked'] = serializable;

  // Watches.
  for (const w of input.watches) {
    for (const m of w.check(input.nodeRevision))
      out.push({ kind: KvViolationKind.Watch, message: m });
    stats['watchEventsChecked'] = (stats['watchEventsChecked'] ?? 0) + w.eventCount;
  }
  return { violations: out, lincheck };
}
