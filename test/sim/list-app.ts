// The default application: each node's state is the ordered list of applied
// payloads (strings). Clients propose unique values "c<client>-<n>" and issue
// ReadIndex requests.
import type { LogIndex, NodeId } from '../../src/raft/index.js';
import type { ClientApi, SimApp, StateMachine, Workload } from './app.js';
import type { SimRng } from './sim-rng.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** ListStateMachine keeps the applied payloads in order, with a rolling hash as fingerprint. */
export class ListStateMachine implements StateMachine {
  values: string[] = [];
  private h = 0x811c9dc5;

  apply(_index: LogIndex, data: Uint8Array): void {
    this.push(dec.decode(data));
  }

  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify(this.values));
  }

  restore(data: Uint8Array): void {
    this.values = [];
    this.h = 0x811c9dc5;
    if (data.length === 0) return;
    const vs = JSON.parse(dec.decode(data)) as unknown;
    if (!Array.isArray(vs)) throw new Error('list snapshot is not an array');
    for (const v of vs) this.push(String(v));
  }

  fingerprint(): string {
    return `${this.values.length}:${(this.h >>> 0).toString(16)}`;
  }

  describe(): string {
    const n = this.values.length;
    const tail = this.values.slice(Math.max(0, n - 3)).join(',');
    return `${n} values [..${tail}]`;
  }

  private push(v: string): void {
    this.values.push(v);
    for (let i = 0; i < v.length; i++) this.h = Math.imul(this.h ^ v.charCodeAt(i), 0x01000193);
    this.h = Math.imul(this.h ^ 0x2c, 0x01000193);
  }
}

/** ListWorkload: a few clients proposing unique values and asking for read points. */
export class ListWorkload implements Workload {
  private readonly next: number[];
  private proposed = 0;
  private dropped = 0;
  private reads = 0;
  private readsDropped = 0;
  private readsAnswered = 0;

  constructor(
    private readonly clients: number,
    private readonly readRatio: number,
    private readonly leaderRatio: number,
  ) {
    this.next = new Array<number>(clients).fill(0);
  }

  act(api: ClientApi): void {
    const nodes = api.upNodes();
    if (nodes.length === 0) return;
    const lead = api.leader();
    const target =
      lead !== undefined && api.rng.chance(this.leaderRatio) ? lead : api.rng.pick(nodes);
    const c = api.rng.intn(this.clients);
    if (api.rng.chance(this.readRatio)) {
      this.reads++;
      const err = api.readIndex(target, `r${c}-${this.reads}`);
      if (err) this.readsDropped++;
      return;
    }
    const n = this.next[c]!++;
    this.proposed++;
    const err = api.propose(target, enc.encode(`c${c}-${n}`));
    if (err) this.dropped++;
  }

  onReadState(): void {
    this.readsAnswered++;
  }

  stats(): Record<string, number> {
    return {
      proposals: this.proposed,
      proposalsDropped: this.dropped,
      reads: this.reads,
      readsDropped: this.readsDropped,
      readsAnswered: this.readsAnswered,
    };
  }
}

/** listApp is the default SimApp. */
export const listApp: SimApp = {
  name: 'list',
  createStateMachine: (_node: NodeId) => new ListStateMachine(),
  createWorkload: (rng: SimRng) =>
    new ListWorkload(3, 0.15 + rng.float() * 0.1, 0.2 + rng.float() * 0.3),
  probe: (k: number) => enc.encode(`live-${k}`),
};
