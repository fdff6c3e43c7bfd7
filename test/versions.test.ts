// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Choosing a hazptr version (issue 8): `hazsim versions`, `--hazptr NAME[+debug]`
 * on run, and a CONFIG_HAZPTR_DEBUG WARN as the kernel prints a WARN_ONCE: once
 * per boot, on the console where it happens, the run going on after it, the
 * reports after it tainted 'W'.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/index.ts';
import { parseScenario } from '../src/scenario/load.ts';
import { runScenario } from '../src/scenario/run.ts';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false, exitCode: 0 });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** acquire in one task, release in another, on one CPU: no writer, nothing breaks */
const ONE_CPU = `
name: remote-task release on one CPU
machine: { cpus: 1, preempt: full, kasan: true }
hazptr: { version: v5-detach, debug: true }
objects: [gp]
tasks:
  - name: acquirer
    contexts: { c0: static }
    repeat: 5
    program: [{ acquire: c0 }, { deref: c0 }, { handoff: { ctx: c0, to: releaser } }]
  - name: releaser
    repeat: 5
    program: [{ receive: held }, { deref: held }, { release: held }]
`;

describe('hazsim versions and --hazptr', () => {
  it('lists every version, and each debug build as NAME+debug, one line each', async () => {
    const r = await cli(['versions']);
    expect(r.code).toBe(0);
    const names = r.out.split('\n').map((l) => l.split(/\s+/)[0]);
    expect(names).toEqual(expect.arrayContaining(['v5', 'v5-detach', 'v5-detach+debug']));
    expect(r.out).toMatch(/^v5 +the patch as posted/m);
  });

  it('--hazptr replaces the scenario version; a bad name or +debug on a version without it is exit 2, one line', async () => {
    const s = parseScenario(ONE_CPU, 'one.yaml', undefined, { hazptr: 'v5-detach' });
    expect([s.hazptr, s.hazptr_debug]).toEqual(['v5-detach', undefined]);
    expect(runScenario(s, { seed: 1 }).bug).toBeNull(); // without DEBUG nothing checks the release
    for (const [name, msg] of [['v6', /--hazptr: unknown hazptr version 'v6'/], ['v5+debug', /--hazptr: hazptr version 'v5' has no CONFIG_HAZPTR_DEBUG/]] as const) {
      const r = await cli(['run', 'scenarios/cross-task-handoff.yaml', '--hazptr', name]);
      expect(r.code).toBe(2);
      expect(r.err.split('\n')).toHaveLength(1);
      expect(r.err).toMatch(msg);
    }
    const r = await cli(['run', 'scenarios/cross-task-handoff-detach.yaml', '--hazptr', 'v5']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cross-task-handoff-detach.yaml:\d+:\d+: .*detach: hazptr version 'v5' has no hazptr_detach\(\)/);
  });
});

describe('a CONFIG_HAZPTR_DEBUG WARN', () => {
  it('is printed once per boot where it happens, and the run goes on to its end (exit 1, its own signature)', async () => {
    const s = parseScenario(ONE_CPU, 'one.yaml');
    const res = runScenario(s, { seed: 1 });
    expect(res.outcome).toBe('done'); // went on: every task exited
    expect(res.fatal).toBeNull();
    expect(res.warnings).toHaveLength(1); // five remote releases, one WARN_ONCE
    expect(res.bug?.signature).toBe('hazptr-debug-remote-release | hazptr_release_debug < hazptr_release < hazsim_kthread < kthread');
    const text = res.log.map((l) => l.text);
    const at = text.indexOf('------------[ cut here ]------------');
    expect(text.slice(at, at + 6)).toEqual([
      '------------[ cut here ]------------',
      expect.stringMatching(/^Hazard Pointer \(addr=[0-9a-f]{16}\) released on remote task without being detached from task\. Acquire: caller=hazsim_kthread, pid=100, cpu=0\. Release: pid=101, cpu=0\.$/),
      'WARNING: include/linux/hazptr.h:225 at hazsim_kthread, CPU#0: releaser/101',
      'Modules linked in:',
      'CPU: 0 UID: 0 PID: 101 Comm: releaser Not tainted 7.0.0-rc1-hazsim #1 PREEMPT(full)',
      'Hardware name: hazsim deterministic SMP model, seed 1',
    ]);
    expect(text.filter((l) => l === '---[ end trace 0000000000000000 ]---')).toHaveLength(1);
  });

  it('comes before the GPF it foretells, which is then printed tainted W', async () => {
    const r = await cli(['run', 'scenarios/cross-task-handoff.yaml', '--hazptr', 'v5-detach+debug', '--seed', '1']);
    expect(r.code).toBe(1);
    const warnAt = r.out.indexOf('WARNING: include/linux/hazptr.h:225 at hazsim_kthread, CPU#0: releaser/101');
    const gpfAt = r.out.indexOf('Oops: general protection fault');
    expect(warnAt).toBeGreaterThan(0);
    expect(gpfAt).toBeGreaterThan(warnAt);
    expect(r.out.slice(gpfAt)).toMatch(/\n\[ *[\d.]+\] CPU: 0 UID: 0 PID: 102 Comm: writer Tainted: G {8}W {11}7\.0\.0-rc1-hazsim #1 PREEMPT\(full\)\n\[ *[\d.]+\] Tainted: \[W\]=WARN\n/);
    expect(r.out).toMatch(/hazsim: WARNING hazptr-debug-remote-release at [\d.]+ s, then general-protection-fault after \d+ steps/);
    const j = JSON.parse((await cli(['run', 'scenarios/cross-task-handoff.yaml', '--hazptr', 'v5-detach+debug', '--seed', '1', '--json'])).out);
    expect([j.hazptr, j.outcome, j.bug.kind, j.fatal.kind, j.warnings.length]).toEqual(['v5-detach+debug', 'bug', 'hazptr-debug-remote-release', 'general-protection-fault', 1]);
  });
});
