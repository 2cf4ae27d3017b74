// Helpers for driving bare Raft instances (no RawNode) in paper and unit
// tests, in the spirit of etcd-io/raft's newTestRaft + network: a test builds
// peers with a chosen membership, log and hard state, steps messages in by
// hand or through a Network that delivers everything breadth-first, and reads
// what each peer sent. Entries stay in the unstable log (nothing persists
// them), which is all a protocol-rule test needs.
import {
  EntryType,
  MemoryStorage,
  MessageType,
  Raft,
  SeededRng,
  emptyConfState,
  logIndex,
  message,
  nodeId,
  term,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type MessageType as MessageTypeT,
  type NodeId,
  type RaftConfig,
} from '../../src/raft/index.js';

/** ConfStorage is a MemoryStorage that starts with a given membership (no bootstrap entries needed). */
export class ConfStorage extends MemoryStorage {
  constructor(private readonly cs: ConfState) {
    super();
  }

  override initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.cs };
  }
}

export interface TestRaftOptions {
  voters: readonly string[];
  learners?: readonly string[];
  /** log: the term of each stored entry, from index 1. */
  log?: readonly number[];
  term?: number;
  vote?: string;
  commit?: number;
  seed?: number;
  config?: Partial<Omit<RaftConfig, 'id' | 'storage'>>;
  /** make builds the Raft, for tests that inject a subclass (a mutant). */
  make?: (cfg: RaftConfig) => Raft;
}

export const ids = (...s: string[]): NodeId[] => s.map(nodeId);

export function entry(index: number, t: number, data: Uint8Array = new Uint8Array(0)): Entry {
  return { index: logIndex(index), term: term(t), type: EntryType.Normal, data };
}

/** entries builds stored entries from a list of terms, starting at index `from`. */
export function entries(terms: readonly number[], from = 1): Entry[] {
  return terms.map((t, i) => entry(from + i, t));
}

/** testRaftConfig is the config a test raft gets: pre-vote and check-quorum off unless asked. */
export function testRaftConfig(
  id: string,
  storage: MemoryStorage,
  o: Partial<TestRaftOptions> = {},
): RaftConfig {
  return {
    id: nodeId(id),
    storage,
    electionTicks: 10,
    heartbeatTicks: 1,
    preVote: false,
    checkQuorum: false,
    rng: new SeededRng(o.seed ?? [...id].reduce((a, ch) => a * 31 + ch.charCodeAt(0), 7)),
    ...o.config,
  };
}

/** newTestRaft builds one peer whose storage holds `log` and the given hard state. */
export function newTestRaft(id: string, o: TestRaftOptions): Raft {
  const storage = new ConfStorage({
    ...emptyConfState,
    voters: ids(...o.voters),
    learners: ids(...(o.learners ?? [])),
  });
  if (o.log && o.log.length > 0) storage.append(entries(o.log));
  if (o.term !== undefined || o.vote !== undefined || o.commit !== undefined) {
    storage.setHardState({
      term: term(o.term ?? 0),
      vote: nodeId(o.vote ?? ''),
      commit: logIndex(o.commit ?? 0),
    });
  }
  const cfg = testRaftConfig(id, storage, o);
  return o.make ? o.make(cfg) : new Raft(cfg);
}

/** readMessages takes the messages a peer queued (flushing a batched ReadIndex round first, as RawNode does). */
export function readMessages(r: Raft): Message[] {
  r.flushReadIndex();
  const msgs = r.msgs;
  r.msgs = [];
  return msgs;
}

export const hup = (id: string): Message =>
  message({ type: MessageType.MsgHup, from: nodeId(id), to: nodeId(id) });

export const prop = (id: string, data = 'x'): Message =>
  message({
    type: MessageType.MsgProp,
    from: nodeId(id),
    to: nodeId(id),
    entries: [{ ...entry(0, 0), data: new TextEncoder().encode(data) }],
  });

export const readIndexMsg = (id: string, ctx: string): Message =>
  message({ type: MessageType.MsgReadIndex, from: nodeId(id), to: nodeId(id), context: ctx });

