// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * raw_spinlock_t and struct mutex, built from the machine's steps.
 *
 * Layouts are x86_64's without lock debugging (the crash kernel's): a
 * raw_spinlock_t is a 4-byte qspinlock word, a struct mutex is 32 bytes with
 * the owner (atomic_long_t) at offset 0. The debug state (which task holds a
 * spinlock) is kept by the machine beside memory, so layouts stay unchanged
 * while CONFIG_DEBUG_SPINLOCK-style checks still fire.
 */
import {
  OP_MUTEX_LOCK, OP_MUTEX_UNLOCK, OP_NOP, OP_RELAX, ORD_ACQUIRE, ORD_RELEASE,
  type KGen, type Port,
} from './port.ts';
import { kfunc, memoryDriven, site } from './sites.ts';
import { schedule } from '../sched/core.ts';

export const SPINLOCK_SIZE = 4;
export const MUTEX_SIZE = 32;
export const MUTEX_OWNER = 0;

const SPIN_C = 'kernel/locking/spinlock.c';
const MUTEX_C = 'kernel/locking/mutex.c';
const F_lock_irqsave = kfunc('_raw_spin_lock_irqsave', SPIN_C);
const F_unlock_irqrestore = kfunc('_raw_spin_unlock_irqrestore', SPIN_C);
const F_lock = kfunc('_raw_spin_lock', SPIN_C);
const F_unlock = kfunc('_raw_spin_unlock', SPIN_C);
const F_slowpath = kfunc('native_queued_spin_lock_slowpath', 'kernel/locking/qspinlock.c');
const F_mutex_lock = kfunc('mutex_lock', MUTEX_C);
const F_mutex_unlock = kfunc('mutex_unlock', MUTEX_C);
memoryDriven(F_lock_irqsave, F_unlock_irqrestore, F_lock, F_unlock, F_slowpath);

const S_try = site(F_lock, 0, 'atomic_try_cmpxchg_acquire(&lock->val, &val, _Q_LOCKED_VAL)', 'cmpxchg lock 0 -> 1');
const S_try_irq = site(F_lock_irqsave, 0, 'atomic_try_cmpxchg_acquire(&lock->val, &val, _Q_LOCKED_VAL)', 'cmpxchg lock 0 -> 1');
const S_spin = site(F_slowpath, 0, 'atomic_cond_read_acquire(&lock->val, !(VAL & _Q_LOCKED_MASK))', 'load lock (spinning)');
const S_relax = site(F_slowpath, 0, 'cpu_relax();', 'cpu_relax');
const S_unlock = site(F_unlock, 0, 'smp_store_release(&lock->locked, 0)', 'store-release lock = 0');
const S_unlock_irq = site(F_unlock_irqrestore, 0, 'smp_store_release(&lock->locked, 0)', 'store-release lock = 0');
const S_irq_point = site(F_unlock_irqrestore, 0, 'local_irq_restore(flags); preempt_enable();', 'pending interrupt or reschedule taken');
const S_preempt_point = site(F_unlock, 0, 'preempt_enable();', 'reschedule taken');
const S_mutex_lock = site(F_mutex_lock, 0, '__mutex_trylock_fast(lock) || __mutex_lock_slowpath(lock)', 'mutex_lock');
const S_mutex_unlock = site(F_mutex_unlock, 0, '__mutex_unlock_fast(lock) || __mutex_unlock_slowpath(lock, _RET_IP_)', 'mutex_unlock');

function* spin_acquire(io: Port, lock: number, trySite: number): KGen {
  io.m.spinDebugLock(io, lock);
  for (;;) {
    const old = yield io.cmpxchg(lock, 0, 1, trySite);
    if (old === 0) break;
    io.enter(F_slowpath);
    for (;;) {
      const v = yield io.load(lock, ORD_ACQUIRE, S_spin);
      if (v === 0) break;
      yield io.op(OP_RELAX, S_relax);
    }
    io.leave();
  }
  io.m.spinOwned(io, lock);
}

/** raw_spin_lock_irqsave(): returns flags */
export function* raw_spin_lock_irqsave(io: Port, lock: number, line: number): KGen<number> {
  io.enter(F_lock_irqsave, line);
  const flags = io.local_irq_save();
  io.preempt_disable();
  yield spin_acquire(io, lock, S_try_irq);
  io.leave();
  return flags;
}

export function* raw_spin_unlock_irqrestore(io: Port, lock: number, flags: number, line: number): KGen {
  io.enter(F_unlock_irqrestore, line);
  io.m.spinDebugUnlock(io, lock);
  yield io.store(lock, 0, ORD_RELEASE, S_unlock_irq);
  io.local_irq_restore(flags);
  io.preempt_enable();
  // Interrupts back on and preempt_count back to 0: a pending interrupt is taken
  // here (x86 recognises it right after popf) and preempt_enable() may reschedule.
  // One step, only when something is pending, so a lock dropped and retaken at
  // once does not hide this window from the scheduler.
  if (io.m.interruptPoint(io)) yield io.op(OP_NOP, S_irq_point);
  io.leave();
}

export function* raw_spin_lock(io: Port, lock: number, line: number): KGen {
  io.enter(F_lock, line);
  io.preempt_disable();
  yield spin_acquire(io, lock, S_try);
  io.leave();
}

export function* raw_spin_unlock(io: Port, lock: number, line: number): KGen {
  io.enter(F_unlock, line);
  io.m.spinDebugUnlock(io, lock);
  yield io.store(lock, 0, ORD_RELEASE, S_unlock);
  io.preempt_enable();
  if (io.m.interruptPoint(io)) yield io.op(OP_NOP, S_preempt_point);
  io.leave();
}

/**
 * mutex_lock(): might_sleep(), then take the lock or sleep as a waiter.
 * Ownership is handed to the first waiter on unlock (as MUTEX_FLAG_HANDOFF does),
 * so a woken waiter owns the lock when it returns from schedule().
 */
export function* mutex_lock(io: Port, lock: number, line: number): KGen {
  io.enter(F_mutex_lock, line);
  io.m.mightSleep(io, F_mutex_lock.file);
  while (!(yield io.op(OP_MUTEX_LOCK, S_mutex_lock, 0, lock))) {
    yield schedule(io);
  }
  io.leave();
}

export function* mutex_unlock(io: Port, lock: number, line: number): KGen {
  io.enter(F_mutex_unlock, line);
  yield io.op(OP_MUTEX_UNLOCK, S_mutex_unlock, 0, lock);
  io.leave();
}
