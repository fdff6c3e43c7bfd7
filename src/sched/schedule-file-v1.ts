// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Reading a v1 replay file (`# hazsim schedule v1`, what hazsim wrote before
 * v2: schedule-file.ts), one decision a line, numbered, with where it was taken:
 *
 *   0 cpu 2/4 @cpu2 hazptr_torture_reader do_idle:idle
 *   1 preempt 0/2 @cpu1 hazptr_torture_writer hazptr_acquire:load slot->addr
 *
 * A line is: index, decision kind (cpu, preempt, pick, wake-cpu, rand, drain),
 * chosen/among (an index, a CPU decision's too), then `@cpuN` (the CPU it
 * concerns, or -), the task's name (or -), and the site as function:description
 * (or -). On replay the kind and `among` must match; the CPU, task and site are
 * checked as well, by name.
 */
import { InputError } from '../cli/errors.ts';
import type { Schedule } from './schedule.ts';
import { DECISION_NAMES } from './strategy.ts';

/** Names by the ids a file's decisions use. */
export class Names {
  readonly list: string[] = [];
  private readonly ids = new Map<string, number>();

  /** The id of `name`, a new one the first time. */
  id(name: string): number {
    let k = this.ids.get(name);
    if (k === undefined) {
      k = this.list.length;
      this.list.push(name);
      this.ids.set(name, k);
    }
    return k;
  }
}

/** One decision line of a v1 file (line number `ln`, trimmed), into `schedule`. */
export function parseV1Line(line: string, ln: number, file: string, schedule: Schedule, tasks: Names, sites: Names): void {
  const m = /^(\d+)\s+([\w-]+)\s+(\d+)\/(\d+)(?:\s+@(cpu\d+|-))?(?:\s+(\S+))?(?:\s+(.*))?$/.exec(line);
  if (!m) throw new InputError(`${file}:${ln}:1: cannot read this decision (expected '<index> <kind> <chosen>/<among> @cpuN <task> <function:step>')`);
  const kind = (DECISION_NAMES as readonly string[]).indexOf(m[2]);
  if (kind < 0) throw new InputError(`${file}:${ln}:${line.indexOf(m[2]) + 1}: unknown decision kind '${m[2]}' (one of ${DECISION_NAMES.join(', ')})`);
  const chosen = Number(m[3]);
  const n = Number(m[4]);
  if (chosen >= n) throw new InputError(`${file}:${ln}:${line.indexOf(m[3]) + 1}: choice ${chosen} is not below ${n}`);
  if (Number(m[1]) !== schedule.length) throw new InputError(`${file}:${ln}:1: decision numbered ${m[1]}, expected ${schedule.length}`);
  const i = schedule.push(kind, n, chosen);
  const cpu = m[5] && m[5] !== '-' ? Number(m[5].slice(3)) : -1;
  const task = m[6] && m[6] !== '-' ? tasks.id(m[6]) : -1;
  const site = m[7] && m[7].trim() !== '-' ? sites.id(m[7].trim()) : -1;
  schedule.where(i, cpu, task, site);
}
