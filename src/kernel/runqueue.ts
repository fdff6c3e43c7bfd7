// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Runqueues and task placement: enqueue/dequeue, wakeups, select_task_rq(),
 * pick_next_task(), the context switch, and CPU affinity.
 *
 * Every choice among several CPUs or tasks is a strategy decision (m.decide), so
 * it is recorded in the schedule and replays.
 */
import { D_PICK, D_WAKE_CPU } from '../sched/strategy.ts';
import type { Machine } from './machine.ts';
import { OP_NOP } from './port.ts';
import { TASK_RUNNING, TASK_UNINTERRUPTIBLE, type Cpu, type Task } from './task.ts';

/**
 * Could idle `cpu` pull a waiting task from another CPU's runqueue? (newidle
 * balance, roughly: only from a CPU that is running something; a task queued on
 * an idle CPU is that CPU's to run, as the wakeup's resched IPI tells it.)
 */
export function pullable(m: Machine, cpu: Cpu): boolean {
  if (m.nWaiting === 0) return false;
  for (const c of m.cpus) if (c !== cpu && !c.curr.isIdle) for (const t of c.rq) if (allowed(t, cpu)) return true;
  return false;
}

export function enqueue(m: Machine, t: Task, cpu: number): void {
  t.rqCpu = cpu;
  m.cpus[cpu].rq.push(t);
  m.nWaiting++;
  m.eligDirty = true;
}

export function dequeue(m: Machine, t: Task): void {
  const rq = m.cpus[t.rqCpu].rq;
  const i = rq.indexOf(t);
  if (i < 0) throw new Error(`dequeue: ${t.comm}/${t.pid} is not on CPU${t.rqCpu}'s runqueue`);
  rq.splice(i, 1);
  t.rqCpu = -1;
  m.nWaiting--;
  m.eligDirty = true;
}

/** Take `t` off its runqueue and queue it where select_task_rq() now puts it. */
export function requeue(m: Machine, t: Task): void {
  dequeue(m, t);
  enqueue(m, t, selectCpu(m, t));
}

/** May `t` run on `cpu`? (its affinity: pinned to one CPU, or all but the shuffled-idle one) */
function allowed(t: Task, cpu: Cpu): boolean {
  return (!t.pinned || t.homeCpu === cpu.id) && t.excludedCpu !== cpu.id;
}

/** sched_prio_to_weight[] of kernel/sched/core.c, indexed by nice + 20. */
export const NICE_TO_WEIGHT = [
  88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
  9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277,
  1024, 820, 655, 526, 423, 335, 272, 215, 172, 137,
  110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
];

/** A CPU with nothing to run: its idle task is current and its runqueue is empty (available_idle_cpu()). */
function idleCpu(c: Cpu): boolean {
  return c.curr.isIdle && c.rq.length === 0;
}

function usable(t: Task, c: Cpu): boolean {
  return c.online && !c.goingDown && allowed(t, c);
}

/**
 * select_task_rq_fair() for a wakeup, roughly (select_idle_sibling() on one LLC):
 * the task's previous CPU if it is allowed and idle; else an idle allowed CPU
 * (the strategy picks when there are several); else the previous CPU if
 * allowed. A task whose affinity excludes its previous CPU, or whose CPU went
 * down, goes to an allowed online CPU the strategy picks (select_fallback_rq()
 * breaks a pinned task's affinity when its CPU is offline, as migrate_tasks() does).
 */
export function selectCpu(m: Machine, t: Task): number {
  const prev = m.cpus[t.cpu];
  if (t.pinned) {
    const home = m.cpus[t.homeCpu];
    if (home.online && !home.goingDown) return t.homeCpu;
    // select_fallback_rq(): the only allowed CPU is going away, so the affinity is broken
    t.pinned = false;
    m.printk(`process ${t.pid} (${t.comm}) no longer affine to cpu${t.homeCpu}`);
  } else if (usable(t, prev) && idleCpu(prev)) return prev.id;
  const ids = m.wakeIds;
  let n = 0;
  for (const c of m.cpus) if (usable(t, c) && idleCpu(c)) ids[n++] = c.id;
  if (n === 0) {
    if (usable(t, prev)) return prev.id;
    for (const c of m.cpus) if (c.online && !c.goingDown && c.id !== t.excludedCpu) ids[n++] = c.id;
    if (n === 0) for (const c of m.cpus) if (c.online && !c.goingDown) ids[n++] = c.id;
  }
  if (n === 1) return ids[0];
  const c = ids[m.decide(D_WAKE_CPU, n, ids)];
  m.where(c, t.id, -1);
  return c;
}

