// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Runs that cannot end by themselves (stall.ts, loop-proof.ts): an endless loop
 * on memory only its CPU sees is proven and the clock moved to what can end it
 * (the soft-lockup watchdog's check, khungtaskd's, the next timer); with nothing
 * that can, an endless-loop report. A loop that is not memory-driven is not
 * fast-forwarded and ends as 'stalled at budget', which neither run nor hunt
 * counts as clean. A counted loop of identical steps is not declared endless.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, run, text } from './helpers.ts';

const selfWait = (preempt: string) => `
name: self wait
machine: { cpus: 2, preempt: ${preempt}, lockdep: false }
objects: [gp]
tasks:
  - name: selfwait
    contexts: { c0: stack }
    program: [ { acquire: c0 }, { update: gp }, { release: c0 } ]
`;

// c0 acquired twice with a schedule() after each: the second hazptr_note_context_switch()
// chains the backup slot that is already chained, a self-loop on CPU 0's overflow list
// (scenarios/overflow-self-loop.yaml). A static ctx: the node outlives "twice" (a stack one
// would be a KASAN stack-use-after-return once it exits).
const chainedTwice = (preempt: string) => `
name: chained twice
machine: { cpus: 2, preempt: ${preempt} }
objects: [gp, gq]
tasks:
  - name: twice
    cpu: 0
    pinned: true
    contexts: { c0: static }
    program: [ { acquire: c0 }, schedule, { acquire: c0 }, schedule, { sleep_us: 100000 } ]
  - name: writer
    cpu: 1
    pinned: true
    program: [ { sleep_us: 5 }, { update: gq } ]
`;

const STALLED = `name: stalled spinner
machine: { cpus: 1, preempt: none }
limits: { steps: 200000 }
tasks:
  - name: spinner
    program: [ preempt_disable, { spin: 1000000 }, preempt_enable ]
`;

const log = (r: ReturnType<typeof run>) => r.log.map((l) => l.text).join('\n');
/** Machine.stats.skippedNs: simulated time the endless-loop proof jumped over (RunResult's stats type does not list it) */
const skipped = (r: ReturnType<typeof run>) => (r.stats as { skippedNs?: number }).skippedNs;

