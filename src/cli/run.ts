/**
 * `hazsim run <scenario.yaml> --seed <n>`
 */
import { Command, Option } from 'commander';
import { loadScenario } from '../scenario/load.ts';
import { writeFileSync } from 'node:fs';
import { runScenario, siteKey, type RunResult } from '../scenario/run.ts';
import { writeScheduleText } from '../sched/schedule-file.ts';
import { formatRun, jsonRun } from '../report/dmesg.ts';
import { EXIT_BUG, EXIT_OK, InputError } from './errors.ts';
import type { CliIO } from './index.ts';

export function parseIntArg(flag: string, v: string, min = 0): number {
  if (!/^-?\d+$/.test(v.trim())) throw new InputError(`${flag}: '${v}' is not an integer`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new InputError(`${flag}: ${v} is out of range (at least ${min}${n > Number.MAX_SAFE_INTEGER ? `, at most ${Number.MAX_SAFE_INTEGER}` : ''})`);
  return n;
}

export function saveSchedule(path: string, r: RunResult, header: Record<string, string>): void {
  try {
    writeFileSync(path, writeScheduleText(r.schedule, { ...header, outcome: r.bug ? r.bug.signature : r.outcome }, (t) => r.tasks[t], siteKey));
  } catch (e) {
    throw new InputError(`--save-schedule: cannot write ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export function runCommand(io: CliIO): Command {
  return new Command('run')
    .description('run a scenario with one seed and print what the simulated kernel prints')
    .argument('<scenario>', 'scenario file (YAML)')
    .addOption(new Option('--seed <n>', 'scheduler seed (an integer)').default('1'))
    .option('--steps <n>', 'step budget (overrides limits.steps)')
    .option('--bootarg <params>', 'hazptrtorture module parameters, e.g. "hazptrtorture.onoff_interval=3333 hazptrtorture.stat_interval=15"')
    .option('--trace', 'print every step as it runs')
    .option('--save-schedule <file>', 'write the recorded schedule as a replay file (see hazsim replay)')
    .option('--json', 'print the result as JSON (seed, outcome, bug, steps, schedule)')
    .option('--quiet', 'print only the report and the summary')
    .option('--no-color', 'no colour, even on a terminal')
    .addHelpText('after', '\nExample:\n  $ hazsim run scenarios/same-task-release.yaml --seed 42\n')
    .action((file: string, opts: { seed: string; steps?: string; bootarg?: string; trace?: boolean; saveSchedule?: string; json?: boolean; quiet?: boolean; color: boolean }) => {
      const seed = parseIntArg('--seed', opts.seed);
      const steps = opts.steps !== undefined ? parseIntArg('--steps', opts.steps, 1) : undefined;
      const scenario = loadScenario(file, opts.bootarg);
      const traceLines: string[] = [];
      const r = runScenario(scenario, {
        seed, maxSteps: steps, story: !opts.json,
        trace: opts.trace && !opts.json ? (l) => { traceLines.push(l); if (traceLines.length >= 4096) io.out(traceLines.splice(0).join('\n')); } : undefined,
      });
      if (traceLines.length) io.out(traceLines.join('\n'));
      if (opts.saveSchedule) saveSchedule(opts.saveSchedule, r, { scenario: file, hazptr: r.hazptr, seed: String(seed), ...(opts.bootarg ? { bootarg: opts.bootarg } : {}) });
      if (opts.json) io.out(JSON.stringify(jsonRun(r)));
      else {
        const color = opts.color && io.isTTY && !process.env.NO_COLOR;
        io.out(formatRun(r, { color, quiet: !!opts.quiet, replayCommand: `hazsim run ${file}${steps !== undefined ? ` --steps ${steps}` : ''}${opts.bootarg !== undefined ? ` --bootarg ${JSON.stringify(opts.bootarg)}` : ''}` }).join('\n'));
      }
      io.exitCode = r.bug ? EXIT_BUG : EXIT_OK;
      if (r.outcome === 'divergence') io.exitCode = 2;
    });
}
