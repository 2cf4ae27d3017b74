// Unit tests of the leader's per-follower bookkeeping: the inflight window
// (src/raft/inflights.ts) and Progress (src/raft/progress.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AssertionError, ProgressState, logIndex } from '../../src/raft/index.js';
import { Inflights } from '../../src/raft/inflights.js';
import { Progress } from '../../src/raft/progress.js';

const li = logIndex;

describe('Inflights', () => {
  it('is full by count at sizeMsgs and frees everything ≤ an index', () => {
    const inf = new Inflights(3, 0);
    inf.add(li(1), 10);
    inf.add(li(2), 10);
    expect(inf.full()).toBe(false);
    inf.add(li(5), 10);
    expect([inf.full(), inf.count(), inf.bytes()]).toEqual([true, 3, 30]);
    expect(() => inf.add(li(6), 1)).toThrow(AssertionError);
    inf.freeLE(li(0));
    expect(inf.count()).toBe(3);
    inf.freeLE(li(4)); // frees 1 and 2: a freeLE between entries frees only those below
    expect([inf.full(), inf.count(), inf.bytes()]).toEqual([false, 1, 10]);
    inf.freeLE(li(100));
    expect([inf.count(), inf.bytes()]).toEqual([0, 0]);
  });

  it('is full by bytes once the bytes in flight reach maxBytes (one message may exceed it)', () => {
    const inf = new Inflights(100, 300);
    inf.add(li(1), 100);
    inf.add(li(2), 199);
    expect(inf.full()).toBe(false); // 299 < 300
    inf.add(li(3), 1);
    expect([inf.full(), inf.bytes()]).toEqual([true, 300]);
    inf.freeLE(li(1));
    expect([inf.full(), inf.bytes()]).toEqual([false, 200]);
    inf.add(li(4), 1000); // a single large message is allowed into a non-full window
    expect([inf.full(), inf.bytes()]).toEqual([true, 1200]);
  });

  it('refuses indexes that do not increase (a bug, not an outcome)', () => {
    const inf = new Inflights(10, 0);
    inf.add(li(5), 1);
    expect(() => inf.add(li(5), 1)).toThrow(AssertionError);
    expect(() => inf.add(li(4), 1)).toThrow(AssertionError);
    // Once freed, the order restarts from whatever comes next.
    inf.freeLE(li(5));
    inf.add(li(6), 1);
    expect(inf.count()).toBe(1);
  });

  it('stays small across many add/free cycles (backing arrays are compacted) and clones only live entries', () => {
    const inf = new Inflights(8, 0);
    let next = 1;
    for (let round = 0; round < 5000; round++) {
      while (!inf.full()) inf.add(li(next++), 1);
      inf.freeLE(li(next - 3)); // keep two in flight
      expect(inf.count()).toBe(2);
    }
    const raw = inf as unknown as { indexes: unknown[]; sizes: unknown[] };
    expect(raw.indexes.length).toBeLessThan(200);
    expect(raw.sizes.length).toBe(raw.indexes.length);
    const copy = inf.clone();
    expect([copy.count(), copy.bytes(), copy.full()]).toEqual([2, 2, false]);
    copy.freeLE(li(next));
    expect(inf.count()).toBe(2); // the clone is independent
    inf.reset();
    expect([inf.count(), inf.bytes(), inf.full()]).toEqual([0, 0, false]);
  });

  it('matches a plain list model under random adds and frees', () => {
    type Op = { kind: 'add'; gap: number; bytes: number } | { kind: 'free'; back: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('add' as const),
        gap: fc.integer({ min: 1, max: 3 }),
        bytes: fc.integer({ min: 0, max: 50 }),
      }),
      fc.record({ kind: fc.constant('free' as const), back: fc.integer({ min: -2, max: 10 }) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 120 }),
        fc.array(op, { maxLength: 300 }),
        (size, maxBytes, ops) => {
          const inf = new Inflights(size, maxBytes);
          let model: Array<{ index: number; bytes: number }> = [];
          let last = 0;
          for (const o of ops) {
            if (o.kind === 'add') {
              const modelFull =
                model.length >= size ||
                (maxBytes !== 0 && model.reduce((s, x) => s + x.bytes, 0) >= maxBytes);
              expect(inf.full()).toBe(modelFull);
              if (modelFull) continue;
              last += o.gap;
              inf.add(li(last), o.bytes);
              model.push({ index: last, bytes: o.bytes });
            } else {
              const to = last - o.back;
              inf.freeLE(li(Math.max(0, to)));
              model = model.filter((x) => x.index > to);
            }
            expect(inf.count()).toBe(model.length);
            expect(inf.bytes()).toBe(model.reduce((s, x) => s + x.bytes, 0));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

function progress(
  state: ProgressState,
  match: number,
  next: number,
  opts: { size?: number; pending?: number } = {},
): Progress {
  const p = new Progress({
    match: li(match),
    next: li(next),
    inflights: new Inflights(opts.size ?? 256, 0),
    isLearner: false,
  });
  if (state === ProgressState.Replicate) {
    p.becomeReplicate();
    p.next = li(next);
  } else if (state === ProgressState.Snapshot) {
    p.becomeSnapshot(li(opts.pending ?? 0));
  }
  return p;
}

describe('Progress', () => {
  it('state transitions reset the window and place next', () => {
    const p = progress(ProgressState.Replicate, 5, 9, { size: 2 });
    p.sentEntries(1, 10);
    p.sentEntries(1, 10);
    expect([p.inflights.count(), p.isPaused()]).toEqual([2, true]);
    p.becomeProbe();
    expect([p.state, p.next, p.inflights.count(), p.isPaused()]).toEqual([
      ProgressState.Probe,
      6,
      0,
      false,
    ]);
    p.becomeReplicate();
    expect([p.state, p.next]).toEqual([ProgressState.Replicate, 6]);
    p.becomeSnapshot(li(20));
    expect([p.state, p.pendingSnapshot, p.isPaused()]).toEqual([ProgressState.Snapshot, 20, true]);
    // Leaving the snapshot state resumes after the snapshot if that is further than match.
    p.becomeProbe();
    expect([p.state, p.next, p.pendingSnapshot]).toEqual([ProgressState.Probe, 21, 0]);
    const q = progress(ProgressState.Snapshot, 30, 31, { pending: 20 });
    q.becomeProbe();
    expect(q.next).toBe(31);
  });

  it('maybeUpdate advances match and next, never backwards, and unpauses', () => {
    const p = progress(ProgressState.Probe, 3, 4);
    p.sentEntries(1, 1);
    expect(p.isPaused()).toBe(true);
    expect(p.maybeUpdate(li(2))).toBe(false);
    expect([p.match, p.next, p.isPaused()]).toEqual([3, 4, true]);
    expect(p.maybeUpdate(li(7))).toBe(true);
    expect([p.match, p.next, p.isPaused()]).toEqual([7, 8, false]);
    p.next = li(12);
    expect(p.maybeUpdate(li(8))).toBe(true);
    expect(p.next).toBe(12);
  });

  // maybeDecrTo(rejected, hint): in replicate only a rejection above match
  // counts and next falls back to match+1; in probe only the rejection of the
  // last probe (next-1) counts and next jumps to the hint, but not below match+1.
  it.each([
    {
      state: ProgressState.Replicate,
      match: 5,
      next: 10,
      rejected: 5,
      hint: 5,
      ok: false,
      want: 10,
    },
    {
      state: ProgressState.Replicate,
      match: 5,
      next: 10,
      rejected: 4,
      hint: 4,
      ok: false,
      want: 10,
    },
    { state: ProgressState.Replicate, match: 5, next: 10, rejected: 9, hint: 9, ok: true, want: 6 },
    { state: ProgressState.Replicate, match: 5, next: 10, rejected: 9, hint: 2, ok: true, want: 6 },
    { state: ProgressState.Probe, match: 0, next: 10, rejected: 5, hint: 5, ok: false, want: 10 },
    { state: ProgressState.Probe, match: 0, next: 10, rejected: 9, hint: 9, ok: true, want: 9 },
    { state: ProgressState.Probe, match: 0, next: 10, rejected: 9, hint: 2, ok: true, want: 3 },
    { state: ProgressState.Probe, match: 0, next: 10, rejected: 9, hint: 0, ok: true, want: 1 },
    { state: ProgressState.Probe, match: 4, next: 10, rejected: 9, hint: 1, ok: true, want: 5 },
    { state: ProgressState.Probe, match: 0, next: 2, rejected: 1, hint: 1, ok: true, want: 1 },
    { state: ProgressState.Probe, match: 0, next: 1, rejected: 0, hint: 0, ok: true, want: 1 },
  ])(
    'maybeDecrTo in $state (match $match, next $next) rejected $rejected hint $hint → $ok, next $want',
    (c) => {
      const p = progress(c.state, c.match, c.next);
      if (c.state === ProgressState.Probe) p.msgAppFlowPaused = true;
      expect(p.maybeDecrTo(li(c.rejected), li(c.hint))).toBe(c.ok);
      expect(p.next).toBe(c.want);
      if (c.ok && c.state === ProgressState.Probe) expect(p.isPaused()).toBe(false);
    },
  );

  it('sentEntries: replicate streams within the window; probe pauses after a non-empty probe', () => {
    const r = progress(ProgressState.Replicate, 5, 6, { size: 2 });
    r.sentEntries(3, 30);
    expect([r.next, r.inflights.count(), r.isPaused()]).toEqual([9, 1, false]);
    r.sentEntries(0, 0); // an empty MsgApp takes no slot
    expect(r.inflights.count()).toBe(1);
    r.sentEntries(1, 10);
    expect([r.next, r.isPaused()]).toEqual([10, true]);

    const p = progress(ProgressState.Probe, 5, 6);
    p.sentEntries(0, 0);
    expect(p.isPaused()).toBe(false);
    p.sentEntries(2, 2);
    expect([p.next, p.isPaused()]).toEqual([6, true]);
  });

  it('isPaused: always in snapshot, by flag in probe and replicate', () => {
    expect(progress(ProgressState.Snapshot, 1, 2, { pending: 10 }).isPaused()).toBe(true);
    const p = progress(ProgressState.Probe, 1, 2);
    expect(p.isPaused()).toBe(false);
    p.msgAppFlowPaused = true;
    expect(p.isPaused()).toBe(true);
    expect(p.toString()).toBe('probe match=1 next=2 paused inactive');
  });

  it('clone is deep', () => {
    const p = progress(ProgressState.Replicate, 5, 6);
    p.sentEntries(1, 1);
    const c = p.clone();
    c.maybeUpdate(li(9));
    c.inflights.freeLE(li(9));
    expect([p.match, p.inflights.count()]).toEqual([5, 1]);
    expect([c.state, c.match]).toEqual([ProgressState.Replicate, 9]);
  });
});
