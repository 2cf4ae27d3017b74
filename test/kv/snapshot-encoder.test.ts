// SnapshotEncoder: a snapshot encoded in slices while the store goes on applying commands is
// the snapshot of the moment it began (the property test in model.property.test.ts covers
// random sequences; these pin the cases that need a specific order).
import { describe, expect, it } from 'vitest';
import { KvStore, type KvCommand } from '../../src/kv/index.js';
import { b } from './helpers.js';

function store() {
  const kv = new KvStore();
  let index = 0;
  const apply = (cmd: KvCommand) => {
    const r = kv.apply(cmd, { index: ++index });
    expect(r.ok).toBe(true);
  };
  return {
    kv,
    put: (k: string, v: string) => apply({ type: 'put', request: { key: b(k), value: b(v) } }),
    del: (k: string) => apply({ type: 'deleteRange', request: { key: b(k) } }),
    compact: (revision: number) => apply({ type: 'compact', request: { revision } }),
  };
}

function finish(enc: ReturnType<KvStore['beginSnapshot']>): Uint8Array {
  while (!enc.step(1));
  return enc.result();
}

describe('SnapshotEncoder', () => {
  it('keeps a version an earlier compaction kept, though a later compaction drops it mid-encoding', () => {
    const t = store();
    t.put('a', '1'); // rev 2
    t.put('b', '1'); // rev 3
    t.compact(3); // keeps a@2, older than the revision log
    const want = t.kv.snapshot();
    const enc = t.kv.beginSnapshot();
    t.put('a', '2'); // rev 4
    t.compact(4); // drops a@2
    expect(finish(enc)).toEqual(want);
  });

  it('leaves out keys created, deleted and revisions added after it began', () => {
    const t = store();
    t.put('k1', 'v');
    t.put('k2', 'v');
    const want = t.kv.snapshot();
    const enc = t.kv.beginSnapshot();
    expect(enc.step(1)).toBe(false);
    t.put('k0', 'new'); // a new key, ordered before those already encoded
    t.del('k2');
    t.put('k3', 'new');
    expect(finish(enc)).toEqual(want);
  });

  it('in one step equals snapshot()', () => {
    const t = store();
    for (let i = 0; i < 50; i++) t.put(`k${i % 7}`, `v${i}`);
    t.compact(20);
    const enc = t.kv.beginSnapshot();
    expect(enc.step(Number.POSITIVE_INFINITY)).toBe(true);
    expect(enc.result()).toEqual(t.kv.snapshot());
  });
});
