// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * schema/scenario.schema.json, the JSON Schema editors use for scenario files:
 * it is what `npm run schema` writes from the zod schema today, every field and
 * operation has a description, and every shipped scenario names it on its
 * first line and passes it. The check of a document against the JSON Schema is
 * a small validator of the keywords the generated file uses (no dependency);
 * one it does not know fails the test, so a new keyword cannot go unchecked.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { versionNames } from '../src/hazptr/index.ts';
import { JSON_SCHEMA_PATH, scenarioJSONSchemaText, schemaModeline } from '../src/scenario/json-schema.ts';
import { loadScenario } from '../src/scenario/load.ts';
import { NO_ARG_OPS, scenarioSchema } from '../src/scenario/schema.ts';

type S = Record<string, unknown>;
const schema = JSON.parse(readFileSync(JSON_SCHEMA_PATH, 'utf8')) as S;

/** The problems of `v` against JSON Schema `s` (draft-07, the keywords z.toJSONSchema emits), as "path: problem". */
function check(v: unknown, s: S, path = '$'): string[] {
  if (typeof s.$ref === 'string') {
    const name = /^#\/definitions\/(.+)$/.exec(s.$ref)?.[1];
    if (!name) return [`${path}: unknown $ref ${s.$ref}`];
    return check(v, (schema.definitions as Record<string, S>)[name], path);
  }
  const out: string[] = [];
  const kind = v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;
  for (const [k, want] of Object.entries(s)) {
    switch (k) {
      case 'type':
        if (!(kind === want || (want === 'number' && kind === 'integer'))) return [`${path}: expected ${String(want)}, got ${kind}`];
        break;
      case 'enum':
        if (!(want as unknown[]).includes(v)) out.push(`${path}: not one of ${JSON.stringify(want)}`);
        break;
      case 'const':
        if (v !== want) out.push(`${path}: not ${JSON.stringify(want)}`);
        break;
      case 'anyOf':
        if (!(want as S[]).some((b) => check(v, b, path).length === 0)) out.push(`${path}: matches no alternative`);
        break;
      case 'oneOf':
        if ((want as S[]).filter((b) => check(v, b, path).length === 0).length !== 1) out.push(`${path}: matches not exactly one alternative`);
        break;
      case 'not':
        if (check(v, want as S, path).length === 0) out.push(`${path}: matches what it must not`);
        break;
      case 'properties':
        for (const [p, ps] of Object.entries(want as Record<string, S>)) if (v !== null && typeof v === 'object' && p in v) out.push(...check((v as S)[p], ps, `${path}.${p}`));
        break;
      case 'required':
        for (const p of want as string[]) if (!(p in (v as S))) out.push(`${path}: missing ${p}`);
        break;
      case 'additionalProperties':
        for (const [p, pv] of Object.entries(v as S)) {
          if (s.properties && p in (s.properties as S)) continue;
          if (want === false) out.push(`${path}: unknown key ${p}`);
          else out.push(...check(pv, want as S, `${path}.${p}`));
        }
        break;
      case 'propertyNames':
        for (const p of Object.keys(v as S)) out.push(...check(p, want as S, `${path} key ${p}`));
        break;
      case 'items':
        (v as unknown[]).forEach((x, i) => out.push(...check(x, want as S, `${path}[${i}]`)));
        break;
      case 'minItems':
        if ((v as unknown[]).length < (want as number)) out.push(`${path}: fewer than ${String(want)} entries`);
        break;
      case 'maxItems':
        if ((v as unknown[]).length > (want as number)) out.push(`${path}: more than ${String(want)} entries`);
        break;
      case 'minLength':
        if ((v as string).length < (want as number)) out.push(`${path}: shorter than ${String(want)}`);
        break;
      case 'pattern':
        if (!new RegExp(want as string).test(v as string)) out.push(`${path}: does not match ${String(want)}`);
        break;
      case 'minimum':
        if ((v as number) < (want as number)) out.push(`${path}: below ${String(want)}`);
        break;
      case 'maximum':
        if ((v as number) > (want as number)) out.push(`${path}: above ${String(want)}`);
        break;
      case 'exclusiveMinimum':
        if ((v as number) <= (want as number)) out.push(`${path}: not above ${String(want)}`);
        break;
      case 'description':
      case 'enumDescriptions':
      case 'default':
      case 'title':
      case '$schema':
      case '$id':
      case 'definitions':
        break;
      default:
        out.push(`${path}: keyword ${k} not known to this test's validator`);
    }
  }
  return out;
}

/** Every property schema and every alternative of the operation union, with where it is. */
function* subschemas(s: S, path: string): Generator<[string, S]> {
  for (const [p, ps] of Object.entries((s.properties as Record<string, S>) ?? {})) {
    yield [`${path}.${p}`, ps];
    yield* subschemas(ps, `${path}.${p}`);
  }
  for (const key of ['items', 'additionalProperties'] as const) if (s[key] && typeof s[key] === 'object') yield* subschemas(s[key] as S, `${path}.${key}`);
  for (const [i, b] of ((s.anyOf as S[]) ?? []).entries()) yield* subschemas(b, `${path}|${i}`);
}

