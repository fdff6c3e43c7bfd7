// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The uniform-random strategy: every choice uniform over its options, except
 * preemption, which happens with probability `preemptRate` at each step where
 * the running task may be preempted, scaled by min(1, waiting weight / running
 * weight) so that a nice-0 task is seldom preempted for a nice-19 one, and
 * pick_next_task(), which draws in proportion to the candidates' CFS weights
 * (nice levels), and how long the oldest store of a buffer stays there (D_DRAIN,
 * x86-TSO): geometric, as if it drained with probability `drainRate` before
 * each machine step, so about 1/drainRate steps. Seeded through seedrandom;
 * nothing else.
 * A run's drain rate is the scenario's `machine.drain_rate` or,
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
  /** ln(1 - drainRate): a delay is floor(ln(u) / this) */
  private readonly logStay: number;

  constructor(seed: number, private readonly preemptRate: number, readonly drainRate = seedDrainRate(seed)) {
    this.rng = seedrandom.alea(`hazsim:${seed}`);
    this.logStay = Math.log(1 - drainRate);
  }

  choose(kind: number, n: number, _options?: Int32Array, weights?: Int32Array): number {
    const r = this.rng();
    if (kind === D_PREEMPT) return r < this.preemptRate * (weights ? Math.min(1, weights[1] / weights[0]) : 1) ? 1 : 0;
    if (kind === D_DRAIN) {
      if (this.drainRate >= 1) return 0;
      const d = Math.floor(Math.log(1 - r) / this.logStay);
      return d < n ? d : n - 1;
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
