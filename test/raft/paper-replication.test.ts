// Paper tests for log replication and safety: Raft §5.3, §5.4.2 (Figure 8),
// and the client interaction of §5.5/§8. Bare Raft peers where a rule is
// about one message exchange; RawNode clusters (test-cluster.ts) where it is
// about the application loop (apply order, duplicates).
import { describe, expect, it } from 'vitest';
import {
  EntryType,
  MessageType,
  NONE,
  Raft,
  SeededRng,
  StateType,
  logIndex,
  term,
  type Message,
  type Term,
} from '../../src/raft/index.js';
import { dec, enc } from './harness.js';
import { Network, entry, msg, newTestRaft, prop, readMessages, termsOf } from './raft-net.js';
import { TestCluster } from './test-cluster.js';

const three = ['1', '2', '3'];
const five = ['1', '2', '3', '4', '5'];

/** becomeLeader makes r leader the way winning an election does (which also sends the first MsgApps). */
function becomeLeader(r: Raft): void {
  r.becomeCandidate();
  r.becomeLeader();
  r.bcastAppend();
}

/** ackAll answers every MsgApp r sent with a successful MsgAppResp (a follower that stored it). */
function ackAll(r: Raft, from?: (m: Message) => boolean): void {
  for (const m of readMessages(r)) {
    if (m.type !== MessageType.MsgApp || (from && !from(m))) continue;
    r.step(
      msg(MessageType.MsgAppResp, m.to, m.from, m.term, {
        index: logIndex(m.index + m.entries.length),
      }),
    );
  }
}

/** leaderWithCommittedNoop is a leader of `voters` whose election entry is committed, its outbox empty. */
function leaderWithCommittedNoop(voters: readonly string[], log: number[] = []): Raft {
  const r = newTestRaft('1', { voters, log, term: log.length > 0 ? Math.max(...log) : 0 });
  becomeLeader(r);
  ackAll(r);
  readMessages(r);
  expect(r.raftLog.committed).toBe(r.raftLog.lastIndex());
  return r;
}

