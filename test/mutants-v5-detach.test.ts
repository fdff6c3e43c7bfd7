// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * v5-detach's mutant catalogue (src/hazptr/v5/mutants.ts for kernel/hazptr.c,
 * src/hazptr/v5-detach/mutants.ts for include/linux/hazptr.h): each entry names
 * the reference statement it changes, the port carries each one, the workload
 * scenarios that kill them (scenarios/mutants/vd-*.yaml) run clean on the
 * unmodified version, and the mutants they kill die at a pinned seed.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { versions, versionOf } from '../src/hazptr/index.ts';
import type { MutantClass } from '../src/hazptr/mutant.ts';
import * as hazptrC from '../src/hazptr/v5/mutants.ts';
import * as hazptrH from '../src/hazptr/v5-detach/mutants.ts';
import { loadScenario } from '../src/scenario/load.ts';
import { runScenario } from '../src/scenario/run.ts';

const { v5DetachMutants } = hazptrH;
const ROOT = join(__dirname, '..');
const REF = join(ROOT, '..', 'shared', 'reference', 'v5-detach');
const SCENARIOS = join(ROOT, 'scenarios', 'mutants');
const refLines = (f: string) => readFileSync(join(REF, f), 'utf8').split('\n');
const byName = new Map(v5DetachMutants.map((m) => [m.name, m]));

/** A mutant, the vd- scenario and seed that kill it, and the report they end in. */
const KILLS: { mutant: string; scenario: string; seed: number; kind: string }[] = [
  { mutant: 'unchain-no-gen', scenario: 'vd-detach-handoff', seed: 2, kind: 'general-protection-fault' },
  { mutant: 'walk-no-gen-check-wait', scenario: 'vd-preempt-holders', seed: 4, kind: 'kasan' },
  { mutant: 'walk-no-gen-check-next', scenario: 'vd-detach-handoff', seed: 17, kind: 'general-protection-fault' },
  { mutant: 'chain-add-unlocked', scenario: 'vd-detach-handoff', seed: 11, kind: 'general-protection-fault' },
  { mutant: 'scan-no-overflow-list', scenario: 'vd-detach-handoff', seed: 7, kind: 'kasan' },
  { mutant: 'scan-no-second-list', scenario: 'vd-preempt-holders', seed: 19, kind: 'kasan' },
  { mutant: 'scan-no-first-list', scenario: 'vd-preempt-holders', seed: 4, kind: 'kasan' },
  { mutant: 'never-flip', scenario: 'vd-overflow-churn', seed: 4, kind: 'hung-task' },
  { mutant: 'cpu-slots-ignore-wildcard', scenario: 'vd-wildcard-irq', seed: 1, kind: 'kasan' },
  { mutant: 'overflow-ignore-wildcard', scenario: 'vd-wildcard-irq', seed: 14, kind: 'kasan' },
  { mutant: 'promote-no-ctx-slot', scenario: 'vd-preempt-holders', seed: 3, kind: 'kasan' },
  { mutant: 'detach-no-preempt-guard', scenario: 'vd-detach-handoff', seed: 10, kind: 'smp-processor-id-preemptible' },
  { mutant: 'release-no-unchain', scenario: 'vd-preempt-holders', seed: 2, kind: 'kasan' },
  { mutant: 'acquire-no-ctx-slot', scenario: 'vd-wildcard-irq', seed: 3, kind: 'null-pointer-dereference' },
  // found by the review: the pointer left on the old CPU is moved by a later hazptr_detach() on the new CPU
  { mutant: 'context-switch-no-promote', scenario: 'migrate-detach', seed: 1, kind: 'kasan' },
];

/** The mutants no vd- scenario kills, and why. */
const NOT_KILLED: Record<string, string> = {
  'slow-acquire-no-mb': 'ordering: equivalent under SC (a store-load reordering, allowed by TSO, would expose it)',
  'synchronize-no-mb': 'ordering: equivalent under SC (a store-load reordering, allowed by TSO, would expose it)',
  'overflow-load-relaxed': 'ordering: equivalent under SC (needs a load-store reordering: Arm64, POWER)',
  'cpu-slots-load-relaxed': 'ordering: equivalent under SC (needs a load-store reordering: Arm64, POWER)',
  'acquire-no-mb': 'ordering: equivalent under SC (a store-load reordering, allowed by TSO, would expose it)',
  'release-write-once': 'ordering: equivalent under SC (needs a load-store reordering: Arm64, POWER)',
  'promote-write-once': 'ordering: equivalent under SC (needs a store-store reordering: Arm64, POWER)',
  'chain-no-gen': 'equivalent: an addition at the head never invalidates a walk, and a node added after a walk began never holds the address it waits for',
  'slow-acquire-null-no-unchain': 'unreachable: no workload operation publishes NULL, so no acquire returns NULL',
};

