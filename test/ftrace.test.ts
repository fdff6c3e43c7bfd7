// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Trace, history and console lines in ftrace's columns (src/report/ftrace.ts):
 * "%16s-%-7d [%03d] " task and CPU, trace_print_lat_fmt()'s five flags,
 * " %5lu.%06lu: " the time, then "function: what"; --trace interleaves the
 * console (printk:console) with the steps, in the order they happened.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FL_HARDIRQ, FL_IRQS_OFF, FL_NEED_RESCHED } from '../src/kernel/machine.ts';
import { OP_LOAD, OP_STORE } from '../src/kernel/port.ts';
import { S } from '../src/hazptr/v5/hazptr.ts';
import { BACKUP_SLOT, CTX_BACKUP } from '../src/hazptr/v5/layout.ts';
import { fmtFlags, fmtStepLine, TRACE_HEADER, type StepLine } from '../src/report/ftrace.ts';
import { loadScenario, parseScenario } from '../src/scenario/load.ts';
import { runScenario } from '../src/scenario/run.ts';
import { tell, type StoryStep } from '../src/scenario/story.ts';
import { buildMachine } from '../src/scenario/workload.ts';
import { RandomStrategy } from '../src/sched/random.ts';
import { cli, text } from './helpers.ts';

const handoff = parseScenario(readFileSync('scenarios/cross-task-handoff.yaml', 'utf8'), 'scenarios/cross-task-handoff.yaml');
/** comm-pid, CPU, flags, time: what every trace, history and story line starts with */
const COLUMNS = /^ *(\S+)-(\d+) +\[(\d{3})\] ([d.][N.][h.][0-9a-f.]\.) +(\d+\.\d{6}): /;

function traced(s = handoff, seed = 1, maxSteps?: number): StepLine[] {
  const lines: StepLine[] = [];
  runScenario(s, { seed, maxSteps, trace: (l) => lines.push(l) });
  return lines;
}

describe('the columns', () => {
  const step: StepLine = { event: 'step', t: 184_000_123, cpu: 1, comm: 'hazptr_torture_', pid: 103, flags: 0, fn: 'hazptr_release', what: 'clears it' };

  it('comm right-aligned in 16, pid left-aligned in 7, the CPU in 3 digits, the time as printk prints it', () => {
    expect(fmtStepLine(step)).toBe(' hazptr_torture_-103     [001] .....     0.184000: hazptr_release: clears it');
    expect(fmtStepLine({ ...step, comm: '<idle>', pid: 0, cpu: 12, t: 12_345_678_901_000 })).toBe('          <idle>-0       [012] ..... 12345.678901: hazptr_release: clears it');
    // the header's columns fall on the line's: "CPU#" over the CPU, the flag bars over the flags
    const line = fmtStepLine(step);
    expect(TRACE_HEADER[6].indexOf('|||||')).toBe(line.indexOf('.....'));
    expect(TRACE_HEADER[6].indexOf('CPU#')).toBe(line.indexOf('[001]'));
    expect(line.indexOf(': hazptr_release')).toBe(49);
  });

  it('flags as trace_print_lat_fmt() prints them: irqs-off, need-resched, hardirq, preempt depth (one hex digit), migrate-disable', () => {
    expect(fmtFlags(0)).toBe('.....');
    expect(fmtFlags(FL_IRQS_OFF)).toBe('d....');
    expect(fmtFlags(FL_NEED_RESCHED | 2)).toBe('.N.2.');
    expect(fmtFlags(FL_IRQS_OFF | FL_HARDIRQ | 1)).toBe('d.h1.');
    expect(fmtFlags(0x0b)).toBe('...b.');
    expect(fmtFlags(0x23)).toBe('...f.'); // tracing_gen_ctx() keeps min(depth, 0xf)
  });
});

