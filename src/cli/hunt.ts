// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `hazsim hunt <scenario.yaml> --seeds 1..100000`: run many seeds on worker
 * threads and group the failures by signature.
 *
 * Results are committed in seed order whatever the number of jobs or their
 * timing (a reorder buffer), so the same range gives the same findings, the
 * same --out file, and --stop-after K means the first K failing seeds.
 *
 * --out FILE (JSON lines): one line per failing seed, a checkpoint line every
 * 100 seeds ({"checkpoint": {"done_through": S}}: every seed of the list up to S
 * is done), and a final summary line. --resume skips what the file says is done.
 * Its first line says what the hunt is ({"hunt": {scenario, cwd, seeds, shard,
 * steps, bootarg}}), so merge can tell how far an unfinished shard got, and name
 * the scenario from wherever it runs.
 */
import { appendFileSync, existsSync, realpathSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { Command } from 'commander';
import { loadScenario } from '../scenario/load.ts';
import { EXIT_BUG, EXIT_INTERRUPTED, EXIT_OK, InputError } from './errors.ts';
import { checkWritable, readText, writeText } from './files.ts';
import type { CliIO } from './index.ts';
import type { HuntWorkerData, SeedResult } from './hunt-worker.ts';
import { startWorker } from './workers.ts';
import { colorOption, hazptrOption, hazsimCommand, depthOption, memoryModelOption, pctStepsOption, mutantOption, searchOf, strategyOption, parseIntArg, parseJobsArg, parseStepsArg, runFlags, versionFlags, type VersionFlags } from './options.ts';
import { Progress } from './progress.ts';
import { boundOption, dfsOf, maxSchedulesOption, search as exploreSearch, summaryLines, type DfsFlags } from './explore.ts';
import { fromCwd, rootUrl } from './root.ts';

export interface Failure {
  seed: number;
  signature: string;
  kind: string;
  headline: string;
  steps: number;
}

export interface SignatureRow {
  signature: string;
  count: number;
  first_seed: number;
}

/** Group failures by signature, in order of first seed. */
export function groupBySignature(failures: Failure[]): SignatureRow[] {
  const rows = new Map<string, SignatureRow>();
  for (const f of [...failures].sort((a, b) => a.seed - b.seed)) {
    const r = rows.get(f.signature);
    if (r) r.count++;
    else rows.set(f.signature, { signature: f.signature, count: 1, first_seed: f.seed });
  }
  return [...rows.values()];
}

const STALL = 'stalled-at-budget';

/**
 * The summary: failing seeds by signature, then, under their own heading, the
 * seeds that ran out of budget with a CPU stuck (neither clean nor a proven bug).
 */
export function summaryTable(rows: SignatureRow[], done: number, replay: (seed: number) => string): string[] {
  const bugs = rows.filter((r) => !r.signature.startsWith(STALL));
  const stalls = rows.filter((r) => r.signature.startsWith(STALL));
  const failures = rows.reduce((a, r) => a + r.count, 0);
  const stalled = stalls.reduce((a, r) => a + r.count, 0);
  const out = [`hazsim: ${done} seeds, ${failures} failing${stalled ? ` (${stalled} stalled at budget)` : ''}, ${bugs.length} signature${bugs.length === 1 ? '' : 's'}`];
  if (!rows.length) return out;
  if (bugs.length) {
    out.push('  count  first seed  signature');
    for (const r of bugs) out.push(`  ${String(r.count).padStart(5)}  ${String(r.first_seed).padStart(10)}  ${r.signature}`);
  }
  if (stalls.length) {
    out.push("stalled at budget (a CPU passed no scheduling point in the budget's second half: not clean, not proven; more --steps tell):");
    out.push('  count  first seed  where it spins');
    for (const r of stalls) out.push(`  ${String(r.count).padStart(5)}  ${String(r.first_seed).padStart(10)}  ${r.signature.slice(r.signature.indexOf('|') + 1).trim()}`);
  }
  out.push('replay:');
  for (const r of [...bugs, ...stalls]) out.push(`  ${replay(r.first_seed)}`);
  return out;
}

export function parseSeedRange(v: string): [number, number] {
  const m = /^(\d+)\.\.(\d+)$/.exec(v.trim());
  if (!m) throw new InputError(`--seeds: '${v}' is not a range like 1..1000`);
  const a = Number(m[1]);
  const b = Number(m[2]);
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || b < a) throw new InputError(`--seeds: '${v}': the range must go from a smaller to a larger integer`);
  return [a, b];
}

