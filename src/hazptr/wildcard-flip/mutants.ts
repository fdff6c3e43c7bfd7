// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The wildcard-flip mutants (src/hazptr/mutant.ts): one-statement changes to
 * ../shared/reference/wildcard-flip/hazptr.c and hazptr.h, ids 300-399. The
 * port (./hazptr.ts) tests `io.m.mutant` against these ids at the statement
 * each one names; the workloads that kill them are scenarios/mutants/wf-*.yaml
 * and the version-neutral scenarios/mutants/*.yaml.
 */
import { catalogue, type Mutant } from '../mutant.ts';

const H = 'include/linux/hazptr.h';
const C = 'kernel/hazptr.c';

// ordering
export const MUT_ACQUIRE_NO_MB = 300;
export const MUT_SLOW_ACQUIRE_NO_MB = 301;
export const MUT_SYNCHRONIZE_NO_MB = 302;
export const MUT_RELEASE_WRITE_ONCE = 303;
export const MUT_PROMOTE_WRITE_ONCE = 304;
export const MUT_OVERFLOW_LOAD_RELAXED = 305;
export const MUT_CPU_SLOTS_LOAD_RELAXED = 306;
// overflow-list
export const MUT_CHAIN_NO_GEN = 310;
export const MUT_UNCHAIN_NO_GEN = 311;
export const MUT_WALK_NO_GEN_CHECK_WAIT = 312;
export const MUT_WALK_NO_GEN_CHECK_NEXT = 313;
export const MUT_CHAIN_ADD_UNLOCKED = 314;
// scan
export const MUT_SCAN_NO_OVERFLOW_LIST = 320;
export const MUT_SCAN_NO_SECOND_PERIOD = 321;
export const MUT_SCAN_NO_FIRST_PERIOD = 322;
export const MUT_NEVER_FLIP = 323;
export const MUT_CPU_SLOTS_IGNORE_WILDCARD = 324;
export const MUT_CHAIN_WRONG_LIST = 325;
// context
export const MUT_PROMOTE_NO_CTX_SLOT = 330;
export const MUT_DETACH_NO_PREEMPT_GUARD = 331;
export const MUT_RELEASE_NO_UNCHAIN = 332;
export const MUT_SLOW_ACQUIRE_NULL_NO_UNCHAIN = 333;
export const MUT_CONTEXT_SWITCH_SKIPS_SLOT_0 = 334;
export const MUT_ACQUIRE_NO_CTX_SLOT = 335;

