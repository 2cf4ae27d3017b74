// The signaling relay: a tiny topic pub/sub over WebSocket, in the manner of
// y-webrtc's signaling server. It knows nothing of tabd: clients subscribe to
// topics (tabd uses one per room) and publish JSON to them; the relay forwards
// each publication to the topic's other subscribers. Messages (client → relay):
//
//   {"type":"subscribe","topics":["t1","t2"]}
//   {"type":"unsubscribe","topics":["t1"]}
//   {"type":"publish","topic":"t1","data":<any JSON>}
//   {"type":"ping"}
//
// Relay → client: {"type":"publish","topic":…,"data":…}, {"type":"pong"},
// {"type":"error","code":…,"topic"?:…}.
//
// Everything is bounded (STYLE.md §4): message size (a larger one closes the
// connection with 1009), topics per connection, topics in total, connections,
// and bytes buffered for a slow subscriber (publications to it are dropped
// beyond that). A ping every pingIntervalMs ends connections that stopped
// answering; a closed connection leaves all its topics at once.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

import { WebSocket, WebSocketServer, type RawData } from 'ws';

export const signalRelayDefaults = {
  /** path: the URL path the relay answers WebSocket upgrades on. */
  path: '/signal',
  /** maxMessageBytes: largest message accepted from a client (64 KiB); larger closes it (1009). */
  maxMessageBytes: 64 * 1024,
  /** maxTopicsPerConnection: topics one connection may subscribe to. */
  maxTopicsPerConnection: 16,
  /** maxTopics: topics with at least one subscriber, relay-wide. */
  maxTopics: 1024,
  /** maxTopicChars: longest topic name. */
  maxTopicChars: 256,
  /** maxConnections: open connections, relay-wide; more are refused with HTTP 503. */
  maxConnections: 1024,
  /** maxBufferedBytes: bytes queued to one slow subscriber before publications to it are dropped. */
  maxBufferedBytes: 1024 * 1024,
  /** pingIntervalMs: a connection that did not answer the previous ping within this interval is ended. */
  pingIntervalMs: 30_000,
};

export type SignalRelayConfig = typeof signalRelayDefaults;
export type SignalRelayOptions = Partial<SignalRelayConfig>;

/** SignalRelayStats: a snapshot of the relay's state and counters. */
export interface SignalRelayStats {
  connections: number;
  topics: number;
  subscriptions: number;
  /** published: publications accepted; delivered: copies sent to subscribers. */
  published: number;
  delivered: number;
  /** rejected: client messages ignored (not JSON, unknown type, over a limit, not subscribed). */
  rejected: number;
  /** droppedSlow: copies not sent because the subscriber had too much buffered. */
  droppedSlow: number;
  /** timedOut: connections ended for not answering a ping. */
  timedOut: number;
}

interface Conn {
  readonly ws: WebSocket;
  readonly topics: Set<string>;
  alive: boolean;
}

/** UpgradeSource is anything that emits HTTP 'upgrade' events (http, https, http2 servers). */
export interface UpgradeSource {
  on(
    event: 'upgrade',
    listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
  ): unknown;
  off(
    event: 'upgrade',
    listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
  ): unknown;
}

export class SignalRelay {
  readonly config: SignalRelayConfig;
  private readonly wss: WebSocketServer;
  private readonly conns = new Map<WebSocket, Conn>();
  private readonly topics = new Map<string, Set<Conn>>();
  private readonly pingTimer: ReturnType<typeof setInterval>;
  private readonly counters = {
    published: 0,
    delivered: 0,
    rejected: 0,
    droppedSlow: 0,
    timedOut: 0,
  };
  private closed = false;

