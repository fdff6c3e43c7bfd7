// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `npm run schema`: write schema/scenario.schema.json, the JSON Schema editors
 * use for scenario files, from the zod schema (src/scenario/json-schema.ts).
 * Run it after changing src/scenario/schema.ts or the hazptr versions;
 * test/schema.test.ts fails while the checked-in file differs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA_PATH, scenarioJSONSchemaText } from '../src/scenario/json-schema.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const file = join(root, JSON_SCHEMA_PATH);
const text = scenarioJSONSchemaText();
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, text);
console.log(`wrote ${JSON_SCHEMA_PATH} (${text.length} bytes)`);