describe('§5.3 log replication', () => {
  // Reference: §5.3 "The leader appends the command to its log as a new
  // entry, then issues AppendEntries RPCs in parallel to each of the other
  // servers to replicate the entry."
  it('a leader appends a proposal with its term and sends it to every follower', () => {
    const r = leaderWithCommittedNoop(three);
    const li = r.raftLog.lastIndex();
    r.step(prop('1', 'some data'));
    expect(r.raftLog.lastIndex()).toBe(li + 1);
    const appended = r.raftLog.unstableEntries().at(-1)!;
    expect([appended.index, appended.term, dec(appended.data)]).toEqual([
      li + 1,
      r.term,
      'some data',
    ]);
    const out = readMessages(r);
    expect(
      out.map((m) => [
        m.type,
        m.to,
        m.term,
        m.index,
        m.logTerm,
        m.commit,
        m.entries.map((e) => e.index),
      ]),
    ).toEqual(['2', '3'].map((to) => [MessageType.MsgApp, to, r.term, li, r.term, li, [li + 1]]));
  });

  // Reference: §5.3 "A log entry is committed once the leader that created
  // the entry has replicated it on a majority of the servers."
  it.each([
    { size: 1, acks: [], committed: true },
    { size: 3, acks: [], committed: false },
    { size: 3, acks: ['2'], committed: true },
    { size: 3, acks: ['2', '3'], committed: true },
    { size: 5, acks: [], committed: false },
    { size: 5, acks: ['2'], committed: false },
    { size: 5, acks: ['2', '3'], committed: true },
    { size: 5, acks: ['2', '3', '4', '5'], committed: true },
  ])(
    'in a $size-voter cluster, acks from $acks commit the entry: $committed',
    ({ size, acks, committed }) => {
      const r = leaderWithCommittedNoop(five.slice(0, size));
      const li = r.raftLog.lastIndex();
      r.step(prop('1'));
      ackAll(r, (m) => acks.includes(m.to));
      expect(r.raftLog.committed).toBe(committed ? li + 1 : li);
    },
  );

  // Reference: §5.3 "The leader keeps track of the highest index it knows to
  // be committed, and it includes that index in future AppendEntries RPCs
  // (including heartbeats) so that the other servers eventually find out."
  it('the commit index reaches followers through the next MsgApp and through heartbeats', () => {
    const r = leaderWithCommittedNoop(three);
    const li = r.raftLog.lastIndex();
    r.step(prop('1'));
    readMessages(r);
    r.step(msg(MessageType.MsgAppResp, '2', '1', r.term, { index: logIndex(li + 1) }));
    // The commit moved: the leader tells everyone at once.
    const after = readMessages(r).filter((m) => m.type === MessageType.MsgApp);
    expect(after.map((m) => [m.to, m.commit])).toEqual([
      ['2', li + 1],
      ['3', li + 1],
    ]);
    // A heartbeat carries min(commit, what the follower is known to hold).
    r.tick();
    const hbs = readMessages(r).filter((m) => m.type === MessageType.MsgHeartbeat);
    expect(hbs.map((m) => [m.to, m.commit])).toEqual([
      ['2', li + 1],
      ['3', li],
    ]);
  });

  // Reference: §5.3 "Once a follower learns that a log entry is committed,
  // it applies the entry to its local state machine": the follower's commit
  // index follows the leader's, never past what it has.
  it.each([
    { commit: 1, want: 1 },
    { commit: 2, want: 2 },
    { commit: 5, want: 2 },
  ])('a follower given MsgApp with commit $commit commits $want', ({ commit, want }) => {
    const r = newTestRaft('2', { voters: three, term: 1 });
    r.step(
      msg(MessageType.MsgApp, '1', '2', 1, {
        logTerm: term(0),
        index: logIndex(0),
        commit: logIndex(commit),
        entries: [entry(1, 1, enc('a')), entry(2, 1, enc('b'))],
      }),
    );
    expect(r.raftLog.committed).toBe(want);
    expect(r.raftLog.nextEnts().map((e) => dec(e.data))).toEqual(['a', 'b'].slice(0, want));
    // A heartbeat moves it the same way.
    const f = newTestRaft('2', { voters: three, term: 1, log: [1, 1, 1] });
    f.step(msg(MessageType.MsgHeartbeat, '1', '2', 1, { commit: logIndex(Math.min(commit, 3)) }));
    expect(f.raftLog.committed).toBe(Math.min(commit, 3));
  });

  // Reference: §5.3 consistency check: "If the follower does not find an
  // entry in its log with the same index and term, then it refuses the new
  // entries." A rejection carries a hint: the follower's largest index at or
  // below the probe whose term is at most the probe's term.
  it.each([
    { logTerm: 0, index: 0, reject: false, respIndex: 1, hint: [0, 0] }, // below commit: known to match
    { logTerm: 1, index: 1, reject: false, respIndex: 1, hint: [0, 0] },
    { logTerm: 2, index: 2, reject: false, respIndex: 2, hint: [0, 0] },
    { logTerm: 3, index: 2, reject: true, respIndex: 2, hint: [2, 2] }, // term mismatch
    { logTerm: 3, index: 3, reject: true, respIndex: 3, hint: [2, 2] }, // entry missing
  ])(
    'a follower with log [1, 2] checks MsgApp (term $logTerm, index $index): reject=$reject',
    (c) => {
      const r = newTestRaft('2', { voters: three, term: 3, log: [1, 2], commit: 1 });
      r.step(
        msg(MessageType.MsgApp, '1', '2', 3, {
          logTerm: term(c.logTerm),
          index: logIndex(c.index),
          commit: logIndex(1),
        }),
      );
      const [resp] = readMessages(r);
      expect([resp!.type, resp!.reject, resp!.index]).toEqual([
        MessageType.MsgAppResp,
        c.reject,
        c.respIndex,
      ]);
      if (c.reject) expect([resp!.rejectHint, resp!.logTerm]).toEqual(c.hint);
      expect(termsOf(r)).toEqual([1, 2]);
    },
  );

  // Reference: §5.3 "If an existing entry conflicts with a new one (same
  // index but different terms), delete the existing entry and all that
  // follow it"; entries the follower already has are not touched.
  it.each([
    { index: 2, logTerm: 2, ents: [[3, 3]], want: [1, 2, 3] },
    {
      index: 1,
      logTerm: 1,
      ents: [
        [2, 3],
        [3, 4],
      ],
      want: [1, 3, 4],
    },
    { index: 0, logTerm: 0, ents: [[1, 1]], want: [1, 2] },
    { index: 0, logTerm: 0, ents: [[1, 3]], want: [3] },
    { index: 1, logTerm: 1, ents: [[2, 2]], want: [1, 2] },
  ])(
    'MsgApp after ($index, $logTerm) with $ents leaves log $want',
    ({ index, logTerm, ents, want }) => {
      const r = newTestRaft('2', { voters: three, term: 4, log: [1, 2] });
      r.step(
        msg(MessageType.MsgApp, '1', '2', 4, {
          logTerm: term(logTerm),
          index: logIndex(index),
          entries: ents.map(([i, t]) => entry(i!, t!)),
        }),
      );
      expect(termsOf(r)).toEqual(want);
      expect(readMessages(r)[0]!.reject).toBe(false);
    },
  );

  // Reference: §5.3 Figure 7: whatever a follower's log looks like (missing,
  // extra or conflicting entries), the new leader makes it identical to its
  // own. The follower's rejection hints let the leader skip a whole term per
  // probe: the number of rejections is bounded by the number of terms in
  // which the logs differ, not by the number of differing entries.
  const figure7Leader = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  it.each([
    { name: 'a', log: [1, 1, 1, 4, 4, 5, 5, 6, 6] },
    { name: 'b', log: [1, 1, 1, 4] },
    { name: 'c', log: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6] },
    { name: 'd', log: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7] },
    { name: 'e', log: [1, 1, 1, 4, 4, 4, 4] },
    { name: 'f', log: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3] },
  ])('Figure 7 ($name): the leader brings the follower log into line', ({ log }) => {
    const net = Network.of(3, {
      logs: { '1': figure7Leader, '2': log, '3': figure7Leader },
      term: 7,
    });
    net.campaign('1');
    const leader = net.peer('1');
    expect(leader.state).toBe(StateType.Leader);
    expect(termsOf(net.peer('2'))).toEqual(termsOf(leader));
    expect(termsOf(leader)).toEqual([...figure7Leader, 8]);
    const rejections = net.count(MessageType.MsgAppResp, (m) => m.from === '2' && m.reject);
    const differingTerms = new Set(
      log
        .filter((t, i) => figure7Leader[i] !== t)
        .concat(log.length < figure7Leader.length ? [0] : []),
    );
    expect(rejections).toBeLessThanOrEqual(Math.max(1, differingTerms.size));
  });

  // Reference: §5.3 (the optimisation at the end of the section, thesis
  // §5.3.1 / etcd fast backtracking): 100 conflicting entries in two terms
  // cost at most two rejected probes; without the hints it would be ~100.
  it('fast backtracking: probes are bounded by differing terms, not entries', () => {
    const leaderLog = [1, 1, 1, ...Array<number>(100).fill(5)];
    const followerLog = [1, 1, 1, ...Array<number>(50).fill(2), ...Array<number>(70).fill(3)];
    const net = Network.of(3, {
      logs: { '1': leaderLog, '2': followerLog, '3': leaderLog },
      term: 5,
    });
    net.campaign('1');
    expect(termsOf(net.peer('2'))).toEqual([...leaderLog, 6]);
    const rejections = net.count(MessageType.MsgAppResp, (m) => m.from === '2' && m.reject);
    expect(rejections).toBeGreaterThan(0);
    expect(rejections).toBeLessThanOrEqual(2);
    // A follower far behind (one old entry) costs one probe as well.
    const net2 = Network.of(3, { logs: { '1': leaderLog, '2': [1], '3': leaderLog }, term: 5 });
    net2.campaign('1');
    expect(net2.count(MessageType.MsgAppResp, (m) => m.from === '2' && m.reject)).toBe(1);
    expect(termsOf(net2.peer('2'))).toEqual([...leaderLog, 6]);
  });

  // Reference: §5.3 "the leader ... applies the entry to its state machine"
  // and followers apply committed entries "in log order". Messages are
  // delivered in a seeded random order; every node applies the same
  // sequence, in index order, without gaps or repeats.
  it('followers apply committed entries in log order despite reordered messages', () => {
    const c = TestCluster.create(three, { seed: 11 });
    c.elect('1');
    const rng = new SeededRng(99);
    const want: string[] = [];
    for (let i = 0; i < 60; i++) {
      const v = `v${i}`;
      want.push(v);
      expect(c.node('1').rawNode.propose(enc(v))).toBeUndefined();
      c.process(c.node('1'));
      if (i % 4 === 3) c.stabilizeShuffled(rng);
    }
    c.stabilizeShuffled(rng);
    c.tick('1', 3);
    c.stabilize();
    for (const id of three) {
      const n = c.node(id);
      expect(
        n.applied.map((e) => dec(e.data)),
        id,
      ).toEqual(want);
      const idx = n.applied.map((e) => e.index);
      expect(idx, id).toEqual([...idx].sort((a, b) => a - b));
    }
  });
});

