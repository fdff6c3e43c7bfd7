/**
 * bisect on a torture seed (its own file: it is the longest test, and vitest
 * runs files in parallel).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'hazsim-bisect-'));
const switches = (out: string) => {
  const m = /hazsim: bisect: (\d+) switch points -> (\d+) \((\d+) -> (\d+) decisions/.exec(out)!;
  return { from: Number(m[1]), to: Number(m[2]) };
};

describe('bisect (torture)', () => {
  it('the torture GPF seed: same signature, fewer switch points, the race in its story, a replay file that reproduces it', async () => {
    const f = join(dir, 't1.sched');
    const r = await cli(['bisect', 'scenarios/hazptrtorture-preempt.yaml', '--seed', '1', '--max-runs', '12', '--out', f]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('hazsim: signature: general-protection-fault | hazptr_synchronize_overflow_list < hazptr_synchronize < hazptr_torture_writer < kthread');
    const s = switches(r.out);
    expect(s.to).toBeLessThan(s.from);
    // the shrunk run still shows the race's traces: the release racing hazptr_note_context_switch()
    // in one of its two orders, or its consequence, the node chained twice
    expect(r.out).toMatch(/CHAINED TWICE|\(RACE: hazptr_torture_-\d+ on CPU\d is inside hazptr_note_context_switch\(\) for this ctx\)|\(RACE: (the IPI handler on CPU\d, interrupting )?hazptr_torture_-\d+(,| on CPU\d) cleared that per-CPU slot in hazptr_release\(\) at [\d.]+, inside this hazptr_note_context_switch\(\)\)/);
    expect(r.err).toMatch(/bisect: prefix search: \d+\.\.\d+ of \d+ decisions \(\d+ runs\)/);
    const replay = await cli(['replay', 'scenarios/hazptrtorture-preempt.yaml', f, '--quiet']);
    expect(replay.code).toBe(1);
    expect(replay.out).toContain('hazptr_synchronize_overflow_list < hazptr_synchronize < hazptr_torture_writer < kthread');
    expect(readFileSync(f, 'utf8')).toMatch(/^# bisected: from \d+ decisions$/m);
  });

});
