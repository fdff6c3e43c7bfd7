// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A hunt worker (worker_threads): loads the scenario once, then runs each seed
 * it is sent and posts back the result as plain data.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadScenario, type Overrides } from '../scenario/load.ts';
import { runScenario } from '../scenario/run.ts';
import { searchOf } from './options.ts';

export interface SeedResult {
  seed: number;
  outcome: string;
  kind: string | null;
  signature: string | null;
  headline: string | null;
  steps: number;
}

const { file, bootarg, steps, over } = workerData as { file: string; bootarg?: string; steps?: number; over?: Overrides };
const scenario = loadScenario(file, bootarg, over);
const search = searchOf(over ?? {});
parentPort!.on('message', (seed: number | null) => {
  if (seed === null) {
    parentPort!.close();
    return;
  }
  const r = runScenario(scenario, { seed, maxSteps: steps, record: false, search }); // a worker keeps nothing of a seed but its result
  const res: SeedResult = { seed, outcome: r.outcome, kind: r.bug?.kind ?? null, signature: r.bug?.signature ?? null, headline: r.bug?.headline ?? null, steps: r.steps };
  parentPort!.postMessage(res);
});
