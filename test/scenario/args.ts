// Command-line parsing for scenario scripts: `name pos pos key=value key=(a b)`.
// Parenthesised groups stay one token; lists accept spaces or commas.

/** ScenarioUsageError: a script used a command or an argument wrongly. It fails the test. */
export class ScenarioUsageError extends Error {
  readonly code = 'scenario-usage';
}

export interface ParsedCommand {
  readonly name: string;
  readonly positional: readonly string[];
  readonly keyed: ReadonlyMap<string, string>;
}

/** tokenize splits on whitespace outside parentheses. */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (const ch of line) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth < 0) throw new ScenarioUsageError(`unbalanced ')' in: ${line}`);
    if (/\s/.test(ch) && depth === 0) {
      if (cur !== '') out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (depth !== 0) throw new ScenarioUsageError(`unbalanced '(' in: ${line}`);
  if (cur !== '') out.push(cur);
  return out;
}

export function parseCommand(line: string): ParsedCommand {
  const [name, ...rest] = tokenize(line);
  if (name === undefined) throw new ScenarioUsageError('empty command');
  const positional: string[] = [];
  const keyed = new Map<string, string>();
  for (const t of rest) {
    const eq = t.indexOf('=');
    // A '=' inside a group or a quoted payload is data, not a key.
    if (eq > 0 && !t.startsWith('(') && !t.startsWith('"')) {
      const k = t.slice(0, eq);
      if (keyed.has(k)) throw new ScenarioUsageError(`${name}: ${k}= given twice`);
      keyed.set(k, t.slice(eq + 1));
    } else {
      positional.push(t);
    }
  }
  return { name, positional, keyed };
}

/** parseList reads `(1 2 3)`, `(1,2,3)`, `()` or a bare `1`. */
export function parseList(v: string): string[] {
  const inner = v.startsWith('(') && v.endsWith(')') ? v.slice(1, -1) : v;
  return inner
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Args gives typed access to a command's arguments and rejects unknown keys. */
export class Args {
  private readonly used = new Set<string>();

  constructor(readonly cmd: ParsedCommand) {}

  get positional(): readonly string[] {
    return this.cmd.positional;
  }

  str(key: string): string | undefined {
    this.used.add(key);
    return this.cmd.keyed.get(key);
  }

  int(key: string): number | undefined {
    const v = this.str(key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new ScenarioUsageError(`${this.cmd.name}: ${key}=${v} is not a non-negative integer`);
    return n;
  }

  bool(key: string): boolean | undefined {
    const v = this.str(key);
    if (v === undefined) return undefined;
    if (v !== 'true' && v !== 'false')
      throw new ScenarioUsageError(`${this.cmd.name}: ${key}=${v} is not true/false`);
    return v === 'true';
  }

  list(key: string): string[] | undefined {
    const v = this.str(key);
    return v === undefined ? undefined : parseList(v);
  }

  /** done throws on keys the command does not know (catches typos in scripts). */
  done(): void {
    for (const k of this.cmd.keyed.keys()) {
      if (!this.used.has(k))
        throw new ScenarioUsageError(`${this.cmd.name}: unknown argument ${k}=`);
    }
  }
}
