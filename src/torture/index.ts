// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The hazptrtorture module (kernel/rcu/hazptrtorture.c), in its two forms:
 * what the loader and the workload use. params.ts has the parameters and the
 * forms; module.ts starts the module on a machine; the kernel code is in
 * reader.ts, writer.ts, kthreads.ts and stats.ts, over lib.ts (kernel/torture.c,
 * smp) and state.ts; sites.ts registers the module's sites.
 */
export {
  TORTURE_DEFAULTS, TORTURE_MODULES, TortureRefused, defaultModule, resolveParams, withModule,
  type TortureModule, type TortureParams,
} from './params.ts';
export { defineTorturePercpu, startTorture, tortureMachineOverrides } from './module.ts';
