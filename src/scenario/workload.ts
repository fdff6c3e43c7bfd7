/**
 * Turn a qualified scenario into a machine: objects and their global pointers,
 * hazptr_ctx storage (static, or a stack frame per iteration), and one kthread
 * per task running its program; interrupt handlers for `irqs:`.
 *
 * The program interpreter is kernel code like any other: each op calls the
 * hazptr version or the kernel primitives, and every shared access is a step.
 */
import { Machine, type MachineConfig, type Task } from '../kernel/machine.ts';
import { raw_spin_lock, raw_spin_unlock, mutex_lock, mutex_unlock, MUTEX_SIZE, SPINLOCK_SIZE } from '../kernel/locks.ts';
import {
  OP_HANDOFF, OP_KFREE, OP_KMALLOC, OP_NOP, OP_RECEIVE, OP_SLEEP, OP_UDELAY, OP_WAIT_HANDOFF, ORD_ONCE, ORD_PLAIN, ORD_RELEASE,
  type KGen, type Port,
} from '../kernel/port.ts';
import { kfunc, site } from '../kernel/sites.ts';
import { cond_resched, schedule } from '../sched/core.ts';
import type { Strategy } from '../sched/strategy.ts';
import { versions } from '../hazptr/index.ts';
import type { Op, Scenario } from './schema.ts';

const W = 'hazsim/workload.c';
const F_task = kfunc('hazsim_kthread', W);
const F_irq = kfunc('hazsim_irq_handler', W);
const F_update = kfunc('hazsim_update', W);
const F_deref = kfunc('hazsim_deref', W);
const F_sleep = kfunc('usleep_range_state', 'kernel/time/sleep_timeout.c');
const F_udelay = kfunc('__udelay', 'arch/x86/lib/delay.c');
const S_deref = site(F_deref, 0, 'READ_ONCE(p->data)', 'load p->data');
const S_new = site(F_update, 0, 'p = kmalloc(sizeof(*p), GFP_KERNEL);', 'kmalloc');
const S_init = site(F_update, 0, 'p->data = HAZSIM_MAGIC;', 'store p->data');
const S_publish_old = site(F_update, 0, 'old = rcu_dereference_protected(*gp, 1);', 'load *gp');
const S_publish = site(F_update, 0, 'smp_store_release(gp, p);', 'store-release *gp = p');
const S_free = site(F_update, 0, 'kfree(old);', 'kfree');
const S_sleep = site(F_sleep, 0, 'schedule_hrtimeout_range(&delta, 0, HRTIMER_MODE_REL)', 'sleep');
const S_udelay = site(F_udelay, 0, 'delay_fn(loops)', 'udelay');
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

/** Per-invocation state of a program: where each ctx lives and what it protects. */
interface Frame {
  ctx: Map<string, number>;
  held: Map<string, number>;
  /** names bound by receive: -> the ctx address and pointer handed over */
  received: Map<string, { ctx: number; ptr: number }>;
}

export function buildMachine(s: Scenario, strategy: Strategy, overrides: Partial<MachineConfig> = {}): Machine {
  const version = versions[s.hazptr];
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
    let a = map.get(name);
    if (a === undefined) map.set(name, (a = m.mem.allocStatic(size)));
    return a;
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
    const statics = new Map<string, number>();
    const stackCtx: string[] = [];
    for (const [c, kind] of Object.entries(t.contexts)) {
      if (kind === 'static') statics.set(c, m.mem.allocStatic(version.ctxSize));
      else stackCtx.push(c);
    }
    m.spawn(t.name, (io) => taskMain(io, env, t.program, t.repeat, statics, stackCtx), { cpu: t.cpu, pinned: t.pinned });
  }
  s.irqs.forEach((q) => {
    const statics = new Map<string, number>();
    for (const c of Object.keys(q.contexts)) statics.set(c, m.mem.allocStatic(version.ctxSize));
    m.addIrq({
      name: q.name, cpu: q.cpu, periodNs: q.every_us * 1000,
      handler: (io) => irqMain(io, env, q.program, statics),
    });
  });
  return m;
}

function* taskMain(io: Port, env: Env, program: Op[], repeat: number, statics: Map<string, number>, stackCtx: string[]): KGen {
  io.enter(F_task);
  const m = env.m;
  const t: Task = io.task;
  const ctxSize = m.hazptr.ctxSize;
  m.printk(`hazsim: ${t.comm} (pid ${t.pid}) started on CPU${t.cpu}`);
  const frameSize = stackCtx.length * ctxSize;
  for (let it = 0; it < repeat; it++) {
    const fr: Frame = { ctx: new Map(statics), held: new Map(), received: new Map() };
    const base = frameSize ? m.stackPush(t, frameSize) : 0;
    stackCtx.forEach((c, k) => fr.ctx.set(c, base + k * ctxSize));
    yield runOps(io, env, program, fr);
    if (frameSize) m.stackPop(t, base, frameSize, F_task.name);
  }
  io.leave();
}

