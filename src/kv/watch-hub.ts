// WatchHub: watchers over the store's history (etcd's watchableStore and the watch server's
// per-watcher options), delivering to synchronous sinks.
//
// A watcher is either synced (it has every event up to the current revision and receives each
// new revision as it is applied, one response per revision, atomic) or slow. Catch-up from a
// past startRevision reads the store's per-revision log in batches of at most
// watchBatchMaxRevisions revisions, each response carrying the current revision in its header
// (as etcd's catch-up does). A start below the compact revision cancels the watcher with
// compactRevision set (header revision 0, as etcd sends).
//
// Buffering is bounded by design: the hub never queues events per watcher. When a sink refuses a
// response (returns false), the watcher turns slow and keeps only that one response (or the
// fragments of it not yet taken); events after it stay in the store's history. resume(id)
// re-sends the kept response and catches up from history, or cancels with the compact revision
// if compaction overtook the watcher meanwhile (etcd's victim and unsynced lists, where the
// history is the buffer). So memory per watcher is at most one response.
//
// Control responses (created, canceled) are always treated as delivered. Progress notifications
// a sink refuses are dropped (a later one supersedes them).
import type {
  KeyValue,
  Revision,
  WatchCreateRequest,
  WatchEvent,
  WatchId,
  WatchResponse,
  WatchSink,
} from './types.js';
import { EventType, isFromKey, bytesToLatin1 } from './types.js';
import type { KvConfig } from './config.js';
import { versionAt, type KeySpan, type Mvcc, type RevisionChanges } from './mvcc.js';
import type { KeyEntry } from './key-index.js';

interface Watcher {
  readonly id: WatchId;
  readonly span: KeySpan;
  readonly prevKv: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly progressNotify: boolean;
  readonly fragment: boolean;
  readonly sink: WatchSink;
  /** minRev: the next revision this watcher needs. */
  minRev: number;
  slow: boolean;
  /** pending: what the sink refused, re-sent first by resume(). */
  pending: WatchResponse[];
  sentSinceProgress: boolean;
}

/** WATCH_RANGE_EMPTY is etcd's cancel reason for a watch whose key >= rangeEnd. */
export const WATCH_RANGE_EMPTY = 'mvcc: watcher range is empty';

export class WatchHub {
  private readonly watchers = new Map<number, Watcher>();
  private readonly singleKey = new Map<string, Set<Watcher>>();
  private readonly ranged = new Set<Watcher>();
  private nextId = 0;
  private sinkErrors: unknown[] = [];

  constructor(
    private readonly mvcc: Mvcc,
    private readonly config: Pick<KvConfig, 'watchBatchMaxRevisions' | 'maxRequestBytes'>,
  ) {}

  /** size is the number of watchers. */
  get size(): number {
    return this.watchers.size;
  }

  /** slowIds lists the watchers waiting for resume(). */
  slowIds(): WatchId[] {
    return [...this.watchers.values()].filter((w) => w.slow).map((w) => w.id);
  }

  private get currentHeader(): { revision: Revision } {
    return { revision: this.mvcc.currentRevision as Revision };
  }

  private response(
    id: number,
    header: { revision: Revision },
    extra: Partial<WatchResponse>,
  ): WatchResponse {
    return {
      watchId: id as WatchId,
      header,
      created: false,
      canceled: false,
      compactRevision: 0,
      cancelReason: '',
      fragment: false,
      events: [],
      ...extra,
    };
  }

