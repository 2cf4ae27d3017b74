// EtcdClient: KvClient over a real etcd (3.4+) through its v3 JSON gateway, with fetch. Every
// call is `POST /v3/<service>/<method>`; answers are decoded and validated by etcd-json.ts and
// errors mapped to tabd's typed errors, so code written against LocalClient runs unchanged.
//
// Watches use the streaming endpoint /v3/watch: one HTTP response per watch, read line by line
// (one JSON object per line). Canceling a watch aborts its request. The gateway's watch stream
// takes the request body once, so a progress request cannot be sent on it: requestProgress
// rejects with `unsupported` (see README, "Differences from etcd").
import {
  leaseId,
  type Compare,
  type LeaseId,
  type RangeRequest,
  type TxnRequest,
} from '../kv/index.js';
import { TimeoutError } from '../node/errors.js';
import { rangeEndOf, toBase64, toBytes, type Bytes } from './bytes.js';
import {
  ClientClosedError,
  InternalError,
  UnavailableError,
  UnsupportedError,
  WatchCanceledError,
  isTabdError,
  toTabdError,
  type TabdError,
} from './errors.js';
import {
  asObject,
  decodeDelete,
  decodeErrorBody,
  decodeEvent,
  decodeHeader,
  decodePut,
  decodeRange,
  decodeTxn,
  encodeDelete,
  encodePut,
  encodeRange,
  encodeTxn,
  json,
  type EtcdErrorContext,
  type Json,
  type JsonObject,
} from './etcd-json.js';
import { KeepAliveLoop, type KeepAlive, type KeepAliveOptions } from './keep-alive.js';
import { TxnBuilder, deleteRequest, putRequest, rangeRequest } from './txn-builder.js';
import type {
  AlarmMember,
  AlarmResponse,
  CompactionResponse,
  DeleteOptions,
  DeleteRangeResponse,
  GetOptions,
  KvClient,
  LeaseGrantResponse,
  LeaseIdInput,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  MemberListResponse,
  PutOptions,
  PutResponse,
  RangeResponse,
  StatusResponse,
  TxnResponse,
  WatchOptions,
} from './types.js';
import { WatchStream, compactedEnd, type Watch } from './watch.js';

export interface EtcdClientOptions {
  /** endpoint: etcd's client URL, e.g. 'http://127.0.0.1:2379'. */
  readonly endpoint: string;
  /** requestTimeoutMs: a unary call not answered by then fails with `timeout` (outcome unknown). Default 5000. */
  readonly requestTimeoutMs?: number;
  /** fetch: the fetch to use (default: the global one). */
  readonly fetch?: typeof fetch;
}

/** EtcdClient is the KvClient of a real etcd cluster member. */
export class EtcdClient implements KvClient {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  private closed = false;
  private readonly watches = new Set<WatchStream>();
  private readonly keepAlives = new Set<KeepAlive>();
  /** inflight: unary requests, aborted by close(). */
  private readonly inflight = new Set<AbortController>();

  constructor(opts: EtcdClientOptions) {
    this.base = opts.endpoint.replace(/\/+$/, '');
    this.timeoutMs = opts.requestTimeoutMs ?? 5000;
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
  }

  // ---------------------------------------------------------------- plumbing

