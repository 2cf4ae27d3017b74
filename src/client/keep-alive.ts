// KeepAlive: a handle that keeps a lease alive by renewing it every TTL/3 (clientv3's
// KeepAlive), shared by both backends: it only needs keepAliveOnce.
//
// Loss is reported, never guessed away: the lease counts as lost when the server says it is gone
// (lease-not-found), or when no renewal has succeeded for a whole TTL measured from the moment
// the last successful renewal was *sent* (the server renewed it no earlier than that, so by then
// it may have expired). Transient errors (timeout, no-quorum, unavailable) are retried until then.
import type { LeaseId } from '../kv/index.js';
import { LeaseNotFoundError } from '../kv/index.js';
import { LeaseLostError, toTabdError, type TabdError } from './errors.js';
import type { LeaseKeepAliveResponse } from './types.js';

export interface KeepAliveOptions {
  /**
   * ttlSeconds: the lease's TTL if known; bounds the wait for the first renewal (otherwise the
   * first renewal must succeed within 5 lease seconds).
   */
  readonly ttlSeconds?: number;
}

export interface KeepAliveEvents {
  /** keepalive: a renewal succeeded. */
  keepalive: (resp: LeaseKeepAliveResponse) => void;
  /** lost: the lease is gone or may have expired; the handle has stopped. */
  lost: (err: LeaseLostError) => void;
}

/** KeepAlive renews one lease until close() or until the lease is lost. */
export interface KeepAlive {
  readonly id: LeaseId;
  /** ttlSeconds: the TTL from the last renewal (0 before the first). */
  readonly ttlSeconds: number;
  /** closed resolves when the handle stops: undefined after close(), the error when the lease was lost. */
  readonly closed: Promise<LeaseLostError | undefined>;
  readonly isLost: boolean;
  on<K extends keyof KeepAliveEvents>(type: K, fn: KeepAliveEvents[K]): () => void;
  /** close stops renewing (the lease itself is left to expire; revoke it to end it now). */
  close(): void;
}

/** now is a monotonic clock in ms. */
const now = (): number => performance.now();

/** KeepAliveLoop implements KeepAlive over a keepAliveOnce function. */
export class KeepAliveLoop implements KeepAlive {
  readonly closed: Promise<LeaseLostError | undefined>;
  private resolveClosed!: (v: LeaseLostError | undefined) => void;
  private ttl = 0;
  private stopped = false;
  private lost = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** watchdog fires at the deadline, even while a renewal is still unanswered. */
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  /** deadline: when the lease may have expired if no renewal succeeds before (ms, monotonic). */
  private deadline: number;
  private readonly listeners: { [K in keyof KeepAliveEvents]: Set<KeepAliveEvents[K]> } = {
    keepalive: new Set(),
    lost: new Set(),
  };

  /**
   * @param once renews the lease once (the client's keepAliveOnce).
   * @param leaseSecondMs how long a lease second lasts in wall-clock ms (1000 except in tests
   *   whose nodes run lease time faster).
   */
  constructor(
    readonly id: LeaseId,
    private readonly once: (id: LeaseId) => Promise<LeaseKeepAliveResponse>,
    private readonly leaseSecondMs: number,
    opts: KeepAliveOptions = {},
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.deadline = now() + (opts.ttlSeconds ?? 5) * leaseSecondMs;
    this.armWatchdog();
    this.renew();
  }

  get ttlSeconds(): number {
    return this.ttl;
  }

  get isLost(): boolean {
    return this.lost;
  }

  on<K extends keyof KeepAliveEvents>(type: K, fn: KeepAliveEvents[K]): () => void {
    this.listeners[type].add(fn);
    return () => {
      this.listeners[type].delete(fn);
    };
  }

  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    this.resolveClosed(undefined);
  }

  private clearTimers(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.timer = this.watchdog = undefined;
  }

  private armWatchdog(): void {
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(
      () => {
        this.watchdog = undefined;
        if (now() >= this.deadline) this.markLost(undefined);
        else this.armWatchdog();
      },
      Math.max(0, this.deadline - now()),
    );
  }

  private renew(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const sentAt = now();
    this.once(this.id).then(
      (resp) => {
        if (this.stopped) return;
        this.ttl = resp.ttlSeconds;
        const ttlMs = resp.ttlSeconds * this.leaseSecondMs;
        this.deadline = sentAt + ttlMs;
        this.armWatchdog();
        this.emit('keepalive', resp);
        this.schedule(ttlMs / 3);
      },
      (err: unknown) => {
        if (this.stopped) return;
        const e = toTabdError(err);
        if (e instanceof LeaseNotFoundError) return this.markLost(e);
        const left = this.deadline - now();
        if (left <= 0) return this.markLost(e);
        // Retry soon, but not in a tight loop, and stop at the deadline.
        const ttlMs = Math.max(this.ttl, 1) * this.leaseSecondMs;
        this.schedule(Math.min(left, Math.max(ttlMs / 10, 10)));
      },
    );
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.renew(), delayMs);
  }

  /** markLost: cause is the server's answer, or undefined when the deadline passed unanswered. */
  private markLost(cause: TabdError | undefined): void {
    if (this.stopped) return;
    this.stopped = true;
    this.lost = true;
    this.clearTimers();
    const err = new LeaseLostError(this.id, cause === undefined ? undefined : { cause });
    this.emit('lost', err);
    this.resolveClosed(err);
  }

  private emit<K extends keyof KeepAliveEvents>(
    type: K,
    arg: Parameters<KeepAliveEvents[K]>[0],
  ): void {
    for (const fn of [...this.listeners[type]]) {
      try {
        (fn as (a: typeof arg) => void)(arg);
      } catch (err) {
        setTimeout(() => {
          throw err;
        }, 0);
      }
    }
  }
}
