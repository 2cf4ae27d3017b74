// Package transport moves Raft messages between peers (DESIGN.md §2, §4).
//
// Contract (transport.ts): send() never throws and never blocks; a message
// that cannot be delivered is dropped (Raft retransmits) and reported through
// onSendDropped. Between two peers, delivery is in order. Every inbound frame
// is decoded and validated here, so the core only ever sees well-formed
// messages addressed to it by the peer at the other end of the channel; a bad
// frame is dropped and counted in stats().framesDropped, never thrown.
//
// Pieces:
// - codec.ts: the versioned binary wire format, specified in PROTOCOL.md;
//   validate.ts: its limits and the Message invariants checked on decode.
// - chunker.ts: large messages as bounded chunks, and bounded reassembly.
// - link.ts: the per-peer encode and decode halves every transport shares;
//   outbound-queue.ts: the byte-bounded queue of frames waiting for a channel.
// - loopback.ts: an in-memory network for node tests and the simulator, with
//   injectable delivery scheduling, partitions and loss.
// - signaling*.ts: how peers of a room find each other (BroadcastChannel, or
//   the WebSocket relay of server/signal-relay.ts).
// - webrtc-mesh.ts: the browser transport, a mesh of WebRTC data channels
//   with backpressure, bounded queues and reconnection.
export {
  EncodeError,
  FrameError,
  FrameErrorCode,
  FrameKind,
  PROTOCOL_VERSION,
  decodeFrame,
  decodeMessage,
  encodeMessage,
  validateMessage,
  type MessageDecodeResult,
} from './codec.js';
export { Chunker, Reassembler, chunkerDefaults, reassemblerDefaults } from './chunker.js';
export {
  LoopbackNetwork,
  LoopbackTransport,
  type DeliverScheduler,
  type LoopbackOptions,
} from './loopback.js';
export { BroadcastChannelSignaling } from './signaling-broadcast.js';
export { WebSocketSignaling, type WebSocketSignalingOptions } from './signaling-ws.js';
export {
  type JsonValue,
  type Signaling,
  type SignalingHandlers,
  type SignalingStats,
} from './signaling.js';
export {
  SendDropReason,
  emptyTransportStats,
  type Transport,
  type TransportHandlers,
  type TransportStats,
} from './transport.js';
export {
  WebRtcTransport,
  webRtcTransportDefaults,
  type WebRtcTransportOptions,
} from './webrtc-mesh.js';
