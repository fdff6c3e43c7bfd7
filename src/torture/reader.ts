// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The read side of hazptrtorture.c: hazptr_torture_reader() and what it calls
 * (the ops' readlock/read_delay/readunlock, hazptr_torture_reader_tail(),
 * hazptr_torture_defer(), and the IPI handlers hazptr_torture_acquire() and
 * hazptr_torture_release()). The detach form calls hazptr_detach() at
 * hazptrtorture.c:377, 423 and 445.
 */
import { OP_KMALLOC, ORD_ONCE, ORD_PLAIN, type KGen, type Port } from '../kernel/port.ts';
import { mdelay, udelay } from '../kernel/delay.ts';
import { llist_add } from '../kernel/llist.ts';
import { hrtimeout, nextOnline, onlineCount, rand, smp_call_function_single, stutter_wait, torture_preempt_schedule } from './lib.ts';
import { DETACH_LINE, F, S, detachFormSites } from './sites.ts';
import { HPP_HC, HPP_NODE, HT_PIPE, JIFFY, PIPE_LEN, US, type Torture } from './state.ts';

/** hazptr_torture_read_lock(): hazptr_acquire(hcpp, &hazptr_torture_current) */
function* read_lock(io: Port, t: Torture, hc: number): KGen<number> {
  io.enter(F.read_lock);
  const htp = yield t.hz.hazptr_acquire(io, hc, t.current, 0);
  io.leave();
  return htp;
}

function* read_unlock(io: Port, t: Torture, hc: number, htp: number): KGen {
  io.enter(F.read_unlock);
  if (hc) yield t.hz.hazptr_release(io, hc, htp, 0);
  io.leave();
}

function* read_delay(io: Port, t: Torture): KGen {
  io.enter(F.read_delay);
  const cpu = io.m.cpus[io.task.cpu];
  const canSleep = cpu.preemptCount === 0 && !cpu.irqsOff;
  const shortSpin = cpu.irqsOff || cpu.preemptCount >= 0x10000;
  const nr = t.nrealreaders;
  if (!(yield rand(io, nr * 2000 * 300))) yield mdelay(io, shortSpin ? 5 : 300); // mdelay(longdelay_ms)
  if (!(yield rand(io, nr * 2 * 200))) yield udelay(io, 200 * US);
  if (canSleep && !(yield rand(io, nr * 500))) yield torture_preempt_schedule(io);
  if (canSleep && t.p.reader_sleep_us > 0) yield hrtimeout(io, t.p.reader_sleep_us * US, 0);
  io.leave();
}

/** hazptr_torture_reader_tail(): the delay, the accounting, and the release (here or by IPI) */
export function* reader_tail(io: Port, t: Torture, hppp: number): KGen {
  io.enter(F.reader_tail);
  const hc = hppp + HPP_HC;
  const htp = yield io.load(hppp + t.hppHtp, ORD_PLAIN, S.tail_htp);
  yield read_delay(io, t);
  io.preempt_disable();
  let pipe = yield io.load(htp + HT_PIPE, ORD_ONCE, S.pipe);
  if (pipe > PIPE_LEN) pipe = PIPE_LEN;
  // if (pipe_count > 1) rcu_ftrace_dump(DUMP_ALL); the module counts the error in the stats print
  // (657); the pre-detach model counts it here too
  if (pipe > 1 && !t.form.asWritten) t.nError++;
  t.pipeCount[io.task.cpu][pipe]++;
  io.preempt_enable();
  if (t.p.irq_release && !(yield rand(io, t.p.irq_release))) {
    io.preempt_disable(); // guard(preempt)();
    if (t.form.detach) yield t.hz.hazptr_detach!(io, hc, DETACH_LINE.reader_tail); // hazptr_detach(&hppp->hpp_hc)
    const cpu = nextOnline(io.m, io.smp_processor_id());
    yield smp_call_function_single(io, t, cpu, (jo) => torture_release(jo, t, hppp));
    io.preempt_enable();
  } else {
    yield read_unlock(io, t, hc, htp);
    t.rel[io.task.cpu]++;
  }
  io.leave();
}

/** hazptr_torture_acquire(): the IPI handler for irq_acquire */
function* torture_acquire(io: Port, t: Torture, hppp: number): KGen {
  io.enter(F.acquire_irq);
  const htp = yield read_lock(io, t, hppp + HPP_HC);
  yield io.store(hppp + t.hppHtp, htp, ORD_PLAIN, S.store_htp_irq);
  if (t.form.detach) yield t.hz.hazptr_detach!(io, hppp + HPP_HC, DETACH_LINE.acquire_irq); // hazptr_detach(&hppp->hpp_hc)
  t.acqIrq[io.task.cpu]++;
  io.leave();
}

