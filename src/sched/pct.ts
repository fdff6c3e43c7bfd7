// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
 * Nagarakatte, "A Randomized Scheduler with Probabilistic Guarantees of
 * Finding Bugs", ASPLOS 2010), over the machine's CPUs: each CPU gets a random
 * distinct priority d .. d+n-1; at each choice of which CPU steps (D_CPU) the
 * eligible CPU with the highest priority steps; change point i (i = 1 .. d-1)
 * is a choice drawn uniformly, independently of the others, among the first
 * `expected` CPU choices, and the CPU chosen there drops to priority i, below
 * every initial one. Change points keep their labels whatever their order in
 * time, as in the paper: a CPU demoted later may land above or below one
 * demoted earlier. A bug that needs d ordering
 * constraints between CPUs is found by one run with probability at least
 * 1 / (n * k^(d-1)) for n CPUs and k choices.
 *
 * Spinning: a CPU that busy-waits on another cannot get past a strict priority
 * order (PCT assumes no spin loops), and the strategy cannot tell a spin from
 * work. A CPU that has stepped SPIN_LIMIT times in a row while another CPU was
 * eligible is treated as yielding, as PCT implementations treat a yield: it
 * drops below every CPU for good, so another runs. On long runs this makes PCT
 * turn round-robin in turns of SPIN_LIMIT choices between change points.
 *
 * Every other decision (preemption, pick, wake CPU, workload random numbers,
 * store-buffer drains) is the random strategy's, from the same seed.
 */
import seedrandom from 'seedrandom';
import { RandomStrategy } from './random.ts';
import { D_CPU, type Strategy } from './strategy.ts';

/** Consecutive choices of one CPU, others eligible, after which it counts as yielding. */
export const SPIN_LIMIT = 1024;

export interface PctOptions {
  /** d: the bug depth PCT targets (d - 1 priority change points), 1 or more */
  depth: number;
  /** k: over how many CPU choices the change points are spread */
  expected: number;
}

export class PctStrategy implements Strategy {
  private readonly inner: RandomStrategy;
  private readonly prio: number[];
  /** change points: [the CPU choice it falls on, its label i], by choice */
  private readonly changeAt: [number, number][];
  private nextChange = 0;
  private choices = 0;
  private last = -1;
  private run = 0;
  /** the next priority a yielding CPU gets: below everything so far (change points use 1 .. d-1) */
  private floor = 0;

  constructor(seed: number, ncpus: number, o: PctOptions, preemptRate: number, drainRate: number) {
    this.inner = new RandomStrategy(seed, preemptRate, drainRate);
    const rng = seedrandom.alea(`hazsim-pct:${seed}`);
    // a random permutation of d .. d+n-1
    const p = Array.from({ length: ncpus }, (_, i) => o.depth + i);
    for (let i = p.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [p[i], p[j]] = [p[j], p[i]];
    }
    this.prio = p;
    this.changeAt = Array.from({ length: Math.max(0, o.depth - 1) }, (_, i): [number, number] => [1 + Math.floor(rng() * Math.max(1, o.expected)), i + 1])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  }

  choose(kind: number, n: number, options?: Int32Array, weights?: Int32Array): number {
    if (kind !== D_CPU || !options) return this.inner.choose(kind, n, options, weights);
    this.choices++;
    let best = 0;
    for (let j = 1; j < n; j++) if (this.prio[options[j]] > this.prio[options[best]]) best = j;
    let cpu = options[best];
    if (cpu === this.last && n > 1 && ++this.run > SPIN_LIMIT) {
      // a spinning CPU yields: below every priority so far, so another eligible CPU steps
      this.prio[cpu] = this.floor--;
      best = 0;
      for (let j = 1; j < n; j++) if (this.prio[options[j]] > this.prio[options[best]]) best = j;
      cpu = options[best];
    }
    if (cpu !== this.last) {
      this.last = cpu;
      this.run = 1;
    }
    // change point i: the CPU chosen here drops to priority i, below every initial one
    while (this.nextChange < this.changeAt.length && this.changeAt[this.nextChange][0] <= this.choices) {
      this.prio[cpu] = this.changeAt[this.nextChange++][1];
    }
    return best;
  }

  confirm(): void {}
}
