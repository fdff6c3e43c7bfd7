// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The replay file (.sched): a recorded schedule as text that a person can read
 * and edit, compact enough for a run of millions of decisions. Version 2 (what
 * every writer writes; v1 files, schedule-file-v1.ts, still read):
 *
 *   # hazsim schedule v2
 *   # scenario: scenarios/hazptrtorture-preempt.yaml
 *   # seed: 1
 *   # decisions: 107278
 *   task 0 swapper/2/0
 *   task 3 hazptr_torture_/101
 *   site 4 hazptr_release:load ctx->slot
 *   c2/4 t0
 *   = 3
 *   p1/2 @1 t3 s4
 *   = 412 ~3fa2
 *
 * The header (`# key: value`, as in v1) names the scenario, its digest, the
 * hazptr version, the seed and the outcome. Then a dictionary: `task N name`
 * ("comm/pid") and `site N function:description`, numbered for the decisions
 * that name them. Then the decisions, in order, one of these a line:
 *
 *  - `c<cpu>/<among> [t<task>] [s<site>]`: CPU <cpu> steps (one of <among>
 *    that could), running that task at that site. Recorded by CPU id: editing
 *    the number makes another CPU step.
 *  - `<k><chosen>/<among> [@<cpu>] [t<task>] [s<site>]`, k one of p (preempt:
 *    1 yes, 0 no), k (pick: which candidate), w (wake-cpu: which CPU, by index),
 *    r (rand: the number), d (drain: the delay of a buffered store, in steps).
 *  - `= <count> [~<check>]`: that many decisions, each as the default takes it
 *    (defaults.ts: the CPU that stepped last goes on; no preemption; the first
 *    candidate; the first CPU; a store drains at once; a rand from the default
 *    generator). A decision the default would take is written in a run: most of
 *    a torture run is "the same CPU goes on" and "no preemption", and almost
 *    all of a bisected one.
 *
 * What replay checks: at a written decision its kind and among; that its CPU
 * can step (c) or that it was taken on that CPU (@); the task and site by name.
 * At a run's decisions, that the default can be taken (the last CPU can step),
 * and at its last decision, when the line has a check, that the kinds and
 * option counts of its decisions fold to it (~check, four hex digits: delete it
 * when you split or shorten a run by hand).
 *
 * Files are written and read in pieces (a long run's file is more than one
 * string can hold): memory goes with the decisions, not with the text.
 */
import { InputError } from '../cli/errors.ts';
import { readLines } from '../cli/files.ts';
import { BY_CPU, DefaultChoices, K_DEFAULT, RunCheck } from './defaults.ts';
import { LETTERS, Schedule } from './schedule.ts';
import { Names, parseV1Line } from './schedule-file-v1.ts';
import { D_CPU } from './strategy.ts';

export interface ScheduleFile {
  version: 1 | 2;
  header: Record<string, string>;
  /** task and site: ids into `tasks` and `sites` (-1: not recorded, not checked) */
  schedule: Schedule;
  tasks: string[];
  sites: string[];
}

/** Runs of at least this many decisions carry a check (`~xxxx`). */
const CHECKED_RUN = 8;
/** Decisions a piece of the file holds at most. */
const PIECE = 65536;

