// Paper tests for the two disruption guards of Ongaro's thesis: PreVote
// (§9.6) and CheckQuorum with the leader lease (§6.2, §4.2.3).
import { describe, expect, it } from 'vitest';
import {
  MessageType,
  NONE,
  StateType,
  campaignTransfer,
  logIndex,
  nodeId,
  term,
} from '../../src/raft/index.js';
import { enc } from './harness.js';
import { hup, msg, newTestRaft, readMessages } from './raft-net.js';
import { TestCluster } from './test-cluster.js';

const three = ['1', '2', '3'];

/** partitionThenHeal isolates 3 for many election timeouts while 1 keeps committing, then heals. */
function partitionThenHeal(config: { preVote: boolean; checkQuorum: boolean }): {
  c: TestCluster;
  termBefore: number;
  termWhileCut: number;
} {
  const c = TestCluster.create(three, { config });
  const leader = c.elect('1');
  const termBefore = leader.rawNode.raft.term;
  c.isolate('3');
  for (let i = 0; i < 5; i++) {
    leader.rawNode.propose(enc(`w${i}`));
    c.stabilize();
  }
  for (let i = 0; i < 100; i++) {
    c.tick('3');
    c.tick('1');
    c.tick('2');
    c.stabilize();
  }
  const termWhileCut = c.node('3').rawNode.raft.term;
  c.heal();
  for (let i = 0; i < 30; i++) {
    c.tick('3');
    c.tick('1');
    c.tick('2');
    c.stabilize();
  }
  return { c, termBefore, termWhileCut };
}

describe('§9.6 PreVote', () => {
  // Reference: thesis §9.6 "a candidate would first ask other servers whether
  // its log was up-to-date enough to get their vote. Only if the candidate
  // believed it could get votes from a majority ... would it increment its
  // term and start a normal election." A partitioned peer stays at its term.
  it("a partitioned peer's pre-votes do not increase any term", () => {
    const { c, termBefore, termWhileCut } = partitionThenHeal({
      preVote: true,
      checkQuorum: false,
    });
    expect(termWhileCut).toBe(termBefore);
    for (const id of three) expect(c.node(id).rawNode.raft.term, id).toBe(termBefore);
  });

  // Reference: thesis §9.6: after the partition heals the peer rejoins
  // without disrupting the leader: its log is behind, so no one grants its
  // pre-vote, and the leader's heartbeats bring it back as a follower.
  it('after the partition heals it rejoins without disrupting the leader', () => {
    const { c, termBefore } = partitionThenHeal({ preVote: true, checkQuorum: false });
    expect(c.node('1').rawNode.raft.state).toBe(StateType.Leader);
    expect(c.node('1').rawNode.raft.term).toBe(termBefore);
    expect(c.node('3').rawNode.raft.state).toBe(StateType.Follower);
    expect(c.node('3').rawNode.raft.lead).toBe('1');
    expect(c.node('3').applied.map((e) => e.index)).toEqual(
      c.node('1').applied.map((e) => e.index),
    );
  });

  // Reference: thesis §9.6 (the problem pre-vote solves). Without pre-vote
  // the same partition raises the isolated peer's term and
  // healing deposes the leader: the two tests above can fail.
  it('without pre-vote the same partition disrupts the leader', () => {
    const { c, termBefore, termWhileCut } = partitionThenHeal({
      preVote: false,
      checkQuorum: false,
    });
    expect(termWhileCut).toBeGreaterThan(termBefore + 5);
    expect(c.node('1').rawNode.raft.term).toBeGreaterThan(termBefore);
  });

  // Reference: thesis §9.6: a pre-vote is a question, not a vote: granting
  // it for a future term changes neither the voter's term nor its vote.
  it('granting a pre-vote for a future term changes neither term nor vote', () => {
    const r = newTestRaft('2', {
      voters: three,
      term: 2,
      vote: '1',
      log: [1, 2],
      config: { preVote: true },
    });
    const elapsed = 3;
    r.electionElapsed = elapsed;
    r.step(msg(MessageType.MsgPreVote, '3', '2', 3, { logTerm: term(2), index: logIndex(2) }));
    expect(readMessages(r).map((m) => [m.type, m.to, m.term, m.reject])).toEqual([
      [MessageType.MsgPreVoteResp, '3', 3, false],
    ]);
    expect([r.term, r.vote, r.state, r.electionElapsed]).toEqual([
      2,
      '1',
      StateType.Follower,
      elapsed,
    ]);
  });

  // Reference: thesis §9.6: the pre-candidate keeps its term while asking
  // about term+1; winning the pre-election makes it a real candidate at
  // term+1; losing it leaves it a follower at its old term.
  it('a pre-candidate that wins becomes a candidate at term+1; one that loses stays at its term', () => {
    const r = newTestRaft('1', { voters: three, term: 4, log: [1, 4], config: { preVote: true } });
    r.step(hup('1'));
    expect([r.state, r.term, r.vote]).toEqual([StateType.PreCandidate, 4, NONE]);
    expect(readMessages(r).map((m) => [m.type, m.to, m.term, m.logTerm, m.index])).toEqual([
      [MessageType.MsgPreVote, '2', 5, 4, 2],
      [MessageType.MsgPreVote, '3', 5, 4, 2],
    ]);
    r.step(msg(MessageType.MsgPreVoteResp, '2', '1', 5));
    expect([r.state, r.term, r.vote]).toEqual([StateType.Candidate, 5, '1']);
    expect(readMessages(r).map((m) => [m.type, m.to, m.term])).toEqual([
      [MessageType.MsgVote, '2', 5],
      [MessageType.MsgVote, '3', 5],
    ]);

    const loser = newTestRaft('1', { voters: three, term: 4, config: { preVote: true } });
    loser.step(hup('1'));
    loser.step(msg(MessageType.MsgPreVoteResp, '2', '1', 4, { reject: true }));
    loser.step(msg(MessageType.MsgPreVoteResp, '3', '1', 4, { reject: true }));
    expect([loser.state, loser.term]).toEqual([StateType.Follower, 4]);
  });
});

