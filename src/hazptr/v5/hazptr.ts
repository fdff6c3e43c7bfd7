// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The v5 hazptr patch ("[RFC PATCH v5 1/2] hazptr: Implement Hazard Pointers"),
 * ported statement by statement. Each access to shared memory is one step,
 * labelled with its C function and its line in include/linux/hazptr.h or
 * kernel/hazptr.c as the patch creates them. Nothing is fixed: its bugs are
 * what hazsim is for. A fixed version goes in a directory beside this one.
 *
 * The kernel/hazptr.c functions carry the mutants of ./mutants.ts (v5-detach's
 * catalogue, which shares them) at the statements they change, as tests of
 * io.m.mutant; with no mutant (0) every test takes the original path.
 */
import { HLIST_NODE_NEXT, hlist_add_head, hlist_del } from '../../kernel/list.ts';
import { mutex_lock, mutex_unlock, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore } from '../../kernel/locks.ts';
import type { Machine } from '../../kernel/machine.ts';
import { OP_RELAX, ORD_ACQUIRE, ORD_ONCE, ORD_PLAIN, ORD_RELEASE, type KGen, type Port } from '../../kernel/port.ts';
import { kfunc, memoryDriven, site } from '../../kernel/sites.ts';
import type { HazptrVersion } from '../version.ts';
import {
  MUT_CHAIN_ADD_UNLOCKED, MUT_CHAIN_NO_GEN, MUT_CPU_SLOTS_IGNORE_WILDCARD, MUT_CPU_SLOTS_LOAD_RELAXED, MUT_NEVER_FLIP,
  MUT_OVERFLOW_IGNORE_WILDCARD, MUT_OVERFLOW_LOAD_RELAXED, MUT_SCAN_NO_FIRST_LIST, MUT_SCAN_NO_OVERFLOW_LIST,
  MUT_SCAN_NO_SECOND_LIST, MUT_SLOW_ACQUIRE_NO_MB, MUT_SLOW_ACQUIRE_NULL_NO_UNCHAIN, MUT_SYNCHRONIZE_NO_MB, MUT_UNCHAIN_NO_GEN,
  MUT_WALK_NO_GEN_CHECK_NEXT, MUT_WALK_NO_GEN_CHECK_WAIT,
} from './mutants.ts';
import {
  BACKUP_NODE, BACKUP_OVERFLOW_LIST, BACKUP_SLOT, CACHELINE, CTX_BACKUP, CTX_SIZE, CTX_SLOT, FLIP_ADD_IDX, FLIP_ARRAY,
  FLIP_LOCK, FLIP_SIZE, HAZPTR_WILDCARD, ITEM_CTX, ITEM_SIZE, ITEM_SLOT, NR_HAZPTR_PERCPU_SLOTS, OL_GEN, OL_HEAD, OL_LOCK,
  OL_SIZE, PERCPU_SLOTS_SIZE, SLOT_ADDR, backupOfNode,
} from './layout.ts';

const H = 'include/linux/hazptr.h';
const C = 'kernel/hazptr.c';

export const F = {
  hazptr_note_context_switch: kfunc('hazptr_note_context_switch', H, true),
  hazptr_acquire: kfunc('hazptr_acquire', H, true),
  hazptr_release: kfunc('hazptr_release', H, true),
  hazptr_get_free_percpu_slot: kfunc('hazptr_get_free_percpu_slot', C, true),
  __hazptr_acquire: kfunc('__hazptr_acquire', C),
  hazptr_synchronize_overflow_list: kfunc('hazptr_synchronize_overflow_list', C),
  hazptr_synchronize_cpu_slots: kfunc('hazptr_synchronize_cpu_slots', C, true),
  hazptr_synchronize: kfunc('hazptr_synchronize', C),
  hazptr_chain_backup_slot: kfunc('hazptr_chain_backup_slot', C),
  hazptr_unchain_backup_slot: kfunc('hazptr_unchain_backup_slot', C),
  hazptr_init: kfunc('hazptr_init', C),
};
// Every loop of the patch ends on a value it loads (or walks distinct per-CPU addresses).
memoryDriven(...Object.values(F));

