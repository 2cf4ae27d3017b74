// Logical watchers and the watch guarantees (DESIGN.md §1), checked against the committed
// history.
//
// A logical watcher watches one key range for the whole run. It lives on one node at a time (a
// segment): when that node stops, when the client decides to move, or when the watch is
// cancelled as compacted, it resumes on some node from where it was: the last event's revision
// + 1 or the last progress notification's revision + 1 (what etcd's client does), or from the
// compact revision after a compaction cancel. Taken together, the segments must deliver exactly
// the committed changes to the range from the first start revision on:
//   ordered    event revisions increase from one response to the next;
//   unique     no (revision, key) twice;
//   reliable   no committed change inside what was covered is missing (a segment covers from its
//              start to its last event or progress notification, and to its node's revision at
//              the end of the run if still open), and nothing is delivered that was not committed;
//   atomic     all events of one revision arrive in one response;
//   resumable  the segments chain without a gap;
//   compacted  a compaction cancel names a committed compact revision above the next revision
//              the watch needed;
//   prevKv     equals the key's record at revision - 1 (absent for a creation, may be omitted
//              only below the compact revision);
//   events     each event's key-value equals the committed record at its revision.
import type { KvServer } from '../../../src/node/kv-server.js';
import {
  prefixEnd,
  type KeyValue,
  type WatchId,
  type WatchResponse,
} from '../../../src/kv/index.js';
import type { NodeId } from '../../../src/raft/index.js';
import type { KeyRecord } from '../../lincheck/etcd-model.js';
import { inRange } from '../../lincheck/etcd-model.js';
import type { SimRng } from '../sim-rng.js';
import { keyString, type CommittedHistory } from './oracle.js';
import type { ClusterView } from './workload.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface WatchSpec {
  readonly key: string;
  /** rangeEnd as the history format spells it: '' = the single key, '\0' = every key >= key. */
  readonly rangeEnd: string;
  readonly prevKv: boolean;
  readonly progressNotify: boolean;
}

type SegmentEnd = 'open' | 'cancelled' | 'node-stopped' | 'compacted';

interface Segment {
  readonly n: number;
  readonly node: NodeId;
  readonly server: KvServer;
  /** requested start revision (0 = from now). */
  readonly requested: number;
  /** start: the first revision this segment must deliver (known once created). */
  start: number;
  watchId: WatchId | undefined;
  created: boolean;
  end: SegmentEnd;
  compactRevision: number;
  /** completeThrough: highest revision known delivered (last event or progress). */
  completeThrough: number;
  lastEvent: number;
  /** progress: the highest progress notification's revision. */
  progress: number;
  at: number;
}

interface ReceivedEvent {
  readonly seg: number;
  readonly resp: number;
  readonly rev: number;
  readonly key: string;
  readonly type: 'PUT' | 'DELETE';
  readonly kv: KeyValue;
  readonly prevKv: KeyValue | undefined;
  /** compactAt: the committed compact revision when the event arrived. */
  readonly compactAt: number;
  readonly at: number;
}

export class LogicalWatch {
  private readonly segments: Segment[] = [];
  private readonly events: ReceivedEvent[] = [];
  private readonly violations: string[] = [];
  private responses = 0;
  /** nextStart: where the next segment starts; 0 before the first one. */
  private nextStart: number;
  private busy = false;
  active = true;

  constructor(
    readonly name: string,
    readonly spec: WatchSpec,
    firstStart: number,
    private readonly view: ClusterView,
    private readonly oracle: CommittedHistory,
    private readonly stats: Record<string, number>,
  ) {
    this.nextStart = firstStart;
  }

  private count(k: string): void {
    this.stats[k] = (this.stats[k] ?? 0) + 1;
  }

  private get current(): Segment | undefined {
    const s = this.segments.at(-1);
    return s?.end === 'open' ? s : undefined;
  }

  /** step: open a segment if there is none; now and then move to another node. */
  step(rng: SimRng): void {
    if (!this.active || this.busy) return;
    const cur = this.current;
    if (cur === undefined) {
      this.open(rng);
      return;
    }
    if (rng.chance(0.08)) {
      cur.end = 'cancelled';
      cur.server.cancelWatch(cur.watchId!);
      this.count('watch:moved');
      this.resumeAfter(rng.between(1, 30));
    }
  }

  /** retire ends this logical watch for good (its client goes away). */
  retire(): void {
    this.active = false;
    const cur = this.current;
    if (cur === undefined) return;
    cur.end = 'cancelled';
    cur.server.cancelWatch(cur.watchId!);
  }