  constructor(opts: SignalRelayOptions = {}) {
    this.config = { ...signalRelayDefaults, ...opts };
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.config.maxMessageBytes });
    this.wss.on('connection', (ws) => this.onConnection(ws));
    this.pingTimer = setInterval(() => this.pingAll(), this.config.pingIntervalMs);
    // The timer alone must not keep a process (a test, the CLI after close) alive.
    this.pingTimer.unref?.();
  }

  /** handles: is this request for the relay's path? */
  handles(req: IncomingMessage): boolean {
    const path = new URL(req.url ?? '/', 'http://relay.invalid').pathname;
    return path === this.config.path;
  }

  /**
   * attach listens for upgrades on `server` and takes those for the relay's
   * path; every other upgrade (Vite's HMR socket, ...) is left to its owner.
   * Returns a function that detaches.
   */
  attach(server: UpgradeSource): () => void {
    const listener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (this.handles(req)) this.handleUpgrade(req, socket, head);
    };
    server.on('upgrade', listener);
    return () => void server.off('upgrade', listener);
  }

  /** handleUpgrade completes a WebSocket handshake for the relay (path already checked). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closed || this.conns.size >= this.config.maxConnections) {
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  stats(): SignalRelayStats {
    let subscriptions = 0;
    for (const c of this.conns.values()) subscriptions += c.topics.size;
    return {
      connections: this.conns.size,
      topics: this.topics.size,
      subscriptions,
      ...this.counters,
    };
  }

  /** close ends every connection and stops the relay. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    for (const c of this.conns.values()) c.ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private onConnection(ws: WebSocket): void {
    const conn: Conn = { ws, topics: new Set(), alive: true };
    this.conns.set(ws, conn);
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.on('close', () => this.drop(conn));
    // 'error' precedes 'close' (e.g. a message over maxPayload); handled there.
    ws.on('error', () => {});
  }

  private onMessage(conn: Conn, data: RawData, isBinary: boolean): void {
    conn.alive = true;
    let msg: unknown;
    try {
      if (isBinary) throw new Error('binary');
      msg = JSON.parse(rawText(data));
    } catch {
      this.counters.rejected++;
      return;
    }
    if (typeof msg !== 'object' || msg === null) {
      this.counters.rejected++;
      return;
    }
    const m = msg as { type?: unknown; topics?: unknown; topic?: unknown; data?: unknown };
    switch (m.type) {
      case 'subscribe':
        for (const t of this.topicList(m.topics)) this.subscribe(conn, t);
        return;
      case 'unsubscribe':
        for (const t of this.topicList(m.topics)) this.unsubscribe(conn, t);
        return;
      case 'publish':
        this.publish(conn, m.topic, m.data);
        return;
      case 'ping':
        this.send(conn, { type: 'pong' });
        return;
      default:
        this.counters.rejected++;
    }
  }

  private topicList(x: unknown): string[] {
    if (!Array.isArray(x)) {
      this.counters.rejected++;
      return [];
    }
    return x.filter((t): t is string => {
      const ok = this.isTopic(t);
      if (!ok) this.counters.rejected++;
      return ok;
    });
  }

  private isTopic(t: unknown): t is string {
    return typeof t === 'string' && t.length > 0 && t.length <= this.config.maxTopicChars;
  }

  private subscribe(conn: Conn, topic: string): void {
    if (conn.topics.has(topic)) return;
    if (conn.topics.size >= this.config.maxTopicsPerConnection) {
      this.counters.rejected++;
      this.send(conn, { type: 'error', code: 'too-many-topics', topic });
      return;
    }
    let subs = this.topics.get(topic);
    if (subs === undefined) {
      if (this.topics.size >= this.config.maxTopics) {
        this.counters.rejected++;
        this.send(conn, { type: 'error', code: 'relay-full', topic });
        return;
      }
      subs = new Set();
      this.topics.set(topic, subs);
    }
    subs.add(conn);
    conn.topics.add(topic);
  }

  private unsubscribe(conn: Conn, topic: string): void {
    if (!conn.topics.delete(topic)) return;
    const subs = this.topics.get(topic);
    subs?.delete(conn);
    if (subs?.size === 0) this.topics.delete(topic);
  }

  private publish(conn: Conn, topic: unknown, data: unknown): void {
    // Only members of a topic may publish to it: a client cannot spray rooms
    // it is not counted in.
    if (!this.isTopic(topic) || !conn.topics.has(topic)) {
      this.counters.rejected++;
      if (this.isTopic(topic)) this.send(conn, { type: 'error', code: 'not-subscribed', topic });
      return;
    }
    this.counters.published++;
    const text = JSON.stringify({ type: 'publish', topic, data: data ?? null });
    for (const sub of this.topics.get(topic) ?? []) {
      if (sub === conn) continue;
      if (sub.ws.bufferedAmount > this.config.maxBufferedBytes) {
        this.counters.droppedSlow++;
        continue;
      }
      this.sendText(sub, text);
      this.counters.delivered++;
    }
  }

  private send(conn: Conn, msg: object): void {
    this.sendText(conn, JSON.stringify(msg));
  }

  private sendText(conn: Conn, text: string): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    conn.ws.send(text);
  }

  private pingAll(): void {
    for (const conn of this.conns.values()) {
      if (!conn.alive) {
        this.counters.timedOut++;
        conn.ws.terminate();
        this.drop(conn);
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  private drop(conn: Conn): void {
    if (!this.conns.delete(conn.ws)) return;
    for (const t of [...conn.topics]) this.unsubscribe(conn, t);
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
