// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The module's functions and sites. Site ids are given in registration order
 * and feed the schedule digest, so this one file registers every site the
 * model had when it was a single module (src/scenario/torture.ts), in that
 * order, when it is first imported. The sites only the detach form has come
 * after every module's, on that form's first use (detachFormSites()).
 *
 * Site lines are 0 where the model has no line (the pre-detach form's module
 * text is not at hand); the lines the detach form adds are those of
 * ../shared/reference/hazptrtorture-detach.c.
 */
import { kfunc, memoryDriven, site } from '../kernel/sites.ts';
import { F_udelay } from '../kernel/delay.ts';

export const T = 'kernel/rcu/hazptrtorture.c';
export const F = {
  reader: kfunc('hazptr_torture_reader', T),
  reader_tail: kfunc('hazptr_torture_reader_tail', T),
  read_delay: kfunc('hazptr_read_delay', T),
  read_lock: kfunc('hazptr_torture_read_lock', T),
  read_unlock: kfunc('hazptr_torture_read_unlock', T),
  defer: kfunc('hazptr_torture_defer', T),
  acquire_irq: kfunc('hazptr_torture_acquire', T),
  release_irq: kfunc('hazptr_torture_release', T),
  writer: kfunc('hazptr_torture_writer', T),
  pipe_update: kfunc('hazptr_torture_pipe_update', T),
  do_pending: kfunc('hazptr_torture_do_pending', T),
  do_one_pending: kfunc('hazptr_torture_do_one_pending', T),
  stats: kfunc('hazptr_torture_stats', T),
  shutdown: kfunc('torture_shutdown', 'kernel/torture.c'),
  smp_call: kfunc('smp_call_function_single', 'kernel/smp.c'),
  hrtimeout: kfunc('torture_hrtimeout_ns', 'kernel/torture.c'),
  stutter_wait: kfunc('stutter_wait', 'kernel/torture.c'),
  kmalloc: kfunc('__kmalloc_cache_noprof', 'mm/slub.c'),
};
// the csd wait ends only on the values it loads (loop-proof.ts); llist_add's retry: src/kernel/llist.ts
memoryDriven(F.smp_call);
export const S = {
  rand: site(F.reader, 0, 'torture_random(&rand)', 'torture_random'),
  kmalloc: site(F.reader, 0, 'hppp = kmalloc_obj(*hppp, GFP_KERNEL);', 'kmalloc'),
  store_htp: site(F.reader, 0, 'hppp->hpp_htp = cur_ops->readlock(&hppp->hpp_hc);', 'store hppp->hpp_htp'),
  store_htp_irq: site(F.acquire_irq, 0, 'hppp->hpp_htp = cur_ops->readlock(&hppp->hpp_hc);', 'store hppp->hpp_htp'),
  tail_htp: site(F.reader_tail, 0, 'struct hazptr_torture *htp = hppp->hpp_htp;', 'load hppp->hpp_htp'),
  pipe: site(F.reader_tail, 0, 'pipe_count = READ_ONCE(htp->htort_pipe_count);', 'load htp->htort_pipe_count'),
  rel_htp: site(F.release_irq, 0, 'cur_ops->readunlock(&hppp->hpp_hc, hppp->hpp_htp);', 'load hppp->hpp_htp'),
  ll_walk: site(F.do_one_pending, 0, 'llist_for_each_entry_safe(hppp, hppp1, llnp, hpp_node)', 'load hppp->hpp_node.next'),
  kfree: site(F.do_one_pending, 0, 'kfree(hppp);', 'kfree'),
  csd_lock: site(F.smp_call, 0, 'csd_lock(csd);', 'store csd->flags = CSD_FLAG_LOCK'),
  csd_wait: site(F.smp_call, 0, 'csd_lock_wait(csd);', 'load-acquire csd->flags'),
  csd_relax: site(F.smp_call, 0, 'csd_lock_wait(csd);', 'cpu_relax'),
  w_pipe0: site(F.writer, 0, 'rp->htort_pipe_count = 0;', 'store rp->htort_pipe_count = 0'),
  w_udelay: site(F_udelay, 0, 'udelay(torture_random(&rand) & 0x3ff);', 'udelay'),
  w_old: site(F.writer, 0, 'old_rp = READ_ONCE(hazptr_torture_current);', 'load hazptr_torture_current'),
  w_publish: site(F.writer, 0, 'smp_store_release(&hazptr_torture_current, rp); // Publish new structure.', 'store-release hazptr_torture_current = rp'),
  w_wmb: site(F.writer, 0, 'smp_wmb(); /* Mods to old_rp must follow smp_store_release() */', 'smp_wmb'),
  w_pipe_i: site(F.writer, 0, 'i = old_rp->htort_pipe_count;', 'load old_rp->htort_pipe_count'),
  w_pipe_inc_ld: site(F.writer, 0, 'WRITE_ONCE(old_rp->htort_pipe_count, old_rp->htort_pipe_count + 1);', 'load old_rp->htort_pipe_count'),
  w_pipe_inc_st: site(F.writer, 0, 'WRITE_ONCE(old_rp->htort_pipe_count, old_rp->htort_pipe_count + 1);', 'store old_rp->htort_pipe_count'),
  pu_ld: site(F.pipe_update, 0, 'i = rp->htort_pipe_count;', 'load rp->htort_pipe_count'),
  pu_st: site(F.pipe_update, 0, 'WRITE_ONCE(rp->htort_pipe_count, i + 1);', 'store rp->htort_pipe_count'),
  w_current_null: site(F.writer, 0, 'hazptr_torture_current = NULL;', 'store hazptr_torture_current = NULL'),
  sleep: site(F.hrtimeout, 0, 'schedule_hrtimeout(&ktime, HRTIMER_MODE_REL_HARD)', 'sleep'),
  stats: site(F.stats, 0, 'hazptr_torture_stats_print();', 'stats'),
};

