// Waiting helpers shared by Election and Mutex: wait until every key of a queue created before
// ours is deleted (clientv3/concurrency's waitDeletes), giving up when the session expires or the
// caller aborts.
import { AbortedError } from '../errors.js';
import type { Watch } from '../watch.js';
import type { Session } from './session.js';

/** aborted rejects with AbortedError when signal fires (never settles without a signal). */
export function aborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal === undefined) return;
    if (signal.aborted) return reject(new AbortedError({ cause: signal.reason }));
    signal.addEventListener('abort', () => reject(new AbortedError({ cause: signal.reason })), {
      once: true,
    });
  });
}

/** raceAlive settles like p, unless the session ends (SessionExpiredError) or signal fires (AbortedError) first. */
export async function raceAlive<T>(
  session: Session,
  signal: AbortSignal | undefined,
  p: Promise<T>,
): Promise<T> {
  return Promise.race([p, session.expired(), aborted(signal)]);
}

/**
 * untilDeleted resolves at the first DELETE event of w, or when w ends for any reason (the
 * caller then looks again: a compacted or broken watch must not be taken as "still there").
 */
function untilDeleted(w: Watch): Promise<void> {
  return new Promise<void>((resolve) => {
    w.on('events', (r) => {
      if (r.events.some((e) => e.type === 'DELETE')) resolve();
    });
    void w.done.then(() => resolve());
  });
}

/**
 * waitDeletes waits until no key under prefix has a create revision <= maxCreateRevision: it
 * repeatedly finds the newest such key and watches it until it is deleted.
 */
export async function waitDeletes(
  session: Session,
  prefix: string,
  maxCreateRevision: number,
  signal?: AbortSignal,
): Promise<void> {
  const client = session.client;
  for (;;) {
    const r = await raceAlive(
      session,
      signal,
      client.get(prefix, {
        prefix: true,
        sortTarget: 'CREATE',
        sortOrder: 'DESCEND',
        limit: 1,
        maxCreateRevision,
      }),
    );
    const last = r.kvs[0];
    if (last === undefined) return;
    // From the revision we read at: a deletion after our read cannot be missed.
    const w = client.watch(last.key, { startRevision: r.header.revision, noPut: true });
    try {
      await raceAlive(session, signal, untilDeleted(w));
    } finally {
      void w.cancel();
    }
  }
}
