// BroadcastChannelSignaling: the default signaling for tabs of one browser
// profile and origin, with no server at all. The room is a BroadcastChannel
// named after it. A BroadcastChannel does not echo to the object that posted,
// but does reach other objects of the same name in the same page, so two
// peers in one page (tests) find each other too.
import { RoomSignaling, type RoomMessage } from './signaling.js';

/** BROADCAST_CHANNEL_PREFIX keeps tabd's rooms apart from other channels of the origin. */
export const BROADCAST_CHANNEL_PREFIX = 'tabd-signal:';

export class BroadcastChannelSignaling extends RoomSignaling {
  private channel: BroadcastChannel | undefined;

  protected openRoom(room: string): void {
    const ch = new BroadcastChannel(BROADCAST_CHANNEL_PREFIX + room);
    ch.onmessage = (ev: MessageEvent) => this.deliver(ev.data);
    // A message that cannot be deserialized here is malformed by definition.
    ch.onmessageerror = () => this.deliver(undefined);
    this.channel = ch;
  }

  protected post(m: RoomMessage): void {
    try {
      this.channel?.postMessage(m);
    } catch {
      // A payload that cannot be cloned is dropped; signaling is best effort.
    }
  }

  protected closeRoom(): void {
    this.channel?.close();
    this.channel = undefined;
  }
}
