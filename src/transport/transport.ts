import type { Message, NodeId } from '../raft/index.js';

/** TransportStats are counters a transport keeps for status(). */
export interface TransportStats {
  framesSent: number;
  framesReceived: number;
  /**
   * framesDropped: inbound frames discarded: frames that failed validation,
   * valid messages not addressed to us or not from the channel's peer, and the
   * frames of chunked messages abandoned before they were complete.
   */
  framesDropped: number;
  bytesSent: number;
  bytesReceived: number;
  // The message counters are optional so that minimal test doubles of
  // Transport need not keep them; the loopback and WebRTC transports always do.
  /** messagesSent: Raft messages handed to a channel (whole or as chunks). */
  messagesSent?: number;
  /** messagesReceived: validated Raft messages delivered to onMessage. */
  messagesReceived?: number;
  /**
   * messagesDropped: outbound Raft messages discarded: no open channel to the
   * peer, the peer's outbound queue over its byte bound, or not encodable.
   */
  messagesDropped?: number;
}

/** SendDropReason says why send() discarded a message (see TransportHandlers.onSendDropped). */
export const SendDropReason = {
  /** No open channel to the peer (down, connecting, isolated, or unknown). */
  Unreachable: 'unreachable',
  /** The peer's outbound queue was over its byte bound; the oldest messages go first. */
  QueueFull: 'queue-full',
  /** The message cannot be encoded (a bug in the caller: see codec.ts EncodeError). */
  Unencodable: 'unencodable',
  /** The transport is closed. */
  Closed: 'closed',
} as const;
export type SendDropReason = (typeof SendDropReason)[keyof typeof SendDropReason];

export interface TransportHandlers {
  /** onMessage receives a validated Raft message addressed to this peer. */
  onMessage(m: Message): void;
  /** onPeerUp: a channel to `peer` opened. */
  onPeerUp?(peer: NodeId): void;
  /** onPeerDown: the channel to `peer` closed (a crashed peer may never report this). */
  onPeerDown?(peer: NodeId): void;
  /**
   * onSendDropped: a message handed to send() will not be delivered. The node
   * may call RawNode.reportUnreachable(m.to), and reportSnapshot(m.to, failure)
   * for a MsgSnap. Called from inside send() (unreachable, unencodable,
   * closed) or later (a queued message evicted by a newer one).
   */
  onSendDropped?(m: Message, reason: SendDropReason): void;
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

/** emptyTransportStats returns a fresh all-zero TransportStats. */
export function emptyTransportStats(): Required<TransportStats> {
  return {
    framesSent: 0,
    framesReceived: 0,
    framesDropped: 0,
    bytesSent: 0,
    bytesReceived: 0,
    messagesSent: 0,
    messagesReceived: 0,
    messagesDropped: 0,
  };
}
