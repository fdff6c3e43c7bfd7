// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * hazptr wildcard-flip: fidelity of its sites and its mutant catalogue to
 * ../shared/reference/wildcard-flip/ (hazptr.h and hazptr.c), its layouts,
 * correct use run clean, the CONFIG_HAZPTR_DEBUG WARN, the two faults of the
 * version as written (scenarios/wildcard-flip-*.yaml), and its mutants killed
 * by the scenarios in scenarios/mutants/ that the unmodified version runs clean.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { versionOf, versions } from '../src/hazptr/index.ts';
import { C, H, wildcardAddr, wildcardFlip, wildcardFlipSites } from '../src/hazptr/wildcard-flip/hazptr.ts';
import { FLIP_SIZE } from '../src/hazptr/wildcard-flip/layout.ts';
import * as MUTANTS from '../src/hazptr/wildcard-flip/mutants.ts';
import { Machine } from '../src/kernel/machine.ts';
import { OP_NOP, type KGen, type Port } from '../src/kernel/port.ts';
import { kfunc, site, sites } from '../src/kernel/sites.ts';
import { RandomStrategy } from '../src/sched/random.ts';
import { loadScenario, parseScenario } from '../src/scenario/load.ts';
import { runScenario, type RunResult } from '../src/scenario/run.ts';
import { cfg, text } from './helpers.ts';

