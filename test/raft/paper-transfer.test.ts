// Paper tests for leadership transfer (Ongaro's thesis §3.10), through the
// RawNode API the node runtime uses.
import { describe, expect, it } from 'vitest';
import {
  LeaderTransferRefusedError,
  MessageType,
  NONE,
  ProposalDroppedError,
  StateType,
  campaignTransfer,
  nodeId,
} from '../../src/raft/index.js';
import { enc } from './harness.js';
import { msg, newTestRaft, readMessages } from './raft-net.js';
import { TestCluster } from './test-cluster.js';

const three = ['1', '2', '3'];

/** lagging builds a cluster led by 1 where 3 missed the last `n` entries and is reachable again. */
function lagging(n = 3): TestCluster {
  const c = TestCluster.create(three);
  const leader = c.elect('1');
  c.isolate('3');
  for (let i = 0; i < n; i++) leader.rawNode.propose(enc(`w${i}`));
  c.stabilize();
  c.heal();
  return c;
}

describe('§3.10 leadership transfer', () => {
  // Reference: thesis §3.10 step 2: "the prior leader sends a TimeoutNow
  // request to the target server", at once when the target's log is complete.
  it('to an up-to-date follower: MsgTimeoutNow at once, and the target wins the next term', () => {
    const c = TestCluster.create(three);
    const leader = c.elect('1');
    const t = leader.rawNode.raft.term;
    expect(leader.rawNode.transferLeader(nodeId('2'))).toBeUndefined();
    c.process(leader);
    expect(c.queue.map((m) => [m.type, m.to])).toEqual([[MessageType.MsgTimeoutNow, '2']]);
    c.stabilize();
    expect(c.node('2').rawNode.raft.state).toBe(StateType.Leader);
    expect(c.node('2').rawNode.raft.term).toBe(t + 1);
    expect(leader.rawNode.raft.state).toBe(StateType.Follower);
  });

  // Reference: thesis §3.10 step 1: "The prior leader ... ensures that the
  // target server's log is up to date", then sends TimeoutNow.
  it('to a lagging follower: the leader catches it up first, then sends MsgTimeoutNow', () => {
    const c = lagging();
    const leader = c.node('1');
    expect(leader.rawNode.transferLeader(nodeId('3'))).toBeUndefined();
    c.process(leader);
    expect(c.queued(MessageType.MsgTimeoutNow)).toEqual([]);
    expect(c.queued(MessageType.MsgApp, '1').map((m) => m.to)).toContain('3');
    c.stabilize();
    expect(c.node('3').rawNode.raft.state).toBe(StateType.Leader);
    // TimeoutNow left only after 3 acknowledged the leader's last index.
    const lastIndex = leader.rawNode.raft.raftLog.lastIndex() - 1; // minus the new leader's empty entry
    const iTimeout = c.delivered.findIndex((m) => m.type === MessageType.MsgTimeoutNow);
    const iCaughtUp = c.delivered.findIndex(
      (m) =>
        m.type === MessageType.MsgAppResp && m.from === '3' && !m.reject && m.index === lastIndex,
    );
    expect(iCaughtUp).toBeGreaterThanOrEqual(0);
    expect(iCaughtUp).toBeLessThan(iTimeout);
  });

  // Reference: thesis §3.10 "the prior leader stops accepting new client
  // requests" during the transfer.
  it('proposals are refused with reason "transferring" while a transfer is in progress', () => {
    const c = lagging();
    const leader = c.node('1');
    c.isolate('3'); // keep the transfer from finishing
    leader.rawNode.transferLeader(nodeId('3'));
    c.stabilize();
    const err = leader.rawNode.propose(enc('during'));
    expect(err).toBeInstanceOf(ProposalDroppedError);
    expect(err).toMatchObject({ code: 'proposal-dropped', reason: 'transferring' });
  });

  // Reference: thesis §3.10 "if the transfer does not complete within an
  // election timeout, the prior leader aborts the transfer and resumes
  // accepting client requests".
  it('a transfer that does not finish within an election timeout is aborted', () => {
    const c = lagging();
    const leader = c.node('1');
    c.isolate('3');
    leader.rawNode.transferLeader(nodeId('3'));
    const et = leader.rawNode.raft.electionTimeout;
    for (let i = 0; i < et - 1; i++) {
      c.tick('1');
      c.stabilize();
    }
    expect(leader.rawNode.status().leadTransferee).toBe('3');
    c.tick('1');
    c.stabilize();
    expect(leader.rawNode.status().leadTransferee).toBe(NONE);
    expect(leader.rawNode.raft.state).toBe(StateType.Leader);
    expect(leader.rawNode.propose(enc('after'))).toBeUndefined();
  });

  // Reference: thesis §3.10: only a voter other than the leader can take
  // over; RawNode refuses a non-member or learner target outright, and a
  // transfer to the leader itself does nothing.
  it('refuses a transfer to a non-member or a learner, and ignores one to itself', () => {
    const c = TestCluster.create(three);
    const leader = c.elect('1');
    c.addMember('1', '4', 'learner');
    expect(leader.rawNode.status().config.learners).toEqual(['4']);
    for (const target of ['9', '4']) {
      const err = leader.rawNode.transferLeader(nodeId(target));
      expect(err, target).toBeInstanceOf(LeaderTransferRefusedError);
      expect(err, target).toMatchObject({ code: 'leader-transfer-refused' });
      expect(err!.message).toContain(target);
    }
    expect(leader.rawNode.transferLeader(nodeId('1'))).toBeUndefined();
    c.process(leader);
    expect(c.queued(MessageType.MsgTimeoutNow)).toEqual([]);
    expect(leader.rawNode.status().leadTransferee).toBe(NONE);
    expect(leader.rawNode.propose(enc('still leading'))).toBeUndefined();

    // A learner target forwarded by a follower is ignored by the leader too.
    const r = newTestRaft('1', { voters: three, learners: ['4'] });
    r.becomeCandidate();
    r.becomeLeader();
    readMessages(r);
    r.step(msg(MessageType.MsgTransferLeader, '4', '1', 0));
    expect([r.leadTransferee, readMessages(r)]).toEqual([NONE, []]);
  });

  // Reference: thesis §3.10: a follower may ask for a transfer; it forwards
  // the request to the leader, which transfers to the requested target (not
  // to the follower that forwarded it).
  it('a transfer requested on a follower reaches the leader and moves leadership to the target', () => {
    const c = TestCluster.create(three);
    c.elect('1');
    expect(c.node('2').rawNode.transferLeader(nodeId('3'))).toBeUndefined();
    c.stabilize();
    expect(c.node('3').rawNode.raft.state).toBe(StateType.Leader);
    expect(c.node('2').rawNode.raft.state).toBe(StateType.Follower);
    // A follower that knows no leader cannot forward it.
    const lone = TestCluster.create(three);
    expect(lone.node('2').rawNode.transferLeader(nodeId('3'))).toMatchObject({
      reason: 'no-leader',
    });
  });

  // Reference: thesis §3.10 step 2: TimeoutNow makes the target "start a new
  // election immediately": it skips pre-vote, and its votes bypass the
  // leader lease of the other followers (who heard from the old leader
  // moments ago and would otherwise ignore a vote, §6.2).
  it("the target's campaign skips pre-vote and bypasses the followers' lease", () => {
    const c = TestCluster.create(three, { config: { preVote: true, checkQuorum: true } });
    const leader = c.elect('1');
    const t = leader.rawNode.raft.term;
    const before = c.delivered.length;
    leader.rawNode.transferLeader(nodeId('2'));
    c.stabilize();
    const during = c.delivered.slice(before);
    expect(during.filter((m) => m.type === MessageType.MsgPreVote)).toEqual([]);
    const votes = during.filter((m) => m.type === MessageType.MsgVote);
    expect(votes.map((m) => [m.from, m.to, m.term, m.context])).toEqual([
      ['2', '1', t + 1, campaignTransfer],
      ['2', '3', t + 1, campaignTransfer],
    ]);
    expect(c.node('3').rawNode.raft.vote).toBe('2');
    expect(c.node('2').rawNode.raft.state).toBe(StateType.Leader);
  });
});
