// Starts a throwaway single-member etcd on 127.0.0.1 for the differential tests: free ephemeral
// ports (never 2379/2380, which a system etcd service may hold), its own temporary data dir,
// waits for /health, and stops by PID (then removes the data dir).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ETCD_BIN = process.env['ETCD_BIN'] ?? '/usr/bin/etcd';

export interface EtcdProcess {
  readonly endpoint: string;
  readonly pid: number;
  readonly dataDir: string;
  /** log: what etcd wrote to stdout/stderr (the last 64 KiB), for failure reports. */
  log(): string;
  stop(): Promise<void>;
}

/** freePort asks the OS for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
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

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** startEtcd starts one member and resolves once it answers /health (rejects after timeoutMs). */
export async function startEtcd(
  opts: { timeoutMs?: number; extraArgs?: readonly string[] } = {},
): Promise<EtcdProcess> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tabd-etcd-'));
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name',
    'diff',
    '--data-dir',
    path.join(dataDir, 'data'),
    '--listen-client-urls',
    client,
    '--advertise-client-urls',
    client,
    '--listen-peer-urls',
    peer,
    '--initial-advertise-peer-urls',
    peer,
    '--initial-cluster',
    `diff=${peer}`,
    '--initial-cluster-state',
    'new',
    '--log-level',
    'warn',
    ...(opts.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn(ETCD_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-65536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: number | null | undefined;
  const exitedP = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      exited = code;
      resolve();
    }),
  );
  const pid = child.pid;
  const cleanup = () => rmSync(dataDir, { recursive: true, force: true });
  if (pid === undefined) {
    cleanup();
    throw new Error(`could not start ${ETCD_BIN}`);
  }
  const stop = async (): Promise<void> => {
    if (exited === undefined) {
      process.kill(pid, 'SIGTERM');
      const t = setTimeout(() => {
        if (exited === undefined) process.kill(pid, 'SIGKILL');
      }, 5000);
      await exitedP;
      clearTimeout(t);
    }
    cleanup();
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    if (exited !== undefined) {
      cleanup();
      throw new Error(`etcd exited with ${exited} before becoming healthy:\n${log}`);
    }
    try {
      const res = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { health?: string };
      if (body.health === 'true') break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`etcd did not become healthy within ${opts.timeoutMs ?? 20_000} ms:\n${log}`);
    }
    await sleep(50);
  }
  return { endpoint: client, pid, dataDir, log: () => log, stop };
}
