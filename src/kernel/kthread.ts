// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Creating tasks: each CPU's idle task (swapper/N) and the boot code that runs
 * before the scheduler starts, when the machine is built; kthreads after.
 */
import { kthread_start } from '../sched/core.ts';
import type { Machine } from './machine.ts';
import { FRAME_TASK, OP_LOAD, OP_STORE, Port, type KGen } from './port.ts';
import { enqueue } from './runqueue.ts';
import { TASK_COMM_LEN, TASK_STRUCT_SIZE, Task } from './task.ts';

/** A task with its stack and task_struct, not yet running anything. */
export function newTask(m: Machine, comm: string, isIdle: boolean, pinned: boolean, cpu: number, pid: number): Task {
  const t = new Task(m, m.tasks.length, pid, comm.slice(0, TASK_COMM_LEN - 1), isIdle, pinned, cpu);
  m.tasks.push(t);
  t.stack = m.mem.allocStack(t.id);
  t.stackTop = t.stack.hi;
  t.taskStruct = m.mem.kmalloc(TASK_STRUCT_SIZE, { pid: 0, comm: 'swapper/0', trace: ['copy_process'] });
  return t;
}

/** Create a kthread; it is queued on `cpu` (or a CPU the scheduler picks) and starts when scheduled. */
export function spawn(m: Machine, comm: string, fn: (io: Port) => KGen, opts: { cpu?: number; pinned?: boolean }): Task {
  const cpu = opts.cpu ?? m.tasks.filter((t) => !t.isIdle).length % m.cfg.cpus;
  const t = newTask(m, comm, false, !!opts.pinned, cpu, m.nextPid++);
  const f = t.frames[t.fdepth++];
  f.frameKind = FRAME_TASK;
  f.depth = 0;
  f.gen = kthread_start(f, fn);
  f.calls[0] = f.gen;
  f.ncalls = 1;
  f.resumePending = true;
  m.live++;
  enqueue(m, t, cpu);
  return t;
}

/** Run boot code (hazptr_init) to completion on CPU 0, before the scheduler starts. */
export function runBootCode(m: Machine, fn: (io: Port) => KGen): void {
  const io = new Port(m, m.cpus[0].idle);
  const stack: KGen<unknown>[] = [fn(io)];
  let v = 0;
  while (stack.length) {
    const r = stack[stack.length - 1].next(v);
    v = 0;
    if (r.done) {
      stack.pop();
      v = (r.value as number | undefined) ?? 0;
    } else if (r.value !== io) stack.push(r.value as KGen<unknown>);
    else if (io.kind === OP_STORE) m.mem.poke(io.addr, io.val);
    else if (io.kind === OP_LOAD) v = m.mem.peek(io.addr);
    else throw new Error(`boot code may only load and store (op ${io.kind})`);
  }
}