  /**
   * watch creates a watcher: the sink first gets {created: true}, then any catch-up from
   * startRevision, then every later revision in the range. An empty key means "\0"; a key >=
   * rangeEnd answers created+canceled with watchId -1, as etcd does, and returns -1.
   */
  watch(req: WatchCreateRequest, sink: WatchSink): WatchId {
    const key = req.key.length === 0 ? new Uint8Array([0]) : req.key;
    const start = bytesToLatin1(key);
    let span: KeySpan;
    if (req.rangeEnd === undefined || req.rangeEnd.length === 0) span = { start, end: undefined };
    else if (isFromKey(req.rangeEnd)) span = { start, end: null };
    else span = { start, end: bytesToLatin1(req.rangeEnd) };
    if (typeof span.end === 'string' && start >= span.end) {
      this.call(
        sink,
        this.response(-1, this.currentHeader, {
          created: true,
          canceled: true,
          cancelReason: WATCH_RANGE_EMPTY,
        }),
      );
      this.rethrowSinkErrors();
      return -1 as WatchId;
    }
    const w: Watcher = {
      id: this.nextId++ as WatchId,
      span,
      prevKv: req.prevKv === true,
      noPut: req.filters?.noPut === true,
      noDelete: req.filters?.noDelete === true,
      progressNotify: req.progressNotify === true,
      fragment: req.fragment === true,
      sink,
      minRev: 0,
      slow: false,
      pending: [],
      sentSinceProgress: false,
    };
    this.add(w);
    this.call(sink, this.response(w.id, this.currentHeader, { created: true }));
    const startRev = req.startRevision ?? 0;
    const current = this.mvcc.currentRevision;
    if (startRev <= 0 || startRev > current) {
      w.minRev = startRev > 0 ? startRev : current + 1;
    } else {
      w.minRev = startRev;
      this.catchUp(w);
    }
    this.rethrowSinkErrors();
    return w.id;
  }

  /** cancel removes a watcher and sends it {canceled: true}; false if there is no such watcher. */
  cancel(id: WatchId): boolean {
    const w = this.watchers.get(id);
    if (w === undefined) return false;
    this.remove(w);
    this.call(w.sink, this.response(id, this.currentHeader, { canceled: true }));
    this.rethrowSinkErrors();
    return true;
  }

  /**
   * progress sends a progress notification (no events, header = current revision) to every
   * synced watcher, or only to `id`; returns how many were sent. Slow watchers get none (etcd).
   */
  progress(id?: WatchId): number {
    let n = 0;
    for (const w of [...this.watchers.values()]) {
      if (w.slow || (id !== undefined && w.id !== id) || !this.watchers.has(w.id)) continue;
      this.call(w.sink, this.response(w.id, this.currentHeader, {}));
      n++;
    }
    this.rethrowSinkErrors();
    return n;
  }

  /**
   * periodicProgress is etcd's progress_notify tick (the node calls it every interval): watchers
   * that asked for it and received nothing since the last tick get a progress notification.
   */
  periodicProgress(): number {
    let n = 0;
    for (const w of [...this.watchers.values()]) {
      if (w.progressNotify && !w.slow && !w.sentSinceProgress && this.watchers.has(w.id)) {
        this.call(w.sink, this.response(w.id, this.currentHeader, {}));
        n++;
      }
      w.sentSinceProgress = false;
    }
    this.rethrowSinkErrors();
    return n;
  }

  /**
   * resume retries a slow watcher: its kept response, then catch-up from history. Returns true
   * if the watcher is synced afterwards (false if still slow, canceled or unknown).
   */
  resume(id: WatchId): boolean {
    const w = this.watchers.get(id);
    if (w === undefined) return false;
    if (w.slow) {
      while (w.pending.length > 0) {
        if (!this.call(w.sink, w.pending[0]!)) break;
        w.pending.shift();
      }
      if (w.pending.length === 0) {
        w.slow = false;
        this.catchUp(w);
      }
    }
    this.rethrowSinkErrors();
    return this.watchers.has(id) && !w.slow;
  }

