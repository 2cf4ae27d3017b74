// Page-side operations the end-to-end tests and the benchmark run in a tab
// through `window.tabd` (src/ui/handle.ts), returned as plain data: errors come
// back as their literal `code` instead of crossing the CDP boundary as text.
import type { Page } from 'playwright-core';

export type PutOutcome =
  { ok: true; revision: number } | { ok: false; code: string; message: string };
export type GetOutcome =
  | { ok: true; value: string | null; revision: number; modRevision: number }
  | { ok: false; code: string; message: string };

/** tryPut writes key=value through this tab's node (forwarded to the leader if need be). */
export function tryPut(page: Page, key: string, value: string): Promise<PutOutcome> {
  return page.evaluate(
    async ([k, v]) => {
      try {
        const r = await window.tabd!.localClient.put(k, v);
        return { ok: true as const, revision: r.header.revision };
      } catch (e) {
        const err = e as { code?: string; message?: string };
        return {
          ok: false as const,
          code: String(err.code ?? 'unknown'),
          message: String(err.message ?? e),
        };
      }
    },
    [key, value] as const,
  );
}

/** put is tryPut that throws on failure. */
export async function put(page: Page, key: string, value: string): Promise<number> {
  const r = await tryPut(page, key, value);
  if (!r.ok) throw new Error(`put ${key} failed: ${r.code}: ${r.message}`);
  return r.revision;
}

/** tryGet reads key in this tab: linearizable (ReadIndex) unless `serializable`. */
export function tryGet(page: Page, key: string, serializable = false): Promise<GetOutcome> {
  return page.evaluate(
    async ([k, s]) => {
      try {
        const r = await window.tabd!.localClient.get(k, { serializable: s });
        const kv = r.kvs[0];
        return {
          ok: true as const,
          value: kv ? new TextDecoder().decode(kv.value) : null,
          revision: r.header.revision,
          modRevision: kv ? kv.modRevision : 0,
        };
      } catch (e) {
        const err = e as { code?: string; message?: string };
        return {
          ok: false as const,
          code: String(err.code ?? 'unknown'),
          message: String(err.message ?? e),
        };
      }
    },
    [key, serializable] as const,
  );
}

/** get is tryGet that throws on failure. */
export async function get(page: Page, key: string, serializable = false): Promise<string | null> {
  const r = await tryGet(page, key, serializable);
  if (!r.ok) throw new Error(`get ${key} failed: ${r.code}: ${r.message}`);
  return r.value;
}

/** peerId of the tab. */
export function peerIdOf(page: Page): Promise<string> {
  return page.evaluate(() => window.tabd!.peerId);
}

/**
 * putLoop keeps writing key=`${prefix}${n}` with n = 1, 2, ... in the tab until `ms` pass,
 * one write at a time, and returns what happened to each (a write that failed is retried
 * with the next n). Runs entirely in the page, so CDP latency does not count.
 */
