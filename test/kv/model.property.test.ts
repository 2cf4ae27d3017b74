// Property tests: the store against the naive model (test/kv/model.ts) on random command
// sequences — every result, ranges at every revision with every option, txns, compaction,
// leases, watches — and snapshot/restore equivalence.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KvStore,
  type KvCommand,
  type RangeRequest,
  type WatchCreateRequest,
  type WatchResponse,
} from '../../src/kv/index.js';
import { Model } from './model.js';
import { commandArb, keyArb, rangeArb, ENDS } from './arbitraries.js';

/** compactBackArb: compact k revisions below the current one (resolved when the step runs). */
const compactBackArb = fc.integer({ min: 0, max: 3 }).map((k) => ({ compactBack: k }));
import { b, s } from './helpers.js';

const RUNS = 300;

function storeResult(
  store: KvStore,
  cmd: KvCommand,
  index: number,
): { ok: true; response: unknown } | { ok: false; code: string } {
  const r = store.apply(cmd, { index });
  return r.ok ? { ok: true, response: r.response } : { ok: false, code: r.error.code };
}

function storeRange(
  store: KvStore,
  req: RangeRequest,
): { ok: true; response: unknown } | { ok: false; code: string } {
  const r = store.range(req);
  return r.ok ? { ok: true, response: r.response } : { ok: false, code: r.error.code };
}

/** Every range the model can check exhaustively at a revision: all key pairs, with options. */
function allReads(rev: number): RangeRequest[] {
  const out: RangeRequest[] = [];
  for (const end of ['', '\0', 'b', '\xff\xff']) {
    out.push({ key: b('\x00'), rangeEnd: b(end), revision: rev });
    out.push({
      key: b('a'),
      rangeEnd: b(end),
      revision: rev,
      sortTarget: 'MOD',
      sortOrder: 'DESCEND',
      limit: 2,
    });
  }
  return out;
}

