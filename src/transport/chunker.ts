// Chunking: a Message frame larger than the chunk size (a snapshot, a big
// MsgApp) travels as Chunk frames, each at most chunkSizeBytes long, so no
// single data-channel message is large (large ones stall SCTP and other
// traffic). The receiver reassembles them with hard bounds on memory: total
// size per message, number of messages in progress, and how many later frames
// an incomplete message may wait before it is abandoned. Frames are counted
// rather than timed, so reassembly is deterministic and needs no timers.
// Wire format: PROTOCOL.md, "Chunk frames".
import {
  CHUNK_HEADER_BYTES,
  FRAME_HEADER_BYTES,
  FrameError,
  FrameErrorCode,
  FrameKind,
  decodeFrame,
  encodeChunk,
  type ChunkFrame,
} from './codec.js';
import type { Message } from '../raft/index.js';

/** chunkerDefaults: the sender's chunk size. */
export const chunkerDefaults = {
  /** chunkSizeBytes: largest frame the sender emits (16 KiB: small data-channel messages). */
  chunkSizeBytes: 16 * 1024,
} as const;

/** reassemblerDefaults: the receiver's bounds. */
export const reassemblerDefaults = {
  /** maxMessageBytes: largest reassembled Message frame accepted (64 MiB). */
  maxMessageBytes: 64 * 1024 * 1024,
  /** maxPartialMessages: chunked messages in progress at once per peer; a new one evicts the oldest. */
  maxPartialMessages: 4,
  /** partialTimeoutFrames: an incomplete message is abandoned after this many later frames without a piece of it. */
  partialTimeoutFrames: 1024,
} as const;

/** CHUNK_SIZE_BYTES_MIN: a chunk frame must carry at least one payload byte. */
export const CHUNK_SIZE_BYTES_MIN = FRAME_HEADER_BYTES + CHUNK_HEADER_BYTES + 1;

export type ChunkerConfig = Partial<typeof chunkerDefaults>;
export type ReassemblerConfig = { -readonly [K in keyof typeof reassemblerDefaults]?: number };

/** Chunker splits encoded Message frames into Chunk frames; one per sender (it numbers messages). */
export class Chunker {
  readonly chunkSizeBytes: number;
  private nextMessageId = 0;

  constructor(cfg: ChunkerConfig = {}) {
    this.chunkSizeBytes = cfg.chunkSizeBytes ?? chunkerDefaults.chunkSizeBytes;
    if (!Number.isSafeInteger(this.chunkSizeBytes) || this.chunkSizeBytes < CHUNK_SIZE_BYTES_MIN) {
      throw new RangeError(`chunkSizeBytes must be an integer ≥ ${CHUNK_SIZE_BYTES_MIN}`);
    }
  }

  /**
   * split returns [frame] when it fits in one chunk, else the Chunk frames
   * that carry it, in order. Each returned frame is at most chunkSizeBytes.
   */
  split(frame: Uint8Array): Uint8Array[] {
    if (frame.length <= this.chunkSizeBytes) return [frame];
    const pieceBytes = this.chunkSizeBytes - FRAME_HEADER_BYTES - CHUNK_HEADER_BYTES;
    const count = Math.ceil(frame.length / pieceBytes);
    const id = this.nextMessageId;
    // u32 wrap-around: ids only need to differ among the few messages in flight.
    this.nextMessageId = (this.nextMessageId + 1) >>> 0;
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const piece = frame.subarray(i * pieceBytes, Math.min(frame.length, (i + 1) * pieceBytes));
      out.push(encodeChunk(id, i, count, frame.length, piece));
    }
    return out;
  }
}

export type ReassembleResult =
  | { readonly status: 'message'; readonly message: Message }
  | { readonly status: 'pending' }
  | { readonly status: 'dropped'; readonly error: FrameError };

/** ReassemblerStats counts what one peer's frames came to. */
export interface ReassemblerStats {
  /** framesDropped: frames refused on arrival plus frames of abandoned partial messages. */
  framesDropped: number;
  /** messagesDecoded: valid messages returned (whole or reassembled). */
  messagesDecoded: number;
  /** partialsAbandoned: chunked messages evicted, timed out or broken by a bad chunk. */
  partialsAbandoned: number;
}

interface PartialMessage {
  readonly messageId: number;
  readonly count: number;
  readonly totalBytes: number;
  readonly pieces: Uint8Array[];
  receivedBytes: number;
  /** lastFrameSeq: the receiver's frame number of this message's latest piece. */
  lastFrameSeq: number;
}

/**
 * Reassembler turns the frames of one peer into validated messages. Use one
 * per peer (message ids are the sender's). accept() never throws.
 */
export class Reassembler {
  private readonly maxMessageBytes: number;
  private readonly maxPartialMessages: number;
  private readonly partialTimeoutFrames: number;
  /** partials in arrival order of their first piece (Map keeps insertion order). */
  private readonly partials = new Map<number, PartialMessage>();
  private frameSeq = 0;
  private readonly counters: ReassemblerStats = {
    framesDropped: 0,
    messagesDecoded: 0,
    partialsAbandoned: 0,
  };

