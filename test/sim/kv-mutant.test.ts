// The KV checks must catch a broken node: with RaftNodeConfig.mutant = 'stale-read', a follower
// answers linearizable reads from its own state without ReadIndex (stale under partitions and
// lag). The linearizability checker has to report it, with an explanation a person can follow.
import { describe, expect, it } from 'vitest';

import { deriveSeed } from './sim-rng.js';
import { runKvSimulation } from './kv/world.js';

const runs = 200;

describe('KV simulator: stale-read mutant', () => {
  it(`reports violations over ${runs} runs, with readable explanations`, () => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let caught = 0;
    const kinds = new Map<string, number>();
    let example: { seed: number; message: string } | undefined;
    for (let i = 0; i < runs; i++) {
      const seed = deriveSeed(2, i);
      const r = runKvSimulation({ seed, nodes: i % 2 === 0 ? 3 : 5, mutant: 'stale-read' });
      if (r.violations.length === 0) continue;
      caught++;
      const k = r.violations[0]!.kind;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
      const lin = r.violations.find((v) => v.kind === 'linearizability');
      if (lin && (example === undefined || lin.message.length < example.message.length))
        example = { seed, message: lin.message };
    }
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `kv sim stale-read mutant: caught in ${caught}/${runs} runs (${((100 * caught) / runs).toFixed(0)}%) in ${((performance.now() - t0) / 1000).toFixed(1)} s (cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s); first violation per run: ${JSON.stringify(Object.fromEntries(kinds))}`,
    );
    if (example) console.log(`shortest explanation (seed ${example.seed}):\n${example.message}`);
    expect(caught).toBeGreaterThan(0);
    // It is the stale reads that are caught, by the linearizability checker.
    expect(kinds.get('linearizability') ?? 0).toBeGreaterThan(0);
    // Readable: it says what is wrong and names the operations, with clients, times and values.
    expect(example).toBeDefined();
    const text = example!.message;
    expect(text).toMatch(/not linearizable/);
    expect(text).toMatch(/#\d+ c\d+ \[\d+\.\.\d+\] (get|range) .*@rev \d+/);
    expect(text).toMatch(/operations: \d+ ok/);
  });
});