describe('--trace', () => {
  it('each step names its task by comm-pid, the idle task as <idle>-0, with the CPU state at the step', () => {
    const lines = traced().map(fmtStepLine);
    expect(lines).toContain('          <idle>-0       [000] dN.1.     0.000000: __schedule: context_switch -> acquirer');
    expect(lines).toContain('        acquirer-100     [000] .N.1.     0.000000: hazptr_acquire: load slot->addr [0xffff88807fa00000] -> 0');
    expect(lines).toContain('        releaser-101     [000] ...1.     0.000001: hazptr_release: load ctx->slot [0xffffffff82a00008] -> 0xffff88807fa40000');
    for (const l of lines) expect(l).toMatch(COLUMNS);
  });

  it('console lines come between the steps, in the order they were printed, from the task that printed them', () => {
    const lines = traced().map(fmtStepLine);
    const at = lines.indexOf('        acquirer-100     [000] .N...     0.000000: console: hazsim: acquirer (pid 100) started on CPU0');
    // printed by the acquirer's first step, right after the switch to it
    expect(lines[at - 1]).toBe('          <idle>-0       [000] dN.1.     0.000000: __schedule: context_switch -> acquirer');
    expect(lines[at + 1]).toBe('        acquirer-100     [000] .N...     0.000000: hazsim_kthread: wait for handed-off ctx');
  });

  it('a line printed outside any step (the boot code) is <idle>-0 on CPU0; the kthreads print under their own pid', () => {
    const lines = traced(loadScenario('scenarios/hazptrtorture-preempt.yaml'), 1, 200).filter((l) => l.event === 'console').map(fmtStepLine);
    expect(lines[0]).toMatch(/^ {10}<idle>-0 {7}\[000\] \.{5} {5}0\.000000: console: hazptr-torture:--- Start of test: nreaders=4 /);
    expect(lines).toContain(' hazptr_torture_-105     [001] .N...     0.000003: console: hazptr-torture: hazptr_torture_writer task started');
  });

  it('the CLI prints the column legend first; the dmesg log without --trace is unchanged', async () => {
    const t = await cli(['run', 'scenarios/cross-task-handoff.yaml', '--seed', '1', '--trace', '--quiet']);
    expect(t.out.split('\n').slice(0, 8)).toEqual(TRACE_HEADER);
    const plain = await cli(['run', 'scenarios/cross-task-handoff.yaml', '--seed', '1']);
    expect(plain.out).toContain('\n[    0.000000] hazsim: acquirer (pid 100) started on CPU0\n');
    expect(plain.out).not.toContain('console:');
  });
});

describe('the last steps before a report', () => {
  it('are in the same columns', () => {
    const r = runScenario(handoff, { seed: 1 });
    const out = text(r).split('\n');
    const from = out.indexOf(`hazsim: the last ${r.history.length} steps before the report:`);
    expect(from).toBeGreaterThan(0);
    const hist = out.slice(from + 1, from + 1 + r.history.length);
    for (const l of hist) expect(l).toMatch(COLUMNS);
    expect(hist).toContain('          writer-102     [000] d..1.     0.000003: hazptr_synchronize_overflow_list: load backup_slot->overflow_node.next [0xffffffff82a00010] -> 0xdead000000000100');
  });

  it('are the same from a run that kept no ring of them: it is run again to find them', () => {
    // a run without its story keeps no ring of its last steps (a cost at every step); asked for, they come from running it again
    const kept = runScenario(handoff, { seed: 1, story: true });
    const again = runScenario(handoff, { seed: 1 });
    expect(again.history.length).toBe(24);
    expect(again.history).toEqual(kept.history);
    const torture = loadScenario('scenarios/hazptrtorture-nopreempt.yaml');
    const a = runScenario(torture, { seed: 2, maxSteps: 300_000 });
    const b = runScenario(torture, { seed: 2, maxSteps: 300_000, story: true });
    expect(a.history.map((l) => l.t)).toEqual(b.history.map((l) => l.t));
    expect(a.history).toEqual(b.history);
  });

  it('a replay that stops at a divergence keeps its own: run again, it would go past the divergent decision', () => {
    const snap = runScenario(handoff, { seed: 1, record: true }).schedule.snapshot();
    const detach = loadScenario('scenarios/cross-task-handoff-detach.yaml');
    const lazy = runScenario(detach, { seed: 1, replay: snap });
    const kept = runScenario(detach, { seed: 1, replay: snap, story: true });
    expect(lazy.outcome).toBe('divergence');
    expect(lazy.history).toEqual(kept.history);
    expect(lazy.history.at(-1)!.t).toBeLessThanOrEqual(lazy.simNs);
  });
});

