// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What a report owes to x86-TSO: the loads, by the tasks the report names, that
 * read a word from memory while another CPU's newer store to it still sat in
 * that CPU's store buffer (Machine.staleReads). In the store-buffering race of
 * a missing smp_mb() this is the updater's scan reading a reader's slot as
 * empty: the line that says why the object was freed under the reader.
 */
import type { Machine, StaleRead } from '../kernel/machine.ts';
import { fmtSecs } from '../kernel/reports.ts';
import { sites } from '../kernel/sites.ts';
import { commPid, fmtContext, taskColumns } from './ftrace.ts';

/** At most this many lines, the newest. */
const SHOW = 4;

function fmtVal(m: Machine, v: number): string {
  return v === 0 ? 'NULL' : v < 4096 ? String(v) : m.mem.fmt(v);
}

/** One stale read, in ftrace's columns. */
export function fmtStaleRead(m: Machine, r: StaleRead): string {
  const s = sites[r.site];
  const by = sites[r.bySite];
  return `${fmtContext({ t: r.t, cpu: r.cpu, ...taskColumns(m, r.task), flags: 0 })} ${s.fn.name}: ${s.desc} [${m.mem.fmt(r.addr)}] read ${fmtVal(m, r.val)} from memory, while CPU${r.byCpu}'s store of ${fmtVal(m, r.byVal)} to it (${commPid(m, r.byTask)} ${by.fn.name}: ${by.desc}, at ${fmtSecs(r.byTime)}) was still in CPU${r.byCpu}'s store buffer`;
}

/**
 * The story's TSO lines after a report: the stale reads, among the last the
 * machine kept, made by the task that reported or by the task that freed the
 * object a KASAN report is about. Empty under SC, or when there are none.
 */
export function staleStory(m: Machine): string[] {
  if (!m.tso || !m.bug || m.staleReads.length === 0) return [];
  const pids = new Set<number>([m.bug.pid]);
  const freedBy = m.mem.objectAt(m.faultAddr)?.free?.pid;
  if (freedBy !== undefined) pids.add(freedBy);
  const tasks = new Set(m.tasks.filter((t) => pids.has(t.pid)).map((t) => t.id));
  const kept = m.staleReads.length;
  const ordered: StaleRead[] = [];
  for (let k = Math.max(0, m.staleN - kept); k < m.staleN; k++) ordered.push(m.staleReads[k % kept]);
  // a spinning scan reads the same word again: one line for each (load, buffered store) pair, at its last time
  const last = new Map<string, StaleRead>();
  for (const r of ordered) {
    if (!tasks.has(r.task)) continue;
    const key = `${r.task} ${r.site} ${r.addr} ${r.val} ${r.byCpu} ${r.byTime} ${r.bySite}`;
    last.delete(key);
    last.set(key, r);
  }
  const mine = [...last.values()].slice(-SHOW);
  if (mine.length === 0) return [];
  return [`hazsim: x86-TSO: ${mine.length === 1 ? 'a load' : 'loads'} by the tasks in this report that read memory past another CPU's buffered store (the last ${mine.length}):`, ...mine.map((r) => fmtStaleRead(m, r))];
}