describe('§6.2 CheckQuorum and the leader lease', () => {
  // Reference: thesis §6.2 "a leader steps down if an election timeout
  // elapses without a successful round of heartbeats to a majority of its
  // cluster"; a healthy leader does not.
  it('a leader that has not heard from a quorum for an election timeout steps down', () => {
    const c = TestCluster.create(three, { config: { checkQuorum: true } });
    const leader = c.elect('1');
    for (let i = 0; i < 50; i++) {
      c.tick('1');
      c.stabilize();
    }
    expect(leader.rawNode.raft.state).toBe(StateType.Leader);

    c.isolate('1');
    const et = leader.rawNode.raft.electionTimeout;
    // The active flags of the last interval carry it through one check; the next fails.
    let ticks = 0;
    while (leader.rawNode.raft.state === StateType.Leader && ticks < 3 * et) {
      c.tick('1');
      ticks++;
    }
    expect(leader.rawNode.raft.state).toBe(StateType.Follower);
    expect(ticks).toBeLessThanOrEqual(2 * et);
    expect(leader.rawNode.raft.lead).toBe(NONE);
  });

  // Reference: thesis §6.2 (check-quorum is what makes it step down).
  it('without checkQuorum an isolated leader keeps leading', () => {
    const c = TestCluster.create(three, { config: { checkQuorum: false } });
    const leader = c.elect('1');
    c.isolate('1');
    c.tick('1', 100);
    expect(leader.rawNode.raft.state).toBe(StateType.Leader);
  });

  // Reference: thesis §4.2.3 / §6.2: "if a server receives a RequestVote
  // request within the minimum election timeout of hearing from a current
  // leader, it does not update its term or grant its vote". A transfer's
  // campaign (tagged campaignTransfer) is the exception.
  it('a follower within the lease ignores higher-term (pre-)votes unless they are a transfer', () => {
    const follower = (): ReturnType<typeof newTestRaft> => {
      const r = newTestRaft('2', {
        voters: three,
        term: 2,
        log: [1, 2],
        config: { checkQuorum: true, preVote: true },
      });
      r.step(msg(MessageType.MsgHeartbeat, '1', '2', 2));
      readMessages(r);
      expect(r.lead).toBe('1');
      return r;
    };
    for (const type of [MessageType.MsgVote, MessageType.MsgPreVote]) {
      const r = follower();
      r.step(msg(type, '3', '2', 3, { logTerm: term(2), index: logIndex(2) }));
      expect(readMessages(r), type).toEqual([]);
      expect([r.term, r.vote, r.lead]).toEqual([2, NONE, '1']);

      // Once an election timeout passes without the leader, the lease is over.
      r.electionElapsed = r.electionTimeout;
      r.step(msg(type, '3', '2', 3, { logTerm: term(2), index: logIndex(2) }));
      expect(
        readMessages(r).map((m) => m.reject),
        type,
      ).toEqual([false]);
    }
    const r = follower();
    r.step(
      msg(MessageType.MsgVote, '3', '2', 3, {
        logTerm: term(2),
        index: logIndex(2),
        context: campaignTransfer,
      }),
    );
    expect(readMessages(r).map((m) => [m.type, m.reject])).toEqual([
      [MessageType.MsgVoteResp, false],
    ]);
    expect([r.term, r.vote]).toEqual([3, nodeId('3')]);
  });

  // Reference: thesis §6.2: the leader counts itself and every voter it
  // heard from (any message) during the last election timeout.
  it('the leader stays up while a majority, not all, of the voters answer', () => {
    const c = TestCluster.create(['1', '2', '3', '4', '5'], { config: { checkQuorum: true } });
    const leader = c.elect('1');
    c.isolate('4');
    c.isolate('5');
    for (let i = 0; i < 40; i++) {
      c.tick('1');
      c.stabilize();
    }
    expect(leader.rawNode.raft.state).toBe(StateType.Leader);
    c.isolate('3');
    for (let i = 0; i < 40 && leader.rawNode.raft.state === StateType.Leader; i++) {
      c.tick('1');
      c.stabilize();
    }
    expect(leader.rawNode.raft.state).toBe(StateType.Follower);
  });
});
