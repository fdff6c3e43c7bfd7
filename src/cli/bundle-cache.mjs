// SPDX-License-Identifier: GPL-2.0-or-later
// @ts-check
/**
 * Bundles of the CLI's TypeScript entry points, so that neither `hazsim` nor
 * its hunt and mutants workers compile TypeScript when they start.
 *
 * An entry and everything it imports from src/ is bundled once, by esbuild
 * (a devDependency; tsx, our TypeScript runner, is built on it), into one ES
 * module under node_modules/.cache/hazsim/, named by a digest of the sources
 * (sourcesKey()): later starts reuse it. Packages stay imports, resolved from
 * node_modules as usual.
 *
 * Plain JavaScript, so that bin/hazsim can find or make the CLI's bundle
 * before anything can load TypeScript. A bundle knows the checkout it was
 * made from as HAZSIM_ROOT (esbuild's define; src/cli/root.ts reads it), since
 * its own import.meta.url is in the cache.
 *
 * Other bundles of the same entry are removed only once they are a day old:
 * another checkout sharing node_modules (a worktree with a symlink to it), or
 * a hunt started before a source edit, may still start workers from its own.
 *
 * Module evaluation order, which fixes the order in which steps' sites are
 * numbered, is the same in a bundle as under tsx: esbuild keeps ES module
 * evaluation order. test/hunt.test.ts checks a worker's digest against the
 * same run in-process.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';

/** A bundle of another key is removed once it is this old (ms since its last write). */
const STALE_MS = 24 * 3600 * 1000;

/**
 * The cache key: the path and contents of every source file under `root`/src
 * (contents, not modification times: a copy that keeps times, or a coarse
 * clock, would run an old bundle), tsconfig.json (esbuild reads it) and
 * esbuild's version. A few ms.
 * @param {string} root
 * @param {string} esbuildVersion
 * @returns {string}
 */
export function sourcesKey(root, esbuildVersion) {
  const h = createHash('sha256');
  h.update(`esbuild ${esbuildVersion}\0`);
  const file = (/** @type {string} */ p) => h.update(`${p}\0`).update(readFileSync(p)).update('\0');
  /** @param {string} dir */
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') || e.name.endsWith('.mjs')) file(p);
    }
  };
  walk(join(root, 'src'));
  if (existsSync(join(root, 'tsconfig.json'))) file(join(root, 'tsconfig.json'));
  return h.digest('hex').slice(0, 16);
}

/**
 * The path of the bundle of `entry` (a .ts file under `root`/src) for the
 * sources as they are now, made if it is not there; null if it cannot be made
 * (no esbuild, a read-only node_modules).
 * @param {string} root
 * @param {string} entry
 * @returns {string | null}
 */
export function bundleOf(root, entry) {
  try {
    const cache = join(root, 'node_modules', '.cache', 'hazsim');
    const require = createRequire(join(root, 'package.json'));
    /** @type {string} */
    const version = require('esbuild/package.json').version;
    const file = join(cache, `${basename(entry, '.ts')}-${sourcesKey(root, version)}.mjs`);
    if (existsSync(file)) return file;
    /** @type {typeof import('esbuild')} */
    const esbuild = require('esbuild');
    mkdirSync(cache, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    esbuild.buildSync({
      entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', outfile: tmp, logLevel: 'silent',
      define: { HAZSIM_ROOT: JSON.stringify(root) },
    });
    renameSync(tmp, file); // atomic: a concurrent start sees the whole file or none
    pruneBundles(cache, `${basename(entry, '.ts')}-`, file, Date.now());
    return file;
  } catch {
    return null;
  }
}

/**
 * Remove the bundles in `dir` named `stem`* other than `keep` that were last written more than a day before `now`.
 * @param {string} dir
 * @param {string} stem
 * @param {string} keep
 * @param {number} now
 */
export function pruneBundles(dir, stem, keep, now) {
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
