// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A run as a timeline, for Perfetto and chrome://tracing: the events of the
 * Chrome trace-event format as plain data (report/perfetto.ts writes them as
 * JSON), computed by running the run again (the same seed, or the same
 * schedule) with a tracer. Nothing in the machine changes: the tracer reads,
 * at each step, the stepping task's call stack (every frame's Port.fns, the
 * stack Call Trace and the step log read) and compares it with what is open
 * on that CPU's track.
 *
 *  - One process per CPU ("CPU n", pid n + 1) with one thread track. On it, a
 *    slice per stint of a task (named comm/pid; the idle task swapper/n), and
 *    inside it a slice per function on the task's call stack: the task's own
 *    code, an interrupt (the IRQ frame's first function, asm_sysvec_*, cat
 *    "irq", from the step that took it), a preemption (cat "preempt"), the
 *    hazptr calls (cat "hazptr": hazptr_acquire, hazptr_release,
 *    hazptr_note_context_switch, hazptr_synchronize, chain/unchain). A
 *    function starts at its first step and ends one step after its last (a
 *    function that made no step between two steps of its task is not seen; two
 *    calls of the same function with no step between them are one slice).
 *  - Flows (s, then f bound to the enclosing slice): an IPI from the step of
 *    smp_call_function_single() that sent it to the handler that took it; a
 *    handoff to the receive that took it; a llist_add() of a deferred release
 *    to the first access to that object from a hazptr_release() of another
 *    task (hazptr_torture_do_pending()).
 *  - Counters: the nodes on each overflow list (a per-CPU hlist head), +1 at
 *    each hlist_add_head() onto it, -1 when a node last added to it is
 *    hlist_del()eted (counted from boot, shown in the window).
 *  - Instants: each step of the causal slice on its CPU's track (cat "race";
 *    args: who, what, addr, value, reads-from, edge), and each report (WARN,
 *    the fault) as a global instant named by its headline.
 *
 * By default only a window is written: from WINDOW_MARGIN_NS before the
 * earliest step of the causal slice (its kmalloc/kfree not counted: the object
 * may be allocated at boot) to the end of the run, at most WINDOW_CAP_NS; with
 * no slice, the last WINDOW_NO_RACE_NS (both counted back from the last step,
 * when a proven endless loop moved the clock on after it). Slices running at the window's start
 * open at it; all close at its end. Timestamps are simulated microseconds.
 */
import type { Machine, StepRecord } from '../kernel/machine.ts';
import { FRAME_IRQ, FRAME_PREEMPT, OP_CMPXCHG, OP_DRAIN, OP_HANDOFF, OP_KFREE, OP_LOAD, OP_RECEIVE, OP_STORE, OP_SWITCH, OP_XCHG } from '../kernel/port.ts';
import { functions, sites } from '../kernel/sites.ts';
import type { Task } from '../kernel/task.ts';
import type { Bug, BugKind } from '../kernel/bugs.ts';
import type { RaceStep } from '../report/slice.ts';

/** One event of the trace-event format (ts in microseconds). */
export interface TraceEvent {
  ph: 'B' | 'E' | 'i' | 's' | 'f' | 'C' | 'M';
  name: string;
  cat?: string;
  ts: number;
  pid: number;
  tid: number;
  /** a flow's id (s and f share it) */
  id?: number;
  /** an instant's scope: g global, t its thread */
  s?: 'g' | 't';
  /** a flow end bound to the enclosing slice */
  bp?: 'e';
  args?: Record<string, string | number>;
}

/** The default window: at most this long (simulated ns)... */
export const WINDOW_CAP_NS = 10_000_000;
/** ...starting this long before the race's earliest step... */
export const WINDOW_MARGIN_NS = 1_000_000;
/** ...or, with no causal slice, the run's last this long. */
export const WINDOW_NO_RACE_NS = 2_000_000;

export interface TimelineOptions {
  /** --perfetto-all: the whole run */
  all: boolean;
  /** the causal slice's steps (none: a run without one) */
  race?: RaceStep[];
  /** where the run ended (simulated ns): the window ends there */
  endNs: number;
  /** the time of the run's last step, when the clock moved on after it (a proven endless loop): the cap counts from there */
  lastStepNs?: number;
}

/** What was written, for the line the command prints. */
export interface TimelineSummary {
  events: number;
  fromNs: number;
  toNs: number;
  /** the race's steps, and how many fell in the window */
  raceSteps: number;
  raceShown: number;
}