// registered here, after S, where the single module registered them
export const F_preempt_schedule = kfunc('preempt_schedule', 'kernel/sched/core.c');
export const F_preempt_task = kfunc('hazptr_torture_preempt', T);
export const F_onoff = kfunc('torture_onoff', 'kernel/torture.c');
export const F_remove_cpu = kfunc('remove_cpu', 'kernel/cpu.c');
export const S_onoff = site(F_onoff, 0, 'cpu = (torture_random(&rand) >> 4) % (maxcpu + 1);', 'pick a CPU');

/** Lines of ../shared/reference/hazptrtorture-detach.c the detach form cites. */
export const DETACH_LINE = {
  /** hazptr_torture_acquire(): hazptr_detach(&hppp->hpp_hc) after readlock */
  acquire_irq: 377,
  /** hazptr_torture_reader_tail(): hazptr_detach(&hppp->hpp_hc) before the IPI release */
  reader_tail: 423,
  /** hazptr_torture_defer(): hazptr_detach(&hppp->hpp_hc) before llist_add() */
  defer: 445,
  /** hazptr_torture_writer(): WARN(1, "%s: htort_pipe_count: %d\n", ...) after a stutter wait */
  writer_warn: 352,
  /** hazptr_torture_stats_print(): WARN_ON_ONCE(i > 1); // Too-short grace period */
  stats_warn: 658,
};

function defineDetachFormSites() {
  return {
    /** hazptrtorture.c:495: the reader tests the field, not a local (after its guard(preempt) scope) */
    reader_htp: site(F.reader, 495, 'if (!hppp->hpp_htp) {', 'load hppp->hpp_htp'),
    /** hazptrtorture.c:350: the element whose htort_free is empty must be the current one */
    w_check: site(F.writer, 350, 'READ_ONCE(hazptr_torture_current) != &hazptr_tortures[i]) {', 'load hazptr_torture_current'),
  };
}

let detachForm: ReturnType<typeof defineDetachFormSites> | undefined;
/** The detach form's own sites, registered on its first use: after every module's, so no existing site id moves. */
export function detachFormSites(): ReturnType<typeof defineDetachFormSites> {
  return (detachForm ??= defineDetachFormSites());
}
