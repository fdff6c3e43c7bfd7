// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * hazptr wildcard-flip (../shared/reference/wildcard-flip/, see its README):
 * "hazptr: Implement two-phase wildcard scan". kernel/hazptr.c is v5's rewritten
 * around a global wildcard, `hazptr_wildcard`, that hazptr_synchronize() flips
 * between (void *) 1UL and 2UL under the global mutex `hazptr_wildcard_lock`,
 * scanning for one value while readers store the other; the overflow list a
 * backup slot is chained onto is array[hazptr_wildcard - 1]. include/linux/hazptr.h
 * is v5-detach's (hazptr_detach(), hazptr_promote_to_backup_slot(),
 * CONFIG_HAZPTR_DEBUG) with kernel-doc, storing READ_ONCE(hazptr_wildcard) where
 * v5 stored HAZPTR_WILDCARD.
 *
 * Ported statement by statement, as v5 is: each shared access is one step,
 * labelled with its function and its line in the reference file. Nothing is
 * fixed. Both files' lines differ from v5's, so every site is this version's own.
 *
 * Mutants (./mutants.ts) are tested at the statement they change, as
 * `io.m.mutant !== MUT_X` (an Smi compare on the step path).
 *
 * Sites are registered on first use (wildcardFlip()), not at module load, so
 * that the site ids of every other module (which feed the schedule digest)
 * stay where they were before this version existed.
 */
