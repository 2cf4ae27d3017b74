// Regressions found by the deterministic simulator (test/sim). Each test
// rebuilds, step by step, the situation the simulator's seed reached, and
// fails without the fix it names.
import { describe, expect, it } from 'vitest';

import {
  ConfChangeTransition,
  ConfChangeType,
  EntryType,
  MessageType,
  decodeConfChange,
  leaveJointConfChange,
  logIndex,
  message,
  nodeId,
  type Message,
} from '../../src/raft/index.js';
import { Cluster, enc } from './harness.js';

/** stabilizeWithout delivers messages until quiet, leaving `cut` alone and dropping its messages. */
function stabilizeWithout(c: Cluster, cut: string): void {
  for (let i = 0; i < 100; i++) {
    for (const n of c.nodes.values()) if (n.id !== cut) c.process(n);
    c.queue = c.queue.filter((m) => m.to !== cut && m.from !== cut);
    if (c.queue.length === 0) return;
    const msgs = c.queue;
    c.queue = [];
    for (const m of msgs) c.deliver(m);
  }
  throw new Error('did not stabilize');
}

describe('simulator regressions', () => {
  // Found by the simulator (test/sim, --membership --snapshots), which threw
  // "config is already joint". A follower stepped a MsgSnap while the
  // application was still applying the committed entries of the Ready it had
  // taken; the snapshot switched the configuration at once, and the older
  // conf change entry of that Ready was then applied on top of it. Fix: a
  // follower does not install a snapshot while committed entries handed to
  // the application are not yet applied (Raft.applyingIndex).
  it('a snapshot arriving while older conf changes are being applied does not corrupt the configuration', () => {
    const c = Cluster.bootstrapped(['1', '2', '3']);
    c.campaign('1');
    c.stabilize();
    const l = c.node('1');
    const f = c.node('3');

    // The leader and 2 enter a joint configuration (adding learner 4); 3 hears nothing yet.
    expect(
      l.rawNode.proposeConfChange({
        transition: ConfChangeTransition.JointExplicit,
        changes: [{ type: ConfChangeType.AddLearnerNode, nodeId: nodeId('4') }],
        context: '',
      }),
    ).toBeUndefined();
    stabilizeWithout(c, '3');
    expect(l.rawNode.raft.trk.isJoint()).toBe(true);

    // 3 receives the enter-joint entry with its commit and takes the Ready
    // that hands it out, but has not applied it yet.
    const prev = f.rawNode.raft.raftLog.lastIndex();
    const ll = l.rawNode.raft.raftLog;
    f.rawNode.step(
      message({
        type: MessageType.MsgApp,
        from: nodeId('1'),
        to: nodeId('3'),
        term: l.rawNode.raft.term,
        index: prev,
        logTerm: ll.term(prev),
        entries: ll.entries(logIndex(prev + 1), Number.MAX_SAFE_INTEGER),
        commit: ll.committed,
      }),
    );
    const rd = f.rawNode.ready();
    const ccs = rd.committedEntries.filter((e) => e.type === EntryType.ConfChange);
    expect(ccs.length).toBe(1);
    f.storage.append(rd.entries);
    if (rd.hardState) f.storage.setHardState(rd.hardState);

    // Meanwhile the others leave the joint configuration and the leader snapshots after it.
    expect(l.rawNode.proposeConfChange(leaveJointConfChange)).toBeUndefined();
    stabilizeWithout(c, '3');
    expect(l.rawNode.raft.trk.isJoint()).toBe(false);
    const applied = l.rawNode.raft.raftLog.applied;
    l.storage.createSnapshot(applied, l.confState, enc('state'));
    const snap: Message = message({
      type: MessageType.MsgSnap,
      from: nodeId('1'),
      to: nodeId('3'),
      term: l.rawNode.raft.term,
      snapshot: l.storage.snapshot(),
    });

    // The snapshot arrives while 3 is applying: it must not switch 3's configuration now.
    f.rawNode.step(snap);
    for (const e of ccs) f.rawNode.applyConfChange(decodeConfChange(e.data));
    f.rawNode.advance(rd);
    expect(f.rawNode.raft.trk.isJoint()).toBe(true);

    // Delivered again once 3 is idle, it is installed and 3 agrees with the leader.
    c.queue = [];
    c.deliver({ ...snap });
    stabilizeWithout(c, 'none');
    expect(f.rawNode.raft.raftLog.committed).toBeGreaterThanOrEqual(applied);
    expect(f.rawNode.raft.trk.confState()).toEqual(l.rawNode.raft.trk.confState());
    expect(f.rawNode.raft.trk.confState().learners).toEqual([nodeId('4')]);
  });

  // Simulator: membership runs ended without a leader for good, e.g. when the
  // leader of {1, 2} removed itself. It committed the removal and stepped
  // down when applying it, holding one more entry than 2; 2 had not heard
  // that the removal committed, so it still needed 1's vote, which 1 refused
  // to 2's shorter log. Fix: a removed leader keeps replicating until a quorum
  // of the new voters holds its whole log, and only then steps down.
  it('a leader that removes itself hands its log over before stepping down', () => {
    const c = Cluster.bootstrapped(['1', '2']);
    c.campaign('1');
    c.stabilize();
    const l = c.node('1');
    const f = c.node('2');
    const drop = (to: string): void => {
      c.queue = c.queue.filter((m) => m.to !== to);
    };

    expect(
      l.rawNode.proposeConfChange({
        transition: ConfChangeTransition.Auto,
        changes: [{ type: ConfChangeType.RemoveNode, nodeId: nodeId('1') }],
        context: '',
      }),
    ).toBeUndefined();
    c.process(l);
    const removal = l.rawNode.raft.raftLog.lastIndex();
    // 2 stores the removal and acks it; the ack waits while 1 appends one more entry that 2 never gets.
    for (const m of c.queue.splice(0)) c.deliver(m);
    const acks = c.queue.splice(0);
    expect(l.rawNode.propose(enc('x'))).toBeUndefined();
    c.process(l);
    drop('2');
    // 1 commits and applies its removal; the news of the commit is lost too.
    for (const m of acks) c.deliver(m);
    expect(l.confState?.voters).toEqual([nodeId('2')]);
    drop('2');
    expect(f.rawNode.raft.raftLog.committed).toBeLessThan(removal);

    // From here the network is reliable: 2 must end up leading the one-voter configuration.
    for (let i = 0; i < 60 && c.leader()?.id !== '2'; i++) {
      for (const id of ['1', '2']) c.tick(id);
      c.stabilize();
    }
    expect(c.leader()?.id).toBe('2');
    expect(f.confState?.voters).toEqual([nodeId('2')]);
    expect(l.rawNode.raft.state).toBe('follower');
  });

  // Simulator: `--membership` runs found a leader of term 4 lacking an entry
  // a learner had applied. A lone voter commits a proposal by its own ack;
  // the application sent the leader's MsgApp (carrying that commit index)
  // before the leader's write completed, as a leader may (thesis §10.2.1),
  // and the leader crashed before the write. Fix: a MsgApp never carries a
  // commit index that rests on the leader's own non-durable entries.
  it("a lone voter's MsgApp sent before its write never makes a learner apply what the leader may lose", () => {
    const c = Cluster.bootstrapped(['1']);
    c.campaign('1');
    c.stabilize();
    const l = c.node('1');
    c.addNode(nodeId('2'));
    expect(
      l.rawNode.proposeConfChange({
        transition: ConfChangeTransition.Auto,
        changes: [{ type: ConfChangeType.AddLearnerNode, nodeId: nodeId('2') }],
        context: '',
      }),
    ).toBeUndefined();
    c.stabilize();
    const f = c.node('2');
    expect(f.confState?.learners).toEqual([nodeId('2')]);

    // The leader takes the Ready with its proposal and sends first, as a leader may.
    expect(l.rawNode.propose(enc('lost'))).toBeUndefined();
    const rd = l.rawNode.ready();
    const x = rd.entries[rd.entries.length - 1]!;
    expect(rd.hardState?.commit).toBe(x.index);
    for (const m of rd.messages) c.deliver(m);
    c.queue = [];
    // The learner may store the entry, but must not learn that it committed.
    expect(f.rawNode.raft.raftLog.committed).toBeLessThan(x.index);

    // The leader crashes before its write: it restarts from storage without the entry.
    c.addNode(nodeId('1'), l.storage);
    c.process(c.node('1'));
    c.campaign('1');
    c.stabilize();
    const l2 = c.node('1');
    expect(l2.rawNode.raft.state).toBe('leader');
    expect(l2.rawNode.propose(enc('kept'))).toBeUndefined();
    c.stabilize();
    const values = (n: typeof f): string[] =>
      n.applied.map((e) => new TextDecoder().decode(e.data));
    expect(values(f)).not.toContain('lost');
    expect(values(f)).toEqual(values(l2));
    expect(values(f)).toContain('kept');
  });
});
