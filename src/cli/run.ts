/**
 * `hazsim run <scenario.yaml> --seed <n>`
 */
import { Command, Option } from 'commander';
import { loadScenario, scenarioDigest } from '../scenario/load.ts';
import { runScenario, siteKey, type RunResult } from '../scenario/run.ts';
import type { Scenario } from '../scenario/schema.ts';
import { writeScheduleText } from '../sched/schedule-file.ts';
import { formatRun, jsonRun } from '../report/dmesg.ts';
import { EXIT_BUG, EXIT_OK } from './errors.ts';
import { checkWritable, writeText } from './files.ts';
import type { CliIO } from './index.ts';
import { colorOption, hazsimCommand, parseIntArg, parseStepsArg, runFlags, useColor } from './options.ts';

/** What a schedule file's header records: replay checks the scenario digest and the hazptr version. */
export interface Recorded {
  file: string;
  scenario: Scenario;
  seed: number;
  bootarg?: string;
  /** --steps, when given: replay uses it too */
  steps?: number;
  extra?: Record<string, string>;
}

/** Write a run's schedule as a replay file (`flag` names the path in an error). */
export function saveSchedule(flag: string, path: string, r: RunResult, rec: Recorded): void {
  const header = {
    scenario: rec.file,
    'scenario-digest': scenarioDigest(rec.scenario),
    hazptr: r.hazptr,
    seed: String(rec.seed),
    ...(rec.bootarg ? { bootarg: rec.bootarg } : {}),
    ...(rec.steps !== undefined ? { steps: String(rec.steps) } : {}),
    ...rec.extra,
    outcome: r.bug ? r.bug.signature : r.outcome,
  };
  writeText(flag, path, writeScheduleText(r.schedule, header, (t) => r.tasks[t], siteKey));
}

export function runCommand(io: CliIO): Command {
  return new Command('run')
    .description('run a scenario with one seed and print what the simulated kernel prints')
    .argument('<scenario>', 'scenario file (YAML)')
    .addOption(new Option('--seed <n>', 'scheduler seed (an integer)').default('1'))
    .option('--steps <n>', 'step budget (overrides limits.steps; 1000000 or 1e6)')
    .option('--bootarg <params>', 'hazptrtorture module parameters, e.g. "hazptrtorture.onoff_interval=3333 hazptrtorture.stat_interval=15"')
    .option('--trace', 'print every step as it runs')
    .option('--save-schedule <file>', 'write the recorded schedule as a replay file (see hazsim replay)')
    .option('--json', 'print the result as JSON (seed, outcome, bug, steps, schedule)')
    .option('--quiet', 'print only the report and the summary')
    .addOption(colorOption())
    .addHelpText('after', `\nExample:\n  $ ${hazsimCommand(['run', 'scenarios/same-task-release.yaml', '--seed', 42])}\n`)
    .action((file: string, opts: { seed: string; steps?: string; bootarg?: string; trace?: boolean; saveSchedule?: string; json?: boolean; quiet?: boolean; color: boolean }) => {
      const seed = parseIntArg('--seed', opts.seed);
      const steps = parseStepsArg(opts.steps);
      if (opts.saveSchedule) checkWritable('--save-schedule', opts.saveSchedule);
      const scenario = loadScenario(file, opts.bootarg);
      const traceLines: string[] = [];
      const r = runScenario(scenario, {
        seed, maxSteps: steps, story: !opts.json,
        trace: opts.trace && !opts.json ? (l) => { traceLines.push(l); if (traceLines.length >= 4096) io.out(traceLines.splice(0).join('\n')); } : undefined,
      });
      if (traceLines.length) io.out(traceLines.join('\n'));
      if (opts.saveSchedule) saveSchedule('--save-schedule', opts.saveSchedule, r, { file, scenario, seed, bootarg: opts.bootarg, steps });
      if (opts.json) io.out(JSON.stringify(jsonRun(r)));
      else {
        const replayCommand = hazsimCommand(['run', file, ...runFlags(steps, opts.bootarg)]);
        io.out(formatRun(r, { color: useColor(opts.color, io.isTTY), quiet: !!opts.quiet, replayCommand }).join('\n'));
      }
      io.exitCode = r.bug ? EXIT_BUG : EXIT_OK;
      if (r.outcome === 'divergence') io.exitCode = 2;
    });
}
