// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A parsed litmus test, compiled to the machine's op kinds (src/kernel/port.ts)
 * so that the explorer decides store-buffer draining with tso.ts's
 * drainsBefore(), the rule the machine itself uses:
 *
 *   READ_ONCE, smp_load_acquire, rcu_dereference, atomic_read, a plain *p,
 *   spin_is_locked                                   -> OP_LOAD
 *   WRITE_ONCE, smp_store_release, rcu_assign_pointer, atomic_set, *p = v,
 *   spin_unlock (a plain release store on x86)       -> OP_STORE (buffered)
 *   xchg*, smp_store_mb, every atomic_* read-modify-write
 *                                                    -> OP_XCHG (lock-prefixed)
 *   cmpxchg*, atomic_cmpxchg*, spin_lock, spin_trylock -> OP_CMPXCHG
 *   smp_mb, smp_mb__{before,after}_atomic, smp_mb__after_spinlock
 *                                                    -> OP_FENCE ORD_MB
 *   smp_wmb / smp_rmb                                -> OP_FENCE ORD_WMB / ORD_RMB
 *   rcu_read_lock, rcu_read_unlock, barrier          -> nothing (no grace periods here)
 *
 * Anything else is an unmodelled construct: "FILE:LINE: NAME() is not modelled".
 * Expressions are split so that each shared-memory access is one op writing a
 * temporary register; the rest (assignments, `if`) is thread-local work.
 */
import { InputError } from '../cli/errors.ts';
import {
  OP_CMPXCHG, OP_FENCE, OP_LOAD, OP_STORE, OP_XCHG, ORD_ACQUIRE, ORD_MB, ORD_ONCE, ORD_PLAIN, ORD_RELEASE, ORD_RMB, ORD_WMB,
} from '../kernel/port.ts';
import type { Expr, LitmusTest, LocRef, Prop, PropOver, Stmt, ValRef } from './parse.ts';

/** The address of shared location i, as a value (a pointer held in a register or in memory). */
export const PTR_BASE = 2 ** 40;

export type LExpr =
  | { k: 'const'; v: number }
  | { k: 'reg'; r: number }
  | { k: 'un'; op: string; e: LExpr }
  | { k: 'bin'; op: string; a: LExpr; b: LExpr };

/** A read-modify-write: the value to write (undefined: none, a failed cmpxchg) and the result. */
export type RmwFn = (old: number, args: number[]) => [number | undefined, number];

export interface MemOp {
  op: 'mem';
  /** OP_LOAD, OP_STORE, OP_XCHG, OP_CMPXCHG or OP_FENCE */
  kind: number;
  ord: number;
  addr: LExpr | null;
  /** a store's value; an RMW's operands */
  args: LExpr[];
  rmw?: RmwFn;
  /** a load's result from the value read (spin_is_locked: 0 or 1) */
  result?: (v: number) => number;
  /** spin_lock: the thread cannot step while the lock word in memory is not 0 */
  blocks?: boolean;
  /** spin_trylock: when the lock reads as held it fails as a plain load, without draining */
  tryLock?: boolean;
  /** register written with the result, -1 none */
  dst: number;
  /** event id (1…): what a load read from (rf) and a location's coherence order name stores by it; 0 is the initial value */
  id: number;
  line: number;
  call: string;
}

export type Instr =
  | MemOp
  | { op: 'set'; dst: number; e: LExpr }
  | { op: 'jz'; e: LExpr; to: number }
  | { op: 'jmp'; to: number };

export interface CompiledThread {
  regNames: string[];
  regInit: number[];
  code: Instr[];
}

/** A register or location a condition reads, or a column of the printed states. */
export interface Ref {
  label: string;
  thread: number | null;
  index: number;
}

/** A condition compiled: an atom is refs[ref] = v. */
export type CProp = PropOver<{ k: 'atom'; ref: number; v: number }>;

