// A naive model of the KV state machine, for property tests: the whole history is one flat list
// of changes that is never pruned; the state at a revision is found by replaying it; ranges
// filter and sort plain arrays. Slow and obviously right, written without the store's code.
import type {
  Compare,
  KeyValue,
  KvCommand,
  LeaseId,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  Revision,
  TxnRequest,
  TxnResponse,
  WatchEvent,
} from '../../src/kv/index.js';
import { b, s } from './helpers.js';

export interface Change {
  readonly rev: number;
  readonly key: string;
  /** kv: the new version, or null for a deletion. */
  readonly kv: KeyValue | null;
}

export type ModelResult = { ok: true; response: unknown } | { ok: false; code: string };

const EMPTY = new Uint8Array(0);

function cmpStr(a: string, c: string): number {
  return a < c ? -1 : a > c ? 1 : 0;
}
function cmpBig(a: string, c: string): number {
  const x = BigInt(a);
  const y = BigInt(c);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** inSpan: etcd's key + rangeEnd meaning, on latin1 strings. */
export function inSpan(key: string, rangeEnd: string | undefined, k: string): boolean {
  if (rangeEnd === undefined || rangeEnd === '') return k === key;
  if (rangeEnd === '\0') return k >= key;
  return k >= key && k < rangeEnd;
}

export class Model {
  rev = 1;
  compactRev = -1;
  readonly log: Change[] = [];
  cur = new Map<string, KeyValue>();
  leases = new Map<string, number>();
  constructor(
    readonly maxTxnOps = 128,
    readonly minTtl = 1,
  ) {}

  stateAt(rev: number): Map<string, KeyValue> {
    const m = new Map<string, KeyValue>();
    for (const c of this.log) {
      if (c.rev > rev) break;
      if (c.kv === null) m.delete(c.key);
      else m.set(c.key, c.kv);
    }
    return m;
  }

  /** range with etcd's applier rules; `working` is a txn's in-progress state at revision curRev. */
  range(req: RangeRequest, curRev = this.rev, working?: Map<string, KeyValue>): ModelResult {
    if (req.key.length === 0) return { ok: false, code: 'empty-key' };
    const asked = req.revision ?? 0;
    if (asked > curRev) return { ok: false, code: 'future-revision' };
    const rev = asked > 0 ? asked : curRev;
    if (rev < this.compactRev) return { ok: false, code: 'compacted' };
    return { ok: true, response: this.rangeAt(req, rev, curRev, working) };
  }

  rangeAt(
    req: RangeRequest,
    rev: number,
    curRev: number,
    working?: Map<string, KeyValue>,
  ): RangeResponse {
    const state = rev === curRev && working !== undefined ? working : this.stateAt(rev);
    const key = s(req.key);
    const end = req.rangeEnd === undefined ? undefined : s(req.rangeEnd);
    let kvs = [...state.keys()]
      .filter((k) => inSpan(key, end, k))
      .sort(cmpStr)
      .map((k) => state.get(k)!);
    const count = kvs.length;
    const header = { revision: curRev as Revision };
    if (req.countOnly === true) return { header, kvs: [], more: false, count };
    if ((req.maxModRevision ?? 0) !== 0)
      kvs = kvs.filter((kv) => kv.modRevision <= req.maxModRevision!);
    if ((req.minModRevision ?? 0) !== 0)
      kvs = kvs.filter((kv) => kv.modRevision >= req.minModRevision!);
    if ((req.maxCreateRevision ?? 0) !== 0)
      kvs = kvs.filter((kv) => kv.createRevision <= req.maxCreateRevision!);
    if ((req.minCreateRevision ?? 0) !== 0)
      kvs = kvs.filter((kv) => kv.createRevision >= req.minCreateRevision!);
    const target = req.sortTarget ?? 'KEY';
    let order = req.sortOrder ?? 'NONE';
    if (target !== 'KEY' && order === 'NONE') order = 'ASCEND';
    if (order !== 'NONE') {
      const field = (kv: KeyValue): number | string =>
        target === 'KEY'
          ? s(kv.key)
          : target === 'VALUE'
            ? s(kv.value)
            : target === 'VERSION'
              ? kv.version
              : target === 'CREATE'
                ? kv.createRevision
                : kv.modRevision;
      // Insertion sort: stable, like Go's sort for short slices.
      const out: KeyValue[] = [];
      for (const kv of kvs) {
        let i = out.length;
        const before = (x: KeyValue, y: KeyValue): boolean => {
          const fx = field(x);
          const fy = field(y);
          return order === 'ASCEND' ? fx < fy : fx > fy;
        };
        while (i > 0 && before(kv, out[i - 1]!)) i--;
        out.splice(i, 0, kv);
      }
      kvs = out;
    }
    const limit = req.limit ?? 0;
    let more = false;
    if (limit > 0 && kvs.length > limit) {
      kvs = kvs.slice(0, limit);
      more = true;
    }
    if (req.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
    return { header, kvs, more, count };
  }

  // ---- validation, as etcd's gRPC layer ----

  private checkOp(op: RequestOp | undefined, budget: number): string | null {
    if (op === undefined) return 'key-not-found';
    if (op.type === 'txn') return this.checkTxn(op.request, budget);
    if (op.request.key.length === 0) return 'empty-key';
    if (op.type === 'put') {
      const r = op.request;
      if (r.ignoreValue && (r.value?.length ?? 0) > 0) return 'value-provided';
      if (r.ignoreLease && (r.lease ?? '0') !== '0') return 'lease-provided';
    }
    return null;
  }

  private checkTxn(t: TxnRequest, budget: number): string | null {
    const opc = Math.max(t.compare?.length ?? 0, t.success?.length ?? 0, t.failure?.length ?? 0);
    if (opc > budget) return 'too-many-ops';
    for (const c of t.compare ?? []) if (c.key.length === 0) return 'empty-key';
    for (const op of [...(t.success ?? []), ...(t.failure ?? [])]) {
      const e = this.checkOp(op, budget - opc);
      if (e !== null) return e;
    }
    return null;
  }

  /** dupCheck: etcd's checkIntervals, spelled out with arrays. Returns [puts, dels] or null on a duplicate. */
  private dupCheck(ops: readonly RequestOp[]): [string[], [string, string][]] | null {
    const dels: [string, string][] = ops
      .filter((o) => o.type === 'deleteRange')
      .map((o) => {
        const k = s(o.request.key);
        const e = (o.request as { rangeEnd?: Uint8Array }).rangeEnd;
        return [k, e === undefined || e.length === 0 ? k + '\0' : s(e)];
      });
    const hit = (k: string): boolean => dels.some(([a, z]) => a <= k && k < z);
    const puts: string[] = [];
    for (const o of ops) {
      if (o.type !== 'txn') continue;
      const t = this.dupCheck(o.request.success ?? []);
      const f = this.dupCheck(o.request.failure ?? []);
      if (t === null || f === null) return null;
      for (const k of t[0]) {
        if (puts.includes(k) || hit(k)) return null;
        puts.push(k);
      }
      for (const k of f[0]) {
        if (puts.includes(k) && !t[0].includes(k)) return null;
        if (hit(k)) return null;
        if (!puts.includes(k)) puts.push(k); // a set, as etcd's map
      }
      dels.push(...t[1], ...f[1]);
    }
    for (const o of ops) {
      if (o.type !== 'put') continue;
      const k = s(o.request.key);
      if (puts.includes(k) || hit(k)) return null;
      puts.push(k);
    }
    return [puts, dels];
  }

  // ---- apply ----

  apply(cmd: KvCommand, index: number): ModelResult {
    switch (cmd.type) {
      case 'put': {
        const e = this.checkOp({ type: 'put', request: cmd.request }, this.maxTxnOps);
        if (e !== null) return { ok: false, code: e };
        // A plain put looks up its lease before the key (etcd's applier Put).
        const l = cmd.request.lease ?? '0';
        if (l !== '0' && !this.leases.has(l)) return { ok: false, code: 'lease-not-found' };
        return this.txn(
          { success: [{ type: 'put', request: cmd.request }] },
          (t) => (t.responses[0] as ResponseOp & { type: 'put' }).response,
        );
      }
      case 'deleteRange': {
        if (cmd.request.key.length === 0) return { ok: false, code: 'empty-key' };
        return this.txn(
          { success: [{ type: 'deleteRange', request: cmd.request }] },
          (t) => (t.responses[0] as ResponseOp & { type: 'deleteRange' }).response,
        );
      }
      case 'txn': {
        const e = this.checkTxn(cmd.request, this.maxTxnOps);
        if (e !== null) return { ok: false, code: e };
        if (
          this.dupCheck(cmd.request.success ?? []) === null ||
          this.dupCheck(cmd.request.failure ?? []) === null
        ) {
          return { ok: false, code: 'duplicate-key' };
        }
        return this.txn(cmd.request, (t) => t);
      }
      case 'compact': {
        const r = cmd.request.revision;
        if (r <= this.compactRev) return { ok: false, code: 'compacted' };
        if (r > this.rev) return { ok: false, code: 'future-revision' };
        this.compactRev = r;
        return { ok: true, response: { header: { revision: this.rev } } };
      }
      case 'leaseGrant': {
        const id = cmd.request.id;
        if (id === undefined || id === '0') throw new Error('model needs explicit lease ids');
        if (cmd.request.ttlSeconds > 9_000_000_000)
          return { ok: false, code: 'lease-ttl-too-large' };
        if (this.leases.has(id)) return { ok: false, code: 'lease-exists' };
        const ttl = Math.max(this.minTtl, cmd.request.ttlSeconds);
        this.leases.set(id, ttl);
        return { ok: true, response: { header: { revision: this.rev }, id, ttlSeconds: ttl } };
      }
      case 'leaseRevoke': {
        const id = cmd.request.id;
        if (!this.leases.has(id)) return { ok: false, code: 'lease-not-found' };
        const keys = [...this.cur.values()]
          .filter((kv) => kv.lease === id)
          .map((kv) => s(kv.key))
          .sort(cmpStr);
        if (keys.length > 0) {
          this.rev++;
          for (const k of keys) this.deleteKey(this.cur, k, this.rev);
        }
        this.leases.delete(id);
        return { ok: true, response: { header: { revision: this.rev } } };
      }
      default:
        void index;
        throw new Error(`model does not handle ${cmd.type}`);
    }
  }

  private deleteKey(state: Map<string, KeyValue>, k: string, rev: number): void {
    state.delete(k);
    this.log.push({ rev, key: k, kv: null });
  }

  private compare(state: Map<string, KeyValue>, c: Compare): boolean {
    const key = s(c.key);
    const end = c.rangeEnd === undefined ? undefined : s(c.rangeEnd);
    const kvs = [...state.values()].filter((kv) => inSpan(key, end, s(kv.key)));
    const test = (kv: KeyValue | undefined): boolean => {
      let r: number;
      switch (c.target) {
        case 'VALUE':
          if (kv === undefined) return false;
          r = cmpStr(s(kv.value), s(c.value));
          break;
        case 'VERSION':
          r = Math.sign((kv?.version ?? 0) - c.version);
          break;
        case 'CREATE':
          r = Math.sign((kv?.createRevision ?? 0) - c.createRevision);
          break;
        case 'MOD':
          r = Math.sign((kv?.modRevision ?? 0) - c.modRevision);
          break;
        case 'LEASE':
          r = cmpBig(kv?.lease ?? '0', c.lease);
          break;
      }
      return c.result === 'EQUAL'
        ? r === 0
        : c.result === 'NOT_EQUAL'
          ? r !== 0
          : c.result === 'GREATER'
            ? r > 0
            : r < 0;
    };
    return kvs.length === 0 ? test(undefined) : kvs.every(test);
  }

  /** txn runs a validated txn; `pick` shapes the response (plain put/delete reuse it). */
  private txn(t: TxnRequest, pick: (r: TxnResponse) => unknown): ModelResult {
    const before = new Map(this.cur);
    // Every compare on the path sees the state before the txn.
    const branch = (x: TxnRequest): readonly RequestOp[] =>
      (x.compare ?? []).every((c) => this.compare(before, c))
        ? (x.success ?? [])
        : (x.failure ?? []);
    const flat: RequestOp[] = [];
    const walk = (x: TxnRequest): void => {
      for (const op of branch(x)) {
        if (op.type === 'txn') walk(op.request);
        else flat.push(op);
      }
    };
    walk(t);
    const readonly = [...(t.success ?? []), ...(t.failure ?? [])].every((o) => o.type === 'range');
    if (!readonly) {
      for (const op of flat) {
        if (op.type !== 'put') continue;
        if ((op.request.ignoreValue || op.request.ignoreLease) && !before.has(s(op.request.key)))
          return { ok: false, code: 'key-not-found' };
        const l = op.request.lease ?? '0';
        if (l !== '0' && !this.leases.has(l)) return { ok: false, code: 'lease-not-found' };
      }
    }
    for (const op of flat) {
      if (op.type !== 'range') continue;
      const r = op.request.revision ?? 0;
      if (r !== 0 && r > this.rev) return { ok: false, code: 'future-revision' };
      if (r !== 0 && r < this.compactRev) return { ok: false, code: 'compacted' };
    }
    const work = new Map(this.cur);
    const newRev = this.rev + 1;
    let changed = false;
    const run = (x: TxnRequest): TxnResponse => {
      const ok = (x.compare ?? []).every((c) => this.compare(before, c));
      const responses: ResponseOp[] = [];
      for (const op of ok ? (x.success ?? []) : (x.failure ?? [])) {
        if (op.type === 'range') {
          const res = this.range(op.request, changed ? newRev : this.rev, work);
          if (!res.ok) throw new Error('model: range failed after checks');
          responses.push({ type: 'range', response: res.response as RangeResponse });
        } else if (op.type === 'put') {
          const r = op.request;
          const k = s(r.key);
          const prev = work.get(k);
          const kv: KeyValue = {
            key: b(k),
            value: r.ignoreValue ? prev!.value : (r.value ?? EMPTY),
            createRevision: (prev?.createRevision ?? newRev) as Revision,
            modRevision: newRev as Revision,
            version: (prev?.version ?? 0) + 1,
            lease: (r.ignoreLease ? prev!.lease : (r.lease ?? '0')) as LeaseId,
          };
          work.set(k, kv);
          this.log.push({ rev: newRev, key: k, kv });
          changed = true;
          responses.push({
            type: 'put',
            response:
              r.prevKv && prev
                ? { header: { revision: newRev as Revision }, prevKv: prev }
                : { header: { revision: newRev as Revision } },
          });
        } else if (op.type === 'deleteRange') {
          const r = op.request;
          const key = s(r.key);
          const end = r.rangeEnd === undefined ? undefined : s(r.rangeEnd);
          const keys = [...work.keys()].filter((k) => inSpan(key, end, k)).sort(cmpStr);
          const prevKvs = r.prevKv ? keys.map((k) => work.get(k)!) : [];
          for (const k of keys) this.deleteKey(work, k, newRev);
          if (keys.length > 0) changed = true;
          responses.push({
            type: 'deleteRange',
            response: {
              header: { revision: (changed ? newRev : this.rev) as Revision },
              deleted: keys.length,
              prevKvs,
            },
          });
        } else {
          responses.push({ type: 'txn', response: run(op.request) });
        }
      }
      return { header: { revision: 0 as Revision }, succeeded: ok, responses };
    };
    const resp = run(t);
    if (changed) {
      this.rev = newRev;
      this.cur = work;
    }
    return { ok: true, response: pick({ ...resp, header: { revision: this.rev as Revision } }) };
  }

  /**
   * events a watcher created when the current revision was `createdAt` and the compact
   * revision `compactAt` should receive, from startRev to the current revision.
   */
  watchEvents(
    startRev: number,
    createdAt: number,
    compactAt: number,
    key: string,
    end: string | undefined,
    opts: { prevKv?: boolean; noPut?: boolean; noDelete?: boolean },
  ): WatchEvent[] {
    const out: WatchEvent[] = [];
    const from = startRev > 0 ? startRev : createdAt + 1;
    const changes = this.log.filter((c) => c.rev >= from);
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i]!;
      if (!inSpan(key, end, c.key)) continue;
      const catchUp = c.rev <= createdAt;
      // Compaction at compactAt keeps, at that revision, only a key's last change, if a put.
      if (catchUp && c.rev === compactAt) {
        const later = changes.some((d, j) => j > i && d.rev === c.rev && d.key === c.key);
        if (later || c.kv === null) continue;
      }
      const type = c.kv === null ? 'DELETE' : 'PUT';
      if ((type === 'PUT' && opts.noPut) || (type === 'DELETE' && opts.noDelete)) continue;
      const kv: KeyValue = c.kv ?? {
        key: b(c.key),
        value: EMPTY,
        createRevision: 0 as Revision,
        modRevision: c.rev as Revision,
        version: 0,
        lease: '0' as LeaseId,
      };
      let prevKv: KeyValue | undefined;
      const isCreate = c.kv !== null && c.kv.createRevision === c.kv.modRevision;
      if (opts.prevKv && !isCreate && c.rev - 1 >= (catchUp ? compactAt : -1))
        prevKv = this.stateAt(c.rev - 1).get(c.key);
      out.push(prevKv === undefined ? { type, kv } : { type, kv, prevKv });
    }
    return out;
  }
}
