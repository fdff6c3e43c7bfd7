// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The module's state for one run, its data layout, and what each form of the
 * module does differently.
 *
 * Kept beside memory, as plain JS state: the writer's free list and removed
 * list (touched by the writer alone), the statistics counters (per-CPU and
 * atomics, only summed for printing), and torture_must_stop()/stutter state.
 */
import type { Machine } from '../kernel/machine.ts';
import type { HazptrVersion } from '../hazptr/version.ts';
import type { TortureModule, TortureParams } from './params.ts';

/** What a form of the module does (params.ts, TORTURE_MODULES). */
export interface TortureForm {
  /** hazptr_detach() at hazptrtorture.c:377, 423 and 445: "hazptrtorture: Fix hazptr ownership issue" */
  readonly detach: boolean;
  /**
   * Follow the module text where the model first built departs from it (not
   * a change of the detach commit; the pre-detach form keeps the model's
   * behaviour): the "Start of test" line printed before the -1 defaults are
   * resolved (841 before 867-914), hppp->hpp_htp loaded to test it (495), no
   * error counted by the reader (413-414: it only dumps ftrace), the writer's
   * check after a stutter wait (347-355), "VER" and a NULL rtc printed as such
   * (635-638), and the stats WARN's line (658).
   */
  readonly asWritten: boolean;
}

export const FORMS: Record<TortureModule, TortureForm> = {
  'pre-detach': { detach: false, asWritten: false },
  detach: { detach: true, asWritten: true },
};

export const PIPE_LEN = 10;
export const POOL = 10 * PIPE_LEN;
export const HT_SIZE = 32; // struct hazptr_torture { void *obj_hazptr; int htort_pipe_count; struct list_head htort_free; }
export const HT_PIPE = 8;
// struct hazptr_pending { struct llist_node hpp_node; struct hazptr_ctx hpp_hc; struct hazptr_torture *hpp_htp; }
export const HPP_NODE = 0;
export const HPP_HC = 8;
export const MS = 1e6;
export const US = 1e3;
export const HZ = 1000; // CONFIG_HZ_1000
export const JIFFY = 1e9 / HZ;

export const WRITER_STATES = ['HTWS_FIXED_DELAY', 'HTWS_DELAY', 'HTWS_REPLACE', 'HTWS_SYNC', 'HTWS_STUTTER', 'HTWS_STOPPING'];

/** Everything the module keeps, for one run. */
export class Torture {
  readonly p: TortureParams;
  /** hpp_htp follows the ctx, whose size is the version's (56 bytes; 80 with CONFIG_HAZPTR_DEBUG) */
  readonly hppHtp: number;
  readonly hppSize: number;
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

  constructor(p: TortureParams, readonly m: Machine, readonly hz: HazptrVersion, readonly form: TortureForm) {
    this.p = p;
    this.hppHtp = HPP_HC + hz.ctxSize;
    this.hppSize = this.hppHtp + 8;
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

  /** hazptr_torture_print_module_parms(): the parameters as they are when it is called */
  printParms(tag: string, p: TortureParams = this.p): string {
    return `${this.flag}--- ${tag}: nreaders=${this.nrealreaders} nwriters=${p.nwriters} defer_modulus=${p.defer_modulus} irq_acquire=${p.irq_acquire} irq_release=${p.irq_release} kthread_do_pending_ms=${p.kthread_do_pending_ms} onoff_interval=${p.onoff_interval} onoff_holdoff=${p.onoff_holdoff} preempt_duration=${p.preempt_duration} preempt_interval=${p.preempt_interval} reader_sleep_us=${p.reader_sleep_us} shuffle_interval=${p.shuffle_interval} shutdown_secs=${p.shutdown_secs} stat_interval=${p.stat_interval} stutter=${p.stutter} verbose=${p.verbose}`;
  }
}

export const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
