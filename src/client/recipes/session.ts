// Session: a lease kept alive for as long as this client is alive (clientv3/concurrency's
// Session). Election and Mutex attach their keys to it, so when the tab dies or loses the
// cluster, the lease expires and its keys are deleted: the lock is released, the candidacy ends.
import type { LeaseId } from '../../kv/index.js';
import { SessionExpiredError, type LeaseLostError } from '../errors.js';
import type { KeepAlive } from '../keep-alive.js';
import type { KvClient, LeaseIdInput } from '../types.js';

export interface SessionOptions {
  /** ttlSeconds: the lease TTL; how long the keys outlive this client if it vanishes. Default 60. */
  readonly ttlSeconds?: number;
  /** leaseId: use this existing lease instead of granting one. */
  readonly leaseId?: LeaseIdInput;
}

/** Session owns a lease and its keepAlive. */
export class Session {
  /** done resolves when the session ends: undefined after close()/orphan(), the error when the lease was lost. */
  readonly done: Promise<LeaseLostError | undefined>;
  private ended = false;

  private constructor(
    readonly client: KvClient,
    readonly lease: LeaseId,
    readonly ttlSeconds: number,
    private readonly keepAlive: KeepAlive,
  ) {
    this.done = keepAlive.closed.then((v) => {
      this.ended = true;
      return v;
    });
  }

  /** create grants the lease (or adopts opts.leaseId) and starts keeping it alive. */
  static async create(client: KvClient, opts: SessionOptions = {}): Promise<Session> {
    const ttl = opts.ttlSeconds ?? 60;
    let id: LeaseId;
    if (opts.leaseId === undefined) {
      id = (await client.grant(ttl)).id;
    } else {
      const r = await client.timeToLive(opts.leaseId);
      if (r.ttlSeconds <= 0) throw new SessionExpiredError();
      id = r.id;
    }
    return new Session(client, id, ttl, client.keepAlive(id, { ttlSeconds: ttl }));
  }

  /** isExpired: the session ended (lost, closed or orphaned). */
  get isExpired(): boolean {
    return this.ended || this.keepAlive.isLost;
  }

  /** orphan stops renewing without revoking: the keys live until the lease expires. */
  orphan(): void {
    this.keepAlive.close();
  }

  /** close stops renewing and revokes the lease, deleting every key of this session. */
  async close(): Promise<void> {
    this.keepAlive.close();
    try {
      await this.client.revoke(this.lease);
    } catch (err) {
      // Already gone is fine: the keys are deleted either way.
      if ((err as { code?: string }).code !== 'lease-not-found') throw err;
    }
  }

  /** expired rejects with SessionExpiredError when the session's lease is lost (for Promise.race). */
  expired(): Promise<never> {
    return this.done.then((lost) => {
      throw new SessionExpiredError(lost === undefined ? undefined : { cause: lost });
    });
  }
}

/** leaseKeySuffix is etcd's `%x` of a lease id: the key a session's candidacy or lock uses. */
export function leaseKeySuffix(id: LeaseId): string {
  return BigInt.asUintN(64, BigInt(id)).toString(16);
}
