// Binary encoding of the records tabd keeps in IndexedDB. Each record is one Uint8Array:
//
//   header   u32 magic 0x44424154 ("TABD" in file order), u8 kind, u8 formatVersion, u16 zero
//   body     depends on kind (below)
//   trailer  u32 CRC-32 of every byte before it
//
// All integers are little-endian. A "u53" is a non-negative safe integer written as two u32
// (low word first); a string is a u32 byte length then UTF-8; a bytes field is a u32 length then
// the bytes. Bodies:
//
//   format     (empty: the header's formatVersion is the database's format)
//   hardState  u53 term, u53 commit, string vote
//   segment    u53 firstIndex, u32 count (≥ 1), then count × { u53 term, u8 type, bytes data };
//              entry i has index firstIndex + i, so a segment cannot have a gap inside
//   snapshot   u53 index, u53 term, 4 × { u32 n, n × string } (voters, learners, votersOutgoing,
//              learnersNext), u8 autoLeave, bytes data
//
// Packing a Ready's entries into one buffer is what lets a persist be one put (DESIGN.md §2), and
// structured-cloning one Uint8Array is cheaper than cloning an object graph of many small ones
// (measured in test/browser/storage-measure.test.ts). Decoders validate everything (bounds,
// checksum, kinds, enum values, UTF-8) and report failures as StorageCorruptionError naming the
// record; after decoding, the data is trusted.
import { assert } from '../raft/assert.js';
import {
  EntryType,
  logIndex,
  nodeId,
  term,
  type ConfState,
  type Entry,
  type HardState,
  type NodeId,
  type Snapshot,
} from '../raft/index.js';
import { crc32 } from './crc32.js';
import { StorageCorruptionError, StorageUnsupportedFormatError } from './errors.js';

/** FORMAT_VERSION is the record format this code writes; it reads versions 1..FORMAT_VERSION. */
export const FORMAT_VERSION = 1;

const MAGIC = 0x44424154;

export const RecordKind = {
  Format: 1,
  HardState: 2,
  Segment: 3,
  Snapshot: 4,
} as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

const kindNames: Record<number, string> = {
  1: 'format',
  2: 'hardState',
  3: 'segment',
  4: 'snapshot',
};

const HEADER_BYTES = 8;
const TRAILER_BYTES = 4;
const U53_BYTES = 8;
const ENTRY_HEADER_BYTES = U53_BYTES + 1 + 4;
const TWO_32 = 2 ** 32;

const entryTypeCodes: Record<EntryType, number> = {
  [EntryType.Normal]: 0,
  [EntryType.ConfChange]: 1,
};
const entryTypesByCode: readonly EntryType[] = [EntryType.Normal, EntryType.ConfChange];

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Writer fills a buffer allocated at its exact final size. */
class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private pos = 0;

  constructor(bodyBytes: number, kind: RecordKind) {
    this.bytes = new Uint8Array(HEADER_BYTES + bodyBytes + TRAILER_BYTES);
    this.view = new DataView(this.bytes.buffer);
    this.u32(MAGIC);
    this.u8(kind);
    this.u8(FORMAT_VERSION);
    this.view.setUint16(this.pos, 0, true);
    this.pos += 2;
  }

  u8(n: number): void {
    this.view.setUint8(this.pos, n);
    this.pos += 1;
  }

  u32(n: number): void {
    this.view.setUint32(this.pos, n, true);
    this.pos += 4;
  }

  u53(n: number): void {
    assert(Number.isSafeInteger(n) && n >= 0, () => `cannot encode ${n} as u53`);
    this.view.setUint32(this.pos, n % TWO_32, true);
    this.view.setUint32(this.pos + 4, Math.floor(n / TWO_32), true);
    this.pos += 8;
  }

  raw(b: Uint8Array): void {
    assert(b.length < TWO_32, 'field longer than 4 GiB');
    this.u32(b.length);
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }

  /** finish appends the checksum; the buffer must be exactly full. */
  finish(): Uint8Array {
    assert(this.pos === this.bytes.length - TRAILER_BYTES, 'record size miscomputed');
    this.view.setUint32(this.pos, crc32(this.bytes, 0, this.pos), true);
    return this.bytes;
  }
}

