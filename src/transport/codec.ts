// The wire codec: Raft messages to and from versioned binary frames. The byte
// layout, the versioning rule and every validation rule are specified in
// PROTOCOL.md beside this file; keep the two in step.
//
// Decoding is the trust boundary of the transport layer: every frame from a
// peer passes through decodeFrame, which checks everything (header, lengths,
// enums, counts, safe integers, canonical booleans and flags, no trailing
// bytes, and the few message invariants the Raft core asserts on) and returns
// a result instead of throwing. A message it returns can be stepped into the
// core as is. Encoding is the inverse on that domain, and the encoding is
// canonical: decode(b) succeeds only if encode(decode(b)) reproduces b exactly.
import { codecLimits, validateMessage } from './validate.js';
import {
  EntryType,
  MessageType,
  type ConfState,
  type Entry,
  type LogIndex,
  type Message,
  type NodeId,
  type Snapshot,
  type Term,
} from '../raft/index.js';

export { codecLimits, validateConfState, validateMessage } from './validate.js';

/** FRAME_MAGIC: the first two bytes of every frame, ASCII "td". */
export const FRAME_MAGIC_0 = 0x74;
export const FRAME_MAGIC_1 = 0x64;
/** PROTOCOL_VERSION is the only version this codec reads and writes. */
export const PROTOCOL_VERSION = 1;
/** FRAME_HEADER_BYTES: magic (2) + version (1) + kind (1) + body length (u32). */
export const FRAME_HEADER_BYTES = 8;
/** CHUNK_HEADER_BYTES: message id, chunk index, chunk count, total bytes (u32 each). */
export const CHUNK_HEADER_BYTES = 16;

