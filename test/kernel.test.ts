// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The kernel primitives: memory faults, KASAN, hlist poisoning, preempt and irq
 * state, spinlocks, mutexes, and each debug check firing on a scenario that
 * breaks its rule (and staying quiet on one that keeps it).
 */
import { describe, expect, it } from 'vitest';
import { LIST_POISON1, LIST_POISON2 } from '../src/kernel/addr.ts';
import { hlist_add_head, hlist_del } from '../src/kernel/list.ts';
import { mutex_lock, mutex_unlock, raw_spin_lock, raw_spin_unlock } from '../src/kernel/locks.ts';
import { OP_KFREE, OP_KMALLOC, OP_NOP, ORD_PLAIN, type KGen, type Port } from '../src/kernel/port.ts';
import { kfunc, site } from '../src/kernel/sites.ts';
import { schedule } from '../src/sched/core.ts';
import { machine, run, text } from './helpers.ts';

const F_t = kfunc('test_body', 'test/kernel.test.ts');
const S_ld = site(F_t, 0, 'x = *p;', 'load');
const S_st = site(F_t, 0, '*p = x;', 'store');
const S_nop = site(F_t, 0, ';', 'nop');
const S_alloc = site(F_t, 0, 'kmalloc', 'kmalloc');
const S_free = site(F_t, 0, 'kfree', 'kfree');

describe('faults', () => {
  it('a load through LIST_POISON1 + 0x10 is a GPF at 0xdead000000000110, named as the poison', () => {
    const m = machine({ cpus: 1 }, 1, [{ name: 'walker', fn: function* (io) { io.enter(F_t); yield io.load(LIST_POISON1 + 0x10, ORD_PLAIN, S_ld); } }]);
    m.run();
    expect(m.bug?.kind).toBe('general-protection-fault');
    expect(m.bug?.headline).toBe('Oops: general protection fault, probably for non-canonical address 0xdead000000000110: 0000 [#1] SMP PTI');
    expect(m.bug?.post.join('\n')).toContain('LIST_POISON1 + 0x10');
    expect(m.bug?.rip?.fn).toBe('test_body');
    expect(m.bug?.trace.map((e) => e.fn)).toEqual(['kthread', 'ret_from_fork', 'ret_from_fork_asm']);
  });

  it('a NULL dereference is reported as one, with the offset', () => {
    const m = machine({ cpus: 1 }, 1, [{ name: 't', fn: function* (io) { io.enter(F_t); yield io.store(0x18, 5, ORD_PLAIN, S_st); } }]);
    m.run();
    expect(m.bug?.kind).toBe('null-pointer-dereference');
    expect(m.bug?.headline).toBe('BUG: kernel NULL pointer dereference, address: 0000000000000018');
    expect(m.bug?.pre).toContain('#PF: supervisor write access in kernel mode');
  });

  it('KASAN reports a use after kfree with who allocated and who freed', () => {
    let obj = 0;
    const m = machine({ cpus: 2 }, 3, [
      { name: 'allocfree', fn: function* (io) { io.enter(F_t); obj = yield io.op(OP_KMALLOC, S_alloc, 64); yield io.op(OP_KFREE, S_free, 0, obj); } },
    ]);
    m.run();
    expect(m.bug).toBeNull();
    const m2 = machine({ cpus: 1 }, 3, [
      { name: 'user', fn: function* (io) { io.enter(F_t); const p = yield io.op(OP_KMALLOC, S_alloc, 40); yield io.op(OP_KFREE, S_free, 0, p); yield io.load(p + 8, ORD_PLAIN, S_ld); } },
    ]);
    m2.run();
    expect(m2.bug?.kind).toBe('kasan');
    expect(m2.bug?.headline).toBe('BUG: KASAN: slab-use-after-free in test_body');
    const post = m2.bug!.post.join('\n');
    expect(post).toContain('Allocated by task 100:');
    expect(post).toContain('Freed by task 100:');
    expect(post).toContain('which belongs to the cache kmalloc-64 of size 64');
    expect(post).toContain('The buggy address is located 8 bytes inside of');
  });

  it('without KASAN a freed object is reused (SLUB LIFO) and no report is made', () => {
    let a = 0, b = 0;
    const m = machine({ cpus: 1, kasan: false }, 3, [
      { name: 'user', fn: function* (io) { io.enter(F_t); a = yield io.op(OP_KMALLOC, S_alloc, 64); yield io.op(OP_KFREE, S_free, 0, a); yield io.load(a, ORD_PLAIN, S_ld); b = yield io.op(OP_KMALLOC, S_alloc, 64); } },
    ]);
    m.run();
    expect(m.bug).toBeNull();
    expect(b).toBe(a);
  });

  it('KASAN reports a slab-out-of-bounds access past the requested size', () => {
    const m = machine({ cpus: 1 }, 3, [
      { name: 'user', fn: function* (io) { io.enter(F_t); const p = yield io.op(OP_KMALLOC, S_alloc, 40); yield io.load(p + 48, ORD_PLAIN, S_ld); } },
    ]);
    m.run();
    expect(m.bug?.headline).toBe('BUG: KASAN: slab-out-of-bounds in test_body');
  });
});

