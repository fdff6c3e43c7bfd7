// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Turn a qualified scenario into a machine: objects and their global pointers,
 * hazptr_ctx storage (static, or a stack frame per iteration), and one kthread
 * per task running its program; interrupt handlers for `irqs:`.
 *
 * The program interpreter is kernel code like any other: each op calls the
 * hazptr version or the kernel primitives, and every shared access is a step.
 */
import { udelay } from '../kernel/delay.ts';
import { Machine, type MachineConfig } from '../kernel/machine.ts';
import type { Task } from '../kernel/task.ts';
import { raw_spin_lock, raw_spin_unlock, mutex_lock, mutex_unlock, MUTEX_SIZE, SPINLOCK_SIZE } from '../kernel/locks.ts';
import {
  OP_HANDOFF, OP_KFREE, OP_KMALLOC, OP_NOP, OP_RECEIVE, OP_SLEEP, OP_WAIT_HANDOFF, ORD_ONCE, ORD_PLAIN, ORD_RELEASE,
  type KGen, type Port,
} from '../kernel/port.ts';
import { kfunc, site } from '../kernel/sites.ts';
import { cond_resched, schedule } from '../sched/core.ts';
import type { Strategy } from '../sched/strategy.ts';
import { versionOf } from '../hazptr/index.ts';
import type { Op, Scenario } from './schema.ts';
import { TORTURE_DEFAULTS, defineTorturePercpu, startTorture, tortureMachineOverrides } from '../torture/index.ts';

const W = 'hazsim/workload.c';
const F_task = kfunc('hazsim_kthread', W);
const F_irq = kfunc('hazsim_irq_handler', W);
const F_update = kfunc('hazsim_update', W);
const F_deref = kfunc('hazsim_deref', W);
const F_sleep = kfunc('usleep_range_state', 'kernel/time/sleep_timeout.c');
const S_deref = site(F_deref, 0, 'READ_ONCE(p->data)', 'load p->data');
const S_new = site(F_update, 0, 'p = kmalloc(sizeof(*p), GFP_KERNEL);', 'kmalloc');
const S_init = site(F_update, 0, 'p->data = HAZSIM_MAGIC;', 'store p->data');
const S_publish_old = site(F_update, 0, 'old = rcu_dereference_protected(*gp, 1);', 'load *gp');
const S_publish = site(F_update, 0, 'smp_store_release(gp, p);', 'store-release *gp = p');
const S_free = site(F_update, 0, 'kfree(old);', 'kfree');
const S_sleep = site(F_sleep, 0, 'schedule_hrtimeout_range(&delta, 0, HRTIMER_MODE_REL)', 'sleep');
const S_spin = site(F_task, 0, 'cpu_relax(); /* spin: */', 'spin');
const S_handoff = site(F_task, 0, 'hazsim_handoff(ctx, p, to)', 'handoff');
const S_receive = site(F_task, 0, 'hazsim_receive(&ctx, &p)', 'receive');
const S_wait_handoff = site(F_task, 0, 'hazsim_wait_handed_back(ctx)', 'wait for handed-off ctx');

/** The object every global pointer points to: 64 bytes, its first word a magic value. */
export const OBJ_SIZE = 64;
export const OBJ_MAGIC = 0x68617a73; // 'hazs'

/** The qualified machine configuration of a scenario. */
export function machineConfig(s: Scenario): MachineConfig {
  return {
    cpus: s.machine.cpus,
    preempt: s.machine.preempt,
    kasan: s.machine.kasan,
    lockdep: s.machine.lockdep,
    debugPreempt: s.machine.debug_preempt,
    stepNs: s.machine.step_ns,
    preemptRate: s.machine.preempt_rate,
    memoryModel: s.machine.memory_model,
    maxSteps: s.limits.steps,
    maxTimeNs: s.limits.time_ms !== undefined ? s.limits.time_ms * 1e6 : Infinity,
    softLockupNs: s.limits.soft_lockup_ms * 1e6,
    hungTaskNs: s.limits.hung_task_ms * 1e6,
    historySteps: s.limits.history,
    release: '7.0.0-rc1-hazsim',
  };
}

interface Env {
  m: Machine;
  objects: Map<string, number>;
  tasks: Map<string, number>;
  locks: Map<string, number>;
  spinlocks: Map<string, number>;
}

