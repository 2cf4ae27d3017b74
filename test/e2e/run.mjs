#!/usr/bin/env node
// `npm run test:e2e`: runs the end-to-end suite (test/e2e/vitest.config.ts) and ends with the
// line `N passed, N failed` that scripts/test-all.mjs reads. Counts come from Vitest's JSON
// report; a run that crashes or reports nothing counts as one failure, so a broken harness
// never looks green. Extra arguments go to Vitest (e.g. a file filter).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const reportDir = mkdtempSync(path.join(tmpdir(), 'tabd-e2e-report-'));
const reportFile = path.join(reportDir, 'report.json');

const code = await new Promise((resolve) => {
  const child = spawn(
    process.execPath,
    [
      path.join(repoRoot, 'node_modules/vitest/vitest.mjs'),
      'run',
      '--config',
      'test/e2e/vitest.config.ts',
      '--reporter=default',
      '--reporter=json',
      `--outputFile=${reportFile}`,
      ...process.argv.slice(2),
    ],
    { cwd: repoRoot, stdio: 'inherit' },
  );
  child.on('error', () => resolve(127));
  child.on('close', (c, signal) => resolve(signal === null ? (c ?? 1) : 1));
});

let passed = 0;
let failed = 0;
try {
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  // A file that failed to load (or failed in a hook) without a failed test still fails.
  failed += (report.testResults ?? []).filter(
    (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
  ).length;
  if (passed + failed === 0) failed = 1;
} catch (error) {
  console.error(`[test:e2e] no JSON report (exit ${code}): ${error.message.split('\n')[0]}`);
  failed = Math.max(failed, 1);
} finally {
  rmSync(reportDir, { recursive: true, force: true });
}
if (code !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
