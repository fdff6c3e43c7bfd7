// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * hazptr_torture_init(): the module's data and kthreads on a machine, in one
 * of its two forms (params.ts, TORTURE_MODULES).
 */
import type { Machine, MachineConfig } from '../kernel/machine.ts';
import type { Memory } from '../kernel/memory.ts';
import type { KGen, Port } from '../kernel/port.ts';
import { do_pending, onoff, preemptTask, startShuffle } from './kthreads.ts';
import { resolveParams, type TortureModule, type TortureParams } from './params.ts';
import { reader } from './reader.ts';
import { detachFormSites } from './sites.ts';
import { FORMS, HT_SIZE, POOL, Torture } from './state.ts';
import { shutdown, stats } from './stats.ts';
import { writer } from './writer.ts';

export function defineTorturePercpu(mem: Memory): number {
  return mem.definePercpu(8, 8); // DEFINE_PER_CPU(struct llist_head, hazptr_pending)
}

/**
 * Set up the module's state and kthreads on a machine (hazptr_torture_init()).
 * `given`: the parameters as the module gets them (defaults filled in, -1 not
 * yet resolved); `module`: which form runs.
 */
export function startTorture(m: Machine, given: TortureParams, pendingOff: number, module: TortureModule = 'pre-detach'): void {
  const form = FORMS[module];
  if (form.detach && !m.hazptr.hazptr_detach) throw new Error(`hazptrtorture module: detach needs hazptr_detach(), which ${m.hazptr.name} has not`);
  if (form.asWritten) detachFormSites(); // registered now, after every module's sites
  const p = resolveParams(given, m.cfg.cpus);
  const t = new Torture(p, m, m.hazptr, form);
  t.pendingOff = pendingOff;
  t.nrealreaders = p.nreaders >= 0 ? p.nreaders : Math.max(1, m.cfg.cpus * -p.nreaders);
  t.current = m.mem.allocStatic(8);
  for (let i = 0; i < POOL; i++) {
    const a = m.mem.allocStatic(HT_SIZE);
    t.pool.push(a);
    t.freelist.push(a);
  }
  // hazptrtorture.c prints this (841) before hazptr_torture_do_pending_init() and the irq_* and
  // stutter checks (867-914) resolve their parameters; the pre-detach model prints them resolved
  m.printk(t.printParms('Start of test', form.asWritten ? given : p));
  const registered: number[] = []; // torture_shuffle_task_register(), done by torture_create_kthread()
  const spawn = (name: string, fn: (io: Port) => KGen) => {
    t.live++;
    const task = m.spawn(name, function* (io) {
      yield fn(io);
      t.live--;
    });
    t.csd.set(task.id, m.mem.allocStatic(8));
    registered.push(task.id);
    return task;
  };
  if (p.kthread_do_pending_ms) spawn('hazptr_torture_do_pending', (io) => do_pending(io, t));
  for (let i = 0; i < t.nrealreaders; i++) spawn('hazptr_torture_reader', (io) => reader(io, t, i));
  if (p.nwriters) t.writerTask = spawn('hazptr_torture_writer', (io) => writer(io, t)).id;
  if (p.onoff_interval > 0 && m.cfg.cpus > 1) spawn('torture_onoff', (io) => onoff(io, t));
  if (p.stat_interval > 0) spawn('hazptr_torture_stats', (io) => stats(io, t));
  registered.push(m.spawn('torture_shutdown', (io) => shutdown(io, t)).id);
  if (p.preempt_duration > 0) spawn('hazptr_torture_preempt', (io) => preemptTask(io, t));
  if (p.shuffle_interval > 0) startShuffle(m, t, registered);
}

export function tortureMachineOverrides(): Partial<MachineConfig> {
  // The module leaves deferred hazard pointers unreleased when it stops
  // (hazptr_torture_do_pending() exits on torture_must_stop() without a last pass),
  // so the end-of-run quiescence check would only report that.
  return { quiescence: false };
}
