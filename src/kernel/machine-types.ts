// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The machine's plain-data types: its configuration, the printk log, how a run
 * ended, and one executed step as the history ring and --trace see it.
 */
export interface MachineConfig {
  cpus: number;
  preempt: 'full' | 'none';
  kasan: boolean;
  /** CONFIG_PROVE_LOCKING: lockdep assertions and lock-balance checks */
  lockdep: boolean;
  /** CONFIG_DEBUG_PREEMPT: this_cpu_ptr() in preemptible code */
  debugPreempt: boolean;
  /** simulated nanoseconds one step costs */
  stepNs: number;
  /** probability that a preemptible step is preempted, when another task waits */
  preemptRate: number;
  maxSteps: number;
  /** simulated time limit (ns) */
  maxTimeNs: number;
  softLockupNs: number;
  hungTaskNs: number;
  /** how many steps the report shows before a bug */
  historySteps: number;
  /** "7.0.0-rc1" etc., printed on CPU: lines */
  release: string;
  /** check at the end that no slot or backup slot still holds an address (default on) */
  quiescence?: boolean;
  /** the id of the hazptr mutant this machine runs (src/hazptr/mutant.ts); 0 or absent: the version unmodified */
  mutant?: number;
  /** the seed, for the "Hardware name:" line of a report printed while the run goes on (a WARN) */
  seed?: number;
  /** stop at the first WARN as at any other report (bisect's trial runs) */
  stopAtWarn?: boolean;
  /** 'tso' (x86-TSO store buffers, tso.ts; the default) or 'sc' (every store reaches memory at once) */
  memoryModel?: 'tso' | 'sc';
  /** false: keep no decision log, only its count and digest (a seeded run re-runs its seed to rebuild it) */
  recordSchedule?: boolean;
}

export interface LogLine {
  t: number;
  text: string;
  /** the CPU whose step printed it, -1 outside any step (a timer) */
  cpu: number;
  /** the task current on that CPU (its id), -1 outside any step */
  task: number;
  /** that CPU's state, as a step there records it (StepRecord.flags); 0 outside any step */
  flags: number;
}

export type EndReason = 'done' | 'bug' | 'budget' | 'time' | 'divergence';

/** One executed step, as kept in the history ring and passed to a tracer. */
export interface StepRecord {
  t: number;
  cpu: number;
  task: number;
  site: number;
  kind: number;
  addr: number;
  val: number;
  /** the CPU's state at the step, as ftrace's flag columns show it (FL_* bits, preempt depth in the low byte) */
  flags: number;
}

/** StepRecord.flags: irqs off ('d'), a task waits on this CPU's runqueue ('N'), in hardirq ('h'); bits 0-7: preempt depth */
export const FL_IRQS_OFF = 0x100;
export const FL_NEED_RESCHED = 0x200;
export const FL_HARDIRQ = 0x400;
/** StepRecord.flags under TSO: a store that went into the store buffer; a load served from the CPU's own buffer (store forwarding); a load that read memory while another CPU's buffer held a newer store to the address */
export const FL_BUFFERED = 0x800;
export const FL_FORWARDED = 0x1000;
export const FL_STALE = 0x2000;

/** A load that read memory while another CPU's store to the same address sat in that CPU's store buffer (TSO). */
export interface StaleRead {
  t: number;
  cpu: number;
  task: number;
  site: number;
  addr: number;
  /** the value the load read from memory */
  val: number;
  /** the newest store to the address still buffered: on which CPU, by which task, where, when, what */
  byCpu: number;
  byTask: number;
  bySite: number;
  byTime: number;
  byVal: number;
}
