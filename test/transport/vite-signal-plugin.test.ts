// The Vite plugin (server/vite-signal-plugin.ts) serves the relay on /signal of
// Vite's own server, in dev and in preview, and leaves Vite's HMR WebSocket
// working. Servers run on 127.0.0.1 with ephemeral ports.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { createServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';

import { signalRelayPlugin } from '../../server/vite-signal-plugin.js';

const WAIT_MS = 10_000;
let root: string;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'tabd-vite-plugin-'));
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>t</title>');
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** firstMessage opens a socket and resolves with its first text message. */
function firstMessage(url: string, protocol?: string, send?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocol);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no message from ${url} (${protocol ?? 'no protocol'})`));
    }, WAIT_MS);
    ws.on('open', () => {
      if (send !== undefined) ws.send(send);
    });
    ws.on('message', (data) => {
      clearTimeout(timer);
      ws.close();
      resolve(String(data));
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** relayWorks: two clients on one topic; one publishes, the other must receive it. */
async function relayWorks(url: string): Promise<unknown> {
  const sub = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    sub.on('open', () => resolve());
    sub.on('error', reject);
  });
  sub.send(JSON.stringify({ type: 'subscribe', topics: ['plugin-test'] }));
  sub.send(JSON.stringify({ type: 'ping' }));
  const got = new Promise<unknown[]>((resolve) => {
    const msgs: unknown[] = [];
    sub.on('message', (d) => {
      msgs.push(JSON.parse(String(d)));
      if (msgs.length === 2) resolve(msgs);
    });
  });
  const pub = new WebSocket(url);
  await new Promise<void>((resolve) => pub.on('open', () => resolve()));
  pub.send(JSON.stringify({ type: 'subscribe', topics: ['plugin-test'] }));
  pub.send(JSON.stringify({ type: 'publish', topic: 'plugin-test', data: 'hi' }));
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error('relay silent')), WAIT_MS),
  );
  try {
    return await Promise.race([got, timeout]);
  } finally {
    sub.terminate();
    pub.terminate();
  }
}

describe('signalRelayPlugin', { timeout: 30_000 }, () => {
  test('dev server: /signal is the relay, and the HMR socket still connects', async () => {
    const server = await createServer({
      configFile: false,
      root,
      logLevel: 'silent',
      plugins: [signalRelayPlugin()],
      server: { host: '127.0.0.1', port: 0, strictPort: false },
    });
    await server.listen();
    try {
      const { port } = server.httpServer!.address() as AddressInfo;
      expect(await relayWorks(`ws://127.0.0.1:${port}/signal`)).toEqual([
        { type: 'pong' },
        { type: 'publish', topic: 'plugin-test', data: 'hi' },
      ]);
      const hmr = JSON.parse(await firstMessage(`ws://127.0.0.1:${port}/`, 'vite-hmr'));
      expect(hmr.type).toBe('connected');
    } finally {
      await server.close();
    }
  });

  test('preview server: /signal is the relay', async () => {
    const server = await preview({
      configFile: false,
      root,
      logLevel: 'silent',
      plugins: [signalRelayPlugin()],
      build: { outDir: root },
      preview: { host: '127.0.0.1', port: 0, strictPort: false },
    });
    try {
      const { port } = server.httpServer.address() as AddressInfo;
      expect(await relayWorks(`ws://127.0.0.1:${port}/signal`)).toEqual([
        { type: 'pong' },
        { type: 'publish', topic: 'plugin-test', data: 'hi' },
      ]);
    } finally {
      await server.close();
    }
  });
});
