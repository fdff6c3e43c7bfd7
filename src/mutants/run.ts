// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Run one mutant (or, as the control, the unmodified version) against the
 * battery until a run reports anything or the budget is spent.
 *
 * The order is fixed: seed 1 on every battery entry, then seed 2 on every
 * entry, and so on; so "killed by" is the first kill in that order, the same on
 * any machine and with any number of jobs (jobs run different mutants). The
 * budget is a number of runs (--runs-per-mutant: deterministic) and, through
 * `timeUp`, wall-clock seconds (--seconds-per-mutant): the clock is the
 * caller's (the CLI's worker, the bench), never the simulation's.
 */
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
  /** wall-clock seconds, filled in by the caller that owns the clock */
  seconds: number;
  /** why the search stopped without a kill */
  budget?: 'runs' | 'seconds';
}

export interface Budget {
  seconds: number;
  runs: number;
}

/** `timeUp()`: asked before each run; true ends the search (budget 'seconds'). */
export function runMutant(entries: BatteryEntry[], mutant: { name: string; id: number } | null, runsBudget: number, timeUp: () => boolean): MutantResult {
  let runs = 0;
  let steps = 0;
  const name = mutant?.name ?? null;
  for (let seed = 1; ; seed++) {
    for (const e of entries) {
      if (runs >= runsBudget) return { mutant: name, killedBy: null, runs, steps, seconds: 0, budget: 'runs' };
      if (timeUp()) return { mutant: name, killedBy: null, runs, steps, seconds: 0, budget: 'seconds' };
      const r = runScenario(e.scenario, { seed, record: false, ...(mutant ? { mutant: mutant.id } : {}) });
      runs++;
      steps += r.steps;
      if (r.bug) return { mutant: name, killedBy: { file: e.file, seed, steps: r.steps, signature: r.bug.signature }, runs, steps, seconds: 0 };
    }
  }
}
