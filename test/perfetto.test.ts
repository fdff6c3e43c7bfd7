// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * --perfetto FILE (src/scenario/timeline.ts, src/report/perfetto.ts,
 * src/cli/perfetto.ts): the file is JSON in the Chrome trace-event format
 * (every event has ph, ts, pid, tid and name; B/E balanced and nested per
 * track, in time order; each flow has both ends, inside a slice), the
 * PREEMPT seed 1 GPF's file holds the fault, the race's steps and the slices
 * docs/timeline.md points at, IPI, deferral and handoff flows are drawn, the
 * same command writes the same bytes, replay and bisect write it too, and a
 * bad path is refused before the run.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TraceEvent as Ev } from '../src/scenario/timeline.ts';
import { cli } from './helpers.ts';

interface Slice {
  name: string;
  b: number;
  e: number;
  pid: number;
  depth: number;
}

const dir = mkdtempSync(join(tmpdir(), 'hazsim-perfetto-'));

/** Read a trace file and check it follows the format; its events and its B/E pairs as slices. */
function load(file: string): { ev: Ev[]; slices: Slice[]; text: string } {
  const text = readFileSync(file, 'utf8');
  const j = JSON.parse(text) as { traceEvents: Ev[]; displayTimeUnit: string };
  expect(j.displayTimeUnit).toBe('ns');
  const ev = j.traceEvents;
  expect(ev.length).toBeGreaterThan(0);
  const open = new Map<string, { name: string; b: number }[]>();
  const last = new Map<string, number>();
  const slices: Slice[] = [];
  for (const e of ev) {
    expect(typeof e.ph).toBe('string');
    expect(typeof e.name).toBe('string');
    expect(Number.isFinite(e.ts)).toBe(true);
    expect(Number.isInteger(e.pid)).toBe(true);
    expect(Number.isInteger(e.tid)).toBe(true);
    expect(['B', 'E', 'i', 's', 'f', 'C', 'M']).toContain(e.ph);
    if (e.ph !== 'B' && e.ph !== 'E') continue;
    const k = `${e.pid}/${e.tid}`;
    expect(e.ts).toBeGreaterThanOrEqual(last.get(k) ?? 0);
    last.set(k, e.ts);
    const st = open.get(k) ?? [];
    open.set(k, st);
    if (e.ph === 'B') st.push({ name: e.name, b: e.ts });
    else {
      const top = st.pop();
      expect(top?.name).toBe(e.name);
      slices.push({ name: e.name, b: top!.b, e: e.ts, pid: e.pid, depth: st.length });
    }
  }
  for (const st of open.values()) expect(st).toEqual([]);
  // flows: one start and one end per id, same name and category, each inside a slice of its track
  const inside = (e: Ev) => slices.some((s) => s.pid === e.pid && s.depth > 0 && s.b <= e.ts && e.ts <= s.e);
  const flows = new Map<number, Ev[]>();
  for (const e of ev) if (e.ph === 's' || e.ph === 'f') flows.set(e.id!, [...(flows.get(e.id!) ?? []), e]);
  for (const [, [s, f, ...rest]] of flows) {
    expect(rest).toEqual([]);
    expect([s.ph, f?.ph]).toEqual(['s', 'f']);
    expect([f.name, f.cat, f.bp]).toEqual([s.name, s.cat, 'e']);
    expect(f.ts).toBeGreaterThanOrEqual(s.ts);
    expect(inside(s) && inside(f)).toBe(true);
  }
  return { ev, slices, text };
}

const during = (sl: Slice[], pid: number, name: string, ts: number) => sl.find((s) => s.pid === pid && s.name === name && s.b <= ts && ts <= s.e);

