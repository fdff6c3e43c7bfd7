// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * hunt, merge and replay: results independent of the number of jobs, failures
 * grouped by signature, shards that cover a range and merge to the
 * single-machine result, --resume, and replay files that reproduce a run byte
 * for byte or stop at the first decision that no longer fits.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.ts';
import { groupBySignature, shardSeeds, summaryTable } from '../src/cli/hunt.ts';


const dir = mkdtempSync(join(tmpdir(), 'hazsim-hunt-'));
// the KASAN torture scenario with 1 us steps: the readers start at 0.1 s, 100,000 steps in,
// so 300,000 steps fail every seed (with the shipped 100 ns steps it takes 1.2 M)
const KASAN = join(dir, 'kasan-1us.yaml');
writeFileSync(KASAN, readFileSync('scenarios/hazptrtorture-preempt-kasan.yaml', 'utf8').replace('step_ns: 100 }', 'step_ns: 1000 }'));
const HANDOFF = 'scenarios/cross-task-handoff.yaml';
// the PREEMPT torture scenario with 1 us steps: its GPF (seed 3) comes ten times sooner, and so does its story
const TORTURE = join(dir, 'preempt-1us.yaml');
writeFileSync(TORTURE, readFileSync('scenarios/hazptrtorture-preempt.yaml', 'utf8').replace('step_ns: 100 }', 'step_ns: 1000 }'));

/** One run, shared by the tests that need it (each awaits the same promise; the first to ask starts it). */
function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= f());
}
// the KASAN hunt of seeds 1-4 on two workers: compared with one worker, and with its shards merged
const O2 = join(dir, 'j2.jsonl');
const kasanJobs2 = once(() => cli(['hunt', KASAN, '--seeds', '1..4', '--steps', '3e5', '--jobs', '2', '--out', O2]));

describe('hunt', () => {
  it('gives the same findings and the same --out file with 1 and 2 jobs', async () => {
    const o1 = join(dir, 'j1.jsonl');
    const r1 = await cli(['hunt', KASAN, '--seeds', '1..4', '--steps', '3e5', '--jobs', '1', '--out', o1]);
    const r2 = await kasanJobs2();
    expect(r1.code).toBe(1);
    expect(r2.code).toBe(1);
    expect(r2.out).toBe(r1.out);
    expect(readFileSync(O2, 'utf8')).toBe(readFileSync(o1, 'utf8')); // the --out file has no timing in it
    expect(r1.out).toMatch(/hazsim: 4 seeds, \d+ failing, \d+ signatures?/);
  });

  it('groups failures with the same signature whatever their addresses', async () => {
    const r = await cli(['hunt', HANDOFF, '--seeds', '1..12', '--jobs', '2']);
    expect(r.out).toContain('hazsim: 12 seeds, 12 failing, 1 signature');
    expect(r.out).toMatch(/^ +12 +1 +general-protection-fault \| hazptr_synchronize_overflow_list/m);
    expect(r.out).toContain('hazsim run scenarios/cross-task-handoff.yaml --seed 1');
    const rows = groupBySignature([
      { seed: 9, signature: 'A', kind: 'k', headline: 'h', steps: 1 },
      { seed: 3, signature: 'A', kind: 'k', headline: 'h2', steps: 2 },
      { seed: 5, signature: 'B', kind: 'k', headline: 'h', steps: 1 },
    ]);
    expect(rows).toEqual([{ signature: 'A', count: 2, first_seed: 3 }, { signature: 'B', count: 1, first_seed: 5 }]);
  });

  it('shards are disjoint, cover the range, and merge to the single-machine result', async () => {
    const parts = [1, 2, 3].map((i) => shardSeeds(10, 40, [i, 3]));
    const flat = parts.flat().sort((a, b) => a - b);
    expect(flat).toEqual(Array.from({ length: 31 }, (_, i) => 10 + i));
    expect(new Set(flat).size).toBe(31);
    const single = await kasanJobs2(); // the single-machine hunt (its --out file changes nothing it prints)
    const files = [1, 2].map((i) => join(dir, `shard${i}.jsonl`));
    for (const [i, f] of files.entries()) await cli(['hunt', KASAN, '--seeds', '1..4', '--steps', '3e5', '--shard', `${i + 1}/2`, '--jobs', '1', '--out', f]);
    const merged = await cli(['merge', ...files]);
    expect(merged.out.split('\n').slice(0, -2)).toEqual(single.out.split('\n').slice(0, -2)); // all but the replay lines' scenario path form
    expect(merged.code).toBe(single.code);
  });

  it('--resume skips the seeds already done and ends with the same summary', async () => {
    const f = join(dir, 'resume.jsonl');
    // the uninterrupted hunt on one worker (the same summary as on two: the first test); the interrupted one and its resumption on two
    // (every seed fails: stopped after 105, the file has the checkpoint written at 100 seeds and the one at the stop)
    const full = await cli(['hunt', HANDOFF, '--seeds', '1..110', '--jobs', '1']);
    const part = await cli(['hunt', HANDOFF, '--seeds', '1..110', '--jobs', '2', '--out', f, '--stop-after', '105']);
    expect(part.out).toContain('105 failing');
    const before = readFileSync(f, 'utf8');
    expect(before).toContain('"done_through":100');
    expect(before).toContain('"done_through":105');
    const rest = await cli(['hunt', HANDOFF, '--seeds', '1..110', '--jobs', '2', '--out', f, '--resume']);
    expect(rest.err).toContain('(105 before --resume)');
    expect(rest.out).toBe(full.out);
  });

  it('seeds stalled at budget are listed under their own heading, never as clean or among the signatures', () => {
    const rows = groupBySignature([
      { seed: 3, signature: 'general-protection-fault | f < g', kind: 'general-protection-fault', headline: 'Oops', steps: 1 },
      { seed: 5, signature: 'stalled-at-budget | hazptr_torture_do_pending < kthread', kind: 'stalled-at-budget', headline: 'hazsim: step budget exhausted while CPU0 spins in hazptr_torture_do_pending (no scheduling point since 0.000007)', steps: 2 },
      { seed: 9, signature: 'stalled-at-budget | hazptr_torture_do_pending < kthread', kind: 'stalled-at-budget', headline: '', steps: 2 },
    ]);
    const out = summaryTable(rows, 10, (seed) => `run --seed ${seed}`);
    expect(out[0]).toBe('hazsim: 10 seeds, 3 failing (2 stalled at budget), 1 signature');
    const stalled = out.findIndex((l) => l.startsWith('stalled at budget'));
    expect(stalled).toBeGreaterThan(0);
    expect(out.slice(1, stalled).join('\n')).not.toContain('stalled-at-budget');
    expect(out[stalled + 2]).toMatch(/^ +2 +5 +hazptr_torture_do_pending < kthread$/);
    expect(out.slice(-2)).toEqual(['  run --seed 3', '  run --seed 5']);
  });

  it('bad input is one line and exit 2', async () => {
    for (const args of [['hunt', HANDOFF, '--seeds', '5..1'], ['hunt', HANDOFF, '--seeds', 'x'], ['hunt', HANDOFF, '--seeds', '1..2', '--shard', '3/2'], ['hunt', HANDOFF, '--seeds', '1..2', '--resume']]) {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.err.split('\n')).toHaveLength(1);
    }
  });
});

