/**
 * The uniform-random strategy: every choice uniform over its options, except
 * preemption, which happens with probability `preemptRate` at each step where
 * the running task may be preempted. Seeded through seedrandom; nothing else.
 */
import seedrandom from 'seedrandom';
import { D_PREEMPT, type Strategy } from './strategy.ts';

export class RandomStrategy implements Strategy {
  private readonly rng: () => number;

  constructor(seed: number, private readonly preemptRate: number) {
    this.rng = seedrandom.alea(`hazsim:${seed}`);
  }

  choose(kind: number, n: number): number {
    const r = this.rng();
    if (kind === D_PREEMPT) return r < this.preemptRate ? 1 : 0;
    return Math.floor(r * n);
  }

  confirm(): void {}
}
