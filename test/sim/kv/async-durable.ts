// Asynchronous storage for the simulator: IndexedDB completes a write some time after the node
// issued it, and the node keeps stepping messages, batching proposals and applying committed
// entries meanwhile (src/node/raft-node.ts). SimAsyncDurable gives a MemoryDurableStorage that
// shape: each write lands, in call order, at a simulated step chosen by the run's RNG, and a
// crash or close before then loses it, and every write issued after it, whole.
import type { LogIndex, Snapshot } from '../../../src/raft/index.js';
import type {
  DurableStorage,
  LoadedState,
  PersistBatch,
} from '../../../src/storage/durable-storage.js';
import type { MemoryDurableStorage } from '../../../src/storage/memory-durable-storage.js';

/**
 * SimWrite is a write in flight. Its callbacks run synchronously when the simulator completes
 * it (a Promise would defer them to a microtask the simulation loop never yields to). It is not
 * chainable: then() registers callbacks and returns nothing useful, which is all RaftNode uses.
 */
export class SimWrite implements PromiseLike<void> {
  private outcome: { ok: true } | { ok: false; err: unknown } | undefined;
  private readonly waiting: [(() => void) | undefined, ((err: unknown) => void) | undefined][] =
    [];

  then<T1 = void, T2 = never>(
    ok?: ((value: void) => T1 | PromiseLike<T1>) | null,
    fail?: ((err: unknown) => T2 | PromiseLike<T2>) | null,
  ): PromiseLike<T1 | T2> {
    const cb: [(() => void) | undefined, ((err: unknown) => void) | undefined] = [
      ok ? () => void ok() : undefined,
      fail ? (e) => void fail(e) : undefined,
    ];
    if (this.outcome === undefined) this.waiting.push(cb);
    else this.run(cb);
    return undefined as unknown as PromiseLike<T1 | T2>;
  }

  settle(outcome: { ok: true } | { ok: false; err: unknown }): void {
    this.outcome = outcome;
    for (const cb of this.waiting.splice(0)) this.run(cb);
  }

  private run([ok, fail]: [(() => void) | undefined, ((err: unknown) => void) | undefined]): void {
    const o = this.outcome!;
    if (o.ok) ok?.();
    else fail?.(o.err);
  }
}

export interface SimClock {
  now(): number;
  /** at schedules fn at simulated step `step`. */
  at(step: number, fn: () => void): void;
  /** latency draws a write's duration in steps. */
  latency(): number;
}

export class SimAsyncDurable implements DurableStorage {
  /** lastAt: when the latest write lands; writes complete in call order, like IdbStorage's. */
  private lastAt = 0;
  /** epoch: bumped by a crash or close; writes of an earlier epoch never land. */
  private epoch = 0;
  /** inFlight: writes issued and not landed (for the trace). */
  inFlight = 0;

  constructor(
    readonly inner: MemoryDurableStorage,
    private readonly clock: SimClock,
  ) {}

  load(): LoadedState {
    return this.inner.load();
  }

  persist(batch: PersistBatch): SimWrite {
    return this.defer(() => this.inner.persist(batch));
  }

  saveSnapshot(snapshot: Snapshot, compactIndex: LogIndex): SimWrite {
    return this.defer(() => this.inner.saveSnapshot(snapshot, compactIndex));
  }

  /** close: the handle closes; writes still in flight are lost (a tab closing mid-transaction). */
  close(): void {
    this.epoch++;
    this.inner.close();
  }

  /** crash: the process dies; writes still in flight are lost. */
  crash(): void {
    this.epoch++;
    this.inner.crash();
  }

  private defer(op: () => void): SimWrite {
    const w = new SimWrite();
    const epoch = this.epoch;
    const at = Math.max(this.clock.now() + this.clock.latency(), this.lastAt);
    this.lastAt = at;
    this.inFlight++;
    this.clock.at(at, () => {
      this.inFlight--;
      if (epoch !== this.epoch) return;
      try {
        op();
      } catch (err) {
        // A crash in this write (crashDuringNextWrite): it and everything after it is lost.
        this.epoch++;
        w.settle({ ok: false, err });
        return;
      }
      w.settle({ ok: true });
    });
    return w;
  }
}
