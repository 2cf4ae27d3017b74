// How IndexedDB write latency grows when several tabs of one origin write at once (as the
// peers of a cluster do): each tab commits one-put readwrite transactions to its own database,
// one at a time, for a few seconds; 1, 2 and 3 tabs at once, strict and relaxed durability.
//
//   npx tsx bench/idb-contention.ts [--seconds=3] [--bytes=4096]
import type { Page } from 'playwright-core';

import { launchBrowser, startAppServer } from '../test/e2e/harness.js';

const argOf = (name: string, dflt: string): string =>
  process.argv.find((s) => s.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const SECONDS = Number(argOf('seconds', '3'));
const BYTES = Number(argOf('bytes', '4096'));

function writeLoop(page: Page, db: string, durability: string, startAt: number) {
  return page.evaluate(
    async ([name, dur, secs, start, bytes]) => {
      const open = () =>
        new Promise<IDBDatabase>((resolve, reject) => {
          const r = indexedDB.open(name, 1);
          r.onupgradeneeded = () => r.result.createObjectStore('s');
          r.onsuccess = () => resolve(r.result);
          r.onerror = () => reject(r.error);
        });
      const db = await open();
      const value = new Uint8Array(bytes);
      while (Date.now() < start) await new Promise((r) => setTimeout(r, 5));
      const end = performance.now() + secs * 1000;
      const ms: number[] = [];
      for (let i = 0; performance.now() < end; i++) {
        const t = performance.now();
        await new Promise<void>((resolve, reject) => {
          const tx = db.transaction('s', 'readwrite', { durability: dur as IDBTransactionDurability });
          tx.objectStore('s').put(value, i % 1000);
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
        });
        ms.push(performance.now() - t);
      }
      db.close();
      ms.sort((a, b) => a - b);
      return { n: ms.length, p50: ms[Math.floor(ms.length / 2)]!, p90: ms[Math.floor(ms.length * 0.9)]! };
    },
    [db, durability, SECONDS, startAt, BYTES] as const,
  );
}

async function main(): Promise<void> {
  const app = await startAppServer();
  const browser = await launchBrowser();
  try {
    const pages: Page[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await browser.context.newPage();
      await p.goto(`${app.url}/public-404-is-fine`).catch(() => {});
      pages.push(p);
    }
    for (const durability of ['strict', 'relaxed']) {
      for (const tabs of [1, 2, 3]) {
        const startAt = Date.now() + 300;
        const rs = await Promise.all(
          pages.slice(0, tabs).map((p, i) => writeLoop(p, `contention-${durability}-${i}`, durability, startAt)),
        );
        const total = rs.reduce((s, r) => s + r.n, 0);
        console.log(
          `${durability} ${tabs} tab(s) x ${BYTES} B: ${Math.round(total / SECONDS)} txns/s in all; per tab p50 ${rs.map((r) => r.p50.toFixed(2)).join(' / ')} ms, p90 ${rs.map((r) => r.p90.toFixed(2)).join(' / ')} ms`,
        );
      }
    }
  } finally {
    await browser.close();
    await app.stop();
  }
}

await main();