  private resumeAfter(steps: number): void {
    this.busy = true;
    this.view.later(steps, () => {
      this.busy = false;
      if (this.active && this.current === undefined) this.open(this.view.rng);
    });
  }

  private open(rng: SimRng): void {
    const servers = this.view.servers();
    if (servers.length === 0) return;
    const target = rng.pick(servers);
    // A negative first start means "a revision from the recent past", resolved now.
    if (this.nextStart < 0)
      this.nextStart = Math.max(1, this.view.committedRevision() - rng.between(0, 20));
    const seg: Segment = {
      n: this.segments.length,
      node: target.id,
      server: target.server,
      requested: this.nextStart,
      start: this.nextStart,
      watchId: undefined,
      created: false,
      end: 'open',
      compactRevision: 0,
      completeThrough: this.nextStart - 1,
      lastEvent: this.nextStart - 1,
      progress: 0,
      at: this.view.now,
    };
    this.segments.push(seg);
    this.count('watch:segments');
    const key = enc.encode(this.spec.key);
    const rangeEnd =
      this.spec.rangeEnd === ''
        ? undefined
        : this.spec.rangeEnd === '\0'
          ? new Uint8Array([0])
          : enc.encode(this.spec.rangeEnd);
    seg.watchId = target.server.watch(
      {
        key,
        ...(rangeEnd === undefined ? {} : { rangeEnd }),
        startRevision: this.nextStart,
        prevKv: this.spec.prevKv,
        progressNotify: this.spec.progressNotify,
      },
      (resp) => this.receive(seg, resp),
    );
  }

  /** nodeStopped: the node under the current segment stopped (crash, close, removal). */
  nodeStopped(node: NodeId): void {
    const cur = this.current;
    if (cur === undefined || cur.node !== node) return;
    cur.end = 'node-stopped';
    this.count('watch:node-stopped');
    if (this.active) this.resumeAfter(this.view.rng.between(5, 50));
  }

  private receive(seg: Segment, resp: WatchResponse): boolean {
    if (seg.end !== 'open') {
      if (!resp.canceled)
        this.violations.push(
          `${this.name} segment ${seg.n} on ${seg.node}: a response after the segment ended (${seg.end})`,
        );
      return true;
    }
    if (resp.created) {
      if (seg.created) this.violations.push(`${this.name} segment ${seg.n}: created twice`);
      seg.created = true;
      if (seg.requested <= 0) {
        seg.start = resp.header.revision + 1;
        seg.completeThrough = seg.start - 1;
        seg.lastEvent = seg.start - 1;
        this.nextStart = Math.max(this.nextStart, seg.start);
      }
    }
    if (resp.canceled) {
      if (resp.compactRevision > 0) {
        const needed = seg.lastEvent + 1;
        if (needed >= resp.compactRevision) {
          this.violations.push(
            `${this.name} segment ${seg.n} on ${seg.node}: cancelled as compacted at ${resp.compactRevision}, but it needed revision ${needed}, which is retained`,
          );
        }
        if (resp.compactRevision > this.oracle.compactRevision) {
          this.violations.push(
            `${this.name} segment ${seg.n} on ${seg.node}: cancelled as compacted at ${resp.compactRevision}, but the committed compact revision is ${this.oracle.compactRevision}`,
          );
        }
        seg.end = 'compacted';
        seg.compactRevision = resp.compactRevision;
        this.count('watch:compacted');
        // etcd's rule: resume from the compact revision (what came before it is gone).
        this.nextStart = Math.max(this.nextStart, resp.compactRevision);
        if (this.active) this.resumeAfter(this.view.rng.between(1, 20));
      } else if (seg.end === 'open') {
        // Only the client cancels; a cancel it did not ask for ends the segment too.
        seg.end = 'cancelled';
        this.violations.push(
          `${this.name} segment ${seg.n} on ${seg.node}: cancelled without a reason (${resp.cancelReason})`,
        );
      }
      return true;
    }
    if (resp.events.length === 0) {
      if (!resp.created) {
        // A progress notification: everything up to header.revision has been sent.
        seg.progress = Math.max(seg.progress, resp.header.revision);
        seg.completeThrough = Math.max(seg.completeThrough, resp.header.revision);
        this.nextStart = Math.max(this.nextStart, seg.completeThrough + 1);
        this.count('watch:progress');
      }
      return true;
    }
    const r = this.responses++;
    for (const ev of resp.events) {
      const rev = ev.kv.modRevision;
      this.events.push({
        seg: seg.n,
        resp: r,
        rev,
        key: keyString(ev.kv.key),
        type: ev.type,
        kv: ev.kv,
        prevKv: ev.prevKv,
        compactAt: this.oracle.compactRevision,
        at: this.view.now,
      });
      if (rev <= seg.progress) {
        this.violations.push(
          `${this.name} segment ${seg.n} on ${seg.node}: event at revision ${rev} after a progress notification for revision ${seg.progress}`,
        );
      }
      seg.lastEvent = Math.max(seg.lastEvent, rev);
    }
    seg.completeThrough = Math.max(seg.completeThrough, seg.lastEvent);
    this.nextStart = Math.max(this.nextStart, seg.completeThrough + 1);
    this.count('watch:events');
    return true;
  }

