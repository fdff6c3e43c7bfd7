// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Bad input, as a user hits it, through the real command line (main(), in-process).
 *
 * The contract (src/cli/index.ts): every bad input is exactly ONE line on
 * stderr, starting "hazsim: ", naming the file, line:column and field for a
 * scenario problem; exit code 2; no stack trace; nothing on stdout.
 *
 * Fixtures are written to a fresh temp dir. Each is a list of lines, so the
 * expected line:column can be checked by eye (line N is the Nth entry).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type CliIO } from '../src/cli/index.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hazsim-cli-errors-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let fixtureNo = 0;
/** Write a scenario (one string per line) and return its path. */
function fixture(name: string, lines: string[], eol = '\n'): string {
  const file = join(dir, `${String(++fixtureNo).padStart(2, '0')}-${name}.yaml`);
  writeFileSync(file, lines.join(eol) + eol);
  return file;
}

interface Run {
  code: number;
  out: string[];
  stderr: string; // exactly what the bin would write to fd 2
}

async function run(argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false, exitCode: 0 };
  const code = await main(argv, io);
  return { code, out, stderr: err.map((s) => `${s}\n`).join('') };
}

interface Expect {
  /** The scenario file the message must name (omit for flag errors). */
  file?: string;
  /** "line:col" right after the file name. */
  pos?: string;
  /** The field, right after line:col. */
  field?: string;
  /** A distinctive fragment of the message. */
  msg: string;
}

/** Assert the one-line, exit-2 contract and return the line. */
async function expectInputError(argv: string[], e: Expect): Promise<string> {
  const r = await run(argv);
  expect(r.out, 'nothing on stdout').toEqual([]);
  expect(r.stderr, 'exactly one line on stderr').toMatch(/^[^\n]+\n$/);
  const line = r.stderr.slice(0, -1);
  expect(line).not.toMatch(/\bat .*:\d+:\d+\)?$|^\s*at |Error: |\.ts:\d+/); // no stack trace, no raw Error
  expect(line.startsWith('hazsim: '), line).toBe(true);
  if (e.file !== undefined) {
    let prefix = `hazsim: ${e.file}:`;
    if (e.pos !== undefined) prefix += `${e.pos}:`;
    if (e.field !== undefined) prefix += ` ${e.field}:`;
    expect(line.startsWith(prefix), `${JSON.stringify(line)} should start with ${JSON.stringify(prefix)}`).toBe(true);
  }
  expect(line).toContain(e.msg);
  expect(r.code).toBe(2);
  return line;
}

/** A valid scenario, small enough to run in milliseconds. */
const VALID = [
  'name: cli-errors smoke',
  'machine: { cpus: 2 }',
  'objects: [gp]',
  'tasks:',
  '  - name: reader',
  '    contexts: { c0: stack }',
  '    program:',
  '      - acquire: c0',
  '      - deref: c0',
  '      - release: c0',
  '  - name: writer',
  '    program:',
  '      - update: gp',
];

describe('hazsim run: the file itself', () => {
  it('missing file', async () => {
    const file = join(dir, 'does-not-exist.yaml');
    await expectInputError(['run', file], { file, msg: 'no such file' });
  });

  it('a directory instead of a file', async () => {
    const d = join(dir, 'a-directory.yaml');
    mkdirSync(d);
    await expectInputError(['run', d], { file: d, msg: 'is a directory' });
  });

  it('empty file', async () => {
    const file = fixture('empty', []);
    await expectInputError(['run', file], { file, pos: '1:1', msg: 'a scenario is a YAML mapping' });
  });

  it('a list at the top level', async () => {
    const file = fixture('top-list', ['- name: a', '- name: b']);
    await expectInputError(['run', file], { file, pos: '1:1', msg: 'a scenario is a YAML mapping' });
  });
});

