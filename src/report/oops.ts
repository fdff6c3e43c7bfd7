// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The Oops printer: a Bug as the kernel prints it, line by line, without
 * timestamps (dmesg.ts adds them). Frames are printed symbolized, as
 * scripts/decode_stacktrace.sh prints them: "function file:line [inline]".
 */
import type { Bug, TraceEntry } from '../kernel/bugs.ts';

function frame(e: TraceEntry): string {
  if (e.marker) return ` ${e.marker}`;
  const where = e.line ? `${e.file}:${e.line}` : e.file;
  return ` ${e.fn}${where ? ` ${where}` : ''}${e.inline ? ' [inline]' : ''}`;
}

/**
 * print_tainted() with TAINT_WARN set: one column per taint flag (TAINT_FLAGS_COUNT,
 * 20 since 6.15), 'G' in the first (not proprietary), 'W' in TAINT_WARN's (9).
 */
const TAINTED_W = `Tainted: ${'G'.padEnd(9)}${'W'.padEnd(20 - 9)}`;

export function cpuLine(b: Bug, release: string, preempt: 'full' | 'none'): string {
  return `CPU: ${b.cpu} UID: 0 PID: ${b.pid} Comm: ${b.comm} ${b.tainted ? TAINTED_W : 'Not tainted'} ${release} #1 PREEMPT${preempt === 'full' ? '(full)' : '(none)'}`;
}

export function oopsLines(b: Bug, o: { release: string; preempt: 'full' | 'none'; seed: number }): string[] {
  const out: string[] = [];
  const kasan = b.kind === 'kasan';
  if (kasan) out.push('==================================================================');
  out.push(...(b.lead ?? []), b.headline, ...b.pre);
  // __warn(): the modules right after the WARNING line (an Oops prints them at its end)
  if (b.warning) out.push('Modules linked in:');
  if (b.cpu >= 0) {
    out.push(cpuLine(b, o.release, o.preempt));
    if (b.tainted) out.push('Tainted: [W]=WARN');
    out.push(`Hardware name: hazsim deterministic SMP model, seed ${o.seed}`);
  }
  if (b.rip) {
    out.push(`RIP: 0010:${b.rip.fn} ${b.rip.file}${b.rip.line ? `:${b.rip.line}` : ''}`);
    out.push(`Code: ${b.rip.stmt}`);
  }
  if (b.trace.length) {
    out.push('Call Trace:');
    const trace = b.trace.slice();
    // the task part of the stack is bracketed by <TASK> ... </TASK>
    const firstTask = trace.findLastIndex((e) => e.marker === '</IRQ>') + 1;
    trace.splice(firstTask, 0, { fn: '', file: '', line: 0, inline: false, marker: '<TASK>' });
    trace.push({ fn: '', file: '', line: 0, inline: false, marker: '</TASK>' });
    for (const e of trace) out.push(frame(e));
  }
  out.push(...b.post);
  if (kasan) out.push('==================================================================');
  if (b.oops) out.push('Modules linked in:');
  if (b.oops || b.warning) out.push('---[ end trace 0000000000000000 ]---');
  return out;
}
