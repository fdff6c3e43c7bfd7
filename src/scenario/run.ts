// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Run one scenario with one seed (or one recorded schedule) and return the
 * result as plain data. Formatting is src/report's job.
 */
import { MEM_BASE, POISON_BASE } from '../kernel/addr.ts';
import type { Bug } from '../kernel/bugs.ts';
import { FL_BUFFERED, FL_FORWARDED, FL_STALE, type EndReason, type LogLine, type Machine, type StepRecord } from '../kernel/machine.ts';
import type { MachineConfig } from '../kernel/machine-types.ts';
import { OP_NAMES, OP_LOAD, OP_CMPXCHG, OP_XCHG, OP_STORE, OP_PICK, OP_SWITCH, OP_KMALLOC, OP_RAND, OP_DRAIN } from '../kernel/port.ts';
import { sites } from '../kernel/sites.ts';
import { RandomStrategy, seedDrainRate } from '../sched/random.ts';
import { PctStrategy } from '../sched/pct.ts';
import { ReplayStrategy, type ReplayNames } from '../sched/replay.ts';
import { Schedule } from '../sched/schedule.ts';
import type { Strategy } from '../sched/strategy.ts';
import type { Scenario } from './schema.ts';
import { buildMachine } from './workload.ts';
import { hazptrLabel } from '../hazptr/index.ts';
import { findSubject, tell, watch } from './story.ts';
import { causalSlice } from './slice.ts';
import { StepLog } from './steplog.ts';
import { formatSlice, raceSteps, type RaceStep } from '../report/slice.ts';
import { taskColumns, type StepLine } from '../report/ftrace.ts';
import { staleStory } from '../report/tso.ts';

export interface RunOptions {
  seed: number;
  /** replay this schedule instead of drawing from the seed */
  replay?: Schedule;
  /** check the replayed decisions by name (a schedule read from a file) */
  replayNames?: ReplayNames;
  /** at the first divergent decision: stop (default), or continue under the seeded strategy */
  onDivergence?: 'stop' | 'continue';
  /** any other strategy (bisect's) instead of the seeded one */
  strategy?: Strategy;
  maxSteps?: number;
  /** run this mutant of the scenario's hazptr version (its id, src/hazptr/mutant.ts) */
  mutant?: number;
  /** stop at the first WARN, as at any other report (bisect's trial runs), instead of going on */
  stopAtWarn?: boolean;
  /**
   * called with each step (--trace), and with each console line printed since the
   * last one, in the order they happened (format with report/ftrace.ts)
   */
  trace?: (line: StepLine) => void;
  /** after a report, replay the run to tell the story of the hazptr_ctx at its centre */
  story?: boolean;
  /**
   * Keep the decision log (RunResult.schedule: snapshot(), encode(), a replay
   * file)? Without it a run takes constant memory and RunResult.schedule gives
   * its length and digest only. Default: only when replaying or under another
   * strategy (a seeded run is rebuilt by running its seed again).
   */
  record?: boolean;
  /** the seeded strategy: absent, uniform random; pct, PCT with depth d (src/sched/pct.ts) */
  search?: Search;
  /**
   * false: the caller reads no RunResult.history, so the run keeps no ring of
   * its last steps even when it could not be run again (explore's runs: a
   * failing one is replayed for its report); its history is then empty.
   */
  history?: false;
}

/** A seeded strategy other than the uniform one. `expected`: PCT's k, over how many CPU choices its change points fall (default: the run's step budget). */
export interface Search {
  strategy: 'pct';
  depth: number;
  expected?: number;
}