describe('replay files', () => {
  it('a saved schedule replays to the same output, byte for byte (but the replay line)', async () => {
    const f = join(dir, 'gpf.sched');
    const a = await cli(['run', TORTURE, '--seed', '3', '--save-schedule', f]);
    const b = await cli(['replay', TORTURE, f]);
    expect(a.code).toBe(1);
    expect(b.code).toBe(1);
    const body = (s: string) => s.split('\n').filter((l) => !l.startsWith('hazsim: replay:')).join('\n');
    expect(body(b.out)).toBe(body(a.out));
    const text = readFileSync(f, 'utf8');
    expect(text.split('\n')[0]).toBe('# hazsim schedule v2');
    expect(text).toMatch(/^c\d\/4 t\d+$/m);
  });

  it('an edited decision stops the replay with a message naming it; --on-divergence continue goes on', async () => {
    const f = join(dir, 'h.sched');
    await cli(['run', HANDOFF, '--seed', '1', '--save-schedule', f]);
    const lines = readFileSync(f, 'utf8').split('\n');
    // the decisions a v2 line stands for: one, or '= N' of them
    const before = (j: number) => lines.slice(0, j).reduce((a, l) => a + (/^= \d+/.test(l) ? Number(l.split(' ')[1]) : /^[cpkwrd]\d+\//.test(l) ? 1 : 0), 0);
    const i = lines.findIndex((l, j) => /^c0\/2 /.test(l) && before(j) > 30);
    const n = before(i);
    lines[i] = lines[i].replace(/^c0/, 'c1');
    const g = join(dir, 'h-edited.sched');
    writeFileSync(g, lines.join('\n'));
    const r = await cli(['replay', HANDOFF, g]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`replay stopped: decision #${n} \\(cpu1 of 2\\): recorded at cpu1 `));
    const c = await cli(['replay', HANDOFF, g, '--on-divergence', 'continue']);
    expect(c.err).toMatch(new RegExp(`decision #${n} .*continuing under the seeded strategy`));
    expect([0, 1]).toContain(c.code);
  });

  it('a replay file that is not one is bad input', async () => {
    const g = join(dir, 'bad.sched');
    writeFileSync(g, '# hazsim schedule v1\n0 cpu 3/2 @cpu0 - -\n');
    const r = await cli(['replay', HANDOFF, g]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`hazsim: ${g}:2:7: choice 3 is not below 2`);
  });
});
