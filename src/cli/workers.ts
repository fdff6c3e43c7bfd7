// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Start a worker thread on one of the CLI's TypeScript entry points (the hunt
 * and mutants workers) without compiling TypeScript in each worker.
 *
 * The entry and everything it imports from src/ is bundled once, by esbuild
 * (which tsx, our TypeScript runner, already installs), into one ES module
 * under node_modules/.cache/hazsim/, named by a digest of the sources' paths,
 * sizes and modification times: later hunts reuse it without bundling. Packages
 * stay imports, resolved from node_modules as usual. Each worker then loads
 * plain JavaScript: no loader hooks, no per-module transform.
 *
 * Other bundles of the same entry are removed only once they are a day old:
 * another checkout sharing node_modules (a worktree with a symlink to it), or a
 * hunt started before a source edit, may still start workers from its own. A
 * bundle found missing when a worker starts is made again.
 *
 * If the bundle cannot be made (no esbuild, a read-only node_modules), the
 * worker registers tsx and imports the TypeScript entry, as before: slower to
 * start, the same code.
 *
 * Module evaluation order, which fixes the order in which steps' sites are
 * numbered (and so the schedule digest), is the same in a bundle as under tsx:
 * esbuild keeps ES module evaluation order. test/hunt.test.ts checks a worker's
 * digest against the same run in-process.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const SRC = fileURLToPath(new URL('..', import.meta.url));
const ROOT = dirname(SRC);
const CACHE = join(ROOT, 'node_modules', '.cache', 'hazsim');
/** A bundle of another key is removed once it is this old (ms since its last write). */
const STALE_MS = 24 * 3600 * 1000;

const bundles = new Map<string, string | null>();

/** Paths, sizes and mtimes of every source file: the cache key. */
function sourcesKey(): string {
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        const st = statSync(p);
        h.update(`${p}\0${st.size}\0${st.mtimeMs}\n`);
      }
    }
  };
  walk(SRC);
  return h.digest('hex').slice(0, 16);
}

/** The bundled entry's path, made if needed; null if it cannot be made. */
function bundled(entry: string): string | null {
  // made before, and still there (a run elsewhere may have removed it)
  const known = bundles.get(entry);
  if (known === null || (known !== undefined && existsSync(known))) return known;
  let out: string | null = null;
  try {
    const file = join(CACHE, `${basename(entry, '.ts')}-${sourcesKey()}.mjs`);
    if (!existsSync(file)) {
      const require = createRequire(import.meta.url);
      const esbuild = require('esbuild') as typeof import('esbuild');
      mkdirSync(CACHE, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      esbuild.buildSync({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', outfile: tmp, logLevel: 'silent' });
      renameSync(tmp, file); // atomic: a concurrent hunt sees the whole file or none
      pruneBundles(CACHE, `${basename(entry, '.ts')}-`, file, Date.now());
    }
    out = file;
  } catch {
    out = null;
  }
  bundles.set(entry, out);
  return out;
}

/** Remove the bundles in `dir` named `stem`* other than `keep` that were last written more than a day before `now`. */
export function pruneBundles(dir: string, stem: string, keep: string, now: number): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (!name.startsWith(stem) || !name.endsWith('.mjs') || p === keep) continue;
    try {
      if (now - statSync(p).mtimeMs > STALE_MS) rmSync(p, { force: true });
    } catch {
      // removed meanwhile by another run
    }
  }
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
