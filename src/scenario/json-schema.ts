// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * schema/scenario.schema.json, the JSON Schema an editor (yaml-language-server:
 * VS Code's Red Hat YAML extension, Neovim through nvim-lspconfig) uses to
 * complete, describe and check a scenario file as it is typed. Made from the
 * zod schema (schema.ts) by z.toJSONSchema: its input side (defaults are
 * optional keys), draft-07 (what yaml-language-server implements), plus what
 * only the loader knows: the hazptr version names. scripts/gen-schema.ts writes
 * it (`npm run schema`); test/schema.test.ts fails when the file is stale.
 *
 * It is a help for editors, not the authority: hazsim's loader also checks
 * names against their declarations, cross-references (handoff to a task that
 * receives), CPUs against machine.cpus, and what the torture module refuses.
 * The workload's shape (exactly one of tasks: and hazptrtorture:, no objects:
 * or irqs: with the module), checked by the loader after zod, is added here.
 */
import { z } from 'zod';
import { versionNames, versions } from '../hazptr/index.ts';
import { scenarioSchema } from './schema.ts';

/** Where the file is, from the repository's root. */
export const JSON_SCHEMA_PATH = 'schema/scenario.schema.json';
/** The first line of every shipped scenario, for a file `depth` directories below the root (scenarios/: 1). */
export const schemaModeline = (depth: number): string => `# yaml-language-server: $schema=${'../'.repeat(depth)}${JSON_SCHEMA_PATH}`;

type JSONSchema = Record<string, unknown>;

/** The JSON Schema of a scenario file, as an object. */
export function scenarioJSONSchema(): JSONSchema {
  const generated = z.toJSONSchema(scenarioSchema, { io: 'input', target: 'draft-07' }) as JSONSchema;
  const { $schema, ...rest } = generated;
  const out: JSONSchema = {
    $schema,
    $id: 'urn:hazsim:scenario.schema.json',
    title: 'hazsim scenario',
    description:
      'A hazsim scenario: a simulated SMP machine and a workload (tasks: and their programs, or the hazptrtorture module), run by hazsim run FILE --seed N. Reference: docs/scenarios.md. hazsim checks more than this schema: names against their declarations, cross-references, CPUs against machine.cpus.',
    ...rest,
  };
  // hazptr: the zod schema takes any string (the loader names the known ones in its error); an editor can offer them.
  const props = out.properties as Record<string, JSONSchema>;
  const [asName, asObject] = props.hazptr.anyOf as JSONSchema[];
  const named = { enum: versionNames, enumDescriptions: versionNames.map((n) => versions[n].summary) };
  Object.assign(asName, named);
  Object.assign((asObject.properties as Record<string, JSONSchema>).version, named);
  // the workload: exactly one of tasks: and hazptrtorture:, and objects:/irqs: only with tasks: (the loader's checks after zod's)
  out.oneOf = [
    { description: 'A workload of tasks: (with objects: and irqs: as needed), without hazptrtorture:.', required: ['tasks'], not: { required: ['hazptrtorture'] } },
    {
      description: 'The hazptrtorture module as the workload: no tasks:, and no objects: or irqs: (it has its own).',
      required: ['hazptrtorture'],
      not: { required: ['tasks'] },
      properties: {
        objects: { description: 'Not with hazptrtorture: (empty or absent).', maxItems: 0 },
        irqs: { description: 'Not with hazptrtorture: (empty or absent).', maxItems: 0 },
      },
    },
  ];
  return out;
}

/** The file's text: two-space JSON with a trailing newline; keys in the order the schema declares them. */
export function scenarioJSONSchemaText(): string {
  return `${JSON.stringify(scenarioJSONSchema(), null, 2)}\n`;
}
