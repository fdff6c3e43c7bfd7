/**
 * The simulated SMP machine: CPUs, tasks, the step engine, timers, faults and
 * debug checks.
 *
 * The step engine (run/stepCpu) is the hot path: at each step the strategy
 * picks an eligible CPU, the CPU may take an interrupt or be preempted, or it
 * executes the pending op of the frame on top of its current task and resumes
 * that frame's generator to its next op. Nothing is allocated per step except
 * the generator's own iterator result.
 *
 * Everything random comes from the strategy through decide(); every decision is
 * recorded in `schedule`, so any run replays.
 */
import { MEM_BASE, PAGE_SIZE, POISON_BASE, describePoison } from './addr.ts';
import type { Bug, BugKind, TraceEntry } from './bugs.ts';
import { EV_BUSY_END, EV_CALLBACK, EV_HUNG_CHECK, EV_IRQ, EV_WAKE, EventQueue } from './events.ts';
import { Memory, SH_FREED, SH_LIVE, SH_STACK_DEAD, type Track } from './memory.ts';
import type { Region } from './addr.ts';
import {
  OP_NAMES, FRAME_IRQ, FRAME_PREEMPT, FRAME_TASK, OP_CMPXCHG, OP_EXIT, OP_FENCE, OP_HANDOFF, OP_IDLE, OP_KFREE, OP_KMALLOC,
  OP_LOAD, OP_MUTEX_LOCK, OP_MUTEX_UNLOCK, OP_NOP, OP_PICK, OP_RAND, OP_RECEIVE, OP_RELAX, OP_RESCHED, OP_SLEEP,
  OP_STORE, OP_SWITCH, OP_UDELAY, OP_WAIT_HANDOFF, OP_XCHG, ORD_RELEASE, Port, type KGen,
} from './port.ts';
import { functions, kfunc, site, sites } from './sites.ts';
import { MUTEX_OWNER } from './locks.ts';
import { D_CPU, D_PICK, D_PREEMPT, D_RAND, D_WAKE_CPU, type Strategy } from '../sched/strategy.ts';
import { Schedule } from '../sched/schedule.ts';
import { idle_loop, kthread_start, preempt_schedule_irq } from '../sched/core.ts';
import type { HazptrVersion } from '../hazptr/version.ts';

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
}

export const TASK_RUNNING = 0;
export const TASK_UNINTERRUPTIBLE = 1;
export const TASK_DEAD = 2;

const HARDIRQ_OFFSET = 0x10000;
const TASK_STRUCT_SIZE = 64; // the model's task_struct: only its address matters
const TASK_COMM_LEN = 16;

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
  /** remove_cpu() in progress: takes no new work; offline once idle (see tryCompleteDown) */
  goingDown = false;
  readonly ipiQueue: { fn: (io: Port) => KGen; csd: number }[] = [];
  constructor(readonly id: number) {}
}

export interface IrqSpec {
  name: string;
  cpu: number;
  periodNs: number;
  handler: (io: Port) => KGen;
}

export interface LogLine {
  t: number;
  text: string;
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
}

const F_irq = kfunc('asm_sysvec_apic_timer_interrupt', 'arch/x86/include/asm/idtentry.h');
const F_ipi = kfunc('asm_sysvec_call_function_single', 'arch/x86/include/asm/idtentry.h');
const F_generic_smp_call = kfunc('__flush_smp_call_function_queue', 'kernel/smp.c');
const S_csd_unlock = site(F_generic_smp_call, 0, 'csd_unlock(csd);', 'store-release csd->flags = 0');
const S_irq_entry = site(F_irq, 0, 'sysvec_apic_timer_interrupt', 'interrupt taken');
const S_ipi_entry = site(F_ipi, 0, 'sysvec_call_function_single', 'IPI taken');
const F_preempt_irq = kfunc('irqentry_exit', 'kernel/entry/common.c');
const S_preempt_entry = site(F_preempt_irq, 0, 'preempt_schedule_irq();', 'preempted');
/** irqPending bit for the call-function IPI; bits below are the scenario's periodic irqs */
const IPI_BIT = 1 << 30;
const F_kmalloc = kfunc('__kmalloc_cache_noprof', 'mm/slub.c');
const F_kfree = kfunc('kfree', 'mm/slub.c');

export class Machine {
  readonly mem: Memory;
  readonly cpus: Cpu[] = [];
  readonly tasks: Task[] = [];
  readonly schedule = new Schedule();
  readonly log: LogLine[] = [];
  now = 0;
  steps = 0;
  bug: Bug | null = null;
  /** the address of the access that faulted, for reports and stories */
  faultAddr = 0;
  endReason: EndReason = 'done';
  divergence = '';
  /** counters a run reports and tests check: did preemption and migration happen at all? */
  readonly stats = { switches: 0, preemptions: 0, migrations: 0, irqs: 0, mutexWaits: 0 };
  /** called after each step when set (--trace) */
  tracer: ((s: StepRecord) => void) | null = null;

  private readonly events = new EventQueue();
  private nextEventAt = Infinity;
  private progressEvents = 0;
  private readonly elig: Int32Array;
  private nElig = 0;
  private eligDirty = true;
  private nWaiting = 0;
  private live = 0;
  private stopped = false;
  private readonly cand = new Int32Array(4096);
  private readonly wakeIds = new Int32Array(64);
  private lastRec = 0;
  private readonly preemptFull: boolean;
  private readonly irqs: IrqSpec[] = [];
  private readonly spinOwner = new Map<number, number>();
  private readonly mutexWaiters = new Map<number, Task[]>();
  /** ctx address -> receiving task id, while a handoff is outstanding */
  private readonly handedOff = new Map<number, number>();
  private readonly handoffWaiters = new Map<number, Task[]>();
  private nextPid = 100;
  private pendingDown = -1;
  private readonly callbacks: (() => void)[] = [];
  // history ring
  private readonly hT: Float64Array;
  private readonly hAddr: Float64Array;
  private readonly hVal: Float64Array;
  private readonly hMeta: Int32Array; // cpu, task, site, kind
  private hPos = 0;

