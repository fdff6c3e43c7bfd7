// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Mutants of kernel/hazptr.c (ids 100-199), the statements of src/hazptr/v5/hazptr.ts.
 * The C is v5's, identical in v5-detach (../shared/reference/v5-detach/hazptr.c, same
 * lines), so these are the hazptr.c part of v5-detach's catalogue. v5 itself lists
 * none: it is buggy as posted, and a mutant of a buggy version measures nothing.
 */
import { catalogue, type Mutant } from '../mutant.ts';

const C = 'kernel/hazptr.c';

export const MUT_SLOW_ACQUIRE_NO_MB = 101;
export const MUT_SYNCHRONIZE_NO_MB = 102;
export const MUT_OVERFLOW_LOAD_RELAXED = 103;
export const MUT_CPU_SLOTS_LOAD_RELAXED = 104;
export const MUT_CHAIN_NO_GEN = 110;
export const MUT_UNCHAIN_NO_GEN = 111;
export const MUT_WALK_NO_GEN_CHECK_WAIT = 112;
export const MUT_WALK_NO_GEN_CHECK_NEXT = 113;
export const MUT_CHAIN_ADD_UNLOCKED = 114;
export const MUT_SCAN_NO_OVERFLOW_LIST = 120;
export const MUT_SCAN_NO_SECOND_LIST = 121;
export const MUT_SCAN_NO_FIRST_LIST = 122;
export const MUT_NEVER_FLIP = 123;
export const MUT_CPU_SLOTS_IGNORE_WILDCARD = 124;
export const MUT_OVERFLOW_IGNORE_WILDCARD = 125;
export const MUT_SLOW_ACQUIRE_NULL_NO_UNCHAIN = 130;

const SOL_SCAN = 'hazptr_synchronize_overflow_list(&overflow_list_flip->array[scan_idx], addr);';
const SOL_ADD = 'hazptr_synchronize_overflow_list(&overflow_list_flip->array[scan_idx ^ 1], addr);';
const GEN_CHECK = 'if (overflow_list->gen != snapshot_gen)';

export const hazptrCMutants: readonly Mutant[] = catalogue(100, 199, [
  // ordering (each is equivalent on the sequentially consistent machine)
  { id: MUT_SLOW_ACQUIRE_NO_MB, name: 'slow-acquire-no-mb', cls: 'ordering', file: C, line: 78, stmt: 'smp_mb();', change: "deleted: __hazptr_acquire()'s Store B (the wildcard) no longer ordered before Load A" },
  { id: MUT_SYNCHRONIZE_NO_MB, name: 'synchronize-no-mb', cls: 'ordering', file: C, line: 179, stmt: 'smp_mb();', change: "deleted: hazptr_synchronize()'s Store A (the caller's unpublish) no longer ordered before Load B" },
  { id: MUT_OVERFLOW_LOAD_RELAXED, name: 'overflow-load-relaxed', cls: 'ordering', file: C, line: 119, stmt: 'void *load_addr = smp_load_acquire(&backup_slot->slot.addr);\t/* Load B */', change: 'void *load_addr = READ_ONCE(backup_slot->slot.addr);' },
  { id: MUT_CPU_SLOTS_LOAD_RELAXED, name: 'cpu-slots-load-relaxed', cls: 'ordering', file: C, line: 151, stmt: 'smp_cond_load_acquire(&item->slot.addr, VAL != addr && VAL != HAZPTR_WILDCARD); /* Load B */', change: 'smp_cond_load_relaxed(&item->slot.addr, VAL != addr && VAL != HAZPTR_WILDCARD);' },

  // overflow list
  { id: MUT_CHAIN_NO_GEN, name: 'chain-no-gen', cls: 'overflow-list', file: C, line: 212, stmt: 'overflow_list->gen++;', change: 'deleted in hazptr_chain_backup_slot(): a walk does not see an addition' },
  { id: MUT_UNCHAIN_NO_GEN, name: 'unchain-no-gen', cls: 'overflow-list', file: C, line: 224, stmt: 'overflow_list->gen++;', change: 'deleted in hazptr_unchain_backup_slot(): a walk does not see a removal' },
  { id: MUT_WALK_NO_GEN_CHECK_WAIT, name: 'walk-no-gen-check-wait', cls: 'overflow-list', file: C, line: 126, stmt: GEN_CHECK, change: 'deleted with its goto retry (:127): the busy-wait goes on reading the node after re-taking the lock' },
  { id: MUT_WALK_NO_GEN_CHECK_NEXT, name: 'walk-no-gen-check-next', cls: 'overflow-list', file: C, line: 135, stmt: GEN_CHECK, change: 'deleted with its goto retry (:136): the walk follows backup_slot->overflow_node.next after re-taking the lock' },
  { id: MUT_CHAIN_ADD_UNLOCKED, name: 'chain-add-unlocked', cls: 'overflow-list', file: C, line: 213, stmt: 'hlist_add_head(&ctx->backup_slot.overflow_node, &overflow_list->head);', change: 'moved above guard(raw_spinlock_irqsave)(&overflow_list->lock) (:211): the node is added without the lock' },

  // scan
  { id: MUT_SCAN_NO_OVERFLOW_LIST, name: 'scan-no-overflow-list', cls: 'scan', file: C, line: 195, stmt: SOL_SCAN, change: `deleted, and :198 \`${SOL_ADD}\` too: no backup slot is scanned` },
  { id: MUT_SCAN_NO_SECOND_LIST, name: 'scan-no-second-list', cls: 'scan', file: C, line: 198, stmt: SOL_ADD, change: 'deleted: only array[scan_idx] is scanned, not the list that was add_idx before the flip' },
  { id: MUT_SCAN_NO_FIRST_LIST, name: 'scan-no-first-list', cls: 'scan', file: C, line: 195, stmt: SOL_SCAN, change: 'deleted: only the list that was add_idx before the flip is scanned, not array[scan_idx]' },
  { id: MUT_NEVER_FLIP, name: 'never-flip', cls: 'scan', file: C, line: 197, stmt: 'WRITE_ONCE(overflow_list_flip->add_idx, scan_idx);', change: 'deleted: add_idx never flips, so the second scan walks the list additions go to' },
  { id: MUT_CPU_SLOTS_IGNORE_WILDCARD, name: 'cpu-slots-ignore-wildcard', cls: 'scan', file: C, line: 151, stmt: 'smp_cond_load_acquire(&item->slot.addr, VAL != addr && VAL != HAZPTR_WILDCARD); /* Load B */', change: 'smp_cond_load_acquire(&item->slot.addr, VAL != addr): a per-CPU slot holding the wildcard is not waited for' },
  { id: MUT_OVERFLOW_IGNORE_WILDCARD, name: 'overflow-ignore-wildcard', cls: 'scan', file: C, line: 121, stmt: 'if (load_addr != addr && load_addr != HAZPTR_WILDCARD)', change: 'if (load_addr != addr): a backup slot holding the wildcard is not waited for' },

  // context
  { id: MUT_SLOW_ACQUIRE_NULL_NO_UNCHAIN, name: 'slow-acquire-null-no-unchain', cls: 'context', file: C, line: 93, stmt: 'hazptr_unchain_backup_slot(ctx);', change: 'deleted: a NULL acquired on the backup slot leaves it chained' },
]);