export interface Program {
  test: LitmusTest;
  locs: string[];
  init: number[];
  threads: CompiledThread[];
  nEvents: number;
  /** everything the condition, the filter and the printed states read */
  refs: Ref[];
  /** indices into refs: the columns of "States", in herd's order (registers by thread, then locations) */
  observed: number[];
  cond: CProp;
  filter?: CProp;
}

interface CallSpec {
  kind: number;
  ord: number;
  /** arguments, the address among them */
  nargs: number;
  /** index of the address argument, -1 for a fence */
  ptr: number;
  /** the address is written *p (READ_ONCE(*x)); else it is the pointer itself (smp_load_acquire(x)) */
  lval?: boolean;
  rmw?: RmwFn;
  result?: (v: number) => number;
  blocks?: boolean;
  /** spin_trylock: a lock seen held is a plain load (no drain), a free one the locked cmpxchg */
  tryLock?: boolean;
  returns: boolean;
}

const CALLS = new Map<string, CallSpec>();
const def = (names: string[], s: CallSpec) => names.forEach((n) => CALLS.set(n, s));
def(['READ_ONCE', 'rcu_dereference'], { kind: OP_LOAD, ord: ORD_ONCE, nargs: 1, ptr: 0, lval: true, returns: true });
def(['smp_load_acquire', 'atomic_read_acquire'], { kind: OP_LOAD, ord: ORD_ACQUIRE, nargs: 1, ptr: 0, returns: true });
def(['atomic_read'], { kind: OP_LOAD, ord: ORD_ONCE, nargs: 1, ptr: 0, returns: true });
def(['spin_is_locked'], { kind: OP_LOAD, ord: ORD_ONCE, nargs: 1, ptr: 0, returns: true, result: (v) => (v !== 0 ? 1 : 0) });
def(['WRITE_ONCE'], { kind: OP_STORE, ord: ORD_ONCE, nargs: 2, ptr: 0, lval: true, returns: false });
def(['rcu_assign_pointer'], { kind: OP_STORE, ord: ORD_RELEASE, nargs: 2, ptr: 0, lval: true, returns: false });
def(['smp_store_release', 'atomic_set_release'], { kind: OP_STORE, ord: ORD_RELEASE, nargs: 2, ptr: 0, returns: false });
def(['atomic_set'], { kind: OP_STORE, ord: ORD_ONCE, nargs: 2, ptr: 0, returns: false });
def(['spin_unlock'], { kind: OP_STORE, ord: ORD_RELEASE, nargs: 1, ptr: 0, returns: false });
def(['smp_mb'], { kind: OP_FENCE, ord: ORD_MB, nargs: 0, ptr: -1, returns: false });
def(['smp_wmb'], { kind: OP_FENCE, ord: ORD_WMB, nargs: 0, ptr: -1, returns: false });
def(['smp_rmb'], { kind: OP_FENCE, ord: ORD_RMB, nargs: 0, ptr: -1, returns: false });
def(['spin_lock'], { kind: OP_CMPXCHG, ord: ORD_MB, nargs: 1, ptr: 0, returns: false, blocks: true, rmw: (o) => (o === 0 ? [1, 0] : [undefined, o]) });
// queued_spin_trylock(): atomic_read() first; only a free lock gets the (locked, draining) cmpxchg
def(['spin_trylock'], { kind: OP_CMPXCHG, ord: ORD_MB, nargs: 1, ptr: 0, returns: true, tryLock: true, rmw: (o) => (o === 0 ? [1, 1] : [undefined, 0]) });
def(['xchg', 'atomic_xchg'], { kind: OP_XCHG, ord: ORD_MB, nargs: 2, ptr: 0, returns: true, rmw: (o, [v]) => [v, o] });
// linux-kernel.def: smp_store_mb(X,V) { __store{once}(X,V); __fence{mb}; } (x86: xchg), written smp_store_mb(*x, 1)
def(['smp_store_mb'], { kind: OP_XCHG, ord: ORD_MB, nargs: 2, ptr: 0, lval: true, returns: false, rmw: (o, [v]) => [v, o] });
def(['cmpxchg', 'atomic_cmpxchg'], { kind: OP_CMPXCHG, ord: ORD_MB, nargs: 3, ptr: 0, returns: true, rmw: (o, [a, b]) => (o === a ? [b, o] : [undefined, o]) });
const ARITH: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b, sub: (a, b) => a - b, and: (a, b) => a & b, or: (a, b) => a | b, xor: (a, b) => a ^ b, andnot: (a, b) => a & ~b,
};
for (const [n, f] of Object.entries(ARITH)) {
  // atomic_add(i, v): the operand first, the atomic_t second
  def([`atomic_${n}`], { kind: OP_XCHG, ord: ORD_MB, nargs: 2, ptr: 1, returns: false, rmw: (o, [i]) => [f(o, i), 0] });
  def([`atomic_fetch_${n}`], { kind: OP_XCHG, ord: ORD_MB, nargs: 2, ptr: 1, returns: true, rmw: (o, [i]) => [f(o, i), o] });
  def([`atomic_${n}_return`], { kind: OP_XCHG, ord: ORD_MB, nargs: 2, ptr: 1, returns: true, rmw: (o, [i]) => [f(o, i), f(o, i)] });
}
for (const [n, d] of [['inc', 1], ['dec', -1]] as const) {
  def([`atomic_${n}`], { kind: OP_XCHG, ord: ORD_MB, nargs: 1, ptr: 0, returns: false, rmw: (o) => [o + d, 0] });
  def([`atomic_fetch_${n}`], { kind: OP_XCHG, ord: ORD_MB, nargs: 1, ptr: 0, returns: true, rmw: (o) => [o + d, o] });
  def([`atomic_${n}_return`], { kind: OP_XCHG, ord: ORD_MB, nargs: 1, ptr: 0, returns: true, rmw: (o) => [o + d, o + d] });
  def([`atomic_${n}_and_test`], { kind: OP_XCHG, ord: ORD_MB, nargs: 1, ptr: 0, returns: true, rmw: (o) => [o + d, o + d === 0 ? 1 : 0] });
}
def(['atomic_sub_and_test'], { kind: OP_XCHG, ord: ORD_MB, nargs: 2, ptr: 1, returns: true, rmw: (o, [i]) => [o - i, o - i === 0 ? 1 : 0] });
def(['atomic_add_negative'], { kind: OP_XCHG, ord: ORD_MB, nargs: 2, ptr: 1, returns: true, rmw: (o, [i]) => [o + i, o + i < 0 ? 1 : 0] });
// smp_mb__{before,after}_atomic() and smp_mb__after_spinlock() are barrier() on x86 (arch/x86/include/asm/barrier.h:
// "Atomic operations are already serializing on x86"; spin_lock's cmpxchg already drained the buffer)
const NOOPS = new Set(['rcu_read_lock', 'rcu_read_unlock', 'barrier', 'smp_mb__before_atomic', 'smp_mb__after_atomic', 'smp_mb__after_spinlock']);