export const FrameKind = {
  /** A complete Raft message. */
  Message: 1,
  /** One piece of a Message frame too large to send whole (see chunker.ts). */
  Chunk: 2,
  /** Reserved: connection greeting (protocol versions, cluster id). Rejected by v1. */
  Hello: 3,
  /** Reserved: proof of the room secret. Rejected by v1. */
  Auth: 4,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/**
 * Wire codes of the message types that cross the wire. Local types (MsgHup,
 * MsgBeat, MsgUnreachable, MsgSnapStatus, MsgCheckQuorum) have no code: they
 * never leave a peer, and a frame claiming one is rejected. Codes are frozen:
 * new types get new codes, old codes are never reused.
 */
export const messageTypeCodes: Readonly<Partial<Record<MessageType, number>>> = {
  [MessageType.MsgProp]: 1,
  [MessageType.MsgApp]: 2,
  [MessageType.MsgAppResp]: 3,
  [MessageType.MsgVote]: 4,
  [MessageType.MsgVoteResp]: 5,
  [MessageType.MsgPreVote]: 6,
  [MessageType.MsgPreVoteResp]: 7,
  [MessageType.MsgSnap]: 8,
  [MessageType.MsgHeartbeat]: 9,
  [MessageType.MsgHeartbeatResp]: 10,
  [MessageType.MsgTransferLeader]: 11,
  [MessageType.MsgTimeoutNow]: 12,
  [MessageType.MsgReadIndex]: 13,
  [MessageType.MsgReadIndexResp]: 14,
};
const messageTypeByCode = new Map<number, MessageType>(
  Object.entries(messageTypeCodes).map(([t, c]) => [c, t as MessageType]),
);

export const entryTypeCodes: Readonly<Record<EntryType, number>> = {
  [EntryType.Normal]: 0,
  [EntryType.ConfChange]: 1,
};
const entryTypeByCode = new Map<number, EntryType>(
  Object.entries(entryTypeCodes).map(([t, c]) => [c, t as EntryType]),
);

/** Message flag bits (byte 1 of a Message body); the other bits must be zero. */
const FLAG_REJECT = 0x01;
const FLAG_SNAPSHOT = 0x02;
/** ConfState flag bits; the other bits must be zero. */
const CONF_FLAG_AUTO_LEAVE = 0x01;

/** Smallest possible encoded entry: term (8) + index (8) + type (1) + data length (4). */
const ENTRY_BYTES_MIN = 21;
/** Largest u64 high word that keeps the value a safe integer (2^53 - 1). */
const U64_HI_MAX = 0x1f_ffff;
const TWO_POW_32 = 0x1_0000_0000;

export const FrameErrorCode = {
  /** The frame ends before a field it announces. */
  Truncated: 'truncated',
  BadMagic: 'bad-magic',
  UnsupportedVersion: 'unsupported-version',
  /** A kind byte no version assigns. */
  UnknownKind: 'unknown-kind',
  /** A kind reserved for a later version (hello, auth). */
  ReservedKind: 'reserved-kind',
  /** A well-formed frame of another kind than the caller expects (e.g. a chunk inside a chunk). */
  UnexpectedKind: 'unexpected-kind',
  /** The header's body length disagrees with the frame's length. */
  LengthMismatch: 'length-mismatch',
  /** A message type, entry type or local-only message type that is not allowed on the wire. */
  BadEnum: 'bad-enum',
  /** Flag bits that this version does not define are set. */
  BadFlags: 'bad-flags',
  /** A u64 above 2^53 - 1. */
  UnsafeInteger: 'unsafe-integer',
  /** A string that is not valid UTF-8, or an id that is empty or too long. */
  BadString: 'bad-string',
  /** A count that the remaining bytes cannot hold, or above its limit. */
  CountTooLarge: 'count-too-large',
  /** Bytes left over after the last field. */
  TrailingBytes: 'trailing-bytes',
  /** Well-formed bytes that break an invariant of Message (see validateMessage). */
  InvalidMessage: 'invalid-message',
  /** A chunk that does not fit the message being reassembled (see chunker.ts). */
  BadChunk: 'bad-chunk',
  /** A reassembled message above the receiver's size limit. */
  TooLarge: 'too-large',
  /** An incomplete chunked message abandoned by the receiver (evicted or timed out). */
  Abandoned: 'abandoned',
  /** A valid message the transport refuses: not addressed to us, or not from the channel's peer. */
  Misaddressed: 'misaddressed',
  /** A data-channel message that is not binary. */
  NotBinary: 'not-binary',
} as const;
export type FrameErrorCode = (typeof FrameErrorCode)[keyof typeof FrameErrorCode];

/** FrameError says why a frame was refused; `offset` is where in the frame decoding stopped. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(
    readonly code: FrameErrorCode,
    detail: string,
    readonly offset = 0,
  ) {
    super(`${code}: ${detail}${offset > 0 ? ` (at byte ${offset})` : ''}`);
  }
}

/**
 * EncodeError says a message cannot be encoded: it breaks an invariant the
 * decoder checks (a local type, an unsafe integer, an empty id, ...). Coming
 * from our own core it is a bug; transports catch it, count the message as
 * dropped and go on, because sends never throw.
 */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
  readonly code = 'unencodable-message';
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: FrameError };
export type MessageDecodeResult = { ok: true; message: Message } | { ok: false; error: FrameError };

/** ChunkFrame is a decoded Chunk frame: one piece of an encoded Message frame. */
export interface ChunkFrame {
  readonly kind: typeof FrameKind.Chunk;
  /** messageId: chosen by the sender, unique among its messages in flight. */
  readonly messageId: number;
  /** index: 0-based position of this piece. */
  readonly index: number;
  /** count: number of pieces (≥ 2). */
  readonly count: number;
  /** totalBytes: length of the whole Message frame. */
  readonly totalBytes: number;
  /** payload: this piece's bytes (a view into the frame). */
  readonly payload: Uint8Array;
}

export type Frame =
  { readonly kind: typeof FrameKind.Message; readonly message: Message } | ChunkFrame;

// ------------------------------------------------------------------ encoding

const utf8Encoder = new TextEncoder();
// fatal: malformed UTF-8 is an error, not U+FFFD; ignoreBOM: a leading BOM is
// kept as a character, so the decoded string re-encodes to the same bytes.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** isWellFormedString: s has no lone surrogate, so UTF-8 encodes it without loss. */
export function isWellFormedString(s: string): boolean {
  return !loneSurrogate.test(s);
}

