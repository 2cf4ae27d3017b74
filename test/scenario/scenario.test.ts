// Runs every script in testdata/ against a fresh InteractionEnv and compares
// each block's output with its golden. UPDATE_GOLDENS=1 rewrites the files
// with the actual output instead; review the change with `git diff`.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatMismatch, runScript } from './datadriven.js';
import { InteractionEnv } from './env.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');
const update = process.env['UPDATE_GOLDENS'] === '1';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .sort();

describe('raft scenarios', () => {
  it('has scripts to run', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const f of files) {
    it(f, () => {
      const file = path.join(dir, f);
      const text = readFileSync(file, 'utf8');
      // Every file runs with the same fixed seed: its trace depends on nothing else.
      const r = runScript(`testdata/${f}`, text, new InteractionEnv(1));
      if (update) {
        if (r.rewritten !== text) writeFileSync(file, r.rewritten);
        return;
      }
      if (r.mismatches.length > 0) {
        const shown = r.mismatches.slice(0, 3).map(formatMismatch);
        if (r.mismatches.length > 3)
          shown.push(`... and ${r.mismatches.length - 3} more mismatching blocks`);
        expect.fail(
          `${shown.join('\n\n')}\n\n(run with UPDATE_GOLDENS=1 to rewrite, then review git diff)`,
        );
      }
      // A passing file must also round-trip: the runner changes nothing but outputs.
      expect(r.rewritten).toBe(text);
    });
  }
});
