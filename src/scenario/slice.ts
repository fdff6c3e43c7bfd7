// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The causal slice of a failing run: from the faulting access back, along
 * reads-from (who stored the value a load read) and program order within one
 * invocation of a hazptr function (which loads fed a store, or gave a load its
 * address), across the whole run, kept small by relevance. report/slice.ts
 * prints it; bisect (scenario/bisect.ts) uses its steps to know which decisions
 * must stay.
 *
 * The run is replayed with a StepLog (steplog.ts) as its tracer. The slice
 * starts at the faulting access (the op the faulting task was about to make
 * when the report stopped the machine: a GPF's dereference of the poison, the
 * access KASAN caught) or, for a WARN, the warning task's last load. From each
 * step taken it follows:
 *
 *  - rf: a load's (or RMW's) reads-from store;
 *  - addr: the earlier load of the same invocation whose value is the base of
 *    this step's address (the pointer it dereferences);
 *  - val: for a store, the earlier load of the same invocation that loaded the
 *    pointer it stores;
 *  - po: for a store, the earlier loads of the same invocation on relevant
 *    words (its control and data inputs: ctx->slot, the node, the list head);
 *  - race: stores by other tasks that reached memory during an invocation
 *    taken (a buffered store at its drain, x86-TSO), to the relevant words that
 *    invocation accessed (what changed under it);
 *  - alloc: the kmalloc that handed out the object a step touches, and the
 *    kfree before it.
 *
 * Relevance ranks words: the subject object (the hazptr_ctx, or the heap object
 * holding it) and words that were made to point into it (list heads, the nodes
 * before it, the per-CPU slot's ctx field) first; words a pointer stored in it
 * names (ctx->slot's per-CPU slot, pprev's list head) next; the rest (lock
 * words, generation counters) are not followed. The slice takes the most
 * relevant steps nearest the fault first, up to a budget of steps.
 */
import { MEM_BASE } from '../kernel/addr.ts';
import { FL_BUFFERED, type Machine } from '../kernel/machine.ts';
import { OP_CMPXCHG, OP_DRAIN, OP_KFREE, OP_KMALLOC, OP_LOAD, OP_STORE, OP_XCHG } from '../kernel/port.ts';
import { StepLog } from './steplog.ts';
import { findSubject, type Subject } from './story.ts';
import type { Schedule } from '../sched/schedule.ts';
import { ReplayStrategy } from '../sched/replay.ts';
import type { Strategy } from '../sched/strategy.ts';

export type Edge = 'start' | 'rf' | 'addr' | 'val' | 'po' | 'race' | 'alloc';

export interface Slice {
  log: StepLog;
  /** the rows taken, oldest first */
  rows: number[];
  /** per row taken: how it was reached, and from which row */
  why: Map<number, { edge: Edge; from: number }>;
  /** the row the slice starts at (the faulting access, appended to the log: `fault` true) */
  start: number;
  fault: boolean;
  /** per row: 3 the subject object and links into it, 2 words its pointers name, 0 the rest */
  rel: (row: number) => number;
  /**
   * The words outside the subject object that point at `target` just before
   * `row`, as `row`'s CPU sees them (memory, or its own newest buffered store to
   * the word: x86-TSO store forwarding), and those another CPU's store issued
   * before `row` will make point at it but that is still in that CPU's store
   * buffer then; with the row of the store.
   */
  pointing: (target: number, row: number) => Link[];
}

/** A word that links to a target (Slice.pointing). */
export interface Link {
  addr: number;
  /** the store that made it point there */
  row: number;
  /** that store is still in its CPU's store buffer at the row asked about (x86-TSO: it reaches memory at its drain, log.link[row], if any) */
  buffered: boolean;
  /** the CPU of the row asked about sees the link (it is in memory, or in that CPU's own store buffer); false: another CPU's buffered store */
  seen: boolean;
}

/** How far program order is followed back within one invocation (rows). */
const PO_WINDOW = 96;
/** Invocations longer than this (rows of the whole run between their first and last row) are not scanned for races. */
const RACE_SPAN = 4096;

/**
 * Append the access that faulted as the log's last row: the op the faulting
 * task's top frame was making when the machine refused it (it is not a step,
 * so no tracer saw it). Returns the row, or -1 (no fault: a WARN or a hang).
 */
export function appendFault(log: StepLog, m: Machine): number {
  const b = m.bug;
  if (!b || !['general-protection-fault', 'kasan', 'page-fault', 'null-pointer-dereference'].includes(b.kind)) return -1;
  const t = m.tasks.find((x) => x.pid === b.pid);
  if (!t || t.fdepth === 0) return -1;
  const f = t.frames[t.fdepth - 1];
  if (f.addr !== m.faultAddr) return -1;
  log.add({ t: m.now, cpu: t.cpu, task: t.id, site: f.site, kind: f.kind, addr: f.addr, val: f.kind === OP_LOAD ? 0 : f.val, flags: 0 });
  log.steps--; // not a step
  return log.n - 1;
}

/** The slice of the run `log` recorded, from the fault (or a WARN's last load), `budget` steps at most. */
export function causalSlice(log: StepLog, m: Machine, subject: Subject | undefined, budget = 40): Slice | undefined {
  let start = appendFault(log, m);
  const fault = start >= 0;
  if (!fault && m.bug) {
    // a WARN or another report: the reporting task's last load
    const t = m.tasks.find((x) => x.pid === m.bug!.pid);
    for (let i = log.n - 1; i >= 0 && t; i--) if (log.task[i] === t.id && log.kind[i] === OP_LOAD) { start = i; break; }
  }
  if (start < 0) return undefined;
  const { rel, pointing } = relevance(log, m, subject);
  const why = new Map<number, { edge: Edge; from: number }>();
  // candidates: best relevance first, then fewest edges from the fault, then the latest
  const cand: { row: number; depth: number; edge: Edge; from: number }[] = [{ row: start, depth: 0, edge: 'start', from: -1 }];
  const offer = (row: number, depth: number, edge: Edge, from: number) => {
    if (row < 0 || why.has(row)) return;
    if (rel(row) < 2 && edge !== 'alloc') return;
    cand.push({ row, depth, edge, from });
  };
  const { before: allocs, nextFree } = allocationRows(log, m);
  while (cand.length && why.size < budget) {
    let b = 0;
    for (let k = 1; k < cand.length; k++) {
      const x = cand[k];
      const y = cand[b];
      const sx = rel(x.row) * 4 - x.depth;
      const sy = rel(y.row) * 4 - y.depth;
      if (sx > sy || (sx === sy && x.row > y.row)) b = k;
    }
    const c = cand[b];
    cand[b] = cand[cand.length - 1];
    cand.pop();
    if (why.has(c.row)) continue;
    why.set(c.row, { edge: c.edge, from: c.from });
    const i = c.row;
    const d = c.depth + 1;
    const k = log.kind[i];
    const isLoad = k === OP_LOAD || k === OP_CMPXCHG || k === OP_XCHG;
    const isStore = k === OP_STORE || k === OP_CMPXCHG || k === OP_XCHG;
    if (isLoad && log.link[i] >= 0) offer(log.link[i], d, 'rf', i);
    // program order within the invocation: the pointer dereferenced, the value stored, the relevant inputs
    let addrDep = -1;
    let valDep = -1;
    let po = 0;
    for (let j = log.prev[i], n = 0; j >= 0 && n < PO_WINDOW; j = log.prev[j], n++) {
      if (log.kind[j] !== OP_LOAD) continue;
      const v = log.val[j];
      if (addrDep < 0 && v >= 0x1000 && log.addr[i] - v >= 0 && log.addr[i] - v < 64) addrDep = j;
      if (isStore && valDep < 0 && v >= MEM_BASE && v === log.val[i]) valDep = j;
      if (isStore && po < 4 && rel(j) >= 3 && j !== addrDep && j !== valDep) {
        offer(j, d + 1, 'po', i);
        po++;
      }
    }
    if (addrDep >= 0) offer(addrDep, d, 'addr', i);
    if (valDep >= 0) offer(valDep, d, 'val', i);
    if (rel(i) >= 3 && log.inv[i] >= 0) for (const r of racing(log, i, rel)) offer(r, d, 'race', i);
    for (const a of allocs(i)) offer(a, d, 'alloc', i);
    // a store that makes a word outside the object point into it: the kfree that ends the object's life next (the link outlives it)
    if (k === OP_STORE && rel(i) >= 3) offer(nextFree(i), d, 'alloc', i);
  }
  const rows = [...why.keys()].sort((a, b) => a - b);
  return { log, rows, why, start, fault, rel, pointing };
}

/**
 * The relevance of each row's word (see the top of the file): computed once
 * over the log from the subject (the object holding the hazptr_ctx).
 */
function relevance(log: StepLog, m: Machine, subject: Subject | undefined): { rel: (row: number) => number; pointing: Slice['pointing'] } {
  if (!subject) return { rel: () => 2, pointing: () => [] };
  const lo = subject.obj?.addr ?? subject.ctx;
  const hi = subject.obj ? subject.obj.addr + subject.obj.size : subject.ctx + subject.ctxSize;
  const inObj = (a: number) => a >= lo && a < hi;
  const links = new Set<number>();
  const named = new Set<number>();
  for (let i = 0; i < log.n; i++) {
    const k = log.kind[i];
    if (k !== OP_STORE && k !== OP_XCHG && k !== OP_CMPXCHG) continue;
    const a = log.addr[i];
    const v = log.written(i);
    if (inObj(v) && !inObj(a)) links.add(a);
    else if (inObj(a) && v >= MEM_BASE && v < m.mem.end && !inObj(v)) named.add(v);
  }
  // the plain stores and xchgs to each link word, for pointing() (lists are linked by plain stores), in the order they
  // reached memory: a buffered store at its drain (x86-TSO; one never drained, last), the others at their row
  // (parallel arrays, not an object per store: a torture run's deferral kthread xchgs a pending list's head, a
  // link word, at most of its steps)
  const stores = new Map<number, { rows: number[]; vis: number[] }>();
  for (const a of links) stores.set(a, { rows: [], vis: [] });
  if (links.size !== 0) {
    for (let i = 0; i < log.n; i++) {
      const k = log.kind[i];
      if (k !== OP_STORE && k !== OP_XCHG) continue;
      const l = stores.get(log.addr[i]);
      if (l) {
        l.rows.push(i);
        l.vis.push(visibleAt(log, i));
      }
    }
  }
  for (const l of stores.values()) byVisibility(l);
  const rel = (row: number) => {
    const k = log.kind[row];
    const a = k === OP_KMALLOC ? log.val[row] : log.addr[row];
    if (inObj(a) || ((k === OP_LOAD || k === OP_STORE || k === OP_XCHG || k === OP_CMPXCHG || k === OP_DRAIN) && inObj(log.val[row]))) return 3;
    if (links.has(a) || named.has(a)) return 2;
    return 0;
  };
  const pointing = (target: number, row: number) => {
    const out: Link[] = [];
    const cpu = log.cpu[row];
    for (const [a, { rows, vis }] of stores) {
      // what memory holds just before row: the last store to reach it before then (vis is sorted)
      let lo = 0;
      let hi = vis.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (vis[mid] < row) lo = mid + 1;
        else hi = mid;
      }
      const j = lo - 1;
      // stores issued before row and still buffered then: row's CPU sees its own newest one instead of memory
      let own = -1;
      let other = -1;
      for (let q = j + 1; q < rows.length; q++) {
        const r = rows[q];
        if (r >= row || vis[q] < row) continue;
        if (log.cpu[r] === cpu) own = Math.max(own, r);
        else if (other < 0 && log.written(r) === target) other = r;
      }
      const seen = own >= 0 ? own : j >= 0 ? rows[j] : -1;
      if (seen >= 0 && log.written(seen) === target) out.push({ addr: a, row: seen, buffered: own >= 0, seen: true });
      else if (other >= 0) out.push({ addr: a, row: other, buffered: true, seen: false });
    }
    return out.sort((x, y) => x.row - y.row);
  };
  return { rel, pointing };
}

