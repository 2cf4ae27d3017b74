// Seeded random operations for the differential test. Ops are plain data (printable, replayable)
// built over a small key space so that they interact: the same keys are put, deleted, compared,
// leased and read at past revisions. Revisions are chosen from the state both stores reached
// (the current and compact revisions), so the same seed gives the same ops on fresh stores.
import type { CompareResult, CompareTarget, SortOrder, SortTarget } from '../../src/kv/index.js';

/** Rng: mulberry32, small and seedable. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** range: an integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** KEYS: nine keys (at most twelve exist at once with the watch sentinels: see sort ties in README). */
export const KEYS = ['a', 'a/1', 'a/2', 'b', 'c', 'd', 'e', 'f', 'g'] as const;
const VALUES = ['', 'v1', 'v2', 'v3', 'x', 'yy', 'zzz', 'vv1', '\u00e9t\u00e9'] as const;

export interface RangeSel {
  readonly prefix?: boolean;
  readonly fromKey?: boolean;
  readonly rangeEnd?: string;
}

export interface PutSpec {
  readonly key: string;
  readonly value: string;
  readonly lease?: string;
  readonly prevKv?: boolean;
  readonly ignoreValue?: boolean;
  readonly ignoreLease?: boolean;
}

export interface GetSpec extends RangeSel {
  readonly key: string;
  readonly limit?: number;
  readonly revision?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

export interface DeleteSpec extends RangeSel {
  readonly key: string;
  readonly prevKv?: boolean;
}

export interface CompareSpec extends RangeSel {
  readonly key: string;
  readonly target: CompareTarget;
  readonly result: CompareResult;
  /** operand: a number (VERSION/CREATE/MOD), a value (VALUE) or a lease id (LEASE). */
  readonly operand: number | string;
}

export type TxnOpSpec =
  | { readonly put: PutSpec }
  | { readonly get: GetSpec }
  | { readonly delete: DeleteSpec }
  | { readonly txn: TxnSpec };

export interface TxnSpec {
  readonly compare: readonly CompareSpec[];
  readonly success: readonly TxnOpSpec[];
  readonly failure: readonly TxnOpSpec[];
}

export interface WatchSpec extends RangeSel {
  readonly key: string;
  readonly startRevision?: number;
  readonly prevKv?: boolean;
  readonly noPut?: boolean;
  readonly noDelete?: boolean;
}

export type DiffOp =
  | ({ readonly kind: 'put' } & PutSpec)
  | { readonly kind: 'bigPut'; readonly key: string; readonly sizeBytes: number }
  | ({ readonly kind: 'get' } & GetSpec)
  | ({ readonly kind: 'delete' } & DeleteSpec)
  | { readonly kind: 'txn'; readonly txn: TxnSpec }
  | { readonly kind: 'compact'; readonly revision: number }
  | { readonly kind: 'grant'; readonly ttl: number; readonly id: string }
  | { readonly kind: 'revoke'; readonly id: string }
  | { readonly kind: 'timeToLive'; readonly id: string; readonly keys: boolean }
  | { readonly kind: 'leases' }
  | { readonly kind: 'keepAliveOnce'; readonly id: string }
  /**
   * watch: create the watch, then (unless it must be canceled at once) write `sentinel` and
   * delete it, and collect events until the sentinel's revision shows (see runner).
   */
  | { readonly kind: 'watch'; readonly watch: WatchSpec; readonly sentinel?: string };

/** GenState is what the generator reads of the stores' state (equal in both unless they differ). */
export interface GenState {
  /** rev: the current revision. */
  readonly rev: number;
  /** compactRev: the last successful compaction's revision (0 = none). */
  readonly compactRev: number;
}

/** leasePool: the explicit lease ids of a seed (a few never granted, so lease-not-found happens). */
export function leasePool(seed: number): string[] {
  return [1, 2, 3, 4, 5].map((j) => String(seed * 100 + j));
}

export class OpGenerator {
  private readonly rng: Rng;
  private readonly leases: string[];

  constructor(readonly seed: number) {
    this.rng = new Rng(seed * 7919 + 17);
    this.leases = leasePool(seed);
  }

  private key(): string {
    return this.rng.pick(KEYS);
  }

  private value(): string {
    return this.rng.chance(0.7) ? this.rng.pick(VALUES) : `v${this.rng.int(1000)}`;
  }

  private lease(): string {
    return this.rng.chance(0.1) ? '0' : this.rng.pick(this.leases);
  }