/** Every step of the port: [function, line, C statement, what the step does]. Tests check each line against the patch. */
export const S = {
  ncs_test: site(F.hazptr_note_context_switch, 112, 'if (!slot->addr)', 'load slot->addr'),
  ncs_ctx: site(F.hazptr_note_context_switch, 114, 'ctx = item->ctx.ctx;', 'load item->ctx.ctx'),
  ncs_reload: site(F.hazptr_note_context_switch, 122, 'WRITE_ONCE(backup_slot->addr, slot->addr);', 'load slot->addr'),
  ncs_backup: site(F.hazptr_note_context_switch, 122, 'WRITE_ONCE(backup_slot->addr, slot->addr);', 'store backup_slot->addr'),
  ncs_clear: site(F.hazptr_note_context_switch, 127, 'smp_store_release(&slot->addr, NULL);', 'store-release slot->addr = NULL'),
  ncs_ctx_slot: site(F.hazptr_note_context_switch, 129, 'ctx->slot = backup_slot;', 'store ctx->slot = backup_slot'),

  acq_test: site(F.hazptr_acquire, 157, 'if (unlikely(slot->addr))', 'load slot->addr'),
  acq_store_b: site(F.hazptr_acquire, 159, 'WRITE_ONCE(slot->addr, HAZPTR_WILDCARD); /* Store B */', 'store slot->addr = HAZPTR_WILDCARD'),
  acq_mb: site(F.hazptr_acquire, 162, 'smp_mb();', 'smp_mb'),
  acq_load_a: site(F.hazptr_acquire, 167, 'addr = READ_ONCE(*addr_p); /* Load A */', 'load *addr_p'),
  acq_store_c: site(F.hazptr_acquire, 174, 'WRITE_ONCE(slot->addr, addr); /* Store C */', 'store slot->addr = addr'),
  acq_item_ctx: site(F.hazptr_acquire, 175, 'slot_item->ctx.ctx = ctx;', 'store slot_item->ctx.ctx'),
  acq_ctx_slot: site(F.hazptr_acquire, 176, 'ctx->slot = slot;', 'store ctx->slot'),

  rel_load_slot: site(F.hazptr_release, 189, 'slot = ctx->slot;', 'load ctx->slot'),
  rel_clear: site(F.hazptr_release, 190, 'smp_store_release(&slot->addr, NULL);', 'store-release slot->addr = NULL'),

  free_test: site(F.hazptr_get_free_percpu_slot, 51, 'if (!slot->addr) {', 'load slot->addr'),
  free_ctx: site(F.hazptr_get_free_percpu_slot, 52, 'item->ctx.ctx = ctx;', 'store item->ctx.ctx'),

  sacq_store_b: site(F.__hazptr_acquire, 75, 'WRITE_ONCE(slot->addr, HAZPTR_WILDCARD); /* Store B */', 'store slot->addr = HAZPTR_WILDCARD'),
  sacq_mb: site(F.__hazptr_acquire, 78, 'smp_mb();', 'smp_mb'),
  sacq_load_a: site(F.__hazptr_acquire, 83, 'addr = READ_ONCE(*addr_p); /* Load A */', 'load *addr_p'),
  sacq_store_c: site(F.__hazptr_acquire, 90, 'WRITE_ONCE(slot->addr, addr); /* Store C */', 'store slot->addr = addr'),
  sacq_ctx_slot: site(F.__hazptr_acquire, 91, 'ctx->slot = slot;', 'store ctx->slot'),

  sol_gen: site(F.hazptr_synchronize_overflow_list, 115, 'snapshot_gen = overflow_list->gen;', 'load overflow_list->gen'),
  sol_first: site(F.hazptr_synchronize_overflow_list, 116, 'hlist_for_each_entry(backup_slot, &overflow_list->head, overflow_node) {', 'load head->first'),
  sol_load_b: site(F.hazptr_synchronize_overflow_list, 119, 'void *load_addr = smp_load_acquire(&backup_slot->slot.addr); /* Load B */', 'load-acquire backup_slot->slot.addr'),
  sol_relax: site(F.hazptr_synchronize_overflow_list, 124, 'cpu_relax();', 'cpu_relax'),
  sol_gen_spin: site(F.hazptr_synchronize_overflow_list, 126, 'if (overflow_list->gen != snapshot_gen)', 'load overflow_list->gen'),
  sol_gen_next: site(F.hazptr_synchronize_overflow_list, 135, 'if (overflow_list->gen != snapshot_gen)', 'load overflow_list->gen'),
  sol_next: site(F.hazptr_synchronize_overflow_list, 116, 'hlist_for_each_entry(backup_slot, &overflow_list->head, overflow_node) {', 'load backup_slot->overflow_node.next'),

  scs_load_b: site(F.hazptr_synchronize_cpu_slots, 151, 'smp_cond_load_acquire(&item->slot.addr, VAL != addr && VAL != HAZPTR_WILDCARD); /* Load B */', 'load-acquire item->slot.addr'),
  scs_relax: site(F.hazptr_synchronize_cpu_slots, 151, 'smp_cond_load_acquire(&item->slot.addr, VAL != addr && VAL != HAZPTR_WILDCARD); /* Load B */', 'cpu_relax'),

  sync_mb: site(F.hazptr_synchronize, 179, 'smp_mb();', 'smp_mb'),
  sync_add_idx: site(F.hazptr_synchronize, 194, 'scan_idx = overflow_list_flip->add_idx ^ 1;', 'load overflow_list_flip->add_idx'),
  sync_flip: site(F.hazptr_synchronize, 197, 'WRITE_ONCE(overflow_list_flip->add_idx, scan_idx);', 'store overflow_list_flip->add_idx'),

  chain_add_idx: site(F.hazptr_chain_backup_slot, 206, 'unsigned int list_idx = READ_ONCE(overflow_list_flip->add_idx);', 'load overflow_list_flip->add_idx'),
  chain_clear: site(F.hazptr_chain_backup_slot, 210, 'slot->addr = NULL;', 'store slot->addr = NULL'),
  chain_gen_load: site(F.hazptr_chain_backup_slot, 212, 'overflow_list->gen++;', 'load overflow_list->gen'),
  chain_gen_store: site(F.hazptr_chain_backup_slot, 212, 'overflow_list->gen++;', 'store overflow_list->gen'),
  chain_olist: site(F.hazptr_chain_backup_slot, 214, 'ctx->backup_slot.overflow_list = overflow_list;', 'store ctx->backup_slot.overflow_list'),

  unchain_olist: site(F.hazptr_unchain_backup_slot, 221, 'struct hazptr_overflow_list *overflow_list = ctx->backup_slot.overflow_list;', 'load ctx->backup_slot.overflow_list'),
  unchain_gen_load: site(F.hazptr_unchain_backup_slot, 224, 'overflow_list->gen++;', 'load overflow_list->gen'),
  unchain_gen_store: site(F.hazptr_unchain_backup_slot, 224, 'overflow_list->gen++;', 'store overflow_list->gen'),

  init_mutex: site(F.hazptr_init, 236, 'mutex_init(&overflow_list_flip->lock);', 'store lock->owner = 0'),
  init_lock: site(F.hazptr_init, 238, 'raw_spin_lock_init(&overflow_list_flip->array[i].lock);', 'store lock = 0'),
  init_head: site(F.hazptr_init, 239, 'INIT_HLIST_HEAD(&overflow_list_flip->array[i].head);', 'store head->first = NULL'),
};