  /**
   * check compares what arrived with the committed history. nodeRevision gives the revision of a
   * running node at the end of the run (undefined if it is not running).
   */
  check(nodeRevision: (node: NodeId) => number | undefined): string[] {
    const out = [...this.violations];
    const o = this.oracle;
    const spec = this.spec;
    const inSpec = (k: string): boolean => inRange(k, spec.key, spec.rangeEnd);
    // Coverage: the revisions each segment vouches for.
    const covered: [number, number][] = [];
    for (const s of this.segments) {
      if (!s.created) continue;
      let through = s.completeThrough;
      if (s.end === 'open') {
        const rev = nodeRevision(s.node);
        if (rev !== undefined) through = Math.max(through, rev);
      }
      if (through >= s.start) covered.push([s.start, through]);
    }
    const isCovered = (rev: number): boolean => covered.some(([a, b]) => rev >= a && rev <= b);
    // Ordered, unique, atomic.
    let lastRev = 0;
    let lastResp = -1;
    const seen = new Set<string>();
    const respOfRev = new Map<number, number>();
    for (const e of this.events) {
      const id = `${e.rev}/${e.key}`;
      if (seen.has(id))
        out.push(
          `${this.name}: unique: event ${e.type} ${JSON.stringify(e.key)}@${e.rev} delivered twice (segment ${e.seg})`,
        );
      seen.add(id);
      if (e.rev < lastRev || (e.resp !== lastResp && e.rev === lastRev)) {
        out.push(
          `${this.name}: ordered: event ${JSON.stringify(e.key)}@${e.rev} (segment ${e.seg}) after an event at revision ${lastRev}`,
        );
      }
      const rr = respOfRev.get(e.rev);
      if (rr !== undefined && rr !== e.resp)
        out.push(`${this.name}: atomic: revision ${e.rev} split over two responses`);
      respOfRev.set(e.rev, e.resp);
      lastRev = Math.max(lastRev, e.rev);
      lastResp = e.resp;
      // Content against the committed history.
      const change = o.changesAt(e.rev).find((c) => c.key === e.key);
      if (!inSpec(e.key))
        out.push(`${this.name}: event for ${JSON.stringify(e.key)}, outside the watched range`);
      if (change === undefined) {
        out.push(
          `${this.name}: event ${e.type} ${JSON.stringify(e.key)}@${e.rev} matches no committed change (revision ${e.rev}: ${o.describeRevision(e.rev)})`,
        );
        continue;
      }
      const want = change.record;
      const bad = eventMismatch(e, want);
      if (bad) out.push(`${this.name}: event ${e.type} ${JSON.stringify(e.key)}@${e.rev}: ${bad}`);
      if (spec.prevKv) {
        const prev = o.stateAt(e.rev - 1)?.keys.get(e.key);
        if (prev === undefined) {
          if (e.prevKv !== undefined)
            out.push(
              `${this.name}: event ${JSON.stringify(e.key)}@${e.rev} has a prevKv, but the key did not exist at ${e.rev - 1}`,
            );
        } else if (e.prevKv === undefined) {
          if (e.rev - 1 >= e.compactAt)
            out.push(
              `${this.name}: event ${JSON.stringify(e.key)}@${e.rev} lacks prevKv (revision ${e.rev - 1} is retained)`,
            );
        } else {
          const pb = recordMismatch(e.prevKv, prev);
          if (pb)
            out.push(`${this.name}: event ${JSON.stringify(e.key)}@${e.rev}: wrong prevKv: ${pb}`);
        }
      } else if (e.prevKv !== undefined) {
        out.push(
          `${this.name}: event ${JSON.stringify(e.key)}@${e.rev} has a prevKv it did not ask for`,
        );
      }
      if (!isCovered(e.rev))
        out.push(
          `${this.name}: event ${JSON.stringify(e.key)}@${e.rev} outside every segment's span`,
        );
    }
    // Reliable and resumable: every committed change in a covered revision arrived. Except one
    // thing etcd does too (src/kv/mvcc.ts): compaction at R keeps R's puts but not its deletions,
    // so a catch-up from exactly a compact revision does not see the deletions made at it.
    const compacted = new Set(o.compactions.map((c) => c.revision));
    const maxRev = o.revision;
    let missing = 0;
    let firstMissing = '';
    for (const [a, b] of covered) {
      for (let rev = a; rev <= Math.min(b, maxRev); rev++) {
        for (const c of o.changesAt(rev)) {
          if (!inSpec(c.key) || seen.has(`${rev}/${c.key}`)) continue;
          if (c.record === null && compacted.has(rev)) {
            this.stats['watch:deletesAtCompactRevision'] =
              (this.stats['watch:deletesAtCompactRevision'] ?? 0) + 1;
            continue;
          }
          missing++;
          if (firstMissing === '')
            firstMissing = `${c.record === null ? 'DELETE' : 'PUT'} ${JSON.stringify(c.key)}@${rev} (${o.describeRevision(rev)})`;
        }
      }
    }
    if (missing > 0) {
      out.push(
        `${this.name}: reliable: ${missing} committed events never delivered, first ${firstMissing}; segments ${this.describeSegments(nodeRevision)}`,
      );
    }
    // Chaining: each segment starts where the previous one left off (or at a compact revision).
    for (let i = 1; i < this.segments.length; i++) {
      const prev = this.segments[i - 1]!;
      const s = this.segments[i]!;
      if (!prev.created) continue;
      const expect =
        prev.end === 'compacted'
          ? Math.max(prev.completeThrough + 1, prev.compactRevision)
          : prev.completeThrough + 1;
      if (s.requested > expect)
        out.push(
          `${this.name}: resumable: segment ${s.n} started at ${s.requested}, after ${expect}`,
        );
    }
    return out;
  }

