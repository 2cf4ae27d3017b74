// KeyIndex against a plain sorted array: inserts, removals, liveness, ranges and live counts,
// across chunk splits and merges.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyIndex, isLiveEntry, type KeyEntry } from '../../src/kv/key-index.js';
import type { KeyValue } from '../../src/kv/index.js';
import { b } from './helpers.js';

const kvOf = (key: Uint8Array, version: number): KeyValue => ({
  key,
  value: new Uint8Array(0),
  createRevision: 1 as never,
  modRevision: 1 as never,
  version,
  lease: '0' as never,
});

describe('KeyIndex', () => {
  it('matches a sorted array under random operations (thousands of keys, so chunks split and merge)', () => {
    const keyArb = fc
      .integer({ min: 0, max: 3000 })
      .map((n) => String.fromCharCode(97 + (n % 7)) + n.toString(36));
    const opArb = fc.oneof(
      fc.record({ op: fc.constant('insert' as const), key: keyArb, live: fc.boolean() }),
      fc.record({ op: fc.constant('remove' as const), key: keyArb }),
      fc.record({ op: fc.constant('flip' as const), key: keyArb }),
    );
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 100, maxLength: 4000 }),
        fc.array(fc.tuple(keyArb, keyArb), { maxLength: 20 }),
        (ops, ranges) => {
          const ix = new KeyIndex();
          const model = new Map<string, KeyEntry>();
          for (const o of ops) {
            const e = model.get(o.key);
            if (o.op === 'insert' && e === undefined) {
              const n: KeyEntry = {
                key: b(o.key),
                keyStr: o.key,
                revs: [kvOf(b(o.key), o.live ? 1 : 0)],
              };
              ix.insert(n);
              model.set(o.key, n);
            } else if (o.op === 'remove' && e !== undefined) {
              if (isLiveEntry(e)) {
                e.revs.push(kvOf(e.key, 0));
                ix.adjustLive(e, -1);
              }
              ix.remove(e);
              model.delete(o.key);
            } else if (o.op === 'flip' && e !== undefined) {
              const live = isLiveEntry(e);
              e.revs.push(kvOf(e.key, live ? 0 : 1));
              ix.adjustLive(e, live ? -1 : 1);
            }
          }
          ix.checkInvariants();
          const sorted = [...model.keys()].sort();
          const all: string[] = [];
          ix.forEach((e) => void all.push(e.keyStr));
          expect(all).toEqual(sorted);
          for (const [x, y] of [...ranges, ['', '\uffff'] as [string, string]]) {
            const inRange = sorted.filter((k) => k >= x && k < y);
            const got: string[] = [];
            ix.forEachInRange(x, y, (e) => void got.push(e.keyStr));
            expect(got).toEqual(inRange);
            expect(ix.countLiveInRange(x, y)).toBe(
              inRange.filter((k) => isLiveEntry(model.get(k)!)).length,
            );
            expect(ix.countLiveInRange(x, null)).toBe(
              sorted.filter((k) => k >= x && isLiveEntry(model.get(k)!)).length,
            );
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});
