// Watch: the client side of one etcd watch, shared by both backends.
//
// A backend feeds a WatchStream (created, responses, end) from wherever its answers come from —
// synchronously from inside the local node's apply, or from an HTTP stream — and the stream hands
// them to the application asynchronously, in order, through two interfaces:
//  - async iteration: `for await (const resp of watch)` yields every response with events and
//    every progress notification; the loop ends when the watch is canceled, and throws
//    CompactedError (the watch fell behind compaction) or the error that ended it;
//  - listeners: `watch.on('events' | 'progress' | 'canceled' | 'error', fn)`.
// Responses that arrive before the first consumer attaches are held for it, so
// `const w = client.watch(k); ...; for await (const r of w)` misses nothing.
//
// Guarantees (DESIGN.md §1): events arrive in revision order, each revision whole; a watch is
// never silently skipped forward: it ends with `compacted` (and the compact revision) or an
// error. `lastRevision` is the newest revision whose events were all received (the last event's,
// or a progress notification's); `resume()` starts a new watch at lastRevision + 1, so the two
// watches together see every event exactly once.
//
// User code never runs inside a backend callback: every delivery goes through a microtask, so a
// listener may call the client (put, cancel, ...) without re-entering the node.
import { CompactedError, type Revision, type WatchEvent } from '../kv/index.js';
import { WatchCanceledError, WatchOverflowError, toTabdError, type TabdError } from './errors.js';
import type { ResponseHeader, WatchOptions } from './types.js';

/** WatchResponse is one batch of events (whole revisions, in order), or a progress notification. */
export interface WatchResponse {
  readonly header: ResponseHeader;
  readonly events: readonly WatchEvent[];
  /** progressNotify: no events; every event up to header.revision has been delivered. */
  readonly progressNotify: boolean;
}

/** WatchEnd says why a watch ended. */
export type WatchEnd =
  | { readonly reason: 'canceled' }
  | {
      readonly reason: 'compacted';
      readonly compactRevision: number;
      readonly error: CompactedError;
    }
  | { readonly reason: 'error'; readonly error: TabdError };

export interface WatchListeners {
  events: (resp: WatchResponse) => void;
  progress: (resp: WatchResponse) => void;
  /** canceled: the watch ended, for any reason (cancel(), compaction, error). */
  canceled: (end: WatchEnd) => void;
  /** error: the watch ended with an error (compacted included), or a listener threw. */
  error: (err: TabdError) => void;
}

/** Watch follows a key or a range; see the file comment. */
export interface Watch extends AsyncIterable<WatchResponse> {
  readonly key: Uint8Array;
  readonly options: WatchOptions;
  /** lastRevision: every event up to it was received (0 before the watch is created, without startRevision). */
  readonly lastRevision: number;
  /** created resolves with the creation header (its revision is where a watch without startRevision starts after). */
  readonly created: Promise<ResponseHeader>;
  /** done resolves when the watch ends, with the reason. */
  readonly done: Promise<WatchEnd>;
  readonly isDone: boolean;
  /** on adds a listener and returns the function that removes it. */
  on<K extends keyof WatchListeners>(type: K, fn: WatchListeners[K]): () => void;
  /** cancel ends the watch (responses already received are still delivered first). */
  cancel(): Promise<void>;
  /** requestProgress asks for a progress notification now. */
  requestProgress(): Promise<void>;
  /** resume cancels this watch (if still live) and starts the same watch at lastRevision + 1. */
  resume(): Watch;
}

/** WatchBackend is what a WatchStream needs from the backend that created it. */
export interface WatchBackend {
  /** cancel asks the server to end the watch; the backend then calls end({reason: 'canceled'}). */
  cancel(): void;
  requestProgress(): Promise<void>;
  /** restart opens the same watch again with these options (for resume). */
  restart(options: WatchOptions): Watch;
}

type Item =
  | { readonly kind: 'response'; readonly resp: WatchResponse }
  | { readonly kind: 'end'; readonly end: WatchEnd };

interface IterState {
  readonly queue: Item[];
  wake: (() => void) | undefined;
  finished: boolean;
}

const DEFAULT_MAX_BUFFERED = 10_000;

