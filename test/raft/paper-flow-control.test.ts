// Tests for the limits around replication (STYLE.md §4: every limit has a
// test at its boundary): the inflight window by count and bytes, the MsgApp
// size cap, probe pacing, the uncommitted-size limit and the reasons a
// proposal is dropped. These are etcd-io/raft's flow-control rules, which the
// Raft paper leaves to the implementation (§5.3 "retries indefinitely").
import { describe, expect, it } from 'vitest';
import {
  DropReason,
  MessageType,
  ProgressState,
  ProposalDroppedError,
  StateType,
  logIndex,
  nodeId,
  type Message,
  type Raft,
  type RaftConfig,
} from '../../src/raft/index.js';
import { enc } from './harness.js';
import { Network, hup, msg, newTestRaft, prop, readMessages, termsOf } from './raft-net.js';
import { TestCluster } from './test-cluster.js';

const three = ['1', '2', '3'];
const payload = (n: number): string => 'x'.repeat(n);
const appsTo = (out: readonly Message[], to: string): Message[] =>
  out.filter((m) => m.type === MessageType.MsgApp && m.to === to);

/**
 * leaderReplicatingTo2 is a 3-voter leader whose empty entry both followers
 * acknowledged: follower 2 is in the replicate state, its window empty.
 */
function leaderReplicatingTo2(config: Partial<RaftConfig> = {}): Raft {
  const r = newTestRaft('1', { voters: three, config });
  r.becomeCandidate();
  r.becomeLeader();
  r.bcastAppend();
  for (const m of readMessages(r)) {
    r.step(
      msg(MessageType.MsgAppResp, m.to, '1', r.term, {
        index: logIndex(m.index + m.entries.length),
      }),
    );
  }
  readMessages(r);
  expect(r.trk.progress.get(nodeId('2'))!.state).toBe(ProgressState.Replicate);
  return r;
}

