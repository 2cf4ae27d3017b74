// The binary encoding of KvCommand, carried as Raft entry data. Spec: CODEC.md beside this file.
// encodeCommand validates the shape of what it encodes; decodeCommand validates everything it
// reads (tags, enums, bounds, minimal varints, no trailing bytes, nesting depth) and throws only
// MalformedRequestError. decode(encode(c)) equals c with every optional field filled with its
// default (normalizeCommand(c)).
import type {
  Compare,
  KvCommand,
  LeaseId,
  PutRequest,
  RangeRequest,
  DeleteRangeRequest,
  RequestOp,
  TxnRequest,
} from './types.js';
import {
  CompareResult,
  CompareTarget,
  EMPTY_BYTES,
  NO_LEASE,
  SortOrder,
  SortTarget,
  isLeaseId,
} from './types.js';
import { MalformedRequestError, RequestTooLargeError } from './errors.js';
import type { KvConfig } from './config.js';
import { ByteReader, ByteWriter } from './wire.js';

/** CODEC_VERSION is the first byte of every encoded command. */
export const CODEC_VERSION = 1;
/** MAX_TXN_DEPTH bounds txn nesting in decoded input (etcd's op budget bounds it to maxTxnOps). */
export const MAX_TXN_DEPTH = 256;

const CMD_TAGS = {
  put: 1,
  deleteRange: 2,
  txn: 3,
  compact: 4,
  leaseGrant: 5,
  leaseRevoke: 6,
  leaseCheckpoint: 7,
  alarmDisarm: 8,
} as const;
const OP_TAGS = { range: 1, put: 2, deleteRange: 3, txn: 4 } as const;
const SORT_ORDERS = [SortOrder.NONE, SortOrder.ASCEND, SortOrder.DESCEND] as const;
const SORT_TARGETS = [
  SortTarget.KEY,
  SortTarget.VERSION,
  SortTarget.CREATE,
  SortTarget.MOD,
  SortTarget.VALUE,
] as const;
const COMPARE_TARGETS = [
  CompareTarget.VERSION,
  CompareTarget.CREATE,
  CompareTarget.MOD,
  CompareTarget.VALUE,
  CompareTarget.LEASE,
] as const;
const COMPARE_RESULTS = [
  CompareResult.EQUAL,
  CompareResult.GREATER,
  CompareResult.LESS,
  CompareResult.NOT_EQUAL,
] as const;

const malformed = (detail: string): Error => new MalformedRequestError(detail);

// ---- encoding ----

function checkBytes(b: unknown, what: string): Uint8Array {
  if (!(b instanceof Uint8Array)) throw malformed(`${what} is not a Uint8Array`);
  return b;
}
function checkInt(n: unknown, what: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n))
    throw malformed(`${what} is not a safe integer`);
  return n;
}
function checkLease(id: unknown, what: string): LeaseId {
  if (typeof id !== 'string' || !isLeaseId(id))
    throw malformed(`${what} is not a canonical int64 lease id`);
  return id;
}
function indexOf<T>(list: readonly T[], v: T, what: string): number {
  const i = list.indexOf(v);
  if (i < 0) throw malformed(`${what} '${String(v)}' is not valid`);
  return i;
}
function flags(...bits: (boolean | undefined)[]): number {
  let f = 0;
  bits.forEach((b, i) => {
    if (b === true) f |= 1 << i;
    else if (b !== undefined && b !== false) throw malformed('flag is not a boolean');
  });
  return f;
}

function writePut(w: ByteWriter, r: PutRequest): void {
  w.u8(flags(r.prevKv, r.ignoreValue, r.ignoreLease));
  w.bytes(checkBytes(r.key, 'put key'));
  w.bytes(checkBytes(r.value ?? EMPTY_BYTES, 'put value'));
  w.lease(checkLease(r.lease ?? NO_LEASE, 'put lease'));
}

function writeDelete(w: ByteWriter, r: DeleteRangeRequest): void {
  w.u8(flags(r.prevKv));
  w.bytes(checkBytes(r.key, 'delete key'));
  w.bytes(checkBytes(r.rangeEnd ?? EMPTY_BYTES, 'delete rangeEnd'));
}

