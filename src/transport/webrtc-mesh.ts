// WebRtcTransport: a full mesh of WebRTC data channels between the peers of a
// room, found through a Signaling. One ordered, reliable data channel per
// pair; no STUN or TURN (iceServers: [], host candidates only: tabs of one
// machine or one LAN).
//
// Connection rules:
// - Glare-free: of two peers, only the one with the smaller id makes offers;
//   the other answers, and asks for a connection with a `connect-request`
//   signal when it wants one sooner (after heal()).
// - Every attempt has a session id; signals of an older session are ignored,
//   and an offer with a new session replaces the old connection (the offerer
//   restarted or retried).
// - The offerer retries a lost or failed connection with capped exponential
//   backoff while the peer is in the room; an attempt that does not connect
//   within connectTimeoutMs is abandoned and retried.
//
// Data path: send() encodes and chunks the message into frames and queues
// them per peer; frames go to the channel while its bufferedAmount is below
// the high-water mark, and sending resumes on `bufferedamountlow`. The queue
// is bounded in bytes: beyond it the oldest unsent messages are dropped
// (Raft retransmits) and counted. Inbound frames are reassembled, decoded and
// validated (link.ts); a bad one is counted in framesDropped, never thrown.
//
// Channel state is not failure detection: a crashed tab's channel stays open
// on our side for tens of seconds (BROWSER-LIFECYCLE.md). Raft's heartbeats
// and election timeout decide who is alive; close() (in pagehide) closes every
// channel so peers learn of a departure at once.
import SimplePeer, {
  type SignalData,
  type SimplePeerInstance,
} from 'simple-peer/simplepeer.min.js';

import { Chunker } from './chunker.js';
import { FrameError, FrameErrorCode } from './codec.js';
import { InboundLink, encodeFrames } from './link.js';
import { OutboundQueue } from './outbound-queue.js';
import { randomToken, type JsonValue, type Signaling } from './signaling.js';
import {
  SendDropReason,
  emptyTransportStats,
  type Transport,
  type TransportHandlers,
  type TransportStats,
} from './transport.js';
import type { Message, NodeId } from '../raft/index.js';

/** HIGH_WATER_MARK_BYTES_MAX: larger marks caused multi-second stalls here (DESIGN.md §2). */
export const HIGH_WATER_MARK_BYTES_MAX = 128 * 1024;

export const webRtcTransportDefaults = {
  /** chunkSizeBytes: largest data-channel message sent. */
  chunkSizeBytes: 16 * 1024,
  /** highWaterMarkBytes: most bytes a channel may have buffered (≤ 128 KiB); frames wait beyond it. */
  highWaterMarkBytes: 128 * 1024,
  /** lowWaterMarkBytes: resume when the buffer drains to this (the channel's bufferedAmountLowThreshold). */
  lowWaterMarkBytes: 32 * 1024,
  /** maxMessageBytes: largest message accepted from a peer (reassembly bound). */
  maxMessageBytes: 64 * 1024 * 1024,
  /** outboundQueueBytesMax: frames queued per peer; over it the oldest unsent messages are dropped. */
  outboundQueueBytesMax: 68 * 1024 * 1024,
  /** maxPartialMessages: chunked messages being reassembled at once per peer. */
  maxPartialMessages: 4,
  /** partialTimeoutFrames: an incomplete chunked message is abandoned after this many later frames. */
  partialTimeoutFrames: 1024,
  /** maxPeers: peers of the room this transport connects to; later ones are ignored. */
  maxPeers: 16,
  /** reconnectInitialDelayMs: first retry delay after a lost or failed connection. */
  reconnectInitialDelayMs: 250,
  /** reconnectMaxDelayMs: the retry delay doubles up to this cap. */
  reconnectMaxDelayMs: 10_000,
  /** connectTimeoutMs: an attempt not connected by then is abandoned (and retried by the offerer). */
  connectTimeoutMs: 15_000,
};

export type WebRtcTransportConfig = typeof webRtcTransportDefaults;

export interface WebRtcTransportOptions extends Partial<WebRtcTransportConfig> {
  readonly localId: NodeId;
  /** room: the signaling room of the cluster. */
  readonly room: string;
  /** signaling: not yet joined; the transport joins it in start() and closes it in close(). */
  readonly signaling: Signaling;
  /** rtcConfig: RTCPeerConnection configuration; default { iceServers: [] } (no STUN: no internet here). */
  readonly rtcConfig?: RTCConfiguration;
  /** acceptPeer: which room members to connect to (default: all). */
  readonly acceptPeer?: (peer: NodeId) => boolean;
}

/**
 * The signals this transport exchanges (validated on receipt): `rtc` carries
 * simple-peer's offer, answer and candidates of one session; `connect-request`
 * asks the offerer to connect now; `refuse` tells the offerer that its offer
 * will not be answered (the answerer is isolated), so it backs off at once
 * instead of waiting out connectTimeoutMs.
 */
