// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The C litmus format of the Linux kernel memory model (tools/memory-model/
 * litmus-tests/*.litmus, herd7's C dialect): the `C name` line, the `{ … }`
 * initial state, `P0(int *x, …) { … }` bodies, then `locations [...]`,
 * `filter (...)` and the final condition `exists`, `~exists` or `forall`
 * with `/\`, `\/`, `~` and `=>`.
 *
 * parseLitmus() gives the syntax (statements and expressions as written);
 * compile.ts turns it into the op kinds the machine uses. Any problem is one
 * InputError "FILE:LINE: what".
 */
import { InputError } from '../cli/errors.ts';

export type Verdict = 'Never' | 'Sometimes' | 'Always';
export const VERDICTS: readonly Verdict[] = ['Never', 'Sometimes', 'Always'];

export type Expr =
  | { k: 'num'; v: number; line: number }
  | { k: 'name'; name: string; line: number }
  | { k: 'un'; op: string; e: Expr; line: number }
  | { k: 'bin'; op: string; a: Expr; b: Expr; line: number }
  | { k: 'deref'; e: Expr; line: number }
  | { k: 'call'; name: string; args: Expr[]; line: number };

export type Stmt =
  | { k: 'decl'; name: string; init?: Expr; line: number }
  | { k: 'assign'; lhs: Expr; rhs: Expr; line: number }
  | { k: 'expr'; e: Expr; line: number }
  | { k: 'if'; cond: Expr; then: Stmt[]; else: Stmt[]; line: number };

/** A register (`0:r0`) or a shared location (`x`) named in the initial state or a condition. */
export interface LocRef {
  thread: number | null;
  name: string;
  line: number;
}

/** A value in a condition or the initial state: an integer, or the address of a location (`x`). */
export type ValRef = { int: number } | { addr: string };

/** A proposition over atoms A (as written here; compile.ts's atoms name a register or location by index). */
export type PropOver<A> =
  | { k: 'true' }
  | { k: 'false' }
  | A
  | { k: 'not'; p: PropOver<A> }
  | { k: 'and'; ps: PropOver<A>[] }
  | { k: 'or'; ps: PropOver<A>[] }
  | { k: 'implies'; a: PropOver<A>; b: PropOver<A> };

export type Prop = PropOver<{ k: 'atom'; loc: LocRef; val: ValRef }>;

export type Quantifier = 'exists' | '~exists' | 'forall';

export interface LitmusProc {
  index: number;
  params: string[];
  body: Stmt[];
  line: number;
}

export interface LitmusTest {
  file: string;
  name: string;
  /** `{ … }`: location or register, its type's pointer depth is not kept; value 0 when omitted */
  init: { loc: LocRef; val: ValRef }[];
  /** shared locations declared in the initial state (`int x;`, `spinlock_t l;`) */
  declared: string[];
  procs: LitmusProc[];
  locations: LocRef[];
  filter?: Prop;
  quantifier: Quantifier;
  cond: Prop;
  condLine: number;
  /** `Result:` in the header comment: LKMM's verdict (herd7 with linux-kernel.cat) */
  lkmm?: Verdict;
  /** `hazsim-tso:` / `hazsim-sc:` in the header comment: what this project expects */
  expect: { tso?: Verdict; sc?: Verdict };
}

interface Tok {
  t: 'id' | 'num' | 'p';
  v: string;
  line: number;
}

const PUNCT = ['/\\', '\\/', '==', '!=', '&&', '||', '<=', '>=', '=>', '<<', '>>', '->', '++', '--', '+=', '-=', '|=', '&=',
  '{', '}', '(', ')', '[', ']', ';', ',', ':', '=', '*', '&', '|', '^', '!', '~', '+', '-', '/', '%', '<', '>', '?', '.'];

/** Tokens of the text after the `C name` line; `(* … *)` is a comment only outside braces and parentheses (in code, `(*x)` is C). */
function tokenize(file: string, text: string, firstLine: number): Tok[] {
  const toks: Tok[] = [];
  let line = firstLine;
  let depth = 0;
  let i = 0;
  const fail = (msg: string): never => {
    throw new InputError(`${file}:${line}: ${msg}`);
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const skipTo = (end: string, what: string) => {
      const j = text.indexOf(end, i + 2);
      if (j < 0) fail(`unterminated ${what}`);
      for (let k = i; k < j; k++) if (text[k] === '\n') line++;
      i = j + end.length;
    };
    if (text.startsWith('(*', i) && depth === 0) {
      skipTo('*)', 'comment (*');
      continue;
    }
    if (text.startsWith('/*', i)) {
      skipTo('*/', 'comment /*');
      continue;
    }
    if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    const id = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(i, i + 200));
    if (id) {
      toks.push({ t: 'id', v: id[0], line });
      i += id[0].length;
      continue;
    }
    const num = /^(0[xX][0-9a-fA-F]+|[0-9]+)/.exec(text.slice(i, i + 40));
    if (num) {
      toks.push({ t: 'num', v: num[0], line });
      i += num[0].length;
      continue;
    }
    const p = PUNCT.find((q) => text.startsWith(q, i));
    if (!p) fail(`unexpected character '${c}'`);
    if (p === '{' || p === '(' || p === '[') depth++;
    if (p === '}' || p === ')' || p === ']') depth = Math.max(0, depth - 1);
    toks.push({ t: 'p', v: p!, line });
    i += p!.length;
  }
  return toks;
}

