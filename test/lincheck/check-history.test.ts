// Hand-made histories, each small enough to verify by reading. Every one is checked twice: with
// the revision pruning and checks (the default) and with the plain memoized search, so both
// paths are shown to accept what is linearizable and reject what is not.
import { describe, expect, it } from 'vitest';

import { checkHistory, type CheckResult } from './check-history';
import type { HistoryOp } from './history';
import {
  HistoryBuilder,
  absent,
  casMod,
  casValue,
  del,
  get,
  grant,
  kv,
  kvs,
  put,
  putLease,
  range,
  rev,
  revoke,
  seen,
  verifyWitness,
} from './testing';

const modes = [
  { name: 'pruned', pruning: true },
  { name: 'plain', pruning: false },
] as const;

function expectOk(history: readonly HistoryOp[]): void {
  for (const mode of modes) {
    const result = checkHistory(history, { pruning: mode.pruning });
    expect(result.verdict, `${mode.name}: ${result.explanation}`).toBe('ok');
    expect(verifyWitness(history, result.linearization ?? []), mode.name).toBeNull();
  }
}

function expectViolation(history: readonly HistoryOp[]): CheckResult {
  let pruned: CheckResult | undefined;
  for (const mode of modes) {
    const result = checkHistory(history, { pruning: mode.pruning });
    expect(result.verdict, `${mode.name}: expected a violation`).toBe('violation');
    expect(result.explanation).toBeTruthy();
    if (mode.pruning) pruned = result;
  }
  return pruned!;
}

describe('linearizable histories are accepted', () => {
  it('concurrent puts, in either order of their revisions', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 10, put('a', 'x'), rev(3)); // called first, took effect second
    h.ok(2, 1, 10, put('a', 'y'), rev(2));
    h.ok(3, 20, 30, get('a'), seen(3, 'x', 3, 2));
    expectOk(h.ops);
  });

  it('reads concurrent with a write may see either value', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 5, put('a', 'x'), rev(2));
    h.ok(1, 10, 30, put('a', 'y'), rev(3));
    h.ok(2, 12, 20, get('a'), seen(2, 'x', 2, 1));
    h.ok(3, 15, 25, get('a'), seen(3, 'y', 3, 2));
    h.ok(4, 16, 28, get('a'), seen(2, 'x', 2, 1)); // overlaps the read of y, so may precede it
    expectOk(h.ops);
  });

  it('cas success and failure, on modRevision and on value, including absent keys', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.ok(1, 2, 3, casMod('a', 2, 'z'), { revision: 3, succeeded: true });
    h.ok(2, 4, 5, casValue('a', 'x', 'w'), { revision: 3, succeeded: false });
    h.ok(2, 6, 7, get('a'), seen(3, 'z', 3, 2));
    h.ok(3, 8, 9, casMod('b', 0, 'q'), { revision: 4, succeeded: true });
    h.ok(3, 10, 11, casValue('c', '', 'q'), { revision: 4, succeeded: false });
    expectOk(h.ops);
  });

  it('concurrent cas: exactly one of two racing creates wins', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 10, casMod('lock', 0, 'c1'), { revision: 2, succeeded: false });
    h.ok(2, 0, 10, casMod('lock', 0, 'c2'), { revision: 2, succeeded: true });
    h.ok(3, 11, 12, get('lock'), seen(2, 'c2', 2, 1));
    expectOk(h.ops);
  });

  it('deletes: only a delete that deleted something bumps', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.ok(1, 2, 3, del('a'), { revision: 3, deleted: 1 });
    h.ok(2, 4, 5, del('a'), { revision: 3, deleted: 0 });
    h.ok(2, 6, 7, get('a'), absent(3));
    h.ok(1, 8, 9, put('a', 'y'), rev(4));
    h.ok(3, 10, 11, get('a'), { ...seen(4, 'y', 4, 1), createRevision: 4 });
    expectOk(h.ops);
  });

  it('ranges see a consistent snapshot', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', '1'), rev(2));
    h.ok(1, 2, 3, put('b', '2'), rev(3));
    h.ok(1, 4, 10, put('c', '3'), rev(4));
    h.ok(2, 5, 6, range('a', 'c'), kvs(3, kv('a', '1', 2, 1), kv('b', '2', 3, 1)));
    h.ok(3, 5, 12, range('b', '\0'), kvs(4, kv('b', '2', 3, 1), kv('c', '3', 4, 1)));
    h.ok(3, 13, 14, range('a', ''), kvs(4, kv('a', '1', 2, 1)));
    expectOk(h.ops);
  });

  it('leases: revoke deletes attached keys in one revision; an empty revoke does not bump', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, grant(7), {});
    h.ok(1, 2, 3, putLease('a', 'x', 7), rev(2));
    h.ok(1, 4, 5, putLease('b', 'y', 7), rev(3));
    h.ok(2, 6, 7, put('c', 'z'), rev(4));
    h.ok(2, 8, 9, revoke(7), rev(5));
    h.ok(3, 10, 11, range('a', '\0'), kvs(5, kv('c', 'z', 4, 1)));
    h.ok(3, 12, 13, grant(8), { revision: 5 });
    h.ok(3, 14, 15, revoke(8), rev(5));
    // A key re-put without a lease is detached: revoking its old lease leaves it.
    h.ok(1, 16, 17, grant(9), {});
    h.ok(1, 18, 19, putLease('d', 'w', 9), rev(6));
    h.ok(1, 20, 21, put('d', 'w2'), rev(7));
    h.ok(2, 22, 23, revoke(9), rev(7));
    h.ok(2, 24, 25, get('d'), seen(7, 'w2', 7, 2));
    expectOk(h.ops);
  });

  it('a lease revoke concurrent with a put on its key may go either way', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, grant(7), {});
    h.ok(1, 2, 3, putLease('a', 'x', 7), rev(2));
    h.ok(1, 4, 20, revoke(7), rev(4)); // deleted a, which the put below had attached to 7 again
    h.ok(2, 5, 15, putLease('a', 'y', 7), rev(3));
    h.ok(3, 21, 22, get('a'), absent(4));
    expectOk(h.ops);
  });
});

