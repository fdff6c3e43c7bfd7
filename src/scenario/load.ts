// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Read a scenario file: YAML (with positions), then the zod schema, then the
 * checks a schema cannot express (names declared before use, handoffs to tasks
 * that receive, CPUs in range). Any problem is one InputError naming the file,
 * line:column and field.
 */
import { MEMORY_MODELS, type MemoryModel } from '../kernel/tso.ts';
import { createHash } from 'node:crypto';
import { LineCounter, isMap, isSeq, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { InputError } from '../cli/errors.ts';
import { readText } from '../cli/files.ts';
import { versionNames, versions } from '../hazptr/index.ts';
import { NO_ARG_OPS, scenarioSchema, tortureParamsSchema, type Op, type Scenario, type TortureInput } from './schema.ts';
import { TORTURE_DEFAULTS, TortureRefused, resolveParams, withModule } from '../torture/index.ts';

type Path = (string | number)[];

/** What the command line changes in a scenario: `--hazptr NAME[+debug]`, `--mutant NAME`, `--memory-model tso|sc`. */
export interface Overrides {
  hazptr?: string;
  mutant?: string;
  memoryModel?: string;
}

export function loadScenario(file: string, bootarg?: string, over: Overrides = {}): Scenario {
  return parseScenario(readText(file, 'scenario'), file, bootarg, over);
}

export { hazptrLabel } from '../hazptr/index.ts';

/** `--hazptr NAME[+debug]`: the version, checked; bad input names the flag. */
export function parseHazptrArg(v: string): { hazptr: string; hazptr_debug?: true } {
  const m = /^([\w.-]+?)(\+debug)?$/.exec(v.trim());
  const name = m ? m[1] : v;
  if (!m || !versionNames.includes(name)) throw new InputError(`--hazptr: unknown hazptr version '${v}' (known: ${versionNames.join(', ')}; add +debug for CONFIG_HAZPTR_DEBUG; hazsim versions says what each is)`);
  if (m[2] && !versions[name].debug) throw new InputError(`--hazptr: hazptr version '${name}' has no CONFIG_HAZPTR_DEBUG (+debug is for ${versionNames.filter((n) => versions[n].debug).join(', ')})`);
  return { hazptr: name, ...(m[2] ? { hazptr_debug: true as const } : {}) };
}

/**
 * The scenario's digest, recorded in schedule files (replay checks it): sha256
 * of the scenario as loaded (YAML parsed, defaults filled in, --bootarg applied)
 * as JSON with sorted keys, first 16 hex digits. Comments, layout and key order
 * do not change it; any value that changes the run does.
 */
export function scenarioDigest(s: Scenario): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon)
    : v !== null && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])]))
    : v;
  return createHash('sha256').update(JSON.stringify(canon(s))).digest('hex').slice(0, 16);
}

/**
 * `--bootarg "hazptrtorture.onoff_interval=3333 hazptrtorture.stat_interval=15"`:
 * module parameters as the kernel's torture scripts pass them, over the scenario's.
 */
