// Indeterminate operations (timed out, connection lost): they may take effect at any time after
// their call, or never. Failed operations never take effect; serializable reads are ignored.
import { describe, expect, it } from 'vitest';

import { checkHistory } from './check-history';
import type { HistoryOp } from './history';
import {
  HistoryBuilder,
  absent,
  casMod,
  del,
  get,
  grant,
  put,
  putLease,
  rev,
  revoke,
  seen,
  staleGet,
  verifyWitness,
} from './testing';

function verdicts(history: readonly HistoryOp[]): string[] {
  return [true, false].map((pruning) => {
    const result = checkHistory(history, { pruning });
    if (result.verdict === 'ok')
      expect(verifyWitness(history, result.linearization ?? [])).toBeNull();
    return result.verdict;
  });
}

describe('unknown outcomes', () => {
  it('a timed-out put that a later read observes is accepted', () => {
    const h = new HistoryBuilder();
    const p = h.unknown(1, 0, put('a', 'x'));
    h.ok(2, 10, 20, get('a'), seen(2, 'x', 2, 1));
    expect(verdicts(h.ops)).toEqual(['ok', 'ok']);
    expect(checkHistory(h.ops).linearization).toEqual([p, 2]);
  });

  it('a timed-out put never observed is accepted', () => {
    const h = new HistoryBuilder();
    h.unknown(1, 0, put('a', 'x'));
    h.ok(2, 10, 20, get('a'), absent(1));
    h.ok(2, 30, 40, put('a', 'y'), rev(2));
    h.ok(3, 50, 60, get('a'), seen(2, 'y', 2, 1));
    expect(verdicts(h.ops)).toEqual(['ok', 'ok']);
  });

  it('a timed-out put may take effect long after its client gave up', () => {
    const h = new HistoryBuilder();
    h.unknown(1, 0, put('a', 'x'));
    h.ok(1, 5, 6, put('b', 'y'), rev(2));
    h.ok(2, 10, 20, get('a'), absent(2));
    h.ok(2, 30, 40, get('a'), seen(3, 'x', 3, 1));
    expect(verdicts(h.ops)).toEqual(['ok', 'ok']);
  });

  it('a timed-out put observed before its call is rejected', () => {
    const h = new HistoryBuilder();
    h.ok(2, 0, 5, get('a'), seen(2, 'x', 2, 1));
    h.unknown(1, 10, put('a', 'x'));
    expect(verdicts(h.ops)).toEqual(['violation', 'violation']);
    expect(checkHistory(h.ops).explanation).toContain('P6 real time');
  });

  it('a timed-out put observed at two different revisions is rejected', () => {
    const h = new HistoryBuilder();
    h.unknown(1, 0, put('a', 'x'));
    h.ok(3, 1, 2, put('b', 'y'), rev(2));
    h.ok(2, 10, 20, get('a'), seen(3, 'x', 3, 1));
    h.ok(2, 30, 40, get('a'), seen(3, 'x', 2, 1));
    expect(verdicts(h.ops)).toEqual(['violation', 'violation']);
  });

  it('an unknown write can fill a revision no acknowledged write explains', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.unknown(3, 2, put('b', 'u'));
    h.ok(1, 10, 11, put('a', 'y'), rev(4));
    h.ok(2, 12, 13, get('a'), seen(4, 'y', 4, 2));
    expect(verdicts(h.ops)).toEqual(['ok', 'ok']);
    // Without the unknown write nothing can take revision 3.
    expect(verdicts(h.ops.filter((o) => o.outcome === 'ok'))).toEqual(['violation', 'violation']);
  });

  it('the right one of several unknown writes fills a gap', () => {
    const h = new HistoryBuilder();
    h.unknown(1, 0, put('a', 'u1'));
    h.unknown(2, 0, put('a', 'u2'));
    h.unknown(3, 0, put('a', 'u3'));
    h.ok(4, 10, 11, put('b', 'x'), rev(3));
    h.ok(4, 12, 13, get('a'), seen(3, 'u3', 2, 1));
    h.ok(4, 14, 15, put('b', 'y'), rev(5));
    h.ok(4, 16, 17, get('a'), seen(5, 'u1', 4, 2));
    expect(verdicts(h.ops)).toEqual(['ok', 'ok']);
  });

  it('unknown cas, delete and lease operations may or may not have happened', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.unknown(2, 2, casMod('a', 2, 'y'));
    h.unknown(3, 2, del('a'));
    h.ok(4, 10, 11, get('a'), seen(3, 'y', 3, 2)); // the cas happened, the delete not yet
    h.unknown(5, 12, grant(7));
    h.ok(5, 20, 21, putLease('c', 'z', 7), rev(4)); // so the grant happened
    h.unknown(6, 22, revoke(7));
    h.ok(6, 30, 31, get('c'), absent(5)); // the revoke happened (deleting c at 5)
    expect(verdicts(h.ops)).toEqual(['ok', 'ok']);
  });

  it('an unknown op cannot take effect twice', () => {
    const h = new HistoryBuilder();
    h.unknown(1, 0, put('a', 'x'));
    h.ok(2, 10, 11, get('a'), seen(2, 'x', 2, 1));
    h.ok(2, 12, 13, del('a'), { revision: 3, deleted: 1 });
    h.ok(2, 14, 15, get('a'), seen(4, 'x', 4, 1));
    expect(verdicts(h.ops)).toEqual(['violation', 'violation']);
  });

  it('failed operations never take effect', () => {
    const ok = new HistoryBuilder();
    ok.fail(1, 0, 1, put('a', 'x'));
    ok.ok(2, 2, 3, get('a'), absent(1));
    expect(verdicts(ok.ops)).toEqual(['ok', 'ok']);
    const bad = new HistoryBuilder();
    bad.fail(1, 0, 1, put('a', 'x'));
    bad.ok(2, 2, 3, put('b', 'y'), rev(3));
    expect(verdicts(bad.ops)).toEqual(['violation', 'violation']);
  });

  it('serializable reads are ignored but counted; unknown reads are dropped', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.ok(2, 2, 3, staleGet('a'), seen(7, 'nonsense', 7, 7));
    h.unknown(3, 4, get('a'));
    h.fail(3, 5, 6, get('a'));
    const result = checkHistory(h.ops);
    expect(result.verdict).toBe('ok');
    expect(result.stats).toEqual({
      total: 4,
      checked: 1,
      required: 1,
      unknownWrites: 0,
      droppedFailed: 1,
      droppedUnknownReads: 1,
      ignoredSerializable: 1,
    });
  });
});
