// Property tests: histories that are linearizable by construction must pass; one mutation that
// provably breaks linearizability must be caught.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { checkHistory } from './check-history';
import { applyOp, initialState, type KeyRecord } from './etcd-model';
import type { GetResult, HistoryOp } from './history';
import { historyArb, type GenShape, type Generated } from './history-gen';
import { verifyWitness } from './testing';

const shape: GenShape = { keys: 4, leases: 2, clients: 8 };

/** The key a single-key write touches in every witness, or null (lease revoke: depends). */
function writtenKey(h: HistoryOp): string | null {
  if (h.outcome !== 'ok' || h.result === null) return null;
  switch (h.op.type) {
    case 'put':
    case 'put-with-lease':
      return h.op.key;
    case 'txn-cas':
      return (h.result as { succeeded: boolean }).succeeded ? h.op.key : null;
    case 'delete':
      return h.op.rangeEnd === undefined && (h.result as { deleted: number }).deleted > 0
        ? h.op.key
        : null;
    default:
      return null;
  }
}

/**
 * staleReadMutation finds an ok get G of key k and an ok write W of k that returned before G was
 * called, where k existed just before W (as version (v0, m0)), and makes G return (v0, m0).
 * Why that is never linearizable: W precedes G in every witness and W's after-state revision r_W
 * (its result) exceeds m0; from then on k is absent or has modRevision >= r_W, because every
 * later write gets a larger revision. So no state G can run in has k = v0 with modRevision m0.
 */
function staleReadMutation(
  g: Generated,
  pick: number,
): { history: HistoryOp[]; victim: number } | null {
  const byId = new Map(g.history.map((h) => [h.id, h]));
  // Replay the construction's witness to learn each write's before-state record of its key.
  const before = new Map<number, KeyRecord | undefined>();
  let state = initialState();
  for (const id of g.witness) {
    const h = byId.get(id);
    if (h === undefined) continue;
    const key = 'key' in h.op ? h.op.key : null;
    if (key !== null) before.set(id, state.keys.get(key));
    state = applyOp(state, h.op).state;
  }
  const options: Array<{ read: HistoryOp; old: KeyRecord }> = [];
  for (const read of g.history) {
    if (read.op.type !== 'get' || read.outcome !== 'ok' || read.op.serializable === true) continue;
    for (const w of g.history) {
      if (writtenKey(w) !== read.op.key || w.return === null || w.return >= read.call) continue;
      const old = before.get(w.id);
      if (old !== undefined) options.push({ read, old });
    }
  }
  const choice = options[pick % Math.max(1, options.length)];
  if (choice === undefined) return null;
  const { read, old } = choice;
  const result = read.result as GetResult;
  const mutated: GetResult = {
    revision: result.revision,
    value: old.value,
    modRevision: old.modRevision,
    version: old.version,
  };
  return {
    history: g.history.map((h) => (h === read ? { ...h, result: mutated } : h)),
    victim: read.id,
  };
}

function bumpsAlways(h: HistoryOp): boolean {
  return writtenKey(h) !== null;
}

/** Gives one certainly-writing ok op the revision of another: two writes cannot share one. */
function duplicateRevisionMutation(g: Generated, pick: number): HistoryOp[] | null {
  const writes = g.history.filter(bumpsAlways);
  if (writes.length < 2) return null;
  const a = writes[pick % writes.length]!;
  const b = writes[(pick + 1) % writes.length]!;
  const target = (b.result as { revision: number }).revision;
  return g.history.map((h) =>
    h === a ? { ...h, result: { ...(h.result as object), revision: target } } : h,
  );
}

/** Makes a read's header revision lower than the modRevision it reports: no state has that. */
function readBelowModMutation(g: Generated, pick: number): HistoryOp[] | null {
  const reads = g.history.filter(
    (h) =>
      h.op.type === 'get' &&
      h.outcome === 'ok' &&
      h.op.serializable !== true &&
      (h.result as GetResult).value !== null,
  );
  const read = reads[pick % Math.max(1, reads.length)];
  if (read === undefined) return null;
  const result = read.result as GetResult;
  return g.history.map((h) =>
    h === read ? { ...h, result: { ...result, revision: result.modRevision - 1 } } : h,
  );
}

describe('generated histories', () => {
  it('linearizable by construction → ok, with a valid witness (pruned and plain search agree)', () => {
    let unknowns = 0;
    fc.assert(
      fc.property(historyArb(shape, 5, 60), (g) => {
        unknowns += g.history.filter((h) => h.outcome === 'unknown').length;
        const pruned = checkHistory(g.history);
        expect(pruned.verdict, pruned.explanation).toBe('ok');
        expect(verifyWitness(g.history, pruned.linearization ?? [])).toBeNull();
        const plain = checkHistory(g.history, { pruning: false });
        expect(plain.verdict, plain.explanation).toBe('ok');
        expect(verifyWitness(g.history, plain.linearization ?? [])).toBeNull();
      }),
      { numRuns: 200, seed: 101 },
    );
    expect(unknowns).toBeGreaterThan(50); // the generator does exercise unknown outcomes
  }, 120_000);

  it('a read issued after a completed overwrite returning the older value → violation', () => {
    let mutated = 0;
    fc.assert(
      fc.property(historyArb(shape, 5, 60), fc.nat(), (g, pick) => {
        const m = staleReadMutation(g, pick);
        if (m === null) return;
        mutated++;
        const pruned = checkHistory(m.history);
        expect(pruned.verdict).toBe('violation');
        expect(pruned.unplaced).toContain(m.victim);
        expect(checkHistory(m.history, { pruning: false }).verdict).toBe('violation');
      }),
      { numRuns: 200, seed: 102 },
    );
    expect(mutated).toBeGreaterThan(100);
  }, 120_000);

  it('two writes given the same revision → violation', () => {
    let mutated = 0;
    fc.assert(
      fc.property(historyArb(shape, 5, 60), fc.nat(), (g, pick) => {
        const m = duplicateRevisionMutation(g, pick);
        if (m === null) return;
        mutated++;
        expect(checkHistory(m).verdict).toBe('violation');
        expect(checkHistory(m, { pruning: false }).verdict).toBe('violation');
      }),
      { numRuns: 200, seed: 103 },
    );
    expect(mutated).toBeGreaterThan(100);
  }, 120_000);

  it('a read whose revision is below the modRevision it saw → violation', () => {
    let mutated = 0;
    fc.assert(
      fc.property(historyArb(shape, 5, 60), fc.nat(), (g, pick) => {
        const m = readBelowModMutation(g, pick);
        if (m === null) return;
        mutated++;
        expect(checkHistory(m).verdict).toBe('violation');
        expect(checkHistory(m, { pruning: false }).verdict).toBe('violation');
      }),
      { numRuns: 200, seed: 104 },
    );
    expect(mutated).toBeGreaterThan(100);
  }, 120_000);
});
