// The differential comparator: what it ignores is exactly what README "Differences from etcd"
// lists, and any other change in an answer is a difference.
import { describe, expect, it } from 'vitest';
import { toBytes } from '../../src/client/bytes.js';
import {
  canonical,
  firstDifference,
  normalizeLeases,
  normalizeTimeToLive,
  plain,
} from './compare.js';

const kv = (v: string) => ({
  key: toBytes('k'),
  value: toBytes(v),
  createRevision: 2,
  modRevision: 3,
  version: 1,
  lease: '0',
});

describe('differential comparator', () => {
  it('ignores the answering member identity in headers, and nothing else', () => {
    const a = {
      header: { revision: 5, memberId: '1', raftTerm: 2, clusterId: 'x' },
      kvs: [kv('a')],
      more: false,
      count: 1,
    };
    const b = {
      count: 1,
      more: false,
      kvs: [kv('a')],
      header: { revision: 5, memberId: 'n2', raftTerm: 9, clusterId: '' },
    };
    expect(canonical(plain(a))).toBe(canonical(plain(b)));
    for (const changed of [
      { ...b, header: { ...b.header, revision: 6 } },
      { ...b, kvs: [kv('b')] },
      { ...b, kvs: [{ ...kv('a'), version: 2 }] },
      { ...b, kvs: [{ ...kv('a'), lease: '7' }] },
      { ...b, more: true },
      { ...b, count: 2 },
      { ...b, prevKv: kv('a') },
    ]) {
      expect(canonical(plain(a))).not.toBe(canonical(plain(changed)));
      expect(firstDifference(plain(a), plain(changed))).not.toBe('');
    }
    expect(firstDifference(plain(a), plain({ ...b, count: 2 }))).toBe('$.count');
  });

  it('compares a remaining TTL as within the granted TTL, and lists sorted', () => {
    const t = (ttl: number, keys: string[]) => ({
      header: { revision: 1 },
      id: '5',
      ttlSeconds: ttl,
      grantedTtlSeconds: 600,
      keys: keys.map(toBytes),
    });
    expect(canonical(normalizeTimeToLive(t(598, ['b', 'a'])))).toBe(
      canonical(normalizeTimeToLive(t(600, ['a', 'b']))),
    );
    expect(canonical(normalizeTimeToLive(t(-1, [])))).not.toBe(
      canonical(normalizeTimeToLive(t(600, []))),
    );
    expect(canonical(normalizeTimeToLive(t(601, [])))).not.toBe(
      canonical(normalizeTimeToLive(t(600, []))),
    );
    const l = (ids: string[]) => ({ header: { revision: 1 }, leases: ids.map((id) => ({ id })) });
    expect(canonical(normalizeLeases(l(['10', '9', '100'])))).toBe(
      canonical(normalizeLeases(l(['9', '100', '10']))),
    );
    expect(canonical(normalizeLeases(l(['9', '10'])))).not.toBe(
      canonical(normalizeLeases(l(['9']))),
    );
  });
});
