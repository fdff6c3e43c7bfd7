// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `hazsim run <scenario.yaml> --seed <n>`
 */
import { Command, Option } from 'commander';
import { loadScenario, scenarioDigest } from '../scenario/load.ts';
import type { Machine } from '../kernel/machine.ts';
import { fmtSecs } from '../kernel/reports.ts';
import { siteKey, startRun, type RunOptions, type RunResult, type Search } from '../scenario/run.ts';
import type { Scenario } from '../scenario/schema.ts';
import { scheduleTextChunks } from '../sched/schedule-file.ts';
import { formatRun, jsonRun } from '../report/dmesg.ts';
import { fmtStepLine, TRACE_HEADER } from '../report/ftrace.ts';
import { EXIT_BUG, EXIT_INTERRUPTED, EXIT_OK, InputError } from './errors.ts';
import { checkWritable, writeChunks } from './files.ts';
import type { CliIO } from './index.ts';
import { Progress } from './progress.ts';
import { boundOption, dfsOf, maxSchedulesOption, runDfs, type DfsFlags } from './explore.ts';
import { colorOption, hazptrOption, hazsimCommand, depthOption, memoryModelOption, pctStepsOption, mutantOption, perfettoAllOption, perfettoOption, searchOf, strategyOption, parseIntArg, parseStepsArg, runFlags, useColor, versionFlags, type VersionFlags } from './options.ts';
import { checkPerfetto, writePerfetto, type PerfettoFlags } from './perfetto.ts';
import { fromCwd } from './root.ts';

/** What a schedule file's header records: replay checks the scenario digest and the hazptr version. */
export interface Recorded {
  file: string;
  scenario: Scenario;
  seed: number;
  bootarg?: string;
  /** --steps, when given: replay uses it too */
  steps?: number;
  /** --strategy pct: replay goes on under it after a divergence (--on-divergence continue) */
  search?: Search;
  extra?: Record<string, string>;
  /** the header's outcome, when not the run's own (an interrupted run) */
  outcome?: string;
}

/** The header lines that name a run's strategy (none for the default, random). */
export function searchHeader(s: Search | undefined): Record<string, string> {
  return s ? { strategy: s.strategy, depth: String(s.depth), ...(s.expected !== undefined ? { 'pct-steps': String(s.expected) } : {}) } : {};
}

/** A schedule file's strategy, from its header. */
export function searchFromHeader(h: Record<string, string>, file: string): Search | undefined {
  if (h.strategy === undefined || h.strategy === 'random') return undefined;
  if (h.strategy !== 'pct') throw new InputError(`${file}: strategy: unknown strategy '${h.strategy}' (random, pct)`);
  return { strategy: 'pct', depth: parseIntArg(`${file}: depth`, h.depth ?? '3', 1), ...(h['pct-steps'] !== undefined ? { expected: parseIntArg(`${file}: pct-steps`, h['pct-steps'], 1) } : {}) };
}

/** Write a run's schedule as a replay file (`flag` names the path in an error). */
export function saveSchedule(flag: string, path: string, r: RunResult, rec: Recorded): void {
  const header = {
    scenario: rec.file,
    'scenario-digest': scenarioDigest(rec.scenario),
    hazptr: r.hazptr,
    'memory-model': rec.scenario.machine.memory_model,
    seed: String(rec.seed),
    ...searchHeader(rec.search),
    ...(rec.bootarg ? { bootarg: rec.bootarg } : {}),
    ...(rec.steps !== undefined ? { steps: String(rec.steps) } : {}),
    ...rec.extra,
    outcome: rec.outcome ?? (r.bug ? r.bug.signature : r.outcome),
  };
  writeChunks(flag, path, scheduleTextChunks(r.schedule, header, (t) => r.tasks[t], siteKey));
}

/** Steps between two looks at the clock and at Ctrl-C (about 15 ms of a run). */
const CHUNK = 1 << 16;

/**
 * Step a run in chunks, yielding to the event loop between them: Ctrl-C (SIGINT)
 * stops it at the end of a chunk, `progress` shows steps, simulated time and
 * steps/s. False when interrupted.
 */
async function stepInChunks(m: Machine, progress?: Progress): Promise<boolean> {
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);
  try {
    while (!m.runChunk(CHUNK)) {
      progress?.show(() => `run: ${m.steps} steps, ${fmtSecs(m.now)} s simulated, ${Math.round(m.steps / Math.max(1e-9, progress.seconds))} steps/s`);
      await new Promise((resolve) => setImmediate(resolve));
      if (interrupted) return false;
    }
    return true;
  } finally {
    process.removeListener('SIGINT', onSigint);
    progress?.clear();
  }
}