describe('--perfetto', () => {
  it('PREEMPT seed 1: CPU tracks, the hazptr calls, IPI and deferral flows, the overflow lists, the race and the fault', async () => {
    const file = join(dir, 'gpf.json');
    const r = await cli(['run', 'scenarios/hazptrtorture-preempt.yaml', '--seed', '1', '--quiet', '--perfetto', file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`hazsim: perfetto: wrote ${file} (`);
    expect(r.err).toMatch(/ events, 0\.099652 s to 0\.106352 s simulated, the race's 23 of 24 steps; --perfetto-all for the whole run\)$/);
    const { ev, slices } = load(file);
    // one process per CPU, named
    expect(ev.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.args!.name)).toEqual(['CPU 0', 'CPU 1', 'CPU 2', 'CPU 3']);
    // the fault: a global instant named by the Oops line, and the faulting load as the race's last instant, on CPU1
    const oops = ev.filter((e) => e.ph === 'i' && e.s === 'g');
    expect(oops.map((e) => e.name)).toEqual(['Oops: general protection fault, probably for non-canonical address 0xdead000000000110: 0000 [#1] SMP PTI']);
    const race = ev.filter((e) => e.ph === 'i' && e.cat === 'race');
    expect(race.length).toBe(23);
    expect(race.at(-1)).toMatchObject({ name: 'fault: hazptr_synchronize_overflow_list: load-acquire backup_slot->slot.addr', pid: 2, s: 't' });
    const names = race.map((e) => `${e.pid} ${e.name}`);
    const order = [
      '3 race: hazptr_note_context_switch: load item->ctx.ctx', // CPU2: the reader's ctx moved to the backup slot...
      '1 race: hazptr_release: load ctx->slot', // ...while CPU0 releases it for the reader
      '2 race: hazptr_chain_backup_slot: store ctx->backup_slot.overflow_list', // chained again, on CPU1
      '2 race: hlist_del: store n->next = LIST_POISON1', // the unchain poisons the node
      '2 race: hazptr_synchronize_overflow_list: load backup_slot->overflow_node.next', // the writer reads the poison
    ];
    let at = -1;
    for (const o of order) {
      const i = names.indexOf(o, at + 1);
      expect(i, o).toBeGreaterThan(at);
      at = i;
    }
    const release = race.find((e) => e.name === 'race: hazptr_release: load ctx->slot')!;
    expect(release.args).toMatchObject({ who: 'hazptr_torture_-100', addr: '0xffff888003010128', value: "0xffff88807fa80000 (CPU2's per-CPU slot)" });
    expect(release.args!['reads-from']).toMatch(/^stored by hazptr_torture_-101 at 0\.1006/);
    // the slices the docs point at: hazptr_note_context_switch on CPU2 spans hazptr_release on CPU0
    const ncs = during(slices, 3, 'hazptr_note_context_switch', race.find((e) => e.name === 'race: hazptr_note_context_switch: load item->ctx.ctx')!.ts)!;
    const rel = during(slices, 1, 'hazptr_release', release.ts)!;
    expect(ncs.b).toBeLessThan(rel.b);
    expect(rel.e).toBeLessThan(ncs.e);
    expect(during(slices, 1, 'hazptr_torture_do_pending', release.ts)).toBeDefined();
    // the double chain (CPU2, then CPU1), the unchain, the writer's walk up to the fault
    expect(during(slices, 3, 'hazptr_chain_backup_slot', ncs.b + 1)).toBeDefined();
    const chain1 = race.find((e) => e.name === 'race: hazptr_chain_backup_slot: store ctx->backup_slot.overflow_list')!;
    expect(during(slices, 2, 'hazptr_chain_backup_slot', chain1.ts)).toBeDefined();
    const poison = race.find((e) => e.name === 'race: hlist_del: store n->next = LIST_POISON1')!;
    expect(during(slices, 2, 'hazptr_unchain_backup_slot', poison.ts)).toBeDefined();
    expect(during(slices, 2, 'hazptr_synchronize_overflow_list', oops[0].ts)).toBeDefined();
    expect(during(slices, 2, 'hazptr_torture_/105', oops[0].ts)).toBeDefined();
    // the preemption that runs hazptr_note_context_switch on CPU2
    expect(slices.some((s) => s.pid === 3 && s.name === 'preempt_schedule_irq' && s.b <= ncs.b && ncs.e <= s.e)).toBe(true);
    // IPIs from smp_call_function_single() to the handler, deferrals from llist_add() to the release
    const flowEnds = (cat: string, ph: string) => ev.filter((e) => e.ph === ph && e.cat === cat);
    expect(flowEnds('ipi', 's').length).toBeGreaterThan(10);
    for (const f of flowEnds('ipi', 'f')) expect(slices.some((s) => s.pid === f.pid && s.name === 'asm_sysvec_call_function_single' && s.b <= f.ts && f.ts <= s.e)).toBe(true);
    for (const s of flowEnds('ipi', 's')) expect(slices.some((x) => x.pid === s.pid && x.name === 'smp_call_function_single' && x.b <= s.ts && s.ts <= x.e)).toBe(true);
    expect(flowEnds('llist', 'f').length).toBeGreaterThan(10);
    for (const f of flowEnds('llist', 'f')) expect(slices.some((s) => s.pid === f.pid && s.name === 'hazptr_release' && s.b <= f.ts && f.ts <= s.e)).toBe(true);
    // the deferred release that freed the object: from hazptr_torture_defer on CPU2 to the release on CPU0
    const fin = flowEnds('llist', 'f').find((f) => f.pid === 1 && Math.abs(f.ts - release.ts) < 0.2)!;
    const fst = flowEnds('llist', 's').find((s) => s.id === fin.id)!;
    expect(fst.pid).toBe(3);
    expect(during(slices, 3, 'llist_add', fst.ts)).toBeDefined();
    // the overflow lists: CPU2's list still counts the node when the writer walks it
    const c2 = ev.filter((e) => e.ph === 'C' && e.name === 'overflow list 0xffff88807fa80070' && e.pid === 3);
    expect(c2.length).toBeGreaterThan(2);
    expect(c2.filter((e) => e.ts <= oops[0].ts).at(-1)!.args!.nodes).toBeGreaterThanOrEqual(1);
    // CPU tracks: every stint is a task's
    expect(slices.filter((s) => s.depth === 0).every((s) => /^(swapper\/\d|\S+\/\d+)$/.test(s.name))).toBe(true);
  });

  it('the handoff: its flows; the same command writes the same bytes; replay and bisect write the same timeline', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    const sched = join(dir, 'h.sched');
    const r1 = await cli(['run', 'scenarios/cross-task-handoff.yaml', '--seed', '1', '--quiet', '--perfetto', a, '--save-schedule', sched]);
    expect(r1.code).toBe(1);
    const r2 = await cli(['run', 'scenarios/cross-task-handoff.yaml', '--seed', '1', '--json', '--perfetto', b]);
    expect(r2.code).toBe(1);
    // --json tells no story: the slice comes from a replay of its own; the file is the same
    expect(readFileSync(b, 'utf8')).toBe(readFileSync(a, 'utf8'));
    // a run that keeps no decision log is run again from its seed: the same bytes again
    const a2 = join(dir, 'a2.json');
    await cli(['run', 'scenarios/cross-task-handoff.yaml', '--seed', '1', '--quiet', '--perfetto', a2]);
    expect(readFileSync(a2, 'utf8')).toBe(readFileSync(a, 'utf8'));
    const { ev } = load(a);
    const hf = ev.filter((e) => e.cat === 'handoff');
    expect(hf.length).toBeGreaterThanOrEqual(2);
    expect(ev.some((e) => e.ph === 'f' && e.cat === 'handoff')).toBe(true);
    expect(ev.filter((e) => e.ph === 'i' && e.s === 'g').length).toBe(1);
    // replay of the saved schedule: the same events (the header names the schedule)
    const c = join(dir, 'c.json');
    const r3 = await cli(['replay', 'scenarios/cross-task-handoff.yaml', sched, '--quiet', '--perfetto', c]);
    expect(r3.code).toBe(1);
    expect(JSON.parse(readFileSync(c, 'utf8')).traceEvents).toEqual(JSON.parse(readFileSync(a, 'utf8')).traceEvents);
    // bisect: the shrunk run's timeline, as its replay file replays it
    const d = join(dir, 'd.json');
    const out = join(dir, 'bisect.sched');
    const r4 = await cli(['bisect', 'scenarios/cross-task-handoff.yaml', '--seed', '1', '--out', out, '--perfetto', d]);
    expect(r4.code).toBe(1);
    expect(r4.err).toContain(`hazsim: perfetto: wrote ${d} (`);
    load(d);
    const e = join(dir, 'e.json');
    await cli(['replay', 'scenarios/cross-task-handoff.yaml', out, '--quiet', '--perfetto', e]);
    expect(JSON.parse(readFileSync(e, 'utf8')).traceEvents).toEqual(JSON.parse(readFileSync(d, 'utf8')).traceEvents);
  });

  it('a fault on the first access of a function: the fault is inside that function, not the one before', async () => {
    // wildcard-flip seed 1: KASAN on hazsim_deref's one load, right after hazptr_acquire
    const file = join(dir, 'kasan.json');
    const r = await cli(['run', 'scenarios/wildcard-flip-backup-wildcard.yaml', '--seed', '1', '--quiet', '--perfetto', file]);
    expect(r.code).toBe(1);
    const { ev, slices } = load(file);
    const fault = ev.find((e) => e.ph === 'i' && e.cat === 'race' && e.name.startsWith('fault: '))!;
    expect(fault.name).toBe('fault: hazsim_deref: load p->data');
    const innermost = slices.filter((s) => s.pid === fault.pid && s.b <= fault.ts && fault.ts < s.e).sort((a, b) => b.depth - a.depth)[0];
    expect(innermost.name).toBe('hazsim_deref');
    expect(during(slices, fault.pid, '__hazptr_acquire', fault.ts)).toBeUndefined();
  });

  it('--perfetto-all: the whole of a short run, from 0', async () => {
    const file = join(dir, 'all.json');
    const r = await cli(['run', 'scenarios/same-task-release.yaml', '--seed', '1', '--quiet', '--steps', '3000', '--perfetto', file, '--perfetto-all']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/hazsim: perfetto: wrote \S+ \(\d+ events, 0\.000000 s to 0\.\d{6} s simulated\)$/);
    const { ev, slices } = load(file);
    expect(Math.min(...ev.filter((e) => e.ph === 'B').map((e) => e.ts))).toBe(0);
    expect(slices.some((s) => s.name === 'hazptr_acquire')).toBe(true);
    expect(slices.some((s) => s.name === 'hazptr_release')).toBe(true);
    expect(ev.some((e) => e.ph === 'i')).toBe(false); // no report, no race
  });

  it('a bad path is refused before the run, in one line; --perfetto-all needs --perfetto', async () => {
    for (const cmd of [
      ['run', 'scenarios/hazptrtorture-preempt.yaml', '--seed', '1'],
      ['replay', 'scenarios/cross-task-handoff.yaml', 'no-such.sched'],
      ['bisect', 'scenarios/hazptrtorture-preempt.yaml', '--seed', '1', '--out', join(dir, 'x.sched')],
    ]) {
      const r = await cli([...cmd, '--perfetto', '/no/such/dir/t.json']);
      expect(r.code).toBe(2);
      expect(r.err).toBe('hazsim: --perfetto: cannot write /no/such/dir/t.json (no such directory: /no/such/dir)');
      expect(r.out).toBe('');
    }
    const r = await cli(['run', 'scenarios/same-task-release.yaml', '--perfetto-all']);
    expect([r.code, r.err]).toEqual([2, 'hazsim: --perfetto-all: goes with --perfetto FILE']);
  });
});
