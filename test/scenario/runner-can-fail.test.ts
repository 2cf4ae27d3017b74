// Proves the golden runner is not vacuous: a script whose recorded output
// differs from what the cluster does is reported, with the file, the line of
// the block and a diff; and rewriting restores the true golden.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ScenarioUsageError } from './args.js';
import {
  ScriptSyntaxError,
  diffLines,
  formatMismatch,
  parseScript,
  runScript,
} from './datadriven.js';
import { InteractionEnv } from './env.js';

const file = 'testdata/election_and_replication.txt';
const original = readFileSync(
  path.join(path.dirname(fileURLToPath(import.meta.url)), file),
  'utf8',
);

/** lineOf returns the 1-based line number of the first line equal to `line` at or after `from`. */
function lineOf(text: string, line: string, from = 1): number {
  const lines = text.split('\n');
  for (let i = from - 1; i < lines.length; i++) if (lines[i] === line) return i + 1;
  throw new Error(`line not found: ${line}`);
}

describe('scenario runner', () => {
  it('passes the unaltered script', () => {
    const r = runScript(file, original, new InteractionEnv(1));
    expect(r.mismatches).toEqual([]);
    expect(r.rewritten).toBe(original);
  });

  it('reports a deliberately altered expected line, naming the block and showing the diff', () => {
    const good = '1: State:leader Lead:1 Term:2 Vote:1 Commit:4';
    const bad = '1: State:leader Lead:1 Term:3 Vote:1 Commit:4';
    const altered = original.replace(good, bad);
    expect(altered).not.toBe(original);

    const r = runScript(file, altered, new InteractionEnv(1));
    expect(r.mismatches).toHaveLength(1);
    const m = r.mismatches[0]!;
    // The block is the `raft-state` command right before the altered line.
    const alteredLine = lineOf(altered, bad);
    expect(m.line).toBe(alteredLine - 2);
    expect(altered.split('\n')[m.line - 1]).toBe('raft-state');
    expect(m.expected).toContain(bad);
    expect(m.actual).toContain(good);
    const report = formatMismatch(m);
    expect(report).toContain(`${file}:${m.line}:`);
    expect(report).toContain(`- ${bad}`);
    expect(report).toContain(`+ ${good}`);
    // Rewriting (UPDATE_GOLDENS) restores the true golden.
    expect(r.rewritten).toBe(original);
  });

  it('reports a missing output line and an extra one', () => {
    const dropped = original.replace('  6 "world"\n', '');
    const r1 = runScript(file, dropped, new InteractionEnv(1));
    expect(r1.mismatches.length).toBeGreaterThanOrEqual(1);
    expect(r1.mismatches.map(formatMismatch).join('\n')).toContain('+   6 "world"');

    const extra = original.replace('  5 "hello"\n', '  5 "hello"\n  5 "hello"\n');
    const r2 = runScript(file, extra, new InteractionEnv(1));
    expect(r2.mismatches.length).toBeGreaterThanOrEqual(1);
    expect(r2.mismatches.map(formatMismatch).join('\n')).toContain('-   5 "hello"');
  });

  it('fails loudly on an unknown command or argument, naming the line', () => {
    expect(() => runScript('x.txt', 'campain 1\n----\nok\n', new InteractionEnv(1))).toThrow(
      /x\.txt:1: campain 1: unknown command/,
    );
    expect(() =>
      runScript('x.txt', '\nadd-nodes 3 votrs=(1 2 3)\n----\nok\n', new InteractionEnv(1)),
    ).toThrow(ScenarioUsageError);
  });

  it('rejects malformed scripts', () => {
    expect(() => parseScript('x.txt', 'campaign 1\nok\n')).toThrow(ScriptSyntaxError);
    expect(() => parseScript('x.txt', 'campaign 1\n# note\n----\nok\n')).toThrow(
      /x\.txt:2: comment inside/,
    );
  });

  it('diffs lines', () => {
    expect(diffLines(['a', 'b', 'c'], ['a', 'x', 'c'])).toEqual(['  a', '- b', '+ x', '  c']);
  });
});