type MeshSignal =
  | { kind: 'rtc'; session: string; data: SignalData }
  | { kind: 'connect-request' }
  | { kind: 'refuse'; session: string };

function isSession(x: unknown): x is string {
  return typeof x === 'string' && x.length > 0 && x.length <= 64;
}

function parseMeshSignal(x: JsonValue): MeshSignal | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return undefined;
  if (x.kind === 'connect-request') return { kind: 'connect-request' };
  if (x.kind === 'refuse' && isSession(x.session)) return { kind: 'refuse', session: x.session };
  if (
    x.kind === 'rtc' &&
    isSession(x.session) &&
    typeof x.data === 'object' &&
    x.data !== null &&
    !Array.isArray(x.data)
  ) {
    return { kind: 'rtc', session: x.session, data: x.data };
  }
  return undefined;
}

/** PeerLink is everything about one remote peer. */
interface PeerLink {
  readonly id: NodeId;
  /** offerer: this side makes the offers (smaller id). */
  readonly offerer: boolean;
  /** present: the peer is in the signaling room (announced, not left). */
  present: boolean;
  peer: SimplePeerInstance | undefined;
  session: string | undefined;
  channel: RTCDataChannel | undefined;
  open: boolean;
  queue: OutboundQueue;
  inbound: InboundLink;
  attempt: number;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  connectTimer: ReturnType<typeof setTimeout> | undefined;
}

export class WebRtcTransport implements Transport {
  readonly localId: NodeId;
  readonly config: WebRtcTransportConfig;
  private readonly room: string;
  private readonly signaling: Signaling;
  private readonly rtcConfig: RTCConfiguration;
  private readonly acceptPeer: (peer: NodeId) => boolean;
  private readonly chunker: Chunker;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly counters = emptyTransportStats();
  private handlers: TransportHandlers | undefined;
  private isolated = false;
  private closed = false;

  constructor(opts: WebRtcTransportOptions) {
    const { localId, room, signaling, rtcConfig, acceptPeer, ...rest } = opts;
    this.localId = localId;
    this.room = room;
    this.signaling = signaling;
    this.rtcConfig = rtcConfig ?? { iceServers: [] };
    this.acceptPeer = acceptPeer ?? (() => true);
    const cfg: WebRtcTransportConfig = { ...webRtcTransportDefaults };
    for (const [k, v] of Object.entries(rest)) {
      if (v !== undefined) cfg[k as keyof WebRtcTransportConfig] = v;
    }
    this.config = cfg;
    if (cfg.highWaterMarkBytes > HIGH_WATER_MARK_BYTES_MAX) {
      throw new RangeError(`highWaterMarkBytes must be ≤ ${HIGH_WATER_MARK_BYTES_MAX}`);
    }
    // After `bufferedamountlow` there must be room for at least one whole frame.
    if (cfg.chunkSizeBytes > cfg.highWaterMarkBytes - cfg.lowWaterMarkBytes) {
      throw new RangeError('chunkSizeBytes must be ≤ highWaterMarkBytes − lowWaterMarkBytes');
    }
    this.chunker = new Chunker({ chunkSizeBytes: cfg.chunkSizeBytes });
  }

  start(handlers: TransportHandlers): void {
    if (this.handlers !== undefined || this.closed) return;
    this.handlers = handlers;
    this.signaling.join(this.room, this.localId, {
      onPeerJoined: (p) => this.onPeerJoined(p),
      onPeerLeft: (p) => this.onPeerLeft(p),
      onSignal: (from, payload) => this.onSignal(from, payload),
    });
  }

  send(m: Message): void {
    if (this.closed) return this.dropped(m, SendDropReason.Closed);
    const link = this.links.get(m.to);
    if (link === undefined || !link.open) return this.dropped(m, SendDropReason.Unreachable);
    const frames = encodeFrames(m, this.chunker);
    if (!Array.isArray(frames)) return this.dropped(m, SendDropReason.Unencodable);
    for (const old of link.queue.push(m, frames)) this.dropped(old, SendDropReason.QueueFull);
    this.flush(link);
  }

  connectedPeers(): NodeId[] {
    return [...this.links.values()].filter((l) => l.open).map((l) => l.id);
  }

  stats(): Required<TransportStats> {
    return { ...this.counters };
  }

  /** close closes every channel at once (peers see them close within tens of ms) and leaves the room. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) this.teardown(link, false);
    this.links.clear();
    this.signaling.close();
  }

  // ------------------------------------------------------------- test hooks

  /** isolate closes every channel and refuses connections until heal(): a partition of this peer. */
  isolate(): void {
    if (this.isolated || this.closed) return;
    this.isolated = true;
    for (const link of this.links.values()) this.teardown(link, true);
  }