  /** rangeSel picks a single key, a prefix, a [key, end) range (possibly empty) or fromKey. */
  private rangeSel(): { key: string } & RangeSel {
    const r = this.rng.next();
    if (r < 0.45) return { key: this.key() };
    if (r < 0.65) return { key: this.rng.pick(['a', 'a/', '', 'b', 'h']) || 'a', prefix: true };
    if (r < 0.88)
      return { key: this.key(), rangeEnd: this.rng.pick([...KEYS, 'z', 'a/3', 'c\u0000']) };
    return { key: this.key(), fromKey: true };
  }

  /** revision picks a read revision: current, a past one, the compact point, below it, or the future. */
  private revision(s: GenState): number | undefined {
    const r = this.rng.next();
    if (r < 0.55) return undefined;
    if (r < 0.8) return this.rng.range(Math.max(1, s.compactRev), s.rev);
    if (r < 0.87 && s.compactRev > 1) return this.rng.range(1, s.compactRev - 1);
    if (r < 0.92 && s.compactRev > 0) return s.compactRev;
    if (r < 0.97) return s.rev + this.rng.range(1, 3);
    return s.rev;
  }

  private revNear(s: GenState): number {
    return Math.max(0, s.rev - this.rng.int(12) + (this.rng.chance(0.1) ? 2 : 0));
  }

  putSpec(inTxn: boolean): PutSpec {
    const ignoreValue = this.rng.chance(0.07);
    const ignoreLease = this.rng.chance(0.07);
    return {
      key: this.key(),
      // With ignoreValue the value is usually left out; sometimes given (etcd: value-provided).
      value: ignoreValue && this.rng.chance(0.8) ? '' : this.value(),
      ...(this.rng.chance(inTxn ? 0.2 : 0.45) ? { prevKv: true } : {}),
      ...(ignoreLease
        ? this.rng.chance(0.2)
          ? { lease: this.rng.pick(this.leases) }
          : {}
        : this.rng.chance(0.2)
          ? { lease: this.lease() }
          : {}),
      ...(ignoreValue ? { ignoreValue: true } : {}),
      ...(ignoreLease ? { ignoreLease: true } : {}),
    };
  }

  getSpec(s: GenState): GetSpec {
    const sel = this.rangeSel();
    const rng = this.rng;
    const revision = this.revision(s);
    const sortOrders: SortOrder[] = ['NONE', 'ASCEND', 'DESCEND'];
    const sortTargets: SortTarget[] = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'];
    return {
      ...sel,
      ...(rng.chance(0.3) ? { limit: rng.range(1, 4) } : {}),
      ...(revision === undefined ? {} : { revision }),
      ...(rng.chance(0.35)
        ? { sortOrder: rng.pick(sortOrders), sortTarget: rng.pick(sortTargets) }
        : {}),
      ...(rng.chance(0.1) ? { serializable: true } : {}),
      ...(rng.chance(0.15) ? { keysOnly: true } : {}),
      ...(rng.chance(0.1) ? { countOnly: true } : {}),
      ...(rng.chance(0.1) ? { minModRevision: this.revNear(s) } : {}),
      ...(rng.chance(0.1) ? { maxModRevision: this.revNear(s) } : {}),
      ...(rng.chance(0.1) ? { minCreateRevision: this.revNear(s) } : {}),
      ...(rng.chance(0.1) ? { maxCreateRevision: this.revNear(s) } : {}),
    };
  }

  deleteSpec(): DeleteSpec {
    const sel = this.rng.chance(0.6) ? { key: this.key() } : this.rangeSel();
    return { ...sel, ...(this.rng.chance(0.5) ? { prevKv: true } : {}) };
  }

  compareSpec(s: GenState): CompareSpec {
    const rng = this.rng;
    const target = rng.pick<CompareTarget>(['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE']);
    const result = rng.pick<CompareResult>(['EQUAL', 'NOT_EQUAL', 'GREATER', 'LESS']);
    const sel = rng.chance(0.15) ? this.rangeSel() : { key: this.key() };
    let operand: number | string;
    switch (target) {
      case 'VERSION':
        operand = rng.range(0, 4);
        break;
      case 'CREATE':
      case 'MOD':
        operand = rng.chance(0.2) ? 0 : this.revNear(s);
        break;
      case 'VALUE':
        operand = this.value();
        break;
      case 'LEASE':
        operand = this.lease();
        break;
    }
    return { ...sel, target, result, operand };
  }

  txnOps(s: GenState, depth: number, n: number): TxnOpSpec[] {
    const out: TxnOpSpec[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.rng.next();
      if (r < 0.4) out.push({ put: this.putSpec(true) });
      else if (r < 0.7) out.push({ get: this.getSpec(s) });
      else if (r < 0.9 || depth >= 2) out.push({ delete: this.deleteSpec() });
      else out.push({ txn: this.txnSpec(s, depth + 1) });
    }
    return out;
  }

