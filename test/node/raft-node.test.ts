import { describe, expect, it } from 'vitest';
import { MemoryStorage, SeededRng, logIndex, nodeId, type LogIndex, type Message, type NodeId, type Snapshot } from '../../src/raft/index.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { ListApplier } from './list-applier.js';
import type { DurableStorage, LoadedState, PersistBatch } from '../../src/storage/durable-storage.js';
import type { Transport, TransportHandlers } from '../../src/transport/transport.js';

class SyncDurable implements DurableStorage {
  ms = new MemoryStorage();
  /** writes records every persist batch, to check which Readys cost a write. */
  writes: PersistBatch[] = [];
  load(): LoadedState {
    const first = this.ms.firstIndex();
    const last = this.ms.lastIndex();
    return {
      hardState: this.ms.hardState,
      snapshot: this.ms.snapshot(),
      entries: last >= first ? this.ms.entries(first, (last + 1) as LogIndex, Infinity) : [],
    };
  }
  persist(b: PersistBatch): void {
    this.writes.push(b);
    if (b.snapshot) this.ms.applySnapshot(b.snapshot);
    this.ms.append(b.entries);
    if (b.hardState) this.ms.setHardState(b.hardState);
  }
  saveSnapshot(snap: Snapshot, compactIndex: LogIndex): void {
    this.ms.createSnapshot(snap.metadata.index, snap.metadata.confState, snap.data);
    if (compactIndex >= this.ms.firstIndex()) this.ms.compact(compactIndex);
  }
  close(): void {}
}

class Hub {
  handlers = new Map<NodeId, TransportHandlers>();
  queue: Message[] = [];
  cut = new Set<NodeId>();
  transport(id: NodeId): Transport {
    return {
      localId: id,
      start: (h) => void this.handlers.set(id, h),
      send: (m) => void this.queue.push(m),
      connectedPeers: () => [...this.handlers.keys()].filter((x) => x !== id),
      stats: () => ({ framesSent: 0, framesReceived: 0, framesDropped: 0, bytesSent: 0, bytesReceived: 0 }),
      close: () => void this.handlers.delete(id),
    };
  }
  flush(): void {
    for (let i = 0; i < 10000 && this.queue.length; i++) {
      const q = this.queue;
      this.queue = [];
      for (const m of q) {
        if (this.cut.has(m.to) || this.cut.has(m.from)) continue;
        this.handlers.get(m.to)?.onMessage(m);
      }
    }
  }
}

function cluster(n: number, opts: { snapshotEntries?: number } = {}) {
  const hub = new Hub();
  const ids = Array.from({ length: n }, (_, i) => nodeId(String(i + 1)));
  const rng = new SeededRng(7);
  const nodes = ids.map((id) => {
    const applier = new ListApplier();
    const durable = new SyncDurable();
    const node = new RaftNode(
      { id, durable, transport: hub.transport(id), applier, rng: new SeededRng(rng.nextUint32()), bootstrap: ids, ...opts },
      durable.load(),
    );
    return { id, node, applier, durable };
  });
  const tickAll = (k = 1) => {
    for (let i = 0; i < k; i++) {
      for (const x of nodes) x.node.tick();
      hub.flush();
    }
  };
  return { hub, nodes, tickAll };
}

const enc = (s: string) => new TextEncoder().encode(s);

