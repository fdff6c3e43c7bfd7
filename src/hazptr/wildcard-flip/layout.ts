// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * x86_64 layouts of the wildcard-flip hazptr version (../shared/reference/wildcard-flip/),
 * without lock debugging, as v5's (src/hazptr/v5/layout.ts) are.
 *
 * The slots, items, backup slots and overflow lists are v5's, unchanged. struct
 * hazptr_ctx is v5-detach's (its header's struct is the same, with and without
 * the CONFIG_HAZPTR_DEBUG fields: src/hazptr/v5-detach/layout.ts). What changes:
 * struct hazptr_overflow_list_flip loses its `struct mutex lock` and `unsigned int
 * add_idx`, leaving `array[2]`; and kernel/hazptr.c gains two statics,
 * `hazptr_wildcard_lock` (a struct mutex) and `hazptr_wildcard` (a pointer,
 * initially (void *) 1UL).
 */
import { MUTEX_SIZE } from '../../kernel/locks.ts';
import { OL_SIZE } from '../v5/layout.ts';

export { CTX_SIZE_DEBUG, CTX_SIZE_NODEBUG } from '../v5-detach/layout.ts';

// struct hazptr_overflow_list_flip { struct hazptr_overflow_list array[2]; }
export const FLIP_ARRAY = 0x0;
export const FLIP_SIZE = FLIP_ARRAY + 2 * OL_SIZE; // 0x30

// static DEFINE_MUTEX(hazptr_wildcard_lock);
export const WILDCARD_LOCK_SIZE = MUTEX_SIZE;
// void *hazptr_wildcard = (void *) 1UL;
export const WILDCARD_SIZE = 8;
export const WILDCARD_INIT = 0x1;
