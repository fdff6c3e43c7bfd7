// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Runs that cannot end by themselves: endless loops proven and fast-forwarded,
 * and CPUs still stuck when the step budget runs out.
 *
 * Every PROBE_EVERY steps (machine.ts) tick() looks at whether anything
 * happened since the last look: a context switch, an interrupt, a timer. If
 * nothing did, it records the next PROBE_STEPS steps and asks loop-proof.ts
 * whether every running CPU is in an endless loop on memory only it sees.
 * If so, and no task waits for a CPU that could be preempted, nothing changes
 * until the next timer: the machine moves the clock there at once, or to the
 * soft-lockup watchdog's report if that comes first, or to the hung-task
 * detector's. With no timer at all the run can never end: an endless-loop
 * report.
 *
 * When the budget runs out, a CPU that has passed no scheduling point during
 * the whole second half of the budget is reported as stalled at budget, with
 * where it spins: a run that ends so has not shown the absence of a bug.
 */
import { EV_HUNG_CHECK } from './events.ts';
import { OP_UDELAY } from './port.ts';
import { findLoops, ProbeBuffer, PROBE_STEPS, type Loop } from './loop-proof.ts';
import type { Machine } from './machine.ts';
import { fmtSecs, report } from './reports.ts';
import { functions, sites } from './sites.ts';
import { TASK_UNINTERRUPTIBLE } from './task.ts';
import { fireEvents } from './timers.ts';
import { softLockup, softLockupAt } from './watchdogs.ts';

interface ProbeState {
  buf: ProbeBuffer;
  /** switches + irqs + fired events at the last tick */
  mark: number;
  /** the mark when the probe started: anything that moves it spoils the probe */
  startMark: number;
  /** simulated time at the middle of the probe (the analysed half starts there) */
  midNs: number;
}

const state = new WeakMap<Machine, ProbeState>();

function markOf(m: Machine): number {
  return m.stats.switches + m.stats.irqs + m.firedEvents;
}

/** Called by the step loop every `every` steps, and as soon as a probe is full. */
export function tick(m: Machine, every: number): void {
  const half = Math.floor(m.cfg.maxSteps / 2);
  if (m.halfBudgetNs < 0 && m.steps >= half) m.halfBudgetNs = m.now;
  m.nextProbe = m.halfBudgetNs < 0 ? Math.min(m.steps + every, half) : m.steps + every;
  let st = state.get(m);
  if (!st) state.set(m, (st = { buf: new ProbeBuffer(), mark: -1, startMark: -1, midNs: 0 }));
  if (m.probe) {
    if (m.probe.full) prove(m, st);
    return;
  }
  const mark = markOf(m);
  if (mark === st.mark) {
    st.buf.n = 0;
    st.startMark = mark;
    m.probe = st.buf;
  }
  st.mark = mark;
}

/** One recorded step (machine.recordAt, while probing). */
export function probeStep(m: Machine, cpu: number, site: number, kind: number, addr: number, val: number): void {
  const b = m.probe!;
  if (b.full) return;
  const f = m.cpus[cpu].curr.top;
  b.add(cpu, site, kind, addr, val, Math.min(f.low, f.depth));
  f.low = f.depth;
  if (b.n === PROBE_STEPS >> 1) state.get(m)!.midNs = m.now;
  if (b.full) m.nextProbe = m.steps + 1; // prove at the next step boundary
}

/** The function a loop iterates in: the innermost frame that stayed live through the analysed steps (Loop.depth). */
function loopFn(m: Machine, l: Loop): string {
  return functions[m.cpus[l.cpu].curr.top.fns[l.depth - 1]].name;
}

