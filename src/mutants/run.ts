// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Run one mutant (or, as the control, the unmodified version) against the
 * battery until a run reports anything or the budget is spent.
 *
 * The order is fixed: seed 1 on every battery entry, then seed 2 on every
 * entry, and so on; so "killed by" is the first kill in that order, the same on
 * any machine and with any number of jobs (jobs run different mutants). The
 * budget is a number of runs (--runs-per-mutant: deterministic) and wall-clock
 * seconds (--seconds-per-mutant: how long a user waits); whichever ends first.
 */
import { performance } from 'node:perf_hooks';
import { runScenario } from '../scenario/run.ts';
import type { BatteryEntry } from './battery.ts';

export interface KilledBy {
  file: string;
  seed: number;
  steps: number;
  signature: string;
}

export interface MutantResult {
  /** the mutant's name; null for the control (the version unmodified) */
  mutant: string | null;
  killedBy: KilledBy | null;
  runs: number;
  steps: number;
  seconds: number;
  /** why the search stopped without a kill */
  budget?: 'runs' | 'seconds';
}

export interface Budget {
  seconds: number;
  runs: number;
}

export function runMutant(entries: BatteryEntry[], mutant: { name: string; id: number } | null, budget: Budget): MutantResult {
  const t0 = performance.now();
  let runs = 0;
  let steps = 0;
  const seconds = () => (performance.now() - t0) / 1000;
  for (let seed = 1; ; seed++) {
    for (const e of entries) {
      if (runs >= budget.runs) return { mutant: mutant?.name ?? null, killedBy: null, runs, steps, seconds: seconds(), budget: 'runs' };
      if (seconds() >= budget.seconds) return { mutant: mutant?.name ?? null, killedBy: null, runs, steps, seconds: seconds(), budget: 'seconds' };
      const r = runScenario(e.scenario, { seed, ...(mutant ? { mutant: mutant.id } : {}) });
      runs++;
      steps += r.steps;
      if (r.bug) return { mutant: mutant?.name ?? null, killedBy: { file: e.file, seed, steps: r.steps, signature: r.bug.signature }, runs, steps, seconds: seconds() };
    }
  }
}