describe('v5-detach mutant catalogue', () => {
  const ref = { 'kernel/hazptr.c': refLines('hazptr.c'), 'include/linux/hazptr.h': refLines('hazptr.h') } as Record<string, string[]>;

  it('is v5-detach\'s (both builds), not v5\'s: hazptr.c ids 100-199, hazptr.h ids 200-299, every class', () => {
    expect(versionOf('v5-detach').mutants).toBe(v5DetachMutants);
    expect(versionOf('v5-detach', true).mutants).toBe(v5DetachMutants);
    expect(versions.v5.mutants).toEqual([]);
    expect(v5DetachMutants.length).toBeGreaterThanOrEqual(18);
    for (const m of v5DetachMutants) {
      const [lo, hi] = m.file === 'kernel/hazptr.c' ? [100, 199] : [200, 299];
      expect(m.id >= lo && m.id <= hi, `${m.name}: id ${m.id} in ${lo}..${hi} (${m.file})`).toBe(true);
    }
    expect(new Set(v5DetachMutants.map((m) => m.cls))).toEqual(new Set<MutantClass>(['ordering', 'overflow-list', 'scan', 'context']));
  });

  it('every entry names a line of the reference file that holds its statement', () => {
    for (const m of v5DetachMutants) {
      const lines = ref[m.file];
      expect(lines, `${m.name}: ${m.file}`).toBeDefined();
      expect(lines[m.line - 1].trim(), `${m.name}: ${m.file}:${m.line}`).toBe(m.stmt);
      expect(m.change.length, m.name).toBeGreaterThan(0);
    }
  });

  it('every mutant id is tested at a statement of the port', () => {
    const src = ['src/hazptr/v5/hazptr.ts', 'src/hazptr/v5-detach/hazptr.ts'].map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\n');
    const ids = Object.entries({ ...hazptrC, ...hazptrH }).filter(([k]) => k.startsWith('MUT_'));
    expect(new Set(ids.map(([, v]) => v))).toEqual(new Set(v5DetachMutants.map((m) => m.id)));
    for (const [k] of ids) expect(src, k).toMatch(new RegExp(`io\\.m\\.mutant [!=]== ${k}\\b|mut [!=]== ${k}\\b`));
  });

  it('every mutant is either killed below or listed with the reason it is not', () => {
    const killed = new Set(KILLS.map((k) => k.mutant));
    for (const m of v5DetachMutants) expect(killed.has(m.name) !== (m.name in NOT_KILLED), m.name).toBe(true);
    for (const n of [...killed, ...Object.keys(NOT_KILLED)]) expect(byName.has(n), n).toBe(true);
  });
});

describe('vd- scenarios', () => {
  const files = readdirSync(SCENARIOS).filter((f) => f.startsWith('vd-') && f.endsWith('.yaml')).sort();
  const load = (name: string) => loadScenario(join(SCENARIOS, `${name}.yaml`));

  it('are there, and each runs v5-detach', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) expect(load(f.replace(/\.yaml$/, '')).hazptr, f).toBe('v5-detach');
  });

  it.each(files)('the unmodified version runs %s clean, seeds 1..25', (f) => {
    const s = load(f.replace(/\.yaml$/, ''));
    for (let seed = 1; seed <= 25; seed++) {
      const r = runScenario(s, { seed });
      expect(`${r.outcome} ${r.bug ? r.bug.kind : ''}`, `${f} seed ${seed}`).toBe('done ');
    }
  });

  it.each(KILLS)('$mutant dies on $scenario, seed $seed ($kind)', ({ mutant, scenario, seed, kind }) => {
    const r = runScenario(load(scenario), { seed, mutant: byName.get(mutant)!.id });
    expect(r.bug?.kind, `${mutant} on ${scenario} seed ${seed}: outcome ${r.outcome}`).toBe(kind);
  });
});
