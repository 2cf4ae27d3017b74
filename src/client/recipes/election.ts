// Election: leader election over a key prefix (clientv3/concurrency's Election).
//
// Each candidate puts `<prefix>/<lease hex>` attached to its session's lease; the candidate
// whose key has the lowest create revision is the leader. campaign() waits until every key
// created before ours is gone (watching only the one just before ours, so a leader change wakes
// one waiter, not all), then re-checks that our own key still exists: if the session expired
// while waiting, the key is gone and we are not the leader. A leader that vanishes loses its
// key when its lease expires, and the next candidate takes over.
import type { KeyValue, Revision } from '../../kv/index.js';
import { text } from '../bytes.js';
import { ElectionNoLeaderError, ElectionNotLeaderError, SessionExpiredError } from '../errors.js';
import { compare, op } from '../txn-builder.js';
import type { ResponseHeader } from '../types.js';
import type { WatchResponse } from '../watch.js';
import { leaseKeySuffix, type Session } from './session.js';
import { aborted, raceAlive, waitDeletes } from './wait.js';

/** LeaderInfo is the current leader's key-value (its value is what the leader proclaimed). */
export interface LeaderInfo {
  readonly kv: KeyValue;
  readonly header: ResponseHeader;
}

export class Election {
  private readonly prefix: string;
  private myKey: string | undefined;
  private myRev: Revision | 0 = 0;
  /** leading: campaign() completed and we have not resigned (proclaim needs it; etcd only needs a pending campaign). */
  private leading = false;

  /** @param prefix the election's name; keys live under `<prefix>/`. */
  constructor(
    readonly session: Session,
    prefix: string,
  ) {
    this.prefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
  }

  /** key is our candidate key while campaigning or leading. */
  get key(): string | undefined {
    return this.myKey;
  }

  /** rev is our key's create revision (0 when not a candidate): a fencing token for the leadership. */
  get rev(): number {
    return this.myRev;
  }

  /**
   * campaign puts our candidacy with `value` and resolves once we are the leader. It rejects
   * with SessionExpiredError if the session ends first, or AbortedError if signal fires (the
   * candidacy is then withdrawn).
   */
  async campaign(
    value: string | Uint8Array,
    opts: { readonly signal?: AbortSignal } = {},
  ): Promise<void> {
    const client = this.session.client;
    const key = this.prefix + leaseKeySuffix(this.session.lease);
    const resp = await raceAlive(
      this.session,
      opts.signal,
      client
        .if(compare.createRevision(key, '=', 0))
        .then(op.put(key, value, { lease: this.session.lease }))
        .else(op.get(key))
        .commit(),
    );
    this.myKey = key;
    if (resp.succeeded) {
      this.myRev = resp.header.revision;
    } else {
      const r = resp.responses[0];
      const kv = r?.type === 'range' ? r.response.kvs[0] : undefined;
      if (kv === undefined) throw new SessionExpiredError();
      this.myRev = kv.createRevision;
      const want = typeof value === 'string' ? value : text(value);
      if (text(kv.value) !== want && !(await this.putValue(value)))
        throw new ElectionNotLeaderError();
    }
    try {
      await waitDeletes(this.session, this.prefix, this.myRev - 1, opts.signal);
      // Our key may have gone with our lease while we waited: then someone else may lead.
      const mine = await raceAlive(this.session, opts.signal, client.get(key));
      const kv = mine.kvs[0];
      if (kv === undefined || kv.createRevision !== this.myRev) throw new SessionExpiredError();
      this.leading = true;
    } catch (err) {
      await this.resign().catch(() => {});
      throw err;
    }
  }

  /** putValue writes value to our key if it is still our incarnation of it. */
  private async putValue(value: string | Uint8Array): Promise<boolean> {
    if (this.myKey === undefined) return false;
    const r = await this.session.client
      .if(compare.createRevision(this.myKey, '=', this.myRev))
      .then(op.put(this.myKey, value, { lease: this.session.lease }))
      .commit();
    return r.succeeded;
  }

