// Reading and writing history files (JSON lines, docs/history-format.md). Node only: the
// simulator writes them with `--history-out DIR` and the checker or a person reads them back.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';

import { formatHistoryLine, parseHistoryLines } from './history';
import type { HistoryOp } from './history';

/** readHistoryFile reads and validates a JSON-lines history. Throws HistoryFormatError. */
export function readHistoryFile(path: string): HistoryOp[] {
  return parseHistoryLines(readFileSync(path, 'utf8'));
}

/** writeHistoryLine appends one operation to a history file (creating it if needed). */
export function writeHistoryLine(path: string, op: HistoryOp): void {
  appendFileSync(path, formatHistoryLine(op));
}

/** writeHistoryFile replaces path with the given operations, one per line. */
export function writeHistoryFile(path: string, ops: readonly HistoryOp[]): void {
  writeFileSync(path, ops.map(formatHistoryLine).join(''));
}