  constructor(cfg: ReassemblerConfig = {}) {
    this.maxMessageBytes = cfg.maxMessageBytes ?? reassemblerDefaults.maxMessageBytes;
    this.maxPartialMessages = cfg.maxPartialMessages ?? reassemblerDefaults.maxPartialMessages;
    this.partialTimeoutFrames =
      cfg.partialTimeoutFrames ?? reassemblerDefaults.partialTimeoutFrames;
    for (const [k, v] of Object.entries({
      maxMessageBytes: this.maxMessageBytes,
      maxPartialMessages: this.maxPartialMessages,
      partialTimeoutFrames: this.partialTimeoutFrames,
    })) {
      if (!Number.isSafeInteger(v) || v < 1)
        throw new RangeError(`${k} must be a positive integer`);
    }
  }

  stats(): ReassemblerStats {
    return { ...this.counters };
  }

  /** partialCount: chunked messages in progress (for tests and status). */
  partialCount(): number {
    return this.partials.size;
  }

  accept(frame: Uint8Array): ReassembleResult {
    this.frameSeq++;
    this.expire();
    const res = decodeFrame(frame);
    if (!res.ok) return this.drop(res.error);
    const f = res.value;
    if (f.kind === FrameKind.Message) {
      this.counters.messagesDecoded++;
      return { status: 'message', message: f.message };
    }
    return this.acceptChunk(f);
  }

  private acceptChunk(c: ChunkFrame): ReassembleResult {
    if (c.totalBytes > this.maxMessageBytes) {
      return this.drop(
        new FrameError(
          FrameErrorCode.TooLarge,
          `chunked message of ${c.totalBytes} bytes exceeds ${this.maxMessageBytes}`,
        ),
      );
    }
    let p = this.partials.get(c.messageId);
    if (c.index === 0) {
      // A sender never reuses an id while the message is in flight, so a second
      // first piece means the earlier message was cut short (e.g. the sender
      // dropped its queued tail): abandon it.
      if (p !== undefined) this.abandon(p);
      if (this.partials.size >= this.maxPartialMessages) {
        const oldest = this.partials.values().next().value;
        if (oldest !== undefined) this.abandon(oldest);
      }
      p = {
        messageId: c.messageId,
        count: c.count,
        totalBytes: c.totalBytes,
        pieces: [],
        receivedBytes: 0,
        lastFrameSeq: 0,
      };
      this.partials.set(c.messageId, p);
    } else if (p === undefined) {
      return this.drop(
        new FrameError(
          FrameErrorCode.BadChunk,
          `chunk ${c.index} of unknown message ${c.messageId}`,
        ),
      );
    }
    // The channel is ordered, so pieces arrive in order; anything else means a
    // piece was lost and the message cannot be completed.
    if (c.index !== p.pieces.length || c.count !== p.count || c.totalBytes !== p.totalBytes) {
      this.abandon(p);
      return this.drop(
        new FrameError(
          FrameErrorCode.BadChunk,
          `chunk ${c.index}/${c.count} does not continue message ${c.messageId} (${p.pieces.length}/${p.count})`,
        ),
      );
    }
    const isLast = c.index === c.count - 1;
    const receivedBytes = p.receivedBytes + c.payload.length;
    if (receivedBytes > p.totalBytes || (isLast && receivedBytes !== p.totalBytes)) {
      this.abandon(p);
      return this.drop(
        new FrameError(
          FrameErrorCode.BadChunk,
          `message ${c.messageId} pieces total ${receivedBytes} bytes, header says ${p.totalBytes}`,
        ),
      );
    }
    p.pieces.push(c.payload);
    p.receivedBytes = receivedBytes;
    p.lastFrameSeq = this.frameSeq;
    if (!isLast) return { status: 'pending' };

    this.partials.delete(p.messageId);
    const whole = new Uint8Array(p.totalBytes);
    let at = 0;
    for (const piece of p.pieces) {
      whole.set(piece, at);
      at += piece.length;
    }
    const res = decodeFrame(whole);
    if (!res.ok) {
      this.counters.framesDropped += p.count - 1;
      return this.drop(res.error);
    }
    if (res.value.kind !== FrameKind.Message) {
      this.counters.framesDropped += p.count - 1;
      return this.drop(
        new FrameError(FrameErrorCode.UnexpectedKind, 'a chunked message must be a message frame'),
      );
    }
    this.counters.messagesDecoded++;
    return { status: 'message', message: res.value.message };
  }

  private expire(): void {
    for (const p of this.partials.values()) {
      if (this.frameSeq - p.lastFrameSeq > this.partialTimeoutFrames) this.abandon(p);
    }
  }

  private abandon(p: PartialMessage): void {
    this.partials.delete(p.messageId);
    this.counters.framesDropped += p.pieces.length;
    this.counters.partialsAbandoned++;
  }

  private drop(error: FrameError): ReassembleResult {
    this.counters.framesDropped++;
    return { status: 'dropped', error };
  }
}
