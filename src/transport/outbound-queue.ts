// OutboundQueue: the frames waiting for one peer's data channel, bounded in
// bytes. Messages leave whole and in order; when a new message would push the
// queue over its bound, the oldest messages not yet started are dropped
// (Raft retransmits what matters; a stale MsgApp or heartbeat is worthless).
// A message partly handed to the channel is never cut short: dropping its tail
// would only waste what was already sent and leave the receiver a broken
// chunked message.
import type { Message } from '../raft/index.js';

interface Queued {
  readonly m: Message;
  readonly frames: readonly Uint8Array[];
  /** next: index of the next frame to hand over. */
  next: number;
  /** bytes: size of the frames not yet handed over. */
  bytes: number;
}

export class OutboundQueue {
  private items: Queued[] = [];
  private queuedBytes = 0;

  /** bytesMax: most bytes of frames the queue holds (after push returns). */
  constructor(readonly bytesMax: number) {
    if (!Number.isSafeInteger(bytesMax) || bytesMax < 1)
      throw new RangeError('bytesMax must be a positive integer');
  }

  /** bytes: size of the frames waiting. */
  get bytes(): number {
    return this.queuedBytes;
  }

  get length(): number {
    return this.items.length;
  }

  /**
   * push queues the frames of m and returns the messages dropped to stay
   * within bytesMax, oldest first (m itself if it alone exceeds the bound).
   */
  push(m: Message, frames: readonly Uint8Array[]): Message[] {
    const bytes = frames.reduce((n, f) => n + f.length, 0);
    if (bytes > this.bytesMax) return [m];
    this.items.push({ m, frames, next: 0, bytes });
    this.queuedBytes += bytes;
    const dropped: Message[] = [];
    for (let i = 0; this.queuedBytes > this.bytesMax && i < this.items.length;) {
      const q = this.items[i]!;
      if (q.next > 0) {
        i++;
        continue;
      }
      this.items.splice(i, 1);
      this.queuedBytes -= q.bytes;
      dropped.push(q.m);
    }
    return dropped;
  }

  /** peek returns the next frame to send, if any. */
  peek(): Uint8Array | undefined {
    const q = this.items[0];
    return q?.frames[q.next];
  }

  /** shift marks the frame from peek() as sent; returns its message when that was its last frame. */
  shift(): Message | undefined {
    const q = this.items[0];
    if (q === undefined) return undefined;
    const f = q.frames[q.next]!;
    q.next++;
    q.bytes -= f.length;
    this.queuedBytes -= f.length;
    if (q.next < q.frames.length) return undefined;
    this.items.shift();
    return q.m;
  }

  /** clear empties the queue and returns the messages that were in it. */
  clear(): Message[] {
    const ms = this.items.map((q) => q.m);
    this.items = [];
    this.queuedBytes = 0;
    return ms;
  }
}
