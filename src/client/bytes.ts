// Byte helpers of the client API: keys and values are `string | Uint8Array` on the way in
// (strings are UTF-8 encoded) and Uint8Array on the way out; `text()` decodes them back.
import { FROM_KEY_END, prefixEnd } from '../kv/index.js';
import { InvalidArgumentError } from './errors.js';

/** Bytes is what the client accepts for keys and values: a string (sent as UTF-8) or raw bytes. */
export type Bytes = string | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** toBytes encodes a string as UTF-8 and returns byte arrays as they are (not copied). */
export function toBytes(b: Bytes): Uint8Array {
  return typeof b === 'string' ? encoder.encode(b) : b;
}

/** text decodes UTF-8 bytes (a key or value from a response); undefined gives ''. */
export function text(b: Uint8Array | undefined): string {
  return b === undefined ? '' : decoder.decode(b);
}

/** KeyRangeOptions selects more than one key: a prefix, every key >= key, or [key, rangeEnd). */
export interface KeyRangeOptions {
  /** prefix: every key that starts with `key`. */
  readonly prefix?: boolean;
  /** fromKey: every key >= `key`. */
  readonly fromKey?: boolean;
  /** rangeEnd: the half-open interval [key, rangeEnd). */
  readonly rangeEnd?: Bytes;
}

/**
 * rangeEndOf turns KeyRangeOptions into etcd's range_end (undefined = the single key). At most
 * one of prefix, fromKey and rangeEnd may be given: a mix throws InvalidArgumentError.
 */
export function rangeEndOf(
  key: Uint8Array,
  opts: KeyRangeOptions | undefined,
): Uint8Array | undefined {
  if (opts === undefined) return undefined;
  const given = [opts.prefix === true, opts.fromKey === true, opts.rangeEnd !== undefined].filter(
    Boolean,
  ).length;
  if (given > 1) throw new InvalidArgumentError('give at most one of prefix, fromKey and rangeEnd');
  if (opts.prefix === true) return prefixEnd(key);
  if (opts.fromKey === true) return FROM_KEY_END;
  return opts.rangeEnd === undefined ? undefined : toBytes(opts.rangeEnd);
}

// ---- base64 (the etcd JSON gateway's encoding of bytes) ----

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

/** toBase64 encodes bytes as standard padded base64 (what Go's encoding/json does for []byte). */
export function toBase64(b: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out +=
      ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = b.length - i;
  if (rest === 1) {
    const n = b[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + '=';
  }
  return out;
}

/** fromBase64 decodes standard base64 (padding optional); returns undefined on invalid input. */
export function fromBase64(s: string): Uint8Array | undefined {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 61 /* '=' */) end--;
  if (s.length - end > 2 || end % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? LOOKUP[c]! : -1;
    if (v < 0) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}
