// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `hazsim replay <scenario.yaml> <file.sched>`: replay a recorded or edited
 * schedule exactly. The file's header names the scenario it was recorded for
 * (its digest and hazptr version): another scenario is refused, unless
 * `--on-divergence continue`. A decision that no longer fits (another kind of
 * choice, another number of options, another CPU, task or step) stops the replay
 * with a message naming it; `--on-divergence continue` reports it and goes on
 * under the seeded strategy (how a reviewer replays a failing schedule on a fix).
 */
import { Command, Option } from 'commander';
import { versionNames } from '../hazptr/index.ts';
import { hazptrLabel, loadScenario, scenarioDigest } from '../scenario/load.ts';
import { runScenario, type RunOptions } from '../scenario/run.ts';
import type { Scenario } from '../scenario/schema.ts';
import { readScheduleFile, type ScheduleFile } from '../sched/schedule-file.ts';
import { formatRun, jsonRun } from '../report/dmesg.ts';
import { EXIT_BUG, EXIT_INPUT, EXIT_OK, InputError } from './errors.ts';
import { checkWritable } from './files.ts';
import type { CliIO } from './index.ts';
import { colorOption, hazptrOption, hazsimCommand, memoryModelOption, mutantOption, parseIntArg, parseStepsArg, perfettoAllOption, runFlags, perfettoOption, useColor, type VersionFlags } from './options.ts';
import { checkPerfetto, writePerfetto, type PerfettoFlags } from './perfetto.ts';
import { saveSchedule, searchFromHeader } from './run.ts';
import { fromCwd } from './root.ts';

/**
 * The version a schedule file was recorded on (its `hazptr:` header, as
 * hazptrLabel() writes it: `v5-detach+debug mutant acquire-no-mb`), as flags.
 */
function recordedVersion(h: Record<string, string>, schedFile: string): VersionFlags {
  if (h.hazptr === undefined) return {};
  const [hazptr, mutant] = h.hazptr.split(' mutant ');
  const name = hazptr.replace(/\+debug$/, '');
  if (!versionNames.includes(name)) throw new InputError(`${schedFile}: recorded on hazptr ${h.hazptr}, a version this hazsim does not have (known: ${versionNames.join(', ')})`);
  return { hazptr, ...(mutant ? { mutant } : {}) };
}

/**
 * The header's scenario digest and hazptr version against the scenario given:
 * another one is bad input (or, with `continue`, a warning); a file from before
 * the digest was recorded is replayed with a warning.
 */
function checkRecordedFor(sf: ScheduleFile, schedFile: string, file: string, s: Scenario, onDivergence: 'stop' | 'continue', warn: (l: string) => void): void {
  const h = sf.header;
  const digest = scenarioDigest(s);
  if (h['scenario-digest'] === undefined) {
    warn(`hazsim: warning: ${schedFile}: no scenario digest in its header (an older hazsim wrote it): not checked against ${file}`);
    return;
  }
  const label = hazptrLabel(s);
  if (h['scenario-digest'] === digest && (h.hazptr ?? label) === label) return;
  const sameFile = h.scenario === file;
  const hz = h.hazptr !== undefined && h.hazptr !== label ? { was: `, hazptr ${h.hazptr}`, now: `, hazptr ${label}` } : { was: '', now: '' };
  const msg = `this schedule was recorded for ${h.scenario ?? 'another scenario'} (digest ${h['scenario-digest']}${hz.was}), not ${file}${sameFile ? ' as it is now' : ''} (digest ${digest}${hz.now})`;
  if (onDivergence === 'stop') throw new InputError(`${schedFile}: ${msg}`);
  warn(`hazsim: warning: ${schedFile}: ${msg}; replaying it anyway (--on-divergence continue)`);
}