export function parseShard(v: string): [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new InputError(`--shard: '${v}' is not i/n with 1 <= i <= n`);
  return [Number(m[1]), Number(m[2])];
}

/** The seeds of a range that shard i of n runs: disjoint slices that cover the range. */
export function shardSeeds(a: number, b: number, shard?: [number, number]): number[] {
  const out: number[] = [];
  for (let s = a; s <= b; s++) if (!shard || (s - a) % shard[1] === shard[0] - 1) out.push(s);
  return out;
}

/** Shard i of n's seeds of a..b up to `through`, as a progression: first, step, last (empty when first > last). */
interface Slice {
  first: number;
  step: number;
  last: number;
}

function slice(a: number, b: number, shard: [number, number] | undefined, through = b): Slice {
  return { first: a + (shard ? shard[0] - 1 : 0), step: shard ? shard[1] : 1, last: Math.min(b, through) };
}

function sliceCount(x: Slice): number {
  return x.first > x.last ? 0 : Math.floor((x.last - x.first) / x.step) + 1;
}

/** The smallest seed two slices share, if any (x's seeds are tried over one period of y). */
function firstCommon(x: Slice, y: Slice): number | undefined {
  const last = Math.min(x.last, y.last);
  let s = x.first;
  if (s < y.first) s += Math.ceil((y.first - s) / x.step) * x.step;
  for (let k = 0; k < y.step && s <= last; k++, s += x.step) if ((s - y.first) % y.step === 0) return s;
  return undefined;
}

/** What a hunt is: the first line of its --out file, repeated in the summary. */
/** A hunt's header line: the range, and the flags it ran its seeds with (VersionFlags: --hazptr ... --pct-steps, when given). */
interface HuntInfo extends VersionFlags {
  /** the scenario as the hunt was given it */
  scenario: string;
  /** the directory the hunt ran in: a relative scenario path is from there (older files have none) */
  cwd?: string;
  seeds: string;
  shard: string | null;
  steps?: number | null;
  bootarg?: string | null;
}

/** How a hunt ran its seeds, as one phrase: two hunts whose phrases differ cannot be resumed or merged as one. */
function howRun(i: HuntInfo): string {
  return `${i.hazptr ?? "the scenario's hazptr"}${i.mutant ? ` mutant ${i.mutant}` : ''}${i.memoryModel ? ` --memory-model ${i.memoryModel}` : ''}`
    + `${i.strategy && i.strategy !== 'random' ? ` --strategy ${i.strategy}${i.depth ? ` --depth ${i.depth}` : ''}${i.pctSteps ? ` --pct-steps ${i.pctSteps}` : ''}` : ''}`
    + `${i.steps ? ` --steps ${i.steps}` : ''}${i.bootarg ? ` --bootarg '${i.bootarg}'` : ''}`;
}

type StopReason = 'interrupt' | '--max-seconds' | '--stop-after';

interface OutFileState {
  doneThrough: number;
  failures: Failure[];
  info?: HuntInfo;
  summary?: { done: number; stopped?: StopReason | null };
}

export function readOutFile(path: string): OutFileState {
  const st: OutFileState = { doneThrough: -Infinity, failures: [] };
  readText(path, 'hunt output').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(line);
    } catch {
      throw new InputError(`${path}:${i + 1}:1: not a JSON line`);
    }
    if (typeof j.seed === 'number' && typeof j.signature === 'string') st.failures.push(j as unknown as Failure);
    const cp = j.checkpoint as { done_through?: number } | undefined;
    if (cp && typeof cp.done_through === 'number') st.doneThrough = Math.max(st.doneThrough, cp.done_through);
    if (j.hunt && typeof j.hunt === 'object') st.info ??= j.hunt as HuntInfo;
    if (j.summary === true) {
      st.info = j as unknown as HuntInfo;
      st.summary = j as unknown as OutFileState['summary'];
    }
  });
  return st;
}

/**
 * The scenario a hunt ran, named from the current directory: as the hunt was given it, in the
 * directory it ran in, or when the file is not under the recorded one (shards hunted on another
 * machine, files of an older hazsim without cwd); else (merge run elsewhere) the real path, from
 * the real current directory, so that a symlink followed by `..` still names the hunted file.
 */
function scenarioFromHere(h: { scenario: string; cwd?: string }): string {
  if (h.cwd === undefined || isAbsolute(h.scenario) || h.cwd === process.cwd()) return h.scenario;
  const there = `${h.cwd}/${h.scenario}`; // not join(): it would take `link/..` away before the file system follows the link
  // realpath(3) itself: fs.realpathSync() would resolve `..` in the text first
  return existsSync(there) ? relative(realpathSync.native(process.cwd()), realpathSync.native(there)) : h.scenario;
}

