// The KV snapshot: the whole replicated state in one compact binary buffer (layout in CODEC.md).
// Leases are stored with their TTLs, never expiry times (those are leader-local). decodeSnapshot
// treats its input as untrusted (it comes back from IndexedDB or a peer) and checks every
// structural invariant, throwing SnapshotCorruptError.
import type { KeyValue, LeaseId, Revision } from './types.js';
import { EMPTY_BYTES, NO_LEASE, bytesToLatin1 } from './types.js';
import type { KvConfig } from './config.js';
import { SnapshotCorruptError, assert } from './errors.js';
import { KeyIndex, type KeyEntry } from './key-index.js';
import { Mvcc, recordBytes, type RevisionChanges } from './mvcc.js';
import { Lessor } from './lessor.js';
import { ByteReader, ByteWriter } from './wire.js';
import type { KvRestoredState } from './kv-store.js';

const MAGIC = [0x54, 0x4b, 0x56, 0x53]; // "TKVS"
export const SNAPSHOT_VERSION = 1;

function writeVersion(w: ByteWriter, kv: KeyValue): void {
  w.uint(kv.version);
  if (kv.version === 0) return;
  w.uint(kv.createRevision);
  w.bytes(kv.value);
  w.lease(kv.lease);
}

export function encodeSnapshot(
  mvcc: Mvcc,
  lessor: Lessor,
  appliedIndex: number,
  nospace: boolean,
): Uint8Array {
  const enc = new SnapshotEncoder(mvcc, lessor, appliedIndex, nospace);
  while (!enc.step(Number.POSITIVE_INFINITY));
  return enc.result();
}

/**
 * SnapshotEncoder encodes the state as of its construction in steps, so that a large store is
 * serialized in slices between which the store keeps applying writes and compactions (a leader
 * must not stall for the seconds 100k keys take: its followers would elect another). It captures
 * what later writes replace rather than mutate: writes only append (to a key's versions, to the
 * revision log), compaction swaps in new arrays, and versions are immutable. What a later write
 * appends is past the captured revision and left out. The bytes equal encodeSnapshot's at that
 * moment (tested).
 */
export class SnapshotEncoder {
  private readonly w: ByteWriter;
  private readonly keys: KeyEntry[] = [];
  private readonly revsAtStart: (readonly KeyValue[])[] = [];
  private readonly keyIdx = new Map<KeyEntry, number>();
  private readonly base: { i: number; kv: KeyValue }[] = [];
  private readonly revLog: readonly RevisionChanges[];
  private readonly revLogBase: number;
  private readonly nRevs: number;
  private readonly leases: [LeaseId, number, number][];
  private phase: 'keys' | 'base' | 'log' | 'leases' | 'done' = 'keys';
  private at = 0;
  private bytes: Uint8Array | undefined;

  constructor(mvcc: Mvcc, lessor: Lessor, appliedIndex: number, nospace: boolean) {
    // Roughly the encoded size, so that the buffer rarely grows.
    this.w = new ByteWriter(Math.max(1 << 16, Math.ceil(mvcc.usedKvBytes * 1.1)));
    const w = this.w;
    for (const b of MAGIC) w.u8(b);
    w.u8(SNAPSHOT_VERSION);
    w.uint(appliedIndex);
    w.uint(mvcc.currentRevision);
    w.int(mvcc.compactRevision);
    w.u8(nospace ? 1 : 0);
    mvcc.index.forEach((e) => {
      this.keys.push(e);
      this.revsAtStart.push(e.revs);
    });
    this.revLog = mvcc.revLog;
    this.revLogBase = mvcc.revLogBase;
    this.nRevs = mvcc.currentRevision + 1 - mvcc.revLogBase;
    this.leases = lessor.ids().map((id) => {
      const l = lessor.get(id)!;
      return [id, l.ttlSeconds, l.remainingTtlSeconds];
    });
    w.uint(this.keys.length);
  }

