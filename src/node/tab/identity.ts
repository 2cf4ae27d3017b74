// A tab's identity: a random 64-bit peer id held with a Web Lock for the
// tab's lifetime, plus that peer's own IndexedDB database. Two live tabs can
// never hold one identity: the lock is exclusive, and a tab only opens the
// database of an identity whose lock it holds.
//
// A reloaded tab re-claims its previous identity (sessionStorage hint), waiting
// briefly for the lock its previous page is releasing; a duplicated tab
// inherits the hint but finds the lock held, so it adopts another free
// identity of the cluster or makes a new one.

export interface Identity {
  readonly peerId: string;
  readonly cluster: string;
  /** fresh: no earlier tab used this identity (its database is new). */
  readonly fresh: boolean;
  /** release gives the identity up (the tab is closing). */
  release(): void;
}

const knownKey = (cluster: string) => `tabd/${cluster}/peers`;
const hintKey = (cluster: string) => `tabd/${cluster}/me`;
export const lockName = (cluster: string, peer: string) => `tabd/${cluster}/peer/${peer}`;

export function randomPeerId(): string {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

function knownPeers(cluster: string): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(knownKey(cluster)) ?? '[]') as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && /^[0-9a-f]{16}$/.test(x)) : [];
  } catch {
    return [];
  }
}

function remember(cluster: string, peer: string): void {
  const peers = knownPeers(cluster);
  if (!peers.includes(peer)) localStorage.setItem(knownKey(cluster), JSON.stringify([...peers, peer]));
  sessionStorage.setItem(hintKey(cluster), peer);
}

/** forget drops an identity from the cluster's list (its database was wiped). */
export function forgetIdentity(cluster: string, peer: string): void {
  localStorage.setItem(knownKey(cluster), JSON.stringify(knownPeers(cluster).filter((p) => p !== peer)));
}

/**
 * tryLock takes the lock `name` and holds it until release() is called.
 * waitMs 0 means only if free now; otherwise wait up to waitMs for it.
 */
async function tryLock(name: string, waitMs: number): Promise<(() => void) | undefined> {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  return new Promise((resolve) => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (waitMs > 0) timer = setTimeout(() => ac.abort(), waitMs);
    const opts: LockOptions = waitMs > 0 ? { signal: ac.signal } : { ifAvailable: true };
    navigator.locks
      .request(name, opts, async (lock) => {
        if (timer) clearTimeout(timer);
        if (!lock) {
          resolve(undefined);
          return;
        }
        resolve(release);
        await held;
      })
      .catch(() => resolve(undefined)); // aborted: the lock stayed held elsewhere
  });
}

/** claimIdentity claims an identity for this tab in `cluster`. */
export async function claimIdentity(cluster: string, opts: { reclaimWaitMs?: number } = {}): Promise<Identity> {
  const hint = sessionStorage.getItem(hintKey(cluster));
  const candidates: { id: string; waitMs: number }[] = [];
  if (hint && /^[0-9a-f]{16}$/.test(hint)) candidates.push({ id: hint, waitMs: opts.reclaimWaitMs ?? 1500 });
  for (const id of knownPeers(cluster)) if (id !== hint) candidates.push({ id, waitMs: 0 });
  for (const c of candidates) {
    const release = await tryLock(lockName(cluster, c.id), c.waitMs);
    if (release) {
      remember(cluster, c.id);
      return { peerId: c.id, cluster, fresh: false, release };
    }
  }
  for (;;) {
    const id = randomPeerId();
    const release = await tryLock(lockName(cluster, id), 0);
    if (release) {
      remember(cluster, id);
      return { peerId: id, cluster, fresh: true, release };
    }
  }
}