/** The table's name for a call: raw_spin_* is spin_*, atomic64_/atomic_long_ are atomic_, _relaxed/_acquire/_release variants of RMWs are the RMW (all locked on x86). */
function canonical(name: string): string {
  if (CALLS.has(name) || NOOPS.has(name)) return name;
  let n = name.replace(/^raw_spin_/, 'spin_').replace(/^atomic(64|_long)_/, 'atomic_');
  if (CALLS.has(n)) return n;
  n = n.replace(/_(relaxed|acquire|release)$/, '');
  const s = CALLS.get(n);
  return s && (s.kind === OP_XCHG || s.kind === OP_CMPXCHG) ? n : name;
}

class ThreadCompiler {
  readonly regs = new Map<string, number>();
  readonly regNames: string[] = [];
  readonly code: Instr[] = [];
  private temps = 0;

  constructor(readonly file: string, readonly proc: number, readonly params: Set<string>, readonly locIndex: Map<string, number>, readonly ev: { n: number }) {}

  fail(line: number, msg: string): never {
    throw new InputError(`${this.file}:${line}: ${msg}`);
  }

  reg(name: string): number {
    let r = this.regs.get(name);
    if (r === undefined) {
      r = this.regNames.length;
      this.regs.set(name, r);
      this.regNames.push(name);
    }
    return r;
  }