const REF = join(__dirname, '..', '..', 'shared', 'reference', 'wildcard-flip');
const ref: Record<string, string[]> = {
  [H]: readFileSync(join(REF, 'hazptr.h'), 'utf8').split('\n'),
  [C]: readFileSync(join(REF, 'hazptr.c'), 'utf8').split('\n'),
};
const norm = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The first line of each function definition in a reference file (not prototypes, not the DEBUG stub). */
function fnLines(lines: string[]): Map<string, number> {
  const out = new Map<string, number>();
  lines.forEach((l, i) => {
    const m = /^(?:static inline )?(?:struct \w+ \*|void \*|void |bool )(?:__init )?(\w+)\(/.exec(l);
    if (m && !l.trimEnd().endsWith(';') && !out.has(m[1])) out.set(m[1], i + 1);
  });
  return out;
}

const { MUT_SLOW_ACQUIRE_NULL_NO_UNCHAIN, wildcardFlipMutants } = MUTANTS;
const killed = (r: RunResult) => r.bug !== null || r.outcome !== 'done';

describe('wildcard-flip fidelity to the reference', () => {
  it('every site names its function, and its line in hazptr.h or hazptr.c holds its C statement', () => {
    const { F, S } = wildcardFlipSites();
    const starts: Record<string, Map<string, number>> = { [H]: fnLines(ref[H]), [C]: fnLines(ref[C]) };
    const entries = Object.entries(S);
    expect(entries.length).toBeGreaterThan(50);
    for (const [key, id] of entries) {
      const s = sites[id];
      const lines = ref[s.fn.file];
      expect(lines, `${key}: ${s.fn.file}`).toBeDefined();
      expect(Object.values(F)).toContain(s.fn);
      expect(norm(lines[s.line - 1]), `${key}: ${s.fn.file}:${s.line}`).toBe(norm(s.stmt));
      // the line is inside the function the site names: after its definition, before the next one
      const fl = starts[s.fn.file];
      const start = fl.get(s.fn.name)!;
      expect(start, `${key}: ${s.fn.name} defined in ${s.fn.file}`).toBeDefined();
      const next = Math.min(...[...fl.values()].filter((l) => l > start), lines.length);
      expect(s.line > start && s.line < next, `${key}: line ${s.line} in ${s.fn.name} (${start}..${next})`).toBe(true);
    }
  });

  it('every mutant names the reference statement it changes, and the catalogue covers the four classes', () => {
    expect(wildcardFlipMutants.length).toBeGreaterThanOrEqual(18);
    for (const m of wildcardFlipMutants) {
      expect(m.id >= 300 && m.id <= 399, m.name).toBe(true);
      expect(norm(ref[m.file][m.line - 1]), `${m.name}: ${m.file}:${m.line}`).toBe(norm(m.stmt));
    }
    expect(new Set(wildcardFlipMutants.map((m) => m.cls))).toEqual(new Set(['ordering', 'overflow-list', 'scan', 'context']));
    expect(versionOf('wildcard-flip').mutants).toBe(wildcardFlipMutants);
    expect(versionOf('wildcard-flip', true).mutants).toBe(wildcardFlipMutants);
  });

  it('layouts: the flip struct is array[2] only; hazptr_ctx 0x38, 0x50 with DEBUG; hazptr_wildcard starts at 1', () => {
    expect(FLIP_SIZE).toBe(0x30);
    expect(versionOf('wildcard-flip').ctxSize).toBe(0x38);
    expect(versionOf('wildcard-flip', true).ctxSize).toBe(0x50);
    expect(versions['wildcard-flip'].hazptr_detach).toBeDefined();
    const m = new Machine(cfg({ cpus: 1 }), wildcardFlip(), new RandomStrategy(1, 0));
    expect(m.mem.peek(wildcardAddr())).toBe(1);
  });
});

/** Correct use with at most four pointers held per CPU (a fifth goes to the backup slot: see wildcard-flip-backup-wildcard.yaml). */
const correctUse = (cpus: number, preempt: 'full' | 'none', debug: boolean) => parseScenario(`
name: correct use, wildcard-flip
machine: { cpus: ${cpus}, preempt: ${preempt}, kasan: true, preempt_rate: 0.05 }
hazptr: { version: wildcard-flip, debug: ${debug} }
objects: [gp, gq]
tasks:
  - { name: two, contexts: { a: stack, b: static }, repeat: 6,
      program: [ { acquire: a }, { acquire: { ctx: b, from: gq } }, { sleep_us: 3 }, { deref: a }, { release: b }, { deref: a }, { release: a } ] }
  - { name: resched, contexts: { a: stack }, repeat: 6,
      program: [ { acquire: { ctx: a, from: gq } }, { spin: 5 }, cond_resched, { deref: a }, { release: a }, { sleep_us: 1 } ] }
  - { name: detacher, contexts: { a: static }, repeat: 6,
      program: [ { acquire: a }, { detach: a }, { sleep_us: 2 }, { deref: a }, { release: a } ] }
  - { name: writer, repeat: 6, program: [ { update: gp }, { sleep_us: 2 }, { update: gq } ] }
`, `correct-use-wf-${cpus}-${preempt}.yaml`);

describe('wildcard-flip correct use', () => {
  // Not for every seed: the version's own use after free (a slot that held the old wildcard during the
  // first scan period, moved to the backup slot after the flip: wildcard-flip-promote-after-flip.yaml)
  // happens here too, on seeds 303 and 1776 of 1-2000, with no interrupt to help it.
  it('acquire/release in one task, at most four held per CPU, detach: clean over 80 seeds, 2-4 CPUs, both preempt models, with and without DEBUG', () => {
    const failures: string[] = [];
    let switches = 0;
    for (let seed = 1; seed <= 80; seed++) {
      const r = runScenario(correctUse(2 + (seed % 3), seed % 2 ? 'full' : 'none', seed % 4 < 2), { seed });
      if (killed(r)) failures.push(`seed ${seed}: ${r.outcome} ${r.bug?.signature ?? ''}`);
      switches += r.stats.switches;
    }
    expect(failures).toEqual([]);
    expect(switches).toBeGreaterThan(700);
  });
});

/** scenarios/cross-task-handoff-detach.yaml on wildcard-flip+debug, with or without its hazptr_detach(). */
const handoff = (detach: boolean) => {
  const yaml = readFileSync('scenarios/cross-task-handoff-detach.yaml', 'utf8');
  return parseScenario(detach ? yaml : yaml.replace(/^ *- detach: c0\n/m, ''), 'handoff.yaml', undefined, { hazptr: 'wildcard-flip+debug' });
};

describe('wildcard-flip CONFIG_HAZPTR_DEBUG', () => {
  it('cross-task release with detach: clean', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const r = runScenario(handoff(true), { seed });
      expect(killed(r), `seed ${seed}: ${r.bug?.signature}`).toBe(false);
    }
  });

  it('without detach: the WARN_ONCE of hazptr_release_debug() at hazptr.h:278, in the reference format, once per boot', () => {
    const fmt = ref[H][278].match(/"(.*)"/)![1];
    const re = new RegExp('^' + fmt.replace(/[.()]/g, '\\$&').replace('%pS', '(\\w+)').replace('%p', '([0-9a-f]{16})').replace(/%s/g, '(.+?)').replace(/%d/g, '(\\d+)') + '$');
    const r = runScenario(handoff(false), { seed: 1 });
    expect(r.warnings).toHaveLength(1);
    const w = r.warnings[0];
    expect(w.kind).toBe('hazptr-debug-remote-release');
    expect(w.lead?.[0]).toBe('------------[ cut here ]------------');
    expect(w.headline).toMatch(/^WARNING: include\/linux\/hazptr\.h:278 at hazsim_kthread, CPU#\d+: \w+\/\d+$/);
    const m = re.exec(w.lead![1]);
    expect(m, w.lead![1]).not.toBeNull();
    expect([m![2], m![3], m![4], Number(m![7])]).toEqual(['task', 'being detached from task', 'hazsim_kthread', w.pid]);
    const out = text(r);
    expect(out.indexOf(w.lead![1])).toBeLessThan(out.indexOf(w.headline));
    expect(out).toContain('RIP: 0010:hazptr_release_debug include/linux/hazptr.h:278\n');
    expect(out).toContain(' hazptr_release include/linux/hazptr.h:314 [inline]');
    expect(w.signature).toBe('hazptr-debug-remote-release | hazptr_release_debug < hazptr_release < hazsim_kthread < kthread');
  });
});

