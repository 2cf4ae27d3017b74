/**
 * Rng is the only source of randomness the core sees (election timeouts).
 * Injected so that a seed reproduces a run.
 */
export interface Rng {
  /** intn returns a uniformly distributed integer in [0, n). */
  intn(n: number): number;
}

/**
 * SeededRng is a small, fast deterministic generator (sfc32, seeded by
 * splitmix32). Not cryptographic; its purpose is reproducibility.
 */
export class SeededRng implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** nextUint32 returns the next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** float returns a number in [0, 1). */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  intn(n: number): number {
    if (n <= 0) return 0;
    return Math.floor(this.float() * n);
  }
}