  constructor(
    readonly cfg: MachineConfig,
    readonly hazptr: HazptrVersion,
    readonly strategy: Strategy,
    /** a workload's per-CPU variables, defined before the per-CPU areas are laid out */
    definePercpu?: (mem: Memory) => void,
  ) {
    this.mem = new Memory(cfg.kasan);
    this.preemptFull = cfg.preempt === 'full';
    this.elig = new Int32Array(cfg.cpus);
    const H = Math.max(0, cfg.historySteps);
    this.hT = new Float64Array(H);
    this.hAddr = new Float64Array(H);
    this.hVal = new Float64Array(H);
    this.hMeta = new Int32Array(H * 4).fill(-1);
    hazptr.setup(this);
    definePercpu?.(this.mem);
    this.mem.layoutPercpu(cfg.cpus);
    for (let c = 0; c < cfg.cpus; c++) {
      const cpu = new Cpu(c);
      this.cpus.push(cpu);
      const idle = this.newTask(`swapper/${c}`, true, true, c, 0);
      cpu.idle = idle;
      cpu.curr = idle;
      idle.onCpu = true;
      this.pushFrame(idle, FRAME_TASK, idle_loop);
    }
    this.boot((io) => hazptr.init(io));
  }

  // ---- setup ---------------------------------------------------------------------

  private newTask(comm: string, isIdle: boolean, pinned: boolean, cpu: number, pid: number): Task {
    const t = new Task(this, this.tasks.length, pid, comm.slice(0, TASK_COMM_LEN - 1), isIdle, pinned, cpu);
    this.tasks.push(t);
    t.stack = this.mem.allocStack(t.id);
    t.stackTop = t.stack.hi;
    t.taskStruct = this.mem.kmalloc(TASK_STRUCT_SIZE, { pid: 0, comm: 'swapper/0', trace: ['copy_process'] });
    return t;
  }

  /** Create a kthread; it is queued on `cpu` (or a CPU the scheduler picks) and starts when scheduled. */
  spawn(comm: string, fn: (io: Port) => KGen, opts: { cpu?: number; pinned?: boolean } = {}): Task {
    const cpu = opts.cpu ?? this.tasks.filter((t) => !t.isIdle).length % this.cfg.cpus;
    const t = this.newTask(comm, false, !!opts.pinned, cpu, this.nextPid++);
    const f = t.frames[t.fdepth++];
    f.frameKind = FRAME_TASK;
    f.depth = 0;
    f.gen = kthread_start(f, fn);
    f.calls[0] = f.gen;
    f.ncalls = 1;
    f.resumePending = true;
    this.live++;
    this.enqueue(t, cpu);
    return t;
  }

  addIrq(spec: IrqSpec): void {
    this.irqs.push(spec);
    this.events.push(spec.periodNs, EV_IRQ, this.irqs.length - 1);
    this.syncNextEvent();
  }

  /** Allocate a stack frame of `size` bytes in the task's stack (KASAN-live until frameLeave). */
  stackPush(t: Task, size: number): number {
    t.stackTop -= Math.ceil(size / 16) * 16;
    this.mem.frameEnter(t.stackTop, size);
    return t.stackTop;
  }

  stackPop(t: Task, addr: number, size: number, fn: string): void {
    this.mem.frameLeave({ addr, size, fn, pid: t.pid, comm: t.comm });
    t.stackTop = addr + Math.ceil(size / 16) * 16;
  }

  /** Run boot code (hazptr_init) to completion on CPU 0, before the scheduler starts. */
  private boot(fn: (io: Port) => KGen): void {
    const io = new Port(this, this.cpus[0].idle);
    const stack: KGen<unknown>[] = [fn(io)];
    let v = 0;
    while (stack.length) {
      const r = stack[stack.length - 1].next(v);
      v = 0;
      if (r.done) {
        stack.pop();
        v = (r.value as number | undefined) ?? 0;
      } else if (r.value !== io) stack.push(r.value as KGen<unknown>);
      else if (io.kind === OP_STORE) this.mem.poke(io.addr, io.val);
      else if (io.kind === OP_LOAD) v = this.mem.peek(io.addr);
      else throw new Error(`boot code may only load and store (op ${io.kind})`);
    }
  }

  // ---- the step engine -------------------------------------------------------------

  run(): void {
    if (this.cfg.hungTaskNs > 0 && isFinite(this.cfg.hungTaskNs)) this.events.push(this.cfg.hungTaskNs / 2, EV_HUNG_CHECK, 0);
    this.syncNextEvent();
    try {
      this.loop();
    } catch (e) {
      if (e instanceof Error && e.name === 'ReplayDivergence') {
        this.endReason = 'divergence';
        this.divergence = e.message;
        return;
      }
      throw e;
    }
    if (this.endReason === 'done' && !this.bug && this.cfg.quiescence !== false) this.checkQuiescence();
  }

  private loop(): void {
    const maxSteps = this.cfg.maxSteps;
    const stepNs = this.cfg.stepNs;
    while (!this.stopped) {
      if (this.eligDirty) this.recomputeEligible();
      if (this.nElig === 0) {
        this.advanceIdle();
        continue;
      }
      if (this.steps >= maxSteps) {
        this.endReason = 'budget';
        break;
      }
      let ci: number;
      if (this.nElig === 1) ci = this.elig[0];
      else {
        ci = this.elig[this.decide(D_CPU, this.nElig, this.elig)];
        const t = this.cpus[ci].curr;
        this.where(ci, t.id, t.frames[t.fdepth - 1].site);
      }
      this.stepCpu(this.cpus[ci]);
      if (this.pendingDown >= 0) this.tryCompleteDown();
      this.steps++;
      this.now += stepNs;
      if (this.now >= this.nextEventAt) this.fireEvents();
    }
  }

  private decide(kind: number, n: number, options?: Int32Array): number {
    const ch = this.strategy.choose(kind, n, options);
    this.lastRec = this.schedule.push(kind, n, ch);
    return ch;
  }

  private where(cpu: number, task: number, site: number): void {
    this.schedule.where(this.lastRec, cpu, task, site);
    this.strategy.confirm(cpu, task, site);
  }

  /** An access the machine refuses: unmapped, non-canonical, misaligned, or (KASAN) not live. */
  private refused(x: number): boolean {
    const mem = this.mem;
    return !(x >= MEM_BASE && x < mem.end) || x % 8 !== 0 || (mem.kasan && mem.shadow[(x - MEM_BASE) / 8] !== SH_LIVE);
  }

  /** Preempt the task on `cpu` now (preempt_schedule_irq on return from an interrupt). */
  private preemptNow(cpu: Cpu, t: Task): void {
    this.stats.preemptions++;
    this.recordAt(cpu, t, S_preempt_entry, 0, 0);
    this.pushFrame(t, FRAME_PREEMPT, preempt_schedule_irq);
  }