  /** post sends one unary call and answers the parsed JSON body of a successful answer. */
  private async post(path: string, body: unknown, ctx: EtcdErrorContext = {}): Promise<Json> {
    if (this.closed) throw new ClientClosedError();
    const ac = new AbortController();
    this.inflight.add(ac);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.timeoutMs);
    try {
      let res: Response;
      let textBody: string;
      try {
        res = await this.fetchFn(`${this.base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: ac.signal,
        });
        textBody = await res.text();
      } catch (err) {
        if (timedOut) throw new TimeoutError(`etcd ${path}`);
        if (this.closed) throw new ClientClosedError();
        throw new UnavailableError(`${path}: ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        });
      }
      let parsed: Json;
      try {
        parsed = textBody === '' ? {} : (JSON.parse(textBody) as Json);
      } catch (err) {
        throw new InternalError(
          `etcd ${path} answered HTTP ${res.status} with non-JSON: ${textBody.slice(0, 200)}`,
          { cause: err },
        );
      }
      if (
        !res.ok ||
        (typeof parsed === 'object' &&
          parsed !== null &&
          !Array.isArray(parsed) &&
          'error' in parsed &&
          'code' in parsed)
      ) {
        throw decodeErrorBody(parsed, ctx);
      }
      return parsed;
    } catch (err) {
      throw toTabdError(err);
    } finally {
      clearTimeout(timer);
      this.inflight.delete(ac);
    }
  }

  /** decode runs a decoder on an answer, turning a malformed one into InternalError. */
  private async call<T>(
    path: string,
    body: unknown,
    decode: (v: Json) => T,
    ctx?: EtcdErrorContext,
  ): Promise<T> {
    const v = await this.post(path, body, ctx);
    try {
      return decode(v);
    } catch (err) {
      throw toTabdError(err);
    }
  }

  /** build runs a request builder, turning a thrown argument error into a rejection. */
  private build<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(toTabdError(err));
    }
  }

  // ---------------------------------------------------------------- KV

  async put(key: Bytes, value: Bytes, opts?: PutOptions): Promise<PutResponse> {
    const req = await this.build(() => putRequest(key, value, opts));
    return this.call('/v3/kv/put', encodePut(req), decodePut, { leaseId: req.lease ?? '' });
  }

  async get(key: Bytes, opts?: GetOptions): Promise<RangeResponse> {
    return this.range(await this.build(() => rangeRequest(key, opts)));
  }

  range(req: RangeRequest): Promise<RangeResponse> {
    return this.call('/v3/kv/range', encodeRange(req), decodeRange);
  }

  async delete(key: Bytes, opts?: DeleteOptions): Promise<DeleteRangeResponse> {
    const req = await this.build(() => deleteRequest(key, opts));
    return this.call('/v3/kv/deleterange', encodeDelete(req), decodeDelete);
  }

  txn(req: TxnRequest): Promise<TxnResponse> {
    return this.call('/v3/kv/txn', encodeTxn(req), decodeTxn);
  }

  if(...compares: Compare[]): TxnBuilder {
    return new TxnBuilder((req) => this.txn(req), compares);
  }

  compact(revision: number, physical = false): Promise<CompactionResponse> {
    const body = { revision: String(revision), ...(physical ? { physical: true } : {}) };
    return this.call('/v3/kv/compaction', body, (v) => ({
      header: decodeHeader(asObject(v, 'answer')['header']),
    }));
  }

  // ---------------------------------------------------------------- watch

  watch(key: Bytes, opts: WatchOptions = {}): Watch {
    const k = toBytes(key);
    const stream = new WatchStream(k, opts);
    if (this.closed) {
      stream.pushEnd({ reason: 'error', error: new ClientClosedError() });
      return stream;
    }
    let rangeEnd: Uint8Array | undefined;
    try {
      rangeEnd = rangeEndOf(k, opts);
    } catch (err) {
      stream.pushEnd({ reason: 'error', error: toTabdError(err) });
      return stream;
    }
    const filters = [
      ...(opts.noPut === true ? ['NOPUT'] : []),
      ...(opts.noDelete === true ? ['NODELETE'] : []),
    ];
    const create: Record<string, unknown> = {
      key: toBase64(k),
      ...(rangeEnd === undefined || rangeEnd.length === 0 ? {} : { range_end: toBase64(rangeEnd) }),
      ...(opts.startRevision ? { start_revision: String(opts.startRevision) } : {}),
      ...(opts.prevKv === true ? { prev_kv: true } : {}),
      ...(filters.length > 0 ? { filters } : {}),
      ...(opts.progressNotify === true ? { progress_notify: true } : {}),
    };
    const ac = new AbortController();
    this.watches.add(stream);
    void stream.done.then(() => {
      this.watches.delete(stream);
      ac.abort();
    });
    stream.attach({
      cancel: () => ac.abort(),
      requestProgress: () =>
        Promise.reject(new UnsupportedError('watch progress requests over the JSON gateway')),
      restart: (o) => this.watch(key, o),
    });
    void this.runWatch(stream, { create_request: create }, ac);
    return stream;
  }

  private async runWatch(stream: WatchStream, body: unknown, ac: AbortController): Promise<void> {
    try {
      const res = await this.fetchFn(`${this.base}/v3/watch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: ac.signal,
      });
      if (!res.ok || res.body === null) {
        const t = await res.text();
        let parsed: Json = {};
        try {
          parsed = JSON.parse(t) as Json;
        } catch {
          /* not JSON: reported below */
        }
        throw decodeErrorBody(
          parsed === null || typeof parsed !== 'object' ? { message: t } : parsed,
        );
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buf = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line !== '' && !this.watchLine(stream, line)) {
            ac.abort();
            return;
          }
        }
      }
      const rest = buf.trim();
      if (rest !== '' && !this.watchLine(stream, rest)) return;
      // The server closed the stream without canceling the watch.
      stream.pushEnd({
        reason: 'error',
        error: new UnavailableError('etcd closed the watch stream'),
      });
    } catch (err) {
      if (stream.isDone) return; // canceled by us: the abort is the expected way out
      if (isTabdError(err)) return stream.pushEnd({ reason: 'error', error: err });
      stream.pushEnd({
        reason: 'error',
        error: this.closed
          ? new ClientClosedError()
          : new UnavailableError(`watch: ${err instanceof Error ? err.message : String(err)}`, {
              cause: err,
            }),
      });
    }
  }

  /** watchLine handles one line of the watch stream; false once the watch has ended. */
  private watchLine(stream: WatchStream, line: string): boolean {
    let msg: JsonObject;
    try {
      msg = asObject(JSON.parse(line) as Json, 'watch message');
      if (msg['error'] !== undefined) {
        stream.pushEnd({ reason: 'error', error: decodeErrorBody(msg['error']) });
        return false;
      }
      const r = asObject(msg['result'], 'watch result');
      const header = decodeHeader(r['header']);
      const created = json.bool(r['created'], 'created');
      const canceled = json.bool(r['canceled'], 'canceled');
      if (created && !canceled) stream.pushCreated(header);
      if (canceled) {
        const compactRevision = json.int64(r['compact_revision'], 'compact_revision');
        const reason = json.str(r['cancel_reason'], 'cancel_reason');
        if (compactRevision > 0) stream.pushEnd(compactedEnd(compactRevision));
        else
          stream.pushEnd({
            reason: 'error',
            error: new WatchCanceledError(reason || 'canceled by etcd'),
          });
        return false;
      }
      if (created) return true;
      const events = json.asArray(r['events'], 'events').map(decodeEvent);
      return stream.pushResponse({ header, events, progressNotify: events.length === 0 });
    } catch (err) {
      stream.pushEnd({ reason: 'error', error: toTabdError(err) });
      return false;
    }
  }

  // ---------------------------------------------------------------- leases

  grant(ttlSeconds: number, id?: LeaseIdInput): Promise<LeaseGrantResponse> {
    return this.build(() => (id === undefined ? undefined : leaseId(id))).then((lid) =>
      this.call(
        '/v3/lease/grant',
        { TTL: String(ttlSeconds), ...(lid === undefined ? {} : { ID: lid }) },
        (v) => {
          const o = asObject(v, 'grant answer');
          const err = json.str(o['error'], 'error');
          if (err !== '') throw decodeErrorBody({ message: err, code: 2 }, { leaseId: lid ?? '' });
          return {
            header: decodeHeader(o['header']),
            id: json.lease(o['ID'], 'ID'),
            ttlSeconds: json.int64(o['TTL'], 'TTL'),
          };
        },
        { leaseId: lid ?? '' },
      ),
    );
  }

  async revoke(id: LeaseIdInput): Promise<LeaseRevokeResponse> {
    const lid = await this.build(() => leaseId(id));
    return this.call(
      '/v3/lease/revoke',
      { ID: lid },
      (v) => ({ header: decodeHeader(asObject(v, 'answer')['header']) }),
      {
        leaseId: lid,
      },
    );
  }

  async keepAliveOnce(id: LeaseIdInput): Promise<LeaseKeepAliveResponse> {
    const lid = await this.build(() => leaseId(id));
    // The gateway streams keepalive answers as {"result": ...} lines; one request, one answer.
    const v = await this.post('/v3/lease/keepalive', { ID: lid }, { leaseId: lid });
    try {
      const o = asObject(v, 'keepalive answer');
      if (o['error'] !== undefined) throw decodeErrorBody(o['error'], { leaseId: lid });
      const r = asObject(o['result'], 'keepalive result');
      const ttlSeconds = json.int64(r['TTL'], 'TTL');
      // etcd answers TTL 0 for a lease it does not have (clientv3 turns it into ErrLeaseNotFound).
      if (ttlSeconds <= 0)
        throw decodeErrorBody(
          { message: 'etcdserver: requested lease not found', code: 5 },
          { leaseId: lid },
        );
      return { header: decodeHeader(r['header']), id: json.lease(r['ID'], 'ID'), ttlSeconds };
    } catch (err) {
      throw toTabdError(err);
    }
  }

  keepAlive(id: LeaseIdInput, opts?: KeepAliveOptions): KeepAlive {
    const ka = new KeepAliveLoop(leaseId(id), (i) => this.keepAliveOnce(i), 1000, opts);
    this.keepAlives.add(ka);
    void ka.closed.then(() => this.keepAlives.delete(ka));
    return ka;
  }

  async timeToLive(
    id: LeaseIdInput,
    opts: { readonly keys?: boolean } = {},
  ): Promise<LeaseTimeToLiveResponse> {
    const lid = await this.build(() => leaseId(id));
    return this.call(
      '/v3/lease/timetolive',
      { ID: lid, ...(opts.keys === true ? { keys: true } : {}) },
      (v) => {
        const o = asObject(v, 'timetolive answer');
        return {
          header: decodeHeader(o['header']),
          id: json.lease(o['ID'], 'ID'),
          ttlSeconds: json.int64(o['TTL'], 'TTL'),
          grantedTtlSeconds: json.int64(o['grantedTTL'], 'grantedTTL'),
          keys: json.asArray(o['keys'], 'keys').map((k, i) => json.bytes(k, `keys[${i}]`)),
        };
      },
    );
  }

  leases(): Promise<LeaseLeasesResponse> {
    return this.call('/v3/lease/leases', {}, (v) => {
      const o = asObject(v, 'leases answer');
      return {
        header: decodeHeader(o['header']),
        leases: json.asArray(o['leases'], 'leases').map((l, i) => ({
          id: json.lease(asObject(l, 'lease')['ID'], `leases[${i}].ID`) as LeaseId,
        })),
      };
    });
  }

  // ---------------------------------------------------------------- cluster and maintenance

  async status(): Promise<StatusResponse> {
    const [st, alarms] = await Promise.all([
      this.post('/v3/maintenance/status', {}),
      this.alarmList(),
    ]);
    try {
      const o = asObject(st, 'status answer');
      const header = decodeHeader(o['header']);
      const leader = json.str(o['leader'], 'leader');
      return {
        header,
        version: json.str(o['version'], 'version'),
        memberId: header.memberId,
        leader: leader === '0' ? '' : leader,
        raftTerm: json.int64(o['raftTerm'], 'raftTerm'),
        raftIndex: json.int64(o['raftIndex'], 'raftIndex'),
        raftAppliedIndex: json.int64(o['raftAppliedIndex'], 'raftAppliedIndex'),
        revision: header.revision,
        dbSize: json.int64(o['dbSize'], 'dbSize'),
        dbSizeInUse: json.int64(o['dbSizeInUse'], 'dbSizeInUse'),
        isLearner: json.bool(o['isLearner'], 'isLearner'),
        alarms: alarms.alarms,
        errors: json.asArray(o['errors'], 'errors').map((e, i) => json.str(e, `errors[${i}]`)),
      };
    } catch (err) {
      throw toTabdError(err);
    }
  }

  memberList(): Promise<MemberListResponse> {
    return this.call('/v3/cluster/member/list', {}, (v) => {
      const o = asObject(v, 'member list answer');
      const strs = (x: Json | undefined, what: string) =>
        json.asArray(x, what).map((s, i) => json.str(s, `${what}[${i}]`));
      return {
        header: decodeHeader(o['header']),
        members: json.asArray(o['members'], 'members').map((m, i) => {
          const mo = asObject(m, `members[${i}]`);
          return {
            id: json.str(mo['ID'], 'ID'),
            name: json.str(mo['name'], 'name'),
            peerUrls: strs(mo['peerURLs'], 'peerURLs'),
            clientUrls: strs(mo['clientURLs'], 'clientURLs'),
            isLearner: json.bool(mo['isLearner'], 'isLearner'),
          };
        }),
      };
    });
  }

  private decodeAlarms(v: Json): AlarmResponse {
    const o = asObject(v, 'alarm answer');
    return {
      // etcd leaves the header out of an alarm answer with no alarms.
      header: decodeHeader(o['header']),
      alarms: json.asArray(o['alarms'], 'alarms').map((a, i): AlarmMember => {
        const ao = asObject(a, `alarms[${i}]`);
        const alarm = json.str(ao['alarm'], 'alarm');
        if (alarm !== 'NOSPACE' && alarm !== 'CORRUPT')
          throw new InternalError(`unknown alarm '${alarm}'`);
        return { memberId: json.str(ao['memberID'], 'memberID'), alarm };
      }),
    };
  }

  alarmList(): Promise<AlarmResponse> {
    return this.call('/v3/maintenance/alarm', { action: 'GET' }, (v) => this.decodeAlarms(v));
  }

  async alarmDisarm(): Promise<AlarmResponse> {
    const armed = await this.alarmList();
    const cleared: AlarmMember[] = [];
    let header = armed.header;
    for (const a of armed.alarms) {
      if (a.alarm !== 'NOSPACE') continue;
      const r = await this.call(
        '/v3/maintenance/alarm',
        { action: 'DEACTIVATE', memberID: a.memberId, alarm: 'NOSPACE' },
        (v) => this.decodeAlarms(v),
      );
      header = r.header.memberId === '' ? header : r.header;
      cleared.push(a);
    }
    return { header, alarms: cleared };
  }

  /** close cancels this client's watches, keepAlives and unanswered calls (they reject client-closed). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ka of this.keepAlives) ka.close();
    for (const ac of this.inflight) ac.abort();
    await Promise.all([...this.watches].map((w) => w.cancel()));
  }
}

export type { TabdError };
