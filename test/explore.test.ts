// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * hazsim explore and --strategy dfs (src/scenario/explore.ts, src/sched/dfs.ts):
 * the handoff race is found at a small bound and its saved schedule replays
 * with the same signature and digest; a correct-use scenario is clean and
 * complete; the partial-order reduction explores fewer schedules and finds
 * the same failures; bad flags are one line, exit 2. Small scenarios and
 * budgets: the whole file takes a few seconds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScenario, parseScenario } from '../src/scenario/load.ts';
import { explore } from '../src/scenario/explore.ts';
import { startRun } from '../src/scenario/run.ts';
import { DfsStrategy, ROOT, type Branch } from '../src/sched/dfs.ts';
import { OP_DRAIN } from '../src/kernel/port.ts';
import type { Scenario } from '../src/scenario/schema.ts';
import { cli } from './helpers.ts';

const HANDOFF = 'scenarios/cross-task-handoff.yaml';
const GPF = 'general-protection-fault | hazptr_synchronize_overflow_list < hazptr_synchronize < hazsim_update < hazsim_kthread < kthread';
const dir = mkdtempSync(join(tmpdir(), 'hazsim-explore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// the small scenarios of scenarios/explore/ (docs/hunting.md), under SC to keep the file fast: no drain choices
const sc = { memoryModel: 'sc' };
/** The handoff workload, two rounds, one update: bound 1 is searched completely. */
const tinyHandoff = loadScenario('scenarios/explore/handoff-small.yaml', undefined, sc);
/** Correct use: acquire and release in the same task while a writer updates. */
const tinySameTask = loadScenario('scenarios/explore/same-task-small.yaml', undefined, sc);

/** A periodic interrupt on the updater's CPU: its firing moves with the step count, so it must not be reordered across steps as if it were not there. */
const irqReader = parseScenario(`
name: irq reader and an updater
machine: { cpus: 2, preempt: full, kasan: true }
hazptr: v5
limits: { steps: 3000 }
objects: [gp]
tasks:
  - { name: w, cpu: 0, program: [ { update: gp } ] }
  - { name: r, cpu: 1, contexts: { c0: stack }, program: [ { acquire: c0 }, { deref: c0 }, { release: c0 } ] }
irqs:
  - { name: tick, cpu: 0, every_us: 0.3, contexts: { h: static }, program: [ { acquire: h }, { deref: h }, { release: h } ] }
`, 'irq-reader.yaml');

/**
 * The classes of the runs a search ran to their end: per task, the sequence of
 * its steps (kind, site, address, value; store drains are not steps), and how
 * the run ended. The reduction may skip a schedule only if it is equivalent to
 * one it runs, so with and without it the sets must be the same.
 */
function classes(s: Scenario, bound: number, reduce: boolean): Set<string> {
  const out = new Set<string>();
  const r = explore(s, {
    bound, maxSchedules: 2000, seed: 1, reduce,
    watch: (m) => {
      const seqs = new Map<number, string[]>();
      const tr = m.tracer!;
      m.tracer = (x) => {
        tr(x);
        if (x.kind === OP_DRAIN) return;
        let a = seqs.get(x.task);
        if (!a) seqs.set(x.task, (a = []));
        a.push(`${x.kind}:${x.site}:${x.addr}:${x.val}`);
      };
      return (res) => {
        if (!res) return;
        const tasks = [...seqs.keys()].sort((a, b) => a - b);
        out.add(`${res.bug ? res.bug.signature : res.outcome}|${tasks.map((t) => `${t}=${seqs.get(t)!.join(',')}`).join(';')}`);
      };
    },
  });
  expect(r.complete).toBe(true);
  return out;
}

describe('explore', () => {
  it('finds the handoff GPF at bound 1, and the saved schedule replays it exactly', async () => {
    const f = join(dir, 'found.sched');
    const ex = await cli(['explore', HANDOFF, '--bound', '1', '--steps', '1000', '--max-schedules', '40', '--save-schedule', f]);
    expect(ex.code).toBe(1);
    expect(ex.out).toContain(`hazsim: first failure at bound 1: ${GPF}`);
    expect(ex.out).toContain(`hazsim: replay: ./bin/hazsim replay ${HANDOFF} ${f}`);
    expect(ex.out.split('\n').at(-1)).toMatch(/^hazsim: explored \d+ schedules \(stopped at budget\), \d+ failing, signatures: general-protection-fault \| hazptr_synchronize_overflow_list .* \(\d+, first at bound 1\)$/);
    const digest = /schedule ([0-9a-f]{8});/.exec(ex.out)![1];
    const rp = await cli(['replay', HANDOFF, f, '--quiet']);
    expect(rp.code).toBe(1);
    expect(rp.out).toContain(`hazsim: signature: ${GPF}`);
    expect(rp.out).toContain(`schedule ${digest})`);
    // the same search, the same output
    const again = await cli(['explore', HANDOFF, '--bound', '1', '--steps', '1000', '--max-schedules', '40']);
    expect(again.out.split('\n').at(-1)).toBe(ex.out.split('\n').at(-1));
  });

  it('run --strategy dfs prints the failing run as run does; its replay line repeats the search', async () => {
    const r = await cli(['run', HANDOFF, '--strategy', 'dfs', '--bound', '1', '--steps', '1000', '--quiet']);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`hazsim: signature: ${GPF}`);
    expect(r.out).toContain(`hazsim: replay: ./bin/hazsim run ${HANDOFF} --steps 1000 --strategy dfs --bound 1`);
    expect(r.out).toContain('hazsim: found by dfs at bound 1, schedule 37 of the search');
  });

  it('hunt --strategy dfs is the search with its summary; bisect --strategy dfs bisects the schedule it finds', async () => {
    const h = await cli(['hunt', 'scenarios/explore/same-task-small.yaml', '--strategy', 'dfs', '--bound', '1', '--memory-model', 'sc']);
    expect(h.code).toBe(0);
    expect(h.out.split('\n').at(-1)).toMatch(/^hazsim: explored \d+ schedules \(complete\), 0 failing, signatures: none$/);
    const out = join(dir, 'bisected.sched');
    const b = await cli(['bisect', 'scenarios/explore/handoff-small.yaml', '--seed', '1', '--strategy', 'dfs', '--bound', '1', '--memory-model', 'sc', '--out', out]);
    expect(b.code).toBe(1);
    expect(b.err).toContain(`bisect: dfs: failing schedule 33 of the search, at bound 1: ${GPF}`);
    expect(b.out).toContain(`hazsim: signature: ${GPF}`);
    const rp = await cli(['replay', 'scenarios/explore/handoff-small.yaml', out, '--quiet']);
    expect(rp.out).toContain(`hazsim: signature: ${GPF}`);
  });

  it('a correct-use scenario: complete and clean at bound 1', () => {
    const r = explore(tinySameTask, { bound: 1, maxSchedules: 1000, seed: 1 });
    expect(r.complete).toBe(true);
    expect(r.failing).toBe(0);
    expect(r.explored).toBeGreaterThan(10);
  });

  it('the reduction explores fewer schedules and finds the same failures', () => {
    // two tasks, clean
    const two = explore(tinySameTask, { bound: 1, maxSchedules: 1000, seed: 1 });
    const twoOff = explore(tinySameTask, { bound: 1, maxSchedules: 1000, seed: 1, reduce: false });
    expect(two.complete && twoOff.complete).toBe(true);
    // bound 1 is the last bound: the reduction can only cut runs short there
    expect(two.explored).toBeLessThan(twoOff.explored);
    expect(two.explored + two.cut).toBeLessThanOrEqual(twoOff.explored);
    expect(two.failing + twoOff.failing).toBe(0);
    // three tasks, the handoff race
    const on = explore(tinyHandoff, { bound: 1, maxSchedules: 1000, seed: 1 });
    const off = explore(tinyHandoff, { bound: 1, maxSchedules: 1000, seed: 1, reduce: false });
    expect(on.complete && off.complete).toBe(true);
    expect(on.explored).toBeLessThan(off.explored);
    expect(on.explored + on.cut).toBeLessThanOrEqual(off.explored);
    expect(on.signatures.map((f) => f.signature).sort()).toEqual(off.signatures.map((f) => f.signature).sort());
    expect(on.signatures.map((f) => f.signature)).toContain(GPF);
    // the first failure is found at the same, smallest bound
    expect(Math.min(...on.signatures.map((f) => f.bound))).toBe(Math.min(...off.signatures.map((f) => f.bound)));
  });

  it('the reduction reaches every class of per-task observations the full search reaches (bound 1)', () => {
    const cases: [string, Scenario][] = [
      ['a periodic interrupt', irqReader],
      ['same-task-small', loadScenario('scenarios/explore/same-task-small.yaml')],
      ['store-buffering-small', loadScenario('scenarios/explore/store-buffering-small.yaml')],
      ['handoff-small (sc)', tinyHandoff],
    ];
    for (const [name, s] of cases) {
      const on = classes(s, 1, true);
      const off = classes(s, 1, false);
      expect(off.size, name).toBeGreaterThan(1);
      expect([...off].filter((k) => !on.has(k)).map((k) => k.slice(0, 300)), name).toEqual([]);
      expect(on.size, name).toBe(off.size);
    }
  });

  it('a search that stops at its budget keeps only the branches it can still run, and runs the same schedules', () => {
    for (const [s, bound, budgets] of [[tinyHandoff, 2, [40, 150, 400]], [tinySameTask, 3, [60, 500]]] as const) {
      for (const maxSchedules of budgets) {
        const kept = explore(s, { bound, maxSchedules, seed: 1 });
        const all = explore(s, { bound, maxSchedules, seed: 1, keepAll: true });
        expect(kept.unreached, `${s.name} ${maxSchedules}`).toBeGreaterThan(0);
        expect(all.unreached).toBe(0);
        expect({ ...kept, unreached: 0 }, `${s.name} ${maxSchedules}`).toEqual(all);
        expect(kept.complete).toBe(false);
      }
    }
  });

  it('a branch is its path from the default run: it repeats the run it branches from, and says so when it does not', () => {
    const runOf = (br: Branch) => {
      const dfs = new DfsStrategy(br, { seed: 1, reduce: false, bound: 2 });
      const run = startRun(tinyHandoff, { seed: 1, strategy: dfs, record: false });
      dfs.attach(run.machine);
      run.machine.run();
      dfs.finish();
      return { dfs, digest: run.result().scheduleDigest };
    };
    const root = runOf(ROOT);
    const kids = root.dfs.children();
    const child = kids[Math.floor(kids.length / 2)];
    const grandkids = runOf(child).dfs.children().filter((b) => b.at > child.at + 10);
    expect(grandkids.length).toBeGreaterThan(0);
    const g = grandkids[0];
    // the grandchild follows the child's run (its path: the child's choice, then the default) up to its own choice
    const gr = runOf(g).dfs.decisions();
    const cr = runOf(child).dfs.decisions();
    expect(Array.from(gr.chosen.subarray(0, g.at))).toEqual(Array.from(cr.chosen.subarray(0, g.at)));
    expect(gr.chosen[g.at]).toBe(g.alt);
    expect(gr.chosen[child.at]).toBe(child.alt);
    expect(() => runOf({ ...g, check: g.check ^ 1 })).toThrow(/the run did not repeat itself/);
    expect(() => runOf({ ...g, prev: { ...child, at: 1e9 } })).toThrow(/the run ended before its decision #1000000000: the run did not repeat itself/);
  });

  it('bad flags are one line on stderr, exit 2, before any search', async () => {
    const cases: [string[], string][] = [
      [['explore', HANDOFF, '--bound', '-1'], 'hazsim: --bound: -1 is out of range (at least 0)'],
      [['explore', HANDOFF, '--bound', 'two'], "hazsim: --bound: 'two' is not an integer"],
      [['explore', HANDOFF, '--max-schedules', '0'], 'hazsim: --max-schedules: 0 is out of range (at least 1)'],
      [['explore', HANDOFF, '--hazptr', 'v6'], "hazsim: --hazptr: unknown hazptr version 'v6'"],
      [['run', HANDOFF, '--bound', '2'], 'hazsim: --bound: goes with --strategy dfs'],
      [['run', HANDOFF, '--strategy', 'dfs', '--depth', '2'], 'hazsim: --depth: goes with --strategy pct'],
      [['hunt', HANDOFF, '--strategy', 'dfs', '--seeds', '1..2'], 'hazsim: --seeds: not with --strategy dfs'],
      [['hunt', HANDOFF], "hazsim: required option '--seeds <a..b>' not specified"],
      [['bisect', HANDOFF, '--seed', '1', '--strategy', 'dfs', '--shrink-scenario'], 'hazsim: --shrink-scenario: not with --strategy dfs'],
      [['explore', HANDOFF, '--save-schedule', join(dir, 'no/such/dir.sched')], 'hazsim: --save-schedule: cannot write'],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.split('\n'), argv.join(' ')).toHaveLength(1);
      expect(r.err, argv.join(' ')).toContain(msg);
      expect(r.out).toBe('');
    }
  });
});
