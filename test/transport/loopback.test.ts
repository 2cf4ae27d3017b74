// The loopback transport (src/transport/loopback.ts): messages go through the
// real codec and chunker, delivery is scheduled by the caller, partitions and
// per-link loss behave like a network, bad frames are counted, and a small
// Raft cluster elects, commits and ships a chunked snapshot over it.
import { describe, expect, test } from 'vitest';

import { frame } from './spec-frames.js';
import { encodeMessage } from '../../src/transport/codec.js';
import { LoopbackNetwork, type LoopbackTransport } from '../../src/transport/loopback.js';
import type { SendDropReason, TransportHandlers } from '../../src/transport/transport.js';
import {
  EntryType,
  MemoryStorage,
  MessageType,
  RawNode,
  SeededRng,
  message,
  nodeId,
  type LogIndex,
  type Message,
  type NodeId,
  type Term,
} from '../../src/raft/index.js';

const [A, B, C] = ['a', 'b', 'c'].map(nodeId) as [NodeId, NodeId, NodeId];

/** A manual scheduler: tasks wait until the test runs them. */
class ManualScheduler {
  tasks: (() => void)[] = [];
  readonly schedule = (task: () => void): void => void this.tasks.push(task);
  /** runAll runs tasks (and the tasks they queue) until none are left. */
  runAll(limit = 100_000): number {
    let n = 0;
    while (this.tasks.length > 0) {
      if (++n > limit) throw new Error('scheduler did not settle');
      this.tasks.shift()!();
    }
    return n;
  }
}

interface Recorder extends TransportHandlers {
  got: Message[];
  events: string[];
  dropped: [Message, SendDropReason][];
}

function recorder(): Recorder {
  const r: Recorder = {
    got: [],
    events: [],
    dropped: [],
    onMessage: (m) => void r.got.push(m),
    onPeerUp: (p) => void r.events.push(`up ${p}`),
    onPeerDown: (p) => void r.events.push(`down ${p}`),
    onSendDropped: (m, reason) => void r.dropped.push([m, reason]),
  };
  return r;
}

function hb(from: NodeId, to: NodeId, t = 1): Message {
  return message({ type: MessageType.MsgHeartbeat, from, to, term: t as Term });
}

function setup(ids: NodeId[], opts: ConstructorParameters<typeof LoopbackNetwork>[0] = {}) {
  const sched = new ManualScheduler();
  const net = new LoopbackNetwork({ deliver: sched.schedule, ...opts });
  const ts = new Map<NodeId, LoopbackTransport>();
  const rs = new Map<NodeId, Recorder>();
  for (const id of ids) {
    const t = net.createTransport(id);
    const r = recorder();
    t.start(r);
    ts.set(id, t);
    rs.set(id, r);
  }
  sched.runAll();
  return { sched, net, t: (id: NodeId) => ts.get(id)!, r: (id: NodeId) => rs.get(id)! };
}

describe('LoopbackNetwork delivery', { timeout: 30_000 }, () => {
  test('messages arrive decoded, in order, only when the scheduler runs', () => {
    const { sched, t, r } = setup([A, B]);
    for (let i = 1; i <= 5; i++) t(A).send(hb(A, B, i));
    expect(r(B).got).toEqual([]);
    sched.runAll();
    expect(r(B).got.map((m) => m.term)).toEqual([1, 2, 3, 4, 5]);
    // A different object: it went through encode and decode.
    expect(r(B).got[0]).toEqual(hb(A, B, 1));
    expect(t(A).stats()).toMatchObject({ messagesSent: 5, framesSent: 5, bytesSent: 5 * 60 });
    expect(t(B).stats()).toMatchObject({
      messagesReceived: 5,
      framesReceived: 5,
      framesDropped: 0,
    });
  });

  test("'sync' delivers inside send(); 'microtask' (default) right after", async () => {
    const net = new LoopbackNetwork({ deliver: 'sync' });
    const a = net.createTransport(A);
    const b = net.createTransport(B);
    const rb = recorder();
    a.start(recorder());
    b.start(rb);
    a.send(hb(A, B));
    expect(rb.got.length).toBe(1);

    const net2 = new LoopbackNetwork();
    const a2 = net2.createTransport(A);
    const b2 = net2.createTransport(B);
    const rb2 = recorder();
    a2.start(recorder());
    b2.start(rb2);
    a2.send(hb(A, B));
    expect(rb2.got.length).toBe(0);
    await Promise.resolve();
    expect(rb2.got.length).toBe(1);
  });

  test('peer up events on start, down on close; sends to a closed peer are dropped and reported', () => {
    const { sched, t, r } = setup([A, B, C]);
    expect(r(A).events.sort()).toEqual([`up ${B}`, `up ${C}`]);
    expect(t(A).connectedPeers().sort()).toEqual([B, C]);
    t(C).close();
    sched.runAll();
    expect(r(A).events).toContain(`down ${C}`);
    t(A).send(hb(A, C));
    expect(r(A).dropped.map(([m, why]) => [m.to, why])).toEqual([[C, 'unreachable']]);
    expect(t(A).stats().messagesDropped).toBe(1);
    t(C).send(hb(C, A));
    expect(t(C).stats().messagesDropped).toBe(1);
  });

  test('large messages are chunked and reassembled', () => {
    const { sched, t, r } = setup([A, B], { chunkSizeBytes: 1024 });
    const big = message({
      type: MessageType.MsgApp,
      from: A,
      to: B,
      index: 9 as LogIndex,
      entries: [
        {
          index: 10 as LogIndex,
          term: 0 as Term,
          type: EntryType.Normal,
          data: new Uint8Array(100_000).fill(3),
        },
      ],
    });
    t(A).send(big);
    sched.runAll();
    expect(r(B).got).toEqual([big]);
    const s = t(A).stats();
    expect(s.messagesSent).toBe(1);
    expect(s.framesSent).toBe(Math.ceil((100_000 + 90 + 21) / (1024 - 24)));
  });
});