/** CountingReplicasRaft is a mutant that commits any entry a majority holds, whatever its term. */
class CountingReplicasRaft extends Raft {
  protected override commitTermGuard(): Term {
    return this.raftLog.term(this.trk.committed());
  }
}

/**
 * figure8 replays Raft Figure 8 on five peers (terms shifted down by one):
 * (a) term 1: S1 leads and stores (index 1, term 1) on S1 and S2 only;
 * (b) term 2: S1 is down; S5 wins with S3, S4 and appends (1, 2) locally;
 * (c) term 3: S5 is down; S1 wins and copies (1, 1) to S3: a majority
 *     (S1, S2, S3) now stores it, while S1's own term-3 entry is on S1 only.
 * Returns the network at (c). `make` injects a mutant Raft.
 */
function figure8(make?: (cfg: ConstructorParameters<typeof Raft>[0]) => Raft): Network {
  const net = Network.of(5, make ? { make } : {});
  const [s1, s5] = [net.peer('1'), net.peer('5')];
  // (a)
  net.drop((m) => m.type === MessageType.MsgApp && m.from === '1' && m.to !== '2');
  net.campaign('1');
  expect(s1.state).toBe(StateType.Leader);
  expect(termsOf(net.peer('2'))).toEqual([1]);
  expect(s1.raftLog.committed).toBe(0);
  // (b)
  net.recover();
  net.isolate('1');
  net.drop((m) => m.type === MessageType.MsgApp && m.from === '5');
  net.campaign('5');
  expect([s5.state, s5.term]).toEqual([StateType.Leader, 2]);
  expect(termsOf(s5)).toEqual([2]);
  // (c) S1 restarts as a follower (it keeps its term and log) and wins at term 3.
  net.recover();
  net.isolate('5');
  s1.becomeFollower(s1.term, NONE);
  // S1's term-3 entry reaches nobody: MsgApps to S2 and S3 are cut after index 1.
  net.drop((m) => m.type === MessageType.MsgApp && m.from === '1' && m.to === '4');
  net.rewrite((m) =>
    m.type === MessageType.MsgApp && m.from === '1'
      ? { ...m, entries: m.entries.filter((e) => e.index <= 1) }
      : m,
  );
  net.campaign('1'); // term 2: S3 and S4 already voted for S5
  net.campaign('1'); // term 3
  expect([s1.state, s1.term]).toEqual([StateType.Leader, 3]);
  for (const id of ['1', '2', '3']) expect(net.peer(id).raftLog.term(logIndex(1)), id).toBe(1);
  return net;
}