function* irqMain(io: Port, env: Env, program: Op[], statics: Map<string, number>): KGen {
  io.enter(F_irq);
  yield runOps(io, env, program, { ctx: new Map(statics), held: new Map(), received: new Map() });
  io.leave();
}

function* runOps(io: Port, env: Env, ops: Op[], fr: Frame): KGen {
  const m = env.m;
  const hz = m.hazptr;
  for (const op of ops) {
    if (typeof op === 'string' || Object.values(op)[0] === null) {
      const k = typeof op === 'string' ? op : Object.keys(op)[0];
      switch (k) {
        case 'schedule': yield schedule(io); break;
        case 'cond_resched': yield cond_resched(io); break;
        case 'preempt_disable': io.preempt_disable(); break;
        case 'preempt_enable': io.preempt_enable(); break;
        case 'irq_disable': io.local_irq_disable(); break;
        case 'irq_enable': io.local_irq_enable(); break;
      }
      continue;
    }
    if ('acquire' in op) {
      const a = op.acquire;
      const name = typeof a === 'string' ? a : a.ctx;
      const from = (typeof a === 'string' ? undefined : a.from) ?? env.objects.keys().next().value!;
      const ctx = fr.ctx.get(name)!;
      while (!(yield io.op(OP_WAIT_HANDOFF, S_wait_handoff, 0, ctx))) yield schedule(io);
      const p = yield hz.hazptr_acquire(io, ctx, env.objects.get(from)!, 0);
      fr.held.set(name, p);
    } else if ('release' in op) {
      const r = fr.received.get(op.release);
      if (r) {
        yield hz.hazptr_release(io, r.ctx, r.ptr, 0);
        fr.received.delete(op.release);
        m.handoffReleased(r.ctx);
      } else {
        yield hz.hazptr_release(io, fr.ctx.get(op.release)!, fr.held.get(op.release) ?? 0, 0);
        fr.held.delete(op.release);
      }
    } else if ('deref' in op) {
      const r = fr.received.get(op.deref);
      const p = r ? r.ptr : fr.held.get(op.deref) ?? 0;
      if (p) {
        io.enter(F_deref);
        yield io.load(p, ORD_ONCE, S_deref);
        io.leave();
      }
    } else if ('handoff' in op) {
      const h = op.handoff;
      const r = fr.received.get(h.ctx);
      const ctx = r ? r.ctx : fr.ctx.get(h.ctx)!;
      const p = r ? r.ptr : fr.held.get(h.ctx) ?? 0;
      yield io.op(OP_HANDOFF, S_handoff, p, ctx, env.tasks.get(h.to)!);
      fr.held.delete(h.ctx);
      fr.received.delete(h.ctx);
    } else if ('receive' in op) {
      while (!(yield io.op(OP_RECEIVE, S_receive))) yield schedule(io);
      const got = io.task.received!;
      fr.received.set(op.receive, { ctx: got.ctx, ptr: got.ptr });
    } else if ('update' in op) {
      const gp = env.objects.get(op.update)!;
      io.enter(F_update);
      const p = yield io.op(OP_KMALLOC, S_new, OBJ_SIZE);
      yield io.store(p, OBJ_MAGIC, ORD_PLAIN, S_init);
      const old = yield io.load(gp, ORD_PLAIN, S_publish_old);
      yield io.store(gp, p, ORD_RELEASE, S_publish);
      yield hz.hazptr_synchronize(io, old, 0);
      yield io.op(OP_KFREE, S_free, 0, old);
      io.leave();
    } else if ('sleep_us' in op) {
      io.enter(F_sleep);
      m.mightSleep(io, F_sleep.file);
      yield io.op(OP_SLEEP, S_sleep, Math.round(op.sleep_us * 1000));
      yield schedule(io);
      io.leave();
    } else if ('udelay_us' in op) {
      io.enter(F_udelay);
      yield io.op(OP_UDELAY, S_udelay, Math.round(op.udelay_us * 1000));
      io.leave();
    } else if ('spin' in op) {
      for (let i = 0; i < op.spin; i++) yield io.op(OP_NOP, S_spin);
    } else if ('lock' in op) {
      yield mutex_lock(io, env.locks.get(op.lock)!, 0);
    } else if ('unlock' in op) {
      yield mutex_unlock(io, env.locks.get(op.unlock)!, 0);
    } else if ('spin_lock' in op) {
      yield raw_spin_lock(io, env.spinlocks.get(op.spin_lock)!, 0);
    } else if ('spin_unlock' in op) {
      yield raw_spin_unlock(io, env.spinlocks.get(op.spin_unlock)!, 0);
    } else if ('loop' in op) {
      for (let i = 0; i < op.loop.times; i++) yield runOps(io, env, op.loop.do, fr);
    }
  }
}