/** A schedule as the text of a v2 replay file, in pieces (the header's `seed` seeds the default rands). */
export function* scheduleTextChunks(
  sched: Schedule,
  header: Record<string, string>,
  taskName: (id: number) => string,
  siteKey: (id: number) => string,
): Generator<string> {
  const len = sched.length;
  // which decisions the defaults take, and the tasks and sites the others name (numbered as first named)
  const dflt = new Uint8Array(len);
  const dc = new DefaultChoices(Number(header.seed ?? 0));
  const taskIds = new Map<number, number>();
  const siteIds = new Map<number, number>();
  for (let i = 0; i < len; i++) {
    if (dc.isDefault(sched.kind[i], sched.n[i], sched.chosen[i], sched.cpu[i])) {
      dflt[i] = 1;
      continue;
    }
    if (sched.task[i] >= 0 && !taskIds.has(sched.task[i])) taskIds.set(sched.task[i], taskIds.size);
    if (sched.kind[i] !== D_CPU && sched.site[i] >= 0 && !siteIds.has(sched.site[i])) siteIds.set(sched.site[i], siteIds.size);
  }
  const head: string[] = ['# hazsim schedule v2'];
  for (const [k, v] of Object.entries(header)) head.push(`# ${k}: ${v}`);
  head.push(
    `# decisions: ${len}`,
    '#',
    '# Tasks and sites by number, then the decisions in order, one a line (docs/hunting.md, hazsim replay):',
    '#   c2/4 t3          CPU 2 steps (4 could), running task 3',
    '#   p1/2 @1 t3 s17   preempt (p), pick (k), wake-cpu (w), rand (r), drain (d): chosen/among, on CPU 1, task 3, site 17',
    '#   = 412 ~3fa2      412 decisions as the default takes them (the CPU that stepped last goes on, no preemption, ...)',
  );
  for (const [id, k] of taskIds) head.push(`task ${k} ${taskName(id).replace(/\s/g, '_')}`);
  for (const [id, k] of siteIds) head.push(`site ${k} ${siteKey(id)}`);
  yield head.join('\n') + '\n';
  let run = 0;
  let check = new RunCheck();
  const endRun = (out: string[]) => {
    if (run) out.push(run >= CHECKED_RUN ? `= ${run} ~${check.value()}` : `= ${run}`);
    run = 0;
    check = new RunCheck();
  };
  for (let lo = 0; lo < len; lo += PIECE) {
    const out: string[] = [];
    for (let i = lo; i < Math.min(len, lo + PIECE); i++) {
      if (dflt[i]) {
        run++;
        check.add(sched.kind[i], sched.n[i]);
        continue;
      }
      endRun(out);
      const kind = sched.kind[i];
      const t = sched.task[i] >= 0 ? ` t${taskIds.get(sched.task[i])}` : '';
      if (kind === D_CPU) out.push(`c${sched.cpu[i]}/${sched.n[i]}${t}`);
      else {
        const at = sched.cpu[i] >= 0 ? ` @${sched.cpu[i]}` : '';
        const s = sched.site[i] >= 0 ? ` s${siteIds.get(sched.site[i])}` : '';
        out.push(`${LETTERS[kind]}${sched.chosen[i]}/${sched.n[i]}${at}${t}${s}`);
      }
    }
    if (lo + PIECE >= len) endRun(out);
    if (out.length) yield out.join('\n') + '\n';
  }
}

export function readScheduleFile(file: string): ScheduleFile {
  return parseScheduleLines(readLines(file, 'schedule'), file);
}

export function parseScheduleText(text: string, file: string): ScheduleFile {
  return parseScheduleLines(text.split('\n'), file);
}

/** A replay file, v1 or v2 (its first line says which), from its lines. */
export function parseScheduleLines(lines: Iterable<string>, file: string): ScheduleFile {
  const header: Record<string, string> = {};
  const schedule = new Schedule();
  const tasks = new Names();
  const sites = new Names();
  let version: 1 | 2 = 2;
  let v2: V2Reader | undefined;
  let ln = 0;
  for (const raw of lines) {
    ln++;
    const line = raw.trim();
    if (ln === 1) {
      if (line === '# hazsim schedule v1') version = 1;
      else if (line === '# hazsim schedule v2') v2 = new V2Reader(file, schedule, header);
      else throw new InputError(`${file}:1:1: not a hazsim schedule (the first line must be '# hazsim schedule v2', or v1)`);
      continue;
    }
    if (!line) continue;
    if (v2) v2.line(line, ln, raw.length - raw.trimStart().length);
    else if (line.startsWith('#')) {
      const m = /^#\s*([\w-]+):\s*(.*)$/.exec(line);
      if (m) header[m[1]] = m[2];
    } else parseV1Line(line, ln, file, schedule, tasks, sites);
  }
  if (ln === 0) throw new InputError(`${file}:1:1: not a hazsim schedule (the file is empty)`);
  if (v2) return { version, header, schedule, tasks: v2.tasks, sites: v2.sites };
  return { version, header, schedule, tasks: tasks.list, sites: sites.list };
}

/** The v2 lines after the first, one at a time. */
class V2Reader {
  readonly tasks: string[] = [];
  readonly sites: string[] = [];
  private inHeader = true;
  /** the line of the header's seed */
  private seedLine = 1;
  private readonly checks = new Map<number, { last: number; check: string }>();

  constructor(
    private readonly file: string,
    private readonly schedule: Schedule,
    private readonly header: Record<string, string>,
  ) {}

  private fail(ln: number, col: number, problem: string): never {
    throw new InputError(`${this.file}:${ln}:${col}: ${problem}`);
  }

