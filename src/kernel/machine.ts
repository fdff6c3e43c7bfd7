// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The simulated SMP machine: its state and the step engine.
 *
 * The step engine (run/stepCpu) is the hot path: at each step the strategy
 * picks an eligible CPU, the CPU may take an interrupt or be preempted, or it
 * executes the pending op of the frame on top of its current task and resumes
 * that frame's generator to its next op. Nothing is allocated per step except
 * the generator's own iterator result.
 *
 * Everything random comes from the strategy through decide(); every decision is
 * recorded in `schedule`, so any run replays.
 *
 * The rest of the machine is in the modules imported below as namespaces,
 * functions that take the machine; the methods at the end that call one of
 * them are the machine's API for kernel code and workloads.
 */
import { MEM_BASE } from './addr.ts';
import type { Bug, BugKind } from './bugs.ts';
import { EV_BUSY_END, EV_HUNG_CHECK, EV_WAKE, EventQueue } from './events.ts';
import { Memory, SH_LIVE } from './memory.ts';
import {
  FRAME_IRQ, FRAME_TASK, OP_CMPXCHG, OP_DRAIN, OP_EXIT, OP_FENCE, OP_HANDOFF, OP_IDLE, OP_KFREE, OP_KMALLOC, OP_LOAD, OP_MUTEX_LOCK,
  OP_MUTEX_UNLOCK, OP_NOP, OP_PICK, OP_RAND, OP_RECEIVE, OP_RELAX, OP_RESCHED, OP_SLEEP, OP_STORE, OP_SWITCH,
  OP_UDELAY, OP_WAIT_HANDOFF, OP_XCHG, Port, type KGen,
} from './port.ts';
import { kfunc } from './sites.ts';
import { D_CPU, D_DRAIN, D_PREEMPT, D_RAND, type Strategy } from '../sched/strategy.ts';
import { StoreBuffer, SB_ENTRIES, drainsBefore } from './tso.ts';
import { Schedule } from '../sched/schedule.ts';
import { idle_loop } from '../sched/core.ts';
import type { HazptrVersion } from '../hazptr/version.ts';
// Site ids are given in the order modules are evaluated and go into schedule
// digests: locks.ts registers its sites, then smp.ts, then F_kmalloc below.
import './locks.ts';
import * as smp from './smp.ts';
import * as runqueue from './runqueue.ts';
import * as hotplug from './hotplug.ts';
import * as timers from './timers.ts';
import * as sync from './sync.ts';
import * as checks from './debug-checks.ts';
import * as faults from './faults.ts';
import * as watchdogs from './watchdogs.ts';
import * as reports from './reports.ts';
import * as kthread from './kthread.ts';
import * as stall from './stall.ts';
import type { ProbeBuffer } from './loop-proof.ts';
import { TASK_DEAD, TASK_UNINTERRUPTIBLE, Cpu, type Task } from './task.ts';

import {
  FL_BUFFERED, FL_FORWARDED, FL_HARDIRQ, FL_IRQS_OFF, FL_NEED_RESCHED, FL_STALE, type EndReason, type LogLine, type MachineConfig,
  type StaleRead, type StepRecord,
} from './machine-types.ts';
export {
  FL_BUFFERED, FL_FORWARDED, FL_HARDIRQ, FL_IRQS_OFF, FL_NEED_RESCHED, FL_STALE, type EndReason, type LogLine, type MachineConfig,
  type StaleRead, type StepRecord,
} from './machine-types.ts';

const HARDIRQ_OFFSET = 0x10000;

/** StepRecord.flags for a step on `cpu` now: irqs off, need-resched, hardirq, preempt depth (ftrace's columns). */
export function cpuFlags(cpu: Cpu): number {
  const pc = cpu.preemptCount;
  return (pc & 0xff) | (cpu.irqsOff ? FL_IRQS_OFF : 0) | (cpu.rq.length !== 0 ? FL_NEED_RESCHED : 0) | (pc >= HARDIRQ_OFFSET ? FL_HARDIRQ : 0);
}
/** how often (in steps) the machine considers probing for an endless loop (stall.ts) */
const PROBE_EVERY = 1 << 16;

