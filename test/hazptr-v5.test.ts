// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The v5 port on scripted sequences (one CPU or pinned tasks, so each test sees
 * the sequence it scripts), and its fidelity to the patch: every step's line
 * and statement are those of include/linux/hazptr.h / kernel/hazptr.c.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LIST_POISON1 } from '../src/kernel/addr.ts';
import type { Machine } from '../src/kernel/machine.ts';
import { OP_KMALLOC, OP_NOP, OP_SLEEP, ORD_PLAIN, type KGen, type Port } from '../src/kernel/port.ts';
import { kfunc, site, sites } from '../src/kernel/sites.ts';
import { schedule } from '../src/sched/core.ts';
import { S, v5 } from '../src/hazptr/v5/hazptr.ts';
import {
  BACKUP_NODE, BACKUP_OVERFLOW_LIST, BACKUP_SLOT, CTX_BACKUP, CTX_SIZE, CTX_SLOT, FLIP_ARRAY, FLIP_SIZE, HAZPTR_WILDCARD,
  ITEM_CTX, ITEM_SIZE, OL_HEAD, PERCPU_SLOTS_SIZE,
} from '../src/hazptr/v5/layout.ts';
import { machine } from './helpers.ts';

const F_t = kfunc('test_hazptr', 'test/hazptr-v5.test.ts');
const S_alloc = site(F_t, 0, 'kmalloc', 'kmalloc');
const S_nop = site(F_t, 0, ';', 'nop');
const S_st = site(F_t, 0, '*p = x;', 'store');

// per-CPU layout: hazptr_percpu_slots at 0 (cacheline aligned), the flip struct after it
const PCPU_SLOTS = 0;
const PCPU_FLIP = PERCPU_SLOTS_SIZE;
const slotAddr = (m: Machine, cpu: number, i: number) => m.mem.percpuBase(cpu) + PCPU_SLOTS + i * ITEM_SIZE;
const listHead = (m: Machine, cpu: number, idx: number) => m.mem.percpuBase(cpu) + PCPU_FLIP + FLIP_ARRAY + idx * 0x18 + OL_HEAD;

interface World { gp: number; obj: number; ctx: number[] }

/** One task on a 1-CPU machine, preempt: none: the body runs exactly as scripted. */
function script(body: (io: Port, w: World) => KGen, nctx = 6, over = {}) {
  const w: World = { gp: 0, obj: 0, ctx: [] };
  const m = machine({ cpus: 1, preempt: 'none', ...over }, 1, [{ name: 't', fn: (io) => body(io, w) }]);
  w.gp = m.mem.allocStatic(8);
  w.obj = m.mem.kmalloc(64, { pid: 0, comm: 'swapper/0', trace: [] });
  m.mem.poke(w.gp, w.obj);
  for (let i = 0; i < nctx; i++) w.ctx.push(m.mem.allocStatic(CTX_SIZE));
  m.run();
  return { m, w };
}

describe('v5 layouts (x86_64)', () => {
  it('struct offsets are those of the crash kernel', () => {
    expect(BACKUP_SLOT).toBe(0x10); // the +0x10 of 0xdead000000000110
    expect(BACKUP_NODE).toBe(0);
    expect(CTX_SIZE).toBe(56);
    expect(PERCPU_SLOTS_SIZE).toBe(64);
    expect(FLIP_SIZE).toBe(88);
    expect(v5.ctxSize).toBe(56);
  });
});

