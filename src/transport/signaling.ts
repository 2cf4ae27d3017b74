// Signaling: how peers of a room find each other and exchange the few
// messages (WebRTC offers, answers, ICE candidates) that set up a data channel
// between them. DESIGN.md §4.
//
// Every implementation carries the same small room protocol, RoomMessage,
// over some broadcast medium (a BroadcastChannel, a WebSocket relay topic):
// - `announce`: "I am here". Peers that hear a fresh announce answer with
//   their own (marked `reply`, which is not answered), so a newcomer learns
//   who is already present. Each join has a random `incarnation`: an announce
//   of a known id with a new incarnation means that peer restarted (a reload),
//   reported as left, then joined.
// - `signal`: a payload for one peer (`to`); everyone else ignores it.
// - `leave`: "I am going" (sent by close(), e.g. in pagehide).
// A peer that crashes sends no leave; Raft's heartbeats detect it, and the
// WebRTC layer notices its channel closing.
//
// Everything that arrives is untrusted: RoomSignaling validates each message
// and ignores (and counts) anything malformed.
import type { NodeId } from '../raft/index.js';

/** JsonValue is what a signal payload may be: it crosses JSON and structured clone unchanged. */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface SignalingHandlers {
  /** onPeerJoined: `peer` announced itself (for the first time, or again after a restart). */
  onPeerJoined?(peer: NodeId): void;
  /** onPeerLeft: `peer` said it leaves, or restarted (then onPeerJoined follows). */
  onPeerLeft?(peer: NodeId): void;
  /** onSignal: `peer` sent us a payload. */
  onSignal(from: NodeId, payload: JsonValue): void;
}

/** SignalingStats counts room traffic, for status and tests. */
export interface SignalingStats {
  sent: number;
  received: number;
  /** invalid: inbound messages ignored because they were malformed. */
  invalid: number;
}

/**
 * Signaling connects this peer to a room. join() once, then announce() to be
 * (re)discovered, signal() to reach one peer; close() says goodbye.
 */
export interface Signaling {
  join(room: string, peerId: NodeId, handlers: SignalingHandlers): void;
  /** announce broadcasts this peer's presence again (e.g. after a partition heals). */
  announce(): void;
  /** signal sends a payload to one peer of the room (best effort, never throws). */
  signal(to: NodeId, payload: JsonValue): void;
  /** peers: the peers heard from and not gone. */
  peers(): NodeId[];
  stats(): SignalingStats;
  /** close sends `leave` and stops; further calls do nothing. */
  close(): void;
}

/** ROOM_PROTOCOL_VERSION tags every room message; other versions are ignored. */
export const ROOM_PROTOCOL_VERSION = 1;

export type RoomMessage =
  | { v: 1; t: 'announce'; from: string; inc: string; reply: boolean }
  | { v: 1; t: 'leave'; from: string; inc: string }
  | { v: 1; t: 'signal'; from: string; inc: string; to: string; payload: JsonValue };

/** signalingLimits: bounds on what is accepted from the room. */
export const signalingLimits = {
  /** peerIdCharsMax: longest peer id (as the wire codec: 255 bytes; characters here). */
  peerIdCharsMax: 255,
  /** roomCharsMax: longest room name. */
  roomCharsMax: 200,
} as const;

function isId(x: unknown): x is string {
  return typeof x === 'string' && x.length > 0 && x.length <= signalingLimits.peerIdCharsMax;
}

/** parseRoomMessage returns the message if `x` is a well-formed RoomMessage, else undefined. */
export function parseRoomMessage(x: unknown): RoomMessage | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return undefined;
  const m = x as Record<string, unknown>;
  if (m.v !== ROOM_PROTOCOL_VERSION || !isId(m.from) || !isId(m.inc)) return undefined;
  switch (m.t) {
    case 'announce':
      return typeof m.reply === 'boolean'
        ? { v: 1, t: 'announce', from: m.from, inc: m.inc, reply: m.reply }
        : undefined;
    case 'leave':
      return { v: 1, t: 'leave', from: m.from, inc: m.inc };
    case 'signal':
      return isId(m.to) && 'payload' in m
        ? { v: 1, t: 'signal', from: m.from, inc: m.inc, to: m.to, payload: m.payload as JsonValue }
        : undefined;
    default:
      return undefined;
  }
}