/** D_DRAIN's range: a store stays buffered 0 .. DRAIN_DELAYS - 1 machine steps once it is the oldest of its buffer */
export const DRAIN_DELAYS = 1024;
/** how many stale reads (StaleRead) the machine keeps, the last ones */
const STALE_KEEP = 32;

/**
 * %GeneratorPrototype%.next, the one `next` of every generator. The step path
 * calls it directly: `g.next(v)` looks `next` up on generators of dozens of
 * functions, a megamorphic load at every step (6-8% of the standard
 * scenario's step time, measured).
 */
const GEN_NEXT = Object.getPrototypeOf(function* () {}).prototype.next as (this: KGen<unknown>, v: number) => IteratorResult<unknown, unknown>;

const CAND = new Int32Array(4096);
const CAND_WEIGHT = new Int32Array(4096);
const WAKE_IDS = new Int32Array(64);

const F_kmalloc = kfunc('__kmalloc_cache_noprof', 'mm/slub.c');
const F_kfree = kfunc('kfree', 'mm/slub.c');

export class Machine {
  readonly mem: Memory;
  readonly cpus: Cpu[] = [];
  readonly tasks: Task[] = [];
  readonly schedule: Schedule;
  readonly log: LogLine[] = [];
  now = 0;
  steps = 0;
  bug: Bug | null = null;
  /** the WARNs printed so far, in order (reports.ts warn()); the run went on after each */
  readonly warnings: Bug[] = [];
  /** WARN_ONCE / WARN_ON_ONCE call sites that have fired (once per boot) */
  readonly warnedOnce = new Set<string>();
  /** the address of the access that faulted, for reports and stories */
  faultAddr = 0;
  endReason: EndReason = 'done';
  divergence = '';
  /** counters a run reports and tests check: did preemption and migration happen at all? */
  readonly stats = { switches: 0, preemptions: 0, migrations: 0, irqs: 0, mutexWaits: 0, skippedNs: 0 };
  /** the CPU whose step runs now (printk's context), -1 between steps */
  curCpu = -1;
  /** called after each step when set (--trace) */
  tracer: ((s: StepRecord) => void) | null = null;

  // ---- engine state the modules beside this file read and write (not an API for workloads) ----
  readonly events = new EventQueue();
  private nextEventAt = Infinity;
  /** pending timer events that can make a task runnable or a CPU eligible (sleeps, udelays) */
  progressEvents = 0;
  private readonly elig: Int32Array;
  private nElig = 0;
  /** set whenever a CPU's eligibility may have changed: the loop recomputes it */
  eligDirty = true;
  /** tasks on any runqueue */
  nWaiting = 0;
  /** spawned tasks that have not exited */
  live = 0;
  stopped = false;
  /** pickNext's candidates and selectCpu's CPU ids: scratch, so that the step path does not allocate (shared by all machines: filled and read within one step) */
  readonly cand = CAND;
  readonly candWeight = CAND_WEIGHT;
  readonly wakeIds = WAKE_IDS;
  private lastRec = 0;
  readonly preemptFull: boolean;
  readonly irqs: smp.IrqSpec[] = [];
  /** spinlock address -> owning task id (CONFIG_DEBUG_SPINLOCK) */
  readonly spinOwner = new Map<number, number>();
  readonly mutexWaiters = new Map<number, Task[]>();
  /** ctx address -> receiving task id, while a handoff is outstanding */
  readonly handedOff = new Map<number, number>();
  readonly handoffWaiters = new Map<number, Task[]>();
  nextPid = 100;
  /** the CPU going offline (hotplug.ts), -1: none */
  pendingDown = -1;
  readonly callbacks: (() => void)[] = [];
  // history ring
  private readonly hT: Float64Array;
  private readonly hAddr: Float64Array;
  private readonly hVal: Float64Array;
  private readonly hMeta: Int32Array; // cpu, task, site, kind, flags
  private hPos = 0;
  // endless loops (stall.ts)
  /** the steps being recorded for a proof, null when not probing */
  probe: ProbeBuffer | null = null;
  /** the step count at which the loop next calls stall.considerProbe() */
  nextProbe = PROBE_EVERY;
  /** events fired so far (timers.ts), part of stall.ts's "nothing happened" mark */
  firedEvents = 0;
  /** simulated time when the steps passed half the budget, -1 before */
  halfBudgetNs = -1;
  /** the hazptr mutant's id (src/hazptr/mutant.ts), 0 for none: the port tests it at the statements mutants change */
  readonly mutant: number;
  /** x86-TSO (tso.ts): stores go through per-CPU store buffers; false: sequentially consistent */
  readonly tso: boolean;
  /** per CPU, its store buffer (always empty under SC) */
  readonly sb: StoreBuffer[] = [];
  /** how many CPUs' store buffers hold stores */
  nBuffered = 0;
  /** per CPU: the step count before which the store at the head of its buffer drains (Infinity: empty) */
  private readonly drainAt: Float64Array;
  /** the least of drainAt: the loop drains when steps reach it */
  private nextDrainAt = Infinity;
  /** StepRecord.flags bits for the step being recorded (FL_BUFFERED, FL_FORWARDED, FL_STALE) */
  private recFlags = 0;
  /** the last STALE_KEEP loads that read memory past another CPU's buffered store (a ring; staleN counts all) */
  readonly staleReads: StaleRead[] = [];
  staleN = 0;