function writeRange(w: ByteWriter, r: RangeRequest): void {
  w.u8(flags(r.serializable, r.keysOnly, r.countOnly));
  w.bytes(checkBytes(r.key, 'range key'));
  w.bytes(checkBytes(r.rangeEnd ?? EMPTY_BYTES, 'range rangeEnd'));
  w.int(checkInt(r.limit ?? 0, 'limit'));
  w.int(checkInt(r.revision ?? 0, 'revision'));
  w.u8(indexOf(SORT_ORDERS, r.sortOrder ?? SortOrder.NONE, 'sortOrder'));
  w.u8(indexOf(SORT_TARGETS, r.sortTarget ?? SortTarget.KEY, 'sortTarget'));
  w.int(checkInt(r.minModRevision ?? 0, 'minModRevision'));
  w.int(checkInt(r.maxModRevision ?? 0, 'maxModRevision'));
  w.int(checkInt(r.minCreateRevision ?? 0, 'minCreateRevision'));
  w.int(checkInt(r.maxCreateRevision ?? 0, 'maxCreateRevision'));
}

function writeCompare(w: ByteWriter, c: Compare): void {
  w.u8(indexOf(COMPARE_TARGETS, c.target, 'compare target'));
  w.u8(indexOf(COMPARE_RESULTS, c.result, 'compare result'));
  w.bytes(checkBytes(c.key, 'compare key'));
  w.bytes(checkBytes(c.rangeEnd ?? EMPTY_BYTES, 'compare rangeEnd'));
  switch (c.target) {
    case 'VALUE':
      w.bytes(checkBytes(c.value, 'compare value'));
      break;
    case 'LEASE':
      w.lease(checkLease(c.lease, 'compare lease'));
      break;
    case 'VERSION':
      w.int(checkInt(c.version, 'compare version'));
      break;
    case 'CREATE':
      w.int(checkInt(c.createRevision, 'compare createRevision'));
      break;
    case 'MOD':
      w.int(checkInt(c.modRevision, 'compare modRevision'));
      break;
  }
}

function writeOps(w: ByteWriter, ops: readonly RequestOp[] | undefined, depth: number): void {
  const list = ops ?? [];
  if (!Array.isArray(list)) throw malformed('txn ops is not an array');
  w.uint(list.length);
  for (const op of list) {
    switch (op.type) {
      case 'range':
        w.u8(OP_TAGS.range);
        writeRange(w, op.request);
        break;
      case 'put':
        w.u8(OP_TAGS.put);
        writePut(w, op.request);
        break;
      case 'deleteRange':
        w.u8(OP_TAGS.deleteRange);
        writeDelete(w, op.request);
        break;
      case 'txn':
        w.u8(OP_TAGS.txn);
        writeTxn(w, op.request, depth + 1);
        break;
      default:
        throw malformed(`unknown txn op type '${String((op as { type: unknown }).type)}'`);
    }
  }
}

function writeTxn(w: ByteWriter, r: TxnRequest, depth: number): void {
  if (depth > MAX_TXN_DEPTH) throw malformed(`txn nesting deeper than ${MAX_TXN_DEPTH}`);
  const cmps = r.compare ?? [];
  if (!Array.isArray(cmps)) throw malformed('txn compare is not an array');
  w.uint(cmps.length);
  for (const c of cmps) writeCompare(w, c);
  writeOps(w, r.success, depth);
  writeOps(w, r.failure, depth);
}

/** encodeCommand encodes a command (throws MalformedRequestError if its shape is invalid). */
export function encodeCommand(cmd: KvCommand): Uint8Array {
  const w = new ByteWriter(64);
  w.u8(CODEC_VERSION);
  switch (cmd.type) {
    case 'put':
      w.u8(CMD_TAGS.put);
      writePut(w, cmd.request);
      break;
    case 'deleteRange':
      w.u8(CMD_TAGS.deleteRange);
      writeDelete(w, cmd.request);
      break;
    case 'txn':
      w.u8(CMD_TAGS.txn);
      writeTxn(w, cmd.request, 1);
      break;
    case 'compact':
      w.u8(CMD_TAGS.compact);
      w.int(checkInt(cmd.request.revision, 'compact revision'));
      w.u8(flags(cmd.request.physical));
      break;
    case 'leaseGrant':
      w.u8(CMD_TAGS.leaseGrant);
      w.int(checkInt(cmd.request.ttlSeconds, 'lease ttlSeconds'));
      w.lease(checkLease(cmd.request.id ?? NO_LEASE, 'lease id'));
      break;
    case 'leaseRevoke':
      w.u8(CMD_TAGS.leaseRevoke);
      w.lease(checkLease(cmd.request.id, 'lease id'));
      break;
    case 'leaseCheckpoint': {
      w.u8(CMD_TAGS.leaseCheckpoint);
      const cps = cmd.request.checkpoints;
      if (!Array.isArray(cps)) throw malformed('checkpoints is not an array');
      w.uint(cps.length);
      for (const cp of cps) {
        w.lease(checkLease(cp.id, 'checkpoint lease id'));
        w.int(checkInt(cp.remainingTtlSeconds, 'checkpoint remainingTtlSeconds'));
      }
      break;
    }
    case 'alarmDisarm':
      w.u8(CMD_TAGS.alarmDisarm);
      if (cmd.request.alarm !== 'NOSPACE')
        throw malformed(`unknown alarm '${String(cmd.request.alarm)}'`);
      w.u8(0);
      break;
    default:
      throw malformed(`unknown command type '${String((cmd as { type: unknown }).type)}'`);
  }
  return w.finish();
}

