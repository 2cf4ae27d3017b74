// A Vite plugin that serves the signaling relay on `/signal` of Vite's own HTTP
// server, in dev (`npm start`) and preview, so one command serves the app and
// the relay (DESIGN.md §4). It takes only WebSocket upgrades for that path;
// Vite's HMR socket and anything else are left alone. In middleware mode (no
// HTTP server of Vite's own, e.g. Vitest's Node projects) it does nothing.
import type { Plugin } from 'vite';

import { SignalRelay, type SignalRelayOptions, type UpgradeSource } from './signal-relay.js';

export function signalRelayPlugin(opts: SignalRelayOptions = {}): Plugin {
  const serve = (
    httpServer: (UpgradeSource & { once(e: 'close', l: () => void): unknown }) | null,
  ): void => {
    if (httpServer === null) return;
    const relay = new SignalRelay(opts);
    const detach = relay.attach(httpServer);
    httpServer.once('close', () => {
      detach();
      void relay.close();
    });
  };
  return {
    name: 'tabd-signal-relay',
    configureServer(server) {
      serve(server.httpServer);
    },
    configurePreviewServer(server) {
      serve(server.httpServer);
    },
  };
}