describe('hlist', () => {
  it('add_head links and hlist_del unlinks and poisons with LIST_POISON1/2', () => {
    let h = 0, n1 = 0, n2 = 0;
    const mem: { peek(a: number): number } = { peek: () => 0 };
    const m = machine({ cpus: 1 }, 1, [{
      name: 'lister', fn: function* (io) {
        io.enter(F_t);
        h = yield io.op(OP_KMALLOC, S_alloc, 8);
        yield io.store(h, 0, ORD_PLAIN, S_st);
        n1 = yield io.op(OP_KMALLOC, S_alloc, 16);
        n2 = yield io.op(OP_KMALLOC, S_alloc, 16);
        yield hlist_add_head(io, n1, h, 0);
        yield hlist_add_head(io, n2, h, 0);
        yield hlist_del(io, n2, 0);
      },
    }]);
    m.run();
    void mem;
    expect(m.bug).toBeNull();
    const p = (a: number) => m.mem.peek(a);
    expect(p(h)).toBe(n1); // head -> n1 again
    expect(p(n1 + 8)).toBe(h); // n1->pprev = &h->first
    expect(p(n1)).toBe(0);
    expect(p(n2)).toBe(LIST_POISON1);
    expect(p(n2 + 8)).toBe(LIST_POISON2);
    expect(m.mem.fmt(LIST_POISON1)).toBe('0xdead000000000100');
    expect(m.mem.fmt(LIST_POISON2)).toBe('0xdead000000000122');
  });
});

/** N tasks increment one counter M times, with or without a lock around the read-modify-write. */
function counterRun(seed: number, kind: 'spin' | 'mutex' | 'none', n = 3, iters = 30) {
  let counter = 0, lock = 0;
  const body = function* (io: Port): KGen {
    io.enter(F_t);
    for (let i = 0; i < iters; i++) {
      if (kind === 'spin') yield raw_spin_lock(io, lock, 0);
      if (kind === 'mutex') yield mutex_lock(io, lock, 0);
      const v = yield io.load(counter, ORD_PLAIN, S_ld);
      yield io.op(OP_NOP, S_nop);
      if (kind === 'mutex' && i % 3 === 0) yield schedule(io); // sleep-able critical section
      yield io.store(counter, v + 1, ORD_PLAIN, S_st);
      if (kind === 'spin') yield raw_spin_unlock(io, lock, 0);
      if (kind === 'mutex') yield mutex_unlock(io, lock, 0);
    }
  };
  const m = machine({ cpus: 3, preemptRate: 0.2 }, seed, Array.from({ length: n }, (_, i) => ({ name: `inc${i}`, fn: body })));
  counter = m.mem.allocStatic(8);
  lock = m.mem.allocStatic(32);
  m.run();
  return { m, value: m.mem.peek(counter) };
}