export interface RunResult {
  scenario: string;
  /** 'tso' or 'sc' (machine.memory_model) */
  memoryModel: 'tso' | 'sc';
  hazptr: string;
  seed: number;
  cpus: number;
  preempt: 'full' | 'none';
  kasan: boolean;
  outcome: EndReason;
  /** the run's first report: its first WARN (the run went on after it) or the report that stopped it */
  bug: Bug | null;
  /** the report that stopped the run (an Oops, KASAN, a lockup...), null if none did */
  fatal: Bug | null;
  /** the WARNs printed, in order (each is also in log, where it was printed) */
  warnings: Bug[];
  divergence?: string;
  steps: number;
  simNs: number;
  log: LogLine[];
  /** the steps before the end of the run, oldest first */
  history: StepLine[];
  decisions: number;
  scheduleDigest: string;
  /** the race, step by step, when asked for and a ctx could be found (see story.ts) */
  story?: string[];
  /** with story: the causal slice from the faulting access back (slice.ts, report/slice.ts) */
  slice?: string[];
  /** with slice: its steps as plain data (the Perfetto timeline's instants, timeline.ts) */
  race?: RaceStep[];
  /** with onDivergence 'continue': where the replay stopped matching */
  diverged?: { index: number; message: string };
  /** task names by id ("comm/pid"), for schedule files */
  tasks: string[];
  stats: { switches: number; preemptions: number; migrations: number; irqs: number; mutexWaits: number; skippedNs: number };
  schedule: Schedule;
}

export function runScenario(s: Scenario, o: RunOptions): RunResult {
  const run = startRun(s, o);
  run.machine.run();
  const r = run.result();
  run.machine.mem.recycle(); // nothing of the result reads it
  return r;
}

/**
 * A run, built and not yet stepped: step `machine` (run(), or runChunk() until it
 * returns true), then take `result()`. runScenario() is these three; the CLI
 * steps in chunks, to show progress and see Ctrl-C between them.
 */
export function startRun(s: Scenario, o: RunOptions): { machine: Machine; result: () => RunResult } {
  let strategy: Strategy;
  let replay: ReplayStrategy | undefined;
  const seededHere = () => seeded(o.seed, s, o.search, o.maxSteps);
  if (o.replay) strategy = replay = new ReplayStrategy(o.replay, o.replayNames, o.onDivergence === 'continue' ? seededHere() : undefined);
  else strategy = o.strategy ?? seededHere();
  const record = o.record ?? !!(o.replay || o.strategy);
  // the last steps before a report (RunResult.history), a cost at every step: kept by a run that tells its
  // story (findSubject() reads them), a replay (one that diverges is not run again the same) or a run that
  // cannot be run again; a run from a seed, or one that keeps its log, is run again when they are asked for
  const ring = o.history !== false && (!!o.story || !!o.replay || (!!o.strategy && !record));
  const m = buildMachine(s, strategy, { ...machineOverrides(o), recordSchedule: record, ...(ring ? {} : { historySteps: 0 }) });
  if (replay) {
    replay.taskName = (t) => (t < 0 ? '' : taskName(m, t));
    replay.siteKey = (st) => (st < 0 ? '' : siteKey(st));
  }
  if (o.trace) {
    const tr = o.trace;
    traceConsole(m, tr);
    m.tracer = (r) => tr(stepLine(m, r));
  }
  return { machine: m, result: () => result(s, o, m, replay, ring) };
}

/**
 * --trace: each printk line as ftrace's printk:console event, passed on as it is
 * printed, so console and step lines come in the order they happened; what the
 * machine printed while it was built (the boot code) comes first. A line takes the
 * context of its printk: the CPU, its current task and the flags a step there would
 * record. A line printed outside any step (cpu -1: the boot code, and the machine's
 * own work between steps: timers, a CPU's offlining completed, hazsim's notes) has
 * no CPU or task in the model; it shows as <idle>-0 on CPU0, the boot CPU, where the
 * boot code runs as swapper/0, with no flags set.
 */
function traceConsole(m: Machine, out: (l: StepLine) => void): void {
  for (const l of m.log) out(consoleLine(m, l));
  const printk = m.printk.bind(m);
  m.printk = (text: string) => {
    printk(text);
    const l = m.log[m.log.length - 1];
    out(consoleLine(m, l));
  };
}