  constructor(
    readonly cfg: MachineConfig,
    readonly hazptr: HazptrVersion,
    readonly strategy: Strategy,
    /** a workload's per-CPU variables, defined before the per-CPU areas are laid out */
    definePercpu?: (mem: Memory) => void,
  ) {
    this.mem = new Memory(cfg.kasan);
    this.schedule = cfg.recordSchedule === false ? Schedule.streaming() : new Schedule();
    this.mutant = cfg.mutant ?? 0;
    this.tso = (cfg.memoryModel ?? 'tso') === 'tso';
    this.drainAt = new Float64Array(cfg.cpus).fill(Infinity);
    this.preemptFull = cfg.preempt === 'full';
    this.elig = new Int32Array(cfg.cpus);
    const H = Math.max(0, cfg.historySteps);
    this.hT = new Float64Array(H);
    this.hAddr = new Float64Array(H);
    this.hVal = new Float64Array(H);
    this.hMeta = new Int32Array(H * 5).fill(-1);
    hazptr.setup(this);
    definePercpu?.(this.mem);
    this.mem.layoutPercpu(cfg.cpus);
    for (let c = 0; c < cfg.cpus; c++) {
      const cpu = new Cpu(c);
      this.cpus.push(cpu);
      this.sb.push(new StoreBuffer());
      const idle = kthread.newTask(this, `swapper/${c}`, true, true, c, 0);
      cpu.idle = idle;
      cpu.curr = idle;
      idle.onCpu = true;
      this.pushFrame(idle, FRAME_TASK, idle_loop);
    }
    kthread.runBootCode(this, (io) => hazptr.init(io));
  }

  // ---- task stacks ---------------------------------------------------------------

  /** Allocate a stack frame of `size` bytes in the task's stack (KASAN-live until frameLeave). */
  stackPush(t: Task, size: number): number {
    t.stackTop -= Math.ceil(size / 16) * 16;
    this.mem.frameEnter(t.stackTop, size);
    return t.stackTop;
  }

  stackPop(t: Task, addr: number, size: number, fn: string): void {
    this.mem.frameLeave(addr, size, fn);
    t.stackTop = addr + Math.ceil(size / 16) * 16;
  }

  // ---- the step engine -------------------------------------------------------------

  run(): void {
    while (!this.runChunk(Infinity));
  }

  private started = false;
  /** Run up to `n` more steps; true once the run has ended. (The CLI runs in chunks to see Ctrl-C.) */
  runChunk(n: number): boolean {
    if (!this.started) {
      this.started = true;
      if (this.cfg.hungTaskNs > 0 && isFinite(this.cfg.hungTaskNs)) this.events.push(this.cfg.hungTaskNs / 2, EV_HUNG_CHECK, 0);
      this.syncNextEvent();
    }
    try {
      this.loop(Math.min(this.cfg.maxSteps, this.steps + n));
    } catch (e) {
      if (e instanceof Error && e.name === 'ReplayDivergence') {
        this.endReason = 'divergence';
        this.divergence = e.message;
        return true;
      }
      throw e;
    }
    if (!this.stopped && this.steps < this.cfg.maxSteps) return false;
    if (this.endReason === 'done' && !this.bug && this.cfg.quiescence !== false) {
      this.drainAllCpus(); // the run is over: what the buffers hold reaches memory before the end-of-run checks read it
      watchdogs.checkQuiescence(this);
    }
    return true;
  }

