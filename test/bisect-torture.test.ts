// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * bisect on a torture seed (its own file: it is the longest test, and vitest
 * runs files in parallel).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'hazsim-bisect-'));
// the PREEMPT torture scenario with 1 us steps, so that the run to the GPF is ten times shorter
const TORTURE = join(dir, 'preempt-1us.yaml');
writeFileSync(TORTURE, readFileSync('scenarios/hazptrtorture-preempt.yaml', 'utf8').replace('step_ns: 100 }', 'step_ns: 1000 }'));
const prefix = (out: string) => {
  const m = /hazsim: bisect: (\d+) switch points -> (\d+) \((\d+) -> (\d+) decisions; shortest failing prefix (\d+);/.exec(out)!;
  return { decisions: Number(m[3]), prefix: Number(m[5]) };
};

describe('bisect (torture)', () => {
  // With --max-runs 12 the delta pass cannot run on a 1 M-step torture run: what bisect shows
  // here is the prefix search (the fair completion after the prefix may switch more than the seed did)
  it('the torture GPF seed: same signature, a shorter failing prefix, the race in its story, a replay file that reproduces it', async () => {
    const f = join(dir, 't1.sched');
    const r = await cli(['bisect', TORTURE, '--seed', '1', '--max-runs', '12', '--out', f]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('hazsim: signature: general-protection-fault | hazptr_synchronize_overflow_list < hazptr_synchronize < hazptr_torture_writer < kthread');
    const p = prefix(r.out);
    expect(p.prefix).toBeLessThan(p.decisions);
    // the shrunk run still shows the race's traces: the release racing hazptr_note_context_switch()
    // in one of its two orders, or its consequence, the node chained twice
    expect(r.out).toMatch(/CHAINED TWICE|\(RACE: hazptr_torture_-\d+ on CPU\d is inside hazptr_note_context_switch\(\) for this ctx\)|\(RACE: (the IPI handler on CPU\d, interrupting )?hazptr_torture_-\d+(,| on CPU\d) cleared that per-CPU slot in hazptr_release\(\) at [\d.]+, inside this hazptr_note_context_switch\(\)\)/);
    expect(r.err).toMatch(/bisect: prefix search: \d+\.\.\d+ of \d+ decisions \(\d+ runs\)/);
    const replay = await cli(['replay', TORTURE, f, '--quiet']);
    expect(replay.code).toBe(1);
    expect(replay.out).toContain('hazptr_synchronize_overflow_list < hazptr_synchronize < hazptr_torture_writer < kthread');
    expect(readFileSync(f, 'utf8')).toMatch(/^# bisected: from \d+ decisions$/m);
  });

});