  txnSpec(s: GenState, depth = 0): TxnSpec {
    const rng = this.rng;
    const compare = Array.from({ length: rng.int(depth === 0 ? 4 : 3) }, () => this.compareSpec(s));
    const success = this.txnOps(s, depth, rng.int(depth === 0 ? 4 : 3));
    const failure = this.txnOps(s, depth, rng.int(depth === 0 ? 4 : 3));
    if (depth === 0 && rng.chance(0.04)) {
      // A duplicate key in one branch (etcd: duplicate-key), or a put inside a deleted range.
      const k = this.key();
      success.push({ put: { key: k, value: 'dup1' } });
      success.push(rng.chance(0.5) ? { put: { key: k, value: 'dup2' } } : { delete: { key: k } });
    }
    if (depth === 0 && rng.chance(0.02)) {
      // One op more than etcd's --max-txn-ops (128).
      return {
        compare,
        success: Array.from({ length: 129 }, () => ({ get: { key: this.key() } })),
        failure,
      };
    }
    return { compare, success, failure };
  }

  watchSpec(s: GenState): DiffOp {
    const rng = this.rng;
    const sel = this.rangeSel();
    const startRevision = rng.chance(0.8)
      ? rng.range(Math.max(1, s.compactRev - 3), s.rev)
      : undefined;
    const noPut = rng.chance(0.15);
    const noDelete = !noPut && rng.chance(0.15);
    const watch: WatchSpec = {
      ...sel,
      ...(startRevision === undefined || startRevision <= 0 ? {} : { startRevision }),
      ...(rng.chance(0.5) ? { prevKv: true } : {}),
      ...(noPut ? { noPut: true } : {}),
      ...(noDelete ? { noDelete: true } : {}),
    };
    // The sentinel is a key inside the watched range (none when the range is empty: then the
    // watch is canceled at once). A prefix '' means "a".
    const empty = sel.rangeEnd !== undefined && sel.rangeEnd <= sel.key;
    return empty
      ? { kind: 'watch', watch }
      : { kind: 'watch', watch, sentinel: sel.key === '' ? 'a' : sel.key };
  }

