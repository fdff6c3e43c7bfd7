// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `hazsim explore <scenario.yaml> [--bound k]`: bounded exhaustive search over
 * schedules (src/scenario/explore.ts), and what `--strategy dfs` does on run,
 * hunt and bisect: the flags (--bound, --max-schedules), the search with its
 * progress line, the summary, and the replay of a failing schedule.
 */
import { Command, Option } from 'commander';
import { loadScenario } from '../scenario/load.ts';
import { explore, replayFailure, type ExploreFailure, type ExploreResult } from '../scenario/explore.ts';
import type { RunResult } from '../scenario/run.ts';
import type { Scenario } from '../scenario/schema.ts';
import { EXIT_BUG, EXIT_OK, InputError } from './errors.ts';
import { checkWritable } from './files.ts';
import type { CliIO } from './index.ts';
import {
  colorOption, hazptrOption, hazsimCommand, memoryModelOption, mutantOption, parseIntArg, parseStepsArg, runFlags, useColor, versionFlags, type VersionFlags,
} from './options.ts';
import { formatRun, jsonRun } from '../report/dmesg.ts';
import { Progress } from './progress.ts';
import { saveSchedule } from './run.ts';
import { fromCwd } from './root.ts';

export const DEFAULT_BOUND = 2;
export const DEFAULT_MAX_SCHEDULES = 10_000;

export const boundOption = (): Option => new Option('--bound <k>', `the most preemptions (and delayed store-buffer drains, other non-default scheduler choices) a searched schedule may have (explore, --strategy dfs; default ${DEFAULT_BOUND}; bounds 0..k in turn)`);
export const maxSchedulesOption = (): Option => new Option('--max-schedules <n>', `stop the search after this many schedules (explore, --strategy dfs; default ${DEFAULT_MAX_SCHEDULES})`);

export interface DfsFlags {
  bound?: string;
  maxSchedules?: string;
}

/** --bound and --max-schedules, checked; they go with --strategy dfs (or explore). */
export function dfsOf(o: DfsFlags & VersionFlags, isExplore = false): { bound: number; maxSchedules: number } | undefined {
  if (!isExplore && o.strategy !== 'dfs') {
    if (o.bound !== undefined) throw new InputError('--bound: goes with --strategy dfs');
    if (o.maxSchedules !== undefined) throw new InputError('--max-schedules: goes with --strategy dfs');
    return undefined;
  }
  if (o.depth !== undefined) throw new InputError('--depth: goes with --strategy pct');
  if (o.pctSteps !== undefined) throw new InputError('--pct-steps: goes with --strategy pct');
  return {
    bound: o.bound !== undefined ? parseIntArg('--bound', o.bound, 0) : DEFAULT_BOUND,
    maxSchedules: o.maxSchedules !== undefined ? parseIntArg('--max-schedules', o.maxSchedules, 1) : DEFAULT_MAX_SCHEDULES,
  };
}

/** The flags that make the same search again, for the command lines a report prints. */
export function dfsFlags(d: { bound: number; maxSchedules: number }): string[] {
  return ['--strategy', 'dfs', '--bound', String(d.bound), ...(d.maxSchedules !== DEFAULT_MAX_SCHEDULES ? ['--max-schedules', String(d.maxSchedules)] : [])];
}

/** Run the search with a progress line on stderr. */
export function search(s: Scenario, d: { bound: number; maxSchedules: number }, o: { seed: number; maxSteps?: number; stopAtFirst?: boolean; reduce?: boolean }, io: CliIO): ExploreResult {
  const progress = new Progress(io.err, io.status);
  try {
    return explore(s, {
      ...d, ...o,
      progress: (n, bound, failing) => progress.show(() => `explore: ${n} schedules, bound ${bound}, ${failing} failing, ${(n / Math.max(1e-9, progress.seconds)).toFixed(1)} schedules/s`),
    });
  } finally {
    progress.clear();
  }
}

