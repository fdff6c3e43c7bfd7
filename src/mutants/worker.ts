// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A `hazsim mutants` worker (worker_threads): loads the battery of one version
 * once, then runs each mutant it is sent (null: the control) and posts back
 * the result as plain data.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { versions } from '../hazptr/index.ts';
import { battery } from './battery.ts';
import { runMutant, type Budget } from './run.ts';

const { version, budget } = workerData as { version: string; budget: Budget };
const entries = battery(version);
const byName = new Map(versions[version].mutants.map((m) => [m.name, m]));
parentPort!.on('message', (name: string | null | undefined) => {
  if (name === undefined) {
    parentPort!.close();
    return;
  }
  parentPort!.postMessage(runMutant(entries, name === null ? null : byName.get(name)!, budget));
});
