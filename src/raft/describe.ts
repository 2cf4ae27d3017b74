// Printers for Raft data: one-line, deterministic renderings of messages,
// entries, Readys, progress and membership, used by the scenario tests'
// golden traces (test/scenario) and handy in debug logs. Pure functions: no
// object identity, no clocks, maps and sets printed in sorted order, so the
// same run always prints the same text.
import { describeConfChange, decodeConfChange } from './confchange.js';
import type { Progress } from './progress.js';
import type { ProgressStatus, Status } from './raw-node.js';
import {
  EntryType,
  MessageType,
  NONE,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type Ready,
  type Snapshot,
  type SoftState,
} from './types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** describeData renders an entry payload: a JSON string when it is UTF-8, else `0x` hex. */
export function describeData(data: Uint8Array): string {
  try {
    return JSON.stringify(utf8.decode(data));
  } catch {
    let hex = '0x';
    for (const b of data) hex += b.toString(16).padStart(2, '0');
    return hex;
  }
}

/** describeEntry renders `term/index "data"` for a normal entry, `term/index conf <change>` for a conf change. */
export function describeEntry(e: Entry): string {
  if (e.type === EntryType.ConfChange) {
    let cc: string;
    try {
      cc = describeConfChange(decodeConfChange(e.data));
    } catch {
      cc = `malformed ${describeData(e.data)}`;
    }
    return `${e.term}/${e.index} conf ${cc}`;
  }
  return `${e.term}/${e.index} ${describeData(e.data)}`;
}

/** describeEntries joins entries with ", " (for one-line message renderings). */
export function describeEntries(es: readonly Entry[]): string {
  return es.map(describeEntry).join(', ');
}

/** describeIds renders a set of node ids as `(1 2 3)`, sorted. */
export function describeIds(ids: Iterable<NodeId>): string {
  return `(${[...ids].sort().join(' ')})`;
}

/** describeConfState renders a membership; empty outgoing/learner sets are left out. */
export function describeConfState(cs: ConfState): string {
  let s = `Voters:${describeIds(cs.voters)}`;
  if (cs.votersOutgoing.length > 0) s += ` Outgoing:${describeIds(cs.votersOutgoing)}`;
  if (cs.learners.length > 0) s += ` Learners:${describeIds(cs.learners)}`;
  if (cs.learnersNext.length > 0) s += ` LearnersNext:${describeIds(cs.learnersNext)}`;
  if (cs.autoLeave) s += ' AutoLeave';
  return s;
}

/** describeSnapshot renders a snapshot's metadata and the size of its data. */
export function describeSnapshot(s: Snapshot): string {
  return `Index:${s.metadata.index} Term:${s.metadata.term} ${describeConfState(s.metadata.confState)} Data:${s.data.length}B`;
}

export function describeHardState(hs: HardState): string {
  return `Term:${hs.term} Vote:${hs.vote === NONE ? '-' : hs.vote} Commit:${hs.commit}`;
}

export function describeSoftState(ss: SoftState): string {
  return `State:${ss.raftState} Lead:${ss.lead === NONE ? '-' : ss.lead}`;
}

export function describeReadState(rs: ReadState): string {
  return `Index:${rs.index} Ctx:${JSON.stringify(rs.requestCtx)}`;
}

/**
 * describeMessage renders `from->to Type Term:t` followed by the fields that
 * type uses. Every non-zero field is shown, so nothing a message carries is
 * hidden from a trace.
 */