/** Offsets of the two per-CPU variables in each CPU's area, set by setup(). */
let PCPU_SLOTS = 0;
let PCPU_FLIP = 0;

/**
 * DEFINE_PER_CPU(hazptr_percpu_slots) and DEFINE_PER_CPU(percpu_overflow_list_flip)
 * of kernel/hazptr.c; also the setup of versions that share this hazptr.c (v5-detach).
 */
export function setupPercpu(m: Machine): void {
  PCPU_SLOTS = m.mem.definePercpu(PERCPU_SLOTS_SIZE, CACHELINE);
  PCPU_FLIP = m.mem.definePercpu(FLIP_SIZE, 8);
}

/** The per-CPU slots' offset in each CPU's area (set by setupPercpu()). */
export function percpuSlotsOffset(): number {
  return PCPU_SLOTS;
}

export function backupSlotOf(ctx: number): number {
  return ctx + CTX_BACKUP + BACKUP_SLOT;
}

function* hazptr_note_context_switch(io: Port, line: number): KGen {
  io.enter(F.hazptr_note_context_switch, line);
  const percpu_slots = io.this_cpu_ptr(PCPU_SLOTS);
  for (let idx = 0; idx < NR_HAZPTR_PERCPU_SLOTS; idx++) {
    const item = percpu_slots + idx * ITEM_SIZE;
    const slot = item + ITEM_SLOT;
    if (!(yield io.load(slot + SLOT_ADDR, ORD_PLAIN, S.ncs_test))) continue;
    const ctx = yield io.load(item + ITEM_CTX, ORD_PLAIN, S.ncs_ctx);
    const backup_slot = yield hazptr_chain_backup_slot(io, ctx, 115);
    const a = yield io.load(slot + SLOT_ADDR, ORD_PLAIN, S.ncs_reload);
    yield io.store(backup_slot + SLOT_ADDR, a, ORD_ONCE, S.ncs_backup);
    yield io.store(slot + SLOT_ADDR, 0, ORD_RELEASE, S.ncs_clear);
    yield io.store(ctx + CTX_SLOT, backup_slot, ORD_PLAIN, S.ncs_ctx_slot);
  }
  io.leave();
}