/** try_to_wake_up() */
export function wake(m: Machine, t: Task): void {
  if (t.state !== TASK_UNINTERRUPTIBLE) return;
  t.state = TASK_RUNNING;
  t.blockedOn = '';
  if (t.onCpu || t.rqCpu >= 0) return; // still on its CPU, on the way into schedule()
  enqueue(m, t, selectCpu(m, t));
}

/**
 * For a preemption decision: [the running task's weight, the waiting tasks' total].
 * The random strategy preempts with probability preempt_rate * min(1, waiting / running),
 * so that over time each task's share of the CPU follows its weight, as CFS's does.
 */
export function preemptWeights(m: Machine, cpu: Cpu, t: Task): Int32Array {
  const w = m.candWeight;
  let wait = 0;
  for (const x of cpu.rq) wait += NICE_TO_WEIGHT[x.nice + 20];
  w[0] = NICE_TO_WEIGHT[t.nice + 20];
  w[1] = wait;
  return w;
}

/**
 * pick_next_task(): prev if still runnable, this CPU's queue, else pull an unpinned task
 * from another CPU. After a preemption (`preempt`) prev is not a candidate while
 * another task waits here: the reschedule was for that task.
 */
export function pickNext(m: Machine, cpu: Cpu, prev: Task, preempt = false): number {
  let n = 0;
  const cand = m.cand;
  if (cpu.goingDown) return cpu.idle.id;
  if (!prev.isIdle && prev.state === TASK_RUNNING && allowed(prev, cpu) && !(preempt && cpu.rq.length > 0)) cand[n++] = prev.id;
  for (const t of cpu.rq) cand[n++] = t.id;
  if (n === 0) for (const c of m.cpus) if (c !== cpu && !c.curr.isIdle) for (const t of c.rq) if (allowed(t, cpu)) cand[n++] = t.id;
  if (n === 0) return cpu.idle.id;
  let k = 0;
  if (n > 1) {
    // CFS: the pick goes to a candidate in proportion to its load weight (nice level)
    const w = m.candWeight;
    for (let i = 0; i < n; i++) w[i] = NICE_TO_WEIGHT[m.tasks[cand[i]].nice + 20];
    k = m.decide(D_PICK, n, cand, w);
    m.where(cpu.id, cand[k], -1);
  }
  const next = m.tasks[cand[k]];
  if (next !== prev) dequeue(m, next);
  return next.id;
}

export function contextSwitch(m: Machine, cpu: Cpu, prev: Task, next: Task): void {
  prev.onCpu = false;
  prev.lastOffCpu = m.now;
  prev.frames[prev.fdepth - 1].resumePending = true;
  // a preempted task stays on this CPU's runqueue, unless its affinity or a CPU going down moves it
  if (!prev.isIdle && prev.state === TASK_RUNNING) enqueue(m, prev, usable(prev, cpu) ? cpu.id : selectCpu(m, prev));
  cpu.busyUntil = 0; // a task preempted inside udelay() takes its delay with it
  cpu.curr = next;
  m.stats.switches++;
  if (!next.isIdle && next.cpu !== cpu.id && next.frames[0].gen !== null && next.lastRan >= 0) m.stats.migrations++;
  next.lastRan = m.now;
  next.cpu = cpu.id;
  next.onCpu = true;
  cpu.lastResched = m.now;
  m.eligDirty = true;
  const nf = next.frames[next.fdepth - 1];
  // a task leaves its CPU only by the OP_SWITCH of its top frame: the resume below skips no pending op
  if (nf.kind === OP_NOP && nf.val > 1) throw new Error(`internal: ${next.comm} switched in part-way through a run of NOP steps`);
  nf.resumePending = false;
  m.resume(next, nf, 0);
}

/**
 * set_cpus_allowed_ptr(): `tasks` may run anywhere but `cpu` (-1: anywhere).
 * Queued tasks move at once; a running one at its next preemption point.
 */
export function excludeCpu(m: Machine, tasks: number[], cpu: number): void {
  for (const id of tasks) {
    const t = m.tasks[id];
    t.excludedCpu = cpu;
    if (t.rqCpu === cpu && cpu >= 0) requeue(m, t);
  }
  m.eligDirty = true;
}

/** sched_setaffinity() to one CPU (cpu >= 0) or to all (-1): a running task moves at its next scheduling point. */
export function setAffinity(m: Machine, t: Task, cpu: number): void {
  t.pinned = cpu >= 0;
  if (cpu >= 0) t.homeCpu = cpu;
  m.eligDirty = true;
}
