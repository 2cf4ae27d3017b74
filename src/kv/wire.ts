// Byte writer and reader shared by the command codec and the snapshot format (see CODEC.md).
// Integers are LEB128 varints; signed ones are zigzag-mapped first; int64 lease ids go through
// BigInt. The reader checks every bound and throws the error its caller names, so a decoder
// fails with a typed error on any input.
import type { LeaseId } from './types.js';
import { NO_LEASE } from './types.js';

const TWO_POW_52 = 2 ** 52;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

export class ByteWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initialBytes = 256) {
    this.buf = new Uint8Array(initialBytes);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  get length(): number {
    return this.pos;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  /** uint writes a non-negative safe integer. */
  uint(v: number): void {
    this.ensure(8);
    while (v >= 128) {
      this.buf[this.pos++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  private ubig(v: bigint): void {
    this.ensure(10);
    while (v >= 128n) {
      this.buf[this.pos++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  /** int writes a safe integer, zigzag-mapped. */
  int(v: number): void {
    if (v > -TWO_POW_52 && v < TWO_POW_52) this.uint(v >= 0 ? v * 2 : -v * 2 - 1);
    else this.big(BigInt(v));
  }

  /** big writes a signed int64, zigzag-mapped. */
  big(v: bigint): void {
    this.ubig(v >= 0n ? v << 1n : (-v << 1n) - 1n);
  }

  lease(id: LeaseId): void {
    if (id === NO_LEASE) this.u8(0);
    else this.big(BigInt(id));
  }

  bytes(b: Uint8Array): void {
    this.uint(b.length);
    this.raw(b);
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    // TypedArray.set costs a runtime call; a loop is faster for short keys and values.
    if (b.length <= 64) {
      const buf = this.buf;
      let p = this.pos;
      for (let i = 0; i < b.length; i++) buf[p++] = b[i]!;
    } else {
      this.buf.set(b, this.pos);
    }
    this.pos += b.length;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export class ByteReader {
  pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly fail: (detail: string) => Error,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(): number {
    if (this.pos >= this.buf.length) throw this.fail(`truncated at byte ${this.pos}`);
    return this.buf[this.pos++]!;
  }

  /** varint reads an unsigned varint of at most 64 bits as number (if safe) or bigint. */
  private varint(): number | bigint {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      const b = this.u8();
      n += (b & 127) * mul;
      if (b < 128) {
        if (i > 0 && b === 0) throw this.fail(`non-minimal varint at byte ${this.pos - 1}`);
        return n;
      }
      mul *= 128;
    }
    let big = BigInt(n);
    let shift = 49n;
    for (let i = 7; i < 10; i++) {
      const b = this.u8();
      big |= BigInt(b & 127) << shift;
      if (b < 128) {
        if (b === 0) throw this.fail(`non-minimal varint at byte ${this.pos - 1}`);
        if (big >= 1n << 64n) throw this.fail('varint exceeds 64 bits');
        return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
      }
      shift += 7n;
    }
    throw this.fail('varint longer than 10 bytes');
  }

  /** uint reads a non-negative safe integer, at most max. */
  uint(max = Number.MAX_SAFE_INTEGER): number {
    const v = this.varint();
    if (typeof v === 'bigint' || v > max) throw this.fail(`integer ${v} exceeds ${max}`);
    return v;
  }

  /** int reads a zigzag safe integer. */
  int(): number {
    const v = this.varint();
    if (typeof v === 'number' && v < 2 * TWO_POW_52) return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
    const u = BigInt(v);
    const s = (u & 1n) === 0n ? u >> 1n : -((u + 1n) >> 1n);
    if (s > BigInt(Number.MAX_SAFE_INTEGER) || s < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw this.fail(`integer ${s} is not a safe integer`);
    }
    return Number(s);
  }

  big(): bigint {
    const v = this.varint();
    const u = BigInt(v);
    const s = (u & 1n) === 0n ? u >> 1n : -((u + 1n) >> 1n);
    if (s < INT64_MIN || s > INT64_MAX) throw this.fail(`int64 ${s} out of range`);
    return s;
  }

  lease(): LeaseId {
    return this.big().toString() as LeaseId;
  }

  /** bytes reads a length-prefixed byte string (a view into the input, not a copy). */
  bytes(): Uint8Array {
    const n = this.uint();
    if (n > this.remaining) throw this.fail(`byte string of ${n} bytes overruns the input`);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  bool(): boolean {
    const b = this.u8();
    if (b > 1) throw this.fail(`boolean byte ${b}`);
    return b === 1;
  }

  end(): void {
    if (this.pos !== this.buf.length) throw this.fail(`${this.remaining} trailing bytes`);
  }
}