describe('§5.4.2 committing entries from previous terms', () => {
  // Reference: §5.4.2 "Raft never commits log entries from previous terms by
  // counting replicas. Only log entries from the leader's current term are
  // committed by counting replicas" (Figure 8 (c)).
  it('Figure 8 (c): a majority holds an old-term entry, the leader does not commit it', () => {
    const net = figure8();
    const s1 = net.peer('1');
    expect(s1.trk.committed()).toBe(1); // a quorum has index 1 ...
    expect(s1.raftLog.committed).toBe(0); // ... but it is from term 1, not 3
  });

  // Reference: §5.4.2 Figure 8 (d): why that rule exists. S5 can still be
  // elected and overwrite (1, 1) on the majority that stored it; this is safe
  // only because (1, 1) was never committed.
  it('Figure 8 (d): S5 is elected and replaces the old-term entry everywhere', () => {
    const net = figure8();
    net.recover();
    net.isolate('1');
    const s5 = net.peer('5');
    s5.becomeFollower(s5.term, NONE);
    net.campaign('5'); // term 3: everyone voted for S1
    net.campaign('5'); // term 4
    expect([s5.state, s5.term]).toEqual([StateType.Leader, 4]);
    for (const id of ['2', '3', '4', '5']) expect(termsOf(net.peer(id)), id).toEqual([2, 4]);
    expect(s5.raftLog.committed).toBe(2);
  });

  // Reference: §5.4.2 Figure 8 (e): "once an entry from the current term has
  // been committed ..., all prior entries are committed indirectly because
  // of the Log Matching Property."
  it('Figure 8 (e): committing an entry of the current term commits the old one indirectly', () => {
    const net = figure8();
    net.recover();
    net.isolate('5');
    net.tick('1'); // heartbeat; the responses resume replication of (2, 3)
    const s1 = net.peer('1');
    expect(termsOf(s1)).toEqual([1, 3]);
    expect(s1.raftLog.committed).toBe(2);
    for (const id of ['2', '3']) {
      expect(termsOf(net.peer(id)), id).toEqual([1, 3]);
      expect(net.peer(id).raftLog.committed, id).toBe(2);
    }
  });

  // Reference: §5.4.2 and §5.4.3 (Leader Completeness). The Figure 8 test
  // above can fail: a mutant that commits by counting
  // replicas commits (1, 1) in (c), and S5, whose log lacks it, can still win
  // the next election: Leader Completeness (§5.4.3) is broken.
  it('a mutant counting old-term replicas breaks Leader Completeness in the same scenario', () => {
    const net = figure8((cfg) => new CountingReplicasRaft(cfg));
    const s1 = net.peer('1');
    expect(s1.raftLog.committed).toBe(1);
    net.recover();
    net.isolate('1');
    net.drop((m) => m.type === MessageType.MsgApp); // stop before S5 tries to overwrite committed entries
    const s5 = net.peer('5');
    s5.becomeFollower(s5.term, NONE);
    net.campaign('5');
    net.campaign('5');
    expect(s5.state).toBe(StateType.Leader);
    expect(s5.raftLog.term(logIndex(1))).not.toBe(s1.raftLog.term(logIndex(1)));
  });
});