/** The window [from, to] in simulated ns. */
export function timelineWindow(o: TimelineOptions): { from: number; to: number } {
  const to = o.endNs;
  if (o.all) return { from: 0, to };
  const steps = (o.race ?? []).filter((r) => r.edge !== 'alloc');
  if (!steps.length) return { from: Math.max(0, Math.min(to, o.lastStepNs ?? to) - WINDOW_NO_RACE_NS), to };
  const first = Math.min(...steps.map((r) => r.t));
  return { from: Math.max(0, first - WINDOW_MARGIN_NS, Math.min(to, o.lastStepNs ?? to) - WINDOW_CAP_NS), to };
}

const us = (ns: number) => ns / 1000;
const pidOf = (cpu: number) => cpu + 1;

/** What is open on one CPU's track: a task's stint, then its call stack, outermost first. */
interface Track {
  cpu: number;
  task: number;
  fn: number[];
  gen: unknown[];
  len: number;
  /** one step after this task's last step here: where what it left ends */
  lastEnd: number;
  /** the newest ts written on the track (B/E stay in order) */
  lastTs: number;
  /** after a context switch: to which task, from when */
  switchTo: number;
  switchAt: number;
}

/** A flow's start, kept until its end is seen (both are written then, or neither). */
interface FlowStart {
  t: number;
  cpu: number;
}

// per-site roles, from the sites' functions and descriptions
const R_IPI_ENTRY = 1;
const R_IRQ_ENTRY = 2;
const R_PREEMPT_ENTRY = 3;
const R_HLIST_ADD = 4;
const R_HLIST_DEL = 5;
const R_LLIST_ADD = 6;

function siteRoles(): Uint8Array {
  return Uint8Array.from(sites, (s) => {
    const fn = s.fn.name;
    if (fn === 'asm_sysvec_call_function_single' && s.desc === 'IPI taken') return R_IPI_ENTRY;
    if (fn === 'asm_sysvec_apic_timer_interrupt' && s.desc === 'interrupt taken') return R_IRQ_ENTRY;
    if (fn === 'irqentry_exit' && s.desc === 'preempted') return R_PREEMPT_ENTRY;
    if (fn === 'hlist_add_head' && s.desc === 'store h->first') return R_HLIST_ADD;
    if (fn === 'hlist_del' && s.desc === 'store n->next = LIST_POISON1') return R_HLIST_DEL;
    if (fn === 'llist_add' && s.desc === 'cmpxchg head->first') return R_LLIST_ADD;
    return 0;
  });
}

const HAZPTR_FILES = new Set(['kernel/hazptr.c', 'include/linux/hazptr.h']);

/** Reports made by an access that faulted (and so made no step): the faulting task is where it faulted. */
const FAULTS = new Set<BugKind>(['general-protection-fault', 'null-pointer-dereference', 'page-fault', 'kasan']);

export class Timeline {
  /** events not yet handed on */
  out: TraceEvent[] = [];
  count = 0;
  readonly from: number;
  readonly to: number;
  private started = false;
  private readonly tracks: Track[] = [];
  private readonly roles = siteRoles();
  private readonly fnCat: string[];
  private readonly isRelease: Uint8Array;
  private readonly stepNs: number;
  /** per task id: the interrupt or preemption it took and not yet seen in its frames */
  private readonly entry = new Map<number, { t: number; flow?: FlowStart }>();
  /** per CPU: IPIs sent to it, not yet taken (FIFO, as its ipiQueue) */
  private readonly ipis: FlowStart[][] = [];
  /** per receiving task id: handoffs not yet received */
  private readonly handoffs = new Map<number, FlowStart[]>();
  /** deferred releases: the object llist_add()ed, until a hazptr_release() of another task touches it */
  private readonly deferred: { lo: number; hi: number; task: number; start: FlowStart }[] = [];
  /** overflow lists: nodes per head, and the head each node was last added to */
  private readonly lists = new Map<number, number>();
  private readonly nodeHead = new Map<number, number>();
  private flowId = 0;
  /** the race's instants, oldest first, and the next to write */
  private readonly race: RaceStep[];
  private nextRace = 0;
  raceShown = 0;

