// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Tasks and CPUs: the model's task_struct and per-CPU state. Plain data that
 * the machine (machine.ts) and its modules read and write.
 */
import type { Region } from './addr.ts';
import type { Machine } from './machine.ts';
import { Port, type KGen } from './port.ts';

export const TASK_RUNNING = 0;
export const TASK_UNINTERRUPTIBLE = 1;
export const TASK_DEAD = 2;

export const TASK_STRUCT_SIZE = 64; // the model's task_struct: only its address matters
export const TASK_COMM_LEN = 16;

export interface Handoff {
  ctx: number;
  ptr: number;
  from: number;
}

export class Task {
  state = TASK_RUNNING;
  cpu: number;
  onCpu = false;
  rqCpu = -1;
  readonly frames: Port[];
  fdepth = 0;
  stack!: Region;
  stackTop = 0;
  taskStruct = 0;
  blockedSince = 0;
  blockedOn = '';
  sleepToken = 0;
  gotMutex = -1;
  /** the mutex a task waits on, for reports */
  blockedLock = 0;
  readonly mailbox: Handoff[] = [];
  received: Handoff | null = null;
  exited = false;
  /** simulated time it was last switched in; -1 before it first ran */
  lastRan = -1;
  /** set_cpus_allowed_ptr() without this CPU (torture_shuffle), -1: none */
  excludedCpu = -1;
  /** set_user_nice(): -20..19; CFS weighs the pick by sched_prio_to_weight[nice + 20] */
  nice = 0;
  /** SCHED_FIFO (sched_set_fifo()): not preempted by fair tasks */
  rt = false;
  /** simulated time it was last switched out (delay_tsc()'s migration check) */
  lastOffCpu = 0;

  constructor(
    m: Machine,
    readonly id: number,
    readonly pid: number,
    readonly comm: string,
    readonly isIdle: boolean,
    public pinned: boolean,
    public homeCpu: number,
  ) {
    this.cpu = homeCpu;
    this.frames = [new Port(m, this), new Port(m, this), new Port(m, this), new Port(m, this), new Port(m, this)];
  }

  get top(): Port {
    return this.frames[this.fdepth - 1];
  }
}

export class Cpu {
  curr!: Task;
  idle!: Task;
  preemptCount = 0;
  irqsOff = false;
  readonly rq: Task[] = [];
  busyUntil = 0;
  irqPending = 0;
  lastResched = 0;
  online = true;
  /** remove_cpu() in progress: takes no new work; offline once idle (see tryCompleteDown in hotplug.ts) */
  goingDown = false;
  readonly ipiQueue: { fn: (io: Port) => KGen; csd: number }[] = [];
  constructor(readonly id: number) {}
}