/** Whether scenarioFromHere() names the file from here (merge prefers a shard for which it does). */
function findable(h: { scenario: string; cwd?: string }): boolean {
  return existsSync(scenarioFromHere(h));
}

/** The command that replays one seed of a hunt. */
function replayHint(h: { scenario: string; cwd?: string; steps?: number | null; bootarg?: string | null } & VersionFlags): (seed: number) => string {
  const file = scenarioFromHere(h);
  return (seed) => hazsimCommand(['run', file, '--seed', seed, ...runFlags(h.steps ?? undefined, h.bootarg ?? undefined, versionFlags(h))]);
}

const WORKER_URL = rootUrl('src/cli/hunt-worker.ts');
/** the help's example: a minute's hunt with more than one signature */
const HUNT_EXAMPLE = fromCwd('scenarios/hazptrtorture-preempt-kasan.yaml');

export function huntCommand(io: CliIO): Command {
  return new Command('hunt')
    .description('run many seeds on worker threads and group the failures by signature')
    .argument('<scenario>', 'scenario file (YAML)')
    .option('--seeds <a..b>', 'the seed range, inclusive (required, except with --strategy dfs)')
    .option('--jobs <n>', 'worker threads (default: the number of CPUs)')
    .option('--shard <i/n>', 'run the i-th of n disjoint slices of the range')
    .option('--out <file>', 'write failing seeds, checkpoints and a summary as JSON lines, as it goes')
    .option('--resume', 'skip the seeds the --out file says are done')
    .option('--stop-after <k>', 'stop after the first k failing seeds (in seed order)')
    .option('--max-seconds <s>', 'stop after this much wall-clock time')
    .option('--steps <n>', 'step budget per run (overrides limits.steps; 1000000 or 1e6)')
    .option('--bootarg <params>', 'hazptrtorture module parameters')
    .addOption(hazptrOption())
    .addOption(mutantOption())
    .addOption(memoryModelOption())
    .addOption(strategyOption())
    .addOption(depthOption())
    .addOption(pctStepsOption())
    .addOption(boundOption())
    .addOption(maxSchedulesOption())
    .addOption(colorOption())
    .addHelpText('after', `\nExample:\n  $ ${hazsimCommand(['hunt', HUNT_EXAMPLE, '--seeds', '1..100', '--steps', 1200000, '--jobs', 2, '--out', 'hunt.jsonl'])}\n`)
    .action(async (file: string, opts: VersionFlags & DfsFlags & { seeds?: string; jobs?: string; shard?: string; out?: string; resume?: boolean; stopAfter?: string; maxSeconds?: string; steps?: string; bootarg?: string }) => {
      const dfs = dfsOf(opts);
      if (dfs) {
        // a systematic search instead of seeds: hazsim explore's, with the same summary
        for (const [flag, v] of [['--seeds', opts.seeds], ['--shard', opts.shard], ['--out', opts.out], ['--resume', opts.resume], ['--stop-after', opts.stopAfter], ['--max-seconds', opts.maxSeconds]] as const) {
          if (v !== undefined) throw new InputError(`${flag}: not with --strategy dfs (it searches schedules, not seeds: see hazsim explore)`);
        }
        const steps = parseStepsArg(opts.steps);
        const scenario = loadScenario(file, opts.bootarg, versionFlags(opts));
        const res = exploreSearch(scenario, dfs, { seed: 1, maxSteps: steps }, io);
        const again = hazsimCommand(['explore', file, '--bound', dfs.bound, ...(opts.maxSchedules !== undefined ? ['--max-schedules', dfs.maxSchedules] : []), ...runFlags(steps, opts.bootarg, { ...versionFlags(opts), strategy: undefined }), '--save-schedule', 'explore.sched']);
        io.out(summaryLines(res, undefined, again).join('\n'));
        io.exitCode = res.failing ? EXIT_BUG : EXIT_OK;
        return;
      }
      if (opts.seeds === undefined) throw new InputError("required option '--seeds <a..b>' not specified");
      const [a, b] = parseSeedRange(opts.seeds);
      const shard = opts.shard ? parseShard(opts.shard) : undefined;
      if (opts.jobs !== undefined) parseIntArg('--jobs', opts.jobs, 1);
      const stopAfter = opts.stopAfter !== undefined ? parseIntArg('--stop-after', opts.stopAfter, 1) : Infinity;
      const maxSeconds = opts.maxSeconds !== undefined ? parseIntArg('--max-seconds', opts.maxSeconds, 1) : Infinity;
      const steps = parseStepsArg(opts.steps);
      if (opts.resume && !opts.out) throw new InputError('--resume needs --out FILE');
      if (opts.out) checkWritable('--out', opts.out);
      const scenario = loadScenario(file, opts.bootarg, versionFlags(opts)); // bad input is reported here, once, before any worker starts
      const search = searchOf(opts);
      const info: HuntInfo = { scenario: file, cwd: process.cwd(), seeds: `${a}..${b}`, shard: shard ? `${shard[0]}/${shard[1]}` : null, steps: steps ?? null, bootarg: opts.bootarg ?? null, ...versionFlags(opts) };
      const prior = opts.out && opts.resume && existsSync(opts.out) ? readOutFile(opts.out) : { doneThrough: -Infinity, failures: [] as Failure[] };
      // a resumed hunt runs its seeds as the file's did, or its counts would mix two kinds of run
      if ('info' in prior && prior.info && howRun(prior.info) !== howRun(info)) {
        throw new InputError(`--resume: ${opts.out} is a hunt of ${howRun(prior.info)}, not ${howRun(info)}: give the same flags, or another --out`);
      }
      const jobs = parseJobsArg(opts.jobs, io.err); // a warning, once the input is known to be good

      if (opts.out && !(opts.resume && existsSync(opts.out))) writeText('--out', opts.out, JSON.stringify({ hunt: info }) + '\n');
      const all = shardSeeds(a, b, shard);
      const seeds = all.filter((s) => s > prior.doneThrough);
      const failures: Failure[] = prior.failures.filter((f) => all.includes(f.seed));
      const bySig = new Map<string, number>();
      for (const f of failures) bySig.set(f.signature, (bySig.get(f.signature) ?? 0) + 1);
      const out = (obj: unknown) => opts.out && appendFileSync(opts.out, JSON.stringify(obj) + '\n');
      let done = all.length - seeds.length;
      const progress = new Progress(io.err, io.status, done);

      let stopped = null as StopReason | null;
      const onSigint = () => {
        stopped = 'interrupt';
      };
      process.once('SIGINT', onSigint);
      const results = new Map<number, SeedResult>();
      let next = 0; // next seed index to dispatch
      let commit = 0; // next seed index to commit
      let lastDone = prior.doneThrough;
      await new Promise<void>((resolve, reject) => {
        const workers: Worker[] = [];
        let live = 0;
        const finish = (e?: unknown) => {
          for (const w of workers) void w.terminate();
          if (e === undefined) resolve();
          else reject(e);
        };
        const feed = (w: Worker) => {
          if (!stopped && progress.seconds > maxSeconds) stopped = '--max-seconds';
          if (stopped || next >= seeds.length) {
            w.postMessage(null);
            return;
          }
          w.postMessage(seeds[next++]);
        };
        const onResult = (r: SeedResult) => {
          results.set(r.seed, r);
          while (commit < seeds.length && results.has(seeds[commit]) && failures.length < stopAfter) {
            const c = results.get(seeds[commit])!;
            results.delete(seeds[commit]);
            commit++;
            done++;
            lastDone = c.seed;
            if (c.signature) {
              const f: Failure = { seed: c.seed, signature: c.signature, kind: c.kind!, headline: c.headline!, steps: c.steps };
              failures.push(f);
              out(f);
              const n = (bySig.get(c.signature) ?? 0) + 1;
              bySig.set(c.signature, n);
              if (n === 1) {
                progress.clear();
                io.err(c.kind === 'stalled-at-budget'
                  ? `hunt: seed ${c.seed} stalled at budget in ${c.signature.slice(c.signature.indexOf('|') + 1).trim()}`
                  : `hunt: new signature at seed ${c.seed}: ${c.signature}`);
              }
            }
            if (commit % 100 === 0) out({ checkpoint: { done_through: lastDone } });
          }
          if (failures.length >= stopAfter && !stopped) stopped = '--stop-after';
          progress.hunt(done, all.length, bySig);
        };
        for (let j = 0; j < Math.min(jobs, Math.max(1, seeds.length)); j++) {
          const w = startWorker(WORKER_URL, { scenario, steps, search } satisfies HuntWorkerData);
          workers.push(w);
          live++;
          w.on('message', (r: SeedResult) => {
            try {
              onResult(r);
            } catch (e) {
              finish(e); // the --out file cannot be written any more: reported once, at the top
              return;
            }
            feed(w);
          });
          w.on('error', finish);
          w.on('exit', () => {
            if (--live === 0) finish();
          });
          if (seeds.length) feed(w);
          else w.postMessage(null);
        }
      }).finally(() => process.removeListener('SIGINT', onSigint));
      progress.hunt(done, all.length, bySig, true);
      out({ checkpoint: { done_through: lastDone } });
      const rows = groupBySignature(failures);
      const complete = done === all.length;
      out({ summary: true, ...info, done, complete, stopped: complete ? null : stopped, failing: failures.length, signatures: rows });
      io.out(summaryTable(rows, done, replayHint(info)).join('\n'));
      if (stopped === 'interrupt' || (stopped && !complete)) {
        const why = stopped === 'interrupt' ? 'interrupted' : `stopped`;
        const flag = stopped === '--max-seconds' ? ` (--max-seconds ${maxSeconds})` : stopped === '--stop-after' ? ` (--stop-after ${stopAfter})` : '';
        const resume = opts.out && !complete
          ? `; resume with: ${hazsimCommand(['hunt', file, '--seeds', info.seeds, ...(info.shard ? ['--shard', info.shard] : []), ...runFlags(steps, opts.bootarg, versionFlags(opts)), '--out', opts.out, '--resume'])}`
          : '';
        io.out(`hazsim: ${why} after ${done} of ${all.length} seeds${flag}${resume}`);
      }
      io.exitCode = stopped === 'interrupt' ? EXIT_INTERRUPTED : failures.length ? EXIT_BUG : EXIT_OK;
    });
}