  private stepCpu(cpu: Cpu): void {
    const t = cpu.curr;
    const f = t.frames[t.fdepth - 1];
    const preemptible = cpu.preemptCount === 0 && !cpu.irqsOff;
    if (t.isIdle || (this.preemptFull && preemptible)) cpu.lastResched = this.now;
    else if (this.now - cpu.lastResched > this.cfg.softLockupNs) {
      this.softLockup(cpu);
      return;
    }
    if (cpu.irqPending !== 0 && !cpu.irqsOff) {
      this.deliverIrq(cpu, t);
      return;
    }
    if ((cpu.goingDown || t.excludedCpu === cpu.id || (t.pinned && t.homeCpu !== cpu.id)) && preemptible && !t.isIdle && this.preemptFull) {
      // the stopper moves a task off a CPU going offline, or one its affinity no longer allows
      this.preemptNow(cpu, t);
      return;
    }
    if (this.preemptFull && preemptible && cpu.rq.length > 0 && !t.isIdle) {
      const d = this.decide(D_PREEMPT, 2);
      this.where(cpu.id, t.id, f.site);
      if (d === 1) {
        this.preemptNow(cpu, t);
        return;
      }
    }
    const mem = this.mem;
    let v = 0;
    const x = f.addr;
    switch (f.kind) {
      case OP_LOAD:
        if (this.refused(x)) return this.fault(cpu, t, f, false);
        v = mem.words[(x - MEM_BASE) / 8];
        break;
      case OP_STORE:
        if (this.refused(x)) return this.fault(cpu, t, f, true);
        v = mem.words[(x - MEM_BASE) / 8] = f.val;
        break;
      case OP_CMPXCHG:
        if (this.refused(x)) return this.fault(cpu, t, f, true);
        v = mem.words[(x - MEM_BASE) / 8];
        if (v === f.val2) mem.words[(x - MEM_BASE) / 8] = f.val;
        break;
      case OP_XCHG:
        if (this.refused(x)) return this.fault(cpu, t, f, true);
        v = mem.words[(x - MEM_BASE) / 8];
        mem.words[(x - MEM_BASE) / 8] = f.val;
        break;
      case OP_FENCE:
      case OP_RELAX:
      case OP_NOP:
        break;
      case OP_IDLE:
        v = !cpu.goingDown && (cpu.rq.length > 0 || this.pullable(cpu)) ? 1 : 0; // need_resched()
        if (!v) this.eligDirty = true;
        break;
      case OP_PICK:
        v = this.pickNext(cpu, t);
        cpu.lastResched = this.now;
        this.eligDirty = true;
        break;
      case OP_SWITCH:
        this.record(cpu, t, f, f.val);
        this.contextSwitch(cpu, t, this.tasks[f.val]);
        return;
      case OP_SLEEP:
        t.state = TASK_UNINTERRUPTIBLE;
        t.blockedSince = this.now;
        t.blockedOn = 'sleep';
        this.events.push(this.now + f.val, EV_WAKE, t.id, ++t.sleepToken);
        this.progressEvents++;
        this.syncNextEvent();
        break;
      case OP_UDELAY:
        cpu.busyUntil = this.now + f.val;
        this.events.push(cpu.busyUntil, EV_BUSY_END, cpu.id);
        this.progressEvents++;
        this.syncNextEvent();
        this.eligDirty = true;
        break;
      case OP_MUTEX_LOCK:
        v = this.mutexLock(cpu, t, x);
        break;
      case OP_MUTEX_UNLOCK:
        this.mutexUnlock(cpu, t, x);
        break;
      case OP_KMALLOC:
        v = mem.kmalloc(f.val, this.track(t, F_kmalloc.name));
        break;
      case OP_KFREE:
        if (x !== 0) {
          const err = mem.kfree(x, this.track(t, F_kfree.name));
          if (err && mem.kasan) return this.kasanFree(cpu, t, x, err);
        }
        break;
      case OP_RAND:
        v = f.val <= 1 ? 0 : this.decide(D_RAND, f.val);
        if (f.val > 1) this.where(cpu.id, t.id, f.site);
        break;
      case OP_RESCHED:
        cpu.lastResched = this.now;
        if (cpu.goingDown || t.excludedCpu === cpu.id) v = 1; // the stopper waits for this voluntary point under PREEMPT_NONE
        else if (cpu.rq.length > 0) {
          v = this.decide(D_PREEMPT, 2);
          this.where(cpu.id, t.id, f.site);
        }
        break;
      case OP_HANDOFF:
        this.handoff(t, x, f.val, f.val2);
        break;
      case OP_RECEIVE:
        v = this.receive(t);
        break;
      case OP_WAIT_HANDOFF:
        v = this.waitHandoff(t, x);
        break;
      case OP_EXIT:
        t.state = TASK_DEAD;
        t.exited = true;
        this.live--;
        this.printk(`hazsim: ${t.comm} (pid ${t.pid}) exited on CPU${cpu.id}`);
        break;
      default:
        throw new Error(`unknown op ${f.kind}`);
    }
    if (this.stopped) return;
    this.record(cpu, t, f, v);
    this.resume(t, f, v);
  }

  /** Resume the frame's innermost generator until it yields an op; calls and returns are followed here. */
  private resume(t: Task, f: Port, v: number): void {
    const calls = f.calls;
    let g = calls[f.ncalls - 1];
    for (;;) {
      const r = g.next(v);
      if (this.bug) this.stopped = true;
      if (!r.done) {
        const y = r.value;
        if (y === f) return;
        calls[f.ncalls++] = g = y as KGen<unknown>;
        v = 0;
        continue;
      }
      if (--f.ncalls === 0) {
        this.popFrame(t);
        return;
      }
      g = calls[f.ncalls - 1];
      v = (r.value as number | undefined) ?? 0;
    }
  }

  private pushFrame(t: Task, kind: number, fn: (io: Port) => KGen): void {
    const f = t.frames[t.fdepth++];
    f.frameKind = kind;
    f.depth = 0;
    f.site = 0;
    f.resumePending = false;
    f.gen = fn(f);
    f.calls[0] = f.gen;
    f.ncalls = 1;
    this.resume(t, f, 0);
  }

  private popFrame(t: Task): void {
    const f = t.frames[--t.fdepth];
    f.gen = null;
    this.eligDirty = true;
    f.calls.length = 0;
    f.ncalls = 0;
    if (t.fdepth === 0) throw new Error(`task ${t.comm} returned from its last frame`);
  }

  private record(cpu: Cpu, t: Task, f: Port, v: number): void {
    this.recordAt(cpu, t, f.site, f.kind, f.addr, v);
  }

  private recordAt(cpu: Cpu, t: Task, site: number, kind: number, addr: number, v = 0): void {
    const H = this.hT.length;
    if (H === 0) {
      if (this.tracer) this.tracer({ t: this.now, cpu: cpu.id, task: t.id, site, kind, addr, val: v });
      return;
    }
    const i = this.hPos++ % H;
    this.hT[i] = this.now;
    this.hAddr[i] = addr;
    this.hVal[i] = v;
    const m = i * 4;
    this.hMeta[m] = cpu.id;
    this.hMeta[m + 1] = t.id;
    this.hMeta[m + 2] = site;
    this.hMeta[m + 3] = kind;
    if (this.tracer) this.tracer({ t: this.now, cpu: cpu.id, task: t.id, site, kind, addr, val: v });
  }