/** hazptr_torture_release(): the IPI handler for irq_release */
function* torture_release(io: Port, t: Torture, hppp: number): KGen {
  io.enter(F.release_irq);
  const htp = yield io.load(hppp + t.hppHtp, ORD_PLAIN, S.rel_htp);
  yield read_unlock(io, t, hppp + HPP_HC, htp);
  t.relIrq[io.task.cpu]++;
  io.leave();
}

/** hazptr_torture_defer(): hand the release to hazptr_torture_do_pending() through a CPU's list */
function* defer(io: Port, t: Torture, hppp: number): KGen {
  io.enter(F.defer);
  let cpu = yield rand(io, io.m.cfg.cpus); // torture_random(trsp) % nr_cpu_ids
  io.preempt_disable(); // guard(preempt)();
  if (t.form.detach) yield t.hz.hazptr_detach!(io, hppp + HPP_HC, DETACH_LINE.defer); // hazptr_detach(&hppp->hpp_hc)
  cpu = nextOnline(io.m, cpu);
  yield llist_add(io, hppp + HPP_NODE, io.per_cpu_ptr(t.pendingOff, cpu));
  t.relDefer[io.task.cpu]++;
  io.preempt_enable();
  io.leave();
}

export function* reader(io: Port, t: Torture, myid: number): KGen {
  io.enter(F.reader);
  const m = io.m;
  const onstack = t.p.torture_type === 'hazptr-stack';
  const canDefer = !onstack && t.p.kthread_do_pending_ms !== 0 && t.p.defer_modulus !== 0;
  const asWritten = t.form.asWritten;
  const S_reader_htp = asWritten ? detachFormSites().reader_htp : 0;
  let cpu = 0;
  // struct hazptr_pending hpp on this kthread's stack, for hazptr-stack
  const hpp = onstack ? m.stackPush(io.task, t.hppSize) : 0;
  let hppp = hpp;
  let lastsleep = Math.floor(m.now / JIFFY);
  if (t.p.verbose) m.printk(`${t.flag} hazptr_torture_reader task started`);
  m.setNice(io.task, 19); // set_user_nice(current, MAX_NICE)
  do {
    if (!hppp) hppp = yield io.op(OP_KMALLOC, S.kmalloc, t.hppSize);
    let htp = 0;
    if (t.p.irq_acquire && !(yield rand(io, t.p.irq_acquire))) {
      io.preempt_disable(); // guard(preempt)();
      cpu = nextOnline(m, cpu);
      if (cpu !== io.smp_processor_id()) {
        const target = hppp;
        yield smp_call_function_single(io, t, cpu, (jo) => torture_acquire(jo, t, target));
        // the pre-detach model reads the handler's result here, before preempt_enable()
        if (!asWritten) htp = yield io.load(hppp + t.hppHtp, ORD_PLAIN, S.tail_htp);
      } else {
        htp = yield read_lock(io, t, hppp + HPP_HC);
        yield io.store(hppp + t.hppHtp, htp, ORD_PLAIN, S.store_htp);
        t.acq[io.task.cpu]++;
      }
      io.preempt_enable();
    } else {
      htp = yield read_lock(io, t, hppp + HPP_HC);
      yield io.store(hppp + t.hppHtp, htp, ORD_PLAIN, S.store_htp);
      t.acq[io.task.cpu]++;
    }
    if (asWritten) htp = yield io.load(hppp + t.hppHtp, ORD_PLAIN, S_reader_htp); // if (!hppp->hpp_htp)
    if (!htp) {
      // Still starting up, so get out of the way.
      yield hrtimeout(io, (1e9 / 10), 0); // schedule_timeout_interruptible(HZ / 10)
      continue;
    }
    if (Math.floor(m.now / JIFFY) > lastsleep && !t.mustStop()) {
      yield hrtimeout(io, 500 * US, 1000);
      lastsleep = Math.floor(m.now / JIFFY) + 10;
    }
    if (canDefer && !(yield rand(io, t.p.defer_modulus))) {
      yield defer(io, t, hppp);
      hppp = 0;
    } else {
      yield reader_tail(io, t, hppp);
    }
    // while (!torture_must_stop() && (torture_num_online_cpus() < mynumonline || !rcu_inkernel_boot_has_ended()))
    while (!t.mustStop() && onlineCount(m) < myid % m.cfg.cpus) yield hrtimeout(io, 1e9 / 5, 0); // schedule_timeout_interruptible(HZ / 5)
    yield stutter_wait(io, t);
  } while (!t.mustStop());
  if (hpp) m.stackPop(io.task, hpp, t.hppSize, F.reader.name);
  io.leave();
}
