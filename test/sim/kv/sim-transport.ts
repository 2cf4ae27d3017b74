// The simulated network of the KV workload, and each node's Transport on it.
//
// Every message goes through the real wire codec (encoded once at send, decoded at each
// delivery), so receivers never share objects with senders and the codec's validation is on the
// path. The world decides each message's fate at send time (lost, or one or two copies with
// their own delays, which reorders them); partitions and the receiver's liveness are checked at
// delivery time, so a message in flight when a partition starts is lost.
//
// Duplicates: the real transport (a reliable, ordered WebRTC data channel) never duplicates;
// the simulator still duplicates Raft's own messages, which Raft must tolerate. It never
// duplicates a forwarded proposal (MsgProp): a second copy is a second proposal, appended and
// applied twice, exactly as in etcd-io/raft, which also relies on its transport for that.
import { MessageType, type Message, type NodeId } from '../../../src/raft/index.js';
import { decodeMessage, encodeMessage } from '../../../src/transport/codec.js';
import {
  emptyTransportStats,
  type Transport,
  type TransportHandlers,
  type TransportStats,
} from '../../../src/transport/transport.js';
import type { SimRng } from '../sim-rng.js';
import type { KvNetProfile } from './profile.js';

/** Partition cuts `side` off from every other node (nodes added later are on the other side). */
export interface KvPartition {
  readonly id: number;
  readonly side: ReadonlySet<NodeId>;
  readonly what: string;
}

/** NetHost is what a SimTransport needs from the world. */
export interface NetHost {
  /** transmit schedules the delivery of an encoded message. */
  transmit(from: NodeId, to: NodeId, frame: Uint8Array, type: string): void;
  connectedPeers(id: NodeId): NodeId[];
}

export class KvNetwork {
  partition: KvPartition | undefined;
  dropRate: number;
  dupRate: number;
  /** faults: false after the heal (nothing lost, duplicated or held long). */
  faults = true;
  /** allowProposalDuplicates: test hook to show why MsgProp is never duplicated. */
  allowProposalDuplicates = false;

  constructor(
    private readonly rng: SimRng,
    private readonly profile: KvNetProfile,
  ) {
    this.dropRate = profile.dropRate;
    this.dupRate = profile.dupRate;
  }

  blocked(a: NodeId, b: NodeId): boolean {
    const p = this.partition;
    return p !== undefined && p.side.has(a) !== p.side.has(b);
  }

  /** plan returns the delays of a message's copies (empty: lost). */
  plan(type: string): number[] {
    if (this.faults && this.rng.chance(this.dropRate)) return [];
    const dupOk = type !== MessageType.MsgProp || this.allowProposalDuplicates;
    const copies = this.faults && dupOk && this.rng.chance(this.dupRate) ? 2 : 1;
    const out: number[] = [];
    for (let i = 0; i < copies; i++) {
      const long = this.faults && this.rng.chance(this.profile.longDelayRate);
      out.push(
        long
          ? this.rng.between(this.profile.delaySteps, this.profile.longDelaySteps)
          : this.rng.between(1, this.profile.delaySteps),
      );
    }
    return out;
  }

  heal(): void {
    this.faults = false;
    this.partition = undefined;
  }
}

/** decodeFrame decodes a frame the simulator encoded; a failure is a codec bug. */
export function decodeSimFrame(frame: Uint8Array): Message {
  const r = decodeMessage(frame);
  if (!r.ok) throw new Error(`wire codec refused a frame it produced: ${r.error.message}`);
  return r.message;
}

/** SimTransport is one node incarnation's Transport. */
export class SimTransport implements Transport {
  private handlers: TransportHandlers | undefined;
  private closed = false;
  private readonly counters = emptyTransportStats();

  constructor(
    readonly localId: NodeId,
    private readonly host: NetHost,
  ) {}

  start(handlers: TransportHandlers): void {
    if (!this.closed) this.handlers = handlers;
  }

  get open(): boolean {
    return this.handlers !== undefined && !this.closed;
  }

  send(m: Message): void {
    if (!this.open) {
      this.counters.messagesDropped++;
      return;
    }
    // An unencodable message is a bug in the sender: let it surface as an exception.
    const frame = encodeMessage(m);
    this.counters.messagesSent++;
    this.counters.framesSent++;
    this.counters.bytesSent += frame.length;
    this.host.transmit(this.localId, m.to, frame, m.type);
  }

  /** deliver hands a decoded message to the node (called by the world). */
  deliver(frame: Uint8Array): void {
    if (!this.open) return;
    this.counters.framesReceived++;
    this.counters.messagesReceived++;
    this.counters.bytesReceived += frame.length;
    this.handlers?.onMessage(decodeSimFrame(frame));
  }

  connectedPeers(): NodeId[] {
    return this.open ? this.host.connectedPeers(this.localId) : [];
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  close(): void {
    this.closed = true;
  }
}