  describeSegments(nodeRevision: (node: NodeId) => number | undefined): string {
    return this.segments
      .map(
        (s) =>
          `#${s.n}@${s.node}[${s.start}..${s.completeThrough}${s.end === 'open' ? `/node ${nodeRevision(s.node) ?? 'down'}` : ''} ${s.end}${s.compactRevision ? ` C=${s.compactRevision}` : ''}]`,
      )
      .join(' ');
  }

  get eventCount(): number {
    return this.events.length;
  }
}

function recordMismatch(kv: KeyValue, want: KeyRecord): string | undefined {
  const got = {
    value: dec.decode(kv.value),
    modRevision: kv.modRevision,
    createRevision: kv.createRevision,
    version: kv.version,
    lease: kv.lease,
  };
  const exp = {
    value: want.value,
    modRevision: want.modRevision,
    createRevision: want.createRevision,
    version: want.version,
    lease: String(want.lease),
  };
  for (const k of Object.keys(exp) as (keyof typeof exp)[]) {
    if (got[k] !== exp[k]) return `got ${JSON.stringify(got)}, committed ${JSON.stringify(exp)}`;
  }
  return undefined;
}

function eventMismatch(e: ReceivedEvent, want: KeyRecord | null): string | undefined {
  if (want === null) {
    if (e.type !== 'DELETE') return 'a PUT where the key was deleted';
    return e.kv.modRevision === e.rev ? undefined : `DELETE with modRevision ${e.kv.modRevision}`;
  }
  if (e.type !== 'PUT') return 'a DELETE where the key was put';
  return recordMismatch(e.kv, want);
}

/** randomWatchSpec draws what a logical watcher watches. */
export function randomWatchSpec(
  rng: SimRng,
  keys: readonly string[],
  prefixes: readonly string[],
): WatchSpec {
  const x = rng.intn(3);
  const prevKv = rng.chance(0.6);
  const progressNotify = rng.chance(0.5);
  if (x === 0) return { key: rng.pick(keys), rangeEnd: '', prevKv, progressNotify };
  if (x === 1) {
    const p = rng.pick(prefixes);
    return { key: p, rangeEnd: keyString(prefixEnd(enc.encode(p))), prevKv, progressNotify };
  }
  return { key: 'a', rangeEnd: '\0', prevKv, progressNotify };
}
