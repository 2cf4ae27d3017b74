import type { Message, NodeId } from '../raft/index.js';

/** TransportStats are counters a transport keeps for status(). */
export interface TransportStats {
  framesSent: number;
  framesReceived: number;
  /** framesDropped: inbound frames that failed validation and were discarded. */
  framesDropped: number;
  bytesSent: number;
  bytesReceived: number;
}

export interface TransportHandlers {
  /** onMessage receives a validated Raft message addressed to this peer. */
  onMessage(m: Message): void;
  /** onPeerUp: a channel to `peer` opened. */
  onPeerUp?(peer: NodeId): void;
  /** onPeerDown: the channel to `peer` closed (a crashed peer may never report this). */
  onPeerDown?(peer: NodeId): void;
}

/**
 * Transport moves Raft messages between peers. Sends never throw and never
 * block: a message to an unreachable peer is dropped (Raft retries), and the
 * transport may report it so the node can call RawNode.reportUnreachable.
 * Delivery between two peers is in order (one ordered channel per pair).
 */
export interface Transport {
  readonly localId: NodeId;
  start(handlers: TransportHandlers): void;
  send(m: Message): void;
  /** connectedPeers: peers with an open channel now. */
  connectedPeers(): NodeId[];
  stats(): TransportStats;
  close(): void;
}
