// LoopbackNetwork: an in-memory hub of Transports for tests. Every message
// goes through the real wire path (encode, chunk, reassemble, decode,
// validate), so tests exercise the codec as the browser does. Delivery is
// scheduled by an injectable function: the deterministic simulator passes its
// own and decides when (and in what order) frames arrive; tests that want no
// asynchrony pass 'sync'. Partition hooks cut a node off (isolate/heal), and
// per-link cuts or a drop filter lose frames silently, as a lossy network would.
import { Chunker, type ReassemblerConfig } from './chunker.js';
import { InboundLink, encodeFrames } from './link.js';
import {
  SendDropReason,
  emptyTransportStats,
  type Transport,
  type TransportHandlers,
  type TransportStats,
} from './transport.js';
import type { Message, NodeId } from '../raft/index.js';

/** DeliverScheduler runs a delivery task later (or now). Tasks must run in the order given per link. */
export type DeliverScheduler = (task: () => void) => void;

/** FrameInfo describes one frame in flight, for a drop filter. */
export interface FrameInfo {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly frame: Uint8Array;
  /** message: the message this frame (or chunk) belongs to. */
  readonly message: Message;
}

export interface LoopbackOptions {
  /**
   * deliver: when frames and peer events reach their receiver. 'microtask'
   * (default) queues a microtask; 'sync' delivers inside send() (beware of
   * re-entrancy: a handler that sends delivers recursively); a function lets
   * the caller schedule each task itself.
   */
  readonly deliver?: 'microtask' | 'sync' | DeliverScheduler;
  /** chunkSizeBytes: largest frame; small values exercise chunking in tests. Default 16 KiB. */
  readonly chunkSizeBytes?: number;
  /** reassembler: receiver bounds, as in chunker.ts. */
  readonly reassembler?: ReassemblerConfig;
}

/** LoopbackNetwork connects the transports it creates to each other. */
export class LoopbackNetwork {
  private readonly transports = new Map<NodeId, LoopbackTransport>();
  private readonly isolated = new Set<NodeId>();
  /** cutLinks: directed links "from\u0000to" whose frames are lost. */
  private readonly cutLinks = new Set<string>();
  /** linkEpochs: bumped each time a directed link goes down, so frames in flight on it are lost. */
  private readonly linkEpochs = new Map<string, number>();
  private dropFilter: ((f: FrameInfo) => boolean) | undefined;
  readonly schedule: DeliverScheduler;

  constructor(readonly options: LoopbackOptions = {}) {
    const d = options.deliver ?? 'microtask';
    this.schedule =
      d === 'sync' ? (task) => task() : d === 'microtask' ? (task) => queueMicrotask(task) : d;
  }

  /** createTransport returns the Transport of node `id`; ids are unique per network. */
  createTransport(id: NodeId): LoopbackTransport {
    if (this.transports.has(id)) throw new Error(`loopback: node ${id} already has a transport`);
    const t = new LoopbackTransport(id, this);
    this.transports.set(id, t);
    return t;
  }

  /** isolate cuts every channel of `id` (both directions); peers see it go down. */
  isolate(id: NodeId): void {
    if (this.isolated.has(id)) return;
    const before = this.reachablePairs();
    this.isolated.add(id);
    this.announceChanges(before);
  }

  /** heal ends the isolation of `id`, or of every node and every link cut when no id is given. */
  heal(id?: NodeId): void {
    const before = this.reachablePairs();
    if (id === undefined) {
      this.isolated.clear();
      this.cutLinks.clear();
    } else {
      this.isolated.delete(id);
    }
    this.announceChanges(before);
  }

  /** cutLink loses every frame from `from` to `to` (one direction) until restoreLink or heal(). */
  cutLink(from: NodeId, to: NodeId): void {
    this.cutLinks.add(linkKey(from, to));
  }

  restoreLink(from: NodeId, to: NodeId): void {
    this.cutLinks.delete(linkKey(from, to));
  }

  /** setDropFilter: frames for which `filter` returns true are lost. Pass undefined to stop. */
  setDropFilter(filter: ((f: FrameInfo) => boolean) | undefined): void {
    this.dropFilter = filter;
  }

  /**
   * injectFrame delivers raw bytes to `to` as if `from` had sent them on their
   * channel (for tests of the inbound validation). Scheduled like any frame.
   */
  injectFrame(from: NodeId, to: NodeId, bytes: Uint8Array): void {
    this.schedule(() => {
      if (this.reachable(from, to)) this.transports.get(to)?.receiveFrame(from, bytes);
    });
  }

  /** reachable: can a frame from `a` reach `b` right now (both open, neither isolated)? */
  reachable(a: NodeId, b: NodeId): boolean {
    if (a === b || this.isolated.has(a) || this.isolated.has(b)) return false;
    const ta = this.transports.get(a);
    const tb = this.transports.get(b);
    return ta !== undefined && tb !== undefined && ta.isOpen() && tb.isOpen();
  }

  /** peersOf lists the nodes `id` has a channel to now. */
  peersOf(id: NodeId): NodeId[] {
    return [...this.transports.keys()].filter((p) => this.reachable(id, p));
  }

