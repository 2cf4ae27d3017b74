// Signaling (src/transport/signaling*.ts): the room protocol over both media
// — BroadcastChannel (Node has the same global as browsers) and the WebSocket
// relay on 127.0.0.1 — discovery in both directions, signals reaching only
// their target, leave, restart detection, malformed input, and reconnection
// after the relay restarts. Every wait is bounded.
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';

import { startSignalServer, type SignalServer } from '../../server/signal-server.js';
import { nodeId, type NodeId } from '../../src/raft/index.js';
import {
  BROADCAST_CHANNEL_PREFIX,
  BroadcastChannelSignaling,
} from '../../src/transport/signaling-broadcast.js';
import { WebSocketSignaling, type WebSocketLike } from '../../src/transport/signaling-ws.js';
import { parseRoomMessage, type JsonValue, type Signaling } from '../../src/transport/signaling.js';

const WAIT_MS = 10_000;

interface Log {
  events: string[];
  signals: [NodeId, JsonValue][];
}

function joinRoom(s: Signaling, room: string, id: string): Log {
  const log: Log = { events: [], signals: [] };
  s.join(room, nodeId(id), {
    onPeerJoined: (p) => void log.events.push(`joined ${p}`),
    onPeerLeft: (p) => void log.events.push(`left ${p}`),
    onSignal: (from, payload) => void log.signals.push([from, payload]),
  });
  return log;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const open: Signaling[] = [];
let server: SignalServer | undefined;

afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  await server?.close();
  server = undefined;
});

let roomSeq = 0;
const freshRoom = () => `test-room-${process.pid}-${++roomSeq}`;

type Factory = () => Signaling;

const media: [string, () => Promise<Factory>][] = [
  ['BroadcastChannel', async () => () => new BroadcastChannelSignaling()],
  [
    'WebSocket relay',
    async () => {
      server = await startSignalServer({ port: 0 });
      const url = server.url;
      return () =>
        new WebSocketSignaling(url, {
          createWebSocket: (u) => new WebSocket(u) as unknown as WebSocketLike,
          reconnectInitialDelayMs: 20,
          reconnectMaxDelayMs: 100,
        });
    },
  ],
];

describe.each(media)('room protocol over %s', { timeout: 30_000 }, (_name, setup) => {
  test('peers discover each other both ways; a signal reaches only its target', async () => {
    const make = await setup();
    const room = freshRoom();
    const [a, b, c] = [make(), make(), make()];
    open.push(a, b, c);
    const la = joinRoom(a, room, 'a');
    const lb = joinRoom(b, room, 'b');
    await until(
      () => la.events.includes('joined b') && lb.events.includes('joined a'),
      'a and b meet',
    );
    const lc = joinRoom(c, room, 'c');
    await until(() => lc.events.length === 2 && la.events.includes('joined c'), 'c meets a and b');
    expect(lc.events.sort()).toEqual(['joined a', 'joined b']);
    expect(a.peers().sort()).toEqual(['b', 'c']);

    a.signal(nodeId('b'), { kind: 'offer', sdp: 'x' });
    await until(() => lb.signals.length === 1, 'b gets the signal');
    expect(lb.signals).toEqual([['a', { kind: 'offer', sdp: 'x' }]]);
    // c heard the same room traffic and ignored it.
    c.signal(nodeId('a'), 'sync');
    await until(() => la.signals.length === 1, 'a gets c signal');
    expect(lc.signals).toEqual([]);
  });

  test('close() sends leave; a restarted peer (same id, new incarnation) is reported left then joined', async () => {
    const make = await setup();
    const room = freshRoom();
    const [a, b] = [make(), make()];
    open.push(a, b);
    const la = joinRoom(a, room, 'a');
    joinRoom(b, room, 'b');
    await until(() => la.events.includes('joined b'), 'a meets b');
    b.close();
    await until(() => la.events.includes('left b'), 'a sees b leave');
    expect(a.peers()).toEqual([]);

    const b2 = make();
    open.push(b2);
    joinRoom(b2, room, 'b');
    await until(() => la.events.filter((e) => e === 'joined b').length === 2, 'b back');
    // A reload without a goodbye: a third incarnation of b appears while a still knows the second.
    const b3 = make();
    open.push(b3);
    joinRoom(b3, room, 'b');
    await until(() => la.events.length === 5, 'restart seen');
    expect(la.events).toEqual(['joined b', 'left b', 'joined b', 'left b', 'joined b']);
  });

  test('announce() makes known peers report the announcer again (rediscovery after a partition)', async () => {
    const make = await setup();
    const room = freshRoom();
    const [a, b] = [make(), make()];
    open.push(a, b);
    const la = joinRoom(a, room, 'a');
    const lb = joinRoom(b, room, 'b');
    await until(() => la.events.length === 1 && lb.events.length === 1, 'meet');
    b.announce();
    await until(() => la.events.length === 2, 'a hears b again');
    expect(la.events).toEqual(['joined b', 'joined b']);
    expect(a.stats().sent).toBeGreaterThan(0);
  });
});

