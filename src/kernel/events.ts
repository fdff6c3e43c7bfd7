// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The timer queue: a binary min-heap ordered by (time, insertion order), so
 * events due at the same nanosecond fire in a deterministic order.
 */

export const EV_WAKE = 1; // a sleeping task's timer (a = task id, b = sleep token)
export const EV_BUSY_END = 2; // a CPU's udelay() is over (a = cpu)
export const EV_IRQ = 3; // a periodic interrupt fires (a = irq index)
export const EV_HUNG_CHECK = 4; // khungtaskd wakes up
export const EV_CALLBACK = 5; // a machine-level timer callback (a = index)

export interface TimerEvent {
  at: number;
  seq: number;
  type: number;
  a: number;
  b: number;
}

export class EventQueue {
  private heap: TimerEvent[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  get nextAt(): number {
    return this.heap.length ? this.heap[0].at : Infinity;
  }

  /** The earliest time of an event of another type than `type` (a scan: for rare callers). */
  nextAtExcept(type: number): number {
    let t = Infinity;
    for (const e of this.heap) if (e.type !== type && e.at < t) t = e.at;
    return t;
  }

  push(at: number, type: number, a: number, b = 0): void {
    const h = this.heap;
    const e: TimerEvent = { at, seq: this.seq++, type, a, b };
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  pop(): TimerEvent {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(x: TimerEvent, y: TimerEvent): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}
