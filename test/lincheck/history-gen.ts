// Random histories that are linearizable by construction, for property and performance tests.
//
// A plan is a list of steps. Step k takes effect at time point 10·(k+1) (its linearization point)
// on a sequential run of the model; the client that issues it is busy over an interval around
// that point, so intervals of different clients overlap while each client stays sequential. The
// sequence of points is then a witness. Fates: ok; unknown and applied (it took effect, the
// client never heard back); unknown and lost (it never took effect); fail (never took effect).
import fc from 'fast-check';

import { applyOp, initialState, type ModelState } from './etcd-model';
import type { HistoryOp, KvOp, OpResult } from './history';

export type OpSpec =
  | { readonly kind: 'put'; readonly key: number }
  | { readonly kind: 'get'; readonly key: number }
  | { readonly kind: 'stale-get'; readonly key: number }
  | { readonly kind: 'range'; readonly key: number; readonly width: number }
  | { readonly kind: 'delete'; readonly key: number }
  | { readonly kind: 'cas-mod'; readonly key: number; readonly stale: boolean }
  | { readonly kind: 'cas-value'; readonly key: number; readonly stale: boolean }
  | { readonly kind: 'lease-grant'; readonly lease: number }
  | { readonly kind: 'put-lease'; readonly key: number; readonly lease: number }
  | { readonly kind: 'lease-revoke'; readonly lease: number };

export type Fate = 'ok' | 'unknown-applied' | 'unknown-lost' | 'fail';

export interface Step {
  readonly spec: OpSpec;
  readonly client: number;
  /** How long before its point the call happens (ticks, < spacing·3). */
  readonly lead: number;
  /** How long after its point the return happens. */
  readonly lag: number;
  readonly fate: Fate;
}

export interface GenShape {
  readonly keys: number;
  readonly leases: number;
  readonly clients: number;
  /** Keys put with a lease are among the first leasedKeys keys (default: any key). */
  readonly leasedKeys?: number;
}

export const spacingTicks = 10;

export function opSpecArb(shape: GenShape): fc.Arbitrary<OpSpec> {
  const key = fc.nat(shape.keys - 1);
  const leasedKey = fc.nat(Math.min(shape.keys, shape.leasedKeys ?? shape.keys) - 1);
  const lease = fc.integer({ min: 1, max: shape.leases });
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('put' as const), key }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('get' as const), key }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('stale-get' as const), key }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('range' as const), key, width: fc.nat(shape.keys) }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('cas-mod' as const), key, stale: fc.boolean() }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('cas-value' as const), key, stale: fc.boolean() }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('lease-grant' as const), lease }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('put-lease' as const), key: leasedKey, lease }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('lease-revoke' as const), lease }) },
  );
}

export function stepArb(shape: GenShape, unknownWeight = 1): fc.Arbitrary<Step> {
  return fc.record({
    spec: opSpecArb(shape),
    client: fc.nat(shape.clients - 1),
    lead: fc.nat(3 * spacingTicks - 1),
    lag: fc.nat(3 * spacingTicks - 1),
    fate: fc.oneof(
      { weight: 16, arbitrary: fc.constant<Fate>('ok') },
      { weight: unknownWeight, arbitrary: fc.constant<Fate>('unknown-applied') },
      { weight: unknownWeight, arbitrary: fc.constant<Fate>('unknown-lost') },
      { weight: 1, arbitrary: fc.constant<Fate>('fail') },
    ),
  });
}

const keyName = (k: number): string =>
  `k${String.fromCharCode(97 + (k % 26))}${k >= 26 ? Math.floor(k / 26) : ''}`;