describe('wildcard-flip as written (two faults of the C, modelled, not fixed)', () => {
  it('a backup slot holding the wildcard on the overflow list: WARN_ON_ONCE at hazptr.c:145, then a use after free', () => {
    const r = runScenario(loadScenario('scenarios/wildcard-flip-backup-wildcard.yaml'), { seed: 4 });
    expect(r.warnings).toHaveLength(1);
    const w = r.warnings[0];
    expect(w.kind).toBe('hazptr-overflow-wildcard');
    expect(w.lead).toEqual(['------------[ cut here ]------------']); // WARN_ON_ONCE: no message
    expect(w.headline).toMatch(/^WARNING: kernel\/hazptr\.c:145 at hazptr_synchronize_overflow_list, CPU#1: \w+\/\d+$/);
    expect(w.signature).toBe('hazptr-overflow-wildcard | hazptr_synchronize_overflow_list < hazptr_scan_period < hazptr_synchronize < hazsim_update < hazsim_kthread < kthread');
    expect(r.fatal?.signature).toBe('KASAN: slab-use-after-free | hazsim_deref < hazsim_kthread < kthread');
  });

  it('a slot moved to the backup slot after the flip goes on the list the second period does not scan: use after free', () => {
    const r = runScenario(loadScenario('scenarios/wildcard-flip-promote-after-flip.yaml'), { seed: 6 });
    expect(r.warnings).toEqual([]);
    expect(r.fatal?.signature).toBe('KASAN: slab-use-after-free | hazsim_deref < hazsim_kthread < kthread');
  });
});

/** The mutants the scenarios kill, with the first killing seed (a sweep of seeds 1-40 of every mutant over every scenario; re-swept under TSO, the default memory model). */
const KILLS: [mutant: string, scenario: string, seed: number][] = [
  ['unchain-no-gen', 'sleep-holding', 1],
  ['walk-no-gen-check-wait', 'exiting-readers', 2],
  ['walk-no-gen-check-next', 'sleep-holding', 2],
  ['chain-add-unlocked', 'detach-handoff', 1],
  ['scan-no-overflow-list', 'sleep-holding', 1],
  ['scan-no-second-period', 'sleep-holding', 1],
  ['scan-no-first-period', 'wf-flip-two-objects', 1],
  ['never-flip', 'wf-overflow-churn', 15],
  ['cpu-slots-ignore-wildcard', 'wf-irq-mid-acquire', 1],
  ['chain-wrong-list', 'wf-irq-mid-acquire-sleep', 1],
  ['promote-no-ctx-slot', 'sleep-holding', 1],
  ['detach-no-preempt-guard', 'detach-handoff', 1],
  ['release-no-unchain', 'sleep-holding', 1],
  ['context-switch-skips-slot-0', 'debug-migrate', 1],
  ['acquire-no-ctx-slot', 'detach-handoff', 1],
];

/** The mutants no scenario kills, and why. */
const NOT_KILLED: Record<string, string> = {
  'acquire-no-mb': 'ordering: equivalent under SC (Store B / Load A store-load reordering, allowed by TSO)',
  'slow-acquire-no-mb': 'ordering: equivalent under SC (Store B / Load A store-load reordering, allowed by TSO)',
  'synchronize-no-mb': 'ordering: equivalent under SC (Store A / Load B store-load reordering; on x86 the LOCK CMPXCHG of mutex_lock() is a full barrier too)',
  'release-write-once': 'ordering: equivalent under SC and TSO (needs the deref loads reordered after the slot clear: Arm64, POWER)',
  'promote-write-once': 'ordering: equivalent under SC and TSO (needs a store-store reordering: Arm64, POWER)',
  'overflow-load-relaxed': 'ordering: equivalent under SC and TSO (needs a load-store reordering: Arm64, POWER)',
  'cpu-slots-load-relaxed': 'ordering: equivalent under SC and TSO (needs a load-store reordering: Arm64, POWER)',
  'chain-no-gen': 'equivalent: a chain adds at the head, changes no next pointer a walk will read, and a node chained during a walk holds no address the walk must find',
  'slow-acquire-null-no-unchain': 'unreachable from a scenario: no operation publishes NULL (killed by a scripted run below)',
};

const MUTANT_SCENARIOS = ['sleep-holding', 'detach-handoff', 'debug-migrate', 'exiting-readers', 'wf-flip-two-objects', 'wf-irq-mid-acquire', 'wf-irq-mid-acquire-sleep', 'wf-overflow-churn'];
const scenarioOf = (n: string) => loadScenario(`scenarios/mutants/${n}.yaml`);

describe('wildcard-flip mutants', () => {
  it('every mutant id is tested at a statement of the port', () => {
    const src = readFileSync('src/hazptr/wildcard-flip/hazptr.ts', 'utf8');
    const ids = Object.entries(MUTANTS).filter(([k]) => k.startsWith('MUT_'));
    expect(new Set(ids.map(([, v]) => v))).toEqual(new Set(wildcardFlipMutants.map((m) => m.id)));
    for (const [k] of ids) expect(src, k).toMatch(new RegExp(`(io\\.m\\.mutant|mut) [!=]== M\\.${k}\\b`));
  });

  it('every mutant is either killed below or listed with the reason it is not', () => {
    const killed = new Set(KILLS.map(([n]) => n));
    for (const m of wildcardFlipMutants) expect(killed.has(m.name) !== (m.name in NOT_KILLED), m.name).toBe(true);
    const names = new Set(wildcardFlipMutants.map((m) => m.name));
    for (const n of [...killed, ...Object.keys(NOT_KILLED)]) expect(names.has(n), n).toBe(true);
  });

  // offline: every one of them clean on seeds 1-300 (and the version-neutral ones on v5-detach, seeds 1-100)
  it('the unmodified version runs every mutant scenario clean (seeds 1-8)', () => {
    for (const n of MUTANT_SCENARIOS) {
      const s = scenarioOf(n);
      expect(s.hazptr).toBe('wildcard-flip');
      for (let seed = 1; seed <= 8; seed++) {
        const r = runScenario(s, { seed });
        expect(killed(r), `${n} seed ${seed}: ${r.outcome} ${r.bug?.signature ?? ''}`).toBe(false);
      }
    }
  });

  it.each(KILLS)('%s is killed by %s.yaml, seed %i', (name, scenario, seed) => {
    const m = wildcardFlipMutants.find((x) => x.name === name)!;
    const r = runScenario(scenarioOf(scenario), { seed, mutant: m.id });
    expect(killed(r), `${name}: ${r.outcome}`).toBe(true);
  });

  it('slow-acquire-null-no-unchain (no scenario has a NULL pointer): a scripted NULL acquire into the backup slot leaves it chained', () => {
    const F_t = kfunc('test_wildcard_flip', 'test/hazptr-wildcard-flip.test.ts');
    const S_nop = site(F_t, 0, ';', 'nop');
    const run = (mutant: number) => {
      const m = new Machine(cfg({ cpus: 1, preempt: 'none', mutant }), wildcardFlip(), new RandomStrategy(1, 0));
      const gp = m.mem.allocStatic(8);
      const nullp = m.mem.allocStatic(8);
      m.mem.poke(gp, m.mem.kmalloc(64, { pid: 0, comm: 'swapper/0', trace: [] }));
      const ctx = [0, 1, 2, 3, 4].map(() => m.mem.allocStatic(m.hazptr.ctxSize));
      m.spawn('t', function* (io: Port): KGen {
        const held: number[] = [];
        for (let i = 0; i < 4; i++) held.push(yield m.hazptr.hazptr_acquire(io, ctx[i], gp, 0));
        expect(yield m.hazptr.hazptr_acquire(io, ctx[4], nullp, 0)).toBe(0); // all four slots taken: the backup slot
        for (let i = 3; i >= 0; i--) yield m.hazptr.hazptr_release(io, ctx[i], held[i], 0);
        yield io.op(OP_NOP, S_nop);
      });
      m.run();
      return m;
    };
    expect(run(0).bug).toBeNull();
    const m = run(MUT_SLOW_ACQUIRE_NULL_NO_UNCHAIN);
    expect(m.bug?.kind).toBe('quiescence-leak');
    expect(m.bug?.pre.join('\n')).toMatch(/percpu_overflow_list_flip, 0\)\.array\[0\] still chains backup slot .* \(slot\.addr = 0x0\)/);
  });
});