function encodeString(s: string, what: string, minBytes: number, maxBytes: number): Uint8Array {
  // Ids and read contexts are ASCII: copy their code units, which is several times cheaper than
  // TextEncoder and the surrogate check for strings this short (a few per message).
  let b: Uint8Array | undefined = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) {
      b = undefined;
      break;
    }
    b[i] = c;
  }
  if (b === undefined) {
    // TextEncoder would silently turn a lone surrogate into U+FFFD; refuse it so
    // that what the peer decodes is exactly what was sent.
    if (!isWellFormedString(s)) throw new EncodeError(`${what} is not well-formed UTF-16`);
    b = utf8Encoder.encode(s);
  }
  if (b.length < minBytes || b.length > maxBytes) {
    throw new EncodeError(
      `${what} is ${b.length} bytes of UTF-8; allowed ${minBytes}..${maxBytes}`,
    );
  }
  return b;
}

function checkU64(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new EncodeError(`${what} ${n} is not a safe non-negative integer`);
}

class Writer {
  private readonly view: DataView;
  offset = 0;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u8(n: number): void {
    this.view.setUint8(this.offset, n);
    this.offset += 1;
  }
  u16(n: number): void {
    this.view.setUint16(this.offset, n);
    this.offset += 2;
  }
  u32(n: number): void {
    this.view.setUint32(this.offset, n);
    this.offset += 4;
  }
  u64(n: number): void {
    this.view.setUint32(this.offset, Math.floor(n / TWO_POW_32));
    this.view.setUint32(this.offset + 4, n % TWO_POW_32);
    this.offset += 8;
  }
  raw(b: Uint8Array): void {
    this.bytes.set(b, this.offset);
    this.offset += b.length;
  }
}

/** A ConfState with its ids already encoded, so sizing and writing share the work. */
interface PreparedConfState {
  readonly lists: readonly (readonly Uint8Array[])[];
  readonly autoLeave: boolean;
  readonly bytes: number;
}

function prepareConfState(cs: ConfState): PreparedConfState {
  const lists = [cs.voters, cs.learners, cs.votersOutgoing, cs.learnersNext].map((ids, i) =>
    ids.map((id) => encodeString(id, `confState list ${i} id`, 1, codecLimits.nodeIdBytesMax)),
  );
  let bytes = 1;
  for (const l of lists) {
    bytes += 2;
    for (const b of l) bytes += 1 + b.length;
  }
  return { lists, autoLeave: cs.autoLeave, bytes };
}

function writeFrameHeader(w: Writer, kind: FrameKind, bodyBytes: number): void {
  w.u8(FRAME_MAGIC_0);
  w.u8(FRAME_MAGIC_1);
  w.u8(PROTOCOL_VERSION);
  w.u8(kind);
  w.u32(bodyBytes);
}

/**
 * encodeMessage returns the Message frame for m. It throws EncodeError when m
 * breaks a rule that decodeFrame enforces (see validateMessage), so nothing
 * is ever sent that the receiver would refuse.
 */