  /** The last executed steps, oldest first. */
  history(): StepRecord[] {
    const H = this.hT.length;
    const out: StepRecord[] = [];
    const n = Math.min(H, this.hPos);
    if (n === 0) return out;
    for (let k = this.hPos - n; k < this.hPos; k++) {
      const i = k % H;
      const m = i * 4;
      out.push({ t: this.hT[i], cpu: this.hMeta[m], task: this.hMeta[m + 1], site: this.hMeta[m + 2], kind: this.hMeta[m + 3], addr: this.hAddr[i], val: this.hVal[i] });
    }
    return out;
  }

  // ---- scheduling ------------------------------------------------------------------

  private recomputeEligible(): void {
    this.eligDirty = false;
    let n = 0;
    for (const cpu of this.cpus) {
      if (!cpu.online || cpu.busyUntil > this.now) continue;
      const t = cpu.curr;
      if (t.isIdle && t.fdepth === 1 && t.frames[0].kind === OP_IDLE) {
        if (cpu.rq.length === 0 && cpu.irqPending === 0 && (cpu.goingDown || !this.pullable(cpu))) continue;
      }
      this.elig[n++] = cpu.id;
    }
    this.nElig = n;
  }

  private pullable(cpu: Cpu): boolean {
    if (this.nWaiting === 0) return false;
    for (const c of this.cpus) if (c !== cpu) for (const t of c.rq) if (this.allowed(t, cpu)) return true;
    return false;
  }

  private enqueue(t: Task, cpu: number): void {
    t.rqCpu = cpu;
    this.cpus[cpu].rq.push(t);
    this.nWaiting++;
    this.eligDirty = true;
  }

  private dequeue(t: Task): void {
    const rq = this.cpus[t.rqCpu].rq;
    const i = rq.indexOf(t);
    if (i < 0) throw new Error(`dequeue: ${t.comm}/${t.pid} is not on CPU${t.rqCpu}'s runqueue`);
    rq.splice(i, 1);
    t.rqCpu = -1;
    this.nWaiting--;
    this.eligDirty = true;
  }

  /** May `t` run on `cpu`? (its affinity: pinned to one CPU, or all but the shuffled-idle one) */
  private allowed(t: Task, cpu: Cpu): boolean {
    return (!t.pinned || t.homeCpu === cpu.id) && t.excludedCpu !== cpu.id;
  }

  /** select_task_rq(): pinned tasks go home, others to a CPU the strategy picks among those allowed. */
  private selectCpu(t: Task): number {
    if (t.pinned) return t.homeCpu;
    let online = this.cpus.filter((c) => c.online && !c.goingDown && c.id !== t.excludedCpu);
    if (!online.length) online = this.cpus.filter((c) => c.online && !c.goingDown);
    if (online.length === 1) return online[0].id;
    const ids = this.wakeIds;
    for (let i = 0; i < online.length; i++) ids[i] = online[i].id;
    const c = online[this.decide(D_WAKE_CPU, online.length, ids)].id;
    this.where(c, t.id, -1);
    return c;
  }

  /** pick_next_task(): prev if still runnable, this CPU's queue, else pull an unpinned task from another CPU. */
  private pickNext(cpu: Cpu, prev: Task): number {
    let n = 0;
    const cand = this.cand;
    if (cpu.goingDown) return cpu.idle.id;
    if (!prev.isIdle && prev.state === TASK_RUNNING && this.allowed(prev, cpu)) cand[n++] = prev.id;
    for (const t of cpu.rq) cand[n++] = t.id;
    if (n === 0) for (const c of this.cpus) if (c !== cpu) for (const t of c.rq) if (this.allowed(t, cpu)) cand[n++] = t.id;
    if (n === 0) return cpu.idle.id;
    let k = 0;
    if (n > 1) {
      k = this.decide(D_PICK, n, cand);
      this.where(cpu.id, cand[k], -1);
    }
    const next = this.tasks[cand[k]];
    if (next !== prev) this.dequeue(next);
    return next.id;
  }

  private contextSwitch(cpu: Cpu, prev: Task, next: Task): void {
    prev.onCpu = false;
    prev.frames[prev.fdepth - 1].resumePending = true;
    if (!prev.isIdle && prev.state === TASK_RUNNING) this.enqueue(prev, this.selectCpu(prev));
    cpu.curr = next;
    this.stats.switches++;
    if (!next.isIdle && next.cpu !== cpu.id && next.frames[0].gen !== null && next.lastRan >= 0) this.stats.migrations++;
    next.lastRan = this.now;
    next.cpu = cpu.id;
    next.onCpu = true;
    cpu.lastResched = this.now;
    this.eligDirty = true;
    const nf = next.frames[next.fdepth - 1];
    nf.resumePending = false;
    this.resume(next, nf, 0);
  }

  /**
   * set_cpus_allowed_ptr(): `tasks` may run anywhere but `cpu` (-1: anywhere).
   * Queued tasks move at once; a running one at its next preemption point.
   */
  excludeCpu(tasks: number[], cpu: number): void {
    for (const id of tasks) {
      const t = this.tasks[id];
      t.excludedCpu = cpu;
      if (t.rqCpu === cpu && cpu >= 0) {
        this.dequeue(t);
        this.enqueue(t, this.selectCpu(t));
      }
    }
    this.eligDirty = true;
  }

  /** sched_setaffinity() to one CPU (cpu >= 0) or to all (-1): a running task moves at its next scheduling point. */
  setAffinity(t: Task, cpu: number): void {
    t.pinned = cpu >= 0;
    if (cpu >= 0) t.homeCpu = cpu;
    this.eligDirty = true;
  }

  /** A callback at simulated time `at` (machine-level timers, no task involved). */
  addTimer(at: number, fn: () => void): void {
    this.callbacks.push(fn);
    this.events.push(at, EV_CALLBACK, this.callbacks.length - 1);
    this.syncNextEvent();
  }

  /** remove_cpu(): start taking `cpu` offline. Returns false if it cannot go (last online CPU, already down). */
  cpuDown(cpu: number): boolean {
    const c = this.cpus[cpu];
    if (!c.online || c.goingDown || this.pendingDown >= 0) return false;
    if (this.cpus.filter((x) => x.online && !x.goingDown).length <= 1) return false;
    c.goingDown = true;
    this.pendingDown = cpu;
    // migrate_tasks(): what waits on its runqueue moves to the online CPUs
    for (const t of c.rq.slice()) {
      this.dequeue(t);
      this.enqueue(t, this.selectCpu(t));
    }
    this.eligDirty = true;
    return true;
  }

