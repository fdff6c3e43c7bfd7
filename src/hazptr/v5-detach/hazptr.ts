// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * hazptr v5-detach (../shared/reference/v5-detach/, see its README): v5's
 * kernel/hazptr.c unchanged, and an include/linux/hazptr.h that adds
 * hazptr_promote_to_backup_slot(), hazptr_detach() and the CONFIG_HAZPTR_DEBUG
 * checks. Ported statement by statement like v5: each shared access is one
 * step, labelled with its function and its line in the reference file.
 *
 * The hazptr.c functions are v5's own implementation (src/hazptr/v5/hazptr.ts):
 * the C is identical, line for line, so the sites (kernel/hazptr.c:LINE) are
 * the same ones. Only the header's inline functions are ported here.
 *
 * The version's mutants are ./mutants.ts: the kernel/hazptr.c ones are carried by
 * v5's port, the include/linux/hazptr.h ones here, each as a test of io.m.mutant
 * at the statement it changes.
 *
 * Sites are registered on first use (setup()), not at module load, so that
 * the site ids of every other module (which feed the schedule digest) stay
 * where they were before this version existed.
 */
import type { Machine } from '../../kernel/machine.ts';
import { ORD_ONCE, ORD_PLAIN, ORD_RELEASE, type KGen, type Port } from '../../kernel/port.ts';
import { warnOnce } from '../../kernel/reports.ts';
import { hashPtr } from '../../kernel/addr.ts';
import { functions, kfunc, memoryDriven, site } from '../../kernel/sites.ts';
import type { HazptrVersion } from '../version.ts';
import {
  __hazptr_acquire, backupSlotOf, hazptr_chain_backup_slot, hazptr_init, hazptr_synchronize, hazptr_unchain_backup_slot,
  percpuSlotsOffset, quiescence, setupPercpu,
} from '../v5/hazptr.ts';
import { CTX_SLOT, HAZPTR_WILDCARD, ITEM_CTX, ITEM_SIZE, ITEM_SLOT, NR_HAZPTR_PERCPU_SLOTS, SLOT_ADDR } from '../v5/layout.ts';
import { CTX_SIZE_DEBUG, CTX_SIZE_NODEBUG, W_CALLER, W_CPU, W_FLAGS_PID, packFlagsPid, unpackFlagsPid } from './layout.ts';
import {
  MUT_ACQUIRE_NO_CTX_SLOT, MUT_ACQUIRE_NO_MB, MUT_CONTEXT_SWITCH_NO_PROMOTE, MUT_DETACH_NO_PREEMPT_GUARD,
  MUT_PROMOTE_NO_CTX_SLOT, MUT_PROMOTE_WRITE_ONCE, MUT_RELEASE_NO_UNCHAIN, MUT_RELEASE_WRITE_ONCE, v5DetachMutants,
} from './mutants.ts';

export const H = 'include/linux/hazptr.h';