const C_KEYWORDS = new Set(['while', 'for', 'do', 'goto', 'switch', 'case', 'return', 'break', 'continue', 'sizeof']);
const TYPE_WORDS = new Set(['int', 'unsigned', 'signed', 'long', 'short', 'char', 'const', 'volatile', 'spinlock_t', 'atomic_t',
  'atomic64_t', 'atomic_long_t', 'u8', 'u16', 'u32', 'u64', 's8', 's16', 's32', 's64', 'intptr_t', 'uintptr_t', 'bool']);

/** A verdict named in a header line `KEY: Never|Sometimes|Always`. */
function headerVerdict(text: string, key: string): Verdict | undefined {
  const m = new RegExp(`^[\\s*(]*${key}:\\s*(Never|Sometimes|Always)\\b`, 'm').exec(text);
  return m ? (m[1] as Verdict) : undefined;
}

class Parser {
  private i = 0;
  constructor(readonly file: string, readonly toks: Tok[], readonly lastLine: number) {}

  fail(msg: string, line = this.peek()?.line ?? this.lastLine): never {
    throw new InputError(`${this.file}:${line}: ${msg}`);
  }
  peek(k = 0): Tok | undefined {
    return this.toks[this.i + k];
  }
  is(v: string, k = 0): boolean {
    const t = this.peek(k);
    return !!t && t.v === v && (t.t === 'p' || t.t === 'id');
  }
  next(): Tok {
    const t = this.toks[this.i++];
    if (!t) this.fail('unexpected end of file');
    return t;
  }
  expect(v: string, what = `'${v}'`): Tok {
    const t = this.peek();
    if (!t || t.v !== v) this.fail(`expected ${what}, found ${t ? `'${t.v}'` : 'end of file'}`);
    return this.next();
  }
  ident(what: string): Tok {
    const t = this.peek();
    if (!t || t.t !== 'id') this.fail(`expected ${what}, found ${t ? `'${t.v}'` : 'end of file'}`);
    return this.next();
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }

  // ---- the initial state ------------------------------------------------------
  /** `{ int x; int *p=y; 0:r1=2; spinlock_t l; }` */
  init(): { init: LitmusTest['init']; declared: string[] } {
    const init: LitmusTest['init'] = [];
    const declared: string[] = [];
    this.expect('{', "'{' (the initial state)");
    while (!this.is('}')) {
      if (this.is(';')) {
        this.next();
        continue;
      }
      const line = this.peek()?.line ?? this.lastLine;
      while (this.peek()?.t === 'id' && TYPE_WORDS.has(this.peek()!.v) && !this.is(':', 1) && !this.is('=', 1) && !this.is(';', 1)) this.next();
      while (this.is('*')) this.next();
      const loc = this.locRef();
      let val: ValRef = { int: 0 };
      if (this.is('=')) {
        this.next();
        val = this.value();
      }
      if (loc.thread === null) declared.push(loc.name);
      init.push({ loc: { ...loc, line }, val });
      if (!this.is('}')) this.expect(';');
    }
    this.expect('}');
    return { init, declared };
  }

  /** `x`, `[x]` (as herd7 prints a location) or `0:r0` */
  locRef(): LocRef {
    if (this.is('[')) {
      this.next();
      const id = this.ident('a location name');
      this.expect(']');
      return { thread: null, name: id.v, line: id.line };
    }
    const t = this.peek();
    if (t?.t === 'num' && this.is(':', 1)) {
      this.next();
      this.next();
      return { thread: Number(t.v), name: this.ident('a register name').v, line: t.line };
    }
    const id = this.ident('a location or register (x or 0:r0)');
    return { thread: null, name: id.v, line: id.line };
  }

  value(): ValRef {
    if (this.is('-')) {
      this.next();
      return { int: -Number(this.expectNum().v) };
    }
    if (this.peek()?.t === 'num') return { int: Number(this.next().v) };
    if (this.is('&')) this.next();
    const id = this.ident('a value (an integer or a location name)');
    if (id.v === 'ATOMIC_INIT' && this.is('(')) {
      this.next();
      const v = this.value();
      this.expect(')');
      return v;
    }
    return { addr: id.v };
  }
  expectNum(): Tok {
    const t = this.peek();
    if (t?.t !== 'num') this.fail(`expected an integer, found ${t ? `'${t.v}'` : 'end of file'}`);
    return this.next();
  }

