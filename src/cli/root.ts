// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The checkout hazsim runs from. Under tsx, two levels up from this file; in a
 * bundle (bin/hazsim and the workers run one: bundle-cache.mjs), whose own URL
 * is in node_modules/.cache, the root esbuild wrote into it as HAZSIM_ROOT.
 */
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

declare const HAZSIM_ROOT: string | undefined;

export const ROOT: string = typeof HAZSIM_ROOT === 'string' ? HAZSIM_ROOT : fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** A file of the checkout, by its path from the root. */
export function rootFile(path: string): string {
  return join(ROOT, path);
}

/** The same, as a file: URL (a worker's entry). */
export function rootUrl(path: string): URL {
  return pathToFileURL(rootFile(path));
}

/** A file of the checkout as a path from the current directory (what a printed command names). */
export function fromCwd(path: string): string {
  return relative(process.cwd(), rootFile(path)) || '.';
}