/** randomToken returns 16 random hex digits (crypto.getRandomValues: browsers and Node ≥ 19). */
export function randomToken(): string {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * RoomSignaling implements the room protocol over a medium given by a
 * subclass: open the room, post a message to everyone in it, stop.
 */
export abstract class RoomSignaling implements Signaling {
  protected room = '';
  protected peerId: NodeId | undefined;
  /** incarnation: random per join, so peers can tell a restart from a repeat. */
  protected readonly incarnation = randomToken();
  private handlers: SignalingHandlers | undefined;
  /** present: peer id → its incarnation. */
  private readonly present = new Map<NodeId, string>();
  protected closed = false;
  protected readonly counters: SignalingStats = { sent: 0, received: 0, invalid: 0 };

  /** openRoom starts receiving the room's messages (call deliver for each). */
  protected abstract openRoom(room: string): void;
  /** post sends a message to every member of the room (best effort). */
  protected abstract post(m: RoomMessage): void;
  /** closeRoom stops the medium after the last post. */
  protected abstract closeRoom(): void;

  join(room: string, peerId: NodeId, handlers: SignalingHandlers): void {
    if (this.peerId !== undefined) throw new Error('signaling: join() called twice');
    if (room.length === 0 || room.length > signalingLimits.roomCharsMax) {
      throw new RangeError(
        `signaling: room name must be 1..${signalingLimits.roomCharsMax} characters`,
      );
    }
    if (!isId(peerId)) throw new RangeError('signaling: bad peer id');
    this.room = room;
    this.peerId = peerId;
    this.handlers = handlers;
    this.openRoom(room);
    this.announce();
  }

  announce(): void {
    this.send({ t: 'announce', reply: false });
  }

  signal(to: NodeId, payload: JsonValue): void {
    this.send({ t: 'signal', to, payload });
  }

  peers(): NodeId[] {
    return [...this.present.keys()];
  }

  stats(): SignalingStats {
    return { ...this.counters };
  }

  close(): void {
    if (this.closed) return;
    if (this.peerId !== undefined) this.send({ t: 'leave' });
    this.closed = true;
    this.present.clear();
    this.closeRoom();
  }

  private send(
    m:
      | { t: 'announce'; reply: boolean }
      | { t: 'leave' }
      | { t: 'signal'; to: NodeId; payload: JsonValue },
  ): void {
    if (this.closed || this.peerId === undefined) return;
    this.counters.sent++;
    this.post({
      v: ROOM_PROTOCOL_VERSION,
      from: this.peerId,
      inc: this.incarnation,
      ...m,
    } as RoomMessage);
  }

  /** deliver is called by the subclass with each message that arrives from the room. */
  protected deliver(raw: unknown): void {
    if (this.closed || this.peerId === undefined) return;
    const m = parseRoomMessage(raw);
    if (m === undefined) {
      this.counters.invalid++;
      return;
    }
    if (m.from === this.peerId) return; // our own (a relay may echo), or an impostor: ignore
    this.counters.received++;
    const from = m.from as NodeId;
    const known = this.present.get(from);
    switch (m.t) {
      case 'announce':
        if (known !== undefined && known !== m.inc) {
          this.present.delete(from);
          this.handlers?.onPeerLeft?.(from);
        }
        if (known !== m.inc) {
          this.present.set(from, m.inc);
          this.handlers?.onPeerJoined?.(from);
        } else if (!m.reply) {
          // A repeated announce (the peer wants to be rediscovered): report it again.
          this.handlers?.onPeerJoined?.(from);
        }
        if (!m.reply) this.send({ t: 'announce', reply: true });
        return;
      case 'leave':
        if (known === m.inc) {
          this.present.delete(from);
          this.handlers?.onPeerLeft?.(from);
        }
        return;
      case 'signal':
        if (m.to !== this.peerId) return;
        // A signal can overtake the announce on some media: it proves presence too.
        if (known === undefined) {
          this.present.set(from, m.inc);
          this.handlers?.onPeerJoined?.(from);
        } else if (known !== m.inc) {
          return; // from a previous incarnation of that peer: stale
        }
        this.handlers?.onSignal(from, m.payload);
        return;
    }
  }
}
