// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The hazptrtorture controls: deferral, irq_acquire and irq_release off, so
 * every hazard pointer is released in the context that acquired it. Runs
 * --seeds seeds (default 2,000) in each of: preempt full/none x torture_type
 * hazptr/hazptr-stack, each with a budget of --steps steps, and reports any run
 * that ends in a report. Exit 1 if one did.
 *
 *   npx tsx scripts/controls.ts [--seeds 2000] [--steps 300000] [--jobs 2]
 *
 * Steps are 1 us (step_ns 1000): the readers find hazptr_torture_current NULL at
 * first and sleep HZ/10, so a run must pass 0.1 s of simulated time before they
 * hold hazard pointers at all; 300,000 steps give them 0.2 s.
 *
 * CI runs 6 seeds per configuration (test/torture.test.ts); this is the full sweep.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { cpus } from 'node:os';
import { parseScenario } from '../src/scenario/load.ts';
import { runScenario } from '../src/scenario/run.ts';

const CONFIGS = ['full/hazptr', 'full/hazptr-stack', 'none/hazptr', 'none/hazptr-stack'];

function scenario(cfg: string, steps: number) {
  const [preempt, type] = cfg.split('/');
  return parseScenario(`
name: control ${cfg}
machine: { cpus: 4, preempt: ${preempt}, kasan: true, step_ns: 1000 }
limits: { steps: ${steps} }
hazptrtorture: { torture_type: ${type}, defer_modulus: 0, kthread_do_pending_ms: 0, irq_acquire: 0, irq_release: 0, stat_interval: 1, shutdown_secs: 2 }
`, `control-${preempt}-${type}.yaml`);
}

if (!isMainThread) {
  const { cfg, seeds, steps } = workerData as { cfg: string; seeds: number[]; steps: number };
  const s = scenario(cfg, steps);
  for (const seed of seeds) {
    const r = runScenario(s, { seed });
    parentPort!.postMessage({ cfg, seed, outcome: r.outcome, signature: r.bug?.signature ?? null, steps: r.steps });
  }
} else {
  const arg = (name: string, def: number) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : def;
  };
  const nSeeds = arg('--seeds', 2000);
  const steps = arg('--steps', 300000);
  const jobs = arg('--jobs', cpus().length);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const t0 = Date.now();
  const results: { cfg: string; seed: number; outcome: string; signature: string | null; steps: number }[] = [];
  const tasks: { cfg: string; seeds: number[] }[] = [];
  for (const cfg of CONFIGS) for (let j = 0; j < jobs; j++) tasks.push({ cfg, seeds: Array.from({ length: nSeeds }, (_, i) => i).filter((i) => i % jobs === j) });
  let running = 0;
  await new Promise<void>((done) => {
    const next = () => {
      if (!tasks.length && running === 0) return done();
      while (running < jobs && tasks.length) {
        const t = tasks.shift()!;
        running++;
        // a worker does not inherit the tsx loader: register it, then load this file
        const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
        const w = new Worker(boot, { eval: true, workerData: { ...t, steps } });
        w.on('message', (m) => results.push(m));
        w.on('error', (e) => { console.error(e); process.exitCode = 2; });
        w.on('exit', () => { running--; next(); });
      }
    };
    next();
  });
  results.sort((a, b) => a.cfg.localeCompare(b.cfg) || a.seed - b.seed);
  const bad = results.filter((r) => r.signature);
  for (const cfg of CONFIGS) {
    const mine = results.filter((r) => r.cfg === cfg);
    console.log(`${cfg}: ${mine.length} seeds, ${mine.filter((r) => r.signature).length} reports, ${mine.reduce((a, r) => a + r.steps, 0)} steps`);
  }
  for (const b of bad) console.log(`REPORT ${b.cfg} seed ${b.seed}: ${b.signature}`);
  console.log(`${results.length} runs, ${bad.length} reports, ${((Date.now() - t0) / 1000).toFixed(0)} s with ${jobs} jobs`);
  if (results.length !== CONFIGS.length * nSeeds) {
    console.log(`ERROR: expected ${CONFIGS.length * nSeeds} runs`);
    process.exitCode = 2;
  } else if (bad.length) process.exitCode = 1;
}
