// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * hazptr_torture_stats_print() and the kthreads that call it: the statistics
 * kthread and torture_shutdown (kernel/torture.c) with the module's cleanup.
 */
import { OP_NOP, type KGen, type Port } from '../kernel/port.ts';
import { hashPtr } from '../kernel/addr.ts';
import { warnLine } from '../kernel/reports.ts';
import { hrtimeout } from './lib.ts';
import { DETACH_LINE, F, S, T } from './sites.ts';
import { HZ, MS, PIPE_LEN, WRITER_STATES, sum, type Torture } from './state.ts';

/** torture_onoff_stats() */
function onoffStats(t: Torture): string {
  if (t.p.onoff_interval <= 0) return '';
  const o = t.onoff;
  return `onoff: ${o.nOnSuccesses}/${o.nOnAttempts}:${o.nOffSuccesses}/${o.nOffAttempts} ${o.minOn},${o.maxOn}:${o.minOff},${o.maxOff} ${o.sumOn}:${o.sumOff} (HZ=${HZ}) `;
}

function statsPrint(io: Port, t: Torture): void {
  const m = io.m;
  const pipesummary = new Array(PIPE_LEN + 1).fill(0);
  for (const c of t.pipeCount) c.forEach((v, i) => (pipesummary[i] += v));
  let i = PIPE_LEN;
  while (i >= 0 && pipesummary[i] === 0) i--;
  const rtc = m.mem.peek(t.current);
  // "rtc: %p %s: %lu": %p prints NULL as zeros, and "VER" when rtcp is NULL (the pre-detach model: a hash, "ver")
  const asWritten = t.form.asWritten;
  const rtcText = rtc || !asWritten ? `${hashPtr(rtc)} ver` : '0000000000000000 VER';
  m.printk(`${t.flag} rtc: ${rtcText}: ${t.version} ${WRITER_STATES[t.writerState]} tfle: ${t.freelist.length === 0 ? 1 : 0} rta: ${t.nAlloc} rtaf: ${t.nAllocFail} rtf: ${t.nFree} ${onoffStats(t)}acq: ${sum(t.acq)} rel: ${sum(t.rel)} acqirq: ${sum(t.acqIrq)} relirq: ${sum(t.relIrq)} reldefer: ${sum(t.relDefer)} relundefer ${sum(t.relUndefer)}`);
  const bad = i > 1;
  m.printk(`${t.flag} ${bad ? '!!! ' : ''}Reader Pipe: ${pipesummary.map((v) => ` ${v}`).join('')}`);
  m.printk(`${t.flag} Reader Batch: ${new Array(PIPE_LEN + 1).fill(' 0').join('')}`);
  m.printk(`${t.flag} Free-Block Circulation: ${t.wcount.map((v) => ` ${v}`).join('')}`);
  if (bad) {
    t.nError++;
    // the WARNING line as the model's kernel (7.0) prints it; the pre-detach form's text is not at hand, so it has no line number
    const headline = warnLine(T, asWritten ? DETACH_LINE.stats_warn : undefined, 'hazptr_torture_stats_print', io.task);
    m.tortureBug(io, 'too-short-grace-period', headline, [`WARN_ON_ONCE(i > 1); // Too-short grace period: a reader saw htort_pipe_count ${i}`]);
    return;
  }
  if (t.rtcvSnap === t.version && rtc && t.writerTask >= 0) {
    const w = m.tasks[t.writerTask];
    const stall = `??? Writer stall state ${WRITER_STATES[t.writerState]}(${t.writerState}) g0 f0x0 ->state ${w.state === 0 ? 'R' : 'D'} cpu ${w.cpu}`;
    // The module prints this whenever the version did not move (a stutter pause too);
    // hazsim calls it a bug only when the writer is stuck inside hazptr_synchronize().
    // ... and only if it has been in there since before the previous print: a writer that
    // just entered it after a stutter pause (the version also stands still then) is not stuck.
    if (!t.splatted && t.writerState === 3 && m.now - t.syncSince >= t.p.stat_interval * 1e9) {
      t.splatted = true;
      // sched_show_task(wtp): the writer's state line and its stack
      m.tortureBug(io, 'writer-stall', stall, [
        `task:${w.comm.padEnd(15)} state:${w.state === 0 ? 'R  running task' : 'D'}     stack:0     pid:${w.pid}   tgid:${w.pid}   ppid:2      flags:0x00004000`,
        `hazsim: the writer made no progress for ${t.p.stat_interval} s (hazptr_torture_current_version stayed ${t.version})`,
      ], w);
      return;
    }
    m.printk(stall);
  }
  t.rtcvSnap = t.version;
}

export function* stats(io: Port, t: Torture): KGen {
  io.enter(F.stats);
  if (t.p.verbose) io.m.printk(`${t.flag} hazptr_torture_stats task started`);
  do {
    yield hrtimeout(io, t.p.stat_interval * 1e9, 0);
    yield io.op(OP_NOP, S.stats);
    statsPrint(io, t);
    // hazptr_torture_cleanup() stops the writer and readers before this kthread,
    // so it keeps printing (and reporting a stalled writer) while they are stopped.
  } while (!t.mustStop() || t.live > 1);
  io.leave();
}

export function* shutdown(io: Port, t: Torture): KGen {
  io.enter(F.shutdown);
  if (t.p.shutdown_secs <= 0) {
    // no shutdown: the run ends at the step budget or limits.time_ms
    for (;;) yield hrtimeout(io, 3600e9, 0);
  }
  yield hrtimeout(io, t.p.shutdown_secs * 1e9, 0);
  io.m.printk(`${t.flag} Stopping torture_shutdown task`);
  t.stopping = true;
  while (t.live > 0) yield hrtimeout(io, 1 * MS, 0); // torture_stop_kthread(): wait for each to exit
  yield io.op(OP_NOP, S.stats);
  statsPrint(io, t);
  if (io.m.bug) return;
  io.m.printk(t.printParms(t.nError ? 'End of test: FAILURE' : 'End of test: SUCCESS'));
  io.leave();
}
