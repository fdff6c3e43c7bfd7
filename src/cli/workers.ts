// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Start a worker thread on one of the CLI's TypeScript entry points (the hunt
 * and mutants workers) without compiling TypeScript in each worker: each loads
 * a bundle of its entry (bundle-cache.mjs), plain JavaScript, no loader hooks.
 * A bundle found missing when a worker starts is made again.
 *
 * If the bundle cannot be made (no esbuild, a read-only node_modules), the
 * worker registers tsx and imports the TypeScript entry: slower to start, the
 * same code.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { bundleOf } from './bundle-cache.mjs';
import { ROOT } from './root.ts';

export { pruneBundles } from './bundle-cache.mjs';

const bundles = new Map<string, string | null>();

/** The bundled entry's path, made if needed; null if it cannot be made. */
function bundled(entry: string): string | null {
  // made before, and still there (a run elsewhere may have removed it)
  const known = bundles.get(entry);
  if (known === null || (known !== undefined && existsSync(known))) return known;
  const out = bundleOf(ROOT, entry);
  bundles.set(entry, out);
  return out;
}

/** A worker running `entry` (a URL of a .ts file under src/) with `workerData`. */
export function startWorker(entry: URL, workerData: unknown): Worker {
  const file = bundled(fileURLToPath(entry));
  if (file) return new Worker(pathToFileURL(file), { workerData });
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

/** The bundle `startWorker` would use for `entry` (null: it falls back to tsx). For tests. */
export function bundlePath(entry: URL): string | null {
  return bundled(fileURLToPath(entry));
}