/** The lines after a search: per bound, the first failure and how to replay it, and the summary line last. */
export function summaryLines(res: ExploreResult, replay: string | undefined, saveHint: string): string[] {
  const out: string[] = [];
  for (const b of res.bounds) {
    const cut = b.cut ? ` (and ${b.cut} run${b.cut === 1 ? '' : 's'} cut short by the reduction)` : '';
    out.push(`hazsim: explore: bound ${b.bound}: ${b.schedules} schedule${b.schedules === 1 ? '' : 's'}${cut}, ${b.failing} failing${b.complete ? '' : ' (stopped at budget)'}`);
  }
  if (res.budget) out.push(`hazsim: explore: ${res.budget} schedule${res.budget === 1 ? '' : 's'} used the whole step budget without a report (not failing; more --steps would run them further)`);
  const first = firstFailure(res);
  if (first) {
    out.push(`hazsim: first failure at bound ${first.bound}: ${first.signature}`);
    out.push(replay ? `hazsim: replay: ${replay}` : `hazsim: to replay it, save it: ${saveHint}`);
  }
  const sigs = res.signatures.map((f) => `${f.signature} (${f.count}, first at bound ${f.bound})`).join('; ');
  out.push(`hazsim: explored ${res.explored} schedules (${res.complete ? 'complete' : 'stopped at budget'}), ${res.failing} failing, signatures: ${sigs || 'none'}`);
  return out;
}

/** The failure found first (at the smallest bound: the search goes bound by bound). */
export function firstFailure(res: ExploreResult): ExploreFailure | undefined {
  let f: ExploreFailure | undefined;
  for (const x of res.signatures) if (!f || x.run < f.run) f = x;
  return f;
}

/** Replay a failure for its report, and write its replay file when asked. */
export function replayFound(s: Scenario, f: ExploreFailure, o: { file: string; seed: number; steps?: number; bootarg?: string; saveSchedule?: string; story: boolean }): RunResult {
  const r = replayFailure(s, f, { seed: o.seed, maxSteps: o.steps, story: o.story });
  if (r.bug?.signature !== f.signature) throw new Error(`explore: the failing schedule replayed as ${r.bug?.signature ?? r.outcome}, not ${f.signature}`);
  if (o.saveSchedule) {
    saveSchedule('--save-schedule', o.saveSchedule, r, { file: o.file, scenario: s, seed: o.seed, bootarg: o.bootarg, steps: o.steps, extra: { explored: `bound ${f.bound}, schedule ${f.run} of the search` } });
  }
  return r;
}

/**
 * run --strategy dfs: search until the first failing schedule, then print that
 * schedule's run as run prints a run (replayed, so the report and story are the
 * normal ones); the replay line repeats the search, which finds it again.
 */
export function runDfs(io: CliIO, file: string, s: Scenario, d: { bound: number; maxSchedules: number }, o: { seed: number; steps?: number; bootarg?: string; saveSchedule?: string; json?: boolean; quiet?: boolean; color: boolean; flags: VersionFlags }): void {
  const res = search(s, d, { seed: o.seed, maxSteps: o.steps, stopAtFirst: true }, io);
  const first = firstFailure(res);
  if (!first) {
    if (o.json) io.out(JSON.stringify({ scenario: file, strategy: 'dfs', bound: d.bound, explored: res.explored, complete: res.complete, failing: 0 }));
    else io.out(summaryLines(res, undefined, '').join('\n'));
    io.exitCode = EXIT_OK;
    return;
  }
  const r = replayFound(s, first, { file, seed: o.seed, steps: o.steps, bootarg: o.bootarg, saveSchedule: o.saveSchedule, story: !o.json });
  if (o.json) {
    io.out(JSON.stringify({ ...jsonRun(r), strategy: 'dfs', bound: first.bound, explored: res.explored }));
  } else {
    const replayCommand = hazsimCommand(['run', file, ...runFlags(o.steps, o.bootarg, o.flags), ...dfsFlags(d).slice(2), ...(o.seed !== 1 ? ['--seed', o.seed] : [])]);
    io.out(formatRun(r, { color: useColor(o.color, io.isTTY), quiet: !!o.quiet, replayCommand }).join('\n'));
    io.out(`hazsim: found by dfs at bound ${first.bound}, schedule ${first.run} of the search${o.saveSchedule ? `; replay file: ${o.saveSchedule} (${hazsimCommand(['replay', file, o.saveSchedule])})` : ''}`);
  }
  io.exitCode = EXIT_BUG;
}