/**
 * For a row in an invocation: what other tasks did, while that invocation ran,
 * to the words it used: their stores to relevant words it loaded or stored, and
 * their loads of the object's words it stored (they read what it was changing).
 */
function racing(log: StepLog, i: number, rel: (row: number) => number): number[] {
  const inv = log.inv[i];
  const first = log.invFirst[inv];
  // the invocation's rows: back from i along prev, forward by scanning for the same id
  const used = new Set<number>();
  const stored = new Set<number>();
  const note = (j: number) => {
    if (rel(j) < 2) return;
    used.add(log.addr[j]);
    if (log.kind[j] !== OP_LOAD && rel(j) >= 3) stored.add(log.addr[j]);
  };
  let last = i;
  for (let j = i; j >= 0; j = log.prev[j]) note(j);
  for (let j = i + 1; j < log.n && j - first < RACE_SPAN; j++) {
    if (log.inv[j] !== inv) continue;
    last = j;
    note(j);
  }
  if (last - first > RACE_SPAN) return [];
  const out: number[] = [];
  const task = log.task[i];
  for (let j = first + 1; j < last; j++) {
    const k = log.kind[j];
    // a store changes the word under the invocation when it reaches memory: at its drain if it was buffered (x86-TSO),
    // whenever it was issued, else at its row
    const s = k === OP_DRAIN ? log.link[j] : j;
    if (s < 0 || log.task[s] === task || log.inv[s] < 0) continue;
    const a = log.addr[s];
    if (k === OP_DRAIN || (k === OP_STORE && !(log.flags[j] & FL_BUFFERED)) || k === OP_XCHG || k === OP_CMPXCHG) {
      if (used.has(a)) out.push(s);
    } else if (k === OP_LOAD && stored.has(a)) out.push(j);
  }
  return out;
}

