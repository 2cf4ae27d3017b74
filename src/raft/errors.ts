// Expected outcomes of the Raft core, as typed errors with a literal `code`.
// Hot paths return these (or throw them from the RawNode API, which callers
// catch by class); bugs are AssertionErrors instead (see assert.ts).

/** RaftError is the base of every expected failure of the core. */
export abstract class RaftError extends Error {
  abstract readonly code: string;
}

export const DropReason = {
  /** No leader is known to forward the proposal to. */
  NoLeader: 'no-leader',
  /** The leader is transferring leadership away. */
  Transferring: 'transferring',
  /** The leader's uncommitted log tail is at its size limit. */
  UncommittedSizeLimit: 'uncommitted-size-limit',
  /** This peer is not (or no longer) a member of the configuration. */
  NotMember: 'not-member',
  /** Forwarding proposals is disabled on this follower. */
  ForwardingDisabled: 'forwarding-disabled',
  /** A conf change is refused while another is pending, or it is invalid. */
  ConfChangeRefused: 'conf-change-refused',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

/** ProposalDroppedError says a proposal was not accepted; it was not appended anywhere. */
export class ProposalDroppedError extends RaftError {
  readonly code = 'proposal-dropped';
  constructor(
    readonly reason: DropReason,
    detail = '',
  ) {
    super(`raft proposal dropped: ${reason}${detail ? `: ${detail}` : ''}`);
  }
}

/** CompactedError: the requested index is before the first retained log entry. */
export class CompactedError extends RaftError {
  readonly code = 'compacted';
  constructor() {
    super('requested index is unavailable due to compaction');
  }
}

/** UnavailableError: the requested index is after the last log entry. */
export class UnavailableError extends RaftError {
  readonly code = 'unavailable';
  constructor() {
    super('requested entry at index is unavailable');
  }
}

/** SnapshotOutOfDateError: a snapshot older than the current one was offered. */
export class SnapshotOutOfDateError extends RaftError {
  readonly code = 'snapshot-out-of-date';
  constructor() {
    super('requested index is older than the existing snapshot');
  }
}

/** SnapshotTemporarilyUnavailableError: the application cannot produce a snapshot right now. */
export class SnapshotTemporarilyUnavailableError extends RaftError {
  readonly code = 'snapshot-temporarily-unavailable';
  constructor() {
    super('snapshot is temporarily unavailable');
  }
}

/** ConfigError: a Raft configuration value is invalid. */
export class ConfigError extends RaftError {
  readonly code = 'invalid-config';
}

/** ConfChangeError: a membership change is invalid for the current configuration. */
export class ConfChangeError extends RaftError {
  readonly code = 'invalid-conf-change';
}

/** StepLocalMessageError: a local-only message was passed to `step` by the application. */
export class StepLocalMessageError extends RaftError {
  readonly code = 'step-local-message';
  constructor() {
    super('raft: cannot step raft local message');
  }
}

/** StepPeerNotFoundError: a response came from a peer this node does not track. */
export class StepPeerNotFoundError extends RaftError {
  readonly code = 'step-peer-not-found';
  constructor() {
    super('raft: cannot step as peer not found');
  }
}