// ---- compiled programs -------------------------------------------------------------
// A program is compiled once into tagged ops; a context name becomes a slot index
// in the task's per-iteration arrays, an object or lock name an address.
const K_SCHEDULE = 1, K_COND_RESCHED = 2, K_PREEMPT_DISABLE = 3, K_PREEMPT_ENABLE = 4, K_IRQ_DISABLE = 5,
  K_IRQ_ENABLE = 6, K_ACQUIRE = 7, K_RELEASE = 8, K_DEREF = 9, K_HANDOFF = 10, K_RECEIVE = 11, K_UPDATE = 12,
  K_SLEEP = 13, K_UDELAY = 14, K_SPIN = 15, K_LOCK = 16, K_UNLOCK = 17, K_SPIN_LOCK = 18, K_SPIN_UNLOCK = 19, K_LOOP = 20,
  K_DETACH = 21;

interface COp {
  k: number;
  /** context slot (acquire/release/deref/handoff/receive) */
  slot: number;
  /** object, lock or task: an address or id; a count or nanoseconds */
  arg: number;
  body: COp[];
}

const NO_ARG: Record<string, number> = {
  schedule: K_SCHEDULE, cond_resched: K_COND_RESCHED, preempt_disable: K_PREEMPT_DISABLE,
  preempt_enable: K_PREEMPT_ENABLE, irq_disable: K_IRQ_DISABLE, irq_enable: K_IRQ_ENABLE,
};

/** Slots: declared contexts first, then names bound by receive:. */
function compile(ops: Op[], env: Env, slots: Map<string, number>): COp[] {
  const slotOf = (n: string) => {
    let i = slots.get(n);
    if (i === undefined) slots.set(n, (i = slots.size));
    return i;
  };
  const c = (k: number, slot = -1, arg = 0, body: COp[] = []): COp => ({ k, slot, arg, body });
  return ops.map((op): COp => {
    if (typeof op === 'string') return c(NO_ARG[op]);
    const [key] = Object.keys(op);
    if (key in NO_ARG) return c(NO_ARG[key]);
    if ('acquire' in op) {
      const a = op.acquire;
      const from = (typeof a === 'string' ? undefined : a.from) ?? env.objects.keys().next().value!;
      return c(K_ACQUIRE, slotOf(typeof a === 'string' ? a : a.ctx), env.objects.get(from)!);
    }
    if ('release' in op) return c(K_RELEASE, slotOf(op.release));
    if ('detach' in op) return c(K_DETACH, slotOf(op.detach));
    if ('deref' in op) return c(K_DEREF, slotOf(op.deref));
    if ('handoff' in op) return c(K_HANDOFF, slotOf(op.handoff.ctx), env.tasks.get(op.handoff.to)!);
    if ('receive' in op) return c(K_RECEIVE, slotOf(op.receive));
    if ('update' in op) return c(K_UPDATE, -1, env.objects.get(op.update)!);
    if ('sleep_us' in op) return c(K_SLEEP, -1, Math.round(op.sleep_us * 1000));
    if ('udelay_us' in op) return c(K_UDELAY, -1, Math.round(op.udelay_us * 1000));
    if ('spin' in op) return c(K_SPIN, -1, op.spin);
    if ('lock' in op) return c(K_LOCK, -1, env.locks.get(op.lock)!);
    if ('unlock' in op) return c(K_UNLOCK, -1, env.locks.get(op.unlock)!);
    if ('spin_lock' in op) return c(K_SPIN_LOCK, -1, env.spinlocks.get(op.spin_lock)!);
    if ('spin_unlock' in op) return c(K_SPIN_UNLOCK, -1, env.spinlocks.get(op.spin_unlock)!);
    if ('loop' in op) return c(K_LOOP, -1, op.loop.times, compile(op.loop.do, env, slots));
    throw new Error(`uncompiled op ${key}`);
  });
}

/**
 * One invocation's state, reused across iterations: for each slot, the ctx
 * address, the pointer it protects, and whether it was received (handed over).
 */
interface Frame {
  ctx: Float64Array;
  held: Float64Array;
  received: Uint8Array;
}

function newFrame(n: number): Frame {
  return { ctx: new Float64Array(n), held: new Float64Array(n), received: new Uint8Array(n) };
}