/** msg builds a peer message (strings for ids and numbers for terms and indexes, for brevity). */
export function msg(
  type: MessageTypeT,
  from: string,
  to: string,
  t: number,
  rest: Partial<Omit<Message, 'type' | 'from' | 'to' | 'term'>> = {},
): Message {
  return message({ type, from: nodeId(from), to: nodeId(to), term: term(t), ...rest });
}

/** termsOf lists the terms of a peer's whole log (index 1 upwards). */
export function termsOf(r: Raft): number[] {
  return r.raftLog.allEntries().map((e) => e.term);
}

export type Filter = (m: Message) => boolean;

/**
 * Network connects Raft peers. send() delivers messages breadth-first, and
 * everything they cause, until no message is left; filters drop messages.
 */
export class Network {
  readonly peers = new Map<NodeId, Raft>();
  /** delivered: every message handed to a peer, in delivery order. */
  readonly delivered: Message[] = [];
  /** dropped: every message a filter dropped. */
  readonly dropped: Message[] = [];
  private filters: Filter[] = [];
  private rewrites: Array<(m: Message) => Message> = [];

  constructor(peers: readonly Raft[]) {
    for (const p of peers) this.peers.set(p.id, p);
  }

  /** Network.of builds n peers '1'..'n' that all know the same voters and (optionally) logs. */
  static of(
    n: number,
    o: Partial<TestRaftOptions> & { logs?: Record<string, readonly number[]> } = {},
  ): Network {
    const voters = o.voters ?? Array.from({ length: n }, (_, i) => String(i + 1));
    const all = [...voters, ...(o.learners ?? [])];
    return new Network(
      all.map((id) => newTestRaft(id, { ...o, voters, log: o.logs?.[id] ?? o.log })),
    );
  }

  peer(id: string): Raft {
    const p = this.peers.get(nodeId(id));
    if (!p) throw new Error(`no peer ${id}`);
    return p;
  }

  /** drop adds a filter: matching messages are dropped until recover(). */
  drop(f: Filter): void {
    this.filters.push(f);
  }

  /** cut drops everything between a and b, both ways. */
  cut(a: string, b: string): void {
    this.drop((m) => (m.from === a && m.to === b) || (m.from === b && m.to === a));
  }

  /** isolate drops everything to and from id. */
  isolate(id: string): void {
    this.drop((m) => m.from === id || m.to === id);
  }

  /**
   * rewrite changes messages before delivery, e.g. truncates a MsgApp to a
   * prefix of its entries (as if the rest had not been sent yet).
   */
  rewrite(f: (m: Message) => Message): void {
    this.rewrites.push(f);
  }

  recover(): void {
    this.filters = [];
    this.rewrites = [];
  }

  send(...msgs: Message[]): void {
    const q = [...msgs];
    let budget = 1_000_000;
    while (q.length > 0) {
      if (--budget === 0) throw new Error('network did not quiesce');
      let m = q.shift()!;
      for (const f of this.rewrites) m = f(m);
      if (this.filters.some((f) => f(m))) {
        this.dropped.push(m);
        continue;
      }
      const p = this.peers.get(m.to);
      if (!p) continue;
      this.delivered.push(m);
      p.step(m);
      q.push(...readMessages(p));
    }
  }

  /** flush delivers whatever peers queued outside send() (ticks, direct steps). */
  flush(): void {
    const pending: Message[] = [];
    for (const p of this.peers.values()) pending.push(...readMessages(p));
    this.send(...pending);
  }

  campaign(id: string): void {
    this.send(hup(id));
  }

  propose(id: string, data = 'x'): void {
    this.send(prop(id, data));
  }

  /** tick ticks one peer n times and delivers what that causes. */
  tick(id: string, n = 1): void {
    const p = this.peer(id);
    for (let i = 0; i < n; i++) p.tick();
    this.flush();
  }

  count(type: MessageTypeT, pred: Filter = () => true): number {
    return this.delivered.filter((m) => m.type === type && pred(m)).length;
  }
}
