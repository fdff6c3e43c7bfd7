// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A hunt worker (worker_threads): given the scenario the main thread loaded, runs each seed
 * it is sent and posts back the result as plain data.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runScenario, type Search } from '../scenario/run.ts';
import type { Scenario } from '../scenario/schema.ts';

export interface SeedResult {
  seed: number;
  outcome: string;
  kind: string | null;
  signature: string | null;
  headline: string | null;
  steps: number;
  /** the run's schedule digest (tests compare it with the same run in-process) */
  digest: string;
}

/** The scenario as the main thread loaded and checked it (plain data), so a worker loads no parser. */
export interface HuntWorkerData {
  scenario: Scenario;
  steps?: number;
  search?: Search;
}

const { scenario, steps, search } = workerData as HuntWorkerData;
parentPort!.on('message', (seed: number | null) => {
  if (seed === null) {
    parentPort!.close();
    return;
  }
  const r = runScenario(scenario, { seed, maxSteps: steps, record: false, search }); // a worker keeps nothing of a seed but its result
  const res: SeedResult = { seed, outcome: r.outcome, kind: r.bug?.kind ?? null, signature: r.bug?.signature ?? null, headline: r.bug?.headline ?? null, steps: r.steps, digest: r.scheduleDigest };
  parentPort!.postMessage(res);
});
