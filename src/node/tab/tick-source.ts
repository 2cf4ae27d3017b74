// Turning wall time into Raft ticks. A tick is `tickMs` of elapsed
// performance.now() time; a wake-up after a long gap (a frozen or throttled
// tab) yields at most `maxCatchUpTicks` ticks at once, and reports the gap so
// a thawed leader can treat it as the process pause it was (CheckQuorum and
// terms then make any stale belief harmless; the node never serves reads from
// a lease).

/** TickSink receives ticks; `gapMs` is set when the wake-up came much later than expected. */
export type TickSink = (ticks: number, gapMs?: number) => void;

export interface TickSourceConfig {
  readonly tickMs: number;
  /** maxCatchUpTicks: the most ticks delivered after one wake-up (a long pause is not replayed tick by tick). */
  readonly maxCatchUpTicks?: number;
}

/** TickClock converts elapsed milliseconds into whole ticks, carrying the remainder. */
export class TickClock {
  private last: number;
  private readonly tickMs: number;
  private readonly maxCatchUpTicks: number;

  constructor(
    cfg: TickSourceConfig,
    private readonly now: () => number,
  ) {
    if (!(cfg.tickMs > 0)) throw new RangeError('tickMs must be > 0');
    this.tickMs = cfg.tickMs;
    this.maxCatchUpTicks = cfg.maxCatchUpTicks ?? 50;
    this.last = now();
  }

  /** advance returns how many ticks elapsed since the last call, and the gap if it was abnormal. */
  advance(): { ticks: number; gapMs?: number } {
    const t = this.now();
    const elapsed = t - this.last;
    const whole = Math.floor(elapsed / this.tickMs);
    if (whole <= 0) return { ticks: 0 };
    this.last += whole * this.tickMs;
    if (whole > this.maxCatchUpTicks) {
      this.last = t;
      return { ticks: this.maxCatchUpTicks, gapMs: elapsed };
    }
    return { ticks: whole };
  }
}

/** WorkerTickSource drives a TickSink from a dedicated Worker's timer. */
export class WorkerTickSource {
  private worker: Worker | undefined;
  private readonly clock: TickClock;

  constructor(private readonly cfg: TickSourceConfig) {
    this.clock = new TickClock(cfg, () => performance.now());
  }

  start(sink: TickSink): void {
    this.worker = new Worker(new URL('./clock-worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = () => {
      const { ticks, gapMs } = this.clock.advance();
      if (ticks > 0) sink(ticks, gapMs);
    };
    // Wake twice per tick so a late timer still lands within half a tick.
    this.worker.postMessage({ type: 'start', intervalMs: Math.max(1, Math.floor(this.cfg.tickMs / 2)) });
  }

  stop(): void {
    this.worker?.postMessage({ type: 'stop' });
    this.worker?.terminate();
    this.worker = undefined;
  }
}