  /** `line`, trimmed, was indented by `indent` (for columns). */
  line(line: string, ln: number, indent: number): void {
    if (line.startsWith('#')) {
      const m = this.inHeader ? /^#\s*([\w-]+):\s*(.*)$/.exec(line) : null;
      if (m) this.header[m[1]] = m[2];
      if (m?.[1] === 'seed') this.seedLine = ln;
      return;
    }
    if (this.inHeader) {
      this.inHeader = false;
      const seed = Number(this.header.seed ?? '0');
      if (!/^-?\d+$/.test(this.header.seed ?? '0') || !Number.isSafeInteger(seed)) this.fail(this.seedLine, 1, `seed: '${this.header.seed}' is not an integer (the defaults' rands are drawn from it)`);
      this.schedule.defaults = { seed, checks: this.checks };
    }
    const s = this.schedule;
    const col = (tok: string) => indent + line.indexOf(tok) + 1;
    const dict = /^(task|site)\s+(\S+)\s+(.*)$/.exec(line);
    if (dict) {
      const id = Number(dict[2]);
      if (!/^\d+$/.test(dict[2]) || id > 32767) this.fail(ln, col(dict[2]), `${dict[1]} number '${dict[2]}' is not one of 0..32767`);
      const list = dict[1] === 'task' ? this.tasks : this.sites;
      if (list[id] !== undefined) this.fail(ln, col(dict[2]), `${dict[1]} ${id} is named twice`);
      list[id] = dict[3];
      return;
    }
    const toks = line.split(/\s+/);
    if (toks[0] === '=') {
      const count = Number(toks[1]);
      if (!/^\d+$/.test(toks[1] ?? '') || count < 1) this.fail(ln, toks[1] ? col(toks[1]) : line.length + 1 + indent, `expected '= <count>', a number of default decisions (1 or more)`);
      if (toks.length > 3 || (toks[2] !== undefined && !/^~[0-9a-f]{4}$/.test(toks[2]))) this.fail(ln, col(toks[2] ?? toks[3]), `after '= ${toks[1]}' only a check, '~' and four hex digits, may follow`);
      if (toks[2]) this.checks.set(s.length, { last: s.length + count - 1, check: toks[2].slice(1) });
      for (let j = 0; j < count; j++) s.push(K_DEFAULT, 0, 0);
      return;
    }
    const m = /^([cpkwrd])(\d+)\/(\d+)$/.exec(toks[0]);
    if (!m) this.fail(ln, indent + 1, `cannot read '${toks[0]}': expected a decision (c2/4, p1/2, k0/3, w1/2, r13/20, d0/1024), '= <count>', 'task N name' or 'site N function:step'`);
    const kind = LETTERS.indexOf(m[1]);
    const chosen = Number(m[2]);
    const n = Number(m[3]);
    if (n < 1 || n > 0xfffffffe) this.fail(ln, col(toks[0]) + m[1].length + m[2].length + 1, `among ${m[3]}: not a number of options`);
    if (kind !== D_CPU && chosen >= n) this.fail(ln, col(toks[0]) + 1, `choice ${chosen} is not below ${n}`);
    if (kind === D_CPU && chosen > 127) this.fail(ln, col(toks[0]) + 1, `cpu ${chosen}: not a CPU number`);
    let cpu = kind === D_CPU ? chosen : -1;
    let task = -1;
    let site = -1;
    let pos = col(toks[0]) + toks[0].length;
    for (const tok of toks.slice(1)) {
      pos = indent + line.indexOf(tok, pos - indent - 1) + 1;
      const f = /^([@ts])(\d+)$/.exec(tok);
      if (!f || (f[1] === '@' && kind === D_CPU)) {
        this.fail(ln, pos, `cannot read '${tok}': expected ${kind === D_CPU ? '' : '@<cpu>, '}t<task> or s<site>${kind === D_CPU ? " (a CPU decision's CPU is its number)" : ''}`);
      }
      const v = Number(f[2]);
      if (f[1] === '@') cpu = v > 127 ? this.fail(ln, pos, `cpu ${v}: not a CPU number`) : v;
      else if (f[1] === 't') task = this.tasks[v] === undefined ? this.fail(ln, pos, `task ${v} is not named above (task ${v} comm/pid)`) : v;
      else site = this.sites[v] === undefined ? this.fail(ln, pos, `site ${v} is not named above (site ${v} function:step)`) : v;
      pos += tok.length;
    }
    const i = s.push(kind, n, kind === D_CPU ? BY_CPU : chosen);
    s.where(i, cpu, task, site);
  }
}