function defineSites() {
  const F = {
    hazptr_promote_to_backup_slot: kfunc('hazptr_promote_to_backup_slot', H, true),
    hazptr_detach: kfunc('hazptr_detach', H, true),
    hazptr_note_context_switch: kfunc('hazptr_note_context_switch', H, true),
    hazptr_acquire: kfunc('hazptr_acquire', H, true),
    hazptr_release_debug: kfunc('hazptr_release_debug', H, true),
    hazptr_release: kfunc('hazptr_release', H, true),
  };
  memoryDriven(...Object.values(F));
  const S = {
    promote_load: site(F.hazptr_promote_to_backup_slot, 119, 'WRITE_ONCE(backup_slot->addr, slot->addr);', 'load slot->addr'),
    promote_backup: site(F.hazptr_promote_to_backup_slot, 119, 'WRITE_ONCE(backup_slot->addr, slot->addr);', 'store backup_slot->addr'),
    promote_clear: site(F.hazptr_promote_to_backup_slot, 124, 'smp_store_release(&slot->addr, NULL);', 'store-release slot->addr = NULL'),
    promote_ctx_slot: site(F.hazptr_promote_to_backup_slot, 126, 'ctx->slot = backup_slot;', 'store ctx->slot = backup_slot'),

    detach_flags: site(F.hazptr_detach, 136, 'ctx->detach_task = ctx->detach_cpu = true;', 'store ctx->detach_task = ctx->detach_cpu = true'),
    detach_slot: site(F.hazptr_detach, 138, 'slot = ctx->slot;', 'load ctx->slot'),

    ncs_test: site(F.hazptr_note_context_switch, 154, 'if (!slot->addr)', 'load slot->addr'),
    ncs_dbg_ctx: site(F.hazptr_note_context_switch, 157, 'item->ctx.ctx->detach_cpu = true;', 'load item->ctx.ctx'),
    ncs_dbg_store: site(F.hazptr_note_context_switch, 157, 'item->ctx.ctx->detach_cpu = true;', 'store ctx->detach_cpu = true'),
    ncs_ctx: site(F.hazptr_note_context_switch, 159, 'hazptr_promote_to_backup_slot(item->ctx.ctx, slot);', 'load item->ctx.ctx'),

    acq_dbg_flags: site(F.hazptr_acquire, 188, 'ctx->detach_cpu = ctx->detach_task = false;', 'store ctx->detach_cpu = ctx->detach_task = false'),
    acq_dbg_pid: site(F.hazptr_acquire, 189, 'ctx->acquire_pid = current->pid;', 'store ctx->acquire_pid'),
    acq_dbg_cpu: site(F.hazptr_acquire, 190, 'ctx->acquire_cpu = smp_processor_id();', 'store ctx->acquire_cpu'),
    acq_dbg_caller: site(F.hazptr_acquire, 191, 'ctx->acquire_caller = _THIS_IP_;', 'store ctx->acquire_caller'),
    acq_test: site(F.hazptr_acquire, 193, 'if (unlikely(slot->addr))', 'load slot->addr'),
    acq_store_b: site(F.hazptr_acquire, 195, 'WRITE_ONCE(slot->addr, HAZPTR_WILDCARD);\t/* Store B */', 'store slot->addr = HAZPTR_WILDCARD'),
    acq_mb: site(F.hazptr_acquire, 198, 'smp_mb();', 'smp_mb'),
    acq_load_a: site(F.hazptr_acquire, 203, 'addr = READ_ONCE(*addr_p);\t/* Load A */', 'load *addr_p'),
    acq_store_c: site(F.hazptr_acquire, 210, 'WRITE_ONCE(slot->addr, addr);\t/* Store C */', 'store slot->addr = addr'),
    acq_item_ctx: site(F.hazptr_acquire, 211, 'slot_item->ctx.ctx = ctx;', 'store slot_item->ctx.ctx'),
    acq_ctx_slot: site(F.hazptr_acquire, 212, 'ctx->slot = slot;', 'store ctx->slot'),

    reldbg_cpu_flag: site(F.hazptr_release_debug, 222, 'bool warn_remote_cpu = !ctx->detach_cpu && ctx->acquire_cpu != cpu,', 'load ctx->detach_cpu'),
    reldbg_cpu: site(F.hazptr_release_debug, 222, 'bool warn_remote_cpu = !ctx->detach_cpu && ctx->acquire_cpu != cpu,', 'load ctx->acquire_cpu'),
    reldbg_task_flag: site(F.hazptr_release_debug, 223, 'warn_remote_task = !ctx->detach_task && ctx->acquire_pid != pid;', 'load ctx->detach_task'),
    reldbg_pid: site(F.hazptr_release_debug, 223, 'warn_remote_task = !ctx->detach_task && ctx->acquire_pid != pid;', 'load ctx->acquire_pid'),
    reldbg_caller: site(F.hazptr_release_debug, 230, '(void *) ctx->acquire_caller, ctx->acquire_pid, ctx->acquire_cpu, pid, cpu);', 'load ctx->acquire_caller'),
    reldbg_msg_pid: site(F.hazptr_release_debug, 230, '(void *) ctx->acquire_caller, ctx->acquire_pid, ctx->acquire_cpu, pid, cpu);', 'load ctx->acquire_pid'),
    reldbg_msg_cpu: site(F.hazptr_release_debug, 230, '(void *) ctx->acquire_caller, ctx->acquire_pid, ctx->acquire_cpu, pid, cpu);', 'load ctx->acquire_cpu'),

    rel_load_slot: site(F.hazptr_release, 246, 'slot = ctx->slot;', 'load ctx->slot'),
    rel_clear: site(F.hazptr_release, 247, 'smp_store_release(&slot->addr, NULL);', 'store-release slot->addr = NULL'),
  };
  return { F, S };
}

let defs: ReturnType<typeof defineSites> | undefined;
/** The version's functions and sites, registered on first use. */
export function detachSites(): ReturnType<typeof defineSites> {
  return (defs ??= defineSites());
}

/** _THIS_IP_ as the model stores it: a number naming the (non-inline) function hazptr_acquire() is inlined into. */
export const CALLER_IP_BASE = 0x81000000;

/** hazptr_release_debug()'s WARN_ONCE line, for the headline. */
export const WARN_LINE = 225;

