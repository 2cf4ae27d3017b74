// The committed history: the oracle every KV check compares against.
//
// Every node reports the entries it applies (world.ts reads them from the node's Raft storage in
// its onApplied hook, so nothing a node applies goes unseen). The first report of each index is
// kept; any later report of the same index by any node must be byte-identical (state machine
// safety, checked here). Committed commands are interpreted by the linearizability checker's
// etcd model (test/lincheck/etcd-model.ts), which is independent of src/kv: the resulting
// per-revision states are what serializable reads, watches and the final state of every node are
// checked against, and each node's revision after each applied batch must equal the model's
// (a differential check of src/kv against the model on the real committed log).
import { decodeCommand, type KvCommand } from '../../../src/kv/index.js';
import { decodeEnvelope } from '../../../src/node/envelope.js';
import { EntryType, decodeConfChange, type Entry, type NodeId } from '../../../src/raft/index.js';
import {
  applyOp,
  initialState,
  type KeyRecord,
  type ModelState,
} from '../../lincheck/etcd-model.js';
import type { KvOp } from '../../lincheck/history.js';

/** Payload tags of KvServer's entries (src/node/kv-server.ts, `Tag`; mirrored, it is not exported). */
export const KvServerTag = { Kv: 1, KeepAlive: 2 } as const;

/** RevisionChange is one key changed at a revision: its new record, or null when deleted. */
export interface RevisionChange {
  readonly key: string;
  readonly record: KeyRecord | null;
}

interface StoredEntry {
  readonly term: number;
  readonly type: string;
  readonly data: Uint8Array;
  readonly by: NodeId;
}

const dec = new TextDecoder();

