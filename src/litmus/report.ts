// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A litmus test's result as plain data (litmusResult), and its two printings:
 * herd7's (formatHerd: Test / States / Ok|No / Witnesses / Positive: Negative:
 * / Condition / Observation, then hazsim's Verdict line) and JSON.
 *
 * herd7's meaning, kept here: Positive and Negative count the executions that
 * do and do not satisfy the condition's proposition; the Observation word is
 * Never (no positive), Always (no negative) or Sometimes. "Ok" means the
 * condition holds: exists -> some positive; ~exists -> no positive; forall ->
 * no negative. The Witnesses line of a ~exists test swaps the two counts.
 * herd's Time and Hash lines are left out: hazsim's output is byte-identical
 * from run to run.
 */
import type { MemoryModel } from '../kernel/tso.ts';
import { PTR_BASE, type CProp, type Program } from './compile.ts';
import { evalProp, type Exploration } from './explore.ts';
import type { Quantifier, Verdict } from './parse.ts';

export interface LitmusResult {
  name: string;
  file: string;
  model: MemoryModel;
  quantifier: Quantifier;
  /** herd's printing of the final condition */
  condition: string;
  /** the distinct final states of the observed registers and locations, sorted, herd's format */
  states: string[];
  /** executions satisfying / not satisfying the proposition (after any filter) */
  positive: number;
  negative: number;
  observation: Verdict;
  /** herd's Ok: the condition holds */
  validated: boolean;
  /** hazsim-tso: / hazsim-sc: in the test's header, for this model */
  expected: Verdict | null;
  /** Result: in the test's header: LKMM's verdict, for information */
  lkmm: Verdict | null;
  /** observation === expected; null when the test states no expectation for this model */
  ok: boolean | null;
}

const KIND: Record<Quantifier, string> = { exists: 'Allowed', '~exists': 'Forbidden', forall: 'Required' };

export function formatValue(p: Program, v: number): string {
  return v >= PTR_BASE && v - PTR_BASE < p.locs.length ? p.locs[v - PTR_BASE] : String(v);
}

type Above = 'top' | 'and' | 'or' | 'implies';
/** herd's ConstrGen.is_paren: below the top, only these nestings go without parentheses */
const NO_PAREN = new Set(['implies/implies', 'and/and', 'or/and', 'or/or']);
function paren(above: Above, here: Above, s: string): string {
  return above !== 'top' && !NO_PAREN.has(`${above}/${here}`) ? `(${s})` : s;
}

/** A proposition as herd prints it: ` /\ `, ` \/ `, ` => `, `not (…)`. */
export function formatProp(p: Program, q: CProp, above: Above = 'top'): string {
  switch (q.k) {
    case 'true': return 'true';
    case 'false': return 'false';
    case 'atom': return `${p.refs[q.ref].label}=${formatValue(p, q.v)}`;
    case 'not': return `not (${formatProp(p, q.p)})`;
    case 'and': return q.ps.length ? paren(above, 'and', q.ps.map((x) => formatProp(p, x, 'and')).join(' /\\ ')) : 'true';
    case 'or': return q.ps.length ? paren(above, 'or', q.ps.map((x) => formatProp(p, x, 'or')).join(' \\/ ')) : 'false';
    case 'implies': return paren(above, 'implies', `${formatProp(p, q.a, 'implies')} => ${formatProp(p, q.b, 'implies')}`);
  }
}

export function litmusResult(p: Program, model: MemoryModel, x: Exploration): LitmusResult {
  const t = p.test;
  const kept = p.filter ? x.executions.filter((e) => evalProp(p.filter!, e.values)) : x.executions;
  let positive = 0;
  for (const e of kept) if (evalProp(p.cond, e.values)) positive++;
  const negative = kept.length - positive;
  const rows = new Map<string, number[]>();
  for (const e of kept) {
    const row = p.observed.map((r) => e.values[r]);
    rows.set(row.join(','), row);
  }
  const sorted = [...rows.values()].sort((a, b) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return 0;
  });
  const states = sorted.map((row) => row.map((v, i) => `${p.refs[p.observed[i]].label}=${formatValue(p, v)};`).join(' '));
  const observation: Verdict = positive === 0 ? 'Never' : negative === 0 ? 'Always' : 'Sometimes';
  const validated = t.quantifier === 'exists' ? positive > 0 : t.quantifier === '~exists' ? positive === 0 : negative === 0;
  const expected = t.expect[model] ?? null;
  return {
    name: t.name, file: t.file, model, quantifier: t.quantifier,
    condition: `${t.quantifier} (${formatProp(p, p.cond)})`,
    states, positive, negative, observation, validated, expected, lkmm: t.lkmm ?? null,
    ok: expected === null ? null : expected === observation,
  };
}

/** The verdict line: `Verdict SB+mbs tso Never (expected Never: ok; LKMM Never)`. */
export function verdictLine(r: LitmusResult): string {
  const notes: string[] = [];
  if (r.expected) notes.push(`expected ${r.expected}: ${r.ok ? 'ok' : 'MISMATCH'}`);
  if (r.lkmm) notes.push(`LKMM ${r.lkmm}`);
  return `Verdict ${r.name} ${r.model} ${r.observation}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

/** herd7's output for one test, then the verdict line. */
export function formatHerd(r: LitmusResult): string[] {
  const [wpos, wneg] = r.quantifier === '~exists' ? [r.negative, r.positive] : [r.positive, r.negative];
  return [
    `Test ${r.name} ${KIND[r.quantifier]}`,
    `States ${r.states.length}`,
    ...r.states,
    r.validated ? 'Ok' : 'No',
    'Witnesses',
    `Positive: ${wpos} Negative: ${wneg}`,
    `Condition ${r.condition}`,
    `Observation ${r.name} ${r.observation} ${r.positive} ${r.negative}`,
    verdictLine(r),
  ];
}
