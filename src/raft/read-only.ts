import type { LogIndex, Message, NodeId } from './types.js';

/** ReadIndexStatus is one pending ReadIndex request on the leader. */
export interface ReadIndexStatus {
  readonly req: Message;
  /** index: the commit index when the request arrived; the read may run once applied ≥ index. */
  readonly index: LogIndex;
  readonly acks: Set<NodeId>;
}

/**
 * ReadOnly tracks ReadIndex requests awaiting a heartbeat round that confirms
 * leadership (Raft thesis §6.4). Requests are queued in arrival order; an ack
 * for a request's context confirms it and every request queued before it.
 */
export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  /** addRequest queues a request at commit index `index`; duplicate contexts are ignored. */
  addRequest(index: LogIndex, m: Message): void {
    if (this.pending.has(m.context)) return;
    this.pending.set(m.context, { req: m, index, acks: new Set() });
    this.queue.push(m.context);
  }

  /** recvAck records that `id` acknowledged the heartbeat round tagged `ctx`; returns its acks. */
  recvAck(id: NodeId, ctx: string): ReadonlySet<NodeId> | undefined {
    const rs = this.pending.get(ctx);
    if (!rs) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** advance removes and returns every request queued up to and including `ctx`. */
  advance(ctx: string): ReadIndexStatus[] {
    const i = this.queue.indexOf(ctx);
    if (i < 0) return [];
    const done = this.queue.slice(0, i + 1);
    this.queue = this.queue.slice(i + 1);
    return done.map((c) => {
      const rs = this.pending.get(c)!;
      this.pending.delete(c);
      return rs;
    });
  }

  /** lastPendingRequestCtx is the context of the newest pending request, or ''. */
  lastPendingRequestCtx(): string {
    return this.queue.length > 0 ? this.queue[this.queue.length - 1]! : '';
  }

  size(): number {
    return this.queue.length;
  }
}
