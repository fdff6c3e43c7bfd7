/**
 * The hazptrtorture workload: kernel/rcu/hazptrtorture.c (the -rcu commits
 * listed in the v5 review thread) as it stood when the crash was reported,
 * that is before hazptr_detach() existed. Readers, the writer, the deferred-
 * release kthread, the statistics kthread and the shutdown path are kernel
 * code like the rest: every access to shared memory is a step.
 *
 * Kept beside memory, as plain JS state: the writer's free list and removed
 * list (touched by the writer alone), the statistics counters (per-CPU and
 * atomics, only summed for printing), and torture_must_stop()/stutter state.
 * CPU hotplug (onoff_interval) is modelled by the machine's cpuDown/cpuUp, and
 * torture_shuffle (shuffle_interval) by a machine timer that changes the
 * torture kthreads' affinity (a timer, not a kthread, so that runs shorter than
 * shuffle_interval are scheduled exactly as without it).
 */
import type { Machine, MachineConfig } from '../kernel/machine.ts';
import type { Memory } from '../kernel/memory.ts';
import {
  OP_KFREE, OP_KMALLOC, OP_NOP, OP_RAND, OP_RELAX, OP_SLEEP, ORD_ACQUIRE, ORD_ONCE,
  ORD_PLAIN, ORD_RELEASE, type KGen, type Port,
} from '../kernel/port.ts';
import { kfunc, memoryDriven, site } from '../kernel/sites.ts';
import { hashPtr } from '../kernel/addr.ts';
import { F_udelay, mdelay, udelay } from '../kernel/delay.ts';
import { cond_resched, preempt_schedule_common, schedule } from '../sched/core.ts';
import type { HazptrVersion } from '../hazptr/version.ts';

export interface TortureParams {
  torture_type: 'hazptr' | 'hazptr-stack';
  nreaders: number;
  nwriters: number;
  defer_modulus: number;
  irq_acquire: number;
  irq_release: number;
  kthread_do_pending_ms: number;
  onoff_holdoff: number;
  onoff_interval: number;
  preempt_duration: number;
  preempt_interval: number;
  reader_sleep_us: number;
  shuffle_interval: number;
  shutdown_secs: number;
  stat_interval: number;
  stutter: number;
  verbose: number;
}

/** The module's parameters and their defaults (torture_param() lines of hazptrtorture.c). */
export const TORTURE_DEFAULTS: TortureParams = {
  torture_type: 'hazptr',
  nreaders: -1,
  nwriters: 1,
  defer_modulus: -1,
  irq_acquire: -1,
  irq_release: -1,
  kthread_do_pending_ms: -1,
  onoff_holdoff: 0,
  onoff_interval: 0,
  preempt_duration: 0,
  preempt_interval: 1000,
  reader_sleep_us: 0,
  shuffle_interval: 3,
  shutdown_secs: 0,
  stat_interval: 60,
  stutter: 5,
  verbose: 1,
};

export class TortureRefused extends Error {}

/**
 * What hazptr_torture_init() and hazptr_torture_do_pending_init() do with the
 * parameters: resolve the -1 defaults, and refuse what the module refuses.
 */