describe('hazsim run: YAML syntax errors, at the right line', () => {
  it('nested mapping on one line (line 3)', async () => {
    const file = fixture('yaml-nested', [
      'name: x',
      'machine:',
      '  cpus: 2: 3', // line 3, the offending ':' value starts at col 9
      'tasks:',
      '  - name: a',
      '    program: [schedule]',
    ]);
    await expectInputError(['run', file], { file, pos: '3:9', msg: 'YAML syntax error: Nested mappings are not allowed' });
  });

  it('mapping items out of line (line 4)', async () => {
    const file = fixture('yaml-indent', [
      'name: x',
      'machine:',
      '    cpus: 2',
      '  kasan: true', // line 4
      'tasks:',
      '  - name: a',
      '    program: [schedule]',
    ]);
    await expectInputError(['run', file], { file, pos: '4:1', msg: 'YAML syntax error: All mapping items must start at the same column' });
  });

  it('a tab as indentation (line 6)', async () => {
    const file = fixture('yaml-tab', [
      'name: x',
      'objects: [gp]',
      'tasks:',
      '  - name: a',
      '    program:',
      '\t- update: gp', // line 6
    ]);
    await expectInputError(['run', file], { file, pos: '6:1', msg: 'YAML syntax error: Tabs are not allowed as indentation' });
  });

  it('a key given twice (line 4)', async () => {
    const file = fixture('yaml-dup-key', [
      'name: x',
      'machine:',
      '  cpus: 2',
      '  cpus: 4', // line 4
      'tasks:',
      '  - name: a',
      '    program: [schedule]',
    ]);
    await expectInputError(['run', file], { file, pos: '4:3', msg: 'YAML syntax error: Map keys must be unique' });
  });

  it('the message does not repeat the position in prose', async () => {
    const file = fixture('yaml-no-prose-pos', ['name: x', 'machine:', '  cpus: 2: 3']);
    const line = await expectInputError(['run', file], { file, pos: '3:9', msg: 'YAML syntax error' });
    expect(line).not.toMatch(/at line \d+/);
  });
});

describe('hazsim run: schema errors name file, line:col and field', () => {
  it('unknown top-level key: points at the key', async () => {
    const file = fixture('unknown-top', ['name: x', 'frob: 1', 'tasks:', '  - name: a', '    program: [schedule]']);
    await expectInputError(['run', file], { file, pos: '2:1', field: 'frob', msg: "unknown key 'frob'" });
  });

  it('unknown key inside machine: points at the key', async () => {
    const file = fixture('unknown-machine', [
      'name: x',
      'machine:',
      '  cpus: 2',
      '  frob: 3', // line 4
      'tasks:',
      '  - name: a',
      '    program: [schedule]',
    ]);
    await expectInputError(['run', file], { file, pos: '4:3', field: 'machine.frob', msg: "unknown key 'frob'" });
  });

  it('unknown key inside a flow mapping (machine: { ... })', async () => {
    const file = fixture('unknown-machine-flow', ['name: x', 'machine: { cpus: 2, frob: 3 }', 'tasks:', '  - name: a', '    program: [schedule]']);
    await expectInputError(['run', file], { file, pos: '2:21', field: 'machine.frob', msg: "unknown key 'frob'" });
  });

  it('unknown key inside a task', async () => {
    const file = fixture('unknown-task-key', ['name: x', 'tasks:', '  - name: a', '    priority: 3', '    program: [schedule]']);
    await expectInputError(['run', file], { file, pos: '4:5', field: 'tasks[0].priority', msg: "unknown key 'priority'" });
  });

  it('wrong type: cpus: "two"', async () => {
    const file = fixture('cpus-two', ['name: x', 'machine:', '  cpus: "two"', 'tasks:', '  - name: a', '    program: [schedule]']);
    await expectInputError(['run', file], { file, pos: '3:9', field: 'machine.cpus', msg: 'expected number, received string' });
  });

  it('out of range: cpus: 0', async () => {
    const file = fixture('cpus-0', ['name: x', 'machine:', '  cpus: 0', 'tasks:', '  - name: a', '    program: [schedule]']);
    await expectInputError(['run', file], { file, pos: '3:9', field: 'machine.cpus', msg: 'must be at least 1' });
  });

  it('out of range: cpus: 100000', async () => {
    const file = fixture('cpus-big', ['name: x', 'machine:', '  cpus: 100000', 'tasks:', '  - name: a', '    program: [schedule]']);
    await expectInputError(['run', file], { file, pos: '3:9', field: 'machine.cpus', msg: 'must be at most 64' });
  });

  it('out of range: limits.steps: -5', async () => {
    const file = fixture('steps-neg', ['name: x', 'limits:', '  steps: -5', 'tasks:', '  - name: a', '    program: [schedule]']);
    await expectInputError(['run', file], { file, pos: '3:10', field: 'limits.steps', msg: 'must be greater than 0' });
  });

  it('out of range: negative sleep_us', async () => {
    const file = fixture('sleep-neg', [
      'name: x',
      'tasks:',
      '  - name: a',
      '    program:',
      '      - schedule',
      '      - sleep_us: -1', // line 6, value at col 19
    ]);
    await expectInputError(['run', file], { file, pos: '6:19', field: 'tasks[0].program[1].sleep_us', msg: 'must be at least 0' });
  });

  it('missing required key (tasks)', async () => {
    const file = fixture('no-tasks', ['name: x', 'machine: { cpus: 2 }']);
    await expectInputError(['run', file], { file, pos: '1:1', field: 'tasks', msg: 'a scenario needs tasks: (a list) or hazptrtorture:' });
  });

  it('tasks: [] (no tasks)', async () => {
    const file = fixture('empty-tasks', ['name: x', 'tasks: []']);
    await expectInputError(['run', file], { file, pos: '2:8', field: 'tasks', msg: 'needs at least 1 entry' });
  });

  it('CRLF line endings: positions still count lines', async () => {
    const file = fixture('crlf', ['name: x', 'machine:', '  cpus: 0', 'tasks:', '  - name: a', '    program: [schedule]'], '\r\n');
    await expectInputError(['run', file], { file, pos: '3:9', field: 'machine.cpus', msg: 'must be at least 1' });
  });
});