  /** next draws the next op. */
  next(s: GenState): DiffOp {
    const rng = this.rng;
    const r = rng.next() * 100;
    if (r < 24) return { kind: 'put', ...this.putSpec(false) };
    if (r < 48) return { kind: 'get', ...this.getSpec(s) };
    if (r < 58) return { kind: 'delete', ...this.deleteSpec() };
    if (r < 78) return { kind: 'txn', txn: this.txnSpec(s) };
    if (r < 80) {
      const x = rng.next();
      const revision =
        x < 0.75
          ? Math.max(1, s.rev - rng.int(15))
          : x < 0.88
            ? Math.max(0, s.compactRev - rng.int(2))
            : s.rev + rng.range(1, 2);
      return { kind: 'compact', revision };
    }
    if (r < 83.5)
      return { kind: 'grant', ttl: rng.pick([600, 900, 3600]), id: rng.pick(this.leases) };
    if (r < 85) return { kind: 'revoke', id: rng.pick(this.leases) };
    if (r < 87) return { kind: 'timeToLive', id: rng.pick(this.leases), keys: rng.chance(0.6) };
    if (r < 88) return { kind: 'leases' };
    if (r < 89.5) return { kind: 'keepAliveOnce', id: rng.pick(this.leases) };
    if (r < 90.5) return { kind: 'get', key: '' };
    if (r < 90.6)
      return {
        kind: 'bigPut',
        key: this.key(),
        sizeBytes: rng.pick([1024 * 1024, 1600 * 1024, 2 * 1024 * 1024]),
      };
    if (r < 93) return this.watchSpec(s);
    return { kind: 'put', ...this.putSpec(false) };
  }
}

/**
 * EDGE_OPS run at the start of every seed, before the random ops: corner cases the generator
 * rarely or never draws (negative limits and revisions, a fromKey delete next to a put in one txn,
 * reads at the revision a txn began, nested txns writing one key in both branches, compares over
 * ranges, lease TTLs below the minimum or above the maximum, negative and zero lease ids,
 * compaction to 0 and -1). It ends by revoking its leases and deleting every key, so the random
 * ops start from an empty key space.
 */
export const EDGE_OPS: readonly DiffOp[] = [
  { kind: 'put', key: 'a', value: '1' },
  { kind: 'put', key: 'b', value: '2' },
  { kind: 'put', key: 'a', value: '3' },
  { kind: 'get', key: 'a', fromKey: true, limit: -1 },
  { kind: 'get', key: 'a', fromKey: true, revision: -1 },
  { kind: 'get', key: 'a', fromKey: true, minModRevision: -5, maxCreateRevision: -1 },
  {
    kind: 'txn',
    txn: {
      compare: [],
      success: [
        { delete: { key: 'a', fromKey: true, prevKv: true } },
        { put: { key: 'b', value: 'x', prevKv: true } },
        { get: { key: 'a', fromKey: true } },
      ],
      failure: [],
    },
  },
  {
    kind: 'txn',
    txn: {
      compare: [],
      success: [
        { put: { key: 'c', value: 'y' } },
        { get: { key: 'c', revision: 5 } },
        { get: { key: 'a', fromKey: true, revision: 4 } },
      ],
      failure: [],
    },
  },
  {
    kind: 'txn',
    txn: {
      compare: [{ key: 'a', rangeEnd: 'z', target: 'CREATE', result: 'GREATER', operand: 0 }],
      success: [{ get: { key: 'a', fromKey: true } }],
      failure: [{ get: { key: 'b' } }],
    },
  },
  {
    kind: 'txn',
    txn: {
      compare: [{ key: 'a', rangeEnd: 'z', target: 'VALUE', result: 'EQUAL', operand: 'y' }],
      success: [],
      failure: [],
    },
  },
  {
    kind: 'txn',
    txn: {
      compare: [{ key: 'a', rangeEnd: 'z', target: 'VERSION', result: 'LESS', operand: 5 }],
      success: [],
      failure: [],
    },
  },
  {
    kind: 'txn',
    txn: {
      compare: [],
      success: [
        { txn: { compare: [], success: [{ put: { key: 'd', value: '1' } }], failure: [] } },
        { txn: { compare: [], success: [], failure: [{ put: { key: 'd', value: '2' } }] } },
      ],
      failure: [],
    },
  },
  {
    kind: 'txn',
    txn: {
      compare: [],
      success: [
        {
          txn: {
            compare: [],
            success: [{ put: { key: 'd', value: '1' } }],
            failure: [{ put: { key: 'd', value: '2' } }],
          },
        },
      ],
      failure: [],
    },
  },
  {
    kind: 'txn',
    txn: {
      compare: [],
      success: [
        { txn: { compare: [], success: [{ delete: { key: 'd' } }], failure: [] } },
        { put: { key: 'd', value: '3' } },
      ],
      failure: [],
    },
  },
  {
    kind: 'get',
    key: 'a',
    fromKey: true,
    keysOnly: true,
    sortTarget: 'VALUE',
    sortOrder: 'DESCEND',
  },
  { kind: 'get', key: 'a', fromKey: true, countOnly: true, limit: 1, minModRevision: 5 },
  { kind: 'get', key: 'a', fromKey: true, limit: 1, minModRevision: 5 },
  { kind: 'get', key: 'a', fromKey: true, limit: 2, sortTarget: 'KEY', sortOrder: 'DESCEND' },
  { kind: 'compact', revision: 3 },
  {
    kind: 'watch',
    watch: { key: 'a', fromKey: true, startRevision: 3, prevKv: true },
    sentinel: 'a',
  },
  { kind: 'get', key: 'a', revision: 3 },
  { kind: 'get', key: 'a', revision: 2 },
  {
    kind: 'txn',
    txn: { compare: [], success: [{ get: { key: 'a', revision: -1 } }], failure: [] },
  },
  { kind: 'txn', txn: { compare: [], success: [{ get: { key: 'a', revision: 2 } }], failure: [] } },
  { kind: 'compact', revision: 0 },
  { kind: 'compact', revision: -1 },
  // Lease TTLs: below the minimum (raised), above the maximum (refused); ids 0 and negative.
  { kind: 'grant', ttl: 0, id: '77' },
  { kind: 'timeToLive', id: '77', keys: true },
  { kind: 'revoke', id: '77' },
  { kind: 'grant', ttl: -5, id: '79' },
  { kind: 'revoke', id: '79' },
  { kind: 'grant', ttl: 9000000001, id: '78' },
  { kind: 'grant', ttl: 100, id: '-3' },
  { kind: 'put', key: 'a', value: 'x', lease: '-3' },
  { kind: 'revoke', id: '-3' },
  { kind: 'revoke', id: '0' },
  { kind: 'keepAliveOnce', id: '0' },
  { kind: 'timeToLive', id: '0', keys: false },
  { kind: 'delete', key: 'a', rangeEnd: 'a' },
  { kind: 'delete', key: '\u0000', fromKey: true, prevKv: true },
];