function consoleLine(m: Machine, l: LogLine): StepLine {
  return { event: 'console', t: l.t, cpu: Math.max(0, l.cpu), ...taskColumns(m, l.cpu < 0 ? -1 : l.task), flags: l.flags, fn: 'console', what: l.text };
}

function machineOverrides(o: RunOptions): Partial<MachineConfig> {
  return {
    seed: o.seed, ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}), ...(o.mutant ? { mutant: o.mutant } : {}),
    ...(o.stopAtWarn ? { stopAtWarn: true } : {}),
  };
}

function result(s: Scenario, o: RunOptions, m: Machine, replay: ReplayStrategy | undefined, ring: boolean): RunResult {
  let story: string[] | undefined;
  let slice: string[] | undefined;
  let race: RaceStep[] | undefined;
  // the story replays the run: from its log, or (no log kept) from the schedule it replayed or its seed (null);
  // a run under another strategy, or a replay that went on under the seed after a divergence, cannot be rebuilt
  if (o.story && m.bug && (m.schedule.keep || !(o.strategy || replay?.diverged))) {
    const subject = findSubject(m);
    const from = m.schedule.keep ? m.schedule.snapshot() : o.replay ?? null;
    // the recorded decisions, or (a run that kept no log) the seed's own strategy again: the same run;
    // one replay feeds both the story's watcher and the slice's step log
    let log: StepLog | undefined;
    const replayed = (tracer?: (r: StepRecord) => void) => {
      const mm = buildMachine(s, from ? new ReplayStrategy(from) : seeded(o.seed, s, o.search, o.maxSteps), { ...machineOverrides(o), recordSchedule: false });
      const l = (log = new StepLog(mm, m.steps)); // about a row a step: room for the whole run at once
      mm.tracer = tracer ? (r) => { l.add(r); tracer(r); } : l.add;
      mm.run();
      return mm;
    };
    let m2: Machine;
    if (subject) {
      const w = watch(subject, replayed);
      m2 = w.m;
      story = tell(subject, w.steps, m2);
    } else m2 = replayed();
    const sl = causalSlice(log!, m2, subject);
    if (sl) {
      slice = formatSlice(sl, m2, subject);
      race = raceSteps(sl, m2, subject);
    }
    m2.mem.recycle();
    const tso = staleStory(m);
    if (tso.length) story = [...(story ?? []), ...tso];
  }
  let history: StepLine[] | undefined = ring ? m.history().map((r) => stepLine(m, r)) : undefined;
  const res: RunResult = {
    story,
    slice,
    race,
    diverged: replay?.diverged ?? undefined,
    tasks: m.tasks.map((_, i) => taskName(m, i)),
    scenario: s.name,
    hazptr: hazptrLabel(s),
    seed: o.seed,
    cpus: s.machine.cpus,
    preempt: s.machine.preempt,
    kasan: s.machine.kasan,
    memoryModel: s.machine.memory_model,
    outcome: m.endReason,
    bug: m.warnings[0] ?? m.bug,
    fatal: m.bug,
    warnings: m.warnings,
    divergence: m.endReason === 'divergence' ? m.divergence : undefined,
    steps: m.steps,
    simNs: m.now,
    log: m.log,
    get history(): StepLine[] {
      return (history ??= lastSteps(s, o, res));
    },
    decisions: m.schedule.length,
    stats: { ...m.stats },
    scheduleDigest: m.schedule.digest(),
    schedule: m.schedule,
  };
  return res;
}

/**
 * The last steps of a run that kept no ring of them: from running it again
 * (rerun()), which ends where it ended, at the same steps. A finished run's
 * (an interrupted one prints none); [] for one that cannot be run again.
 */
function lastSteps(s: Scenario, o: RunOptions, r: RunResult): StepLine[] {
  const mm = rerun(s, o, r)?.();
  if (!mm) return [];
  mm.run();
  const h = mm.history().map((x) => stepLine(mm, x));
  mm.mem.recycle();
  return h;
}