export function runCommand(io: CliIO): Command {
  return new Command('run')
    .description('run a scenario with one seed and print what the simulated kernel prints')
    .argument('<scenario>', 'scenario file (YAML)')
    .addOption(new Option('--seed <n>', 'scheduler seed (an integer)').default('1'))
    .option('--steps <n>', 'step budget (overrides limits.steps; 1000000 or 1e6)')
    .option('--bootarg <params>', 'hazptrtorture module parameters, e.g. "hazptrtorture.onoff_interval=3333 hazptrtorture.stat_interval=15"')
    .addOption(hazptrOption())
    .addOption(mutantOption())
    .addOption(memoryModelOption())
    .addOption(strategyOption())
    .addOption(depthOption())
    .addOption(pctStepsOption())
    .addOption(boundOption())
    .addOption(maxSchedulesOption())
    .option('--trace', 'print every step as it runs')
    .option('--save-schedule <file>', 'write the recorded schedule as a replay file (see hazsim replay)')
    .addOption(perfettoOption())
    .addOption(perfettoAllOption())
    .option('--json', 'print the result as JSON (seed, outcome, bug, steps, schedule)')
    .option('--quiet', 'print only the report and the summary')
    .addOption(colorOption())
    .addHelpText('after', `\nExample:\n  $ ${hazsimCommand(['run', fromCwd('scenarios/same-task-release.yaml'), '--seed', 42])}\n`)
    .action(async (file: string, opts: VersionFlags & DfsFlags & PerfettoFlags & { seed: string; steps?: string; bootarg?: string; trace?: boolean; saveSchedule?: string; json?: boolean; quiet?: boolean; color: boolean }) => {
      const seed = parseIntArg('--seed', opts.seed);
      const steps = parseStepsArg(opts.steps);
      if (opts.saveSchedule) checkWritable('--save-schedule', opts.saveSchedule);
      checkPerfetto(opts);
      const dfs = dfsOf(opts);
      const scenario = loadScenario(file, opts.bootarg, versionFlags(opts));
      if (dfs) {
        if (opts.trace) throw new InputError('--trace: not with --strategy dfs (run the replay file it writes with --trace)');
        if (opts.perfetto) throw new InputError('--perfetto: not with --strategy dfs (run the replay file it writes with --perfetto)');
        runDfs(io, file, scenario, dfs, { seed, steps, bootarg: opts.bootarg, saveSchedule: opts.saveSchedule, json: opts.json, quiet: opts.quiet, color: opts.color, flags: versionFlags(opts) });
        return;
      }
      // --trace: ftrace's column legend, then every step and console line as the trace file prints them
      const traceLines: string[] = opts.trace && !opts.json ? [...TRACE_HEADER] : [];
      const ro: RunOptions = {
        seed, maxSteps: steps, story: !opts.json,
        // the decision log only where it is written out: a replay file, or --json's encoded schedule
        record: !!opts.saveSchedule || !!opts.json,
        search: searchOf(opts),
        trace: opts.trace && !opts.json ? (l) => { traceLines.push(fmtStepLine(l)); if (traceLines.length >= 4096) io.out(traceLines.splice(0).join('\n')); } : undefined,
      };
      const run = startRun(scenario, ro);
      const showProgress = io.status && !opts.json && !opts.quiet && !(opts.trace && io.isTTY);
      const finished = await stepInChunks(run.machine, showProgress ? new Progress(io.err, io.status) : undefined);
      const r = run.result();
      if (traceLines.length) io.out(traceLines.join('\n'));
      // interrupted: the run so far, and the command that replays it to this step
      const stoppedAt = finished ? undefined : r.steps;
      if (opts.saveSchedule) saveSchedule('--save-schedule', opts.saveSchedule, r, { file, scenario, seed, bootarg: opts.bootarg, steps: stoppedAt ?? steps, search: searchOf(opts), ...(finished ? {} : { outcome: 'interrupted' }) });
      if (opts.json) io.out(JSON.stringify({ ...jsonRun(r), ...(finished ? {} : { outcome: 'interrupted' }) }));
      else {
        const replayCommand = hazsimCommand(['run', file, ...runFlags(stoppedAt ?? steps, opts.bootarg, versionFlags(opts))]);
        io.out(formatRun(r, { color: useColor(opts.color, io.isTTY), quiet: !!opts.quiet, replayCommand, interrupted: !finished }).join('\n'));
      }
      if (opts.perfetto && finished) writePerfetto(io, opts, scenario, ro, r, { scenario: file, seed: String(seed), hazptr: r.hazptr });
      else if (opts.perfetto) io.err(`hazsim: perfetto: ${opts.perfetto} not written (interrupted)`);
      io.exitCode = !finished ? EXIT_INTERRUPTED : r.bug ? EXIT_BUG : EXIT_OK;
      if (r.outcome === 'divergence') io.exitCode = 2;
    });
}
