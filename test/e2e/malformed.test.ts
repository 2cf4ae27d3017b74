// Every frame from a peer is validated before the Raft core sees it: a
// malformed or forged frame injected into a live data channel is dropped and
// counted (status().transport.framesDropped), never thrown, and the receiving
// peer keeps working. Frames are written by hand after src/transport/PROTOCOL.md.
import { expect, test } from 'vitest';

import type { WebRtcTransport } from '../../src/transport/webrtc-mesh.js';

import { status, waitForLeader } from './harness.js';
import { get, peerIdOf, put } from './ops.js';
import { clusterName, openCluster, stopwatch, useApp, useBrowser } from './setup.js';

const enc = new TextEncoder();
const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u64 = (n: number): number[] => [...u32(Math.floor(n / 2 ** 32)), ...u32(n >>> 0)];
const id = (s: string): number[] => [s.length, ...enc.encode(s)];

/** messageFrame: a version-1 Message frame (kind 1) of a message with no entries. */
function messageFrame(
  type: number,
  t: number,
  to: string,
  from: string,
  opts: { version?: number; bodyLengthDelta?: number } = {},
): number[] {
  const body = [
    type,
    0,
    ...u64(t),
    ...u64(0),
    ...u64(0),
    ...u64(0),
    ...u64(0),
    ...id(to),
    ...id(from),
    0,
    0,
    ...u32(0),
  ];
  return [
    0x74,
    0x64,
    opts.version ?? 1,
    1,
    ...u32(body.length + (opts.bodyLengthDelta ?? 0)),
    ...body,
  ];
}

const MsgHeartbeat = 9;

test('malformed frames injected into a data channel are dropped and counted; the peer keeps working', async () => {
  const lap = stopwatch('malformed');
  const app = await useApp();
  const browser = await useBrowser();
  const { pages, leader } = await openCluster(browser.context, app.url, clusterName('malformed'));
  lap('cluster up');
  // A (sender) injects into its channel to B (receiver); C is the third peer.
  const [a, b, c] = [leader, ...pages.filter((p) => p !== leader)] as [
    typeof leader,
    typeof leader,
    typeof leader,
  ];
  const [aId, bId, cId] = (await Promise.all([a, b, c].map(peerIdOf))) as [string, string, string];
  await put(a, 'before', '1');
  const before = await status(b);

  const frames: { what: string; bytes: number[] | string }[] = [
    { what: 'random bytes', bytes: Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 255) },
    { what: 'a text message', bytes: 'not a frame' },
    {
      what: 'a frame of version 2',
      bytes: messageFrame(MsgHeartbeat, before.term, bId, aId, { version: 2 }),
    },
    {
      what: 'a truncated frame (bodyLength too large)',
      bytes: messageFrame(MsgHeartbeat, before.term, bId, aId, { bodyLengthDelta: 10 }),
    },
    { what: 'an unknown message type', bytes: messageFrame(99, before.term, bId, aId) },
    // Well-formed, but it claims to come from C on the channel from A, with a term far ahead:
    // accepted, it would depose the leader. The channel authenticates the sender.
    {
      what: 'a heartbeat forged as from C with a huge term',
      bytes: messageFrame(MsgHeartbeat, before.term + 1000, bId, cId),
    },
    // Well-formed and from A, but addressed to C.
    {
      what: 'a heartbeat addressed to another peer',
      bytes: messageFrame(MsgHeartbeat, before.term, cId, aId),
    },
  ];
  const sent = await a.evaluate(
    ([to, fs]) => {
      const channel = (window.tabd!.runtime.transport as unknown as WebRtcTransport).channelTo(
        to as never,
      );
      if (!channel || channel.readyState !== 'open') return 0;
      for (const f of fs) {
        if (typeof f === 'string') channel.send(f);
        else channel.send(new Uint8Array(f));
      }
      return fs.length;
    },
    [bId, frames.map((f) => f.bytes)] as const,
  );
  expect(sent).toBe(frames.length);

  // Each is dropped and counted once; valid traffic (heartbeats) keeps flowing meanwhile.
  const deadline = Date.now() + 5_000;
  let after = await status(b);
  while (
    after.transport.framesDropped < before.transport.framesDropped + frames.length &&
    Date.now() < deadline
  ) {
    await new Promise((r) => setTimeout(r, 50));
    after = await status(b);
  }
  const lastError = await b.evaluate(
    (from) =>
      (window.tabd!.runtime.transport as unknown as WebRtcTransport).lastInboundError(from as never)
        ?.code,
    aId,
  );
  console.log(
    `[e2e] malformed: framesDropped ${before.transport.framesDropped} → ${after.transport.framesDropped}; last refusal: ${lastError}`,
  );
  expect(after.transport.framesDropped - before.transport.framesDropped).toBe(frames.length);
  expect(lastError).toBe('misaddressed');
  lap('7 bad frames dropped and counted');

  // Nothing reached the core: the forged term was never adopted (an election of this busy
  // machine's own may bump the term by one or two, not by 1000), and the peer keeps working.
  const { statuses } = await waitForLeader(pages);
  for (const s of statuses) expect(s.term).toBeLessThan(before.term + 1000);
  await put(b, 'after', 'from-b');
  for (const p of pages) expect(await get(p, 'after')).toBe('from-b');
  const later = await status(b);
  expect(later.transport.framesReceived).toBeGreaterThan(after.transport.framesReceived);
  expect(later.quorum).toBe(true);
  lap('peer keeps working');
});
