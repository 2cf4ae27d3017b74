// Package raft is tabd's consensus core: a pure, synchronous, deterministic
// implementation of Raft in the shape of etcd-io/raft's RawNode.
//
// Contract:
// - No clock, no randomness, no I/O. Time is tick(); randomness is the Rng in
//   the config; storage is read through the Storage interface and written by
//   the application; messages leave through Ready.messages.
// - The application loop, written once in src/node: while hasReady(): take
//   ready(); persist hardState, snapshot and entries in one atomic write; send
//   messages (a leader may send before its own write completes); apply the
//   snapshot then committedEntries (ConfChange entries through
//   applyConfChangeEntry); advance(). Never call ready() before advance().
// - Features: elections with randomized timeouts, PreVote (thesis §9.6) and
//   CheckQuorum (§6.2), log replication with fast backtracking, probe /
//   replicate / snapshot progress states, an inflight window and message size
//   caps, proposal forwarding, ReadIndex reads batched into one heartbeat round
//   (§6.4), leadership transfer (§3.10), learners, joint consensus (§4.3),
//   snapshots and log compaction (§5).
//
// Invariants checked by the simulator (test/sim): one leader per term, log
// matching, leader completeness, state machine safety.
export { assert, AssertionError } from './assert.js';
export { validateConfig, raftConfigDefaults, type RaftConfig, type RaftLogger, type ResolvedRaftConfig } from './config.js';
export {
  ConfChangeTransition,
  ConfChangeType,
  decodeConfChange,
  describeConfChange,
  encodeConfChange,
  isLeaveJoint,
  leaveJointConfChange,
  maxVoters,
  type ConfChange,
  type ConfChangeSingle,
} from './confchange.js';
export {
  CompactedError,
  ConfChangeError,
  ConfigError,
  DropReason,
  ProposalDroppedError,
  RaftError,
  SnapshotOutOfDateError,
  SnapshotTemporarilyUnavailableError,
  StepLocalMessageError,
  StepPeerNotFoundError,
  UnavailableError,
} from './errors.js';
export { ProgressState } from './progress.js';
export { VoteResult } from './quorum.js';
export * as describe from './describe.js';
export { Raft, campaignTransfer } from './raft.js';
export { LeaderTransferRefusedError, RawNode, type ProgressStatus, type Status } from './raw-node.js';
export { SeededRng, type Rng } from './rng.js';
export { MemoryStorage, type Storage } from './storage.js';
export {
  EntryType,
  MessageType,
  NONE,
  StateType,
  emptyConfState,
  emptyHardState,
  isEmptyHardState,
  isEmptySnapshot,
  logIndex,
  message,
  nodeId,
  term,
  type ConfState,
  type Entry,
  type HardState,
  type LogIndex,
  type Message,
  type NodeId,
  type ReadState,
  type Ready,
  type Snapshot,
  type SnapshotMetadata,
  type SoftState,
  type Term,
} from './types.js';
