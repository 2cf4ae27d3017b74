// Running a DiffOp through a KvClient (either backend) and normalizing its outcome.
import { compare, op as txnOp, type CompareOp } from '../../src/client/txn-builder.js';
import type { KvClient } from '../../src/client/types.js';
import type { Watch, WatchEnd } from '../../src/client/watch.js';
import type {
  Compare,
  CompareResult,
  RequestOp,
  TxnRequest,
  WatchEvent,
} from '../../src/kv/index.js';
import {
  normalizeLeases,
  normalizeTimeToLive,
  plain,
  plainError,
  plainEvent,
  type Outcome,
} from './compare.js';
import type {
  CompareSpec,
  DeleteSpec,
  DiffOp,
  GetSpec,
  PutSpec,
  RangeSel,
  TxnOpSpec,
  TxnSpec,
  WatchSpec,
} from './ops.js';

const OPR: Record<CompareResult, CompareOp> = {
  EQUAL: '=',
  NOT_EQUAL: '!=',
  GREATER: '>',
  LESS: '<',
};

function range(s: RangeSel): RangeSel {
  return {
    ...(s.prefix ? { prefix: true } : {}),
    ...(s.fromKey ? { fromKey: true } : {}),
    ...(s.rangeEnd !== undefined ? { rangeEnd: s.rangeEnd } : {}),
  };
}

const putOpts = ({ key: _k, value: _v, ...rest }: PutSpec) => rest;
const getOpts = ({ key: _k, ...rest }: GetSpec) => rest;
const deleteOpts = ({ key: _k, ...rest }: DeleteSpec) => rest;

function buildCompare(c: CompareSpec): Compare {
  const o = OPR[c.result];
  const r = range(c);
  const hasRange = Object.keys(r).length > 0 ? r : undefined;
  switch (c.target) {
    case 'VERSION':
      return compare.version(c.key, o, c.operand as number, hasRange);
    case 'CREATE':
      return compare.createRevision(c.key, o, c.operand as number, hasRange);
    case 'MOD':
      return compare.modRevision(c.key, o, c.operand as number, hasRange);
    case 'VALUE':
      return compare.value(c.key, o, c.operand as string, hasRange);
    case 'LEASE':
      return compare.lease(c.key, o, c.operand as string, hasRange);
  }
}

function buildOp(s: TxnOpSpec): RequestOp {
  if ('put' in s) return txnOp.put(s.put.key, s.put.value, putOpts(s.put));
  if ('get' in s) return txnOp.get(s.get.key, getOpts(s.get));
  if ('delete' in s) return txnOp.delete(s.delete.key, deleteOpts(s.delete));
  return { type: 'txn', request: buildTxn(s.txn) };
}

export function buildTxn(t: TxnSpec): TxnRequest {
  return {
    compare: t.compare.map(buildCompare),
    success: t.success.map(buildOp),
    failure: t.failure.map(buildOp),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Collector gathers a watch's events and its end. */
export class Collector {
  readonly events: WatchEvent[] = [];
  end: WatchEnd | undefined;
  constructor(readonly watch: Watch) {
    watch.on('events', (r) => this.events.push(...r.events));
    void watch.done.then((e) => (this.end = e));
  }

  /** waitFor waits until an event at revision >= rev arrived, the watch ended, or timeoutMs passed. */
  async waitFor(rev: number, timeoutMs: number): Promise<'ok' | 'ended' | 'timeout'> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if ((this.events.at(-1)?.kv.modRevision ?? 0) >= rev) return 'ok';
      if (this.end !== undefined) return 'ended';
      if (Date.now() > until) return 'timeout';
      await sleep(2);
    }
  }

  /** result is the comparable form: the events up to rev (flattened across responses) and the end. */
  result(rev: number): unknown {
    return {
      events: this.events.filter((e) => e.kv.modRevision <= rev).map(plainEvent),
      end: this.end === undefined ? 'live' : plainEnd(this.end),
    };
  }
}

