// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Hunt workers load a bundle of the sources (src/cli/workers.ts), not
 * TypeScript through a loader: the bundle must run the same model, so a
 * worker's run gives the same schedule digest as the same run in-process.
 */
import { describe, expect, it } from 'vitest';
import { bundlePath, startWorker } from '../src/cli/workers.ts';
import type { SeedResult } from '../src/cli/hunt-worker.ts';
import { loadScenario } from '../src/scenario/load.ts';
import { runScenario } from '../src/scenario/run.ts';

const ENTRY = new URL('../src/cli/hunt-worker.ts', import.meta.url);

describe('hunt workers', () => {
  it('run from a bundle, and a run there is the same run as in-process', async () => {
    expect(bundlePath(ENTRY)).toMatch(/node_modules\/\.cache\/hazsim\/hunt-worker-[0-9a-f]{16}\.mjs$/);
    const scenario = loadScenario('scenarios/hazptrtorture-preempt.yaml', undefined, { hazptr: 'v5-detach' });
    const steps = 150_000;
    const w = startWorker(ENTRY, { scenario, steps });
    const got = await new Promise<SeedResult>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.postMessage(7);
    });
    await w.terminate();
    const here = runScenario(scenario, { seed: 7, maxSteps: steps, record: false });
    expect(got.steps).toBe(here.steps);
    expect(got.digest).toBe(here.scheduleDigest);
  });
});
