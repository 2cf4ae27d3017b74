// Applying the fault schedule (faults.ts) to the running world, and the two
// reactive fault patterns: the Figure 8 sequence (which arms crashes on the
// leaders it sees elected) and the partition right after a reconfiguration.
import type { ConfState, NodeId } from '../../src/raft/index.js';
import type { FaultEvent, RunProfile } from './faults.js';
import type { Network } from './network.js';
import type { SimNode } from './sim-node.js';
import type { SimRng } from './sim-rng.js';

/** FaultHost is what fault injection needs from the world. */
export interface FaultHost {
  now(): number;
  readonly rng: SimRng;
  readonly profile: RunProfile;
  readonly net: Network;
  leaderNode(): SimNode | undefined;
  upNodes(): SimNode[];
  /** activeNodes: nodes not stopped (running or crashed), in id order of creation. */
  activeNodes(): SimNode[];
  crash(n: SimNode, why: string, downSteps: number): void;
  note(s: string): void;
  count(k: string): void;
  /** endPartitionAt makes onPartitionEnd(id) run at time t. */
  endPartitionAt(t: number, id: number): void;
}

interface Figure8State {
  stage: 'idle' | 'isolated' | 'armed' | 'healed';
  startedAt: number;
  partition: number;
  oldTerm: number;
  side: ReadonlySet<NodeId>;
  downSteps: number;
  /** returnAt: when the crashed second leader restarts (a new sequence waits for it). */
  returnAt: number;
}

export class FaultInjector {
  private partitionSeq = 0;
  /** fig8: progress of the current Figure 8 sequence. */
  private fig8: Figure8State = {
    stage: 'idle',
    startedAt: 0,
    returnAt: 0,
    partition: 0,
    oldTerm: 0,
    side: new Set(),
    downSteps: 0,
  };

  constructor(private readonly h: FaultHost) {}

  /** apply applies a scheduled fault (during the fault phase). */
  apply(f: FaultEvent): void {
    const h = this.h;
    switch (f.kind) {
      case 'figure8': {
        const lead = h.leaderNode();
        // A sequence that stalled (no leader came) is abandoned after a while.
        if (this.fig8.stage !== 'idle' && h.now() - this.fig8.startedAt < 3000) return;
        if (h.now() < this.fig8.returnAt + 300) return;
        if (!lead) return;
        h.net.partition = undefined;
        this.apply({
          at: f.at,
          kind: 'partition',
          shape: 'leader-minority',
          durationSteps: f.isolateSteps,
        });
        const p = h.net.current();
        if (!p) return;
        this.fig8 = {
          stage: 'isolated',
          startedAt: h.now(),
          partition: p.id,
          oldTerm: lead.rawNode.raft.term,
          side: p.side,
          downSteps: f.downSteps,
          returnAt: 0,
        };
        h.note(`figure 8 starts: leader ${lead.id} (term ${lead.rawNode.raft.term}) cut off`);
        return;
      }
      case 'net':
        h.net.dropRate = f.dropRate;
        h.net.dupRate = f.dupRate;
        h.note(`network drop=${f.dropRate} dup=${f.dupRate}`);
        return;
      case 'crash': {
        const up = h.upNodes();
        if (up.length === 0) return;
        const lead = h.leaderNode();
        const followers = up.filter((n) => n !== lead);
        let victim: SimNode;
        if (f.target === 'leader' && lead) victim = lead;
        else if (f.target === 'follower')
          victim = h.rng.pick(followers.length > 0 ? followers : up);
        else victim = h.rng.pick(up);
        h.crash(victim, `scheduled (${f.target})`, f.downSteps);
        return;
      }
      case 'partition': {
        // A partition of a Figure 8 sequence in progress is part of its timing: leave it.
        if (h.net.current()?.id === this.fig8.partition && this.fig8.stage !== 'idle') return;
        const all = h.activeNodes().map((n) => n.id);
        if (all.length < 2) return;
        const lead = h.leaderNode()?.id;
        let side: NodeId[];
        switch (f.shape) {
          case 'split':
            side = h.rng.shuffled(all).slice(0, h.rng.between(1, all.length - 1));
            break;
          case 'isolate':
            side = [h.rng.pick(all)];
            break;
          case 'isolate-leader':
            side = [lead ?? h.rng.pick(all)];
            break;
          case 'leader-minority': {
            const l = lead ?? h.rng.pick(all);
            const others = h.rng.shuffled(all.filter((x) => x !== l));
            side = [l, ...others.slice(0, Math.max(0, Math.floor((all.length - 1) / 2) - 1))];
            break;
          }
        }
        const rest = all.filter((x) => !side.includes(x));
        const what = this.split(side, rest, f.durationSteps);
        h.note(`partition (${f.shape}) ${what} for ${f.durationSteps} steps`);
        return;
      }
    }
  }

