// Chunking and reassembly (src/transport/chunker.ts): large messages split
// into frames no larger than the chunk size and come back whole; every bound
// of the receiver (message size, partial messages in progress, frames an
// incomplete message may wait) holds at its boundary, and bad chunks are
// dropped and counted, never thrown.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

import { messageArb } from './arbitraries.js';
import { chunkBody, frame } from './spec-frames.js';
import {
  CHUNK_SIZE_BYTES_MIN,
  Chunker,
  Reassembler,
  chunkerDefaults,
  reassemblerDefaults,
  type ReassembleResult,
} from '../../src/transport/chunker.js';
import { FrameKind, decodeFrame, encodeMessage } from '../../src/transport/codec.js';
import {
  MessageType,
  message,
  nodeId,
  type LogIndex,
  type Message,
  type Term,
} from '../../src/raft/index.js';

const A = nodeId('a');
const B = nodeId('b');

/** snap builds a MsgSnap whose encoded frame is dataBytes + a small fixed overhead. */
function snap(dataBytes: number, fill = 1): Message {
  return message({
    type: MessageType.MsgSnap,
    to: A,
    from: B,
    term: 3 as Term,
    snapshot: {
      metadata: {
        index: 10 as LogIndex,
        term: 2 as Term,
        confState: {
          voters: [A, B],
          learners: [],
          votersOutgoing: [],
          learnersNext: [],
          autoLeave: false,
        },
      },
      data: new Uint8Array(dataBytes).fill(fill),
    },
  });
}

function feed(r: Reassembler, frames: Uint8Array[]): ReassembleResult[] {
  return frames.map((f) => r.accept(f));
}

function lastMessage(results: ReassembleResult[]): Message | undefined {
  const last = results.at(-1);
  return last?.status === 'message' ? last.message : undefined;
}

