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
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Command } from 'commander';
import { loadScenario } from '../scenario/load.ts';
import { EXIT_BUG, EXIT_OK, InputError } from './errors.ts';
import type { CliIO } from './index.ts';
import type { SeedResult } from './hunt-worker.ts';
import { Progress } from './progress.ts';
import { parseIntArg } from './run.ts';

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

export function summaryTable(rows: SignatureRow[], done: number, replay: (seed: number) => string): string[] {
  const failures = rows.reduce((a, r) => a + r.count, 0);
  const out = [`hazsim: ${done} seeds, ${failures} failing, ${rows.length} signature${rows.length === 1 ? '' : 's'}`];
  if (!rows.length) return out;
  out.push('  count  first seed  signature');
  for (const r of rows) out.push(`  ${String(r.count).padStart(5)}  ${String(r.first_seed).padStart(10)}  ${r.signature}`);
  out.push('replay:');
  for (const r of rows) out.push(`  ${replay(r.first_seed)}`);
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

interface OutFileState {
  doneThrough: number;
  failures: Failure[];
}

export function readOutFile(path: string): OutFileState {
  const st: OutFileState = { doneThrough: -Infinity, failures: [] };
  if (!existsSync(path)) return st;
  readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
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
  });
  return st;
}

const WORKER_URL = new URL('./hunt-worker.ts', import.meta.url).href;