  private loop(limit: number): void {
    const stepNs = this.cfg.stepNs;
    while (!this.stopped) {
      if (this.eligDirty) this.recomputeEligible();
      if (this.nElig === 0) {
        // no CPU can step until a timer fires: every buffered store reaches memory meanwhile
        if (this.nBuffered !== 0) this.drainAllCpus();
        timers.advanceIdle(this);
        continue;
      }
      if (this.steps >= this.nextProbe || this.steps >= limit) {
        if (this.steps >= limit) {
          if (limit >= this.cfg.maxSteps) {
            this.endReason = 'budget';
            stall.stallAtBudget(this);
          }
          break;
        }
        stall.tick(this, PROBE_EVERY);
        if (this.stopped) break;
        if (this.eligDirty) continue;
      }
      if (this.steps >= this.nextDrainAt) this.drainDue();
      let ci: number;
      if (this.nElig === 1) ci = this.elig[0];
      else {
        ci = this.elig[this.decide(D_CPU, this.nElig, this.elig)];
        const t = this.cpus[ci].curr;
        this.where(ci, t.id, t.frames[t.fdepth - 1].site);
      }
      this.curCpu = ci;
      this.stepCpu(this.cpus[ci]);
      this.curCpu = -1;
      if (this.pendingDown >= 0) hotplug.tryCompleteDown(this);
      this.steps++;
      this.now += stepNs;
      if (this.now >= this.nextEventAt) timers.fireEvents(this);
    }
  }

  /** Ask the strategy to choose one of `n` options; the choice is recorded in the schedule. */
  decide(kind: number, n: number, options?: Int32Array, weights?: Int32Array): number {
    const ch = this.strategy.choose(kind, n, options, weights);
    this.lastRec = this.schedule.push(kind, n, ch);
    return ch;
  }

  // ---- x86-TSO store buffers (the rules: tso.ts) ----------------------------------------

  /**
   * D_DRAIN: the store now at the head of CPU `c`'s buffer stays there for how many
   * more machine steps (0: it drains before the next step). Asked once per store,
   * when it becomes the oldest of its buffer; recorded where that store was made.
   */
  private armDrain(c: number): void {
    const b = this.sb[c];
    const d = this.decide(D_DRAIN, DRAIN_DELAYS);
    this.where(c, b.task[b.head], b.site[b.head]);
    this.drainAt[c] = this.steps + d;
    if (this.drainAt[c] < this.nextDrainAt) this.nextDrainAt = this.drainAt[c];
  }

  /** Drain every head whose time has come (each drain gives the next store its own delay), in CPU order. */
  private drainDue(): void {
    let next = Infinity;
    for (let c = 0; c < this.sb.length; c++) {
      while (this.drainAt[c] <= this.steps) {
        this.drainOne(c);
        if (this.sb[c].n !== 0) this.armDrain(c);
        else this.drainAt[c] = Infinity;
      }
      if (this.drainAt[c] < next) next = this.drainAt[c];
    }
    this.nextDrainAt = next;
  }

  /** The oldest store in CPU `c`'s buffer reaches memory (recorded as a 'store drained' step of the task that stored it). */
  private drainOne(c: number): void {
    const b = this.sb[c];
    const i = b.shift();
    const x = b.addr[i];
    const k = (x - MEM_BASE) / 8;
    this.mem.words[k] = b.val[i];
    this.mem.pend[k]--;
    if (b.n === 0) this.nBuffered--;
    this.recordAt(this.cpus[c], this.tasks[b.task[i]], b.site[i], OP_DRAIN, x, b.val[i]);
  }

  /** A locked op, mfence or a serialising event on CPU `c`: its buffer empties first. */
  drainAll(c: number): void {
    while (this.sb[c].n !== 0) this.drainOne(c);
    if (this.drainAt[c] !== Infinity) {
      this.drainAt[c] = Infinity;
      let next = Infinity;
      for (let k = 0; k < this.drainAt.length; k++) if (this.drainAt[k] < next) next = this.drainAt[k];
      this.nextDrainAt = next;
    }
  }