  /** transmit schedules the delivery of one frame of m. */
  transmit(from: NodeId, to: NodeId, frame: Uint8Array, message: Message): void {
    const key = linkKey(from, to);
    const epoch = this.linkEpochs.get(key) ?? 0;
    this.schedule(() => {
      // Checked at delivery, not only at send: a frame in flight when its
      // channel goes down is lost, even if the channel is up again by now.
      if (!this.reachable(from, to) || (this.linkEpochs.get(key) ?? 0) !== epoch) return;
      if (this.cutLinks.has(key)) return;
      if (this.dropFilter?.({ from, to, frame, message }) === true) return;
      this.transports.get(to)?.receiveFrame(from, frame);
    });
  }

  /** changed runs a mutation of a transport's state and tells peers which channels it opened or closed. */
  changed(mutate: () => void): void {
    const before = this.reachablePairs();
    mutate();
    this.announceChanges(before);
  }

  private reachablePairs(): Set<string> {
    const pairs = new Set<string>();
    for (const a of this.transports.keys()) {
      for (const b of this.transports.keys()) if (this.reachable(a, b)) pairs.add(linkKey(a, b));
    }
    return pairs;
  }

  private announceChanges(before: Set<string>): void {
    const after = this.reachablePairs();
    for (const key of before) {
      if (after.has(key)) continue;
      this.linkEpochs.set(key, (this.linkEpochs.get(key) ?? 0) + 1);
      this.announce(key, false);
    }
    for (const key of after) {
      if (!before.has(key)) this.announce(key, true);
    }
  }

  private announce(key: string, up: boolean): void {
    const [a, b] = key.split('\u0000') as [NodeId, NodeId];
    this.schedule(() => this.transports.get(a)?.peerChanged(b, up));
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}\u0000${to}`;
}

/** LoopbackTransport is one node's Transport on a LoopbackNetwork. */
export class LoopbackTransport implements Transport {
  private handlers: TransportHandlers | undefined;
  private closed = false;
  private readonly counters = emptyTransportStats();
  private readonly chunker: Chunker;
  private readonly inbound = new Map<NodeId, InboundLink>();

  constructor(
    readonly localId: NodeId,
    private readonly network: LoopbackNetwork,
  ) {
    this.chunker = new Chunker(
      network.options.chunkSizeBytes !== undefined
        ? { chunkSizeBytes: network.options.chunkSizeBytes }
        : {},
    );
  }

  start(handlers: TransportHandlers): void {
    if (this.handlers !== undefined || this.closed) return;
    this.network.changed(() => {
      this.handlers = handlers;
    });
  }

  isOpen(): boolean {
    return this.handlers !== undefined && !this.closed;
  }

  send(m: Message): void {
    if (!this.isOpen()) return this.dropped(m, SendDropReason.Closed);
    if (!this.network.reachable(this.localId, m.to)) {
      return this.dropped(m, SendDropReason.Unreachable);
    }
    const frames = encodeFrames(m, this.chunker);
    if (!Array.isArray(frames)) return this.dropped(m, SendDropReason.Unencodable);
    this.counters.messagesSent++;
    for (const f of frames) {
      this.counters.framesSent++;
      this.counters.bytesSent += f.length;
      this.network.transmit(this.localId, m.to, f, m);
    }
  }

  connectedPeers(): NodeId[] {
    return this.isOpen() ? this.network.peersOf(this.localId) : [];
  }

  stats(): Required<TransportStats> {
    return { ...this.counters };
  }

  close(): void {
    if (this.closed) return;
    this.network.changed(() => {
      this.closed = true;
    });
  }

  /** isolate / heal: test hooks; the same as the network's for this node. */
  isolate(): void {
    this.network.isolate(this.localId);
  }

  heal(): void {
    this.network.heal(this.localId);
  }

  /** lastInboundError: why the latest refused frame from `peer` was refused. */
  lastInboundError(peer: NodeId): string | undefined {
    return this.inbound.get(peer)?.lastError?.code;
  }

  /** receiveFrame is called by the network with one frame from `from`. */
  receiveFrame(from: NodeId, frame: Uint8Array): void {
    if (!this.isOpen()) return;
    let link = this.inbound.get(from);
    if (link === undefined) {
      link = new InboundLink(this.localId, from, this.counters, this.network.options.reassembler);
      this.inbound.set(from, link);
    }
    const m = link.receive(frame);
    if (m !== undefined) this.handlers?.onMessage(m);
  }

  /** peerChanged is called by the network when the channel to `peer` opens or closes. */
  peerChanged(peer: NodeId, up: boolean): void {
    if (!this.isOpen()) return;
    if (up) {
      this.handlers?.onPeerUp?.(peer);
    } else {
      // A new channel starts with a fresh reassembler, as a new data channel would.
      this.inbound.delete(peer);
      this.handlers?.onPeerDown?.(peer);
    }
  }

  private dropped(m: Message, reason: SendDropReason): void {
    this.counters.messagesDropped++;
    this.handlers?.onSendDropped?.(m, reason);
  }
}
