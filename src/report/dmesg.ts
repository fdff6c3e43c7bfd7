/**
 * A run result as the console of the simulated machine: dmesg-style lines with
 * simulated timestamps, the kernel-style report of a bug, the steps that led to
 * it, and what to paste to replay it.
 */
import { Chalk } from 'chalk';
import { fmtSecs } from '../kernel/reports.ts';
import type { RunResult } from '../scenario/run.ts';
import { fmtStepLine } from './ftrace.ts';
import { oopsLines } from './oops.ts';

export const RELEASE = '7.0.0-rc1-hazsim';

export interface FormatOptions {
  color: boolean;
  quiet: boolean;
  /** how to replay: the command line, without --seed */
  replayCommand: string;
  /** stopped by Ctrl-C before the end (the replay command stops at the same step) */
  interrupted?: boolean;
}

export function ts(ns: number): string {
  return `[${fmtSecs(ns).padStart(12)}]`;
}

export function formatRun(r: RunResult, o: FormatOptions): string[] {
  const c = new Chalk({ level: o.color ? 1 : 0 });
  const out: string[] = [];
  if (!o.quiet) {
    out.push(`${ts(0)} hazsim: scenario '${r.scenario}', hazptr ${r.hazptr}, ${r.cpus} CPUs, PREEMPT(${r.preempt}), KASAN ${r.kasan ? 'on' : 'off'}, seed ${r.seed}`);
    for (const l of r.log) out.push(`${ts(l.t)} ${l.text}`);
  }
  if (r.bug) {
    const lines = oopsLines(r.bug, { release: RELEASE, preempt: r.preempt, seed: r.seed });
    lines.forEach((l, i) => out.push(`${ts(r.bug!.time)} ${i === 0 || (r.bug!.kind === 'kasan' && i === 1) ? c.red.bold(l) : l}`));
    if (r.story) out.push(...r.story);
    if (r.history.length) {
      out.push(`hazsim: the last ${r.history.length} steps before the report:`);
      for (const h of r.history) out.push(fmtStepLine(h));
    }
    out.push(c.bold(`hazsim: ${r.bug.kind} after ${r.steps} steps, ${fmtSecs(r.simNs)} s simulated (seed ${r.seed}, ${r.decisions} decisions, schedule ${r.scheduleDigest})`));
    out.push(`hazsim: signature: ${r.bug.signature}`);
    out.push(`hazsim: replay: ${o.replayCommand} --seed ${r.seed}`);
    return out;
  }
  if (o.interrupted) {
    out.push(`${ts(r.simNs)} hazsim: stopped after ${r.steps} steps at ${fmtSecs(r.simNs)} s simulated (Ctrl-C), no bug so far`);
    out.push(`hazsim: replay: ${o.replayCommand} --seed ${r.seed}`);
    return out;
  }
  switch (r.outcome) {
    case 'done':
      out.push(`${ts(r.simNs)} hazsim: no bug: every task exited after ${r.steps} steps, ${fmtSecs(r.simNs)} s simulated (${r.decisions} decisions, schedule ${r.scheduleDigest})`);
      break;
    case 'budget':
      out.push(`${ts(r.simNs)} hazsim: step budget exhausted after ${r.steps} steps, ${fmtSecs(r.simNs)} s simulated, no bug so far (raise limits.steps or --steps)`);
      break;
    case 'time':
      out.push(`${ts(r.simNs)} hazsim: simulated time limit reached after ${r.steps} steps, no bug so far`);
      break;
    case 'divergence':
      out.push(`hazsim: replay diverged: ${r.divergence}`);
      break;
  }
  return out;
}

/** The --json form: plain data, no formatting. */
export function jsonRun(r: RunResult): Record<string, unknown> {
  return {
    scenario: r.scenario,
    hazptr: r.hazptr,
    seed: r.seed,
    outcome: r.bug ? (r.bug.kind === 'stalled-at-budget' ? 'stalled' : 'bug') : r.outcome,
    bug: r.bug ? { kind: r.bug.kind, signature: r.bug.signature, headline: r.bug.headline, cpu: r.bug.cpu, comm: r.bug.comm, time_ns: r.bug.time, rip: r.bug.rip ?? null } : null,
    divergence: r.divergence ?? null,
    steps: r.steps,
    sim_ns: r.simNs,
    schedule: { decisions: r.decisions, digest: r.scheduleDigest, encoded: r.schedule.encode() },
  };
}
