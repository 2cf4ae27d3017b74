// Validation of decoded messages beyond their structure: the limits the codec
// enforces, and the Message invariants the Raft core would otherwise assert on
// (a peer must not be able to crash us with a well-formed but impossible
// message). The codec applies these on decode and, so that we never send what
// a receiver refuses, on encode. Rules: PROTOCOL.md, "Validation".
import {
  MessageType,
  maxVoters,
  type ConfState,
  type Message,
  type NodeId,
} from '../raft/index.js';

/** Bounds checked on decode (and on encode, so we never write what we would refuse). */
export const codecLimits = {
  /** nodeIdBytesMax: a node id is 1..255 bytes of UTF-8 (u8 length prefix). */
  nodeIdBytesMax: 255,
  /** contextBytesMax: a message context is 0..65535 bytes of UTF-8 (u16 length prefix). */
  contextBytesMax: 0xffff,
  /** votersMax: voters and outgoing voters per ConfState (the core's maxVoters). */
  votersMax: maxVoters,
  /** learnersMax: learners and learnersNext per ConfState. */
  learnersMax: 1024,
} as const;

function checkIds(ids: readonly NodeId[], what: string): string | undefined {
  if (new Set(ids).size !== ids.length) return `${what} has duplicate ids`;
  if (ids.some((id) => id.length === 0)) return `${what} has an empty id`;
  return undefined;
}

/**
 * validateConfState returns why cs breaks a ConfState invariant (types.ts),
 * or undefined. These are the invariants the core asserts when it restores a
 * snapshot, so a peer cannot crash us with a bad one.
 */
export function validateConfState(cs: ConfState): string | undefined {
  const lists = {
    voters: cs.voters,
    learners: cs.learners,
    votersOutgoing: cs.votersOutgoing,
    learnersNext: cs.learnersNext,
  };
  for (const [name, ids] of Object.entries(lists)) {
    const bad = checkIds(ids, name);
    if (bad !== undefined) return bad;
  }
  if (cs.voters.length > codecLimits.votersMax || cs.votersOutgoing.length > codecLimits.votersMax)
    return 'too many voters';
  if (
    cs.learners.length > codecLimits.learnersMax ||
    cs.learnersNext.length > codecLimits.learnersMax
  )
    return 'too many learners';
  const voters = new Set([...cs.voters, ...cs.votersOutgoing]);
  if (cs.learners.some((id) => voters.has(id))) return 'a learner is also a voter';
  const outgoing = new Set(cs.votersOutgoing);
  if (cs.learnersNext.some((id) => !outgoing.has(id)))
    return 'learnersNext must be outgoing voters';
  const joint = cs.votersOutgoing.length > 0;
  if (!joint && cs.autoLeave) return 'autoLeave outside a joint configuration';
  return undefined;
}

/**
 * validateMessage returns why m breaks a rule every wire message obeys, or
 * undefined. Besides structure, it checks what the core would otherwise
 * assert on: MsgApp entries that are not a contiguous log slice following
 * `index`, an empty MsgProp, a MsgSnap without a snapshot, a bad ConfState.
 */
export function validateMessage(m: Message): string | undefined {
  if (m.to.length === 0 || m.from.length === 0) return 'to and from must be set';
  if (m.type === MessageType.MsgApp) {
    let prevTerm: number = m.logTerm;
    for (let i = 0; i < m.entries.length; i++) {
      const e = m.entries[i]!;
      if (e.index !== m.index + 1 + i)
        return `MsgApp entry ${i} has index ${e.index}, want ${m.index + 1 + i}`;
      if (e.term < prevTerm)
        return `MsgApp entry ${i} has term ${e.term} below the previous ${prevTerm}`;
      prevTerm = e.term;
    }
  }
  if (m.type === MessageType.MsgProp && m.entries.length === 0) return 'MsgProp without entries';
  if (m.type === MessageType.MsgSnap) {
    if (m.snapshot === undefined) return 'MsgSnap without a snapshot';
    if (m.snapshot.metadata.index === 0) return 'MsgSnap with an empty snapshot (index 0)';
  }
  if (m.snapshot !== undefined) {
    const bad = validateConfState(m.snapshot.metadata.confState);
    if (bad !== undefined) return `snapshot confState: ${bad}`;
  }
  return undefined;
}
