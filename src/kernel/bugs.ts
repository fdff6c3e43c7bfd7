// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A bug found by a run, as plain data. src/report turns it into dmesg lines.
 */

export type BugKind =
  | 'general-protection-fault'
  | 'null-pointer-dereference'
  | 'page-fault'
  | 'kasan'
  | 'sleeping-in-atomic'
  | 'scheduling-while-atomic'
  | 'lockdep-preemption-disabled'
  | 'bad-unlock'
  | 'spinlock-recursion'
  | 'recursive-locking'
  | 'smp-processor-id-preemptible'
  | 'soft-lockup'
  | 'endless-loop'
  | 'stalled-at-budget'
  | 'hung-task'
  | 'deadlock'
  | 'quiescence-leak'
  | 'too-short-grace-period'
  | 'writer-stall'
  | 'preempt-count-underflow'
  | 'hazptr-debug-remote-release'
  | 'hazptr-overflow-wildcard';

export interface TraceEntry {
  fn: string;
  file: string;
  line: number;
  inline: boolean;
  /** '<IRQ>' / '</IRQ>' style markers are entries with fn '' and marker set */
  marker?: string;
}

export interface Bug {
  kind: BugKind;
  /** the first line, as the kernel prints it */
  headline: string;
  /** lines printed before the headline (a WARN with a message: the cut-here line and the message) */
  lead?: string[];
  /** lines printed between the headline and the CPU line (KASAN "Read of size 8 ...", #PF lines) */
  pre: string[];
  time: number;
  cpu: number;
  pid: number;
  comm: string;
  /** "RIP: 0010:..." site: function, file:line and the C statement */
  rip?: { fn: string; file: string; line: number; stmt: string };
  /** callers, innermost first, as in the Call Trace */
  trace: TraceEntry[];
  /** lines after the trace: KASAN allocation and free tracks, notes on poison values */
  post: string[];
  /** kind + faulting function + call trace functions: no addresses, stable across runs */
  signature: string;
  /** whether the kernel would print an Oops (and "end trace") or a warning-style report */
  oops: boolean;
  /** a WARN (WARN_ONCE, WARN_ON_ONCE): printed when it happens, and the run goes on (reports.ts warn()) */
  warning?: boolean;
  /** a WARN came before this report: the CPU line says "Tainted: G W" (TAINT_WARN) */
  tainted?: boolean;
}
