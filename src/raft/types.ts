// Core data types of the Raft consensus module. Everything here is plain data:
// it crosses the wire (transport codec), lands on disk (storage) and appears in
// golden traces, so it holds no methods and no classes.

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** NodeId identifies a Raft peer. Non-empty; the empty string means "none". */
export type NodeId = Brand<string, 'NodeId'>;
/** Term is a Raft term number (≥ 0). */
export type Term = Brand<number, 'Term'>;
/** LogIndex is a position in the replicated log (≥ 0; 0 is "before the first entry"). */
export type LogIndex = Brand<number, 'LogIndex'>;

/** NONE is the absent node id (no leader, no vote). */
export const NONE = '' as NodeId;

export const nodeId = (s: string): NodeId => s as NodeId;
export const term = (n: number): Term => n as Term;
export const logIndex = (n: number): LogIndex => n as LogIndex;

export const EntryType = {
  Normal: 'normal',
  ConfChange: 'confChange',
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/**
 * Entry is one record of the replicated log. Invariant (checked by
 * `RaftLog.append` callers through `assertContiguous`): within a slice, indexes
 * are consecutive and terms never decrease.
 */
export interface Entry {
  readonly term: Term;
  readonly index: LogIndex;
  readonly type: EntryType;
  /** Opaque application data; for ConfChange entries, an encoded ConfChange. */
  readonly data: Uint8Array;
}

/** HardState is what a peer must persist before it sends any message that depends on it. */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: LogIndex;
}

/**
 * ConfState is a cluster membership. Invariants (checked by `checkConfState`):
 * voters and learners are disjoint; a joint configuration has `votersOutgoing`
 * non-empty; `learnersNext` are outgoing voters that become learners when the
 * joint configuration is left.
 */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly votersOutgoing: readonly NodeId[];
  readonly learnersNext: readonly NodeId[];
  readonly autoLeave: boolean;
}

export interface SnapshotMetadata {
  readonly index: LogIndex;
  readonly term: Term;
  readonly confState: ConfState;
}

/** Snapshot is the application's state at `metadata.index`, plus membership. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

export const StateType = {
  Follower: 'follower',
  Candidate: 'candidate',
  Leader: 'leader',
  PreCandidate: 'pre-candidate',
} as const;
export type StateType = (typeof StateType)[keyof typeof StateType];

/** SoftState is volatile and never persisted: who leads and what this peer is. */
export interface SoftState {
  readonly lead: NodeId;
  readonly raftState: StateType;
}

export const MessageType = {
  /** Local: start an election (or pre-election). */
  MsgHup: 'MsgHup',
  /** Local: leader sends heartbeats. */
  MsgBeat: 'MsgBeat',
  MsgProp: 'MsgProp',
  MsgApp: 'MsgApp',
  MsgAppResp: 'MsgAppResp',
  MsgVote: 'MsgVote',
  MsgVoteResp: 'MsgVoteResp',
  MsgPreVote: 'MsgPreVote',
  MsgPreVoteResp: 'MsgPreVoteResp',
  MsgSnap: 'MsgSnap',
  MsgHeartbeat: 'MsgHeartbeat',
  MsgHeartbeatResp: 'MsgHeartbeatResp',
  /** Local: the transport reports a peer unreachable. */
  MsgUnreachable: 'MsgUnreachable',
  /** Local: the transport reports how a snapshot send ended. */
  MsgSnapStatus: 'MsgSnapStatus',
  /** Local: leader checks that a quorum was active during the last election timeout. */
  MsgCheckQuorum: 'MsgCheckQuorum',
  MsgTransferLeader: 'MsgTransferLeader',
  MsgTimeoutNow: 'MsgTimeoutNow',
  MsgReadIndex: 'MsgReadIndex',
  MsgReadIndexResp: 'MsgReadIndexResp',
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Message types that never leave the local peer. */
export const localMessageTypes: ReadonlySet<MessageType> = new Set<MessageType>([
  MessageType.MsgHup,
  MessageType.MsgBeat,
  MessageType.MsgUnreachable,
  MessageType.MsgSnapStatus,
  MessageType.MsgCheckQuorum,
]);

/** Response message types: they carry the sender's term but never raise a campaign. */
export const responseMessageTypes: ReadonlySet<MessageType> = new Set<MessageType>([
  MessageType.MsgAppResp,
  MessageType.MsgVoteResp,
  MessageType.MsgPreVoteResp,
  MessageType.MsgHeartbeatResp,
  MessageType.MsgReadIndexResp,
]);

/**
 * Message is what peers exchange. Fields not used by a type hold their zero
 * value (0, '', false, []). `context` tags ReadIndex requests and campaign
 * transfers; it is opaque to everything but the sender.
 */
export interface Message {
  readonly type: MessageType;
  readonly to: NodeId;
  readonly from: NodeId;
  readonly term: Term;
  /** For MsgApp: term of the entry before `entries`; for votes: last log term. */
  readonly logTerm: Term;
  /** For MsgApp: index before `entries`; for responses: the index acknowledged or rejected. */
  readonly index: LogIndex;
  readonly entries: readonly Entry[];
  readonly commit: LogIndex;
  readonly snapshot?: Snapshot | undefined;
  readonly reject: boolean;
  /** For a rejected MsgAppResp: the follower's guess of where the logs diverge. */
  readonly rejectHint: LogIndex;
  readonly context: string;
}

/** ReadState answers a ReadIndex request: reads tagged `requestCtx` may run once applied ≥ index. */
export interface ReadState {
  readonly index: LogIndex;
  readonly requestCtx: string;
}

/**
 * Ready is one batch of work for the application. Handle it in this order:
 * 1. persist `hardState`, `snapshot` and `entries` (one atomic write);
 * 2. send `messages` (a leader may send before step 1 completes);
 * 3. apply `snapshot` then `committedEntries` to the state machine;
 * 4. call `advance()`.
 */
export interface Ready {
  readonly softState?: SoftState | undefined;
  readonly hardState?: HardState | undefined;
  readonly readStates: readonly ReadState[];
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot | undefined;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  /** True when `hardState`, `entries` or `snapshot` must be persisted before `messages` go out. */
  readonly mustSync: boolean;
}

export const emptyConfState: ConfState = {
  voters: [],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
};

export const emptyHardState: HardState = { term: term(0), vote: NONE, commit: logIndex(0) };

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}

export function isEmptySnapshot(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

/** message builds a Message with zero values for every field not given. */
export function message(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    to: NONE,
    from: NONE,
    term: term(0),
    logTerm: term(0),
    index: logIndex(0),
    entries: [],
    commit: logIndex(0),
    reject: false,
    rejectHint: logIndex(0),
    context: '',
    ...fields,
  };
}