describe('hazsim run: operations', () => {
  it('unknown op: - frobnicate: c0', async () => {
    const file = fixture('unknown-op', [
      'name: x',
      'objects: [gp]',
      'tasks:',
      '  - name: a',
      '    contexts: { c0: stack }',
      '    program:',
      '      - acquire: c0',
      '      - frobnicate: c0', // line 8
      '      - release: c0',
    ]);
    const line = await expectInputError(['run', file], { file, pos: '8:9', field: 'tasks[0].program[1]', msg: "unknown operation 'frobnicate'" });
    expect(line).toContain('acquire, release'); // lists the real ops, not just the no-argument ones
  });

  it('unknown bare op: - frob', async () => {
    const file = fixture('unknown-bare-op', ['name: x', 'tasks:', '  - name: a', '    program:', '      - frob']);
    await expectInputError(['run', file], { file, pos: '5:9', field: 'tasks[0].program[0]', msg: "unknown operation 'frob'" });
  });

  it('unknown op inside a loop', async () => {
    const file = fixture('unknown-op-loop', [
      'name: x',
      'tasks:',
      '  - name: a',
      '    program:',
      '      - loop:',
      '          times: 2',
      '          do:',
      '            - schedule',
      '            - frobnicate: 1', // line 9
    ]);
    await expectInputError(['run', file], { file, pos: '9:15', field: 'tasks[0].program[0].loop.do[1]', msg: "unknown operation 'frobnicate'" });
  });

  it('known op, wrong shape: handoff: c0 (reports the handoff, not the op list)', async () => {
    const file = fixture('handoff-string', ['name: x', 'tasks:', '  - name: a', '    program:', '      - handoff: c0']);
    await expectInputError(['run', file], { file, pos: '5:18', field: 'tasks[0].program[0].handoff', msg: 'expected object, received string' });
  });

  it('an op with two keys', async () => {
    const file = fixture('op-two-keys', [
      'name: x',
      'objects: [gp]',
      'tasks:',
      '  - name: a',
      '    contexts: { c0: stack }',
      '    program:',
      '      - { acquire: c0, release: c0 }', // line 7
    ]);
    await expectInputError(['run', file], { file, pos: '7:9', field: 'tasks[0].program[0]', msg: 'an operation has exactly one key' });
  });

  it('a task name used twice', async () => {
    const file = fixture('dup-task', [
      'name: x',
      'tasks:',
      '  - name: a',
      '    program: [schedule]',
      '  - name: a', // line 5, value at col 11
      '    program: [schedule]',
    ]);
    await expectInputError(['run', file], { file, pos: '5:11', field: 'tasks[1].name', msg: "task name 'a' used twice" });
  });

  it('an op naming an undeclared ctx', async () => {
    const file = fixture('undeclared-ctx', [
      'name: x',
      'objects: [gp]',
      'tasks:',
      '  - name: a',
      '    contexts: { c0: stack }',
      '    program:',
      '      - acquire: c0',
      '      - release: c1', // line 8, value at col 18
    ]);
    await expectInputError(['run', file], { file, pos: '8:18', field: 'tasks[0].program[1].release', msg: "'c1' is not a declared context" });
  });

  it('an op naming an undeclared object: update: nope', async () => {
    const file = fixture('update-nope', ['name: x', 'objects: [gp]', 'tasks:', '  - name: w', '    program:', '      - update: nope']);
    await expectInputError(['run', file], { file, pos: '6:17', field: 'tasks[0].program[0].update', msg: "unknown object 'nope'" });
  });

  it('acquire from an unknown object', async () => {
    const file = fixture('acquire-from-nope', [
      'name: x',
      'objects: [gp]',
      'tasks:',
      '  - name: a',
      '    contexts: { c0: stack }',
      '    program:',
      '      - acquire: { ctx: c0, from: nope }', // line 7, 'nope' at col 35
      '      - release: c0',
    ]);
    await expectInputError(['run', file], { file, pos: '7:35', field: 'tasks[0].program[0].acquire.from', msg: "unknown object 'nope'" });
  });

  it('handoff to an unknown task', async () => {
    const file = fixture('handoff-ghost', [
      'name: x',
      'objects: [gp]',
      'tasks:',
      '  - name: a',
      '    contexts: { c0: static }',
      '    program:',
      '      - acquire: c0',
      '      - handoff: { ctx: c0, to: ghost }', // line 8, 'ghost' at col 33
    ]);
    await expectInputError(['run', file], { file, pos: '8:33', field: 'tasks[0].program[1].handoff.to', msg: "unknown task 'ghost'" });
  });

  it('handoff to a task that never receives', async () => {
    const file = fixture('handoff-no-receive', [
      'name: x',
      'objects: [gp]',
      'tasks:',
      '  - name: a',
      '    contexts: { c0: static }',
      '    program:',
      '      - acquire: c0',
      '      - handoff: { ctx: c0, to: b }', // line 8
      '  - name: b',
      '    program: [schedule]',
    ]);
    await expectInputError(['run', file], { file, pos: '8:33', field: 'tasks[0].program[1].handoff.to', msg: "task 'b' never receives" });
  });

  it('unknown hazptr version', async () => {
    const file = fixture('hazptr-v99', ['name: x', 'hazptr: v99', 'tasks:', '  - name: a', '    program: [schedule]']);
    await expectInputError(['run', file], { file, pos: '2:9', field: 'hazptr', msg: "unknown hazptr version 'v99'" });
  });

  it('task cpu beyond machine.cpus', async () => {
    const file = fixture('task-cpu', ['name: x', 'machine:', '  cpus: 2', 'tasks:', '  - name: a', '    cpu: 2', '    program: [schedule]']);
    await expectInputError(['run', file], { file, pos: '6:10', field: 'tasks[0].cpu', msg: 'CPU 2 does not exist (machine.cpus is 2)' });
  });
});

