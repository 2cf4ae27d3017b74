// Projection onto one key: a cheaper, weaker question whose "no" is a "no" for the whole history.
//
// Porcupine checks a KV history key by key (P-compositionality). That is not sound here as is:
// the revision in every result is global, so a key's operations alone do not explain the
// revisions they report. The projection keeps the revision and abstracts every other key away:
//  - operations on key k stay as they are (a range covering k becomes a get of k with the part
//    of the result about k);
//  - a write to another key that raised the revision becomes a "bump" (it raises the revision,
//    and touches nothing else): an ok put, put-with-lease, successful txn-cas or delete that
//    deleted something becomes an ok bump with the same revision; an unknown write to another
//    key becomes an unknown bump (it took effect, as a bump, or it did not, and is left out);
//    lease revokes: below;
//  - everything else is dropped: reads of other keys, failed txns and deletes of nothing on other
//    keys (they changed neither k nor the revision).
// Claim: every witness of the history maps to a witness of the projection, by mapping each of
// its operations as above and leaving out the dropped ones and the unknown writes to other keys
// that did not raise the revision. Same order, so real time holds; k's record and the revision
// evolve identically step by step, so every result on k and every revision matches. Hence if the
// projection has no witness, neither has the history: checkHistory uses this to prove a
// violation when the full search runs out of budget, since the projection's search only has to
// choose among writes to k.
//
// Leases. Only the leases k is ever put with (its leases) can matter to k. A revoke of another
// lease cannot delete k: it is a write to other keys like any other (an ok one becomes a bump
// that raises the revision only if placed just below its result revision, since it raised it
// only if it deleted keys; an unknown one becomes an unknown bump), and grants of other leases
// are dropped. Grants of k's leases stay. A revoke of one of k's leases deletes the keys attached,
// k among them perhaps, and raises the revision if it deleted any key, seen or not. So an ok one
// becomes a bump that revokes the lease (deleting k if attached, and then raising the revision)
// and otherwise raises the revision only if placed just below its result revision; an unknown
// one becomes two unknown operations: the revoke itself (as if it deleted no unseen key) and a
// bump that revokes and always raises the revision (as if it did). A witness uses the one that
// matches; placing both is harmless (the second finds the lease gone: no effect). Lease
// existence matters to nothing else in the projection, so dropping the other leases' grants and
// revokes changes no result.
//
// Keys covered by a range delete are not handled (projectOnKey returns null): whether the
// delete removed k cannot be read from its result.
import type { ModelOptions } from './etcd-model';
import { inRange } from './etcd-model';
import type { GetResult, HistoryOp, KvOp, RangeResult } from './history';

function bump(h: HistoryOp, maybeTo: number | null, revokes?: number): HistoryOp {
  const op: KvOp =
    revokes === undefined
      ? { type: 'bump', maybeTo, of: h.op }
      : { type: 'bump', maybeTo, revokes, of: h.op };
  return { ...h, op };
}

function wroteOtherKey(h: HistoryOp): boolean {
  const r = h.result as Record<string, unknown> | null;
  switch (h.op.type) {
    case 'put':
    case 'put-with-lease':
      return true;
    case 'txn-cas':
      return r?.['succeeded'] === true;
    case 'delete':
      return typeof r?.['deleted'] === 'number' && r['deleted'] > 0;
    default:
      return false;
  }
}

/** projectOnKey builds the projection of a validated history onto key, or null (see above). */
export function projectOnKey(
  history: readonly HistoryOp[],
  key: string,
  options: ModelOptions,
): HistoryOp[] | null {
  const keyLeases = new Set<number>();
  for (const h of history) {
    const op = h.op;
    if (op.type === 'put-with-lease' && op.key === key && h.outcome !== 'fail')
      keyLeases.add(op.lease);
  }
  const out: HistoryOp[] = [];
  for (const h of history) {
    const op = h.op;
    if (h.outcome === 'fail' || (op.type === 'get' && op.serializable === true)) continue;
    switch (op.type) {
      case 'get':
        if (op.key === key) out.push(h);
        break;
      case 'range': {
        if (!inRange(key, op.key, op.rangeEnd) || h.outcome !== 'ok' || h.result === null) break;
        const r = h.result as RangeResult;
        const kv = r.kvs.find((x) => x.key === key);
        let result: GetResult = { revision: r.revision, value: null, modRevision: 0, version: 0 };
        if (kv !== undefined) {
          const seen = {
            revision: r.revision,
            value: kv.value,
            modRevision: kv.modRevision,
            version: kv.version,
          };
          result =
            kv.createRevision === undefined ? seen : { ...seen, createRevision: kv.createRevision };
        }
        out.push({ ...h, op: { type: 'get', key }, result });
        break;
      }
      case 'delete':
        if (op.rangeEnd !== undefined && op.rangeEnd !== '' && inRange(key, op.key, op.rangeEnd))
          return null;
        if (op.key === key) out.push(h);
        else if (h.outcome === 'unknown') out.push(bump(h, null));
        else if (wroteOtherKey(h)) out.push(bump(h, null));
        break;
      case 'put-with-lease':
        if (op.key === key) out.push(h);
        else if (h.outcome === 'unknown' || wroteOtherKey(h)) out.push(bump(h, null));
        break;
      case 'put':
      case 'txn-cas':
        if (op.key === key) out.push(h);
        else if (h.outcome === 'unknown' || wroteOtherKey(h)) out.push(bump(h, null));
        break;
      case 'lease-revoke':
        if (!keyLeases.has(op.lease)) {
          const ok = h.outcome === 'ok' && !options.leaseRevokeBumpsWhenEmpty;
          out.push(bump(h, ok ? (h.result as { revision: number }).revision : null));
        } else if (options.leaseRevokeBumpsWhenEmpty) {
          out.push(h); // it always writes: nothing unseen
        } else if (h.outcome === 'ok')
          out.push(bump(h, (h.result as { revision: number }).revision, op.lease));
        else out.push(h, bump(h, null, op.lease));
        break;
      case 'lease-grant':
        if (keyLeases.has(op.lease)) out.push(h);
        break;
      case 'bump':
        break;
    }
  }
  return out;
}
