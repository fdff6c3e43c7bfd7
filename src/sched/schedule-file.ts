// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The replay file (.sched): a recorded schedule as text, one decision a line,
 * with where it was taken, so a person can read it, edit a choice, and replay.
 *
 *   # hazsim schedule v1
 *   # scenario: scenarios/hazptrtorture-preempt.yaml
 *   # hazptr: v5
 *   # seed: 1
 *   # decisions: 377637
 *   0 cpu 2/4 @cpu2 hazptr_torture_reader do_idle:idle
 *   1 preempt 0/2 @cpu1 hazptr_torture_writer hazptr_acquire:load slot->addr
 *
 * A line is: index, decision kind (cpu, preempt, pick, wake-cpu, rand, drain),
 * chosen/among, then `@cpuN` (the CPU it concerns, or -), the task's name (or -),
 * and the site as function:description (or -). On replay the kind and `among`
 * must match; the CPU, task and site are checked as well, by name. A drain
 * (x86-TSO) is the delay, in machine steps, of the store that has just become
 * the oldest in a CPU's store buffer, named by that CPU and the task and site
 * that stored it: `drain 12/1024 @cpu1 writer/101 hazsim_update:store-release *gp = p`.
 */
import { InputError } from '../cli/errors.ts';
import { readText } from '../cli/files.ts';
import { Schedule } from './schedule.ts';
import { DECISION_NAMES } from './strategy.ts';

export interface ScheduleFile {
  header: Record<string, string>;
  schedule: Schedule;
  /** per decision: task name and site key ("function:desc"), '' when not recorded */
  taskNames: string[];
  siteKeys: string[];
}

/** A schedule as the text of a replay file, in pieces of at most 65,536 decisions (a long run's file is more than one string can hold). */
export function* scheduleTextChunks(
  sched: Schedule,
  header: Record<string, string>,
  taskName: (id: number) => string,
  siteKey: (id: number) => string,
): Generator<string> {
  const head: string[] = ['# hazsim schedule v1'];
  for (const [k, v] of Object.entries(header)) head.push(`# ${k}: ${v}`);
  head.push(`# decisions: ${sched.length}`);
  yield head.join('\n') + '\n';
  const names = new Map<number, string>();
  for (let lo = 0; lo < sched.length; lo += 65536) {
    const out: string[] = [];
    for (let i = lo; i < Math.min(sched.length, lo + 65536); i++) {
      const cpu = sched.cpu[i] >= 0 ? `@cpu${sched.cpu[i]}` : '@-';
      let task = '-';
      if (sched.task[i] >= 0) {
        task = names.get(sched.task[i]) ?? taskName(sched.task[i]).replace(/\s/g, '_');
        names.set(sched.task[i], task);
      }
      const site = sched.site[i] >= 0 ? siteKey(sched.site[i]) : '-';
      out.push(`${i} ${DECISION_NAMES[sched.kind[i]]} ${sched.chosen[i]}/${sched.n[i]} ${cpu} ${task} ${site}`);
    }
    yield out.join('\n') + '\n';
  }
}

export function readScheduleFile(file: string): ScheduleFile {
  return parseScheduleText(readText(file, 'schedule'), file);
}

export function parseScheduleText(text: string, file: string): ScheduleFile {
  const lines = text.split('\n');
  if (lines[0]?.trim() !== '# hazsim schedule v1') throw new InputError(`${file}:1:1: not a hazsim schedule (the first line must be '# hazsim schedule v1')`);
  const header: Record<string, string> = {};
  const schedule = new Schedule();
  const taskNames: string[] = [];
  const siteKeys: string[] = [];
  lines.forEach((raw, li) => {
    const line = raw.trim();
    if (!line) return;
    if (line.startsWith('#')) {
      const m = /^#\s*([\w-]+):\s*(.*)$/.exec(line);
      if (m) header[m[1]] = m[2];
      return;
    }
    const m = /^(\d+)\s+([\w-]+)\s+(\d+)\/(\d+)(?:\s+@(cpu\d+|-))?(?:\s+(\S+))?(?:\s+(.*))?$/.exec(line);
    if (!m) throw new InputError(`${file}:${li + 1}:1: cannot read this decision (expected '<index> <kind> <chosen>/<among> @cpuN <task> <function:step>')`);
    const kind = (DECISION_NAMES as readonly string[]).indexOf(m[2]);
    if (kind < 0) throw new InputError(`${file}:${li + 1}:${line.indexOf(m[2]) + 1}: unknown decision kind '${m[2]}' (one of ${DECISION_NAMES.join(', ')})`);
    const chosen = Number(m[3]);
    const n = Number(m[4]);
    if (chosen >= n) throw new InputError(`${file}:${li + 1}:${line.indexOf(m[3]) + 1}: choice ${chosen} is not below ${n}`);
    if (Number(m[1]) !== schedule.length) throw new InputError(`${file}:${li + 1}:1: decision numbered ${m[1]}, expected ${schedule.length}`);
    const i = schedule.push(kind, n, chosen);
    const cpu = m[5] && m[5] !== '-' ? Number(m[5].slice(3)) : -1;
    schedule.where(i, cpu, -1, -1);
    taskNames.push(m[6] && m[6] !== '-' ? m[6] : '');
    siteKeys.push(m[7] && m[7] !== '-' ? m[7].trim() : '');
  });
  return { header, schedule, taskNames, siteKeys };
}
