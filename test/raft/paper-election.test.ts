// Paper tests for terms and leader election: Raft §5.1, §5.2 and the
// election restriction of §5.4.1 (Ongaro & Ousterhout, "In Search of an
// Understandable Consensus Algorithm"). Each test drives bare Raft peers
// through step() and tick() and checks one rule of the paper.
import { describe, expect, it } from 'vitest';
import {
  MessageType,
  NONE,
  SeededRng,
  StateType,
  logIndex,
  nodeId,
  term,
  type Raft,
} from '../../src/raft/index.js';
import { Network, hup, msg, newTestRaft, readMessages } from './raft-net.js';

const three = ['1', '2', '3'];
const five = ['1', '2', '3', '4', '5'];

/** asState puts r in the given state the way the protocol would (follower stays at its term). */
function asState(r: Raft, s: StateType): void {
  if (s === StateType.Candidate) r.becomeCandidate();
  if (s === StateType.Leader) {
    r.becomeCandidate();
    r.becomeLeader();
  }
  readMessages(r);
}

describe('§5.1 terms', () => {
  // Reference: §5.1 "If a candidate or leader discovers that its term is out
  // of date, it immediately reverts to follower state"; every server updates
  // its current term to the larger value it sees.
  it.each([StateType.Follower, StateType.Candidate, StateType.Leader])(
    'a %s that sees a higher term adopts it and becomes a follower',
    (state) => {
      for (const type of [MessageType.MsgApp, MessageType.MsgHeartbeat, MessageType.MsgVote]) {
        const r = newTestRaft('1', { voters: three, term: 1 });
        asState(r, state);
        const next = r.term + 1;
        r.step(msg(type, '2', '1', next, { logTerm: term(next), index: logIndex(10) }));
        expect(r.state, type).toBe(StateType.Follower);
        expect(r.term, type).toBe(next);
        // A leader's message names the new leader; a vote request does not.
        expect(r.lead, type).toBe(type === MessageType.MsgVote ? NONE : nodeId('2'));
      }
    },
  );

  // Reference: §5.1 "If a server receives a request with a stale term number,
  // it rejects the request."
  it('ignores requests with a stale term and changes nothing', () => {
    const r = newTestRaft('1', { voters: three, term: 3, log: [1, 2] });
    const before = {
      term: r.term,
      vote: r.vote,
      last: r.raftLog.lastIndex(),
      commit: r.raftLog.committed,
    };
    r.step(
      msg(MessageType.MsgApp, '2', '1', 2, {
        logTerm: term(2),
        index: logIndex(2),
        commit: logIndex(2),
        entries: [],
      }),
    );
    r.step(msg(MessageType.MsgHeartbeat, '2', '1', 2, { commit: logIndex(2) }));
    r.step(msg(MessageType.MsgVote, '3', '1', 2, { logTerm: term(2), index: logIndex(5) }));
    expect({
      term: r.term,
      vote: r.vote,
      last: r.raftLog.lastIndex(),
      commit: r.raftLog.committed,
    }).toEqual(before);
    expect(r.state).toBe(StateType.Follower);
    // Without checkQuorum or preVote, nothing is sent back.
    expect(readMessages(r)).toEqual([]);
  });

  // Reference: §5.1 plus thesis §9.6/§6.2: with pre-vote or check-quorum no
  // one raises terms to depose a stale leader, so a peer answers a stale
  // MsgApp/MsgHeartbeat with an empty MsgAppResp carrying its own term.
  it.each([{ checkQuorum: true }, { preVote: true }])(
    'with %o a stale leader is told the current term and steps down',
    (config) => {
      const follower = newTestRaft('2', { voters: three, term: 3, config });
      for (const type of [MessageType.MsgApp, MessageType.MsgHeartbeat]) {
        follower.step(msg(type, '1', '2', 2));
        const out = readMessages(follower);
        expect(out.map((m) => [m.type, m.to, m.term, m.reject])).toEqual([
          [MessageType.MsgAppResp, '1', 3, false],
        ]);
        const stale = newTestRaft('1', { voters: three, term: 1, config });
        asState(stale, StateType.Leader);
        expect(stale.term).toBe(2);
        stale.step(out[0]!);
        expect(stale.state).toBe(StateType.Follower);
        expect(stale.term).toBe(3);
      }
    },
  );

  // Reference: thesis §9.6: a stale pre-vote request is rejected with the
  // voter's term, so a lagging pre-candidate learns it and steps down.
  it('rejects a stale MsgPreVote with its own term; the pre-candidate adopts it', () => {
    const voter = newTestRaft('2', { voters: three, term: 3, config: { preVote: true } });
    voter.step(msg(MessageType.MsgPreVote, '1', '2', 2, { logTerm: term(0), index: logIndex(0) }));
    const out = readMessages(voter);
    expect(out.map((m) => [m.type, m.term, m.reject])).toEqual([
      [MessageType.MsgPreVoteResp, 3, true],
    ]);
    expect(voter.term).toBe(3);

    const pre = newTestRaft('1', { voters: three, term: 1, config: { preVote: true } });
    pre.step(hup('1'));
    expect(pre.state).toBe(StateType.PreCandidate);
    pre.step(out[0]!);
    expect(pre.state).toBe(StateType.Follower);
    expect(pre.term).toBe(3);
  });
});