  /** notify delivers one applied revision's changes to the synced watchers (called by the store). */
  notify(rev: number, changes: RevisionChanges): void {
    const byWatcher = new Map<Watcher, WatchEvent[]>();
    for (let i = 0; i < changes.kvs.length; i++) {
      const kv = changes.kvs[i]!;
      const e = changes.entries[i]!;
      const singles = this.singleKey.get(e.keyStr);
      if (singles !== undefined) for (const w of singles) this.collect(byWatcher, w, rev, kv, e);
      for (const w of this.ranged)
        if (this.inSpan(w, e.keyStr)) this.collect(byWatcher, w, rev, kv, e);
    }
    for (const [w, events] of byWatcher) {
      if (!this.watchers.has(w.id) || w.slow || w.minRev > rev) continue;
      w.minRev = rev + 1;
      if (events.length === 0) continue;
      this.deliver(w, this.response(w.id, { revision: rev as Revision }, { events }));
    }
    this.rethrowSinkErrors();
  }

  private collect(
    byWatcher: Map<Watcher, WatchEvent[]>,
    w: Watcher,
    rev: number,
    kv: KeyValue,
    e: KeyEntry,
  ): void {
    if (w.slow || w.minRev > rev) return;
    let list = byWatcher.get(w);
    if (list === undefined) {
      list = [];
      byWatcher.set(w, list);
    }
    const ev = this.toEvent(w, kv, e);
    if (ev !== null) list.push(ev);
  }

  /** toEvent builds w's event for kv, or null if w's filters drop it. */
  private toEvent(w: Watcher, kv: KeyValue, e: KeyEntry): WatchEvent | null {
    const type = kv.version === 0 ? EventType.DELETE : EventType.PUT;
    if ((type === EventType.PUT && w.noPut) || (type === EventType.DELETE && w.noDelete))
      return null;
    // etcd reads prevKv at modRevision - 1 when sending; none for a creation, none if compacted.
    if (w.prevKv && !(type === EventType.PUT && kv.createRevision === kv.modRevision)) {
      const at = kv.modRevision - 1;
      const prevKv = at >= this.mvcc.compactRevision ? versionAt(e, at) : undefined;
      if (prevKv !== undefined) return { type, kv, prevKv };
    }
    return { type, kv };
  }

  /** catchUp sends w everything from w.minRev to the current revision, then w is synced. */
  private catchUp(w: Watcher): void {
    const mvcc = this.mvcc;
    while (this.watchers.has(w.id) && !w.slow) {
      if (w.minRev < mvcc.compactRevision) {
        this.remove(w);
        this.call(
          w.sink,
          this.response(
            w.id,
            { revision: 0 as Revision },
            { canceled: true, compactRevision: mvcc.compactRevision },
          ),
        );
        return;
      }
      const current = mvcc.currentRevision;
      if (w.minRev > current) return;
      const events: WatchEvent[] = [];
      let revs = 0;
      let r = Math.max(w.minRev, mvcc.revLogBase);
      for (; r <= current; r++) {
        const ch = mvcc.revLog[r - mvcc.revLogBase]!;
        if (!ch.entries.some((e) => this.inSpan(w, e.keyStr))) continue;
        // etcd counts revisions with events for w (before filters) per batch.
        if (revs === this.config.watchBatchMaxRevisions) break;
        revs++;
        for (let i = 0; i < ch.kvs.length; i++) {
          const e = ch.entries[i]!;
          if (!this.inSpan(w, e.keyStr)) continue;
          const ev = this.toEvent(w, ch.kvs[i]!, e);
          if (ev !== null) events.push(ev);
        }
      }
      w.minRev = r;
      if (events.length > 0)
        this.deliver(w, this.response(w.id, { revision: current as Revision }, { events }));
    }
  }

  private inSpan(w: Watcher, keyStr: string): boolean {
    const s = w.span;
    if (s.end === undefined) return keyStr === s.start;
    return keyStr >= s.start && (s.end === null || keyStr < s.end);
  }

  /** deliver sends an event response (in fragments if w asked and it is large); a refusal makes w slow. */
  private deliver(w: Watcher, resp: WatchResponse): void {
    w.sentSinceProgress = true;
    const parts = w.fragment ? fragmentResponse(resp, this.config.maxRequestBytes) : [resp];
    for (let i = 0; i < parts.length; i++) {
      if (!this.watchers.has(w.id)) return;
      if (!this.call(w.sink, parts[i]!)) {
        w.slow = true;
        w.pending = parts.slice(i);
        return;
      }
    }
  }

