import { ConfigError } from './errors.js';
import type { Rng } from './rng.js';
import type { Storage } from './storage.js';
import { NONE, type LogIndex, type NodeId } from './types.js';

/** RaftConfig configures one peer. Every limit carries its unit in its name. */
export interface RaftConfig {
  /** id of this peer; must not be empty. */
  readonly id: NodeId;
  /** electionTicks: a follower that hears no leader for this many ticks campaigns (randomized to [et, 2et)). */
  readonly electionTicks: number;
  /** heartbeatTicks: a leader sends heartbeats every this many ticks. Must be < electionTicks. */
  readonly heartbeatTicks: number;
  /** storage holds the stable log, hard state and snapshot. */
  readonly storage: Storage;
  /** applied: the last index the application already applied (on restart). */
  readonly applied?: LogIndex;
  /** maxSizePerMsgBytes caps the entry bytes in one MsgApp (at least one entry is always sent). */
  readonly maxSizePerMsgBytes?: number;
  /** maxCommittedSizePerReadyBytes caps committed entry bytes handed out in one Ready. */
  readonly maxCommittedSizePerReadyBytes?: number;
  /** maxUncommittedEntriesSizeBytes caps the leader's uncommitted tail; 0 means no limit. */
  readonly maxUncommittedEntriesSizeBytes?: number;
  /** maxInflightMsgs caps unacknowledged MsgApp per follower in the replicate state. */
  readonly maxInflightMsgs?: number;
  /** maxInflightBytes caps unacknowledged entry bytes per follower; 0 means no limit. */
  readonly maxInflightBytes?: number;
  /** checkQuorum: a leader steps down when a quorum was not active for an election timeout. */
  readonly checkQuorum?: boolean;
  /** preVote: campaign only after a pre-election that a quorum would grant (Raft thesis §9.6). */
  readonly preVote?: boolean;
  /** disableProposalForwarding: followers drop proposals instead of forwarding them. */
  readonly disableProposalForwarding?: boolean;
  /** stepDownOnRemoval: a leader removed from the configuration steps down. */
  readonly stepDownOnRemoval?: boolean;
  /** rng: the injected random source for election timeouts. */
  readonly rng: Rng;
  /** logger receives state transitions (scenario traces print them); default: silent. */
  readonly logger?: RaftLogger;
}

/** RaftLogger receives one line per notable event, already formatted. */
export type RaftLogger = (line: string) => void;

/** ResolvedRaftConfig is a RaftConfig with every default filled in and validated. */
export type ResolvedRaftConfig = Required<RaftConfig>;

export const raftConfigDefaults = {
  maxSizePerMsgBytes: 1024 * 1024,
  maxCommittedSizePerReadyBytes: 8 * 1024 * 1024,
  maxUncommittedEntriesSizeBytes: 64 * 1024 * 1024,
  maxInflightMsgs: 256,
  maxInflightBytes: 0,
  checkQuorum: true,
  preVote: true,
  disableProposalForwarding: false,
  stepDownOnRemoval: true,
  logger: (() => {}) as RaftLogger,
} as const;

/** validateConfig fills defaults and throws ConfigError with a clear message on invalid values. */
export function validateConfig(c: RaftConfig): ResolvedRaftConfig {
  if (c.id === NONE || typeof c.id !== 'string') throw new ConfigError('id must be a non-empty string');
  const int = (name: string, v: number, min: number): void => {
    if (!Number.isSafeInteger(v) || v < min) {
      throw new ConfigError(`${name} must be an integer >= ${min}, got ${v}`);
    }
  };
  int('heartbeatTicks', c.heartbeatTicks, 1);
  int('electionTicks', c.electionTicks, 1);
  if (c.electionTicks <= c.heartbeatTicks) {
    throw new ConfigError(
      `electionTicks (${c.electionTicks}) must be greater than heartbeatTicks (${c.heartbeatTicks})`,
    );
  }
  const r: ResolvedRaftConfig = {
    ...raftConfigDefaults,
    applied: 0 as LogIndex,
    ...stripUndefined(c),
  } as ResolvedRaftConfig;
  int('applied', r.applied, 0);
  int('maxSizePerMsgBytes', r.maxSizePerMsgBytes, 0);
  int('maxCommittedSizePerReadyBytes', r.maxCommittedSizePerReadyBytes, 1);
  int('maxUncommittedEntriesSizeBytes', r.maxUncommittedEntriesSizeBytes, 0);
  int('maxInflightMsgs', r.maxInflightMsgs, 1);
  int('maxInflightBytes', r.maxInflightBytes, 0);
  if (r.maxInflightBytes !== 0 && r.maxInflightBytes < r.maxSizePerMsgBytes) {
    throw new ConfigError('maxInflightBytes must be >= maxSizePerMsgBytes (or 0 for no limit)');
  }
  if (!r.storage) throw new ConfigError('storage is required');
  if (!r.rng) throw new ConfigError('rng is required (inject a seeded Rng)');
  return r;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
