// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Bug reports: the first report of a run becomes machine.bug (headline, RIP,
 * call trace, signature) and stops the machine. A WARN (warn()) is printed on
 * the console when it happens, kept in machine.warnings, and the run goes on,
 * as the kernel goes on after a WARN; it taints the kernel (TAINT_WARN). Also the stack walker the
 * reports and KASAN's allocation tracks use, and the formatting of times and
 * step locations.
 */
import type { Bug, BugKind, TraceEntry } from './bugs.ts';
import { oopsLines } from '../report/oops.ts';
import type { Machine } from './machine.ts';
import { FRAME_IRQ, type Port } from './port.ts';
import { functions, sites } from './sites.ts';
import type { Cpu, Task } from './task.ts';

export interface ReportOpts {
  headline: string;
  lead?: string[];
  pre?: string[];
  post?: string[];
  oops?: boolean;
  ripSite?: number;
  ripLine?: number;
  /** the RIP line given as it is (a WARN's: the frame the WARN sits in, at its line): the Call Trace starts at its caller */
  rip?: { fn: string; file: string; line: number; stmt: string };
  frames?: Port;
  noCpuLine?: boolean;
  kasan?: boolean;
  kasanWhat?: string;
  traceOf?: Task;
}

/** Trace entries, innermost first, for every frame of the task (interrupt frames marked). */
export function captureTrace(t: Task, ripLine: number): TraceEntry[] {
  const out: TraceEntry[] = [];
  for (let fi = t.fdepth - 1; fi >= 0; fi--) {
    const f = t.frames[fi];
    if (f.frameKind === FRAME_IRQ) out.push({ fn: '', file: '', line: 0, inline: false, marker: '<IRQ>' });
    for (let d = f.depth - 1; d >= 0; d--) {
      const fn = functions[f.fns[d]];
      const line = d === f.depth - 1 ? (fi === t.fdepth - 1 && ripLine >= 0 ? ripLine : sites[f.site].fn === fn ? sites[f.site].line : 0) : f.callLines[d + 1];
      out.push({ fn: fn.name, file: fn.file, line, inline: fn.inline });
    }
    if (f.frameKind === FRAME_IRQ) out.push({ fn: '', file: '', line: 0, inline: false, marker: '</IRQ>' });
  }
  return out;
}

function makeBug(m: Machine, kind: BugKind, cpu: Cpu, t: Task, o: ReportOpts): Bug {
  const trace = o.frames ? captureTrace(o.traceOf ?? t, o.ripLine ?? -1) : [];
  let rip: Bug['rip'];
  let callers = trace;
  if (o.ripSite !== undefined && o.ripSite > 0) {
    const s = sites[o.ripSite];
    rip = { fn: s.fn.name, file: s.fn.file, line: s.line, stmt: s.stmt };
    callers = trace.slice(1);
  } else if (o.rip) {
    rip = o.rip;
    callers = trace.slice(1);
  }
  const fnsForSig = (rip ? [rip.fn] : []).concat(callers.filter((e) => !e.marker).map((e) => e.fn));
  const sigHead = o.kasanWhat ? `KASAN: ${o.kasanWhat}` : kind;
  return {
    kind, headline: o.headline, ...(o.lead ? { lead: o.lead } : {}), pre: o.pre ?? [], post: o.post ?? [], time: m.now, cpu: o.noCpuLine ? -1 : cpu.id,
    pid: t.pid, comm: t.comm, rip, trace: callers, oops: !!o.oops, ...(m.warnings.length ? { tainted: true } : {}),
    signature: sigOf(sigHead, fnsForSig.filter((n) => !n.startsWith('ret_from_fork'))),
  };
}

/** "kind | fn < caller < ...", or the kind alone for a report with no call trace (a quiescence leak, found after every task exited). */
function sigOf(head: string, fns: string[]): string {
  return fns.length ? `${head} | ${fns.join(' < ')}` : head;
}

