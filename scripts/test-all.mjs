#!/usr/bin/env node
// The single test command (`npm test`, and what .ci/run calls).
//
// Runs, in order: the typecheck, the linter, each Vitest project on its own (unit, scenario,
// sim, browser), then the extra suites listed below. Every child's output is streamed as it
// comes, so CI logs show progress and failures in place. At the end it prints a per-suite table
// and, as the very last line, `N passed, N failed`; the exit code is non-zero if anything failed.
//
// Counting: the typecheck and the lint are one check each. A Vitest project contributes its
// passed and failed test counts, read from its JSON report. A suite that crashes, exits non-zero
// without reporting a failed test, or produces no counts at all contributes one failure, so a
// broken harness can never look green.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Extra suites, run after the Vitest projects. Each is a shell command whose output contains a
 * line like `12 passed, 0 failed`; the last such line gives its counts. Register new ones here,
 * e.g. { name: 'etcd', command: 'npm run test:etcd' } for the differential tests against a real
 * etcd, a slice of the simulator CLI, or end-to-end multi-tab browser tests.
 */
const EXTRA_SUITES = [
  { name: 'etcd', command: 'npm run test:etcd' },
  { name: 'e2e', command: 'npm run test:e2e' },
];

const VITEST_PROJECTS = ['unit', 'scenario', 'sim', 'browser'];

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const reportDir = mkdtempSync(path.join(tmpdir(), 'tabd-test-'));
const countsLine = /(\d+) passed, (\d+) failed/;
// eslint-disable-next-line no-control-regex -- matching terminal escape codes is the point
const ansiEscape = /\u001b\[[0-9;]*[A-Za-z]/g;

/**
 * Runs a command with the repository as working directory, streaming its output. When `capture`
 * is set the combined output is also kept (for extra suites whose counts are parsed from it).
 */
function run(command, args, { capture = false, shell = false } = {}) {
  return new Promise((resolve) => {
    const startedAt = performance.now();
    const child = spawn(command, args, {
      cwd: repoRoot,
      shell,
      stdio: capture ? ['inherit', 'pipe', 'pipe'] : 'inherit',
      env: process.env,
    });
    let output = '';
    if (capture) {
      child.stdout.on('data', (chunk) => {
        process.stdout.write(chunk);
        output += chunk.toString();
      });
      child.stderr.on('data', (chunk) => {
        process.stderr.write(chunk);
        output += chunk.toString();
      });
    }
    child.on('error', (error) => {
      console.error(`[test-all] could not start ${command}: ${error.message}`);
      resolve({ code: 127, output, seconds: (performance.now() - startedAt) / 1000 });
    });
    child.on('close', (code, signal) => {
      if (signal !== null) console.error(`[test-all] ${command} was killed by ${signal}`);
      resolve({ code: code ?? 1, output, seconds: (performance.now() - startedAt) / 1000 });
    });
  });
}

function banner(title) {
  const rule = '='.repeat(Math.max(8, 72 - title.length));
  console.log(`\n==== ${title} ${rule}`);
}

/** A typecheck or lint: one check that passes when the command exits 0. */
async function runCheck(name, command, args) {
  banner(name);
  const { code, seconds } = await run(command, args);
  const ok = code === 0;
  return {
    name,
    passed: ok ? 1 : 0,
    failed: ok ? 0 : 1,
    skipped: 0,
    seconds,
    note: ok ? '' : `exit ${code}`,
  };
}

/** Reads a Vitest JSON report and turns it into counts for one project. */
function countVitestReport(file) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const failedFilesWithoutFailedTest = (report.testResults ?? []).filter(
    (fileResult) =>
      fileResult.status === 'failed' &&
      !(fileResult.assertionResults ?? []).some((assertion) => assertion.status === 'failed'),
  ).length;
  return {
    passed: report.numPassedTests ?? 0,
    failed: (report.numFailedTests ?? 0) + failedFilesWithoutFailedTest,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
    files: report.numTotalTestSuites ?? 0,
    brokenFiles: failedFilesWithoutFailedTest,
  };
}

async function runVitestProject(project) {
  banner(`vitest --project ${project}`);
  const reportFile = path.join(reportDir, `vitest-${project}.json`);
  const { code, seconds } = await run('npx', [
    'vitest',
    'run',
    '--project',
    project,
    '--passWithNoTests',
    '--reporter=default',
    '--reporter=json',
    `--outputFile=${reportFile}`,
  ]);
  const result = { name: project, passed: 0, failed: 0, skipped: 0, seconds, note: '' };
  let counts;
  try {
    counts = countVitestReport(reportFile);
  } catch (error) {
    result.failed = 1;
    result.note = `no JSON report (exit ${code}): ${error.message.split('\n')[0]}`;
    return result;
  }
  Object.assign(result, { passed: counts.passed, failed: counts.failed, skipped: counts.skipped });
  const notes = [];
  if (counts.passed + counts.failed + counts.skipped === 0) notes.push('no tests');
  if (counts.brokenFiles > 0) notes.push(`${counts.brokenFiles} file(s) failed to load`);
  if (code !== 0 && result.failed === 0) {
    // e.g. an unhandled error or a config problem after all tests passed.
    result.failed = 1;
    notes.push(`exit ${code} with no failed test`);
  }
  result.note = notes.join('; ');
  return result;
}

async function runExtraSuite({ name, command }) {
  banner(`${name}: ${command}`);
  const { code, output, seconds } = await run(command, [], { capture: true, shell: true });
  const result = { name, passed: 0, failed: 0, skipped: 0, seconds, note: '' };
  const lines = output.replace(ansiEscape, '').split(/\r?\n/);
  const last = lines.findLast((line) => countsLine.test(line));
  const match = last === undefined ? null : countsLine.exec(last);
  if (match === null) {
    result.failed = 1;
    result.note = `no "N passed, N failed" line (exit ${code})`;
    return result;
  }
  result.passed = Number(match[1]);
  result.failed = Number(match[2]);
  if (code !== 0 && result.failed === 0) {
    result.failed = 1;
    result.note = `exit ${code} with 0 failed reported`;
  }
  return result;
}

function printSummary(results) {
  const header = ['suite', 'passed', 'failed', 'skipped', 'seconds', 'status'];
  const rows = results.map((r) => [
    r.name,
    String(r.passed),
    String(r.failed),
    String(r.skipped),
    r.seconds.toFixed(1),
    (r.failed > 0 ? 'FAIL' : 'ok') + (r.note === '' ? '' : ` (${r.note})`),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length)),
  );
  const format = (row) =>
    row
      .map((cell, column) =>
        column === 0 || column === row.length - 1
          ? cell.padEnd(widths[column])
          : cell.padStart(widths[column]),
      )
      .join('  ')
      .trimEnd();
  banner('summary');
  console.log(format(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(format(row));
}

const startedAt = performance.now();
const results = [];
try {
  results.push(await runCheck('typecheck', 'npx', ['tsc', '--noEmit']));
  results.push(await runCheck('lint', 'npx', ['eslint', '.']));
  for (const project of VITEST_PROJECTS) results.push(await runVitestProject(project));
  for (const suite of EXTRA_SUITES) results.push(await runExtraSuite(suite));
} finally {
  rmSync(reportDir, { recursive: true, force: true });
}

printSummary(results);
const passed = results.reduce((sum, r) => sum + r.passed, 0);
const failed = results.reduce((sum, r) => sum + r.failed, 0);
console.log(`total time ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
