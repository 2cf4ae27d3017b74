// Space quota (etcd's NOSPACE alarm).
//
// etcd compares the bbolt file size plus a request's cost with --quota-backend-bytes. A tab has
// no file whose size means anything, so the store keeps an estimate of the bytes it holds:
//
//   usedBytes = Σ over retained versions and tombstones (KV_OVERHEAD_BYTES + key bytes + value bytes)
//             + Σ over leases LEASE_OVERHEAD_BYTES
//
// with etcd's own per-item estimates (kvOverhead 256, leaseOverhead 64). It is an estimate of
// data, not of memory: bench/kv.ts measured the JS heap at about 2.3 times usedBytes (record
// objects, Uint8Array headers, index and log slots), which config.ts's default quota allows
// for. A request is admitted when
// usedBytes + cost(request) < quotaBytes, etcd's test; cost is etcd's (a put costs
// KV_OVERHEAD_BYTES + key + value, a txn the dearer of its two branches, a grant
// LEASE_OVERHEAD_BYTES), so an admitted write never takes usedBytes to quotaBytes. Deletions
// are always admitted (their tombstones may push usedBytes past the quota, as in etcd), and
// compaction gives space back at once (etcd needs a defrag for that).
import type { PutRequest, RequestOp, TxnRequest } from './types.js';

export const KV_OVERHEAD_BYTES = 256;
export const LEASE_OVERHEAD_BYTES = 64;

/** costPut is what a put may add to usedBytes (etcd's costPut). */
export function costPut(r: PutRequest): number {
  return KV_OVERHEAD_BYTES + r.key.length + (r.value?.length ?? 0);
}

function costOps(ops: readonly RequestOp[] | undefined): number {
  let n = 0;
  for (const op of ops ?? []) {
    if (op?.type === 'put') n += costPut(op.request);
    // Deviation from etcd 3.4, on purpose: etcd's costTxn ignores puts inside nested txns, so
    // they slip past the NOSPACE alarm. Here they count like the others.
    else if (op?.type === 'txn') n += costTxn(op.request);
  }
  return n;
}

/** costTxn is the cost of the dearer branch (a txn runs one of them). */
export function costTxn(r: TxnRequest): number {
  return Math.max(costOps(r.success), costOps(r.failure));
}