export function report(m: Machine, kind: BugKind, cpu: Cpu, t: Task, o: ReportOpts): void {
  if (m.bug) return;
  m.bug = makeBug(m, kind, cpu, t, o);
  m.stopped = true;
  m.endReason = 'bug';
}

/**
 * A WARN_ONCE / WARN_ON_ONCE that fires: once per boot per `once` key (its call
 * site), printed on the console now, as __warn() prints it (report/oops.ts),
 * and the run goes on. With cfg.stopAtWarn (bisect's trials) it stops the run
 * like any report.
 */
export function warn(m: Machine, once: string, kind: BugKind, cpu: Cpu, t: Task, o: ReportOpts): void {
  if (m.bug || m.warnedOnce.has(once)) return;
  m.warnedOnce.add(once);
  const b: Bug = { ...makeBug(m, kind, cpu, t, o), warning: true };
  for (const line of oopsLines(b, { release: m.cfg.release, preempt: m.cfg.preempt, seed: m.cfg.seed ?? 0 })) m.printk(line);
  m.warnings.push(b);
  if (m.cfg.stopAtWarn) {
    m.stopped = true;
    m.endReason = 'bug';
  }
}

/**
 * The first line of a WARN as x86 kernels print it since 6.19 (__warn(), "bug:
 * Add file:line to the WARNING line"): `WARNING: file:line at fn, CPU#n: comm/pid`,
 * fn being the function the (possibly inline) WARN was compiled into, the
 * innermost non-inline frame. The model has no code offsets: `fn`, not `fn+0x1c/0x80`.
 */
export function warnHeadline(io: Port, file: string, line: number | undefined): string {
  let fn = functions[io.fns[io.depth - 1]].name;
  for (let d = io.depth - 1; d >= 0; d--) if (!functions[io.fns[d]].inline) { fn = functions[io.fns[d]].name; break; }
  return warnLine(file, line, fn, io.task);
}

/** The WARNING line of a WARN in `fn` at file:line, on `t`'s CPU (warnHeadline(), when fn is not the innermost frame). */
export function warnLine(file: string, line: number | undefined, fn: string, t: Task): string {
  return `WARNING: ${file}${line ? `:${line}` : ''} at ${fn}, CPU#${t.cpu}: ${t.comm}/${t.pid}`;
}

/**
 * A WARN_ONCE(cond, fmt, ...) or WARN_ON_ONCE(cond) in the code `io` runs, at
 * file:line (`stmt`: its C text, the Code: line): x86's __warn_printk() prints
 * the cut-here line and the message (WARN_ONCE), then __warn() the WARNING line,
 * the modules, the CPU and RIP (the frame the WARN is in) and the Call Trace
 * from its caller. Once per boot per call site; the run goes on (warn()).
 */
export function warnOnce(io: Port, kind: BugKind, file: string, line: number, stmt: string, msg?: string): void {
  const fn = functions[io.fns[io.depth - 1]];
  warn(io.m, `${file}:${line}`, kind, io.m.cpus[io.task.cpu], io.task, {
    lead: ['------------[ cut here ]------------', ...(msg !== undefined ? [msg] : [])],
    headline: warnHeadline(io, file, line),
    rip: { fn: fn.name, file, line, stmt },
    frames: io,
    ripLine: line,
  });
}

/** A failure the torture module itself reports (its statistics print). `task`: whose stack to show. */
export function tortureBug(m: Machine, io: Port, kind: BugKind, headline: string, pre: string[], task?: Task): void {
  const t = task ?? io.task;
  report(m, kind, m.cpus[io.task.cpu], io.task, { headline, pre, frames: t.top, traceOf: t, noCpuLine: t !== io.task });
}

/** Simulated nanoseconds as printk prints them: "12.345678" (seconds, microseconds). */
export function fmtSecs(ns: number): string {
  const us = Math.floor(ns / 1000);
  return `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}`;
}
