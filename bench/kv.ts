// Benchmarks of the KV state machine (npx tsx bench/kv.ts; `node --expose-gc` makes the heap
// figures steadier). Single-threaded, in-process: what one tab's apply loop and reads cost,
// without Raft, storage or transport.
import { KvStore, prefixEnd, type KvCommand, type WatchResponse } from '../src/kv/index.js';

const enc = new TextEncoder();
const b = (s: string): Uint8Array => enc.encode(s);
const gc = (globalThis as { gc?: () => void }).gc;
const heapMiB = (): number => {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

const rows: [string, string][] = [];
const row = (name: string, value: string): void => {
  rows.push([name, value]);
};

const N = 100_000;
const value = new Uint8Array(256).fill(0x61);
const keyOf = (i: number): Uint8Array =>
  b(`key/${String(i % 100).padStart(2, '0')}/${String(i).padStart(6, '0')}`);

// 1. Apply rate: puts of 256-byte values (new keys, then overwrites).
const heap0 = heapMiB();
const store = new KvStore();
let index = 0;
let t0 = performance.now();
for (let i = 0; i < N; i++)
  store.apply({ type: 'put', request: { key: keyOf(i), value } }, { index: ++index });
let dt = performance.now() - t0;
row('put, new keys (256 B values)', `${Math.round(N / (dt / 1000)).toLocaleString('en')} ops/s`);
const heap1 = heapMiB();
row(
  'heap for 100k keys',
  `${(heap1 - heap0).toFixed(1)} MiB (usedBytes estimate ${(store.usedBytes / 2 ** 20).toFixed(1)} MiB)`,
);

t0 = performance.now();
for (let i = 0; i < N; i++)
  store.apply({ type: 'put', request: { key: keyOf(i), value } }, { index: ++index });
dt = performance.now() - t0;
row('put, overwrite (256 B values)', `${Math.round(N / (dt / 1000)).toLocaleString('en')} ops/s`);

// 2. Txns: compare on version, then two puts (a typical lock/CAS shape).
const T = 20_000;
t0 = performance.now();
for (let i = 0; i < T; i++) {
  const k = keyOf(i);
  const cmd: KvCommand = {
    type: 'txn',
    request: {
      compare: [{ key: k, target: 'VERSION', result: 'GREATER', version: 0 }],
      success: [
        { type: 'put', request: { key: k, value } },
        { type: 'put', request: { key: keyOf(i + N / 2), value } },
      ],
      failure: [{ type: 'range', request: { key: k } }],
    },
  };
  store.apply(cmd, { index: ++index });
}
dt = performance.now() - t0;
row('txn (1 compare, 2 puts)', `${Math.round(T / (dt / 1000)).toLocaleString('en')} txn/s`);

// 3. Range latency over 100k live keys, limit 100.
function rangeLatency(name: string, mk: (i: number) => Parameters<KvStore['range']>[0]): void {
  const Q = 2000;
  const times: number[] = [];
  for (let i = 0; i < Q; i++) {
    const req = mk(i);
    const s = performance.now();
    const r = store.range(req);
    times.push((performance.now() - s) * 1000);
    if (!r.ok || r.response.count === 0) throw new Error('range failed');
  }
  times.sort((x, y) => x - y);
  row(name, `p50 ${pct(times, 50).toFixed(1)} µs, p99 ${pct(times, 99).toFixed(1)} µs`);
}
const all = b('key/');
rangeLatency('range prefix of all 100k, limit 100', () => ({
  key: all,
  rangeEnd: prefixEnd(all),
  limit: 100,
}));
rangeLatency('range prefix of 1k, limit 100', (i) => {
  const p = b(`key/${String(i % 100).padStart(2, '0')}/`);
  return { key: p, rangeEnd: prefixEnd(p), limit: 100 };
});
rangeLatency('range single key', (i) => ({ key: keyOf((i * 7919) % N) }));
rangeLatency('range prefix of 1k, limit 100, past revision', (i) => {
  const p = b(`key/${String(i % 100).padStart(2, '0')}/`);
  return { key: p, rangeEnd: prefixEnd(p), limit: 100, revision: store.revision - 50_000 };
});
rangeLatency('range prefix of all 100k, count only', () => ({
  key: all,
  rangeEnd: prefixEnd(all),
  countOnly: true,
}));

// 4. Watch fan-out: 100 watchers on one prefix.
{
  let delivered = 0;
  const sink = (r: WatchResponse): void => {
    delivered += r.events.length;
  };
  const p = b('key/07/');
  const ids = [];
  for (let i = 0; i < 100; i++)
    ids.push(store.watches.watch({ key: p, rangeEnd: prefixEnd(p), prevKv: true }, sink));
  const W = 20_000;
  t0 = performance.now();
  for (let i = 0; i < W; i++) {
    store.apply(
      { type: 'put', request: { key: b(`key/07/w${i % 1000}`), value } },
      { index: ++index },
    );
  }
  dt = performance.now() - t0;
  row(
    'watch fan-out (100 watchers, prevKv)',
    `${Math.round(delivered / (dt / 1000)).toLocaleString('en')} events/s (${Math.round(W / (dt / 1000)).toLocaleString('en')} puts/s)`,
  );
  for (const id of ids) store.watches.cancel(id);
}

// 5. Snapshot and restore of 100k keys (compacted to the current revision first).
store.apply({ type: 'compact', request: { revision: store.revision } }, { index: index + 1 });
t0 = performance.now();
const snap = store.snapshot();
dt = performance.now() - t0;
row(
  'snapshot, 100k keys (compacted)',
  `${dt.toFixed(0)} ms, ${(snap.length / 2 ** 20).toFixed(1)} MiB`,
);
t0 = performance.now();
const restored = KvStore.restore(snap);
dt = performance.now() - t0;
row('restore, 100k keys', `${dt.toFixed(0)} ms`);
if (restored.status().liveKeys !== store.status().liveKeys) throw new Error('restore lost keys');

const width = Math.max(...rows.map(([n]) => n.length));
console.log(
  `KV state machine, Node ${process.version}${gc === undefined ? ' (no --expose-gc: heap figure is rough)' : ''}`,
);
for (const [n, v] of rows) console.log(`  ${n.padEnd(width)}  ${v}`);
