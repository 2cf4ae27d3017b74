// The history format the simulator records and the checker reads (docs/history-format.md is its
// spec). One operation is one JSON object; a file holds one per line. Everything here is plain
// data so that other checkers (Porcupine, Elle) can read the same files.
//
// parseHistoryOp validates one decoded object (untrusted: it comes from a file or another
// program); validateHistory checks a whole history (unique ids). Past these two, the checker trusts
// the data.

/** Outcome says what the client knows about whether the operation took effect. */
export const Outcome = {
  /** Acknowledged; `result` holds the response. */
  Ok: 'ok',
  /** Definitely did not take effect (rejected before proposing: no leader, not leader). */
  Fail: 'fail',
  /** Timed out or lost: may take effect at any time after `call`, or never. */
  Unknown: 'unknown',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** OpType names the operation kinds, with etcd's semantics. */
export const OpType = {
  Put: 'put',
  Get: 'get',
  Range: 'range',
  Delete: 'delete',
  TxnCas: 'txn-cas',
  LeaseGrant: 'lease-grant',
  PutWithLease: 'put-with-lease',
  LeaseRevoke: 'lease-revoke',
} as const;
export type OpType = (typeof OpType)[keyof typeof OpType];

export interface PutOp {
  readonly type: 'put';
  readonly key: string;
  readonly value: string;
}
export interface GetOp {
  readonly type: 'get';
  readonly key: string;
  /** A serializable (local, possibly stale) read: not checked here, only counted. */
  readonly serializable?: boolean;
}
/** RangeOp reads [key, rangeEnd); rangeEnd "\0" means every key >= key, "" means only key. */
export interface RangeOp {
  readonly type: 'range';
  readonly key: string;
  readonly rangeEnd: string;
}
/** DeleteOp deletes key, or [key, rangeEnd) when rangeEnd is given (etcd DeleteRange). */
export interface DeleteOp {
  readonly type: 'delete';
  readonly key: string;
  readonly rangeEnd?: string;
}
/** TxnCasOp: if key's mod_revision (or value) equals the expectation, put value; else get key. */
export type TxnCasOp =
  | {
      readonly type: 'txn-cas';
      readonly key: string;
      readonly expectedModRevision: number;
      readonly value: string;
    }
  | {
      readonly type: 'txn-cas';
      readonly key: string;
      readonly expectedValue: string;
      readonly value: string;
    };
export interface LeaseGrantOp {
  readonly type: 'lease-grant';
  readonly lease: number;
}
export interface PutWithLeaseOp {
  readonly type: 'put-with-lease';
  readonly key: string;
  readonly value: string;
  readonly lease: number;
}
export interface LeaseRevokeOp {
  readonly type: 'lease-revoke';
  readonly lease: number;
}
/**
 * BumpOp never appears in a history file (parseHistoryOp rejects it). The checker makes it when
 * it projects a history onto one key (projection.ts): a write to other keys, reduced to its
 * effect on the revision and on the projected key. If revokes is set, it first revokes that
 * lease as lease-revoke does (an error if the lease does not exist), deleting the keys attached;
 * then it raises the revision by one if it deleted a key, or if maybeTo is null, or if the
 * revision is maybeTo - 1 (a lease revoke that may have deleted unseen keys).
 */
export interface BumpOp {
  readonly type: 'bump';
  readonly maybeTo: number | null;
  readonly revokes?: number;
  /** The operation it stands for, to describe it. */
  readonly of: KvOp;
}
export type KvOp =
  | PutOp
  | GetOp
  | RangeOp
  | DeleteOp
  | TxnCasOp
  | LeaseGrantOp
  | PutWithLeaseOp
  | LeaseRevokeOp
  | BumpOp;

/** RevisionResult is the response of put, put-with-lease and lease-revoke. */
export interface RevisionResult {
  /** The store revision right after the operation. */
  readonly revision: number;
}
/** GetResult: an absent key reads as value null, modRevision 0, version 0. */
export interface GetResult {
  readonly revision: number;
  readonly value: string | null;
  readonly modRevision: number;
  readonly version: number;
  /** Optional; checked when present. */
  readonly createRevision?: number;
}
export interface RangeKv {
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
  readonly version: number;
  /** Optional; checked when present. */
  readonly createRevision?: number;
}
/** RangeResult lists the keys in the range in ascending key order; count is their number. */
export interface RangeResult {
  readonly revision: number;
  readonly kvs: readonly RangeKv[];
  readonly count: number;
}
export interface DeleteResult {
  readonly revision: number;
  readonly deleted: number;
}
export interface TxnCasResult {
  readonly revision: number;
  readonly succeeded: boolean;
}
/** LeaseGrantResult: revision is optional (a lease grant does not touch the key space). */
export interface LeaseGrantResult {
  readonly revision?: number;
}
export type OpResult =
  RevisionResult | GetResult | RangeResult | DeleteResult | TxnCasResult | LeaseGrantResult;

/** HistoryOp is one client operation as recorded: one line of a history file. */
export interface HistoryOp {
  /** Unique within the history. */
  readonly id: number;
  /** Who issued it; only used to describe operations. */
  readonly client: number | string;
  /** Logical time (simulator ticks) at which the client issued the call. */
  readonly call: number;
  /** Logical time of the response; null when there was none (outcome unknown). */
  readonly return: number | null;
  readonly op: KvOp;
  /** The response; non-null exactly when outcome is ok. */
  readonly result: OpResult | null;
  readonly outcome: Outcome;
  /** Optional human-readable error for fail/unknown outcomes (e.g. "not-leader"); ignored. */
  readonly error?: string;
}

/** HistoryFormatError reports a history that does not follow docs/history-format.md. */
export class HistoryFormatError extends Error {
  readonly code = 'history-format' as const;
  constructor(
    message: string,
    /** 1-based line number when parsing a file. */
    readonly line?: number,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'HistoryFormatError';
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Reader {
  constructor(
    private readonly line: number | undefined,
    private readonly where: string,
  ) {}

  fail(message: string): never {
    throw new HistoryFormatError(`${this.where}${message}`, this.line);
  }

  object(obj: Json, field: string): Json {
    const v = obj[field];
    if (!isObject(v)) this.fail(`${field} must be an object`);
    return v;
  }

  string(obj: Json, field: string): string {
    const v = obj[field];
    if (typeof v !== 'string') this.fail(`${field} must be a string`);
    return v;
  }

  key(obj: Json, field: string): string {
    const v = this.string(obj, field);
    if (v === '') this.fail(`${field} must not be empty (etcd rejects empty keys)`);
    return v;
  }

  boolean(obj: Json, field: string): boolean {
    const v = obj[field];
    if (typeof v !== 'boolean') this.fail(`${field} must be a boolean`);
    return v;
  }

  /** A safe non-negative integer: revisions, versions, counts. */
  count(obj: Json, field: string): number {
    const v = obj[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      this.fail(`${field} must be a non-negative integer`);
    }
    return v;
  }

  optionalCount(obj: Json, field: string): number | undefined {
    return obj[field] === undefined ? undefined : this.count(obj, field);
  }

  lease(obj: Json, field: string): number {
    const v = this.count(obj, field);
    if (v === 0) this.fail(`${field} must be positive (0 means "no lease" in etcd)`);
    return v;
  }

  time(obj: Json, field: string): number {
    const v = obj[field];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${field} must be a finite number`);
    return v;
  }
}

function parseOp(r: Reader, op: Json): KvOp {
  const type = r.string(op, 'type');
  switch (type) {
    case OpType.Put:
      return { type, key: r.key(op, 'key'), value: r.string(op, 'value') };
    case OpType.Get: {
      const serializable = op['serializable'];
      if (serializable !== undefined && typeof serializable !== 'boolean') {
        r.fail('op.serializable must be a boolean');
      }
      return serializable === true
        ? { type, key: r.key(op, 'key'), serializable: true }
        : { type, key: r.key(op, 'key') };
    }
    case OpType.Range:
      return { type, key: r.key(op, 'key'), rangeEnd: r.string(op, 'rangeEnd') };
    case OpType.Delete:
      return op['rangeEnd'] === undefined
        ? { type, key: r.key(op, 'key') }
        : { type, key: r.key(op, 'key'), rangeEnd: r.string(op, 'rangeEnd') };
    case OpType.TxnCas: {
      const hasMod = op['expectedModRevision'] !== undefined;
      const hasValue = op['expectedValue'] !== undefined;
      if (hasMod === hasValue)
        r.fail('txn-cas needs exactly one of expectedModRevision, expectedValue');
      const key = r.key(op, 'key');
      const value = r.string(op, 'value');
      return hasMod
        ? { type, key, expectedModRevision: r.count(op, 'expectedModRevision'), value }
        : { type, key, expectedValue: r.string(op, 'expectedValue'), value };
    }
    case OpType.LeaseGrant:
      return { type, lease: r.lease(op, 'lease') };
    case OpType.PutWithLease:
      return {
        type,
        key: r.key(op, 'key'),
        value: r.string(op, 'value'),
        lease: r.lease(op, 'lease'),
      };
    case OpType.LeaseRevoke:
      return { type, lease: r.lease(op, 'lease') };
    default:
      return r.fail(`unknown op.type ${JSON.stringify(type)}`);
  }
}

function parseKv(r: Reader, kv: unknown): RangeKv {
  if (!isObject(kv)) return r.fail('result.kvs entries must be objects');
  const createRevision = r.optionalCount(kv, 'createRevision');
  const base = {
    key: r.key(kv, 'key'),
    value: r.string(kv, 'value'),
    modRevision: r.count(kv, 'modRevision'),
    version: r.count(kv, 'version'),
  };
  return createRevision === undefined ? base : { ...base, createRevision };
}

function parseResult(r: Reader, op: KvOp, result: Json): OpResult {
  switch (op.type) {
    case OpType.Put:
    case OpType.PutWithLease:
    case OpType.LeaseRevoke:
    case 'bump':
      return { revision: r.count(result, 'revision') };
    case OpType.Get: {
      const value = result['value'];
      if (value !== null && typeof value !== 'string')
        r.fail('result.value must be a string or null');
      const createRevision = r.optionalCount(result, 'createRevision');
      const base = {
        revision: r.count(result, 'revision'),
        value,
        modRevision: r.count(result, 'modRevision'),
        version: r.count(result, 'version'),
      };
      return createRevision === undefined ? base : { ...base, createRevision };
    }
    case OpType.Range: {
      const kvs = result['kvs'];
      if (!Array.isArray(kvs)) return r.fail('result.kvs must be an array');
      return {
        revision: r.count(result, 'revision'),
        kvs: kvs.map((kv) => parseKv(r, kv)),
        count: r.count(result, 'count'),
      };
    }
    case OpType.Delete:
      return { revision: r.count(result, 'revision'), deleted: r.count(result, 'deleted') };
    case OpType.TxnCas:
      return { revision: r.count(result, 'revision'), succeeded: r.boolean(result, 'succeeded') };
    case OpType.LeaseGrant: {
      const revision = r.optionalCount(result, 'revision');
      return revision === undefined ? {} : { revision };
    }
  }
}

/**
 * parseHistoryOp validates one decoded JSON value as a HistoryOp and returns a clean copy (fields
 * the format does not define are dropped). Throws HistoryFormatError.
 */
export function parseHistoryOp(value: unknown, line?: number): HistoryOp {
  const top: Reader = new Reader(line, '');
  if (!isObject(value)) return top.fail('an operation must be a JSON object');
  const id = top.count(value, 'id');
  const r: Reader = new Reader(line, `op #${id}: `);
  const client = value['client'];
  if (typeof client !== 'string' && (typeof client !== 'number' || !Number.isFinite(client))) {
    r.fail('client must be a number or a string');
  }
  const call = r.time(value, 'call');
  const ret = value['return'] === null ? null : r.time(value, 'return');
  if (ret !== null && ret < call) r.fail(`return (${ret}) is before call (${call})`);
  const outcome = r.string(value, 'outcome');
  if (outcome !== Outcome.Ok && outcome !== Outcome.Fail && outcome !== Outcome.Unknown) {
    r.fail(`outcome must be "ok", "fail" or "unknown", not ${JSON.stringify(outcome)}`);
  }
  const op = parseOp(r, r.object(value, 'op'));
  let result: OpResult | null = null;
  if (outcome === Outcome.Ok) {
    if (ret === null) r.fail('an ok operation needs a return time');
    result = parseResult(r, op, r.object(value, 'result'));
  } else if (value['result'] !== null && value['result'] !== undefined) {
    r.fail(`a ${outcome} operation must have result null`);
  }
  const error = value['error'];
  if (error !== undefined && typeof error !== 'string') r.fail('error must be a string');
  const parsed: HistoryOp = { id, client, call, return: ret, op, result, outcome };
  return error === undefined ? parsed : { ...parsed, error };
}

/**
 * validateHistory checks every operation (as parseHistoryOp does) and that ids are unique, and
 * returns the validated copies. Throws HistoryFormatError.
 */
export function validateHistory(ops: readonly unknown[]): HistoryOp[] {
  const seen = new Set<number>();
  return ops.map((raw) => {
    const op = parseHistoryOp(raw);
    if (seen.has(op.id)) throw new HistoryFormatError(`duplicate operation id ${op.id}`);
    seen.add(op.id);
    return op;
  });
}

/** formatHistoryLine renders one operation as a JSON line (with the trailing newline). */
export function formatHistoryLine(op: HistoryOp): string {
  // Fixed field order so files diff and read well.
  const line: Record<string, unknown> = {
    id: op.id,
    client: op.client,
    call: op.call,
    return: op.return,
    op: op.op,
    result: op.result,
    outcome: op.outcome,
  };
  if (op.error !== undefined) line['error'] = op.error;
  return `${JSON.stringify(line)}\n`;
}

/** parseHistoryLines parses a JSON-lines text (blank lines ignored) and validates it. */
export function parseHistoryLines(text: string): HistoryOp[] {
  const ops: HistoryOp[] = [];
  const seen = new Set<number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const source = lines[i]?.trim() ?? '';
    if (source === '') continue;
    let decoded: unknown;
    try {
      decoded = JSON.parse(source);
    } catch (cause) {
      throw new HistoryFormatError(`not valid JSON: ${String(cause)}`, i + 1);
    }
    const op = parseHistoryOp(decoded, i + 1);
    if (seen.has(op.id)) throw new HistoryFormatError(`duplicate operation id ${op.id}`, i + 1);
    seen.add(op.id);
    ops.push(op);
  }
  return ops;
}