  // ---- processes ----------------------------------------------------------------
  proc(): LitmusProc {
    const head = this.ident('P0, P1, …');
    const m = /^P(\d+)$/.exec(head.v);
    if (!m) this.fail(`expected a process P0, P1, … or locations/filter/exists/forall, found '${head.v}'`, head.line);
    this.expect('(');
    const params: string[] = [];
    while (!this.is(')')) {
      let name = '';
      while (!this.is(',') && !this.is(')')) {
        const t = this.next();
        if (t.t === 'id') name = t.v;
      }
      if (!name) this.fail('expected a parameter such as int *x');
      params.push(name);
      if (this.is(',')) this.next();
    }
    this.expect(')');
    return { index: Number(m![1]), params, body: this.block(), line: head.line };
  }

  block(): Stmt[] {
    this.expect('{');
    const body: Stmt[] = [];
    while (!this.is('}')) body.push(...this.stmt());
    this.expect('}');
    return body;
  }

  /** One statement; a declaration of several names gives several. */
  stmt(): Stmt[] {
    const t = this.peek();
    if (!t) return this.fail('unexpected end of file in a process body');
    if (t.v === '{' && t.t === 'p') return this.block();
    if (t.v === ';' && t.t === 'p') {
      this.next();
      return [];
    }
    if (t.t === 'id' && C_KEYWORDS.has(t.v)) this.fail(`'${t.v}' is not modelled by hazsim litmus (straight-line code and if/else only)`, t.line);
    if (t.t === 'id' && t.v === 'if') {
      this.next();
      this.expect('(');
      const cond = this.expr();
      this.expect(')');
      const then = this.stmt();
      let els: Stmt[] = [];
      if (this.is('else')) {
        this.next();
        els = this.stmt();
      }
      return [{ k: 'if', cond, then, else: els, line: t.line }];
    }
    if (t.t === 'id' && TYPE_WORDS.has(t.v) && this.peek(1)?.t !== 'p') return this.decl();
    if (t.t === 'id' && TYPE_WORDS.has(t.v) && this.is('*', 1)) return this.decl();
    const e = this.expr();
    if (this.is('=')) {
      this.next();
      const rhs = this.expr();
      this.expect(';');
      if (e.k !== 'name' && e.k !== 'deref') this.fail('the left of = must be a register or *pointer', e.line);
      return [{ k: 'assign', lhs: e, rhs, line: t.line }];
    }
    if (['+=', '-=', '|=', '&=', '++', '--'].some((op) => this.is(op))) this.fail(`'${this.peek()!.v}' is not modelled by hazsim litmus (write r = r + 1)`);
    this.expect(';');
    return [{ k: 'expr', e, line: t.line }];
  }

  decl(): Stmt[] {
    const out: Stmt[] = [];
    while (this.peek()?.t === 'id' && TYPE_WORDS.has(this.peek()!.v)) this.next();
    for (;;) {
      while (this.is('*')) this.next();
      const id = this.ident('a variable name');
      let init: Expr | undefined;
      if (this.is('=')) {
        this.next();
        init = this.expr();
      }
      out.push({ k: 'decl', name: id.v, init, line: id.line });
      if (!this.is(',')) break;
      this.next();
    }
    this.expect(';');
    return out;
  }

