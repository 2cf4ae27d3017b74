import { describe, expect, it } from 'vitest';
import { Cluster, dec, enc } from './harness.js';

describe('raft smoke', () => {
  it('elects a leader and replicates a proposal to all three nodes', () => {
    const c = Cluster.bootstrapped(['1', '2', '3']);
    c.campaign('1');
    c.stabilize();
    expect(c.node('1').rawNode.raft.state).toBe('leader');
    expect(c.node('1').rawNode.propose(enc('hello'))).toBeUndefined();
    c.stabilize();
    for (const id of ['1', '2', '3']) {
      expect(c.node(id).applied.map((e) => dec(e.data))).toEqual(['hello']);
    }
  });

  it('serves ReadIndex on a follower after a heartbeat round', () => {
    const c = Cluster.bootstrapped(['1', '2', '3']);
    c.campaign('1');
    c.stabilize();
    const f = c.node('2');
    expect(f.rawNode.readIndex('r1')).toBeUndefined();
    c.stabilize();
    expect(f.readStates).toEqual([{ index: c.node('1').rawNode.raft.raftLog.committed, requestCtx: 'r1' }]);
  });
});