export function plainEnd(e: WatchEnd): unknown {
  if (e.reason === 'canceled') return { reason: 'canceled' };
  if (e.reason === 'compacted') return { reason: 'compacted', compactRevision: e.compactRevision };
  return { reason: 'error', error: plainError(e.error) };
}

export function watchOptions(w: WatchSpec) {
  const { key: _k, ...rest } = w;
  return rest;
}

const WATCH_TIMEOUT_MS = 5000;

/**
 * runWatchOp creates the watch, writes the sentinel key and deletes it (both stores do the same
 * writes), then waits for the sentinel's revision (the put's when DELETE events are filtered) and
 * answers the events up to it. Exclusion (README, "watch response batching"): how events are cut
 * into responses depends on timing in etcd (its catch-up runs every 100 ms), so the events are
 * compared as one flattened sequence.
 */
async function runWatchOp(client: KvClient, op: DiffOp & { kind: 'watch' }): Promise<Outcome> {
  const w = client.watch(op.watch.key, watchOptions(op.watch));
  const c = new Collector(w);
  try {
    const first = await Promise.race([
      w.created.then(
        () => 'created' as const,
        () => 'failed' as const,
      ),
      w.done.then(() => 'ended' as const),
    ]);
    if (op.sentinel === undefined || first !== 'created') {
      // An empty range is canceled at once; wait for that end (bounded).
      await Promise.race([w.done, sleep(WATCH_TIMEOUT_MS)]);
      return {
        ok: true,
        value: { created: first === 'created', ...(c.result(Number.MAX_SAFE_INTEGER) as object) },
      };
    }
    const put = await client.put(op.sentinel, 'sentinel');
    const del = await client.delete(op.sentinel);
    const target = op.watch.noDelete ? put.header.revision : del.header.revision;
    const waited = await c.waitFor(target, WATCH_TIMEOUT_MS);
    return {
      ok: true,
      value: { put: plain(put), del: plain(del), waited, ...(c.result(target) as object) },
    };
  } catch (err) {
    return { ok: false, error: plainError(err) };
  } finally {
    await w.cancel();
  }
}

/** runOp applies op through client and answers its normalized outcome. */
export async function runOp(client: KvClient, op: DiffOp): Promise<Outcome> {
  try {
    switch (op.kind) {
      case 'put': {
        const { kind: _, ...spec } = op;
        return { ok: true, value: plain(await client.put(spec.key, spec.value, putOpts(spec))) };
      }
      case 'bigPut':
        return {
          ok: true,
          value: plain(await client.put(op.key, new Uint8Array(op.sizeBytes).fill(0x78))),
        };
      case 'get': {
        const { kind: _, ...spec } = op;
        return { ok: true, value: plain(await client.get(spec.key, getOpts(spec))) };
      }
      case 'delete': {
        const { kind: _, ...spec } = op;
        return { ok: true, value: plain(await client.delete(spec.key, deleteOpts(spec))) };
      }
      case 'txn':
        return { ok: true, value: plain(await client.txn(buildTxn(op.txn))) };
      case 'compact':
        return { ok: true, value: plain(await client.compact(op.revision)) };
      case 'grant':
        return { ok: true, value: plain(await client.grant(op.ttl, op.id)) };
      case 'revoke':
        return { ok: true, value: plain(await client.revoke(op.id)) };
      case 'timeToLive':
        return {
          ok: true,
          value: normalizeTimeToLive(await client.timeToLive(op.id, { keys: op.keys })),
        };
      case 'leases':
        return { ok: true, value: normalizeLeases(await client.leases()) };
      case 'keepAliveOnce':
        return { ok: true, value: plain(await client.keepAliveOnce(op.id)) };
      case 'watch':
        return await runWatchOp(client, op);
    }
  } catch (err) {
    return { ok: false, error: plainError(err) };
  }
}

/** revisionAfter reads the store revision an outcome reports (undefined for errors). */
export function revisionAfter(o: Outcome): number | undefined {
  if (!o.ok) return undefined;
  const v = o.value as { header?: { revision?: number }; del?: { header?: { revision?: number } } };
  return v.del?.header?.revision ?? v.header?.revision;
}
