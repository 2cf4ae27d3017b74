// Proves that the pure-layer lint block in eslint.config.js still fires for every forbidden
// global, property, syntax form and import, in both src/raft and src/kv, that it leaves clean
// core code alone, and that it does not leak into the layers that are allowed to do I/O. Without
// this test a renamed glob or a config refactor could silently switch the rule off.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ESLint } from 'eslint';
import type { Linter } from 'eslint';
import { beforeAll, describe, expect, test } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// Virtual files: lintText only uses the path to pick the config; nothing is written to disk.
const pureLayerFiles = ['src/raft/__lint-probe__.ts', 'src/kv/__lint-probe__.ts'] as const;
const ioLayerFile = 'src/storage/__lint-probe__.ts';

let eslint: ESLint;

beforeAll(async () => {
  eslint = new ESLint({ cwd: repoRoot });
  // Warm up: the first lint loads the config and parser, which on a busy
  // 2-core machine can exceed a single test's timeout.
  await eslint.lintText('export {};\n', { filePath: path.join(repoRoot, 'src/raft/__warmup__.ts') });
}, 120_000);

async function lint(code: string, relativePath: string): Promise<Linter.LintMessage[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(repoRoot, relativePath) });
  if (result === undefined) throw new Error(`ESLint returned no result for ${relativePath}`);
  const fatal = result.messages.filter((message) => message.fatal === true);
  // A parse error would also produce "an error" and make a broken probe look like a pass.
  expect(fatal, `probe did not parse: ${JSON.stringify(fatal)}`).toEqual([]);
  return result.messages;
}

function errorsOf(messages: Linter.LintMessage[], ruleId: string): Linter.LintMessage[] {
  return messages.filter((message) => message.ruleId === ruleId && message.severity === 2);
}

const forbiddenGlobals = [
  'Date',
  'performance',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'clearInterval',
  'queueMicrotask',
  'requestAnimationFrame',
  'Promise',
  'fetch',
  'indexedDB',
  'window',
  'document',
  'navigator',
  'crypto',
  'WebSocket',
  'RTCPeerConnection',
  'Worker',
  'BroadcastChannel',
  'globalThis',
] as const;

const forbiddenSyntax = [
  ['async function declaration', 'export async function f(): Promise<number> { return 1; }'],
  [
    'async function expression',
    'export const f = async function (): Promise<number> { return 1; };',
  ],
  ['async arrow function', 'export const f = async (): Promise<number> => 1;'],
  ['async class method', 'export class C { async m(): Promise<number> { return 1; } }'],
  ['await (top level)', 'declare const p: PromiseLike<number>;\nexport const v = await p;'],
  ['for await', 'declare const xs: AsyncIterable<number>;\nfor await (const x of xs) { void x; }'],
  ['dynamic import()', "export const m = import('./quorum.js');"],
] as const;

const forbiddenImports = [
  "import { openDB } from 'idb';\nvoid openDB;",
  "import type { DBSchema } from 'idb';\nexport type S = DBSchema;",
  "import Peer from 'simple-peer';\nvoid Peer;",
  "import { html } from 'lit';\nvoid html;",
  "import { customElement } from 'lit/decorators.js';\nvoid customElement;",
  "import { createContext } from '@lit/context';\nvoid createContext;",
  "import { readFileSync } from 'node:fs';\nvoid readFileSync;",
  "import { readFileSync } from 'fs';\nvoid readFileSync;",
  "import { readFile } from 'fs/promises';\nvoid readFile;",
  "import { setTimeout as sleep } from 'node:timers/promises';\nvoid sleep;",
  "import { randomBytes } from 'crypto';\nvoid randomBytes;",
  "import { NodeRuntime } from '../node/index.js';\nvoid NodeRuntime;",
  "import type { Storage } from '../storage/storage.js';\nexport type S = Storage;",
  "import { Transport } from '../transport';\nvoid Transport;",
  "import { App } from '../ui/app.js';\nvoid App;",
  "import { Client } from '../client/index.js';\nvoid Client;",
  "import { Client } from '../client.js';\nvoid Client;",
  "import { X } from '../../src/storage/idb-storage.js';\nvoid X;",
  "export * from '../transport/codec.js';",
] as const;

