// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A run result as the console of the simulated machine: dmesg-style lines with
 * simulated timestamps, the kernel-style report of a bug, the steps that led to
 * it, and what to paste to replay it.
 */
import { Chalk } from 'chalk';
import type { Bug } from '../kernel/bugs.ts';
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
    out.push(`${ts(0)} hazsim: scenario '${r.scenario}', hazptr ${r.hazptr}, ${r.cpus} CPUs, PREEMPT(${r.preempt}), KASAN ${r.kasan ? 'on' : 'off'}, ${r.memoryModel === 'tso' ? 'x86-TSO' : 'SC'} memory, seed ${r.seed}`);
    for (const l of r.log) out.push(`${ts(l.t)} ${l.text}`);
  }
  // A WARN was printed where it happened (it is in the log, in --quiet too) and the run went on.
  if (o.quiet) for (const w of r.warnings) out.push(...warnLines(r, w));
  const f = r.fatal;
  if (f) {
    const lines = oopsLines(f, { release: RELEASE, preempt: r.preempt, seed: r.seed });
    lines.forEach((l, i) => out.push(`${ts(f.time)} ${i === 0 || (f.kind === 'kasan' && i === 1) ? c.red.bold(l) : l}`));
    if (r.slice) out.push(...r.slice);
    if (r.story) out.push(...r.story);
    if (r.history.length) {
      out.push(`hazsim: the last ${r.history.length} steps before the report:`);
      for (const h of r.history) out.push(fmtStepLine(h));
    }
    const first = r.bug && r.bug !== f ? `WARNING ${r.bug.kind} at ${fmtSecs(r.bug.time)} s, then ` : '';
    out.push(c.bold(`hazsim: ${first}${f.kind} after ${r.steps} steps, ${fmtSecs(r.simNs)} s simulated (seed ${r.seed}, ${r.decisions} decisions, schedule ${r.scheduleDigest})`));
    out.push(`hazsim: signature: ${r.bug!.signature}`);
    out.push(`hazsim: replay: ${o.replayCommand} --seed ${r.seed}`);
    return out;
  }
  if (o.interrupted) {
    out.push(`${ts(r.simNs)} hazsim: stopped after ${r.steps} steps at ${fmtSecs(r.simNs)} s simulated (Ctrl-C), no bug so far`);
    out.push(`hazsim: replay: ${o.replayCommand} --seed ${r.seed}`);
    out.push('hazsim: (that command runs to this step as its budget, and at the end of a budget hazsim checks for a stalled CPU: this stop did not)');
    return out;
  }
  switch (r.outcome) {
    case 'done':
      out.push(`${ts(r.simNs)} hazsim: ${r.bug ? '' : 'no bug: '}every task exited after ${r.steps} steps, ${fmtSecs(r.simNs)} s simulated (${r.decisions} decisions, schedule ${r.scheduleDigest})`);
      break;
    case 'budget':
      out.push(`${ts(r.simNs)} hazsim: step budget exhausted after ${r.steps} steps, ${fmtSecs(r.simNs)} s simulated${r.bug ? '' : ', no bug so far'} (raise limits.steps or --steps)`);
      break;
    case 'time':
      out.push(`${ts(r.simNs)} hazsim: simulated time limit reached after ${r.steps} steps${r.bug ? '' : ', no bug so far'}`);
      break;
    case 'divergence':
      out.push(`hazsim: replay diverged: ${r.divergence}`);
      break;
  }
  if (r.bug && !o.interrupted) {
    const n = r.warnings.length;
    out.push(c.bold(`hazsim: ${r.bug.kind}: ${n === 1 ? 'a WARNING' : `${n} WARNINGs, the first`} at ${fmtSecs(r.bug.time)} s; ${r.outcome === 'bug' ? 'the run stopped there (a bisected schedule: stop-at-warn)' : 'the run went on'} (seed ${r.seed}, ${r.decisions} decisions, schedule ${r.scheduleDigest})`));
    out.push(`hazsim: signature: ${r.bug.signature}`);
    out.push(`hazsim: replay: ${o.replayCommand} --seed ${r.seed}`);
  }
  return out;
}

/** A WARN's lines as the console printed them (from the log: their timestamps and their order). */
function warnLines(r: RunResult, w: Bug): string[] {
  const i = r.log.findIndex((l) => l.t === w.time && l.text === (w.lead?.[0] ?? w.headline));
  if (i < 0) return [];
  const end = r.log.findIndex((l, j) => j > i && l.text === '---[ end trace 0000000000000000 ]---');
  return r.log.slice(i, end < 0 ? undefined : end + 1).map((l) => `${ts(l.t)} ${l.text}`);
}

function jsonBug(b: Bug): Record<string, unknown> {
  return { kind: b.kind, signature: b.signature, headline: b.headline, cpu: b.cpu, comm: b.comm, time_ns: b.time, rip: b.rip ?? null };
}

/** The --json form: plain data, no formatting. */
export function jsonRun(r: RunResult): Record<string, unknown> {
  return {
    scenario: r.scenario,
    hazptr: r.hazptr,
    memory_model: r.memoryModel,
    seed: r.seed,
    outcome: r.fatal ? (r.fatal.kind === 'stalled-at-budget' ? 'stalled' : 'bug') : r.warnings.length ? 'warning' : r.outcome,
    bug: r.bug ? jsonBug(r.bug) : null,
    ...(r.warnings.length ? { warnings: r.warnings.map(jsonBug), fatal: r.fatal ? jsonBug(r.fatal) : null } : {}),
    divergence: r.divergence ?? null,
    steps: r.steps,
    sim_ns: r.simNs,
    schedule: { decisions: r.decisions, digest: r.scheduleDigest, encoded: r.schedule.encode() },
  };
}
