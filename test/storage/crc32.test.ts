import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { crc32, crc32Bytewise } from '../../src/storage/crc32.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('crc32', () => {
  test('matches the published CRC-32/ISO-HDLC check values', () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(ascii('a'))).toBe(0xe8b7be43);
    expect(crc32(new Uint8Array(32))).toBe(0x190a55ad);
    expect(crc32(new Uint8Array(32).fill(0xff))).toBe(0xff6cab0b);
  });

  test('the eight-byte loop agrees with the one-table loop on any bytes and range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
        const end = start + (bytes.length - start === 0 ? 0 : b % (bytes.length - start + 1));
        expect(crc32(bytes, start, end)).toBe(crc32Bytewise(bytes, start, end));
      }),
      { numRuns: 500 },
    );
  });

  test('agrees with zlib (an independent implementation) on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        expect(crc32(bytes)).toBe(zlibCrc32(bytes));
      }),
      { numRuns: 300 },
    );
  });

  test('continuing a checksum equals checksumming the concatenation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 100 }), (x, y) => {
        const xy = new Uint8Array(x.length + y.length);
        xy.set(x);
        xy.set(y, x.length);
        expect(crc32(y, 0, y.length, crc32(x))).toBe(crc32(xy));
      }),
    );
  });

  test('every single-bit flip of a record changes the checksum', () => {
    const bytes = ascii('tabd segment 1201: entries packed with DataView');
    const base = crc32(bytes);
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const flipped = bytes.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expect(crc32(flipped)).not.toBe(base);
    }
  });
});
