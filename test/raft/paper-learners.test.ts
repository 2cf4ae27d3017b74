// Paper tests for non-voting members (Ongaro's thesis §4.2.1 "catching up
// new servers": they receive the log but take no part in decisions). As in
// etcd-io/raft a learner still *answers* vote requests (a learner whose
// promotion is committed but not yet applied may be needed for a quorum);
// what matters is that its vote never counts in a configuration where it
// is a learner.
import { describe, expect, it } from 'vitest';
import {
  ConfChangeType,
  MessageType,
  StateType,
  logIndex,
  nodeId,
  term,
} from '../../src/raft/index.js';
import { enc } from './harness.js';
import { Network, hup, msg, newTestRaft, prop, readMessages, termsOf } from './raft-net.js';
import { TestCluster } from './test-cluster.js';

describe('§4.2.1 learners', () => {
  // Reference: thesis §4.2.1 the leader replicates entries to non-voting
  // members like to any follower.
  it('a learner receives the log and the commit index', () => {
    const net = Network.of(3, { learners: ['4'] });
    net.campaign('1');
    net.propose('1', 'a');
    const [leader, learner] = [net.peer('1'), net.peer('4')];
    expect(termsOf(learner)).toEqual(termsOf(leader));
    expect(learner.raftLog.committed).toBe(leader.raftLog.committed);
    expect(learner.isLearner).toBe(true);
  });

  // Reference: thesis §4.2.1 non-voting members "are not considered for
  // majorities": acks from learners never commit an entry.
  it("a learner's ack never counts toward the commit quorum", () => {
    const r = newTestRaft('1', { voters: ['1', '2'], learners: ['3', '4'] });
    r.becomeCandidate();
    r.becomeLeader();
    readMessages(r);
    const li = r.raftLog.lastIndex();
    for (const from of ['3', '4'])
      r.step(msg(MessageType.MsgAppResp, from, '1', r.term, { index: li }));
    expect(r.raftLog.committed).toBe(0);
    r.step(msg(MessageType.MsgAppResp, '2', '1', r.term, { index: li }));
    expect(r.raftLog.committed).toBe(li);
  });

  // Reference: thesis §4.2.1: elections count voters only. A candidate does
  // not ask learners, and grants from learners do not make it win.
  it('a candidate does not ask learners, and their grants do not count', () => {
    const r = newTestRaft('1', { voters: ['1', '2', '3'], learners: ['4', '5'] });
    r.step(hup('1'));
    expect(readMessages(r).map((m) => m.to)).toEqual(['2', '3']);
    for (const from of ['4', '5']) r.step(msg(MessageType.MsgVoteResp, from, '1', r.term));
    expect(r.state).toBe(StateType.Candidate);
    r.step(msg(MessageType.MsgVoteResp, '2', '1', r.term));
    expect(r.state).toBe(StateType.Leader);
  });

  // Reference: thesis §4.2.1: a learner is never a candidate: ticking far
  // past its election timeout, an explicit MsgHup or a MsgTimeoutNow
  // start nothing.
  it('a learner never campaigns', () => {
    const r = newTestRaft('4', { voters: ['1', '2', '3'], learners: ['4'], term: 2 });
    for (let i = 0; i < 10 * r.electionTimeout; i++) r.tick();
    r.step(hup('4'));
    r.step(msg(MessageType.MsgTimeoutNow, '1', '4', 2));
    expect([r.state, r.term, readMessages(r)]).toEqual([StateType.Follower, 2, []]);
  });

  // Reference: thesis §4.2.1 (non-voting members) and §4.3 (a vote counts
  // only in the configuration where the peer votes). The etcd-io/raft rule,
  // tested exactly: a learner answers (and may grant)
  // a vote request, but in a configuration where it is a learner that grant
  // changes nothing.
  it('a learner answers vote requests, but its vote never counts while it is a learner', () => {
    const learner = newTestRaft('4', { voters: ['1', '2', '3'], learners: ['4'], term: 1 });
    learner.step(msg(MessageType.MsgVote, '1', '4', 2, { logTerm: term(0), index: logIndex(0) }));
    expect(readMessages(learner).map((m) => [m.type, m.reject])).toEqual([
      [MessageType.MsgVoteResp, false],
    ]);

    // Voters {1, 2} and learner 3: 1 and the learner grant, still no majority of {1, 2}.
    const c = newTestRaft('1', { voters: ['1', '2'], learners: ['3'] });
    c.step(hup('1'));
    c.step(msg(MessageType.MsgVoteResp, '3', '1', c.term));
    expect(c.state).toBe(StateType.Candidate);
    // After promotion, the same grant decides.
    const p = newTestRaft('1', { voters: ['1', '2'], learners: ['3'] });
    p.applyConfChange({
      transition: 'auto',
      changes: [{ type: ConfChangeType.AddNode, nodeId: nodeId('3') }],
      context: '',
    });
    p.step(hup('1'));
    p.step(msg(MessageType.MsgVoteResp, '3', '1', p.term));
    expect(p.state).toBe(StateType.Leader);
  });

  // Reference: thesis §4.2.1: once promoted, the member's acks count.
  it("after promotion the member's acks count toward commit", () => {
    const r = newTestRaft('1', { voters: ['1', '2', '3'], learners: ['4'] });
    r.becomeCandidate();
    r.becomeLeader();
    readMessages(r);
    r.step(prop('1'));
    const li = r.raftLog.lastIndex();
    r.step(msg(MessageType.MsgAppResp, '4', '1', r.term, { index: li }));
    expect(r.raftLog.committed).toBe(0);
    // Promote 4 (as applying the committed change would), then 2 and 4 make 3 of 4.
    r.applyConfChange({
      transition: 'auto',
      changes: [{ type: ConfChangeType.AddNode, nodeId: nodeId('4') }],
      context: '',
    });
    r.step(msg(MessageType.MsgAppResp, '2', '1', r.term, { index: li }));
    expect(r.raftLog.committed).toBe(li);
  });

  // Reference: thesis §4.2.1 end to end: a learner added to a running
  // cluster catches up, applies everything, and the leader keeps it a learner.
  it('a learner added by a conf change catches up and applies what voters apply', () => {
    const c = TestCluster.create(['1', '2', '3']);
    const leader = c.elect('1');
    leader.rawNode.propose(enc('before'));
    c.stabilize();
    const l = c.addMember('1', '4', 'learner');
    leader.rawNode.propose(enc('after'));
    c.stabilize();
    expect(l.applied.map((e) => new TextDecoder().decode(e.data))).toEqual(['before', 'after']);
    expect(l.rawNode.raft.isLearner).toBe(true);
    expect(leader.rawNode.status().progress!.get(nodeId('4'))!.isLearner).toBe(true);
    // Isolating the learner does not cost the cluster its quorum.
    c.isolate('2');
    leader.rawNode.propose(enc('without 2'));
    c.stabilize();
    expect(c.node('3').applied.at(-1)!.data).toEqual(enc('without 2'));
  });
});
