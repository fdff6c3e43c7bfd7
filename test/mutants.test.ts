// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * hazsim mutants: the battery, one mutant's search (deterministic order, first
 * kill), the control, the table and its last line, bad input.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.ts';
import { versions } from '../src/hazptr/index.ts';
import { battery } from '../src/mutants/battery.ts';
import { runMutant } from '../src/mutants/run.ts';

describe('hazsim mutants', () => {
  it('each version with hazptr_detach() has at least 15 mutants, across every class', () => {
    for (const v of ['v5-detach', 'wildcard-flip']) {
      const ms = versions[v].mutants;
      expect(ms.length).toBeGreaterThanOrEqual(15);
      expect(new Set(ms.map((m) => m.cls))).toEqual(new Set(['ordering', 'overflow-list', 'scan', 'context']));
    }
  });

  it("the battery: a version's own files, the neutral ones through --hazptr, torture last", () => {
    const b = battery('wildcard-flip').map((e) => [e.file.replace('scenarios/mutants/', ''), e.scenario.hazptr]);
    expect(b.some(([f]) => f.startsWith('vd-'))).toBe(false);
    expect(b.every(([, v]) => v === 'wildcard-flip')).toBe(true);
    expect(b.slice(-2).map(([f]) => f)).toEqual(['torture-nopreempt.yaml', 'torture-preempt.yaml']);
  });

  it('a mutant is killed at the first report in seed-major order; the unmodified version on the same runs is clean', () => {
    const entries = battery('v5-detach');
    const m = versions['v5-detach'].mutants.find((x) => x.name === 'detach-no-preempt-guard')!;
    const r = runMutant(entries, m, entries.length, () => false);
    expect(r.killedBy).toMatchObject({ file: 'scenarios/mutants/detach-handoff.yaml', seed: 1, signature: expect.stringMatching(/^smp-processor-id-preemptible \| /) });
    const workloads = entries.filter((e) => !e.file.includes('/torture-'));
    const control = runMutant(workloads, null, 3 * workloads.length, () => false);
    expect(control.killedBy).toBeNull();
    expect(control.budget).toBe('runs');
  });

  it('prints the control, a row per mutant and "killed K of N mutants (P%)"; the same with 1 and 2 jobs', async () => {
    const args = ['mutants', '--hazptr', 'v5-detach', '--only', 'detach-no-preempt-guard,acquire-no-mb', '--runs-per-mutant', '4', '--no-color'];
    const r1 = await cli([...args, '--jobs', '1']);
    const r2 = await cli([...args, '--jobs', '2']);
    expect(r1.code).toBe(0);
    expect(r1.out).toMatch(/^control: v5-detach unmodified, clean \(4 runs, /m);
    expect(r1.out).toMatch(/^detach-no-preempt-guard +context +hazptr\.h:134 .* detach-handoff\.yaml seed 1 \(\d+ steps\): smp-processor-id-preemptible/m);
    expect(r1.out).toMatch(/^acquire-no-mb +ordering +hazptr\.h:198 .* survived \(4 runs\)/m);
    expect(r1.out).toContain('./bin/hazsim run scenarios/mutants/detach-handoff.yaml --hazptr v5-detach --mutant detach-no-preempt-guard --seed 1');
    expect(r1.out.trim().split('\n').at(-1)).toBe('killed 1 of 2 mutants (50%)');
    const strip = (s: string) => s.replace(/\d+\.\d s/g, 'T');
    expect(strip(r2.out)).toBe(strip(r1.out));
  });

  it('hunt --hazptr --mutant: the replay line and the --out file keep both', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hazsim-mut-')), 'h.jsonl');
    const r = await cli(['hunt', 'scenarios/mutants/detach-handoff.yaml', '--hazptr', 'v5-detach', '--mutant', 'detach-no-preempt-guard', '--seeds', '1..2', '--jobs', '1', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('./bin/hazsim run scenarios/mutants/detach-handoff.yaml --seed 1 --hazptr v5-detach --mutant detach-no-preempt-guard');
    expect(JSON.parse(readFileSync(out, 'utf8').split('\n')[0]).hunt).toMatchObject({ hazptr: 'v5-detach', mutant: 'detach-no-preempt-guard' });
  });

  it('bad input is one line, exit 2', async () => {
    for (const [args, msg] of [
      [['--hazptr', 'v5'], /--hazptr: hazptr version 'v5' has no mutants \(versions with mutants: v5-detach, wildcard-flip\)/],
      [['--hazptr', 'v9'], /--hazptr: unknown hazptr version 'v9'/],
      [['--only', 'no-such'], /--only: no mutant named no-such/],
      [['--seconds-per-mutant', '0'], /--seconds-per-mutant: 0 is out of range/],
    ] as const) {
      const r = await cli(['mutants', ...args]);
      expect(r.code).toBe(2);
      expect(r.err.split('\n')).toHaveLength(1);
      expect(r.err).toMatch(msg);
    }
  });
});