export function buildMachine(s: Scenario, strategy: Strategy, overrides: Partial<MachineConfig> = {}): Machine {
  const version = versionOf(s.hazptr, s.hazptr_debug);
  if (s.hazptr_mutant && overrides.mutant === undefined) overrides = { ...overrides, mutant: version.mutants.find((x) => x.name === s.hazptr_mutant)!.id };
  if (s.hazptrtorture) {
    let pendingOff = 0;
    const m = new Machine({ ...machineConfig(s), ...tortureMachineOverrides(), ...overrides }, version, strategy, (mem) => {
      pendingOff = defineTorturePercpu(mem);
    });
    const { module, ...params } = s.hazptrtorture;
    startTorture(m, { ...TORTURE_DEFAULTS, ...params }, pendingOff, module);
    return m;
  }
  const m = new Machine({ ...machineConfig(s), ...overrides }, version, strategy);
  const env: Env = { m, objects: new Map(), tasks: new Map(), locks: new Map(), spinlocks: new Map() };
  const boot = { pid: 0, comm: 'swapper/0', trace: ['hazsim_init'] };
  for (const o of s.objects) {
    const gp = m.mem.allocStatic(8);
    const obj = m.mem.kmalloc(OBJ_SIZE, boot);
    m.mem.poke(obj, OBJ_MAGIC);
    m.mem.poke(gp, obj);
    env.objects.set(o, gp);
  }
  const lockOf = (map: Map<string, number>, name: string, size: number) => {
    if (!map.has(name)) map.set(name, m.mem.allocStatic(size));
  };
  const collectLocks = (ops: Op[]) => {
    for (const op of ops) {
      if (typeof op !== 'object') continue;
      if ('lock' in op) lockOf(env.locks, op.lock, MUTEX_SIZE);
      if ('unlock' in op) lockOf(env.locks, op.unlock, MUTEX_SIZE);
      if ('spin_lock' in op) lockOf(env.spinlocks, op.spin_lock, SPINLOCK_SIZE);
      if ('spin_unlock' in op) lockOf(env.spinlocks, op.spin_unlock, SPINLOCK_SIZE);
      if ('loop' in op) collectLocks(op.loop.do);
    }
  };
  s.tasks.forEach((t) => collectLocks(t.program));
  s.irqs.forEach((q) => collectLocks(q.program));

  const firstTask = m.tasks.length;
  s.tasks.forEach((t, i) => env.tasks.set(t.name, firstTask + i));
  for (const t of s.tasks) {
    const slots = new Map<string, number>();
    const statics: [number, number][] = [];
    const stackSlots: number[] = [];
    for (const [c, kind] of Object.entries(t.contexts)) {
      slots.set(c, slots.size);
      if (kind === 'static') statics.push([slots.get(c)!, m.mem.allocStatic(version.ctxSize)]);
      else stackSlots.push(slots.get(c)!);
    }
    const program = compile(t.program, env, slots);
    const fr = newFrame(slots.size);
    for (const [i, a] of statics) fr.ctx[i] = a;
    const task = m.spawn(t.name, (io) => taskMain(io, env, program, t.repeat, fr, stackSlots), { cpu: t.cpu, pinned: t.pinned });
    m.setNice(task, t.nice); // set_user_nice() before it first runs
  }
  s.irqs.forEach((q) => {
    const slots = new Map<string, number>();
    for (const c of Object.keys(q.contexts)) slots.set(c, slots.size);
    const program = compile(q.program, env, slots);
    const fr = newFrame(slots.size);
    for (const i of slots.values()) fr.ctx[i] = m.mem.allocStatic(version.ctxSize);
    m.addIrq({ name: q.name, cpu: q.cpu, periodNs: q.every_us * 1000, handler: (io) => irqMain(io, env, program, fr) });
  });
  return m;
}

function* taskMain(io: Port, env: Env, program: COp[], repeat: number, fr: Frame, stackSlots: number[]): KGen {
  io.enter(F_task);
  const m = env.m;
  const t: Task = io.task;
  const ctxSize = m.hazptr.ctxSize;
  m.printk(`hazsim: ${t.comm} (pid ${t.pid}) started on CPU${t.cpu}`);
  const frameSize = stackSlots.length * ctxSize;
  for (let it = 0; it < repeat; it++) {
    // a stack frame per iteration: the contexts declared `stack` live in it
    const base = frameSize ? m.stackPush(t, frameSize) : 0;
    for (let k = 0; k < stackSlots.length; k++) fr.ctx[stackSlots[k]] = base + k * ctxSize;
    fr.held.fill(0);
    yield runOps(io, env, program, fr);
    if (frameSize) m.stackPop(t, base, frameSize, F_task.name);
  }
  io.leave();
}

