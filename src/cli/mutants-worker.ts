// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A `hazsim mutants` worker (worker_threads): loads the battery of one version
 * once, then runs each mutant it is sent (null: the control) and posts back
 * the result as plain data. The wall clock of --seconds-per-mutant is kept
 * here, in the CLI layer.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { versions } from '../hazptr/index.ts';
import { BATTERY_DIR, battery } from '../mutants/battery.ts';
import { fromCwd } from './root.ts';
import { runMutant, type Budget } from '../mutants/run.ts';
import type { MemoryModel } from '../kernel/tso.ts';

const { version, budget, memoryModel } = workerData as { version: string; budget: Budget; memoryModel?: MemoryModel };
const entries = battery(version, fromCwd(BATTERY_DIR), memoryModel); // the same paths as the main thread's
const byName = new Map(versions[version].mutants.map((m) => [m.name, m]));
parentPort!.on('message', (name: string | null | undefined) => {
  if (name === undefined) {
    parentPort!.close();
    return;
  }
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const r = runMutant(entries, name === null ? null : byName.get(name)!, budget.runs, () => seconds() >= budget.seconds);
  parentPort!.postMessage({ ...r, seconds: seconds() });
});
