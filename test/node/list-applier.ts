import type { LogIndex } from '../../src/raft/index.js';
import type { Applier } from '../../src/node/raft-node.js';

/** ListApplier is a state machine of strings: apply appends and answers the new length. */
export class ListApplier implements Applier {
  items: string[] = [];
  apply(_i: LogIndex, payload: Uint8Array): unknown {
    this.items.push(new TextDecoder().decode(payload));
    return this.items.length;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.items));
  }
  restore(data: Uint8Array): void {
    this.items = data.length ? (JSON.parse(new TextDecoder().decode(data)) as string[]) : [];
  }
}