export function applyBootarg(params: TortureInput, bootarg: string): TortureInput {
  const out: Record<string, unknown> = { ...params };
  const names = Object.keys(tortureParamsSchema.shape);
  for (const tok of bootarg.trim().split(/\s+/).filter(Boolean)) {
    const m = /^([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)=(.*)$/.exec(tok);
    if (!m) throw new InputError(`--bootarg: '${tok}' is not module.parameter=value`);
    if (m[1] !== 'hazptrtorture') throw new InputError(`--bootarg: '${tok}': only hazptrtorture.* parameters are modelled`);
    const [, , name, raw] = m;
    if (!names.includes(name)) throw new InputError(`--bootarg: unknown parameter 'hazptrtorture.${name}' (known: ${names.join(', ')})`);
    let v: unknown;
    if (name === 'torture_type') v = raw;
    else if (name === 'nwriters' && /^(y|Y|n|N|true|false)$/.test(raw)) v = /^(y|Y|true)$/.test(raw) ? 1 : 0;
    else if (/^-?\d+$/.test(raw)) v = Number(raw);
    else throw new InputError(`--bootarg: hazptrtorture.${name}=${raw}: not an integer`);
    const one = tortureParamsSchema.shape[name as keyof typeof tortureParamsSchema.shape].safeParse(v);
    if (!one.success) throw new InputError(`--bootarg: hazptrtorture.${name}=${raw}: ${describeIssue(one.error.issues[0], v)}`);
    out[name] = one.data;
  }
  return out as TortureInput;
}

export function parseScenario(text: string, file: string, bootarg?: string, over: Overrides = {}): Scenario {
  const hzArg = over.hazptr !== undefined ? parseHazptrArg(over.hazptr) : undefined;
  const mm = over.memoryModel;
  if (mm !== undefined && !(MEMORY_MODELS as readonly string[]).includes(mm)) throw new InputError(`--memory-model: unknown memory model '${mm}' (tso: x86-TSO store buffers, the default; sc: sequentially consistent)`);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const p = lc.linePos(e.pos[0]);
    throw new InputError(`${file}:${p.line}:${p.col}: YAML syntax error: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  const where = (path: Path, atKey = false): string => {
    const pos = positionOf(doc, lc, path, atKey);
    const field = fmtPath(path);
    return `${file}:${pos}${field ? `: ${field}` : ''}`;
  };
  const raw = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(`${file}:1:1: a scenario is a YAML mapping (name:, machine:, tasks: ...)`);
  const r = scenarioSchema.safeParse(raw);
  if (!r.success) {
    const issue = pickIssue(r.error.issues);
    const path = issue.path as Path;
    // An unknown key: point at the key itself, and name it.
    if (issue.code === 'unrecognized_keys') throw new InputError(`${where([...path, issue.keys[0]], true)}: ${describeIssue(issue, undefined)}`);
    throw new InputError(`${where(path)}: ${describeIssue(issue, valueAt(raw, path))}`);
  }
  const data = r.data;
  if (!data.tasks && !data.hazptrtorture) throw new InputError(`${where(['tasks'])}: missing: a scenario needs tasks: (a list) or hazptrtorture:`);
  if (data.tasks && data.hazptrtorture) throw new InputError(`${where(['hazptrtorture'], true)}: hazptrtorture: replaces tasks:; give one or the other`);
  if (data.hazptrtorture && data.irqs.length) throw new InputError(`${where(['irqs'], true)}: irqs: go with tasks:; a hazptrtorture: workload has its own`);
  if (data.hazptrtorture && data.objects.length) throw new InputError(`${where(['objects'], true)}: objects: go with tasks:; a hazptrtorture: workload has its own`);
  if (bootarg !== undefined) {
    if (!data.hazptrtorture) throw new InputError(`--bootarg: ${file} has no hazptrtorture: workload to pass module parameters to`);
    data.hazptrtorture = applyBootarg(data.hazptrtorture, bootarg);
  }
  const hz = data.hazptr;
  const s: Scenario = {
    ...data,
    hazptr: typeof hz === 'string' ? hz : hz.version,
    ...(typeof hz !== 'string' && hz.debug ? { hazptr_debug: true as const } : {}),
    tasks: data.tasks ?? [],
  };
  if (mm !== undefined) s.machine = { ...s.machine, memory_model: mm as MemoryModel };
  // --hazptr replaces the scenario's hazptr: whole (version and debug)
  if (hzArg) {
    delete s.hazptr_debug;
    Object.assign(s, hzArg);
  }
  if (s.hazptrtorture) {
    try {
      const { module: _, ...params } = s.hazptrtorture;
      resolveParams({ ...TORTURE_DEFAULTS, ...params }, s.machine.cpus);
    } catch (e) {
      if (e instanceof TortureRefused) throw new InputError(`${where(['hazptrtorture'], true)}: the module refuses this combination: ${e.message}`);
      throw e;
    }
  }
  semanticChecks(s, raw as { hazptr?: unknown }, hzArg ? (p) => (p[0] === 'hazptr' ? '--hazptr' : where(p)) : where);
  // the module's form: the scenario's, else the default of the version it runs (after --hazptr)
  if (s.hazptrtorture) s.hazptrtorture = withModule(s.hazptrtorture, versions[s.hazptr]);
  if (over.mutant !== undefined) {
    const list = versions[s.hazptr].mutants;
    if (!list.some((x) => x.name === over.mutant)) {
      throw new InputError(`--mutant: hazptr version '${s.hazptr}' has no mutant '${over.mutant}' (${list.length ? `hazsim mutants --list --hazptr ${s.hazptr} names its ${list.length}` : 'it has none'})`);
    }
    s.hazptr_mutant = over.mutant;
  }
  return s;
}

function pickIssue(issues: z.core.$ZodIssue[]): z.core.$ZodIssue {
  // For a union (an op), report the branch that matched its key, not "invalid input":
  // the one with no unknown keys whose first problem is inside the value (non-empty path).
  const first = issues[0];
  if (first.code === 'invalid_union' && 'errors' in first) {
    const branches = (first as unknown as { errors: z.core.$ZodIssue[][] }).errors;
    const keyed = branches.find((b) => b.length && b[0].path.length > 0 && !b.some((i) => i.code === 'unrecognized_keys'));
    if (keyed) return pickIssue([{ ...keyed[0], path: [...first.path, ...keyed[0].path] } as z.core.$ZodIssue]);
  }
  return first;
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

const OP_NAMES = `acquire, release, detach, deref, handoff, receive, update, sleep_us, udelay_us, spin, lock, unlock, spin_lock, spin_unlock, loop, ${NO_ARG_OPS.join(', ')}`;

function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  if (issue.code === 'invalid_union') {
    const branches = 'errors' in issue ? (issue as unknown as { errors: z.core.$ZodIssue[][] }).errors : [];
    if (typeof issue.path[issue.path.length - 1] !== 'number') {
      // A value with two accepted shapes (acquire: NAME or { ctx, from }) that fits neither.
      const expected = [...new Set(branches.map((b) => (b[0] && 'expected' in b[0] ? String(b[0].expected) : '')).filter(Boolean))];
      const received = /received (\w+)/.exec(branches[0]?.[0]?.message ?? '')?.[1];
      if (expected.length) return `expected ${expected.join(' or ')}${received ? `, received ${received}` : ''}`;
      return issue.message;
    }
    // An entry of a program: an unknown op name, or more than one key.
    const keys = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
    if (keys.length > 1) return `an operation has exactly one key, got ${keys.map((k) => `'${k}'`).join(', ')}`;
    const op = typeof value === 'string' ? value : keys[0];
    return `${op !== undefined ? `unknown operation '${op}'` : 'not an operation'} (expected one of: ${OP_NAMES})`;
  }
  if (issue.code === 'invalid_value' && 'values' in issue) return `must be one of ${(issue.values as unknown[]).map((v) => `'${String(v)}'`).join(', ')}`;
  if (issue.code === 'too_small' && 'minimum' in issue) return issue.origin === 'array' ? `needs at least ${issue.minimum} entr${Number(issue.minimum) === 1 ? 'y' : 'ies'}` : `must be ${issue.inclusive === false ? 'greater than' : 'at least'} ${issue.minimum}`;
  if (issue.code === 'too_big' && 'maximum' in issue) return `must be at most ${issue.maximum}`;
  if (issue.code === 'invalid_type') return issue.message.replace(/^Invalid input: /, '');
  return issue.message;
}

function semanticChecks(s: Scenario, raw: { hazptr?: unknown }, where: (p: Path) => string): void {
  const fail = (p: Path, msg: string): never => {
    throw new InputError(`${where(p)}: ${msg}`);
  };
  const hzPath: Path = typeof raw.hazptr === 'object' && raw.hazptr !== null ? ['hazptr', 'version'] : ['hazptr'];
  if (!versionNames.includes(s.hazptr)) fail(hzPath, `unknown hazptr version '${s.hazptr}' (known: ${versionNames.join(', ')})`);
  const version = versions[s.hazptr];
  if (s.hazptr_debug && !version.debug) {
    fail(['hazptr', 'debug'], `hazptr version '${s.hazptr}' has no CONFIG_HAZPTR_DEBUG (debug: is for ${versionNames.filter((n) => versions[n].debug).join(', ')})`);
  }
  const noDetach = (what: string) => `hazptr version '${s.hazptr}' has no hazptr_detach() (${what} is for ${versionNames.filter((n) => versions[n].hazptr_detach).join(', ')})`;
  if (s.hazptrtorture?.module === 'detach' && !version.hazptr_detach) fail(['hazptrtorture', 'module'], noDetach('module: detach'));
  const objects = new Set<string>();
  s.objects.forEach((o, i) => {
    if (objects.has(o)) fail(['objects', i], `object '${o}' declared twice`);
    objects.add(o);
  });
  const taskNames = new Map<string, number>();
  s.tasks.forEach((t, i) => {
    if (taskNames.has(t.name)) fail(['tasks', i, 'name'], `task name '${t.name}' used twice (first at tasks[${taskNames.get(t.name)}])`);
    taskNames.set(t.name, i);
    if (t.cpu !== undefined && t.cpu >= s.machine.cpus) fail(['tasks', i, 'cpu'], `CPU ${t.cpu} does not exist (machine.cpus is ${s.machine.cpus})`);
  });
  const irqNames = new Set<string>();
  s.irqs.forEach((q, i) => {
    if (irqNames.has(q.name)) fail(['irqs', i, 'name'], `irq name '${q.name}' used twice`);
    irqNames.add(q.name);
    if (q.cpu >= s.machine.cpus) fail(['irqs', i, 'cpu'], `CPU ${q.cpu} does not exist (machine.cpus is ${s.machine.cpus})`);
  });
  const receivers = new Set<string>();
  const walkReceives = (ops: Op[], owner: string) => {
    for (const op of ops) {
      if (typeof op !== 'object') continue;
      if ('receive' in op) receivers.add(owner);
      if ('loop' in op) walkReceives(op.loop.do, owner);
    }
  };
  s.tasks.forEach((t) => walkReceives(t.program, t.name));

  const checkProgram = (ops: Op[], base: Path, ctxs: Set<string>, received: Set<string>, owner: string) => {
    ops.forEach((op, i) => {
      const p = [...base, i];
      if (typeof op !== 'object') return;
      const [key] = Object.keys(op);
      const at = [...p, key];
      const o = op as Record<string, unknown>;
      const needCtx = (c: string, path: Path, allowReceived: boolean) => {
        if (ctxs.has(c) || (allowReceived && received.has(c))) return;
        fail(path, `'${c}' is not a declared context${allowReceived ? ' or a name a receive: op declared before' : ''} (contexts: ${[...ctxs].join(', ') || 'none'})`);
      };
      const needObj = (name: string, path: Path) => {
        if (!objects.has(name)) fail(path, `unknown object '${name}' (objects: ${[...objects].join(', ') || 'none declared'})`);
      };
      switch (key) {
        case 'acquire': {
          const a = o.acquire as string | { ctx: string; from?: string };
          const ctx = typeof a === 'string' ? a : a.ctx;
          needCtx(ctx, typeof a === 'string' ? at : [...at, 'ctx'], false);
          const from = typeof a === 'string' ? undefined : a.from;
          if (from !== undefined) needObj(from, [...at, 'from']);
          else if (objects.size === 0) fail(at, 'acquire needs an object: declare one under objects:');
          break;
        }
        case 'release':
        case 'deref':
          needCtx(o[key] as string, at, true);
          break;
        case 'detach':
          needCtx(o[key] as string, at, true);
          if (!version.hazptr_detach) fail(at, noDetach('detach:'));
          break;
        case 'handoff': {
          const h = o.handoff as { ctx: string; to: string };
          needCtx(h.ctx, [...at, 'ctx'], true);
          if (!taskNames.has(h.to)) fail([...at, 'to'], `unknown task '${h.to}'`);
          if (h.to === owner) fail([...at, 'to'], `a task cannot hand off to itself`);
          if (!receivers.has(h.to)) fail([...at, 'to'], `task '${h.to}' never receives (its program has no receive: op)`);
          break;
        }
        case 'receive': {
          const n = o.receive as string;
          if (ctxs.has(n)) fail(at, `'${n}' is already a declared context; a receive: op declares a new name`);
          received.add(n);
          break;
        }
        case 'update':
          needObj(o.update as string, at);
          break;
        case 'loop':
          checkProgram((o.loop as { do: Op[] }).do, [...at, 'do'], ctxs, received, owner);
          break;
      }
    });
  };
  s.tasks.forEach((t, i) => {
    checkProgram(t.program, ['tasks', i, 'program'], new Set(Object.keys(t.contexts)), new Set(), t.name);
  });
  s.irqs.forEach((q, i) => {
    checkProgram(q.program, ['irqs', i, 'program'], new Set(Object.keys(q.contexts)), new Set(), `irq:${q.name}`);
  });
}

function fmtPath(path: Path): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out ? `.${k}` : k;
  return out;
}

/** line:col of the deepest node on `path` that exists in the document. */
function positionOf(doc: Document, lc: LineCounter, path: Path, atKey = false): string {
  let node: unknown = doc.contents;
  let pos = 0;
  const take = (n: unknown) => {
    const r = (n as { range?: [number, number, number] } | null)?.range;
    if (r) pos = r[0];
  };
  take(node);
  for (const [i, k] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((it) => (it.key as { value?: unknown } | null)?.value === k);
      if (!pair) break;
      take(pair.key);
      if (atKey && i === path.length - 1) break; // the key itself, not its value
      if (pair.value) take(pair.value);
      node = pair.value;
    } else if (isSeq(node) && typeof k === 'number') {
      node = node.items[k];
      if (!node) break;
      take(node);
    } else break;
  }
  const p = lc.linePos(pos);
  return `${p.line}:${p.col}`;
}
