// WebSocketSignaling: the room protocol over the tabd signaling relay
// (server/signal-relay.ts), for peers in different browsers or on different
// machines. The relay is a topic pub/sub in the manner of y-webrtc's signaling
// server: the client subscribes to the room's topic and publishes room
// messages to it; the relay forwards them to the topic's other subscribers.
// Lost connections are re-established with capped exponential backoff, then
// the client subscribes and announces itself again.
import { RoomSignaling, type RoomMessage } from './signaling.js';

/** WebSocketLike is the part of the WebSocket API used here (browsers' and the `ws` package's). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: never) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: never) => void) | null;
  onerror: ((ev: never) => void) | null;
}

/** WebSocketFactory opens a socket; the default uses the global WebSocket. */
export type WebSocketFactory = (url: string) => WebSocketLike;

const WS_OPEN = 1;

export const webSocketSignalingDefaults = {
  /** reconnectInitialDelayMs: wait before the first reconnection attempt. */
  reconnectInitialDelayMs: 250,
  /** reconnectMaxDelayMs: the backoff doubles up to this cap. */
  reconnectMaxDelayMs: 10_000,
  /** pingIntervalMs: application-level ping; a connection silent for two intervals is reopened. */
  pingIntervalMs: 20_000,
  /** maxQueuedMessages: room messages kept while disconnected; the oldest go first. */
  maxQueuedMessages: 256,
} as const;

type WebSocketSignalingConfig = {
  -readonly [K in keyof typeof webSocketSignalingDefaults]: number;
};

export type WebSocketSignalingOptions = Partial<WebSocketSignalingConfig> & {
  /** createWebSocket: how to open a socket (tests in Node pass the `ws` package's). */
  createWebSocket?: WebSocketFactory;
};

/** roomTopic is the relay topic of a room. */
export function roomTopic(room: string): string {
  return `tabd/${room}`;
}

export class WebSocketSignaling extends RoomSignaling {
  private readonly cfg: WebSocketSignalingConfig;
  private readonly createWebSocket: WebSocketFactory;
  private socket: WebSocketLike | undefined;
  private readonly queue: string[] = [];
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private awaitingPong = false;
  /** connections: sockets opened successfully so far (for tests and status). */
  connections = 0;

  constructor(
    readonly url: string,
    opts: WebSocketSignalingOptions = {},
  ) {
    super();
    const { createWebSocket, ...rest } = opts;
    this.cfg = { ...webSocketSignalingDefaults, ...rest };
    this.createWebSocket = createWebSocket ?? ((u) => new WebSocket(u) as unknown as WebSocketLike);
  }

  /** connected: is the socket to the relay open now? */
  get connected(): boolean {
    return this.socket?.readyState === WS_OPEN;
  }

  protected openRoom(): void {
    this.connect();
  }

  protected post(m: RoomMessage): void {
    const text = JSON.stringify({ type: 'publish', topic: roomTopic(this.room), data: m });
    if (this.connected) {
      this.socket!.send(text);
      return;
    }
    // Presence is announced afresh on every (re)connection; queue only signals.
    if (m.t !== 'signal') return;
    this.queue.push(text);
    if (this.queue.length > this.cfg.maxQueuedMessages) this.queue.shift();
  }

  protected closeRoom(): void {
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    const s = this.socket;
    this.socket = undefined;
    if (s !== undefined && s.readyState === WS_OPEN) {
      // The leave message was just sent on this socket: close after it.
      s.close(1000, 'bye');
    } else {
      s?.close();
    }
  }

  private connect(): void {
    if (this.closed) return;
    let s: WebSocketLike;
    try {
      s = this.createWebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = s;
    s.onopen = () => {
      if (this.socket !== s) return;
      this.attempt = 0;
      this.connections++;
      s.send(JSON.stringify({ type: 'subscribe', topics: [roomTopic(this.room)] }));
      // Announce before the backlog: a peer answering it learns of us at once.
      const backlog = this.queue.splice(0);
      this.announce();
      for (const text of backlog) s.send(text);
      this.awaitingPong = false;
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.ping(s), this.cfg.pingIntervalMs);
    };
    s.onmessage = (ev) => {
      if (this.socket !== s) return;
      this.awaitingPong = false;
      if (typeof ev.data !== 'string') return;
      let msg: unknown;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        this.counters.invalid++;
        return;
      }
      const relayMsg = msg as { type?: unknown; topic?: unknown; data?: unknown };
      if (relayMsg.type === 'publish' && relayMsg.topic === roomTopic(this.room))
        this.deliver(relayMsg.data);
    };
    s.onclose = () => {
      if (this.socket !== s) return;
      this.socket = undefined;
      clearInterval(this.pingTimer);
      this.scheduleReconnect();
    };
    // An error is followed by close; nothing to do here.
    s.onerror = () => {};
  }

  private ping(s: WebSocketLike): void {
    if (this.socket !== s) return;
    if (this.awaitingPong) {
      // Nothing heard for a whole interval after a ping: the connection is dead
      // (or the relay is); close it and let onclose reconnect.
      s.close();
      return;
    }
    this.awaitingPong = true;
    s.send(JSON.stringify({ type: 'ping' }));
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const delayMs = Math.min(
      this.cfg.reconnectMaxDelayMs,
      this.cfg.reconnectInitialDelayMs * 2 ** Math.min(this.attempt, 30),
    );
    this.attempt++;
    // Jitter (±20 %) keeps a room's peers from reconnecting in lockstep after a relay restart.
    const jittered = delayMs * (0.8 + 0.4 * Math.random());
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), jittered);
  }
}