  constructor(private readonly m: Machine, o: TimelineOptions) {
    ({ from: this.from, to: this.to } = timelineWindow(o));
    this.race = o.race ?? [];
    this.stepNs = m.cfg.stepNs;
    this.fnCat = functions.map((f) => (HAZPTR_FILES.has(f.file) ? 'hazptr' : 'kernel'));
    this.isRelease = Uint8Array.from(functions, (f) => (f.name.startsWith('hazptr_release') ? 1 : 0));
    for (let c = 0; c < m.cpus.length; c++) {
      this.tracks.push({ cpu: c, task: -1, fn: [], gen: [], len: 0, lastEnd: 0, lastTs: 0, switchTo: -1, switchAt: 0 });
      this.ipis.push([]);
      const pid = pidOf(c);
      this.emit({ ph: 'M', name: 'process_name', ts: 0, pid, tid: pid, args: { name: `CPU ${c}` } });
      this.emit({ ph: 'M', name: 'process_sort_index', ts: 0, pid, tid: pid, args: { sort_index: c } });
      this.emit({ ph: 'M', name: 'thread_name', ts: 0, pid, tid: pid, args: { name: `CPU ${c}` } });
    }
    // smp_call_function_single() calls m.sendIpi() between steps: note who sent what (this machine only)
    const send = m.sendIpi;
    m.sendIpi = (cpu, fn, csd) => {
      this.ipis[cpu].push({ t: m.now, cpu: m.curCpu });
      send.call(m, cpu, fn, csd);
    };
  }

  private emit(e: TraceEvent): void {
    this.out.push(e);
    this.count++;
  }

  /** B/E on a track, never before what the track shows already */
  private slice(tr: Track, ph: 'B' | 'E', name: string, ns: number, cat?: string, args?: TraceEvent['args']): void {
    const ts = Math.max(tr.lastTs, ns);
    tr.lastTs = ts;
    const pid = pidOf(tr.cpu);
    this.emit(ph === 'B' ? { ph, name, ...(cat ? { cat } : {}), ts: us(ts), pid, tid: pid, ...(args ? { args } : {}) } : { ph, name, ts: us(ts), pid, tid: pid });
  }

  /** flows whose end the current step is: written after its slices open, so the end's slice comes first in the file */
  private readonly ends: { name: string; cat: string; a: FlowStart; b: FlowStart }[] = [];

  private flow(name: string, cat: string, a: FlowStart, b: FlowStart): void {
    if (!this.started || a.t < this.from || a.cpu < 0) return;
    const id = ++this.flowId;
    const half = this.stepNs / 2; // inside the step: the slice that made it encloses it
    this.emit({ ph: 's', name, cat, id, ts: us(a.t + half), pid: pidOf(a.cpu), tid: pidOf(a.cpu) });
    this.emit({ ph: 'f', name, cat, id, bp: 'e', ts: us(b.t + half), pid: pidOf(b.cpu), tid: pidOf(b.cpu) });
  }

  private stintName(id: number): string {
    const t = this.m.tasks[id];
    return t.isIdle ? t.comm : `${t.comm}/${t.pid}`;
  }

  private openStint(tr: Track, id: number, ns: number): void {
    tr.task = id;
    tr.len = 0;
    const t = this.m.tasks[id];
    this.slice(tr, 'B', this.stintName(id), ns, 'task', { comm: t.comm, pid: t.pid });
  }

  private closeAll(tr: Track, ns: number): void {
    for (let i = tr.len - 1; i >= 0; i--) this.slice(tr, 'E', functions[tr.fn[i]].name, ns);
    tr.len = 0;
    if (tr.task >= 0) this.slice(tr, 'E', this.stintName(tr.task), ns);
    tr.task = -1;
  }

  /** Bring the track's open functions to task `t`'s call stack now: close what it left, open what it entered. */
  private follow(tr: Track, t: Task, ns: number): void {
    // the common prefix
    let n = 0;
    let p = -1;
    for (let k = 0; k < t.fdepth && p < 0; k++) {
      const f = t.frames[k];
      for (let d = 0; d < f.depth; d++, n++) {
        if (n >= tr.len || tr.fn[n] !== f.fns[d] || tr.gen[n] !== f.gen) {
          p = n;
          break;
        }
      }
    }
    if (p < 0) p = n;
    for (let i = tr.len - 1; i >= p; i--) this.slice(tr, 'E', functions[tr.fn[i]].name, tr.lastEnd);
    tr.len = p;
    n = 0;
    const en = this.entry.get(t.id);
    for (let k = 0; k < t.fdepth; k++) {
      const f = t.frames[k];
      for (let d = 0; d < f.depth; d++, n++) {
        if (n < p) continue;
        const fn = f.fns[d];
        let cat = this.fnCat[fn];
        let at = ns;
        const first = d === 0 && k > 0 && (f.frameKind === FRAME_IRQ || f.frameKind === FRAME_PREEMPT);
        if (first) {
          cat = f.frameKind === FRAME_IRQ ? 'irq' : 'preempt';
          if (en) at = en.t; // from the step that took it
        }
        this.slice(tr, 'B', functions[fn].name, at, cat);
        tr.fn[n] = fn;
        tr.gen[n] = f.gen;
        tr.len = n + 1;
        if (first && en?.flow) this.flow('IPI', 'ipi', en.flow, { t: en.t, cpu: tr.cpu });
      }
    }
    this.entry.delete(t.id);
  }