  /** heal ends isolate(): reconnects to every peer in the room. */
  heal(): void {
    if (!this.isolated || this.closed) return;
    this.isolated = false;
    for (const link of this.links.values()) {
      if (!link.present) continue;
      link.attempt = 0;
      this.wantConnection(link);
    }
  }

  /** channelTo: the raw data channel to `peer` (tests inject frames through it). */
  channelTo(peer: NodeId): RTCDataChannel | undefined {
    return this.links.get(peer)?.channel;
  }

  /** lastInboundError: why the latest refused frame from `peer` was refused. */
  lastInboundError(peer: NodeId): FrameError | undefined {
    return this.links.get(peer)?.inbound.lastError;
  }

  /** queuedBytes: bytes waiting in the outbound queue to `peer`. */
  queuedBytes(peer: NodeId): number {
    return this.links.get(peer)?.queue.bytes ?? 0;
  }

  // -------------------------------------------------------------- signaling

  private link(peer: NodeId): PeerLink | undefined {
    let link = this.links.get(peer);
    if (link !== undefined) return link;
    if (
      peer === this.localId ||
      !this.acceptPeer(peer) ||
      this.links.size >= this.config.maxPeers
    ) {
      return undefined;
    }
    link = {
      id: peer,
      offerer: this.localId < peer,
      present: false,
      peer: undefined,
      session: undefined,
      channel: undefined,
      open: false,
      queue: new OutboundQueue(this.config.outboundQueueBytesMax),
      inbound: this.newInbound(peer),
      attempt: 0,
      retryTimer: undefined,
      connectTimer: undefined,
    };
    this.links.set(peer, link);
    return link;
  }

  private newInbound(peer: NodeId): InboundLink {
    return new InboundLink(this.localId, peer, this.counters, {
      maxMessageBytes: this.config.maxMessageBytes,
      maxPartialMessages: this.config.maxPartialMessages,
      partialTimeoutFrames: this.config.partialTimeoutFrames,
    });
  }

  private onPeerJoined(peer: NodeId): void {
    if (this.closed) return;
    const link = this.link(peer);
    if (link === undefined) return;
    link.present = true;
    if (this.isolated || link.peer !== undefined) return;
    link.attempt = 0;
    this.wantConnection(link);
  }

  private onPeerLeft(peer: NodeId): void {
    const link = this.links.get(peer);
    if (link === undefined) return;
    this.teardown(link, true);
    this.links.delete(peer);
  }

  private onSignal(from: NodeId, payload: JsonValue): void {
    if (this.closed) return;
    const s = parseMeshSignal(payload);
    const link = this.link(from);
    if (s === undefined || link === undefined) return;
    link.present = true;
    if (this.isolated) {
      // A partitioned peer refuses every connection, and says so to offers.
      if (s.kind === 'rtc' && s.data.type === 'offer') {
        this.signaling.signal(from, { kind: 'refuse', session: s.session });
      }
      return;
    }
    if (s.kind === 'refuse') {
      if (link.offerer && s.session === link.session && link.peer !== undefined && !link.open) {
        this.lost(link, link.peer);
      }
      return;
    }
    if (s.kind === 'connect-request') {
      if (link.offerer && link.peer === undefined) {
        link.attempt = 0;
        this.connect(link);
      }
      return;
    }
    if (link.offerer) {
      // Answers and candidates for our current offer; anything else is stale.
      if (s.session === link.session && link.peer !== undefined) this.signalPeer(link.peer, s.data);
      return;
    }
    if (s.session !== link.session) {
      // A new offer: the offerer retried or restarted. Replace whatever we had.
      if (s.data.type !== 'offer') return; // a late candidate of an abandoned session
      this.teardown(link, true);
      this.startPeer(link, false, s.session);
    }
    if (link.peer !== undefined) this.signalPeer(link.peer, s.data);
  }

  private signalPeer(peer: SimplePeerInstance, data: SignalData): void {
    try {
      peer.signal(data);
    } catch {
      // simple-peer destroys the peer on bad signal data (and emits close).
    }
  }

  /** wantConnection: connect now (offerer) or ask the offerer to (answerer). */
  private wantConnection(link: PeerLink): void {
    if (link.offerer) {
      this.connect(link);
    } else {
      this.signaling.signal(link.id, { kind: 'connect-request' });
    }
  }

  // ------------------------------------------------------------ connections

  private connect(link: PeerLink): void {
    clearTimeout(link.retryTimer);
    link.retryTimer = undefined;
    if (this.closed || this.isolated || !link.present || link.peer !== undefined) return;
    this.startPeer(link, true, randomToken());
  }

