// The WebRTC mesh transport (src/transport/webrtc-mesh.ts) in a real Chromium:
// two WebRtcTransports in one page (two RTCPeerConnections over the machine's
// network interface, host candidates only, no STUN), signaled through
// BroadcastChannel, or through the WebSocket relay that the Vite plugin serves
// on the tester's own origin. Nothing is mocked.
import { afterEach, describe, expect, test } from 'vitest';

import {
  MessageType,
  message,
  nodeId,
  type LogIndex,
  type Message,
  type NodeId,
  type Term,
} from '../../src/raft/index.js';
import { encodeMessage } from '../../src/transport/codec.js';
import { BroadcastChannelSignaling } from '../../src/transport/signaling-broadcast.js';
import { WebSocketSignaling } from '../../src/transport/signaling-ws.js';
import type { Signaling } from '../../src/transport/signaling.js';
import type { SendDropReason } from '../../src/transport/transport.js';
import { WebRtcTransport, webRtcTransportDefaults } from '../../src/transport/webrtc-mesh.js';

const A = nodeId('peer-a');
const B = nodeId('peer-b'); // A < B: A makes the offers
const WAIT_MS = 15_000;

interface Peer {
  t: WebRtcTransport;
  got: Message[];
  events: string[];
  dropped: SendDropReason[];
  /** onMessage hook for tests that answer messages. */
  reply?: (m: Message) => void;
}

const started: WebRtcTransport[] = [];

afterEach(() => {
  for (const t of started.splice(0)) t.close();
});

type Options = Partial<typeof webRtcTransportDefaults>;

function peer(id: NodeId, room: string, signaling: Signaling, opts: Options = {}): Peer {
  const t = new WebRtcTransport({
    localId: id,
    room,
    signaling,
    reconnectInitialDelayMs: 50,
    reconnectMaxDelayMs: 500,
    ...opts,
  });
  const p: Peer = { t, got: [], events: [], dropped: [] };
  t.start({
    onMessage: (m) => {
      p.got.push(m);
      p.reply?.(m);
    },
    onPeerUp: (x) => void p.events.push(`up ${x}`),
    onPeerDown: (x) => void p.events.push(`down ${x}`),
    onSendDropped: (_m, why) => void p.dropped.push(why),
  });
  started.push(t);
  return p;
}

async function until(cond: () => boolean, what: string, ms = WAIT_MS): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - t0;
}

async function connectedPair(
  signaling: () => Signaling = () => new BroadcastChannelSignaling(),
  opts: Options = {},
) {
  const room = `webrtc-${crypto.randomUUID()}`;
  const a = peer(A, room, signaling(), opts);
  const b = peer(B, room, signaling(), opts);
  await until(
    () => a.t.connectedPeers().includes(B) && b.t.connectedPeers().includes(A),
    'the data channel opens',
  );
  return { a, b, room };
}

