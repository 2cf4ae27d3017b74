// One simulated member: its durable storage (survives crashes), and the
// volatile parts a crash loses (the RawNode with its unstable log, the Ready
// being written, the application state).
import {
  MemoryStorage,
  logIndex,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type RawNode,
  type Ready,
} from '../../src/raft/index.js';
import type { StateMachine } from './app.js';
import type { LogView } from './checker.js';

export const NodeStatus = {
  Up: 'up',
  /** Down: crashed; restarts later from its storage. */
  Down: 'down',
  /** Stopped: removed from the cluster (or never added); never restarts. */
  Stopped: 'stopped',
} as const;
export type NodeStatus = (typeof NodeStatus)[keyof typeof NodeStatus];

/** InflightReady is a Ready taken with ready() whose write has not completed. */
export interface InflightReady {
  readonly rd: Ready;
  /** late: messages held until the write completes (all but a leader's early sends). */
  readonly late: readonly Message[];
  readonly seq: number;
  /** written: the write landed (a crash now loses only what comes after it). */
  written?: boolean;
}

export class SimNode {
  /** storage is the node's disk: it survives crashes. */
  readonly storage = new MemoryStorage();
  raw: RawNode | undefined;
  status: NodeStatus = NodeStatus.Up;
  /** incarnation grows at every crash, restart and stop; stale events carry an older one. */
  incarnation = 0;
  inflight: InflightReady | undefined;
  readySeq = 0;
  /** applied: the last index applied to sm (volatile). */
  applied = 0;
  /** confState: the configuration as of `applied` (volatile, rebuilt like sm). */
  confState: ConfState | undefined;
  /** ledTerm: the last term in which this incarnation was seen leading. */
  ledTerm = 0;
  /** everMember: appeared in an applied configuration (founders from the start). */
  everMember: boolean;
  /** removedAt: index of the configuration that removed this node. */
  removedAt: number | undefined;
  /**
   * armedCrash: a crash this incarnation will suffer after its next write of
   * entries, or after its next durable commit advance (both before sending).
   */
  armedCrash:
    | {
        readonly when: 'after-entries-write' | 'after-commit';
        readonly downSteps: number;
        readonly why: string;
      }
    | undefined;
  /** snapshotsCreated counts snapshots this node created. */
  snapshotsCreated = 0;

  constructor(
    readonly id: NodeId,
    public sm: StateMachine,
    founder: boolean,
  ) {
    this.everMember = founder;
  }

  get up(): boolean {
    return this.status === NodeStatus.Up;
  }

  /** rawNode is the RawNode of a running node; calling it on a node that is not up is a simulator bug. */
  get rawNode(): RawNode {
    if (!this.raw) throw new Error(`node ${this.id} is not running`);
    return this.raw;
  }

  /** logView is the node's log as the checkers see it: stable plus unstable while up, stable only when down. */
  logView(): LogView {
    const raw = this.raw;
    if (raw) {
      const log = raw.raft.raftLog;
      return {
        node: this.id,
        first: log.firstIndex(),
        last: log.lastIndex(),
        termAt: (i) => log.termOrUndefined(logIndex(i)),
        entries: () => log.allEntries(),
      };
    }
    const s = this.storage;
    return {
      node: this.id,
      first: s.firstIndex(),
      last: s.lastIndex(),
      termAt: (i) => {
        try {
          return s.term(logIndex(i));
        } catch {
          return undefined;
        }
      },
      entries: (): Entry[] =>
        s.lastIndex() >= s.firstIndex()
          ? s.entries(s.firstIndex(), logIndex(s.lastIndex() + 1), Number.MAX_SAFE_INTEGER)
          : [],
    };
  }
}