  // ---- C expressions (precedence climbing) ---------------------------------------
  static readonly LEVELS = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '<=', '>', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];

  expr(level = 0): Expr {
    if (level === Parser.LEVELS.length) return this.unary();
    let a = this.expr(level + 1);
    while (this.peek()?.t === 'p' && Parser.LEVELS[level].includes(this.peek()!.v)) {
      const op = this.next();
      a = { k: 'bin', op: op.v, a, b: this.expr(level + 1), line: op.line };
    }
    if (level === 0 && this.is('?')) this.fail("'?:' is not modelled by hazsim litmus (use if/else)");
    return a;
  }

  unary(): Expr {
    const t = this.peek();
    if (t?.t === 'p' && ['!', '-', '~', '*', '&'].includes(t.v)) {
      this.next();
      const e = this.unary();
      if (t.v === '*') return { k: 'deref', e, line: t.line };
      if (t.v === '&') this.fail("'&' (address of) is not modelled by hazsim litmus", t.line);
      return { k: 'un', op: t.v, e, line: t.line };
    }
    return this.primary();
  }

  primary(): Expr {
    const t = this.next();
    if (t.t === 'num') return { k: 'num', v: Number(t.v), line: t.line };
    if (t.t === 'p' && t.v === '(') {
      if (this.peek()?.t === 'id' && TYPE_WORDS.has(this.peek()!.v)) this.fail('casts are not modelled by hazsim litmus', t.line);
      const e = this.expr();
      this.expect(')');
      return e;
    }
    if (t.t !== 'id') this.fail(`unexpected '${t.v}' in an expression`, t.line);
    if (C_KEYWORDS.has(t.v)) this.fail(`'${t.v}' is not modelled by hazsim litmus`, t.line);
    if (this.is('(')) {
      this.next();
      const args: Expr[] = [];
      while (!this.is(')')) {
        args.push(this.expr());
        if (!this.is(')')) this.expect(',', "',' or ')'");
      }
      this.next();
      return { k: 'call', name: t.v, args, line: t.line };
    }
    if (this.is('->') || this.is('.') || this.is('[')) this.fail(`'${this.peek()!.v}' (structures and arrays) is not modelled by hazsim litmus`);
    return { k: 'name', name: t.v, line: t.line };
  }

  // ---- conditions ----------------------------------------------------------------
  prop(): Prop {
    const a = this.disj();
    if (this.is('=>')) {
      this.next();
      return { k: 'implies', a, b: this.prop() };
    }
    return a;
  }
  disj(): Prop {
    return this.list('\\/', 'or', () => this.conj());
  }
  conj(): Prop {
    return this.list('/\\', 'and', () => this.atom());
  }
  /** sub (sep sub)*: one, or their and/or */
  list(sep: string, k: 'and' | 'or', sub: () => Prop): Prop {
    const ps = [sub()];
    while (this.is(sep)) {
      this.next();
      ps.push(sub());
    }
    return ps.length === 1 ? ps[0] : { k, ps };
  }
  atom(): Prop {
    if (this.is('~') || this.is('not')) {
      this.next();
      return { k: 'not', p: this.atom() };
    }
    if (this.is('(')) {
      this.next();
      const p = this.prop();
      this.expect(')');
      return p;
    }
    if (this.is('true')) return this.next(), { k: 'true' };
    if (this.is('false')) return this.next(), { k: 'false' };
    const loc = this.locRef();
    if (this.is('==')) this.next();
    else this.expect('=', "'=' in a condition");
    return { k: 'atom', loc, val: this.value() };
  }
}

/** Parse one litmus file's text. */
export function parseLitmus(file: string, text: string): LitmusTest {
  const lines = text.split(/\r?\n/);
  const first = lines.findIndex((l) => l.trim() !== '');
  const head = /^C\s+(\S+)\s*$/.exec(lines[first]?.trim() ?? '');
  if (!head) throw new InputError(`${file}:${first + 1}: expected the first line 'C NAME' (a C litmus test; hazsim litmus reads only C tests)`);
  const p = new Parser(file, tokenize(file, lines.slice(first + 1).join('\n'), first + 2), lines.length);
  const { init, declared } = p.init();
  const procs: LitmusProc[] = [];
  while (p.peek()?.t === 'id' && /^P\d+$/.test(p.peek()!.v)) {
    const proc = p.proc();
    if (proc.index !== procs.length) p.fail(`expected P${procs.length}, found P${proc.index}`, proc.line);
    procs.push(proc);
  }
  if (procs.length === 0) p.fail('expected a process P0(…) { … }');
  const locations: LocRef[] = [];
  let filter: Prop | undefined;
  let cond: Prop | undefined;
  let quantifier: Quantifier = 'exists';
  let condLine = 0;
  while (!p.done()) {
    const t = p.peek()!;
    if (t.v === 'locations') {
      p.next();
      p.expect('[');
      while (!p.is(']')) {
        locations.push(p.locRef());
        if (p.is(';')) p.next();
      }
      p.expect(']');
    } else if (t.v === 'filter') {
      p.next();
      filter = p.prop();
    } else if (!cond && (t.v === 'exists' || t.v === 'forall' || (t.v === '~' && p.is('exists', 1)))) {
      condLine = t.line;
      if (t.v === '~') p.next();
      p.next();
      quantifier = t.v === '~' ? '~exists' : (t.v as Quantifier);
      cond = p.prop();
    } else if (t.v === ';') {
      p.next();
    } else {
      p.fail(cond ? `unexpected '${t.v}' after the final condition` : `expected locations, filter, exists, ~exists or forall, found '${t.v}'`);
    }
  }
  if (!cond) p.fail('no final condition (exists, ~exists or forall)', lines.length);
  return {
    file, name: head[1], init, declared, procs, locations, filter, quantifier, cond: cond!, condLine,
    lkmm: headerVerdict(text, 'Result'),
    expect: { tso: headerVerdict(text, 'hazsim-tso'), sc: headerVerdict(text, 'hazsim-sc') },
  };
}