describe('KvStore against the naive model', () => {
  it('applies every command like the model and answers every range like it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(commandArb, fc.array(rangeArb, { maxLength: 3 })), {
          minLength: 1,
          maxLength: 40,
        }),
        (steps) => {
          const store = new KvStore();
          const model = new Model();
          let index = 0;
          for (const [cmd, reads] of steps) {
            index++;
            const got = storeResult(store, cmd, index);
            const want = model.apply(cmd, index);
            expect(got).toEqual(want);
            for (const q of reads) expect(storeRange(store, q)).toEqual(model.range(q));
            expect(store.revision).toBe(model.rev);
          }
          // Every retained revision, read whole.
          for (let rev = Math.max(1, model.compactRev); rev <= model.rev; rev++) {
            for (const q of allReads(rev)) expect(storeRange(store, q)).toEqual(model.range(q));
          }
          store.checkInvariants();
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('restore(snapshot()) answers every read the same, applies the rest the same, and re-snapshots to the same bytes', () => {
    fc.assert(
      fc.property(
        fc.array(commandArb, { minLength: 1, maxLength: 40 }),
        fc.array(commandArb, { maxLength: 15 }),
        (before, after) => {
          const a = new KvStore();
          let index = 0;
          for (const cmd of before) a.apply(cmd, { index: ++index });
          const snap = a.snapshot();
          const r = KvStore.restore(snap);
          r.checkInvariants();
          expect(r.snapshot()).toEqual(snap);
          expect(r.status()).toEqual(a.status());
          for (let rev = -1; rev <= a.revision + 1; rev++) {
            for (const q of allReads(rev)) expect(storeRange(r, q)).toEqual(storeRange(a, q));
          }
          for (const id of ['1', '2', '-5', '9223372036854775807'] as const) {
            expect(r.leaseTimeToLive({ id: id as never, keys: true })).toEqual(
              a.leaseTimeToLive({ id: id as never, keys: true }),
            );
          }
          for (const cmd of after) {
            index++;
            expect(storeResult(r, cmd, index)).toEqual(storeResult(a, cmd, index));
          }
          expect(r.snapshot()).toEqual(a.snapshot());
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('a snapshot encoded in slices while writes and compactions go on equals snapshot() at its start', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof({ weight: 3, arbitrary: commandArb }, { weight: 1, arbitrary: compactBackArb }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.array(
          fc.tuple(
            fc.oneof({ weight: 2, arbitrary: commandArb }, { weight: 1, arbitrary: compactBackArb }),
            fc.boolean(),
          ),
          { maxLength: 30 },
        ),
        fc.integer({ min: 1, max: 3 }),
        (before, during, budget) => {
          const a = new KvStore();
          let index = 0;
          const run = (step: KvCommand | { compactBack: number }): void => {
            if (!('compactBack' in step)) {
              a.apply(step, { index: ++index });
              return;
            }
            const rev = a.revision - step.compactBack;
            if (rev > a.compactRevision && rev >= 1)
              a.apply({ type: 'compact', request: { revision: rev } } as KvCommand, { index: ++index });
          };
          for (const step of before) run(step);
          const want = a.snapshot();
          const enc = a.beginSnapshot();
          let done = false;
          for (const [step, stepNow] of during) {
            if (stepNow) done = done || enc.step(budget);
            run(step);
          }
          while (!done) done = enc.step(budget);
          expect(enc.result()).toEqual(want);
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('delivers to each watcher exactly the events the model derives, whole revisions in order', () => {
    const watchArb = fc.record({
      key: keyArb,
      rangeEnd: fc.option(fc.constantFrom(...ENDS).map(b), { nil: undefined }),
      startOffset: fc.oneof(
        fc.integer({ min: -6, max: 2 }),
        fc.constant('compact' as const),
        fc.constant('compact' as const),
      ),
      prevKv: fc.boolean(),
      noPut: fc.boolean(),
      noDelete: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.oneof(
              { weight: 4, arbitrary: commandArb },
              { weight: 1, arbitrary: compactBackArb },
            ),
            fc.option(watchArb, { nil: undefined }),
          ),
          { minLength: 1, maxLength: 40 },
        ),
        (steps) => {
          const store = new KvStore({ watchBatchMaxRevisions: 3 });
          const model = new Model();
          const watchers: {
            req: WatchCreateRequest;
            createdAt: number;
            compactAt: number;
            got: WatchResponse[];
          }[] = [];
          let index = 0;
          for (const [step, w] of steps) {
            const cmd: KvCommand =
              'compactBack' in step
                ? { type: 'compact', request: { revision: store.revision - step.compactBack } }
                : step;
            if (w !== undefined) {
              const start =
                w.startOffset === 'compact'
                  ? Math.max(0, store.compactRevision)
                  : w.startOffset === 0
                    ? 0
                    : Math.max(0, store.revision + w.startOffset);
              const req: WatchCreateRequest = {
                key: w.key,
                ...(w.rangeEnd === undefined ? {} : { rangeEnd: w.rangeEnd }),
                startRevision: start,
                prevKv: w.prevKv,
                filters: { noPut: w.noPut, noDelete: w.noDelete },
              };
              const got: WatchResponse[] = [];
              watchers.push({
                req,
                createdAt: store.revision,
                compactAt: store.compactRevision,
                got,
              });
              store.watches.watch(req, (resp) => {
                got.push(resp);
              });
            }
            index++;
            store.apply(cmd, { index });
            model.apply(cmd, index);
          }
          for (const w of watchers) {
            const [first, ...rest] = w.got;
            expect(first?.created).toBe(true);
            const key = s(w.req.key);
            const end = w.req.rangeEnd === undefined ? undefined : s(w.req.rangeEnd);
            if (end !== undefined && end !== '' && end !== '\0' && key >= end) {
              expect(first?.canceled).toBe(true);
              expect(first?.watchId).toBe(-1);
              continue;
            }
            const start = w.req.startRevision ?? 0;
            if (start > 0 && start <= w.createdAt && start < w.compactAt) {
              expect(rest).toHaveLength(1);
              expect(rest[0]).toMatchObject({
                canceled: true,
                compactRevision: w.compactAt,
                header: { revision: 0 },
              });
              continue;
            }
            for (const r of rest) {
              expect(r.events.length).toBeGreaterThan(0);
              const revs = new Set(r.events.map((e) => e.kv.modRevision));
              // Live responses carry exactly one revision, named in the header.
              if (r.header.revision > w.createdAt) expect([...revs]).toEqual([r.header.revision]);
            }
            const events = rest.flatMap((r) => r.events);
            const want = model.watchEvents(start, w.createdAt, w.compactAt, key, end, {
              prevKv: w.req.prevKv === true,
              noPut: w.req.filters?.noPut === true,
              noDelete: w.req.filters?.noDelete === true,
            });
            expect(events).toEqual(want);
          }
        },
      ),
      { numRuns: RUNS * 5 },
    );
  }, 120_000);
});