export function encodeMessage(m: Message): Uint8Array {
  const typeCode = messageTypeCodes[m.type];
  if (typeCode === undefined)
    throw new EncodeError(`message type ${m.type} never crosses the wire`);
  const invalid = validateMessage(m);
  if (invalid !== undefined) throw new EncodeError(invalid);
  for (const [what, n] of [
    ['term', m.term],
    ['logTerm', m.logTerm],
    ['index', m.index],
    ['commit', m.commit],
    ['rejectHint', m.rejectHint],
  ] as const) {
    checkU64(n, what);
  }
  const to = encodeString(m.to, 'to', 1, codecLimits.nodeIdBytesMax);
  const from = encodeString(m.from, 'from', 1, codecLimits.nodeIdBytesMax);
  const context = encodeString(m.context, 'context', 0, codecLimits.contextBytesMax);

  let body = 2 + 5 * 8 + 1 + to.length + 1 + from.length + 2 + context.length + 4;
  for (const e of m.entries) {
    checkU64(e.term, 'entry term');
    checkU64(e.index, 'entry index');
    if (entryTypeCodes[e.type] === undefined) throw new EncodeError(`entry type ${String(e.type)}`);
    if (e.data.length > 0xffff_ffff) throw new EncodeError('entry data over 4 GiB');
    body += ENTRY_BYTES_MIN + e.data.length;
  }
  if (m.entries.length > 0xffff_ffff) throw new EncodeError('too many entries');
  let conf: PreparedConfState | undefined;
  const snap = m.snapshot;
  if (snap !== undefined) {
    checkU64(snap.metadata.index, 'snapshot index');
    checkU64(snap.metadata.term, 'snapshot term');
    if (snap.data.length > 0xffff_ffff) throw new EncodeError('snapshot data over 4 GiB');
    conf = prepareConfState(snap.metadata.confState);
    body += 8 + 8 + conf.bytes + 4 + snap.data.length;
  }
  if (body > 0xffff_ffff) throw new EncodeError('message over 4 GiB');

  const w = new Writer(new Uint8Array(FRAME_HEADER_BYTES + body));
  writeFrameHeader(w, FrameKind.Message, body);
  w.u8(typeCode);
  w.u8((m.reject ? FLAG_REJECT : 0) | (snap !== undefined ? FLAG_SNAPSHOT : 0));
  w.u64(m.term);
  w.u64(m.logTerm);
  w.u64(m.index);
  w.u64(m.commit);
  w.u64(m.rejectHint);
  w.u8(to.length);
  w.raw(to);
  w.u8(from.length);
  w.raw(from);
  w.u16(context.length);
  w.raw(context);
  w.u32(m.entries.length);
  for (const e of m.entries) {
    w.u64(e.term);
    w.u64(e.index);
    w.u8(entryTypeCodes[e.type]);
    w.u32(e.data.length);
    w.raw(e.data);
  }
  if (snap !== undefined && conf !== undefined) {
    w.u64(snap.metadata.index);
    w.u64(snap.metadata.term);
    w.u8(conf.autoLeave ? CONF_FLAG_AUTO_LEAVE : 0);
    for (const list of conf.lists) {
      w.u16(list.length);
      for (const id of list) {
        w.u8(id.length);
        w.raw(id);
      }
    }
    w.u32(snap.data.length);
    w.raw(snap.data);
  }
  return w.bytes;
}

/** encodeChunk returns a Chunk frame carrying `payload`, piece `index` of `count`. */
export function encodeChunk(
  messageId: number,
  index: number,
  count: number,
  totalBytes: number,
  payload: Uint8Array,
): Uint8Array {
  const body = CHUNK_HEADER_BYTES + payload.length;
  const w = new Writer(new Uint8Array(FRAME_HEADER_BYTES + body));
  writeFrameHeader(w, FrameKind.Chunk, body);
  w.u32(messageId);
  w.u32(index);
  w.u32(count);
  w.u32(totalBytes);
  w.raw(payload);
  return w.bytes;
}

// ------------------------------------------------------------------ decoding

class Reader {
  private readonly view: DataView;
  offset: number;
  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    /** end: one past the last byte this reader may read. */
    readonly end: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = start;
  }
  get remaining(): number {
    return this.end - this.offset;
  }
  private need(n: number, what: string): void {
    if (n > this.remaining) {
      throw new FrameError(
        FrameErrorCode.Truncated,
        `${what} needs ${n} bytes, ${this.remaining} left`,
        this.offset,
      );
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.offset++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }
  u64(what: string): number {
    this.need(8, what);
    const hi = this.view.getUint32(this.offset);
    if (hi > U64_HI_MAX)
      throw new FrameError(FrameErrorCode.UnsafeInteger, `${what} exceeds 2^53 - 1`, this.offset);
    const lo = this.view.getUint32(this.offset + 4);
    this.offset += 8;
    return hi * TWO_POW_32 + lo;
  }
  /** bytes returns a view of the next n bytes (no copy). */
  view_(n: number, what: string): Uint8Array {
    this.need(n, what);
    const b = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }
  /** copy returns a copy of the next n bytes, so the result does not pin the frame's buffer. */
  copy(n: number, what: string): Uint8Array {
    // new Uint8Array(view) copies into a plain Uint8Array even when the frame
    // is a Buffer (whose slice() would share memory, and is not a plain array).
    return new Uint8Array(this.view_(n, what));
  }
  string(n: number, what: string): string {
    const at = this.offset;
    const b = this.view_(n, what);
    try {
      return utf8Decoder.decode(b);
    } catch (cause) {
      throw new FrameError(
        FrameErrorCode.BadString,
        `${what} is not valid UTF-8 (${String(cause)})`,
        at,
      );
    }
  }
  nodeId(what: string): NodeId {
    const at = this.offset;
    const n = this.u8(`${what} length`);
    if (n === 0) throw new FrameError(FrameErrorCode.BadString, `${what} is empty`, at);
    return this.string(n, what) as NodeId;
  }
}