  private call(sink: WatchSink, resp: WatchResponse): boolean {
    try {
      return sink(resp) !== false;
    } catch (err) {
      // A throwing sink is a bug in its owner: drop that watcher, finish delivering to the
      // others, then rethrow so the bug is not silent.
      this.sinkErrors.push(err);
      for (const w of this.watchers.values()) if (w.sink === sink) this.remove(w);
      return true;
    }
  }

  private rethrowSinkErrors(): void {
    if (this.sinkErrors.length === 0) return;
    const errs = this.sinkErrors;
    this.sinkErrors = [];
    throw new Error(`watch sink threw (${errs.length}); its watcher was removed`, {
      cause: errs[0],
    });
  }

  private add(w: Watcher): void {
    this.watchers.set(w.id, w);
    if (w.span.end === undefined) {
      let s = this.singleKey.get(w.span.start);
      if (s === undefined) {
        s = new Set();
        this.singleKey.set(w.span.start, s);
      }
      s.add(w);
    } else {
      this.ranged.add(w);
    }
  }

  private remove(w: Watcher): void {
    this.watchers.delete(w.id);
    const s = this.singleKey.get(w.span.start);
    if (s !== undefined) {
      s.delete(w);
      if (s.size === 0) this.singleKey.delete(w.span.start);
    }
    this.ranged.delete(w);
  }
}

// ---- fragmentation (etcd's sendFragments, on an estimate of the protobuf size) ----

function varintSize(n: number): number {
  if (n < 0) return 10;
  let s = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    s++;
  }
  return s;
}
function fieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}
function kvSize(kv: KeyValue): number {
  let n = fieldSize(kv.key.length);
  if (kv.createRevision !== 0) n += 1 + varintSize(kv.createRevision);
  if (kv.modRevision !== 0) n += 1 + varintSize(kv.modRevision);
  if (kv.version !== 0) n += 1 + varintSize(kv.version);
  if (kv.value.length !== 0) n += fieldSize(kv.value.length);
  if (kv.lease !== '0') n += 1 + (kv.lease.startsWith('-') ? 10 : varintSize(Number(kv.lease)));
  return n;
}
/** eventSize is an event's size inside a WatchResponse, as protobuf would encode it. */
export function eventSize(ev: WatchEvent): number {
  let n = ev.type === EventType.DELETE ? 2 : 0;
  n += fieldSize(kvSize(ev.kv));
  if (ev.prevKv !== undefined) n += fieldSize(kvSize(ev.prevKv));
  return fieldSize(n);
}
/** RESPONSE_BASE_BYTES estimates a WatchResponse without events (header with cluster ids, watch id, flags). */
const RESPONSE_BASE_BYTES = 48;

/** fragmentResponse splits resp as etcd's sendFragments does, when its size reaches maxRequestBytes. */
export function fragmentResponse(resp: WatchResponse, maxRequestBytes: number): WatchResponse[] {
  const sizes = resp.events.map(eventSize);
  const total = sizes.reduce((a, b) => a + b, RESPONSE_BASE_BYTES);
  if (total < maxRequestBytes || resp.events.length < 2) return [resp];
  const out: WatchResponse[] = [];
  let idx = 0;
  for (;;) {
    const events: WatchEvent[] = [];
    let size = RESPONSE_BASE_BYTES + 2;
    while (idx < resp.events.length) {
      const s = sizes[idx]!;
      if (events.length >= 1 && size + s >= maxRequestBytes) break;
      events.push(resp.events[idx]!);
      size += s;
      idx++;
    }
    const last = idx === resp.events.length;
    out.push({ ...resp, events, fragment: !last });
    if (last) return out;
  }
}
