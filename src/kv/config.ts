// KvConfig: every limit of the KV state machine, with its unit and default (STYLE.md §4).
// Every replica must apply with the same values of maxTxnOps, quotaBytes and minLeaseTtlSeconds,
// since they decide how entries apply: the node takes them from the cluster's configuration.
import { InvalidConfigError } from './errors.js';

/** MAX_LEASE_TTL_SECONDS is etcd's MaxLeaseTTL: grants above it fail lease-ttl-too-large. */
export const MAX_LEASE_TTL_SECONDS = 9_000_000_000;

export interface KvConfig {
  /** maxRequestBytes: largest encoded command accepted for proposal (etcd: 1.5 MiB). */
  readonly maxRequestBytes: number;
  /** maxTxnOps: most compares, success ops or failure ops in one txn (etcd: 128). */
  readonly maxTxnOps: number;
  /**
   * quotaBytes: the NOSPACE limit on the estimated stored bytes (quota.ts). etcd defaults to
   * 2 GiB of bbolt file; here the whole history lives in the tab's JS heap, where bench/kv.ts
   * measured about 2.3 bytes of heap per estimated byte (115 MiB of heap for a 50 MiB estimate,
   * 100k keys with 256-byte values), and a snapshot copies it once more into one buffer. 128 MiB
   * thus means roughly 300 MiB of heap plus the snapshot buffer: inside what Chromium gives one
   * renderer, with room for the rest of the app.
   */
  readonly quotaBytes: number;
  /** minLeaseTtlSeconds: grants below are raised to it; the node derives it from the election timeout. */
  readonly minLeaseTtlSeconds: number;
  /** watchBatchMaxRevisions: most revisions in one catch-up watch response (etcd's watchBatchMaxRevs). */
  readonly watchBatchMaxRevisions: number;
  /** leaseRevokeRetrySeconds: an expired lease not yet revoked is reported again after this (etcd: 3 s). */
  readonly leaseRevokeRetrySeconds: number;
}

export const DEFAULT_KV_CONFIG: KvConfig = Object.freeze({
  maxRequestBytes: 1_572_864,
  maxTxnOps: 128,
  quotaBytes: 128 * 1024 * 1024,
  minLeaseTtlSeconds: 1,
  watchBatchMaxRevisions: 1000,
  leaseRevokeRetrySeconds: 3,
});

const LIMITS: Record<keyof KvConfig, readonly [min: number, max: number]> = {
  maxRequestBytes: [64, 256 * 1024 * 1024],
  maxTxnOps: [1, 1_000_000],
  quotaBytes: [1, Number.MAX_SAFE_INTEGER],
  minLeaseTtlSeconds: [1, MAX_LEASE_TTL_SECONDS],
  watchBatchMaxRevisions: [1, 1_000_000],
  leaseRevokeRetrySeconds: [1, 3600],
};

/** resolveKvConfig fills defaults and validates every field (throws InvalidConfigError). */
export function resolveKvConfig(partial: Partial<KvConfig> = {}): KvConfig {
  for (const k of Object.keys(partial)) {
    if (!(k in LIMITS)) throw new InvalidConfigError(`unknown field '${k}'`);
  }
  const cfg = { ...DEFAULT_KV_CONFIG, ...partial };
  for (const [k, [min, max]] of Object.entries(LIMITS) as [keyof KvConfig, [number, number]][]) {
    const v = cfg[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      throw new InvalidConfigError(`${k} must be an integer in [${min}, ${max}], got ${String(v)}`);
    }
  }
  return Object.freeze(cfg);
}