  temp(): number {
    return this.reg(`$t${this.temps++}`);
  }

  stmts(ss: Stmt[]): void {
    for (const s of ss) this.stmt(s);
  }

  stmt(s: Stmt): void {
    switch (s.k) {
      case 'decl': {
        if (this.params.has(s.name)) this.fail(s.line, `'${s.name}' is both a parameter and a register of P${this.proc}`);
        const r = this.reg(s.name);
        if (s.init) this.code.push({ op: 'set', dst: r, e: this.expr(s.init) });
        return;
      }
      case 'assign': {
        const rhs = this.expr(s.rhs);
        if (s.lhs.k === 'deref') {
          // *p = v: a plain C store (a mov on x86)
          this.mem({ kind: OP_STORE, ord: ORD_PLAIN, nargs: 1, ptr: -1, returns: false }, '*p = …', s.line, this.expr(s.lhs.e), [rhs], -1);
          return;
        }
        const name = (s.lhs as { name: string }).name;
        if (!this.regs.has(name)) this.fail(s.line, this.locIndex.has(name) ? `'${name}' is a pointer parameter: write *${name} = … or WRITE_ONCE(*${name}, …)` : `'${name}' is not declared (declare it: int ${name};)`);
        this.code.push({ op: 'set', dst: this.regs.get(name)!, e: rhs });
        return;
      }
      case 'expr':
        if (s.e.k !== 'call') this.fail(s.line, 'a statement that is not a call or an assignment');
        this.call(s.e, false);
        return;
      case 'if': {
        const jz = { op: 'jz' as const, e: this.expr(s.cond), to: -1 };
        this.code.push(jz);
        this.stmts(s.then);
        if (s.else.length) {
          const jmp = { op: 'jmp' as const, to: -1 };
          this.code.push(jmp);
          jz.to = this.code.length;
          this.stmts(s.else);
          jmp.to = this.code.length;
        } else {
          jz.to = this.code.length;
        }
      }
    }
  }

  expr(e: Expr): LExpr {
    switch (e.k) {
      case 'num':
        return { k: 'const', v: e.v };
      case 'name': {
        const r = this.regs.get(e.name);
        if (r !== undefined) return { k: 'reg', r };
        const l = this.locIndex.get(e.name);
        if (l !== undefined && this.params.has(e.name)) return { k: 'const', v: PTR_BASE + l };
        return this.fail(e.line, `'${e.name}' is not declared in P${this.proc} (a register: int ${e.name}; a shared location: a parameter int *${e.name})`);
      }
      case 'un':
        return { k: 'un', op: e.op, e: this.expr(e.e) };
      case 'bin': {
        if (e.op !== '&&' && e.op !== '||') return { k: 'bin', op: e.op, a: this.expr(e.a), b: this.expr(e.b) };
        // C's short circuit: the right operand (and any access in it) runs only when the left does not decide
        const dst = this.temp();
        const truth = (x: LExpr): LExpr => ({ k: 'bin', op: '!=', a: x, b: { k: 'const', v: 0 } });
        this.code.push({ op: 'set', dst, e: truth(this.expr(e.a)) });
        const skip = { op: 'jz' as const, e: e.op === '&&' ? { k: 'reg' as const, r: dst } : { k: 'un' as const, op: '!', e: { k: 'reg' as const, r: dst } }, to: -1 };
        this.code.push(skip);
        this.code.push({ op: 'set', dst, e: truth(this.expr(e.b)) });
        skip.to = this.code.length;
        return { k: 'reg', r: dst };
      }
      case 'deref': {
        // *p read as a plain C load
        const dst = this.temp();
        this.mem({ kind: OP_LOAD, ord: ORD_PLAIN, nargs: 0, ptr: -1, returns: true }, '*p', e.line, this.expr(e.e), [], dst);
        return { k: 'reg', r: dst };
      }
      case 'call': {
        const r = this.call(e, true);
        return { k: 'reg', r };
      }
    }
  }