export function describeMessage(m: Message): string {
  let s = `${m.from === NONE ? '-' : m.from}->${m.to === NONE ? '-' : m.to} ${m.type} Term:${m.term}`;
  switch (m.type) {
    case MessageType.MsgApp:
      s += ` Log:${m.logTerm}/${m.index} Commit:${m.commit}`;
      break;
    case MessageType.MsgAppResp:
      // A rejection carries the follower's hint: the largest index whose term is ≤ the probe's.
      s += m.reject
        ? ` Rejected Index:${m.index} Hint:${m.rejectHint} HintTerm:${m.logTerm}`
        : ` Index:${m.index}`;
      break;
    case MessageType.MsgVote:
    case MessageType.MsgPreVote:
      s += ` Log:${m.logTerm}/${m.index}`;
      break;
    case MessageType.MsgVoteResp:
    case MessageType.MsgPreVoteResp:
      if (m.reject) s += ' Rejected';
      break;
    case MessageType.MsgHeartbeat:
      s += ` Commit:${m.commit}`;
      break;
    case MessageType.MsgReadIndexResp:
      s += ` Index:${m.index}`;
      break;
    default:
      // Types without their own layout print whatever non-zero fields they carry.
      if (m.logTerm !== 0 || m.index !== 0) s += ` Log:${m.logTerm}/${m.index}`;
      if (m.commit !== 0) s += ` Commit:${m.commit}`;
      if (m.reject) s += ' Rejected';
      if (m.rejectHint !== 0) s += ` Hint:${m.rejectHint}`;
  }
  if (m.entries.length > 0) s += ` Entries:[${describeEntries(m.entries)}]`;
  if (m.snapshot !== undefined) s += ` Snapshot[${describeSnapshot(m.snapshot)}]`;
  if (m.context !== '') s += ` Ctx:${JSON.stringify(m.context)}`;
  return s;
}

/**
 * describeReady renders a Ready as lines: a header, then only the parts that
 * are present. Items of a list are indented by two spaces under their heading.
 */
export function describeReady(rd: Ready): string[] {
  const out: string[] = [`Ready${rd.mustSync ? ' (must sync)' : ''}`];
  if (rd.softState) out.push(describeSoftState(rd.softState));
  if (rd.hardState) out.push(`HardState ${describeHardState(rd.hardState)}`);
  if (rd.snapshot) out.push(`Snapshot ${describeSnapshot(rd.snapshot)}`);
  const list = (title: string, items: readonly string[]): void => {
    if (items.length === 0) return;
    out.push(`${title}:`);
    for (const it of items) out.push(`  ${it}`);
  };
  list('Entries', rd.entries.map(describeEntry));
  list('Committed', rd.committedEntries.map(describeEntry));
  list('ReadStates', rd.readStates.map(describeReadState));
  list('Messages', rd.messages.map(describeMessage));
  return out;
}

/** describeProgress renders the leader's view of one member (includes the pending snapshot index). */
export function describeProgress(pr: Progress): string {
  let s = `${pr.state} match=${pr.match} next=${pr.next}`;
  if (pr.isLearner) s += ' learner';
  if (pr.isPaused()) s += ' paused';
  if (pr.pendingSnapshot > 0) s += ` pendingSnap=${pr.pendingSnapshot}`;
  if (!pr.recentActive) s += ' inactive';
  const n = pr.inflights.count();
  if (n > 0) s += ` inflight=${n}${pr.inflights.full() ? '[full]' : ''}`;
  return s;
}

/** describeProgressStatus renders a ProgressStatus from RawNode.status(). */
export function describeProgressStatus(p: ProgressStatus): string {
  let s = `${p.state} match=${p.match} next=${p.next}`;
  if (p.isLearner) s += ' learner';
  if (p.paused) s += ' paused';
  if (!p.recentActive) s += ' inactive';
  if (p.inflight > 0) s += ` inflight=${p.inflight}`;
  return s;
}

/** describeStatus renders RawNode.status() as lines; progress (leaders only) sorted by id. */
export function describeStatus(st: Status): string[] {
  const out = [
    `${st.id}: ${describeSoftState(st.softState)} ${describeHardState(st.hardState)} Applied:${st.applied} LastIndex:${st.lastIndex}`,
    `config: ${st.configDescription}`,
  ];
  if (st.leadTransferee !== NONE) out.push(`transferring to ${st.leadTransferee}`);
  if (st.progress) {
    for (const id of [...st.progress.keys()].sort())
      out.push(`  ${id}: ${describeProgressStatus(st.progress.get(id)!)}`);
  }
  return out;
}
