// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Trace lines in ftrace's columns, as the trace file and `trace-cmd report`
 * print them (kernel/trace/trace_output.c, trace_print_context() with the
 * irq-info option):
 *
 *   "%16s-%-7d [%03d] " comm, pid, CPU; five flag characters (trace_print_lat_fmt());
 *   " %5lu.%06lu: " the timestamp; then "function: what".
 *
 * The idle task prints as "<idle>-0", as ftrace shows swapper. A console
 * (printk) line is the printk:console event: "console: <text>".
 */
import type { Machine } from '../kernel/machine.ts';
import { FL_HARDIRQ, FL_IRQS_OFF, FL_NEED_RESCHED } from '../kernel/machine.ts';
import { fmtSecs } from '../kernel/reports.ts';

/** Who ran a traced event, where, when and in which state: the columns before "function: what". */
export interface TraceContext {
  t: number;
  cpu: number;
  /** the task's comm, "<idle>" for an idle task */
  comm: string;
  pid: number;
  /** StepRecord.flags: FL_* bits, preempt depth in the low byte */
  flags: number;
}

/** One traced event: a step of a task, or a console (printk) line (fn "console"). */
export interface StepLine extends TraceContext {
  event: 'step' | 'console';
  fn: string;
  what: string;
}

/** The task columns of task `id` (-1: no task, shown as the idle task). */
export function taskColumns(m: Machine, id: number): { comm: string; pid: number } {
  const t = id >= 0 ? m.tasks[id] : undefined;
  return !t || t.isIdle ? { comm: '<idle>', pid: 0 } : { comm: t.comm, pid: t.pid };
}

/** "comm-pid", as the columns show a task ("<idle>-0" for an idle task). */
export function commPid(m: Machine, id: number): string {
  const c = taskColumns(m, id);
  return `${c.comm}-${c.pid}`;
}

/**
 * trace_print_lat_fmt(): irqs-off 'd'; need-resched 'N'; hardirq 'h'; the preempt
 * depth as one hex digit (tracing_gen_ctx() keeps min(preempt_count & 0xff, 0xf));
 * migrate-disable, not modelled, '.'. A '.' for each that is off.
 */
export function fmtFlags(flags: number): string {
  const depth = Math.min(flags & 0xff, 0xf);
  return `${flags & FL_IRQS_OFF ? 'd' : '.'}${flags & FL_NEED_RESCHED ? 'N' : '.'}${flags & FL_HARDIRQ ? 'h' : '.'}${depth ? depth.toString(16) : '.'}.`;
}

/** "           comm-pid     [cpu] flags  secs.usecs:" */
export function fmtContext(c: TraceContext): string {
  return `${c.comm.padStart(16)}-${String(c.pid).padEnd(7)} [${String(c.cpu).padStart(3, '0')}] ${fmtFlags(c.flags)} ${fmtSecs(c.t).padStart(12)}:`;
}

export function fmtStepLine(l: StepLine): string {
  return `${fmtContext(l)} ${l.fn}: ${l.what}`;
}

/** The column legend the trace file prints above its lines (print_func_help_header_irq()). */
export const TRACE_HEADER = [
  '#                                _-----=> irqs-off/BH-disabled',
  '#                               / _----=> need-resched',
  '#                              | / _---=> hardirq/softirq',
  '#                              || / _--=> preempt-depth',
  '#                              ||| / _-=> migrate-disable',
  '#                              |||| /     delay',
  '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
  '#              | |         |   |||||     |         |',
];
