// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What the commands share: integer flags, --steps, --jobs, colour, and the
 * command lines that hints print (they run as shown, from the current directory).
 */
import type { Search } from '../scenario/run.ts';
import { availableParallelism } from 'node:os';
import { isAbsolute, relative } from 'node:path';
import { Option } from 'commander';
import { parse } from 'yaml';
import { STEPS_MAX } from '../scenario/schema.ts';
import { InputError } from './errors.ts';
import { rootFile } from './root.ts';

export function parseIntArg(flag: string, v: string, min = 0): number {
  if (!/^-?\d+$/.test(v.trim())) throw new InputError(`${flag}: '${v}' is not an integer`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new InputError(`${flag}: ${v} is out of range (at least ${min}${n > Number.MAX_SAFE_INTEGER ? `, at most ${Number.MAX_SAFE_INTEGER}` : ''})`);
  return n;
}

/** --steps takes what limits.steps takes: a YAML integer (1000000, 1e6, 0xf4240) from 1 to STEPS_MAX. */
export function parseStepsArg(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  let x: unknown;
  try {
    x = parse(v);
  } catch {
    x = v;
  }
  if (typeof x !== 'number' || !Number.isInteger(x)) throw new InputError(`--steps: '${v}' is not an integer (limits.steps takes 1000000, 1e6 or 0xf4240)`);
  if (x < 1) throw new InputError(`--steps: ${v} is out of range (at least 1)`);
  if (x > STEPS_MAX) throw new InputError(`--steps: ${v} is out of range (at most ${STEPS_MAX})`);
  return x;
}

/** --jobs: default the CPUs this process may use; more is allowed, with a warning. */
export function parseJobsArg(v: string | undefined, warn: (line: string) => void): number {
  const cpus = availableParallelism();
  if (v === undefined) return cpus;
  const n = parseIntArg('--jobs', v, 1);
  if (n > cpus) warn(`hazsim: warning: --jobs ${n} is more than the ${cpus} CPU${cpus === 1 ? '' : 's'} of this machine; the workers will share them`);
  return n;
}

export const colorOption = (): Option => new Option('--no-color', 'no colour, even on a terminal (as NO_COLOR=1 does; FORCE_COLOR=1 forces colour)');

/** Colour on: not --no-color, not NO_COLOR; then FORCE_COLOR if set (0 or false: off), else a terminal. */
export function useColor(flag: boolean, isTTY: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!flag || env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return isTTY;
}

const BIN = rootFile('bin/hazsim');

/** A word as a POSIX shell reads it back. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A hazsim command line that runs as shown from the current directory (./bin/hazsim in the repository). */
export function hazsimCommand(args: (string | number)[]): string {
  let bin = relative(process.cwd(), BIN);
  if (!isAbsolute(bin) && !bin.startsWith('.')) bin = `./${bin}`;
  return [bin, ...args.map((a) => shellQuote(String(a)))].join(' ');
}

/** --hazptr, --mutant and --memory-model, as run, hunt, bisect and replay take them; --strategy and --depth (run, hunt, bisect). */
export interface VersionFlags {
  hazptr?: string;
  mutant?: string;
  memoryModel?: string;
  strategy?: string;
  depth?: string;
  pctSteps?: string;
}

export const strategyOption = (): Option => new Option('--strategy <name>', 'how the scheduler chooses which CPU steps: random (uniform, the default), pct (priorities with --depth change points) or dfs (search the schedules systematically, as hazsim explore does, with --bound)');
export const depthOption = (): Option => new Option('--depth <d>', 'with --strategy pct: the bug depth to target (d - 1 priority change points; default 3)');
export const pctStepsOption = (): Option => new Option('--pct-steps <k>', "with --strategy pct: spread the change points over the first k CPU choices (default: limits.steps; set it near a run's length)");

/** --strategy and --depth as runScenario takes them; undefined for the default (random). */
export function searchOf(v: VersionFlags): Search | undefined {
  const name = v.strategy ?? 'random';
  if (name !== 'random' && name !== 'pct' && name !== 'dfs') throw new InputError(`--strategy: unknown strategy '${name}' (random: uniform over the eligible CPUs; pct: probabilistic concurrency testing; dfs: bounded exhaustive search)`);
  // dfs is not a seeded strategy: the commands hand it to the explore search (src/cli/explore.ts) before they get here
  if (name === 'dfs') throw new Error('--strategy dfs reached searchOf()');
  if (name === 'random') {
    if (v.depth !== undefined) throw new InputError('--depth: goes with --strategy pct');
    if (v.pctSteps !== undefined) throw new InputError('--pct-steps: goes with --strategy pct');
    return undefined;
  }
  return {
    strategy: 'pct', depth: v.depth !== undefined ? parseIntArg('--depth', v.depth, 1) : 3,
    ...(v.pctSteps !== undefined ? { expected: parseIntArg('--pct-steps', v.pctSteps, 1) } : {}),
  };
}

export const hazptrOption = (): Option => new Option('--hazptr <name>', "hazptr version to run, replacing the scenario's hazptr: (v5, v5-detach, v5-detach+debug, ...: hazsim versions)");
export const mutantOption = (): Option => new Option('--mutant <name>', 'run a mutant of that version (hazsim mutants --list names them)');
export const memoryModelOption = (): Option => new Option('--memory-model <model>', "tso (x86-TSO store buffers) or sc (sequentially consistent), replacing the scenario's machine.memory_model");

/** --steps, --bootarg, --hazptr and --mutant as a hint repeats them. */
export function runFlags(steps: number | undefined, bootarg: string | undefined, v: VersionFlags = {}): string[] {
  return [
    ...(steps !== undefined ? ['--steps', String(steps)] : []), ...(bootarg !== undefined ? ['--bootarg', bootarg] : []),
    ...(v.hazptr !== undefined ? ['--hazptr', v.hazptr] : []), ...(v.mutant !== undefined ? ['--mutant', v.mutant] : []),
    ...(v.memoryModel !== undefined ? ['--memory-model', v.memoryModel] : []),
    ...(v.strategy !== undefined ? ['--strategy', v.strategy] : []), ...(v.depth !== undefined ? ['--depth', v.depth] : []),
    ...(v.pctSteps !== undefined ? ['--pct-steps', v.pctSteps] : []),
  ];
}

/** The version flags a command was given, for loadScenario(). */
export function versionFlags(o: VersionFlags): VersionFlags {
  return {
    ...(o.hazptr !== undefined ? { hazptr: o.hazptr } : {}), ...(o.mutant !== undefined ? { mutant: o.mutant } : {}),
    ...(o.memoryModel !== undefined ? { memoryModel: o.memoryModel } : {}),
    ...(o.strategy !== undefined ? { strategy: o.strategy } : {}), ...(o.depth !== undefined ? { depth: o.depth } : {}),
    ...(o.pctSteps !== undefined ? { pctSteps: o.pctSteps } : {}),
  };
}

export const perfettoOption = (): Option => new Option('--perfetto <file>', 'write a Perfetto/Chrome trace of the run (JSON trace events: a track per CPU, task stints, the call stack, IPIs, the race); by default the window before the report (docs/timeline.md)');
export const perfettoAllOption = (): Option => new Option('--perfetto-all', 'with --perfetto: the whole run, not only the window before the report');