function* hazptr_acquire(io: Port, ctx: number, addr_p: number, line: number): KGen<number> {
  io.enter(F.hazptr_acquire, line);
  io.preempt_disable(); // guard(preempt)();
  const percpu_slots = io.this_cpu_ptr(PCPU_SLOTS);
  const slot_item = percpu_slots + 0 * ITEM_SIZE;
  const slot = slot_item + ITEM_SLOT;
  if (yield io.load(slot + SLOT_ADDR, ORD_PLAIN, S.acq_test)) {
    const r = yield __hazptr_acquire(io, ctx, addr_p, 158);
    io.preempt_enable();
    io.leave();
    return r;
  }
  yield io.store(slot + SLOT_ADDR, HAZPTR_WILDCARD, ORD_ONCE, S.acq_store_b);
  yield io.fence(S.acq_mb);
  const addr = yield io.load(addr_p, ORD_ONCE, S.acq_load_a);
  yield io.store(slot + SLOT_ADDR, addr, ORD_ONCE, S.acq_store_c);
  yield io.store(slot_item + ITEM_CTX, ctx, ORD_PLAIN, S.acq_item_ctx);
  yield io.store(ctx + CTX_SLOT, slot, ORD_PLAIN, S.acq_ctx_slot);
  io.preempt_enable();
  io.leave();
  return addr;
}

function* hazptr_release(io: Port, ctx: number, addr: number, line: number): KGen {
  io.enter(F.hazptr_release, line);
  if (!addr) {
    io.leave();
    return;
  }
  io.preempt_disable(); // guard(preempt)();
  const slot = yield io.load(ctx + CTX_SLOT, ORD_PLAIN, S.rel_load_slot);
  yield io.store(slot + SLOT_ADDR, 0, ORD_RELEASE, S.rel_clear);
  if (slot === backupSlotOf(ctx)) yield hazptr_unchain_backup_slot(io, ctx, 192); // hazptr_slot_is_backup()
  io.preempt_enable();
  io.leave();
}

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