  /** The window opens: what runs on each CPU now opens at its start. */
  private start(ns: number): void {
    this.started = true;
    for (const tr of this.tracks) {
      const t = this.m.cpus[tr.cpu].curr;
      this.openStint(tr, t.id, ns);
      tr.lastEnd = ns;
      this.follow(tr, t, ns);
    }
    for (const [head, n] of this.lists) this.counter(head, n, ns);
  }

  private counter(head: number, n: number, ns: number): void {
    const r = this.m.mem.regionOf(head);
    const pid = pidOf(r?.kind === 'percpu' ? r.owner : 0);
    this.emit({ ph: 'C', name: `overflow list ${this.m.mem.fmt(head)}`, ts: us(ns), pid, tid: pid, args: { nodes: n } });
  }

  private raceUpTo(ns: number): void {
    for (; this.nextRace < this.race.length && this.race[this.nextRace].t <= ns; this.nextRace++) {
      const r = this.race[this.nextRace];
      if (r.t < this.from) continue;
      this.raceShown++;
      const pid = pidOf(r.cpu);
      const args: Record<string, string> = { who: r.who, what: r.what, addr: r.addr, value: r.value };
      if (r.readsFrom) args['reads-from'] = r.readsFrom;
      args.edge = r.edge;
      // the faulting access at the time of the step that made it, as the report has it
      const ts = r.fault && this.m.bug ? Math.min(r.t, this.m.bug.time) : r.t;
      this.emit({ ph: 'i', name: `${r.fault ? 'fault' : 'race'}: ${r.fn}: ${r.desc}`, cat: 'race', s: 't', ts: us(ts), pid, tid: pid, args });
    }
  }

  /** The tracer. */
  readonly step = (r: StepRecord): void => {
    const role = r.site < this.roles.length ? this.roles[r.site] : 0;
    const k = r.kind;
    if (k === OP_DRAIN) return;
    if (!this.started && r.t >= this.from) this.start(this.from);
    const en = this.bookkeep(r, role);
    if (r.t < this.from) return;
    const tr = this.tracks[r.cpu];
    const t = this.m.tasks[r.task];
    if (tr.task !== r.task) {
      this.closeAll(tr, tr.lastEnd);
      this.openStint(tr, r.task, tr.switchTo === r.task ? tr.switchAt : r.t);
    }
    this.follow(tr, t, r.t);
    for (const f of this.ends) this.flow(f.name, f.cat, f.a, f.b);
    this.ends.length = 0;
    // an interrupt or preemption taken: its frame shows from the task's next step, its slice from this one
    if (en) this.entry.set(r.task, en);
    tr.lastEnd = r.t + this.stepNs;
    if (k === OP_SWITCH) {
      tr.switchTo = r.val;
      tr.switchAt = r.t + this.stepNs;
    }
    this.raceUpTo(r.t);
  };

