import type { NodeStatus } from '../node/raft-node.js';

/** StatusView is what the UI shows of a peer: the node's status plus the store's. */
export type StatusView = NodeStatus & {
  readonly revision: number;
  readonly compactRevision: number;
  readonly usedBytes: number;
  readonly alarms: readonly string[];
  readonly cluster: string;
  readonly pauses: number;
};

/** UiClient is the part of the client API the page's KV box uses. */
export interface UiClient {
  put(key: string, value: string): Promise<{ header: { revision: number } }>;
  get(key: string, opts?: { serializable?: boolean }): Promise<{ header: { revision: number }; kvs: readonly { value: Uint8Array; modRevision: number; version: number }[] }>;
  delete(key: string): Promise<{ header: { revision: number }; deleted: number }>;
}

/**
 * TabdHandle is `window.tabd`: the scripting handle tests, benchmarks and
 * people's own scripts use to drive a tab (documented in README.md).
 */
export interface TabdHandle {
  readonly peerId: string;
  readonly cluster: string;
  readonly client: UiClient;
  status(): StatusView;
  /** isolate cuts this tab's data channels (a partition); heal restores them. */
  isolate(): void;
  heal(): void;
  /** stop leaves the cluster as on tab close (a leader hands over first). */
  stop(): void;
}
