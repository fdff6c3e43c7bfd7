// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `hazsim bisect <scenario.yaml> --seed <S>`: shrink a failing run to the few
 * context switches that matter, keeping its signature; print the minimal
 * interleaving and write a replay file.
 */
import { Command } from 'commander';
import { loadScenario } from '../scenario/load.ts';
import { stringify } from 'yaml';
import { bisect, numberedStory, shrinkScenario } from '../scenario/bisect.ts';
import { runScenario } from '../scenario/run.ts';
import type { Scenario } from '../scenario/schema.ts';
import { formatRun } from '../report/dmesg.ts';
import { EXIT_BUG, InputError } from './errors.ts';
import { checkWritable, writeText } from './files.ts';
import type { CliIO } from './index.ts';
import { colorOption, hazptrOption, hazsimCommand, depthOption, memoryModelOption, pctStepsOption, mutantOption, perfettoAllOption, perfettoOption, searchOf, strategyOption, parseIntArg, parseStepsArg, useColor, versionFlags, type VersionFlags } from './options.ts';
import { checkPerfetto, writePerfetto, type PerfettoFlags } from './perfetto.ts';
import { saveSchedule } from './run.ts';
import { boundOption, dfsOf, firstFailure, maxSchedulesOption, search as exploreSearch, type DfsFlags } from './explore.ts';
import { failureSchedule } from '../scenario/explore.ts';
import { fromCwd } from './root.ts';

/**
 * A qualified scenario as a scenario file (defaults written out; a torture scenario has no tasks).
 * The version as a scenario file gives it (`{ version, debug: true }` for a debug build); the
 * mutant, never in a scenario file, is in the replay file's `# hazptr:` line, which replay reads.
 */
function scenarioYaml(s: Scenario): string {
  const { hazptr_debug, hazptr_mutant: _, ...rest } = s;
  const o: Record<string, unknown> = { ...rest, hazptr: hazptr_debug ? { version: s.hazptr, debug: true } : s.hazptr };
  if (s.hazptrtorture) {
    delete o.tasks;
    delete o.irqs;
    delete o.objects;
  }
  return `# written by hazsim bisect --shrink-scenario\n${stringify(o)}`;
}