export function* __hazptr_acquire(io: Port, ctx: number, addr_p: number, line: number): KGen<number> {
  io.enter(F.__hazptr_acquire, line);
  let slot = yield hazptr_get_free_percpu_slot(io, ctx, 66);
  if (!slot) slot = yield hazptr_chain_backup_slot(io, ctx, 74);
  yield io.store(slot + SLOT_ADDR, HAZPTR_WILDCARD, ORD_ONCE, S.sacq_store_b);
  if (io.m.mutant !== MUT_SLOW_ACQUIRE_NO_MB) yield io.fence(S.sacq_mb);
  const addr = yield io.load(addr_p, ORD_ONCE, S.sacq_load_a);
  yield io.store(slot + SLOT_ADDR, addr, ORD_ONCE, S.sacq_store_c);
  yield io.store(ctx + CTX_SLOT, slot, ORD_PLAIN, S.sacq_ctx_slot);
  if (!addr && slot === backupSlotOf(ctx) && io.m.mutant !== MUT_SLOW_ACQUIRE_NULL_NO_UNCHAIN) yield hazptr_unchain_backup_slot(io, ctx, 93);
  io.leave();
  return addr;
}

function* hazptr_synchronize_overflow_list(io: Port, overflow_list: number, addr: number, line: number): KGen {
  io.enter(F.hazptr_synchronize_overflow_list, line);
  const lock = overflow_list + OL_LOCK;
  let flags = yield raw_spin_lock_irqsave(io, lock, 113);
  retry: for (;;) {
    const snapshot_gen = yield io.load(overflow_list + OL_GEN, ORD_PLAIN, S.sol_gen);
    let node = yield io.load(overflow_list + OL_HEAD, ORD_PLAIN, S.sol_first);
    while (node) {
      const backup_slot = backupOfNode(node);
      /* Busy-wait if node is found. */
      for (;;) {
        const load_addr = yield io.load(backup_slot + BACKUP_SLOT + SLOT_ADDR, io.m.mutant !== MUT_OVERFLOW_LOAD_RELAXED ? ORD_ACQUIRE : ORD_ONCE, S.sol_load_b);
        if (load_addr !== addr && (load_addr !== HAZPTR_WILDCARD || io.m.mutant === MUT_OVERFLOW_IGNORE_WILDCARD)) break;
        yield raw_spin_unlock_irqrestore(io, lock, flags, 123);
        yield io.op(OP_RELAX, S.sol_relax);
        flags = yield raw_spin_lock_irqsave(io, lock, 125);
        if (io.m.mutant !== MUT_WALK_NO_GEN_CHECK_WAIT && (yield io.load(overflow_list + OL_GEN, ORD_PLAIN, S.sol_gen_spin)) !== snapshot_gen) continue retry;
      }
      yield raw_spin_unlock_irqrestore(io, lock, flags, 129);
      flags = yield raw_spin_lock_irqsave(io, lock, 134);
      if (io.m.mutant !== MUT_WALK_NO_GEN_CHECK_NEXT && (yield io.load(overflow_list + OL_GEN, ORD_PLAIN, S.sol_gen_next)) !== snapshot_gen) continue retry;
      node = yield io.load(backup_slot + BACKUP_NODE + HLIST_NODE_NEXT, ORD_PLAIN, S.sol_next);
    }
    break;
  }
  yield raw_spin_unlock_irqrestore(io, lock, flags, 138);
  io.leave();
}

function* hazptr_synchronize_cpu_slots(io: Port, cpu: number, addr: number, line: number): KGen {
  io.enter(F.hazptr_synchronize_cpu_slots, line);
  const percpu_slots = io.per_cpu_ptr(PCPU_SLOTS, cpu);
  for (let idx = 0; idx < NR_HAZPTR_PERCPU_SLOTS; idx++) {
    const item = percpu_slots + idx * ITEM_SIZE;
    /* Busy-wait if node is found. */
    for (;;) {
      const v = yield io.load(item + ITEM_SLOT + SLOT_ADDR, io.m.mutant !== MUT_CPU_SLOTS_LOAD_RELAXED ? ORD_ACQUIRE : ORD_ONCE, S.scs_load_b);
      if (v !== addr && (v !== HAZPTR_WILDCARD || io.m.mutant === MUT_CPU_SLOTS_IGNORE_WILDCARD)) break;
      yield io.op(OP_RELAX, S.scs_relax);
    }
  }
  io.leave();
}