describe('LoopbackNetwork partitions and loss', { timeout: 30_000 }, () => {
  test('isolate cuts both directions and drops frames in flight; heal restores', () => {
    const { sched, net, t, r } = setup([A, B, C]);
    t(A).send(hb(A, B));
    net.isolate(A);
    sched.runAll();
    expect(r(B).got).toEqual([]); // was in flight when the link went down
    expect(r(A).events.slice(-2).sort()).toEqual([`down ${B}`, `down ${C}`]);
    expect(r(B).events).toContain(`down ${A}`);
    expect(t(A).connectedPeers()).toEqual([]);
    expect(t(B).connectedPeers()).toEqual([C]);
    t(B).send(hb(B, A));
    t(B).send(hb(B, C));
    sched.runAll();
    expect(r(A).got).toEqual([]);
    expect(r(C).got.length).toBe(1);

    net.heal();
    sched.runAll();
    expect(r(A).events.slice(-2).sort()).toEqual([`up ${B}`, `up ${C}`]);
    t(B).send(hb(B, A));
    sched.runAll();
    expect(r(A).got.length).toBe(1);
  });

  test('a frame in flight when its link goes down is lost even if the link is back at delivery', () => {
    const { sched, t, r } = setup([A, B]);
    t(A).send(hb(A, B));
    t(A).isolate();
    t(A).heal();
    sched.runAll();
    expect(r(B).got).toEqual([]);
  });

  test('cutLink loses one direction only, silently; a drop filter loses chosen frames', () => {
    const { sched, net, t, r } = setup([A, B]);
    net.cutLink(A, B);
    t(A).send(hb(A, B));
    t(B).send(hb(B, A));
    sched.runAll();
    expect(r(B).got).toEqual([]);
    expect(r(A).got.length).toBe(1);
    expect(t(A).connectedPeers()).toEqual([B]);
    net.restoreLink(A, B);

    net.setDropFilter((f) => f.message.term === 2);
    for (const term of [1, 2, 3]) t(A).send(hb(A, B, term));
    sched.runAll();
    expect(r(B).got.map((m) => m.term)).toEqual([1, 3]);
  });

  test('a lost chunk abandons its message; later messages still arrive', () => {
    const { sched, net, t, r } = setup([A, B], {
      chunkSizeBytes: 256,
      reassembler: { partialTimeoutFrames: 4 },
    });
    const big = message({
      type: MessageType.MsgProp,
      from: A,
      to: B,
      entries: [
        {
          index: 0 as LogIndex,
          term: 0 as Term,
          type: EntryType.Normal,
          data: new Uint8Array(2000),
        },
      ],
    });
    let seen = 0;
    net.setDropFilter((f) => f.message.type === MessageType.MsgProp && ++seen === 3);
    t(A).send(big);
    for (let i = 1; i <= 3; i++) t(A).send(hb(A, B, i));
    sched.runAll();
    expect(r(B).got.map((m) => m.type)).toEqual(Array(3).fill(MessageType.MsgHeartbeat));
    expect(t(B).stats().framesDropped).toBeGreaterThan(0);
  });
});

