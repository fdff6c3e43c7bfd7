// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Same scenario + seed -> byte-identical output; different seeds -> different
 * schedules; a recorded schedule replays to the same run; a replay that no
 * longer fits stops at the first divergent decision.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../src/scenario/load.ts';
import { runScenario } from '../src/scenario/run.ts';
import { Schedule } from '../src/sched/schedule.ts';
import { cli, text } from './helpers.ts';


const handoff = parseScenario(readFileSync('scenarios/cross-task-handoff.yaml', 'utf8'), 'scenarios/cross-task-handoff.yaml');
const sameTask = parseScenario(readFileSync('scenarios/same-task-release.yaml', 'utf8'), 'scenarios/same-task-release.yaml');

describe('a run that keeps no decision log', () => {
  it('has the same decision count, digest, report and story as one that records, and cannot be snapshot', () => {
    for (const seed of [1, 2, 3]) {
      const full = runScenario(handoff, { seed, story: true, record: true });
      const flat = runScenario(handoff, { seed, story: true, record: false });
      expect(full.schedule.keep).toBe(true);
      expect(flat.schedule.keep).toBe(false);
      expect(flat.decisions).toBe(full.decisions);
      expect(flat.scheduleDigest).toBe(full.scheduleDigest);
      expect(text(flat)).toBe(text(full));
      expect(flat.story?.length ?? 0).toBeGreaterThan(0);
      expect(() => flat.schedule.snapshot()).toThrow(/keeps no decisions/);
    }
  });

  it('a seeded run keeps no log unless asked; a replay keeps one unless told not to', () => {
    const flat = runScenario(sameTask, { seed: 4 });
    expect(flat.schedule.keep).toBe(false);
    const full = runScenario(sameTask, { seed: 4, record: true });
    const again = runScenario(sameTask, { seed: 4, replay: full.schedule.snapshot() });
    expect(again.schedule.keep).toBe(true);
    expect(again.scheduleDigest).toBe(full.scheduleDigest);
    expect(flat.scheduleDigest).toBe(full.scheduleDigest);
  });
});

describe('determinism', () => {
  it('one seed twice gives byte-identical output (run command, both shipped scenarios)', async () => {
    for (const f of ['scenarios/same-task-release.yaml', 'scenarios/cross-task-handoff.yaml']) {
      const a = await cli(['run', f, '--seed', '7']);
      const b = await cli(['run', f, '--seed', '7']);
      expect(a.out.length).toBeGreaterThan(100);
      expect(b.out).toBe(a.out);
      expect(b.code).toBe(a.code);
      const ja = await cli(['run', f, '--seed', '7', '--json']);
      const jb = await cli(['run', f, '--seed', '7', '--json']);
      expect(jb.out).toBe(ja.out);
    }
  });

  it('different seeds give different schedules', () => {
    const digests = new Set<string>();
    for (let s = 0; s < 10; s++) digests.add(runScenario(sameTask, { seed: s }).scheduleDigest);
    expect(digests.size).toBe(10);
  });

  it('a recorded schedule replays to the same run, without the seed', () => {
    for (const [sc, seed] of [[sameTask, 3], [handoff, 1], [handoff, 5]] as const) {
      const a = runScenario(sc, { seed, record: true });
      const replay = Schedule.decode(a.schedule.encode());
      const b = runScenario(sc, { seed: 999999, replay });
      expect(b.outcome).toBe(a.outcome);
      expect(b.steps).toBe(a.steps);
      expect(b.scheduleDigest).toBe(a.scheduleDigest);
      expect(b.bug?.signature).toBe(a.bug?.signature);
      expect(text(b).replaceAll('seed 999999', 'seed X')).toBe(text(a).replaceAll(`seed ${seed}`, 'seed X'));
    }
  });

  it('a schedule replayed against a changed scenario stops at the first divergent decision', () => {
    const a = runScenario(handoff, { seed: 1, record: true });
    const changed = parseScenario(readFileSync('scenarios/cross-task-handoff.yaml', 'utf8').replace('cpus: 2', 'cpus: 3'), 'changed.yaml');
    const b = runScenario(changed, { seed: 1, replay: a.schedule.snapshot() });
    expect(b.outcome).toBe('divergence');
    expect(b.divergence).toMatch(/^decision #\d+/);
    // a schedule cut short ends with its own message
    const cut = Schedule.decode(a.schedule.encode());
    cut.length = 20;
    const c = runScenario(handoff, { seed: 1, replay: cut });
    expect(c.outcome).toBe('divergence');
    expect(c.divergence).toMatch(/schedule ends after 20 decisions/);
  });
});