  /**
   * The CPU goes offline once it runs its idle task with no IPI pending, and every
   * other online CPU could run the stopper (preemptible or idle): stop_machine()'s
   * condition, approximated.
   */
  private tryCompleteDown(): void {
    const c = this.cpus[this.pendingDown];
    const t = c.curr;
    if (!t.isIdle || t.fdepth !== 1 || t.frames[0].kind !== OP_IDLE || c.irqPending !== 0 || c.rq.length) return;
    for (const o of this.cpus) {
      if (o === c || !o.online) continue;
      if (!o.curr.isIdle && (o.preemptCount !== 0 || o.irqsOff)) return;
    }
    c.online = false;
    c.goingDown = false;
    this.pendingDown = -1;
    this.eligDirty = true;
    this.printk(`smpboot: CPU ${c.id} is now offline`);
  }

  /** add_cpu() */
  cpuUp(cpu: number): boolean {
    const c = this.cpus[cpu];
    if (c.online) return false;
    c.online = true;
    c.lastResched = this.now;
    this.eligDirty = true;
    this.printk(`smpboot: Booting Node 0 Processor ${c.id} APIC 0x${c.id.toString(16)}`);
    return true;
  }

  cpuIsOnline(cpu: number): boolean {
    return this.cpus[cpu].online;
  }

  /** try_to_wake_up() */
  wake(t: Task): void {
    if (t.state !== TASK_UNINTERRUPTIBLE) return;
    t.state = TASK_RUNNING;
    t.blockedOn = '';
    if (t.onCpu || t.rqCpu >= 0) return; // still on its CPU, on the way into schedule()
    this.enqueue(t, this.selectCpu(t));
  }

  /**
   * smp_call_function_single(): queue `fn` for `cpu`'s IPI handler; the handler
   * stores 0 to `csd` (csd_unlock) when fn returns. The caller spins on `csd`.
   */
  sendIpi(cpu: number, fn: (io: Port) => KGen, csd: number): void {
    this.cpus[cpu].ipiQueue.push({ fn, csd });
    this.cpus[cpu].irqPending |= IPI_BIT;
    this.eligDirty = true;
  }

  private deliverIrq(cpu: Cpu, t: Task): void {
    const bit = cpu.irqPending & -cpu.irqPending;
    cpu.irqPending &= ~bit;
    if (bit === IPI_BIT) {
      const call = cpu.ipiQueue.shift()!;
      if (cpu.ipiQueue.length) cpu.irqPending |= IPI_BIT;
      this.stats.irqs++;
      this.recordAt(cpu, t, S_ipi_entry, 0, 0);
      this.pushFrame(t, FRAME_IRQ, (io) => this.ipiEntry(io, call.fn, call.csd));
      return;
    }
    const irq = this.irqs[31 - Math.clz32(bit)];
    this.stats.irqs++;
    this.recordAt(cpu, t, S_irq_entry, 0, 0);
    this.pushFrame(t, FRAME_IRQ, (io) => this.irqEntry(io, irq));
  }

  private *ipiEntry(io: Port, fn: (io: Port) => KGen, csd: number): KGen {
    io.enter(F_ipi);
    io.enter(F_generic_smp_call);
    const cpu = this.cpus[io.task.cpu];
    cpu.preemptCount += HARDIRQ_OFFSET;
    cpu.irqsOff = true;
    yield fn(io);
    yield io.store(csd, 0, ORD_RELEASE, S_csd_unlock);
    cpu.preemptCount -= HARDIRQ_OFFSET;
    cpu.irqsOff = false;
    io.leave();
    io.leave();
  }

  private *irqEntry(io: Port, irq: IrqSpec): KGen {
    io.enter(F_irq);
    const cpu = this.cpus[io.task.cpu];
    cpu.preemptCount += HARDIRQ_OFFSET;
    cpu.irqsOff = true;
    yield irq.handler(io);
    cpu.preemptCount -= HARDIRQ_OFFSET;
    cpu.irqsOff = false;
    io.leave();
  }

  // ---- time ---------------------------------------------------------------------------

  private advanceIdle(): void {
    if (this.live === 0) {
      this.stopped = true;
      this.endReason = 'done';
      return;
    }
    if (this.progressEvents === 0 && this.cpus.every((c) => c.busyUntil <= this.now)) {
      this.deadlock();
      return;
    }
    this.now = Math.max(this.now, this.events.nextAt);
    this.fireEvents();
  }

  private fireEvents(): void {
    if (this.now > this.cfg.maxTimeNs) {
      this.stopped = true;
      this.endReason = 'time';
      return;
    }
    while (this.events.size && this.events.nextAt <= this.now && !this.stopped) {
      const e = this.events.pop();
      switch (e.type) {
        case EV_WAKE: {
          this.progressEvents--;
          const t = this.tasks[e.a];
          if (t.sleepToken === e.b && t.blockedOn === 'sleep') this.wake(t);
          break;
        }
        case EV_BUSY_END:
          this.progressEvents--;
          this.eligDirty = true;
          break;
        case EV_IRQ: {
          const irq = this.irqs[e.a];
          this.cpus[irq.cpu].irqPending |= 1 << e.a;
          this.eligDirty = true;
          if (this.live > 0) this.events.push(e.at + irq.periodNs, EV_IRQ, e.a);
          break;
        }
        case EV_CALLBACK:
          this.callbacks[e.a]();
          break;
        case EV_HUNG_CHECK:
          this.hungTaskCheck();
          if (this.stopped) return;
          this.events.push(e.at + this.cfg.hungTaskNs / 2, EV_HUNG_CHECK, 0);
          break;
      }
    }
    this.syncNextEvent();
  }

  /** The step loop calls fireEvents() at the next timer or at the time limit, whichever is first. */
  private syncNextEvent(): void {
    this.nextEventAt = Math.min(this.events.nextAt, this.cfg.maxTimeNs);
  }

  // ---- locks and handoffs --------------------------------------------------------------

