// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The update side of hazptrtorture.c: hazptr_torture_writer() and its pipe
 * update. The free list and the removed list are JS state (touched by the
 * writer alone); the pipe counts and hazptr_torture_current are memory.
 */
import { ORD_ONCE, ORD_PLAIN, ORD_RELEASE, ORD_WMB, type KGen, type Port } from '../kernel/port.ts';
import { report, warnHeadline } from '../kernel/reports.ts';
import { udelay } from '../kernel/delay.ts';
import { hrtimeout, rand, stutter_wait } from './lib.ts';
import { DETACH_LINE, F, S, T, detachFormSites } from './sites.ts';
import { HT_PIPE, PIPE_LEN, US, type Torture } from './state.ts';

function* pipe_update(io: Port, t: Torture, old: number): KGen {
  io.enter(F.pipe_update);
  if (old) t.removed.unshift(old); // list_add(&old_rp->htort_free, &hazptr_torture_removed)
  for (const rp of [...t.removed]) {
    let i = yield io.load(rp + HT_PIPE, ORD_PLAIN, S.pu_ld);
    if (i > PIPE_LEN) i = PIPE_LEN;
    t.wcount[i]++;
    yield io.store(rp + HT_PIPE, i + 1, ORD_ONCE, S.pu_st);
    if (i + 1 >= PIPE_LEN) {
      t.removed.splice(t.removed.indexOf(rp), 1);
      t.nFree++;
      t.freelist.push(rp); // hazptr_torture_free(): list_add_tail
    }
  }
  io.leave();
}

/**
 * hazptrtorture.c:347-355, after a stutter wait (the detach form; the
 * pre-detach model has no such check): an element of the pool that is on
 * neither list (list_empty(&htort_free), JS state here, no step) must be
 * hazptr_torture_current (READ_ONCE, a load). Only the current element is, so
 * this is one load; the WARN would need hazptr_torture_current overwritten.
 */
function* checkPool(io: Port, t: Torture): KGen {
  for (const rp of t.pool) {
    if (t.freelist.includes(rp) || t.removed.includes(rp)) continue;
    if ((yield io.load(t.current, ORD_ONCE, detachFormSites().w_check)) === rp) continue;
    // tracing_off(); WARN(1, "%s: htort_pipe_count: %d\n", __func__, ...); rcu_ftrace_dump(DUMP_ALL); break;
    report(io.m, 'writer-stall', io.m.cpus[io.task.cpu], io.task, {
      lead: ['------------[ cut here ]------------', `hazptr_torture_writer: htort_pipe_count: ${io.m.seen(io, rp + HT_PIPE)}`],
      headline: warnHeadline(io, T, DETACH_LINE.writer_warn),
      frames: io,
      ripLine: DETACH_LINE.writer_warn,
    });
    return;
  }
}

export function* writer(io: Port, t: Torture): KGen {
  io.enter(F.writer);
  const m = io.m;
  if (t.p.verbose) m.printk(`${t.flag} hazptr_torture_writer task started`);
  do {
    t.writerState = 0;
    yield hrtimeout(io, 500 * US, 1000);
    if (!t.freelist.length) {
      t.nAllocFail++;
      continue;
    }
    t.nAlloc++;
    const rp = t.freelist.shift()!;
    yield io.store(rp + HT_PIPE, 0, ORD_PLAIN, S.w_pipe0);
    t.writerState = 1;
    yield udelay(io, ((yield rand(io, 0x400)) as number) * US, S.w_udelay);
    t.writerState = 2;
    const old = yield io.load(t.current, ORD_ONCE, S.w_old);
    yield io.store(t.current, rp, ORD_RELEASE, S.w_publish);
    yield io.fence(S.w_wmb, ORD_WMB);
    if (old) {
      let i = yield io.load(old + HT_PIPE, ORD_PLAIN, S.w_pipe_i);
      if (i > PIPE_LEN) i = PIPE_LEN;
      t.wcount[i]++;
      const c = yield io.load(old + HT_PIPE, ORD_PLAIN, S.w_pipe_inc_ld);
      yield io.store(old + HT_PIPE, c + 1, ORD_ONCE, S.w_pipe_inc_st);
      t.writerState = 3;
      t.syncSince = io.m.now;
      yield t.hz.hazptr_synchronize(io, old, 0);
      yield pipe_update(io, t, old);
    }
    t.version++;
    t.writerState = 4;
    const waited = yield stutter_wait(io, t);
    if (waited && !t.mustStop() && t.form.asWritten) yield checkPool(io, t);
    // if (stutter_waited) sched_set_normal(current, oldnice): the writer's nice stays 0 here
  } while (!t.mustStop());
  yield io.store(t.current, 0, ORD_PLAIN, S.w_current_null);
  t.writerState = 5;
  io.leave();
}