describe('flow control', () => {
  // Reference: §5.3 (AppendEntries are retried and pipelined; the paper
  // leaves flow control to the implementation) / etcd-io/raft Inflights.
  // maxInflightMsgs: at most that many unacknowledged MsgApp per follower.
  it('the inflight window caps unacknowledged MsgApps by count', () => {
    const r = leaderReplicatingTo2({ maxInflightMsgs: 3 });
    const sent: Message[] = [];
    for (let i = 0; i < 6; i++) {
      r.step(prop('1', `p${i}`));
      sent.push(...appsTo(readMessages(r), '2'));
    }
    expect(sent.map((m) => m.entries.length)).toEqual([1, 1, 1]);
    expect(r.trk.progress.get(nodeId('2'))!.isPaused()).toBe(true);
    // Acking the first frees one slot; the rest goes out in one message.
    r.step(msg(MessageType.MsgAppResp, '2', '1', r.term, { index: logIndex(sent[0]!.index + 1) }));
    const more = appsTo(readMessages(r), '2').filter((m) => m.entries.length > 0);
    expect(more.map((m) => m.entries.map((e) => e.index))).toEqual([[5, 6, 7]]);
  });

  // Reference: §5.3 / etcd-io/raft Inflights (MaxInflightBytes).
  // maxInflightBytes: the window is full once the bytes in flight reach the limit.
  it.each([
    { size: 100, wantMsgs: 3 },
    { size: 150, wantMsgs: 2 },
    { size: 99, wantMsgs: 4 },
  ])(
    'the inflight window caps bytes: $size-byte entries, 300-byte window → $wantMsgs MsgApps',
    ({ size, wantMsgs }) => {
      const r = leaderReplicatingTo2({
        maxInflightMsgs: 100,
        maxInflightBytes: 300,
        maxSizePerMsgBytes: 300,
      });
      let n = 0;
      for (let i = 0; i < 10; i++) {
        r.step(prop('1', payload(size)));
        n += appsTo(readMessages(r), '2').length;
      }
      expect(n).toBe(wantMsgs);
    },
  );

  // Reference: §5.3 "the leader retries AppendEntries RPCs indefinitely" /
  // etcd-io/raft's throttled StateReplicate.
  // Regression: a heartbeat response unpauses a follower whose window is
  // still full. The leader used to send entries then and overflow the window
  // (an AssertionError: "cannot add into a full inflights"); now it sends an
  // empty MsgApp, as etcd-io/raft does.
  it('a heartbeat response with a full window sends only an empty MsgApp', () => {
    const r = leaderReplicatingTo2({ maxInflightMsgs: 2 });
    for (let i = 0; i < 4; i++) r.step(prop('1'));
    readMessages(r);
    const pr = r.trk.progress.get(nodeId('2'))!;
    expect(pr.inflights.full()).toBe(true);
    r.step(msg(MessageType.MsgHeartbeatResp, '2', '1', r.term));
    const out = appsTo(readMessages(r), '2');
    expect(out.map((m) => [m.entries.length, m.index])).toEqual([[0, pr.next - 1]]);
    expect(pr.inflights.count()).toBe(2);
  });

  // Reference: §5.3 retries: a lost window must not stall replication.
  // ... and if every message that filled the window was lost, that empty
  // MsgApp's rejection sends the follower back to probing, and it catches up.
  it('a follower whose whole window was lost recovers through heartbeats', () => {
    const net = Network.of(3, { config: { maxInflightMsgs: 2 } });
    net.campaign('1');
    net.drop((m) => m.type === MessageType.MsgApp && m.to === '2');
    for (let i = 0; i < 5; i++) net.propose('1', `p${i}`);
    expect(net.peer('1').trk.progress.get(nodeId('2'))!.inflights.full()).toBe(true);
    net.recover();
    net.tick('1');
    net.tick('1');
    expect(termsOf(net.peer('2'))).toEqual(termsOf(net.peer('1')));
  });

  // Reference: §5.3 (AppendEntries may carry several entries "for
  // efficiency") / etcd-io/raft MaxSizePerMsg.
  // maxSizePerMsgBytes caps the entry bytes of one MsgApp, but a MsgApp
  // always carries at least one entry (or replication could never progress).
  it.each([
    { max: 250, want: [2, 2, 2, 2, 2] },
    { max: 200, want: [2, 2, 2, 2, 2] },
    { max: 199, want: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
    { max: 50, want: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
    { max: 0, want: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
    { max: 1000, want: [10] },
  ])('maxSizePerMsgBytes $max splits ten 100-byte entries as $want', ({ max, want }) => {
    const r = newTestRaft('1', { voters: three, config: { maxSizePerMsgBytes: max } });
    r.becomeCandidate();
    r.becomeLeader();
    r.bcastAppend();
    const probe = appsTo(readMessages(r), '2')[0]!;
    // 2 stays silent (a paused probe) while ten entries are proposed.
    for (let i = 0; i < 10; i++) r.step(prop('1', payload(100)));
    expect(appsTo(readMessages(r), '2')).toEqual([]);
    // Its ack moves it to replicate; the backlog streams in size-capped messages.
    r.step(
      msg(MessageType.MsgAppResp, '2', '1', r.term, {
        index: logIndex(probe.index + probe.entries.length),
      }),
    );
    const out = appsTo(readMessages(r), '2');
    expect(out.map((m) => m.entries.length)).toEqual(want);
  });

  // Reference: §5.3 (the leader backs up nextIndex probe by probe) /
  // etcd-io/raft StateProbe.
  // Probe state (the leader does not know where the follower's log ends):
  // one MsgApp per heartbeat response, no matter how much is proposed.
  it('a follower in probe state gets one MsgApp per heartbeat response', () => {
    const r = newTestRaft('1', { voters: three });
    r.becomeCandidate();
    r.becomeLeader();
    r.bcastAppend();
    expect(appsTo(readMessages(r), '2')).toHaveLength(1);
    const pr = r.trk.progress.get(nodeId('2'))!;
    expect([pr.state, pr.isPaused()]).toEqual([ProgressState.Probe, true]);
    for (let i = 0; i < 3; i++) r.step(prop('1'));
    expect(appsTo(readMessages(r), '2')).toHaveLength(0);
    r.tick();
    expect(
      readMessages(r)
        .filter((m) => m.to === '2')
        .map((m) => m.type),
    ).toEqual([MessageType.MsgHeartbeat]);
    for (let round = 0; round < 2; round++) {
      r.step(msg(MessageType.MsgHeartbeatResp, '2', '1', r.term));
      expect(appsTo(readMessages(r), '2'), `round ${round}`).toHaveLength(1);
      r.step(prop('1'));
      expect(appsTo(readMessages(r), '2')).toHaveLength(0);
    }
  });

  // Reference: §5.3 / etcd-io/raft MaxUncommittedEntriesSize (STYLE.md §4).
  // maxUncommittedEntriesSizeBytes: the leader refuses a proposal that would
  // take its uncommitted tail past the limit; exactly at the limit is fine.
  it('the uncommitted-size limit refuses proposals just past the boundary', () => {
    const c = TestCluster.create(three, { config: { maxUncommittedEntriesSizeBytes: 1000 } });
    const leader = c.elect('1');
    c.isolate('2');
    c.isolate('3');
    for (let i = 0; i < 10; i++)
      expect(leader.rawNode.propose(enc(payload(100))), `p${i}`).toBeUndefined();
    expect(leader.rawNode.raft.uncommittedSizeBytes).toBe(1000);
    const err = leader.rawNode.propose(enc('y'));
    expect(err).toBeInstanceOf(ProposalDroppedError);
    expect(err).toMatchObject({
      code: 'proposal-dropped',
      reason: DropReason.UncommittedSizeLimit,
    });
    // An empty payload costs nothing and is never refused by this limit.
    expect(leader.rawNode.propose(new Uint8Array(0))).toBeUndefined();
    // Once the tail commits (and the application takes it), room opens again.
    c.heal();
    c.tick('1');
    c.stabilize();
    expect(leader.rawNode.raft.uncommittedSizeBytes).toBe(0);
    expect(leader.rawNode.propose(enc(payload(1000)))).toBeUndefined();
    // With nothing uncommitted, one oversized proposal is accepted (progress).
    c.stabilize();
    expect(leader.rawNode.propose(enc(payload(5000)))).toBeUndefined();
    expect(leader.rawNode.propose(enc('z'))).toMatchObject({
      reason: DropReason.UncommittedSizeLimit,
    });
  });
});

describe('proposal refusals', () => {
  // Reference: §5.1 / §8: only a leader appends; a peer that knows no
  // leader cannot forward, so the client must retry elsewhere.
  it('a follower or candidate that knows no leader drops a proposal with "no-leader"', () => {
    const f = newTestRaft('2', { voters: three });
    expect(f.step(prop('2'))).toMatchObject({
      code: 'proposal-dropped',
      reason: DropReason.NoLeader,
    });
    const cand = newTestRaft('2', { voters: three });
    cand.step(hup('2'));
    expect(cand.state).toBe(StateType.Candidate);
    expect(cand.step(prop('2'))).toMatchObject({ reason: DropReason.NoLeader });
    const pre = newTestRaft('2', { voters: three, config: { preVote: true } });
    pre.step(hup('2'));
    expect(pre.state).toBe(StateType.PreCandidate);
    expect(pre.step(prop('2'))).toMatchObject({ reason: DropReason.NoLeader });
    expect(readMessages(f)).toEqual([]);
    // Through RawNode, on a freshly bootstrapped cluster.
    const c = TestCluster.create(three);
    expect(c.node('1').rawNode.propose(enc('x'))).toBeInstanceOf(ProposalDroppedError);
  });

  // Reference: §8 (followers redirect clients; tabd forwards by default) /
  // etcd-io/raft DisableProposalForwarding.
  it('with disableProposalForwarding a follower drops proposals instead of forwarding them', () => {
    const c = TestCluster.create(three, { config: { disableProposalForwarding: true } });
    c.elect('1');
    const f = c.node('2');
    expect(f.rawNode.propose(enc('x'))).toMatchObject({ reason: DropReason.ForwardingDisabled });
    c.process(f);
    expect(c.queue).toEqual([]);
    // The leader itself still takes proposals.
    expect(c.node('1').rawNode.propose(enc('y'))).toBeUndefined();
  });
});
