// The page: makes this tab a tabd peer and shows it. Query parameters:
//   ?cluster=NAME   which cluster to join (default "demo")
//   &signal=URL     WebSocket relay (e.g. ws://host:5173/signal); default BroadcastChannel,
//                   or "relay" for the relay served by this page's own server
//   &voters=N       target voter count (1, 3 or 5; default 3)
//   &snapshotEntries=N, &snapshotCatchUpEntries=M
//                   snapshot after N applied entries, keeping M entries before it (tests and
//                   demos of snapshot catch-up; defaults: RaftNode's 10,000 and 1,000)
import { LocalClient } from './client/index.js';
import { createMesh } from './node/tab/mesh.js';
import { TabRuntime } from './node/tab/tab-runtime.js';
import type { TabdHandle, UiClient } from './ui/handle.js';
import './ui/tabd-app.js';

declare global {
  interface Window {
    /** tabd is the tab's scripting handle (README: "Scripting a tab"). */
    tabd?: TabdHandle & { runtime: TabRuntime; localClient: LocalClient };
  }
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const cluster = params.get('cluster') || 'demo';
  let signalUrl = params.get('signal') || undefined;
  if (signalUrl === 'relay') signalUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/signal`;
  const voters = Number(params.get('voters') || 3);
  const app = document.querySelector('tabd-app')!;
  if (![1, 3, 5].includes(voters)) {
    app.error = `voters must be 1, 3 or 5 (got ${params.get('voters')})`;
    return;
  }
  const positiveInt = (name: string): number | undefined => {
    const v = params.get(name);
    if (v === null) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer (got ${v})`);
    return n;
  };
  const snapshotEntries = positiveInt('snapshotEntries');
  const snapshotCatchUpEntries = positiveInt('snapshotCatchUpEntries');
  document.title = `tabd · ${cluster}`;
  const runtime = await TabRuntime.start({
    cluster,
    targetVoters: voters,
    ...(snapshotEntries !== undefined ? { snapshotEntries } : {}),
    ...(snapshotCatchUpEntries !== undefined ? { snapshotCatchUpEntries } : {}),
    ...(params.get('debug') ? { log: (line: string) => console.debug(`[raft] ${line}`) } : {}),
    createTransport: (id) => createMesh(id, { cluster, ...(signalUrl ? { signalUrl } : {}) }),
  });
  const client = new LocalClient(runtime.server);
  const handle: TabdHandle & { runtime: TabRuntime; localClient: LocalClient } = {
    peerId: runtime.identity.peerId,
    cluster,
    client: client as unknown as UiClient,
    status: () => ({ ...runtime.server.status(), cluster, pauses: runtime.pauses }),
    isolate: () => runtime.transport.isolate(),
    heal: () => runtime.transport.heal(),
    stop: () => runtime.stop({ handOver: true }),
    runtime,
    localClient: client,
  };
  window.tabd = handle;
  app.handle = handle;
  document.body.dataset.ready = 'true';
}

main().catch((err: unknown) => {
  console.error(err);
  const app = document.querySelector('tabd-app');
  if (app) app.error = `tabd failed to start: ${(err as Error).message ?? String(err)}`;
  document.body.dataset.ready = 'error';
});
