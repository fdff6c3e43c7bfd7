// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The machine under x86-TSO (src/kernel/tso.ts): store buffers with forwarding,
 * drains as recorded decisions, the drains a locked op or smp_mb() forces, and
 * what they expose: the ordering mutants that delete one smp_mb() of the
 * store-buffering pair are killed under tso and survive under sc.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario } from '../src/scenario/load.ts';
import { runScenario } from '../src/scenario/run.ts';
import { versionOf } from '../src/hazptr/index.ts';
import type { StepLine } from '../src/report/ftrace.ts';
import { cli } from './helpers.ts';

const SB = join(__dirname, '..', 'scenarios', 'mutants', 'sb-reader-updater.yaml');

function mutantId(version: string, name: string): number {
  const m = versionOf(version).mutants.find((x) => x.name === name);
  if (!m) throw new Error(`no mutant ${name} in ${version}`);
  return m.id;
}

function runSb(version: string, mutant: string | undefined, model: 'tso' | 'sc', seed: number) {
  const s = loadScenario(SB, undefined, { hazptr: version, memoryModel: model });
  return runScenario(s, { seed, ...(mutant ? { mutant: mutantId(version, mutant) } : {}), story: true });
}

describe('store buffering: the smp_mb() pair of hazptr_acquire()/hazptr_synchronize()', () => {
  const KILLS: [string, string, number][] = [
    ['v5-detach', 'acquire-no-mb', 1],
    ['v5-detach', 'slow-acquire-no-mb', 1],
    ['v5-detach', 'synchronize-no-mb', 1],
    ['wildcard-flip', 'acquire-no-mb', 1],
    ['wildcard-flip', 'slow-acquire-no-mb', 1],
  ];
  for (const [version, mutant, seed] of KILLS) {
    it(`${version} ${mutant}: killed under tso (the reader dereferences a freed object), survives under sc`, () => {
      const r = runSb(version, mutant, 'tso', seed);
      expect(r.bug?.signature).toBe('KASAN: slab-use-after-free | hazsim_deref < hazsim_kthread < kthread');
      // the story names the load that read memory past the other CPU's buffered store
      expect(r.story?.some((l) => l.startsWith("hazsim: x86-TSO: "))).toBe(true);
      expect(r.story?.some((l) => /read .* from memory, while CPU\d's store of .* was still in CPU\d's store buffer/.test(l))).toBe(true);
      for (let sd = 1; sd <= 8; sd++) expect(runSb(version, mutant, 'sc', sd).bug, `sc seed ${sd}`).toBeFalsy();
    });
  }

  it('the unmodified versions are clean on it under tso', () => {
    for (const version of ['v5-detach', 'wildcard-flip']) for (let sd = 1; sd <= 6; sd++) expect(runSb(version, undefined, 'tso', sd).bug, `${version} seed ${sd}`).toBeFalsy();
  });

  it("wildcard-flip's synchronize-no-mb is equivalent on x86: the mutex_lock() after the deleted smp_mb() is a locked op", () => {
    for (let sd = 1; sd <= 8; sd++) expect(runSb('wildcard-flip', 'synchronize-no-mb', 'tso', sd).bug, `seed ${sd}`).toBeFalsy();
  });
});

describe('the store buffer, step by step', () => {
  const TWO = `
name: two CPUs, a store, smp_mb()
machine: { cpus: 2, preempt: full, kasan: true, drain_rate: 0.02 }
limits: { steps: 4000 }
objects: [gp]
tasks:
  - { name: reader, cpu: 0, pinned: true, contexts: { c0: static }, repeat: 20, program: [ { acquire: c0 }, { deref: c0 }, { release: c0 } ] }
  - { name: writer, cpu: 1, pinned: true, repeat: 20, program: [ { update: gp } ] }
`;
  const trace = (model: 'tso' | 'sc', seed = 3) => {
    const lines: StepLine[] = [];
    const r = runScenario(parseScenario(TWO, 'two.yaml', undefined, { memoryModel: model }), { seed, trace: (l) => lines.push(l), record: true });
    return { r, lines };
  };

  it('a store enters the buffer and drains later, in order; smp_mb() drains what precedes it', () => {
    const { lines } = trace('tso');
    const steps = lines.filter((l) => l.event === 'step');
    const buffered = steps.filter((l) => l.what.endsWith('(store buffered)'));
    const drained = steps.filter((l) => l.what.endsWith('(store drained)'));
    expect(buffered.length).toBeGreaterThan(20);
    // every store drains (the run ends drained): as many drains as stores, per CPU in the same order
    expect(drained.length).toBe(buffered.length);
    for (const cpu of [0, 1]) {
      const key = (l: StepLine) => l.what.replace(/ \((store buffered|store drained)\)$/, '');
      expect(drained.filter((l) => l.cpu === cpu).map(key)).toEqual(buffered.filter((l) => l.cpu === cpu).map(key));
    }
    // at each smp_mb() of hazptr_synchronize() the writer's buffer is empty: every store before it has drained
    let pending = 0;
    let fences = 0;
    let pendingBefore = 0;
    for (const l of steps.filter((x) => x.cpu === 1)) {
      if (l.what.endsWith('(store buffered)')) pending++;
      if (l.what.endsWith('(store drained)')) pending--;
      if (l.fn === 'hazptr_synchronize' && l.what === 'smp_mb') {
        fences++;
        expect(pending).toBe(0);
      }
      if (l.fn === 'hazsim_update' && l.what.startsWith('store-release *gp = p')) pendingBefore++;
    }
    expect(fences).toBe(20);
    expect(pendingBefore).toBeGreaterThan(0);
    // some load was served from the CPU's own buffer, and some read memory past the other CPU's store
    expect(steps.some((l) => l.what.includes('(forwarded from the store buffer)'))).toBe(true);
  });

  it('under sc no store is buffered, and the same seed replays exactly under tso', async () => {
    expect(trace('sc').lines.some((l) => /store (buffered|drained)/.test(l.what))).toBe(false);
    const a = trace('tso', 5).r;
    const b = trace('tso', 5).r;
    expect(b.scheduleDigest).toBe(a.scheduleDigest);
    expect(a.schedule.encode()).toContain('d');
  });

  it('replay files record the memory model, and replay runs it', async () => {
    const f = join(require('node:os').tmpdir(), `hazsim-tso-${process.pid}.sched`);
    const run = await cli(['run', SB, '--seed', '1', '--hazptr', 'v5-detach', '--mutant', 'acquire-no-mb', '--save-schedule', f, '--quiet']);
    expect(run.code).toBe(1);
    expect(require('node:fs').readFileSync(f, 'utf8')).toMatch(/^# memory-model: tso$/m);
    const rep = await cli(['replay', SB, f, '--quiet']);
    expect(rep.code).toBe(1);
    expect(rep.out).toContain('KASAN: slab-use-after-free');
    const other = await cli(['replay', SB, f, '--memory-model', 'sc', '--quiet']);
    expect(other.code).toBe(2);
  });

  it('--memory-model takes tso or sc, anything else is exit 2 naming the flag', async () => {
    const r = await cli(['run', SB, '--memory-model', 'arm64']);
    expect(r.code).toBe(2);
    expect(r.err).toBe("hazsim: --memory-model: unknown memory model 'arm64' (tso: x86-TSO store buffers, the default; sc: sequentially consistent)");
  });
});
