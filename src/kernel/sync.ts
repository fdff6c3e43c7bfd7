// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Blocking synchronisation the machine does for kernel code: mutexes (with
 * lockdep's recursion and unlock-balance checks) and hazard-pointer context
 * handoffs between tasks. A task that must wait is put to sleep here; the op
 * returns 0 and the kernel code retries after it is woken.
 */
import { MUTEX_OWNER } from './locks.ts';
import type { Machine } from './machine.ts';
import { report } from './reports.ts';
import { wake } from './runqueue.ts';
import { TASK_UNINTERRUPTIBLE, type Cpu, type Task } from './task.ts';

/** Put `t` to sleep (TASK_UNINTERRUPTIBLE) waiting on `what`, queued on `waiters[key]`. */
function block(m: Machine, t: Task, waiters: Map<number, Task[]>, key: number, what: string): void {
  let w = waiters.get(key);
  if (!w) waiters.set(key, (w = []));
  w.push(t);
  t.state = TASK_UNINTERRUPTIBLE;
  t.blockedSince = m.now;
  t.blockedOn = what;
}

/** mutex_lock(): 1 when `t` holds the lock, 0 when it sleeps until mutexUnlock hands the lock over. */
export function mutexLock(m: Machine, cpu: Cpu, t: Task, lock: number): number {
  if (t.gotMutex === lock) {
    t.gotMutex = -1;
    return 1;
  }
  const owner = m.mem.peek(lock + MUTEX_OWNER);
  if (owner === 0) {
    m.mem.poke(lock + MUTEX_OWNER, t.taskStruct);
    return 1;
  }
  if (owner === t.taskStruct && m.cfg.lockdep) {
    report(m, 'recursive-locking', cpu, t, {
      headline: '============================================',
      pre: ['WARNING: possible recursive locking detected', '--------------------------------------------',
        `${t.comm}/${t.pid} is trying to acquire lock:`, `ffff${m.mem.fmtPx(lock).slice(4)} (mutex at ${m.mem.fmt(lock)})`,
        '', 'but task is already holding lock:', '', ' *** DEADLOCK ***'],
    });
    return 0;
  }
  block(m, t, m.mutexWaiters, lock, 'mutex');
  m.stats.mutexWaits++;
  t.blockedLock = lock;
  return 0;
}

/** mutex_unlock(): hand the lock to the first waiter, if any. */
export function mutexUnlock(m: Machine, cpu: Cpu, t: Task, lock: number): void {
  const owner = m.mem.peek(lock + MUTEX_OWNER);
  if (owner !== t.taskStruct) {
    report(m, 'bad-unlock', cpu, t, {
      headline: '=====================================',
      pre: ['WARNING: bad unlock balance detected!', '-------------------------------------',
        `${t.comm}/${t.pid} is trying to release lock (mutex at ${m.mem.fmt(lock)}) at:`,
        'but there are no more locks to release!'],
    });
    return;
  }
  const w = m.mutexWaiters.get(lock);
  if (w && w.length) {
    const n = w.shift()!;
    m.mem.poke(lock + MUTEX_OWNER, n.taskStruct);
    n.gotMutex = lock;
    wake(m, n);
  } else m.mem.poke(lock + MUTEX_OWNER, 0);
}

/** `t` hands the context `ctx` (protecting `ptr`) to task `to`. */
export function handoff(m: Machine, t: Task, ctx: number, ptr: number, to: number): void {
  const r = m.tasks[to];
  r.mailbox.push({ ctx, ptr, from: t.id });
  m.handedOff.set(ctx, to);
  if (r.blockedOn === 'receive') wake(m, r);
}

/** 1 with the next handoff in t.received, or 0: `t` sleeps until one arrives. */
export function receive(m: Machine, t: Task): number {
  if (t.mailbox.length) {
    t.received = t.mailbox.shift()!;
    return 1;
  }
  t.state = TASK_UNINTERRUPTIBLE;
  t.blockedSince = m.now;
  t.blockedOn = 'receive';
  return 0;
}

/** 1 when `ctx` is not handed off (any more), else 0: `t` sleeps until its receiver releases it. */
export function waitHandoff(m: Machine, t: Task, ctx: number): number {
  if (!m.handedOff.has(ctx)) return 1;
  block(m, t, m.handoffWaiters, ctx, 'handoff');
  return 0;
}

/** The receiver of a handed-off ctx has released it: its owner may use it again. */
export function handoffReleased(m: Machine, ctx: number): void {
  m.handedOff.delete(ctx);
  const w = m.handoffWaiters.get(ctx);
  if (w) while (w.length) wake(m, w.shift()!);
}