export function resolveParams(p: TortureParams, nrCpuIds: number): TortureParams {
  const r = { ...p };
  const onstack = r.torture_type === 'hazptr-stack';
  if (r.kthread_do_pending_ms === -1) r.kthread_do_pending_ms = onstack || r.defer_modulus === 0 ? 0 : 3;
  if (r.defer_modulus === -1) r.defer_modulus = onstack || r.kthread_do_pending_ms === 0 ? 0 : 1000 * nrCpuIds;
  if (r.kthread_do_pending_ms < 0) throw new TortureRefused('Cannot have negative kthread_do_pending_ms, disabling deferral.');
  if (onstack && r.kthread_do_pending_ms) throw new TortureRefused('Cannot defer onstack hazptr_ctx, disabling deferral.');
  if (r.defer_modulus < 0) throw new TortureRefused(`Cannot have negative defer_modulus (${r.defer_modulus}), disabling deferral.`);
  if (!r.kthread_do_pending_ms !== !r.defer_modulus) {
    throw new TortureRefused(`Pending kthread (${r.kthread_do_pending_ms}) & deferral (${r.defer_modulus}) don't match, disabling deferral.`);
  }
  if (r.irq_acquire === -1) r.irq_acquire = 1000 * nrCpuIds;
  else if (r.irq_acquire < 0) throw new TortureRefused(`Cannot have irq_acquire (${r.irq_acquire}) < -1, disabling.`);
  if (r.irq_release === -1) r.irq_release = 1000 * nrCpuIds;
  else if (r.irq_release < 0) throw new TortureRefused(`Cannot have irq_release (${r.irq_release}) < -1, disabling.`);
  if (r.nwriters !== 0 && r.nwriters !== 1) throw new TortureRefused(`nwriters is a bool parameter: 0 or 1, not ${r.nwriters}`);
  if (r.stutter < 0) r.stutter = 0;
  return r;
}

