// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The uniform-random strategy: every choice uniform over its options, except
 * preemption, which happens with probability `preemptRate` at each step where
 * the running task may be preempted, scaled by min(1, waiting weight / running
 * weight) so that a nice-0 task is seldom preempted for a nice-19 one, and
 * pick_next_task(), which draws in proportion to the candidates' CFS weights
 * (nice levels), and a store buffer's drain (D_DRAIN, x86-TSO), which happens to
 * each CPU's buffer with probability `drainRate` before each step. Seeded
 * through seedrandom; nothing else.
 *
 * The drain rate sets how long a store stays buffered: about 1/drainRate steps
 * of the whole machine. A run's rate is the scenario's `machine.drain_rate` or,
 * when it gives none, drawn once per seed from 1/2, 1/4, ... 1/64 (swarm
 * testing, Groce et al., ISSTA 2012: one rate per run explores both quick
 * drains and stores that sit in a buffer across a whole scan).
 */
import seedrandom from 'seedrandom';
import { D_DRAIN, D_PREEMPT, type Strategy } from './strategy.ts';

/** The drain rate a seed runs with when the scenario sets none: 2^-1 .. 2^-6. */
export function seedDrainRate(seed: number): number {
  return 2 ** -(1 + Math.floor(seedrandom.alea(`hazsim-drain:${seed}`)() * 6));
}

export class RandomStrategy implements Strategy {
  private readonly rng: () => number;
  /** per number k of buffers holding stores: the probability that none drains now, (1 - drainRate)^k */
  private readonly noDrain: number[] = [1];

  constructor(seed: number, private readonly preemptRate: number, readonly drainRate = seedDrainRate(seed)) {
    this.rng = seedrandom.alea(`hazsim:${seed}`);
  }

  choose(kind: number, n: number, _options?: Int32Array, weights?: Int32Array): number {
    const r = this.rng();
    if (kind === D_PREEMPT) return r < this.preemptRate * (weights ? Math.min(1, weights[1] / weights[0]) : 1) ? 1 : 0;
    if (kind === D_DRAIN) {
      const k = n - 1;
      while (this.noDrain.length <= k) this.noDrain.push((1 - this.drainRate) ** this.noDrain.length);
      const p0 = this.noDrain[k];
      return r < p0 ? 0 : Math.min(k, 1 + Math.floor(((r - p0) / (1 - p0)) * k));
    }
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
