// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Every execution of a compiled litmus test, exhaustively (they are small).
 *
 * A state is each thread's pc and registers, memory, and under tso each
 * thread's StoreBuffer (src/kernel/tso.ts). A transition is a thread's next
 * op, or writing the oldest entry of a non-empty buffer to memory. Whether an
 * op must wait for its thread's buffer to empty is drainsBefore(kind, ord),
 * the machine's rule. A store into a full buffer (SB_ENTRIES) is refused
 * (exit 2): x86-TSO's buffer is unbounded, the machine's holds SB_ENTRIES, and
 * a verdict that depended on the bound would be neither's. Under sc there is
 * no buffer.
 *
 * An execution is named as herd7 names a candidate execution: for each load,
 * the store it read from (or the initial value), and for each location the
 * coherence order (the order its writes reached memory). The state carries the
 * execution so far, and visited states are memoized, so orderings that differ
 * only in independent steps are explored once.
 */
import { InputError } from '../cli/errors.ts';
import { OP_LOAD, OP_STORE } from '../kernel/port.ts';
import { drainsBefore, SB_ENTRIES, StoreBuffer, type MemoryModel } from '../kernel/tso.ts';
import { PTR_BASE, type CProp, type LExpr, type MemOp, type Program } from './compile.ts';

/** More states than this is not a litmus test: stop with an error rather than run out of memory. */
export const MAX_STATES = 2_000_000;

interface State {
  pc: number[];
  regs: number[][];
  mem: number[];
  /** the event id of the store whose value memory holds (0: the initial value) */
  writer: number[];
  /** per thread; empty under sc */
  buf: StoreBuffer[];
  /** per event id: the store a load read from, -1 not yet */
  rf: number[];
  /** per location: store event ids in the order they reached memory */
  co: number[][];
}

export interface Execution {
  /** rf and co: what identifies the execution */
  key: string;
  /** the final value of each of the program's refs */
  values: number[];
}

export interface Exploration {
  /** distinct executions, in the order first reached (deterministic) */
  executions: Execution[];
  /** states visited */
  states: number;
}

export function evalExpr(e: LExpr, regs: number[]): number {
  switch (e.k) {
    case 'const':
      return e.v;
    case 'reg':
      return regs[e.r];
    case 'un': {
      const v = evalExpr(e.e, regs);
      return e.op === '!' ? (v === 0 ? 1 : 0) : e.op === '-' ? -v : ~v;
    }
    case 'bin': {
      const a = evalExpr(e.a, regs);
      const b = evalExpr(e.b, regs);
      switch (e.op) {
        case '+': return a + b;
        case '-': return a - b;
        case '*': return a * b;
        case '/': return b === 0 ? 0 : Math.trunc(a / b);
        case '%': return b === 0 ? 0 : a % b;
        case '&': return a & b;
        case '|': return a | b;
        case '^': return a ^ b;
        case '<<': return a << b;
        case '>>': return a >> b;
        case '==': return a === b ? 1 : 0;
        case '!=': return a !== b ? 1 : 0;
        case '<': return a < b ? 1 : 0;
        case '<=': return a <= b ? 1 : 0;
        case '>': return a > b ? 1 : 0;
        case '>=': return a >= b ? 1 : 0;
        case '&&': return a !== 0 && b !== 0 ? 1 : 0;
        case '||': return a !== 0 || b !== 0 ? 1 : 0;
        default: throw new Error(`operator ${e.op}`);
      }
    }
  }
}

export function evalProp(p: CProp, values: number[]): boolean {
  switch (p.k) {
    case 'true': return true;
    case 'false': return false;
    case 'atom': return values[p.ref] === p.v;
    case 'not': return !evalProp(p.p, values);
    case 'and': return p.ps.every((q) => evalProp(q, values));
    case 'or': return p.ps.some((q) => evalProp(q, values));
    case 'implies': return !evalProp(p.a, values) || evalProp(p.b, values);
  }
}

function cloneBuf(b: StoreBuffer): StoreBuffer {
  const c = new StoreBuffer();
  for (let k = 0; k < b.n; k++) {
    const i = b.at(k);
    c.push(b.addr[i], b.val[i], b.site[i], b.task[i], b.time[i]);
  }
  return c;
}

function stateKey(s: State): string {
  let k = `${s.pc.join(',')}|${s.regs.map((r) => r.join(',')).join(';')}|${s.mem.join(',')}|`;
  for (const b of s.buf) {
    for (let j = 0; j < b.n; j++) {
      const i = b.at(j);
      k += `${b.addr[i]}:${b.val[i]}:${b.site[i]},`;
    }
    k += ';';
  }
  return `${k}|${execKey(s)}`;
}

function execKey(s: State): string {
  return `${s.rf.join(',')}|${s.co.map((c) => c.join(',')).join(';')}`;
}

