// RaftNode over storage whose writes complete later (as IndexedDB's do): what it does while a
// write is in flight. Writes here land only when the test says so.
import { describe, expect, it } from 'vitest';
import { SeededRng, nodeId, type Message, type NodeId } from '../../src/raft/index.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { ListApplier } from './list-applier.js';
import { MemoryDurableStorage } from '../../src/storage/memory-durable-storage.js';
import type { DurableStorage, PersistBatch } from '../../src/storage/durable-storage.js';
import type { Transport, TransportHandlers } from '../../src/transport/transport.js';
import { SimWrite } from '../sim/kv/async-durable.js';

/** HeldDurable: while `hold` is set, writes wait in `pending` until land() (in order). */
class HeldDurable implements DurableStorage {
  readonly disk = new MemoryDurableStorage();
  hold = false;
  pending: { op: () => void; w: SimWrite }[] = [];
  load() {
    return this.disk.load();
  }
  persist(b: PersistBatch): SimWrite | void {
    return this.run(() => this.disk.persist(b));
  }
  saveSnapshot(...a: Parameters<MemoryDurableStorage['saveSnapshot']>): SimWrite | void {
    return this.run(() => this.disk.saveSnapshot(...a));
  }
  close(): void {}
  land(): void {
    for (const { op, w } of this.pending.splice(0)) {
      op();
      w.settle({ ok: true });
    }
  }
  private run(op: () => void): SimWrite | void {
    if (!this.hold) return op();
    const w = new SimWrite();
    this.pending.push({ op, w });
    return w;
  }
}

class Hub {
  handlers = new Map<NodeId, TransportHandlers>();
  sent: Message[] = [];
  queue: Message[] = [];
  transport(id: NodeId): Transport {
    return {
      localId: id,
      start: (h) => void this.handlers.set(id, h),
      send: (m) => {
        this.sent.push(m);
        this.queue.push(m);
      },
      connectedPeers: () => [...this.handlers.keys()].filter((x) => x !== id),
      stats: () => ({ framesSent: 0, framesReceived: 0, framesDropped: 0, bytesSent: 0, bytesReceived: 0 }),
      close: () => void this.handlers.delete(id),
    };
  }
  flush(): void {
    for (let i = 0; i < 1000 && this.queue.length; i++) {
      const q = this.queue.splice(0);
      for (const m of q) this.handlers.get(m.to)?.onMessage(m);
    }
  }
}

function cluster(n: number) {
  const hub = new Hub();
  const ids = Array.from({ length: n }, (_, i) => nodeId(String(i + 1)));
  const nodes = ids.map((id, i) => {
    const applier = new ListApplier();
    const durable = new HeldDurable();
    const node = new RaftNode(
      { id, durable, transport: hub.transport(id), applier, rng: new SeededRng(11 + i), bootstrap: ids },
      durable.load(),
    );
    return { id, node, applier, durable };
  });
  for (let t = 0; t < 40; t++) {
    for (const x of nodes) x.node.tick();
    hub.flush();
  }
  const leader = nodes.find((x) => x.node.status().role === 'leader')!;
  return { hub, nodes, leader, followers: nodes.filter((x) => x !== leader) };
}

const enc = (s: string) => new TextEncoder().encode(s);

describe('RaftNode with asynchronous storage', () => {
  it('sends proposals made during a write together, in one MsgApp per follower', () => {
    const { hub, leader, followers } = cluster(3);
    leader.durable.hold = true;
    const answers: unknown[] = [];
    leader.node.propose(enc('first'), (e, r) => answers.push(e ?? r));
    hub.flush();
    for (const v of ['a', 'b', 'c', 'd']) leader.node.propose(enc(v), (e, r) => answers.push(e ?? r));
    hub.sent = [];
    leader.durable.land();
    hub.flush();
    const apps = hub.sent.filter((m) => m.type === 'MsgApp' && m.from === leader.id && m.entries.length > 0);
    expect(apps.map((m) => [m.to, m.entries.length])).toEqual(followers.map((f) => [f.id, 4]));
    leader.durable.hold = false;
    leader.durable.land();
    hub.flush();
    for (let t = 0; t < 3; t++) {
      leader.node.tick();
      hub.flush();
    }
    expect(answers).toEqual([1, 2, 3, 4, 5]);
    for (const f of followers) expect(f.applier.items).toEqual(['first', 'a', 'b', 'c', 'd']);
  });

  it('answers a put once a follower acknowledged it, while its own next write is still in flight', () => {
    const { hub, leader } = cluster(3);
    const answers: unknown[] = [];
    leader.durable.hold = true;
    leader.node.propose(enc('x'), (e, r) => answers.push(e ?? r));
    hub.flush(); // followers (synchronous storage) acknowledge 'x' while the leader writes it
    leader.node.propose(enc('y'), () => {}); // batched behind that write
    leader.durable.land(); // 'x' lands; the write of 'y' starts at once and stays in flight
    // 'x' was committed by the leader's and the followers' writes, before 'y' was written.
    expect(leader.durable.pending.length).toBeGreaterThan(0);
    expect(answers).toEqual([1]);
    expect(leader.applier.items).toEqual(['x']);
  });

  it('a lone voter answers nothing before its own write lands', () => {
    const { hub, leader } = cluster(1);
    const answers: unknown[] = [];
    leader.durable.hold = true;
    leader.node.propose(enc('solo'), (e, r) => answers.push(e ?? r));
    hub.flush();
    leader.node.tick();
    expect(answers).toEqual([]);
    expect(leader.applier.items).toEqual([]);
    leader.durable.land();
    leader.node.tick();
    leader.durable.land();
    expect(answers).toEqual([1]);
  });
});

