// validateConfig: every invalid RaftConfig is refused at construction with a
// ConfigError that names the field and the value, never accepted silently.
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  MemoryStorage,
  Raft,
  SeededRng,
  nodeId,
  raftConfigDefaults,
  validateConfig,
  type RaftConfig,
} from '../../src/raft/index.js';

const base = (): RaftConfig => ({
  id: nodeId('1'),
  storage: new MemoryStorage(),
  electionTicks: 10,
  heartbeatTicks: 1,
  rng: new SeededRng(1),
});

function refused(over: Partial<Record<keyof RaftConfig, unknown>>): ConfigError {
  const cfg = { ...base(), ...over } as RaftConfig;
  let caught: unknown;
  try {
    validateConfig(cfg);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  expect((caught as ConfigError).code).toBe('invalid-config');
  // The Raft constructor validates too.
  expect(() => new Raft(cfg)).toThrow(ConfigError);
  return caught as ConfigError;
}

describe('validateConfig', () => {
  it('fills the documented defaults', () => {
    const c = validateConfig(base());
    expect(c).toMatchObject({ ...raftConfigDefaults, applied: 0 });
    expect(c.logger).toBeTypeOf('function');
  });

  it('refuses electionTicks <= heartbeatTicks, naming both', () => {
    expect(refused({ electionTicks: 5, heartbeatTicks: 5 }).message).toBe(
      'electionTicks (5) must be greater than heartbeatTicks (5)',
    );
    expect(refused({ electionTicks: 3, heartbeatTicks: 4 }).message).toContain('electionTicks (3)');
    expect(validateConfig({ ...base(), electionTicks: 6, heartbeatTicks: 5 }).electionTicks).toBe(
      6,
    );
  });

  it.each([
    ['heartbeatTicks', 0, 'heartbeatTicks must be an integer >= 1, got 0'],
    ['heartbeatTicks', -1, 'heartbeatTicks must be an integer >= 1, got -1'],
    ['heartbeatTicks', 1.5, 'heartbeatTicks must be an integer >= 1, got 1.5'],
    ['electionTicks', 0, 'electionTicks must be an integer >= 1, got 0'],
    ['electionTicks', Number.NaN, 'electionTicks must be an integer >= 1, got NaN'],
    ['maxInflightMsgs', 0, 'maxInflightMsgs must be an integer >= 1, got 0'],
    ['maxInflightBytes', -1, 'maxInflightBytes must be an integer >= 0, got -1'],
    ['maxSizePerMsgBytes', -5, 'maxSizePerMsgBytes must be an integer >= 0, got -5'],
    [
      'maxUncommittedEntriesSizeBytes',
      -1,
      'maxUncommittedEntriesSizeBytes must be an integer >= 0, got -1',
    ],
    [
      'maxCommittedSizePerReadyBytes',
      0,
      'maxCommittedSizePerReadyBytes must be an integer >= 1, got 0',
    ],
    ['applied', -1, 'applied must be an integer >= 0, got -1'],
  ] as const)('refuses %s = %s', (field, value, message) => {
    expect(refused({ [field]: value }).message).toBe(message);
  });

  it('refuses maxInflightBytes below maxSizePerMsgBytes (one message could never fit), at the boundary', () => {
    expect(refused({ maxInflightBytes: 999, maxSizePerMsgBytes: 1000 }).message).toBe(
      'maxInflightBytes must be >= maxSizePerMsgBytes (or 0 for no limit)',
    );
    expect(
      validateConfig({ ...base(), maxInflightBytes: 1000, maxSizePerMsgBytes: 1000 })
        .maxInflightBytes,
    ).toBe(1000);
    // 0 means no byte limit, whatever the message size.
    expect(validateConfig({ ...base(), maxInflightBytes: 0 }).maxInflightBytes).toBe(0);
    // The default message size (1 MiB) applies when only the window is given.
    expect(refused({ maxInflightBytes: 1000 }).message).toContain('maxInflightBytes');
  });

  it('refuses an empty id, and a missing storage or rng', () => {
    expect(refused({ id: '' }).message).toBe('id must be a non-empty string');
    expect(refused({ storage: undefined }).message).toBe('storage is required');
    expect(refused({ rng: undefined }).message).toContain('rng is required');
  });
});
