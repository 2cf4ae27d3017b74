// The per-peer halves of a channel that every transport shares: turning an
// outbound message into frames (encode, then chunk), and turning inbound frames
// into validated messages (reassemble, decode, check the addressing), with the
// counters of TransportStats kept on the way.
import { Chunker, Reassembler, type ReassemblerConfig } from './chunker.js';
import { EncodeError, FrameError, FrameErrorCode, encodeMessage } from './codec.js';
import type { TransportStats } from './transport.js';
import type { Message, NodeId } from '../raft/index.js';

/**
 * encodeFrames returns the frames that carry m (one, or its chunks), or the
 * EncodeError that makes m unsendable.
 */
export function encodeFrames(m: Message, chunker: Chunker): Uint8Array[] | EncodeError {
  try {
    return chunker.split(encodeMessage(m));
  } catch (err) {
    if (err instanceof EncodeError) return err;
    throw err;
  }
}

/**
 * InboundLink receives the frames of one remote peer. It refuses valid
 * messages that are not addressed to `localId` or not from `remoteId`: the
 * channel authenticates the sender, so a peer cannot speak for another.
 */
export class InboundLink {
  private readonly reassembler: Reassembler;
  /** framesDropped already copied from the reassembler into the shared stats. */
  private reassemblerDropsCounted = 0;
  /** lastError: why the latest refused frame was refused (for tests and logs). */
  lastError: FrameError | undefined;

  constructor(
    readonly localId: NodeId,
    readonly remoteId: NodeId,
    private readonly stats: Required<TransportStats>,
    cfg: ReassemblerConfig = {},
  ) {
    this.reassembler = new Reassembler(cfg);
  }

  /** receive takes one frame and returns the message it completes, if any. Never throws. */
  receive(frame: Uint8Array): Message | undefined {
    this.stats.framesReceived++;
    this.stats.bytesReceived += frame.length;
    const res = this.reassembler.accept(frame);
    this.syncDrops();
    if (res.status === 'dropped') {
      this.lastError = res.error;
      return undefined;
    }
    if (res.status === 'pending') return undefined;
    const m = res.message;
    if (m.to !== this.localId || m.from !== this.remoteId) {
      this.stats.framesDropped++;
      this.lastError = new FrameError(
        FrameErrorCode.Misaddressed,
        `message ${m.from}→${m.to} on the channel ${this.remoteId}→${this.localId}`,
      );
      return undefined;
    }
    this.stats.messagesReceived++;
    return m;
  }

  /** refuse counts a frame refused before decoding (e.g. a text message on a binary channel). */
  refuse(error: FrameError, bytes = 0): void {
    this.stats.framesReceived++;
    this.stats.bytesReceived += bytes;
    this.stats.framesDropped++;
    this.lastError = error;
  }

  private syncDrops(): void {
    const total = this.reassembler.stats().framesDropped;
    this.stats.framesDropped += total - this.reassemblerDropsCounted;
    this.reassemblerDropsCounted = total;
  }
}
