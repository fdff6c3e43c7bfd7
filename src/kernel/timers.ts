// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Simulated time: the event queue's producers (periodic interrupts, machine
 * timers) and its consumer, which the step loop calls when the next event is
 * due or no CPU can step.
 */
import { EV_BUSY_END, EV_CALLBACK, EV_HUNG_CHECK, EV_IRQ, EV_WAKE } from './events.ts';
import type { Machine } from './machine.ts';
import { wake } from './runqueue.ts';
import type { IrqSpec } from './smp.ts';
import { deadlock, hungTaskCheck } from './watchdogs.ts';

/** A periodic interrupt on one CPU, first raised at simulated time `periodNs`. */
export function addIrq(m: Machine, spec: IrqSpec): void {
  m.irqs.push(spec);
  m.events.push(spec.periodNs, EV_IRQ, m.irqs.length - 1);
  m.syncNextEvent();
}

/** A callback at simulated time `at` (machine-level timers, no task involved). */
export function addTimer(m: Machine, at: number, fn: () => void): void {
  m.callbacks.push(fn);
  m.events.push(at, EV_CALLBACK, m.callbacks.length - 1);
  m.syncNextEvent();
}

/** No CPU can step: stop if every task exited, report a deadlock if nothing will ever change, else jump to the next event. */
export function advanceIdle(m: Machine): void {
  if (m.live === 0) {
    m.stopped = true;
    m.endReason = 'done';
    return;
  }
  if (m.progressEvents === 0 && m.cpus.every((c) => c.busyUntil <= m.now)) {
    deadlock(m);
    return;
  }
  m.now = Math.max(m.now, m.events.nextAt);
  fireEvents(m);
}

export function fireEvents(m: Machine): void {
  if (m.now > m.cfg.maxTimeNs) {
    m.stopped = true;
    m.endReason = 'time';
    return;
  }
  while (m.events.size && m.events.nextAt <= m.now && !m.stopped) {
    const e = m.events.pop();
    m.firedEvents++;
    switch (e.type) {
      case EV_WAKE: {
        m.progressEvents--;
        const t = m.tasks[e.a];
        if (t.sleepToken === e.b && t.blockedOn === 'sleep') wake(m, t);
        break;
      }
      case EV_BUSY_END:
        m.progressEvents--;
        m.eligDirty = true;
        break;
      case EV_IRQ: {
        const irq = m.irqs[e.a];
        m.cpus[irq.cpu].irqPending |= 1 << e.a;
        m.eligDirty = true;
        if (m.live > 0) m.events.push(e.at + irq.periodNs, EV_IRQ, e.a);
        break;
      }
      case EV_CALLBACK:
        m.callbacks[e.a]();
        break;
      case EV_HUNG_CHECK:
        hungTaskCheck(m);
        if (m.stopped) return;
        m.events.push(e.at + m.cfg.hungTaskNs / 2, EV_HUNG_CHECK, 0);
        break;
    }
  }
  m.syncNextEvent();
}