describe('non-linearizable histories are rejected', () => {
  it('stale read after a completed write (revision goes back)', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    const w = h.ok(1, 2, 3, put('a', 'y'), rev(3));
    const r = h.ok(2, 4, 5, get('a'), seen(2, 'x', 2, 1));
    const result = expectViolation(h.ops);
    expect(result.explanation).toContain('P6 real time');
    expect(result.unplaced).toEqual([w, r]);
  });

  it('stale read after a completed write (current revision, old value)', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    const w = h.ok(1, 2, 3, put('a', 'y'), rev(3));
    const r = h.ok(2, 4, 5, get('a'), seen(3, 'x', 2, 1));
    const result = expectViolation(h.ops);
    expect(result.explanation).toContain('P7 frozen key');
    expect(result.unplaced).toEqual([w, r]);
  });

  it('explains a violation found by the search: longest prefix, the op due, why each candidate failed', () => {
    // Without pruning the checks before the search do not run, so the search finds this one.
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.ok(1, 2, 3, put('a', 'y'), rev(3));
    h.unknown(3, 2, put('c', 'z'));
    const r = h.ok(2, 4, 5, get('a'), seen(3, 'x', 2, 1));
    const result = checkHistory(h.ops, { pruning: false });
    expect(result.verdict).toBe('violation');
    expect(result.longestPrefix).toEqual([1, 2, 3]);
    expect(result.unplaced).toEqual([r]);
    const text = result.explanation ?? '';
    expect(text).toContain('not linearizable: no order of the 4 checked operations');
    expect(text).toContain(
      'Longest linearizable prefix found: 3 operations:\n  #1 c1 [0..1] put "a"="x" → rev 2\n  #2 c1 [2..3] put "a"="y" → rev 3\n  #3 c3 [2..?] put "c"="z" → unknown\n',
    );
    expect(text).toContain(
      'Store after it: revision 4; keys: "a"="y" (mod 3 ver 2 create 2), "c"="z" (mod 4 ver 1 create 4); leases: none',
    );
    expect(text).toContain(
      `Due next: #${r} c2 [4..5] get "a" → "x" (mod 2 ver 1) @rev 3 had to take effect before it returned at 5`,
    );
    expect(text).toContain(
      `  #${r} c2 [4..5] get "a" → "x" (mod 2 ver 1) @rev 3: the model answers "y" (mod 3 ver 2 create 2) @rev 4`,
    );
  });

  it('names the read that refuses a write (early read check)', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    const w = h.ok(1, 2, 3, put('b', 'y'), rev(3));
    const r = h.ok(2, 4, 5, get('a'), absent(3));
    const result = expectViolation(h.ops);
    expect(result.longestPrefix).toEqual([1]);
    expect(result.unplaced).toEqual([w, r]);
    expect(result.explanation).toContain(
      `#${w} c1 [2..3] put "b"="y" → rev 3: then #${r} c2 [4..5] get "a" → absent (mod 0 ver 0) @rev 3, which runs at revision 3, would get "x" (mod 2 ver 1 create 2) @rev 3`,
    );
  });

  it('read of a value never written', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.ok(2, 2, 3, get('a'), seen(2, 'ghost', 2, 1));
    expect(expectViolation(h.ops).explanation).toContain('P1 never written');
  });

  it('read of a value only a failed operation wrote', () => {
    const h = new HistoryBuilder();
    h.fail(1, 0, 1, put('a', 'x'));
    h.ok(2, 2, 3, get('a'), seen(2, 'x', 2, 1));
    expect(expectViolation(h.ops).explanation).toContain('its outcome is fail');
  });

  it('two readers see two concurrent writes in opposite orders', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 100, put('a', 'x'), rev(2));
    h.ok(2, 0, 100, put('b', 'y'), rev(3));
    h.ok(3, 10, 20, get('a'), seen(2, 'x', 2, 1));
    h.ok(3, 30, 40, get('b'), absent(2));
    h.ok(4, 10, 20, get('b'), seen(3, 'y', 3, 1));
    h.ok(4, 30, 40, get('a'), absent(3));
    expectViolation(h.ops);
  });

  it('same, when the readers report no revision-ordering clue a precheck could use', () => {
    // Reader 4 sees b's write at revision 3 yet a (written at 2) absent: no order explains it.
    const h = new HistoryBuilder();
    h.ok(1, 0, 100, put('a', 'x'), rev(2));
    h.ok(2, 0, 100, put('b', 'y'), rev(3));
    h.ok(4, 10, 90, range('a', '\0'), kvs(3, kv('b', 'y', 3, 1)));
    const result = expectViolation(h.ops);
    expect(result.explanation).toContain('not linearizable: no order');
  });

  it('revision that skips', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.ok(1, 2, 3, put('a', 'y'), rev(4));
    h.ok(2, 4, 5, get('a'), seen(4, 'y', 4, 2));
    expectViolation(h.ops);
  });

  it('revision that repeats', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.ok(2, 0, 1, put('b', 'y'), rev(2));
    expect(expectViolation(h.ops).explanation).toContain('P5 one write per revision');
  });

  it('a read whose header revision is below the modRevision it reports', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.ok(2, 0, 5, get('a'), seen(1, 'x', 2, 1));
    expectViolation(h.ops);
  });

  it('lost write: an acknowledged put later missing', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.ok(1, 2, 3, put('b', 'y'), rev(3));
    h.ok(2, 4, 5, get('a'), absent(3));
    expectViolation(h.ops);
  });

  it('cas that succeeded against the wrong value', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.ok(1, 2, 3, put('a', 'y'), rev(3));
    h.ok(2, 4, 5, casValue('a', 'x', 'z'), { revision: 4, succeeded: true });
    expectViolation(h.ops);
  });

  it('cas that succeeded against the wrong modRevision', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.ok(1, 2, 3, put('a', 'y'), rev(3));
    h.ok(2, 4, 5, casMod('a', 2, 'z'), { revision: 4, succeeded: true });
    expectViolation(h.ops);
  });

  it('lease revoke that left keys', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, grant(5), {});
    h.ok(1, 2, 3, putLease('a', 'x', 5), rev(2));
    h.ok(1, 4, 5, revoke(5), rev(3));
    h.ok(2, 6, 7, get('a'), seen(3, 'x', 2, 1));
    expectViolation(h.ops);
  });

  it('lease revoke that claims no bump while a key was attached', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, grant(5), {});
    h.ok(1, 2, 3, putLease('a', 'x', 5), rev(2));
    h.ok(1, 4, 5, revoke(5), rev(2));
    expectViolation(h.ops);
  });

  it('put-with-lease on a lease never granted', () => {
    const h = new HistoryBuilder();
    h.ok(1, 2, 3, putLease('a', 'x', 5), rev(2));
    expectViolation(h.ops);
  });

  it('wrong version or createRevision', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.ok(1, 2, 3, put('a', 'y'), rev(3));
    h.ok(2, 4, 5, get('a'), seen(3, 'y', 3, 1));
    expectViolation(h.ops);
    const g = new HistoryBuilder();
    g.ok(1, 0, 1, put('a', 'x'), rev(2));
    g.ok(1, 2, 3, put('a', 'y'), rev(3));
    g.ok(2, 4, 5, get('a'), { ...seen(3, 'y', 3, 2), createRevision: 3 });
    expectViolation(g.ops);
  });
});

