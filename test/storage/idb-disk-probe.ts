// Measures IdbStorage on a real on-disk Chromium profile, which the vitest browser project cannot:
// Playwright's launch() + newContext() gives an off-the-record context whose IndexedDB lives in
// memory (no file, no fsync), so 'strict' and 'relaxed' cost the same there. This script serves
// the repository with Vite, opens /src/storage/index.ts in a persistent profile (a temporary
// directory) and in an off-the-record context, and prints persist latency by durability mode and
// load times. Not a test (nothing asserted); run it by hand:
//
//   npx tsx test/storage/idb-disk-probe.ts [rounds=200] [--load]
//
// Observed here with strace (-e fsync,fdatasync): on the on-disk profile a 'strict' transaction
// makes exactly one sync call and 'relaxed'/'default' none; off the record, none at all.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { createServer } from 'vite';

const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost',
];

const rounds = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 200);
const withLoad = process.argv.includes('--load');

interface ProbeResult {
  persist: Record<string, string>;
  load?: Record<string, string>;
}

/** measure runs in the page: everything it needs is imported there from the Vite server. */
async function measure(page: Page): Promise<ProbeResult> {
  // tsx (esbuild, keepNames) wraps functions in __name(); the page has no such helper.
  await page.evaluate('globalThis.__name = (f) => f');
  return page.evaluate(
    async ({ rounds, withLoad }) => {
      const m = await import(/* @vite-ignore */ '/src/storage/index.ts' as string);
      const payload = (n: number) => {
        const b = new Uint8Array(n);
        for (let i = 0; i < n; i++) b[i] = (i * 7) & 0xff;
        return b;
      };
      const mk = (first: number, count: number, size: number) =>
        Array.from({ length: count }, (_, i) => ({
          index: first + i,
          term: 1,
          type: 'normal',
          data: payload(size),
        }));
      const hs = (commit: number) => ({ term: 1, vote: 'a', commit });
      const pct = (xs: number[], p: number) =>
        [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
      const fmt = (xs: number[]) =>
        `p50 ${pct(xs, 0.5).toFixed(2)} ms, p90 ${pct(xs, 0.9).toFixed(2)} ms, p99 ${pct(xs, 0.99).toFixed(2)} ms`;

      const configs = ['relaxed/1', 'strict/1', 'relaxed/64', 'strict/64'];
      const stores = new Map<
        string,
        { s: InstanceType<typeof m.IdbStorage>; next: number; samples: number[] }
      >();
      for (const k of configs) {
        const s = await m.IdbStorage.open(`probe/${k}/${crypto.randomUUID()}`, {
          durability: k.split('/')[0],
        });
        await s.load();
        stores.set(k, { s, next: 1, samples: [] });
      }
      // Interleaved, so that load on the machine falls on every configuration alike.
      for (let r = 0; r < rounds; r++) {
        for (const k of configs) {
          const st = stores.get(k)!;
          const n = Number(k.split('/')[1]);
          const entries = mk(st.next, n, 256);
          st.next += n;
          const t0 = performance.now();
          await st.s.persist({ entries, hardState: hs(st.next - 1) });
          st.samples.push(performance.now() - t0);
        }
      }
      const persist: Record<string, string> = {};
      for (const [k, st] of stores) {
        persist[`${k} × 256 B`] = fmt(st.samples);
        await st.s.close();
        await m.IdbStorage.destroy(st.s.dbName);
      }
      if (!withLoad) return { persist };

      const load: Record<string, string> = {};
      const timeLoads = async (name: string, expected: number) => {
        const times: string[] = [];
        for (let r = 0; r < 3; r++) {
          const s = await m.IdbStorage.open(name);
          const t0 = performance.now();
          const state = await s.load();
          times.push((performance.now() - t0).toFixed(0));
          if (state.entries.length !== expected)
            throw new Error(`loaded ${state.entries.length}, expected ${expected}`);
          await s.close();
        }
        await m.IdbStorage.destroy(name);
        return `${times.join(', ')} ms`;
      };
      // 100k entries of 256 B in 1000 segments (written with relaxed durability to save time).
      let name = `probe/load/${crypto.randomUUID()}`;
      let s = await m.IdbStorage.open(name, { durability: 'relaxed' });
      await s.load();
      for (let i = 0; i < 1000; i++)
        await s.persist({ entries: mk(i * 100 + 1, 100, 256), hardState: hs(i * 100 + 100) });
      await s.close();
      load['100k × 256 B in 1000 segments'] = await timeLoads(name, 100_000);
      // 5000 single-entry Readys of 100 B: merged (default policy) and one record each.
      for (const [label, mergePolicy] of [
        ['merged (default policy)', undefined],
        ['unmerged (fanIn 1)', { fanIn: 1, smallBytes: 0 }],
      ] as const) {
        name = `probe/small/${crypto.randomUUID()}`;
        s = await m.IdbStorage.open(name, { durability: 'relaxed', mergePolicy });
        await s.load();
        for (let i = 1; i <= 5000; i++)
          await s.persist({ entries: mk(i, 1, 100), hardState: hs(i) });
        await s.close();
        load[`5000 × 100 B single-entry Readys, ${label}`] = await timeLoads(name, 5000);
      }
      return { persist, load };
    },
    { rounds, withLoad },
  );
}

const repoRoot = path.resolve(import.meta.dirname, '../..');
const server = await createServer({
  root: repoRoot,
  configFile: path.join(repoRoot, 'vite.config.ts'),
  logLevel: 'warn',
  server: { host: '127.0.0.1', port: 5400 + Math.floor(Math.random() * 500), strictPort: false },
});
await server.listen();
const url = `${server.resolvedUrls!.local[0]!.replace(/\/$/, '')}/src/storage/index.ts`;
const profile = mkdtempSync(path.join(tmpdir(), 'tabd-idb-probe-'));
try {
  const disk = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: chromiumArgs,
  });
  const diskPage = disk.pages()[0] ?? (await disk.newPage());
  await diskPage.goto(url);
  console.log('on-disk profile:', JSON.stringify(await measure(diskPage), null, 2));
  await disk.close();

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: chromiumArgs,
  });
  const otrPage = await browser.newPage();
  await otrPage.goto(url);
  console.log(
    'off-the-record context (what vitest browser tests get):',
    JSON.stringify(await measure(otrPage), null, 2),
  );
  await browser.close();
} finally {
  rmSync(profile, { recursive: true, force: true });
  await server.close();
}