describe('hazsim run: flags', () => {
  let valid: string;
  beforeAll(() => {
    valid = fixture('valid-for-flags', VALID);
  });

  it.each([
    [['--seed', 'abc'], "--seed: 'abc' is not an integer"],
    [['--seed', '1.5'], "--seed: '1.5' is not an integer"],
    [['--seed', '-3'], '--seed: -3 is out of range'],
    [['--seed=-3'], '--seed: -3 is out of range'],
    [['--seed', '99999999999999999999'], '--seed: 99999999999999999999 is out of range'],
    [['--steps', '0'], '--steps: 0 is out of range (at least 1)'],
    [['--steps', 'many'], "--steps: 'many' is not an integer"],
  ])('%j', async (flags, msg) => {
    await expectInputError(['run', valid, ...flags], { msg });
  });

  // Commander's own usage errors: same contract (one line, exit 2).
  it('unknown flag --frobnicate', async () => {
    await expectInputError(['run', valid, '--frobnicate'], { msg: "unknown option '--frobnicate'" });
  });

  it('missing scenario argument', async () => {
    await expectInputError(['run'], { msg: "missing required argument 'scenario'" });
  });

  it('misspelt flag: the suggestion stays on the same line', async () => {
    await expectInputError(['run', valid, '--sed', '3'], { msg: "unknown option '--sed' (Did you mean --seed?)" });
  });

  it('misspelt command: the suggestion stays on the same line', async () => {
    await expectInputError(['rn', valid], { msg: "unknown command 'rn' (Did you mean run?)" });
  });

  it('--seed without a value', async () => {
    await expectInputError(['run', valid, '--seed'], { msg: "option '--seed <n>' argument missing" });
  });

  it('a flag error is reported before the file is read', async () => {
    const missing = join(dir, 'not-there.yaml');
    await expectInputError(['run', missing, '--seed', 'abc'], { msg: "--seed: 'abc' is not an integer" });
  });
});

