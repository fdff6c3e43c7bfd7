// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The explore search (hazsim explore, and --strategy dfs on run, hunt and
 * bisect): bounded exhaustive search over schedules by stateless
 * re-execution, with iterative context bounding (Musuvathi & Qadeer, PLDI
 * 2007). Bound 0 runs the default completion of src/sched/dfs.ts and every
 * schedule that differs from it only by free choices; each run queues its
 * branches by cost, and bound c runs those of cost c, so the first failure is
 * found at the smallest bound that has one. The search stops when every bound
 * up to k is done (complete) or after `maxSchedules` runs (stopped at budget).
 *
 * Every run is recorded as plain decisions; a failing one is rebuilt as a
 * Schedule and re-run under the replay strategy (replayFailure) for its
 * report, its story and a replay file, so it replays exactly.
 */
import { DfsStrategy, ExploreCut, ROOT, releaseDecisions, type Branch, type Decisions } from '../sched/dfs.ts';
import { Schedule } from '../sched/schedule.ts';
import { runScenario, startRun, type RunResult } from './run.ts';
import type { Scenario } from './schema.ts';
import type { Machine } from '../kernel/machine.ts';

export interface ExploreOptions {
  /** the largest bound (preemptions + delayed drains + other non-default choices) */
  bound: number;
  /** stop after this many runs */
  maxSchedules: number;
  /** D_RAND's generators (and the seed a replay file records) */
  seed: number;
  maxSteps?: number;
  /** the partial-order reduction (default on; off: to count what it saves) */
  reduce?: boolean;
  /** stop at the first failing schedule (run --strategy dfs, bisect --strategy dfs) */
  stopAtFirst?: boolean;
  /** a line of progress now and then (stderr) */
  progress?: (explored: number, bound: number, failing: number) => void;
  /** tests: keep every branch, also those the budget will never reach (the search is the same, in more memory) */
  keepAll?: boolean;
  /** tests: called with each run's machine before it runs; what it returns, with the run's result after it (null: cut short) */
  watch?: (m: Machine) => (r: RunResult | null) => void;
}

export interface ExploreFailure {
  signature: string;
  kind: string;
  count: number;
  /** the bound at which it was first seen */
  bound: number;
  /** the run it was first seen in (1-based, in the order of the search) */
  run: number;
  /** that run's decisions (kind, among, chosen), to replay */
  decisions: Decisions;
}

export interface ExploreResult {
  /** runs that went to their end */
  explored: number;
  /** runs stopped early by the reduction: the rest of each was equivalent to a schedule explored */
  cut: number;
  complete: boolean;
  /** the bounds searched completely, and how many runs each took */
  /** per bound: schedules run to their end, runs cut short by the reduction, failing schedules */
  bounds: { bound: number; schedules: number; cut: number; failing: number; complete: boolean }[];
  failing: number;
  /** runs that used their whole step budget without a report */
  budget: number;
  /** by signature, in the order first seen */
  signatures: ExploreFailure[];
  /** branches not kept because the budget would end before their turn (a search that stops at its budget) */
  unreached: number;
}

/** Run the search. */
export function explore(s: Scenario, o: ExploreOptions): ExploreResult {
  try {
    return search(s, o);
  } finally {
    releaseDecisions();
  }
}

function search(s: Scenario, o: ExploreOptions): ExploreResult {
  const reduce = o.reduce ?? true;
  // per bound, the branches still to run, in the order found (first in, first out)
  const queues: Branch[][] = Array.from({ length: o.bound + 1 }, () => []);
  queues[0].push(ROOT);
  const res: ExploreResult = { explored: 0, cut: 0, complete: false, bounds: [], failing: 0, budget: 0, signatures: [], unreached: 0 };
  const bySig = new Map<string, ExploreFailure>();
  let runs = 0;
  // per bound, the branches left out because the budget ends before them (DfsOptions.room)
  const dropped: number[] = new Array<number>(o.bound + 1).fill(0);
  for (let c = 0; c <= o.bound; c++) {
    const row = { bound: c, schedules: 0, cut: 0, failing: 0, complete: false };
    res.bounds.push(row);
    const queue = queues[c];
    for (let head = 0; head < queue.length; head++) {
      if (runs >= o.maxSchedules || (o.stopAtFirst && res.failing)) return res;
      const br = queue[head];
      queue[head] = ROOT; // its children keep it (their prev), the queue need not
      runs++;
      // per cost, the runs the budget leaves for a branch of this run: those left less those queued before it
      const room: number[] = [];
      let ahead = queue.length - head - 1;
      for (let k = 0; k <= o.bound; k++) {
        if (k > c) ahead += queues[k].length;
        room.push(k < c ? 0 : o.maxSchedules - runs - ahead);
      }
      const dfs = new DfsStrategy(br, { seed: o.seed, reduce, bound: o.bound, ...(o.keepAll ? {} : { room }) });
      const run = startRun(s, { seed: o.seed, strategy: dfs, maxSteps: o.maxSteps, record: false, history: false });
      dfs.attach(run.machine);
      const watched = o.watch?.(run.machine);
      let r: RunResult | null = null;
      try {
        run.machine.run();
        r = run.result();
      } catch (e) {
        if (!(e instanceof ExploreCut)) throw e;
      }
      dfs.finish();
      watched?.(r);
      run.machine.mem.recycle();
      for (const ch of dfs.children()) queues[ch.cost].push(ch);
      dfs.dropped.forEach((d, k) => {
        dropped[k] += d;
        res.unreached += d;
      });
      if (!r) {
        res.cut++;
        row.cut++;
      } else {
        res.explored++;
        row.schedules++;
        if (r.bug) {
          res.failing++;
          row.failing++;
          const f = bySig.get(r.bug.signature);
          if (f) f.count++;
          else {
            const nf: ExploreFailure = { signature: r.bug.signature, kind: r.bug.kind, count: 1, bound: br.cost, run: runs, decisions: dfs.decisions() };
            bySig.set(nf.signature, nf);
            res.signatures.push(nf);
          }
        } else if (r.outcome === 'budget') res.budget++;
      }
      if (o.progress && runs % 100 === 0) o.progress(runs, c, res.failing);
    }
    // a branch left out of this bound would have met the end of the budget here
    if (dropped[c] > 0) return res;
    row.complete = true;
    queue.length = 0;
  }
  res.complete = true;
  return res;
}

/** A failure's decisions as a schedule to replay. */
export function failureSchedule(f: ExploreFailure): Schedule {
  const s = new Schedule();
  for (let i = 0; i < f.decisions.kind.length; i++) s.push(f.decisions.kind[i], f.decisions.n[i], f.decisions.chosen[i]);
  return s;
}

/** The failing run again, under the replay strategy: the report, story and schedule of a normal run. */
export function replayFailure(s: Scenario, f: ExploreFailure, o: { seed: number; maxSteps?: number; story?: boolean }): RunResult {
  return runScenario(s, { seed: o.seed, replay: failureSchedule(f), maxSteps: o.maxSteps, story: o.story, record: true });
}
