// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Watchdogs and end-of-run checks: the soft-lockup detector, the hung-task
 * detector, the deadlock the machine sees when nothing can ever run again, and
 * the quiescence check after every task exited.
 */
import type { Machine } from './machine.ts';
import { fmtSecs, report } from './reports.ts';
import { TASK_UNINTERRUPTIBLE, type Cpu, type Task } from './task.ts';

/** get_timestamp(): running_clock() >> 30, the watchdog's "seconds" */
const WD_UNIT = 2 ** 30;

/**
 * When the soft-lockup watchdog reports a CPU that last passed a scheduling
 * point at `lastResched` (kernel/watchdog.c): its hrtimer fires every
 * sample_period = softlockup_thresh / 5 and reports once
 * get_timestamp() > touch_ts + softlockup_thresh, timestamps in 2^30 ns units.
 */
export function softLockupAt(m: Machine, lastResched: number): number {
  const thresh = m.cfg.softLockupNs / 1e9;
  const sample = m.cfg.softLockupNs / 5;
  const touch = Math.floor(lastResched / WD_UNIT);
  return Math.ceil(((Math.floor(touch + thresh) + 1) * WD_UNIT) / sample) * sample;
}

/** watchdog: `cpu` has not passed a scheduling point for limits.soft_lockup_ms (called at softLockupAt()). */
export function softLockup(m: Machine, cpu: Cpu): void {
  const t = cpu.curr;
  const secs = Math.floor(m.now / WD_UNIT) - Math.floor(cpu.lastResched / WD_UNIT);
  report(m, 'soft-lockup', cpu, t, {
    headline: `watchdog: BUG: soft lockup - CPU#${cpu.id} stuck for ${secs}s! [${t.comm}:${t.pid}]`,
    pre: [`hazsim: CPU#${cpu.id} has passed no scheduling point since ${fmtSecs(cpu.lastResched)} (limits.soft_lockup_ms ${m.cfg.softLockupNs / 1e6})`],
    ripSite: t.top.site, frames: t.top,
  });
}

/** khungtaskd: the first task blocked (not sleeping) for longer than hungTaskNs. */
export function hungTaskCheck(m: Machine): void {
  for (const t of m.tasks) {
    if (t.isIdle || t.state !== TASK_UNINTERRUPTIBLE || t.blockedOn === 'sleep') continue;
    if (m.now - t.blockedSince < m.cfg.hungTaskNs) continue;
    const secs = Math.floor(m.cfg.hungTaskNs / 1e9);
    report(m, 'hung-task', m.cpus[t.cpu], t, {
      headline: `INFO: task ${t.comm}:${t.pid} blocked for more than ${secs} seconds.`,
      pre: [`      Not tainted ${m.cfg.release}`, '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
        `task:${t.comm.padEnd(15)} state:D stack:0     pid:${t.pid}   tgid:${t.pid}   ppid:2      flags:0x00004000`,
        `hazsim: blocked on ${blockedOnText(m, t)} since ${fmtSecs(t.blockedSince)}`],
      frames: t.top, noCpuLine: true,
    });
    return;
  }
}

function blockedOnText(m: Machine, t: Task): string {
  return t.blockedOn === 'mutex' ? `mutex ${m.mem.fmt(t.blockedLock)}` : t.blockedOn;
}

/** No task can run and no timer is pending. */
export function deadlock(m: Machine): void {
  const blocked = m.tasks.filter((t) => !t.isIdle && t.state === TASK_UNINTERRUPTIBLE);
  const t = blocked[0] ?? m.cpus[0].curr;
  const pre = ['hazsim: no task can run and no timer is pending: every live task is blocked', 'sysrq: Show Blocked State'];
  for (const b of blocked) pre.push(`task:${b.comm.padEnd(15)} state:D pid:${b.pid} blocked on ${blockedOnText(m, b)} since ${fmtSecs(b.blockedSince)}`);
  report(m, 'deadlock', m.cpus[t.cpu], t, { headline: 'hazsim: deadlock', pre, frames: t.top, noCpuLine: true });
}

/** After a clean run: no hazard pointer may still be published. */
export function checkQuiescence(m: Machine): void {
  const leaks = m.hazptr.quiescence(m);
  if (!leaks.length) return;
  const t = m.cpus[0].curr;
  report(m, 'quiescence-leak', m.cpus[0], t, {
    headline: 'hazsim: quiescence check failed: hazard pointers still published after every task exited',
    pre: leaks, noCpuLine: true,
  });
}
