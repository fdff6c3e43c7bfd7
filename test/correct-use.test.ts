// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Correct use of v5 (acquire and release in the same task) stays clean over
 * 1,000 seeds per preempt model, 2 to 4 CPUs, with sleeps, preemption and
 * migration: and the runs really did preempt and migrate.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../src/scenario/load.ts';
import { runScenario } from '../src/scenario/run.ts';

function scenario(cpus: number, preempt: 'full' | 'none') {
  return parseScenario(`
name: correct use, ${cpus} CPUs, ${preempt}
machine: { cpus: ${cpus}, preempt: ${preempt}, kasan: true, preempt_rate: 0.05 }
objects: [gp, gq]
tasks:
  - name: reader0
    contexts: { c0: stack, c1: static }
    repeat: 6
    program:
      - acquire: c0
      - { acquire: { ctx: c1, from: gq } }
      - deref: c0
      - { sleep_us: 3 }
      - deref: c1
      - release: c1
      - { spin: 3 }
      - release: c0
  - name: reader1
    contexts: { c0: stack }
    repeat: 6
    program: [ { acquire: c0 }, { spin: 5 }, cond_resched, { deref: c0 }, { release: c0 }, { sleep_us: 1 } ]
  - name: reader2
    contexts: { c0: static, c1: static, c2: static, c3: static, c4: static }
    repeat: 3
    program: [ { acquire: c0 }, { acquire: c1 }, { acquire: c2 }, { acquire: c3 }, { acquire: c4 }, { deref: c4 }, { sleep_us: 2 },
               { release: c4 }, { release: c3 }, { release: c2 }, { release: c1 }, { release: c0 } ]
  - name: writer
    repeat: 6
    program: [ { update: gp }, { sleep_us: 2 }, { update: gq } ]
`, `correct-use-${cpus}-${preempt}.yaml`);
}

describe('correct use is clean', () => {
  for (const preempt of ['full', 'none'] as const) {
    it(`1,000 seeds, preempt: ${preempt}, 2-4 CPUs`, () => {
      const sc = [2, 3, 4].map((c) => scenario(c, preempt));
      let preemptions = 0, migrations = 0, switches = 0;
      const failures: string[] = [];
      for (let seed = 0; seed < 1000; seed++) {
        const r = runScenario(sc[seed % 3], { seed });
        if (r.bug || r.outcome !== 'done') failures.push(`seed ${seed}: ${r.outcome} ${r.bug?.signature ?? ''}`);
        preemptions += r.stats.preemptions;
        migrations += r.stats.migrations;
        switches += r.stats.switches;
      }
      expect(failures).toEqual([]);
      expect(switches).toBeGreaterThan(10_000);
      expect(migrations).toBeGreaterThan(100);
      if (preempt === 'full') expect(preemptions).toBeGreaterThan(100);
      else expect(preemptions).toBe(0);
    });
  }
});
