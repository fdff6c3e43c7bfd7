// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Mutants of v5-detach's include/linux/hazptr.h (ids 200-299), the statements of
 * src/hazptr/v5-detach/hazptr.ts, and v5-detach's whole catalogue: the hazptr.c
 * mutants it shares with v5's port (src/hazptr/v5/mutants.ts) and these.
 * The scenarios that kill them are scenarios/mutants/vd-*.yaml.
 */
import { catalogue, type Mutant } from '../mutant.ts';
import { hazptrCMutants } from '../v5/mutants.ts';

const H = 'include/linux/hazptr.h';

export const MUT_ACQUIRE_NO_MB = 201;
export const MUT_RELEASE_WRITE_ONCE = 202;
export const MUT_PROMOTE_WRITE_ONCE = 203;
export const MUT_PROMOTE_NO_CTX_SLOT = 210;
export const MUT_DETACH_NO_PREEMPT_GUARD = 211;
export const MUT_RELEASE_NO_UNCHAIN = 212;
export const MUT_ACQUIRE_NO_CTX_SLOT = 213;
export const MUT_CONTEXT_SWITCH_NO_PROMOTE = 214;

const STORE_RELEASE_NULL = 'smp_store_release(&slot->addr, NULL);';

export const hazptrHMutants: readonly Mutant[] = catalogue(200, 299, [
  // ordering (each is equivalent on the sequentially consistent machine)
  { id: MUT_ACQUIRE_NO_MB, name: 'acquire-no-mb', cls: 'ordering', file: H, line: 198, stmt: 'smp_mb();', change: "deleted: hazptr_acquire()'s Store B (the wildcard) no longer ordered before Load A" },
  { id: MUT_RELEASE_WRITE_ONCE, name: 'release-write-once', cls: 'ordering', file: H, line: 247, stmt: STORE_RELEASE_NULL, change: "WRITE_ONCE(slot->addr, NULL) in hazptr_release(): the reader's accesses to the object no longer ordered before it" },
  { id: MUT_PROMOTE_WRITE_ONCE, name: 'promote-write-once', cls: 'ordering', file: H, line: 124, stmt: STORE_RELEASE_NULL, change: 'WRITE_ONCE(slot->addr, NULL) in hazptr_promote_to_backup_slot(): the copy to the backup slot no longer ordered before it' },

  // context
  { id: MUT_PROMOTE_NO_CTX_SLOT, name: 'promote-no-ctx-slot', cls: 'context', file: H, line: 126, stmt: 'ctx->slot = backup_slot;', change: 'deleted: the ctx still names the per-CPU slot it was moved from' },
  { id: MUT_DETACH_NO_PREEMPT_GUARD, name: 'detach-no-preempt-guard', cls: 'context', file: H, line: 134, stmt: 'guard(preempt)();', change: 'deleted: hazptr_detach() runs preemptible' },
  { id: MUT_RELEASE_NO_UNCHAIN, name: 'release-no-unchain', cls: 'context', file: H, line: 249, stmt: 'hazptr_unchain_backup_slot(ctx);', change: 'deleted: a release from the backup slot leaves it chained' },
  { id: MUT_ACQUIRE_NO_CTX_SLOT, name: 'acquire-no-ctx-slot', cls: 'context', file: H, line: 212, stmt: 'ctx->slot = slot;', change: "deleted from hazptr_acquire()'s fast path: the ctx keeps naming its previous slot" },
  { id: MUT_CONTEXT_SWITCH_NO_PROMOTE, name: 'context-switch-no-promote', cls: 'context', file: H, line: 159, stmt: 'hazptr_promote_to_backup_slot(item->ctx.ctx, slot);', change: 'deleted: a context switch leaves the hazard pointer in the per-CPU slot' },
]);

/** v5-detach's catalogue: kernel/hazptr.c's mutants, then include/linux/hazptr.h's. */
export const v5DetachMutants: readonly Mutant[] = [...hazptrCMutants, ...hazptrHMutants];
