// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The causal slice of a failing run (scenario/slice.ts), printed under the
 * report: a header, which kthread each pid runs, the object at the centre,
 * then each step taken, oldest first, in ftrace's columns (report/ftrace.ts):
 * task-pid, CPU, flags, time, then the function and what it did, with the
 * edges that matter to a reader written out: who stored the value a load
 * read, when a buffered store reached memory, and for a step that raced with
 * an invocation, which invocation. Consecutive steps of one task at one site
 * are one line with a count.
 */
import { LIST_POISON1, MEM_BASE, POISON_BASE } from '../kernel/addr.ts';
import { FL_BUFFERED, FL_FORWARDED, FL_HARDIRQ, type Machine } from '../kernel/machine.ts';
import { fmtSecs } from '../kernel/reports.ts';
import { OP_CMPXCHG, OP_KFREE, OP_KMALLOC, OP_LOAD, OP_NAMES, OP_STORE, OP_XCHG } from '../kernel/port.ts';
import { functions, sites } from '../kernel/sites.ts';
import type { Link, Slice } from '../scenario/slice.ts';
import { kthreadNames, type Subject } from '../scenario/story.ts';
import { CTX_BACKUP, BACKUP_NODE, BACKUP_SLOT } from '../hazptr/v5/layout.ts';
import { commPid, fmtContext, taskColumns } from './ftrace.ts';

/** One step of the slice as plain data (the Perfetto timeline's instants: scenario/timeline.ts). */
export interface RaceStep {
  t: number;
  cpu: number;
  /** the task's id, and as the columns show it ("comm-pid") */
  task: number;
  who: string;
  fn: string;
  /** the site's description ("load ctx->slot") */
  desc: string;
  /** what it did, with its edges, as the printed slice says it */
  what: string;
  addr: string;
  value: string;
  /** a load's: who stored what it read */
  readsFrom?: string;
  /** how the slice reached it (slice.ts Edge) */
  edge: string;
  /** the faulting access (not a step: the report stopped it) */
  fault: boolean;
}

/** The slice's steps as plain data, oldest first. */
export function raceSteps(sl: Slice, m: Machine, subject: Subject | undefined): RaceStep[] {
  const d = describer(sl, m, subject);
  const log = sl.log;
  return sl.rows.map((i) => {
    const k = log.kind[i];
    const isLoad = k === OP_LOAD || k === OP_CMPXCHG || k === OP_XCHG;
    const fault = i === sl.start && sl.fault;
    return {
      t: log.t[i], cpu: log.cpu[i], task: log.task[i], who: commPid(m, log.task[i]), fn: sites[log.site[i]].fn.name,
      desc: sites[log.site[i]].desc || OP_NAMES[k], what: d.what(i), addr: m.mem.fmt(log.addr[i]),
      value: k === OP_KFREE || fault ? '' : d.fmtVal(log.val[i]),
      ...(isLoad && !fault ? { readsFrom: d.source(i) } : {}), edge: sl.why.get(i)!.edge, fault,
    };
  });
}

/** The slice as lines: a header, the kthreads, the subject, the steps. */
export function formatSlice(sl: Slice, m: Machine, subject: Subject | undefined): string[] {
  const mem = m.mem;
  const log = sl.log;
  const { what } = describer(sl, m, subject);
  const lines: string[] = [];
  const rows = sl.rows;
  for (let a = 0; a < rows.length; ) {
    let b = a + 1;
    while (b < rows.length && log.task[rows[b]] === log.task[rows[a]] && log.site[rows[b]] === log.site[rows[a]] && log.inv[rows[b]] === log.inv[rows[a]] && rows[b] !== sl.start) b++;
    const i = rows[b - 1];
    const ctx = fmtContext({ t: log.t[rows[a]], cpu: log.cpu[i], ...taskColumns(m, log.task[i]), flags: log.flags[i] & 0xfff });
    lines.push(`${ctx} ${sites[log.site[i]].fn.name}: ${b - a > 1 ? `${b - a} x, the last: ` : ''}${what(i)}`);
    a = b;
  }
  const head = [`hazsim: the race, as a causal slice (${rows.length} steps of ${m.steps}, from the ${sl.fault ? `faulting ${log.kind[sl.start] === OP_STORE ? 'store' : 'load'}` : 'report'} back):`];
  const who = kthreadNames(m, [...new Set(rows.map((i) => log.task[i]))]);
  if (who) head.push(`hazsim: ${who}`);
  if (subject) {
    const o = subject.obj;
    head.push(`hazsim: hazptr_ctx ${mem.fmt(subject.ctx)}${o ? ` in the ${o.size}-byte object at ${mem.fmt(o.addr)}` : ''}; its backup slot's list node ${mem.fmt(subject.ctx + CTX_BACKUP + BACKUP_NODE)}`);
  }
  return [...head, ...lines];
}