function toKvOp(spec: OpSpec, s: ModelState, value: string, keys: number): KvOp {
  switch (spec.kind) {
    case 'put':
      return { type: 'put', key: keyName(spec.key), value };
    case 'get':
      return { type: 'get', key: keyName(spec.key) };
    case 'stale-get':
      return { type: 'get', key: keyName(spec.key), serializable: true };
    case 'range': {
      const end = spec.key + spec.width;
      return { type: 'range', key: keyName(spec.key), rangeEnd: end >= keys ? '\0' : keyName(end) };
    }
    case 'delete':
      return { type: 'delete', key: keyName(spec.key) };
    case 'cas-mod': {
      const mod = s.keys.get(keyName(spec.key))?.modRevision ?? 0;
      return {
        type: 'txn-cas',
        key: keyName(spec.key),
        expectedModRevision: spec.stale ? Math.max(0, mod - 1) : mod,
        value,
      };
    }
    case 'cas-value': {
      const current = s.keys.get(keyName(spec.key))?.value ?? 'none';
      return {
        type: 'txn-cas',
        key: keyName(spec.key),
        expectedValue: spec.stale ? `${current}-stale` : current,
        value,
      };
    }
    case 'lease-grant':
      return { type: 'lease-grant', lease: spec.lease };
    case 'put-lease':
      return { type: 'put-with-lease', key: keyName(spec.key), value, lease: spec.lease };
    case 'lease-revoke':
      return { type: 'lease-revoke', lease: spec.lease };
  }
}

export interface Generated {
  readonly history: HistoryOp[];
  /** Ids in the order they took effect (the construction's witness). */
  readonly witness: number[];
}

/** buildHistory runs the plan on the model and records what each client saw. */
export function buildHistory(steps: readonly Step[], shape: GenShape): Generated {
  let state = initialState();
  const busyUntil = new Array<number>(shape.clients).fill(-1);
  const history: HistoryOp[] = [];
  const witness: number[] = [];
  steps.forEach((step, k) => {
    const point = spacingTicks * (k + 1);
    // The requested client if it is free before the point, else the next free one. At most three
    // earlier steps can still be running (lag < 3 spacings), so with 4+ clients one is free.
    let client = step.client % shape.clients;
    for (let tries = 0; (busyUntil[client] ?? 0) >= point && tries < shape.clients; tries++) {
      client = (client + 1) % shape.clients;
    }
    if ((busyUntil[client] ?? 0) >= point)
      throw new Error('buildHistory: no free client; use more clients');
    const call = Math.max(point - step.lead, (busyUntil[client] ?? -1) + 1);
    const ret = point + step.lag;
    busyUntil[client] = ret;
    const id = k + 1;
    const op = toKvOp(step.spec, state, `v${id}`, shape.keys);
    const serializable = op.type === 'get' && op.serializable === true;
    let fate = step.fate;
    let result: OpResult | null = null;
    if (serializable) {
      // A serializable read may be stale; the checker must ignore it whatever it says.
      result = { revision: 1, value: 'stale', modRevision: 1, version: 1 };
      fate = 'ok';
    } else if (fate === 'ok' || fate === 'unknown-applied') {
      const applied = applyOp(state, op);
      if (!applied.response.ok) {
        fate = 'fail'; // the server answered with an error: no effect
      } else {
        state = applied.state;
        witness.push(id);
        if (fate === 'ok') result = applied.response.result;
      }
    }
    const outcome = fate === 'ok' ? 'ok' : fate === 'fail' ? 'fail' : 'unknown';
    history.push({
      id,
      client,
      call,
      return: outcome === 'unknown' ? null : ret,
      op,
      result,
      outcome,
    });
  });
  return { history, witness };
}

/** historyArb: linearizable histories of minSteps..maxSteps steps (lengths spread evenly). */
export function historyArb(
  shape: GenShape,
  minSteps: number,
  maxSteps: number,
  unknownWeight = 1,
): fc.Arbitrary<Generated> {
  return fc
    .array(stepArb(shape, unknownWeight), { minLength: minSteps, maxLength: maxSteps, size: 'max' })
    .map((steps) => buildHistory(steps, shape));
}