  /** Compile a call; returns the register holding its value (-1 when not wanted). */
  call(e: Expr & { k: 'call' }, want: boolean): number {
    const name = canonical(e.name);
    if (NOOPS.has(name)) {
      if (want) this.fail(e.line, `${e.name}() has no value`);
      return -1;
    }
    const spec = CALLS.get(name);
    if (!spec) return this.fail(e.line, `${e.name}() is not modelled by hazsim litmus (${unmodelledWhy(e.name)})`);
    if (e.args.length !== spec.nargs) this.fail(e.line, `${e.name}() takes ${spec.nargs} argument${spec.nargs === 1 ? '' : 's'}, found ${e.args.length}`);
    if (want && !spec.returns) this.fail(e.line, `${e.name}() has no value`);
    let addr: LExpr | null = null;
    if (spec.ptr >= 0) {
      const a = e.args[spec.ptr];
      if (spec.lval) {
        if (a.k !== 'deref') this.fail(e.line, `${e.name}() takes *pointer as its ${spec.ptr === 0 ? 'first ' : ''}argument (${e.name}(*x${spec.nargs > 1 ? ', …' : ''}))`);
        addr = this.expr(a.e);
      } else {
        addr = this.expr(a);
      }
    }
    const args = e.args.filter((_, i) => i !== spec.ptr).map((a) => this.expr(a));
    const dst = want ? this.temp() : -1;
    this.mem(spec, e.name, e.line, addr, args, dst);
    return dst;
  }

  mem(spec: CallSpec, call: string, line: number, addr: LExpr | null, args: LExpr[], dst: number): void {
    const id = spec.kind === OP_FENCE ? 0 : ++this.ev.n;
    this.code.push({ op: 'mem', kind: spec.kind, ord: spec.ord, addr, args, rmw: spec.rmw, result: spec.result, blocks: spec.blocks, tryLock: spec.tryLock, dst, id, line, call });
  }
}

function unmodelledWhy(name: string): string {
  if (/^(synchronize_|call_)?s?rcu|^srcu_|^synchronize_/.test(name)) return 'RCU grace periods are not modelled; rcu_read_lock/unlock are no-ops';
  return 'see docs/memory-model.md for the operations it models';
}

