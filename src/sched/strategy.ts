// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The interface between the machine and a scheduling strategy.
 *
 * The machine asks a strategy for every choice it cannot make alone; it records
 * every answer itself (schedule.ts), whatever the strategy, so any run replays.
 * A strategy answers `choose` and may check what was chosen in `confirm`
 * (a replay strategy uses it to stop at the first divergent decision).
 */

/** Which CPU executes the next step, among the eligible ones (n = how many). */
export const D_CPU = 0;
/** Preempt the task on this CPU before its next step? 0 no, 1 yes. */
export const D_PREEMPT = 1;
/** pick_next_task(): which runnable task, among n candidates. */
export const D_PICK = 2;
/** select_task_rq(): which CPU a waking or preempted task is queued on. */
export const D_WAKE_CPU = 3;
/** A random number the workload asked for (torture_random and the like). */
export const D_RAND = 4;

/**
 * x86-TSO (tso.ts): how many more machine steps the store that just became the
 * oldest of its CPU's store buffer stays there (0: it reaches memory before
 * the next step). Asked once per store; a drain is not a step.
 */
export const D_DRAIN = 5;

export const DECISION_NAMES = ['cpu', 'preempt', 'pick', 'wake-cpu', 'rand', 'drain'] as const;

export interface Strategy {
  /**
   * An index in [0, n). `options`, when given, holds what is chosen among (its
   * first n entries): the eligible CPU ids for D_CPU, the CPU ids for D_WAKE_CPU,
   * the candidate task ids for D_PICK. Strategies that need no names ignore it.
   * `weights`, for D_PICK, holds each candidate's CFS load weight (its nice
   * level): a randomised strategy draws in proportion to them; a systematic one
   * may ignore them.
   */
  choose(kind: number, n: number, options?: Int32Array, weights?: Int32Array): number;
  /** What the last choice led to: the CPU, task id and site (-1 when none) of the step it selected. */
  confirm(cpu: number, task: number, site: number): void;
}
