// The wire codec (src/transport/codec.ts, spec in src/transport/PROTOCOL.md):
// round trips over every field, agreement with an independent writer of the
// spec, canonical encoding, and refusal (never an exception) of every kind of
// damaged or forged frame.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

import { messageArb } from './arbitraries.js';
import {
  chunkBody,
  frame,
  messageBody,
  messageFrame,
  rawFromMessage,
  specEntryTypeCodes,
  specMessageTypeCodes,
  type RawMessage,
} from './spec-frames.js';
import {
  EncodeError,
  FrameKind,
  decodeFrame,
  decodeMessage,
  encodeMessage,
  entryTypeCodes,
  messageTypeCodes,
  type FrameErrorCode,
} from '../../src/transport/codec.js';
import {
  EntryType,
  MessageType,
  message,
  nodeId,
  type Entry,
  type LogIndex,
  type Message,
  type Term,
} from '../../src/raft/index.js';
import { localMessageTypes } from '../../src/raft/types.js';

const A = nodeId('0123456789abcdef');
const B = nodeId('fedcba9876543210');

function entry(index: number, t: number, data: Uint8Array = new Uint8Array(0)): Entry {
  return { index: index as LogIndex, term: t as Term, type: EntryType.Normal, data };
}

/** A message using every field: entries of both types and a joint-config snapshot. */
const rich: Message = message({
  type: MessageType.MsgAppResp,
  to: A,
  from: B,
  term: 7 as Term,
  logTerm: 6 as Term,
  index: 41 as LogIndex,
  commit: 40 as LogIndex,
  reject: true,
  rejectHint: 39 as LogIndex,
  context: 'ctx-é✓',
  entries: [
    entry(42, 7, Uint8Array.of(1, 2, 3)),
    { ...entry(43, 7, Uint8Array.of(9)), type: EntryType.ConfChange },
  ],
  snapshot: {
    metadata: {
      index: 30 as LogIndex,
      term: 5 as Term,
      confState: {
        voters: [A, B],
        learners: [nodeId('c')],
        votersOutgoing: [A, nodeId('d')],
        learnersNext: [nodeId('d')],
        autoLeave: true,
      },
    },
    data: Uint8Array.of(5, 4, 3, 2, 1),
  },
});

function expectRefused(bytes: Uint8Array, code?: FrameErrorCode): void {
  let res: ReturnType<typeof decodeFrame> | undefined;
  expect(() => (res = decodeFrame(bytes))).not.toThrow();
  expect(res?.ok).toBe(false);
  if (code !== undefined && res !== undefined && !res.ok) expect(res.error.code).toBe(code);
}

function rawRich(): RawMessage {
  return rawFromMessage(rich);
}

