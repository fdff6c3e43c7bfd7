// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The uniform-random strategy: every choice uniform over its options, except
 * preemption, which happens with probability `preemptRate` at each step where
 * the running task may be preempted, scaled by min(1, waiting weight / running
 * weight) so that a nice-0 task is seldom preempted for a nice-19 one, and
 * pick_next_task(), which draws in proportion to the candidates' CFS weights
 * (nice levels). Seeded through seedrandom; nothing else.
 */
import seedrandom from 'seedrandom';
import { D_PREEMPT, type Strategy } from './strategy.ts';

export class RandomStrategy implements Strategy {
  private readonly rng: () => number;

  constructor(seed: number, private readonly preemptRate: number) {
    this.rng = seedrandom.alea(`hazsim:${seed}`);
  }

  choose(kind: number, n: number, _options?: Int32Array, weights?: Int32Array): number {
    const r = this.rng();
    if (kind === D_PREEMPT) return r < this.preemptRate * (weights ? Math.min(1, weights[1] / weights[0]) : 1) ? 1 : 0;
    if (weights) {
      let total = 0;
      for (let i = 0; i < n; i++) total += weights[i];
      let x = r * total;
      for (let i = 0; i < n; i++) if ((x -= weights[i]) < 0) return i;
      return n - 1;
    }
    return Math.floor(r * n);
  }

  confirm(): void {}
}
