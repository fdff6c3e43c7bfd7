// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The dfs strategy: one run of a bounded exhaustive search (after CHESS:
 * iterative context bounding, Musuvathi & Qadeer, PLDI 2007) driven by a
 * stateless re-execution explorer (src/scenario/explore.ts). A run follows the
 * decisions of the run it branches from up to one decision, takes another
 * choice there, then completes by default:
 *
 *  - D_CPU: the CPU that stepped last, while it is eligible; when it cannot
 *    step, or has just yielded (a cpu_relax() in a spin loop, or a context
 *    switch: the scheduler ran there), the next eligible CPU in id order
 *    (round robin, so that no CPU starves another: a run is fair);
 *  - D_PREEMPT: no; D_PICK: the first candidate; D_WAKE_CPU: the first CPU;
 *  - D_DRAIN (x86-TSO): delay 0, the store reaches memory before the next step;
 *  - D_RAND: not a branch: each task draws from its own generator seeded with
 *    the explore seed and its task id, so a task's numbers do not depend on the
 *    interleaving (and so do not make two orders of independent steps differ).
 *
 * The cost of a schedule is what the bound counts: a D_CPU choice other than
 * the default while the CPU that stepped last could still step (a
 * preemption; after a yield too, where CHESS makes every choice free), a
 * D_PREEMPT of 1, a delayed drain (delay n-1: the store stays
 * buffered until something forces it out, see docs/hunting.md), a D_PICK or
 * D_WAKE_CPU other than the first. A D_CPU choice when the last CPU cannot
 * step is free.
 *
 * The reduction (sleep sets, Godefroid 1996, restricted so that it is sound
 * under the bound): what a batch of steps between two D_CPU decisions
 * touched is observed after it runs (the machine's tracer, and a fingerprint
 * of the scheduler state), for the batches the reduction reads: the one
 * after each branch point, and those while a CPU sleeps; see Access. When a run preempts CPU A at decision
 * i to run B, A's step at i (known from the run it branches from) is put to
 * sleep: while it sleeps, A's step commutes with every step taken, so a
 * schedule that runs A next is equivalent to one that ran A's step before the
 * preemption, with no more preemptions; such schedules are not explored (an
 * alternative that picks a sleeping CPU is not queued, and a run whose default
 * picks one stops: `ExploreCut`).
 *
 * Time: swapping two independent steps moves the steps between them by one
 * step, so an event timed by the clock or the step count (a timer, the end of a
 * udelay, a delayed drain's deadline) would land between other steps. Every
 * batch reads the clock (P_TIME); a batch writes it when such an event is armed
 * and could come due before the step budget ends, at its start or its end, or
 * when it arms one (timed()). So no CPU sleeps, and no run is cut, while one
 * is pending: the order of every two steps is then explored.
 */
import seedrandom from 'seedrandom';
import type { Machine } from '../kernel/machine.ts';
import { FL_BUFFERED, type StepRecord } from '../kernel/machine-types.ts';
import {
  OP_CMPXCHG, OP_DRAIN, OP_EXIT, OP_FENCE, OP_HANDOFF, OP_IDLE, OP_KFREE, OP_KMALLOC, OP_LOAD, OP_MUTEX_LOCK, OP_MUTEX_UNLOCK, OP_NOP,
  OP_PICK, OP_RAND, OP_RECEIVE, OP_RELAX, OP_RESCHED, OP_SLEEP, OP_STORE, OP_SWITCH, OP_UDELAY, OP_WAIT_HANDOFF, OP_XCHG,
} from '../kernel/port.ts';
import { grown } from '../kernel/typed.ts';
import { D_CPU, D_DRAIN, D_PICK, D_PREEMPT, D_RAND, D_WAKE_CPU, type Strategy } from './strategy.ts';

/** What a batch of steps did, as far as independence goes (a batch touches a few words: arrays, not sets). */
export class Access {
  /** a timer fired, a WARN, hotplug, a new task...: dependent on every step */
  global = false;
  /** 8-byte words (and pseudo-addresses, below) read and written (a buffered store writes nothing yet; its drain does) */
  readonly reads: number[] = [];
  readonly writes: number[] = [];
  /** the CPUs whose steps are in the batch */
  readonly cpus: number[] = [];
  steps = 0;
  /** a decision other than D_CPU and D_RAND was taken inside the batch (a drain delay, a preemption check...) */
  decided = false;
  /** a step read other CPUs' scheduler state (pullable(), pickNext()'s pull, selectCpu() for a wakeup) */
  schedAll = false;
  /** a delayed drain was chosen inside the batch (a step-count deadline armed) */
  delayed = false;
}

function add(a: number[], x: number): void {
  if (!a.includes(x)) a.push(x);
}

/** May the two batches not be swapped? Conservative: global, or a word one writes and the other touches. */
export function dependent(a: Access, b: Access): boolean {
  if (a.global || b.global) return true;
  for (const x of a.writes) if (b.writes.includes(x) || b.reads.includes(x)) return true;
  for (const x of b.writes) if (a.reads.includes(x)) return true;
  return false;
}

/** A sleeping CPU and the step it would take next. */
export interface Sleeper {
  cpu: number;
  acc: Access;
}

/**
 * A run to explore: the decisions of the run of `prev` before `at`, `alt` at
 * `at`, then the default completion. A run is kept as its path from the
 * default run, not as its decisions: the run of `prev` is its own path's
 * choices and the default everywhere else, so following the path and taking
 * the default elsewhere repeats it (D_RAND's generators start afresh at each
 * choice of the path, as they did in each run along it). A queued branch so
 * costs a few numbers, not a copy of a run of a million decisions.
 */
export interface Branch {
  prev: Branch | null;
  at: number;
  alt: number;
  /** its cost: preemptions + delayed drains + other non-default scheduler choices */
  cost: number;
  /** FNV-1a of the decisions (kind, among, chosen) of the run of `prev` before `at`: this run checks it gets there the same */
  check: number;
  /** the sleeping CPUs after decision `at`: those of the run it branches from there, and `also` (taken by its run: a branch is run once) */
  sleep: Sleeper[];
  also: Sleeper | null;
}

export const ROOT: Branch = { prev: null, at: -1, alt: 0, cost: 0, check: 0, sleep: [], also: null };

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 16777619;
function fold(h: number, kind: number, n: number, chosen: number): number {
  h = Math.imul(h ^ kind, FNV_PRIME);
  h = Math.imul(h ^ n, FNV_PRIME);
  return Math.imul(h ^ chosen, FNV_PRIME);
}

/** Thrown by choose() when the default completion would run a sleeping CPU: the rest of the run is equivalent to one explored. */
export class ExploreCut extends Error {
  constructor() {
    super('explore: the run is equivalent to one explored (sleep set)');
    this.name = 'ExploreCut';
  }
}

/** Per D_CPU decision taken by default: what the explorer needs to branch there. */
interface CpuPoint {
  i: number;
  options: Int32Array;
  def: number;
  /** the CPU that stepped last could still step: another choice is a preemption */
  lastEligible: boolean;
  /** the default is to stay on that CPU (not after a yield) */
  stay: boolean;
  sleep: Sleeper[];
  /** what the steps after this decision did, up to the next D_CPU decision (null: the run ended first) */
  after: Access | null;
}

export interface DfsOptions {
  /** the explore seed: D_RAND's generators */
  seed: number;
  /** the partial-order reduction on (sleep sets) */
  reduce: boolean;
  /** the largest cost explored: branch points beyond it are not kept */
  bound: number;
  /**
   * Per cost, how many more branches of that cost the search could still run
   * (its budget less the runs queued ahead of them): a branch beyond it would
   * never run, so it is not kept, nor the branch point it would come from.
   * Absent: no limit.
   */
  room?: number[];
}

/** A run's decisions: kind, among how many, chosen. */
export interface Decisions {
  kind: Uint8Array;
  n: Uint32Array;
  chosen: Uint32Array;
}

/**
 * The decisions of the run going on, in arrays that the next run reuses (a
 * run of a million steps takes over a million: a fresh set of arrays for each
 * would be garbage of tens of MB a run).
 */
const DECISIONS: Decisions = { kind: new Uint8Array(1024), n: new Uint32Array(1024), chosen: new Uint32Array(1024) };
/** the strategy whose run DECISIONS holds */
let current: DfsStrategy | null = null;

/** After a search: let the last run go, and the arrays shrink back (they are as long as its longest run). */
export function releaseDecisions(): void {
  if (current) current.len = -1;
  current = null;
  DECISIONS.kind = new Uint8Array(1024);
  DECISIONS.n = new Uint32Array(1024);
  DECISIONS.chosen = new Uint32Array(1024);
}

const LOCAL_KINDS = new Set([OP_FENCE, OP_RELAX, OP_NOP, OP_RAND]);

export class DfsStrategy implements Strategy {
  private i = 0;
  /** the run's decisions so far: kind, among how many, chosen (in the arrays of DECISIONS, the last run's) */
  len = 0;
  /** the D_CPU decisions taken by default, in order */
  readonly points: CpuPoint[] = [];
  private sleep: Sleeper[] = [];
  private m: Machine | null = null;
  private lastCpu = -1;
  private lastKind = -1;
  private batch = new Access();
  private open: CpuPoint | null = null;
  private fp = new Float64Array(0);
  private fpNext = new Float64Array(0);
  /** address -> the pseudo-address of what it lies in (a stack, the heap), 0: neither */
  private readonly region = new Map<number, number>();
  private readonly rngs = new Map<number, () => number>();
  /** at the last boundary: was a timed event armed (timed()), and how many events the queue held */
  private timedBefore = false;
  private eventsBefore = 0;
  /**
   * Is the batch of steps since the last D_CPU decision observed? Only a batch
   * someone reads needs its accesses and the fingerprints at its two ends: the
   * one after a branch point of this run (its `after`), and one while CPUs
   * sleep (it may wake them; a branch's sleepers are put to sleep at its own
   * choice, a D_CPU decision, so from the start of a batch). The first batch
   * is observed too, needed or not. The others (most of a long run) pass with
   * the default choice's bookkeeping only.
   */
  private track = true;
  /** this.fp holds the fingerprint of the machine now (taken at this D_CPU decision) */
  private fpNow = false;
  /** the path's choices, by decision index, and the next one to take */
  private readonly pathAt: number[] = [];
  private readonly pathAlt: number[] = [];
  private pj = 0;
  /** FNV-1a of the decisions so far, up to the branch's own choice (checked there against Branch.check) */
  private h = FNV_OFFSET;
  private readonly brSleep: Sleeper[];
  /** what is left of DfsOptions.room as this run's branch points take it (a copy) */
  private readonly room: number[] | null;

  constructor(readonly branch: Branch, private readonly o: DfsOptions) {
    if (current) current.len = -1; // the arrays are this run's now
    current = this;
    for (let b: Branch | null = branch; b && b.at >= 0; b = b.prev) {
      this.pathAt.push(b.at);
      this.pathAlt.push(b.alt);
    }
    this.pathAt.reverse();
    this.pathAlt.reverse();
    this.brSleep = branch.also ? [...branch.sleep, branch.also] : branch.sleep;
    this.room = o.room ? [...o.room] : null;
    // the branch stays as the `prev` of its children: what only this run needs goes with it
    if (branch !== ROOT) {
      branch.sleep = [];
      branch.also = null;
    }
  }

  /** Watch the machine's steps (its tracer); call before it runs. */
  attach(m: Machine): void {
    this.m = m;
    const len = FP_GLOBAL + 1 + m.cpus.length * FP_CPU;
    this.fp = new Float64Array(len + 256 * FP_TASK);
    this.fpNext = new Float64Array(len + 256 * FP_TASK);
    this.startBatch(); // the steps before the first D_CPU decision are observed
    m.tracer = (r) => this.observe(r);
  }

  /** The batch beginning now is observed: the fingerprint and clock state at its start. */
  private startBatch(): void {
    const m = this.m!;
    this.track = true;
    if (this.fpNow) return;
    fingerprint(m, this.fp);
    this.timedBefore = timed(m);
    this.eventsBefore = m.events.size;
  }

  private observe(r: StepRecord): void {
    const b = this.batch;
    if (r.kind !== OP_DRAIN) {
      this.lastCpu = r.cpu;
      this.lastKind = r.kind;
    }
    if (!this.track) return;
    if (r.kind === OP_DRAIN) {
      this.word(b.writes, r.addr);
      return;
    }
    b.steps++;
    add(b.cpus, r.cpu);
    switch (r.kind) {
      case OP_LOAD:
        this.word(b.reads, r.addr);
        break;
      case OP_STORE:
        if (!(r.flags & FL_BUFFERED)) this.word(b.writes, r.addr);
        break;
      case OP_CMPXCHG:
      case OP_XCHG:
        this.word(b.reads, r.addr);
        this.word(b.writes, r.addr);
        break;
      case OP_MUTEX_LOCK:
      case OP_MUTEX_UNLOCK:
        add(b.reads, r.addr);
        add(b.writes, r.addr);
        break;
      case OP_KMALLOC:
      case OP_KFREE:
        add(b.writes, P_HEAP);
        break;
      case OP_HANDOFF:
      case OP_RECEIVE:
      case OP_WAIT_HANDOFF:
        add(b.writes, P_HANDOFF);
        break;
      case OP_PICK:
      case OP_SWITCH:
      case OP_IDLE:
      case OP_SLEEP:
      case OP_EXIT:
        // pullable(), pickNext()'s pull from other runqueues, selectCpu() (which CPUs are idle) read every CPU's state
        b.schedAll = true;
        add(b.writes, pSched(r.cpu));
        break;
      case OP_RESCHED:
      case OP_UDELAY:
      case 0: // interrupt or preemption entry
        add(b.writes, pSched(r.cpu));
        break;
      default:
        if (!LOCAL_KINDS.has(r.kind)) b.global = true;
    }
  }

  /** A memory word, and what it lies in: a task's stack (its frames come and go) or the heap (kmalloc/kfree change it). */
  private word(set: number[], x: number): void {
    add(set, x);
    let owner = this.region.get(x);
    if (owner === undefined) {
      const reg = this.m?.mem.regionOf(x);
      owner = reg?.kind === 'stack' ? pStack(reg.owner) : reg?.kind === 'heap' ? P_HEAP : 0;
      this.region.set(x, owner);
    }
    if (owner !== 0) add(this.batch.reads, owner);
  }

  /** A D_CPU decision: close the batch of steps since the last one; wake the sleepers it depends on. */
  private boundary(): void {
    const b = this.batch;
    const m = this.m;
    this.fpNow = false;
    if (!this.track) {
      // nobody reads an untracked batch (no sleeper to wake, no branch point before it): only its flags were set
      b.global = b.decided = b.schedAll = b.delayed = false;
      return;
    }
    if (m) {
      const fp = fingerprint(m, this.fpNext);
      const old = this.fp;
      for (let k = 0; k < FP_GLOBAL; k++) if (fp[k] !== old[k]) b.global = true;
      if (fp[FP_GLOBAL] !== old[FP_GLOBAL]) add(b.writes, P_HANDOFF);
      const nc = m.cpus.length;
      let o = FP_GLOBAL + 1;
      for (let c = 0; c < nc; c++, o += FP_CPU) {
        for (let k = o; k < o + FP_CPU; k++) if (fp[k] !== old[k]) add(b.writes, pSched(c));
      }
      for (let t = 0; t < m.tasks.length; t++, o += FP_TASK) {
        // state, cpu, runqueue, frames: the scheduler state of the CPU it was on and of the one it is on
        for (let k = o; k < o + 4; k++) {
          if (fp[k] !== old[k]) {
            add(b.writes, pSched(fp[o + 1]));
            add(b.writes, pSched(old[o + 1]));
            // a wakeup or a requeue: selectCpu() looked at which CPUs are idle
            if (k !== o + 3) b.schedAll = true;
          }
        }
        if (fp[o + 4] !== old[o + 4] || fp[o + 5] !== old[o + 5]) add(b.writes, P_HANDOFF); // its mailbox
        if (fp[o + 6] !== old[o + 6]) add(b.writes, pStack(t));
        if (fp[o + 7] !== old[o + 7] || fp[o + 8] !== old[o + 8] || fp[o + 9] !== old[o + 9]) b.global = true; // where it may run
      }
      this.fpNext = old;
      this.fp = fp;
      this.fpNow = true;
      if (b.schedAll) for (let c = 0; c < nc; c++) add(b.reads, pSched(c));
      // time: every step advances the clock (reads it); while an event timed by the clock or the step
      // count is armed and could come due, or when one is armed, every batch also writes it
      const armed = timed(m);
      if (this.timedBefore || armed || b.delayed || m.events.size > this.eventsBefore) add(b.writes, P_TIME);
      this.timedBefore = armed;
      this.eventsBefore = m.events.size;
    }
    add(b.reads, P_TIME);
    // a step of CPU c reads its scheduler state (the preemption check, a pending interrupt)
    for (const c of b.cpus) add(b.reads, pSched(c));
    if (this.sleep.length) this.sleep = this.sleep.filter((s) => !b.cpus.includes(s.cpu) && !dependent(s.acc, b));
    if (this.open) {
      this.open.after = b;
      this.open = null;
      this.batch = new Access();
    } else {
      // nobody keeps it: reuse
      b.global = b.decided = b.schedAll = b.delayed = false;
      b.steps = b.reads.length = b.writes.length = b.cpus.length = 0;
    }
  }

  choose(kind: number, n: number, options?: Int32Array): number {
    const i = this.i++;
    if (kind === D_CPU) this.boundary();
    else if (kind !== D_RAND) this.batch.decided = true;
    const br = this.branch;
    let c: number;
    if (i === this.pathAt[this.pj]) {
      // a choice of the path: a run along it took it here
      c = this.pathAlt[this.pj++];
      if (c >= n) throw new Error(`explore: decision #${i} (kind ${kind}) cannot take ${c} of ${n}: the run did not repeat itself`);
      this.rngs.clear(); // the run that took it started with fresh generators
      if (i === br.at) {
        if (this.h !== br.check) throw new Error(`explore: the decisions before #${i} differ from those of the run it branches from: the run did not repeat itself`);
        this.sleep = this.brSleep;
      }
    } else if (i < br.at) c = this.replayDefault(kind, n, options);
    else c = this.byDefault(i, kind, n, options);
    if (i < br.at) this.h = fold(this.h, kind, n, c);
    if (kind === D_DRAIN && c !== 0) this.batch.delayed = true;
    const d = DECISIONS;
    if (this.len === d.kind.length) {
      d.kind = grown(d.kind, this.len + 1);
      d.n = grown(d.n, this.len + 1);
      d.chosen = grown(d.chosen, this.len + 1);
    }
    d.kind[this.len] = kind;
    d.n[this.len] = n;
    d.chosen[this.len++] = c;
    if (kind === D_CPU) {
      if (this.open !== null || this.sleep.length !== 0) this.startBatch();
      else this.track = false;
    }
    return c;
  }

  /** D_CPU's default: the index in `options` (and whether the CPU that stepped last is among them, and stays). */
  private li = -1;
  private stay = false;
  private cpuDefault(n: number, options: Int32Array): number {
    const last = this.lastCpu;
    let li = -1;
    let next = -1;
    let first = 0;
    for (let j = 0; j < n; j++) {
      if (options[j] === last) li = j;
      if (options[j] > last && (next < 0 || options[j] < options[next])) next = j;
      if (options[j] < options[first]) first = j;
    }
    const stay = li >= 0 && this.lastKind !== OP_RELAX && this.lastKind !== OP_SWITCH;
    this.li = li;
    this.stay = stay;
    return stay ? li : next >= 0 ? next : first;
  }

  /**
   * Room for the branches a point at decision cost `cost` would have (the
   * alternatives children() queues): false when there is none left, so none
   * would be queued. The room is taken as children() takes it, for the branch
   * points alone: the other decisions' branches (drains, preemptions...),
   * which children() also counts, are left out, so this keeps every point
   * children() could queue a branch of (and maybe some it drops).
   */
  private keepPoint(cost: number, def: number, n: number, options: Int32Array): boolean {
    const room = this.room!;
    let alts = 0;
    for (let j = 0; j < n; j++) if (j !== def && !(this.o.reduce && this.sleep.some((s) => s.cpu === options[j]))) alts++;
    if (room[cost] <= 0) {
      // its branches are left out as children() would leave them: the search is not complete
      if (alts) this.dropped[cost] = (this.dropped[cost] ?? 0) + alts;
      return false;
    }
    for (; alts > 0 && room[cost] > 0; alts--) for (let k = cost; k < room.length; k++) room[k]--;
    return true;
  }

  /** A D_RAND: the task's own generator (started afresh at the path's last choice). */
  private rand(n: number): number {
    const t = this.m && this.m.curCpu >= 0 ? this.m.cpus[this.m.curCpu].curr.id : -1;
    let g = this.rngs.get(t);
    if (!g) this.rngs.set(t, (g = seedrandom.alea(`hazsim-explore:${this.o.seed}:${t}`)));
    return Math.floor(g() * n);
  }

  /** Before the branch's choice: the default the run along the path took here (no branch point, no sleep set). */
  private replayDefault(kind: number, n: number, options?: Int32Array): number {
    if (kind === D_CPU) return options ? this.cpuDefault(n, options) : 0;
    if (kind === D_RAND) return this.rand(n);
    return 0;
  }

  private byDefault(i: number, kind: number, n: number, options?: Int32Array): number {
    switch (kind) {
      case D_CPU: {
        if (!options) return 0;
        const def = this.cpuDefault(n, options);
        const li = this.li;
        const stay = this.stay;
        if (this.o.reduce && this.sleep.some((s) => s.cpu === options[def])) throw new ExploreCut();
        // a preemption here would cost more than the bound: nothing to branch on
        if (li >= 0 && this.branch.cost + 1 > this.o.bound) return def;
        // nor when the search could not run any of its branches before its budget ends
        if (this.room && !this.keepPoint(li >= 0 ? this.branch.cost + 1 : this.branch.cost, def, n, options)) return def;
        const p: CpuPoint = { i, options: options.slice(0, n), def, lastEligible: li >= 0, stay, sleep: this.sleep, after: null };
        this.points.push(p);
        this.open = p;
        return def;
      }
      case D_RAND:
        return this.rand(n);
      default:
        return 0; // no preemption, the first candidate or CPU, drain at once
    }
  }

  confirm(): void {}

  /** The run's decisions (a copy), to replay it. */
  decisions(): Decisions {
    if (this.len < 0) throw new Error('explore: the decisions of a run are gone once the next run starts');
    const d = DECISIONS;
    return { kind: d.kind.slice(0, this.len), n: d.n.slice(0, this.len), chosen: d.chosen.slice(0, this.len) };
  }

  /** After the run: close the last batch (a run that ended after a decision leaves it open: what ran after it is unknown, so nothing sleeps on it). */
  finish(): void {
    this.open = null;
    // a run that ended before a choice of its path did not repeat the runs along it
    if (this.pj < this.pathAt.length) throw new Error(`explore: the run ended before its decision #${this.pathAt[this.pj]}: the run did not repeat itself`);
  }

  /** per cost, the branches children() left out for want of room (DfsOptions.room) */
  readonly dropped: number[] = [];

  /** The branches of this run with a cost of at most `bound` (sleeping CPUs left out under the reduction), as far as there is room for them. */
  children(): Branch[] {
    const bound = this.o.bound;
    const out: Branch[] = [];
    if (this.len < 0) throw new Error('explore: the decisions of a run are gone once the next run starts');
    const room = this.o.room ? [...this.o.room] : null;
    const keep = (b: Branch): void => {
      if (room) {
        if (room[b.cost] <= 0) {
          this.dropped[b.cost] = (this.dropped[b.cost] ?? 0) + 1;
          return;
        }
        for (let k = b.cost; k < room.length; k++) room[k]--;
      }
      out.push(b);
    };
    const prev = this.branch;
    const base = prev.cost;
    const reduce = this.o.reduce;
    let p = 0;
    // the digest of the decisions before i
    let check = FNV_OFFSET;
    const d = DECISIONS;
    for (let i = 0; i < this.len; check = fold(check, d.kind[i], d.n[i], d.chosen[i]), i++) {
      const kind = d.kind[i];
      const n = d.n[i];
      if (i <= prev.at) continue;
      if (kind === D_CPU) {
        while (p < this.points.length && this.points[p].i < i) p++;
        const pt = this.points[p];
        if (!pt || pt.i !== i) continue;
        const cost = base + (pt.lastEligible ? 1 : 0);
        if (cost > bound) continue;
        const after = pt.after;
        for (let j = 0; j < n; j++) {
          if (j === pt.def) continue;
          const cpu = pt.options[j];
          if (reduce && pt.sleep.some((s) => s.cpu === cpu)) continue;
          // the CPU preempted here sleeps while its step commutes with what runs instead
          keep({ prev, at: i, alt: j, cost, check, sleep: reduce ? pt.sleep : [], also: reduce && pt.stay && after ? { cpu: pt.options[pt.def], acc: after } : null });
        }
        continue;
      }
      if (kind === D_RAND || n < 2 || base + 1 > bound) continue;
      const other = (alt: number): Branch => ({ prev, at: i, alt, cost: base + 1, check, sleep: [], also: null });
      if (kind === D_DRAIN) keep(other(n - 1));
      else if (kind === D_PREEMPT) keep(other(1));
      else if (kind === D_PICK || kind === D_WAKE_CPU) for (let j = 1; j < n; j++) keep(other(j));
    }
    return out;
  }
}

/** Pseudo-addresses (real ones are positive): the heap allocator, the handoff mailboxes, a CPU's scheduler state, a task's stack frames. */
const P_HEAP = -1;
const P_HANDOFF = -2;
/** the clock (see timed()) */
const P_TIME = -3;
const pSched = (cpu: number): number => -16 - cpu;
const pStack = (task: number): number => -4096 - task;

/**
 * Is an event armed whose moment depends on how many steps have run, and could it come
 * due before the step budget ends? Swapping two independent steps moves the steps between
 * them by one step, so such an event would fire between other steps: a timer in the
 * machine's event queue (periodic interrupts, sleeps, udelay ends, khungtaskd) due within
 * the steps left, a store kept in a store buffer (at a D_CPU decision, a buffered store is
 * one with a drain delay other than 0: a delay of 0 drains before the next step), or the
 * soft-lockup watchdog within reach. While a sleeping CPU waits, it is eligible, so the
 * clock advances one step_ns per step and `now + steps left * step_ns` bounds the window.
 */
function timed(m: Machine): boolean {
  const horizon = m.now + (m.cfg.maxSteps - m.steps) * m.cfg.stepNs;
  return m.events.nextAt <= horizon || m.nBuffered !== 0 || m.cfg.softLockupNs <= horizon;
}

/** fingerprint(): FP_GLOBAL global entries, the handoffs outstanding, then FP_CPU per CPU, then FP_TASK per task */
const FP_GLOBAL = 5;
const FP_CPU = 7;
const FP_TASK = 10;

/**
 * What a step may change outside the memory words it accesses: timers fired,
 * WARNs, hotplug, new tasks, a task's affinity (global: every step depends on
 * them); the handoffs outstanding and each task's mailbox (the handoff
 * pseudo-word); per CPU its runqueue, pending interrupts and IPIs, current
 * task, udelay (that CPU's scheduler state); per task its state, CPU, runqueue
 * and frames (the scheduler state of the CPUs it was and is on) and its stack
 * top (its stack frames). Counters and the console log are not part of it: the
 * order of two lines printed by independent steps is not a difference the
 * search makes.
 */
function fingerprint(m: Machine, out: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  let k = 0;
  out[k++] = m.firedEvents;
  out[k++] = m.warnings.length;
  out[k++] = m.bug ? 1 : 0;
  out[k++] = m.pendingDown;
  out[k++] = m.nextPid;
  out[k++] = m.handedOff.size;
  for (const c of m.cpus) {
    out[k++] = c.irqPending;
    out[k++] = c.rq.length;
    out[k++] = c.online ? 1 : 0;
    out[k++] = c.goingDown ? 1 : 0;
    out[k++] = c.curr.id;
    out[k++] = c.busyUntil;
    out[k++] = c.ipiQueue.length;
  }
  if (k + m.tasks.length * FP_TASK > out.length) throw new Error('explore: more tasks than the fingerprint holds');
  for (const t of m.tasks) {
    out[k++] = t.state;
    out[k++] = t.cpu;
    out[k++] = t.rqCpu;
    out[k++] = t.fdepth;
    out[k++] = t.mailbox.length;
    out[k++] = t.received ? 1 : 0;
    out[k++] = t.stackTop;
    out[k++] = t.excludedCpu;
    out[k++] = t.pinned ? 1 : 0;
    out[k++] = t.homeCpu;
  }
  return out;
}
