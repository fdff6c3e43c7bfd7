// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A compact log of a run's memory steps, for the causal slice (slice.ts): one
 * row per load, store, read-modify-write, store drain (x86-TSO), kmalloc and
 * kfree, in typed arrays that grow by doubling (about 50 bytes a row, no object
 * per step), with two links computed as the run goes:
 *
 *  - reads-from: for a load (or cmpxchg/xchg), the row of the store whose value
 *    it read: the last store to that word that reached memory, or under x86-TSO
 *    the CPU's own newest buffered store it was forwarded from (FL_FORWARDED). A
 *    buffered store reaches memory at its drain row (OP_DRAIN); the drain links
 *    back to its store and the store forward to its drain, and the last writer
 *    of the word becomes the store, not the drain.
 *  - program order within one invocation: the previous row of the same task in
 *    the same call of its unit function, the outermost hazptr function on its
 *    call stack (kernel/hazptr.c, include/linux/hazptr.h; else the innermost
 *    function). The machine keeps the call stack of each frame (Port.fns); a
 *    new invocation starts when the unit was not on the stack at the frame's
 *    previous step.
 *
 * The log is fed by the machine's tracer (StepRecord) and reads the stepping
 * task's call stack at that moment; it changes nothing in the run.
 */
import { MEM_BASE } from '../kernel/addr.ts';
import { FL_BUFFERED, FL_FORWARDED, type Machine, type StepRecord } from '../kernel/machine.ts';
import { OP_CMPXCHG, OP_DRAIN, OP_KFREE, OP_KMALLOC, OP_LOAD, OP_STORE, OP_XCHG } from '../kernel/port.ts';
import { functions } from '../kernel/sites.ts';
import { grown } from '../kernel/typed.ts';

const HAZPTR_FILES = new Set(['kernel/hazptr.c', 'include/linux/hazptr.h']);

/** What the log keeps per frame run (an interrupt or a task's own frame): the invocation under way. */
interface FrameState {
  inv: number;
  /** the unit's depth on the call stack and its function, and a hash of the callers below it */
  ud: number;
  fn: number;
  below: number;
  /** the call-stack depth at the frame's previous step */
  depth: number;
  /** the frame's last row in the current invocation, -1 none yet */
  last: number;
}

export class StepLog {
  n = 0;
  t: Float64Array;
  addr: Float64Array;
  val: Float64Array;
  /** cmpxchg/xchg rows: the value the word held after them (val is the value they read); other rows: unused */
  wrote: Float64Array;
  cpu: Uint8Array;
  kind: Uint8Array;
  flags: Uint16Array;
  task: Int32Array;
  site: Int32Array;
  /** load/RMW: the store row read from (-1: the word's initial value); drain: its store; store: its drain (-1: none, or not buffered) */
  link: Int32Array;
  /** the previous row of the same invocation, -1 for its first */
  prev: Int32Array;
  /** the invocation's id: invFn[id] is its unit function, invFirst[id] its first row */
  inv: Int32Array;
  invFn = new Int32Array(1 << 12);
  invFirst = new Int32Array(1 << 12);
  nInv = 0;
  /** machine steps seen (every kind), for the header's "of M" */
  steps = 0;
  /** per word (from MEM_BASE): the row of the last store that reached memory, -1 */
  private lastWriter = new Int32Array(1 << 16).fill(-1);
  /** per CPU: rows of its buffered stores, oldest first */
  private readonly buffered: number[][] = [];
  private readonly frames = new WeakMap<object, FrameState>();
  private readonly hazptrFn: Uint8Array;

  /** `rows`: how many rows to make room for at once (a replay of a run of known length), else they grow by doubling */
  constructor(private readonly m: Machine, rows = 1 << 14) {
    const n = Math.max(1 << 10, rows);
    this.t = new Float64Array(n);
    this.addr = new Float64Array(n);
    this.val = new Float64Array(n);
    this.wrote = new Float64Array(n);
    this.cpu = new Uint8Array(n);
    this.kind = new Uint8Array(n);
    this.flags = new Uint16Array(n);
    this.task = new Int32Array(n);
    this.site = new Int32Array(n);
    this.link = new Int32Array(n);
    this.prev = new Int32Array(n);
    this.inv = new Int32Array(n);
    for (let c = 0; c < m.cpus.length; c++) this.buffered.push([]);
    this.hazptrFn = Uint8Array.from(functions, (f) => (HAZPTR_FILES.has(f.file) ? 1 : 0));
  }