// ---- decoding ----

function readFlags(r: ByteReader, count: number): boolean[] {
  const f = r.u8();
  if (f >> count !== 0) throw malformed(`unknown flag bits ${f.toString(2)}`);
  return Array.from({ length: count }, (_, i) => (f & (1 << i)) !== 0);
}

function readEnum<T>(r: ByteReader, list: readonly T[], what: string): T {
  const i = r.u8();
  const v = list[i];
  if (v === undefined) throw malformed(`${what} tag ${i}`);
  return v;
}

function readPut(r: ByteReader): PutRequest {
  const [prevKv, ignoreValue, ignoreLease] = readFlags(r, 3) as [boolean, boolean, boolean];
  const key = r.bytes();
  const value = r.bytes();
  const lease = r.lease();
  return { key, value, lease, prevKv, ignoreValue, ignoreLease };
}

function readDelete(r: ByteReader): DeleteRangeRequest {
  const [prevKv] = readFlags(r, 1) as [boolean];
  const key = r.bytes();
  const rangeEnd = r.bytes();
  return { key, rangeEnd, prevKv };
}

function readRange(r: ByteReader): RangeRequest {
  const [serializable, keysOnly, countOnly] = readFlags(r, 3) as [boolean, boolean, boolean];
  const key = r.bytes();
  const rangeEnd = r.bytes();
  const limit = r.int();
  const revision = r.int();
  const sortOrder = readEnum(r, SORT_ORDERS, 'sortOrder');
  const sortTarget = readEnum(r, SORT_TARGETS, 'sortTarget');
  const minModRevision = r.int();
  const maxModRevision = r.int();
  const minCreateRevision = r.int();
  const maxCreateRevision = r.int();
  return {
    key,
    rangeEnd,
    limit,
    revision,
    sortOrder,
    sortTarget,
    serializable,
    keysOnly,
    countOnly,
    minModRevision,
    maxModRevision,
    minCreateRevision,
    maxCreateRevision,
  };
}

function readCompare(r: ByteReader): Compare {
  const target = readEnum(r, COMPARE_TARGETS, 'compare target');
  const result = readEnum(r, COMPARE_RESULTS, 'compare result');
  const key = r.bytes();
  const rangeEnd = r.bytes();
  switch (target) {
    case 'VALUE':
      return { target, result, key, rangeEnd, value: r.bytes() };
    case 'LEASE':
      return { target, result, key, rangeEnd, lease: r.lease() };
    case 'VERSION':
      return { target, result, key, rangeEnd, version: r.int() };
    case 'CREATE':
      return { target, result, key, rangeEnd, createRevision: r.int() };
    case 'MOD':
      return { target, result, key, rangeEnd, modRevision: r.int() };
  }
}

/** readCount reads an item count; each item takes at least one byte, so more than remain is bad. */
function readCount(r: ByteReader): number {
  const n = r.uint();
  if (n > r.remaining) throw malformed(`count ${n} exceeds the remaining ${r.remaining} bytes`);
  return n;
}