/**
 * How to run `r` (run with options `o`) again, step for step, with recordSchedule
 * off: its recorded decisions, or (no log kept) the schedule it replayed or its
 * seed. Undefined when it cannot be rebuilt (another strategy, or a replay that
 * went on under the seed after a divergence, with no log kept). The story's
 * replay above is one; the Perfetto timeline (timeline.ts) another.
 */
export function rerun(s: Scenario, o: RunOptions, r: RunResult): (() => Machine) | undefined {
  // a replay stopped at a divergence: its log holds the divergent decision, which a replay of it would take
  if (r.outcome === 'divergence' || (!r.schedule.keep && (o.strategy || r.diverged))) return undefined;
  const from = r.schedule.keep ? r.schedule.snapshot() : o.replay ?? null;
  return () => buildMachine(s, from ? new ReplayStrategy(from) : seeded(o.seed, s, o.search, o.maxSteps), { ...machineOverrides(o), recordSchedule: false });
}

/** The strategy a run from `seed` uses: uniform random (or PCT: k defaults to the run's step budget) with the scenario's preemption and drain rates. */
function seeded(seed: number, s: Scenario, search?: Search, maxSteps?: number): Strategy {
  const drain = s.machine.drain_rate ?? seedDrainRate(seed);
  if (search) return new PctStrategy(seed, s.machine.cpus, { depth: search.depth, expected: search.expected ?? maxSteps ?? s.limits.steps }, s.machine.preempt_rate, drain);
  return new RandomStrategy(seed, s.machine.preempt_rate, drain);
}

/** How a task is named in schedule files: "comm/pid" (comms repeat, pids do not). */
export function taskName(m: Machine, id: number): string {
  const t = m.tasks[id];
  return `${t.comm.replace(/\s/g, '_')}/${t.pid}`;
}

/** How a site is named in schedule files: "function:description". */
export function siteKey(id: number): string {
  const s = sites[id];
  return `${s.fn.name}:${s.desc}`;
}

function fmtVal(m: Machine, v: number): string {
  if (v === 0) return '0';
  if (v >= POISON_BASE || (v >= MEM_BASE && m.mem.regionOf(v))) return m.mem.fmt(v);
  return v < 16 ? String(v) : `0x${v.toString(16)}`;
}

export function stepLine(m: Machine, r: StepRecord): StepLine {
  const s = sites[r.site];
  let what = s.desc || OP_NAMES[r.kind];
  switch (r.kind) {
    case OP_LOAD:
      what += ` [${m.mem.fmt(r.addr)}] -> ${fmtVal(m, r.val)}${r.flags & FL_FORWARDED ? ' (forwarded from the store buffer)' : r.flags & FL_STALE ? " (from memory: another CPU's store to it is still buffered)" : ''}`;
      break;
    case OP_STORE:
      what += ` [${m.mem.fmt(r.addr)}] <- ${fmtVal(m, r.val)}${r.flags & FL_BUFFERED ? ' (store buffered)' : ''}`;
      break;
    case OP_DRAIN:
      what += ` [${m.mem.fmt(r.addr)}] <- ${fmtVal(m, r.val)} (store drained)`;
      break;
    case OP_CMPXCHG:
    case OP_XCHG:
      what += ` [${m.mem.fmt(r.addr)}] was ${fmtVal(m, r.val)}`;
      break;
    case OP_PICK:
      what += ` -> ${m.tasks[r.val].comm}`;
      break;
    case OP_SWITCH:
      what += ` -> ${m.tasks[r.val].comm}`;
      break;
    case OP_KMALLOC:
      what += ` -> ${fmtVal(m, r.val)}`;
      break;
    case OP_RAND:
      what += ` -> ${r.val}`;
      break;
  }
  return { event: 'step', t: r.t, cpu: r.cpu, ...taskColumns(m, r.task), flags: r.flags, fn: s.fn.name, what };
}