describe('v5 acquire/release', () => {
  it('fast path: slot 0 of this CPU takes the pointer, item ctx and ctx->slot are set', () => {
    let got = 0;
    let seen: number[] = [];
    const { m, w } = script(function* (io, w) {
      got = yield v5.hazptr_acquire(io, w.ctx[0], w.gp, 0);
      const mm = io.m.mem;
      seen = [mm.peek(slotAddr(io.m, 0, 0)), mm.peek(slotAddr(io.m, 0, 0) + ITEM_CTX), mm.peek(w.ctx[0] + CTX_SLOT)];
      yield io.op(OP_NOP, S_nop);
    }, 6, { memoryModel: 'sc' }); // peeks memory right after the acquire's stores: SC so they are there, not in the store buffer
    expect(got).toBe(w.obj);
    expect(seen).toEqual([w.obj, w.ctx[0], slotAddr(m, 0, 0)]);
    // the task exited still holding it: do_exit's __schedule moved it to the backup slot,
    // which stays chained, and the quiescence check reports it
    expect(m.mem.peek(slotAddr(m, 0, 0))).toBe(0);
    expect(m.mem.peek(w.ctx[0] + CTX_SLOT)).toBe(w.ctx[0] + CTX_BACKUP + BACKUP_SLOT);
    expect(m.bug?.pre.join('\n')).toContain('still chains backup slot');
    expect(m.bug?.kind).toBe('quiescence-leak');
  });

  it('slow path once slot 0 is busy; backup slot chained once all 4 are; release unchains and poisons', () => {
    const { m, w } = script(function* (io, w) {
      for (let i = 0; i < 5; i++) yield v5.hazptr_acquire(io, w.ctx[i], w.gp, 0);
      // 4 per-CPU slots used, the 5th ctx uses its backup slot, chained on this CPU's add list
      const backup = w.ctx[4] + CTX_BACKUP + BACKUP_SLOT;
      if (io.m.mem.peek(w.ctx[4] + CTX_SLOT) !== backup) throw new Error('5th acquire did not use the backup slot');
      if (io.m.mem.peek(listHead(io.m, 0, 0)) !== w.ctx[4] + CTX_BACKUP + BACKUP_NODE) throw new Error('backup slot not chained');
      if (io.m.mem.peek(backup) !== w.obj) throw new Error('backup slot does not hold the pointer');
      for (let i = 0; i < 5; i++) yield v5.hazptr_release(io, w.ctx[i], w.obj, 0);
    }, 6, { memoryModel: 'sc' }); // peeks memory right after the acquires' stores: SC so they are there, not in the store buffer
    expect(m.bug).toBeNull();
    for (let i = 0; i < 4; i++) {
      expect(m.mem.peek(slotAddr(m, 0, i))).toBe(0);
      expect(m.mem.peek(w.ctx[i] + CTX_SLOT)).toBe(slotAddr(m, 0, i));
    }
    expect(m.mem.peek(listHead(m, 0, 0))).toBe(0);
    expect(m.mem.peek(w.ctx[4] + CTX_BACKUP + BACKUP_NODE)).toBe(LIST_POISON1);
    expect(m.mem.peek(w.ctx[4] + CTX_BACKUP + BACKUP_OVERFLOW_LIST)).toBe(listHead(m, 0, 0) - OL_HEAD);
  });

  it('acquire of a NULL pointer leaves no slot set and no backup chained', () => {
    const { m } = script(function* (io, w) {
      yield io.store(w.gp, 0, ORD_PLAIN, S_st);
      for (let i = 0; i < 5; i++) yield v5.hazptr_acquire(io, w.ctx[i], w.gp, 0);
    });
    expect(m.bug).toBeNull();
    expect(m.mem.peek(listHead(m, 0, 0))).toBe(0);
  });
});

describe('v5 hazptr_note_context_switch', () => {
  it('moves a used per-CPU slot to the ctx backup slot on schedule(), and release then unchains it', () => {
    let afterSwitch: number[] = [];
    const { m, w } = script(function* (io, w) {
      yield v5.hazptr_acquire(io, w.ctx[0], w.gp, 0);
      yield schedule(io); // __schedule runs hazptr_note_context_switch even if it picks us again
      const mm = io.m.mem;
      afterSwitch = [mm.peek(slotAddr(io.m, 0, 0)), mm.peek(w.ctx[0] + CTX_SLOT), mm.peek(w.ctx[0] + CTX_BACKUP + BACKUP_SLOT), mm.peek(listHead(io.m, 0, 0))];
      yield v5.hazptr_release(io, w.ctx[0], w.obj, 0);
    });
    expect(m.bug).toBeNull();
    expect(afterSwitch).toEqual([0, w.ctx[0] + CTX_BACKUP + BACKUP_SLOT, w.obj, w.ctx[0] + CTX_BACKUP + BACKUP_NODE]);
    expect(m.mem.peek(listHead(m, 0, 0))).toBe(0);
  });
});

