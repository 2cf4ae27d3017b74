import { describe, expect, it } from 'vitest';
import { planMembershipChange, type MembershipView } from '../../src/node/membership-policy.js';
import { emptyConfState, nodeId, type ConfState, type NodeId } from '../../src/raft/index.js';

const cfg = { targetVoters: 3, graceTicks: 100, caughtUpEntries: 10 };
const ids = (...xs: string[]) => xs.map(nodeId);
function view(config: Partial<ConfState>, peers: Record<string, { connected?: boolean; lastHeardTicks?: number; match?: number }>): MembershipView {
  const m = new Map<NodeId, { connected: boolean; lastHeardTicks: number; match: number }>();
  for (const [id, p] of Object.entries(peers)) {
    m.set(nodeId(id), { connected: p.connected ?? true, lastHeardTicks: p.lastHeardTicks ?? 0, match: p.match ?? 100 });
  }
  return { config: { ...emptyConfState, ...config }, leaderLastIndex: 100, peers: m, self: nodeId('a') };
}

describe('planMembershipChange', () => {
  it('adds a connected non-member as a learner first', () => {
    expect(planMembershipChange(view({ voters: ids('a') }, { b: {} }), cfg)).toEqual({
      transition: 'auto',
      changes: [{ type: 'add-learner', nodeId: 'b' }],
    });
  });

  it('keeps one voter with one learner (two voters would tolerate nothing) and promotes two at once', () => {
    expect(planMembershipChange(view({ voters: ids('a'), learners: ids('b') }, { b: {} }), cfg)).toBeUndefined();
    expect(planMembershipChange(view({ voters: ids('a'), learners: ids('b', 'c') }, { b: {}, c: {} }), cfg)?.changes).toEqual([
      { type: 'add-node', nodeId: 'b' },
      { type: 'add-node', nodeId: 'c' },
    ]);
  });

  it('does not promote a learner that has not caught up', () => {
    expect(planMembershipChange(view({ voters: ids('a'), learners: ids('b', 'c') }, { b: { match: 10 }, c: {} }), cfg)).toBeUndefined();
  });

  it('replaces a voter gone past the grace period by a caught-up learner in one joint change', () => {
    const v = view({ voters: ids('a', 'b', 'c'), learners: ids('d') }, { b: {}, c: { lastHeardTicks: 100, connected: false }, d: {} });
    expect(planMembershipChange(v, cfg)?.changes).toEqual([
      { type: 'add-node', nodeId: 'd' },
      { type: 'remove-node', nodeId: 'c' },
    ]);
  });

  it('does nothing while joint, and removes learners gone past the grace period', () => {
    expect(planMembershipChange(view({ voters: ids('a', 'b'), votersOutgoing: ids('a', 'c') }, { b: {}, c: {} }), cfg)).toBeUndefined();
    expect(
      planMembershipChange(view({ voters: ids('a', 'b', 'c'), learners: ids('d') }, { b: {}, c: {}, d: { lastHeardTicks: 500, connected: false } }), cfg)
        ?.changes,
    ).toEqual([{ type: 'remove-node', nodeId: 'd' }]);
  });
});
