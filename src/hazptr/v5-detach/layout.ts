// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * x86_64 layout of struct hazptr_ctx in v5-detach (../shared/reference/v5-detach/hazptr.h):
 * v5's, plus the CONFIG_HAZPTR_DEBUG fields at its end. Every other structure
 * (slots, items, overflow lists) is v5's: src/hazptr/v5/layout.ts.
 *
 * The model's memory is word-granular (8 bytes), so the fields that share a
 * word share a model word: `bool detach_task` (+0x38, bits 0-7), `bool
 * detach_cpu` (+0x39, bits 8-15) and `int acquire_pid` (+0x3c, bits 32-63) are
 * one word; `int acquire_cpu` (+0x40) the low half of the next; `unsigned long
 * acquire_caller` (+0x48) a word of its own.
 */
import { CTX_SIZE as V5_CTX_SIZE } from '../v5/layout.ts';

export const CTX_SIZE_NODEBUG = V5_CTX_SIZE; // 0x38
// #ifdef CONFIG_HAZPTR_DEBUG: bool detach_task, detach_cpu; int acquire_pid, acquire_cpu; unsigned long acquire_caller;
export const CTX_DETACH_TASK = 0x38;
export const CTX_DETACH_CPU = 0x39;
export const CTX_ACQUIRE_PID = 0x3c;
export const CTX_ACQUIRE_CPU = 0x40;
export const CTX_ACQUIRE_CALLER = 0x48;
export const CTX_SIZE_DEBUG = 0x50;

/** The model words that hold the DEBUG fields, and each field's place in its word. */
export const W_FLAGS_PID = 0x38; // detach_task | detach_cpu << 8 | acquire_pid << 32
export const W_CPU = 0x40; // acquire_cpu
export const W_CALLER = 0x48; // acquire_caller

const HI = 2 ** 32;
export const DETACH_TASK_BIT = 1;
export const DETACH_CPU_BIT = 0x100;
export function packFlagsPid(detachTask: boolean, detachCpu: boolean, pid: number): number {
  return pid * HI + (detachTask ? DETACH_TASK_BIT : 0) + (detachCpu ? DETACH_CPU_BIT : 0);
}
export function unpackFlagsPid(w: number): { detachTask: boolean; detachCpu: boolean; pid: number } {
  const lo = w % HI;
  return { detachTask: (lo & DETACH_TASK_BIT) !== 0, detachCpu: (lo & DETACH_CPU_BIT) !== 0, pid: Math.floor(w / HI) };
}
