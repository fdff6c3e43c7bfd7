// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What a new user meets around the runs themselves: colour flags and
 * environment, a hunt that stops early and says so, merge of unfinished or
 * doubled shards, replay files checked against the scenario they were recorded
 * for, --steps as limits.steps reads it, --jobs beyond the CPUs, hints that run
 * as printed, and the files the docs' examples write kept out of git.
 *
 * Small scenarios, few seeds: each test takes a second or less (a hunt starts a
 * worker; the Ctrl-C and hint tests start ./bin/hazsim).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { main, type CliIO } from '../src/cli/index.ts';
import { cli } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'hazsim-ux-'));
const HANDOFF = 'scenarios/cross-task-handoff.yaml';
const SAME = 'scenarios/same-task-release.yaml';
const ESC = '\x1b[';

/** The CLI in-process, on a terminal or not. */
async function tty(args: string[], isTTY: boolean): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (s) => out.push(s), err: (s) => err.push(s), isTTY, exitCode: 0 };
  const code = await main(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** ./bin/hazsim as a user starts it; `onErr` sees stderr as it comes. */
function spawnHazsim(args: string[], onErr?: (chunk: string, kill: () => void) => void): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn('./bin/hazsim', args, { env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => {
      err += d;
      onErr?.(err, () => p.kill('SIGINT'));
    });
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('colour', () => {
  const saved = { NO_COLOR: process.env.NO_COLOR, FORCE_COLOR: process.env.FORCE_COLOR };
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('--no-color is accepted by every command', async () => {
    // hunt: accepted, then the bad range is reported (no worker started)
    expect((await cli(['hunt', HANDOFF, '--seeds', '2..1', '--no-color'])).err).toMatch(/^hazsim: --seeds: /);
    const f = join(dir, 'nc.jsonl');
    writeFileSync(f, '{"summary":true,"scenario":"x.yaml","seeds":"1..1","shard":null,"done":1,"complete":true,"failing":0,"signatures":[]}\n');
    expect((await cli(['merge', f, '--no-color'])).code).toBe(0);
    const b = await cli(['bisect', HANDOFF, '--seed', '1', '--out', join(dir, 'nc.sched'), '--no-color']);
    expect(b.code).toBe(1);
    expect((await cli(['replay', HANDOFF, join(dir, 'nc.sched'), '--no-color'])).code).toBe(1);
    expect((await cli(['run', HANDOFF, '--no-color'])).code).toBe(1);
  });

  it('FORCE_COLOR colours without a terminal; NO_COLOR and --no-color win over it and over a terminal', async () => {
    delete process.env.NO_COLOR;
    process.env.FORCE_COLOR = '1';
    expect((await tty(['run', HANDOFF], false)).out).toContain(ESC);
    expect((await tty(['bisect', HANDOFF, '--seed', '1', '--out', join(dir, 'fc.sched')], false)).out).toContain(ESC);
    expect((await tty(['run', HANDOFF, '--no-color'], false)).out).not.toContain(ESC);
    process.env.NO_COLOR = '1';
    expect((await tty(['run', HANDOFF], true)).out).not.toContain(ESC);
    expect((await tty(['bisect', HANDOFF, '--seed', '1', '--out', join(dir, 'fc.sched')], true)).out).not.toContain(ESC);
    delete process.env.FORCE_COLOR;
    delete process.env.NO_COLOR;
    expect((await tty(['run', HANDOFF], true)).out).toContain(ESC);
    process.env.FORCE_COLOR = '0';
    expect((await tty(['run', HANDOFF], true)).out).not.toContain(ESC);
  });
});

describe('a hunt that stops early', () => {
  it('--stop-after says where it stopped; --resume counts its rate from the seeds it runs now', async () => {
    const f = join(dir, 'stop.jsonl');
    const part = await cli(['hunt', HANDOFF, '--seeds', '1..60', '--jobs', '1', '--out', f, '--stop-after', '50']);
    expect(part.code).toBe(1);
    expect(part.out.split('\n').pop()).toBe(`hazsim: stopped after 50 of 60 seeds (--stop-after 50); resume with: ./bin/hazsim hunt ${HANDOFF} --seeds 1..60 --out ${f} --resume`);
    const t0 = performance.now();
    const rest = await cli(['hunt', HANDOFF, '--seeds', '1..60', '--jobs', '1', '--out', f, '--resume']);
    const secs = (performance.now() - t0) / 1000;
    expect(rest.out).toContain('hazsim: 60 seeds, 60 failing, 1 signature');
    expect(rest.out).not.toMatch(/stopped|interrupted/);
    const m = /hunt: 60\/60 seeds \(50 before --resume\), ([\d.]+) seeds\/s/.exec(rest.err)!;
    expect(m, rest.err).not.toBeNull();
    // 10 seeds run now: the rate times the wall time is about 10, not 60
    expect(Number(m[1]) * secs).toBeLessThan(30);
  });

  it('--max-seconds says so, and merge warns about the unfinished shard', async () => {
    const f = join(dir, 'maxs.jsonl');
    const r = await cli(['hunt', HANDOFF, '--seeds', '1..100000', '--jobs', '1', '--out', f, '--max-seconds', '1']);
    expect(r.code).toBe(1);
    const m = /^hazsim: stopped after (\d+) of 100000 seeds \(--max-seconds 1\); resume with: .* --resume$/m.exec(r.out)!;
    expect(m, r.out).not.toBeNull();
    const n = Number(m[1]);
    expect(n).toBeLessThan(100000);
    const merged = await cli(['merge', f]);
    expect(merged.err).toBe(`hazsim: warning: ${f}: incomplete: ${n} of 100000 seeds done (stopped: --max-seconds)`);
    expect(merged.out).toContain(`hazsim: ${n} seeds`);
    // the same file without its summary (a shard killed before the end)
    const g = join(dir, 'nosummary.jsonl');
    writeFileSync(g, readFileSync(f, 'utf8').split('\n').filter((l) => !l.includes('"summary"')).join('\n'));
    const killed = await cli(['merge', g]);
    expect(killed.err).toMatch(new RegExp(`^hazsim: warning: ${g}: incomplete: no summary line, the hunt did not finish \\(${n} of 100000 seeds done\\)$`));
  });

  it('Ctrl-C: "interrupted after N of M seeds", exit 130', async () => {
    const f = join(dir, 'int.jsonl');
    let sent = false;
    const r = await spawnHazsim(['hunt', HANDOFF, '--seeds', '1..100000', '--jobs', '1', '--out', f], (err, kill) => {
      if (!sent && err.includes('new signature')) {
        sent = true;
        kill();
      }
    });
    expect(r.code, r.err).toBe(130);
    expect(r.out).toMatch(/^hazsim: interrupted after \d+ of 100000 seeds; resume with: \.\/bin\/hazsim hunt .* --resume$/m);
    expect(readFileSync(f, 'utf8')).toContain('"stopped":"interrupt"');
  });
});

describe('merge', () => {
  it('refuses a seed present twice (one file given twice, or overlapping hunts): one line, exit 2', async () => {
    const f = join(dir, 'twice.jsonl');
    const g = join(dir, 'twice-shard.jsonl');
    await cli(['hunt', HANDOFF, '--seeds', '1..4', '--jobs', '1', '--out', f]);
    // a shard without failures (seeds 2, 4, 6, 8), as hunt writes it
    const hunt = { scenario: SAME, seeds: '1..8', shard: '2/2', steps: null, bootarg: null };
    writeFileSync(g, [{ hunt }, { checkpoint: { done_through: 8 } }, { summary: true, ...hunt, done: 4, complete: true, stopped: null, failing: 0, signatures: [] }].map((x) => JSON.stringify(x)).join('\n') + '\n');
    expect((await cli(['merge', g])).out).toBe('hazsim: 4 seeds, 0 failing, 0 signatures');
    const same = await cli(['merge', f, f]);
    expect(same.code).toBe(2);
    expect(same.out).toBe('');
    expect(same.err).toBe(`hazsim: ${f}: seed 1 is also in ${f} (the same file given twice): merged, it would count twice`);
    const overlap = await cli(['merge', f, g]);
    expect(overlap.code).toBe(2);
    expect(overlap.err).toBe(`hazsim: ${g}: seed 2 is also in ${f} (overlapping hunts): merged, it would count twice`);
  });
});

describe('replay checks the scenario the schedule was recorded for', () => {
  const saved = join(dir, 'rec.sched');
  const record = async () => {
    const r = await cli(['run', HANDOFF, '--seed', '1', '--save-schedule', saved]);
    expect(r.code).toBe(1);
    return readFileSync(saved, 'utf8');
  };

  it('records the scenario digest and hazptr version; another scenario is refused, exit 2', async () => {
    const text = await record();
    const digest = /^# scenario-digest: ([0-9a-f]{16})$/m.exec(text)?.[1];
    expect(digest, text.slice(0, 300)).toBeDefined();
    expect(text).toMatch(/^# hazptr: v5$/m);
    const r = await cli(['replay', SAME, saved]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(new RegExp(`^hazsim: ${saved}: this schedule was recorded for ${HANDOFF} \\(digest ${digest}\\), not ${SAME} \\(digest [0-9a-f]{16}\\)$`));
    const c = await cli(['replay', SAME, saved, '--on-divergence', 'continue']);
    expect(c.err.split('\n')[0]).toMatch(/^hazsim: warning: .* was recorded for .*; replaying it anyway \(--on-divergence continue\)$/);
  });

  it('comments and layout do not change the digest; a value does; so does the hazptr version', async () => {
    await record();
    const yaml = readFileSync(HANDOFF, 'utf8');
    const copy = join(dir, 'handoff-copy.yaml');
    writeFileSync(copy, `# a comment\n${yaml.replace('machine: { cpus: 2, preempt: full, kasan: true }', 'machine:\n  kasan: true\n  cpus: 2\n  preempt: full')}`);
    expect((await cli(['replay', copy, saved])).code).toBe(1);
    writeFileSync(copy, yaml.replace('repeat: 200', 'repeat: 199'));
    expect((await cli(['replay', copy, saved])).err).toContain(`was recorded for ${HANDOFF} (digest`);
    const v4 = join(dir, 'rec-v4.sched');
    writeFileSync(v4, readFileSync(saved, 'utf8').replace('# hazptr: v5', '# hazptr: v4'));
    const r = await cli(['replay', HANDOFF, v4]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/rec-v4.sched: recorded on hazptr v4, a version this hazsim does not have \(known: v5, v5-detach/);
    // the version is the file's unless --hazptr asks for another: then it is refused, plainly
    expect((await cli(['replay', HANDOFF, saved, '--hazptr', 'v5'])).code).toBe(1);
    const other = await cli(['replay', HANDOFF, saved, '--hazptr', 'v5-detach']);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/recorded for .* hazptr v5\), not .* hazptr v5-detach\)$/);
  });

  it('a file from before the digest replays, with a warning', async () => {
    const old = join(dir, 'old.sched');
    writeFileSync(old, (await record()).replace(/^# scenario-digest: .*\n/m, ''));
    const r = await cli(['replay', HANDOFF, old]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`hazsim: warning: ${old}: no scenario digest in its header (an older hazsim wrote it): not checked against ${HANDOFF}`);
  });
});

describe('flags', () => {
  it('--steps takes what limits.steps takes (1e3, 0x3e8), and refuses what it refuses', async () => {
    const a = await cli(['run', SAME, '--steps', '1e3', '--quiet']);
    expect(a.code).toBe(0);
    expect(a.out).toContain('step budget exhausted after 1000 steps');
    expect((await cli(['run', SAME, '--steps', '0x3e8', '--quiet'])).out).toContain('after 1000 steps');
    const under = await cli(['run', SAME, '--steps', '1_000']); // YAML 1.2 reads 1_000 as a string; so does limits.steps
    expect(under.code).toBe(2);
    expect(under.err).toBe("hazsim: --steps: '1_000' is not an integer (limits.steps takes 1000000, 1e6 or 0xf4240)");
    for (const cmd of [['run', SAME], ['hunt', SAME, '--seeds', '1..1'], ['bisect', HANDOFF, '--seed', '1']]) {
      expect((await cli([...cmd, '--steps', '2e12'])).err).toBe('hazsim: --steps: 2e12 is out of range (at most 1000000000000)');
    }
  });

  it('--jobs above the CPU count warns on stderr and runs', async () => {
    const n = availableParallelism() + 1;
    const r = await cli(['hunt', HANDOFF, '--seeds', '1..1', '--jobs', String(n)]);
    expect(r.code).toBe(1);
    expect(r.err.split('\n')[0]).toBe(`hazsim: warning: --jobs ${n} is more than the ${n - 1} CPU${n === 2 ? '' : 's'} of this machine; the workers will share them`);
    expect(r.out).toContain('hazsim: 1 seeds, 1 failing');
  });
});

describe('hints', () => {
  it('the commands hunt and bisect print run as shown from the repository (quoting included)', async () => {
    // the KASAN torture scenario with 1 us steps: seed 1 fails within 300,000 steps (with the shipped 100 ns, 1.2 M)
    const KASAN = join(dir, 'kasan-1us.yaml');
    writeFileSync(KASAN, readFileSync('scenarios/hazptrtorture-preempt-kasan.yaml', 'utf8').replace('step_ns: 100 }', 'step_ns: 1000 }'));
    const bootarg = 'hazptrtorture.stat_interval=15 hazptrtorture.verbose=0';
    const hunt = await cli(['hunt', KASAN, '--seeds', '1..1', '--jobs', '1', '--steps', '3e5', '--bootarg', bootarg]);
    expect(hunt.code).toBe(1);
    const signature = /^ +1 +1 +(.*)$/m.exec(hunt.out)![1];
    const huntHint = hunt.out.split('\n').pop()!.trim();
    expect(huntHint).toBe(`./bin/hazsim run ${KASAN} --seed 1 --steps 300000 --bootarg '${bootarg}'`);
    const sched = join(dir, 'hint.sched');
    const bisect = await cli(['bisect', HANDOFF, '--seed', '1', '--out', sched]);
    const bisectHint = /^hazsim: replay: (.*)$/m.exec(bisect.out)![1];
    expect(bisectHint).toBe(`./bin/hazsim replay ${HANDOFF} ${sched}`);
    // the hunt's, through a shell (its quoting included); the bisect's, in-process
    const out = execFileSync('sh', ['-c', `${huntHint} --quiet; echo "exit $?"`], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(out).toContain(`hazsim: signature: ${signature}`);
    expect(out.trim().split('\n').pop()).toBe('exit 1');
    const replay = await cli(bisectHint.split(' ').slice(1));
    expect(replay.code).toBe(1);
    expect(replay.out).toContain('hazsim: signature: general-protection-fault | hazptr_synchronize_overflow_list');
  });
});

describe('hints with flags, and from another directory', () => {
  it("replay's hint carries the flags it was given: the same mutant, the same outcome", async () => {
    const SB = 'scenarios/mutants/sb-reader-updater.yaml';
    const clean = join(dir, 'sb-clean.sched');
    expect((await cli(['run', SB, '--hazptr', 'v5-detach', '--seed', '1', '--save-schedule', clean, '--quiet'])).code).toBe(0);
    const r = await cli(['replay', SB, clean, '--mutant', 'acquire-no-mb', '--on-divergence', 'continue', '--quiet']);
    expect(r.code).toBe(1);
    const hint = /^hazsim: replay: (.*)$/m.exec(r.out)![1];
    expect(hint).toBe(`./bin/hazsim replay ${SB} ${clean} --mutant acquire-no-mb --on-divergence continue --seed 1`);
    const again = await cli([...hint.split(' ').slice(1), '--quiet']);
    expect(again.code).toBe(1);
    expect(/^hazsim: signature: .*$/m.exec(again.out)![0]).toBe(/^hazsim: signature: .*$/m.exec(r.out)![0]);
  });

  it('bisect --shrink-scenario with --bootarg: the replay file does not put the shrunk parameters back', async () => {
    const out = join(dir, 'tb.sched');
    const r = await cli(['bisect', 'scenarios/mutants/torture-preempt.yaml', '--seed', '1', '--bootarg', 'hazptrtorture.nreaders=3 hazptrtorture.irq_release=10',
      '--hazptr', 'v5-detach', '--mutant', 'release-no-unchain', '--shrink-scenario', '--max-runs', '30', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/hazptrtorture\.nreaders 3 -> 2/); // the shrink changed a parameter the bootarg set
    expect(readFileSync(out, 'utf8')).not.toMatch(/^# bootarg:/m);
    const hint = /^hazsim: replay: (.*)$/m.exec(r.out)![1];
    const replay = await cli([...hint.split(' ').slice(1), '--quiet']);
    expect(replay.err).toBe('');
    expect(replay.code).toBe(1);
    expect(replay.out).toContain(/^hazsim: signature: (.*)$/m.exec(r.out)![1]);
  });

  it('merge run from another directory names the scenario from there', async () => {
    const shards = [1, 2].map((k) => join(dir, `mshard-${k}.jsonl`));
    for (const [k, f] of shards.entries()) await cli(['hunt', HANDOFF, '--seeds', '1..4', '--shard', `${k + 1}/2`, '--jobs', '1', '--out', f]);
    const m = spawnSync(join(process.cwd(), 'bin/hazsim'), ['merge', ...shards], { cwd: tmpdir(), encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const hint = m.stdout.trim().split('\n').pop()!.trim().split(' ');
    const run = spawnSync(hint[0], [...hint.slice(1), '--quiet'], { cwd: tmpdir(), encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('hazsim: signature: general-protection-fault');
  });

  it('mutants and the help examples work from another directory', () => {
    const r = spawnSync(join(process.cwd(), 'bin/hazsim'), ['mutants', '--hazptr', 'v5-detach', '--only', 'acquire-no-mb', '--runs-per-mutant', '2', '--jobs', '1'],
      { cwd: tmpdir(), encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.stderr).not.toContain('internal error');
    expect(r.stdout).toContain('of 1 mutants');
    const help = spawnSync(join(process.cwd(), 'bin/hazsim'), ['run', '--help'], { cwd: tmpdir(), encoding: 'utf8' }).stdout;
    const example = /^ +\$ (.*)$/m.exec(help)![1].split(' ');
    const run = spawnSync(example[0], [...example.slice(1), '--quiet'], { cwd: tmpdir(), encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('hazsim: no bug: every task exited');
  });
});

describe('the files the docs examples write', () => {
  it('are ignored by git', () => {
    const docs = ['README.md', 'docs/hunting.md'].map((f) => readFileSync(f, 'utf8')).join('\n');
    const names = new Set(['bisect-seed1.sched', 'bisect-seed1.yaml', 'shard-1.jsonl']);
    // a file name as a command writes it: after a space, before a space or the end of the line
    for (const m of docs.matchAll(/(?<= )([\w-]+\.(?:sched|jsonl|yaml))(?= |$)/gm)) if (!m[1].startsWith('hazptrtorture') && !existsSync(`scenarios/${m[1]}`)) names.add(m[1]);
    expect([...names]).toEqual(expect.arrayContaining(['hunt.jsonl', 'gpf.sched']));
    const r = spawnSync('git', ['check-ignore', '--no-index', '-v', '-n', ...names], { encoding: 'utf8' });
    const notIgnored = r.stdout.split('\n').filter((l) => l.startsWith('::')).map((l) => l.split('\t')[1]);
    expect(notIgnored, [...names].join(' ')).toEqual([]);
  });
});
describe('a long run', () => {
  it('shows progress on a terminal and stops on Ctrl-C with the command that replays it to that step, exit 130', async () => {
    const NOPREEMPT = 'scenarios/hazptrtorture-nopreempt.yaml'; // seed 1 runs 1.12 M steps to its GPF: long enough to stop it at the first progress line
    const out: string[] = [];
    const err: string[] = [];
    const status: string[] = [];
    const io: CliIO = {
      out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false, exitCode: 0,
      status: (s) => {
        status.push(s);
        if (s) process.emit('SIGINT'); // Ctrl-C once the first progress line is up
      },
    };
    const code = await main(['run', NOPREEMPT, '--seed', '1', '--steps', '1e9', '--no-color'], io);
    expect(code).toBe(130);
    expect(status[0]).toMatch(/^run: \d+ steps, \d+\.\d{6} s simulated, \d+ steps\/s$/);
    expect(status.at(-1)).toBe(''); // the status line cleared before the report
    const text = out.join('\n');
    const m = /^\[ *[\d.]+\] hazsim: stopped after (\d+) steps at (\d+\.\d{6}) s simulated \(Ctrl-C\), no bug so far$/m.exec(text)!;
    expect(m, text.slice(-500)).not.toBeNull();
    const replay = /^hazsim: replay: \.\/bin\/hazsim (run .*)$/m.exec(text)![1];
    expect(replay).toBe(`run ${NOPREEMPT} --steps ${m[1]} --seed 1`);
    expect(process.listeners('SIGINT')).toHaveLength(0);
    // the command replays the run to the same step and the same simulated time
    const again = await cli([...replay.split(' '), '--quiet']);
    expect(again.code).toBe(0);
    expect(again.out).toContain(`step budget exhausted after ${m[1]} steps, ${m[2]} s simulated`);
  });

  it('no progress line with --json or --quiet', async () => {
    for (const flags of [['--json'], ['--quiet']]) {
      const status: string[] = [];
      const io: CliIO = { out: () => {}, err: () => {}, isTTY: false, exitCode: 0, status: (s) => { if (s) status.push(s); } };
      expect(await main(['run', 'scenarios/hazptrtorture-preempt.yaml', '--steps', '2e5', ...flags], io)).toBe(0); // 3 chunks
      expect(status).toEqual([]);
    }
  });
});
