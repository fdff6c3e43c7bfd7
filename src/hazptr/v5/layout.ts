// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * x86_64 layouts of the structures in the v5 patch (include/linux/hazptr.h,
 * kernel/hazptr.c), without lock debugging, as on the kernel that crashed:
 * its faulting load `mov rax, [rbx+0x10]` reads slot.addr at +0x10 of a
 * hazptr_backup_slot whose address (RBX) was LIST_POISON1.
 */
import { HLIST_NODE_NEXT } from '../../kernel/list.ts';

export const NR_HAZPTR_PERCPU_SLOTS = 4;
export const HAZPTR_WILDCARD = 0x1;

// struct hazptr_slot { void *addr; }
export const SLOT_ADDR = 0x0;

// struct hazptr_backup_slot { struct hlist_node overflow_node; struct hazptr_slot slot; struct hazptr_overflow_list *overflow_list; }
export const BACKUP_NODE = 0x0;
export const BACKUP_SLOT = 0x10;
export const BACKUP_OVERFLOW_LIST = 0x18;
export const BACKUP_SIZE = 0x20;

// struct hazptr_ctx { struct hazptr_slot *slot; struct hazptr_backup_slot backup_slot; struct hlist_node preempt_node; }
export const CTX_SLOT = 0x0;
export const CTX_BACKUP = 0x8;
export const CTX_PREEMPT_NODE = 0x28;
export const CTX_SIZE = 0x38;

// struct hazptr_slot_item { struct hazptr_slot slot; struct hazptr_slot_ctx ctx; }
export const ITEM_SLOT = 0x0;
export const ITEM_CTX = 0x8;
export const ITEM_SIZE = 0x10;

// struct hazptr_percpu_slots { struct hazptr_slot_item items[4]; } ____cacheline_aligned
export const PERCPU_SLOTS_SIZE = ITEM_SIZE * NR_HAZPTR_PERCPU_SLOTS;
export const CACHELINE = 64;

// struct hazptr_overflow_list { raw_spinlock_t lock; struct hlist_head head; uint64_t gen; }
export const OL_LOCK = 0x0;
export const OL_HEAD = 0x8;
export const OL_GEN = 0x10;
export const OL_SIZE = 0x18;

// struct hazptr_overflow_list_flip { struct mutex lock; unsigned int add_idx; struct hazptr_overflow_list array[2]; }
export const FLIP_LOCK = 0x0;
export const FLIP_ADD_IDX = 0x20;
export const FLIP_ARRAY = 0x28;
export const FLIP_SIZE = FLIP_ARRAY + 2 * OL_SIZE;

/** hlist_entry(node, struct hazptr_backup_slot, overflow_node): container_of is address arithmetic. */
export function backupOfNode(node: number): number {
  return node - BACKUP_NODE - HLIST_NODE_NEXT;
}