export function* hazptr_synchronize(io: Port, addr: number, line: number): KGen {
  io.enter(F.hazptr_synchronize, line);
  io.m.lockdepAssertPreemptionEnabled(io, C, 169);
  if (!addr) {
    io.leave();
    return;
  }
  if (io.m.mutant !== MUT_SYNCHRONIZE_NO_MB) yield io.fence(S.sync_mb);
  for (let cpu = 0; cpu < io.m.cfg.cpus; cpu++) {
    const overflow_list_flip = io.per_cpu_ptr(PCPU_FLIP, cpu);
    yield hazptr_synchronize_cpu_slots(io, cpu, addr, 186);
    yield mutex_lock(io, overflow_list_flip + FLIP_LOCK, 193); // guard(mutex)
    const scan_idx = (yield io.load(overflow_list_flip + FLIP_ADD_IDX, ORD_PLAIN, S.sync_add_idx)) ^ 1;
    const mut = io.m.mutant;
    if (mut !== MUT_SCAN_NO_OVERFLOW_LIST && mut !== MUT_SCAN_NO_FIRST_LIST) yield hazptr_synchronize_overflow_list(io, overflow_list_flip + FLIP_ARRAY + scan_idx * OL_SIZE, addr, 195);
    if (mut !== MUT_NEVER_FLIP) yield io.store(overflow_list_flip + FLIP_ADD_IDX, scan_idx, ORD_ONCE, S.sync_flip);
    if (mut !== MUT_SCAN_NO_OVERFLOW_LIST && mut !== MUT_SCAN_NO_SECOND_LIST) yield hazptr_synchronize_overflow_list(io, overflow_list_flip + FLIP_ARRAY + (scan_idx ^ 1) * OL_SIZE, addr, 198);
    yield mutex_unlock(io, overflow_list_flip + FLIP_LOCK, 199); // end of guard(mutex) scope
  }
  io.leave();
}

export function* hazptr_chain_backup_slot(io: Port, ctx: number, line: number): KGen<number> {
  io.enter(F.hazptr_chain_backup_slot, line);
  const overflow_list_flip = io.this_cpu_ptr(PCPU_FLIP);
  const list_idx = yield io.load(overflow_list_flip + FLIP_ADD_IDX, ORD_ONCE, S.chain_add_idx);
  const overflow_list = overflow_list_flip + FLIP_ARRAY + list_idx * OL_SIZE;
  const slot = backupSlotOf(ctx);
  yield io.store(slot + SLOT_ADDR, 0, ORD_PLAIN, S.chain_clear);
  const unlocked = io.m.mutant === MUT_CHAIN_ADD_UNLOCKED;
  if (unlocked) yield hlist_add_head(io, ctx + CTX_BACKUP + BACKUP_NODE, overflow_list + OL_HEAD, 213);
  const flags = yield raw_spin_lock_irqsave(io, overflow_list + OL_LOCK, 211); // guard(raw_spinlock_irqsave)
  if (io.m.mutant !== MUT_CHAIN_NO_GEN) {
    const gen = yield io.load(overflow_list + OL_GEN, ORD_PLAIN, S.chain_gen_load);
    yield io.store(overflow_list + OL_GEN, gen + 1, ORD_PLAIN, S.chain_gen_store);
  }
  if (!unlocked) yield hlist_add_head(io, ctx + CTX_BACKUP + BACKUP_NODE, overflow_list + OL_HEAD, 213);
  yield io.store(ctx + CTX_BACKUP + BACKUP_OVERFLOW_LIST, overflow_list, ORD_PLAIN, S.chain_olist);
  yield raw_spin_unlock_irqrestore(io, overflow_list + OL_LOCK, flags, 215); // end of guard scope
  io.leave();
  return slot;
}

