// The application the simulator runs on top of Raft, behind two small
// interfaces so that other workloads (the KV store and its linearizability
// histories) plug in without touching the simulator: a StateMachine per node,
// and a Workload that plays the clients.
import type { LogIndex, NodeId, RaftError } from '../../src/raft/index.js';
import type { SimRng } from './sim-rng.js';

/**
 * StateMachine is one node's in-memory application state. It is lost on a
 * crash and rebuilt from the storage snapshot plus re-applied entries.
 */
export interface StateMachine {
  /** apply applies one committed normal entry with a non-empty payload. */
  apply(index: LogIndex, data: Uint8Array): void;
  /** snapshot serializes the whole state (becomes Snapshot.data). */
  snapshot(): Uint8Array;
  /** restore replaces the state with a snapshot's data. */
  restore(data: Uint8Array): void;
  /** fingerprint identifies the state: two nodes at one applied index must agree on it. */
  fingerprint(): string;
  /** describe summarizes the state for violation messages. */
  describe(): string;
}

/** ClientApi is what a Workload may do to the cluster. */
export interface ClientApi {
  /** now is the current simulated time, in steps. */
  readonly now: number;
  readonly rng: SimRng;
  /** upNodes lists the running nodes (members or not), in id order. */
  upNodes(): NodeId[];
  /** leader is a running node that believes it leads (the highest term), if any. */
  leader(): NodeId | undefined;
  /** propose proposes data at a node (a follower forwards it). */
  propose(node: NodeId, data: Uint8Array): RaftError | undefined;
  /**
   * readIndex asks a node for a read point. The simulator checks the answer
   * against every commit index observed before this call.
   */
  readIndex(node: NodeId, ctx: string): RaftError | undefined;
}

/** Workload plays the clients of one run. */
export interface Workload {
  /** act performs one client action (called at random times while clients run). */
  act(api: ClientApi): void;
  /** onApplied: node applied a committed normal entry. */
  onApplied?(node: NodeId, index: LogIndex, data: Uint8Array, now: number): void;
  /** onReadState: node received the answer to readIndex(ctx). */
  onReadState?(node: NodeId, ctx: string, index: LogIndex, now: number): void;
  /** finish runs the workload's own checks at the end; returns violation messages. */
  finish?(): string[];
  /** stats are counters reported with the run's result. */
  stats(): Record<string, number>;
}

/** SimApp bundles a state machine factory and a workload factory. */
export interface SimApp {
  readonly name: string;
  createStateMachine(node: NodeId): StateMachine;
  createWorkload(rng: SimRng): Workload;
  /** probe returns the payload of the k-th liveness probe (must be a valid command). */
  probe(k: number): Uint8Array;
}