// Shaped like real core code: injected RNG and ticks, branded ids, local imports (including a
// file named node.ts, as etcd-io/raft has node.go), const-object enums, Math without random.
const cleanCoreModule = `
import type { Revision } from '../kv/revision.js';
import { RawNode } from './node.js';
import type { LogIndex, Term } from '../raft/types.js';

export const StateType = { Follower: 'follower', Candidate: 'candidate', Leader: 'leader' } as const;
export type StateType = (typeof StateType)[keyof typeof StateType];

export interface Rng {
  nextInt(maxExclusive: number): number;
}

export class ElectionTimer {
  private elapsedTicks = 0;
  private timeoutTicks: number;

  constructor(
    private readonly electionTicks: number,
    private readonly rng: Rng,
  ) {
    this.timeoutTicks = this.randomizedTimeoutTicks();
  }

  tick(): boolean {
    this.elapsedTicks += 1;
    return this.elapsedTicks >= this.timeoutTicks;
  }

  reset(): void {
    this.elapsedTicks = 0;
    this.timeoutTicks = this.randomizedTimeoutTicks();
  }

  private randomizedTimeoutTicks(): number {
    return this.electionTicks + this.rng.nextInt(this.electionTicks);
  }
}

export function quorum(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

export function describeEntry(term: Term, index: LogIndex, revision: Revision): string {
  const role: StateType = StateType.Follower;
  return [term, index, revision, role, typeof RawNode].join(' ');
}
`;

describe.each(pureLayerFiles)('pure layer rules in %s', (file) => {
  test.each(forbiddenGlobals)('reports the global %s', async (name) => {
    const messages = await lint(`export const probe = ${name};\n`, file);
    const errors = errorsOf(messages, 'no-restricted-globals');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain(`no ${name}:`);
  });

  test('reports a call such as new Date() and setTimeout(...)', async () => {
    const messages = await lint(
      'export const now = new Date();\nsetTimeout(() => undefined, 10);\n',
      file,
    );
    expect(errorsOf(messages, 'no-restricted-globals')).toHaveLength(2);
  });

  test('reports Math.random, called and destructured', async () => {
    const called = await lint('export const r = Math.random();\n', file);
    expect(errorsOf(called, 'no-restricted-properties')).toHaveLength(1);
    const destructured = await lint('const { random } = Math;\nexport const r = random();\n', file);
    expect(errorsOf(destructured, 'no-restricted-properties')).toHaveLength(1);
  });

  test.each(forbiddenSyntax)('reports %s', async (_label, code) => {
    const messages = await lint(`${code}\n`, file);
    expect(errorsOf(messages, 'no-restricted-syntax').length).toBeGreaterThanOrEqual(1);
  });

  test.each(forbiddenImports)('reports the import in: %s', async (code) => {
    const messages = await lint(`${code}\n`, file);
    expect(errorsOf(messages, 'no-restricted-imports')).toHaveLength(1);
  });

  test('accepts clean, deterministic core code without any message', async () => {
    const messages = await lint(cleanCoreModule, file);
    expect(messages).toEqual([]);
  });
});

describe('the rules are scoped to the pure layers', () => {
  test('src/storage may use timers, promises, IndexedDB, idb and async functions', async () => {
    const code = [
      "import { openDB } from 'idb';",
      'export async function open(name: string): Promise<unknown> {',
      '  await new Promise((resolve) => setTimeout(resolve, 0));',
      '  void indexedDB; void Date.now(); void Math.random();',
      '  return openDB(name, 1);',
      '}',
      '',
    ].join('\n');
    const messages = await lint(code, ioLayerFile);
    expect(messages).toEqual([]);
  });
});
