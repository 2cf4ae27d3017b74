// `npm run signal -- --port P [--host H]`: run the signaling relay alone.
// Peers then use WebSocket signaling with ws://H:P/signal. The default host is
// 127.0.0.1; pass --host 0.0.0.0 (or a LAN address) to serve other machines.
import { parseArgs } from 'node:util';

import { startSignalServer } from './signal-server.js';

const usage = 'usage: npm run signal -- --port <port> [--host <host>]';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4444' },
    host: { type: 'string', default: '127.0.0.1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(usage);
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`bad --port ${values.port}\n${usage}`);
  process.exit(2);
}

const server = await startSignalServer({ host: values.host, port });
console.log(`tabd signal relay listening on ${server.url}`);

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: closing the relay`);
  void server.close().then(() => process.exit(0));
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
