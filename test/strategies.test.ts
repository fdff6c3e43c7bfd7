// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The seeded strategies: --strategy pct (src/sched/pct.ts) is deterministic,
 * its failures replay exactly from the file it saves, and its flags are
 * checked like any other input.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../src/scenario/load.ts';
import { runScenario } from '../src/scenario/run.ts';
import { PctStrategy, SPIN_LIMIT } from '../src/sched/pct.ts';
import { D_CPU, D_RAND } from '../src/sched/strategy.ts';
import { cli } from './helpers.ts';

const HANDOFF = 'scenarios/cross-task-handoff.yaml';
const handoff = parseScenario(readFileSync(HANDOFF, 'utf8'), HANDOFF);
const dir = mkdtempSync(join(tmpdir(), 'hazsim-strategies-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PCT', () => {
  it('runs the eligible CPU with the highest priority; at a change point the chosen CPU drops below all', () => {
    const p = new PctStrategy(1, 3, { depth: 2, expected: 5 }, 0, 0.5);
    const all = Int32Array.from([0, 1, 2]);
    const seq: number[] = [];
    for (let i = 0; i < 9; i++) seq.push(all[p.choose(D_CPU, 3, all)]);
    // the top CPU runs until the single change point (one of the first 5 choices), then never again
    const c = seq.findIndex((x) => x !== seq[0]);
    expect(c).toBeGreaterThanOrEqual(1);
    expect(c).toBeLessThanOrEqual(5);
    expect(seq.slice(c).every((x) => x !== seq[0])).toBe(true);
    // and the next one runs from then on, as long as it is eligible
    expect(new Set(seq.slice(c)).size).toBe(1);
    // other decisions are the random strategy's
    expect(p.choose(D_RAND, 10)).toBeGreaterThanOrEqual(0);
  });

  it(`a CPU chosen ${SPIN_LIMIT} times in a row while another is eligible yields (spin loops cannot livelock it)`, () => {
    const p = new PctStrategy(2, 2, { depth: 1, expected: 1 }, 0, 0.5);
    const both = Int32Array.from([0, 1]);
    const top = both[p.choose(D_CPU, 2, both)];
    let switched = -1;
    for (let i = 1; i < SPIN_LIMIT + 2; i++) if (both[p.choose(D_CPU, 2, both)] !== top) { switched = i; break; }
    expect(switched).toBe(SPIN_LIMIT);
  });

  it('change points keep their labels whatever their order in time: at depth 3 a CPU demoted first can run again', () => {
    // two CPUs, always both eligible, 600 choices, change points among the first 500 (no yields: fewer than SPIN_LIMIT)
    const both = Int32Array.from([0, 1]);
    let twice = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const p = new PctStrategy(seed, 2, { depth: 3, expected: 500 }, 0, 0.5);
      let switches = 0;
      let last = -1;
      for (let i = 0; i < 600; i++) {
        const c = both[p.choose(D_CPU, 2, both)];
        if (last >= 0 && c !== last) switches++;
        last = c;
      }
      expect(switches).toBeLessThanOrEqual(2);
      if (switches === 2) twice++;
    }
    // the paper's labels: the later change point lands below the earlier one about half the time
    expect(twice).toBeGreaterThan(60);
    expect(twice).toBeLessThan(140);
  });

  it('the same seed gives the same run; a different depth, a different one', () => {
    const a = runScenario(handoff, { seed: 1, search: { strategy: 'pct', depth: 2, expected: 8000 } });
    const b = runScenario(handoff, { seed: 1, search: { strategy: 'pct', depth: 2, expected: 8000 } });
    const c = runScenario(handoff, { seed: 1 });
    expect(b.scheduleDigest).toBe(a.scheduleDigest);
    expect(c.scheduleDigest).not.toBe(a.scheduleDigest);
  });

  it('a failure found under pct replays exactly from its saved schedule, and the hint repeats the flags', async () => {
    const f = join(dir, 'pct.sched');
    const run = await cli(['run', HANDOFF, '--seed', '1', '--strategy', 'pct', '--depth', '2', '--pct-steps', '8000', '--save-schedule', f]);
    expect(run.code).toBe(1);
    expect(run.out).toContain('hazsim: replay: ./bin/hazsim run scenarios/cross-task-handoff.yaml --strategy pct --depth 2 --pct-steps 8000 --seed 1');
    const rep = await cli(['replay', HANDOFF, f]);
    expect(rep.code).toBe(1);
    const last = (s: string) => s.split('\n').filter((l) => /^hazsim: general-protection-fault after/.test(l))[0];
    expect(last(rep.out)).toBe(last(run.out));
  });

  it('bad --strategy, --depth without pct, and --depth 0 are exit 2, one line', async () => {
    expect((await cli(['run', HANDOFF, '--strategy', 'bfs'])).err).toBe("hazsim: --strategy: unknown strategy 'bfs' (random: uniform over the eligible CPUs; pct: probabilistic concurrency testing; dfs: bounded exhaustive search)");
    expect((await cli(['run', HANDOFF, '--depth', '2'])).err).toBe('hazsim: --depth: goes with --strategy pct');
    const r = await cli(['hunt', HANDOFF, '--seeds', '1..2', '--strategy', 'pct', '--depth', '0']);
    expect(r.code).toBe(2);
    expect(r.err).toBe('hazsim: --depth: 0 is out of range (at least 1)');
  });
});