/** The row at which store row `i` reached memory: its drain if it was buffered (x86-TSO; Infinity: never drained), else its own. */
/** Order a word's stores by when they reached memory (stable: rows in order for equal times); most are in order already. */
function byVisibility(l: { rows: number[]; vis: number[] }): void {
  const { rows, vis } = l;
  let sorted = true;
  for (let q = 1; q < vis.length && sorted; q++) if (vis[q] < vis[q - 1]) sorted = false;
  if (sorted) return;
  const idx = rows.map((_, q) => q).sort((x, y) => vis[x] - vis[y]);
  l.rows = idx.map((q) => rows[q]);
  l.vis = idx.map((q) => vis[q]);
}

export function visibleAt(log: StepLog, i: number): number {
  if (log.kind[i] !== OP_STORE || !(log.flags[i] & FL_BUFFERED)) return i;
  return log.link[i] >= 0 ? log.link[i] : Infinity;
}

/**
 * For a row on a heap object: the kmalloc that handed that object out last
 * before the row, and the kfree just before that kmalloc (the object's
 * previous life ended there).
 */
function allocationRows(log: StepLog, m: Machine): { before: (row: number) => number[]; nextFree: (row: number) => number } {
  const byObj = new Map<number, number[]>(); // object address -> its kmalloc/kfree rows, in order
  for (let i = 0; i < log.n; i++) {
    const k = log.kind[i];
    if (k !== OP_KMALLOC && k !== OP_KFREE) continue;
    const a = k === OP_KMALLOC ? log.val[i] : log.addr[i];
    if (a === 0) continue;
    const l = byObj.get(a);
    if (l) l.push(i);
    else byObj.set(a, [i]);
  }
  const locate = (l: number[], row: number) => {
    let lo = 0;
    let hi = l.length; // the first event after the row
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (l[mid] < row) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const before = (row: number) => {
    const k = log.kind[row];
    if (k === OP_KMALLOC || k === OP_KFREE || k === OP_DRAIN) return [];
    const o = m.mem.objectAt(log.addr[row]);
    const l = o && byObj.get(o.addr);
    if (!l) return [];
    for (let j = locate(l, row) - 1; j >= 0; j--) {
      if (log.kind[l[j]] !== OP_KMALLOC) continue;
      return j > 0 && log.kind[l[j - 1]] === OP_KFREE ? [l[j], l[j - 1]] : [l[j]];
    }
    return [];
  };
  /** the first kfree, after a store, of the object its value points into (-1: none) */
  const nextFree = (row: number) => {
    const o = m.mem.objectAt(log.val[row]);
    const l = o && byObj.get(o.addr);
    if (!l) return -1;
    for (let j = locate(l, row); j < l.length; j++) if (log.kind[l[j]] === OP_KFREE) return l[j];
    return -1;
  };
  return { before, nextFree };
}

/** Replay a run with a StepLog as its tracer: `build` makes the machine (its seed or schedule). */
export function recordRun(build: () => Machine, also?: (r: Parameters<StepLog['add']>[0]) => void): { log: StepLog; m: Machine } {
  const m = build();
  const log = new StepLog(m);
  m.tracer = also ? (r) => { log.add(r); also(r); } : log.add;
  m.run();
  return { log, m };
}

/**
 * For bisect: replay a recorded schedule, take the slice of the failure it
 * ends in, and say which of its decisions the slice pins: those taken within
 * `windowNs` of a slice step (not counting its kmallocs and kfrees), on a CPU
 * one of those slice steps ran on, or by a task one of them was made by. Every other decision is far from the race
 * (in time, or in who it concerns): bisect tries them at their default first,
 * all at once. Undefined when the replay finds no slice.
 */
export function pinnedBySlice(build: (strategy: Strategy) => Machine, rec: Schedule, windowNs: number): Uint8Array | undefined {
  const replay = new ReplayStrategy(rec);
  const at = new Float64Array(rec.length);
  let m: Machine | undefined;
  let k = 0;
  // the simulated time of each decision, noted as the replay asks for it
  const timed: Strategy = {
    choose: (kind, n, options, weights) => {
      if (k < at.length) at[k++] = m ? m.now : 0;
      return replay.choose(kind, n, options, weights);
    },
    confirm: (cpu, task, site) => replay.confirm(cpu, task, site),
  };
  const { log, m: mm } = recordRun(() => (m = build(timed)));
  const sl = causalSlice(log, mm, findSubject(mm));
  if (!sl) return undefined;
  // slice steps by time, for a window search per decision; an allocation event is where an object's life
  // starts or ends, not a step of the interleaving (the kmalloc may be at boot, long before the race)
  const rows = sl.rows.filter((r) => sl.why.get(r)!.edge !== 'alloc');
  const pin = new Uint8Array(rec.length);
  let lo = 0;
  for (let i = 0; i < k; i++) {
    const t = at[i];
    while (lo < rows.length && log.t[rows[lo]] < t - windowNs) lo++;
    for (let j = lo; j < rows.length && log.t[rows[j]] <= t + windowNs; j++) {
      const r = rows[j];
      if (log.task[r] === rec.task[i] || log.cpu[r] === rec.cpu[i]) {
        pin[i] = 1;
        break;
      }
    }
  }
  return pin;
}