export function replayCommand(io: CliIO): Command {
  return new Command('replay')
    .description('replay a schedule file written by run --save-schedule or bisect')
    .argument('<scenario>', 'scenario file (YAML)')
    .argument('<schedule>', 'schedule file (.sched)')
    .addOption(new Option('--on-divergence <mode>', 'at the first decision that no longer fits, or a scenario other than the recorded one').choices(['stop', 'continue']).default('stop'))
    .option('--seed <n>', 'seed for the strategy after a divergence (default: the file\'s)')
    .option('--bootarg <params>', 'hazptrtorture module parameters (default: the file\'s)')
    .option('--steps <n>', 'step budget (default: the file\'s, else limits.steps)')
    .addOption(hazptrOption().default(undefined, "the file's"))
    .addOption(mutantOption().default(undefined, "the file's"))
    .addOption(memoryModelOption().default(undefined, "the file's"))
    .option('--save-schedule <file>', 'write the schedule of this replay')
    .addOption(perfettoOption())
    .addOption(perfettoAllOption())
    .option('--json', 'print the result as JSON')
    .option('--quiet', 'print only the report and the summary')
    .addOption(colorOption())
    .addHelpText('after', `\nExample:\n  $ ${hazsimCommand(['run', fromCwd('scenarios/hazptrtorture-preempt.yaml'), '--seed', 1, '--save-schedule', 'gpf.sched'])}\n  $ ${hazsimCommand(['replay', fromCwd('scenarios/hazptrtorture-preempt.yaml'), 'gpf.sched'])}\n`)
    .action((file: string, schedFile: string, opts: VersionFlags & PerfettoFlags & { onDivergence: 'stop' | 'continue'; seed?: string; bootarg?: string; steps?: string; saveSchedule?: string; json?: boolean; quiet?: boolean; color: boolean }) => {
      if (opts.saveSchedule) checkWritable('--save-schedule', opts.saveSchedule);
      checkPerfetto(opts);
      const sf = readScheduleFile(schedFile);
      const seed = opts.seed !== undefined ? parseIntArg('--seed', opts.seed) : parseIntArg(`${schedFile}: seed`, sf.header.seed ?? '0');
      const bootarg = opts.bootarg ?? sf.header.bootarg;
      const steps = parseStepsArg(opts.steps ?? sf.header.steps);
      // the version the file records, unless --hazptr/--mutant ask for another (checked below: refused unless continue)
      const rec = recordedVersion(sf.header, schedFile);
      const over = opts.hazptr !== undefined || opts.mutant !== undefined ? { ...(opts.hazptr !== undefined ? { hazptr: opts.hazptr } : rec.hazptr !== undefined ? { hazptr: rec.hazptr } : {}), ...(opts.mutant !== undefined ? { mutant: opts.mutant } : {}) } : rec;
      const memoryModel = opts.memoryModel ?? sf.header['memory-model'];
      // the strategy the run goes on under after a divergence (--on-divergence continue): the file's
      const search = searchFromHeader(sf.header, schedFile);
      const scenario = loadScenario(file, bootarg, { ...over, ...(memoryModel !== undefined ? { memoryModel } : {}) });
      checkRecordedFor(sf, schedFile, file, scenario, opts.onDivergence, io.err);
      const ro: RunOptions = {
        seed, maxSteps: steps, replay: sf.schedule, replayNames: { tasks: sf.tasks, sites: sf.sites },
        onDivergence: opts.onDivergence, story: !opts.json, search,
        // bisect shrinks a WARN's schedule up to the WARN: the replay stops there too
        stopAtWarn: sf.header['stop-at-warn'] === 'yes',
      };
      const r = runScenario(scenario, ro);
      // a WARN's bisected schedule stays one: its replay stops at the WARN again
      const extra = ro.stopAtWarn && r.bug?.warning ? { 'stop-at-warn': 'yes' } : undefined;
      if (opts.saveSchedule) saveSchedule('--save-schedule', opts.saveSchedule, r, { file, scenario, seed, bootarg, steps, search, extra });
      if (r.outcome === 'divergence') {
        io.err(`hazsim: ${schedFile}: replay stopped: ${r.divergence}`);
        io.exitCode = EXIT_INPUT;
        return;
      }
      if (r.diverged) io.err(`hazsim: ${schedFile}: ${r.diverged.message}; continuing under the seeded strategy (seed ${seed})`);
      if (opts.json) io.out(JSON.stringify({ ...jsonRun(r), diverged: r.diverged ?? null }));
      else {
        // the flags this replay was given: without them the command would replay something else
        const given = runFlags(opts.steps !== undefined ? steps : undefined, opts.bootarg, { hazptr: opts.hazptr, mutant: opts.mutant, memoryModel: opts.memoryModel });
        const replayCommand = hazsimCommand(['replay', file, schedFile, ...given, ...(opts.onDivergence !== 'stop' ? ['--on-divergence', opts.onDivergence] : [])]);
        io.out(formatRun(r, { color: useColor(opts.color, io.isTTY), quiet: !!opts.quiet, replayCommand }).join('\n'));
      }
      writePerfetto(io, opts, scenario, ro, r, { scenario: file, schedule: schedFile, hazptr: r.hazptr });
      io.exitCode = r.bug ? EXIT_BUG : EXIT_OK;
    });
}