  /** What is followed from boot, in the window or not: IPIs, handoffs, deferred releases, list counts. An interrupt's entry is returned. */
  private bookkeep(r: StepRecord, role: number): { t: number; flow?: FlowStart } | undefined {
    const m = this.m;
    const k = r.kind;
    if (role === R_IPI_ENTRY) return { t: r.t, flow: this.ipis[r.cpu].shift() };
    if (role === R_IRQ_ENTRY || role === R_PREEMPT_ENTRY) return { t: r.t };
    if (role === R_HLIST_ADD) {
      const n = (this.lists.get(r.addr) ?? 0) + 1;
      if (this.started && n === 1 && !this.lists.has(r.addr)) this.counter(r.addr, 0, this.from);
      this.lists.set(r.addr, n);
      this.nodeHead.set(r.val, r.addr);
      if (this.started) this.counter(r.addr, n, r.t);
    } else if (role === R_HLIST_DEL) {
      const head = this.nodeHead.get(r.addr);
      if (head !== undefined) {
        this.nodeHead.delete(r.addr);
        const n = this.lists.get(head)! - 1;
        this.lists.set(head, n);
        if (this.started) this.counter(head, n, r.t);
      }
    } else if (role === R_LLIST_ADD) {
      // the frame's op registers still hold the cmpxchg: it succeeded if it read the expected value
      const t = m.tasks[r.task];
      const f = t.frames[t.fdepth - 1];
      const o = r.val === f.val2 ? m.mem.objectAt(f.val) : undefined;
      if (o) this.deferred.push({ lo: o.addr, hi: o.addr + o.size, task: r.task, start: { t: r.t, cpu: r.cpu } });
    } else if (k === OP_KFREE && this.deferred.length) {
      // freed without a release seen (the object may come back as another): no arrow to draw
      for (let i = this.deferred.length - 1; i >= 0; i--) if (this.deferred[i].lo === r.addr) this.deferred.splice(i, 1);
    } else if (k === OP_HANDOFF) {
      const t = m.tasks[r.task];
      const to = t.frames[t.fdepth - 1].val2;
      const q = this.handoffs.get(to);
      if (q) q.push({ t: r.t, cpu: r.cpu });
      else this.handoffs.set(to, [{ t: r.t, cpu: r.cpu }]);
    } else if (k === OP_RECEIVE && r.val === 1) {
      const a = this.handoffs.get(r.task)?.shift();
      if (a && r.t >= this.from) this.ends.push({ name: 'handoff', cat: 'handoff', a, b: { t: r.t, cpu: r.cpu } });
    }
    if (this.deferred.length && (k === OP_LOAD || k === OP_STORE || k === OP_CMPXCHG || k === OP_XCHG)) {
      for (let i = 0; i < this.deferred.length; i++) {
        const d = this.deferred[i];
        if (r.addr < d.lo || r.addr >= d.hi || d.task === r.task || !this.inRelease(m.tasks[r.task])) continue;
        this.deferred.splice(i, 1);
        if (r.t >= this.from) this.ends.push({ name: 'deferred release', cat: 'llist', a: d.start, b: { t: r.t, cpu: r.cpu } });
        break;
      }
    }
    return undefined;
  }

  private inRelease(t: Task): boolean {
    for (let k = 0; k < t.fdepth; k++) {
      const f = t.frames[k];
      for (let d = 0; d < f.depth; d++) if (this.isRelease[f.fns[d]]) return true;
    }
    return false;
  }

  /** The run is over: the reports, what is left of the race (the faulting access), then every slice closes. */
  finish(reports: Bug[]): void {
    const m = this.m;
    const end = m.now;
    if (!this.started) this.start(Math.min(this.from, end));
    // the access that faulted made no step the tracer saw: its function (a deref's first load) opens at it, or the fault would sit in the function before
    const bug = m.bug;
    if (bug && FAULTS.has(bug.kind) && bug.time >= this.from && bug.cpu >= 0 && bug.cpu < m.cpus.length) {
      const tr = this.tracks[bug.cpu];
      const t = m.cpus[bug.cpu].curr;
      if (t.pid === bug.pid) {
        if (tr.task !== t.id) {
          this.closeAll(tr, tr.lastEnd);
          this.openStint(tr, t.id, tr.switchTo === t.id ? tr.switchAt : bug.time);
        }
        this.follow(tr, t, bug.time);
      }
    }
    this.raceUpTo(end);
    for (const b of reports) {
      if (b.time < this.from) continue;
      const cpu = b.cpu >= 0 && b.cpu < m.cpus.length ? b.cpu : 0;
      this.emit({ ph: 'i', name: b.headline, cat: 'report', s: 'g', ts: us(b.time), pid: pidOf(cpu), tid: pidOf(cpu), args: { signature: b.signature, who: `${b.comm}-${b.pid}`, cpu } });
    }
    // the access that faulted (at the end) counts as a step: what ran closes one step after it
    for (const tr of this.tracks) this.closeAll(tr, Math.max(end + this.stepNs, tr.lastEnd));
  }
}

/** Chunks of steps between two hand-overs of the events written so far. */
const CHUNK = 1 << 16;

/**
 * The timeline of the run `build` makes again, in batches of events as the run
 * goes (a long --perfetto-all run is never held whole); `sum` is filled in at the end.
 */
export function* timelineEvents(build: () => Machine, o: TimelineOptions, sum: TimelineSummary): Generator<TraceEvent[]> {
  const m = build();
  const tl = new Timeline(m, o);
  m.tracer = tl.step;
  while (!m.runChunk(CHUNK)) {
    if (tl.out.length) yield tl.out.splice(0);
  }
  tl.finish([...m.warnings, ...(m.bug && !m.warnings.includes(m.bug) ? [m.bug] : [])]);
  yield tl.out.splice(0);
  Object.assign(sum, { events: tl.count, fromNs: tl.from, toNs: m.now, raceSteps: o.race?.length ?? 0, raceShown: tl.raceShown });
}