export function exploreCommand(io: CliIO): Command {
  return new Command('explore')
    .description('search every schedule with at most --bound preemptions (and delayed store-buffer drains), bound by bound, with a partial-order reduction')
    .argument('<scenario>', 'scenario file (YAML)')
    .addOption(boundOption())
    .addOption(maxSchedulesOption())
    .option('--seed <n>', "seed of the workload's random numbers (explore does not enumerate them)", '1')
    .option('--steps <n>', 'step budget per schedule (overrides limits.steps; 1000000 or 1e6)')
    .option('--bootarg <params>', 'hazptrtorture module parameters')
    .addOption(hazptrOption())
    .addOption(mutantOption())
    .addOption(memoryModelOption())
    .option('--no-reduction', 'explore without the partial-order reduction (to measure what it saves)')
    .option('--save-schedule <file>', 'write the first failing schedule as a replay file (hazsim replay)')
    .option('--json', 'print the result as JSON')
    .addOption(colorOption())
    .addHelpText('after', `\nExample:\n  $ ${hazsimCommand(['explore', fromCwd('scenarios/cross-task-handoff.yaml'), '--bound', 1, '--steps', 3000, '--save-schedule', 'found.sched'])}\n  $ ${hazsimCommand(['replay', fromCwd('scenarios/cross-task-handoff.yaml'), 'found.sched'])}\n`)
    .action((file: string, opts: VersionFlags & DfsFlags & { seed: string; steps?: string; bootarg?: string; reduction: boolean; saveSchedule?: string; json?: boolean }) => {
      const d = dfsOf(opts, true)!;
      const seed = parseIntArg('--seed', opts.seed);
      const steps = parseStepsArg(opts.steps);
      if (opts.saveSchedule) checkWritable('--save-schedule', opts.saveSchedule);
      const scenario = loadScenario(file, opts.bootarg, versionFlags(opts));
      const res = search(scenario, d, { seed, maxSteps: steps, reduce: opts.reduction }, io);
      const first = firstFailure(res);
      const r = first ? replayFound(scenario, first, { file, seed, steps, bootarg: opts.bootarg, saveSchedule: opts.saveSchedule, story: false }) : undefined;
      const again = ['explore', file, '--bound', d.bound, ...(d.maxSchedules !== DEFAULT_MAX_SCHEDULES ? ['--max-schedules', d.maxSchedules] : []),
        ...(seed !== 1 ? ['--seed', seed] : []), ...(steps !== undefined ? ['--steps', steps] : []), ...(opts.bootarg !== undefined ? ['--bootarg', opts.bootarg] : []),
        ...(opts.hazptr !== undefined ? ['--hazptr', opts.hazptr] : []), ...(opts.mutant !== undefined ? ['--mutant', opts.mutant] : []),
        ...(opts.memoryModel !== undefined ? ['--memory-model', opts.memoryModel] : []), ...(opts.reduction ? [] : ['--no-reduction'])];
      if (opts.json) {
        io.out(JSON.stringify({
          scenario: file, bound: d.bound, maxSchedules: d.maxSchedules, seed, explored: res.explored, cut: res.cut, complete: res.complete,
          failing: res.failing, budget: res.budget, bounds: res.bounds,
          signatures: res.signatures.map((f) => ({ signature: f.signature, kind: f.kind, count: f.count, bound: f.bound, schedule: f.run })),
          first: first && r ? { bound: first.bound, signature: first.signature, schedule: first.run, decisions: r.decisions, digest: r.scheduleDigest, steps: r.steps } : null,
        }));
      } else {
        if (first && r) io.out(`hazsim: the failing schedule: ${r.bug!.headline} after ${r.steps} steps (${r.decisions} decisions, schedule ${r.scheduleDigest}; schedule ${first.run} of the search)`);
        const replay = opts.saveSchedule ? hazsimCommand(['replay', file, opts.saveSchedule]) : undefined;
        io.out(summaryLines(res, replay, hazsimCommand([...again, '--save-schedule', 'explore.sched'])).join('\n'));
      }
      io.exitCode = res.failing ? EXIT_BUG : EXIT_OK;
    });
}
