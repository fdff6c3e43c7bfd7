// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * bisect: keeps the signature, shortens the schedule, names the race in its
 * story, writes a replay file that reproduces the shrunk run, and is
 * deterministic.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.ts';
import { parseScenario } from '../src/scenario/load.ts';

const dir = mkdtempSync(join(tmpdir(), 'hazsim-bisect-'));
const switches = (out: string) => {
  const m = /hazsim: bisect: (\d+) switch points -> (\d+) \((\d+) -> (\d+) decisions/.exec(out)!;
  return { from: Number(m[1]), to: Number(m[2]) };
};

// the handoff seed's bisect, shared by the tests that look at it (the first to ask runs it)
let handoff: ReturnType<typeof cli> | undefined;
const bisectHandoff = () => (handoff ??= cli(['bisect', 'scenarios/cross-task-handoff.yaml', '--seed', '1', '--out', join(dir, 'h1.sched')]));

describe('bisect', () => {
  it('the handoff seed shrinks to a handful of switch points, the same way every time', async () => {
    const a = await bisectHandoff();
    const b = await cli(['bisect', 'scenarios/cross-task-handoff.yaml', '--seed', '1', '--out', join(dir, 'h1.sched')]);
    expect(b.out).toBe(a.out);
    expect(b.err).toBe(a.err);
    const s = switches(a.out);
    expect(s.to).toBeLessThanOrEqual(10);
    expect(s.from).toBeGreaterThan(100);
    expect(a.out).toContain('(RACE: acquirer-100 on CPU0 is inside hazptr_note_context_switch() for this ctx)');
    // the numbered story in ftrace's columns; a switch point is a step on another CPU than the step before
    const numbered = [...a.out.matchAll(/^ *(\d+)\. +\S+-\d+ +\[(\d{3})\] [d.][N.][h.][0-9a-f.]\. +\d+\.\d{6}: \S+: .*$/gm)];
    expect(numbered.length).toBe(40);
    numbered.forEach((n, i) => expect(n[0].endsWith('<-- switch')).toBe(i > 0 && n[2] !== numbered[i - 1][2]));
    expect(numbered.some((n) => n[0].endsWith('<-- switch'))).toBe(true);
  });

  it('--shrink-scenario makes the scenario smaller while the seed still fails the same way', async () => {
    const f = join(dir, 'hs.sched');
    const r = await cli(['bisect', 'scenarios/cross-task-handoff.yaml', '--seed', '1', '--shrink-scenario', '--max-runs', '30', '--out', f]);
    expect(r.code).toBe(1);
    const m = /scenario shrunk in \d+ runs: (.*); written to (\S+)/.exec(r.out)!;
    expect(m[1]).toMatch(/tasks\[\d\]\.repeat 200 -> 100/);
    const shrunk = parseScenario(readFileSync(m[2], 'utf8'), m[2]);
    expect(shrunk.tasks.reduce((a, t) => a + t.repeat, 0)).toBeLessThan(600);
    const replay = await cli(['replay', m[2], f, '--quiet']);
    expect(replay.code).toBe(1);
    expect(replay.out).toContain('general-protection-fault | hazptr_synchronize_overflow_list');
  });

  it('--shrink-scenario of a mutant on a debug build writes a scenario that its replay command takes', async () => {
    const f = join(dir, 'dm.sched');
    const r = await cli(['bisect', 'scenarios/mutants/debug-migrate.yaml', '--hazptr', 'wildcard-flip+debug', '--mutant', 'scan-no-overflow-list', '--seed', '1', '--shrink-scenario', '--max-runs', '10', '--out', f]);
    expect(r.code).toBe(1);
    const yamlFile = /written to (\S+)/.exec(r.out)![1];
    const text = readFileSync(yamlFile, 'utf8');
    expect(text).not.toMatch(/hazptr_(mutant|debug)/); // keys a scenario file refuses: the mutant is the replay file's
    expect(parseScenario(text, yamlFile).hazptr_debug).toBe(true);
    expect(readFileSync(f, 'utf8')).toContain('# hazptr: wildcard-flip+debug mutant scan-no-overflow-list');
    const replayCmd = /^hazsim: replay: \S+ (replay .*)$/m.exec(r.out)![1].split(' ');
    const replay = await cli([...replayCmd, '--quiet']);
    expect(replay.err).toBe('');
    expect(replay.code).toBe(1);
    expect(replay.out).toContain('KASAN: slab-use-after-free | hazsim_deref');
  });

  it('states the depth: the store-buffering race keeps its delayed drains, the handoff race needs none', async () => {
    const depth = (out: string) => {
      const m = /^hazsim: bisect: depth: (\d+) preemptions? and (\d+) delayed store-buffer drains? still needed \(from (\d+) and (\d+);/m.exec(out)!;
      return { preemptions: Number(m[1]), drains: Number(m[2]), fromDrains: Number(m[4]) };
    };
    const sb = await cli(['bisect', 'scenarios/mutants/sb-reader-updater.yaml', '--seed', '1', '--hazptr', 'v5-detach', '--mutant', 'acquire-no-mb', '--out', join(dir, 'sb.sched')]);
    expect(sb.code).toBe(1);
    const d = depth(sb.out);
    expect(d.drains).toBeGreaterThanOrEqual(1); // without a store kept buffered there is no store-buffering race
    expect(d.drains).toBeLessThan(d.fromDrains);
    expect(d.preemptions).toBe(0);
    const replay = await cli(['replay', 'scenarios/mutants/sb-reader-updater.yaml', join(dir, 'sb.sched'), '--quiet']);
    expect(replay.out).toContain('KASAN: slab-use-after-free | hazsim_deref');
    const h = await bisectHandoff();
    expect(depth(h.out).drains).toBe(0);
  });

  it('a seed that does not fail is reported, exit 2', async () => {
    const r = await cli(['bisect', 'scenarios/same-task-release.yaml', '--seed', '1']);
    expect(r.code).toBe(2);
    expect(r.err.split('\n').pop()).toMatch(/^hazsim: seed 1 does not fail \(done after \d+ steps\): nothing to bisect$/);
  });
});