  drainAllCpus(): void {
    for (let c = 0; c < this.sb.length; c++) this.drainAll(c);
  }

  private bufferStore(cpu: Cpu, t: Task, site: number, x: number, v: number): void {
    const b = this.sb[cpu.id];
    const full = b.n === SB_ENTRIES;
    if (full) this.drainOne(cpu.id); // its successor's delay is asked below, unless the new store is the head
    b.push(x, v, site, t.id, this.now);
    this.mem.pend[(x - MEM_BASE) / 8]++;
    if (b.n === 1) this.nBuffered++;
    this.recFlags = FL_BUFFERED;
    if (b.n === 1 || full) this.armDrain(cpu.id);
  }

  /** A load of a word some store buffer holds a store to: this CPU's newest (forwarding), else memory, noted as stale. */
  private loadBuffered(cpu: Cpu, t: Task, site: number, x: number, k: number): number {
    const own = this.sb[cpu.id];
    const i = own.n !== 0 ? own.newest(x) : -1;
    if (i >= 0) {
      this.recFlags = FL_FORWARDED;
      return own.val[i];
    }
    const v = this.mem.words[k];
    let by = -1;
    let byI = -1;
    for (let c = 0; c < this.sb.length; c++) {
      if (c === cpu.id || this.sb[c].n === 0) continue;
      const j = this.sb[c].newest(x);
      if (j >= 0 && (by < 0 || this.sb[c].time[j] > this.sb[by].time[byI])) {
        by = c;
        byI = j;
      }
    }
    if (by >= 0) {
      const b = this.sb[by];
      const r: StaleRead = { t: this.now, cpu: cpu.id, task: t.id, site, addr: x, val: v, byCpu: by, byTask: b.task[byI], bySite: b.site[byI], byTime: b.time[byI], byVal: b.val[byI] };
      if (this.staleReads.length < STALE_KEEP) this.staleReads.push(r);
      else this.staleReads[this.staleN % STALE_KEEP] = r;
      this.staleN++;
      this.recFlags = FL_STALE;
    }
    return v;
  }

  /** The word at `addr` as the task running `io` sees it: its CPU's newest buffered store to it, else memory (a model helper, not a step). */
  seen(io: Port, addr: number): number {
    const b = this.sb[io.task.cpu];
    const i = b.n !== 0 ? b.newest(addr) : -1;
    return i >= 0 ? b.val[i] : this.mem.peek(addr);
  }

  /**
   * The API methods below that stand for kernel functions taking a lock or doing a
   * locked read-modify-write before anything else they do is visible (waking a
   * task, queueing an IPI or a timer, changing affinity, hotplug) call this: the
   * buffer of the CPU whose step calls them drains first, as at a locked op.
   */
  private serialise(): void {
    if (this.curCpu >= 0 && this.sb[this.curCpu].n !== 0) this.drainAll(this.curCpu);
  }

  /** Where the last decision was taken (CPU, task, site): kept in the schedule, checked on replay. */
  where(cpu: number, task: number, site: number): void {
    this.schedule.where(this.lastRec, cpu, task, site);
    this.strategy.confirm(cpu, task, site);
  }

  /** An access the machine refuses: unmapped, non-canonical, misaligned, or (KASAN) not live. */
  private refused(x: number): boolean {
    const mem = this.mem;
    // in range, x is below 2^31, so x & 7 is exact (x % 8 on a double is a call to fmod)
    return !(x >= MEM_BASE && x < mem.end) || (x & 7) !== 0 || (mem.kasan && mem.shadow[(x - MEM_BASE) >>> 3] !== SH_LIVE);
  }

