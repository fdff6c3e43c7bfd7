// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The torture module's helper kthreads and its other endings: CPU hotplug
 * (onoff_interval), torture_shuffle, the preempt kthread, the soft lockup of
 * do_pending under PREEMPT_NONE and the writer-stall check. (Split from
 * torture.test.ts so that the two files run on both test workers.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../src/scenario/load.ts';
import { runScenario } from '../src/scenario/run.ts';

describe('CPU hotplug (onoff_interval)', () => {
  it('CPUs go offline and come back, tasks migrate, the control stays clean and onoff: is counted', () => {
    const s = parseScenario(`
name: hotplug control
machine: { cpus: 4, preempt: full, kasan: true, step_ns: 1000 }
limits: { steps: 6000000 }
hazptrtorture: { defer_modulus: 0, kthread_do_pending_ms: 0, irq_acquire: 0, irq_release: 0, stat_interval: 1, shutdown_secs: 1, onoff_interval: 33 }
`, 'hotplug.yaml');
    // 1 s of the module: a dozen offline/online cycles (seed 1: 12), the statistics printed at 1 s and at the end
    const r = runScenario(s, { seed: 1 });
    expect(r.bug).toBeNull();
    expect(r.outcome).toBe('done');
    const log = r.log.map((l) => l.text).join('\n');
    const offlines = (log.match(/smpboot: CPU [123] is now offline/g) ?? []).length;
    expect(offlines).toBeGreaterThan(5);
    expect(log).not.toMatch(/CPU 0 is now offline/);
    const all = [...log.matchAll(/onoff: (\d+)\/(\d+):(\d+)\/(\d+) /g)];
    const m = all[all.length - 1]; // the final statistics
    expect(Number(m[3])).toBe(offlines); // offline successes
    expect(m[1]).toBe(m[2]); // every online attempt succeeded
    expect(log).toContain('End of test: SUCCESS');
  });
});

describe('other endings', () => {
  it('NOPREEMPT: hazptr_torture_do_pending() polls without a scheduling point (hazptrtorture.c:558 sleeps only when stopping): soft lockup', () => {
    // the shipped scenario with step_ns 1000 instead of 100, so that the 3.6 s take 3.6 M steps
    const text0 = readFileSync('scenarios/hazptrtorture-nopreempt-lockup.yaml', 'utf8').replace('step_ns: 100 }', 'step_ns: 1000 }');
    const r = runScenario(parseScenario(text0, 'lockup.yaml'), { seed: 1 });
    expect(r.bug?.signature).toBe('soft-lockup | llist_del_all < hazptr_torture_do_one_pending < hazptr_torture_do_pending < kthread');
    // kernel/watchdog.c with watchdog_thresh=1: reported at the 400 ms sample after 3 * 2^30 ns
    expect(r.bug?.headline).toMatch(/^watchdog: BUG: soft lockup - CPU#\d stuck for 3s! \[hazptr_torture_:\d+\]$/);
    expect(r.simNs).toBeGreaterThan(3.6e9);
    expect(r.simNs).toBeLessThan(3.6e9 + 1e4);
  });

  it('writer stall is not claimed when the writer just entered hazptr_synchronize() after a stutter pause', () => {
    // the module prints "??? Writer stall" whenever the version stood still since the last print, a
    // stutter pause included; hazsim reports a stall only if the writer sat in HTWS_SYNC the whole interval
    const s = parseScenario(`
name: stutter
machine: { cpus: 2, preempt: full, kasan: false, step_ns: 10000 }
hazptrtorture: { defer_modulus: 0, kthread_do_pending_ms: 0, irq_acquire: 0, irq_release: 0, stat_interval: 1, stutter: 2, shutdown_secs: 7 }
`, 'stutter.yaml');
    let inSync = 0;
    for (const seed of [1, 2, 3]) {
      const r = runScenario(s, { seed });
      expect(r.bug).toBeNull();
      const log = r.log.map((l) => l.text).join('\n');
      expect(log).toContain('??? Writer stall state '); // the module's own line, after a pause
      if (log.includes('??? Writer stall state HTWS_SYNC(3)')) inSync++; // the case a stall report needs more for
      expect(log).toContain('End of test: SUCCESS');
    }
    expect(inSync).toBeGreaterThan(0);
  });
});

describe('torture_shuffle (shuffle_interval)', () => {
  it('after the first shuffle no torture kthread runs on the idled CPU; before it, the run is unchanged', async () => {
    const { buildMachine } = await import('../src/scenario/workload.ts');
    const { RandomStrategy } = await import('../src/sched/random.ts');
    const yaml = (shuffle: number) => `
name: shuffle
machine: { cpus: 3, preempt: full, kasan: true, step_ns: 1000 }
limits: { steps: 8000000 }
hazptrtorture: { defer_modulus: 0, kthread_do_pending_ms: 0, irq_acquire: 0, irq_release: 0, stat_interval: 1, shutdown_secs: 4, shuffle_interval: ${shuffle} }
`;
    const at = (shuffle: number, ms: number) => {
      const s = parseScenario(yaml(shuffle), 'shuffle.yaml');
      const m = buildMachine(s, new RandomStrategy(2, s.machine.preempt_rate), { maxTimeNs: ms * 1e6 });
      m.run();
      return m;
    };
    const m = at(1, 1500); // the first shuffle idles CPU 0 at 1 s
    expect(m.endReason).toBe('time');
    expect(m.cpus[0].curr.isIdle).toBe(true);
    expect(m.cpus[0].rq.length).toBe(0);
    expect(m.tasks.filter((t) => !t.isIdle && !t.exited).every((t) => t.excludedCpu === 0)).toBe(true);
    // runs shorter than shuffle_interval are scheduled exactly as without shuffling (0.9 s: the readers
    // acquire from 0.1 s on, the statistics are not printed yet)
    expect(at(1, 900).schedule.digest()).toBe(at(60, 900).schedule.digest());
  });
});

describe('the preempt kthread (preempt_duration)', () => {
  it('takes the next online CPU every preempt_interval ms and holds it busy for preempt_duration ms', async () => {
    const { buildMachine } = await import('../src/scenario/workload.ts');
    const { RandomStrategy } = await import('../src/sched/random.ts');
    const { OP_UDELAY } = await import('../src/kernel/port.ts');
    const s = parseScenario(`
name: preempt kthread
machine: { cpus: 3, preempt: full, kasan: true, step_ns: 1000 }
limits: { steps: 8000000 }
hazptrtorture: { defer_modulus: 0, kthread_do_pending_ms: 0, irq_acquire: 0, irq_release: 0, stat_interval: 1, shutdown_secs: 1, preempt_duration: 10, preempt_interval: 100 }
`, 'preempt.yaml');
    const m = buildMachine(s, new RandomStrategy(1, s.machine.preempt_rate), { maxTimeNs: 650e6 });
    const preemptTask = m.tasks.length - 1; // spawned last
    expect(m.tasks[preemptTask].pid).toBeGreaterThan(m.tasks[preemptTask - 1].pid);
    const holds: number[] = [];
    m.tracer = (r) => {
      // one hold is several OP_UDELAY steps (the delay resumes after each interrupt): count each start once
      if (r.task === preemptTask && r.kind === OP_UDELAY && (holds.length === 0 || holds[holds.length - 1] !== r.cpu)) holds.push(r.cpu);
    };
    m.run();
    expect(m.bug).toBeNull();
    // about every 100 ms: CPU 0, 1, 2, 0, 1, 2
    expect(holds.length).toBeGreaterThanOrEqual(5);
    expect(holds.slice(0, 5)).toEqual([0, 1, 2, 0, 1]);
  });
});
