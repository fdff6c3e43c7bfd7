// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Code locations. Every kernel function the model runs is registered once with
 * its C name and source file; every statement that makes a step is a *site*:
 * (function, line, the C statement, a short description for step traces).
 * Sites are small integers so that the step path carries no strings.
 */

export interface KFunction {
  id: number;
  name: string;
  file: string;
  /** static inline in a header: printed like decode_stacktrace.sh prints inlined frames */
  inline: boolean;
  /** its loops end only on values it loads (no counters, no clock): see loop-proof.ts */
  memoryDriven: boolean;
}

export interface Site {
  id: number;
  fn: KFunction;
  /** line in fn.file, 0 when the model has no source line for it */
  line: number;
  /** the C statement, as written in the source */
  stmt: string;
  /** what the step does, for trace lines: "load slot->addr" */
  desc: string;
}

/**
 * Per site, a 32-bit FNV-1a hash of what it is (file, function, line, desc):
 * what the schedule digest folds in, rather than the site's number, which
 * depends on the order modules were loaded in (a CLI process, a hunt worker and
 * a test load different sets of modules).
 */
export const siteHash: number[] = [];

function fnv(text: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h;
}

export const functions: KFunction[] = [];
export const sites: Site[] = [];

const byName = new Map<string, KFunction>();

export function kfunc(name: string, file: string, inline = false): KFunction {
  const have = byName.get(name);
  if (have) return have;
  const f: KFunction = { id: functions.length, name, file, inline, memoryDriven: false };
  functions.push(f);
  byName.set(name, f);
  return f;
}

/**
 * Declare functions whose loops end only on the values they load: a loop
 * found repeating in them with nothing else changing is endless (loop-proof.ts).
 */
export function memoryDriven(...fns: KFunction[]): void {
  for (const f of fns) f.memoryDriven = true;
}

export function site(fn: KFunction, line: number, stmt: string, desc: string): number {
  sites.push({ id: sites.length, fn, line, stmt, desc });
  siteHash.push(fnv(`${fn.file}\0${fn.name}\0${line}\0${desc}`));
  return sites.length - 1;
}

/** "hazptr_release include/linux/hazptr.h:190 [inline]" */
export function fmtFrame(fn: KFunction, line: number): string {
  const where = line ? `${fn.file}:${line}` : fn.file;
  return `${fn.name} ${where}${fn.inline ? ' [inline]' : ''}`;
}

/** Site 0: a step with no source location (used before a frame's first op). */
export const NO_SITE = site(kfunc('<none>', ''), 0, '', '');
