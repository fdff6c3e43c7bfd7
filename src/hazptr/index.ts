// SPDX-License-Identifier: GPL-2.0-or-later
/** The hazptr versions a scenario can choose with `hazptr: <name>` or `hazptr: { version: <name>, debug: true }`. */
import type { HazptrVersion } from './version.ts';
import { v5 } from './v5/hazptr.ts';
import { v5Detach } from './v5-detach/hazptr.ts';
import { wildcardFlip } from './wildcard-flip/hazptr.ts';

export const versions: Record<string, HazptrVersion> = { v5 };
// v5-detach and wildcard-flip are built on first use: their sites are registered after every module's,
// so that no existing site id moves (they feed the schedule digest).
Object.defineProperty(versions, 'v5-detach', { enumerable: true, get: v5Detach });
Object.defineProperty(versions, 'wildcard-flip', { enumerable: true, get: wildcardFlip });
export const versionNames = Object.keys(versions);

/** The version a scenario runs: with `debug`, its CONFIG_HAZPTR_DEBUG build. */
export function versionOf(name: string, debug = false): HazptrVersion {
  const v = versions[name];
  return debug && v.debug ? v.debug : v;
}

/**
 * The version a scenario runs, as one word: `v5`, `v5-detach+debug` (the form
 * `--hazptr` takes and schedule files record), and the mutant if any:
 * `v5-detach mutant acquire-no-mb`.
 */
export function hazptrLabel(s: { hazptr: string; hazptr_debug?: boolean; hazptr_mutant?: string }): string {
  return `${s.hazptr}${s.hazptr_debug ? '+debug' : ''}${s.hazptr_mutant ? ` mutant ${s.hazptr_mutant}` : ''}`;
}