describe('locks', () => {
  it('raw spinlock: no lost update over 200 interleavings; without it updates are lost', () => {
    for (let s = 0; s < 200; s++) {
      const r = counterRun(s, 'spin');
      expect(r.m.bug).toBeNull();
      expect(r.value).toBe(90);
    }
    const lost = Array.from({ length: 50 }, (_, s) => counterRun(s, 'none').value).filter((v) => v < 90).length;
    expect(lost).toBeGreaterThan(0);
  });

  it('mutex: mutual exclusion over 200 interleavings, and waiters really sleep', () => {
    let waits = 0;
    for (let s = 0; s < 200; s++) {
      const r = counterRun(s, 'mutex');
      expect(r.m.bug).toBeNull();
      expect(r.value).toBe(90);
      waits += r.m.stats.mutexWaits; // a task found the mutex held and slept as a waiter
    }
    expect(waits).toBeGreaterThan(200);
  });

  it('spinlock recursion is reported with spinlock_debug wording', () => {
    const r = run(`
name: recursion
objects: [gp]
tasks:
  - name: t
    program: [ { spin_lock: L }, { spin_lock: L } ]
`, 1);
    expect(r.bug?.headline).toBe('BUG: spinlock recursion on CPU#' + r.bug?.cpu + ', t/100');
  });

  it('unlocking a mutex that is not held is a bad unlock balance', () => {
    const r = run(`
name: bad unlock
tasks:
  - name: t
    program: [ { unlock: M } ]
`, 1);
    expect(r.bug?.kind).toBe('bad-unlock');
    expect(r.bug?.pre).toContain('WARNING: bad unlock balance detected!');
  });
});