describe('RaftNode', () => {
  it('elects a leader, commits proposals from any peer and answers the proposer', () => {
    const { nodes, tickAll, hub } = cluster(3);
    tickAll(30);
    const leaders = nodes.filter((x) => x.node.status().role === 'leader');
    expect(leaders).toHaveLength(1);
    const results: unknown[] = [];
    nodes[2]!.node.propose(enc('a'), (err, r) => results.push(err ?? r));
    nodes[0]!.node.propose(enc('b'), (err, r) => results.push(err ?? r));
    hub.flush();
    tickAll(2);
    expect(results.sort()).toEqual([1, 2]);
    for (const x of nodes) expect(x.applier.items.sort()).toEqual(['a', 'b']);
  });

  it('serves linearizable reads through ReadIndex on a follower', () => {
    const { nodes, tickAll, hub } = cluster(3);
    tickAll(30);
    const follower = nodes.find((x) => x.node.status().role === 'follower')!;
    const leader = nodes.find((x) => x.node.status().role === 'leader')!;
    leader.node.propose(enc('x'), () => {});
    let seen: string[] | undefined;
    follower.node.readIndex((err) => {
      expect(err).toBeUndefined();
      seen = [...follower.applier.items];
    });
    hub.flush();
    tickAll(1);
    expect(seen).toEqual(['x']);
  });

  it('fails writes with no-quorum on an isolated peer and times reads out', () => {
    const { nodes, tickAll, hub } = cluster(3);
    tickAll(30);
    const follower = nodes.find((x) => x.node.status().role === 'follower')!;
    hub.cut.add(follower.id);
    tickAll(40);
    expect(follower.node.status().quorum).toBe(false);
    let err: Error | undefined;
    follower.node.propose(enc('lost'), (e) => (err = e));
    tickAll(120);
    expect((err as { code?: string } | undefined)?.code).toMatch(/no-quorum|timeout/);
  });

  it('snapshots and compacts, and a restarted peer rebuilds its state from snapshot plus log', () => {
    const { nodes, tickAll, hub } = cluster(3, { snapshotEntries: 20 });
    tickAll(30);
    const leader = nodes.find((x) => x.node.status().role === 'leader')!;
    for (let i = 0; i < 50; i++) leader.node.propose(enc(`v${i}`), () => {});
    hub.flush();
    tickAll(3);
    const f = nodes.find((x) => x !== leader)!;
    expect(f.node.status().snapshotIndex).toBeGreaterThan(0);
    expect(f.applier.items).toHaveLength(50);
    // Restart f from its durable storage.
    f.node.stop();
    const applier = new ListApplier();
    const restarted = new RaftNode(
      { id: f.id, durable: f.durable, transport: hub.transport(f.id), applier, rng: new SeededRng(99), snapshotEntries: 20 },
      f.durable.load(),
    );
    nodes[nodes.indexOf(f)] = { ...f, node: restarted, applier };
    tickAll(5);
    expect(applier.items).toEqual(leader.applier.items);
  });

  it('applies a Ready that only advances the commit index without a write, and a restart with that older commit catches up', () => {
    const { nodes, tickAll, hub } = cluster(3);
    tickAll(30);
    const leader = nodes.find((x) => x.node.status().role === 'leader')!;
    for (const x of nodes) x.durable.writes = [];
    let result: unknown;
    leader.node.propose(enc('p'), (err, r) => (result = err ?? r));
    hub.flush();
    expect(result).toBe(1);
    // The leader wrote the entry once; learning that it committed cost no second write.
    expect(leader.durable.writes.map((w) => w.entries.length)).toEqual([1]);
    // The newer commit index rides along with the next write that must happen anyway.
    const committed = leader.node.status().commitIndex;
    expect(leader.durable.ms.hardState.commit).toBeLessThan(committed);
    leader.node.propose(enc('q'), () => {});
    hub.flush();
    leader.node.propose(enc('r'), () => {});
    hub.flush();
    expect(leader.durable.writes.map((w) => w.entries.length)).toEqual([1, 1, 1]);
    expect(leader.durable.writes[1]!.hardState?.commit).toBeGreaterThanOrEqual(committed);

    // A follower restarted from a durable commit older than what it applied re-applies from
    // there once the leader tells it the commit index: nothing is lost or applied twice.
    const f = nodes.find((x) => x !== leader)!;
    const stale = f.durable.ms.hardState.commit;
    expect(stale).toBeLessThan(f.node.status().appliedIndex);
    f.node.stop();
    const applier = new ListApplier();
    const restarted = new RaftNode(
      { id: f.id, durable: f.durable, transport: hub.transport(f.id), applier, rng: new SeededRng(5) },
      f.durable.load(),
    );
    nodes[nodes.indexOf(f)] = { ...f, node: restarted, applier };
    tickAll(3);
    expect(applier.items).toEqual(['p', 'q', 'r']);
  });

  it('restarts from a snapshot past its written commit index (everything up to a snapshot is committed)', () => {
    const { nodes, tickAll, hub } = cluster(3, { snapshotEntries: 5 });
    tickAll(30);
    const leader = nodes.find((x) => x.node.status().role === 'leader')!;
    for (let i = 0; i < 12; i++) {
      leader.node.propose(enc(`s${i}`), () => {});
      hub.flush();
    }
    tickAll(2);
    const f = nodes.find((x) => x !== leader)!;
    const snapIndex = f.durable.ms.snapshot().metadata.index;
    expect(snapIndex).toBeGreaterThan(0);
    // A storage whose written commit index lags its snapshot (IdbStorage raises it; this test
    // storage keeps what it is given).
    f.durable.ms.setHardState({ ...f.durable.ms.hardState, commit: logIndex(1) });
    f.node.stop();
    const applier = new ListApplier();
    const restarted = new RaftNode(
      { id: f.id, durable: f.durable, transport: hub.transport(f.id), applier, rng: new SeededRng(3), snapshotEntries: 5 },
      f.durable.load(),
    );
    nodes[nodes.indexOf(f)] = { ...f, node: restarted, applier };
    expect(restarted.status().commitIndex).toBeGreaterThanOrEqual(snapIndex);
    tickAll(3);
    expect(applier.items).toEqual(leader.applier.items);
  });

  it('keeps one read index request in flight: reads made meanwhile share the next, and a lost one is covered by a later one', () => {
    const { nodes, tickAll, hub } = cluster(3);
    tickAll(30);
    const follower = nodes.find((x) => x.node.status().role === 'follower')!;
    const readIndexes = () => hub.queue.filter((m) => m.type === 'MsgReadIndex' && m.from === follower.id).length;
    const done: string[] = [];
    follower.node.readIndex((e) => done.push(e ? `a:${e.message}` : 'a'));
    expect(readIndexes()).toBe(1);
    follower.node.readIndex((e) => done.push(e ? `b:${e.message}` : 'b'));
    follower.node.readIndex((e) => done.push(e ? `c:${e.message}` : 'c'));
    expect(readIndexes()).toBe(1); // b and c wait for a's request
    hub.flush();
    expect(done).toEqual(['a', 'b', 'c']);
    expect(hub.queue).toEqual([]);

    // A request lost on the way: reads wait at most an election timeout, then a new request
    // confirms them all.
    follower.node.readIndex((e) => done.push(e ? `d:${e.message}` : 'd'));
    hub.queue = hub.queue.filter((m) => m.type !== 'MsgReadIndex');
    follower.node.readIndex((e) => done.push(e ? `e:${e.message}` : 'e'));
    hub.flush();
    expect(done).toEqual(['a', 'b', 'c']);
    tickAll(12);
    expect(done).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('leaves a joint-explicit configuration when asked with an empty change (its proposal context does not matter)', () => {
    const { nodes, tickAll, hub } = cluster(3);
    tickAll(30);
    const leader = nodes.find((x) => x.node.status().role === 'leader')!;
    const other = nodes.find((x) => x !== leader)!;
    let joint: string | undefined;
    leader.node.proposeConfChange(
      { transition: 'joint-explicit', changes: [{ type: 'add-learner', nodeId: other.id }] },
      (e, cs) => (joint = e ? e.message : JSON.stringify(cs)),
    );
    hub.flush();
    tickAll(2);
    expect(joint).toBeDefined();
    expect(leader.node.status().config.votersOutgoing.length).toBeGreaterThan(0);
    let left: string | undefined;
    leader.node.proposeConfChange({ transition: 'auto', changes: [] }, (e, cs) => (left = e ? e.message : JSON.stringify(cs)));
    hub.flush();
    tickAll(2);
    expect(left).toBeDefined();
    expect(left).not.toMatch(/refus|error/i);
    expect(leader.node.status().config.votersOutgoing).toEqual([]);
    expect(leader.node.status().config.learners).toEqual([other.id]);
  });

  it('a leader that removes itself from two voters leads until the other has applied the removal, then stops; the other leads on', () => {
    const { nodes, tickAll, hub } = cluster(2);
    tickAll(30);
    const leader = nodes.find((x) => x.node.status().role === 'leader')!;
    const other = nodes.find((x) => x !== leader)!;
    let removed: string | undefined;
    leader.node.proposeConfChange(
      { transition: 'auto', changes: [{ type: 'remove-node', nodeId: leader.id }] },
      (e, cs) => (removed = e ? e.message : JSON.stringify(cs)),
    );
    // The commit of the removal reaches the leader, but nothing more is delivered.
    hub.flush();
    expect(removed).toBeDefined();
    expect(leader.node.isStopped).toBe(false);
    tickAll(60);
    expect(leader.node.isStopped).toBe(true);
    expect(other.node.status().config.voters).toEqual([other.id]);
    expect(other.node.status().role).toBe('leader');
    let answer: unknown;
    other.node.propose(enc('after'), (e, r) => (answer = e ?? r));
    hub.flush();
    expect(answer).toBe(1);
  });

  it('writes a lagging commit index on its own once idle for commitWriteTicks, so a restart shows what was applied', () => {
    const { nodes, tickAll, hub } = cluster(3);
    tickAll(30);
    const leader = nodes.find((x) => x.node.status().role === 'leader')!;
    for (let i = 0; i < 3; i++) {
      leader.node.propose(enc(`i${i}`), () => {});
      hub.flush();
    }
    tickAll(6);
    for (const x of nodes) {
      expect(x.applier.items).toEqual(['i0', 'i1', 'i2']);
      expect(x.durable.ms.hardState.commit).toBe(x.node.status().commitIndex);
    }
    const f = nodes.find((x) => x !== leader)!;
    f.node.stop();
    const applier = new ListApplier();
    new RaftNode({ id: f.id, durable: f.durable, transport: hub.transport(f.id), applier, rng: new SeededRng(4) }, f.durable.load());
    // Before hearing from anyone, the restarted peer already has everything it had applied.
    expect(applier.items).toEqual(['i0', 'i1', 'i2']);
  });
});
