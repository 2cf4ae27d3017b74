// A throwaway 3-member etcd (/usr/bin/etcd, 3.4) on 127.0.0.1 for the
// benchmark's comparison: free ports, a temporary data dir per member, default
// timings (heartbeat 100 ms, election 1000 ms). Members can be killed (-9) and
// restarted on their data dir, to measure failover like a crashed tab's.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ETCD_BIN = process.env['ETCD_BIN'] ?? '/usr/bin/etcd';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface EtcdMember {
  readonly name: string;
  readonly endpoint: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  child: ChildProcess | undefined;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** kill sends SIGKILL to a member and waits for it to exit. */
  kill(m: EtcdMember): Promise<void>;
  /** restart starts a killed member again on its data dir and waits until it is healthy. */
  restart(m: EtcdMember): Promise<void>;
  stop(): Promise<void>;
}

async function healthy(endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline)
      throw new Error(`etcd at ${endpoint} not healthy within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  const root = mkdtempSync(path.join(tmpdir(), 'tabd-bench-etcd-'));
  const members: EtcdMember[] = [];
  const used = new Set<number>();
  const port = async () => {
    let p = await freePort();
    while (used.has(p)) p = await freePort();
    used.add(p);
    return p;
  };
  for (let i = 0; i < size; i++) {
    members.push({
      name: `m${i}`,
      endpoint: `http://127.0.0.1:${await port()}`,
      peerUrl: `http://127.0.0.1:${await port()}`,
      dataDir: path.join(root, `m${i}`),
      child: undefined,
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const launch = (m: EtcdMember, state: 'new' | 'existing'): void => {
    const child = spawn(
      ETCD_BIN,
      [
        '--name',
        m.name,
        '--data-dir',
        m.dataDir,
        '--listen-client-urls',
        m.endpoint,
        '--advertise-client-urls',
        m.endpoint,
        '--listen-peer-urls',
        m.peerUrl,
        '--initial-advertise-peer-urls',
        m.peerUrl,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        state,
        '--initial-cluster-token',
        path.basename(root),
        '--log-level',
        'error',
      ],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    m.child = child;
  };
  const kill = async (m: EtcdMember): Promise<void> => {
    const child = m.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    m.child = undefined;
  };
  const stop = async (): Promise<void> => {
    await Promise.all(members.map(kill));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const m of members) launch(m, 'new');
    await Promise.all(members.map((m) => healthy(m.endpoint, 30_000)));
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    members,
    kill,
    restart: async (m) => {
      launch(m, 'existing');
      await healthy(m.endpoint, 30_000);
    },
    stop,
  };
}
