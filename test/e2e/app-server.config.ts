// The app server of the end-to-end tests and the benchmark: the app's own Vite
// config (same app, same /signal relay) without file watching, HMR or Vite's
// browser client. A watching server reloads every open tab when a source file
// changes (a reload in the middle of a measurement whenever anyone edits the
// tree), and Vite's client reloads a tab whose socket dropped, which is what
// a frozen tab's socket does. The client is left out of the page altogether:
// with the HMR socket merely disabled, its handshake hangs, and Chromium
// holds other WebSocket handshakes to the same host (the /signal relay's)
// behind a pending one.
import { mergeConfig, type Plugin } from 'vite';

import base from '../../vite.config.js';

const withoutViteClient: Plugin = {
  name: 'tabd-e2e-without-vite-client',
  apply: 'serve',
  transformIndexHtml: {
    order: 'post',
    handler: (html) => html.replace(/<script type="module" src="\/@vite\/client"><\/script>\s*/, ''),
  },
};

export default mergeConfig(base, {
  plugins: [withoutViteClient],
  server: {
    hmr: false,
    ws: false,
    watch: null,
    // Transform the app while the browser starts, not on the first tab's load.
    warmup: { clientFiles: ['./src/main.ts', './src/node/tab/clock-worker.ts'] },
  },
});