  private mutexLock(cpu: Cpu, t: Task, lock: number): number {
    if (t.gotMutex === lock) {
      t.gotMutex = -1;
      return 1;
    }
    const owner = this.mem.peek(lock + MUTEX_OWNER);
    if (owner === 0) {
      this.mem.poke(lock + MUTEX_OWNER, t.taskStruct);
      return 1;
    }
    if (owner === t.taskStruct && this.cfg.lockdep) {
      this.report('recursive-locking', cpu, t, {
        headline: '============================================',
        pre: ['WARNING: possible recursive locking detected', '--------------------------------------------',
          `${t.comm}/${t.pid} is trying to acquire lock:`, `ffff${this.mem.fmtPx(lock).slice(4)} (mutex at ${this.mem.fmt(lock)})`,
          '', 'but task is already holding lock:', '', ' *** DEADLOCK ***'],
      });
      return 0;
    }
    let w = this.mutexWaiters.get(lock);
    if (!w) this.mutexWaiters.set(lock, (w = []));
    w.push(t);
    this.stats.mutexWaits++;
    t.state = TASK_UNINTERRUPTIBLE;
    t.blockedSince = this.now;
    t.blockedOn = 'mutex';
    t.blockedLock = lock;
    return 0;
  }

  private mutexUnlock(cpu: Cpu, t: Task, lock: number): void {
    const owner = this.mem.peek(lock + MUTEX_OWNER);
    if (owner !== t.taskStruct) {
      this.report('bad-unlock', cpu, t, {
        headline: '=====================================',
        pre: ['WARNING: bad unlock balance detected!', '-------------------------------------',
          `${t.comm}/${t.pid} is trying to release lock (mutex at ${this.mem.fmt(lock)}) at:`,
          'but there are no more locks to release!'],
      });
      return;
    }
    const w = this.mutexWaiters.get(lock);
    if (w && w.length) {
      const n = w.shift()!;
      this.mem.poke(lock + MUTEX_OWNER, n.taskStruct);
      n.gotMutex = lock;
      this.wake(n);
    } else this.mem.poke(lock + MUTEX_OWNER, 0);
  }

  private handoff(t: Task, ctx: number, ptr: number, to: number): void {
    const r = this.tasks[to];
    r.mailbox.push({ ctx, ptr, from: t.id });
    this.handedOff.set(ctx, to);
    if (r.blockedOn === 'receive') this.wake(r);
  }

  private receive(t: Task): number {
    if (t.mailbox.length) {
      t.received = t.mailbox.shift()!;
      return 1;
    }
    t.state = TASK_UNINTERRUPTIBLE;
    t.blockedSince = this.now;
    t.blockedOn = 'receive';
    return 0;
  }

  private waitHandoff(t: Task, ctx: number): number {
    if (!this.handedOff.has(ctx)) return 1;
    let w = this.handoffWaiters.get(ctx);
    if (!w) this.handoffWaiters.set(ctx, (w = []));
    w.push(t);
    t.state = TASK_UNINTERRUPTIBLE;
    t.blockedSince = this.now;
    t.blockedOn = 'handoff';
    return 0;
  }

  /** The receiver of a handed-off ctx has released it: its owner may use it again. */
  handoffReleased(ctx: number): void {
    this.handedOff.delete(ctx);
    const w = this.handoffWaiters.get(ctx);
    if (w) while (w.length) this.wake(w.shift()!);
  }

  // ---- checks called from kernel code --------------------------------------------------------

  /** Would the next step boundary on this CPU take an interrupt or consider preemption? */
  interruptPoint(io: Port): boolean {
    const cpu = this.cpus[io.task.cpu];
    if (cpu.irqsOff) return false;
    return cpu.irqPending !== 0 || (this.preemptFull && cpu.preemptCount === 0 && cpu.rq.length > 0);
  }

  preemptEnable(io: Port): void {
    const cpu = this.cpus[io.task.cpu];
    if (--cpu.preemptCount < 0 && this.cfg.debugPreempt) {
      // CONFIG_DEBUG_PREEMPT: preempt_count_sub(): DEBUG_LOCKS_WARN_ON(val > preempt_count())
      this.report('preempt-count-underflow', cpu, io.task, {
        headline: `WARNING: CPU: ${cpu.id} PID: ${io.task.pid} at kernel/sched/core.c preempt_count_sub`,
        pre: ['DEBUG_LOCKS_WARN_ON(val > preempt_count())', `hazsim: preempt_enable() without a matching preempt_disable(): preempt_count ${cpu.preemptCount}`],
        frames: io,
      });
    }
  }

  preemptCountDec(io: Port): void {
    this.cpus[io.task.cpu].preemptCount--;
  }

  /** might_sleep() / __might_resched() */
  mightSleep(io: Port, file: string): void {
    const cpu = this.cpus[io.task.cpu];
    if (cpu.preemptCount === 0 && !cpu.irqsOff) return;
    const t = io.task;
    this.report('sleeping-in-atomic', cpu, t, {
      headline: `BUG: sleeping function called from invalid context at ${file}`,
      pre: [`in_atomic(): ${cpu.preemptCount !== 0 ? 1 : 0}, irqs_disabled(): ${cpu.irqsOff ? 1 : 0}, non_block: 0, pid: ${t.pid}, name: ${t.comm}`,
        `preempt_count: ${cpu.preemptCount.toString(16)}, expected: 0`, 'RCU nest depth: 0, expected: 0'],
      frames: io,
    });
  }

  /** schedule_debug(): __schedule() entered with more than its own preempt_disable() */
  scheduleDebug(io: Port, _preempt: boolean): void {
    const cpu = this.cpus[io.task.cpu];
    if (cpu.preemptCount === 1) return;
    const t = io.task;
    this.report('scheduling-while-atomic', cpu, t, {
      headline: `BUG: scheduling while atomic: ${t.comm}/${t.pid}/0x${cpu.preemptCount.toString(16).padStart(8, '0')}`,
      frames: io,
    });
  }

  lockdepAssertPreemptionEnabled(io: Port, file: string, line: number): void {
    const cpu = this.cpus[io.task.cpu];
    if (!this.cfg.lockdep || (cpu.preemptCount === 0 && !cpu.irqsOff)) return;
    const t = io.task;
    const fn = functions[io.fns[io.depth - 1]].name;
    this.report('lockdep-preemption-disabled', cpu, t, {
      headline: `WARNING: CPU: ${cpu.id} PID: ${t.pid} at ${file}:${line} ${fn}`,
      pre: [`lockdep_assert_preemption_enabled(): preempt_count ${cpu.preemptCount.toString(16)}, irqs_disabled ${cpu.irqsOff ? 1 : 0}`],
      frames: io,
      ripLine: line,
    });
  }

  /** CONFIG_DEBUG_PREEMPT: this_cpu_ptr() and smp_processor_id() in preemptible code */
  checkPreemptOff(io: Port): void {
    const cpu = this.cpus[io.task.cpu];
    if (!this.cfg.debugPreempt || cpu.preemptCount !== 0 || cpu.irqsOff || io.task.isIdle) return;
    const t = io.task;
    const fn = functions[io.fns[io.depth - 1]].name;
    this.report('smp-processor-id-preemptible', cpu, t, {
      headline: `BUG: using smp_processor_id() in preemptible [00000000] code: ${t.comm}/${t.pid}`,
      pre: [`caller is ${fn}`],
      frames: io,
    });
  }

