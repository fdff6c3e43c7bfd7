/**
 * `hazsim replay <scenario.yaml> <file.sched>`: replay a recorded or edited
 * schedule exactly. A decision that no longer fits (another kind of choice,
 * another number of options, another CPU, task or step) stops the replay with a
 * message naming it; `--on-divergence continue` reports it and goes on under
 * the seeded strategy (how a reviewer replays a failing schedule on a fix).
 */
import { Command, Option } from 'commander';
import { loadScenario } from '../scenario/load.ts';
import { runScenario } from '../scenario/run.ts';
import { readScheduleFile } from '../sched/schedule-file.ts';
import { formatRun, jsonRun } from '../report/dmesg.ts';
import { EXIT_BUG, EXIT_INPUT, EXIT_OK } from './errors.ts';
import type { CliIO } from './index.ts';
import { parseIntArg, saveSchedule } from './run.ts';

export function replayCommand(io: CliIO): Command {
  return new Command('replay')
    .description('replay a schedule file written by run --save-schedule or bisect')
    .argument('<scenario>', 'scenario file (YAML)')
    .argument('<schedule>', 'schedule file (.sched)')
    .addOption(new Option('--on-divergence <mode>', 'at the first decision that no longer fits').choices(['stop', 'continue']).default('stop'))
    .option('--seed <n>', 'seed for the strategy after a divergence (default: the file\'s)')
    .option('--bootarg <params>', 'hazptrtorture module parameters (default: the file\'s)')
    .option('--save-schedule <file>', 'write the schedule of this replay')
    .option('--json', 'print the result as JSON')
    .option('--quiet', 'print only the report and the summary')
    .option('--no-color', 'no colour')
    .addHelpText('after', '\nExample:\n  $ hazsim run scenarios/hazptrtorture-preempt.yaml --seed 1 --save-schedule gpf.sched\n  $ hazsim replay scenarios/hazptrtorture-preempt.yaml gpf.sched\n')
    .action((file: string, schedFile: string, opts: { onDivergence: 'stop' | 'continue'; seed?: string; bootarg?: string; saveSchedule?: string; json?: boolean; quiet?: boolean; color: boolean }) => {
      const sf = readScheduleFile(schedFile);
      const seed = opts.seed !== undefined ? parseIntArg('--seed', opts.seed) : parseIntArg(`${schedFile}: seed`, sf.header.seed ?? '0');
      const bootarg = opts.bootarg ?? sf.header.bootarg;
      const scenario = loadScenario(file, bootarg);
      const r = runScenario(scenario, {
        seed, replay: sf.schedule, replayNames: { taskNames: sf.taskNames, siteKeys: sf.siteKeys },
        onDivergence: opts.onDivergence, story: !opts.json,
      });
      if (opts.saveSchedule) saveSchedule(opts.saveSchedule, r, { scenario: file, hazptr: r.hazptr, seed: String(seed), ...(bootarg ? { bootarg } : {}) });
      if (r.outcome === 'divergence') {
        io.err(`hazsim: ${schedFile}: replay stopped: ${r.divergence}`);
        io.exitCode = EXIT_INPUT;
        return;
      }
      if (r.diverged) io.err(`hazsim: ${schedFile}: ${r.diverged.message}; continuing under the seeded strategy (seed ${seed})`);
      if (opts.json) io.out(JSON.stringify({ ...jsonRun(r), diverged: r.diverged ?? null }));
      else {
        const color = opts.color && io.isTTY && !process.env.NO_COLOR;
        io.out(formatRun(r, { color, quiet: !!opts.quiet, replayCommand: `hazsim replay ${file} ${schedFile}` }).join('\n'));
      }
      io.exitCode = r.bug ? EXIT_BUG : EXIT_OK;
    });
}