/** WatchStream implements Watch for a backend. */
export class WatchStream implements Watch {
  readonly key: Uint8Array;
  readonly options: WatchOptions;
  readonly created: Promise<ResponseHeader>;
  readonly done: Promise<WatchEnd>;
  private backend: WatchBackend | undefined;
  private resolveCreated!: (h: ResponseHeader) => void;
  private rejectCreated!: (e: TabdError) => void;
  private resolveDone!: (e: WatchEnd) => void;
  private isCreated = false;
  private ended: WatchEnd | undefined;
  private last: number;
  private readonly maxBuffered: number;
  /** inbox: items received, not yet dispatched (a microtask dispatches them). */
  private inbox: Item[] = [];
  private flushScheduled = false;
  /** held: items dispatched before any consumer attached. */
  private held: Item[] = [];
  private hasConsumer = false;
  /** endDelivered: the end, once handed to consumers (a later iterator gets it at once). */
  private endDelivered: Item | undefined;
  private endAnnounced = false;
  private readonly iterators = new Set<IterState>();
  private readonly listeners: { [K in keyof WatchListeners]: Set<WatchListeners[K]> } = {
    events: new Set(),
    progress: new Set(),
    canceled: new Set(),
    error: new Set(),
  };

  constructor(key: Uint8Array, options: WatchOptions) {
    this.key = key;
    this.options = options;
    const start = options.startRevision ?? 0;
    this.last = start > 0 ? start - 1 : 0;
    this.maxBuffered = options.maxBufferedResponses ?? DEFAULT_MAX_BUFFERED;
    this.created = new Promise<ResponseHeader>((resolve, reject) => {
      this.resolveCreated = resolve;
      this.rejectCreated = reject;
    });
    // A watch that fails before creation rejects `created`; nobody has to await it.
    this.created.catch(() => {});
    this.done = new Promise<WatchEnd>((resolve) => (this.resolveDone = resolve));
  }

  /** attach connects the backend (done by the client right after constructing the stream). */
  attach(backend: WatchBackend): void {
    this.backend = backend;
  }

  get lastRevision(): number {
    return this.last;
  }

  get isDone(): boolean {
    return this.ended !== undefined;
  }

  // ---- fed by the backend (may run inside the server: no user code here) ----

  /** pushCreated: the server created the watch; header.revision is the store revision then. */
  pushCreated(header: ResponseHeader): void {
    if (this.ended || this.isCreated) return;
    this.isCreated = true;
    if ((this.options.startRevision ?? 0) <= 0) this.last = Math.max(this.last, header.revision);
    this.resolveCreated(header);
  }

  /** pushResponse: events (whole revisions) or a progress notification. Returns false once ended. */
  pushResponse(resp: WatchResponse): boolean {
    if (this.ended) return false;
    if (this.backlog() >= this.maxBuffered) {
      // Not accepted: lastRevision stays at the last accepted revision, so resuming loses nothing.
      this.backend?.cancel();
      this.pushEnd({ reason: 'error', error: new WatchOverflowError(this.maxBuffered) });
      return false;
    }
    const lastEvent = resp.events.at(-1);
    if (lastEvent !== undefined) this.last = Math.max(this.last, lastEvent.kv.modRevision);
    else if (resp.progressNotify) this.last = Math.max(this.last, resp.header.revision);
    this.enqueue({ kind: 'response', resp });
    return true;
  }

  /** pushEnd: the watch is over (the first end wins). */
  pushEnd(end: WatchEnd): void {
    if (this.ended) return;
    this.ended = end;
    if (!this.isCreated) {
      const err =
        end.reason === 'canceled'
          ? new WatchCanceledError('canceled before it was created')
          : end.error;
      this.rejectCreated(err);
    }
    this.enqueue({ kind: 'end', end });
  }

  private backlog(): number {
    let n = this.inbox.length + this.held.length;
    for (const it of this.iterators) n = Math.max(n, this.inbox.length + it.queue.length);
    return n;
  }

  private enqueue(item: Item): void {
    this.inbox.push(item);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const items = this.inbox;
    this.inbox = [];
    for (const item of items) this.dispatch(item);
  }

  private dispatch(item: Item): void {
    // With no consumer yet, the end is announced at once (held events wait for a later iterator);
    // otherwise it is announced when delivered, after the events before it.
    if (item.kind === 'end' && !this.hasConsumer) this.announceEnd(item.end);
    // Until the held items have been handed over, newer ones queue behind them (order).
    if (!this.hasConsumer || this.held.length > 0) {
      this.held.push(item);
      return;
    }
    this.deliver(item);
  }

