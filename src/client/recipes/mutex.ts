// Mutex: a distributed lock over a key prefix (clientv3/concurrency's Mutex), with a fencing
// revision.
//
// lock() puts `<prefix>/<lease hex>` attached to the session's lease; the holder is the key with
// the lowest create revision. A waiter watches only the key just before its own, and once every
// earlier key is gone it RE-CHECKS that its own key still exists (its session may have expired
// while it waited, and then someone else may hold the lock). The create revision of our key is
// the fencing revision: it is unique and grows with every acquisition, so a resource that
// remembers the highest revision it has seen can refuse a holder that lost the lock (its session
// expired) but does not know it yet.
import { MutexLockedError, SessionExpiredError } from '../errors.js';
import { compare, op } from '../txn-builder.js';
import type { ResponseHeader } from '../types.js';
import { leaseKeySuffix, type Session } from './session.js';
import { raceAlive, waitDeletes } from './wait.js';

export class Mutex {
  private readonly prefix: string;
  private readonly myKey: string;
  private myRev = 0;
  private hdr: ResponseHeader | undefined;

  /** @param prefix the lock's name; keys live under `<prefix>/`. */
  constructor(
    readonly session: Session,
    prefix: string,
  ) {
    this.prefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.myKey = this.prefix + leaseKeySuffix(session.lease);
  }

  /** key is our queue key. */
  get key(): string {
    return this.myKey;
  }

  /** fencingRevision is our key's create revision while we hold (or wait for) the lock; 0 otherwise. */
  get fencingRevision(): number {
    return this.myRev;
  }

  /** header is the header of the answer that made us the holder. */
  get header(): ResponseHeader | undefined {
    return this.hdr;
  }

  /** tryAcquire queues our key (or finds it queued) and tells whether we hold the lock. */
  private async tryAcquire(signal: AbortSignal | undefined): Promise<boolean> {
    const client = this.session.client;
    const owner = op.get(this.prefix, {
      prefix: true,
      sortTarget: 'CREATE',
      sortOrder: 'ASCEND',
      limit: 1,
    });
    const resp = await raceAlive(
      this.session,
      signal,
      client
        .if(compare.createRevision(this.myKey, '=', 0))
        .then(op.put(this.myKey, '', { lease: this.session.lease }), owner)
        .else(op.get(this.myKey), owner)
        .commit(),
    );
    if (resp.succeeded) {
      this.myRev = resp.header.revision;
    } else {
      const r = resp.responses[0];
      const kv = r?.type === 'range' ? r.response.kvs[0] : undefined;
      if (kv === undefined) throw new SessionExpiredError();
      this.myRev = kv.createRevision;
    }
    const o = resp.responses[1];
    const ownerKv = o?.type === 'range' ? o.response.kvs[0] : undefined;
    this.hdr = resp.header;
    return ownerKv === undefined || ownerKv.createRevision === this.myRev;
  }

  /**
   * lock resolves once we hold the lock. It rejects with SessionExpiredError if the session ends
   * first (our key is then gone), or AbortedError if signal fires (our key is then removed).
   */
  async lock(opts: { readonly signal?: AbortSignal } = {}): Promise<void> {
    if (await this.tryAcquire(opts.signal)) return;
    const client = this.session.client;
    try {
      await waitDeletes(this.session, this.prefix, this.myRev - 1, opts.signal);
      const mine = await raceAlive(this.session, opts.signal, client.get(this.myKey));
      const kv = mine.kvs[0];
      if (kv === undefined || kv.createRevision !== this.myRev) {
        this.myRev = 0;
        throw new SessionExpiredError();
      }
      this.hdr = mine.header;
    } catch (err) {
      await this.unlock().catch(() => {});
      throw err;
    }
  }

  /** tryLock takes the lock if it is free, or rejects with mutex-locked at once. */
  async tryLock(): Promise<void> {
    if (await this.tryAcquire(undefined)) return;
    await this.unlock();
    throw new MutexLockedError();
  }

  /** unlock releases the lock (or leaves the queue). */
  async unlock(): Promise<void> {
    const rev = this.myRev;
    this.myRev = 0;
    this.hdr = undefined;
    if (rev === 0) {
      await this.session.client.delete(this.myKey);
      return;
    }
    // Only our own incarnation of the key: never a later one of the same session.
    await this.session.client
      .if(compare.createRevision(this.myKey, '=', rev))
      .then(op.delete(this.myKey))
      .commit();
  }

  /** isOwner asks the cluster whether we still hold the lock (our key exists with our revision and is first). */
  async isOwner(): Promise<boolean> {
    if (this.myRev === 0) return false;
    const r = await this.session.client.get(this.prefix, {
      prefix: true,
      sortTarget: 'CREATE',
      sortOrder: 'ASCEND',
      limit: 1,
    });
    const first = r.kvs[0];
    return first !== undefined && first.createRevision === this.myRev;
  }
}