function decodeConfState(r: Reader): ConfState {
  const flagsAt = r.offset;
  const flags = r.u8('confState flags');
  if ((flags & ~CONF_FLAG_AUTO_LEAVE) !== 0) {
    throw new FrameError(
      FrameErrorCode.BadFlags,
      `confState flags 0x${flags.toString(16)}`,
      flagsAt,
    );
  }
  const limits = [
    codecLimits.votersMax,
    codecLimits.learnersMax,
    codecLimits.votersMax,
    codecLimits.learnersMax,
  ];
  const names = ['voters', 'learners', 'votersOutgoing', 'learnersNext'];
  const lists: NodeId[][] = [];
  for (let i = 0; i < 4; i++) {
    const at = r.offset;
    const count = r.u16(`${names[i]} count`);
    // Each id takes at least 2 bytes (length + one byte).
    if (count > limits[i]! || count * 2 > r.remaining) {
      throw new FrameError(FrameErrorCode.CountTooLarge, `${names[i]} count ${count}`, at);
    }
    const ids: NodeId[] = [];
    for (let j = 0; j < count; j++) ids.push(r.nodeId(`${names[i]}[${j}]`));
    lists.push(ids);
  }
  return {
    voters: lists[0]!,
    learners: lists[1]!,
    votersOutgoing: lists[2]!,
    learnersNext: lists[3]!,
    autoLeave: (flags & CONF_FLAG_AUTO_LEAVE) !== 0,
  };
}

function decodeMessageBody(r: Reader): Message {
  const typeAt = r.offset;
  const typeCode = r.u8('message type');
  const type = messageTypeByCode.get(typeCode);
  if (type === undefined)
    throw new FrameError(FrameErrorCode.BadEnum, `message type code ${typeCode}`, typeAt);
  const flagsAt = r.offset;
  const flags = r.u8('message flags');
  if ((flags & ~(FLAG_REJECT | FLAG_SNAPSHOT)) !== 0) {
    throw new FrameError(FrameErrorCode.BadFlags, `message flags 0x${flags.toString(16)}`, flagsAt);
  }
  const term = r.u64('term') as Term;
  const logTerm = r.u64('logTerm') as Term;
  const index = r.u64('index') as LogIndex;
  const commit = r.u64('commit') as LogIndex;
  const rejectHint = r.u64('rejectHint') as LogIndex;
  const to = r.nodeId('to');
  const from = r.nodeId('from');
  const context = r.string(r.u16('context length'), 'context');
  const countAt = r.offset;
  const entryCount = r.u32('entry count');
  // Bounding the count by the bytes left keeps a forged count from making us
  // loop (or allocate) far beyond what the frame can actually hold.
  if (entryCount * ENTRY_BYTES_MIN > r.remaining) {
    throw new FrameError(
      FrameErrorCode.CountTooLarge,
      `entry count ${entryCount} in ${r.remaining} bytes`,
      countAt,
    );
  }
  const entries: Entry[] = [];
  for (let i = 0; i < entryCount; i++) {
    const eTerm = r.u64(`entries[${i}].term`) as Term;
    const eIndex = r.u64(`entries[${i}].index`) as LogIndex;
    const eTypeAt = r.offset;
    const eTypeCode = r.u8(`entries[${i}].type`);
    const eType = entryTypeByCode.get(eTypeCode);
    if (eType === undefined)
      throw new FrameError(FrameErrorCode.BadEnum, `entry type code ${eTypeCode}`, eTypeAt);
    const data = r.copy(r.u32(`entries[${i}] data length`), `entries[${i}].data`);
    entries.push({ term: eTerm, index: eIndex, type: eType, data });
  }
  let snapshot: Snapshot | undefined;
  if ((flags & FLAG_SNAPSHOT) !== 0) {
    const sIndex = r.u64('snapshot index') as LogIndex;
    const sTerm = r.u64('snapshot term') as Term;
    const confState = decodeConfState(r);
    const data = r.copy(r.u32('snapshot data length'), 'snapshot data');
    snapshot = { metadata: { index: sIndex, term: sTerm, confState }, data };
  }
  const m: Message = {
    type,
    to,
    from,
    term,
    logTerm,
    index,
    entries,
    commit,
    reject: (flags & FLAG_REJECT) !== 0,
    rejectHint,
    context,
    ...(snapshot !== undefined ? { snapshot } : {}),
  };
  if (r.remaining !== 0)
    throw new FrameError(
      FrameErrorCode.TrailingBytes,
      `${r.remaining} bytes after the message`,
      r.offset,
    );
  const invalid = validateMessage(m);
  if (invalid !== undefined) throw new FrameError(FrameErrorCode.InvalidMessage, invalid);
  return m;
}

