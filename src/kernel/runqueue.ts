/**
 * Runqueues and task placement: enqueue/dequeue, wakeups, select_task_rq(),
 * pick_next_task(), the context switch, and CPU affinity.
 *
 * Every choice among several CPUs or tasks is a strategy decision (m.decide), so
 * it is recorded in the schedule and replays.
 */
import { D_PICK, D_WAKE_CPU } from '../sched/strategy.ts';
import type { Machine } from './machine.ts';
import { TASK_RUNNING, TASK_UNINTERRUPTIBLE, type Cpu, type Task } from './task.ts';

/** Could idle `cpu` pull a waiting task from another CPU's runqueue? */
export function pullable(m: Machine, cpu: Cpu): boolean {
  if (m.nWaiting === 0) return false;
  for (const c of m.cpus) if (c !== cpu) for (const t of c.rq) if (allowed(t, cpu)) return true;
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

/** select_task_rq(): pinned tasks go home, others to a CPU the strategy picks among those allowed. */
export function selectCpu(m: Machine, t: Task): number {
  if (t.pinned) return t.homeCpu;
  let online = m.cpus.filter((c) => c.online && !c.goingDown && c.id !== t.excludedCpu);
  if (!online.length) online = m.cpus.filter((c) => c.online && !c.goingDown);
  if (online.length === 1) return online[0].id;
  const ids = m.wakeIds;
  for (let i = 0; i < online.length; i++) ids[i] = online[i].id;
  const c = online[m.decide(D_WAKE_CPU, online.length, ids)].id;
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

/** pick_next_task(): prev if still runnable, this CPU's queue, else pull an unpinned task from another CPU. */
export function pickNext(m: Machine, cpu: Cpu, prev: Task): number {
  let n = 0;
  const cand = m.cand;
  if (cpu.goingDown) return cpu.idle.id;
  if (!prev.isIdle && prev.state === TASK_RUNNING && allowed(prev, cpu)) cand[n++] = prev.id;
  for (const t of cpu.rq) cand[n++] = t.id;
  if (n === 0) for (const c of m.cpus) if (c !== cpu) for (const t of c.rq) if (allowed(t, cpu)) cand[n++] = t.id;
  if (n === 0) return cpu.idle.id;
  let k = 0;
  if (n > 1) {
    k = m.decide(D_PICK, n, cand);
    m.where(cpu.id, cand[k], -1);
  }
  const next = m.tasks[cand[k]];
  if (next !== prev) dequeue(m, next);
  return next.id;
}

export function contextSwitch(m: Machine, cpu: Cpu, prev: Task, next: Task): void {
  prev.onCpu = false;
  prev.frames[prev.fdepth - 1].resumePending = true;
  if (!prev.isIdle && prev.state === TASK_RUNNING) enqueue(m, prev, selectCpu(m, prev));
  cpu.curr = next;
  m.stats.switches++;
  if (!next.isIdle && next.cpu !== cpu.id && next.frames[0].gen !== null && next.lastRan >= 0) m.stats.migrations++;
  next.lastRan = m.now;
  next.cpu = cpu.id;
  next.onCpu = true;
  cpu.lastResched = m.now;
  m.eligDirty = true;
  const nf = next.frames[next.fdepth - 1];
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