describe('the story names each context', () => {
  // an acquire, a release reading ctx->slot and a release clearing the slot, on CPU1, by task `task`
  const m = buildMachine(handoff, new RandomStrategy(1, 0), {});
  const task = m.tasks.find((t) => t.comm === 'releaser')!.id;
  const ctx = m.mem.allocStatic(56);
  const slot = m.mem.regions.find((g) => g.kind === 'percpu' && g.owner === 1)!.lo; // CPU1's items[0]: 0xffff88807fa40000
  const at = (t: number, site: number, kind: number, addr: number, val: number, flags: number, irq = 0): StoryStep =>
    ({ t, cpu: 1, task, site, kind, addr, val, flags, irq, irqName: irq ? 'IPI handler' : '' });
  const release = [at(3000, S.rel_load_slot, OP_LOAD, ctx, slot, 1), at(4000, S.rel_clear, OP_STORE, slot, 0, 1)];
  // a step of the acquirer's hazptr_note_context_switch() on CPU0, whose items[0] is at cpu0slot
  const acquirer = m.tasks.find((t) => t.comm === 'acquirer')!.id;
  const cpu0slot = m.mem.regions.find((g) => g.kind === 'percpu' && g.owner === 0)!.lo;
  const onCpu0 = (t: number, site: number, kind: number, addr: number, val: number): StoryStep =>
    ({ t, cpu: 0, task: acquirer, site, kind, addr, val, flags: FL_IRQS_OFF | 1, irq: 0, irqName: '' });

  it('a step in an IPI handler: \'h\' in the flags, the interrupted task in the columns, the handler in the prose; not folded with that task\'s release', () => {
    const story = tell({ ctx, ctxSize: 56 }, [at(1000, S.acq_ctx_slot, OP_STORE, ctx, slot, FL_IRQS_OFF | FL_HARDIRQ | 1, 7), ...release], m);
    expect(story.slice(1)).toEqual([
      '        releaser-101     [001] d.h1.     0.000001: hazptr_acquire: in the IPI handler on CPU1, interrupting releaser-101: acquires into CPU1\'s per-CPU slot 0xffff88807fa40000',
      '        releaser-101     [001] ...1.     0.000003: hazptr_release: reads ctx->slot = CPU1\'s per-CPU slot 0xffff88807fa40000, not the backup slot, so it will not unchain',
      '        releaser-101     [001] ...1.     0.000004: hazptr_release: clears CPU1\'s per-CPU slot 0xffff88807fa40000',
    ]);
  });

  it('an IPI handler named as the actor in another line: the release that cleared the slot a context switch was copying', () => {
    const story = tell({ ctx, ctxSize: 56 }, [
      // hazptr_note_context_switch() finds CPU0's items[0] in use (hazptr.h:112), then reads its ctx (hazptr.h:114)
      onCpu0(1000, S.ncs_test, OP_LOAD, cpu0slot, 0xffffffff82a00100),
      onCpu0(1500, S.ncs_ctx, OP_LOAD, cpu0slot + 8, ctx),
      at(2000, S.rel_load_slot, OP_LOAD, ctx, cpu0slot, FL_IRQS_OFF | FL_HARDIRQ | 1, 3),
      at(3000, S.rel_clear, OP_STORE, cpu0slot, 0, FL_IRQS_OFF | FL_HARDIRQ | 1, 3),
      onCpu0(4000, S.ncs_backup, OP_STORE, ctx + CTX_BACKUP + BACKUP_SLOT, 0),
    ], m);
    expect(story[2]).toBe('        releaser-101     [001] d.h1.     0.000002: hazptr_release: in the IPI handler on CPU1, interrupting releaser-101: reads ctx->slot = CPU0\'s per-CPU slot 0xffff88807fa00000, not the backup slot, so it will not unchain (RACE: acquirer-100 on CPU0 is inside hazptr_note_context_switch() for this ctx)');
    expect(story[4]).toBe('        acquirer-100     [000] d..1.     0.000004: hazptr_note_context_switch: copies the per-CPU slot into the backup slot: NULL (it was cleared meanwhile) (RACE: the IPI handler on CPU1, interrupting releaser-101, cleared that per-CPU slot in hazptr_release() at 0.000003, inside this hazptr_note_context_switch())');
  });

  it('a release after the context switch found the slot in use (hazptr.h:112) but before it read the ctx (hazptr.h:114) is inside it', () => {
    const story = tell({ ctx, ctxSize: 56 }, [
      onCpu0(1000, S.ncs_test, OP_LOAD, cpu0slot, 0xffffffff82a00100),
      at(2000, S.rel_load_slot, OP_LOAD, ctx, cpu0slot, 1),
      at(2500, S.rel_clear, OP_STORE, cpu0slot, 0, 1),
      onCpu0(3000, S.ncs_ctx, OP_LOAD, cpu0slot + 8, ctx),
      onCpu0(4000, S.ncs_backup, OP_STORE, ctx + CTX_BACKUP + BACKUP_SLOT, 0),
    ], m);
    expect(story.slice(1)).toEqual([
      '        acquirer-100     [000] d..1.     0.000001: hazptr_note_context_switch: starts moving the ctx\'s per-CPU slot to its backup slot',
      '        releaser-101     [001] ...1.     0.000002: hazptr_release: reads ctx->slot = CPU0\'s per-CPU slot 0xffff88807fa00000, not the backup slot, so it will not unchain (RACE: acquirer-100 on CPU0 is inside hazptr_note_context_switch() for this ctx)',
      '        releaser-101     [001] ...1.     0.000002: hazptr_release: clears CPU0\'s per-CPU slot 0xffff88807fa00000',
      '        acquirer-100     [000] d..1.     0.000004: hazptr_note_context_switch: copies the per-CPU slot into the backup slot: NULL (it was cleared meanwhile) (RACE: releaser-101 on CPU1 cleared that per-CPU slot in hazptr_release() at 0.000002, inside this hazptr_note_context_switch())',
    ]);
  });

  it('acquire and release in one context are folded as ordinary use', () => {
    const story = tell({ ctx, ctxSize: 56 }, [at(1000, S.acq_ctx_slot, OP_STORE, ctx, slot, 1), ...release], m);
    expect(story.slice(1)).toEqual(['        releaser-101     [001] ...1.     0.000001: hazptr_acquire: 1 x acquire and release in CPU1\'s per-CPU slot 0xffff88807fa40000 (ordinary use)']);
  });
});

describe('interrupt entry', () => {
  it('the step that takes an interrupt shows irqs off (the gate disabled them), not yet hardirq', () => {
    const s = parseScenario(`
name: irq entry
machine: { cpus: 1, preempt: full }
tasks:
  - name: t
    program: [ { spin: 200 } ]
irqs:
  - name: tick
    cpu: 0
    every_us: 1
    program: [ { spin: 2 } ]
`, 'irq.yaml');
    const m = buildMachine(s, new RandomStrategy(1, s.machine.preempt_rate));
    const entries: number[] = [];
    m.tracer = (r) => { if (r.kind === 0 && r.site > 0 && r.addr === 0 && r.val === 0 && (r.flags & FL_IRQS_OFF) !== 0) entries.push(r.flags); };
    m.run();
    expect(m.stats.irqs).toBeGreaterThan(0);
    expect(entries.length).toBe(m.stats.irqs);
    for (const f of entries) expect(f & FL_HARDIRQ).toBe(0);
  });
});