describe('RaftNode elections while a write is in flight', () => {
  it('a peer told to campaign mid-write sends its vote requests at once; it leads only after its vote is written', () => {
    const { hub, leader, followers } = cluster(3);
    // Both followers are in the middle of a write when the leader's tab closes and hands over.
    for (const f of followers) f.durable.hold = true;
    leader.node.propose(enc('w'), () => {});
    hub.flush();
    for (const f of followers) expect(f.durable.pending.length).toBeGreaterThan(0);
    hub.sent = [];
    leader.node.stop({ handOver: true });
    hub.flush();
    const timeoutNow = hub.sent.find((m) => m.type === 'MsgTimeoutNow');
    expect(timeoutNow).toBeDefined();
    const target = followers.find((f) => f.id === timeoutNow!.to)!;
    const other = followers.find((f) => f !== target)!;
    // Its vote requests left at once, although its write is still in flight.
    const votes = hub.sent.filter((m) => m.type === 'MsgVote' && m.from === target.id);
    expect(votes.map((m) => m.to).sort()).toEqual([leader.id, other.id].sort());
    expect(target.node.status().role).not.toBe('leader');
    // It acts as leader only once its term and vote are durable.
    expect(hub.sent.some((m) => m.type === 'MsgApp' && m.from === target.id)).toBe(false);
    for (const f of followers) {
      f.durable.hold = false;
      f.durable.land();
    }
    hub.flush();
    expect(target.durable.disk.load().hardState.vote).toBe(target.id);
    expect(target.node.status().role).toBe('leader');
  });
});

describe('RaftNode leader during a long write', () => {
  it('keeps sending heartbeats, with a commit index no higher than its durable log, so followers elect no one', () => {
    const { hub, leader, followers } = cluster(3);
    const term = leader.node.status().term;
    leader.durable.hold = true;
    leader.node.propose(enc('slow'), () => {});
    hub.flush(); // followers write and acknowledge; the leader's own write stays in flight
    const durableLast = leader.durable.disk.load().entries.at(-1)!.index;
    expect(leader.node.status().commitIndex).toBeGreaterThan(durableLast);
    hub.sent = [];
    // Several election timeouts pass with the write still in flight.
    for (let t = 0; t < 40; t++) {
      for (const x of [leader, ...followers]) x.node.tick();
      hub.flush();
    }
    const beats = hub.sent.filter((m) => m.type === 'MsgHeartbeat' && m.from === leader.id);
    expect(beats.length).toBeGreaterThan(10);
    for (const m of beats) expect(m.commit).toBeLessThanOrEqual(durableLast);
    for (const x of [leader, ...followers]) expect(x.node.status().term).toBe(term);
    expect(leader.node.status().role).toBe('leader');
    leader.durable.hold = false;
    leader.durable.land();
    hub.flush();
  });
});

describe('RaftNode snapshots encoded in slices', () => {
  /** A list state machine whose snapshot takes one step per item. */
  class SlicedApplier extends ListApplier {
    steps = 0;
    beginSnapshot() {
      const items = [...this.items];
      let at = 0;
      return {
        step: (budget: number) => {
          this.steps++;
          at = Math.min(items.length, at + budget);
          return at === items.length;
        },
        result: () => new TextEncoder().encode(JSON.stringify(items)),
      };
    }
  }

  it('a member added after the last snapshot gets a new one, encoded in slices while the leader goes on', () => {
    const hub = new Hub();
    const tasks: (() => void)[] = [];
    const n1 = nodeId('1');
    const n2 = nodeId('2');
    const mk = (id: NodeId, bootstrap?: NodeId[]) => {
      const applier = new SlicedApplier();
      const durable = new HeldDurable();
      const node = new RaftNode(
        {
          id,
          durable,
          transport: hub.transport(id),
          applier,
          rng: new SeededRng(id === n1 ? 1 : 2),
          ...(bootstrap ? { bootstrap } : {}),
          snapshotEntries: 5,
          snapshotCatchUpEntries: 0,
          schedule: (fn) => void tasks.push(fn),
          snapshotSliceItems: 2,
        },
        durable.load(),
      );
      return { node, applier, durable };
    };
    const a = mk(n1, [n1]);
    for (let t = 0; t < 30; t++) a.node.tick();
    expect(a.node.status().role).toBe('leader');
    for (let i = 0; i < 7; i++) a.node.propose(enc(`v${i}`), () => {});
    // The periodic snapshot is encoded in slices too: run them.
    while (tasks.length > 0) tasks.shift()!();
    expect(a.node.status().snapshotIndex).toBeGreaterThan(0);
    const b = mk(n2);
    let added = false;
    a.node.proposeConfChange({ transition: 'auto', changes: [{ type: 'add-learner', nodeId: n2 }] }, () => (added = true));
    expect(added).toBe(true);
    // b needs entries the leader compacted; the stored snapshot does not name b.
    for (let t = 0; t < 5; t++) {
      a.node.tick();
      hub.flush();
    }
    expect(tasks.length).toBeGreaterThan(0);
    const stepsBefore = a.applier.steps;
    a.node.propose(enc('during'), () => {}); // the leader goes on meanwhile
    while (tasks.length > 0) {
      tasks.shift()!();
      a.node.tick();
      hub.flush();
    }
    expect(a.applier.steps - stepsBefore).toBeGreaterThan(3);
    for (let t = 0; t < 5; t++) {
      a.node.tick();
      hub.flush();
    }
    expect(b.applier.items).toEqual(a.applier.items);
    expect(b.applier.items).toContain('during');
  });
});