import { hashPtr } from '../../kernel/addr.ts';
import { HLIST_NODE_NEXT, hlist_add_head, hlist_del } from '../../kernel/list.ts';
import { mutex_lock, mutex_unlock, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from '../../kernel/locks.ts';
import type { Machine } from '../../kernel/machine.ts';
import { OP_RELAX, ORD_ACQUIRE, ORD_ONCE, ORD_PLAIN, ORD_RELEASE, type KGen, type Port } from '../../kernel/port.ts';
import { warnOnce } from '../../kernel/reports.ts';
import { functions, kfunc, memoryDriven, site } from '../../kernel/sites.ts';
import type { HazptrVersion } from '../version.ts';
import {
  BACKUP_NODE, BACKUP_OVERFLOW_LIST, BACKUP_SLOT, CACHELINE, CTX_BACKUP, CTX_SLOT, ITEM_CTX, ITEM_SIZE, ITEM_SLOT,
  NR_HAZPTR_PERCPU_SLOTS, OL_GEN, OL_HEAD, OL_LOCK, OL_SIZE, PERCPU_SLOTS_SIZE, SLOT_ADDR, backupOfNode,
} from '../v5/layout.ts';
// the DEBUG fields' word packing, and _THIS_IP_, as v5-detach models them (the header's C is the same)
import { CALLER_IP_BASE, WARN_STMT, callerFn, storeFlagsPid } from '../v5-detach/hazptr.ts';
import { W_CALLER, W_CPU, W_FLAGS_PID, unpackFlagsPid } from '../v5-detach/layout.ts';
import {
  CTX_SIZE_DEBUG, CTX_SIZE_NODEBUG, FLIP_ARRAY, FLIP_SIZE, WILDCARD_INIT, WILDCARD_LOCK_SIZE, WILDCARD_SIZE,
} from './layout.ts';
import * as M from './mutants.ts';

export const H = 'include/linux/hazptr.h';
export const C = 'kernel/hazptr.c';

/** hazptr_release_debug()'s WARN_ONCE line. */
export const WARN_LINE = 278;
/** hazptr_synchronize_overflow_list()'s WARN_ON_ONCE line. */
export const WARN_WILDCARD_LINE = 145;

function defineSites() {
  const F = {
    hazptr_promote_to_backup_slot: kfunc('hazptr_promote_to_backup_slot', H, true),
    hazptr_detach: kfunc('hazptr_detach', H, true),
    hazptr_note_context_switch: kfunc('hazptr_note_context_switch', H, true),
    hazptr_acquire: kfunc('hazptr_acquire', H, true),
    hazptr_release_debug: kfunc('hazptr_release_debug', H, true),
    hazptr_release: kfunc('hazptr_release', H, true),
    hazptr_get_free_percpu_slot: kfunc('hazptr_get_free_percpu_slot', C, true),
    __hazptr_acquire: kfunc('__hazptr_acquire', C),
    hazptr_synchronize_overflow_list: kfunc('hazptr_synchronize_overflow_list', C),
    hazptr_synchronize_cpu_slots: kfunc('hazptr_synchronize_cpu_slots', C, true),
    hazptr_scan_period: kfunc('hazptr_scan_period', C),
    hazptr_synchronize: kfunc('hazptr_synchronize', C),
    hazptr_chain_backup_slot: kfunc('hazptr_chain_backup_slot', C),
    hazptr_unchain_backup_slot: kfunc('hazptr_unchain_backup_slot', C),
    hazptr_init: kfunc('hazptr_init', C),
  };
  // Every loop ends on a value it loads (or walks distinct per-CPU addresses).
  memoryDriven(...Object.values(F));
  const STORE_B = 'WRITE_ONCE(slot->addr, READ_ONCE(hazptr_wildcard));\t/* Store B */';
  const LOAD_A = 'addr = READ_ONCE(*addr_p);\t/* Load A */';
  const STORE_C = 'WRITE_ONCE(slot->addr, addr);\t/* Store C */';
  const SOL_LOAD_B = 'void *load_addr = smp_load_acquire(&backup_slot->slot.addr);\t/* Load B */';
  const SOL_FOR = 'hlist_for_each_entry(backup_slot, &overflow_list->head, overflow_node) {';
  const SCS_LOAD_B = 'smp_cond_load_acquire(&item->slot.addr, VAL != addr && VAL != scan_wildcard); /* Load B */';
  const RELDBG_CPU = 'bool warn_remote_cpu = !ctx->detach_cpu && ctx->acquire_cpu != cpu,';
  const RELDBG_TASK = 'warn_remote_task = !ctx->detach_task && ctx->acquire_pid != pid;';
  const RELDBG_ARGS = '(void *) ctx->acquire_caller, ctx->acquire_pid, ctx->acquire_cpu, pid, cpu);';
  const S = {
    // ---- include/linux/hazptr.h ----
    promote_load: site(F.hazptr_promote_to_backup_slot, 125, 'WRITE_ONCE(backup_slot->addr, slot->addr);', 'load slot->addr'),
    promote_backup: site(F.hazptr_promote_to_backup_slot, 125, 'WRITE_ONCE(backup_slot->addr, slot->addr);', 'store backup_slot->addr'),
    promote_clear: site(F.hazptr_promote_to_backup_slot, 130, 'smp_store_release(&slot->addr, NULL);', 'store-release slot->addr = NULL'),
    promote_ctx_slot: site(F.hazptr_promote_to_backup_slot, 132, 'ctx->slot = backup_slot;', 'store ctx->slot = backup_slot'),

    detach_flags: site(F.hazptr_detach, 164, 'ctx->detach_task = ctx->detach_cpu = true;', 'store ctx->detach_task = ctx->detach_cpu = true'),
    detach_slot: site(F.hazptr_detach, 166, 'slot = ctx->slot;', 'load ctx->slot'),

    ncs_test: site(F.hazptr_note_context_switch, 182, 'if (!slot->addr)', 'load slot->addr'),
    ncs_dbg_ctx: site(F.hazptr_note_context_switch, 185, 'item->ctx.ctx->detach_cpu = true;', 'load item->ctx.ctx'),
    ncs_dbg_store: site(F.hazptr_note_context_switch, 185, 'item->ctx.ctx->detach_cpu = true;', 'store ctx->detach_cpu = true'),
    ncs_ctx: site(F.hazptr_note_context_switch, 187, 'hazptr_promote_to_backup_slot(item->ctx.ctx, slot);', 'load item->ctx.ctx'),

    acq_dbg_flags: site(F.hazptr_acquire, 241, 'ctx->detach_cpu = ctx->detach_task = false;', 'store ctx->detach_cpu = ctx->detach_task = false'),
    acq_dbg_pid: site(F.hazptr_acquire, 242, 'ctx->acquire_pid = current->pid;', 'store ctx->acquire_pid'),
    acq_dbg_cpu: site(F.hazptr_acquire, 243, 'ctx->acquire_cpu = smp_processor_id();', 'store ctx->acquire_cpu'),
    acq_dbg_caller: site(F.hazptr_acquire, 244, 'ctx->acquire_caller = _THIS_IP_;', 'store ctx->acquire_caller'),
    acq_test: site(F.hazptr_acquire, 246, 'if (unlikely(slot->addr))', 'load slot->addr'),
    acq_wildcard: site(F.hazptr_acquire, 248, STORE_B, 'load hazptr_wildcard'),
    acq_store_b: site(F.hazptr_acquire, 248, STORE_B, 'store slot->addr = hazptr_wildcard'),
    acq_mb: site(F.hazptr_acquire, 251, 'smp_mb();', 'smp_mb'),
    acq_load_a: site(F.hazptr_acquire, 256, LOAD_A, 'load *addr_p'),
    acq_store_c: site(F.hazptr_acquire, 263, STORE_C, 'store slot->addr = addr'),
    acq_item_ctx: site(F.hazptr_acquire, 264, 'slot_item->ctx.ctx = ctx;', 'store slot_item->ctx.ctx'),
    acq_ctx_slot: site(F.hazptr_acquire, 265, 'ctx->slot = slot;', 'store ctx->slot'),

    reldbg_cpu_flag: site(F.hazptr_release_debug, 275, RELDBG_CPU, 'load ctx->detach_cpu'),
    reldbg_cpu: site(F.hazptr_release_debug, 275, RELDBG_CPU, 'load ctx->acquire_cpu'),
    reldbg_task_flag: site(F.hazptr_release_debug, 276, RELDBG_TASK, 'load ctx->detach_task'),
    reldbg_pid: site(F.hazptr_release_debug, 276, RELDBG_TASK, 'load ctx->acquire_pid'),
    reldbg_caller: site(F.hazptr_release_debug, 283, RELDBG_ARGS, 'load ctx->acquire_caller'),
    reldbg_msg_pid: site(F.hazptr_release_debug, 283, RELDBG_ARGS, 'load ctx->acquire_pid'),
    reldbg_msg_cpu: site(F.hazptr_release_debug, 283, RELDBG_ARGS, 'load ctx->acquire_cpu'),

    rel_load_slot: site(F.hazptr_release, 315, 'slot = ctx->slot;', 'load ctx->slot'),
    rel_clear: site(F.hazptr_release, 316, 'smp_store_release(&slot->addr, NULL);', 'store-release slot->addr = NULL'),

    // ---- kernel/hazptr.c ----
    free_test: site(F.hazptr_get_free_percpu_slot, 74, 'if (!slot->addr) {', 'load slot->addr'),
    free_ctx: site(F.hazptr_get_free_percpu_slot, 75, 'item->ctx.ctx = ctx;', 'store item->ctx.ctx'),

    sacq_wildcard: site(F.__hazptr_acquire, 98, STORE_B, 'load hazptr_wildcard'),
    sacq_store_b: site(F.__hazptr_acquire, 98, STORE_B, 'store slot->addr = hazptr_wildcard'),
    sacq_mb: site(F.__hazptr_acquire, 101, 'smp_mb();', 'smp_mb'),
    sacq_load_a: site(F.__hazptr_acquire, 106, LOAD_A, 'load *addr_p'),
    sacq_store_c: site(F.__hazptr_acquire, 113, STORE_C, 'store slot->addr = addr'),
    sacq_ctx_slot: site(F.__hazptr_acquire, 114, 'ctx->slot = slot;', 'store ctx->slot'),

    sol_gen: site(F.hazptr_synchronize_overflow_list, 138, 'snapshot_gen = overflow_list->gen;', 'load overflow_list->gen'),
    sol_first: site(F.hazptr_synchronize_overflow_list, 139, SOL_FOR, 'load head->first'),
    sol_load_b: site(F.hazptr_synchronize_overflow_list, 142, SOL_LOAD_B, 'load-acquire backup_slot->slot.addr'),
    sol_relax: site(F.hazptr_synchronize_overflow_list, 149, 'cpu_relax();', 'cpu_relax'),
    sol_gen_spin: site(F.hazptr_synchronize_overflow_list, 151, 'if (overflow_list->gen != snapshot_gen)', 'load overflow_list->gen'),
    sol_gen_next: site(F.hazptr_synchronize_overflow_list, 160, 'if (overflow_list->gen != snapshot_gen)', 'load overflow_list->gen'),
    sol_next: site(F.hazptr_synchronize_overflow_list, 139, SOL_FOR, 'load backup_slot->overflow_node.next'),

    scs_load_b: site(F.hazptr_synchronize_cpu_slots, 176, SCS_LOAD_B, 'load-acquire item->slot.addr'),
    scs_relax: site(F.hazptr_synchronize_cpu_slots, 176, SCS_LOAD_B, 'cpu_relax'),

    sync_mb: site(F.hazptr_synchronize, 236, 'smp_mb();', 'smp_mb'),
    sync_wildcard: site(F.hazptr_synchronize, 239, 'scan_wildcard = flip_wildcard(hazptr_wildcard);', 'load hazptr_wildcard'),
    sync_flip: site(F.hazptr_synchronize, 241, 'WRITE_ONCE(hazptr_wildcard, scan_wildcard);\t/* Flip the current wildcard. */', 'store hazptr_wildcard = scan_wildcard'),

    chain_wildcard: site(F.hazptr_chain_backup_slot, 249, 'unsigned int list_idx = (unsigned long) READ_ONCE(hazptr_wildcard) - 1;', 'load hazptr_wildcard'),
    chain_clear: site(F.hazptr_chain_backup_slot, 253, 'slot->addr = NULL;', 'store slot->addr = NULL'),
    chain_gen_load: site(F.hazptr_chain_backup_slot, 255, 'overflow_list->gen++;', 'load overflow_list->gen'),
    chain_gen_store: site(F.hazptr_chain_backup_slot, 255, 'overflow_list->gen++;', 'store overflow_list->gen'),
    chain_olist: site(F.hazptr_chain_backup_slot, 257, 'ctx->backup_slot.overflow_list = overflow_list;', 'store ctx->backup_slot.overflow_list'),

    unchain_olist: site(F.hazptr_unchain_backup_slot, 264, 'struct hazptr_overflow_list *overflow_list = ctx->backup_slot.overflow_list;', 'load ctx->backup_slot.overflow_list'),
    unchain_gen_load: site(F.hazptr_unchain_backup_slot, 267, 'overflow_list->gen++;', 'load overflow_list->gen'),
    unchain_gen_store: site(F.hazptr_unchain_backup_slot, 267, 'overflow_list->gen++;', 'store overflow_list->gen'),

    init_lock: site(F.hazptr_init, 280, 'raw_spin_lock_init(&overflow_list_flip->array[i].lock);', 'store lock = 0'),
    init_head: site(F.hazptr_init, 281, 'INIT_HLIST_HEAD(&overflow_list_flip->array[i].head);', 'store head->first = NULL'),
  };
  return { F, S };
}

let defs: ReturnType<typeof defineSites> | undefined;
/** The version's functions and sites, registered on first use. */
export function wildcardFlipSites(): ReturnType<typeof defineSites> {
  return (defs ??= defineSites());
}

/** Offsets of the two per-CPU variables in each CPU's area, and the two statics' addresses, set by setup(). */
let PCPU_SLOTS = 0;
let PCPU_FLIP = 0;
let WILDCARD_LOCK = 0;
let WILDCARD = 0;

/** &hazptr_wildcard in the current machine's static region (set by setup()). */
export function wildcardAddr(): number {
  return WILDCARD;
}

/**
 * DEFINE_PER_CPU(hazptr_percpu_slots), DEFINE_PER_CPU(percpu_overflow_list_flip),
 * static DEFINE_MUTEX(hazptr_wildcard_lock) and void *hazptr_wildcard = (void *) 1UL.
 */
function setup(m: Machine): void {
  PCPU_SLOTS = m.mem.definePercpu(PERCPU_SLOTS_SIZE, CACHELINE);
  PCPU_FLIP = m.mem.definePercpu(FLIP_SIZE, 8);
  WILDCARD_LOCK = m.mem.allocStatic(WILDCARD_LOCK_SIZE); // DEFINE_MUTEX: owner 0, unlocked
  WILDCARD = m.mem.allocStatic(WILDCARD_SIZE);
  m.mem.poke(WILDCARD, WILDCARD_INIT);
}

/** flip_wildcard() (kernel/hazptr.c:51): (void *) 1UL <-> (void *) 2UL. */
function flip_wildcard(wildcard: number): number {
  return wildcard === 1 ? 2 : 1;
}

/** is_wildcard() (kernel/hazptr.c:57). */
function is_wildcard(addr: number): boolean {
  return addr === 1 || addr === 2;
}

function backupSlotOf(ctx: number): number {
  return ctx + CTX_BACKUP + BACKUP_SLOT;
}

/**
 * DO_ONCE_LITE_IF's flag for the WARN at `file:line` (once per boot per call
 * site): true while it has not fired on this machine. WARN_ONCE evaluates its
 * message's arguments only then.
 */
function notWarned(m: Machine, file: string, line: number): boolean {
  return !m.warnedOnce.has(`${file}:${line}`);
}


function build(debug: boolean): HazptrVersion {
  const { F, S } = wildcardFlipSites();

  // ---- include/linux/hazptr.h ----

  function* hazptr_promote_to_backup_slot(io: Port, ctx: number, slot: number, line: number): KGen {
    io.enter(F.hazptr_promote_to_backup_slot, line);
    const backup_slot = yield hazptr_chain_backup_slot(io, ctx, 118);
    const a = yield io.load(slot + SLOT_ADDR, ORD_PLAIN, S.promote_load);
    yield io.store(backup_slot + SLOT_ADDR, a, ORD_ONCE, S.promote_backup);
    yield io.store(slot + SLOT_ADDR, 0, io.m.mutant === M.MUT_PROMOTE_WRITE_ONCE ? ORD_ONCE : ORD_RELEASE, S.promote_clear);
    if (io.m.mutant !== M.MUT_PROMOTE_NO_CTX_SLOT) yield io.store(ctx + CTX_SLOT, backup_slot, ORD_PLAIN, S.promote_ctx_slot);
    io.leave();
  }

  function* hazptr_detach(io: Port, ctx: number, line: number): KGen {
    io.enter(F.hazptr_detach, line);
    const guard = io.m.mutant !== M.MUT_DETACH_NO_PREEMPT_GUARD;
    if (guard) io.preempt_disable(); // guard(preempt)();
    if (debug) yield storeFlagsPid(io, ctx, { task: true, cpu: true }, S.detach_flags);
    const slot = yield io.load(ctx + CTX_SLOT, ORD_PLAIN, S.detach_slot);
    if (slot !== backupSlotOf(ctx)) yield hazptr_promote_to_backup_slot(io, ctx, slot, 169); // hazptr_slot_is_backup()
    if (guard) io.preempt_enable();
    io.leave();
  }

  function* hazptr_note_context_switch(io: Port, line: number): KGen {
    io.enter(F.hazptr_note_context_switch, line);
    const percpu_slots = io.this_cpu_ptr(PCPU_SLOTS);
    for (let idx = io.m.mutant === M.MUT_CONTEXT_SWITCH_SKIPS_SLOT_0 ? 1 : 0; idx < NR_HAZPTR_PERCPU_SLOTS; idx++) {
      const item = percpu_slots + idx * ITEM_SIZE;
      const slot = item + ITEM_SLOT;
      if (!(yield io.load(slot + SLOT_ADDR, ORD_PLAIN, S.ncs_test))) continue;
      if (debug) {
        const c = yield io.load(item + ITEM_CTX, ORD_PLAIN, S.ncs_dbg_ctx);
        yield storeFlagsPid(io, c, { cpu: true }, S.ncs_dbg_store);
      }
      const ctx = yield io.load(item + ITEM_CTX, ORD_PLAIN, S.ncs_ctx);
      yield hazptr_promote_to_backup_slot(io, ctx, slot, 187);
    }
    io.leave();
  }

  function* hazptr_acquire(io: Port, ctx: number, addr_p: number, line: number): KGen<number> {
    io.enter(F.hazptr_acquire, line);
    io.preempt_disable(); // guard(preempt)();
    const percpu_slots = io.this_cpu_ptr(PCPU_SLOTS);
    const slot_item = percpu_slots + 0 * ITEM_SIZE;
    const slot = slot_item + ITEM_SLOT;
    if (debug) {
      yield storeFlagsPid(io, ctx, { task: false, cpu: false }, S.acq_dbg_flags);
      yield storeFlagsPid(io, ctx, { pid: io.task.pid }, S.acq_dbg_pid);
      yield io.store(ctx + W_CPU, io.smp_processor_id(), ORD_PLAIN, S.acq_dbg_cpu);
      yield io.store(ctx + W_CALLER, CALLER_IP_BASE + callerFn(io), ORD_PLAIN, S.acq_dbg_caller);
    }
    if (yield io.load(slot + SLOT_ADDR, ORD_PLAIN, S.acq_test)) {
      const r = yield __hazptr_acquire(io, ctx, addr_p, 247);
      io.preempt_enable();
      io.leave();
      return r;
    }
    const wildcard = yield io.load(WILDCARD, ORD_ONCE, S.acq_wildcard);
    yield io.store(slot + SLOT_ADDR, wildcard, ORD_ONCE, S.acq_store_b);
    if (io.m.mutant !== M.MUT_ACQUIRE_NO_MB) yield io.fence(S.acq_mb);
    const addr = yield io.load(addr_p, ORD_ONCE, S.acq_load_a);
    yield io.store(slot + SLOT_ADDR, addr, ORD_ONCE, S.acq_store_c);
    yield io.store(slot_item + ITEM_CTX, ctx, ORD_PLAIN, S.acq_item_ctx);
    if (io.m.mutant !== M.MUT_ACQUIRE_NO_CTX_SLOT) yield io.store(ctx + CTX_SLOT, slot, ORD_PLAIN, S.acq_ctx_slot);
    io.preempt_enable();
    io.leave();
    return addr;
  }

  function* hazptr_release_debug(io: Port, ctx: number, addr: number, line: number): KGen {
    io.enter(F.hazptr_release_debug, line);
    const pid = io.task.pid;
    const cpu = io.smp_processor_id();
    const warn_remote_cpu = !unpackFlagsPid(yield io.load(ctx + W_FLAGS_PID, ORD_PLAIN, S.reldbg_cpu_flag)).detachCpu
      && (yield io.load(ctx + W_CPU, ORD_PLAIN, S.reldbg_cpu)) !== cpu;
    const warn_remote_task = !unpackFlagsPid(yield io.load(ctx + W_FLAGS_PID, ORD_PLAIN, S.reldbg_task_flag)).detachTask
      && unpackFlagsPid(yield io.load(ctx + W_FLAGS_PID, ORD_PLAIN, S.reldbg_pid)).pid !== pid;
    if ((warn_remote_cpu || warn_remote_task) && notWarned(io.m, H, WARN_LINE)) {
      const caller = yield io.load(ctx + W_CALLER, ORD_PLAIN, S.reldbg_caller);
      const apid = unpackFlagsPid(yield io.load(ctx + W_FLAGS_PID, ORD_PLAIN, S.reldbg_msg_pid)).pid;
      const acpu = yield io.load(ctx + W_CPU, ORD_PLAIN, S.reldbg_msg_cpu);
      const fn = functions[caller - CALLER_IP_BASE];
      // %p prints hashed (no_hash_pointers off); %pS a symbol (the model has no offsets)
      warnOnce(io, 'hazptr-debug-remote-release', H, WARN_LINE, WARN_STMT,
        `Hazard Pointer (addr=${hashPtr(addr)}) released on remote ${warn_remote_task ? 'task' : 'cpu'} without ${warn_remote_task ? 'being detached from task' : 'context switch'}. Acquire: caller=${fn ? fn.name : io.m.mem.fmt(caller)}, pid=${apid}, cpu=${acpu}. Release: pid=${pid}, cpu=${cpu}.`);
    }
    io.leave();
  }

  function* hazptr_release(io: Port, ctx: number, addr: number, line: number): KGen {
    io.enter(F.hazptr_release, line);
    if (!addr) {
      io.leave();
      return;
    }
    io.preempt_disable(); // guard(preempt)();
    if (debug) yield hazptr_release_debug(io, ctx, addr, 314);
    const slot = yield io.load(ctx + CTX_SLOT, ORD_PLAIN, S.rel_load_slot);
    yield io.store(slot + SLOT_ADDR, 0, io.m.mutant === M.MUT_RELEASE_WRITE_ONCE ? ORD_ONCE : ORD_RELEASE, S.rel_clear);
    if (slot === backupSlotOf(ctx) && io.m.mutant !== M.MUT_RELEASE_NO_UNCHAIN) yield hazptr_unchain_backup_slot(io, ctx, 318); // hazptr_slot_is_backup()
    io.preempt_enable();
    io.leave();
  }

  // ---- kernel/hazptr.c ----

  function* hazptr_get_free_percpu_slot(io: Port, ctx: number, line: number): KGen<number> {
    io.enter(F.hazptr_get_free_percpu_slot, line);
    const percpu_slots = io.this_cpu_ptr(PCPU_SLOTS);
    for (let idx = 0; idx < NR_HAZPTR_PERCPU_SLOTS; idx++) {
      const item = percpu_slots + idx * ITEM_SIZE;
      const slot = item + ITEM_SLOT;
      if (!(yield io.load(slot + SLOT_ADDR, ORD_PLAIN, S.free_test))) {
        yield io.store(item + ITEM_CTX, ctx, ORD_PLAIN, S.free_ctx);
        io.leave();
        return slot;
      }
    }
    io.leave();
    return 0; // All slots are in use.
  }

  function* __hazptr_acquire(io: Port, ctx: number, addr_p: number, line: number): KGen<number> {
    io.enter(F.__hazptr_acquire, line);
    let slot = yield hazptr_get_free_percpu_slot(io, ctx, 89);
    if (!slot) slot = yield hazptr_chain_backup_slot(io, ctx, 97);
    const wildcard = yield io.load(WILDCARD, ORD_ONCE, S.sacq_wildcard);
    yield io.store(slot + SLOT_ADDR, wildcard, ORD_ONCE, S.sacq_store_b);
    if (io.m.mutant !== M.MUT_SLOW_ACQUIRE_NO_MB) yield io.fence(S.sacq_mb);
    const addr = yield io.load(addr_p, ORD_ONCE, S.sacq_load_a);
    yield io.store(slot + SLOT_ADDR, addr, ORD_ONCE, S.sacq_store_c);
    yield io.store(ctx + CTX_SLOT, slot, ORD_PLAIN, S.sacq_ctx_slot);
    if (!addr && slot === backupSlotOf(ctx) && io.m.mutant !== M.MUT_SLOW_ACQUIRE_NULL_NO_UNCHAIN) yield hazptr_unchain_backup_slot(io, ctx, 116);
    io.leave();
    return addr;
  }

  function* hazptr_synchronize_overflow_list(io: Port, overflow_list: number, addr: number, line: number): KGen {
    io.enter(F.hazptr_synchronize_overflow_list, line);
    const lock = overflow_list + OL_LOCK;
    const loadOrd = io.m.mutant === M.MUT_OVERFLOW_LOAD_RELAXED ? ORD_ONCE : ORD_ACQUIRE;
    let flags = yield raw_spin_lock_irqsave(io, lock, 136);
    retry: for (;;) {
      const snapshot_gen = yield io.load(overflow_list + OL_GEN, ORD_PLAIN, S.sol_gen);
      let node = yield io.load(overflow_list + OL_HEAD, ORD_PLAIN, S.sol_first);
      while (node) {
        const backup_slot = backupOfNode(node);
        /* Busy-wait if node is found. */
        for (;;) {
          const load_addr = yield io.load(backup_slot + BACKUP_SLOT + SLOT_ADDR, loadOrd, S.sol_load_b);
          /* We don't expect wildcards in overflow list. */
          if (is_wildcard(load_addr) && notWarned(io.m, C, WARN_WILDCARD_LINE)) warnOnce(io, 'hazptr-overflow-wildcard', C, WARN_WILDCARD_LINE, 'WARN_ON_ONCE(is_wildcard(load_addr));'); // WARN_ON_ONCE
          if (load_addr !== addr) break;
          yield raw_spin_unlock_irqrestore(io, lock, flags, 148);
          yield io.op(OP_RELAX, S.sol_relax);
          flags = yield raw_spin_lock_irqsave(io, lock, 150);
          if (io.m.mutant !== M.MUT_WALK_NO_GEN_CHECK_WAIT
            && (yield io.load(overflow_list + OL_GEN, ORD_PLAIN, S.sol_gen_spin)) !== snapshot_gen) continue retry;
        }
        yield raw_spin_unlock_irqrestore(io, lock, flags, 154);
        flags = yield raw_spin_lock_irqsave(io, lock, 159);
        if (io.m.mutant !== M.MUT_WALK_NO_GEN_CHECK_NEXT
          && (yield io.load(overflow_list + OL_GEN, ORD_PLAIN, S.sol_gen_next)) !== snapshot_gen) continue retry;
        node = yield io.load(backup_slot + BACKUP_NODE + HLIST_NODE_NEXT, ORD_PLAIN, S.sol_next);
      }
      break;
    }
    yield raw_spin_unlock_irqrestore(io, lock, flags, 163);
    io.leave();
  }

  function* hazptr_synchronize_cpu_slots(io: Port, cpu: number, addr: number, scan_wildcard: number, line: number): KGen {
    io.enter(F.hazptr_synchronize_cpu_slots, line);
    const percpu_slots = io.per_cpu_ptr(PCPU_SLOTS, cpu);
    const ord = io.m.mutant === M.MUT_CPU_SLOTS_LOAD_RELAXED ? ORD_ONCE : ORD_ACQUIRE;
    // the mutant waits on addr only: a wildcard nothing stores
    const wildcard = io.m.mutant === M.MUT_CPU_SLOTS_IGNORE_WILDCARD ? addr : scan_wildcard;
    for (let idx = 0; idx < NR_HAZPTR_PERCPU_SLOTS; idx++) {
      const item = percpu_slots + idx * ITEM_SIZE;
      /* Busy-wait if node is found. */
      for (;;) {
        const v = yield io.load(item + ITEM_SLOT + SLOT_ADDR, ord, S.scs_load_b);
        if (v !== addr && v !== wildcard) break;
        yield io.op(OP_RELAX, S.scs_relax);
      }
    }
    io.leave();
  }

  function* hazptr_scan_period(io: Port, addr: number, scan_wildcard: number, line: number): KGen {
    io.enter(F.hazptr_scan_period, line);
    const scan_idx = scan_wildcard - 1;
    for (let cpu = 0; cpu < io.m.cfg.cpus; cpu++) {
      const overflow_list_flip = io.per_cpu_ptr(PCPU_FLIP, cpu);
      yield hazptr_synchronize_cpu_slots(io, cpu, addr, scan_wildcard, 201);
      if (io.m.mutant !== M.MUT_SCAN_NO_OVERFLOW_LIST) {
        yield hazptr_synchronize_overflow_list(io, overflow_list_flip + FLIP_ARRAY + scan_idx * OL_SIZE, addr, 208);
      }
    }
    io.leave();
  }

  function* hazptr_synchronize(io: Port, addr: number, line: number): KGen {
    io.enter(F.hazptr_synchronize, line);
    io.m.lockdepAssertPreemptionEnabled(io, C, 226);
    if (!addr) {
      io.leave();
      return;
    }
    const mut = io.m.mutant;
    if (mut !== M.MUT_SYNCHRONIZE_NO_MB) yield io.fence(S.sync_mb);
    yield mutex_lock(io, WILDCARD_LOCK, 238); // guard(mutex)
    const scan_wildcard = flip_wildcard(yield io.load(WILDCARD, ORD_PLAIN, S.sync_wildcard));
    if (mut !== M.MUT_SCAN_NO_FIRST_PERIOD) yield hazptr_scan_period(io, addr, scan_wildcard, 240);
    if (mut !== M.MUT_NEVER_FLIP) yield io.store(WILDCARD, scan_wildcard, ORD_ONCE, S.sync_flip);
    if (mut !== M.MUT_SCAN_NO_SECOND_PERIOD) yield hazptr_scan_period(io, addr, flip_wildcard(scan_wildcard), 242);
    yield mutex_unlock(io, WILDCARD_LOCK, 243); // end of guard(mutex) scope
    io.leave();
  }

  function* hazptr_chain_backup_slot(io: Port, ctx: number, line: number): KGen<number> {
    io.enter(F.hazptr_chain_backup_slot, line);
    const overflow_list_flip = io.this_cpu_ptr(PCPU_FLIP);
    const wildcard = yield io.load(WILDCARD, ORD_ONCE, S.chain_wildcard);
    const list_idx = (io.m.mutant === M.MUT_CHAIN_WRONG_LIST ? flip_wildcard(wildcard) : wildcard) - 1;
    const overflow_list = overflow_list_flip + FLIP_ARRAY + list_idx * OL_SIZE;
    const slot = backupSlotOf(ctx);
    const node = ctx + CTX_BACKUP + BACKUP_NODE;
    const unlocked = io.m.mutant === M.MUT_CHAIN_ADD_UNLOCKED;
    yield io.store(slot + SLOT_ADDR, 0, ORD_PLAIN, S.chain_clear);
    if (unlocked) yield hlist_add_head(io, node, overflow_list + OL_HEAD, 256);
    const flags = yield raw_spin_lock_irqsave(io, overflow_list + OL_LOCK, 254); // guard(raw_spinlock_irqsave)
    if (io.m.mutant !== M.MUT_CHAIN_NO_GEN) {
      const gen = yield io.load(overflow_list + OL_GEN, ORD_PLAIN, S.chain_gen_load);
      yield io.store(overflow_list + OL_GEN, gen + 1, ORD_PLAIN, S.chain_gen_store);
    }
    if (!unlocked) yield hlist_add_head(io, node, overflow_list + OL_HEAD, 256);
    yield io.store(ctx + CTX_BACKUP + BACKUP_OVERFLOW_LIST, overflow_list, ORD_PLAIN, S.chain_olist);
    yield raw_spin_unlock_irqrestore(io, overflow_list + OL_LOCK, flags, 258); // end of guard scope at return
    io.leave();
    return slot;
  }

  function* hazptr_unchain_backup_slot(io: Port, ctx: number, line: number): KGen {
    io.enter(F.hazptr_unchain_backup_slot, line);
    const overflow_list = yield io.load(ctx + CTX_BACKUP + BACKUP_OVERFLOW_LIST, ORD_PLAIN, S.unchain_olist);
    const flags = yield raw_spin_lock_irqsave(io, overflow_list + OL_LOCK, 266); // guard(raw_spinlock_irqsave)
    if (io.m.mutant !== M.MUT_UNCHAIN_NO_GEN) {
      const gen = yield io.load(overflow_list + OL_GEN, ORD_PLAIN, S.unchain_gen_load);
      yield io.store(overflow_list + OL_GEN, gen + 1, ORD_PLAIN, S.unchain_gen_store);
    }
    yield hlist_del(io, ctx + CTX_BACKUP + BACKUP_NODE, 268);
    yield raw_spin_unlock_irqrestore(io, overflow_list + OL_LOCK, flags, 269); // end of guard scope
    io.leave();
  }

  function* hazptr_init(io: Port): KGen {
    io.enter(F.hazptr_init);
    for (let cpu = 0; cpu < io.m.cfg.cpus; cpu++) {
      const overflow_list_flip = io.per_cpu_ptr(PCPU_FLIP, cpu);
      for (let i = 0; i < 2; i++) {
        const ol = overflow_list_flip + FLIP_ARRAY + i * OL_SIZE;
        yield io.store(ol + OL_LOCK, 0, ORD_PLAIN, S.init_lock);
        yield io.store(ol + OL_HEAD, 0, ORD_PLAIN, S.init_head);
      }
    }
    io.leave();
  }

  return {
    name: 'wildcard-flip',
    summary: debug
      ? 'wildcard-flip built with CONFIG_HAZPTR_DEBUG: a WARN_ONCE when a hazard pointer is released on another task or CPU without a detach or a context switch'
      : 'two-phase wildcard scan: a global hazptr_wildcard flipped between 1 and 2 under one mutex, the -rcu header with hazptr_detach() (CONFIG_HAZPTR_DEBUG: wildcard-flip+debug)',
    mutants: M.wildcardFlipMutants,
    ctxSize: debug ? CTX_SIZE_DEBUG : CTX_SIZE_NODEBUG,
    setup,
    init: hazptr_init,
    hazptr_acquire,
    hazptr_release,
    hazptr_synchronize,
    hazptr_detach,
    note_context_switch: hazptr_note_context_switch,
    quiescence,
  };
}

/** After every task has ended: slots still holding an address, lists still holding nodes. */
function quiescence(m: Machine): string[] {
  const out: string[] = [];
  const mem = m.mem;
  for (let cpu = 0; cpu < m.cfg.cpus; cpu++) {
    const slots = mem.percpuBase(cpu) + PCPU_SLOTS;
    for (let i = 0; i < NR_HAZPTR_PERCPU_SLOTS; i++) {
      const a = mem.peek(slots + i * ITEM_SIZE + ITEM_SLOT + SLOT_ADDR);
      if (a) out.push(`per_cpu(hazptr_percpu_slots, ${cpu}).items[${i}].slot.addr = ${mem.fmt(a)} (ctx ${mem.fmt(mem.peek(slots + i * ITEM_SIZE + ITEM_CTX))})`);
    }
    for (let i = 0; i < 2; i++) {
      let node = mem.peek(mem.percpuBase(cpu) + PCPU_FLIP + FLIP_ARRAY + i * OL_SIZE + OL_HEAD);
      for (let n = 0; node && n < 16; n++) {
        const inMem = node >= mem.regions[0].lo && node < mem.end;
        const backup = backupOfNode(node);
        out.push(`per_cpu(percpu_overflow_list_flip, ${cpu}).array[${i}] still chains backup slot ${mem.fmt(backup)}${inMem ? ` (slot.addr = ${mem.fmt(mem.peek(backup + BACKUP_SLOT + SLOT_ADDR))})` : ''}`);
        node = inMem ? mem.peek(node + HLIST_NODE_NEXT) : 0;
      }
    }
  }
  return out;
}

let built: HazptrVersion | undefined;
/** wildcard-flip, and its CONFIG_HAZPTR_DEBUG build as `.debug`; built (and its sites registered) on first use. */
export function wildcardFlip(): HazptrVersion {
  if (!built) built = { ...build(false), debug: build(true) };
  return built;
}
