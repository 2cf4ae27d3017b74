// lincheck: the linearizability checker for tabd's KV histories.
//
// What it does: given a history of client operations recorded by the simulator (or any client;
// docs/history-format.md), decide whether some single order of the operations (1) puts every
// operation between its call and its return, (2) would give exactly the recorded results —
// values, modRevision, version and the global revision — when executed one at a time against a
// plain model of etcd (etcd-model.ts), and (3) includes every acknowledged operation, none of the
// failed ones, and any subset of those whose outcome is unknown, each at any time after its call.
//
// Contract: "ok" only with such an order in hand (returned as `linearization`); "violation" only
// when it is proven that none exists, with an explanation naming the longest linearizable prefix
// found and the operations that could not follow it; "unknown" when the step budget ran out.
// Serializable reads are counted and ignored (the simulator checks their staleness bounds).
//
// How: Wing & Gong's search with Lowe's memoization, as in Porcupine (search.ts), pruned by what
// the global revision in every result says about the order (revision-windows.ts, read-facts.ts;
// the soundness arguments are written there and in search.ts). When the full search runs out of
// budget, the history's projections onto single keys (projection.ts: other keys' writes seen only
// as revision bumps) are searched too: one without a linearization proves a violation. The model
// is the oracle: it is independent of src/kv on purpose.
//
// Files: history.ts (format, validation), history-file.ts (JSON lines), etcd-model.ts (the
// oracle), prepare.ts (what is dropped), revision-windows.ts and read-facts.ts (facts and checks
// before searching), event-list.ts and visited.ts (the search's lists and memory), search.ts,
// projection.ts, describe.ts and check-history.ts (explanations, the entry point). Test helpers:
// testing.ts (builders, witness check, brute force), history-gen.ts (random histories).
//
// Invariants: the model is pure and its states immutable; the checker never reads clocks or
// randomness, so the same history always gets the same verdict, steps and explanation.
export { checkHistory, defaultTimeoutSteps, Verdict } from './check-history';
export type { CheckOptions, CheckResult } from './check-history';
export {
  HistoryFormatError,
  OpType,
  Outcome,
  formatHistoryLine,
  parseHistoryLines,
  parseHistoryOp,
  validateHistory,
} from './history';
export type {
  DeleteResult,
  GetResult,
  HistoryOp,
  KvOp,
  LeaseGrantResult,
  OpResult,
  RangeKv,
  RangeResult,
  RevisionResult,
  TxnCasResult,
} from './history';
export { readHistoryFile, writeHistoryFile, writeHistoryLine } from './history-file';
export { applyOp, defaultModelOptions, initialState } from './etcd-model';
export type { ModelOptions, ModelState } from './etcd-model';
export type { HistoryStats } from './prepare';
