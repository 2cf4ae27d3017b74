// TestCluster extends the shared harness (harness.ts, whose API stays as it
// is) with what the paper tests need at the RawNode level: filters that drop
// messages, messages held back and released later, a log of deliveries, and
// seeded reordering.
import {
  ConfChangeType,
  nodeId,
  SeededRng,
  type Message,
  type MessageType,
} from '../../src/raft/index.js';
import { Cluster, type HarnessConfig, type HarnessNode } from './harness.js';

export type MessageFilter = (m: Message) => boolean;

export class TestCluster extends Cluster {
  /** delivered: every message handed to a node, in order. */
  readonly delivered: Message[] = [];
  /** held: messages set aside by `hold` filters, in send order, until release(). */
  held: Message[] = [];
  private drops: MessageFilter[] = [];
  private holds: MessageFilter[] = [];

  static create(
    ids: readonly string[],
    opts: { seed?: number; config?: HarnessConfig } = {},
  ): TestCluster {
    const c = new TestCluster(opts);
    const voters = ids.map(nodeId);
    for (const id of voters) c.addNode(id).rawNode.bootstrap(voters);
    c.processAll();
    return c;
  }

  /** elect makes id campaign and lets the election (and the first replication round) finish. */
  elect(id: string): HarnessNode {
    this.campaign(id);
    this.stabilize();
    const n = this.node(id);
    if (n.rawNode.raft.state !== 'leader') throw new Error(`${id} did not win the election`);
    return n;
  }

  /**
   * addMember starts a peer with empty storage and has the leader propose it
   * as a voter or learner; the leader's log (conf changes included) brings it
   * up to date.
   */
  addMember(leaderId: string, id: string, type: 'voter' | 'learner'): HarnessNode {
    const leader = this.node(leaderId);
    const n = this.addNode(nodeId(id));
    const err = leader.rawNode.proposeConfChange({
      transition: 'auto',
      changes: [
        {
          type: type === 'voter' ? ConfChangeType.AddNode : ConfChangeType.AddLearnerNode,
          nodeId: nodeId(id),
        },
      ],
      context: '',
    });
    if (err) throw err;
    this.stabilize();
    return n;
  }

  drop(f: MessageFilter): void {
    this.drops.push(f);
  }

  hold(f: MessageFilter): void {
    this.holds.push(f);
  }

  isolate(id: string): void {
    this.drop((m) => m.from === id || m.to === id);
  }

  /** heal removes every drop and hold filter (held messages stay held until release()). */
  heal(): void {
    this.drops = [];
    this.holds = [];
  }

  /** release puts held messages back in the queue, in their original order. */
  release(f: MessageFilter = () => true): void {
    const back = this.held.filter(f);
    this.held = this.held.filter((m) => !f(m));
    this.queue.push(...back);
  }

  override deliver(m: Message): void {
    if (this.drops.some((f) => f(m))) return;
    if (this.holds.some((f) => f(m))) {
      this.held.push(m);
      return;
    }
    this.delivered.push(m);
    super.deliver(m);
  }

  /** deliverShuffled delivers until quiet, each round in a seeded random order. */
  stabilizeShuffled(rng: SeededRng, maxRounds = 10_000): void {
    for (let i = 0; i < maxRounds; i++) {
      this.processAll();
      if (this.queue.length === 0) return;
      const msgs = this.queue;
      this.queue = [];
      for (let j = msgs.length - 1; j > 0; j--) {
        const k = rng.intn(j + 1);
        [msgs[j], msgs[k]] = [msgs[k]!, msgs[j]!];
      }
      for (const m of msgs) this.deliver(m);
    }
    throw new Error('cluster did not stabilize');
  }

  /** queued lists queued messages of a type (not yet delivered). */
  queued(type: MessageType, from?: string): Message[] {
    return this.queue.filter((m) => m.type === type && (from === undefined || m.from === from));
  }

  count(type: MessageType, pred: MessageFilter = () => true): number {
    return this.delivered.filter((m) => m.type === type && pred(m)).length;
  }
}