export function* hazptr_unchain_backup_slot(io: Port, ctx: number, line: number): KGen {
  io.enter(F.hazptr_unchain_backup_slot, line);
  const overflow_list = yield io.load(ctx + CTX_BACKUP + BACKUP_OVERFLOW_LIST, ORD_PLAIN, S.unchain_olist);
  const flags = yield raw_spin_lock_irqsave(io, overflow_list + OL_LOCK, 223); // guard(raw_spinlock_irqsave)
  if (io.m.mutant !== MUT_UNCHAIN_NO_GEN) {
    const gen = yield io.load(overflow_list + OL_GEN, ORD_PLAIN, S.unchain_gen_load);
    yield io.store(overflow_list + OL_GEN, gen + 1, ORD_PLAIN, S.unchain_gen_store);
  }
  yield hlist_del(io, ctx + CTX_BACKUP + BACKUP_NODE, 225);
  yield raw_spin_unlock_irqrestore(io, overflow_list + OL_LOCK, flags, 226); // end of guard scope
  io.leave();
}

export function* hazptr_init(io: Port): KGen {
  io.enter(F.hazptr_init);
  for (let cpu = 0; cpu < io.m.cfg.cpus; cpu++) {
    const overflow_list_flip = io.per_cpu_ptr(PCPU_FLIP, cpu);
    yield io.store(overflow_list_flip + FLIP_LOCK, 0, ORD_PLAIN, S.init_mutex);
    for (let i = 0; i < 2; i++) {
      const ol = overflow_list_flip + FLIP_ARRAY + i * OL_SIZE;
      yield io.store(ol + OL_LOCK, 0, ORD_PLAIN, S.init_lock);
      yield io.store(ol + OL_HEAD, 0, ORD_PLAIN, S.init_head);
    }
  }
  io.leave();
}

export function quiescence(m: Machine): string[] {
  const out: string[] = [];
  const mem = m.mem;
  for (let cpu = 0; cpu < m.cfg.cpus; cpu++) {
    const slots = mem.percpuBase(cpu) + PCPU_SLOTS;
    for (let i = 0; i < NR_HAZPTR_PERCPU_SLOTS; i++) {
      const a = mem.peek(slots + i * ITEM_SIZE + ITEM_SLOT + SLOT_ADDR);
      if (a) out.push(`per_cpu(hazptr_percpu_slots, ${cpu}).items[${i}].slot.addr = ${mem.fmt(a)} (ctx ${mem.fmt(mem.peek(slots + i * ITEM_SIZE + ITEM_CTX))})`);
    }
    const flip = mem.percpuBase(cpu) + PCPU_FLIP;
    for (let i = 0; i < 2; i++) {
      let node = mem.peek(flip + FLIP_ARRAY + i * OL_SIZE + OL_HEAD);
      for (let n = 0; node && n < 16; n++) {
        const inMem = node >= mem.regions[0].lo && node < mem.end;
        const a = inMem ? mem.peek(backupOfNode(node) + BACKUP_SLOT + SLOT_ADDR) : NaN;
        out.push(`per_cpu(percpu_overflow_list_flip, ${cpu}).array[${i}] still chains backup slot ${mem.fmt(backupOfNode(node))}${inMem ? ` (slot.addr = ${mem.fmt(a)})` : ''}`);
        node = inMem ? mem.peek(node + HLIST_NODE_NEXT) : 0;
      }
    }
  }
  return out;
}

export const v5: HazptrVersion = {
  name: 'v5',
  summary: 'the patch as posted ([RFC PATCH v5 1/2] hazptr: Implement Hazard Pointers): per-CPU add_idx and mutex, no hazptr_detach()',
  mutants: [],
  ctxSize: CTX_SIZE,
  setup: setupPercpu,
  init: hazptr_init,
  hazptr_acquire,
  hazptr_release,
  hazptr_synchronize,
  note_context_switch: hazptr_note_context_switch,
  quiescence,
};
