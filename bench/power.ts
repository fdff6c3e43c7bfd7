// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * npm run bench:power: how fast each search finds each bug. For each workload
 * and strategy (uniform random; PCT at depth 1, 2, 3), R disjoint seed ranges
 * are run in seed order until the first report (any report: a fault, KASAN, a
 * WARN, a lockup) or until the range's budget of seeds is spent; the table gives
 * the median wall time and the median number of seeds to that first report, and
 * how many ranges found one. Then `explore` (bounded exhaustive search) on the
 * handoff scenario and on a correct-use scenario.
 *
 * The workloads are issue 10's: the cross-task handoff scenario; hazptrtorture
 * with the module's defaults and the reviewers' boot arguments (onoff_interval
 * 3333, stat_interval 15; docs/findings.md §0), PREEMPT and NOPREEMPT; and
 * the deferral-only NOPREEMPT configuration (3 CPUs, defer_modulus 4,
 * kthread_do_pending_ms 1, no irq acquire/release, reader_sleep_us 5).
 *
 * A benchmark, not a test: wall times vary with the machine and its load;
 * seeds-to-first-report do not (they are fixed by the seeds).
 * `npm run bench:power -- --quick` runs fewer ranges and smaller budgets;
 * `-- --sampling` only the random/PCT table, `-- --explore` only explore's.
 */
import { performance } from 'node:perf_hooks';
import { loadScenario, parseScenario } from '../src/scenario/load.ts';
import { runScenario, type Search } from '../src/scenario/run.ts';
import type { Scenario } from '../src/scenario/schema.ts';
import { explore } from '../src/scenario/explore.ts';

const quick = process.argv.includes('--quick');
/** --sampling: only the random/PCT table; --explore: only the explore table */
const only = process.argv.includes('--sampling') ? 'sampling' : process.argv.includes('--explore') ? 'explore' : null;

interface Workload {
  name: string;
  scenario: Scenario;
  /** steps per seed (the run's budget) */
  steps: number;
  /** seeds per range before giving up */
  seeds: number;
}

const torture = (preempt: 'full' | 'none', cpus: number, params: string) => `
name: power
machine: { cpus: ${cpus}, preempt: ${preempt}, kasan: false, step_ns: 100 }
hazptr: v5
hazptrtorture: { torture_type: hazptr${params} }
`;

/** the reviewers' boot arguments (hazptrtorture.onoff_interval=3333 hazptrtorture.stat_interval=15); every other parameter the module's default */
const BOOTARGS = ', onoff_interval: 3333, stat_interval: 15';

const workloads: Workload[] = [
  { name: 'cross-task handoff', scenario: loadScenario('scenarios/cross-task-handoff.yaml'), steps: 200_000, seeds: 200 },
  { name: 'torture, module defaults, PREEMPT', scenario: parseScenario(torture('full', 4, BOOTARGS), 'power-preempt'), steps: 6_000_000, seeds: quick ? 3 : 6 },
  { name: 'torture, module defaults, NOPREEMPT', scenario: parseScenario(torture('none', 4, BOOTARGS), 'power-nopreempt'), steps: 6_000_000, seeds: quick ? 3 : 6 },
  {
    name: 'torture, deferral only, NOPREEMPT',
    scenario: parseScenario(torture('none', 3, ', defer_modulus: 4, kthread_do_pending_ms: 1, irq_acquire: 0, irq_release: 0, reader_sleep_us: 5'), 'power-deferral'),
    steps: 5_000_000,
    seeds: quick ? 2 : 4,
  },
];

const strategies: { name: string; search?: (w: Workload) => Search }[] = [
  { name: 'random' },
  ...[1, 2, 3].map((d) => ({ name: `pct d=${d}`, search: (w: Workload): Search => ({ strategy: 'pct', depth: d, expected: w.steps }) })),
];

const RANGES = quick ? 3 : 5;
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const rows: string[][] = [];
for (const w of only === 'explore' ? [] : workloads) {
  for (const st of strategies) {
    const times: number[] = [];
    const counts: number[] = [];
    let found = 0;
    const sigs = new Set<string>();
    for (let r = 0; r < RANGES; r++) {
      const t0 = performance.now();
      let n = 0;
      for (let seed = 1000 * r + 1; seed <= 1000 * r + w.seeds; seed++) {
        n++;
        const res = runScenario(w.scenario, { seed, maxSteps: w.steps, record: false, search: st.search?.(w) });
        if (res.bug) {
          found++;
          sigs.add(res.bug.signature);
          break;
        }
      }
      times.push((performance.now() - t0) / 1000);
      counts.push(n);
    }
    const row = [w.name, st.name, `${found}/${RANGES}`, found ? `${median(times).toFixed(2)} s` : `none (${median(times).toFixed(1)} s)`, found ? String(median(counts)) : `> ${w.seeds}`, [...sigs].map((s) => s.split(' | ')[0]).join(', ') || '-'];
    rows.push(row);
    console.error(row.join(' | '));
  }
}

if (only !== 'explore') {
console.log(`search power (${RANGES} disjoint seed ranges per cell; a range runs seeds 1000r+1.. until the first report or its budget)\n`);
console.log('| workload | strategy | ranges with a report | median wall time to it | median seeds to it | reports |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log(`\nbudgets: ${workloads.map((w) => `${w.name}: ${w.seeds} seeds x ${w.steps.toLocaleString('en-US')} steps`).join('; ')}`);
}

/** explore (bounded exhaustive search) on the handoff race and on a correct use of the API: complete, and clean. */
const explores: { name: string; file: string; bound: number; steps?: number }[] = [
  { name: 'cross-task handoff, small (scenarios/explore/handoff-small.yaml)', file: 'scenarios/explore/handoff-small.yaml', bound: 1 },
  { name: 'cross-task handoff (scenarios/cross-task-handoff.yaml), --steps 3000', file: 'scenarios/cross-task-handoff.yaml', bound: 1, steps: 3000 },
  { name: 'correct use: same-task acquire/release (scenarios/explore/same-task-small.yaml)', file: 'scenarios/explore/same-task-small.yaml', bound: 2 },
];
if (only !== 'sampling') console.log('\nexplore (bounded exhaustive search, the partial-order reduction on, --max-schedules 10000)\n');
if (only !== 'sampling') console.log('| scenario | bound | schedules | complete | failing | first failure at bound | wall time |');
if (only !== 'sampling') console.log('|---|---|---|---|---|---|---|');
for (const e of only === 'sampling' ? [] : quick ? explores.filter((x) => !x.steps) : explores) {
  const t0 = performance.now();
  const r = explore(loadScenario(e.file), { bound: e.bound, maxSchedules: 10_000, seed: 1, maxSteps: e.steps });
  const dt = (performance.now() - t0) / 1000;
  const first = r.signatures.length ? Math.min(...r.signatures.map((x) => x.bound)) : null;
  console.log(`| ${e.name} | ${e.bound} | ${r.explored} (+${r.cut} cut short) | ${r.complete ? 'complete' : 'stopped at budget'} | ${r.failing} | ${first ?? '-'} | ${dt.toFixed(1)} s |`);
}
