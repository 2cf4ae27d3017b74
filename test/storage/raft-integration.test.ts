// MemoryDurableStorage under the real Raft core: every Ready of every node is persisted before
// the harness uses it, logs are compacted with saveSnapshot, a lagging follower installs a
// leader's snapshot, and a follower's uncommitted suffix is overwritten. Afterwards each node's
// load() must equal what its core reads (MemoryStorage), and a cluster restarted from nothing but
// the durable state must agree on its data and keep committing.
import { describe, expect, test } from 'vitest';
import {
  MemoryStorage,
  RawNode,
  logIndex,
  nodeId,
  type LogIndex,
  type NodeId,
} from '../../src/raft/index.js';
import type { LoadedState } from '../../src/storage/durable-storage.js';
import { MemoryDurableStorage } from '../../src/storage/index.js';
import { Cluster, dec, enc, type HarnessNode } from '../raft/harness.js';

class DurableCluster extends Cluster {
  readonly durable = new Map<NodeId, MemoryDurableStorage>();

  override process(n: HarnessNode): void {
    const d = this.durableOf(n.id);
    // Persist each Ready before the harness handles it (the base class then mirrors it into the
    // core's MemoryStorage, sends, applies and advances).
    const rawNode = n.rawNode;
    const originalReady = rawNode.ready.bind(rawNode);
    rawNode.ready = () => {
      const rd = originalReady();
      d.persist({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
      return rd;
    };
    try {
      super.process(n);
    } finally {
      rawNode.ready = originalReady;
    }
  }

  durableOf(id: NodeId): MemoryDurableStorage {
    let d = this.durable.get(id);
    if (!d) {
      d = new MemoryDurableStorage();
      this.durable.set(id, d);
    }
    return d;
  }

  /** compact snapshots node `id` at its applied index and compacts both stores up to `keep` entries behind it. */
  compact(id: string, keepBehind: number): LogIndex {
    const n = this.node(id);
    const applied = n.rawNode.raft.raftLog.applied;
    const data = enc(n.applied.map((e) => dec(e.data)).join(','));
    const snapshot = n.storage.createSnapshot(applied, n.confState, data);
    const compactIndex = logIndex(Math.max(n.storage.firstIndex() - 1, applied - keepBehind));
    this.durableOf(n.id).saveSnapshot(snapshot, compactIndex);
    if (compactIndex >= n.storage.firstIndex()) n.storage.compact(compactIndex);
    return applied;
  }

  /** restart replaces node `id` by a fresh RawNode built only from its durable state. */
  restart(id: string): LoadedState {
    const old = this.node(id);
    const durable = this.durableOf(old.id).reopen();
    this.durable.set(old.id, durable);
    const loaded = durable.load();
    const storage = new MemoryStorage();
    if (loaded.snapshot.metadata.index > 0) storage.applySnapshot(loaded.snapshot);
    storage.append(loaded.entries);
    storage.setHardState(loaded.hardState);
    const rawNode = new RawNode({
      ...this.raftConfig(old.id, storage),
      applied: loaded.snapshot.metadata.index,
    });
    const n: HarnessNode = {
      id: old.id,
      rawNode,
      storage,
      applied: [],
      readStates: [],
      confState: loaded.snapshot.metadata.confState,
    };
    this.nodes.set(old.id, n);
    this.queue = this.queue.filter((m) => m.to !== old.id && m.from !== old.id);
    return loaded;
  }
}

/** coreView is what the core reads from MemoryStorage, shaped like LoadedState. */
function coreView(s: MemoryStorage): unknown {
  const snap = s.snapshot();
  const entries =
    s.lastIndex() >= s.firstIndex()
      ? s.entries(s.firstIndex(), logIndex(s.lastIndex() + 1), Infinity)
      : [];
  return comparable({
    hardState: s.hardState,
    snapshot: snap,
    entries: entries.filter((e) => e.index > snap.metadata.index),
  });
}

function comparable(s: LoadedState): unknown {
  return {
    hardState: { ...s.hardState },
    snapshot: { ...s.snapshot.metadata, data: dec(s.snapshot.data) },
    entries: s.entries.map((e) => [e.index, e.term, e.type, dec(e.data)]),
  };
}

function propose(c: Cluster, leader: string, values: string[]): void {
  for (const v of values) {
    expect(c.node(leader).rawNode.propose(enc(v))).toBeUndefined();
    c.stabilize();
  }
}

describe('MemoryDurableStorage under the Raft core', () => {
  test('durable state equals the core view through compaction, snapshot install and overwrite; a full restart continues', () => {
    // Cluster.bootstrapped builds a plain Cluster; do the same steps on ours.
    const c = new DurableCluster({ seed: 7 });
    const voters = ['a', 'b', 'c'].map(nodeId);
    for (const id of voters) c.addNode(id).rawNode.bootstrap(voters);
    c.processAll();
    c.campaign('a');
    c.stabilize();
    expect(c.leader()?.id).toBe('a');
    propose(c, 'a', ['v1', 'v2', 'v3']);

    // c falls behind; a compacts past it, so c must install a snapshot.
    const isolated = nodeId('c');
    const dropToFromC = () => {
      c.queue = c.queue.filter((m) => m.to !== isolated && m.from !== isolated);
    };
    for (let i = 4; i <= 12; i++) {
      c.node('a').rawNode.propose(enc(`v${i}`));
      for (let r = 0; r < 20 && (c.queue.length > 0 || c.node('a').rawNode.hasReady()); r++) {
        c.processAll();
        dropToFromC();
        const msgs = c.queue;
        c.queue = [];
        for (const m of msgs) c.deliver(m);
      }
      dropToFromC();
    }
    const snapIndex = c.compact('a', 0);
    c.compact('b', 2);
    expect(snapIndex).toBeGreaterThan(10);
    // Heal: heartbeats bring c back; it installs a's snapshot.
    c.tick('a', 2);
    c.stabilize();
    expect(c.node('c').storage.snapshot().metadata.index).toBe(snapIndex);
    expect(c.durableOf(isolated).load().snapshot.metadata.index).toBe(snapIndex);

    // An uncommitted suffix is overwritten: b leads, appends two entries nobody else receives,
    // then a wins a later term with c's vote and replaces them on b.
    c.node('a').rawNode.transferLeader(nodeId('b'));
    c.stabilize();
    expect(c.leader()?.id).toBe('b');
    c.node('b').rawNode.propose(enc('lost-1'));
    c.node('b').rawNode.propose(enc('lost-2'));
    c.process(c.node('b'));
    c.queue = [];
    expect(
      c
        .durableOf(nodeId('b'))
        .load()
        .entries.map((e) => dec(e.data)),
    ).toContain('lost-2');
    // b is cut off; a and c time out and elect one of themselves.
    const isLeader = (id: string) => c.node(id).rawNode.raft.state === 'leader';
    for (let i = 0; i < 100 && !isLeader('a') && !isLeader('c'); i++) {
      c.tick('a');
      c.tick('c');
      for (let r = 0; r < 50 && c.queue.length > 0; r++) {
        const msgs = c.queue.filter((m) => m.to !== 'b' && m.from !== 'b');
        c.queue = [];
        for (const m of msgs) c.deliver(m);
      }
    }
    expect(isLeader('a') || isLeader('c')).toBe(true);
    c.tick(isLeader('a') ? 'a' : 'c'); // a heartbeat reaches b now
    c.stabilize();
    expect(c.node('b').rawNode.raft.state).toBe('follower');
    propose(c, c.leader()!.id, ['v13', 'v14']);
    expect(c.node('b').applied.map((e) => dec(e.data))).toContain('v14');
    c.compact('c', 1);

    for (const n of c.nodes.values()) {
      expect(comparable(c.durableOf(n.id).load()), `node ${n.id}`).toEqual(coreView(n.storage));
      expect(
        c
          .durableOf(n.id)
          .load()
          .entries.map((e) => dec(e.data)),
      ).not.toContain('lost-1');
    }

    // Restart everyone from durable state only: they elect a leader and keep committing.
    for (const id of ['a', 'b', 'c']) c.restart(id);
    c.campaign('b');
    c.stabilize();
    const leader = c.leader()!.id;
    propose(c, leader, ['after-restart']);
    for (const n of c.nodes.values()) {
      const applied = n.applied.map((e) => dec(e.data));
      expect(applied[applied.length - 1], `node ${n.id}`).toBe('after-restart');
      expect(comparable(c.durableOf(n.id).load()), `node ${n.id} after restart`).toEqual(
        coreView(n.storage),
      );
    }
  });
});