describe('codec round trip', { timeout: 60_000 }, () => {
  test('a message with every field set decodes to itself', () => {
    const res = decodeMessage(encodeMessage(rich));
    expect(res).toEqual({ ok: true, message: rich });
  });

  test('property: decode(encode(m)) equals m for random messages of every wire type', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const res = decodeMessage(encodeMessage(m));
        expect(res.ok).toBe(true);
        if (res.ok) expect(res.message).toEqual(m);
      }),
      { numRuns: 1000 },
    );
  });

  test('property: encodeMessage writes exactly the bytes PROTOCOL.md describes', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        expect(encodeMessage(m)).toEqual(messageFrame(rawFromMessage(m)));
      }),
      { numRuns: 1000 },
    );
  });

  test('the code tables of PROTOCOL.md match the codec, and cover every non-local type', () => {
    expect(messageTypeCodes).toEqual(specMessageTypeCodes);
    expect(entryTypeCodes).toEqual(specEntryTypeCodes);
    for (const t of Object.values(MessageType)) {
      expect(messageTypeCodes[t] === undefined).toBe(localMessageTypes.has(t));
    }
  });

  test('decoded data does not share the frame buffer (storing it must not pin the frame)', () => {
    const bytes = encodeMessage(rich);
    const res = decodeMessage(bytes);
    if (!res.ok) throw res.error;
    expect(res.message.entries[0]!.data.buffer).not.toBe(bytes.buffer);
    expect(res.message.snapshot!.data.buffer).not.toBe(bytes.buffer);
  });

  test('size: a MsgApp with one 256-byte entry and a heartbeat encode compactly', () => {
    const app = message({
      type: MessageType.MsgApp,
      to: A,
      from: B,
      term: 12 as Term,
      logTerm: 12 as Term,
      index: 1000 as LogIndex,
      commit: 999 as LogIndex,
      entries: [entry(1001, 12, new Uint8Array(256).fill(7))],
    });
    const hb = message({
      type: MessageType.MsgHeartbeat,
      to: A,
      from: B,
      term: 12 as Term,
      commit: 999 as LogIndex,
    });
    const appBytes = encodeMessage(app).length;
    const hbBytes = encodeMessage(hb).length;
    const jsonBytes = new TextEncoder().encode(
      JSON.stringify({
        ...app,
        entries: app.entries.map((e) => ({ ...e, data: Buffer.from(e.data).toString('base64') })),
      }),
    ).length;
    console.log(
      `codec size: MsgApp with a 256-byte entry = ${appBytes} bytes (${appBytes - 256} overhead; JSON+base64 would be ${jsonBytes}); MsgHeartbeat = ${hbBytes} bytes`,
    );
    // Fixed part: 8 header + 2 + 5×8 + 2×(1+16) ids + 2 context + 4 count = 90;
    // the entry adds 21 + its data.
    expect(hbBytes).toBe(90);
    expect(appBytes).toBe(90 + 21 + 256);
    expect(appBytes).toBeLessThan(jsonBytes);
  });
});

describe('codec refuses what it must not send', { timeout: 60_000 }, () => {
  test.each([...localMessageTypes])('local type %s has no wire encoding', (type) => {
    expect(() => encodeMessage(message({ type, to: A, from: B }))).toThrow(EncodeError);
  });

  test.each([
    ['an unsafe term', { term: (2 ** 53) as Term }],
    ['a negative index', { index: -1 as LogIndex }],
    ['a fractional commit', { commit: 1.5 as LogIndex }],
    ['an empty to', { to: nodeId('') }],
    ['a 256-byte from', { from: nodeId('x'.repeat(256)) }],
    ['a lone surrogate in context', { context: 'a\ud800b' }],
    ['a 64 KiB context', { context: 'x'.repeat(0x10000) }],
  ] as const)('%s', (_name, fields) => {
    expect(() =>
      encodeMessage(message({ type: MessageType.MsgHeartbeat, to: A, from: B, ...fields })),
    ).toThrow(EncodeError);
  });

  test('invalid messages: non-contiguous MsgApp, empty MsgProp, MsgSnap without snapshot', () => {
    const app = message({
      type: MessageType.MsgApp,
      to: A,
      from: B,
      index: 5 as LogIndex,
      logTerm: 2 as Term,
    });
    expect(() => encodeMessage({ ...app, entries: [entry(7, 2)] })).toThrow(EncodeError);
    expect(() => encodeMessage({ ...app, entries: [entry(6, 1)] })).toThrow(EncodeError);
    expect(() => encodeMessage({ ...app, entries: [entry(6, 3), entry(7, 2)] })).toThrow(
      EncodeError,
    );
    expect(() => encodeMessage(message({ type: MessageType.MsgProp, to: A, from: B }))).toThrow(
      EncodeError,
    );
    expect(() => encodeMessage(message({ type: MessageType.MsgSnap, to: A, from: B }))).toThrow(
      EncodeError,
    );
  });
});