export function huntCommand(io: CliIO): Command {
  return new Command('hunt')
    .description('run many seeds on worker threads and group the failures by signature')
    .argument('<scenario>', 'scenario file (YAML)')
    .requiredOption('--seeds <a..b>', 'the seed range, inclusive')
    .option('--jobs <n>', 'worker threads (default: the number of cores)')
    .option('--shard <i/n>', 'run the i-th of n disjoint slices of the range')
    .option('--out <file>', 'write failing seeds, checkpoints and a summary as JSON lines, as it goes')
    .option('--resume', 'skip the seeds the --out file says are done')
    .option('--stop-after <k>', 'stop after the first k failing seeds (in seed order)')
    .option('--max-seconds <s>', 'stop after this much wall-clock time')
    .option('--steps <n>', 'step budget per run (overrides limits.steps)')
    .option('--bootarg <params>', 'hazptrtorture module parameters')
    .addHelpText('after', '\nExample:\n  $ hazsim hunt scenarios/hazptrtorture-preempt.yaml --seeds 1..200 --jobs 2 --out hunt.jsonl\n')
    .action(async (file: string, opts: { seeds: string; jobs?: string; shard?: string; out?: string; resume?: boolean; stopAfter?: string; maxSeconds?: string; steps?: string; bootarg?: string }) => {
      const [a, b] = parseSeedRange(opts.seeds);
      const shard = opts.shard ? parseShard(opts.shard) : undefined;
      const jobs = opts.jobs !== undefined ? parseIntArg('--jobs', opts.jobs, 1) : Math.max(1, cpus().length);
      const stopAfter = opts.stopAfter !== undefined ? parseIntArg('--stop-after', opts.stopAfter, 1) : Infinity;
      const maxSeconds = opts.maxSeconds !== undefined ? parseIntArg('--max-seconds', opts.maxSeconds, 1) : Infinity;
      const steps = opts.steps !== undefined ? parseIntArg('--steps', opts.steps, 1) : undefined;
      if (opts.resume && !opts.out) throw new InputError('--resume needs --out FILE');
      loadScenario(file, opts.bootarg); // bad input is reported here, once, before any worker starts
      const replay = (seed: number) => `hazsim run ${file} --seed ${seed}${steps !== undefined ? ` --steps ${steps}` : ''}${opts.bootarg ? ` --bootarg ${JSON.stringify(opts.bootarg)}` : ''}`;

      const prior = opts.out && opts.resume ? readOutFile(opts.out) : { doneThrough: -Infinity, failures: [] as Failure[] };
      if (opts.out && !opts.resume) writeFileSync(opts.out, '');
      const all = shardSeeds(a, b, shard);
      const seeds = all.filter((s) => s > prior.doneThrough);
      const failures: Failure[] = prior.failures.filter((f) => all.includes(f.seed));
      const bySig = new Map<string, number>();
      for (const f of failures) bySig.set(f.signature, (bySig.get(f.signature) ?? 0) + 1);
      const out = (obj: unknown) => opts.out && appendFileSync(opts.out, JSON.stringify(obj) + '\n');
      const progress = new Progress((s) => io.err(s.replace(/\n$/, '')), io.isTTY);
      let done = all.length - seeds.length;

      let stop = false;
      const onSigint = () => {
        stop = true;
      };
      process.once('SIGINT', onSigint);
      const results = new Map<number, SeedResult>();
      let next = 0; // next seed index to dispatch
      let commit = 0; // next seed index to commit
      let lastDone = prior.doneThrough;
      await new Promise<void>((resolve, reject) => {
        const workers: Worker[] = [];
        let live = 0;
        const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL)}); })`;
        const finish = () => {
          for (const w of workers) void w.terminate();
          resolve();
        };
        const feed = (w: Worker) => {
          if (stop || next >= seeds.length || progress.seconds > maxSeconds) {
            w.postMessage(null);
            return;
          }
          w.postMessage(seeds[next++]);
        };
        for (let j = 0; j < Math.min(jobs, Math.max(1, seeds.length)); j++) {
          const w = new Worker(boot, { eval: true, workerData: { file, bootarg: opts.bootarg, steps } });
          workers.push(w);
          live++;
          w.on('message', (r: SeedResult) => {
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
                if (n === 1) io.err(`${io.isTTY ? '\r\x1b[K' : ''}hunt: new signature at seed ${c.seed}: ${c.signature}`);
              }
              if (commit % 100 === 0) out({ checkpoint: { done_through: lastDone } });
            }
            if (failures.length >= stopAfter) stop = true;
            progress.update(done, all.length, bySig);
            feed(w);
          });
          w.on('error', reject);
          w.on('exit', () => {
            if (--live === 0) finish();
          });
          if (seeds.length) feed(w);
          else w.postMessage(null);
        }
      });
      process.removeListener('SIGINT', onSigint);
      progress.update(done, all.length, bySig, true);
      progress.done();
      out({ checkpoint: { done_through: lastDone } });
      const rows = groupBySignature(failures);
      out({ summary: true, scenario: file, seeds: `${a}..${b}`, shard: shard ? `${shard[0]}/${shard[1]}` : null, done, complete: done === all.length, failing: failures.length, signatures: rows });
      io.out(summaryTable(rows, done, replay).join('\n'));
      io.exitCode = failures.length ? EXIT_BUG : EXIT_OK;
    });
}

export function mergeCommand(io: CliIO): Command {
  return new Command('merge')
    .description('join the --out files of hunt shards into one summary')
    .argument('<files...>', 'JSON-lines files written by hunt --out')
    .addHelpText('after', '\nExample:\n  $ hazsim merge shard-1.jsonl shard-2.jsonl shard-3.jsonl\n')
    .action((files: string[]) => {
      const failures = new Map<number, Failure>();
      let done = 0;
      let scenario = '';
      for (const f of files) {
        if (!existsSync(f)) throw new InputError(`${f}: no such file`);
        const st = readOutFile(f);
        for (const x of st.failures) failures.set(x.seed, x);
        for (const line of readFileSync(f, 'utf8').split('\n')) {
          if (!line.includes('"summary"')) continue;
          const j = JSON.parse(line) as { done?: number; scenario?: string };
          done += j.done ?? 0;
          scenario ||= j.scenario ?? '';
        }
      }
      const rows = groupBySignature([...failures.values()]);
      io.out(summaryTable(rows, done, (seed) => `hazsim run ${scenario || '<scenario>'} --seed ${seed}`).join('\n'));
      io.exitCode = failures.size ? EXIT_BUG : EXIT_OK;
    });
}