  private announceEnd(end: WatchEnd): void {
    if (this.endAnnounced) return;
    this.endAnnounced = true;
    this.resolveDone(end);
    this.emit('canceled', end);
    if (end.reason !== 'canceled') this.emit('error', end.error);
  }

  private deliver(item: Item): void {
    if (item.kind === 'end') {
      this.endDelivered = item;
      this.announceEnd(item.end);
    }
    if (item.kind === 'response') {
      if (item.resp.events.length > 0) this.emit('events', item.resp);
      else this.emit('progress', item.resp);
    }
    for (const it of this.iterators) {
      it.queue.push(item);
      const wake = it.wake;
      it.wake = undefined;
      wake?.();
    }
  }

  private emit<K extends keyof WatchListeners>(
    type: K,
    arg: Parameters<WatchListeners[K]>[0],
  ): void {
    for (const fn of [...this.listeners[type]]) {
      try {
        (fn as (a: typeof arg) => void)(arg);
      } catch (err) {
        if (type !== 'error' && this.listeners.error.size > 0) this.emit('error', toTabdError(err));
        // A throwing listener is a bug in the application: surface it, outside our call stack.
        else
          setTimeout(() => {
            throw err;
          }, 0);
      }
    }
  }

  private consumerAttached(): void {
    if (this.hasConsumer) return;
    this.hasConsumer = true;
    if (this.held.length === 0) return;
    // Deliver what was held after the caller has finished attaching (a microtask later).
    queueMicrotask(() => {
      while (this.held.length > 0) this.deliver(this.held.shift()!);
    });
  }

  // ---- application side ----

  on<K extends keyof WatchListeners>(type: K, fn: WatchListeners[K]): () => void {
    this.listeners[type].add(fn);
    if (type === 'events' || type === 'progress') this.consumerAttached();
    return () => {
      this.listeners[type].delete(fn);
    };
  }

  async cancel(): Promise<void> {
    if (!this.ended) this.backend?.cancel();
    // The backend ends the stream; a backend that cannot reach its server ends it anyway.
    this.pushEnd({ reason: 'canceled' });
    await this.done;
  }

  requestProgress(): Promise<void> {
    if (this.ended) return Promise.reject(new WatchCanceledError('the watch has ended'));
    return this.backend!.requestProgress();
  }

  resume(): Watch {
    if (!this.ended) void this.cancel();
    const known = this.isCreated || (this.options.startRevision ?? 0) > 0;
    const opts: WatchOptions = known
      ? { ...this.options, startRevision: this.last + 1 }
      : this.options;
    return this.backend!.restart(opts);
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchResponse> {
    const it: IterState = {
      queue: this.endDelivered ? [this.endDelivered] : [],
      wake: undefined,
      finished: false,
    };
    this.iterators.add(it);
    this.consumerAttached();
    const finish = (): void => {
      it.finished = true;
      this.iterators.delete(it);
      const wake = it.wake;
      it.wake = undefined;
      wake?.();
    };
    return {
      next: async (): Promise<IteratorResult<WatchResponse>> => {
        for (;;) {
          if (it.finished) return { done: true, value: undefined };
          const item = it.queue.shift();
          if (item === undefined) {
            await new Promise<void>((resolve) => (it.wake = resolve));
            continue;
          }
          if (item.kind === 'response') return { done: false, value: item.resp };
          finish();
          if (item.end.reason === 'canceled') return { done: true, value: undefined };
          throw item.end.error;
        }
      },
      // Leaving a for-await loop early (break, return, throw) cancels the watch.
      return: async (): Promise<IteratorResult<WatchResponse>> => {
        if (!it.finished) {
          finish();
          if (!this.ended) await this.cancel();
        }
        return { done: true, value: undefined };
      },
    };
  }
}

/** compactedEnd builds the end of a watch that fell behind compaction. */
export function compactedEnd(compactRevision: number): WatchEnd {
  return { reason: 'compacted', compactRevision, error: new CompactedError(compactRevision) };
}

/** revisionOf brands a number from a trusted source as a Revision. */
export function revisionOf(n: number): Revision {
  return n as Revision;
}