  spinDebugLock(io: Port, lock: number): void {
    const owner = this.spinOwner.get(lock);
    if (owner !== io.task.id) return;
    const cpu = this.cpus[io.task.cpu];
    this.report('spinlock-recursion', cpu, io.task, {
      headline: `BUG: spinlock recursion on CPU#${cpu.id}, ${io.task.comm}/${io.task.pid}`,
      pre: [` lock: ${this.mem.fmt(lock)}, .magic: dead4ead, .owner: ${io.task.comm}/${io.task.pid}, .owner_cpu: ${cpu.id}`],
      frames: io,
    });
  }

  spinOwned(io: Port, lock: number): void {
    this.spinOwner.set(lock, io.task.id);
  }

  spinDebugUnlock(io: Port, lock: number): void {
    const owner = this.spinOwner.get(lock);
    if (owner === io.task.id) {
      this.spinOwner.delete(lock);
      return;
    }
    const cpu = this.cpus[io.task.cpu];
    const o = owner === undefined ? undefined : this.tasks[owner];
    this.report('bad-unlock', cpu, io.task, {
      headline: `BUG: spinlock ${o ? 'wrong owner' : 'already unlocked'} on CPU#${cpu.id}, ${io.task.comm}/${io.task.pid}`,
      pre: [` lock: ${this.mem.fmt(lock)}, .magic: dead4ead, .owner: ${o ? `${o.comm}/${o.pid}` : '<none>/-1'}, .owner_cpu: ${o ? o.cpu : -1}`],
      frames: io,
    });
  }

  // ---- faults and reports ------------------------------------------------------------------------

  private fault(cpu: Cpu, t: Task, f: Port, write: boolean): void {
    const x = f.addr;
    const mem = this.mem;
    this.faultAddr = x;
    if (!Number.isFinite(x) || (x >= MEM_BASE && x < mem.end && x % 8 !== 0)) {
      // the model keeps 8-byte words: an access elsewhere is a bug in the model or the workload
      throw new Error(`${sites[f.site].fn.name}: ${OP_NAMES[f.kind]} at ${Number.isFinite(x) ? mem.fmt(x) : String(x)}: not an 8-byte-aligned address`);
    }
    const code = write ? '0002' : '0000';
    const post: string[] = [];
    const poison = describePoison(x);
    if (x >= POISON_BASE) {
      if (poison) {
        const name = poison.split(' ')[0];
        const field = name === 'LIST_POISON1' ? 'next' : 'pprev';
        post.push(`hazsim: ${mem.fmt(x)} is ${poison}: the pointer dereferenced held ${name}, which hlist_del() leaves in a deleted node's ${field}`);
      }
      this.report('general-protection-fault', cpu, t, {
        headline: `Oops: general protection fault, probably for non-canonical address ${mem.fmt(x)}: ${code} [#1] SMP PTI`,
        oops: true, post, ripSite: f.site, frames: f,
      });
      return;
    }
    if (x < MEM_BASE || x >= mem.end) {
      const isNull = x < PAGE_SIZE;
      this.report(isNull ? 'null-pointer-dereference' : 'page-fault', cpu, t, {
        headline: isNull ? `BUG: kernel NULL pointer dereference, address: ${mem.fmtPx(x)}` : `BUG: unable to handle page fault for address: ${mem.fmtPx(x)}`,
        pre: [`#PF: supervisor ${write ? 'write' : 'read'} access in kernel mode`, `#PF: error_code(0x${code}) - not-present page`, 'PGD 0 P4D 0', `Oops: Oops: ${code} [#1] SMP PTI`],
        oops: true, ripSite: f.site, frames: f,
      });
      return;
    }
    // KASAN
    const sh = mem.shadow[(x - MEM_BASE) / 8];
    const obj = mem.objectAt(x);
    let what: string;
    if (sh === SH_FREED) what = 'slab-use-after-free';
    else if (sh === SH_STACK_DEAD) what = 'stack-use-after-return';
    else what = obj ? 'slab-out-of-bounds' : 'wild-memory-access';
    const s = sites[f.site];
    const rip = `${s.fn.name}`;
    const pre = [`${write ? 'Write' : 'Read'} of size 8 at addr ${mem.fmtPx(x)} by task ${t.comm}/${t.pid}`, ''];
    if (obj && sh !== SH_STACK_DEAD) {
      post.push('', ...this.fmtTrack('Allocated', obj.alloc));
      if (obj.free) post.push('', ...this.fmtTrack('Freed', obj.free));
      const off = x - obj.addr;
      post.push('', `The buggy address belongs to the object at ${mem.fmtPx(obj.addr)}`,
        ` which belongs to the cache kmalloc-${obj.cache} of size ${obj.cache}`,
        `The buggy address is located ${off} bytes inside of`,
        ` ${obj.live ? 'allocated' : 'freed'} ${obj.size}-byte region [${mem.fmtPx(obj.addr)}, ${mem.fmtPx(obj.addr + obj.size)})`);
    } else if (sh === SH_STACK_DEAD) {
      const r = mem.regionOf(x);
      const owner = r ? this.tasks[r.owner] : undefined;
      let frame: string | undefined;
      for (const [a, fi] of mem.deadFrames) if (x >= a && x < a + fi.size) frame = `${fi.fn} (frame [${mem.fmtPx(a)}, ${mem.fmtPx(a + fi.size)}))`;
      post.push('', `The buggy address belongs to stack of task ${owner ? `${owner.comm}/${owner.pid}` : '?'}`,
        ...(frame ? [` and is located in frame ${frame}, which has returned`] : []));
    }
    this.report('kasan', cpu, t, {
      headline: `BUG: KASAN: ${what} in ${rip}`,
      kasanWhat: what, pre, post, ripSite: f.site, frames: f, kasan: true,
    });
  }

  private kasanFree(cpu: Cpu, t: Task, x: number, err: 'double-free' | 'invalid-free'): void {
    const obj = this.mem.objectAt(x);
    const post: string[] = [];
    if (obj) {
      post.push('', ...this.fmtTrack('Allocated', obj.alloc));
      if (obj.free) post.push('', ...this.fmtTrack('Freed', obj.free));
    }
    this.report('kasan', cpu, t, {
      headline: `BUG: KASAN: ${err} in kfree`, kasanWhat: err,
      pre: [`Free of addr ${this.mem.fmtPx(x)} by task ${t.comm}/${t.pid}`, ''], post, frames: t.top, kasan: true,
    });
  }

