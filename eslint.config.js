// ESLint flat config for tabd.
//
// Besides the usual recommended rules, this file enforces the one architectural rule a linter
// can check: src/raft and src/kv are pure, synchronous and deterministic (DESIGN.md §2,
// STYLE.md §1). They must not reach a clock, randomness, a timer, a promise, the DOM, storage or
// the network, and must not import the layers that do. Time arrives as ticks and randomness as an
// injected seeded RNG, so the same code runs in the simulator, in Node and in a tab.
// test/lint/pure-layers.test.ts proves every restriction below still fires.
import { builtinModules } from 'node:module';

import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Globals the pure layers may not touch, with the reason shown in the lint message. */
const pureLayerForbiddenGlobals = [
  ['Date', 'wall-clock time; use ticks injected by the node runtime'],
  ['performance', 'wall-clock time; use ticks injected by the node runtime'],
  ['setTimeout', 'timers; the node runtime calls tick()'],
  ['setInterval', 'timers; the node runtime calls tick()'],
  ['setImmediate', 'timers; the node runtime calls tick()'],
  ['clearTimeout', 'timers; the node runtime calls tick()'],
  ['clearInterval', 'timers; the node runtime calls tick()'],
  ['queueMicrotask', 'asynchrony; the core is synchronous (return a Ready instead)'],
  ['requestAnimationFrame', 'timers; the node runtime calls tick()'],
  ['requestIdleCallback', 'timers; the node runtime calls tick()'],
  ['Promise', 'asynchrony; the core is synchronous (return a Ready instead)'],
  ['fetch', 'network I/O belongs to src/transport or src/client'],
  ['XMLHttpRequest', 'network I/O belongs to src/transport or src/client'],
  ['WebSocket', 'network I/O belongs to src/transport'],
  ['RTCPeerConnection', 'network I/O belongs to src/transport'],
  ['BroadcastChannel', 'messaging belongs to src/transport'],
  ['MessageChannel', 'messaging belongs to src/transport'],
  ['Worker', 'threads belong to src/node'],
  ['indexedDB', 'storage belongs to src/storage'],
  ['localStorage', 'storage belongs to src/storage'],
  ['sessionStorage', 'storage belongs to src/storage'],
  ['window', 'the DOM belongs to src/ui and src/node'],
  ['document', 'the DOM belongs to src/ui and src/node'],
  ['navigator', 'browser APIs belong to src/node'],
  ['crypto', 'randomness; use the seeded RNG from the config'],
  // The escape hatches to everything above.
  ['globalThis', 'reaches the forbidden globals indirectly'],
  ['self', 'reaches the forbidden globals indirectly'],
  ['global', 'reaches the forbidden globals indirectly'],
  ['process', 'Node runtime state; pass configuration in explicitly'],
].map(([name, why]) => ({ name, message: `Pure layer (src/raft, src/kv): no ${name}: ${why}.` }));

const pureLayerImportMessage =
  'Pure layer (src/raft, src/kv) must not import I/O, UI or runtime code: the node runtime wires those in.';

/** Module specifiers and paths the pure layers may not import. */
const pureLayerForbiddenImports = [
  {
    group: [
      'idb',
      'idb/*',
      'simple-peer',
      'simple-peer/*',
      'lit',
      'lit/*',
      'lit-html',
      'lit-html/*',
    ],
    message: pureLayerImportMessage,
  },
  {
    group: ['lit-element', 'lit-element/*', '@lit/*', '@lit-labs/*'],
    message: pureLayerImportMessage,
  },
  // Every Node built-in, with and without the `node:` prefix (fs, path, crypto, timers, ...).
  {
    group: ['node:*', ...builtinModules.flatMap((m) => [m, `${m}/*`])],
    message: pureLayerImportMessage,
  },
  // The layers that do I/O, reached by a path that leaves the current directory (`../node`,
  // `../../src/storage/idb.js`) or names src/ (`src/transport`). A file of the pure layer itself
  // may still be called node.ts (etcd-io/raft has node.go): `./node.js` is allowed.
  {
    regex:
      '(?:^(?:\\./)?(?:\\.\\./)+(?:src/)?|(?:^|/)src/)(?:node|storage|transport|ui|client)(?:/|\\.[jt]s$|$)',
    message: pureLayerImportMessage,
  },
];

// Globals for the few plain-JS files that run on Node (this file, scripts/*.mjs).
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'AbortController',
    'performance',
    'fetch',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig([
  globalIgnores([
    'dist/**',
    'coverage/**',
    '**/node_modules/**',
    '.vitest/**',
    'tmp/**',
    'bench/results/**',
    'test/**/__screenshots__/**',
  ]),

  js.configs.recommended,
  tseslint.configs.recommended,

  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: nodeGlobals },
  },

  {
    rules: {
      // Same convention as TypeScript's noUnusedParameters: a leading underscore marks intent.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },

  {
    name: 'tabd/pure-layers',
    files: ['src/raft/**', 'src/kv/**'],
    rules: {
      'no-restricted-globals': ['error', ...pureLayerForbiddenGlobals],
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message:
            'Pure layer (src/raft, src/kv): no Math.random; use the seeded RNG from the config.',
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'FunctionDeclaration[async=true]',
          message: 'Pure layer (src/raft, src/kv): no async functions; the core is synchronous.',
        },
        {
          selector: 'FunctionExpression[async=true]',
          message:
            'Pure layer (src/raft, src/kv): no async functions or methods; the core is synchronous.',
        },
        {
          selector: 'ArrowFunctionExpression[async=true]',
          message:
            'Pure layer (src/raft, src/kv): no async arrow functions; the core is synchronous.',
        },
        {
          selector: 'AwaitExpression',
          message: 'Pure layer (src/raft, src/kv): no await; the core is synchronous.',
        },
        {
          selector: 'ForOfStatement[await=true]',
          message: 'Pure layer (src/raft, src/kv): no for await; the core is synchronous.',
        },
        {
          selector: 'ImportExpression',
          message: 'Pure layer (src/raft, src/kv): no dynamic import(); it is asynchronous I/O.',
        },
      ],
      'no-restricted-imports': ['error', { patterns: pureLayerForbiddenImports }],
    },
  },
]);
