// A standalone HTTP server that serves only the signaling relay (for a LAN or
// a workshop, when the app is served from elsewhere). `npm run signal` runs it
// through signal-cli.ts; tests start it on an ephemeral port.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { SignalRelay, type SignalRelayOptions } from './signal-relay.js';

export interface SignalServerOptions extends SignalRelayOptions {
  /** host: interface to listen on (default 127.0.0.1: loopback only). */
  host?: string;
  /** port: TCP port; 0 picks a free one. */
  port?: number;
}

export interface SignalServer {
  readonly relay: SignalRelay;
  readonly http: Server;
  readonly port: number;
  /** url: the relay's WebSocket URL, e.g. ws://127.0.0.1:4444/signal. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startSignalServer(opts: SignalServerOptions = {}): Promise<SignalServer> {
  const { host = '127.0.0.1', port = 0, ...relayOpts } = opts;
  const relay = new SignalRelay(relayOpts);
  const http = createServer((req, res) => {
    const known = req.url === '/' || relay.handles(req);
    res.writeHead(known ? 200 : 404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(known ? `tabd signal relay: WebSocket on ${relay.config.path}\n` : 'not found\n');
  });
  relay.attach(http);
  // This server is the relay alone: an upgrade for any other path is nobody's,
  // so refuse it rather than leave the socket hanging.
  http.on('upgrade', (req, socket) => {
    if (!relay.handles(req))
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const actualPort = (http.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    relay,
    http,
    port: actualPort,
    url: `ws://${urlHost}:${actualPort}${relay.config.path}`,
    async close() {
      await relay.close();
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
    },
  };
}
