// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The module's parameters (the torture_param() lines of hazptrtorture.c), their
 * defaults, what the module does with them at init, and which form of the
 * module a scenario runs. No kernel code here, and no site registrations: the
 * loader uses this file alone.
 */
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

/**
 * The two forms of the module (`hazptrtorture: { module: ... }`):
 * - `pre-detach`: hazptrtorture.c as it stood when the reviewers' crash was
 *   reported, before hazptr_detach() existed (the model as it was first built);
 * - `detach`: ../shared/reference/hazptrtorture-detach.c, "hazptrtorture: Fix
 *   hazptr ownership issue", which calls hazptr_detach() at lines 377, 423 and 445.
 */
export const TORTURE_MODULES = ['pre-detach', 'detach'] as const;
export type TortureModule = (typeof TORTURE_MODULES)[number];

/** The form a version runs when the scenario names none: `detach` where the version has hazptr_detach(). */
export function defaultModule(v: HazptrVersion): TortureModule {
  return v.hazptr_detach ? 'detach' : 'pre-detach';
}

/**
 * The scenario's `hazptrtorture:` with its form resolved for version `v` (the
 * version after any --hazptr): `module` is kept only for `detach`. So every
 * scenario that runs the pre-detach form, the only one before forms existed,
 * loads (and digests) as it did, and one whose run changed with the default
 * digests differently.
 */
export function withModule<P extends { module?: TortureModule }>(p: P, v: HazptrVersion): P {
  const { module, ...rest } = p;
  return (module ?? defaultModule(v)) === 'detach' ? ({ ...rest, module: 'detach' } as P) : (rest as P);
}