const T = 'kernel/rcu/hazptrtorture.c';
const F = {
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
  llist_add: kfunc('llist_add', 'include/linux/llist.h', true),
  llist_del_all: kfunc('llist_del_all', 'include/linux/llist.h', true),
  hrtimeout: kfunc('torture_hrtimeout_ns', 'kernel/torture.c'),
  stutter_wait: kfunc('stutter_wait', 'kernel/torture.c'),
  kmalloc: kfunc('__kmalloc_cache_noprof', 'mm/slub.c'),
};
// the csd wait and the llist_add cmpxchg retry end only on the values they load (loop-proof.ts)
memoryDriven(F.smp_call, F.llist_add);
const S = {
  rand: site(F.reader, 0, 'torture_random(&rand)', 'torture_random'),
  kmalloc: site(F.reader, 0, 'hppp = kmalloc_obj(*hppp, GFP_KERNEL);', 'kmalloc'),
  store_htp: site(F.reader, 0, 'hppp->hpp_htp = cur_ops->readlock(&hppp->hpp_hc);', 'store hppp->hpp_htp'),
  store_htp_irq: site(F.acquire_irq, 0, 'hppp->hpp_htp = cur_ops->readlock(&hppp->hpp_hc);', 'store hppp->hpp_htp'),
  tail_htp: site(F.reader_tail, 0, 'struct hazptr_torture *htp = hppp->hpp_htp;', 'load hppp->hpp_htp'),
  pipe: site(F.reader_tail, 0, 'pipe_count = READ_ONCE(htp->htort_pipe_count);', 'load htp->htort_pipe_count'),
  rel_htp: site(F.release_irq, 0, 'cur_ops->readunlock(&hppp->hpp_hc, hppp->hpp_htp);', 'load hppp->hpp_htp'),
  ll_first: site(F.llist_add, 0, 'first = READ_ONCE(head->first);', 'load head->first'),
  ll_next: site(F.llist_add, 0, 'new_last->next = first;', 'store new->next'),
  ll_cmpxchg: site(F.llist_add, 0, 'try_cmpxchg(&head->first, &first, new_first)', 'cmpxchg head->first'),
  ll_xchg: site(F.llist_del_all, 0, 'return xchg(&head->first, NULL);', 'xchg head->first = NULL'),
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

const PIPE_LEN = 10;
const POOL = 10 * PIPE_LEN;
const HT_SIZE = 32; // struct hazptr_torture { void *obj_hazptr; int htort_pipe_count; struct list_head htort_free; }
const HT_PIPE = 8;
// struct hazptr_pending { struct llist_node hpp_node; struct hazptr_ctx hpp_hc; struct hazptr_torture *hpp_htp; }
const HPP_NODE = 0;
const HPP_HC = 8;
// hpp_htp follows the ctx, whose size is the version's (56 bytes; 80 with CONFIG_HAZPTR_DEBUG): set by startTorture()
let HPP_HTP = HPP_HC + 56;
let HPP_SIZE = HPP_HTP + 8;
const MS = 1e6;
const US = 1e3;
const HZ = 1000; // CONFIG_HZ_1000
const JIFFY = 1e9 / HZ;

const WRITER_STATES = ['HTWS_FIXED_DELAY', 'HTWS_DELAY', 'HTWS_REPLACE', 'HTWS_SYNC', 'HTWS_STUTTER', 'HTWS_STOPPING'];

/** Everything the module keeps, for one run. */
class Torture {
  readonly p: TortureParams;
  nrealreaders = 0;
  current = 0; // &hazptr_torture_current
  pool: number[] = [];
  freelist: number[] = [];
  removed: number[] = [];
  pendingOff = 0; // per-CPU llist_head hazptr_pending
  version = 0;
  writerState = 0;
  writerTask = -1;
  /** when the writer last entered HTWS_SYNC (hazptr_synchronize()) */
  syncSince = 0;
  stopping = false;
  live = 0;
  nAlloc = 0;
  nAllocFail = 0;
  nFree = 0;
  nError = 0;
  pipeCount: number[][] = [];
  wcount = new Array(PIPE_LEN + 1).fill(0);
  acq: number[] = [];
  rel: number[] = [];
  acqIrq: number[] = [];
  relIrq: number[] = [];
  relDefer: number[] = [];
  relUndefer: number[] = [];
  rtcvSnap = -1;
  splatted = false;
  csd = new Map<number, number>(); // task id -> its csd word
  // torture_onoff statistics (kernel/torture.c)
  onoff = { nOffAttempts: 0, nOffSuccesses: 0, sumOff: 0, minOff: -1, maxOff: 0, nOnAttempts: 0, nOnSuccesses: 0, sumOn: 0, minOn: -1, maxOn: 0 };

  constructor(p: TortureParams, readonly m: Machine, readonly hz: HazptrVersion) {
    this.p = p;
    const n = m.cfg.cpus;
    for (const a of [this.acq, this.rel, this.acqIrq, this.relIrq, this.relDefer, this.relUndefer]) for (let c = 0; c < n; c++) a.push(0);
    for (let c = 0; c < n; c++) this.pipeCount.push(new Array(PIPE_LEN + 1).fill(0));
  }

  get flag(): string {
    return `${this.p.torture_type}-torture:`;
  }

  mustStop(): boolean {
    return this.stopping;
  }

  /** torture stutter: run for `stutter` seconds, then pause for as long. */
  stutterPaused(now: number): boolean {
    const s = this.p.stutter;
    if (s <= 1) return false;
    return Math.floor(now / (s * 1e9)) % 2 === 1;
  }

  stutterResumeAt(now: number): number {
    const S2 = this.p.stutter * 1e9;
    return (Math.floor(now / S2) + 1) * S2;
  }

  printParms(tag: string): string {
    const p = this.p;
    return `${this.flag}--- ${tag}: nreaders=${this.nrealreaders} nwriters=${p.nwriters} defer_modulus=${p.defer_modulus} irq_acquire=${p.irq_acquire} irq_release=${p.irq_release} kthread_do_pending_ms=${p.kthread_do_pending_ms} onoff_interval=${p.onoff_interval} onoff_holdoff=${p.onoff_holdoff} preempt_duration=${p.preempt_duration} preempt_interval=${p.preempt_interval} reader_sleep_us=${p.reader_sleep_us} shuffle_interval=${p.shuffle_interval} shutdown_secs=${p.shutdown_secs} stat_interval=${p.stat_interval} stutter=${p.stutter} verbose=${p.verbose}`;
  }
}


const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

export function defineTorturePercpu(mem: Memory): number {
  return mem.definePercpu(8, 8); // DEFINE_PER_CPU(struct llist_head, hazptr_pending)
}

/** Set up the module's state and kthreads on a machine (hazptr_torture_init()). */
export function startTorture(m: Machine, p: TortureParams, pendingOff: number): void {
  HPP_HTP = HPP_HC + m.hazptr.ctxSize;
  HPP_SIZE = HPP_HTP + 8;
  const t = new Torture(p, m, m.hazptr);
  t.pendingOff = pendingOff;
  t.nrealreaders = p.nreaders >= 0 ? p.nreaders : Math.max(1, m.cfg.cpus * -p.nreaders);
  t.current = m.mem.allocStatic(8);
  for (let i = 0; i < POOL; i++) {
    const a = m.mem.allocStatic(HT_SIZE);
    t.pool.push(a);
    t.freelist.push(a);
  }
  m.printk(t.printParms('Start of test'));
  const registered: number[] = []; // torture_shuffle_task_register(), done by torture_create_kthread()
  const spawn = (name: string, fn: (io: Port) => KGen) => {
    t.live++;
    const task = m.spawn(name, function* (io) {
      yield fn(io);
      t.live--;
    });
    t.csd.set(task.id, m.mem.allocStatic(8));
    registered.push(task.id);
    return task;
  };
  if (p.kthread_do_pending_ms) spawn('hazptr_torture_do_pending', (io) => do_pending(io, t));
  for (let i = 0; i < t.nrealreaders; i++) spawn('hazptr_torture_reader', (io) => reader(io, t, i));
  if (p.nwriters) t.writerTask = spawn('hazptr_torture_writer', (io) => writer(io, t)).id;
  if (p.onoff_interval > 0 && m.cfg.cpus > 1) spawn('torture_onoff', (io) => onoff(io, t));
  if (p.stat_interval > 0) spawn('hazptr_torture_stats', (io) => stats(io, t));
  registered.push(m.spawn('torture_shutdown', (io) => shutdown(io, t)).id);
  if (p.preempt_duration > 0) spawn('hazptr_torture_preempt', (io) => preemptTask(io, t));
  if (p.shuffle_interval > 0) {
    // torture_shuffle(): every shuffle_interval seconds, let the next CPU go idle
    let idleCpu = -1;
    const shuffle = () => {
      if (t.mustStop()) return;
      if (m.cpus.filter((c) => c.online).length > 1) {
        idleCpu = idleCpu + 1 >= m.cfg.cpus ? -1 : idleCpu + 1; // cpumask_next(); past the last: none idled
        m.excludeCpu(registered, idleCpu);
      }
      m.addTimer(m.now + p.shuffle_interval * 1e9, shuffle);
    };
    m.addTimer(p.shuffle_interval * 1e9, shuffle);
  }
}

export function tortureMachineOverrides(): Partial<MachineConfig> {
  // The module leaves deferred hazard pointers unreleased when it stops
  // (hazptr_torture_do_pending() exits on torture_must_stop() without a last pass),
  // so the end-of-run quiescence check would only report that.
  return { quiescence: false };
}

// ---- helpers ------------------------------------------------------------------------

function* rand(io: Port, n: number): KGen<number> {
  return n <= 1 ? 0 : yield io.op(OP_RAND, S.rand, n);
}

/** torture_hrtimeout_ns(): sleep base + a random fuzz. */
function* hrtimeout(io: Port, baseNs: number, fuzzNs: number): KGen {
  io.enter(F.hrtimeout);
  io.m.mightSleep(io, F.hrtimeout.file);
  const fuzz = fuzzNs > 1 ? yield io.op(OP_RAND, S.rand, fuzzNs) : 0;
  yield io.op(OP_SLEEP, S.sleep, baseNs + fuzz);
  yield schedule(io);
  io.leave();
}


/**
 * stutter_wait() of kernel/torture.c: cond_resched_tasks_rcu_qs() (a voluntary
 * scheduling point under PREEMPT_NONE, nothing more under PREEMPT), then, while
 * the test is paused, sleep until the absolute end of the pause.
 */
function* stutter_wait(io: Port, t: Torture): KGen<boolean> {
  io.enter(F.stutter_wait);
  yield cond_resched(io); // cond_resched_tasks_rcu_qs(): rcu_tasks_qs(current, false); cond_resched();
  let ret = false;
  if (!t.mustStop() && t.stutterPaused(io.m.now)) {
    yield hrtimeout(io, t.stutterResumeAt(io.m.now) - io.m.now, 0);
    ret = true;
  }
  io.leave();
  return ret;
}

/**
 * torture_num_online_cpus(): kernel/torture.c's torture_online_cpus, which starts at NR_CPUS and
 * moves with torture_offline()/torture_online() only. With NR_CPUS = nr_cpu_ids (a kernel built for
 * this machine) and torture_onoff the only hotplug actor, that is the number of online CPUs.
 */
function onlineCount(m: Machine): number {
  let n = 0;
  for (let c = 0; c < m.cfg.cpus; c++) if (m.cpuIsOnline(c)) n++;
  return n;
}

/** cpumask_next_wrap(cpu, cpu_online_mask) */
function nextOnline(m: Machine, cpu: number): number {
  for (let k = 1; k <= m.cfg.cpus; k++) {
    const c = (cpu + k) % m.cfg.cpus;
    if (m.cpuIsOnline(c)) return c;
  }
  return cpu;
}

/** smp_call_function_single(cpu, fn, info, wait=1), with preemption already disabled by the caller. */
function* smp_call_function_single(io: Port, t: Torture, cpu: number, fn: (io: Port) => KGen): KGen {
  io.enter(F.smp_call);
  if (cpu === io.smp_processor_id()) {
    const flags = io.local_irq_save();
    yield fn(io);
    io.local_irq_restore(flags);
    io.leave();
    return;
  }
  const csd = t.csd.get(io.task.id)!;
  yield io.store(csd, 1, ORD_PLAIN, S.csd_lock);
  io.m.sendIpi(cpu, fn, csd);
  while (yield io.load(csd, ORD_ACQUIRE, S.csd_wait)) yield io.op(OP_RELAX, S.csd_relax);
  io.leave();
}

// ---- readers -----------------------------------------------------------------------------

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

const F_preempt_schedule = kfunc('preempt_schedule', 'kernel/sched/core.c');

/** torture_preempt_schedule(): __preempt_schedule() with CONFIG_PREEMPTION, nothing without. */
function* torture_preempt_schedule(io: Port): KGen {
  if (io.m.cfg.preempt !== 'full') return;
  io.enter(F_preempt_schedule);
  yield preempt_schedule_common(io);
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

function* reader_tail(io: Port, t: Torture, hppp: number): KGen {
  io.enter(F.reader_tail);
  const hc = hppp + HPP_HC;
  const htp = yield io.load(hppp + HPP_HTP, ORD_PLAIN, S.tail_htp);
  yield read_delay(io, t);
  io.preempt_disable();
  let pipe = yield io.load(htp + HT_PIPE, ORD_ONCE, S.pipe);
  if (pipe > PIPE_LEN) pipe = PIPE_LEN;
  if (pipe > 1) t.nError++; // rcu_ftrace_dump(DUMP_ALL); reported by the stats print
  t.pipeCount[io.task.cpu][pipe]++;
  io.preempt_enable();
  if (t.p.irq_release && !(yield rand(io, t.p.irq_release))) {
    io.preempt_disable();
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
  yield io.store(hppp + HPP_HTP, htp, ORD_PLAIN, S.store_htp_irq);
  t.acqIrq[io.task.cpu]++;
  io.leave();
}

/** hazptr_torture_release(): the IPI handler for irq_release */
function* torture_release(io: Port, t: Torture, hppp: number): KGen {
  io.enter(F.release_irq);
  const htp = yield io.load(hppp + HPP_HTP, ORD_PLAIN, S.rel_htp);
  yield read_unlock(io, t, hppp + HPP_HC, htp);
  t.relIrq[io.task.cpu]++;
  io.leave();
}

function* llist_add(io: Port, node: number, head: number): KGen {
  io.enter(F.llist_add);
  for (;;) {
    const first = yield io.load(head, ORD_ONCE, S.ll_first);
    yield io.store(node, first, ORD_PLAIN, S.ll_next);
    if ((yield io.cmpxchg(head, first, node, S.ll_cmpxchg)) === first) break;
  }
  io.leave();
}

function* defer(io: Port, t: Torture, hppp: number): KGen {
  io.enter(F.defer);
  let cpu = yield rand(io, io.m.cfg.cpus); // torture_random(trsp) % nr_cpu_ids
  io.preempt_disable();
  cpu = nextOnline(io.m, cpu);
  yield llist_add(io, hppp + HPP_NODE, io.per_cpu_ptr(t.pendingOff, cpu));
  t.relDefer[io.task.cpu]++;
  io.preempt_enable();
  io.leave();
}

function* reader(io: Port, t: Torture, myid: number): KGen {
  io.enter(F.reader);
  const m = io.m;
  const onstack = t.p.torture_type === 'hazptr-stack';
  const canDefer = !onstack && t.p.kthread_do_pending_ms !== 0 && t.p.defer_modulus !== 0;
  let cpu = 0;
  // struct hazptr_pending hpp on this kthread's stack, for hazptr-stack
  const hpp = onstack ? m.stackPush(io.task, HPP_SIZE) : 0;
  let hppp = hpp;
  let lastsleep = Math.floor(m.now / JIFFY);
  if (t.p.verbose) m.printk(`${t.flag} hazptr_torture_reader task started`);
  m.setNice(io.task, 19); // set_user_nice(current, MAX_NICE)
  do {
    if (!hppp) hppp = yield io.op(OP_KMALLOC, S.kmalloc, HPP_SIZE);
    let htp: number;
    if (t.p.irq_acquire && !(yield rand(io, t.p.irq_acquire))) {
      io.preempt_disable();
      cpu = nextOnline(m, cpu);
      if (cpu !== io.smp_processor_id()) {
        const target = hppp;
        yield smp_call_function_single(io, t, cpu, (jo) => torture_acquire(jo, t, target));
        htp = yield io.load(hppp + HPP_HTP, ORD_PLAIN, S.tail_htp);
      } else {
        htp = yield read_lock(io, t, hppp + HPP_HC);
        yield io.store(hppp + HPP_HTP, htp, ORD_PLAIN, S.store_htp);
        t.acq[io.task.cpu]++;
      }
      io.preempt_enable();
    } else {
      htp = yield read_lock(io, t, hppp + HPP_HC);
      yield io.store(hppp + HPP_HTP, htp, ORD_PLAIN, S.store_htp);
      t.acq[io.task.cpu]++;
    }
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
  if (hpp) m.stackPop(io.task, hpp, HPP_SIZE, F.reader.name);
  io.leave();
}

// ---- deferred releases ------------------------------------------------------------------------

function* do_one_pending(io: Port, t: Torture, cpu: number): KGen {
  io.enter(F.do_one_pending);
  io.enter(F.llist_del_all);
  let node = yield io.xchg(io.per_cpu_ptr(t.pendingOff, cpu), 0, S.ll_xchg);
  io.leave();
  while (node) {
    const hppp = node - HPP_NODE;
    const next = yield io.load(node, ORD_PLAIN, S.ll_walk);
    yield reader_tail(io, t, hppp);
    t.relUndefer[io.task.cpu]++;
    yield io.op(OP_KFREE, S.kfree, 0, hppp);
    node = next;
  }
  io.leave();
}

function* do_pending(io: Port, t: Torture): KGen {
  io.enter(F.do_pending);
  const m = io.m;
  let cpu = 0;
  if (t.p.verbose) m.printk(`${t.flag} hazptr_torture_do_pending task started`);
  do {
    if (t.stutterPaused(m.now)) {
      for (let c = 0; c < m.cfg.cpus; c++) yield do_one_pending(io, t, c);
      cpu = m.cfg.cpus - 1; // for_each_possible_cpu() leaves cpu = nr_cpu_ids: the next cpumask_next_wrap() is CPU 0
    } else {
      cpu = (cpu + 1) % m.cfg.cpus; // cpumask_next_wrap(cpu, cpu_possible_mask)
      yield do_one_pending(io, t, cpu);
    }
    // hazptrtorture.c:558: the module sleeps only once it is told to stop; until then it
    // polls the per-CPU lists without a scheduling point of its own (see docs/findings.md).
    if (t.mustStop()) yield hrtimeout(io, t.p.kthread_do_pending_ms * MS, 1000 * US);
    // Omit stutter_wait() because this function needs to do cleanup.
  } while (!t.mustStop());
  io.leave();
}

// ---- the writer -----------------------------------------------------------------------------------

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

function* writer(io: Port, t: Torture): KGen {
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
    yield io.fence(S.w_wmb);
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
    yield stutter_wait(io, t);
  } while (!t.mustStop());
  yield io.store(t.current, 0, ORD_PLAIN, S.w_current_null);
  t.writerState = 5;
  io.leave();
}

// ---- hazptr_torture_preempt(): a high-priority task that grabs a CPU for preempt_duration ms ----------------------

const F_preempt_task = kfunc('hazptr_torture_preempt', T);

function* preemptTask(io: Port, t: Torture): KGen {
  io.enter(F_preempt_task);
  const m = io.m;
  if (t.p.onoff_holdoff > 0) yield hrtimeout(io, t.p.onoff_holdoff * 1e9, 0); // schedule_timeout_idle(onoff_holdoff * HZ)
  let cpu = -1;
  do {
    // Wait for preempt_interval ms with up to 100us fuzz.
    yield hrtimeout(io, t.p.preempt_interval * MS, 100 * US);
    cpu = nextOnline(m, cpu);
    // Move to that CPU (torture_sched_setaffinity(current->pid, cpumask_of(cpu))) ...
    m.setAffinity(io.task, cpu);
    while (io.task.cpu !== cpu && m.cpuIsOnline(cpu)) yield schedule(io);
    // ... sched_set_fifo(current); allow every CPU again; mdelay(preempt_duration): the CPU is held,
    // busy, for that long (interrupts come in; fair tasks do not preempt a FIFO task) ...
    m.setFifo(io.task, true);
    m.setAffinity(io.task, -1);
    yield mdelay(io, t.p.preempt_duration);
    m.setFifo(io.task, false); // ... sched_set_normal(current, 0)
    yield stutter_wait(io, t); // after sched_set_normal()
  } while (!t.mustStop());
  io.leave();
}

// ---- CPU hotplug: torture_onoff() of kernel/torture.c ---------------------------------------------------------

const F_onoff = kfunc('torture_onoff', 'kernel/torture.c');
const F_remove_cpu = kfunc('remove_cpu', 'kernel/cpu.c');
const S_onoff = site(F_onoff, 0, 'cpu = (torture_random(&rand) >> 4) % (maxcpu + 1);', 'pick a CPU');

function onoffStats(t: Torture): string {
  if (t.p.onoff_interval <= 0) return '';
  const o = t.onoff;
  return `onoff: ${o.nOnSuccesses}/${o.nOnAttempts}:${o.nOffSuccesses}/${o.nOffAttempts} ${o.minOn},${o.maxOn}:${o.minOff},${o.maxOff} ${o.sumOn}:${o.sumOff} (HZ=${HZ}) `;
}

/** torture_offline()/torture_online(): add a duration (jiffies) to sum, min (-1: none yet) and max. */
function account(d: number, sum: number, min: number, max: number): [number, number, number] {
  return [sum + d, min < 0 ? d : Math.min(min, d), min < 0 ? d : Math.max(max, d)];
}

function* onoff(io: Port, t: Torture): KGen {
  io.enter(F_onoff);
  const m = io.m;
  const o = t.onoff;
  const maxcpu = m.cfg.cpus - 1;
  const jiffies = () => Math.floor(m.now / JIFFY);
  if (t.p.verbose) m.printk(`${t.flag} torture_onoff task started`);
  if (t.p.onoff_holdoff > 0) {
    if (t.p.verbose) m.printk(`${t.flag} torture_onoff begin holdoff`);
    yield hrtimeout(io, t.p.onoff_holdoff * 1e9, 0);
    if (t.p.verbose) m.printk(`${t.flag} torture_onoff end holdoff`);
  }
  while (!t.mustStop()) {
    const cpu = (yield io.op(OP_RAND, S_onoff, maxcpu + 1)) as number;
    // CPU 0 is not hotpluggable on x86 (no CONFIG_BOOTPARAM_HOTPLUG_CPU0)
    if (cpu !== 0 && m.cpuIsOnline(cpu)) {
      const start = jiffies();
      o.nOffAttempts++;
      io.enter(F_remove_cpu);
      if (m.cpuDown(cpu)) {
        while (m.cpuIsOnline(cpu)) yield hrtimeout(io, 100 * US, 0); // remove_cpu() waits for the CPU to die
        o.nOffSuccesses++;
        [o.sumOff, o.minOff, o.maxOff] = account(jiffies() - start, o.sumOff, o.minOff, o.maxOff);
      } else o.nOffAttempts--;
      io.leave();
    } else if (cpu !== 0) {
      o.nOnAttempts++;
      const start = jiffies();
      if (m.cpuUp(cpu)) {
        o.nOnSuccesses++;
        [o.sumOn, o.minOn, o.maxOn] = account(jiffies() - start, o.sumOn, o.minOn, o.maxOn);
      }
    }
    yield hrtimeout(io, t.p.onoff_interval * JIFFY, JIFFY);
  }
  for (let c = 0; c <= maxcpu; c++) m.cpuUp(c); // torture_online_all("Final")
  io.leave();
}

// ---- statistics and shutdown ----------------------------------------------------------------------------

function statsPrint(io: Port, t: Torture): void {
  const m = io.m;
  const pipesummary = new Array(PIPE_LEN + 1).fill(0);
  for (const c of t.pipeCount) c.forEach((v, i) => (pipesummary[i] += v));
  let i = PIPE_LEN;
  while (i >= 0 && pipesummary[i] === 0) i--;
  const rtc = m.mem.peek(t.current);
  m.printk(`${t.flag} rtc: ${hashPtr(rtc)} ver: ${t.version} ${WRITER_STATES[t.writerState]} tfle: ${t.freelist.length === 0 ? 1 : 0} rta: ${t.nAlloc} rtaf: ${t.nAllocFail} rtf: ${t.nFree} ${onoffStats(t)}acq: ${sum(t.acq)} rel: ${sum(t.rel)} acqirq: ${sum(t.acqIrq)} relirq: ${sum(t.relIrq)} reldefer: ${sum(t.relDefer)} relundefer ${sum(t.relUndefer)}`);
  const bad = i > 1;
  m.printk(`${t.flag} ${bad ? '!!! ' : ''}Reader Pipe: ${pipesummary.map((v) => ` ${v}`).join('')}`);
  m.printk(`${t.flag} Reader Batch: ${new Array(PIPE_LEN + 1).fill(' 0').join('')}`);
  m.printk(`${t.flag} Free-Block Circulation: ${t.wcount.map((v) => ` ${v}`).join('')}`);
  if (bad) {
    t.nError++;
    m.tortureBug(io, 'too-short-grace-period', `WARNING: CPU: ${io.task.cpu} PID: ${io.task.pid} at ${T} hazptr_torture_stats_print`,
      [`WARN_ON_ONCE(i > 1); // Too-short grace period: a reader saw htort_pipe_count ${i}`]);
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

function* stats(io: Port, t: Torture): KGen {
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

function* shutdown(io: Port, t: Torture): KGen {
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