describe('§5.5 / §8 clients, retries and duplicates', () => {
  // Reference: §8 "If a client contacts a follower, the follower ... " (tabd,
  // like etcd, forwards the proposal to the leader rather than rejecting it).
  it('a follower forwards a proposal to the leader, which appends and replicates it', () => {
    const net = Network.of(3);
    net.campaign('1');
    net.propose('2', 'from a follower');
    const fwd = net.delivered.find((m) => m.type === MessageType.MsgProp && m.to === '1')!;
    expect([fwd.from, fwd.term]).toEqual(['2', 0]);
    for (const id of three) {
      const last = net.peer(id).raftLog.allEntries().at(-1)!;
      expect(dec(last.data), id).toBe('from a follower');
      expect(net.peer(id).raftLog.committed, id).toBe(last.index);
    }
  });

  // Reference: §5.5 "Raft RPCs are idempotent ... if a follower receives an
  // AppendEntries request that includes log entries already present in its
  // log, it ignores those entries in the new request."
  it('duplicate MsgApp, MsgAppResp and MsgVoteResp are harmless', () => {
    const f = newTestRaft('2', { voters: three, term: 1 });
    const app = msg(MessageType.MsgApp, '1', '2', 1, {
      logTerm: term(0),
      index: logIndex(0),
      commit: logIndex(1),
      entries: [entry(1, 1, enc('a')), entry(2, 1, enc('b'))],
    });
    f.step(app);
    expect(readMessages(f).map((m) => [m.type, m.reject, m.index])).toEqual([
      [MessageType.MsgAppResp, false, 2],
    ]);
    f.step(app);
    // The copy is below the commit index now: acknowledged as matching, nothing rewritten.
    expect(readMessages(f).map((m) => [m.type, m.reject, m.index])).toEqual([
      [MessageType.MsgAppResp, false, 1],
    ]);
    expect(termsOf(f)).toEqual([1, 1]);
    expect(f.raftLog.committed).toBe(1);

    const l = leaderWithCommittedNoop(three);
    l.step(prop('1'));
    readMessages(l);
    const resp = msg(MessageType.MsgAppResp, '2', '1', l.term, { index: l.raftLog.lastIndex() });
    l.step(resp);
    const committed = l.raftLog.committed;
    readMessages(l);
    l.step(resp);
    expect(l.raftLog.committed).toBe(committed);
    expect(readMessages(l)).toEqual([]);

    // A candidate counts a repeated grant once.
    const c = newTestRaft('1', { voters: five });
    c.becomeCandidate();
    for (let i = 0; i < 3; i++) c.step(msg(MessageType.MsgVoteResp, '2', '1', c.term));
    expect(c.state).toBe(StateType.Candidate);
  });

  // Reference: §5.5 at cluster scale: every peer message is delivered twice,
  // the copy late (after later messages). Forwarded proposals are left alone:
  // a duplicated client request is appended twice by design, and §8's
  // client serial numbers, not Raft, deduplicate it.
  it('a cluster where every message arrives twice applies each proposal once', () => {
    const c = new (class extends TestCluster {
      private readonly copies = new WeakSet<Message>();
      override deliver(m: Message): void {
        super.deliver(m);
        if (m.type !== MessageType.MsgProp && !this.copies.has(m)) {
          this.copies.add(m);
          this.queue.push(m);
        }
      }
    })({ seed: 5 });
    for (const id of three) c.addNode(id as never).rawNode.bootstrap(three as never);
    c.processAll();
    c.campaign('1');
    c.stabilize();
    const want = Array.from({ length: 20 }, (_, i) => `p${i}`);
    want.forEach((v, i) => {
      expect(c.node(i % 2 === 0 ? '1' : '3').rawNode.propose(enc(v))).toBeUndefined();
      if (i % 3 === 0) c.stabilize();
    });
    c.stabilize();
    c.tick('1', 2);
    c.stabilize();
    const leaderOrder = c.node('1').applied.map((e) => dec(e.data));
    expect([...leaderOrder].sort()).toEqual([...want].sort());
    for (const id of three)
      expect(
        c.node(id).applied.map((e) => dec(e.data)),
        id,
      ).toEqual(leaderOrder);
  });

  // Reference: §8 "each leader commit a blank no-op entry into the log at
  // the start of its term" (also §5.4.2: it commits earlier-term entries).
  it('a new leader appends an empty entry of its term, and committing it commits older entries', () => {
    const r = newTestRaft('1', { voters: three, log: [1, 1, 2], term: 2 });
    becomeLeader(r);
    const last = r.raftLog.allEntries().at(-1)!;
    expect([last.index, last.term, last.type, last.data.length]).toEqual([
      4,
      3,
      EntryType.Normal,
      0,
    ]);
    expect(r.raftLog.committed).toBe(0);
    const out = readMessages(r);
    expect(out.every((m) => m.type === MessageType.MsgApp && m.entries.at(-1)!.index === 4)).toBe(
      true,
    );
    r.step(msg(MessageType.MsgAppResp, '2', '1', r.term, { index: logIndex(4) }));
    expect(r.raftLog.committed).toBe(4);
  });
});
