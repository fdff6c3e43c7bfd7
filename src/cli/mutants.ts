// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `hazsim mutants [--hazptr V]`: the mutation score. Each mutant of a version
 * (src/hazptr/<version>/mutants.ts) runs against the battery
 * (src/mutants/battery.ts) until a run reports anything or its budget is
 * spent; the unmodified version runs first, against the same battery and
 * budget, as the control. Jobs run different mutants; the table is printed in
 * catalogue order whatever their timing.
 */
import type { Worker } from 'node:worker_threads';
import { Command } from 'commander';
import { versionNames, versions } from '../hazptr/index.ts';
import type { Mutant } from '../hazptr/mutant.ts';
import { BATTERY_DIR, battery, type BatteryEntry } from '../mutants/battery.ts';
import type { Budget, MutantResult } from '../mutants/run.ts';
import { hazptrLabel } from '../scenario/load.ts';
import { mutantList, mutantTable, type VersionReport } from '../report/mutants.ts';
import { EXIT_BUG, EXIT_OK, InputError } from './errors.ts';
import type { CliIO } from './index.ts';
import { colorOption, hazsimCommand, memoryModelOption, parseIntArg, parseJobsArg, useColor } from './options.ts';
import type { MemoryModel } from '../kernel/tso.ts';
import { Progress } from './progress.ts';
import { startWorker } from './workers.ts';
import { fromCwd, rootUrl } from './root.ts';

const WORKER_URL = rootUrl('src/cli/mutants-worker.ts');

/** Run `names` (null: the control) on `jobs` workers; results in the order of `names`. */
async function runPool(version: string, memoryModel: string | undefined, names: (string | null)[], budget: Budget, jobs: number, onDone: (r: MutantResult) => void): Promise<MutantResult[]> {
  const results = new Map<string | null, MutantResult>();
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    const workers: Worker[] = [];
    let live = 0;
    const feed = (w: Worker) => w.postMessage(next < names.length ? names[next++] : undefined);
    for (let j = 0; j < Math.min(jobs, names.length); j++) {
      const w = startWorker(WORKER_URL, { version, budget, memoryModel });
      workers.push(w);
      live++;
      w.on('message', (r: MutantResult) => {
        results.set(r.mutant, r);
        onDone(r);
        feed(w);
      });
      w.on('error', (e) => {
        for (const x of workers) void x.terminate();
        reject(e);
      });
      w.on('exit', () => {
        if (--live === 0) resolve();
      });
      feed(w);
    }
  });
  return names.map((n) => results.get(n)!);
}

export function mutantsCommand(io: CliIO): Command {
  return new Command('mutants')
    .description('mutation score: run each mutant of a hazptr version against the battery until something reports it')
    .option('--hazptr <name>', 'the version (default: every version that has mutants)')
    .option('--seconds-per-mutant <n>', 'wall-clock budget per mutant (and for the control)', '60')
    .option('--runs-per-mutant <n>', 'run budget per mutant: with it alone, the table is the same on any machine')
    .option('--only <names>', 'only these mutants (comma-separated names)')
    .option('--jobs <n>', 'worker threads (default: the CPUs of this machine)')
    .addOption(memoryModelOption())
    .option('--list', 'list the mutants, run nothing')
    .option('--json', 'print the results as JSON')
    .addOption(colorOption())
    .addHelpText('after', `\nExample:\n  $ ${hazsimCommand(['mutants', '--hazptr', 'v5-detach', '--seconds-per-mutant', 10])}\n`)
    .action(async (opts: { hazptr?: string; memoryModel?: string; secondsPerMutant: string; runsPerMutant?: string; only?: string; jobs?: string; list?: boolean; json?: boolean; color: boolean }) => {
      const withMutants = versionNames.filter((n) => versions[n].mutants.length);
      if (opts.hazptr !== undefined && !withMutants.includes(opts.hazptr)) {
        const known = versionNames.includes(opts.hazptr);
        throw new InputError(`--hazptr: ${known ? `hazptr version '${opts.hazptr}' has no mutants` : `unknown hazptr version '${opts.hazptr}'`} (versions with mutants: ${withMutants.join(', ')})`);
      }
      const chosen = opts.hazptr !== undefined ? [opts.hazptr] : withMutants;
      const budget: Budget = {
        seconds: parseIntArg('--seconds-per-mutant', opts.secondsPerMutant, 1),
        runs: opts.runsPerMutant !== undefined ? parseIntArg('--runs-per-mutant', opts.runsPerMutant, 1) : Infinity,
      };
      const only = opts.only?.split(',').map((s) => s.trim()).filter(Boolean);
      const plan: { version: string; mutants: readonly Mutant[]; entries: BatteryEntry[] }[] = [];
      for (const v of chosen) {
        const all = versions[v].mutants;
        const mutants = only ? all.filter((m) => only.includes(m.name)) : all;
        // bad scenarios (and a bad --memory-model) are reported here, before any worker starts
        plan.push({ version: v, mutants, entries: opts.list ? [] : battery(v, fromCwd(BATTERY_DIR), opts.memoryModel as MemoryModel | undefined) });
      }
      if (only) {
        const unknown = only.filter((n) => !plan.some((p) => p.mutants.some((m) => m.name === n)));
        if (unknown.length) throw new InputError(`--only: no mutant named ${unknown.join(', ')} in ${chosen.join(', ')} (hazsim mutants --list names them)`);
      }
      if (opts.list) {
        for (const p of plan) io.out(mutantList(p.version, p.mutants).join('\n'));
        return;
      }
      const jobs = parseJobsArg(opts.jobs, io.err);
      const reports: VersionReport[] = [];
      for (const p of plan) {
        const progress = new Progress(io.err, io.status);
        let done = 0;
        const names = [null, ...p.mutants.map((m) => m.name)];
        const results = await runPool(p.version, opts.memoryModel, names, budget, jobs, (r) => {
          done++;
          progress.show(() => `mutants: ${p.version}: ${done}/${names.length} (control first), ${Math.round(progress.seconds)} s`);
        });
        progress.clear();
        reports.push({
          version: p.version, ...(opts.memoryModel ? { memoryModel: opts.memoryModel } : {}), battery: p.entries.map((e) => ({ file: e.file, hazptr: hazptrLabel(e.scenario) })), budget: { seconds: budget.seconds, runs: Number.isFinite(budget.runs) ? budget.runs : null },
          control: results[0], mutants: p.mutants.map((m, i) => ({ mutant: m, result: results[i + 1] })),
        });
      }
      if (opts.json) io.out(JSON.stringify(reports));
      else io.out(mutantTable(reports, { color: useColor(opts.color, io.isTTY) }).join('\n'));
      io.exitCode = reports.some((r) => r.control.killedBy) ? EXIT_BUG : EXIT_OK;
    });
}