function prove(m: Machine, st: ProbeState): void {
  const b = st.buf;
  m.probe = null;
  if (markOf(m) !== st.startMark) return;
  const cpus = new Set<number>();
  for (let i = b.n >> 1; i < b.n; i++) cpus.add(b.cpu[i]);
  // every CPU that could step must be one of the loops (a strategy that starved one proves nothing)
  for (const c of m.cpus) if (m.isEligible(c.id) && !cpus.has(c.id)) return;
  // x86-TSO: a store buffered before the analysed half (or at its first instant: midNs is stamped by the last
  // step of the first half) may still reach memory and end a loop; stores made inside it were recorded as
  // steps, and rule 3 of loop-proof.ts covers them
  for (const b of m.sb) for (let k = 0; k < b.n; k++) if (b.time[b.at(k)] <= st.midNs) return;
  const loops = findLoops(b, [...cpus], (c, depth) => {
    const f = m.cpus[c].curr.top;
    return depth <= f.depth && functions[f.fns[depth - 1]].memoryDriven;
  });
  if (!loops) return;
  // a task waiting for one of these CPUs could preempt a loop that passes a scheduling point
  const schedPoint = (l: Loop) => m.cpus[l.cpu].lastResched >= st.midNs;
  if (m.nWaiting > 0 && loops.some(schedPoint)) return;
  const h = m.cfg.hungTaskNs;
  let hungAt = Infinity;
  if (h > 0 && isFinite(h)) {
    for (const t of m.tasks) {
      if (t.isIdle || t.state !== TASK_UNINTERRUPTIBLE || t.blockedOn === 'sleep') continue;
      hungAt = Math.min(hungAt, Math.ceil((t.blockedSince + h) / (h / 2)) * (h / 2));
    }
  }
  let softAt = Infinity;
  let softCpu = -1;
  for (const l of loops) {
    if (schedPoint(l)) continue;
    const at = softLockupAt(m, m.cpus[l.cpu].lastResched);
    if (at < softAt) [softAt, softCpu] = [at, l.cpu];
  }
  const evAt = m.events.nextAtExcept(EV_HUNG_CHECK);
  let target = Math.min(evAt, hungAt, softAt);
  const where = loops.map((l) => `CPU${l.cpu} ${m.cpus[l.cpu].curr.comm}/${m.cpus[l.cpu].curr.pid} in ${loopFn(m, l)} (${l.period} steps)`).join(', ');
  if (target === Infinity) {
    endlessLoop(m, loops);
    return;
  }
  if (target > m.cfg.maxTimeNs) target = m.cfg.maxTimeNs;
  if (target <= m.now) return;
  const why = target === softAt ? `the soft-lockup watchdog's check on CPU${softCpu}` : target === hungAt ? "khungtaskd's check" : 'the next timer';
  m.printk(`hazsim: endless loop: ${where}: every iteration repeats the last exactly and nothing else changes; clock advanced ${((target - m.now) / 1e9).toFixed(6)} s to ${why}`);
  m.stats.skippedNs += target - m.now;
  m.now = target;
  m.eligDirty = true;
  if (target === softAt) {
    softLockup(m, m.cpus[softCpu]);
    return;
  }
  if (m.now >= m.events.nextAt) fireEvents(m);
}

/** No timer, no task to wake, no watchdog: the loops run for ever and the kernel prints nothing. */
function endlessLoop(m: Machine, loops: Loop[]): void {
  const l = loops[0];
  const cpu = m.cpus[l.cpu];
  const t = cpu.curr;
  const pre = loops.map((x) => `hazsim: CPU${x.cpu} (${m.cpus[x.cpu].curr.comm}/${m.cpus[x.cpu].curr.pid}) repeats ${x.period} steps for ever: ${[...new Set(x.sites.map((s) => `${sites[s].fn.name}: ${sites[s].desc}`))].join('; ')}`);
  pre.push('hazsim: no timer is pending and no task can be woken; every such loop passes a scheduling point, so neither the soft-lockup watchdog nor khungtaskd would ever report it: the machine hangs silently');
  report(m, 'endless-loop', cpu, t, {
    headline: `hazsim: endless loop on ${loops.map((x) => `CPU${x.cpu}`).join(', ')} in ${loopFn(m, l)}`,
    pre, ripSite: t.top.site, frames: t.top,
  });
}

/**
 * The budget is used up: a CPU that has passed no scheduling point since the
 * steps reached half the budget, and is not simply inside udelay(), is stalled.
 */
export function stallAtBudget(m: Machine): void {
  if (m.halfBudgetNs < 0 || m.bug) return;
  let worst = -1;
  for (const c of m.cpus) {
    const t = c.curr;
    if (!c.online || t.isIdle || c.lastResched > m.halfBudgetNs) continue;
    if (c.busyUntil > m.now && t.top.kind === OP_UDELAY) continue;
    if (worst < 0 || c.lastResched < m.cpus[worst].lastResched) worst = c.id;
  }
  if (worst < 0) return;
  const cpu = m.cpus[worst];
  const t = cpu.curr;
  const fn = sites[t.top.site].fn.name;
  // a CPU in a long udelay()/mdelay() may be what the spinning one waits for
  const busy = m.cpus.filter((c) => c.online && c.busyUntil > m.now && c.curr.top.kind === OP_UDELAY)
    .map((c) => `hazsim: CPU${c.id} ${c.curr.comm}/${c.curr.pid} is inside udelay()/mdelay() until at least ${fmtSecs(c.busyUntil)}: CPU${cpu.id} may be waiting for it`);
  report(m, 'stalled-at-budget', cpu, t, {
    headline: `hazsim: step budget exhausted while CPU${cpu.id} spins in ${fn} (no scheduling point since ${fmtSecs(cpu.lastResched)})`,
    pre: [`hazsim: ${t.comm}/${t.pid} has run on CPU${cpu.id} without passing a scheduling point for ${((m.now - cpu.lastResched) / 1e6).toFixed(3)} ms, the whole second half of the budget; more steps (--steps) or a lower limits.soft_lockup_ms would show whether it ever gets out`, ...busy],
    ripSite: t.top.site, frames: t.top,
  });
}
