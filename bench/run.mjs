#!/usr/bin/env node
// `npm run bench`: the Raft core and KV benchmarks (bench/core.ts, bench/kv.ts, when present),
// then the browser benchmark (bench/browser.ts: a cluster of tabs in headless Chromium against
// a 3-member etcd), which writes bench/results/latest.json. Arguments go to bench/browser.ts.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsx = ['--import', 'tsx'];

/** Each step: a file and how to run it (node with tsx; --expose-gc for steadier heap figures). */
const steps = [
  { file: 'bench/core.ts', args: ['--expose-gc', ...tsx, 'bench/core.ts'] },
  { file: 'bench/kv.ts', args: ['--expose-gc', ...tsx, 'bench/kv.ts'] },
  { file: 'bench/browser.ts', args: [...tsx, 'bench/browser.ts', ...process.argv.slice(2)] },
];

function run(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
    child.on('error', () => resolve(127));
    child.on('close', (code, signal) => resolve(signal === null ? (code ?? 1) : 1));
  });
}

let failed = 0;
for (const step of steps) {
  if (!existsSync(path.join(root, step.file))) continue;
  console.log(`\n==== ${step.file} ${'='.repeat(60)}`);
  const code = await run(step.args);
  if (code !== 0) {
    console.error(`[bench] ${step.file} exited with ${code}`);
    failed++;
  }
}
process.exitCode = failed > 0 ? 1 : 0;
