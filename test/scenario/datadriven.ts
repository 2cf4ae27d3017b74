// The golden-file format of the scenario tests and the runner that checks a
// file against what the commands actually print (see README.md).
//
// A file is a sequence of blocks. A block is one or more command lines, a
// `----` line, then the expected output up to the next blank line (or the end
// of the file). Blank lines and `#` comment lines between blocks are kept
// verbatim, so rewriting a file with the actual output (UPDATE_GOLDENS=1)
// changes nothing but the outputs.

/** Block is one command group of a script with its expected output. */
export interface Block {
  /** leading: the blank and comment lines before the block, verbatim. */
  readonly leading: readonly string[];
  readonly commands: readonly { readonly text: string; readonly line: number }[];
  /** separatorLine: 1-based line number of the `----` line. */
  readonly separatorLine: number;
  readonly expected: readonly string[];
}

export interface Script {
  readonly blocks: readonly Block[];
  /** trailing: blank and comment lines after the last block. */
  readonly trailing: readonly string[];
}

/** ScriptSyntaxError: the file does not follow the block format. */
export class ScriptSyntaxError extends Error {
  readonly code = 'script-syntax';
}

const SEPARATOR = '----';

/** parseScript splits a script into blocks; throws ScriptSyntaxError naming the line. */
export function parseScript(file: string, text: string): Script {
  const lines = text.split('\n');
  // A final newline does not start an empty last line.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const blocks: Block[] = [];
  let leading: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i]!;
    if (l.trim() === '' || l.startsWith('#')) {
      leading.push(l);
      i++;
      continue;
    }
    const commands: { text: string; line: number }[] = [];
    while (i < lines.length && lines[i] !== SEPARATOR) {
      const c = lines[i]!;
      if (c.trim() === '')
        throw new ScriptSyntaxError(
          `${file}:${i + 1}: blank line inside a command group (missing ${SEPARATOR}?)`,
        );
      if (c.startsWith('#'))
        throw new ScriptSyntaxError(
          `${file}:${i + 1}: comment inside a command group (put it before the block)`,
        );
      commands.push({ text: c.trim(), line: i + 1 });
      i++;
    }
    if (i >= lines.length)
      throw new ScriptSyntaxError(
        `${file}:${commands[0]!.line}: command without a ${SEPARATOR} line`,
      );
    const separatorLine = i + 1;
    i++;
    const expected: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '') expected.push(lines[i++]!);
    blocks.push({ leading, commands, separatorLine, expected });
    leading = [];
  }
  return { blocks, trailing: leading };
}

/** renderScript writes a script back, with each block's output replaced by `outputs[i]`. */
export function renderScript(s: Script, outputs: readonly (readonly string[])[]): string {
  const out: string[] = [];
  s.blocks.forEach((b, i) => {
    out.push(
      ...b.leading,
      ...b.commands.map((c) => c.text),
      SEPARATOR,
      ...(outputs[i] ?? b.expected),
    );
  });
  out.push(...s.trailing);
  return out.join('\n') + '\n';
}

/** CommandHandler runs one command line and returns its output lines (no blank lines). */
export interface CommandHandler {
  run(command: string): string[];
}

export interface Mismatch {
  readonly file: string;
  /** line: 1-based line of the block's first command. */
  readonly line: number;
  readonly commands: string;
  readonly expected: readonly string[];
  readonly actual: readonly string[];
}

export interface RunResult {
  readonly mismatches: readonly Mismatch[];
  /** rewritten: the file with every block's output replaced by the actual output. */
  readonly rewritten: string;
}

/**
 * runScript executes every block of a script against a fresh handler and
 * compares outputs. It keeps going after a mismatch (later blocks run on the
 * actual state) so one run shows every difference and can rewrite the file.
 */
export function runScript(file: string, text: string, handler: CommandHandler): RunResult {
  const script = parseScript(file, text);
  const outputs: string[][] = [];
  const mismatches: Mismatch[] = [];
  for (const b of script.blocks) {
    const actual: string[] = [];
    for (const c of b.commands) {
      let lines: string[];
      try {
        lines = handler.run(c.text);
      } catch (err) {
        // A thrown error is a bug or a malformed script, never a golden: stop here.
        const e = err as Error;
        e.message = `${file}:${c.line}: ${c.text}: ${e.message}`;
        throw e;
      }
      for (const l of lines) {
        if (l.trim() === '')
          throw new Error(
            `${file}:${c.line}: ${c.text}: printed a blank line (not representable in a golden)`,
          );
      }
      actual.push(...lines);
    }
    if (actual.length === 0) actual.push('ok');
    outputs.push(actual);
    if (actual.join('\n') !== b.expected.join('\n')) {
      mismatches.push({
        file,
        line: b.commands[0]!.line,
        commands: b.commands.map((c) => c.text).join('; '),
        expected: b.expected,
        actual,
      });
    }
  }
  return { mismatches, rewritten: renderScript(script, outputs) };
}

/** formatMismatch renders a mismatch as `file:line` plus a line diff (- expected, + actual). */
export function formatMismatch(m: Mismatch): string {
  return [
    `${m.file}:${m.line}: output of \`${m.commands}\` differs (- expected, + actual):`,
    ...diffLines(m.expected, m.actual),
  ].join('\n');
}

/** diffLines is a small LCS line diff; outputs are short, so O(n·m) is fine. */
export function diffLines(a: readonly string[], b: readonly string[]): string[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] =
        a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      // On a tie, print what was expected before what came instead.
      out.push(`- ${a[i]}`);
      i++;
    } else {
      out.push(`+ ${b[j]}`);
      j++;
    }
  }
  return out;
}