  /** The tracer: call with each step the machine records. */
  readonly add = (r: StepRecord): void => {
    const k = r.kind;
    const mem = k === OP_LOAD || k === OP_STORE || k === OP_CMPXCHG || k === OP_XCHG || k === OP_DRAIN || k === OP_KMALLOC || k === OP_KFREE;
    if (k !== OP_DRAIN) this.steps++;
    const st = k === OP_DRAIN ? undefined : this.invocation(r.task);
    if (!mem) return;
    const i = this.row(r);
    this.link[i] = -1;
    this.prev[i] = -1;
    this.inv[i] = -1;
    if (st) {
      if (st.last < 0) this.invFirst[st.inv] = i;
      this.inv[i] = st.inv;
      this.prev[i] = st.last;
      st.last = i;
    }
    // the word, -1 for an address no access can reach (the faulting access slice.ts appends: unmapped, a poison
    // value, misaligned); below mem.end an address is under 2^31, so & 7 is exact
    const w = r.addr >= MEM_BASE && r.addr < this.m.mem.end && (r.addr & 7) === 0 ? (r.addr - MEM_BASE) / 8 : -1;
    if (k === OP_LOAD) {
      if (r.flags & FL_FORWARDED) {
        const q = this.buffered[r.cpu];
        for (let j = q.length - 1; j >= 0; j--) if (this.addr[q[j]] === r.addr) { this.link[i] = q[j]; break; }
      } else if (w >= 0 && w < this.lastWriter.length) this.link[i] = this.lastWriter[w];
    } else if (k === OP_STORE) {
      if (r.flags & FL_BUFFERED) this.buffered[r.cpu].push(i);
      else this.setWriter(w, i);
    } else if (k === OP_CMPXCHG || k === OP_XCHG) {
      if (w >= 0 && w < this.lastWriter.length) this.link[i] = this.lastWriter[w];
      // the row's value is the one it read; memory (written already, locked ops bypass the buffer) holds what it wrote
      const now = this.m.mem.peek(r.addr);
      this.wrote[i] = now ?? r.val; // undefined: the faulting access, which wrote nothing
      // did it write? (a failed cmpxchg leaves the word; one that wrote the value it found changes nothing either)
      if (k === OP_XCHG || now !== r.val) this.setWriter(w, i);
    } else if (k === OP_DRAIN) {
      const s = this.buffered[r.cpu].shift();
      if (s !== undefined) {
        this.link[i] = s;
        this.link[s] = i;
        this.setWriter(w, s);
      }
    }
  };

  /** The value row `i` left in its word: a store's value, or what a cmpxchg/xchg wrote. */
  written(i: number): number {
    const k = this.kind[i];
    return k === OP_CMPXCHG || k === OP_XCHG ? this.wrote[i] : this.val[i];
  }

  private setWriter(w: number, i: number): void {
    if (w < 0) return;
    if (w >= this.lastWriter.length) {
      const b = new Int32Array(Math.max(w + 1, this.lastWriter.length * 2)).fill(-1);
      b.set(this.lastWriter);
      this.lastWriter = b;
    }
    this.lastWriter[w] = i;
  }

  private row(r: StepRecord): number {
    const i = this.n++;
    if (i >= this.t.length) {
      const n = i + 1;
      this.t = grown(this.t, n);
      this.addr = grown(this.addr, n);
      this.val = grown(this.val, n);
      this.wrote = grown(this.wrote, n);
      this.cpu = grown(this.cpu, n);
      this.kind = grown(this.kind, n);
      this.flags = grown(this.flags, n);
      this.task = grown(this.task, n);
      this.site = grown(this.site, n);
      this.link = grown(this.link, n);
      this.prev = grown(this.prev, n);
      this.inv = grown(this.inv, n);
    }
    this.t[i] = r.t;
    this.addr[i] = r.addr;
    this.val[i] = r.val;
    this.cpu[i] = r.cpu;
    this.kind[i] = r.kind;
    this.flags[i] = r.flags;
    this.task[i] = r.task;
    this.site[i] = r.site;
    return i;
  }

  /** The invocation the step of task `id` belongs to, from its top frame's call stack now. */
  private invocation(id: number): FrameState | undefined {
    const t = this.m.tasks[id];
    if (!t || t.fdepth === 0) return undefined;
    const f = t.frames[t.fdepth - 1];
    if (!f.gen || f.depth === 0) return undefined;
    let ud = -1;
    for (let d = 0; d < f.depth; d++) if (this.hazptrFn[f.fns[d]]) { ud = d; break; }
    if (ud < 0) ud = f.depth - 1;
    let below = 0;
    for (let d = 0; d < ud; d++) below = (Math.imul(below, 31) + f.fns[d]) | 0;
    const fn = f.fns[ud];
    let s = this.frames.get(f.gen);
    if (!s) {
      s = { inv: -1, ud: -1, fn: -1, below: 0, depth: 0, last: -1 };
      this.frames.set(f.gen, s);
    }
    if (s.inv < 0 || s.depth <= ud || s.ud !== ud || s.fn !== fn || s.below !== below) {
      s.inv = this.nInv++;
      if (s.inv >= this.invFn.length) {
        this.invFn = grown(this.invFn, s.inv + 1);
        this.invFirst = grown(this.invFirst, s.inv + 1);
      }
      this.invFn[s.inv] = fn;
      this.invFirst[s.inv] = -1;
      s.ud = ud;
      s.fn = fn;
      s.below = below;
      s.last = -1;
    }
    s.depth = f.depth;
    return s;
  }

  /** Bytes the log holds (for tests and notes). */
  bytes(): number {
    return this.t.byteLength * 3 + this.cpu.byteLength * 2 + this.flags.byteLength + this.task.byteLength * 5 + this.invFn.byteLength * 2 + this.lastWriter.byteLength;
  }
}