export function explore(p: Program, model: MemoryModel): Exploration {
  const tso = model === 'tso';
  const file = p.test.file;
  const seen = new Set<string>();
  const executions = new Map<string, Execution>();

  /** Run thread-local work (assignments, branches) up to the next memory op. */
  const settle = (t: number, pc: number, regs: number[]): number => {
    const code = p.threads[t].code;
    while (pc < code.length) {
      const ins = code[pc];
      if (ins.op === 'mem') break;
      if (ins.op === 'set') {
        regs[ins.dst] = evalExpr(ins.e, regs);
        pc++;
      } else if (ins.op === 'jz') pc = evalExpr(ins.e, regs) === 0 ? ins.to : pc + 1;
      else pc = ins.to;
    }
    return pc;
  };

  const address = (op: MemOp, regs: number[]): number => {
    const v = evalExpr(op.addr!, regs);
    const a = v - PTR_BASE;
    if (!Number.isInteger(a) || a < 0 || a >= p.locs.length) throw new InputError(`${file}:${op.line}: ${op.call} dereferences ${v}, which is not the address of a location`);
    return a;
  };

  /** Memory as thread t sees it: its own newest buffered store to a (store forwarding), else memory. */
  const read = (s: State, t: number, a: number): [number, number] => {
    if (tso) {
      const b = s.buf[t];
      const j = b.newest(a);
      if (j >= 0) return [b.val[j], b.site[j]];
    }
    return [s.mem[a], s.writer[a]];
  };

  const writeMemory = (s: State, a: number, v: number, id: number): void => {
    s.mem = s.mem.slice();
    s.writer = s.writer.slice();
    s.co = s.co.slice();
    s.mem[a] = v;
    s.writer[a] = id;
    s.co[a] = [...s.co[a], id];
  };

  /** Thread t's next op, or null when it cannot step now. */
  const step = (s: State, t: number): State | null => {
    const op = p.threads[t].code[s.pc[t]] as MemOp;
    const buf = tso ? s.buf[t] : null;
    if (buf && buf.n > 0 && drainsBefore(op.kind, op.ord) && !(op.tryLock && read(s, t, address(op, s.regs[t]))[0] !== 0)) return null;
    if (buf && op.kind === OP_STORE && buf.n === SB_ENTRIES) {
      throw new InputError(`${file}:${op.line}: ${op.call}: P${t} would hold more than ${SB_ENTRIES} stores in its store buffer; hazsim's buffer (the machine's, src/kernel/tso.ts) holds ${SB_ENTRIES}, so this test's outcomes are not modelled`);
    }
    const regs = s.regs[t].slice();
    const n: State = { ...s, regs: s.regs.slice(), pc: s.pc.slice() };
    n.regs[t] = regs;
    if (op.addr) {
      const a = address(op, regs);
      const args = op.args.map((e) => evalExpr(e, regs));
      if (op.kind === OP_LOAD) {
        const [v, src] = read(s, t, a);
        n.rf = s.rf.slice();
        n.rf[op.id] = src;
        if (op.dst >= 0) regs[op.dst] = op.result ? op.result(v) : v;
      } else if (op.kind === OP_STORE) {
        // spin_unlock() stores 0
        const v = args.length ? args[0] : 0;
        if (buf) {
          const b = cloneBuf(buf);
          b.push(a, v, op.id, t, 0);
          n.buf = s.buf.slice();
          n.buf[t] = b;
        } else writeMemory(n, a, v, op.id);
      } else {
        // a locked read-modify-write: reads and writes memory in one step
        const [old, src] = read(s, t, a);
        if (op.blocks && old !== 0) return null;
        const [w, ret] = op.rmw!(old, args);
        n.rf = s.rf.slice();
        n.rf[op.id] = src;
        if (w !== undefined) writeMemory(n, a, w, op.id);
        if (op.dst >= 0) regs[op.dst] = ret;
      }
    }
    n.pc[t] = settle(t, s.pc[t] + 1, regs);
    return n;
  };

  /** Write the oldest entry of thread t's buffer to memory. */
  const drain = (s: State, t: number): State => {
    const b = cloneBuf(s.buf[t]);
    const i = b.shift();
    const n: State = { ...s, buf: s.buf.slice() };
    n.buf[t] = b;
    writeMemory(n, b.addr[i], b.val[i], b.site[i]);
    return n;
  };

  const record = (s: State): void => {
    const key = execKey(s);
    if (executions.has(key)) return;
    const values = p.refs.map((r) => (r.thread === null ? s.mem[r.index] : s.regs[r.thread][r.index]));
    executions.set(key, { key, values });
  };

  const visit = (s: State): void => {
    const k = stateKey(s);
    if (seen.has(k)) return;
    if (seen.size >= MAX_STATES) throw new InputError(`${file}: more than ${MAX_STATES} states: too large for exhaustive exploration`);
    seen.add(k);
    let final = true;
    for (let t = 0; t < p.threads.length; t++) {
      if (s.pc[t] >= p.threads[t].code.length) continue;
      final = false;
      const n = step(s, t);
      if (n) visit(n);
    }
    if (tso) {
      for (let t = 0; t < p.threads.length; t++) {
        if (s.buf[t].n === 0) continue;
        final = false;
        visit(drain(s, t));
      }
    }
    if (final) record(s);
  };

  const regs = p.threads.map((th) => th.regInit.slice());
  visit({
    pc: p.threads.map((_, t) => settle(t, 0, regs[t])),
    regs,
    mem: p.init.slice(),
    writer: p.init.map(() => 0),
    buf: tso ? p.threads.map(() => new StoreBuffer()) : [],
    rf: new Array<number>(p.nEvents + 1).fill(-1),
    co: p.init.map(() => []),
  });
  return { executions: [...executions.values()], states: seen.size };
}