  private startPeer(link: PeerLink, initiator: boolean, session: string): void {
    let peer: SimplePeerInstance;
    try {
      peer = new SimplePeer({
        initiator,
        trickle: true,
        config: this.rtcConfig,
        channelName: 'tabd-raft',
        channelConfig: { ordered: true },
        objectMode: true,
      });
    } catch {
      // No WebRTC here (or the browser refused): retry later like any failure.
      this.scheduleReconnect(link);
      return;
    }
    link.peer = peer;
    link.session = session;
    link.connectTimer = setTimeout(() => {
      if (link.peer === peer && !link.open) this.lost(link, peer);
    }, this.config.connectTimeoutMs);

    peer.on('signal', (data) => {
      if (link.peer !== peer) return;
      this.signaling.signal(link.id, { kind: 'rtc', session, data: data as JsonValue });
    });
    peer.on('connect', () => {
      if (link.peer !== peer) return;
      const channel = peer._channel;
      if (channel === null) return this.lost(link, peer);
      clearTimeout(link.connectTimer);
      link.connectTimer = undefined;
      channel.bufferedAmountLowThreshold = this.config.lowWaterMarkBytes;
      channel.addEventListener('bufferedamountlow', () => {
        if (link.peer === peer) this.flush(link);
      });
      link.channel = channel;
      link.open = true;
      link.attempt = 0;
      this.handlers?.onPeerUp?.(link.id);
      this.flush(link);
    });
    peer.on('data', (data) => {
      if (link.peer !== peer) return;
      if (typeof data === 'string') {
        link.inbound.refuse(
          new FrameError(FrameErrorCode.NotBinary, 'text message on the data channel'),
          data.length,
        );
        return;
      }
      // simple-peer hands out its Buffer shim; decode from a plain view of the same bytes.
      const m = link.inbound.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (m !== undefined) this.handlers?.onMessage(m);
    });
    peer.on('close', () => this.lost(link, peer));
    // An error is always followed by 'close'; the connection is handled there.
    peer.on('error', () => {});
  }

  /** lost: `peer` (the link's current connection) closed or failed. */
  private lost(link: PeerLink, peer: SimplePeerInstance): void {
    if (link.peer !== peer) return;
    this.teardown(link, true);
    this.scheduleReconnect(link);
  }

  private scheduleReconnect(link: PeerLink): void {
    if (!link.offerer || this.closed || this.isolated || !link.present) return;
    const delayMs = Math.min(
      this.config.reconnectMaxDelayMs,
      this.config.reconnectInitialDelayMs * 2 ** Math.min(link.attempt, 30),
    );
    link.attempt++;
    clearTimeout(link.retryTimer);
    link.retryTimer = setTimeout(() => this.connect(link), delayMs);
  }

  /** teardown closes the link's connection, drops its queue and reports the peer down if it was up. */
  private teardown(link: PeerLink, notify: boolean): void {
    clearTimeout(link.connectTimer);
    clearTimeout(link.retryTimer);
    link.connectTimer = undefined;
    link.retryTimer = undefined;
    const peer = link.peer;
    const wasOpen = link.open;
    link.peer = undefined;
    link.session = undefined;
    link.open = false;
    const channel = link.channel;
    link.channel = undefined;
    if (peer !== undefined) {
      // Close the channel ourselves, synchronously: simple-peer defers its own
      // close to a microtask, and in pagehide every millisecond counts.
      try {
        channel?.close();
      } catch {
        // already closing
      }
      peer.destroy();
    }
    const queued = link.queue.clear();
    // A new channel starts with a fresh reassembler, as the sender's chunker starts afresh.
    link.inbound = this.newInbound(link.id);
    if (!notify) return;
    for (const m of queued) this.dropped(m, SendDropReason.Unreachable);
    if (wasOpen) this.handlers?.onPeerDown?.(link.id);
  }

  // -------------------------------------------------------------- data path

  /** flush hands queued frames to the channel until its buffer reaches the high-water mark. */
  private flush(link: PeerLink): void {
    const channel = link.channel;
    if (!link.open || channel === undefined) return;
    for (let frame = link.queue.peek(); frame !== undefined; frame = link.queue.peek()) {
      // The buffer never holds more than the mark; sending resumes on bufferedamountlow.
      if (channel.bufferedAmount + frame.length > this.config.highWaterMarkBytes) return;
      try {
        channel.send(frame as Uint8Array<ArrayBuffer>);
      } catch {
        // The channel is closing; its close event tears the link down.
        return;
      }
      this.counters.framesSent++;
      this.counters.bytesSent += frame.length;
      if (link.queue.shift() !== undefined) this.counters.messagesSent++;
    }
  }

  private dropped(m: Message, reason: SendDropReason): void {
    this.counters.messagesDropped++;
    this.handlers?.onSendDropped?.(m, reason);
  }
}