export function bisectCommand(io: CliIO): Command {
  return new Command('bisect')
    .description('shrink a failing seed to the few context switches that matter, keeping its signature')
    .argument('<scenario>', 'scenario file (YAML)')
    .requiredOption('--seed <n>', 'the failing seed')
    .option('--out <file>', 'replay file to write (default: bisect-seed<S>.sched)')
    .option('--max-runs <n>', 'how many trial runs delta debugging may use', '150')
    .option('--steps <n>', 'step budget of the original run (overrides limits.steps; 1000000 or 1e6)')
    .option('--bootarg <params>', 'hazptrtorture module parameters')
    .addOption(hazptrOption())
    .addOption(mutantOption())
    .addOption(memoryModelOption())
    .addOption(strategyOption())
    .addOption(depthOption())
    .addOption(pctStepsOption())
    .addOption(boundOption())
    .addOption(maxSchedulesOption())
    .addOption(perfettoOption())
    .addOption(perfettoAllOption())
    .option('--shrink-scenario', 'first make the scenario smaller (CPUs, readers, repeats, loops, sleeps) while the seed still fails the same way; writes it beside the replay file')
    .addOption(colorOption())
    .addHelpText('after', `\nExample:\n  $ ${hazsimCommand(['bisect', fromCwd('scenarios/cross-task-handoff.yaml'), '--seed', 1])}\n  $ ${hazsimCommand(['replay', fromCwd('scenarios/cross-task-handoff.yaml'), 'bisect-seed1.sched'])}\n`)
    .action((scenarioFile: string, opts: VersionFlags & DfsFlags & PerfettoFlags & { seed: string; out?: string; maxRuns: string; steps?: string; bootarg?: string; shrinkScenario?: boolean; color: boolean }) => {
      let file = scenarioFile;
      const seed = parseIntArg('--seed', opts.seed);
      const maxRuns = parseIntArg('--max-runs', opts.maxRuns, 1);
      const steps = parseStepsArg(opts.steps);
      const out = opts.out ?? `bisect-seed${seed}.sched`;
      const yamlFile = out.replace(/\.sched$/, '') + '.yaml';
      checkWritable('--out', out);
      if (opts.shrinkScenario) checkWritable('--shrink-scenario', yamlFile);
      checkPerfetto(opts);
      const dfs = dfsOf(opts);
      if (dfs && opts.shrinkScenario) throw new InputError('--shrink-scenario: not with --strategy dfs');
      let scenario = loadScenario(file, opts.bootarg, versionFlags(opts));
      let from;
      if (dfs) {
        // the first failing schedule the search finds is what gets bisected
        const found = exploreSearch(scenario, dfs, { seed, maxSteps: steps, stopAtFirst: true }, io);
        const first = firstFailure(found);
        if (!first) throw new InputError(`--strategy dfs: no failing schedule with at most ${dfs.bound} preemptions (${found.explored} schedules, ${found.complete ? 'complete' : 'stopped at budget'}): nothing to bisect`);
        io.err(`bisect: dfs: failing schedule ${first.run} of the search, at bound ${first.bound}: ${first.signature}`);
        from = failureSchedule(first);
      }
      if (opts.shrinkScenario) {
        const r0 = runScenario(scenario, { seed, maxSteps: steps, record: false, search: searchOf(opts) });
        if (!r0.bug) throw new InputError(`seed ${seed} does not fail (${r0.outcome} after ${r0.steps} steps): nothing to bisect`);
        const sh = shrinkScenario(scenario, seed, r0.bug.signature, { maxSteps: steps, maxRuns, log: (l) => io.err(l), search: searchOf(opts) });
        scenario = sh.scenario;
        writeText('--shrink-scenario', yamlFile, scenarioYaml(scenario));
        io.out(`hazsim: bisect: scenario shrunk in ${sh.runs} runs: ${sh.changes.join('; ') || 'nothing could be taken away'}; written to ${yamlFile}`);
        file = yamlFile;
      }
      const res = bisect(scenario, seed, { maxSteps: steps, maxRuns, log: (l) => io.err(l), ...(from ? { from } : { search: searchOf(opts) }) });
      if ('error' in res) throw new InputError(res.error);
      // a shrunk scenario file holds the bootarg's values already (shrunk, as nreaders may be): replay must not put them back
      saveSchedule('--out', out, res.final, { file, scenario, seed, bootarg: opts.shrinkScenario ? undefined : opts.bootarg, steps, extra: { bisected: `from ${res.original.schedule.length} decisions`, ...(res.final.bug?.warning ? { 'stop-at-warn': 'yes' } : {}) } });
      const replay = hazsimCommand(['replay', file, out]);
      io.out(formatRun(res.final, { color: useColor(opts.color, io.isTTY), quiet: true, replayCommand: replay }).filter((l) => !l.startsWith('hazsim: replay:')).join('\n'));
      io.out(`hazsim: bisect: ${res.originalSwitches} switch points -> ${res.finalSwitches} (${res.original.schedule.length} -> ${res.final.schedule.length} decisions; shortest failing prefix ${res.prefix}; ${res.runs} runs)`);
      const d0 = res.originalDepth;
      const d1 = res.finalDepth;
      io.out(`hazsim: bisect: depth: ${d1.preemptions} preemption${d1.preemptions === 1 ? '' : 's'} and ${d1.delayedDrains} delayed store-buffer drain${d1.delayedDrains === 1 ? '' : 's'} still needed (from ${d0.preemptions} and ${d0.delayedDrains}; the completion makes neither, so this bounds the race's depth from above)`);
      io.out('hazsim: the minimal interleaving, last steps (switch points marked):');
      io.out(numberedStory(scenario, res.final).join('\n'));
      io.out(`hazsim: replay file: ${out}\nhazsim: replay: ${replay}`);
      // the shrunk run, as its replay file replays it
      writePerfetto(io, opts, scenario, { seed, stopAtWarn: true, maxSteps: steps, replay: res.final.schedule }, res.final, { scenario: file, schedule: out, hazptr: res.final.hazptr });
      io.exitCode = EXIT_BUG;
    });
}
