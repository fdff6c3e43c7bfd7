// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `hazsim litmus`: the project's suite (litmus/) gives the x86-TSO and SC
 * verdicts its headers state, in herd7's format, byte for byte from run to
 * run; bad input is one line naming FILE:LINE and the construct, exit 2,
 * before any test is explored; a verdict that is not the expected one is exit 1.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers.ts';

interface JsonResult {
  name: string;
  model: string;
  observation: string;
  expected: string | null;
  ok: boolean | null;
  positive: number;
  negative: number;
}

/** The suite's expectations, restated here so a header edited by mistake shows up: [x86-TSO, SC]. */
const SUITE: Record<string, [string, string]> = {
  SB: ['Sometimes', 'Never'],
  'SB+mbs': ['Never', 'Never'],
  'SB+rfis': ['Sometimes', 'Never'],
  n6: ['Sometimes', 'Never'],
  'SB+xchgs': ['Never', 'Never'],
  'SB+mb__after_atomic': ['Sometimes', 'Never'],
  'SB+trylock-fail': ['Sometimes', 'Never'],
  'SB+atomics': ['Never', 'Never'],
  'SB+unlocks': ['Sometimes', 'Never'],
  MP: ['Never', 'Never'],
  'MP+wmb+rmb': ['Never', 'Never'],
  'MP+release+acquire': ['Never', 'Never'],
  'MP+locks': ['Never', 'Never'],
  'MP+pointer': ['Never', 'Never'],
  LB: ['Never', 'Never'],
  'LB+ctrls': ['Never', 'Never'],
  R: ['Sometimes', 'Never'],
  'R+mbs': ['Never', 'Never'],
  S: ['Never', 'Never'],
  IRIW: ['Never', 'Never'],
  'IRIW+mbs': ['Never', 'Never'],
  WRC: ['Never', 'Never'],
  ISA2: ['Never', 'Never'],
  '2+2W': ['Never', 'Never'],
  CoRR: ['Never', 'Never'],
  CoRW: ['Never', 'Never'],
  CoWR: ['Never', 'Never'],
  CoWW: ['Never', 'Never'],
  'INC+onces': ['Sometimes', 'Sometimes'],
  'INC+atomics': ['Always', 'Always'],
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hazsim-litmus-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Write a litmus file (one string per line: line N is the Nth entry) and return its path. */
function fixture(name: string, lines: string[]): string {
  const file = join(dir, `${name}.litmus`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const SB_LINES = [
  'C SB-fixture',
  '',
  '(*',
  ' * hazsim-tso: Sometimes',
  ' *)',
  '',
  '{}',
  '',
  'P0(int *x, int *y)',
  '{',
  '\tint r0;',
  '',
  '\tWRITE_ONCE(*x, 1);',
  '\tr0 = READ_ONCE(*y);',
  '}',
  '',
  'P1(int *x, int *y)',
  '{',
  '\tint r0;',
  '',
  '\tWRITE_ONCE(*y, 1);',
  '\tr0 = READ_ONCE(*x);',
  '}',
  '',
  'exists (0:r0=0 /\\ 1:r0=0)',
];

describe('hazsim litmus: the suite', () => {
  for (const model of ['tso', 'sc'] as const) {
    it(`every test in litmus/ gives its stated ${model} verdict`, async () => {
      const r = await cli(['litmus', 'litmus', '--model', model, '--json']);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const results = JSON.parse(r.out) as JsonResult[];
      const got = Object.fromEntries(results.map((x) => [x.name, x.observation]));
      const want = Object.fromEntries(Object.entries(SUITE).map(([n, v]) => [n, v[model === 'tso' ? 0 : 1]]));
      expect(got).toEqual(want);
      for (const x of results) {
        expect(x.model).toBe(model);
        expect(x.expected, x.name).toBe(want[x.name]);
        expect(x.ok, x.name).toBe(true);
        expect(x.positive + x.negative, x.name).toBeGreaterThan(0);
      }
    });
  }

  it("prints herd7's format, byte for byte (Time and Hash left out), and a Verdict line", async () => {
    const r = await cli(['litmus', 'litmus/SB.litmus']);
    expect(r.code).toBe(0);
    expect(r.out).toBe([
      'Test SB Allowed',
      'States 4',
      '0:r0=0; 1:r0=0;',
      '0:r0=0; 1:r0=1;',
      '0:r0=1; 1:r0=0;',
      '0:r0=1; 1:r0=1;',
      'Ok',
      'Witnesses',
      'Positive: 1 Negative: 3',
      'Condition exists (0:r0=0 /\\ 1:r0=0)',
      'Observation SB Sometimes 1 3',
      'Verdict SB tso Sometimes (expected Sometimes: ok)',
    ].join('\n'));
    const sc = await cli(['litmus', 'litmus/SB.litmus', '--model', 'sc']);
    expect(sc.out).toContain('States 3\n0:r0=0; 1:r0=1;\n0:r0=1; 1:r0=0;\n0:r0=1; 1:r0=1;\nNo\n');
    expect(sc.out).toContain('Observation SB Never 0 3\nVerdict SB sc Never (expected Never: ok)');
  });

  it('~exists is Forbidden with the witness counts swapped; forall is Required', async () => {
    const r = await cli(['litmus', 'litmus/MP+locks.litmus', 'litmus/INC+atomics.litmus']);
    expect(r.out).toContain('Test MP+locks Forbidden\n');
    expect(r.out).toContain('Ok\nWitnesses\nPositive: 2 Negative: 0\nCondition ~exists (1:r0=1 /\\ 1:r1=0)\nObservation MP+locks Never 0 2\n');
    expect(r.out).toContain('Test INC+atomics Required\nStates 1\n[x]=2;\nOk\n');
  });

  it('is deterministic: the same bytes on every run', async () => {
    const a = await cli(['litmus', 'litmus', '--model', 'tso']);
    const b = await cli(['litmus', 'litmus', '--model', 'tso']);
    expect(a.out).toBe(b.out);
    expect(a.out).not.toMatch(/^(Time|Hash)/m);
  });
});

describe('hazsim litmus: bad input and mismatches', () => {
  it('a parse error is one line FILE:LINE, exit 2', async () => {
    const bad = fixture('parse-error', SB_LINES.map((l) => (l === '\tr0 = READ_ONCE(*y);' ? '\tr0 = READ_ONCE(*y)' : l)));
    const r = await cli(['litmus', bad]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(`hazsim: ${bad}:15: expected ';', found '}'`);
  });

  it('an unmodelled construct (synchronize_rcu) is exit 2 naming it and its line, before any test is explored', async () => {
    const bad = fixture('unmodelled', SB_LINES.map((l) => (l === '\tr0 = READ_ONCE(*x);' ? '\tsynchronize_rcu();' : l)));
    const r = await cli(['litmus', 'litmus/SB.litmus', bad]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.err).toMatch(new RegExp(`^hazsim: ${bad.replace(/[.+]/g, '\\$&')}:22: synchronize_rcu\\(\\) is not modelled by hazsim litmus`));
  });

  it('a verdict other than the header expects is reported on the Verdict line, exit 1', async () => {
    const wrong = fixture('mismatch', SB_LINES.map((l) => (l === ' * hazsim-tso: Sometimes' ? ' * hazsim-tso: Never' : l)));
    const r = await cli(['litmus', wrong]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('Verdict SB-fixture tso Sometimes (expected Never: MISMATCH)');
  });

  it('&& and || short-circuit: an access on the right runs only when the left does not decide', async () => {
    const f = fixture('shortcirc', [
      'C shortcirc', '', '{ x=1; }', '', 'P0(int *x, int *y)', '{', '\tint r0;', '\tint r1;', '',
      '\tr0 = READ_ONCE(*x);', '\tif (r0 || xchg(y, 1))', '\t\tr1 = 1;', '}', '', 'exists ([y]=1)',
    ]);
    const r = await cli(['litmus', f]);
    expect(r.err).toBe('');
    expect(r.out).toContain('Observation shortcirc Never 0 1');
  });

  it('a test that needs more buffered stores than the machine holds is exit 2, naming the bound', async () => {
    const stores = Array.from({ length: 9 }, (_, i) => `\tWRITE_ONCE(*x, ${i + 1});`);
    const f = fixture('sb9', ['C sb9', '', '{}', '', 'P0(int *x, int *y)', '{', '\tint r0;', ...stores, '\tr0 = READ_ONCE(*y);', '}', '', 'exists (0:r0=0)']);
    const r = await cli(['litmus', f]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`hazsim: ${f}:16: WRITE_ONCE: P0 would hold more than 8 stores in its store buffer; hazsim's buffer (the machine's, src/kernel/tso.ts) holds 8, so this test's outcomes are not modelled`);
  });

  it('an unknown model or a missing path is exit 2', async () => {
    expect((await cli(['litmus', 'litmus', '--model', 'arm'])).code).toBe(2);
    const r = await cli(['litmus', join(dir, 'nope.litmus')]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`hazsim: ${join(dir, 'nope.litmus')}: no such file or directory`);
  });
});