describe('v5 hazptr_synchronize', () => {
  /** reader (CPU0) publishes `value` in a slot, holds it for a while, clears it; writer (CPU1) synchronizes. */
  function syncRace(seed: number, hold: 'acquire' | 'wildcard') {
    const order: string[] = [];
    const w = { gp: 0, obj: 0, ctx: 0 };
    const m = machine({ cpus: 2, preempt: 'none' }, seed, [
      {
        name: 'reader', cpu: 0, pinned: true, fn: function* (io) {
          if (hold === 'acquire') yield v5.hazptr_acquire(io, w.ctx, w.gp, 0);
          else yield io.store(slotAddr(io.m, 0, 0), HAZPTR_WILDCARD, ORD_PLAIN, S_st);
          order.push('held');
          for (let i = 0; i < 300; i++) yield io.op(OP_NOP, S_nop);
          order.push('releasing');
          if (hold === 'acquire') yield v5.hazptr_release(io, w.ctx, w.obj, 0);
          else yield io.store(slotAddr(io.m, 0, 0), 0, ORD_PLAIN, S_st);
        },
      },
      {
        name: 'writer', cpu: 1, pinned: true, fn: function* (io) {
          yield io.op(OP_SLEEP, S_nop, 100);
          yield schedule(io);
          order.push('sync');
          yield v5.hazptr_synchronize(io, w.obj, 0);
          order.push('synced');
        },
      },
    ]);
    w.gp = m.mem.allocStatic(8);
    w.obj = m.mem.kmalloc(64, { pid: 0, comm: 'swapper/0', trace: [] });
    m.mem.poke(w.gp, w.obj);
    w.ctx = m.mem.allocStatic(CTX_SIZE);
    m.run();
    return { m, order };
  }

  it('waits while a slot holds the address, returns after release', () => {
    for (let seed = 0; seed < 20; seed++) {
      const { m, order } = syncRace(seed, 'acquire');
      expect(m.bug).toBeNull();
      expect(order.indexOf('synced')).toBeGreaterThan(order.indexOf('releasing'));
      expect(order.indexOf('sync')).toBeLessThan(order.indexOf('releasing'));
    }
  });

  it('waits while a slot holds HAZPTR_WILDCARD', () => {
    const { m, order } = syncRace(3, 'wildcard');
    expect(m.bug).toBeNull();
    expect(order).toEqual(['held', 'sync', 'releasing', 'synced']);
  });

  it('returns at once for NULL and for an address no slot holds', () => {
    const { m } = script(function* (io, w) {
      yield v5.hazptr_synchronize(io, 0, 0);
      const other = yield io.op(OP_KMALLOC, S_alloc, 64);
      yield v5.hazptr_acquire(io, w.ctx[0], w.gp, 0);
      yield v5.hazptr_synchronize(io, other, 0); // different address: must not spin on the held slot
      yield v5.hazptr_release(io, w.ctx[0], w.obj, 0);
    });
    expect(m.bug).toBeNull();
    expect(m.steps).toBeLessThan(400);
  });
});

describe('fidelity to the v5 patch', () => {
  // test/fixtures/v5-patch-lines.json: a hash of each line the patch adds, by file and line,
  // so the check runs without the patch text (see its "about").
  const patch = JSON.parse(readFileSync('test/fixtures/v5-patch-lines.json', 'utf8')) as { files: Record<string, string[]> };
  const hash = (x: string) => createHash('sha256').update(x.replace(/\s+/g, ' ').trim()).digest('hex').slice(0, 16);
  it('every v5 step names a line whose text is its C statement', () => {
    const v5sites = Object.values(S).map((i) => sites[i]);
    expect(v5sites.length).toBeGreaterThan(40);
    for (const s of v5sites) {
      const lines = patch.files[s.fn.file];
      expect(lines, s.fn.file).toBeDefined();
      expect(lines[s.line - 1], `${s.fn.name} ${s.fn.file}:${s.line}: ${s.stmt}`).toBe(hash(s.stmt));
    }
  });
});
