// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * bin/hazsim and the hunt workers load a bundle of the sources
 * (src/cli/bundle-cache.mjs), not TypeScript through a loader: the bundle must
 * run the same model, so a worker's run gives the same schedule digest as the
 * same run in-process, and must know the checkout it came from.
 * A bundle removed by another run is made again; bundles of other sources
 * (another checkout sharing node_modules) are removed only when a day old.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleOf } from '../src/cli/bundle-cache.mjs';
import { ROOT } from '../src/cli/root.ts';
import { describe, expect, it } from 'vitest';
import { bundlePath, pruneBundles, startWorker } from '../src/cli/workers.ts';
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

  it('a bundle removed after it was made (by a run of another checkout) is made again', () => {
    const p = bundlePath(ENTRY)!;
    expect(existsSync(p)).toBe(true);
    // what another checkout's hunt did before bundles of other keys were kept: the file is gone, this process still names it
    const aside = `${p}.${process.pid}.aside`;
    renameSync(p, aside);
    try {
      expect(bundlePath(ENTRY)).toBe(p);
      expect(existsSync(p)).toBe(true);
    } finally {
      rmSync(aside, { force: true });
    }
  });

  it('other bundles of the entry are removed only when a day old', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hazsim-bundles-'));
    try {
      const day = 24 * 3600;
      const now = Date.now();
      for (const n of ['hunt-worker-mine.mjs', 'hunt-worker-fresh.mjs', 'hunt-worker-old.mjs', 'mutants-worker-old.mjs']) writeFileSync(join(dir, n), '');
      for (const n of ['hunt-worker-old.mjs', 'mutants-worker-old.mjs', 'hunt-worker-mine.mjs']) utimesSync(join(dir, n), now / 1000 - 2 * day, now / 1000 - 2 * day);
      pruneBundles(dir, 'hunt-worker-', join(dir, 'hunt-worker-mine.mjs'), now);
      expect(readdirSync(dir).sort()).toEqual(['hunt-worker-fresh.mjs', 'hunt-worker-mine.mjs', 'mutants-worker-old.mjs']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bin/hazsim runs the CLI from a bundle that knows its checkout: the replay line it prints, and its hunt workers', () => {
    const bundle = bundleOf(ROOT, join(ROOT, 'src/cli/index.ts'));
    expect(bundle).toMatch(/node_modules\/\.cache\/hazsim\/index-[0-9a-f]{16}\.mjs$/);
    expect(readFileSync(bundle!, 'utf8')).toContain(`var ROOT = true ? ${JSON.stringify(ROOT)}`);
    // started from elsewhere: the paths it prints and the workers it starts are the checkout's, not the cache's
    const r = spawnSync(join(ROOT, 'bin/hazsim'), ['hunt', join(ROOT, 'scenarios/cross-task-handoff.yaml'), '--seeds', '1..2', '--jobs', '2'], { cwd: tmpdir(), encoding: 'utf8' });
    expect(r.stderr).not.toContain('.cache');
    expect(r.stdout).toContain('general-protection-fault');
    expect(r.stdout).toMatch(/replay:\n +\S*bin\/hazsim run \S+cross-task-handoff\.yaml --seed 1\n/);
    expect(r.status).toBe(1);
  });

  it('bin/hazsim runs from a checkout whose path holds # (the bundle is imported by URL, not by path)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hazsim#x-'));
    try {
      mkdirSync(join(dir, 'bin'));
      copyFileSync(join(ROOT, 'bin/hazsim'), join(dir, 'bin/hazsim'));
      chmodSync(join(dir, 'bin/hazsim'), 0o755);
      for (const f of ['src', 'node_modules', 'package.json', 'tsconfig.json', 'scenarios']) symlinkSync(join(ROOT, f), join(dir, f));
      const r = spawnSync(join(dir, 'bin/hazsim'), ['run', 'scenarios/same-task-release.yaml', '--steps', '2000', '--quiet'], { cwd: dir, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('no bug');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