function decodeChunkBody(r: Reader): ChunkFrame {
  const messageId = r.u32('chunk message id');
  const index = r.u32('chunk index');
  const count = r.u32('chunk count');
  const totalBytes = r.u32('chunk total bytes');
  // Structural rules only; whether the chunk fits a message being reassembled
  // is the Reassembler's job.
  if (count < 2 || index >= count || totalBytes < count) {
    throw new FrameError(FrameErrorCode.BadChunk, `chunk ${index}/${count} of ${totalBytes} bytes`);
  }
  if (r.remaining === 0)
    throw new FrameError(FrameErrorCode.BadChunk, 'empty chunk payload', r.offset);
  if (r.remaining > totalBytes)
    throw new FrameError(FrameErrorCode.BadChunk, 'chunk payload larger than its message');
  const payload = r.view_(r.remaining, 'chunk payload');
  return { kind: FrameKind.Chunk, messageId, index, count, totalBytes, payload };
}

function decodeFrameOrThrow(bytes: Uint8Array): Frame {
  const r = new Reader(bytes, 0, bytes.length);
  if (r.u8('magic') !== FRAME_MAGIC_0 || r.u8('magic') !== FRAME_MAGIC_1) {
    throw new FrameError(FrameErrorCode.BadMagic, 'not a tabd frame');
  }
  const version = r.u8('version');
  if (version !== PROTOCOL_VERSION)
    throw new FrameError(FrameErrorCode.UnsupportedVersion, `version ${version}`, 2);
  const kind = r.u8('kind');
  const bodyBytes = r.u32('body length');
  if (bodyBytes !== r.remaining) {
    throw new FrameError(
      FrameErrorCode.LengthMismatch,
      `header says ${bodyBytes} body bytes, frame has ${r.remaining}`,
      4,
    );
  }
  switch (kind) {
    case FrameKind.Message:
      return { kind: FrameKind.Message, message: decodeMessageBody(r) };
    case FrameKind.Chunk:
      return decodeChunkBody(r);
    case FrameKind.Hello:
    case FrameKind.Auth:
      throw new FrameError(FrameErrorCode.ReservedKind, `frame kind ${kind} is reserved`, 3);
    default:
      throw new FrameError(FrameErrorCode.UnknownKind, `frame kind ${kind}`, 3);
  }
}

function asFrameError(err: unknown): FrameError {
  if (err instanceof FrameError) return err;
  // Every read is bounds-checked, so this is not expected; but a decoder must
  // never throw into the transport, whatever the bytes.
  return new FrameError(FrameErrorCode.Truncated, `malformed frame (${String(err)})`);
}

/** decodeFrame decodes and validates one frame of any kind. It never throws. */
export function decodeFrame(bytes: Uint8Array): DecodeResult<Frame> {
  try {
    return { ok: true, value: decodeFrameOrThrow(bytes) };
  } catch (err) {
    return { ok: false, error: asFrameError(err) };
  }
}

/** decodeMessage decodes a Message frame; any other kind is an error. It never throws. */
export function decodeMessage(bytes: Uint8Array): MessageDecodeResult {
  const res = decodeFrame(bytes);
  if (!res.ok) return res;
  if (res.value.kind !== FrameKind.Message) {
    return {
      ok: false,
      error: new FrameError(
        FrameErrorCode.UnexpectedKind,
        `expected a message frame, got kind ${res.value.kind}`,
      ),
    };
  }
  return { ok: true, message: res.value.message };
}