/** Compile a parsed test for the explorer. */
export function compileLitmus(t: LitmusTest): Program {
  const fail = (line: number, msg: string): never => {
    throw new InputError(`${t.file}:${line}: ${msg}`);
  };
  const locIndex = new Map<string, number>();
  const loc = (name: string) => {
    if (!locIndex.has(name)) locIndex.set(name, locIndex.size);
    return locIndex.get(name)!;
  };
  for (const n of t.declared) loc(n);
  for (const p of t.procs) for (const n of p.params) loc(n);
  for (const i of t.init) if ('addr' in i.val) loc(i.val.addr);
  const atoms: { loc: LocRef; val: ValRef }[] = [];
  const collect = (p: Prop | undefined): void => {
    if (!p) return;
    if (p.k === 'atom') atoms.push(p);
    else if (p.k === 'not') collect(p.p);
    else if (p.k === 'and' || p.k === 'or') p.ps.forEach(collect);
    else if (p.k === 'implies') (collect(p.a), collect(p.b));
  };
  collect(t.cond);
  collect(t.filter);
  for (const a of atoms) {
    if (a.loc.thread === null) loc(a.loc.name);
    if ('addr' in a.val) loc(a.val.addr);
  }
  for (const l of t.locations) if (l.thread === null) loc(l.name);

  const ev = { n: 0 };
  const threads: CompiledThread[] = t.procs.map((p) => {
    const c = new ThreadCompiler(t.file, p.index, new Set(p.params), locIndex, ev);
    c.stmts(p.body);
    return { regNames: c.regNames, regInit: c.regNames.map(() => 0), code: c.code };
  });
  const value = (v: ValRef, line: number): number => {
    if ('int' in v) return v.int;
    const l = locIndex.get(v.addr);
    return l === undefined ? fail(line, `'${v.addr}' is not a location`) : PTR_BASE + l;
  };
  const init = [...locIndex.keys()].map(() => 0);
  for (const i of t.init) {
    if (i.loc.thread === null) init[loc(i.loc.name)] = value(i.val, i.loc.line);
    else {
      const th = threads[i.loc.thread] ?? fail(i.loc.line, `there is no P${i.loc.thread}`);
      let r = th.regNames.indexOf(i.loc.name);
      if (r < 0) {
        r = th.regNames.push(i.loc.name) - 1;
        th.regInit.push(0);
      }
      th.regInit[r] = value(i.val, i.loc.line);
    }
  }

  const refs: Ref[] = [];
  const ref = (l: LocRef): number => {
    // herd7 (7.5x) prints a shared location in brackets: [x]=1; a register as 0:r0=1
    const label = l.thread === null ? `[${l.name}]` : `${l.thread}:${l.name}`;
    const have = refs.findIndex((r) => r.label === label);
    if (have >= 0) return have;
    let index: number;
    if (l.thread === null) index = locIndex.get(l.name)!;
    else {
      const th = threads[l.thread] ?? fail(l.line, `${label}: there is no P${l.thread}`);
      index = th.regNames.indexOf(l.name);
      if (index < 0) fail(l.line, `${label}: P${l.thread} has no register ${l.name}`);
    }
    return refs.push({ label, thread: l.thread, index }) - 1;
  };
  const cprop = (p: Prop): CProp => {
    switch (p.k) {
      case 'atom':
        return { k: 'atom', ref: ref(p.loc), v: value(p.val, p.loc.line) };
      case 'not':
        return { k: 'not', p: cprop(p.p) };
      case 'and':
      case 'or':
        return { k: p.k, ps: p.ps.map(cprop) };
      case 'implies':
        return { k: 'implies', a: cprop(p.a), b: cprop(p.b) };
      default:
        return p;
    }
  };
  const cond = cprop(t.cond);
  const filter = t.filter ? cprop(t.filter) : undefined;
  const condRefs = new Set<number>();
  const mark = (p: CProp): void => {
    if (p.k === 'atom') condRefs.add(p.ref);
    else if (p.k === 'not') mark(p.p);
    else if (p.k === 'and' || p.k === 'or') p.ps.forEach(mark);
    else if (p.k === 'implies') (mark(p.a), mark(p.b));
  };
  mark(cond);
  const observed = [...new Set([...condRefs, ...t.locations.map(ref)])];
  // herd's order: registers by thread then name, then locations by name
  observed.sort((a, b) => {
    const x = refs[a];
    const y = refs[b];
    if ((x.thread === null) !== (y.thread === null)) return x.thread === null ? 1 : -1;
    if (x.thread !== y.thread) return (x.thread ?? 0) - (y.thread ?? 0);
    return x.label < y.label ? -1 : x.label > y.label ? 1 : 0;
  });
  return { test: t, locs: [...locIndex.keys()], init, threads, nEvents: ev.n, refs, observed, cond, filter };
}