  /**
   * proclaim changes the leader's value without an election; rejects election-not-leader unless
   * campaign() has completed and our key still exists (stricter than etcd, which lets a pending
   * candidate overwrite its own key).
   */
  async proclaim(value: string | Uint8Array): Promise<void> {
    if (!this.leading) throw new ElectionNotLeaderError();
    if (!(await this.putValue(value))) {
      // Our key is gone (session expired) or was replaced: we do not lead any more.
      this.leading = false;
      this.myKey = undefined;
      this.myRev = 0;
      throw new ElectionNotLeaderError();
    }
  }

  /** resign withdraws our candidacy or leadership (a new election follows). */
  async resign(): Promise<void> {
    if (this.myKey === undefined) return;
    const key = this.myKey;
    const rev = this.myRev;
    this.myKey = undefined;
    this.myRev = 0;
    this.leading = false;
    await this.session.client
      .if(compare.createRevision(key, '=', rev))
      .then(op.delete(key))
      .commit();
  }

  /** leader answers the current leader's key-value; rejects election-no-leader when there is none. */
  async leader(): Promise<LeaderInfo> {
    const r = await this.session.client.get(this.prefix, {
      prefix: true,
      sortTarget: 'CREATE',
      sortOrder: 'ASCEND',
      limit: 1,
    });
    const kv = r.kvs[0];
    if (kv === undefined) throw new ElectionNoLeaderError();
    return { kv, header: r.header };
  }

  /**
   * observe yields the leader's key-value whenever the leader or its value changes, until the
   * loop is left or signal fires. It needs no session of its own (any client may observe).
   */
  async *observe(
    opts: { readonly signal?: AbortSignal } = {},
  ): AsyncGenerator<LeaderInfo, void, undefined> {
    const client = this.session.client;
    const stop = aborted(opts.signal);
    stop.catch(() => {});
    const until = <T>(p: Promise<T>): Promise<T> => Promise.race([p, stop]);
    for (;;) {
      const r = await until(
        client.get(this.prefix, {
          prefix: true,
          sortTarget: 'CREATE',
          sortOrder: 'ASCEND',
          limit: 1,
        }),
      );
      let leader: LeaderInfo | undefined =
        r.kvs[0] === undefined ? undefined : { kv: r.kvs[0], header: r.header };
      if (leader === undefined) {
        // Nobody leads: the first candidate to put a key will.
        const w = client.watch(this.prefix, {
          prefix: true,
          startRevision: r.header.revision,
          noDelete: true,
        });
        try {
          for await (const resp of watchUntil(w, stop)) {
            const ev = resp.events.find((e) => e.type === 'PUT');
            if (ev !== undefined) {
              leader = { kv: ev.kv, header: { ...resp.header, revision: ev.kv.modRevision } };
              break;
            }
          }
        } finally {
          void w.cancel();
        }
        if (leader === undefined) continue;
      }
      yield leader;
      // Follow the leader's key: value changes are yielded, its deletion starts over.
      const w = client.watch(leader.kv.key, { startRevision: leader.header.revision + 1 });
      try {
        for await (const resp of watchUntil(w, stop)) {
          let deleted = false;
          for (const ev of resp.events) {
            if (ev.type === 'DELETE') {
              deleted = true;
              break;
            }
            yield { kv: ev.kv, header: resp.header };
          }
          if (deleted) break;
        }
      } finally {
        void w.cancel();
      }
    }
  }
}

/** watchUntil iterates w until it ends or stop rejects (then rethrows that). A compacted or broken watch just ends (the caller looks again). */
async function* watchUntil(w: AsyncIterable<WatchResponse>, stop: Promise<never>) {
  const it = w[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<WatchResponse>;
      try {
        next = await Promise.race([it.next(), stop]);
      } catch (err) {
        if ((err as { code?: string }).code === 'aborted') throw err;
        return;
      }
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    await it.return?.();
  }
}