  /** step encodes up to about `budget` keys or versions; true once the snapshot is complete. */
  step(budget: number): boolean {
    const w = this.w;
    let left = budget;
    while (left > 0 && this.phase !== 'done') {
      switch (this.phase) {
        case 'keys': {
          const end = Math.min(this.keys.length, this.at + left);
          for (let i = this.at; i < end; i++) {
            const e = this.keys[i]!;
            this.keyIdx.set(e, i);
            w.bytes(e.key);
            for (const kv of this.revsAtStart[i]!) {
              if (kv.modRevision < this.revLogBase) this.base.push({ i, kv });
            }
          }
          left -= end - this.at;
          this.at = end;
          if (end === this.keys.length) {
            // Versions older than the log (kept by compaction), then the log in revision order.
            w.uint(this.base.length);
            this.next('base');
          }
          break;
        }
        case 'base': {
          const end = Math.min(this.base.length, this.at + left);
          for (let j = this.at; j < end; j++) {
            const { i, kv } = this.base[j]!;
            w.uint(i);
            w.uint(kv.modRevision);
            writeVersion(w, kv);
          }
          left -= end - this.at;
          this.at = end;
          if (end === this.base.length) {
            w.uint(this.revLogBase);
            w.uint(this.nRevs);
            this.next('log');
          }
          break;
        }
        case 'log': {
          while (left > 0 && this.at < this.nRevs) {
            const ch = this.revLog[this.at++]!;
            w.uint(ch.kvs.length);
            for (let i = 0; i < ch.kvs.length; i++) {
              w.uint(this.keyIdx.get(ch.entries[i]!)!);
              writeVersion(w, ch.kvs[i]!);
            }
            left -= Math.max(1, ch.kvs.length);
          }
          if (this.at === this.nRevs) this.next('leases');
          break;
        }
        case 'leases': {
          w.uint(this.leases.length);
          for (const [id, ttl, remaining] of this.leases) {
            w.lease(id);
            w.uint(ttl);
            w.uint(remaining);
          }
          this.bytes = w.finish();
          this.next('done');
          break;
        }
      }
    }
    return this.phase === 'done';
  }

  /** result is the encoded snapshot (after step returned true). */
  result(): Uint8Array {
    assert(this.bytes !== undefined, 'snapshot not finished');
    return this.bytes;
  }

  private next(phase: SnapshotEncoder['phase']): void {
    this.phase = phase;
    this.at = 0;
  }
}

