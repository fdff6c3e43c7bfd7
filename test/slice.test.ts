// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The causal slice (src/scenario/slice.ts, src/report/slice.ts): reads-from
 * edges on a hand-made run (a store on one CPU read on another; under x86-TSO a
 * load forwarded from its own CPU's buffered store), and the printed slice of
 * the shipped torture GPF (PREEMPT seed 1) and of a KASAN report.
 */
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../src/scenario/load.ts';
import { runScenario } from '../src/scenario/run.ts';
import { StepLog } from '../src/scenario/steplog.ts';
import { appendFault } from '../src/scenario/slice.ts';
import { LIST_POISON2 } from '../src/kernel/addr.ts';
import { OP_CMPXCHG, OP_DRAIN, OP_LOAD, OP_STORE, OP_XCHG, ORD_ONCE, type KGen, type Port } from '../src/kernel/port.ts';
import { FL_FORWARDED } from '../src/kernel/machine.ts';
import { kfunc, site } from '../src/kernel/sites.ts';
import { machine } from './helpers.ts';

const F = kfunc('slice_test_fn', 'test/slice.c');
const S_store = site(F, 1, 'WRITE_ONCE(*x, v);', 'store x');
const S_load = site(F, 2, 'READ_ONCE(*x);', 'load x');
const FTRACE = /^ {0,16}\S+-\d+ +\[\d{3}\] [d.][N.][h.][0-9a-f.]\. +\d+\.\d{6}: /;

describe('reads-from', () => {
  it('a load reads the store whose value it got: on another CPU from memory, on its own CPU forwarded from its buffer', () => {
    for (const model of ['tso', 'sc'] as const) {
      let crossAll = 0;
      for (let seed = 1; seed <= 4; seed++) {
        let x = 0;
        // a stores and reads back; b only reads
        const body = (stores: boolean) => function* (io: Port): KGen {
          io.enter(F);
          for (let k = 1; k <= 20; k++) {
            if (stores) yield io.store(x, 100 + k, ORD_ONCE, S_store);
            yield io.load(x, ORD_ONCE, S_load);
          }
          io.leave();
        };
        const m = machine({ memoryModel: model, kasan: false }, seed, [{ name: 'a', cpu: 0, pinned: true, fn: body(true) }, { name: 'b', cpu: 1, pinned: true, fn: body(false) }]);
        x = m.mem.allocStatic(8);
        const log = new StepLog(m);
        m.tracer = log.add;
        m.run();
        let loads = 0;
        let forwarded = 0;
        let cross = 0;
        for (let i = 0; i < log.n; i++) {
          if (log.kind[i] !== OP_LOAD || log.addr[i] !== x) continue;
          loads++;
          const s = log.link[i];
          if (s < 0) {
            // no store yet: the word's initial value
            expect(log.val[i]).toBe(0);
            continue;
          }
          expect(s).toBeLessThan(i);
          expect(log.kind[s]).toBe(OP_STORE);
          expect(log.addr[s]).toBe(x);
          expect(log.val[s]).toBe(log.val[i]);
          if (log.flags[i] & FL_FORWARDED) {
            forwarded++;
            expect(log.task[s]).toBe(log.task[i]);
          }
          if (log.task[s] !== log.task[i]) cross++;
        }
        expect(loads).toBe(40);
        if (model === 'sc') expect(forwarded).toBe(0);
        if (model === 'tso' && seed === 1) expect(forwarded).toBeGreaterThan(0);
        crossAll += cross;
      }
      expect(crossAll).toBeGreaterThan(0);
    }
  });
});

describe('the slice of the torture GPF, PREEMPT seed 1', () => {
  const r = runScenario(loadScenario('scenarios/hazptrtorture-preempt.yaml'), { seed: 1, story: true });
  const sl = r.slice!;
  const steps = sl.filter((l) => FTRACE.test(l));
  const find = (re: RegExp) => steps.findIndex((l) => re.test(l));

  it('fits on a screen, names who did each step and in which context', () => {
    expect(r.bug?.kind).toBe('general-protection-fault');
    expect(sl.length).toBeLessThanOrEqual(60);
    expect(sl[0]).toMatch(/^hazsim: the race, as a causal slice \(\d+ steps of 1063520, from the faulting load back\):$/);
    expect(sl[1]).toContain('hazptr_torture_-105 runs hazptr_torture_writer()');
    expect(steps.length).toBe(sl.length - 3);
    for (const l of steps) expect(l).toMatch(/^ +hazptr_torture_-10\d +\[00\d\] [d.][N.][h.][0-9a-f.]\. +0\.\d{6}: /);
  });

  it('holds the race, in order: first chain, the release that read the per-CPU slot during the move, the second chain, the poisoning hlist_del, the writer\'s load of the poison', () => {
    const first = find(/hlist_add_head: store h->first \[0xffff88807fa80070\] <- 0xffff888003010130 \(the node\)/);
    const race = find(/hazptr_torture_-100 .* hazptr_release: load ctx->slot .* \(CPU2's per-CPU slot\), stored by .*\(WHILE hazptr_torture_-101 on CPU2 was in hazptr_note_context_switch\(\)/);
    const freed = find(/0\.100659: .*kfree\(0xffff888003010120 \(the object\)\); the node is being linked from \[0xffff88807fa80070\]/);
    const second = find(/hlist_add_head: store n->pprev \[0xffff888003010138\] .*; the node is still linked from \[0xffff88807fa80070\]/);
    const poison = find(/hazptr_torture_-101 .* hlist_del: store n->next = LIST_POISON1 \[0xffff888003010130\] .*still linked from \[0xffff88807fa80070\]/);
    const head = find(/hazptr_torture_-105 .* load head->first \[0xffff88807fa80070\] -> 0xffff888003010130 \(the node\), stored by hazptr_torture_-101 at 0\.100657/);
    const load = find(/hazptr_torture_-105 .* load backup_slot->overflow_node\.next \[0xffff888003010130\] -> 0xdead000000000100, stored by hazptr_torture_-101 at 0\.106339/);
    const fault = find(/0xdead000000000110\]: faults \(general-protection-fault\)/);
    const order = [first, race, freed, second, poison, head, load, fault];
    for (const i of order) expect(i).toBeGreaterThanOrEqual(0);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(fault).toBe(steps.length - 1);
  });

  it('a link counts from when its store reached memory (x86-TSO): the kfree does not claim a link still in CPU2\'s store buffer', () => {
    // h->first <- the node is stored at 0.100657 but drains at 0.100662; the object is freed at 0.100659, between
    const link = steps.find((l) => /0\.100657: hlist_add_head: store h->first \[0xffff88807fa80070\]/.test(l))!;
    expect(link).toContain('(buffered, reaches memory at 0.100662)');
    const kfree = steps.find((l) => /0\.100659: hazptr_torture_do_one_pending: kfree/.test(l))!;
    expect(kfree).not.toContain('still linked');
    expect(kfree).toContain("; the node is being linked from [0xffff88807fa80070] (store by hazptr_torture_-101 at 0.100657, still in CPU2's store buffer; reaches memory at 0.100662)");
    // by the second kfree it is in memory
    expect(steps.find((l) => /0\.101386: .*kfree/.test(l))).toMatch(/the node is still linked from \[0xffff88807fa80070\] \(by hazptr_torture_-101 at 0\.100657\)$/);
    // the poisoning task's own unlink from CPU1's list, still in its store buffer, is seen by its CPU: only CPU2's list still links the node
    const poison = steps.find((l) => /hlist_del: store n->next = LIST_POISON1/.test(l))!;
    expect(poison).toMatch(/the node is still linked from \[0xffff88807fa80070\] \(by hazptr_torture_-101 at 0\.100657\), in hazptr_release\(\)$/);
    // a buffered store races when it reaches memory: said inside its parenthesis
    expect(steps.some((l) => l.includes('store-release slot->addr = NULL [0xffff88807fa80000] <- NULL (buffered, reaches memory at 0.100659, WHILE hazptr_torture_-101 on CPU2 was in hazptr_note_context_switch(), from 0.100655)'))).toBe(true);
  });

  it('the story says the same of that kfree: the backup slot is being chained, its link still buffered; later kfrees find it chained', () => {
    const story = r.story ?? [];
    expect(story.find((l) => /0\.100659: hazptr_torture_do_one_pending: kfree/.test(l))).toMatch(/WHILE ITS BACKUP SLOT IS BEING CHAINED \(the store that links it, by hazptr_torture_-101 on CPU2 at 0\.100657, is still in CPU2's store buffer\)$/);
    expect(story.find((l) => /0\.101386: hazptr_torture_do_one_pending: kfree/.test(l))).toMatch(/WHILE ITS BACKUP SLOT IS STILL CHAINED$/);
  });
});

describe('the slice of a KASAN report', () => {
  it('starts at the access KASAN caught', () => {
    const r = runScenario(loadScenario('scenarios/hazptrtorture-preempt-kasan.yaml'), { seed: 1, story: true });
    expect(r.bug?.kind).toBe('kasan');
    const sl = r.slice!;
    expect(sl[0]).toMatch(/from the faulting (store|load) back/);
    expect(sl.length).toBeLessThanOrEqual(60);
    const last = sl[sl.length - 1];
    expect(last).toMatch(/: faults \(kasan\)/);
    // the access is the one the report names: its function and task
    expect(last).toContain(`${r.bug!.comm}-${r.bug!.pid}`);
    expect(last).toContain(` ${r.bug!.rip!.fn}: `);
  });
});

// the log's invariant on a whole torture run: what a load got is what its store wrote
describe('reads-from over a torture run', () => {
  it('every load and RMW of PREEMPT seed 1 read the value its reads-from store wrote; every drain follows its store', async () => {
    const { recordRun } = await import('../src/scenario/slice.ts');
    const { buildMachine } = await import('../src/scenario/workload.ts');
    const { RandomStrategy, seedDrainRate } = await import('../src/sched/random.ts');
    const s = loadScenario('scenarios/hazptrtorture-preempt.yaml');
    const { log, m } = recordRun(() => buildMachine(s, new RandomStrategy(1, s.machine.preempt_rate, s.machine.drain_rate ?? seedDrainRate(1)), { seed: 1, recordSchedule: false }));
    let bad = 0;
    let linked = 0;
    for (let i = 0; i < log.n; i++) {
      const k = log.kind[i];
      const j = log.link[i];
      if ((k === OP_LOAD || k === OP_CMPXCHG || k === OP_XCHG) && j >= 0) {
        linked++;
        if (log.written(j) !== log.val[i] || log.addr[j] !== log.addr[i] || j >= i) bad++;
      }
      if (k === OP_DRAIN && (j < 0 || j >= i || log.addr[j] !== log.addr[i] || log.val[j] !== log.val[i] || log.link[j] !== i)) bad++;
    }
    expect(linked).toBeGreaterThan(100_000);
    expect(bad).toBe(0);
    // the slice's claims, by when stores reached memory (a buffered store at its drain)
    const { causalSlice, visibleAt } = await import('../src/scenario/slice.ts');
    const { findSubject } = await import('../src/scenario/story.ts');
    const { CTX_BACKUP, BACKUP_NODE } = await import('../src/hazptr/v5/layout.ts');
    const subject = findSubject(m)!;
    const sl = causalSlice(log, m, subject)!;
    const node = subject.ctx + CTX_BACKUP + BACKUP_NODE;
    let races = 0;
    let links = 0;
    for (const r of sl.rows) {
      const y = sl.why.get(r)!;
      if (y.edge === 'race' && log.kind[r] !== OP_LOAD) {
        // a racing store reached memory while the invocation it raced with ran
        races++;
        const inv = log.inv[y.from];
        let last = y.from;
        for (let j = y.from; j < log.n; j++) if (log.inv[j] === inv) last = j;
        const v = visibleAt(log, r);
        expect(v).toBeGreaterThan(log.invFirst[inv]);
        expect(v).toBeLessThan(last);
      }
      for (const p of sl.pointing(node, r)) {
        links++;
        const v = visibleAt(log, p.row);
        expect(p.row).toBeLessThan(r);
        if (!p.buffered) expect(v).toBeLessThan(r);
        else expect(v).toBeGreaterThan(r);
        // a buffered link is seen only by the CPU whose buffer holds it
        if (p.buffered) expect(p.seen).toBe(log.cpu[p.row] === log.cpu[r]);
      }
    }
    expect(races).toBeGreaterThan(0);
    expect(links).toBeGreaterThan(0);
  });
});

describe('the faulting access, appended as the last row', () => {
  const S_xchg = site(F, 3, 'xchg(p, v);', 'xchg p');
  it('a store or xchg to a poison or unmapped address: a row that links nothing and writes nothing', () => {
    // WRITE_ONCE(*pprev, next) with pprev = LIST_POISON2, and an xchg at NULL + 0x10: neither reached memory
    const cases: [string, (io: Port, obj: number) => Port][] = [
      ['store at LIST_POISON2', (io) => io.store(LIST_POISON2, 0, ORD_ONCE, S_store)],
      ['xchg at 0x10', (io, obj) => io.xchg(0x10, obj, S_xchg)],
    ];
    for (const [what, op] of cases) {
      let obj = 0;
      const m = machine({ kasan: true }, 1, [{ name: 'a', cpu: 0, pinned: true, fn: function* (io: Port): KGen {
        io.enter(F);
        yield io.store(obj, 1, ORD_ONCE, S_store);
        yield op(io, obj);
        io.leave();
      } }]);
      obj = m.mem.allocStatic(8);
      const log = new StepLog(m);
      m.tracer = log.add;
      m.run();
      expect(m.bug, what).not.toBeNull();
      const row = appendFault(log, m); // threw a RangeError for the poison store (a word index of 2^48)
      expect(row, what).toBe(log.n - 1);
      expect(log.link[row], what).toBe(-1);
      expect(log.written(row), what).toBe(log.val[row]); // not NaN: it wrote nothing
    }
  });
});