function readOps(r: ByteReader, depth: number): RequestOp[] {
  const n = readCount(r);
  const ops: RequestOp[] = [];
  for (let i = 0; i < n; i++) {
    const tag = r.u8();
    switch (tag) {
      case OP_TAGS.range:
        ops.push({ type: 'range', request: readRange(r) });
        break;
      case OP_TAGS.put:
        ops.push({ type: 'put', request: readPut(r) });
        break;
      case OP_TAGS.deleteRange:
        ops.push({ type: 'deleteRange', request: readDelete(r) });
        break;
      case OP_TAGS.txn:
        ops.push({ type: 'txn', request: readTxn(r, depth + 1) });
        break;
      default:
        throw malformed(`unknown txn op tag ${tag}`);
    }
  }
  return ops;
}

function readTxn(r: ByteReader, depth: number): TxnRequest {
  if (depth > MAX_TXN_DEPTH) throw malformed(`txn nesting deeper than ${MAX_TXN_DEPTH}`);
  const nc = readCount(r);
  const compare: Compare[] = [];
  for (let i = 0; i < nc; i++) compare.push(readCompare(r));
  const success = readOps(r, depth);
  const failure = readOps(r, depth);
  return { compare, success, failure };
}

/**
 * decodeCommand decodes Raft entry data. Byte fields of the result are views into `data`
 * (the store copies what it keeps). Throws MalformedRequestError on any invalid input.
 */
export function decodeCommand(data: Uint8Array): KvCommand {
  if (!(data instanceof Uint8Array)) throw malformed('data is not a Uint8Array');
  const r = new ByteReader(data, malformed);
  const version = r.u8();
  if (version !== CODEC_VERSION) throw malformed(`unknown codec version ${version}`);
  const tag = r.u8();
  let cmd: KvCommand;
  switch (tag) {
    case CMD_TAGS.put:
      cmd = { type: 'put', request: readPut(r) };
      break;
    case CMD_TAGS.deleteRange:
      cmd = { type: 'deleteRange', request: readDelete(r) };
      break;
    case CMD_TAGS.txn:
      cmd = { type: 'txn', request: readTxn(r, 1) };
      break;
    case CMD_TAGS.compact: {
      const revision = r.int();
      const [physical] = readFlags(r, 1) as [boolean];
      cmd = { type: 'compact', request: { revision, physical } };
      break;
    }
    case CMD_TAGS.leaseGrant: {
      const ttlSeconds = r.int();
      const id = r.lease();
      cmd = { type: 'leaseGrant', request: { ttlSeconds, id } };
      break;
    }
    case CMD_TAGS.leaseRevoke:
      cmd = { type: 'leaseRevoke', request: { id: r.lease() } };
      break;
    case CMD_TAGS.leaseCheckpoint: {
      const n = readCount(r);
      const checkpoints = [];
      for (let i = 0; i < n; i++) checkpoints.push({ id: r.lease(), remainingTtlSeconds: r.int() });
      cmd = { type: 'leaseCheckpoint', request: { checkpoints } };
      break;
    }
    case CMD_TAGS.alarmDisarm: {
      const a = r.u8();
      if (a !== 0) throw malformed(`unknown alarm tag ${a}`);
      cmd = { type: 'alarmDisarm', request: { alarm: 'NOSPACE' } };
      break;
    }
    default:
      throw malformed(`unknown command tag ${tag}`);
  }
  r.end();
  return cmd;
}

/** normalizeCommand fills every optional field with its default: what decode(encode(cmd)) returns. */
export function normalizeCommand(cmd: KvCommand): KvCommand {
  return decodeCommand(encodeCommand(cmd));
}

/**
 * checkRequestSize is the proposal-time size limit: an encoded command larger than
 * maxRequestBytes is refused with RequestTooLargeError (etcd checks its marshalled request).
 */
export function checkRequestSize(
  data: Uint8Array,
  config: Pick<KvConfig, 'maxRequestBytes'>,
): RequestTooLargeError | null {
  return data.length > config.maxRequestBytes
    ? new RequestTooLargeError(data.length, config.maxRequestBytes)
    : null;
}

/** encodeProposal encodes a command for proposal and applies the size limit. */
export function encodeProposal(
  cmd: KvCommand,
  config: Pick<KvConfig, 'maxRequestBytes'>,
):
  | { readonly ok: true; readonly data: Uint8Array }
  | { readonly ok: false; readonly error: RequestTooLargeError } {
  const data = encodeCommand(cmd);
  const error = checkRequestSize(data, config);
  return error === null ? { ok: true, data } : { ok: false, error };
}