export const wildcardFlipMutants: readonly Mutant[] = catalogue(300, 399, [
  // ---- ordering ----
  { id: MUT_ACQUIRE_NO_MB, name: 'acquire-no-mb', cls: 'ordering', file: H, line: 251, stmt: 'smp_mb();', change: 'deleted (hazptr_acquire: Store B no longer ordered before Load A)' },
  { id: MUT_SLOW_ACQUIRE_NO_MB, name: 'slow-acquire-no-mb', cls: 'ordering', file: C, line: 101, stmt: 'smp_mb();', change: 'deleted (__hazptr_acquire: Store B no longer ordered before Load A)' },
  { id: MUT_SYNCHRONIZE_NO_MB, name: 'synchronize-no-mb', cls: 'ordering', file: C, line: 236, stmt: 'smp_mb();', change: 'deleted (hazptr_synchronize: Store A no longer ordered before the scan\'s loads)' },
  { id: MUT_RELEASE_WRITE_ONCE, name: 'release-write-once', cls: 'ordering', file: H, line: 316, stmt: 'smp_store_release(&slot->addr, NULL);', change: 'WRITE_ONCE(slot->addr, NULL);' },
  { id: MUT_PROMOTE_WRITE_ONCE, name: 'promote-write-once', cls: 'ordering', file: H, line: 130, stmt: 'smp_store_release(&slot->addr, NULL);', change: 'WRITE_ONCE(slot->addr, NULL);' },
  { id: MUT_OVERFLOW_LOAD_RELAXED, name: 'overflow-load-relaxed', cls: 'ordering', file: C, line: 142, stmt: 'void *load_addr = smp_load_acquire(&backup_slot->slot.addr);\t/* Load B */', change: 'void *load_addr = READ_ONCE(backup_slot->slot.addr);' },
  { id: MUT_CPU_SLOTS_LOAD_RELAXED, name: 'cpu-slots-load-relaxed', cls: 'ordering', file: C, line: 176, stmt: 'smp_cond_load_acquire(&item->slot.addr, VAL != addr && VAL != scan_wildcard); /* Load B */', change: 'smp_cond_load_relaxed(&item->slot.addr, VAL != addr && VAL != scan_wildcard);' },
  // ---- overflow-list ----
  { id: MUT_CHAIN_NO_GEN, name: 'chain-no-gen', cls: 'overflow-list', file: C, line: 255, stmt: 'overflow_list->gen++;', change: 'deleted (hazptr_chain_backup_slot: a chain does not move the generation)' },
  { id: MUT_UNCHAIN_NO_GEN, name: 'unchain-no-gen', cls: 'overflow-list', file: C, line: 267, stmt: 'overflow_list->gen++;', change: 'deleted (hazptr_unchain_backup_slot: an unchain does not move the generation)' },
  { id: MUT_WALK_NO_GEN_CHECK_WAIT, name: 'walk-no-gen-check-wait', cls: 'overflow-list', file: C, line: 151, stmt: 'if (overflow_list->gen != snapshot_gen)', change: 'the re-check after the busy-wait\'s cpu_relax() and its goto retry deleted' },
  { id: MUT_WALK_NO_GEN_CHECK_NEXT, name: 'walk-no-gen-check-next', cls: 'overflow-list', file: C, line: 160, stmt: 'if (overflow_list->gen != snapshot_gen)', change: 'the re-check before moving to the next node and its goto retry deleted' },
  { id: MUT_CHAIN_ADD_UNLOCKED, name: 'chain-add-unlocked', cls: 'overflow-list', file: C, line: 256, stmt: 'hlist_add_head(&ctx->backup_slot.overflow_node, &overflow_list->head);', change: 'moved above guard(raw_spinlock_irqsave)(&overflow_list->lock) (line 254): the node is added without the list lock' },
  // ---- scan ----
  { id: MUT_SCAN_NO_OVERFLOW_LIST, name: 'scan-no-overflow-list', cls: 'scan', file: C, line: 208, stmt: 'hazptr_synchronize_overflow_list(&overflow_list_flip->array[scan_idx], addr);', change: 'deleted (hazptr_scan_period scans the CPU slots only)' },
  { id: MUT_SCAN_NO_SECOND_PERIOD, name: 'scan-no-second-period', cls: 'scan', file: C, line: 242, stmt: 'hazptr_scan_period(addr, flip_wildcard(scan_wildcard));', change: 'deleted (only the first scan period: the list readers add to, and their wildcard, are not scanned)' },
  { id: MUT_SCAN_NO_FIRST_PERIOD, name: 'scan-no-first-period', cls: 'scan', file: C, line: 240, stmt: 'hazptr_scan_period(addr, scan_wildcard);', change: 'deleted (only the second scan period: the list chained to before the last flip is not scanned)' },
  { id: MUT_NEVER_FLIP, name: 'never-flip', cls: 'scan', file: C, line: 241, stmt: 'WRITE_ONCE(hazptr_wildcard, scan_wildcard);\t/* Flip the current wildcard. */', change: 'deleted (hazptr_wildcard stays (void *) 1UL)' },
  { id: MUT_CPU_SLOTS_IGNORE_WILDCARD, name: 'cpu-slots-ignore-wildcard', cls: 'scan', file: C, line: 176, stmt: 'smp_cond_load_acquire(&item->slot.addr, VAL != addr && VAL != scan_wildcard); /* Load B */', change: 'smp_cond_load_acquire(&item->slot.addr, VAL != addr); (waits on the address only, not on the wildcard)' },
  { id: MUT_CHAIN_WRONG_LIST, name: 'chain-wrong-list', cls: 'scan', file: C, line: 249, stmt: 'unsigned int list_idx = (unsigned long) READ_ONCE(hazptr_wildcard) - 1;', change: 'unsigned int list_idx = (unsigned long) flip_wildcard(READ_ONCE(hazptr_wildcard)) - 1; (chains onto the list the first scan period scans)' },
  // ---- context ----
  { id: MUT_PROMOTE_NO_CTX_SLOT, name: 'promote-no-ctx-slot', cls: 'context', file: H, line: 132, stmt: 'ctx->slot = backup_slot;', change: 'deleted (ctx->slot still names the per-CPU slot after the move to the backup slot)' },
  { id: MUT_DETACH_NO_PREEMPT_GUARD, name: 'detach-no-preempt-guard', cls: 'context', file: H, line: 162, stmt: 'guard(preempt)();', change: 'deleted (hazptr_detach runs preemptible)' },
  { id: MUT_RELEASE_NO_UNCHAIN, name: 'release-no-unchain', cls: 'context', file: H, line: 318, stmt: 'hazptr_unchain_backup_slot(ctx);', change: 'deleted (a release from the backup slot leaves it chained)' },
  { id: MUT_SLOW_ACQUIRE_NULL_NO_UNCHAIN, name: 'slow-acquire-null-no-unchain', cls: 'context', file: C, line: 116, stmt: 'hazptr_unchain_backup_slot(ctx);', change: 'deleted (__hazptr_acquire of a NULL pointer into the backup slot leaves it chained)' },
  { id: MUT_CONTEXT_SWITCH_SKIPS_SLOT_0, name: 'context-switch-skips-slot-0', cls: 'context', file: H, line: 178, stmt: 'for (idx = 0; idx < NR_HAZPTR_PERCPU_SLOTS; idx++) {', change: 'for (idx = 1; idx < NR_HAZPTR_PERCPU_SLOTS; idx++) { (slot 0 stays on the CPU across the context switch)' },
  { id: MUT_ACQUIRE_NO_CTX_SLOT, name: 'acquire-no-ctx-slot', cls: 'context', file: H, line: 265, stmt: 'ctx->slot = slot;', change: 'deleted (hazptr_acquire\'s fast path leaves ctx->slot as it was)' },
]);