function* irqMain(io: Port, env: Env, program: COp[], fr: Frame): KGen {
  io.enter(F_irq);
  fr.held.fill(0);
  yield runOps(io, env, program, fr);
  io.leave();
}

function* runOps(io: Port, env: Env, ops: COp[], fr: Frame): KGen {
  const m = env.m;
  const hz = m.hazptr;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const s = op.slot;
    switch (op.k) {
      case K_SCHEDULE: yield schedule(io); break;
      case K_COND_RESCHED: yield cond_resched(io); break;
      case K_PREEMPT_DISABLE: io.preempt_disable(); break;
      case K_PREEMPT_ENABLE: io.preempt_enable(); break;
      case K_IRQ_DISABLE: io.local_irq_disable(); break;
      case K_IRQ_ENABLE: io.local_irq_enable(); break;
      case K_ACQUIRE: {
        const ctx = fr.ctx[s];
        while (!(yield io.op(OP_WAIT_HANDOFF, S_wait_handoff, 0, ctx))) yield schedule(io);
        fr.held[s] = yield hz.hazptr_acquire(io, ctx, op.arg, 0);
        fr.received[s] = 0;
        break;
      }
      case K_RELEASE:
        yield hz.hazptr_release(io, fr.ctx[s], fr.held[s], 0);
        if (fr.received[s]) m.handoffReleased(fr.ctx[s]);
        fr.held[s] = 0;
        fr.received[s] = 0;
        break;
      case K_DETACH:
        // only for a ctx that holds a pointer: hazptr_detach() has no NULL-address check
        if (fr.held[s]) yield hz.hazptr_detach!(io, fr.ctx[s], 0);
        break;
      case K_DEREF:
        if (fr.held[s]) {
          io.enter(F_deref);
          yield io.load(fr.held[s], ORD_ONCE, S_deref);
          io.leave();
        }
        break;
      case K_HANDOFF:
        yield io.op(OP_HANDOFF, S_handoff, fr.held[s], fr.ctx[s], op.arg);
        fr.held[s] = 0;
        fr.received[s] = 0;
        break;
      case K_RECEIVE: {
        while (!(yield io.op(OP_RECEIVE, S_receive))) yield schedule(io);
        const got = io.task.received!;
        fr.ctx[s] = got.ctx;
        fr.held[s] = got.ptr;
        fr.received[s] = 1;
        break;
      }
      case K_UPDATE: {
        const gp = op.arg;
        io.enter(F_update);
        const p = yield io.op(OP_KMALLOC, S_new, OBJ_SIZE);
        yield io.store(p, OBJ_MAGIC, ORD_PLAIN, S_init);
        const old = yield io.load(gp, ORD_PLAIN, S_publish_old);
        yield io.store(gp, p, ORD_RELEASE, S_publish);
        yield hz.hazptr_synchronize(io, old, 0);
        yield io.op(OP_KFREE, S_free, 0, old);
        io.leave();
        break;
      }
      case K_SLEEP:
        io.enter(F_sleep);
        m.mightSleep(io, F_sleep.file);
        yield io.op(OP_SLEEP, S_sleep, op.arg);
        yield schedule(io);
        io.leave();
        break;
      case K_UDELAY:
        yield udelay(io, op.arg);
        break;
      case K_SPIN:
        if (op.arg > 0) yield io.op(OP_NOP, S_spin, op.arg); // op.arg NOP steps (the machine repeats an OP_NOP val times)
        break;
      case K_LOCK: yield mutex_lock(io, op.arg, 0); break;
      case K_UNLOCK: yield mutex_unlock(io, op.arg, 0); break;
      case K_SPIN_LOCK: yield raw_spin_lock(io, op.arg, 0); break;
      case K_SPIN_UNLOCK: yield raw_spin_unlock(io, op.arg, 0); break;
      case K_LOOP:
        for (let n = 0; n < op.arg; n++) yield runOps(io, env, op.body, fr);
        break;
    }
  }
}