export function mergeCommand(io: CliIO): Command {
  return new Command('merge')
    .description('join the --out files of hunt shards into one summary')
    .argument('<files...>', 'JSON-lines files written by hunt --out')
    .addOption(colorOption())
    .addHelpText('after', `\nExample:\n  $ ${hazsimCommand(['merge', 'shard-1.jsonl', 'shard-2.jsonl', 'shard-3.jsonl'])}\n`)
    .action((files: string[]) => {
      const failures = new Map<number, { f: Failure; file: string }>();
      const slices: (Slice & { file: string })[] = [];
      const warnings: string[] = [];
      const twice = (seed: number, first: string, file: string): never => {
        throw new InputError(`${file}: seed ${seed} is also in ${first}${first === file ? ' (the same file given twice)' : ' (overlapping hunts)'}: merged, it would count twice`);
      };
      let done = 0;
      let info: HuntInfo | undefined;
      // the shard whose scenario path the replay hint uses: one whose file can be found from here
      let hintFrom: HuntInfo | undefined;
      for (const file of files) {
        const st = readOutFile(file);
        for (const f of st.failures) {
          const prev = failures.get(f.seed);
          if (prev) twice(f.seed, prev.file, file);
          failures.set(f.seed, { f, file });
        }
        if (!st.info) {
          warnings.push(`${file}: no summary and no hunt line: an unfinished hunt of an older hazsim; its failing seeds are merged, its other seeds are not counted`);
          continue;
        }
        info ??= st.info;
        if (!hintFrom || (!findable(hintFrom) && findable(st.info))) hintFrom = st.info;
        if (howRun(st.info) !== howRun(info)) throw new InputError(`${file}: a hunt of ${howRun(st.info)}, not ${howRun(info)} as ${files[0]}: merged, the counts would mix two kinds of run`);
        let range: [number, number];
        let shard: [number, number] | undefined;
        try {
          range = parseSeedRange(st.info.seeds);
          shard = st.info.shard ? parseShard(st.info.shard) : undefined;
        } catch (e) {
          throw new InputError(`${file}: ${(e as Error).message}`);
        }
        const x = { ...slice(range[0], range[1], shard, st.doneThrough), file };
        for (const y of slices) {
          const s = firstCommon(x, y);
          if (s !== undefined) twice(s, y.file, file);
        }
        slices.push(x);
        const total = sliceCount(slice(range[0], range[1], shard));
        const n = st.summary?.done ?? sliceCount(x);
        done += n;
        if (!st.summary) warnings.push(`${file}: incomplete: no summary line, the hunt did not finish (${n} of ${total} seeds done)`);
        else if (n < total) warnings.push(`${file}: incomplete: ${n} of ${total} seeds done${st.summary.stopped ? ` (stopped: ${st.summary.stopped})` : ''}`);
      }
      for (const w of warnings) io.err(`hazsim: warning: ${w}`);
      const rows = groupBySignature([...failures.values()].map((x) => x.f));
      io.out(summaryTable(rows, done, replayHint(info && hintFrom ? { ...info, scenario: hintFrom.scenario, cwd: hintFrom.cwd } : { scenario: '<scenario>' })).join('\n'));
      io.exitCode = failures.size ? EXIT_BUG : EXIT_OK;
    });
}