describe('model options', () => {
  it('initialRevision moves every revision', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(101));
    h.ok(2, 2, 3, get('a'), seen(101, 'x', 101, 1));
    expect(checkHistory(h.ops, { model: { initialRevision: 100 } }).verdict).toBe('ok');
    expect(checkHistory(h.ops).verdict).toBe('violation');
  });

  it('leaseRevokeBumpsWhenEmpty flips which empty revoke is correct', () => {
    const etcd = new HistoryBuilder();
    etcd.ok(1, 0, 1, grant(5), {});
    etcd.ok(1, 2, 3, revoke(5), rev(1));
    const bumping = new HistoryBuilder();
    bumping.ok(1, 0, 1, grant(5), {});
    bumping.ok(1, 2, 3, revoke(5), rev(2));
    for (const pruning of [true, false]) {
      expect(checkHistory(etcd.ops, { pruning }).verdict).toBe('ok');
      expect(checkHistory(bumping.ops, { pruning }).verdict).toBe('violation');
      const option = { pruning, model: { leaseRevokeBumpsWhenEmpty: true } };
      expect(checkHistory(etcd.ops, option).verdict).toBe('violation');
      expect(checkHistory(bumping.ops, option).verdict).toBe('ok');
    }
  });
});

describe('budget', () => {
  it('returns unknown, never ok, when the budget runs out', () => {
    const h = new HistoryBuilder();
    for (let i = 0; i < 20; i++) h.ok(i, 0, 100, put(`k${i}`, `v${i}`), rev(2 + i));
    const tight = checkHistory(h.ops, { timeoutSteps: 5 });
    expect(tight.verdict).toBe('unknown');
    // The full search gets the budget, and the projections onto single keys as much again.
    expect(tight.steps).toBe(10);
    expect(tight.explanation).toContain('step budget ran out after 5 steps');
    expect(tight.explanation).toContain('No projection onto one key was refuted either');
    expect(checkHistory(h.ops).verdict).toBe('ok');
  });
});