describe('§5.2 leader election', () => {
  // Reference: §5.2 "When servers start up, they begin as followers."
  it('a peer starts as a follower with its persisted term and vote', () => {
    const r = newTestRaft('1', { voters: three, term: 4, vote: '2' });
    expect(r.state).toBe(StateType.Follower);
    expect(r.term).toBe(4);
    expect(r.vote).toBe('2');
  });

  // Reference: §5.2 "Leaders send periodic heartbeats ... to all followers."
  it('a leader sends a heartbeat to every other member each heartbeatTicks', () => {
    const r = newTestRaft('1', { voters: three, config: { heartbeatTicks: 3 } });
    asState(r, StateType.Leader);
    r.tick();
    r.tick();
    expect(readMessages(r)).toEqual([]);
    r.tick();
    const out = readMessages(r);
    expect(out.map((m) => [m.type, m.to, m.term])).toEqual([
      [MessageType.MsgHeartbeat, '2', r.term],
      [MessageType.MsgHeartbeat, '3', r.term],
    ]);
  });

  // Reference: §5.2 "If a follower receives no communication over a period of
  // time called the election timeout, then it ... begins an election": it
  // increments its term, votes for itself and sends RequestVote to all voters.
  it.each([StateType.Follower, StateType.Candidate])(
    'a %s starts a new election after its election timeout',
    (state) => {
      const r = newTestRaft('1', { voters: five, term: 1, log: [1, 1] });
      asState(r, state);
      const startTerm = r.term;
      for (let i = 1; i < r.randomizedElectionTimeout; i++) r.tick();
      expect(readMessages(r)).toEqual([]);
      expect(r.term).toBe(startTerm);
      r.tick();
      expect(r.state).toBe(StateType.Candidate);
      expect(r.term).toBe(startTerm + 1);
      expect(r.vote).toBe('1');
      const out = readMessages(r);
      expect(out.map((m) => [m.type, m.to, m.term, m.index, m.logTerm])).toEqual(
        ['2', '3', '4', '5'].map((to) => [MessageType.MsgVote, to, startTerm + 1, 2, 1]),
      );
    },
  );

  // Reference: §5.2 "A candidate wins an election if it receives votes from a
  // majority of the servers in the full cluster for the same term"; a
  // majority of rejections makes it a follower; otherwise it keeps waiting.
  it.each([
    { size: 1, votes: {}, want: StateType.Leader },
    { size: 3, votes: { 2: true, 3: true }, want: StateType.Leader },
    { size: 3, votes: { 2: true }, want: StateType.Leader },
    { size: 5, votes: { 2: true, 3: true }, want: StateType.Leader },
    { size: 5, votes: { 2: false, 3: true, 4: true }, want: StateType.Leader },
    { size: 3, votes: {}, want: StateType.Candidate },
    { size: 5, votes: { 2: true }, want: StateType.Candidate },
    { size: 5, votes: { 2: false, 3: false }, want: StateType.Candidate },
    { size: 3, votes: { 2: false, 3: false }, want: StateType.Follower },
    { size: 5, votes: { 2: false, 3: false, 4: false }, want: StateType.Follower },
    { size: 5, votes: { 2: true, 3: false, 4: false, 5: false }, want: StateType.Follower },
  ])(
    'a candidate of a $size-voter cluster with votes $votes ends as $want',
    ({ size, votes, want }) => {
      const voters = five.slice(0, size);
      const r = newTestRaft('1', { voters });
      r.step(hup('1'));
      for (const [from, granted] of Object.entries(votes)) {
        r.step(msg(MessageType.MsgVoteResp, from, '1', r.term, { reject: !granted }));
      }
      expect(r.state).toBe(want);
      expect(r.term).toBe(1);
    },
  );

  // Reference: §5.2 "Each server will vote for at most one candidate in a
  // given term, on a first-come-first-served basis."
  it.each([
    { vote: '', from: '2', reject: false },
    { vote: '', from: '3', reject: false },
    { vote: '2', from: '2', reject: false },
    { vote: '3', from: '3', reject: false },
    { vote: '2', from: '3', reject: true },
    { vote: '3', from: '2', reject: true },
  ])(
    'a follower that voted "$vote" answers a vote from $from with reject=$reject',
    ({ vote, from, reject }) => {
      const r = newTestRaft('1', { voters: three, term: 1, vote });
      r.step(msg(MessageType.MsgVote, from, '1', 1, { logTerm: term(0), index: logIndex(0) }));
      expect(readMessages(r).map((m) => [m.type, m.to, m.term, m.reject])).toEqual([
        [MessageType.MsgVoteResp, from, 1, reject],
      ]);
      expect(r.vote).toBe(vote === '' ? from : vote);
    },
  );

  // Reference: §5.2 first-come-first-served, in sequence: the first candidate
  // of a term gets the vote, a second one is refused, a retry of the first
  // is granted again (a duplicate is harmless).
  it('votes once per term, re-granting only the same candidate', () => {
    const r = newTestRaft('1', { voters: three, term: 1 });
    const ask = (from: string): boolean => {
      r.step(msg(MessageType.MsgVote, from, '1', 2, { logTerm: term(0), index: logIndex(0) }));
      const [resp] = readMessages(r);
      return !resp!.reject;
    };
    expect(ask('2')).toBe(true);
    expect(ask('3')).toBe(false);
    expect(ask('2')).toBe(true);
    expect(r.vote).toBe('2');
    // A follower that already knows this term's leader does not vote in it either.
    const f = newTestRaft('1', { voters: three, term: 1 });
    f.step(msg(MessageType.MsgHeartbeat, '2', '1', 2));
    readMessages(f);
    f.step(msg(MessageType.MsgVote, '3', '1', 2, { logTerm: term(0), index: logIndex(0) }));
    expect(readMessages(f)[0]!.reject).toBe(true);
  });

  // Reference: §5.2 "If the leader's term ... is at least as large as the
  // candidate's current term, then the candidate recognizes the leader as
  // legitimate and returns to follower state."
  it.each([MessageType.MsgApp, MessageType.MsgHeartbeat])(
    'a candidate that receives %s of its term steps down',
    (type) => {
      const r = newTestRaft('1', { voters: three, term: 1 });
      r.step(hup('1'));
      expect(r.state).toBe(StateType.Candidate);
      r.step(msg(type, '2', '1', r.term));
      expect(r.state).toBe(StateType.Follower);
      expect(r.lead).toBe('2');
      expect(r.term).toBe(2);
      // From an older term it is rejected and the candidacy goes on (§5.1).
      const c = newTestRaft('1', { voters: three, term: 3 });
      c.step(hup('1'));
      c.step(msg(type, '2', '1', 3));
      expect(c.state).toBe(StateType.Candidate);
    },
  );

  // Reference: §5.2 "Raft uses randomized election timeouts ... chosen
  // randomly from a fixed interval": tabd draws from [et, 2et).
  it('randomizes the election timeout over [et, 2et) and campaigns exactly then', () => {
    const et = 10;
    const r = newTestRaft('1', { voters: three, config: { electionTicks: et } });
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      r.becomeFollower(r.term, NONE);
      seen.add(r.randomizedElectionTimeout);
    }
    expect(Math.min(...seen)).toBe(et);
    expect(Math.max(...seen)).toBe(2 * et - 1);
    expect(seen.size).toBe(et);

    for (let i = 0; i < 20; i++) {
      r.becomeFollower(r.term, NONE);
      const timeout = r.randomizedElectionTimeout;
      let ticks = 0;
      while (r.state === StateType.Follower) {
        r.tick();
        ticks++;
      }
      expect(ticks).toBe(timeout);
      readMessages(r);
    }
  });

  // Reference: §5.2 "randomized election timeouts ... spread out the servers
  // so that in most cases only a single server will time out": peers with
  // different seeds rarely draw the same timeout.
  it('peers seeded differently rarely time out together', () => {
    const a = newTestRaft('1', { voters: three, seed: 1 });
    const b = newTestRaft('2', { voters: three, seed: 2 });
    let same = 0;
    const rounds = 1000;
    for (let i = 0; i < rounds; i++) {
      a.becomeFollower(a.term, NONE);
      b.becomeFollower(b.term, NONE);
      if (a.randomizedElectionTimeout === b.randomizedElectionTimeout) same++;
    }
    // Expected 1/et = 10%; a broken spread (a constant) would give 100%.
    expect(same / rounds).toBeLessThan(0.2);
  });

  // Reference: §5.2 split votes: when no candidate wins, "each candidate will
  // time out and start a new election"; randomization resolves it.
  it('a split vote is resolved by the next, randomized timeout', () => {
    const net = Network.of(4, { seed: 7 });
    net.cut('1', '2');
    net.cut('3', '4');
    // 1 and 3 campaign at once; 2 votes for 3 and 4 votes for 1: 2 votes each of 4.
    net.send(hup('1'), hup('3'));
    expect([...net.peers.values()].some((p) => p.state === StateType.Leader)).toBe(false);
    net.recover();
    const rng = new SeededRng(3);
    for (
      let t = 0;
      t < 200 && ![...net.peers.values()].some((p) => p.state === StateType.Leader);
      t++
    ) {
      net.tick(String(1 + rng.intn(4)));
    }
    const leaders = [...net.peers.values()].filter((p) => p.state === StateType.Leader);
    expect(leaders).toHaveLength(1);
    expect(leaders[0]!.term).toBeGreaterThan(1);
  });
});

