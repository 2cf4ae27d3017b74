// Errors the node runtime reports to clients. Expected outcomes only; each
// has a literal `code`. The client API rejects with these or with KV errors.

/** NodeError is the base of the node runtime's expected failures. */
export abstract class NodeError extends Error {
  abstract readonly code: string;
  /** unknownOutcome: the request may or may not have taken effect (it may still commit later). */
  readonly unknownOutcome: boolean = false;
}

/** TimeoutError: no answer within the request timeout. The write may still take effect later. */
export class TimeoutError extends NodeError {
  readonly code = 'timeout';
  override readonly unknownOutcome = true;
  constructor(what: string) {
    super(`${what} timed out`);
  }
}

/** NoQuorumError: this peer has no leader to serve the request (it is on a minority side, or an election is going on). */
export class NoQuorumError extends NodeError {
  readonly code = 'no-quorum';
  constructor(detail = 'no leader reachable with a quorum') {
    super(detail);
  }
}

/** NotLeaderError: the operation must run on the leader and this peer is not it. */
export class NotLeaderError extends NodeError {
  readonly code = 'not-leader';
  constructor(readonly leader: string) {
    super(leader ? `not the leader (leader is ${leader})` : 'not the leader');
  }
}

/** StoppedError: the node is stopped (tab closing, storage failure, removed from the cluster). */
export class StoppedError extends NodeError {
  readonly code = 'stopped';
  constructor(reason = 'node stopped') {
    super(reason);
  }
}

/** ProposalRefusedError: Raft refused the proposal (leader transfer in progress, size limit, invalid conf change). */
export class ProposalRefusedError extends NodeError {
  readonly code = 'proposal-dropped';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`proposal refused: ${reason}`, options);
  }
}
