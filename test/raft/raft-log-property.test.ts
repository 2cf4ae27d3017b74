// Property test: random sequences of leader appends, follower appends (with
// conflicts and truncation), rejected appends, persistence, commit, apply
// and compaction, run against RaftLog + MemoryStorage and against a plain
// array of entries. After every step both must agree on every index, term,
// payload, bound, slice and backtracking hint.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStorage, logIndex, term, type Entry } from '../../src/raft/index.js';
import { RaftLog } from '../../src/raft/raft-log.js';
import { dec, enc } from './harness.js';

type Op =
  | { kind: 'leaderAppend'; n: number; bump: number }
  | { kind: 'followerAppend'; at: number; n: number; commit: number }
  | { kind: 'resend'; at: number; n: number }
  | { kind: 'mismatch'; at: number }
  | { kind: 'persist' }
  | { kind: 'commit'; to: number }
  | { kind: 'apply'; to: number }
  | { kind: 'compact'; to: number };

// Positions are fractions in [0, 1] mapped onto whatever range is legal at that step.
const frac = fc.double({ min: 0, max: 1, noNaN: true });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('leaderAppend' as const),
    n: fc.integer({ min: 1, max: 4 }),
    bump: fc.integer({ min: 0, max: 1 }),
  }),
  fc.record({
    kind: fc.constant('followerAppend' as const),
    at: frac,
    n: fc.integer({ min: 1, max: 4 }),
    commit: frac,
  }),
  fc.record({ kind: fc.constant('resend' as const), at: frac, n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('mismatch' as const), at: frac }),
  fc.record({ kind: fc.constant('persist' as const) }),
  fc.record({ kind: fc.constant('commit' as const), to: frac }),
  fc.record({ kind: fc.constant('apply' as const), to: frac }),
  fc.record({ kind: fc.constant('compact' as const), to: frac }),
);

const pick = (lo: number, hi: number, f: number): number =>
  lo + Math.floor(f * (hi - lo + 0.999999));

class Model {
  /** ents[i] is the entry at index i; ents[0..first-2] are compacted (kept for terms only). */
  ents: Entry[] = [{ index: logIndex(0), term: term(0), type: 'normal', data: new Uint8Array(0) }];
  first = 1;
  committed = 0;
  applied = 0;
  stable = 0;
  maxTerm = 0;
  serial = 0;

  get last(): number {
    return this.ents.length - 1;
  }

  make(index: number, t: number): Entry {
    this.maxTerm = Math.max(this.maxTerm, t);
    return {
      index: logIndex(index),
      term: term(t),
      type: 'normal',
      data: enc(`${index}/${t}/${this.serial++}`),
    };
  }

  hint(i: number, t: number): [number, number] {
    for (let j = i; ; j--) {
      if (j < this.first - 1 || j > this.last) return [j, 0];
      if (this.ents[j]!.term <= t || j === 0) return [j, this.ents[j]!.term];
    }
  }
}

function check(l: RaftLog, m: Model): void {
  // Collect, then compare once: one expect per property keeps 10^5 checks fast.
  const bounds = [l.firstIndex(), l.lastIndex(), l.committed, l.applied];
  expect(bounds).toEqual([m.first, m.last, m.committed, m.applied]);
  const gotTerms: Array<number | undefined> = [];
  const wantTerms: Array<number | undefined> = [];
  for (let i = 0; i <= m.last + 1; i++) {
    gotTerms.push(l.termOrUndefined(logIndex(i)));
    wantTerms.push(i >= m.first - 1 && i <= m.last ? m.ents[i]!.term : undefined);
  }
  expect(gotTerms).toEqual(wantTerms);
  const got = l.slice(logIndex(m.first), logIndex(m.last + 1), Number.MAX_SAFE_INTEGER);
  expect(got.map((e) => `${e.index}:${e.term}:${dec(e.data)}`)).toEqual(
    m.ents.slice(m.first).map((e) => `${e.index}:${e.term}:${dec(e.data)}`),
  );
  // A size-limited slice is a non-empty prefix within the limit (or of one entry).
  if (m.last >= m.first) {
    const limited = l.slice(logIndex(m.first), logIndex(m.last + 1), 12);
    const bytes = limited.reduce((s, e) => s + e.data.length, 0);
    const isPrefix = limited.every((e, k) => e === got[k]);
    expect([limited.length > 0, isPrefix, limited.length === 1 || bytes <= 12]).toEqual([
      true,
      true,
      true,
    ]);
  }
  const from = Math.max(m.applied, m.first - 1);
  expect(l.nextEnts().map((e) => e.index)).toEqual(
    Array.from({ length: m.committed - from }, (_, k) => from + 1 + k),
  );
  const lastTerm = m.ents[m.last]!.term;
  const probes = [
    [m.last, lastTerm],
    [m.last + 1, lastTerm],
    [m.last - 1, lastTerm],
    [0, lastTerm + 1],
  ] as const;
  expect(probes.map(([i, t]) => l.isUpToDate(logIndex(i), term(t)))).toEqual(
    probes.map(([i, t]) => t > lastTerm || (t === lastTerm && i >= m.last)),
  );
  const ts = [...new Set([0, ...m.ents.slice(m.first - 1).map((e) => e.term), lastTerm + 1])];
  expect(ts.map((t) => l.findConflictByTerm(logIndex(m.last), term(t)))).toEqual(
    ts.map((t) => {
      const [index, tt] = m.hint(m.last, t);
      return { index, term: tt };
    }),
  );
  // The unstable tail is contiguous.
  const u = l.unstable.entries;
  expect(u.every((e, k) => e.index === l.unstable.offset + k)).toBe(true);
}