/** keyString maps key bytes to the string the model and the history use (keys here are ASCII). */
export function keyString(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** UnsupportedCommandError: the committed log holds a command this oracle cannot interpret. */
export class UnsupportedCommandError extends Error {
  readonly code = 'unsupported-command';
}

/** toModelOp translates a committed KV command into the model's vocabulary, or 'compact'/'none'. */
export function toModelOp(cmd: KvCommand): KvOp | { readonly compact: number } {
  switch (cmd.type) {
    case 'put': {
      const r = cmd.request;
      if (r.ignoreValue === true || r.ignoreLease === true)
        throw new UnsupportedCommandError('put with ignore flags');
      const key = keyString(r.key);
      const value = dec.decode(r.value ?? new Uint8Array(0));
      const lease = r.lease === undefined || r.lease === '0' ? 0 : Number(r.lease);
      return lease === 0
        ? { type: 'put', key, value }
        : { type: 'put-with-lease', key, value, lease };
    }
    case 'deleteRange': {
      const r = cmd.request;
      const key = keyString(r.key);
      return r.rangeEnd === undefined || r.rangeEnd.length === 0
        ? { type: 'delete', key }
        : { type: 'delete', key, rangeEnd: keyString(r.rangeEnd) };
    }
    case 'txn': {
      // The clients' compare-and-swap: one EQUAL compare, a put on success, a get on failure.
      const r = cmd.request;
      const c = r.compare?.[0];
      const put = r.success?.[0];
      if (
        r.compare?.length !== 1 ||
        r.success?.length !== 1 ||
        c === undefined ||
        put?.type !== 'put' ||
        c.result !== 'EQUAL'
      ) {
        throw new UnsupportedCommandError('txn of an unexpected shape');
      }
      const key = keyString(c.key);
      if (keyString(put.request.key) !== key)
        throw new UnsupportedCommandError('txn puts another key');
      const value = dec.decode(put.request.value ?? new Uint8Array(0));
      if (c.target === 'MOD')
        return { type: 'txn-cas', key, expectedModRevision: c.modRevision, value };
      if (c.target === 'VALUE')
        return { type: 'txn-cas', key, expectedValue: dec.decode(c.value), value };
      throw new UnsupportedCommandError(`txn compare on ${c.target}`);
    }
    case 'leaseGrant': {
      const id = cmd.request.id;
      if (id === undefined || id === '0')
        throw new UnsupportedCommandError('lease grant without an id');
      return { type: 'lease-grant', lease: Number(id) };
    }
    case 'leaseRevoke':
      return { type: 'lease-revoke', lease: Number(cmd.request.id) };
    case 'compact':
      return { compact: cmd.request.revision };
    default:
      throw new UnsupportedCommandError(`command ${cmd.type}`);
  }
}

export class CommittedHistory {
  /** entries[i - 1]: the committed entry at index i (as first reported). */
  private readonly entries: StoredEntry[] = [];
  private readonly early = new Map<number, { node: NodeId; e: Entry }>();
  /** states[r - 1]: the store at revision r (revision 1 is the empty store). */
  readonly states: ModelState[] = [initialState()];
  /** changes[r - 1]: the keys changed at revision r. */
  readonly changes: RevisionChange[][] = [[]];
  /** revisionAtIndex[i]: the revision after applying index i (revisionAtIndex[0] = 1). */
  readonly revisionAtIndex: number[] = [1];
  /** commandAtRevision[r - 1]: what made revision r (for violation messages). */
  private readonly madeBy: string[] = ['initial'];
  compactRevision = 0;
  /** compactions: committed compactions that took effect, in order. */
  readonly compactions: { readonly revision: number; readonly index: number }[] = [];
  /** revokedLeases: leases a committed revoke removed (by a client or by expiry), with when it was first applied. */
  readonly revokedLeases = new Map<number, { readonly index: number; readonly at: number }>();
  /** removed: nodes a committed configuration change removed. */
  readonly removed = new Set<NodeId>();
  /** confChanges: committed configuration change entries. */
  confChanges = 0;
  readonly violations: string[] = [];
  /** firstSeenAt[i]: the step at which index i was first applied anywhere. */
  private readonly firstSeenAt: number[] = [0];

  get lastIndex(): number {
    return this.entries.length;
  }

  get revision(): number {
    return this.states.length;
  }

  stateAt(revision: number): ModelState | undefined {
    return this.states[revision - 1];
  }

  changesAt(revision: number): readonly RevisionChange[] {
    return this.changes[revision - 1] ?? [];
  }

  describeRevision(revision: number): string {
    return this.madeBy[revision - 1] ?? '?';
  }

  /** offer records that `node` applied entry e. */
  offer(node: NodeId, e: Entry, now: number): void {
    const i = e.index;
    const known = this.entries[i - 1];
    if (known !== undefined) {
      if (known.term !== e.term || known.type !== e.type || !bytesEqual(known.data, e.data)) {
        this.violations.push(
          `state machine safety: node ${node} applied index ${i} (term ${e.term}, ${e.data.length} bytes) but node ${known.by} applied a different entry there (term ${known.term}, ${known.data.length} bytes)`,
        );
      }
      return;
    }
    if (i > this.entries.length + 1) {
      // Cannot happen if every apply is reported (an index is first applied from the log, never
      // from a snapshot); kept until the gap fills, and reported at the end if it never does.
      if (!this.early.has(i)) this.early.set(i, { node, e });
      return;
    }
    this.append(node, e, now);
    for (
      let next = this.early.get(this.entries.length + 1);
      next;
      next = this.early.get(this.entries.length + 1)
    ) {
      this.early.delete(next.e.index);
      this.append(next.node, next.e, now);
    }
  }

  /** gaps reports indices applied somewhere whose predecessors were never reported. */
  gaps(): string[] {
    return this.early.size === 0
      ? []
      : [
          `oracle: ${this.early.size} applied entries after a gap at index ${this.entries.length + 1}`,
        ];
  }

  firstAppliedAt(index: number): number | undefined {
    return this.firstSeenAt[index];
  }

  private append(node: NodeId, e: Entry, now: number): void {
    this.entries.push({ term: e.term, type: e.type, data: e.data.slice(), by: node });
    this.firstSeenAt[e.index] = now;
    try {
      this.interpret(e);
    } catch (err) {
      this.violations.push(`oracle: cannot interpret index ${e.index}: ${(err as Error).message}`);
    }
    this.revisionAtIndex[e.index] = this.revision;
  }

  private interpret(e: Entry): void {
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      this.confChanges++;
      for (const c of cc.changes) if (c.type === 'remove-node') this.removed.add(c.nodeId);
      return;
    }
    if (e.data.length === 0) return;
    const env = decodeEnvelope(e.data);
    if (!env || env.payload[0] !== KvServerTag.Kv) return;
    const cmd = decodeCommand(env.payload.subarray(1));
    const op = toModelOp(cmd);
    if ('compact' in op) {
      const rev = op.compact;
      if (rev > this.compactRevision && rev <= this.revision) {
        this.compactRevision = rev;
        this.compactions.push({ revision: rev, index: e.index });
      }
      return;
    }
    const before = this.states[this.states.length - 1]!;
    const { state: after, response } = applyOp(before, op);
    if (op.type === 'lease-revoke' && response.ok)
      this.revokedLeases.set(op.lease, { index: e.index, at: this.firstSeenAt[e.index] ?? 0 });
    if (after.revision === before.revision) {
      this.states[this.states.length - 1] = after; // lease set may have changed; the keys did not
      return;
    }
    const changes: RevisionChange[] = [];
    for (const [k, r] of after.keys)
      if (before.keys.get(k) !== r) changes.push({ key: k, record: r });
    for (const k of before.keys.keys())
      if (!after.keys.has(k)) changes.push({ key: k, record: null });
    changes.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.states.push(after);
    this.changes.push(changes);
    this.madeBy.push(`index ${e.index}: ${JSON.stringify(op)}`);
  }
}
