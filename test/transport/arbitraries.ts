// fast-check arbitraries of valid wire messages: every field of Message,
// every wire message type, entries of both types, snapshots with joint and
// simple ConfStates. "Valid" means what codec.ts validateMessage accepts, so
// round-trip properties cover the whole domain of the decoder.
import fc from 'fast-check';

import { isWellFormedString, messageTypeCodes } from '../../src/transport/codec.js';
import {
  EntryType,
  MessageType,
  type ConfState,
  type Entry,
  type LogIndex,
  type Message,
  type NodeId,
  type Snapshot,
  type Term,
} from '../../src/raft/index.js';

const utf8 = new TextEncoder();

/** A node id: mostly 16 hex digits (what tabd uses), sometimes any Unicode up to 255 bytes. */
export const nodeIdArb: fc.Arbitrary<NodeId> = fc
  .oneof(
    fc.stringMatching(/^[0-9a-f]{16}$/),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
    fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 255 }),
  )
  .filter((s) => {
    const n = utf8.encode(s).length;
    return n >= 1 && n <= 255;
  })
  .map((s) => s as NodeId);

/** A u64 on the wire: a safe non-negative integer, biased to the edges. */
export const u64Arb: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1, 0xffff_ffff, 0x1_0000_0000, Number.MAX_SAFE_INTEGER),
  fc.nat({ max: 1000 }),
  fc.maxSafeNat(),
);

const bytesArb = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 200, maxLength: 2000 }) },
);

const entryTypeArb = fc.constantFrom(EntryType.Normal, EntryType.ConfChange);

export const entryArb: fc.Arbitrary<Entry> = fc.record({
  term: u64Arb.map((n) => n as Term),
  index: u64Arb.map((n) => n as LogIndex),
  type: entryTypeArb,
  data: bytesArb,
});

/** A ConfState satisfying codec.ts validateConfState (and the invariants in types.ts). */
export const confStateArb: fc.Arbitrary<ConfState> = fc
  .uniqueArray(
    fc.record({
      id: nodeIdArb,
      // role: 0 voter, 1 learner, 2 outgoing voter, 3 voter in both halves,
      // 4 outgoing voter that becomes a learner (learnersNext).
      role: fc.integer({ min: 0, max: 4 }),
    }),
    { selector: (x) => x.id, maxLength: 16 },
  )
  .chain((members) => {
    const voters = members
      .filter((m) => m.role === 0 || m.role === 3)
      .map((m) => m.id)
      .slice(0, 7);
    const learners = members.filter((m) => m.role === 1).map((m) => m.id);
    const outgoing = members
      .filter((m) => m.role >= 2)
      .map((m) => m.id)
      .slice(0, 7);
    const learnersNext = members
      .filter((m) => m.role === 4 && outgoing.includes(m.id))
      .map((m) => m.id);
    return fc.boolean().map((autoLeave) => ({
      voters,
      learners,
      votersOutgoing: outgoing,
      learnersNext,
      autoLeave: outgoing.length > 0 && autoLeave,
    }));
  });

export const snapshotArb: fc.Arbitrary<Snapshot> = fc.record({
  metadata: fc.record({
    index: u64Arb.map((n) => n as LogIndex),
    term: u64Arb.map((n) => n as Term),
    confState: confStateArb,
  }),
  data: bytesArb,
});

/** wireTypes: the message types that cross the wire. */
export const wireTypes = Object.keys(messageTypeCodes) as MessageType[];

const contextArb = fc.oneof(
  fc.constant(''),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }).filter(isWellFormedString),
);

const baseArb = fc.record({
  to: nodeIdArb,
  from: nodeIdArb,
  term: u64Arb.map((n) => n as Term),
  logTerm: u64Arb.map((n) => n as Term),
  index: u64Arb.map((n) => n as LogIndex),
  commit: u64Arb.map((n) => n as LogIndex),
  reject: fc.boolean(),
  rejectHint: u64Arb.map((n) => n as LogIndex),
  context: contextArb,
});

/** A MsgApp whose entries are the log slice after `index`, terms never decreasing. */
const appArb: fc.Arbitrary<Message> = fc
  .record({
    base: baseArb,
    index: fc.nat({ max: 2 ** 40 }),
    logTerm: fc.nat({ max: 2 ** 40 }),
    slice: fc.array(
      fc.record({ termStep: fc.nat({ max: 3 }), type: entryTypeArb, data: bytesArb }),
      {
        maxLength: 8,
      },
    ),
  })
  .map(({ base, index, logTerm, slice }) => {
    let t = logTerm;
    const entries = slice.map((e, i) => {
      t += e.termStep;
      return { term: t as Term, index: (index + 1 + i) as LogIndex, type: e.type, data: e.data };
    });
    return {
      ...base,
      type: MessageType.MsgApp,
      index: index as LogIndex,
      logTerm: logTerm as Term,
      entries,
    };
  });

function withSnapshot(m: Message, snapshot: Snapshot | undefined): Message {
  return snapshot === undefined ? m : { ...m, snapshot };
}

/** Any valid wire message of any wire type. */
export const messageArb: fc.Arbitrary<Message> = fc.oneof(
  appArb,
  fc
    .record({ base: baseArb, entries: fc.array(entryArb, { minLength: 1, maxLength: 4 }) })
    .map(({ base, entries }) => ({ ...base, type: MessageType.MsgProp, entries })),
  fc
    .record({
      base: baseArb,
      snapshot: snapshotArb.filter((s) => s.metadata.index > 0),
    })
    .map(({ base, snapshot }) => ({ ...base, type: MessageType.MsgSnap, entries: [], snapshot })),
  fc
    .record({
      base: baseArb,
      type: fc.constantFrom(
        ...wireTypes.filter(
          (t) => t !== MessageType.MsgApp && t !== MessageType.MsgProp && t !== MessageType.MsgSnap,
        ),
      ),
      entries: fc.array(entryArb, { maxLength: 3 }),
      snapshot: fc.option(snapshotArb, { nil: undefined, freq: 4 }),
    })
    .map(({ base, type, entries, snapshot }) => withSnapshot({ ...base, type, entries }, snapshot)),
);