describe('an endless loop on memory only its CPU sees', () => {
  it('PREEMPT_NONE: hazptr_synchronize() waiting on its own hazard pointer is fast-forwarded to the soft lockup at 24 s', () => {
    const r = run(selfWait('none'), 1);
    expect(r.bug?.kind).toBe('soft-lockup');
    expect(r.bug?.headline).toBe('watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [selfwait:100]');
    expect(r.simNs).toBe(24e9); // kernel/watchdog.c: the first 4 s sample after get_timestamp() passed 20 (2^30 ns units)
    expect(skipped(r)).toBeGreaterThan(23.9e9);
    // 24 s of 10 ns steps would be 2.4e9 steps; the proof needs two quiet probe periods and one probe
    expect(r.steps).toBeLessThan(200_000);
    expect(r.bug?.rip?.fn).toBe('hazptr_synchronize_cpu_slots');
    expect(log(r)).toMatch(/hazsim: endless loop: CPU0 selfwait\/100 in hazptr_synchronize_cpu_slots \(2 steps\): .*clock advanced 23\.99\d+ s to the soft-lockup watchdog's check on CPU0/);
  });

  it('PREEMPT(full): the same loop is preemptible and no timer is pending, so it is an endless-loop report', () => {
    const r = run(selfWait('full'), 1);
    expect(r.bug?.kind).toBe('endless-loop');
    expect(r.bug?.headline).toBe('hazsim: endless loop on CPU0 in hazptr_synchronize_cpu_slots');
    expect(skipped(r)).toBe(0);
    expect(r.simNs).toBeLessThan(0.01e9);
    expect(r.bug?.pre.join('\n')).toContain('neither the soft-lockup watchdog nor khungtaskd would ever report it');
  });

  it('a ctx chained twice (a self-loop): PREEMPT_NONE soft lockup in the writer\'s hazptr_synchronize_overflow_list', () => {
    const r = run(chainedTwice('none'), 1);
    expect(r.bug?.kind).toBe('soft-lockup');
    expect(r.bug?.headline).toBe('watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [writer:101]');
    expect(r.simNs).toBe(24e9);
    expect(r.bug?.trace.map((e) => e.fn)).toContain('hazptr_synchronize_overflow_list');
    // first to the sleeper's timer (0.1 s), then, with nothing left to wake, to the watchdog
    expect(log(r)).toMatch(/in hazptr_synchronize_overflow_list \(5 steps\): .* to the next timer\n(.|\n)*in hazptr_synchronize_overflow_list \(5 steps\): .* to the soft-lockup watchdog's check on CPU1/);
  });

  it('a ctx chained twice: PREEMPT(full) endless-loop report', () => {
    const r = run(chainedTwice('full'), 1);
    expect(r.bug?.kind).toBe('endless-loop');
    expect(r.bug?.headline).toBe('hazsim: endless loop on CPU1 in hazptr_synchronize_overflow_list');
    expect(r.bug?.cpu).toBe(1);
  });

  it('a task blocked on a mutex the looping task holds: the jump reaches khungtaskd', () => {
    const r = run(`
name: hung behind a loop
machine: { cpus: 2, preempt: full, lockdep: false }
objects: [gp]
tasks:
  - name: selfwait
    contexts: { c0: stack }
    program: [ { lock: m }, { acquire: c0 }, { update: gp }, { release: c0 }, { unlock: m } ]
  - name: other
    program: [ { sleep_us: 10 }, { lock: m }, { unlock: m } ]
`, 1);
    expect(r.bug?.kind).toBe('hung-task');
    expect(r.bug?.headline).toBe('INFO: task other:101 blocked for more than 120 seconds.');
    expect(r.simNs).toBe(180e9); // khungtaskd checks every 60 s: the first check at least 120 s after it blocked
    expect(log(r)).toContain("clock advanced 179.998607 s to khungtaskd's check");
  });

  it('the same seed twice: the same schedule and the same report', () => {
    const a = run(chainedTwice('none'), 2);
    const b = run(chainedTwice('none'), 2);
    expect(a.bug?.kind).toBe('soft-lockup');
    expect(b.scheduleDigest).toBe(a.scheduleDigest);
    expect(b.steps).toBe(a.steps);
    expect(text(b)).toBe(text(a));
  });
});

describe('loops that are not proven endless', () => {
  const counted = [
    {
      // 300,000 identical loads: long enough for the machine to probe it (every 65,536 steps)
      title: 'a counted loop of identical steps (deref) inside preempt_disable finishes normally',
      objects: '[gp]',
      program: '[ { acquire: c0 }, preempt_disable, { loop: { times: 300000, do: [ { deref: c0 } ] } }, preempt_enable, { release: c0 } ]',
      steps: 300_000,
    },
    {
      // every step is in _raw_spin_lock/_raw_spin_unlock on the same lock word, but the loop is hazsim_kthread's
      title: 'a counted loop around spinlock calls (memory-driven steps, a counting frame) finishes normally',
      objects: '[]',
      program: '[ preempt_disable, { loop: { times: 100000, do: [ { spin_lock: l }, { spin_unlock: l } ] } }, preempt_enable ]',
      steps: 200_000,
    },
  ];
  for (const c of counted) {
    it(c.title, () => {
      const r = run(`
name: counted
machine: { cpus: 1, preempt: none }
objects: ${c.objects}
tasks:
  - { name: counter, contexts: { c0: stack }, program: ${c.program} }
`, 1);
      expect(r.bug).toBeNull();
      expect(r.outcome).toBe('done');
      expect(skipped(r)).toBe(0);
      expect(r.steps).toBeGreaterThan(c.steps);
    });
  }

  it('a spin that is not memory-driven is not fast-forwarded: stalled at budget', () => {
    const r = run(STALLED, 1);
    expect(r.bug?.kind).toBe('stalled-at-budget');
    expect(r.bug?.headline).toBe('hazsim: step budget exhausted while CPU0 spins in hazsim_kthread (no scheduling point since 0.000000)');
    expect(r.steps).toBe(200_000);
    expect(skipped(r)).toBe(0);
  });

  describe('through the CLI', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hazsim-stall-'));
    const file = join(dir, 'stalled.yaml');
    writeFileSync(file, STALLED);
    // in-process (./bin/hazsim passes main()'s exit code on as the process's: test/cli-ux.test.ts runs it)
    const hazsim = async (...args: string[]) => {
      const r = await cli([...args, '--no-color']);
      return { status: r.code, stdout: r.out };
    };
    it('hazsim run: exit code 1, --json outcome stalled', async () => {
      const plain = await cli(['run', file, '--seed', '1', '--quiet', '--no-color']);
      expect(plain.code).toBe(1);
      expect(plain.out).toContain('hazsim: stalled-at-budget after 200000 steps');
      const json = await hazsim('run', file, '--seed', '1', '--json');
      expect(json.status).toBe(1);
      const o = JSON.parse(json.stdout);
      expect(o.outcome).toBe('stalled');
      expect(o.bug.kind).toBe('stalled-at-budget');
      expect(o.bug.headline).toBe('hazsim: step budget exhausted while CPU0 spins in hazsim_kthread (no scheduling point since 0.000000)');
    });

    it('hazsim hunt: stalled seeds are not counted clean, exit code 1', async () => {
      const h = await hazsim('hunt', file, '--seeds', '1..3', '--jobs', '1');
      expect(h.status).toBe(1);
      const m = /hazsim: 3 seeds, (\d+) failing/.exec(h.stdout);
      expect(m, h.stdout).not.toBeNull();
      expect(Number(m![1])).toBe(3);
      // src/cli/hunt.ts: counted apart from the bugs, under their own heading, with where they spin
      expect(h.stdout).toContain('hazsim: 3 seeds, 3 failing (3 stalled at budget), 0 signatures');
      expect(h.stdout).toMatch(/^stalled at budget \(.*not clean, not proven.*\):\n  count  first seed  where it spins\n +3 +1  hazsim_kthread < kthread$/m);
    });
  });
});