/** Names for the words of the subject, and the text of each row. */
function describer(sl: Slice, m: Machine, subject: Subject | undefined): { what: (i: number) => string; fmtVal: (v: number) => string; source: (i: number) => string } {
  const mem = m.mem;
  const log = sl.log;
  const names = new Map<number, string>();
  if (subject) {
    names.set(subject.ctx, 'the ctx');
    names.set(subject.ctx + CTX_BACKUP + BACKUP_NODE, 'the node');
    names.set(subject.ctx + CTX_BACKUP + BACKUP_SLOT, 'its backup slot');
    if (subject.obj && subject.obj.addr !== subject.ctx) names.set(subject.obj.addr, 'the object');
    // what ctx->slot was made to point at: a per-CPU slot, named by its CPU
    for (const i of sl.rows) {
      const v = log.val[i];
      const r = mem.regionOf(v);
      if (log.kind[i] === OP_STORE && log.addr[i] === subject.ctx && r?.kind === 'percpu' && !names.has(v)) names.set(v, `CPU${r.owner}'s per-CPU slot`);
    }
  }
  const fmtVal = (v: number): string => {
    if (v === 0) return 'NULL';
    const s = v >= POISON_BASE || (v >= MEM_BASE && mem.regionOf(v)) ? mem.fmt(v) : v < 4096 ? String(v) : `0x${v.toString(16)}`;
    const n = names.get(v);
    return n ? `${s} (${n})` : s;
  };
  const when = (i: number) => `${commPid(m, log.task[i])} at ${fmtSecs(log.t[i])}`;
  /** who stored what load row i read */
  const source = (i: number): string => {
    const rf = log.link[i];
    return log.flags[i] & FL_FORWARDED ? `forwarded from its own store at ${fmtSecs(log.t[rf])}` : rf >= 0 ? `stored by ${when(rf)}` : 'not stored since boot';
  };
  const unitOf = (i: number) => (log.inv[i] >= 0 ? functions[log.invFn[log.inv[i]]].name : '');

  /** what row i did, with its edges */
  const what = (i: number): string => {
    const s = sites[log.site[i]];
    const k = log.kind[i];
    const desc = s.desc || OP_NAMES[k];
    const at = `[${mem.fmt(log.addr[i])}]`;
    const y = sl.why.get(i);
    // a step that raced with an invocation: it happened (a buffered store: reached memory) while that invocation ran
    let during = y?.edge === 'race' ? `WHILE ${commPid(m, log.task[y.from])} on CPU${log.cpu[y.from]} was in ${unitOf(y.from)}(), from ${fmtSecs(log.t[log.invFirst[log.inv[y.from]]])}` : '';
    let w: string;
    if (i === sl.start && sl.fault) w = `${desc} ${at}: faults (${m.bug!.kind})`;
    else if (k === OP_LOAD || k === OP_CMPXCHG || k === OP_XCHG) {
      const src = source(i);
      w = k === OP_LOAD ? `${desc} ${at} -> ${fmtVal(log.val[i])}, ${src}` : `${desc} ${at} was ${fmtVal(log.val[i])}, ${src}`;
    } else if (k === OP_STORE) {
      const d = log.link[i];
      const drained = d >= 0 ? ` (buffered, reaches memory at ${fmtSecs(log.t[d])}${during ? `, ${during}` : ''})` : ' (buffered)';
      w = `${desc} ${at} <- ${fmtVal(log.val[i])}${log.flags[i] & FL_BUFFERED ? drained : ''}`;
      if (log.flags[i] & FL_BUFFERED && d >= 0) during = '';
    } else if (k === OP_KMALLOC) w = `kmalloc() -> ${fmtVal(log.val[i])}`;
    else if (k === OP_KFREE) w = `kfree(${fmtVal(log.addr[i])})`;
    else w = `${desc} ${at}`;
    // the node still linked from elsewhere: when it is chained, poisoned, or its object freed
    const node = subject ? subject.ctx + CTX_BACKUP + BACKUP_NODE : 0;
    if (node && ((k === OP_STORE && (log.addr[i] === node + 8 || log.val[i] === LIST_POISON1)) || k === OP_KFREE)) {
      // the words that lead to the node (list heads, next fields), not the back pointers (pprev) of the nodes after it
      const to = sl.pointing(node, i).filter((p) => p.addr !== log.val[i] && !sites[log.site[p.row]].desc.includes('pprev'));
      // linked as this CPU sees it (memory, or its own store buffer); or being linked: another CPU's store of the link is
      // still in that CPU's store buffer (x86-TSO), so the link is not in memory yet
      const buffer = (p: Link) => {
        const d = log.link[p.row];
        return p.buffered ? `, still in CPU${log.cpu[p.row]}'s store buffer${d >= 0 ? `; reaches memory at ${fmtSecs(log.t[d])}` : ''}` : '';
      };
      const linked = to.filter((p) => p.seen).map((p) => `[${mem.fmt(p.addr)}] (by ${when(p.row)}${buffer(p)})`);
      const linking = to.filter((p) => !p.seen).map((p) => `[${mem.fmt(p.addr)}] (store by ${when(p.row)}${buffer(p)})`);
      if (linked.length) w += `; the node is still linked from ${linked.join(', ')}`;
      if (linking.length) w += `${linked.length ? ' and' : '; the node'} is being linked from ${linking.join(', ')}`;
    }
    const unit = unitOf(i);
    if (unit && unit !== s.fn.name) w += `, in ${unit}()`;
    if (during) w += ` (${during})`;
    if (log.flags[i] & FL_HARDIRQ) w = `in an interrupt on CPU${log.cpu[i]}, interrupting ${commPid(m, log.task[i])}: ${w}`;
    return w;
  };

  return { what, fmtVal, source };
}