describe('room protocol validation', { timeout: 30_000 }, () => {
  test('parseRoomMessage accepts exactly the three well-formed shapes', () => {
    const base = { v: 1, from: 'a', inc: 'i' };
    expect(parseRoomMessage({ ...base, t: 'announce', reply: false })).toBeDefined();
    expect(parseRoomMessage({ ...base, t: 'leave' })).toBeDefined();
    expect(parseRoomMessage({ ...base, t: 'signal', to: 'b', payload: null })).toBeDefined();
    for (const bad of [
      null,
      'x',
      [],
      { ...base, t: 'announce' },
      { ...base, t: 'signal', to: 'b' },
      { ...base, t: 'signal', to: '', payload: 1 },
      { ...base, v: 2, t: 'leave' },
      { ...base, from: '', t: 'leave' },
      { ...base, from: 'x'.repeat(256), t: 'leave' },
      { ...base, inc: 5, t: 'leave' },
      { ...base, t: 'hello' },
    ]) {
      expect(parseRoomMessage(bad)).toBeUndefined();
    }
  });

  test('malformed room messages are counted and ignored; the room keeps working', async () => {
    const room = freshRoom();
    const a = new BroadcastChannelSignaling();
    const b = new BroadcastChannelSignaling();
    open.push(a, b);
    const la = joinRoom(a, room, 'a');
    const raw = new BroadcastChannel(BROADCAST_CHANNEL_PREFIX + room);
    raw.postMessage({ v: 1, t: 'announce', from: 'evil' });
    raw.postMessage('garbage');
    raw.postMessage({ v: 1, t: 'signal', from: 'a', inc: 'x', to: 'a', payload: 1 }); // claims to be a
    joinRoom(b, room, 'b');
    await until(() => la.events.includes('joined b'), 'a meets b');
    expect(a.stats().invalid).toBe(2);
    expect(la.signals).toEqual([]);
    expect(la.events).toEqual(['joined b']);
    raw.close();
  });
});

describe('WebSocket signaling reconnects', { timeout: 30_000 }, () => {
  test('after the relay restarts, clients reconnect, resubscribe and can signal again', async () => {
    server = await startSignalServer({ port: 0 });
    const { port, url } = server;
    const make = () =>
      new WebSocketSignaling(url, {
        createWebSocket: (u) => new WebSocket(u) as unknown as WebSocketLike,
        reconnectInitialDelayMs: 20,
        reconnectMaxDelayMs: 200,
      });
    const [a, b] = [make(), make()];
    open.push(a, b);
    const room = freshRoom();
    const la = joinRoom(a, room, 'a');
    const lb = joinRoom(b, room, 'b');
    await until(() => la.events.length === 1 && lb.events.length === 1, 'meet');

    await server.close();
    server = undefined;
    await until(() => !a.connected && !b.connected, 'both notice the relay is gone');
    server = await startSignalServer({ port });
    await until(() => a.connections === 2 && b.connections === 2, 'both reconnected');
    await until(() => server!.relay.stats().subscriptions === 2, 'both resubscribed');
    // Each announced itself again on reconnecting, so at least one side saw the other again.
    expect(la.events.length + lb.events.length).toBeGreaterThan(2);
    b.signal(nodeId('a'), 'after');
    a.signal(nodeId('b'), 'after');
    await until(() => la.signals.length === 1 && lb.signals.length === 1, 'signals both ways');
    expect(a.peers()).toEqual(['b']);
  });

  test('while disconnected, signals are queued (bounded, oldest dropped) and sent after subscribe and announce', () => {
    const sent: string[] = [];
    const fake = {
      readyState: 0,
      send: (d: string) => void sent.push(d),
      close: () => {},
      onopen: null as ((ev: never) => void) | null,
      onmessage: null,
      onclose: null,
      onerror: null,
    };
    const s = new WebSocketSignaling('ws://fake/signal', {
      createWebSocket: () => fake,
      maxQueuedMessages: 2,
    });
    open.push(s);
    joinRoom(s, 'r', 'a');
    for (const n of [1, 2, 3]) s.signal(nodeId('b'), n);
    s.announce(); // presence is not queued: it is announced on open anyway
    expect(sent).toEqual([]);
    fake.readyState = 1;
    fake.onopen!(undefined as never);
    const msgs = sent.map((x) => JSON.parse(x));
    expect(msgs.map((m) => m.type)).toEqual(['subscribe', 'publish', 'publish', 'publish']);
    expect(msgs[0].topics).toEqual(['tabd/r']);
    expect(msgs.slice(1).map((m) => [m.data.t, m.data.payload])).toEqual([
      ['announce', undefined],
      ['signal', 2],
      ['signal', 3],
    ]);
  });

  test('close() before the socket opens stops all reconnection', async () => {
    let opened = 0;
    const s = new WebSocketSignaling('ws://127.0.0.1:9/signal', {
      createWebSocket: (u) => {
        opened++;
        return new WebSocket(u) as unknown as WebSocketLike;
      },
      reconnectInitialDelayMs: 10,
      reconnectMaxDelayMs: 10,
    });
    joinRoom(s, freshRoom(), 'a');
    await until(() => opened >= 2, 'retries');
    s.close();
    const after = opened;
    await new Promise((r) => setTimeout(r, 100));
    expect(opened).toBe(after);
  });
});