function run(ops: readonly Op[]): void {
  const storage = new MemoryStorage();
  const l = new RaftLog(storage, Number.MAX_SAFE_INTEGER);
  const m = new Model();
  for (const o of ops) {
    switch (o.kind) {
      case 'leaderAppend': {
        const t = Math.max(1, m.ents[m.last]!.term + o.bump);
        const ents = Array.from({ length: o.n }, (_, k) => m.make(m.last + 1 + k, t));
        expect(l.append(ents)).toBe(m.last + o.n);
        m.ents.push(...ents);
        break;
      }
      case 'followerAppend': {
        // New entries of a brand-new term after a matching prefix: truncates any conflict.
        const at = pick(Math.max(m.committed + 1, m.first), m.last + 1, o.at);
        const t = m.maxTerm + 1;
        const ents = Array.from({ length: o.n }, (_, k) => m.make(at + k, t));
        const lastNew = at - 1 + o.n;
        const commitArg = pick(0, lastNew + 2, o.commit);
        expect(
          l.maybeAppend(logIndex(at - 1), m.ents[at - 1]!.term, logIndex(commitArg), ents),
        ).toBe(lastNew);
        m.ents = m.ents.slice(0, at).concat(ents);
        m.stable = Math.min(m.stable, at - 1);
        m.committed = Math.max(m.committed, Math.min(commitArg, lastNew));
        break;
      }
      case 'resend': {
        // Entries the log already has: nothing changes but the answer.
        if (m.last < m.first) break;
        const at = pick(m.first, m.last, o.at);
        const ents = m.ents.slice(at, at + o.n);
        expect(l.maybeAppend(logIndex(at - 1), m.ents[at - 1]!.term, logIndex(0), ents)).toBe(
          at - 1 + ents.length,
        );
        break;
      }
      case 'mismatch': {
        const at = pick(m.first - 1, m.last + 2, o.at);
        const wrong = at <= m.last ? m.ents[at]!.term + 100 : 1;
        expect(
          l.maybeAppend(logIndex(at), term(wrong), logIndex(m.last), [m.make(at + 1, wrong)]),
        ).toBeUndefined();
        break;
      }
      case 'persist': {
        storage.append(l.unstableEntries());
        l.stableTo(logIndex(m.last), m.ents[m.last]!.term);
        m.stable = m.last;
        expect(l.unstableEntries()).toEqual([]);
        break;
      }
      case 'commit': {
        const to = pick(m.committed, m.last, o.to);
        l.commitTo(logIndex(to));
        m.committed = to;
        break;
      }
      case 'apply': {
        const to = pick(m.applied, m.committed, o.to);
        l.appliedTo(logIndex(to));
        if (to > 0) m.applied = to;
        break;
      }
      case 'compact': {
        const hi = Math.min(m.applied, m.stable);
        if (hi < m.first) break;
        const to = pick(m.first, hi, o.to);
        storage.compact(logIndex(to));
        m.first = to + 1;
        break;
      }
    }
    check(l, m);
  }
}

describe('RaftLog against an array model', () => {
  it('agrees after every step of random append/truncate/persist/commit/apply/compact sequences', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 50 }), (ops) => run(ops)),
      { numRuns: 300 },
    );
  });
});