  private fmtTrack(what: string, tr: Track): string[] {
    return [`${what} by task ${tr.pid}:`, ...tr.trace.map((fn) => ` ${fn}`)];
  }

  private track(t: Task, innermost: string): Track {
    return { pid: t.pid, comm: t.comm, trace: [innermost, ...this.captureTrace(t, -1).filter((e) => !e.marker).map((e) => e.fn)] };
  }

  private softLockup(cpu: Cpu): void {
    const t = cpu.curr;
    const secs = Math.floor((this.now - cpu.lastResched) / 1e9);
    this.report('soft-lockup', cpu, t, {
      headline: `watchdog: BUG: soft lockup - CPU#${cpu.id} stuck for ${secs}s! [${t.comm}:${t.pid}]`,
      pre: [`hazsim: CPU#${cpu.id} has not passed a scheduling point for ${((this.now - cpu.lastResched) / 1e6).toFixed(3)} ms of simulated time (limits.soft_lockup_ms)`],
      ripSite: t.top.site, frames: t.top,
    });
  }

  private hungTaskCheck(): void {
    for (const t of this.tasks) {
      if (t.isIdle || t.state !== TASK_UNINTERRUPTIBLE || t.blockedOn === 'sleep') continue;
      if (this.now - t.blockedSince < this.cfg.hungTaskNs) continue;
      const secs = Math.floor(this.cfg.hungTaskNs / 1e9);
      this.report('hung-task', this.cpus[t.cpu], t, {
        headline: `INFO: task ${t.comm}:${t.pid} blocked for more than ${secs} seconds.`,
        pre: [`      Not tainted ${this.cfg.release}`, '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
          `task:${t.comm.padEnd(15)} state:D stack:0     pid:${t.pid}   tgid:${t.pid}   ppid:2      flags:0x00004000`,
          `hazsim: blocked on ${this.blockedOnText(t)} since ${fmtSecs(t.blockedSince)}`],
        frames: t.top, noCpuLine: true,
      });
      return;
    }
  }

  private blockedOnText(t: Task): string {
    return t.blockedOn === 'mutex' ? `mutex ${this.mem.fmt(t.blockedLock)}` : t.blockedOn;
  }

  private deadlock(): void {
    const blocked = this.tasks.filter((t) => !t.isIdle && t.state === TASK_UNINTERRUPTIBLE);
    const t = blocked[0] ?? this.cpus[0].curr;
    const pre = ['hazsim: no task can run and no timer is pending: every live task is blocked', 'sysrq: Show Blocked State'];
    for (const b of blocked) pre.push(`task:${b.comm.padEnd(15)} state:D pid:${b.pid} blocked on ${this.blockedOnText(b)} since ${fmtSecs(b.blockedSince)}`);
    this.report('deadlock', this.cpus[t.cpu], t, { headline: 'hazsim: deadlock', pre, frames: t.top, noCpuLine: true });
  }

  private checkQuiescence(): void {
    const leaks = this.hazptr.quiescence(this);
    if (!leaks.length) return;
    const t = this.cpus[0].curr;
    this.report('quiescence-leak', this.cpus[0], t, {
      headline: 'hazsim: quiescence check failed: hazard pointers still published after every task exited',
      pre: leaks, noCpuLine: true,
    });
  }

  /** Trace entries, innermost first, for every frame of the task (interrupt frames marked). */
  captureTrace(t: Task, ripLine: number): TraceEntry[] {
    const out: TraceEntry[] = [];
    for (let fi = t.fdepth - 1; fi >= 0; fi--) {
      const f = t.frames[fi];
      if (f.frameKind === FRAME_IRQ) out.push({ fn: '', file: '', line: 0, inline: false, marker: '<IRQ>' });
      for (let d = f.depth - 1; d >= 0; d--) {
        const fn = functions[f.fns[d]];
        const line = d === f.depth - 1 ? (fi === t.fdepth - 1 && ripLine >= 0 ? ripLine : sites[f.site].fn === fn ? sites[f.site].line : 0) : f.callLines[d + 1];
        out.push({ fn: fn.name, file: fn.file, line, inline: fn.inline });
      }
      if (f.frameKind === FRAME_IRQ) out.push({ fn: '', file: '', line: 0, inline: false, marker: '</IRQ>' });
    }
    return out;
  }

  private report(kind: BugKind, cpu: Cpu, t: Task, o: {
    headline: string; pre?: string[]; post?: string[]; oops?: boolean; ripSite?: number; ripLine?: number;
    frames?: Port; noCpuLine?: boolean; kasan?: boolean; kasanWhat?: string; traceOf?: Task;
  }): void {
    if (this.bug) return;
    const trace = o.frames ? this.captureTrace(o.traceOf ?? t, o.ripLine ?? -1) : [];
    let rip: Bug['rip'];
    let callers = trace;
    if (o.ripSite !== undefined && o.ripSite > 0) {
      const s = sites[o.ripSite];
      rip = { fn: s.fn.name, file: s.fn.file, line: s.line, stmt: s.stmt };
      callers = trace.slice(1);
    }
    const fnsForSig = (rip ? [rip.fn] : []).concat(callers.filter((e) => !e.marker).map((e) => e.fn));
    const sigHead = o.kasanWhat ? `KASAN: ${o.kasanWhat}` : kind;
    this.bug = {
      kind, headline: o.headline, pre: o.pre ?? [], post: o.post ?? [], time: this.now, cpu: o.noCpuLine ? -1 : cpu.id,
      pid: t.pid, comm: t.comm, rip, trace: callers, oops: !!o.oops,
      signature: `${sigHead} | ${fnsForSig.filter((n) => !n.startsWith('ret_from_fork')).join(' < ')}`,
    };
    this.stopped = true;
    this.endReason = 'bug';
  }

  /** A failure the torture module itself reports (its statistics print). `task`: whose stack to show. */
  tortureBug(io: Port, kind: BugKind, headline: string, pre: string[], task?: Task): void {
    const t = task ?? io.task;
    this.report(kind, this.cpus[io.task.cpu], io.task, { headline, pre, frames: t.top, traceOf: t, noCpuLine: t !== io.task });
  }

  printk(text: string): void {
    this.log.push({ t: this.now, text });
  }

  /** For reports: "cpu1 reader" */
  describe(cpu: number, task: number, site: number): string {
    const t = this.tasks[task];
    const s = site >= 0 ? sites[site] : undefined;
    return `cpu${cpu} ${t ? t.comm : `task ${task}`}${s && s.fn.name !== '<none>' ? ` ${s.fn.name}: ${s.desc}` : ''}`;
  }
}

export function fmtSecs(ns: number): string {
  const us = Math.floor(ns / 1000);
  return `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}`;
}

