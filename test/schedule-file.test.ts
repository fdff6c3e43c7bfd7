// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Replay files: v2 (what every writer writes) round-trips through replay to the
 * same run; v1 files still replay; an edited decision or run stops the replay
 * naming it; a malformed line is a one-line error naming file:line:col.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.ts';
import { parseScenario } from '../src/scenario/load.ts';
import { runScenario, siteKey } from '../src/scenario/run.ts';
import { K_DEFAULT } from '../src/sched/defaults.ts';
import { parseScheduleText, readScheduleFile, scheduleTextChunks } from '../src/sched/schedule-file.ts';
import { DECISION_NAMES } from '../src/sched/strategy.ts';

const dir = mkdtempSync(join(tmpdir(), 'hazsim-schedfile-'));
const HANDOFF = 'scenarios/cross-task-handoff.yaml';
const summary = (out: string) => out.split('\n').filter((l) => /^hazsim: (.* after \d+ steps|signature:)/.test(l)).join('\n');
/** How many decisions the decision lines before line `upto` (0-based) of a v2 file stand for. */
const decisionsBefore = (lines: string[], upto: number) =>
  lines.slice(0, upto).reduce((a, l) => a + (/^= (\d+)/.exec(l) ? Number(/^= (\d+)/.exec(l)![1]) : /^[cpkwrd]\d+\//.test(l) ? 1 : 0), 0);

describe('replay files (v2)', () => {
  const f = join(dir, 'h1.sched');
  let saved: { out: string; text: string };

  it('run --save-schedule writes v2, and replay runs it to the same run, decisions and digest', async () => {
    const a = await cli(['run', HANDOFF, '--seed', '1', '--save-schedule', f, '--quiet']);
    expect(a.code).toBe(1);
    const text = readFileSync(f, 'utf8');
    saved = { out: a.out, text };
    expect(text.split('\n')[0]).toBe('# hazsim schedule v2');
    expect(text).toMatch(/^# seed: 1$/m);
    expect(text).toMatch(/^task \d+ acquirer\/100$/m);
    expect(text).toMatch(/^site \d+ \S+:/m);
    expect(text).toMatch(/^c\d\/2 t\d+$/m);
    expect(text).toMatch(/^= \d+$/m);
    expect(text).toMatch(/^d\d+\/1024 @\d t\d+ s\d+$/m);
    const b = await cli(['replay', HANDOFF, f, '--quiet']);
    expect(b.code).toBe(1);
    expect(summary(b.out)).toBe(summary(a.out));
    expect(summary(b.out)).toMatch(/decisions, schedule [0-9a-f]{8}\)/);
    // a replay saved again writes the same file
    const g = join(dir, 'h1-again.sched');
    await cli(['replay', HANDOFF, f, '--quiet', '--save-schedule', g]);
    expect(readFileSync(g, 'utf8')).toBe(text);
  });

  it('runs of defaults are checked: a long run carries ~check, and another check stops the replay', async () => {
    const s = runScenario(parseScenario(readFileSync(HANDOFF, 'utf8'), HANDOFF), { seed: 7, record: true });
    const text = [...scheduleTextChunks(s.schedule, { seed: '7' }, (t) => s.tasks[t], siteKey)].join('');
    const lines = text.split('\n');
    const i = lines.findIndex((l) => /^= \d+ ~[0-9a-f]{4}$/.test(l));
    expect(i).toBeGreaterThan(0);
    const first = decisionsBefore(lines, i);
    const count = Number(lines[i].split(' ')[1]);
    lines[i] = lines[i].replace(/~([0-9a-f]{4})$/, (_, c: string) => `~${((parseInt(c, 16) + 1) & 0xffff).toString(16).padStart(4, '0')}`);
    const g = join(dir, 'bad-check.sched');
    writeFileSync(g, lines.join('\n'));
    const r = await cli(['replay', HANDOFF, g, '--seed', '7']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`replay stopped: decisions #${first}\\.\\.#${first + count - 1} \\(= ${count} ~[0-9a-f]{4}\\): the run asked for other kinds of decisions`));
    // without the check the run replays
    writeFileSync(g, lines.map((l, j) => (j === i ? l.replace(/ ~.*/, '') : l)).join('\n'));
    const ok = await cli(['replay', HANDOFF, g]);
    expect(ok.err).not.toContain('replay stopped');
    expect([0, 1]).toContain(ok.code);
  });

  it('an edited CPU decision stops the replay, naming it; --on-divergence continue goes on', async () => {
    const lines = saved.text.split('\n');
    const i = lines.findIndex((l, j) => /^c0\/2 t\d+$/.test(l) && decisionsBefore(lines, j) > 30);
    const n = decisionsBefore(lines, i);
    lines[i] = lines[i].replace(/^c0/, 'c1');
    const g = join(dir, 'h1-edited.sched');
    writeFileSync(g, lines.join('\n'));
    const r = await cli(['replay', HANDOFF, g]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`^hazsim: ${g}: replay stopped: decision #${n} \\(cpu1 of 2\\): recorded at cpu1 \\S+/\\d+ -, but now leads to cpu1 `));
    const c = await cli(['replay', HANDOFF, g, '--on-divergence', 'continue']);
    expect(c.err).toMatch(new RegExp(`decision #${n} .*continuing under the seeded strategy`));
  });

  it('a divergence names both sides alike: CPU, comm/pid and site, as the file does (torture kthreads share a comm)', async () => {
    const T = 'scenarios/hazptrtorture-preempt.yaml';
    const s = runScenario(parseScenario(readFileSync(T, 'utf8'), T), { seed: 1, record: true, maxSteps: 5000 });
    const lines = [...scheduleTextChunks(s.schedule, { seed: '1' }, (t) => s.tasks[t], siteKey)].join('').split('\n');
    // the first pick of the next task, taken the other way
    const i = lines.findIndex((l) => /^k1\/2 @\d t\d+$/.test(l));
    expect(i).toBeGreaterThan(0);
    const n = decisionsBefore(lines, i);
    lines[i] = lines[i].replace(/^k1/, 'k0');
    const g = join(dir, 'torture-pick.sched');
    writeFileSync(g, lines.join('\n'));
    const r = await cli(['replay', T, g]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n').at(-1)).toBe(`hazsim: ${g}: replay stopped: decision #${n} (pick 0/2): recorded at cpu0 hazptr_torture_/104 -, but now leads to cpu0 hazptr_torture_/100 -`);
  });

  it('a v1 file still replays', async () => {
    const s = runScenario(parseScenario(readFileSync(HANDOFF, 'utf8'), HANDOFF), { seed: 1, record: true });
    const sc = s.schedule;
    const v1 = ['# hazsim schedule v1', `# scenario: ${HANDOFF}`, '# seed: 1', `# decisions: ${sc.length}`];
    for (let i = 0; i < sc.length; i++) {
      v1.push(`${i} ${DECISION_NAMES[sc.kind[i]]} ${sc.chosen[i]}/${sc.n[i]} ${sc.cpu[i] >= 0 ? `@cpu${sc.cpu[i]}` : '@-'} ${sc.task[i] >= 0 ? s.tasks[sc.task[i]] : '-'} ${sc.site[i] >= 0 ? siteKey(sc.site[i]) : '-'}`);
    }
    const g = join(dir, 'h1-v1.sched');
    writeFileSync(g, v1.join('\n') + '\n');
    expect(parseScheduleText(readFileSync(g, 'utf8'), g).version).toBe(1);
    const r = await cli(['replay', HANDOFF, g, '--quiet']);
    expect(r.code).toBe(1);
    expect(summary(r.out)).toBe(summary(saved.out));
  });

  it('a malformed line is a one-line error naming file:line:col (exit 2)', async () => {
    const head = saved.text.split('\n').filter((l) => l.startsWith('#') || l.startsWith('task ') || l.startsWith('site ')).join('\n');
    const ln = head.split('\n').length + 1;
    const cases: [string, string][] = [
      ['c0/2 t0\nq1/2', `${ln + 1}:1: cannot read 'q1/2': expected a decision`],
      ['p2/2 @0 t0 s0', `${ln}:2: choice 2 is not below 2`],
      ['c0/2 t99', `${ln}:6: task 99 is not named above (task 99 comm/pid)`],
      ['d0/1024 @0 t0 x5', `${ln}:15: cannot read 'x5': expected @<cpu>, t<task> or s<site>`],
      ['c1/2 @1', `${ln}:6: cannot read '@1': expected t<task> or s<site> (a CPU decision's CPU is its number)`],
      ['= 0', `${ln}:3: expected '= <count>', a number of default decisions (1 or more)`],
      ['= 5 ~12', `${ln}:5: after '= 5' only a check, '~' and four hex digits, may follow`],
      ['task 0 again/1', `${ln}:6: task 0 is named twice`],
    ];
    for (const [body, msg] of cases) {
      const g = join(dir, 'malformed.sched');
      writeFileSync(g, `${head}\n${body}\n`);
      const r = await cli(['replay', HANDOFF, g]);
      expect(r.code).toBe(2);
      expect(r.err.split('\n')).toHaveLength(1);
      expect(r.err).toContain(`hazsim: ${g}:${msg}`);
    }
    const g = join(dir, 'not.sched');
    writeFileSync(g, '# hazsim schedule v3\n');
    expect((await cli(['replay', HANDOFF, g])).err).toBe(`hazsim: ${g}:1:1: not a hazsim schedule (the first line must be '# hazsim schedule v2', or v1)`);
    writeFileSync(g, '# hazsim schedule v2\n# scenario: x.yaml\n# seed: 1x\nc0/2\n');
    expect((await cli(['replay', HANDOFF, g])).err).toBe(`hazsim: ${g}:3:1: seed: '1x' is not an integer (the defaults' rands are drawn from it)`);
  });
});

describe('reading replay files', () => {
  it('a file of more than one piece reads line by line, a line cut between pieces included', () => {
    const g = join(dir, 'long.sched');
    const body: string[] = ['# hazsim schedule v2', '# seed: 3', 'task 0 a_task/100', 'task 1 b_task/101'];
    // about 1.4 MB: lines cross the first 1 MiB piece of the reader
    const N = 120_000;
    for (let i = 0; i < N; i++) body.push(`c${i % 2}/2 t${i % 2}`, `= ${(i % 7) + 1}`);
    writeFileSync(g, body.join('\n'));
    const sf = readScheduleFile(g);
    expect(sf.version).toBe(2);
    expect(sf.header.seed).toBe('3');
    expect(sf.tasks).toEqual(['a_task/100', 'b_task/101']);
    let n = 0;
    for (let i = 0; i < N; i++) n += 1 + (i % 7) + 1;
    expect(sf.schedule.length).toBe(n);
    // the last CPU decision: c1/2 t1 (N - 1 is odd), before a run of (N - 1) % 7 + 1 defaults
    const last = n - (((N - 1) % 7) + 1) - 1;
    expect([sf.schedule.cpu[last], sf.schedule.task[last], sf.schedule.kind[last + 1]]).toEqual([1, 1, K_DEFAULT]);
  });
});
