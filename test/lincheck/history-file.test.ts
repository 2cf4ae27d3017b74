// The JSON-lines history format (docs/history-format.md): round trip through a file, and the
// validation that keeps malformed simulator output from being checked as if it meant something.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { checkHistory } from './check-history';
import {
  HistoryFormatError,
  formatHistoryLine,
  parseHistoryLines,
  parseHistoryOp,
} from './history';
import { readHistoryFile, writeHistoryFile, writeHistoryLine } from './history-file';
import {
  HistoryBuilder,
  casMod,
  casValue,
  get,
  grant,
  kv,
  kvs,
  put,
  range,
  rev,
  seen,
} from './testing';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lincheck-'));
  dirs.push(dir);
  return join(dir, 'history.jsonl');
}

describe('history files', () => {
  it('round-trips every operation kind through writeHistoryLine and readHistoryFile', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    h.ok(2, 2, 3, get('a'), { ...seen(2, 'x', 2, 1), createRevision: 2 });
    h.ok(2, 4, 5, range('a', '\0'), kvs(2, kv('a', 'x', 2, 1)));
    h.ok(3, 6, 7, casMod('a', 2, 'y'), { revision: 3, succeeded: true });
    h.unknown(3, 8, casValue('a', 'nope', 'z'));
    h.fail(4, 9, 10, grant(5));
    const path = tempFile();
    for (const op of h.ops) writeHistoryLine(path, op);
    expect(readHistoryFile(path)).toEqual(h.ops);
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe(
      '{"id":1,"client":1,"call":0,"return":1,"op":{"type":"put","key":"a","value":"x"},"result":{"revision":2},"outcome":"ok"}',
    );
    const again = tempFile();
    writeHistoryFile(again, readHistoryFile(path));
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(path, 'utf8'));
    expect(checkHistory(readHistoryFile(path)).verdict).toBe('ok');
  });

  it('ignores blank lines and reports the line of a bad one', () => {
    const good = formatHistoryLine({
      id: 1,
      client: 'c1',
      call: 0,
      return: 1,
      op: put('a', 'x'),
      result: rev(2),
      outcome: 'ok',
    });
    expect(parseHistoryLines(`\n${good}\n`)).toHaveLength(1);
    expect(() => parseHistoryLines(`${good}{not json\n`)).toThrow(/line 2: not valid JSON/);
    expect(() => parseHistoryLines(`${good}${good}`)).toThrow(/line 2: duplicate operation id 1/);
  });

  it('rejects malformed operations with a typed error', () => {
    const base = {
      id: 7,
      client: 1,
      call: 0,
      return: 1,
      op: put('a', 'x'),
      result: rev(2),
      outcome: 'ok',
    };
    const bad: Array<[unknown, RegExp]> = [
      [{ ...base, outcome: 'maybe' }, /outcome must be/],
      [{ ...base, return: null }, /ok operation needs a return time/],
      [{ ...base, call: 5, return: 1 }, /return \(1\) is before call \(5\)/],
      [{ ...base, result: null }, /result must be an object/],
      [{ ...base, result: { rev: 2 } }, /result.revision|revision must be/],
      [{ ...base, outcome: 'unknown', return: null }, /unknown operation must have result null/],
      [{ ...base, op: { type: 'put', key: '', value: 'x' } }, /must not be empty/],
      [{ ...base, op: { type: 'increment', key: 'a' } }, /unknown op.type "increment"/],
      [{ ...base, op: { type: 'bump', maybeTo: null } }, /unknown op.type "bump"/],
      [
        { ...base, op: { type: 'txn-cas', key: 'a', value: 'y' } },
        /exactly one of expectedModRevision, expectedValue/,
      ],
      [{ ...base, op: { type: 'lease-grant', lease: 0 }, result: {} }, /must be positive/],
      [
        { ...base, op: get('a'), result: { revision: 1, value: 3, modRevision: 0, version: 0 } },
        /string or null/,
      ],
      [
        { ...base, op: range('a', 'b'), result: { revision: 1, kvs: [{}], count: 1 } },
        /key must be a string/,
      ],
      ['put a x', /must be a JSON object/],
    ];
    for (const [value, message] of bad) {
      let thrown: unknown;
      try {
        parseHistoryOp(value);
      } catch (e) {
        thrown = e;
      }
      expect(thrown, JSON.stringify(value)).toBeInstanceOf(HistoryFormatError);
      expect((thrown as HistoryFormatError).code).toBe('history-format');
      expect((thrown as Error).message).toMatch(message);
    }
  });

  it('checkHistory validates its input too', () => {
    const h = new HistoryBuilder();
    h.ok(1, 0, 1, put('a', 'x'), rev(2));
    expect(() => checkHistory([...h.ops, ...h.ops])).toThrow(HistoryFormatError);
  });
});
