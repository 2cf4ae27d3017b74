// One-line, human-readable renderings of operations, results and model states, for the
// checker's explanations. A failing simulator run prints these, so they favour the facts a person
// needs: id, client, time interval, what was asked, what came back.
import type { ModelResponse, ModelState } from './etcd-model';
import type {
  DeleteResult,
  GetResult,
  HistoryOp,
  KvOp,
  LeaseGrantResult,
  OpResult,
  RangeKv,
  RangeResult,
  RevisionResult,
  TxnCasResult,
} from './history';

const q = (s: string): string => JSON.stringify(s);

/** describeKvOp renders the request, e.g. `put "a"="v1"`. */
export function describeKvOp(op: KvOp): string {
  switch (op.type) {
    case 'put':
      return `put ${q(op.key)}=${q(op.value)}`;
    case 'put-with-lease':
      return `put ${q(op.key)}=${q(op.value)} lease ${op.lease}`;
    case 'get':
      return `get ${q(op.key)}${op.serializable === true ? ' (serializable)' : ''}`;
    case 'range':
      return `range [${q(op.key)}, ${op.rangeEnd === '\0' ? 'end' : q(op.rangeEnd)})`;
    case 'delete':
      return op.rangeEnd === undefined
        ? `delete ${q(op.key)}`
        : `delete [${q(op.key)}, ${q(op.rangeEnd)})`;
    case 'txn-cas': {
      const cond =
        'expectedModRevision' in op
          ? `mod==${op.expectedModRevision}`
          : `value==${q(op.expectedValue)}`;
      return `txn-cas if ${q(op.key)} ${cond} then put ${q(op.value)}`;
    }
    case 'lease-grant':
      return `lease-grant ${op.lease}`;
    case 'lease-revoke':
      return `lease-revoke ${op.lease}`;
    case 'bump':
      return `${describeKvOp(op.of)} (seen only by its effect on the revision${op.revokes === undefined ? '' : ' and this key'})`;
  }
}

function describeKv(kv: RangeKv): string {
  const create = kv.createRevision === undefined ? '' : ` create ${kv.createRevision}`;
  return `${q(kv.key)}=${q(kv.value)} (mod ${kv.modRevision} ver ${kv.version}${create})`;
}

/** describeResult renders a result of the given op's kind (recorded or computed by the model). */
export function describeResult(op: KvOp, result: OpResult): string {
  switch (op.type) {
    case 'put':
    case 'put-with-lease':
    case 'lease-revoke':
    case 'bump':
      return `rev ${(result as RevisionResult).revision}`;
    case 'lease-grant': {
      const rev = (result as LeaseGrantResult).revision;
      return rev === undefined ? 'granted' : `granted @rev ${rev}`;
    }
    case 'get': {
      const r = result as GetResult;
      if (r.value === null)
        return `absent (mod ${r.modRevision} ver ${r.version}) @rev ${r.revision}`;
      const create = r.createRevision === undefined ? '' : ` create ${r.createRevision}`;
      return `${q(r.value)} (mod ${r.modRevision} ver ${r.version}${create}) @rev ${r.revision}`;
    }
    case 'range': {
      const r = result as RangeResult;
      return `[${r.kvs.map(describeKv).join(', ')}] count ${r.count} @rev ${r.revision}`;
    }
    case 'delete': {
      const r = result as DeleteResult;
      return `deleted ${r.deleted} @rev ${r.revision}`;
    }
    case 'txn-cas': {
      const r = result as TxnCasResult;
      return `${r.succeeded ? 'succeeded' : 'failed'} @rev ${r.revision}`;
    }
  }
}

/** describeResponse renders what the model answered. */
export function describeResponse(op: KvOp, response: ModelResponse): string {
  return response.ok ? describeResult(op, response.result) : `error ${response.error}`;
}

/** describeOp renders a recorded operation, e.g. `#7 c2 [10..14] put "a"="v1" → rev 5`. */
export function describeOp(h: HistoryOp): string {
  const interval = `[${h.call}..${h.return ?? '?'}]`;
  const outcome =
    h.outcome === 'ok' && h.result !== null ? describeResult(h.op, h.result) : h.outcome;
  const error = h.error === undefined ? '' : ` (${h.error})`;
  return `#${h.id} c${h.client} ${interval} ${describeKvOp(h.op)} → ${outcome}${error}`;
}

/** describeState renders a model state on one line (at most maxKeys keys). */
export function describeState(s: ModelState, maxKeys = 20): string {
  const keys = [...s.keys.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const shown = keys.slice(0, maxKeys).map(([k, r]) => {
    const lease = r.lease === 0 ? '' : ` lease ${r.lease}`;
    return `${q(k)}=${q(r.value)} (mod ${r.modRevision} ver ${r.version} create ${r.createRevision}${lease})`;
  });
  if (keys.length > maxKeys) shown.push(`… ${keys.length - maxKeys} more`);
  const leases = s.leases.size === 0 ? 'none' : [...s.leases].sort((a, b) => a - b).join(', ');
  return `revision ${s.revision}; keys: ${shown.length === 0 ? 'none' : shown.join(', ')}; leases: ${leases}`;
}
