// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Proving an endless loop from a window of recorded steps.
 *
 * When nothing has been switched, woken or interrupted for a while, the machine
 * records the next PROBE_STEPS steps into a ProbeBuffer and asks findLoops()
 * whether every CPU that ran is in a loop that can never end by itself:
 *
 * 1. In the second half of the window, the CPU's steps repeat with a period p
 *    (at most MAX_PERIOD steps, at least MIN_REPEATS whole repetitions): same
 *    site, same op, same address, same value loaded or stored, step for step.
 * 2. Every step is a plain memory op (load, store, cmpxchg, xchg, fence,
 *    cpu_relax) at a site whose function is *memory-driven*: its control flow
 *    depends only on the values it loads (the hazptr ports, spinlocks, hlist,
 *    the csd wait; not the workload interpreter or the torture kthreads, whose
 *    loops count or read the clock). At least one step of a period reads memory.
 *    And the function that loops, the innermost frame that stayed live through
 *    the whole analysed half (Port.low), is memory-driven too: a counted loop
 *    in a caller around memory-driven calls is not a proof.
 * 3. No other CPU touches, in the window, an address this CPU writes, and none
 *    writes an address it reads: each loop runs on memory only it sees change,
 *    and each iteration leaves that memory as the previous one did.
 *
 * Then the state at each iteration boundary is a fixed point: the next
 * iteration loads the same values, takes the same path and stores the same
 * values, for ever, unless something from outside the loops intervenes: a
 * timer, an interrupt, a wakeup, or a preemption (which the machine checks
 * separately, see proveStall in machine.ts).
 */
import { OP_CMPXCHG, OP_FENCE, OP_LOAD, OP_RELAX, OP_STORE, OP_XCHG } from './port.ts';
import { sites } from './sites.ts';

export const PROBE_STEPS = 8192;
export const MAX_PERIOD = 512;
export const MIN_REPEATS = 3;

export class ProbeBuffer {
  readonly cpu = new Int32Array(PROBE_STEPS);
  readonly site = new Int32Array(PROBE_STEPS);
  readonly kind = new Int32Array(PROBE_STEPS);
  readonly addr = new Float64Array(PROBE_STEPS);
  readonly val = new Float64Array(PROBE_STEPS);
  /** the lowest call depth of the step's frame since the CPU's previous step */
  readonly low = new Int32Array(PROBE_STEPS);
  n = 0;

  add(cpu: number, site: number, kind: number, addr: number, val: number, low: number): void {
    const i = this.n++;
    this.low[i] = low;
    this.cpu[i] = cpu;
    this.site[i] = site;
    this.kind[i] = kind;
    this.addr[i] = addr;
    this.val[i] = val;
  }

  get full(): boolean {
    return this.n >= PROBE_STEPS;
  }
}

export interface Loop {
  cpu: number;
  /** the call depth whose frame stayed live for the whole analysed half: the loop is in fns[depth - 1] */
  depth: number;
  /** steps in one iteration */
  period: number;
  /** the sites of one iteration, in order */
  sites: number[];
}

const ALLOWED = new Set([OP_LOAD, OP_STORE, OP_CMPXCHG, OP_XCHG, OP_FENCE, OP_RELAX]);

function same(b: ProbeBuffer, i: number, j: number): boolean {
  return b.site[i] === b.site[j] && b.kind[i] === b.kind[j] && b.addr[i] === b.addr[j] && b.val[i] === b.val[j];
}

/** The smallest period of idx's steps (indices into b), or 0 if none repeats MIN_REPEATS times. */
function periodOf(b: ProbeBuffer, idx: number[]): number {
  const L = idx.length;
  const maxP = Math.min(MAX_PERIOD, Math.floor(L / MIN_REPEATS));
  next: for (let p = 1; p <= maxP; p++) {
    for (let i = 0; i + p < L; i++) if (!same(b, idx[i], idx[i + p])) continue next;
    return p;
  }
  return 0;
}

/**
 * The loops of `cpus` (every CPU that must be looping), or null when one of
 * them is not provably in an endless loop on its own memory.
 */
export function findLoops(b: ProbeBuffer, cpus: number[], fnAt: (cpu: number, depth: number) => boolean): Loop[] | null {
  const from = b.n >> 1;
  const per = new Map<number, number[]>();
  for (const c of cpus) per.set(c, []);
  for (let i = from; i < b.n; i++) {
    const l = per.get(b.cpu[i]);
    if (!l) return null; // a CPU outside the set ran
    l.push(i);
  }
  const loops: Loop[] = [];
  const writers = new Map<number, number>(); // addr -> cpu, -1 when several
  const readers = new Map<number, number>();
  const note = (m: Map<number, number>, a: number, c: number) => {
    const o = m.get(a);
    m.set(a, o === undefined || o === c ? c : -1);
  };
  for (const [c, idx] of per) {
    if (idx.length === 0) return null;
    const p = periodOf(b, idx);
    if (p === 0) return null;
    let reads = false;
    const ss: number[] = [];
    for (let k = 0; k < p; k++) {
      const i = idx[idx.length - p + k];
      const kind = b.kind[i];
      if (!ALLOWED.has(kind) || !sites[b.site[i]].fn.memoryDriven) return null;
      if (kind !== OP_STORE && kind !== OP_FENCE && kind !== OP_RELAX) reads = true;
      ss.push(b.site[i]);
    }
    if (!reads) return null;
    // the function that loops: the innermost frame no step of the analysed half returned from. A counted
    // loop in a caller that calls memory-driven code shows up here as the caller (and is refused)
    let depth = Infinity;
    for (const i of idx) depth = Math.min(depth, b.low[i]);
    if (!(depth >= 1) || !fnAt(c, depth)) return null;
    for (const i of idx) {
      const kind = b.kind[i];
      if (kind === OP_FENCE || kind === OP_RELAX) continue;
      if (kind !== OP_STORE) note(readers, b.addr[i], c);
      if (kind !== OP_LOAD) note(writers, b.addr[i], c);
    }
    loops.push({ cpu: c, depth, period: p, sites: ss });
  }
  for (const [a, c] of writers) {
    if (c < 0) return null;
    const r = readers.get(a);
    if (r !== undefined && r !== c) return null;
  }
  return loops;
}