describe('inbound validation', { timeout: 30_000 }, () => {
  test('malformed, forged and misaddressed frames are dropped and counted; later messages arrive', () => {
    const { sched, net, t, r } = setup([A, B, C]);
    net.injectFrame(A, B, Uint8Array.of(1, 2, 3));
    net.injectFrame(A, B, frame(Uint8Array.of(9), { kind: 1 }));
    // A valid message that claims to come from C, on A's channel.
    net.injectFrame(A, B, encodeMessage(hb(C, B)));
    // A valid message for C, delivered to B.
    net.injectFrame(A, B, encodeMessage(hb(A, C)));
    t(A).send(hb(A, B, 7));
    sched.runAll();
    expect(r(B).got.map((m) => m.term)).toEqual([7]);
    expect(t(B).stats()).toMatchObject({
      framesReceived: 5,
      framesDropped: 4,
      messagesReceived: 1,
    });
    expect(t(B).lastInboundError(A)).toBe('misaddressed');
  });

  test('unencodable messages are dropped and reported, not thrown', () => {
    const { t, r } = setup([A, B]);
    expect(() => t(A).send(message({ type: MessageType.MsgHup, from: A, to: B }))).not.toThrow();
    expect(() => t(A).send(message({ type: MessageType.MsgProp, from: A, to: B }))).not.toThrow();
    expect(r(A).dropped.map(([, why]) => why)).toEqual(['unencodable', 'unencodable']);
    expect(t(A).stats()).toMatchObject({ messagesDropped: 2, messagesSent: 0 });
  });
});

describe('a Raft cluster over the loopback transport', { timeout: 30_000 }, () => {
  interface Peer {
    id: NodeId;
    raw: RawNode;
    storage: MemoryStorage;
    transport: LoopbackTransport;
    applied: string[];
  }

  function cluster(ids: NodeId[], chunkSizeBytes: number) {
    const sched = new ManualScheduler();
    const net = new LoopbackNetwork({ deliver: sched.schedule, chunkSizeBytes });
    const rng = new SeededRng(42);
    const peers = new Map<NodeId, Peer>();
    for (const id of ids) {
      const storage = new MemoryStorage();
      const raw = new RawNode({
        id,
        storage,
        electionTicks: 10,
        heartbeatTicks: 1,
        rng: new SeededRng(rng.nextUint32()),
      });
      raw.bootstrap(ids);
      const p: Peer = { id, raw, storage, transport: net.createTransport(id), applied: [] };
      p.transport.start({
        onMessage: (m) => {
          p.raw.step(m);
          process(p);
        },
      });
      peers.set(id, p);
    }
    function process(p: Peer): void {
      while (p.raw.hasReady()) {
        const rd = p.raw.ready();
        if (rd.snapshot) p.storage.applySnapshot(rd.snapshot);
        p.storage.append(rd.entries);
        if (rd.hardState) p.storage.setHardState(rd.hardState);
        for (const m of rd.messages) p.transport.send(m);
        for (const e of rd.committedEntries) {
          if (e.type === EntryType.Normal && e.data.length > 0)
            p.applied.push(new TextDecoder().decode(e.data));
        }
        p.raw.advance(rd);
      }
    }
    function run(ticks: number): void {
      for (let i = 0; i < ticks; i++) {
        for (const p of peers.values()) {
          p.raw.tick();
          process(p);
        }
        sched.runAll();
      }
    }
    const leader = () => [...peers.values()].find((p) => p.raw.raft.state === 'leader');
    return { net, peers, run, leader, process };
  }

  test('elects a leader, commits proposals, and ships a chunked snapshot to a healed follower', () => {
    const c = cluster([A, B, C], 2048);
    c.run(50);
    const leader = c.leader();
    expect(leader).toBeDefined();
    const lagging = [...c.peers.values()].find((p) => p !== leader)!;

    c.net.isolate(lagging.id);
    for (let i = 0; i < 20; i++) {
      expect(leader!.raw.propose(new TextEncoder().encode(`v${i}`))).toBeUndefined();
      c.process(leader!);
      c.run(1);
    }
    c.run(5);
    const applied = leader!.raw.raft.raftLog.applied;
    // Compact the leader's log behind a 50 KB snapshot so the follower can only catch up from it.
    const cs = leader!.raw.status().config;
    leader!.storage.createSnapshot(applied, cs, new Uint8Array(50_000).fill(9));
    leader!.storage.compact(applied);
    expect(lagging.raw.raft.raftLog.lastIndex()).toBeLessThan(applied);

    c.net.heal();
    c.run(30);
    expect(lagging.storage.snapshot().metadata.index).toBe(applied);
    expect(lagging.storage.snapshot().data.length).toBe(50_000);
    expect(lagging.raw.raft.raftLog.committed).toBeGreaterThanOrEqual(applied);
    // The snapshot went as several chunks and nothing was refused.
    for (const p of c.peers.values()) expect(p.transport.stats().framesDropped).toBe(0);
    expect(leader!.transport.stats().framesSent).toBeGreaterThan(
      leader!.transport.stats().messagesSent,
    );
    // The other follower applied every proposal.
    const other = [...c.peers.values()].find((p) => p !== leader && p !== lagging)!;
    expect(other.applied).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`));
  });
});