function hb(from: NodeId, to: NodeId, t: number): Message {
  return message({ type: MessageType.MsgHeartbeat, from, to, term: t as Term });
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

describe('WebRtcTransport between two peers in one page', () => {
  test('connects through BroadcastChannel signaling and exchanges messages both ways', async () => {
    const { a, b } = await connectedPair();
    expect(a.events).toEqual([`up ${B}`]);
    expect(b.events).toEqual([`up ${A}`]);
    for (let i = 1; i <= 10; i++) a.t.send(hb(A, B, i));
    b.t.send(hb(B, A, 99));
    await until(() => b.got.length === 10 && a.got.length === 1, 'messages arrive');
    expect(b.got.map((m) => m.term)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(b.got[0]).toEqual(hb(A, B, 1));
    expect(a.got[0]).toEqual(hb(B, A, 99));
    expect(a.t.stats()).toMatchObject({ messagesSent: 10, messagesReceived: 1, framesDropped: 0 });
  });

  test('round trip of small messages: p50 printed', async () => {
    const { a, b } = await connectedPair();
    b.reply = (m) =>
      b.t.send(message({ type: MessageType.MsgHeartbeatResp, from: B, to: A, term: m.term }));
    const rtts: number[] = [];
    for (let i = 1; i <= 300; i++) {
      const arrived = new Promise<number>((resolve, reject) => {
        // The answer's arrival time is taken in the handler itself.
        a.reply = () => resolve(performance.now());
        setTimeout(() => reject(new Error(`no answer to ${i}`)), 5000);
      });
      const t0 = performance.now();
      a.t.send(hb(A, B, i));
      rtts.push((await arrived) - t0);
    }
    const warm = rtts.slice(20);
    console.log(
      `WebRTC data channel round trip (heartbeat → response, ${warm.length} samples): ` +
        `p50 ${percentile(warm, 50).toFixed(2)} ms, p90 ${percentile(warm, 90).toFixed(2)} ms, ` +
        `max ${Math.max(...warm).toFixed(2)} ms`,
    );
    expect(a.got.map((m) => m.term)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  test('a 5 MiB snapshot goes in 16 KiB chunks under the high-water mark, and in order with what follows', async () => {
    const { a, b } = await connectedPair();
    const size = 5 * 1024 * 1024;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i * 31 + 7) & 0xff;
    const snap = message({
      type: MessageType.MsgSnap,
      from: A,
      to: B,
      term: 4 as Term,
      snapshot: {
        metadata: {
          index: 1000 as LogIndex,
          term: 3 as Term,
          confState: {
            voters: [A, B],
            learners: [],
            votersOutgoing: [],
            learnersNext: [],
            autoLeave: false,
          },
        },
        data,
      },
    });
    // Watch the channel's buffer at every frame handed to it.
    const channel = a.t.channelTo(B)!;
    const send = channel.send.bind(channel);
    let bufferedMax = 0;
    let frames = 0;
    let largestFrame = 0;
    channel.send = ((d: Uint8Array<ArrayBuffer>) => {
      bufferedMax = Math.max(bufferedMax, channel.bufferedAmount + d.byteLength);
      frames++;
      largestFrame = Math.max(largestFrame, d.byteLength);
      send(d);
    }) as typeof channel.send;

    const t0 = performance.now();
    a.t.send(snap);
    a.t.send(hb(A, B, 5));
    await until(() => b.got.length === 2, 'snapshot and heartbeat arrive');
    const ms = performance.now() - t0;
    console.log(
      `5 MiB MsgSnap: ${frames} frames, largest ${largestFrame} B, ${ms.toFixed(0)} ms ` +
        `(${(size / 1024 / 1024 / (ms / 1000)).toFixed(1)} MiB/s), bufferedAmount max ${bufferedMax} B`,
    );
    const got = b.got[0]!;
    expect(got.type).toBe(MessageType.MsgSnap);
    expect(b.got[1]!.type).toBe(MessageType.MsgHeartbeat);
    const gotData = got.snapshot!.data;
    expect(gotData.length).toBe(size);
    let mismatches = 0;
    for (let i = 0; i < size; i++) if (gotData[i] !== data[i]) mismatches++;
    expect(mismatches).toBe(0);
    expect(got.snapshot!.metadata).toEqual(snap.snapshot!.metadata);

    const expectedFrames = Math.ceil(encodeMessage(snap).length / (16 * 1024 - 24)) + 1;
    expect(frames).toBe(expectedFrames);
    expect(largestFrame).toBeLessThanOrEqual(webRtcTransportDefaults.chunkSizeBytes);
    // The sender waited for the buffer to drain: the buffer never went over the mark, and
    // got near it (so backpressure, not the network, set the pace).
    expect(bufferedMax).toBeLessThanOrEqual(webRtcTransportDefaults.highWaterMarkBytes);
    expect(bufferedMax).toBeGreaterThan(webRtcTransportDefaults.highWaterMarkBytes / 2);
    expect(b.t.stats()).toMatchObject({
      messagesReceived: 2,
      framesReceived: expectedFrames,
      framesDropped: 0,
    });
  });

  test('the outbound queue is bounded in bytes: the oldest unsent messages are dropped and counted', async () => {
    const queueMax = 64 * 1024;
    const { a, b } = await connectedPair(undefined, { outboundQueueBytesMax: queueMax });
    const prop = (t: number): Message =>
      message({
        type: MessageType.MsgProp,
        from: A,
        to: B,
        term: t as Term,
        entries: [
          { index: 0 as LogIndex, term: 0 as Term, type: 'normal', data: new Uint8Array(10_000) },
        ],
      });
    // 40 × ~10 KB at once: about 128 KiB fit in the channel's buffer, 64 KiB may wait, the rest must go.
    let queuedMax = 0;
    for (let t = 1; t <= 40; t++) {
      a.t.send(prop(t));
      queuedMax = Math.max(queuedMax, a.t.queuedBytes(B));
    }
    await until(() => b.got.some((m) => m.term === 40), 'the newest message arrives');
    const dropped = a.dropped.filter((why) => why === 'queue-full').length;
    console.log(
      `outbound queue bound ${queueMax} B: ${dropped} of 40 messages dropped, queue peaked at ${queuedMax} B`,
    );
    expect(queuedMax).toBeLessThanOrEqual(queueMax);
    expect(queuedMax).toBeGreaterThan(queueMax / 2);
    expect(dropped).toBeGreaterThan(0);
    expect(a.t.stats().messagesDropped).toBe(dropped);
    // What arrived is in order, and is everything that was not dropped.
    const terms = b.got.map((m) => m.term);
    expect(terms).toEqual([...terms].sort((x, y) => x - y));
    expect(terms.length).toBe(40 - dropped);
  });

  test('malformed, text and forged frames on the raw channel are dropped and counted; later messages arrive', async () => {
    const { a, b } = await connectedPair();
    const raw = a.t.channelTo(B)!;
    raw.send(Uint8Array.of(1, 2, 3));
    raw.send('not a frame');
    const truncated = encodeMessage(hb(A, B, 1)).slice(0, 20);
    raw.send(truncated);
    // A valid frame claiming to come from a third peer: the channel says it is from A.
    raw.send(encodeMessage(hb(nodeId('peer-c'), B, 1)) as Uint8Array<ArrayBuffer>);
    a.t.send(hb(A, B, 42));
    await until(() => b.got.length === 1, 'the good message arrives');
    expect(b.got[0]!.term).toBe(42);
    expect(b.t.stats()).toMatchObject({ framesReceived: 5, framesDropped: 4, messagesReceived: 1 });
    expect(b.t.lastInboundError(A)?.code).toBe('misaddressed');
    expect(b.t.connectedPeers()).toEqual([A]);
  });

  test('isolate() cuts the channels and refuses reconnection; heal() restores them (offerer isolated)', async () => {
    const { a, b } = await connectedPair();
    a.t.isolate();
    expect(a.t.connectedPeers()).toEqual([]);
    expect(a.events).toEqual([`up ${B}`, `down ${B}`]);
    const noticedMs = await until(
      () => b.events.includes(`down ${A}`),
      'b sees the channel close',
      5000,
    );
    console.log(`peer noticed the isolated peer's channel close after ${noticedMs.toFixed(0)} ms`);
    a.t.send(hb(A, B, 1));
    expect(a.dropped).toEqual(['unreachable']);
    // Stays cut: no reconnection while isolated.
    await new Promise((r) => setTimeout(r, 700));
    expect(a.t.connectedPeers()).toEqual([]);
    expect(b.t.connectedPeers()).toEqual([]);

    a.t.heal();
    await until(
      () => a.t.connectedPeers().includes(B) && b.t.connectedPeers().includes(A),
      'reconnected',
    );
    a.t.send(hb(A, B, 2));
    await until(() => b.got.length === 1, 'message after heal');
    expect(b.got[0]!.term).toBe(2);
  });

  test("isolate() on the answering peer: the offerer's retries are refused until heal()", async () => {
    const { a, b } = await connectedPair();
    b.t.isolate();
    await until(() => a.events.includes(`down ${B}`), 'a sees b go');
    // a retries every 50..500 ms; b refuses every offer.
    await new Promise((r) => setTimeout(r, 1500));
    expect(a.t.connectedPeers()).toEqual([]);
    expect(b.t.connectedPeers()).toEqual([]);
    const t0 = performance.now();
    b.t.heal();
    await until(
      () => a.t.connectedPeers().includes(B) && b.t.connectedPeers().includes(A),
      'reconnected',
    );
    console.log(`answerer heal → channel open in ${(performance.now() - t0).toFixed(0)} ms`);
    b.t.send(hb(B, A, 3));
    await until(() => a.got.length === 1, 'message after heal');
  });

  test('a channel that closes under us is re-established by the offerer with backoff', async () => {
    const { a, b } = await connectedPair();
    // The answerer's side of the channel closes (as after a network failure).
    b.t.channelTo(A)!.close();
    await until(
      () => a.events.includes(`down ${B}`) && b.events.includes(`down ${A}`),
      'both see it down',
    );
    const ms = await until(
      () => a.t.connectedPeers().includes(B) && b.t.connectedPeers().includes(A),
      'reconnected',
    );
    console.log(`reconnected ${ms.toFixed(0)} ms after the channel loss was seen`);
    expect(a.events).toEqual([`up ${B}`, `down ${B}`, `up ${B}`]);
    a.t.send(hb(A, B, 8));
    await until(() => b.got.length === 1, 'message on the new channel');
  });

  test('a peer that restarts with the same id (a reload) is connected again', async () => {
    const { a, b, room } = await connectedPair();
    // No close(): the old page is simply gone (its channel may even stay open for a while).
    b.t.isolate();
    const b2 = peer(B, room, new BroadcastChannelSignaling());
    await until(() => b2.t.connectedPeers().includes(A), 'the new incarnation connects');
    a.t.send(hb(A, B, 9));
    await until(() => b2.got.length === 1, 'message reaches the new incarnation');
    expect(b.got).toEqual([]);
  });

  test('close() closes the channels: the other side learns within a second', async () => {
    const { a, b } = await connectedPair();
    a.t.close();
    const ms = await until(() => b.events.includes(`down ${A}`), 'b sees a leave', 3000);
    console.log(`close(): peer saw the channel close after ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(1000);
    a.t.send(hb(A, B, 1));
    expect(a.dropped).toEqual(['closed']);
  });

  test('connects through the WebSocket relay served by the Vite plugin on this origin', async () => {
    const url = `ws://${location.host}/signal`;
    const { a, b } = await connectedPair(() => new WebSocketSignaling(url));
    a.t.send(hb(A, B, 7));
    await until(() => b.got.length === 1, 'message via relay-signaled channel');
    expect(b.got[0]!.term).toBe(7);
  });
});