export function decodeSnapshot(bytes: Uint8Array, config: KvConfig): KvRestoredState {
  const bad = (detail: string): Error => new SnapshotCorruptError(detail);
  if (!(bytes instanceof Uint8Array)) throw bad('not a Uint8Array');
  // One private copy of the whole snapshot; keys and values are views into it, which spares one
  // allocation per version (the copy lives as long as any restored version does).
  const own = bytes.slice();
  const r = new ByteReader(own, bad);
  for (const b of MAGIC) if (r.u8() !== b) throw bad('bad magic');
  const version = r.u8();
  if (version !== SNAPSHOT_VERSION) throw bad(`unknown snapshot version ${version}`);
  const appliedIndex = r.uint();
  const currentRevision = r.uint();
  const compactRevision = r.int();
  const nospaceByte = r.u8();
  if (nospaceByte > 1) throw bad('bad alarm byte');
  if (currentRevision < 1) throw bad('current revision below 1');
  if (compactRevision < -1 || compactRevision > currentRevision)
    throw bad('compact revision out of range');

  const nKeys = r.uint(r.remaining);
  const entries: KeyEntry[] = [];
  let prevKey: string | null = null;
  for (let i = 0; i < nKeys; i++) {
    const key = r.bytes();
    if (key.length === 0) throw bad('empty key');
    const keyStr = bytesToLatin1(key);
    if (prevKey !== null && keyStr <= prevKey) throw bad('keys not in strictly increasing order');
    prevKey = keyStr;
    entries.push({ key, keyStr, revs: [] });
  }
  const entryAt = (): KeyEntry => {
    const e = entries[r.uint(Math.max(0, nKeys - 1))];
    if (e === undefined) throw bad('key index out of range');
    return e;
  };
  const readVersion = (e: KeyEntry, modRevision: number): KeyValue => {
    const v = r.uint();
    if (v === 0) {
      return {
        key: e.key,
        value: EMPTY_BYTES,
        createRevision: 0 as Revision,
        modRevision: modRevision as Revision,
        version: 0,
        lease: NO_LEASE,
      };
    }
    const createRevision = r.uint();
    const raw = r.bytes();
    const value = raw.length === 0 ? EMPTY_BYTES : raw;
    const lease = r.lease();
    if (createRevision < 1 || createRevision > modRevision)
      throw bad('createRevision out of range');
    const prev = e.revs[e.revs.length - 1];
    if (prev !== undefined && prev.version > 0) {
      if (v !== prev.version + 1 || createRevision !== prev.createRevision)
        throw bad('version does not follow its predecessor');
    } else if (
      (prev !== undefined || modRevision > compactRevision) &&
      (v !== 1 || createRevision !== modRevision)
    ) {
      throw bad('a new generation must start at version 1');
    }
    return {
      key: e.key,
      value,
      createRevision: createRevision as Revision,
      modRevision: modRevision as Revision,
      version: v,
      lease,
    };
  };
  const revLogBase = Math.max(2, compactRevision);
  const nBase = r.uint(r.remaining);
  for (let i = 0; i < nBase; i++) {
    const e = entryAt();
    const modRevision = r.uint();
    if (modRevision < 2 || modRevision >= revLogBase || modRevision > compactRevision)
      throw bad('kept version outside the compacted range');
    if (e.revs.length > 0) throw bad('two kept versions for one key');
    const kv = readVersion(e, modRevision);
    if (kv.version === 0) throw bad('kept version is a tombstone');
    e.revs.push(kv);
  }
  if (r.uint() !== revLogBase) throw bad('revision log base is not max(2, compact revision)');
  const nRevs = r.uint(r.remaining);
  if (revLogBase + nRevs !== currentRevision + 1)
    throw bad('revision log does not end at the current revision');
  const revLog: RevisionChanges[] = [];
  for (let i = 0; i < nRevs; i++) {
    const rev = revLogBase + i;
    const n = r.uint(r.remaining);
    if (n === 0 && rev !== compactRevision) throw bad(`revision ${rev} has no changes`);
    const ch: RevisionChanges = { kvs: [], entries: [] };
    for (let j = 0; j < n; j++) {
      const e = entryAt();
      const kv = readVersion(e, rev);
      const prev = e.revs[e.revs.length - 1];
      if (kv.version === 0 && (prev === undefined || prev.version === 0))
        throw bad('tombstone of a key that does not exist');
      e.revs.push(kv);
      ch.kvs.push(kv);
      ch.entries.push(e);
    }
    revLog.push(ch);
  }
  const lessor = new Lessor(config);
  const nLeases = r.uint(r.remaining);
  let prevId: bigint | null = null;
  for (let i = 0; i < nLeases; i++) {
    const id = r.lease();
    const b = BigInt(id);
    if (id === NO_LEASE || (prevId !== null && b <= prevId))
      throw bad('lease ids not increasing or zero');
    prevId = b;
    const ttl = r.uint();
    const remaining = r.uint();
    lessor.restoreLease(id as LeaseId, ttl, remaining);
  }
  r.end();

  const mvcc = new Mvcc(lessor);
  let used = 0;
  for (const e of entries) {
    if (e.revs.length === 0) throw bad('key without history');
    for (const kv of e.revs) used += recordBytes(kv);
    const last = e.revs[e.revs.length - 1]!;
    if (last.version > 0 && last.lease !== NO_LEASE) {
      const l = lessor.get(last.lease);
      if (l === undefined) throw bad(`key attached to missing lease ${last.lease}`);
      l.keys.add(e.keyStr);
    }
  }
  mvcc.index = KeyIndex.fromSorted(entries);
  mvcc.currentRevision = currentRevision;
  mvcc.compactRevision = compactRevision;
  mvcc.revLogBase = revLogBase;
  mvcc.revLog = revLog;
  mvcc.usedKvBytes = used;
  return { mvcc, lessor, appliedIndex, nospace: nospaceByte === 1 };
}
