// The run's trace: every event is folded into a 64-bit FNV-1a hash (two 32-bit
// lanes), so two runs of one seed can be compared without keeping the events.
// With `keep`, the lines are also stored (--verbose and --seed replays).

/** Trace accumulates a hash of everything that happened, and optionally the lines. */
export class Trace {
  private h1 = 0x811c9dc5;
  private h2 = 0x01000193 ^ 0x5bd1e995;
  readonly lines: string[] = [];

  constructor(
    private readonly keep: boolean,
    private readonly sink?: (line: string) => void,
  ) {}

  /** event records one event at `time`; parts are hashed and, if kept, joined into a line. */
  event(time: number, ...parts: readonly (string | number | boolean)[]): void {
    this.mixNumber(time);
    for (const p of parts) {
      if (typeof p === 'number') this.mixNumber(p);
      else if (typeof p === 'boolean') this.mixNumber(p ? 1 : 2);
      else this.mixString(p);
    }
    if (this.keep || this.sink) {
      const line = `t=${time} ${parts.join(' ')}`;
      if (this.keep) this.lines.push(line);
      this.sink?.(line);
    }
  }

  hash(): string {
    return (
      (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0')
    );
  }

  private mixNumber(n: number): void {
    this.mix(n & 0xffff);
    this.mix((n >>> 16) & 0xffff);
    this.mix(Math.floor(n / 4294967296) & 0xffff);
  }

  private mixString(s: string): void {
    for (let i = 0; i < s.length; i++) this.mix(s.charCodeAt(i));
    this.mix(0xffff);
  }

  private mix(x: number): void {
    this.h1 = Math.imul(this.h1 ^ x, 0x01000193);
    this.h2 = Math.imul(this.h2 ^ x, 0x01000193) ^ (this.h1 >>> 15);
  }
}