describe('Chunker', { timeout: 60_000 }, () => {
  test('defaults: 16 KiB chunks, 64 MiB messages', () => {
    expect(chunkerDefaults.chunkSizeBytes).toBe(16 * 1024);
    expect(reassemblerDefaults.maxMessageBytes).toBe(64 * 1024 * 1024);
  });

  test('a frame that fits is sent as is; one byte more is chunked', () => {
    const c = new Chunker({ chunkSizeBytes: 1000 });
    const fits = encodeMessage(snap(0));
    const size = fits.length;
    const exact = encodeMessage(snap(1000 - size));
    expect(exact.length).toBe(1000);
    expect(c.split(exact)).toEqual([exact]);
    const over = encodeMessage(snap(1001 - size));
    const chunks = c.split(over);
    expect(chunks.length).toBe(2);
    for (const ch of chunks) {
      expect(ch.length).toBeLessThanOrEqual(1000);
      expect(decodeFrame(ch)).toMatchObject({
        ok: true,
        value: { kind: FrameKind.Chunk, count: 2 },
      });
    }
  });

  test('chunk size below the minimum is refused', () => {
    expect(() => new Chunker({ chunkSizeBytes: CHUNK_SIZE_BYTES_MIN - 1 })).toThrow(RangeError);
    expect(() => new Chunker({ chunkSizeBytes: CHUNK_SIZE_BYTES_MIN })).not.toThrow();
  });

  test('property: split then reassemble gives the message back, all frames ≤ chunk size', () => {
    fc.assert(
      fc.property(
        messageArb,
        fc.integer({ min: CHUNK_SIZE_BYTES_MIN, max: 400 }),
        (m, chunkSizeBytes) => {
          const frames = new Chunker({ chunkSizeBytes }).split(encodeMessage(m));
          for (const f of frames) expect(f.length).toBeLessThanOrEqual(chunkSizeBytes);
          const r = new Reassembler();
          const results = feed(r, frames);
          expect(results.slice(0, -1).every((x) => x.status === 'pending')).toBe(true);
          expect(lastMessage(results)).toEqual(m);
          expect(r.stats().framesDropped).toBe(0);
          expect(r.partialCount()).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a 5 MiB snapshot travels in 16 KiB chunks', () => {
    const m = snap(5 * 1024 * 1024, 0xab);
    const frames = new Chunker().split(encodeMessage(m));
    expect(frames.length).toBe(Math.ceil(encodeMessage(m).length / (16 * 1024 - 24)));
    const got = lastMessage(feed(new Reassembler(), frames));
    // Compared by hand: a deep toEqual over 5 MiB of typed array takes minutes.
    const data = got?.snapshot?.data;
    expect(data?.length).toBe(5 * 1024 * 1024);
    expect(data?.every((b) => b === 0xab)).toBe(true);
    expect({ ...got, snapshot: { ...got?.snapshot, data: undefined } }).toEqual({
      ...m,
      snapshot: { ...m.snapshot, data: undefined },
    });
  });

  test('message ids differ per message and wrap at 2^32', () => {
    const c = new Chunker({ chunkSizeBytes: 100 });
    const ids = [0, 1, 2].map(() => {
      const f = decodeFrame(c.split(encodeMessage(snap(300)))[0]!);
      return f.ok && f.value.kind === FrameKind.Chunk ? f.value.messageId : -1;
    });
    expect(ids).toEqual([0, 1, 2]);
    (c as unknown as { nextMessageId: number }).nextMessageId = 0xffff_ffff;
    c.split(encodeMessage(snap(300)));
    const f = decodeFrame(c.split(encodeMessage(snap(300)))[0]!);
    expect(f.ok && f.value.kind === FrameKind.Chunk && f.value.messageId).toBe(0);
  });
});

describe('Reassembler bounds and bad chunks', { timeout: 60_000 }, () => {
  const chunkFrame = (
    id: number,
    index: number,
    count: number,
    total: number,
    payload: Uint8Array,
  ) => frame(chunkBody(id, index, count, total, payload), { kind: 2 });

  test('maxMessageBytes: a message of exactly the limit passes, one byte more is dropped at its first chunk', () => {
    const m = snap(2000);
    const bytes = encodeMessage(m);
    const frames = new Chunker({ chunkSizeBytes: 500 }).split(bytes);
    const atLimit = new Reassembler({ maxMessageBytes: bytes.length });
    expect(lastMessage(feed(atLimit, frames))).toEqual(m);

    const below = new Reassembler({ maxMessageBytes: bytes.length - 1 });
    const results = feed(below, frames);
    expect(results[0]).toMatchObject({ status: 'dropped', error: { code: 'too-large' } });
    // The later pieces belong to no message in progress: dropped too.
    expect(results.every((x) => x.status === 'dropped')).toBe(true);
    expect(below.stats().framesDropped).toBe(frames.length);
    expect(below.partialCount()).toBe(0);
  });

  test('maxPartialMessages: a new message beyond the limit evicts the oldest', () => {
    const chunker = new Chunker({ chunkSizeBytes: 200 });
    const msgs = [1, 2, 3].map((fill) => snap(500, fill));
    const framesOf = msgs.map((m) => chunker.split(encodeMessage(m)));
    const r = new Reassembler({ maxPartialMessages: 2 });
    // Interleave: first pieces of all three, then the rest of each.
    for (const fs of framesOf) expect(r.accept(fs[0]!).status).toBe('pending');
    expect(r.partialCount()).toBe(2);
    expect(r.stats().partialsAbandoned).toBe(1);
    // Message 1 was evicted: its next piece is unknown.
    expect(r.accept(framesOf[0]![1]!)).toMatchObject({
      status: 'dropped',
      error: { code: 'bad-chunk' },
    });
    expect(lastMessage(feed(r, framesOf[1]!.slice(1)))).toEqual(msgs[1]);
    expect(lastMessage(feed(r, framesOf[2]!.slice(1)))).toEqual(msgs[2]);
  });

  test('partialTimeoutFrames: an incomplete message is abandoned after that many later frames', () => {
    const chunker = new Chunker({ chunkSizeBytes: 200 });
    const big = chunker.split(encodeMessage(snap(500)));
    const small = encodeMessage(message({ type: MessageType.MsgHeartbeat, to: A, from: B }));
    const run = (laterFrames: number) => {
      const r = new Reassembler({ partialTimeoutFrames: 3 });
      r.accept(big[0]!);
      for (let i = 0; i < laterFrames; i++) expect(r.accept(small).status).toBe('message');
      return { r, next: r.accept(big[1]!) };
    };
    // Three unrelated frames in between: still waiting (the limit is inclusive).
    expect(run(2).next.status).toBe('pending');
    const late = run(3);
    expect(late.next).toMatchObject({ status: 'dropped', error: { code: 'bad-chunk' } });
    expect(late.r.stats()).toMatchObject({ partialsAbandoned: 1, framesDropped: 2 });
  });

  test('out-of-order, repeated, or mismatched pieces abandon the message and are counted', () => {
    const frames = new Chunker({ chunkSizeBytes: 200 }).split(encodeMessage(snap(600)));
    expect(frames.length).toBeGreaterThan(3);

    const skip = new Reassembler();
    feed(skip, [frames[0]!]);
    expect(skip.accept(frames[2]!)).toMatchObject({
      status: 'dropped',
      error: { code: 'bad-chunk' },
    });
    expect(skip.stats()).toMatchObject({ framesDropped: 2, partialsAbandoned: 1 });

    const repeat = new Reassembler();
    feed(repeat, [frames[0]!, frames[1]!]);
    expect(repeat.accept(frames[1]!).status).toBe('dropped');

    // Same id, different count or total.
    const r = new Reassembler();
    r.accept(chunkFrame(9, 0, 3, 30, new Uint8Array(10)));
    expect(r.accept(chunkFrame(9, 1, 4, 30, new Uint8Array(10))).status).toBe('dropped');
    r.accept(chunkFrame(9, 0, 3, 30, new Uint8Array(10)));
    expect(r.accept(chunkFrame(9, 1, 3, 31, new Uint8Array(10))).status).toBe('dropped');
  });

  test('pieces that add up to more, or less, than the announced total are dropped', () => {
    const r = new Reassembler();
    r.accept(chunkFrame(1, 0, 2, 15, new Uint8Array(10)));
    expect(r.accept(chunkFrame(1, 1, 2, 15, new Uint8Array(6)))).toMatchObject({
      status: 'dropped',
    });
    r.accept(chunkFrame(2, 0, 2, 15, new Uint8Array(10)));
    expect(r.accept(chunkFrame(2, 1, 2, 15, new Uint8Array(4)))).toMatchObject({
      status: 'dropped',
    });
    expect(r.stats().framesDropped).toBe(4);
    expect(r.partialCount()).toBe(0);
  });

  test('a complete chunked message whose bytes are not a valid message frame is dropped', () => {
    const r = new Reassembler();
    // Reassembles to garbage.
    r.accept(chunkFrame(1, 0, 2, 4, Uint8Array.of(1, 2)));
    expect(r.accept(chunkFrame(1, 1, 2, 4, Uint8Array.of(3, 4)))).toMatchObject({
      status: 'dropped',
    });
    // Reassembles to a chunk frame: chunks do not nest.
    const inner = chunkFrame(7, 0, 2, 10, new Uint8Array(5));
    const half = Math.ceil(inner.length / 2);
    r.accept(chunkFrame(2, 0, 2, inner.length, inner.subarray(0, half)));
    expect(r.accept(chunkFrame(2, 1, 2, inner.length, inner.subarray(half)))).toMatchObject({
      status: 'dropped',
      error: { code: 'unexpected-kind' },
    });
    expect(r.stats().framesDropped).toBe(4);
  });

  test('property: arbitrary chunk frames never throw and never leave more partials than the bound', () => {
    const chunkArb = fc.record({
      id: fc.integer({ min: 0, max: 5 }),
      index: fc.integer({ min: 0, max: 4 }),
      count: fc.integer({ min: 2, max: 5 }),
      total: fc.integer({ min: 2, max: 80 }),
      payload: fc.uint8Array({ minLength: 1, maxLength: 30 }),
    });
    fc.assert(
      fc.property(fc.array(chunkArb, { maxLength: 60 }), (chunks) => {
        const r = new Reassembler({
          maxPartialMessages: 3,
          partialTimeoutFrames: 10,
          maxMessageBytes: 60,
        });
        for (const c of chunks) {
          expect(() =>
            r.accept(chunkFrame(c.id, c.index, c.count, c.total, c.payload)),
          ).not.toThrow();
          expect(r.partialCount()).toBeLessThanOrEqual(3);
        }
      }),
      { numRuns: 500 },
    );
  });
});