/** Reader checks every bound and reports failures as corruption of `location`. */
class Reader {
  private readonly view: DataView;
  private pos = HEADER_BYTES;
  private readonly end: number;

  constructor(
    private readonly bytes: Uint8Array,
    readonly location: string,
    expectedKind: RecordKind,
  ) {
    if (!(bytes instanceof Uint8Array))
      throw this.corrupt(`expected a Uint8Array record, got ${describe(bytes)}`);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < HEADER_BYTES + TRAILER_BYTES)
      throw this.corrupt(`record too short (${bytes.length} bytes)`);
    this.end = bytes.length - TRAILER_BYTES;
    // The checksum comes first: a flipped bit anywhere, header included, is reported as such.
    const stored = this.view.getUint32(this.end, true);
    const actual = crc32(bytes, 0, this.end);
    if (stored !== actual) {
      throw this.corrupt(`checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`);
    }
    if (this.view.getUint32(0, true) !== MAGIC) throw this.corrupt('bad magic number');
    const kind = this.view.getUint8(4);
    if (kind !== expectedKind) {
      throw this.corrupt(
        `expected a ${kindNames[expectedKind]} record, found kind ${kindNames[kind] ?? kind}`,
      );
    }
    const version = this.view.getUint8(5);
    if (version > FORMAT_VERSION) {
      throw new StorageUnsupportedFormatError(
        `${location}: record format version ${version} is newer than this code (${FORMAT_VERSION})`,
      );
    }
    if (version < 1) throw this.corrupt(`invalid format version ${version}`);
  }

  corrupt(reason: string): StorageCorruptionError {
    return new StorageCorruptionError(this.location, reason);
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) throw this.corrupt(`truncated ${what} at byte ${this.pos}`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }

  u32(what: string): number {
    this.need(4, what);
    const n = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return n;
  }

  u53(what: string): number {
    this.need(U53_BYTES, what);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    if (hi >= 2 ** 21) throw this.corrupt(`${what} exceeds 2^53`);
    return hi * TWO_32 + lo;
  }

  /** raw returns a view into the record (no copy): the record buffer is not reused. */
  raw(what: string): Uint8Array {
    const n = this.u32(`${what} length`);
    this.need(n, what);
    const b = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  string(what: string): string {
    const b = this.raw(what);
    try {
      return utf8Decoder.decode(b);
    } catch (e) {
      throw new StorageCorruptionError(this.location, `${what} is not valid UTF-8`, { cause: e });
    }
  }

  done(): void {
    if (this.pos !== this.end)
      throw this.corrupt(`${this.end - this.pos} unexpected bytes after the body`);
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/** encodeFormat encodes the record that marks a database as written in FORMAT_VERSION. */
export function encodeFormat(): Uint8Array {
  return new Writer(0, RecordKind.Format).finish();
}

/** decodeFormat validates a format record and returns its version. */
export function decodeFormat(bytes: Uint8Array, location: string): number {
  const r = new Reader(bytes, location, RecordKind.Format);
  r.done();
  return bytes[5]!;
}

export function encodeHardState(hs: HardState): Uint8Array {
  const vote = utf8Encoder.encode(hs.vote);
  const w = new Writer(2 * U53_BYTES + 4 + vote.length, RecordKind.HardState);
  w.u53(hs.term);
  w.u53(hs.commit);
  w.raw(vote);
  return w.finish();
}

export function decodeHardState(bytes: Uint8Array, location: string): HardState {
  const r = new Reader(bytes, location, RecordKind.HardState);
  const hs: HardState = {
    term: term(r.u53('term')),
    commit: logIndex(r.u53('commit')),
    vote: nodeId(r.string('vote')),
  };
  r.done();
  return hs;
}

/** SEGMENT_FIXED_BYTES is a segment record's size without its entries (header, first index, count, checksum). */
export const SEGMENT_FIXED_BYTES = HEADER_BYTES + U53_BYTES + 4 + TRAILER_BYTES;

/** encodedEntryBytes is what one entry adds to a segment record. */
export function encodedEntryBytes(e: Entry): number {
  return ENTRY_HEADER_BYTES + e.data.length;
}

/** encodedSegmentBytes is the exact size encodeSegment(entries) will have. */
export function encodedSegmentBytes(entries: readonly Entry[]): number {
  let size = SEGMENT_FIXED_BYTES;
  for (const e of entries) size += encodedEntryBytes(e);
  return size;
}

/**
 * encodeSegment packs a non-empty, contiguous run of entries (one persist batch). Contiguity is
 * the caller's invariant (checked by planPersist); the format relies on it.
 */
export function encodeSegment(entries: readonly Entry[]): Uint8Array {
  assert(entries.length > 0, 'a segment holds at least one entry');
  const first = entries[0]!.index;
  let size = U53_BYTES + 4;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    assert(
      e.index === first + i,
      () => `segment entries not contiguous at ${first + i} (found ${e.index})`,
    );
    size += encodedEntryBytes(e);
  }
  const w = new Writer(size, RecordKind.Segment);
  w.u53(first);
  w.u32(entries.length);
  for (const e of entries) {
    w.u53(e.term);
    w.u8(entryTypeCodes[e.type]);
    w.raw(e.data);
  }
  return w.finish();
}

/** DecodedSegment is a segment's entries; entry i has index `firstIndex + i`. */
export interface DecodedSegment {
  readonly firstIndex: number;
  readonly entries: readonly Entry[];
}

export function decodeSegment(bytes: Uint8Array, location: string): DecodedSegment {
  const r = new Reader(bytes, location, RecordKind.Segment);
  const firstIndex = r.u53('firstIndex');
  const count = r.u32('count');
  if (count === 0) throw r.corrupt('empty segment');
  if (firstIndex < 1) throw r.corrupt(`invalid first index ${firstIndex}`);
  const entries: Entry[] = new Array<Entry>(count);
  for (let i = 0; i < count; i++) {
    const t = r.u53('entry term');
    const code = r.u8('entry type');
    const type = entryTypesByCode[code];
    if (type === undefined) throw r.corrupt(`entry ${firstIndex + i}: unknown entry type ${code}`);
    entries[i] = {
      term: term(t),
      index: logIndex(firstIndex + i),
      type,
      data: r.raw('entry data'),
    };
  }
  r.done();
  return { firstIndex, entries };
}

const confLists = ['voters', 'learners', 'votersOutgoing', 'learnersNext'] as const;

export function encodeSnapshot(snap: Snapshot): Uint8Array {
  const cs = snap.metadata.confState;
  const lists = confLists.map((k) => cs[k].map((id) => utf8Encoder.encode(id)));
  let size = 2 * U53_BYTES + 1 + 4 + snap.data.length;
  for (const l of lists) {
    size += 4;
    for (const b of l) size += 4 + b.length;
  }
  const w = new Writer(size, RecordKind.Snapshot);
  w.u53(snap.metadata.index);
  w.u53(snap.metadata.term);
  for (const l of lists) {
    w.u32(l.length);
    for (const b of l) w.raw(b);
  }
  w.u8(cs.autoLeave ? 1 : 0);
  w.raw(snap.data);
  return w.finish();
}

export function decodeSnapshot(bytes: Uint8Array, location: string): Snapshot {
  const r = new Reader(bytes, location, RecordKind.Snapshot);
  const index = logIndex(r.u53('index'));
  const t = term(r.u53('term'));
  const lists: NodeId[][] = [];
  for (const k of confLists) {
    const n = r.u32(`${k} count`);
    const ids: NodeId[] = [];
    for (let i = 0; i < n; i++) ids.push(nodeId(r.string(k)));
    lists.push(ids);
  }
  const autoLeaveByte = r.u8('autoLeave');
  if (autoLeaveByte > 1) throw r.corrupt(`invalid autoLeave ${autoLeaveByte}`);
  const confState: ConfState = {
    voters: lists[0]!,
    learners: lists[1]!,
    votersOutgoing: lists[2]!,
    learnersNext: lists[3]!,
    autoLeave: autoLeaveByte === 1,
  };
  const data = r.raw('data');
  r.done();
  return { metadata: { index, term: t, confState }, data };
}