describe('§5.4.1 election restriction', () => {
  // Reference: §5.4.1 "If the logs have last entries with different terms,
  // then the log with the later term is more up-to-date. If the logs end
  // with the same term, then whichever log is longer is more up-to-date."
  // The voter refuses a candidate whose log is less up to date than its own.
  it.each([
    // voter log [1, 1] (last term 1, last index 2)
    { log: [1, 1], lastTerm: 1, lastIndex: 1, reject: true },
    { log: [1, 1], lastTerm: 1, lastIndex: 2, reject: false },
    { log: [1, 1], lastTerm: 1, lastIndex: 3, reject: false },
    { log: [1, 1], lastTerm: 2, lastIndex: 1, reject: false },
    { log: [1, 1], lastTerm: 0, lastIndex: 5, reject: true },
    // voter log [1, 2] (last term 2, last index 2)
    { log: [1, 2], lastTerm: 1, lastIndex: 3, reject: true },
    { log: [1, 2], lastTerm: 2, lastIndex: 1, reject: true },
    { log: [1, 2], lastTerm: 2, lastIndex: 2, reject: false },
    { log: [1, 2], lastTerm: 3, lastIndex: 1, reject: false },
  ])(
    'a voter with log $log answers a candidate at (term $lastTerm, index $lastIndex) with reject=$reject',
    ({ log, lastTerm, lastIndex, reject }) => {
      for (const type of [MessageType.MsgVote, MessageType.MsgPreVote]) {
        const r = newTestRaft('1', {
          voters: three,
          log,
          term: 2,
          config: { preVote: type === MessageType.MsgPreVote },
        });
        r.step(msg(type, '2', '1', 3, { logTerm: term(lastTerm), index: logIndex(lastIndex) }));
        const [resp] = readMessages(r);
        expect(resp!.type).toBe(
          type === MessageType.MsgVote ? MessageType.MsgVoteResp : MessageType.MsgPreVoteResp,
        );
        expect(resp!.reject, type).toBe(reject);
      }
    },
  );

  // Reference: §5.4.1 in a cluster: a peer missing a committed entry cannot
  // be elected; a peer that holds it can.
  it('a peer with a stale log loses the election; an up-to-date one wins', () => {
    const net = Network.of(3, { logs: { '1': [1], '2': [1, 2], '3': [1, 2] }, term: 2 });
    net.campaign('1');
    expect(net.peer('1').state).not.toBe(StateType.Leader);
    expect(net.count(MessageType.MsgVoteResp, (m) => m.to === '1' && m.reject)).toBe(2);
    net.campaign('2');
    expect(net.peer('2').state).toBe(StateType.Leader);
    // The new leader brought 1 up to date.
    expect(net.peer('1').raftLog.lastIndex()).toBe(net.peer('2').raftLog.lastIndex());
  });
});
