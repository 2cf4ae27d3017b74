// The signaling relay (server/signal-relay.ts) on 127.0.0.1, an ephemeral
// port, with real `ws` clients: pub/sub, every limit at its boundary,
// keepalive and cleanup on disconnect. Every wait is bounded.
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';

import { startSignalServer, type SignalServer } from '../../server/signal-server.js';

const WAIT_MS = 10_000;

/** A client that records every JSON message it receives. */
class Client {
  readonly got: unknown[] = [];
  private waiters: (() => void)[] = [];
  closeCode: number | undefined;
  readonly closed: Promise<number>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.got.push(JSON.parse(String(data)));
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
  }

  static async open(
    url: string,
    opts: ConstructorParameters<typeof WebSocket>[2] = {},
  ): Promise<Client> {
    const ws = new WebSocket(url, opts);
    const c = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return c;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** next waits for the n-th message (1-based count of all received so far). */
  async waitFor(n: number): Promise<unknown> {
    const deadline = Date.now() + WAIT_MS;
    while (this.got.length < n) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for message ${n}; got ${JSON.stringify(this.got)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.got[n - 1];
  }

  /** roundTrip sends a ping and waits for its pong: everything sent before it was processed. */
  async roundTrip(): Promise<void> {
    const n = this.got.length + 1;
    this.send({ type: 'ping' });
    await this.waitFor(n);
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let server: SignalServer | undefined;
const clients: Client[] = [];

async function start(opts: Parameters<typeof startSignalServer>[0] = {}): Promise<SignalServer> {
  server = await startSignalServer({ host: '127.0.0.1', port: 0, ...opts });
  return server;
}

async function client(opts?: ConstructorParameters<typeof WebSocket>[2]): Promise<Client> {
  const c = await Client.open(server!.url, opts);
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await server?.close();
  server = undefined;
});

describe('signal relay pub/sub', { timeout: 30_000 }, () => {
  test('publish reaches the other subscribers of the topic only, not the sender', async () => {
    const s = await start();
    expect(s.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/signal$/);
    const [a, b, c] = [await client(), await client(), await client()];
    a.send({ type: 'subscribe', topics: ['room1'] });
    b.send({ type: 'subscribe', topics: ['room1'] });
    c.send({ type: 'subscribe', topics: ['room2'] });
    await Promise.all([a.roundTrip(), b.roundTrip(), c.roundTrip()]);
    a.send({ type: 'publish', topic: 'room1', data: { hello: 'b' } });
    expect(await b.waitFor(2)).toEqual({ type: 'publish', topic: 'room1', data: { hello: 'b' } });
    await Promise.all([a.roundTrip(), c.roundTrip()]);
    // a: its own pongs only; c: pong only.
    expect(a.got).toEqual([{ type: 'pong' }, { type: 'pong' }]);
    expect(c.got).toEqual([{ type: 'pong' }, { type: 'pong' }]);
    expect(s.relay.stats()).toMatchObject({
      connections: 3,
      topics: 2,
      subscriptions: 3,
      published: 1,
      delivered: 1,
    });
  });

  test('unsubscribe stops delivery; publishing to a topic one is not in is refused', async () => {
    const s = await start();
    const [a, b] = [await client(), await client()];
    a.send({ type: 'subscribe', topics: ['t'] });
    b.send({ type: 'subscribe', topics: ['t'] });
    await Promise.all([a.roundTrip(), b.roundTrip()]);
    b.send({ type: 'unsubscribe', topics: ['t'] });
    await b.roundTrip();
    a.send({ type: 'publish', topic: 't', data: 1 });
    b.send({ type: 'publish', topic: 't', data: 2 });
    expect(await b.waitFor(3)).toEqual({ type: 'error', code: 'not-subscribed', topic: 't' });
    await a.roundTrip();
    expect(a.got).toEqual([{ type: 'pong' }, { type: 'pong' }]);
    expect(s.relay.stats()).toMatchObject({ subscriptions: 1, delivered: 0 });
  });

  test('malformed messages are ignored and the connection stays usable', async () => {
    const s = await start();
    const [a, b] = [await client(), await client()];
    a.send('not json');
    a.send('42');
    a.send({ type: 'dance' });
    a.send({ type: 'subscribe', topics: 'room' });
    a.send({ type: 'subscribe', topics: [7, '', 'x'.repeat(257), 'ok'] });
    a.ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
    b.send({ type: 'subscribe', topics: ['ok'] });
    await Promise.all([a.roundTrip(), b.roundTrip()]);
    a.send({ type: 'publish', topic: 'ok', data: 'still works' });
    expect(await b.waitFor(2)).toMatchObject({ data: 'still works' });
    expect(s.relay.stats().rejected).toBe(8);
    expect(s.relay.stats().subscriptions).toBe(2);
  });
});

describe('signal relay limits', { timeout: 30_000 }, () => {
  test('maxMessageBytes: a message of exactly the limit passes, one byte more closes with 1009', async () => {
    await start({ maxMessageBytes: 1000 });
    const [a, b] = [await client(), await client()];
    a.send({ type: 'subscribe', topics: ['t'] });
    b.send({ type: 'subscribe', topics: ['t'] });
    await Promise.all([a.roundTrip(), b.roundTrip()]);
    const frame = (n: number) => {
      const base = JSON.stringify({ type: 'publish', topic: 't', data: '' });
      return JSON.stringify({ type: 'publish', topic: 't', data: 'x'.repeat(n - base.length) });
    };
    expect(frame(1000).length).toBe(1000);
    a.send(frame(1000));
    expect(await b.waitFor(2)).toMatchObject({ type: 'publish' });
    a.send(frame(1001));
    expect(await a.closed).toBe(1009);
    expect(b.got.length).toBe(2);
  });

  test('maxTopicsPerConnection: the topic beyond the limit is refused with an error', async () => {
    const s = await start({ maxTopicsPerConnection: 3 });
    const a = await client();
    a.send({ type: 'subscribe', topics: ['t1', 't2', 't3', 't4'] });
    expect(await a.waitFor(1)).toEqual({ type: 'error', code: 'too-many-topics', topic: 't4' });
    // Re-subscribing to a held topic is not a new one.
    a.send({ type: 'subscribe', topics: ['t1'] });
    await a.roundTrip();
    expect(a.got.length).toBe(2);
    expect(s.relay.stats()).toMatchObject({ topics: 3, subscriptions: 3 });
  });

  test('maxTopics: a new topic beyond the relay-wide limit is refused; existing ones can be joined', async () => {
    const s = await start({ maxTopics: 2 });
    const [a, b] = [await client(), await client()];
    a.send({ type: 'subscribe', topics: ['t1', 't2'] });
    await a.roundTrip();
    b.send({ type: 'subscribe', topics: ['t3', 't1'] });
    expect(await b.waitFor(1)).toEqual({ type: 'error', code: 'relay-full', topic: 't3' });
    await b.roundTrip();
    expect(s.relay.stats()).toMatchObject({ topics: 2, subscriptions: 3 });
  });

  test('maxConnections: the connection beyond the limit is refused with HTTP 503', async () => {
    await start({ maxConnections: 2 });
    await client();
    await client();
    const third = new WebSocket(server!.url);
    const status = await new Promise<number>((resolve) => {
      third.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      third.on('open', () => resolve(101));
      third.on('error', () => {});
    });
    expect(status).toBe(503);
    third.terminate();
  });

  test('the standalone server refuses upgrades for other paths with 404', async () => {
    await start();
    const other = new WebSocket(server!.url.replace('/signal', '/other'));
    const outcome = await new Promise<string>((resolve) => {
      other.on('open', () => resolve('open'));
      other.on('error', () => {});
      other.on('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`));
      setTimeout(() => resolve('no answer'), WAIT_MS);
    });
    expect(outcome).toBe('HTTP 404');
    other.terminate();
  });
});

describe('signal relay cleanup and keepalive', { timeout: 30_000 }, () => {
  test('a closed connection leaves all its topics; empty topics are removed', async () => {
    const s = await start();
    const [a, b] = [await client(), await client()];
    a.send({ type: 'subscribe', topics: ['t1', 't2'] });
    b.send({ type: 'subscribe', topics: ['t1'] });
    await Promise.all([a.roundTrip(), b.roundTrip()]);
    expect(s.relay.stats()).toMatchObject({ connections: 2, topics: 2, subscriptions: 3 });
    a.ws.close();
    await until(() => s.relay.stats().connections === 1, 'relay saw the close');
    expect(s.relay.stats()).toMatchObject({ topics: 1, subscriptions: 1 });
    // An abrupt end (no close frame) too.
    b.ws.terminate();
    await until(() => s.relay.stats().connections === 0, 'relay saw the reset');
    expect(s.relay.stats()).toMatchObject({ topics: 0, subscriptions: 0 });
  });

  test('a client that stops answering pings is ended and leaves its topics; one that answers stays', async () => {
    const s = await start({ pingIntervalMs: 100 });
    const live = await client();
    const dead = await client({ autoPong: false });
    live.send({ type: 'subscribe', topics: ['t'] });
    dead.send({ type: 'subscribe', topics: ['t'] });
    await Promise.all([live.roundTrip(), dead.roundTrip()]);
    await dead.closed;
    expect(s.relay.stats()).toMatchObject({ connections: 1, subscriptions: 1, timedOut: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(live.closeCode).toBeUndefined();
    expect(s.relay.stats().connections).toBe(1);
  });
});