describe('output paths: one line, exit 2, checked before any work', () => {
  const HANDOFF = 'scenarios/cross-task-handoff.yaml';
  let valid: string;
  beforeAll(() => {
    valid = fixture('valid-for-outputs', VALID);
  });

  it('merge <a directory>', async () => {
    await expectInputError(['merge', dir], { file: dir, msg: 'cannot read hunt output (is a directory)' });
  });

  it('hunt --out <a directory>', async () => {
    await expectInputError(['hunt', valid, '--seeds', '1..2', '--jobs', '1', '--out', dir], { msg: `--out: cannot write ${dir} (is a directory)` });
  });

  it('hunt --out in a directory that does not exist', async () => {
    await expectInputError(['hunt', valid, '--seeds', '1..2', '--jobs', '1', '--out', '/nonexistent/x.jsonl'], { msg: '--out: cannot write /nonexistent/x.jsonl (no such directory: /nonexistent)' });
  });

  it('bisect --out in a directory that does not exist (before bisecting)', async () => {
    await expectInputError(['bisect', HANDOFF, '--seed', '1', '--out', '/nonexistent/x.sched'], { msg: '--out: cannot write /nonexistent/x.sched (no such directory: /nonexistent)' });
  });

  it('run --save-schedule in a directory that does not exist (before running: no trace printed)', async () => {
    await expectInputError(['run', valid, '--trace', '--save-schedule', '/nonexistent/x.sched'], { msg: '--save-schedule: cannot write /nonexistent/x.sched (no such directory: /nonexistent)' });
  });

  it('replay --save-schedule <a directory>', async () => {
    const sched = join(dir, 'for-replay.sched');
    expect((await run(['run', valid, '--save-schedule', sched])).stderr).toBe('');
    await expectInputError(['replay', valid, sched, '--save-schedule', dir], { msg: `--save-schedule: cannot write ${dir} (is a directory)` });
  });
});

describe('hazsim run: good input', () => {
  it('a valid small scenario runs and prints dmesg-style lines', async () => {
    const file = fixture('valid', VALID);
    const r = await run(['run', file, '--seed', '1']);
    expect(r.stderr).toBe('');
    expect([0, 1]).toContain(r.code);
    const lines = r.out.join('\n').split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(2);
    const dmesg = lines.filter((l) => /^\[\s*\d+\.\d{6}\] hazsim: /.test(l));
    expect(dmesg.length).toBeGreaterThan(2);
    expect(lines[0]).toMatch(/^\[\s*0\.000000\] hazsim: scenario 'cli-errors smoke'/);
    expect(lines.join('\n')).toContain('reader (pid');
  });
});

describe('hazsim with no command', () => {
  it('prints usage on stderr and exits 2; --help exits 0', async () => {
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.out).toEqual([]);
    expect(none.stderr).toContain('Usage: hazsim');
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out.join('\n')).toContain('Example:');
  });
});