  private stepCpu(cpu: Cpu): void {
    const t = cpu.curr;
    const f = t.frames[t.fdepth - 1];
    const preemptible = cpu.preemptCount === 0 && !cpu.irqsOff;
    if (t.isIdle || (this.preemptFull && preemptible)) cpu.lastResched = this.now;
    else if (this.now - cpu.lastResched > this.cfg.softLockupNs && this.now >= watchdogs.softLockupAt(this, cpu.lastResched)) {
      watchdogs.softLockup(this, cpu);
      return;
    }
    const buffered = this.sb[cpu.id].n !== 0;
    if (cpu.irqPending !== 0 && !cpu.irqsOff) {
      if (buffered) this.drainAll(cpu.id); // interrupt entry serialises
      smp.deliverIrq(this, cpu, t);
      return;
    }
    if ((cpu.goingDown || t.excludedCpu === cpu.id || (t.pinned && t.homeCpu !== cpu.id)) && preemptible && !t.isIdle && this.preemptFull) {
      // the stopper moves a task off a CPU going offline, or one its affinity no longer allows (an IPI: drains)
      if (buffered) this.drainAll(cpu.id);
      smp.preemptNow(this, cpu, t);
      return;
    }
    if (this.preemptFull && preemptible && cpu.rq.length > 0 && !t.isIdle && !t.rt) {
      const d = this.decide(D_PREEMPT, 2, undefined, runqueue.preemptWeights(this, cpu, t));
      this.where(cpu.id, t.id, f.site);
      if (d === 1) {
        if (buffered) this.drainAll(cpu.id); // preempted on the way out of an interrupt: its entry drained
        smp.preemptNow(this, cpu, t);
        return;
      }
    }
    if (buffered && drainsBefore(f.kind, f.ord)) this.drainAll(cpu.id);
    const mem = this.mem;
    let v = 0;
    const x = f.addr;
    switch (f.kind) {
      case OP_LOAD: {
        if (this.refused(x)) return faults.fault(this, cpu, t, f, false);
        const k = (x - MEM_BASE) / 8;
        v = mem.pend[k] === 0 ? mem.words[k] : this.loadBuffered(cpu, t, f.site, x, k);
        break;
      }
      case OP_STORE:
        if (this.refused(x)) return faults.fault(this, cpu, t, f, true);
        if (this.tso) this.bufferStore(cpu, t, f.site, x, (v = f.val));
        else v = mem.words[(x - MEM_BASE) / 8] = f.val;
        break;
      case OP_CMPXCHG:
        if (this.refused(x)) return faults.fault(this, cpu, t, f, true);
        v = mem.words[(x - MEM_BASE) / 8];
        if (v === f.val2) mem.words[(x - MEM_BASE) / 8] = f.val;
        break;
      case OP_XCHG:
        if (this.refused(x)) return faults.fault(this, cpu, t, f, true);
        v = mem.words[(x - MEM_BASE) / 8];
        mem.words[(x - MEM_BASE) / 8] = f.val;
        break;
      case OP_NOP:
        // val > 1: a run of val NOP steps (a workload's spin), val counting down the steps left; each is a
        // step of its own, with its own decisions, but the generator is resumed after the last only, as it
        // would do nothing between them. The last leaves val 0, as a single NOP's op() does.
        if (f.val > 1) {
          f.val--;
          this.record(cpu, t, f, 0);
          return;
        }
        f.val = 0;
        break;
      case OP_FENCE:
      case OP_RELAX:
        break;
      case OP_IDLE:
        v = !cpu.goingDown && (cpu.rq.length > 0 || runqueue.pullable(this, cpu)) ? 1 : 0; // need_resched()
        if (!v) this.eligDirty = true;
        break;
      case OP_PICK:
        v = runqueue.pickNext(this, cpu, t, f.val === 1);
        cpu.lastResched = this.now;
        this.eligDirty = true;
        break;
      case OP_SWITCH:
        this.record(cpu, t, f, f.val);
        runqueue.contextSwitch(this, cpu, t, this.tasks[f.val]);
        return;
      case OP_SLEEP:
        t.state = TASK_UNINTERRUPTIBLE;
        t.blockedSince = this.now;
        t.blockedOn = 'sleep';
        this.events.push(this.now + f.val, EV_WAKE, t.id, ++t.sleepToken);
        this.progressEvents++;
        this.syncNextEvent();
        break;
      case OP_UDELAY: // delay_tsc(): busy until f.val (absolute); interrupts, and under PREEMPT preemption, come in between
        if (f.val > this.now && cpu.busyUntil !== f.val) {
          cpu.busyUntil = f.val;
          this.events.push(f.val, EV_BUSY_END, cpu.id);
          this.progressEvents++;
          this.syncNextEvent();
        }
        this.eligDirty = true;
        break;
      case OP_MUTEX_LOCK:
        v = sync.mutexLock(this, cpu, t, x);
        break;
      case OP_MUTEX_UNLOCK:
        sync.mutexUnlock(this, cpu, t, x);
        break;
      case OP_KMALLOC:
        v = mem.kmalloc(f.val, faults.track(t, F_kmalloc.name), cpu.id);
        break;
      case OP_KFREE:
        if (x !== 0) {
          const err = mem.kfree(x, faults.track(t, F_kfree.name), cpu.id);
          if (err && mem.kasan) return faults.kasanFree(this, cpu, t, x, err);
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
          v = this.decide(D_PREEMPT, 2, undefined, runqueue.preemptWeights(this, cpu, t));
          this.where(cpu.id, t.id, f.site);
        }
        break;
      case OP_HANDOFF:
        sync.handoff(this, t, x, f.val, f.val2);
        break;
      case OP_RECEIVE:
        v = sync.receive(this, t);
        break;
      case OP_WAIT_HANDOFF:
        v = sync.waitHandoff(this, t, x);
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
  resume(t: Task, f: Port, v: number): void {
    const calls = f.calls;
    let g = calls[f.ncalls - 1];
    for (;;) {
      const r = GEN_NEXT.call(g, v);
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

  /** Run `fn` in a new frame on top of the task (an interrupt, a preemption) up to its first op. */
  pushFrame(t: Task, kind: number, fn: (io: Port) => KGen): void {
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
    // the handler returns with iretq, a serialising instruction: its stores reach memory before the task goes on
    if (f.frameKind === FRAME_IRQ && this.sb[t.cpu].n !== 0) this.drainAll(t.cpu);
  }

  private record(cpu: Cpu, t: Task, f: Port, v: number): void {
    this.recordAt(cpu, t, f.site, f.kind, f.addr, v);
  }

  /** Keep a step in the history ring and pass it to the tracer. */
  recordAt(cpu: Cpu, t: Task, site: number, kind: number, addr: number, v = 0): void {
    if (this.probe !== null && kind !== OP_DRAIN) stall.probeStep(this, cpu.id, site, kind, addr, v);
    const H = this.hT.length;
    if (H === 0 && this.tracer === null) {
      this.recFlags = 0;
      return;
    }
    const flags = cpuFlags(cpu) | this.recFlags;
    this.recFlags = 0;
    if (H !== 0) {
      const i = this.hPos++ % H;
      this.hT[i] = this.now;
      this.hAddr[i] = addr;
      this.hVal[i] = v;
      const m = i * 5;
      this.hMeta[m] = cpu.id;
      this.hMeta[m + 1] = t.id;
      this.hMeta[m + 2] = site;
      this.hMeta[m + 3] = kind;
      this.hMeta[m + 4] = flags;
    }
    if (this.tracer) this.tracer({ t: this.now, cpu: cpu.id, task: t.id, site, kind, addr, val: v, flags });
  }

  /** The last executed steps, oldest first. */
  history(): StepRecord[] {
    const H = this.hT.length;
    const out: StepRecord[] = [];
    const n = Math.min(H, this.hPos);
    if (n === 0) return out;
    for (let k = this.hPos - n; k < this.hPos; k++) {
      const i = k % H;
      const m = i * 5;
      out.push({ t: this.hT[i], cpu: this.hMeta[m], task: this.hMeta[m + 1], site: this.hMeta[m + 2], kind: this.hMeta[m + 3], addr: this.hAddr[i], val: this.hVal[i], flags: this.hMeta[m + 4] });
    }
    return out;
  }

  /**
   * Which CPUs can take a step now: online, not idle with nothing to do, and not
   * inside udelay() unless an interrupt is pending (irqs on), a handler runs on
   * top of the delay, or under PREEMPT a task waits to preempt it.
   */
  private recomputeEligible(): void {
    this.eligDirty = false;
    let n = 0;
    for (const cpu of this.cpus) {
      if (!cpu.online) continue;
      const t = cpu.curr;
      if (cpu.busyUntil > this.now && t.frames[t.fdepth - 1].kind === OP_UDELAY && (cpu.irqPending === 0 || cpu.irqsOff)
        && !(this.preemptFull && cpu.preemptCount === 0 && !cpu.irqsOff && cpu.rq.length > 0 && !t.rt)) continue;
      if (t.isIdle && t.fdepth === 1 && t.frames[0].kind === OP_IDLE) {
        if (cpu.rq.length === 0 && cpu.irqPending === 0 && (cpu.goingDown || !runqueue.pullable(this, cpu))) continue;
      }
      this.elig[n++] = cpu.id;
    }
    this.nElig = n;
  }

  /** Could `cpu` take a step now? (stall.ts) */
  isEligible(cpu: number): boolean {
    if (this.eligDirty) this.recomputeEligible();
    for (let i = 0; i < this.nElig; i++) if (this.elig[i] === cpu) return true;
    return false;
  }

  /** The step loop calls fireEvents() at the next timer or at the time limit, whichever is first. */
  syncNextEvent(): void {
    this.nextEventAt = Math.min(this.events.nextAt, this.cfg.maxTimeNs);
  }

  // ---- the machine's API for kernel code and workloads: the logic is in the module each method calls ----

  /** Create a kthread; it is queued on `cpu` (or a CPU the scheduler picks) and starts when scheduled. */
  spawn(comm: string, fn: (io: Port) => KGen, opts: { cpu?: number; pinned?: boolean } = {}): Task { this.serialise(); return kthread.spawn(this, comm, fn, opts); }
  addIrq(spec: smp.IrqSpec): void { timers.addIrq(this, spec); }
  addTimer(at: number, fn: () => void): void { this.serialise(); timers.addTimer(this, at, fn); }
  excludeCpu(tasks: number[], cpu: number): void { this.serialise(); runqueue.excludeCpu(this, tasks, cpu); }
  setAffinity(t: Task, cpu: number): void { this.serialise(); runqueue.setAffinity(this, t, cpu); }
  cpuDown(cpu: number): boolean { this.serialise(); return hotplug.cpuDown(this, cpu); }
  cpuUp(cpu: number): boolean { this.serialise(); return hotplug.cpuUp(this, cpu); }
  cpuIsOnline(cpu: number): boolean { return this.cpus[cpu].online; }
  /** smp_call_function_single()'s queueing and IPI: llist_add() is a locked cmpxchg and x2APIC's send is fenced (weak_wrmsr_fence()): the sender's buffer drains */
  sendIpi(cpu: number, fn: (io: Port) => KGen, csd: number): void { this.serialise(); smp.sendIpi(this, cpu, fn, csd); }
  interruptPoint(io: Port): boolean { return smp.interruptPoint(this, io); }
  handoffReleased(ctx: number): void { this.serialise(); sync.handoffReleased(this, ctx); }
  preemptEnable(io: Port): void { checks.preemptEnable(this, io); }
  preemptCountDec(io: Port): void { this.cpus[io.task.cpu].preemptCount--; }
  mightSleep(io: Port, file: string): void { checks.mightSleep(this, io, file); }
  scheduleDebug(io: Port, _preempt: boolean): void { checks.scheduleDebug(this, io); }
  lockdepAssertPreemptionEnabled(io: Port, file: string, line: number): void { checks.lockdepAssertPreemptionEnabled(this, io, file, line); }
  checkPreemptOff(io: Port): void { checks.checkPreemptOff(this, io); }
  spinDebugLock(io: Port, lock: number): void { checks.spinDebugLock(this, io, lock); }
  spinOwned(io: Port, lock: number): void { checks.spinOwned(this, io, lock); }
  spinDebugUnlock(io: Port, lock: number): void { checks.spinDebugUnlock(this, io, lock); }
  tortureBug(io: Port, kind: BugKind, headline: string, pre: string[], task?: Task): void { reports.tortureBug(this, io, kind, headline, pre, task); }
  printk(text: string): void {
    const c = this.curCpu >= 0 ? this.cpus[this.curCpu] : null;
    this.log.push({ t: this.now, text, cpu: this.curCpu, task: c ? c.curr.id : -1, flags: c ? cpuFlags(c) : 0 });
  }
  /** set_user_nice() */
  setNice(t: Task, nice: number): void { t.nice = Math.max(-20, Math.min(19, nice)); }
  /** sched_set_fifo() (true) / sched_set_normal() (false) */
  setFifo(t: Task, fifo: boolean): void { t.rt = fifo; }
}