describe('debug checks', () => {
  it('sleeping in a preempt-disabled section', () => {
    const r = run(`
name: sleep atomic
tasks:
  - name: t
    program: [ preempt_disable, { sleep_us: 5 }, preempt_enable ]
`, 1);
    expect(r.bug?.kind).toBe('sleeping-in-atomic');
    expect(r.bug?.headline).toMatch(/^BUG: sleeping function called from invalid context at /);
    expect(r.bug?.pre[0]).toBe('in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 100, name: t');
  });

  it('sleeping with irqs disabled', () => {
    const r = run(`
name: sleep irqs off
tasks:
  - name: t
    program: [ irq_disable, { sleep_us: 5 }, irq_enable ]
`, 1);
    expect(r.bug?.pre[0]).toBe('in_atomic(): 0, irqs_disabled(): 1, non_block: 0, pid: 100, name: t');
  });

  it('schedule() with preemption disabled is scheduling while atomic', () => {
    const r = run(`
name: sched atomic
tasks:
  - name: t
    program: [ preempt_disable, schedule, preempt_enable ]
`, 1);
    expect(r.bug?.headline).toBe('BUG: scheduling while atomic: t/100/0x00000002');
  });

  it('hazptr_synchronize() with preemption disabled trips lockdep_assert_preemption_enabled()', () => {
    const r = run(`
name: sync atomic
objects: [gp]
tasks:
  - name: t
    program: [ preempt_disable, { update: gp }, preempt_enable ]
`, 1);
    expect(r.bug?.kind).toBe('lockdep-preemption-disabled');
    expect(r.bug?.headline).toMatch(/^WARNING: kernel\/hazptr.c:169 at hazptr_synchronize, CPU#\d: [\w-]+\/100$/);
  });

  it('the same scenario with lockdep off goes on to sleep in mutex_lock and is caught there', () => {
    const r = run(`
name: sync atomic
machine: { lockdep: false }
objects: [gp]
tasks:
  - name: t
    program: [ preempt_disable, { update: gp }, preempt_enable ]
`, 1);
    expect(r.bug?.kind).toBe('sleeping-in-atomic');
  });

  it('soft lockup: a CPU that never passes a scheduling point (preempt: none)', () => {
    const r = run(`
name: soft lockup
machine: { cpus: 1, preempt: none, step_ns: 1000000 }
limits: { soft_lockup_ms: 1000 }
tasks:
  - name: spinner
    program: [ { spin: 100000 } ]
`, 1);
    expect(r.bug?.kind).toBe('soft-lockup');
    // kernel/watchdog.c: reported at the first 200 ms sample after get_timestamp() (2^30 ns units) passed touch_ts + 1
    expect(r.bug?.headline).toMatch(/^watchdog: BUG: soft lockup - CPU#0 stuck for 2s! \[spinner:100\]$/);
    expect(r.bug?.time).toBe(2.2e9);
  });

  it('no soft lockup for the same spin under preempt: full (preemptible) or with cond_resched', () => {
    // the same 1 ms steps and 1 s threshold as above, where preempt: none without cond_resched locks up at 2.2 s
    const full = run(`
name: no soft lockup
machine: { cpus: 1, preempt: full, step_ns: 1000000 }
limits: { soft_lockup_ms: 1000 }
tasks:
  - name: spinner
    program: [ { spin: 100000 } ]
`, 1);
    expect(full.bug).toBeNull();
    expect(full.simNs).toBeGreaterThan(50e9); // it really ran long past the threshold
    const cr = run(`
name: no soft lockup
machine: { cpus: 1, preempt: none, step_ns: 1000000 }
limits: { soft_lockup_ms: 1000 }
tasks:
  - name: spinner
    program: [ { loop: { times: 100, do: [ { spin: 1000 }, cond_resched ] } } ]
`, 1);
    expect(cr.bug).toBeNull();
    expect(cr.simNs).toBeGreaterThan(50e9);
  });

  it('a threshold under the watchdog\'s 2^30 ns unit never prints "stuck for 0s"', () => {
    const r = run(`
name: tiny threshold
machine: { cpus: 1, preempt: none, step_ns: 100000 }
limits: { soft_lockup_ms: 1 }
tasks:
  - name: spinner
    program: [ { spin: 100000 } ]
`, 1);
    expect(r.bug?.kind).toBe('soft-lockup');
    expect(r.bug?.headline).toBe('watchdog: BUG: soft lockup - CPU#0 stuck for 1s! [spinner:100]');
    expect(r.bug!.time).toBeGreaterThan(2 ** 30); // the first sample after get_timestamp() passed touch_ts + 0.001
  });

  it('hung task: a task blocked on a mutex past hung_task_ms', () => {
    const r = run(`
name: hung
machine: { cpus: 2 }
limits: { hung_task_ms: 2000 }
tasks:
  - name: holder
    cpu: 0
    program: [ { lock: M }, { sleep_us: 5000000 }, { unlock: M } ]
  - name: waiter
    cpu: 1
    program: [ { sleep_us: 10 }, { lock: M }, { unlock: M } ]
`, 1);
    expect(r.bug?.kind).toBe('hung-task');
    expect(r.bug?.headline).toBe('INFO: task waiter:101 blocked for more than 2 seconds.');
  });

  it('deadlock: two tasks taking two mutexes in opposite order', () => {
    const r = run(`
name: abba
tasks:
  - name: a
    program: [ { lock: M1 }, { sleep_us: 10 }, { lock: M2 }, { unlock: M2 }, { unlock: M1 } ]
  - name: b
    program: [ { lock: M2 }, { sleep_us: 10 }, { lock: M1 }, { unlock: M1 }, { unlock: M2 } ]
`, 1);
    expect(r.bug?.kind).toBe('deadlock');
    expect(r.bug?.pre.join('\n')).toMatch(/task:a .*blocked on mutex/);
  });

  it('quiescence: a hazard pointer never released is reported at the end', () => {
    const r = run(`
name: leak
objects: [gp]
tasks:
  - name: t
    contexts: { c0: static }
    program: [ { acquire: c0 } ]
`, 1);
    expect(r.bug?.kind).toBe('quiescence-leak');
    // found after every task exited: no call trace, so the signature is the kind alone (no trailing " | ")
    expect(r.bug?.signature).toBe('quiescence-leak');
    expect(r.bug?.pre.join('\n')).toMatch(/hazptr_percpu_slots|percpu_overflow_list_flip/);
  });

  it('an interrupt handler that sleeps is caught', () => {
    const r = run(`
name: irq sleeps
objects: [gp]
tasks:
  - name: t
    program: [ { spin: 20000 } ]
irqs:
  - name: tick
    cpu: 0
    every_us: 10
    program: [ { sleep_us: 1 } ]
`, 1);
    expect(r.bug?.kind).toBe('sleeping-in-atomic');
    expect(text(r)).toContain('<IRQ>');
  });

  // The owner's frame returns while its per-CPU slot still names the ctx: the owner's own
  // exit runs __schedule -> hazptr_note_context_switch, which chains the dead frame's backup slot.
  it('a stack hazptr_ctx handed off, its frame returned: stack-use-after-return in the context switch', () => {
    const r = run(`
name: stack ctx outlives its frame
machine: { cpus: 2 }
objects: [gp]
tasks:
  - name: owner
    contexts: { c0: stack }
    program: [ { acquire: c0 }, { handoff: { ctx: c0, to: other } } ]
  - name: other
    program: [ { receive: h }, { sleep_us: 50 }, { release: h } ]
`, 1);
    expect(r.bug?.headline).toBe('BUG: KASAN: stack-use-after-return in hazptr_chain_backup_slot');
    expect(r.bug?.trace.map((e) => e.fn)).toContain('hazptr_note_context_switch');
    expect(r.bug?.post.join('\n')).toContain('belongs to stack of task owner/100');
  });
});
