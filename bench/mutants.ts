// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * npm run bench, part 3: the mutants. For each version with mutants, the
 * seconds to kill a mutant, median per class (killed ones only, in-process, one
 * thread, 5 s budget each; how many survived the 5 s is printed beside), and
 * seeds per second of the version unmodified on each torture configuration of
 * the battery (scenarios/mutants/torture-*.yaml). A benchmark, not a test.
 */
import { performance } from 'node:perf_hooks';
import { versionNames, versions } from '../src/hazptr/index.ts';
import { battery } from '../src/mutants/battery.ts';
import { runMutant } from '../src/mutants/run.ts';
import { runScenario } from '../src/scenario/run.ts';

const BUDGET_S = 5;
const TORTURE_SEEDS = 8;
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

for (const v of versionNames.filter((n) => versions[n].mutants.length)) {
  const entries = battery(v);
  const byClass = new Map<string, { killed: number[]; survived: number }>();
  for (const m of versions[v].mutants) {
    const t0 = performance.now();
    const seconds = () => (performance.now() - t0) / 1000;
    const r = runMutant(entries, m, Infinity, () => seconds() >= BUDGET_S);
    const c = byClass.get(m.cls) ?? { killed: [], survived: 0 };
    if (r.killedBy) c.killed.push(seconds());
    else c.survived++;
    byClass.set(m.cls, c);
  }
  const cls = [...byClass].map(([k, c]) => `${k} ${c.killed.length ? `${median(c.killed).toFixed(2)} s` : '-'} (${c.killed.length} killed, ${c.survived} survived ${BUDGET_S} s)`);
  console.log(`mutants ${v}: median seconds to kill, per class: ${cls.join('; ')}`);
  for (const e of entries.filter((x) => x.file.includes('/torture-'))) {
    const t0 = performance.now();
    let steps = 0;
    for (let seed = 1; seed <= TORTURE_SEEDS; seed++) steps += runScenario(e.scenario, { seed, record: false }).steps;
    const s = (performance.now() - t0) / 1000;
    console.log(`torture battery ${v} ${e.file}: ${(TORTURE_SEEDS / s).toFixed(2)} seeds/s (${TORTURE_SEEDS} seeds, ${Math.round(steps / s).toLocaleString('en')} steps/s)`);
  }
}