  /** onPartitionEnd heals partition id if it is still in force. */
  onPartitionEnd(id: number): void {
    const h = this.h;
    const p = h.net.current();
    if (p?.id === id) {
      h.note(`partition healed: ${p.what}`);
      h.net.partition = undefined;
    }
    if (this.fig8.partition === id) {
      // Without a second leader crashed meanwhile, the sequence is abandoned.
      if (this.fig8.stage === 'armed') this.fig8.stage = 'healed';
      else if (this.fig8.stage === 'isolated') this.fig8.stage = 'idle';
    }
  }

  /** onNewLeader arms the crashes of a Figure 8 sequence in progress (fault phase only). */
  onNewLeader(n: SimNode, term: number): void {
    const h = this.h;
    const f8 = this.fig8;
    if (f8.stage === 'isolated' && term > f8.oldTerm && !f8.side.has(n.id)) {
      // It stays down past the heal, and comes back after the next leader crashed too.
      n.armedCrash = {
        when: 'after-entries-write',
        downSteps: f8.downSteps,
        why: 'figure 8: new leader, after writing its first entries',
      };
      f8.stage = 'armed';
      f8.returnAt = h.now() + f8.downSteps;
    } else if (f8.stage === 'healed') {
      const down = Math.max(
        h.rng.between(100, 400),
        f8.returnAt - h.now() + h.rng.between(200, 500),
      );
      n.armedCrash = {
        when: 'after-commit',
        downSteps: down,
        why: 'figure 8: next leader, right after durably advancing its commit index',
      };
      f8.stage = 'idle';
    }
  }

  /**
   * afterConfChange: right after the leader applied a change that added
   * voters, maybe split it and the added voters from everyone else, before
   * the others hear that the change committed. With joint consensus neither
   * side can then decide alone what the other side cannot see (fault phase only).
   */
  afterConfChange(n: SimNode, before: ConfState, after: ConfState): void {
    const h = this.h;
    if (h.profile.reconfigPartitionRate === 0) return;
    const added = after.voters.filter((id) => !before.voters.includes(id));
    if (added.length === 0 || !h.rng.chance(h.profile.reconfigPartitionRate)) return;
    const side = [n.id, ...added];
    const rest = h
      .activeNodes()
      .filter((x) => !side.includes(x.id))
      .map((x) => x.id);
    if (rest.length === 0) return;
    const d = h.rng.between(200, 800);
    const what = this.split(side, rest, d);
    h.note(
      `partition (right after leader ${n.id} applied a change adding ${added.join(',')}) ${what} for ${d} steps`,
    );
  }

  /** split cuts side off from rest for durationSteps; returns its description. */
  private split(side: readonly NodeId[], rest: readonly NodeId[], durationSteps: number): string {
    const h = this.h;
    const id = ++this.partitionSeq;
    const what = `{${[...side].sort().join(',')}} | {${rest.join(',')}}`;
    h.net.partition = { id, side: new Set(side), what };
    h.count('partitions');
    h.endPartitionAt(h.now() + durationSteps, id);
    return what;
  }
}
