// The per-peer outbound queue (src/transport/outbound-queue.ts): its byte
// bound at the boundary, which messages it drops (oldest unsent first, never
// one partly sent), and that frames leave whole messages in order.
import { describe, expect, test } from 'vitest';

import { MessageType, message, nodeId, type Message, type Term } from '../../src/raft/index.js';
import { OutboundQueue } from '../../src/transport/outbound-queue.js';

const m = (t: number): Message =>
  message({ type: MessageType.MsgHeartbeat, to: nodeId('b'), from: nodeId('a'), term: t as Term });
const frames = (...sizes: number[]): Uint8Array[] => sizes.map((n) => new Uint8Array(n));

/** drain sends every frame and returns the terms of the messages completed, in order. */
function drain(q: OutboundQueue): number[] {
  const done: number[] = [];
  while (q.peek() !== undefined) {
    const finished = q.shift();
    if (finished !== undefined) done.push(finished.term);
  }
  return done;
}

describe('OutboundQueue', () => {
  test('a queue filled exactly to its bound drops nothing; one byte more drops the oldest', () => {
    const q = new OutboundQueue(100);
    expect(q.push(m(1), frames(40))).toEqual([]);
    expect(q.push(m(2), frames(60))).toEqual([]);
    expect(q.bytes).toBe(100);
    expect(q.push(m(3), frames(1))).toEqual([m(1)]);
    expect(q.bytes).toBe(61);
    expect(drain(q)).toEqual([2, 3]);
    expect(q.bytes).toBe(0);
  });

  test('a message larger than the bound is refused; one of exactly the bound is accepted', () => {
    const q = new OutboundQueue(100);
    expect(q.push(m(1), frames(50, 51))).toEqual([m(1)]);
    expect(q.length).toBe(0);
    expect(q.push(m(2), frames(50, 50))).toEqual([]);
    expect(q.bytes).toBe(100);
  });

  test('a partly sent message is never dropped; the ones behind it go instead', () => {
    const q = new OutboundQueue(100);
    q.push(m(1), frames(30, 30, 30));
    expect(q.shift()).toBeUndefined(); // first frame of m1 is on the wire
    q.push(m(2), frames(10));
    expect(q.bytes).toBe(70);
    // 70 + 40 > 100: m1 is partly sent, so m2 (the oldest unsent) goes.
    expect(q.push(m(3), frames(40))).toEqual([m(2)]);
    expect(drain(q)).toEqual([1, 3]);
  });

  test('a big new message may evict several old ones', () => {
    const q = new OutboundQueue(100);
    for (let t = 1; t <= 5; t++) q.push(m(t), frames(20));
    expect(q.push(m(6), frames(90)).map((x) => x.term)).toEqual([1, 2, 3, 4, 5]);
    expect(drain(q)).toEqual([6]);
  });

  test('frames leave in order and each message completes once, on its last frame', () => {
    const q = new OutboundQueue(1000);
    q.push(m(1), frames(1, 2, 3));
    q.push(m(2), frames(4));
    const sizes: number[] = [];
    const done: number[] = [];
    for (let f = q.peek(); f !== undefined; f = q.peek()) {
      sizes.push(f.length);
      const finished = q.shift();
      if (finished) done.push(finished.term);
    }
    expect(sizes).toEqual([1, 2, 3, 4]);
    expect(done).toEqual([1, 2]);
  });

  test('clear returns what was queued and empties the queue', () => {
    const q = new OutboundQueue(1000);
    q.push(m(1), frames(10));
    q.push(m(2), frames(10));
    expect(q.clear().map((x) => x.term)).toEqual([1, 2]);
    expect(q.bytes).toBe(0);
    expect(q.peek()).toBeUndefined();
    expect(() => new OutboundQueue(0)).toThrow(RangeError);
  });
});
