// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The strategy bisect uses: follow a recorded schedule for its first `prefix`
 * decisions, except those masked, then complete with a fixed deterministic
 * schedule. The completion (and a masked decision) is the *default* choice:
 *
 *  - which CPU steps: the one that stepped last, for up to QUANTUM steps, then
 *    the next eligible CPU in id order (round robin: fair, so a CPU spinning on
 *    another cannot starve it forever);
 *  - preemption: never; pick_next_task: the first candidate (prev if runnable);
 *    select_task_rq: the first online CPU;
 *  - a workload random number: from a generator seeded with the run's seed;
 *  - a buffered store (x86-TSO): drains at once (delay 0), so that only the
 *    delays a failure needs are left in a shrunk schedule.
 *
 * A recorded CPU choice is followed by CPU id, so it survives shifts in the
 * eligible set; other recorded choices are followed by index, clamped. A
 * recorded decision of another kind than asked for falls back to the default.
 */
import seedrandom from 'seedrandom';
import { Schedule } from './schedule.ts';
import { D_CPU, D_DRAIN, D_PREEMPT, D_RAND, type Strategy } from './strategy.ts';

export const QUANTUM = 64;

export class BisectStrategy implements Strategy {
  private i = 0;
  private lastCpu = -1;
  private runLen = 0;
  private readonly rng: () => number;

  constructor(
    private readonly rec: Schedule,
    private readonly prefix: number,
    private readonly mask: Uint8Array,
    seed: number,
  ) {
    this.rng = seedrandom.alea(`hazsim-bisect:${seed}`);
  }

  choose(kind: number, n: number, options?: Int32Array): number {
    const i = this.i++;
    let k = -1;
    if (i < this.prefix && !this.mask[i] && this.rec.kind[i] === kind) {
      if (kind === D_CPU && options) {
        const want = this.rec.cpu[i];
        for (let j = 0; j < n; j++) if (options[j] === want) k = j;
      } else if (this.rec.chosen[i] < n) k = this.rec.chosen[i];
    }
    if (k < 0) k = this.fallback(kind, n, options);
    if (kind === D_CPU && options) {
      const cpu = options[k];
      if (cpu === this.lastCpu) this.runLen++;
      else {
        this.lastCpu = cpu;
        this.runLen = 1;
      }
    }
    return k;
  }

  private fallback(kind: number, n: number, options?: Int32Array): number {
    switch (kind) {
      case D_CPU: {
        if (!options) return 0;
        let stay = -1;
        let next = -1;
        let first = 0;
        for (let j = 0; j < n; j++) {
          if (options[j] === this.lastCpu) stay = j;
          if (options[j] > this.lastCpu && (next < 0 || options[j] < options[next])) next = j;
          if (options[j] < options[first]) first = j;
        }
        if (stay >= 0 && this.runLen < QUANTUM) return stay;
        return next >= 0 ? next : first;
      }
      case D_PREEMPT:
        return 0;
      case D_RAND:
        return Math.floor(this.rng() * n);
      case D_DRAIN:
        return 0;
      default:
        return 0;
    }
  }

  confirm(): void {}
}

/**
 * What a schedule asks of the scheduler beyond the bisect completion: its
 * preemptions and its delayed store-buffer drains (x86-TSO: a store kept
 * buffered one step or more). The completion makes neither, so in a bisected
 * schedule every one is a recorded choice the failure still needed: an upper
 * bound on the race's depth.
 */
export function depthOf(s: Schedule): { preemptions: number; delayedDrains: number } {
  let preemptions = 0;
  let delayedDrains = 0;
  for (let i = 0; i < s.length; i++) {
    if (s.kind[i] === D_PREEMPT && s.chosen[i] === 1) preemptions++;
    else if (s.kind[i] === D_DRAIN && s.chosen[i] > 0) delayedDrains++;
  }
  return { preemptions, delayedDrains };
}

/** Decisions that make a schedule what it is: preemptions, and CPU switches (a step on another CPU than the last). */
export function switchPoints(s: Schedule): number[] {
  const out: number[] = [];
  let last = -1;
  for (let i = 0; i < s.length; i++) {
    if (s.kind[i] === D_PREEMPT && s.chosen[i] === 1) out.push(i);
    else if (s.kind[i] === D_CPU) {
      if (last >= 0 && s.cpu[i] !== last) out.push(i);
      last = s.cpu[i];
    }
  }
  return out;
}