describe('codec refuses damaged and forged frames without throwing', { timeout: 60_000 }, () => {
  const samples: [string, Message][] = [
    ['rich', rich],
    ['heartbeat', message({ type: MessageType.MsgHeartbeat, to: A, from: B, term: 3 as Term })],
  ];

  test.each(samples)('%s: truncation at every byte offset is refused', (_name, m) => {
    const bytes = encodeMessage(m);
    for (let n = 0; n < bytes.length; n++) expectRefused(bytes.subarray(0, n));
  });

  test.each(samples)(
    '%s: truncation at every offset with the header length patched to match is refused',
    (_name, m) => {
      // This gets past the header check and makes every field reader meet the end.
      const bytes = encodeMessage(m);
      for (let n = 8; n < bytes.length; n++) {
        const cut = bytes.slice(0, n);
        new DataView(cut.buffer).setUint32(4, n - 8);
        expectRefused(cut);
      }
    },
  );

  test('every single-byte corruption is refused or decodes canonically (re-encodes to the same bytes)', () => {
    const bytes = encodeMessage(rich);
    let refused = 0;
    let accepted = 0;
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0x01, 0x02, 0x80, 0xff]) {
        const bad = bytes.slice();
        bad[i]! ^= mask;
        let res: ReturnType<typeof decodeMessage> | undefined;
        expect(() => (res = decodeMessage(bad))).not.toThrow();
        if (res?.ok === true) {
          // A flip inside data or a string can give another valid message;
          // then the encoding must be canonical: it writes back these bytes.
          expect(encodeMessage(res.message)).toEqual(bad);
          accepted++;
        } else {
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
  });

  test('property: random mutations of valid frames never throw; accepted ones are canonical', () => {
    fc.assert(
      fc.property(
        messageArb,
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 4,
        }),
        (m, edits) => {
          const bytes = encodeMessage(m).slice();
          for (const e of edits) bytes[e.at % bytes.length] = e.value;
          const res = decodeMessage(bytes);
          if (res.ok) expect(encodeMessage(res.message)).toEqual(bytes);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('property: random bytes, with or without a valid header, never throw', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 1, max: 4 }),
        (body, kind) => {
          expectRefused(frame(body, { kind: 99 }));
          const res = decodeFrame(frame(body, { kind }));
          // Random bodies are almost never valid; when one is, it must be canonical.
          if (res.ok && res.value.kind === FrameKind.Message) {
            expect(encodeMessage(res.value.message)).toEqual(frame(body, { kind }));
          }
          expect(() => decodeFrame(body)).not.toThrow();
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('header: bad magic, version, kinds and length', () => {
    const body = messageBody(rawRich());
    expect(decodeFrame(frame(body)).ok).toBe(true);
    expectRefused(frame(body, { magic: [0x74, 0x65] }), 'bad-magic');
    expectRefused(frame(body, { version: 2 }), 'unsupported-version');
    expectRefused(frame(body, { version: 0 }), 'unsupported-version');
    expectRefused(frame(body, { kind: 0 }), 'unknown-kind');
    expectRefused(frame(body, { kind: 5 }), 'unknown-kind');
    expectRefused(frame(body, { kind: FrameKind.Hello }), 'reserved-kind');
    expectRefused(frame(body, { kind: FrameKind.Auth }), 'reserved-kind');
    expectRefused(frame(body, { bodyLength: body.length + 1 }), 'length-mismatch');
    expectRefused(frame(body, { bodyLength: body.length - 1 }), 'length-mismatch');
    expectRefused(frame(body, { bodyLength: 0xffff_ffff }), 'length-mismatch');
    expectRefused(new Uint8Array(0), 'truncated');
  });

  test('bad enums: message type codes 0, 15, 255 and every local type; entry type 2', () => {
    for (const type of [0, 15, 255])
      expectRefused(messageFrame({ ...rawRich(), type }), 'bad-enum');
    const entries = rawRich().entries.map((e) => ({ ...e, type: 2 }));
    expectRefused(messageFrame({ ...rawRich(), entries }), 'bad-enum');
  });

  test('undefined flag bits are refused (booleans are canonical)', () => {
    expectRefused(messageFrame({ ...rawRich(), flags: 0x04 | 0x02 }), 'bad-flags');
    expectRefused(messageFrame({ ...rawRich(), flags: 0x80 | 0x02 }), 'bad-flags');
    const raw = rawRich();
    expectRefused(
      messageFrame({ ...raw, snapshot: { ...raw.snapshot!, confFlags: 2 } }),
      'bad-flags',
    );
  });

  test('unsafe integers: every u64 field above 2^53 - 1', () => {
    const big = { hi: 0x0020_0000, lo: 0 };
    const justSafe = { hi: 0x001f_ffff, lo: 0xffff_ffff };
    const ok = messageFrame({ ...rawFromMessage(samples[1]![1]), term: justSafe });
    expect(decodeMessage(ok)).toMatchObject({
      ok: true,
      message: { term: Number.MAX_SAFE_INTEGER },
    });
    for (const field of ['term', 'logTerm', 'index', 'commit', 'rejectHint'] as const) {
      expectRefused(messageFrame({ ...rawRich(), [field]: big }), 'unsafe-integer');
    }
    const raw = rawRich();
    expectRefused(
      messageFrame({ ...raw, entries: [{ ...raw.entries[0]!, term: big }] }),
      'unsafe-integer',
    );
    expectRefused(
      messageFrame({ ...raw, snapshot: { ...raw.snapshot!, index: { hi: 0xffff_ffff, lo: 0 } } }),
      'unsafe-integer',
    );
  });

  test('strings: empty or invalid-UTF-8 ids, invalid UTF-8 context', () => {
    expectRefused(messageFrame({ ...rawRich(), to: '' }), 'bad-string');
    expectRefused(messageFrame({ ...rawRich(), from: Uint8Array.of(0xc3) }), 'bad-string');
    expectRefused(messageFrame({ ...rawRich(), context: Uint8Array.of(0x61, 0xff) }), 'bad-string');
    // An overlong encoding of '/' (C0 AF) must not be accepted as '/'.
    expectRefused(messageFrame({ ...rawRich(), context: Uint8Array.of(0xc0, 0xaf) }), 'bad-string');
    // A UTF-8 BOM is kept as U+FEFF (so the string re-encodes to the same bytes).
    const bom = decodeMessage(
      messageFrame({ ...rawRich(), context: Uint8Array.of(0xef, 0xbb, 0xbf, 0x61) }),
    );
    expect(bom).toMatchObject({ ok: true, message: { context: '\ufeffa' } });
  });

  test('huge lengths and counts', () => {
    const raw = rawRich();
    expectRefused(messageFrame({ ...raw, entryCount: 0xffff_ffff }), 'count-too-large');
    // One more entry than written: the reader runs into the snapshot's bytes and then the end.
    expectRefused(messageFrame({ ...raw, entryCount: 3 }));
    expectRefused(
      messageFrame({ ...raw, entries: [{ ...raw.entries[0]!, dataLength: 0xffff_ffff }] }),
      'truncated',
    );
    expectRefused(
      messageFrame({ ...raw, snapshot: { ...raw.snapshot!, dataLength: 0x7fff_ffff } }),
      'truncated',
    );
    expectRefused(
      messageFrame({ ...raw, snapshot: { ...raw.snapshot!, listCounts: [0xffff, 1, 2, 1] } }),
      'count-too-large',
    );
    // Eight voters: over the core's maxVoters (7), even though the bytes are there.
    const eight = Array.from({ length: 8 }, (_, i) => `v${i}`);
    expectRefused(
      messageFrame({ ...raw, snapshot: { ...raw.snapshot!, lists: [eight, [], [], []] } }),
      'count-too-large',
    );
    // A context length pointing past the end of the frame.
    const body = messageBody({ ...raw, context: '' });
    const ctxAt = 2 + 40 + 1 + 16 + 1 + 16;
    new DataView(body.buffer).setUint16(ctxAt, 0xffff);
    expectRefused(frame(body), 'truncated');
  });

  test('trailing bytes after the message are refused', () => {
    const body = messageBody(rawRich());
    const longer = new Uint8Array(body.length + 1);
    longer.set(body);
    expectRefused(frame(longer), 'trailing-bytes');
    // Snapshot flag cleared: the snapshot's bytes become trailing bytes.
    expectRefused(frame(messageBody({ ...rawRich(), flags: 0x01 })), 'trailing-bytes');
  });

  test('invalid messages are refused: the core would assert on them', () => {
    const app = rawFromMessage(
      message({
        type: MessageType.MsgApp,
        to: A,
        from: B,
        index: 5 as LogIndex,
        logTerm: 2 as Term,
        entries: [entry(6, 2), entry(7, 3)],
      }),
    );
    expect(decodeMessage(messageFrame(app)).ok).toBe(true);
    const gap = { ...app, entries: [app.entries[0]!, { ...app.entries[1]!, index: 8 }] };
    expectRefused(messageFrame(gap), 'invalid-message');
    const down = { ...app, entries: [app.entries[0]!, { ...app.entries[1]!, term: 1 }] };
    expectRefused(messageFrame(down), 'invalid-message');
    expectRefused(
      messageFrame({ ...app, type: specMessageTypeCodes.MsgProp!, entries: [] }),
      'invalid-message',
    );
    expectRefused(
      messageFrame({ ...app, type: specMessageTypeCodes.MsgSnap!, entries: [] }),
      'invalid-message',
    );

    const raw = rawRich();
    const cs = (lists: [string[], string[], string[], string[]], confFlags = 0): RawMessage => ({
      ...raw,
      snapshot: { ...raw.snapshot!, lists, confFlags },
    });
    expect(decodeMessage(messageFrame(cs([['a'], ['b'], [], []]))).ok).toBe(true);
    expectRefused(messageFrame(cs([['a', 'a'], [], [], []])), 'invalid-message'); // duplicate
    expectRefused(messageFrame(cs([['a'], ['a'], [], []])), 'invalid-message'); // learner and voter
    expectRefused(messageFrame(cs([['a'], ['b'], ['b'], []])), 'invalid-message'); // learner and outgoing voter
    expectRefused(messageFrame(cs([['a'], [], ['a'], ['c']])), 'invalid-message'); // learnersNext not outgoing
    expectRefused(messageFrame(cs([['a'], [], [], []], 1)), 'invalid-message'); // autoLeave, not joint
    const snapZero = rawFromMessage({ ...rich, type: MessageType.MsgSnap, entries: [] });
    snapZero.snapshot!.index = 0;
    expectRefused(messageFrame(snapZero), 'invalid-message');
  });

  test('chunk frames: structural rules', () => {
    const ok = frame(chunkBody(1, 0, 2, 10, Uint8Array.of(1, 2, 3)), { kind: 2 });
    const res = decodeFrame(ok);
    expect(res.ok && res.value.kind === FrameKind.Chunk && res.value.count).toBe(2);
    expectRefused(frame(chunkBody(1, 0, 1, 10, Uint8Array.of(1)), { kind: 2 }), 'bad-chunk'); // count < 2
    expectRefused(frame(chunkBody(1, 2, 2, 10, Uint8Array.of(1)), { kind: 2 }), 'bad-chunk'); // index ≥ count
    expectRefused(frame(chunkBody(1, 0, 5, 4, Uint8Array.of(1)), { kind: 2 }), 'bad-chunk'); // total < count
    expectRefused(frame(chunkBody(1, 0, 2, 10, new Uint8Array(0)), { kind: 2 }), 'bad-chunk'); // empty
    expectRefused(frame(chunkBody(1, 0, 2, 2, Uint8Array.of(1, 2, 3)), { kind: 2 }), 'bad-chunk'); // piece > total
    expectRefused(frame(Uint8Array.of(0, 0, 0, 1, 0, 0), { kind: 2 }), 'truncated');
    // A chunk is not a message.
    expect(decodeMessage(ok)).toMatchObject({ ok: false, error: { code: 'unexpected-kind' } });
  });
});
