// A second, independent writer of tabd frames, written from PROTOCOL.md and
// not from codec.ts: it writes whatever it is given (wrong lengths, bad enum
// codes, unsafe integers, trailing bytes) so tests can forge every kind of bad
// frame, and comparing it with encodeMessage on valid messages checks that
// the spec and the code agree byte for byte.
import type { Message } from '../../src/raft/index.js';

/** PROTOCOL.md, "Message types". */
export const specMessageTypeCodes: Record<string, number> = {
  MsgProp: 1,
  MsgApp: 2,
  MsgAppResp: 3,
  MsgVote: 4,
  MsgVoteResp: 5,
  MsgPreVote: 6,
  MsgPreVoteResp: 7,
  MsgSnap: 8,
  MsgHeartbeat: 9,
  MsgHeartbeatResp: 10,
  MsgTransferLeader: 11,
  MsgTimeoutNow: 12,
  MsgReadIndex: 13,
  MsgReadIndexResp: 14,
};
/** PROTOCOL.md, "Entry types". */
export const specEntryTypeCodes: Record<string, number> = { normal: 0, confChange: 1 };

/** A u64 given as a number (split by the builder) or as its raw 32-bit words. */
export type U64 = number | { hi: number; lo: number };
export type Str = string | Uint8Array;

export interface RawEntry {
  term: U64;
  index: U64;
  type: number;
  data: Uint8Array;
  /** dataLength: the length written, if not data.length. */
  dataLength?: number;
}

export interface RawSnapshot {
  index: U64;
  term: U64;
  confFlags: number;
  /** voters, learners, votersOutgoing, learnersNext. */
  lists: [Str[], Str[], Str[], Str[]];
  listCounts?: [number, number, number, number];
  data: Uint8Array;
  dataLength?: number;
}

export interface RawMessage {
  type: number;
  flags: number;
  term: U64;
  logTerm: U64;
  index: U64;
  commit: U64;
  rejectHint: U64;
  to: Str;
  from: Str;
  context: Str;
  entries: RawEntry[];
  entryCount?: number;
  snapshot?: RawSnapshot;
}

const utf8 = new TextEncoder();
const bytesOf = (s: Str): Uint8Array => (typeof s === 'string' ? utf8.encode(s) : s);

class Out {
  readonly bytes: number[] = [];
  u8(n: number): void {
    this.bytes.push(n & 0xff);
  }
  u16(n: number): void {
    this.u8(n >>> 8);
    this.u8(n);
  }
  u32(n: number): void {
    this.u8(n >>> 24);
    this.u8(n >>> 16);
    this.u8(n >>> 8);
    this.u8(n);
  }
  u64(v: U64): void {
    const { hi, lo } = typeof v === 'number' ? { hi: Math.floor(v / 2 ** 32), lo: v % 2 ** 32 } : v;
    this.u32(hi);
    this.u32(lo);
  }
  raw(b: Uint8Array): void {
    for (const x of b) this.bytes.push(x);
  }
  str8(s: Str): void {
    const b = bytesOf(s);
    this.u8(b.length);
    this.raw(b);
  }
}

/** rawFromMessage maps a Message to the spec's fields (no validation). */
export function rawFromMessage(m: Message): RawMessage {
  const raw: RawMessage = {
    type: specMessageTypeCodes[m.type] ?? 0,
    flags: (m.reject ? 1 : 0) | (m.snapshot !== undefined ? 2 : 0),
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    commit: m.commit,
    rejectHint: m.rejectHint,
    to: m.to,
    from: m.from,
    context: m.context,
    entries: m.entries.map((e) => ({
      term: e.term,
      index: e.index,
      type: specEntryTypeCodes[e.type] ?? 99,
      data: e.data,
    })),
  };
  if (m.snapshot !== undefined) {
    const cs = m.snapshot.metadata.confState;
    raw.snapshot = {
      index: m.snapshot.metadata.index,
      term: m.snapshot.metadata.term,
      confFlags: cs.autoLeave ? 1 : 0,
      lists: [[...cs.voters], [...cs.learners], [...cs.votersOutgoing], [...cs.learnersNext]],
      data: m.snapshot.data,
    };
  }
  return raw;
}

/** messageBody writes a Message body exactly as PROTOCOL.md lays it out. */
export function messageBody(r: RawMessage): Uint8Array {
  const o = new Out();
  o.u8(r.type);
  o.u8(r.flags);
  o.u64(r.term);
  o.u64(r.logTerm);
  o.u64(r.index);
  o.u64(r.commit);
  o.u64(r.rejectHint);
  o.str8(r.to);
  o.str8(r.from);
  const ctx = bytesOf(r.context);
  o.u16(ctx.length);
  o.raw(ctx);
  o.u32(r.entryCount ?? r.entries.length);
  for (const e of r.entries) {
    o.u64(e.term);
    o.u64(e.index);
    o.u8(e.type);
    o.u32(e.dataLength ?? e.data.length);
    o.raw(e.data);
  }
  if (r.snapshot !== undefined) {
    const s = r.snapshot;
    o.u64(s.index);
    o.u64(s.term);
    o.u8(s.confFlags);
    s.lists.forEach((list, i) => {
      o.u16(s.listCounts?.[i] ?? list.length);
      for (const id of list) o.str8(id);
    });
    o.u32(s.dataLength ?? s.data.length);
    o.raw(s.data);
  }
  return Uint8Array.from(o.bytes);
}

export interface RawHeader {
  magic?: [number, number];
  version?: number;
  kind?: number;
  bodyLength?: number;
}

/** frame writes the 8-byte header then the body. */
export function frame(body: Uint8Array, h: RawHeader = {}): Uint8Array {
  const o = new Out();
  const [m0, m1] = h.magic ?? [0x74, 0x64];
  o.u8(m0);
  o.u8(m1);
  o.u8(h.version ?? 1);
  o.u8(h.kind ?? 1);
  o.u32(h.bodyLength ?? body.length);
  o.raw(body);
  return Uint8Array.from(o.bytes);
}

/** chunkBody writes a Chunk body: id, index, count, total, payload. */
export function chunkBody(
  id: number,
  index: number,
  count: number,
  total: number,
  payload: Uint8Array,
): Uint8Array {
  const o = new Out();
  o.u32(id);
  o.u32(index);
  o.u32(count);
  o.u32(total);
  o.raw(payload);
  return Uint8Array.from(o.bytes);
}

/** messageFrame: a Message frame for raw fields, optionally with a patched header. */
export function messageFrame(r: RawMessage, h: RawHeader = {}): Uint8Array {
  return frame(messageBody(r), { kind: 1, ...h });
}