/**
 * A store to one or two bytes of a model word (bool/int fields): the word's other
 * bytes are written back as this task sees them when it issues the store (through
 * its CPU's store buffer, under TSO).
 */
export function* storeFlagsPid(io: Port, ctx: number, f: { task?: boolean; cpu?: boolean; pid?: number }, s: number): KGen {
  const cur = unpackFlagsPid(io.m.seen(io, ctx + W_FLAGS_PID) || 0);
  const w = packFlagsPid(f.task ?? cur.detachTask, f.cpu ?? cur.detachCpu, f.pid ?? cur.pid);
  yield io.store(ctx + W_FLAGS_PID, w, ORD_PLAIN, s);
}

function build(debug: boolean): HazptrVersion {
  const { F, S } = detachSites();

  function* hazptr_promote_to_backup_slot(io: Port, ctx: number, slot: number, line: number): KGen {
    io.enter(F.hazptr_promote_to_backup_slot, line);
    const backup_slot = yield hazptr_chain_backup_slot(io, ctx, 112);
    const a = yield io.load(slot + SLOT_ADDR, ORD_PLAIN, S.promote_load);
    yield io.store(backup_slot + SLOT_ADDR, a, ORD_ONCE, S.promote_backup);
    yield io.store(slot + SLOT_ADDR, 0, io.m.mutant !== MUT_PROMOTE_WRITE_ONCE ? ORD_RELEASE : ORD_ONCE, S.promote_clear);
    if (io.m.mutant !== MUT_PROMOTE_NO_CTX_SLOT) yield io.store(ctx + CTX_SLOT, backup_slot, ORD_PLAIN, S.promote_ctx_slot);
    io.leave();
  }

  function* hazptr_detach(io: Port, ctx: number, line: number): KGen {
    io.enter(F.hazptr_detach, line);
    const guard = io.m.mutant !== MUT_DETACH_NO_PREEMPT_GUARD;
    if (guard) io.preempt_disable(); // guard(preempt)();
    if (debug) yield storeFlagsPid(io, ctx, { task: true, cpu: true }, S.detach_flags);
    const slot = yield io.load(ctx + CTX_SLOT, ORD_PLAIN, S.detach_slot);
    if (slot !== backupSlotOf(ctx)) yield hazptr_promote_to_backup_slot(io, ctx, slot, 141);
    if (guard) io.preempt_enable();
    io.leave();
  }

  function* hazptr_note_context_switch(io: Port, line: number): KGen {
    io.enter(F.hazptr_note_context_switch, line);
    const percpu_slots = io.this_cpu_ptr(percpuSlotsOffset());
    for (let idx = 0; idx < NR_HAZPTR_PERCPU_SLOTS; idx++) {
      const item = percpu_slots + idx * ITEM_SIZE;
      const slot = item + ITEM_SLOT;
      if (!(yield io.load(slot + SLOT_ADDR, ORD_PLAIN, S.ncs_test))) continue;
      if (debug) {
        const c = yield io.load(item + ITEM_CTX, ORD_PLAIN, S.ncs_dbg_ctx);
        yield storeFlagsPid(io, c, { cpu: true }, S.ncs_dbg_store);
      }
      if (io.m.mutant === MUT_CONTEXT_SWITCH_NO_PROMOTE) continue;
      const ctx = yield io.load(item + ITEM_CTX, ORD_PLAIN, S.ncs_ctx);
      yield hazptr_promote_to_backup_slot(io, ctx, slot, 159);
    }
    io.leave();
  }

  function* hazptr_acquire(io: Port, ctx: number, addr_p: number, line: number): KGen<number> {
    io.enter(F.hazptr_acquire, line);
    io.preempt_disable(); // guard(preempt)();
    const percpu_slots = io.this_cpu_ptr(percpuSlotsOffset());
    const slot_item = percpu_slots + 0 * ITEM_SIZE;
    const slot = slot_item + ITEM_SLOT;
    if (debug) {
      yield storeFlagsPid(io, ctx, { task: false, cpu: false }, S.acq_dbg_flags);
      yield storeFlagsPid(io, ctx, { pid: io.task.pid }, S.acq_dbg_pid);
      yield io.store(ctx + W_CPU, io.smp_processor_id(), ORD_PLAIN, S.acq_dbg_cpu);
      yield io.store(ctx + W_CALLER, CALLER_IP_BASE + callerFn(io), ORD_PLAIN, S.acq_dbg_caller);
    }
    if (yield io.load(slot + SLOT_ADDR, ORD_PLAIN, S.acq_test)) {
      const r = yield __hazptr_acquire(io, ctx, addr_p, 194);
      io.preempt_enable();
      io.leave();
      return r;
    }
    yield io.store(slot + SLOT_ADDR, HAZPTR_WILDCARD, ORD_ONCE, S.acq_store_b);
    if (io.m.mutant !== MUT_ACQUIRE_NO_MB) yield io.fence(S.acq_mb);
    const addr = yield io.load(addr_p, ORD_ONCE, S.acq_load_a);
    yield io.store(slot + SLOT_ADDR, addr, ORD_ONCE, S.acq_store_c);
    yield io.store(slot_item + ITEM_CTX, ctx, ORD_PLAIN, S.acq_item_ctx);
    if (io.m.mutant !== MUT_ACQUIRE_NO_CTX_SLOT) yield io.store(ctx + CTX_SLOT, slot, ORD_PLAIN, S.acq_ctx_slot);
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
    const m = io.m;
    if ((warn_remote_cpu || warn_remote_task) && !m.warnedOnce.has(WARN_ONCE_KEY)) {
      const caller = yield io.load(ctx + W_CALLER, ORD_PLAIN, S.reldbg_caller);
      const apid = unpackFlagsPid(yield io.load(ctx + W_FLAGS_PID, ORD_PLAIN, S.reldbg_msg_pid)).pid;
      const acpu = yield io.load(ctx + W_CPU, ORD_PLAIN, S.reldbg_msg_cpu);
      const fn = functions[caller - CALLER_IP_BASE];
      // %p prints hashed (no_hash_pointers off); %pS a symbol (the model has no offsets)
      const msg = `Hazard Pointer (addr=${hashPtr(addr)}) released on remote ${warn_remote_task ? 'task' : 'cpu'} without ${warn_remote_task ? 'being detached from task' : 'context switch'}. Acquire: caller=${fn ? fn.name : m.mem.fmt(caller)}, pid=${apid}, cpu=${acpu}. Release: pid=${pid}, cpu=${cpu}.`;
      warnOnce(io, 'hazptr-debug-remote-release', H, WARN_LINE, WARN_STMT, msg);
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
    if (debug) yield hazptr_release_debug(io, ctx, addr, 245);
    const slot = yield io.load(ctx + CTX_SLOT, ORD_PLAIN, S.rel_load_slot);
    yield io.store(slot + SLOT_ADDR, 0, io.m.mutant !== MUT_RELEASE_WRITE_ONCE ? ORD_RELEASE : ORD_ONCE, S.rel_clear);
    // hazptr_slot_is_backup()
    if (slot === backupSlotOf(ctx) && io.m.mutant !== MUT_RELEASE_NO_UNCHAIN) yield hazptr_unchain_backup_slot(io, ctx, 249);
    io.preempt_enable();
    io.leave();
  }

  return {
    name: 'v5-detach',
    summary: debug
      ? 'v5-detach built with CONFIG_HAZPTR_DEBUG: a WARN_ONCE when a hazard pointer is released on another task or CPU without a detach or a context switch'
      : "v5's hazptr.c with the -rcu header: hazptr_detach(), hazptr_promote_to_backup_slot() (CONFIG_HAZPTR_DEBUG: v5-detach+debug)",
    mutants: v5DetachMutants,
    ctxSize: debug ? CTX_SIZE_DEBUG : CTX_SIZE_NODEBUG,
    setup: setupPercpu,
    init: hazptr_init,
    hazptr_acquire,
    hazptr_release,
    hazptr_synchronize,
    hazptr_detach,
    note_context_switch: hazptr_note_context_switch,
    quiescence: (m: Machine) => quiescence(m),
  };
}

/** hazptr_release_debug()'s WARN_ONCE: once per boot (Machine.warnedOnce, keyed by its file:line). */
const WARN_ONCE_KEY = `${H}:${WARN_LINE}`;
/** Its C text, for the Code: line. */
export const WARN_STMT = 'WARN_ONCE(warn_remote_cpu || warn_remote_task,';

/** The function _THIS_IP_ names: the innermost non-inline function below hazptr_acquire(). */
export function callerFn(io: Port): number {
  for (let d = io.depth - 2; d >= 0; d--) if (!functions[io.fns[d]].inline) return io.fns[d];
  return io.depth >= 2 ? io.fns[io.depth - 2] : 0;
}

let built: HazptrVersion | undefined;
/** v5-detach, and its CONFIG_HAZPTR_DEBUG build as `.debug`; built (and its sites registered) on first use. */
export function v5Detach(): HazptrVersion {
  if (!built) {
    const base = build(false);
    built = { ...base, debug: build(true) };
  }
  return built;
}
