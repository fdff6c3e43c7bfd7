// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * npm run bench: simulated steps per second on a standard scenario, and in the
 * same process the speed of a bare generator ping-pong doing no work (the
 * floor any generator-based engine pays), so the ratio shows the engine's cost.
 * The standard scenario runs under both memory models: x86-TSO (the default:
 * store buffers, drain decisions) and SC, and the cost of TSO is their ratio.
 * The engine's floor (every step a NOP, no hazptr code) shows what a step
 * costs before the code between two yields.
 * Runs keep no decision log and no ring of their last steps, as the runs of
 * `hazsim hunt` and `hazsim mutants` (`hazsim run` keeps the ring for its story).
 * A benchmark, not a test: numbers vary with the machine and its load.
 */
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import { parseScenario } from '../src/scenario/load.ts';
import { runScenario } from '../src/scenario/run.ts';

const STANDARD = `
name: bench (same-task release, 4 CPUs, 4 readers, 1 writer)
machine: { cpus: 4, preempt: full, kasan: true }
limits: { steps: 3000000 }
objects: [gp]
tasks:
${[0, 1, 2, 3].map((i) => `  - name: reader${i}
    contexts: { c0: stack }
    repeat: 10000000
    program: [ { acquire: c0 }, { deref: c0 }, { spin: 5 }, { release: c0 } ]`).join('\n')}
  - name: writer
    repeat: 10000000
    program: [ { update: gp }, { sleep_us: 2 } ]
`;

/** The engine's own floor: the same machine, every step a NOP (spin), no hazptr code, no stores. */
const FLOOR = `
name: bench floor (4 CPUs, 4 tasks spinning)
machine: { cpus: 4, preempt: full, kasan: true }
limits: { steps: 3000000 }
tasks:
${[0, 1, 2, 3].map((i) => `  - name: spinner${i}
    repeat: 10000000
    program: [ { spin: 1000 } ]`).join('\n')}
`;

function pingPong(n: number): number {
  const reg = { kind: 0, addr: 0 };
  function* g(): Generator<typeof reg, void, number> {
    for (;;) {
      reg.kind = 1;
      reg.addr++;
      yield reg;
    }
  }
  const gens = [g(), g(), g(), g()];
  let v = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = gens[i & 3].next(v);
    v = (r.value as typeof reg).kind;
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Steps per second, best of 3 seeds, under one memory model; the runs interleave models so load hits both alike. */
const models = ['tso', 'sc'] as const;
const scenarios = models.map((mm) => parseScenario(STANDARD, 'bench', undefined, { memoryModel: mm }));
for (const s of scenarios) runScenario(s, { seed: 0, maxSteps: 300000, record: false }); // warm-up
const best: number[][] = [[], []];
// the bare ping-pong is timed between the scenario's runs, not after them: this machine's speed drifts
// by up to 2x within minutes, and a ratio of two bests taken at different moments would measure the drift
const bares: number[] = [];
pingPong(1_000_000);
for (let rep = 0; rep < 3; rep++) {
  for (let k = 0; k < 2; k++) {
    bares.push(pingPong(5_000_000));
    const t0 = performance.now();
    const r = runScenario(scenarios[k], { seed: rep + 1, record: false });
    const dt = (performance.now() - t0) / 1000;
    best[k].push(r.steps / dt);
  }
}
bares.push(pingPong(5_000_000));
const floorScenario = parseScenario(FLOOR, 'bench-floor');
runScenario(floorScenario, { seed: 0, maxSteps: 300000, record: false });
const floorBest: number[] = [];
for (let rep = 0; rep < 3; rep++) {
  const t0 = performance.now();
  const r = runScenario(floorScenario, { seed: rep + 1, record: false });
  floorBest.push(r.steps / ((performance.now() - t0) / 1000));
}
const bare = Math.max(...bares);
const [sps, spsSc] = best.map((b) => Math.max(...b));
console.log(`machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, node ${process.version}`);
console.log(`standard scenario (4 CPUs, 4 readers + writer, 3,000,000 steps): ${Math.round(sps)} steps/s under tso (best of 3), ${Math.round(spsSc)} under sc: tso costs ${(spsSc / sps).toFixed(2)}x sc`);
const floor = Math.max(...floorBest);
console.log(`engine floor (the same machine, 4 CPUs, every step a NOP): ${Math.round(floor)} steps/s (best of 3): ${(1e9 / floor).toFixed(0)} ns a step, against ${(1e9 / sps).toFixed(0)} ns (tso) and ${(1e9 / spsSc).toFixed(0)} ns (sc) on the standard scenario`);
console.log(`bare generator ping-pong: ${Math.round(bare)} resumes/s (best of 7, timed between the standard scenario's runs)`);
console.log(`ratio engine/bare: ${(sps / bare).toFixed(3)} (the engine runs at ${(100 * sps / bare).toFixed(1)}% of a do-nothing generator loop)`);