/** Every scenario file under scenarios/, at any depth. */
const shipped = (readdirSync('scenarios', { recursive: true }) as string[])
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => `scenarios/${f}`)
  .sort();

describe('scenario JSON Schema', () => {
  it('is what npm run schema writes today', () => {
    const want = scenarioJSONSchemaText();
    const have = readFileSync(JSON_SCHEMA_PATH, 'utf8');
    if (have !== want) expect.fail(`${JSON_SCHEMA_PATH} is stale: run npm run schema`);
    expect(scenarioJSONSchemaText()).toBe(want); // deterministic
    expect(want.endsWith('}\n')).toBe(true);
  });

  it('has the top-level keys and the operations of the zod schema, each described', () => {
    expect(schema.$id).toBeTypeOf('string');
    expect(schema.title).toBe('hazsim scenario');
    expect(Object.keys(schema.properties as S)).toEqual(Object.keys(scenarioSchema.shape));
    const ops = (schema.definitions as Record<string, S>).operation;
    const [bare, ...keyed] = ops.anyOf as S[];
    expect(bare.enum).toEqual([...NO_ARG_OPS]);
    expect((bare.enumDescriptions as string[]).length).toBe(NO_ARG_OPS.length);
    const names = keyed.map((b) => Object.keys(b.properties as S)[0]);
    expect(names).toEqual(['acquire', 'release', 'detach', 'deref', 'handoff', 'receive', 'update', 'sleep_us', 'udelay_us', 'spin', 'lock', 'unlock', 'spin_lock', 'spin_unlock', 'loop', ...NO_ARG_OPS]);
    const undescribed = [...subschemas(schema, '$'), ...subschemas(ops, 'operation')].filter(([, s]) => !s.description && !s.$ref).map(([p]) => p);
    expect(undescribed).toEqual([]);
    for (const b of keyed) expect(b.description).toBeTypeOf('string');
    const hazptr = (schema.properties as Record<string, S>).hazptr;
    expect((hazptr.anyOf as S[])[0].enum).toEqual(versionNames);
  });

  it('every shipped scenario names it on its first line, and passes it', () => {
    expect(shipped.length).toBeGreaterThan(20);
    for (const f of shipped) {
      const text = readFileSync(f, 'utf8');
      expect(text.split('\n')[0], `${f}: its first line names the schema`).toBe(schemaModeline(f.split('/').length - 1));
      expect(check(parse(text), schema), f).toEqual([]);
      expect(() => loadScenario(f), f).not.toThrow();
    }
  });

  it('rejects what hazsim rejects for its shape', () => {
    const ok = { name: 'x', tasks: [{ name: 't', contexts: { c0: 'stack' }, program: ['schedule', { acquire: { ctx: 'c0', from: 'gp' } }, { loop: { times: 2, do: [{ spin: 3 }] } }] }] };
    expect(check(ok, schema)).toEqual([]);
    expect(check({ name: 'x', hazptrtorture: { nwriters: true, module: 'detach' } }, schema)).toEqual([]);
    expect(check({ ...ok, machine: { preemt: 'none' } }, schema)).toEqual(['$.machine: unknown key preemt']);
    expect(check({ ...ok, hazptr: 'v9' }, schema)).toEqual(['$.hazptr: matches no alternative']);
    expect(check({ name: 'x', tasks: [{ name: 't', program: [{ spinn: 3 }] }] }, schema)).toEqual(['$.tasks[0].program[0]: matches no alternative']);
    expect(check({ name: 'x', tasks: [{ name: 't', program: [{ sleep_us: 1, spin: 2 }] }] }, schema)).toEqual(['$.tasks[0].program[0]: matches no alternative']);
    expect(check({ name: 'x', tasks: [{ name: 't', program: [] }] }, schema)).toEqual(['$.tasks[0].program: fewer than 1 entries']);
    expect(check({ name: 'x', hazptrtorture: { nwriters: 2 } }, schema)).toEqual(['$.hazptrtorture.nwriters: matches no alternative']);
    expect(check({ machine: { cpus: 'two' } }, schema)).toEqual(['$.machine.cpus: expected integer, got string', '$: missing name', '$: matches not exactly one alternative']);
    // the workload: exactly one of tasks: and hazptrtorture:, no objects: or irqs: with the module (as the loader after zod)
    expect(check({ name: 'x' }, schema)).toEqual(['$: matches not exactly one alternative']);
    expect(check({ ...ok, hazptrtorture: {} }, schema)).toEqual(['$: matches not exactly one alternative']);
    expect(check({ name: 'x', objects: ['gp'], hazptrtorture: {} }, schema)).toEqual(['$: matches not exactly one alternative']);
    expect(check({ name: 'x', objects: [], hazptrtorture: {} }, schema)).toEqual([]);
    expect(check({ ...ok, objects: ['gp'] }, schema)).toEqual([]);
  });
});