export function putLoopInPage(
  page: Page,
  key: string,
  prefix: string,
  ms: number,
): Promise<{ acked: number[]; failed: { n: number; code: string }[] }> {
  return page.evaluate(
    async ([k, p, dur]) => {
      const acked: number[] = [];
      const failed: { n: number; code: string }[] = [];
      const end = performance.now() + dur;
      for (let n = 1; performance.now() < end; n++) {
        try {
          await window.tabd!.localClient.put(k, `${p}${n}`);
          acked.push(n);
        } catch (e) {
          failed.push({ n, code: String((e as { code?: string }).code ?? 'unknown') });
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      return { acked, failed };
    },
    [key, prefix, ms] as const,
  );
}

/**
 * firstWriteUnderNewLeader starts, in the page, a fresh put every `everyMs` (not waiting for
 * earlier ones: a put forwarded to a dead leader only fails at its timeout) until one is
 * acknowledged while this tab sees a leader other than `oldLeader`; resolves with the wall-clock
 * time (Date.now(), comparable across processes of this machine) of that acknowledgement.
 */
export function firstWriteUnderNewLeader(
  page: Page,
  oldLeader: string,
  key: string,
  timeoutMs: number,
  everyMs = 5,
): Promise<{ at: number; leader: string; term: number } | { error: string }> {
  return page.evaluate(
    ([old, k, limit, every]) =>
      new Promise<{ at: number; leader: string; term: number } | { error: string }>((resolve) => {
        const tabd = window.tabd!;
        let done = false;
        let n = 0;
        const finish = (v: { at: number; leader: string; term: number } | { error: string }) => {
          if (done) return;
          done = true;
          clearInterval(timer);
          clearTimeout(giveUp);
          resolve(v);
        };
        const attempt = () => {
          if (done) return;
          tabd.localClient.put(k, `after-failover-${++n}`).then(
            (r) => {
              const st = tabd.status();
              if (!done && st.leader !== old && st.leader !== '')
                finish({ at: Date.now(), leader: st.leader, term: r.header.raftTerm });
            },
            () => {},
          );
        };
        const timer = setInterval(attempt, every);
        const giveUp = setTimeout(
          () => finish({ error: `no write under a new leader within ${limit} ms` }),
          limit,
        );
        attempt();
      }),
    [oldLeader, key, timeoutMs, everyMs] as const,
  );
}

/**
 * recordMessages starts recording, in the tab, the Raft messages of the given types its node
 * receives (from, type, wall-clock time), by wrapping the node's receive(); read them back
 * with recordedMessages(). Test instrumentation only: it changes nothing else.
 */
export function recordMessages(page: Page, types: string[]): Promise<void> {
  return page.evaluate((wanted) => {
    const node = window.tabd!.runtime.server.node as unknown as {
      receive(m: { type: string; from: string; term: number }): void;
    };
    const seen: { type: string; from: string; term: number; at: number }[] = [];
    (window as unknown as { __tabdRecorded: typeof seen }).__tabdRecorded = seen;
    const receive = node.receive.bind(node);
    node.receive = (m) => {
      if (wanted.includes(m.type))
        seen.push({ type: m.type, from: m.from, term: m.term, at: Date.now() });
      receive(m);
    };
  }, types);
}

export function recordedMessages(
  page: Page,
): Promise<{ type: string; from: string; term: number; at: number }[]> {
  return page.evaluate(
    () =>
      (
        window as unknown as {
          __tabdRecorded?: { type: string; from: string; term: number; at: number }[];
        }
      ).__tabdRecorded ?? [],
  );
}

/** crashTab kills the tab's renderer without pagehide (CDP Page.crash: the kill -9 of a tab). */
export async function crashTab(page: Page): Promise<void> {
  const crashed = new Promise<void>((resolve) => page.once('crash', () => resolve()));
  const cdp = await page.context().newCDPSession(page);
  // The command never gets an answer: the renderer is gone.
  void cdp.send('Page.crash').catch(() => {});
  await Promise.race([
    crashed,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('tab did not crash within 10 s')), 10_000),
    ),
  ]);
}

/** connectedPeers: the peers this tab has an open data channel to. */
export function connectedPeers(page: Page): Promise<string[]> {
  return page.evaluate(() => window.tabd!.runtime.transport.connectedPeers() as string[]);
}

/**
 * writeLoopInPage writes key=`${prefix}${n}`, n = 1, 2, ..., one write at a time, for `ms`,
 * and returns the wall-clock time (Date.now()) of each acknowledgement and each failure. It
 * yields between writes through a MessageChannel, not a timer: page timers are throttled in
 * a hidden tab, message delivery is not.
 */
export function writeLoopInPage(
  page: Page,
  key: string,
  prefix: string,
  ms: number,
): Promise<{
  acks: { n: number; at: number }[];
  failures: { n: number; at: number; code: string }[];
}> {
  return page.evaluate(
    async ([k, p, dur]) => {
      const acks: { n: number; at: number }[] = [];
      const failures: { n: number; at: number; code: string }[] = [];
      const ch = new MessageChannel();
      const yieldTask = () =>
        new Promise<void>((resolve) => {
          ch.port1.onmessage = () => resolve();
          ch.port2.postMessage(0);
        });
      const end = performance.now() + dur;
      for (let n = 1; performance.now() < end; n++) {
        try {
          await window.tabd!.localClient.put(k, `${p}${n}`);
          acks.push({ n, at: Date.now() });
        } catch (e) {
          failures.push({
            n,
            at: Date.now(),
            code: String((e as { code?: string }).code ?? 'unknown'),
          });
        }
        await yieldTask();
      }
      ch.port1.close();
      return { acks, failures };
    },
    [key, prefix, ms] as const,
  );
}
