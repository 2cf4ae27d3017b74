// Paper tests for linearizable reads without log writes: the ReadIndex
// protocol of Ongaro's thesis §6.4, with tabd's batching of concurrent reads
// into one heartbeat round (Raft.flushReadIndex, called by RawNode before
// each Ready).
import { describe, expect, it } from 'vitest';
import { MessageType, StateType, logIndex, nodeId, type Message } from '../../src/raft/index.js';
import { enc } from './harness.js';
import { Network, readIndexMsg, readMessages } from './raft-net.js';
import { TestCluster } from './test-cluster.js';

const three = ['1', '2', '3'];
const five = ['1', '2', '3', '4', '5'];
const heartbeatsWith = (ctx: string) => (m: Message) =>
  m.type === MessageType.MsgHeartbeat && m.context === ctx;

describe('§6.4 ReadIndex', () => {
  // Reference: thesis §6.4 step 1: "If the leader has not yet marked an
  // entry from its current term committed, it waits until it has done so."
  // Its commit index may lag until then; the read is postponed, not refused.
  it('a new leader postpones reads until an entry of its term commits, then answers them', () => {
    const c = TestCluster.create(three);
    c.hold((m) => m.type === MessageType.MsgApp && m.from === '1');
    c.campaign('1');
    c.stabilize();
    const leader = c.node('1');
    expect(leader.rawNode.raft.state).toBe(StateType.Leader);
    const staleCommit = leader.rawNode.raft.raftLog.committed;
    expect(leader.rawNode.raft.raftLog.term(staleCommit)).toBeLessThan(leader.rawNode.raft.term);

    expect(leader.rawNode.readIndex('early')).toBeUndefined();
    c.process(leader);
    expect(c.queue.filter(heartbeatsWith('early'))).toEqual([]);
    expect(leader.readStates).toEqual([]);

    c.heal();
    c.release();
    c.stabilize();
    const emptyEntryIndex = staleCommit + 1;
    expect(leader.readStates).toEqual([{ index: emptyEntryIndex, requestCtx: 'early' }]);
    expect(c.count(MessageType.MsgHeartbeat, heartbeatsWith('early'))).toBe(2);
  });

  // Reference: thesis §6.4 step 3: "The leader sends a new round of
  // heartbeats, and waits for their acknowledgments from a majority of the
  // cluster." Two of five (the leader and one follower) are not enough.
  it('a read is confirmed only once a quorum acknowledges the heartbeat round', () => {
    const c = TestCluster.create(five);
    const leader = c.elect('1');
    c.hold((m) => m.type === MessageType.MsgHeartbeatResp);
    expect(leader.rawNode.readIndex('r')).toBeUndefined();
    c.stabilize();
    expect(c.held.filter((m) => m.context === 'r')).toHaveLength(4);
    c.heal();
    c.release((m) => m.from === '2');
    c.stabilize();
    expect(leader.readStates).toEqual([]);
    c.release((m) => m.from === '3');
    c.stabilize();
    expect(leader.readStates).toEqual([
      { index: leader.rawNode.raft.raftLog.committed, requestCtx: 'r' },
    ]);
  });

  // Reference: thesis §6.4 step 2: "The leader records its current commit
  // index in a local variable readIndex": later writes do not move it.
  it('the read index is the commit index when the request arrived', () => {
    const c = TestCluster.create(three);
    const leader = c.elect('1');
    c.hold((m) => m.type === MessageType.MsgHeartbeatResp);
    leader.rawNode.readIndex('r');
    c.stabilize();
    const atRequest = leader.rawNode.raft.raftLog.committed;
    leader.rawNode.propose(enc('later'));
    c.stabilize();
    expect(leader.rawNode.raft.raftLog.committed).toBe(atRequest + 1);
    c.heal();
    c.release();
    c.stabilize();
    expect(leader.readStates).toEqual([{ index: atRequest, requestCtx: 'r' }]);
  });

  // Reference: thesis §6.4: the heartbeat round guards against a deposed
  // leader serving stale data. A partitioned leader never answers, with or
  // without check-quorum, before or after the partition heals.
  it.each([
    { checkQuorum: false, preVote: false },
    { checkQuorum: true, preVote: true },
  ])('a partitioned, deposed leader never answers a read (%o)', (config) => {
    const c = TestCluster.create(three, { config });
    const old = c.elect('1');
    c.isolate('1');
    old.rawNode.readIndex('stale');
    c.tick('1', 5);
    c.stabilize();
    // The majority side elects a new leader once its election timeouts (and any lease) run out.
    let next = undefined;
    for (let i = 0; i < 100 && !next; i++) {
      c.tick('2');
      c.tick('3');
      c.stabilize();
      next = ['2', '3']
        .map((id) => c.node(id))
        .find((n) => n.rawNode.raft.state === StateType.Leader);
    }
    expect(next).toBeDefined();
    next!.rawNode.propose(enc('new write'));
    c.stabilize();
    c.tick('1', 30);
    c.stabilize();
    c.heal();
    c.tick('1', 3);
    c.tick(next!.id, 3);
    c.stabilize();
    expect(old.rawNode.raft.state).toBe(StateType.Follower);
    expect(old.readStates).toEqual([]);
  });

  // Reference: thesis §6.4 "followers ... could also offload the processing
  // of read-only queries": a follower forwards the request and receives the
  // leader's read index, which covers every write committed before it asked.
  it('a follower forwards a read and gets a ReadState covering prior writes', () => {
    const c = TestCluster.create(three);
    const leader = c.elect('1');
    leader.rawNode.propose(enc('w'));
    c.stabilize();
    const written = leader.applied.at(-1)!.index;
    const f = c.node('3');
    expect(f.rawNode.readIndex('f')).toBeUndefined();
    c.stabilize();
    expect(f.readStates).toEqual([
      { index: leader.rawNode.raft.raftLog.committed, requestCtx: 'f' },
    ]);
    expect(f.readStates[0]!.index).toBeGreaterThanOrEqual(written);
    expect(c.count(MessageType.MsgReadIndexResp, (m) => m.to === '3')).toBe(1);
  });

  // Reference: thesis §6.4 (and §5.5 forwarding): a request forwarded twice
  // (the first hop was no longer the leader) is answered to the peer that
  // asked, not to the peer that forwarded it.
  it('a twice-forwarded read is answered to the peer that asked', () => {
    const net = Network.of(3);
    net.campaign('1');
    const [p2, p3] = [net.peer('2'), net.peer('3')];
    p3.lead = nodeId('2'); // 3 still believes 2 leads
    p3.step(readIndexMsg('3', 'x'));
    const [toTwo] = readMessages(p3);
    expect([toTwo!.type, toTwo!.to]).toEqual([MessageType.MsgReadIndex, '2']);
    p2.step(toTwo!);
    const [toOne] = readMessages(p2);
    expect([toOne!.to, toOne!.from]).toEqual(['1', '3']);
    net.send(toOne!);
    expect(p3.readStates.map((rs) => rs.requestCtx)).toEqual(['x']);
    expect(p2.readStates).toEqual([]);
  });

  // Reference: thesis §6.4 "the leader can amortize the cost of confirming
  // its leadership: it can use a single round of heartbeats for any number
  // of read-only queries that it has accumulated". All reads received
  // between two Readys share one round: one heartbeat per follower.
  it('concurrent reads in one step window share one heartbeat round', () => {
    const c = TestCluster.create(three);
    const leader = c.elect('1');
    for (const ctx of ['a', 'b', 'c']) expect(leader.rawNode.readIndex(ctx)).toBeUndefined();
    // A forwarded read from a follower arrives in the same window.
    const f = c.node('2');
    f.rawNode.readIndex('d');
    c.process(f);
    const fwd = c.queue.splice(0);
    expect(fwd.map((m) => m.type)).toEqual([MessageType.MsgReadIndex]);
    leader.rawNode.step(fwd[0]!);
    c.process(leader);
    const round = c.queue.filter((m) => m.type === MessageType.MsgHeartbeat);
    expect(round.map((m) => [m.to, m.context])).toEqual([
      ['2', 'd'],
      ['3', 'd'],
    ]);
    c.stabilize();
    const idx = leader.rawNode.raft.raftLog.committed;
    expect(leader.readStates).toEqual(
      ['a', 'b', 'c'].map((requestCtx) => ({ index: idx, requestCtx })),
    );
    expect(f.readStates).toEqual([{ index: idx, requestCtx: 'd' }]);
    expect(c.count(MessageType.MsgHeartbeat)).toBe(2);

    // The next window starts a new round.
    leader.rawNode.readIndex('e');
    c.stabilize();
    expect(c.count(MessageType.MsgHeartbeat)).toBe(4);
    expect(leader.readStates.at(-1)).toEqual({ index: idx, requestCtx: 'e' });
  });

  // Reference: thesis §6.4: with a single voter the leader's own ack is a
  // quorum; the read is answered at once, with no message at all.
  it('a single-voter leader answers a read at once', () => {
    const c = TestCluster.create(['1']);
    const leader = c.elect('1');
    leader.rawNode.readIndex('solo');
    c.process(leader);
    expect(c.queue).toEqual([]);
    expect(leader.readStates).toEqual([
      { index: leader.rawNode.raft.raftLog.committed, requestCtx: 'solo' },
    ]);
  });

  // Reference: thesis §6.4: a peer that knows no leader cannot serve reads.
  it('a read without a known leader is refused with no-leader', () => {
    const c = TestCluster.create(three);
    const err = c.node('2').rawNode.readIndex('x');
    expect(err).toMatchObject({ code: 'proposal-dropped', reason: 'no-leader' });
    expect(c.node('2').rawNode.raft.raftLog.committed).toBe(logIndex(3));
  });
});
