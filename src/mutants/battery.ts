// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The battery `hazsim mutants` runs each mutant against: the workload
 * scenarios made for it (scenarios/mutants/*.yaml) and torture configurations
 * (scenarios/mutants/torture-*.yaml), all loaded for the version under test.
 *
 * A file whose name starts with a version's prefix (vd- v5-detach, wf-
 * wildcard-flip) belongs to that version alone and runs as it is written (its
 * `hazptr:` names the version, and debug if it wants CONFIG_HAZPTR_DEBUG). Any
 * other file is version-neutral: it runs on every version with mutants,
 * through --hazptr (keeping its debug setting if the version has one).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { versions } from '../hazptr/index.ts';
import { loadScenario } from '../scenario/load.ts';
import type { MemoryModel } from '../kernel/tso.ts';
import type { Scenario } from '../scenario/schema.ts';

export const BATTERY_DIR = 'scenarios/mutants';

/** The file-name prefix of the scenarios that belong to one version. */
export const PREFIX: Record<string, string> = { 'v5-detach': 'vd-', 'wildcard-flip': 'wf-' };

export interface BatteryEntry {
  file: string;
  scenario: Scenario;
}

/** The battery for a version, in the order every mutant runs it: workloads, then torture-*, each by name. */
export function battery(version: string, dir = BATTERY_DIR, memoryModel?: MemoryModel): BatteryEntry[] {
  const mm = memoryModel !== undefined ? { memoryModel } : {};
  const prefixes = Object.values(PREFIX);
  const mine = PREFIX[version];
  const out: BatteryEntry[] = [];
  // the workload scenarios first (short runs), then the torture configurations (torture-*)
  const order = (f: string) => `${f.startsWith('torture-') ? 1 : 0}${f}`;
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort((a, b) => (order(a) < order(b) ? -1 : 1))) {
    const own = prefixes.find((p) => name.startsWith(p));
    if (own && own !== mine) continue;
    const file = join(dir, name);
    let s = loadScenario(file, undefined, mm);
    if (s.hazptr !== version) s = loadScenario(file, undefined, { ...mm, hazptr: `${version}${s.hazptr_debug && versions[version].debug ? '+debug' : ''}` });
    out.push({ file, scenario: s });
  }
  return out;
}
