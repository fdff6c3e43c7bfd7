// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Memory faults: what the machine reports when an access is refused (general
 * protection fault, page fault, NULL dereference, KASAN) or kfree() fails
 * KASAN's checks, and the allocation/free tracks KASAN keeps for its reports.
 */
import { MEM_BASE, PAGE_SIZE, POISON_BASE, describePoison } from './addr.ts';
import type { Machine } from './machine.ts';
import { SH_FREED, SH_STACK_DEAD, type Track } from './memory.ts';
import { OP_NAMES, type Port } from './port.ts';
import { captureTrace, report } from './reports.ts';
import { sites } from './sites.ts';
import type { Cpu, Task } from './task.ts';

/** The access of frame `f`'s pending op was refused (m.refused): report it as the kernel would. */
export function fault(m: Machine, cpu: Cpu, t: Task, f: Port, write: boolean): void {
  const x = f.addr;
  const mem = m.mem;
  m.faultAddr = x;
  if (!Number.isFinite(x) || (x >= MEM_BASE && x < mem.end && x % 8 !== 0)) {
    // the model keeps 8-byte words: an access elsewhere is a bug in the model or the workload
    throw new Error(`${sites[f.site].fn.name}: ${OP_NAMES[f.kind]} at ${Number.isFinite(x) ? mem.fmt(x) : String(x)}: not an 8-byte-aligned address`);
  }
  const code = write ? '0002' : '0000';
  const post: string[] = [];
  const poison = describePoison(x);
  if (x >= POISON_BASE) {
    if (poison) {
      const name = poison.split(' ')[0];
      const field = name === 'LIST_POISON1' ? 'next' : 'pprev';
      post.push(`hazsim: ${mem.fmt(x)} is ${poison}: the pointer dereferenced held ${name}, which hlist_del() leaves in a deleted node's ${field}`);
    }
    report(m, 'general-protection-fault', cpu, t, {
      headline: `Oops: general protection fault, probably for non-canonical address ${mem.fmt(x)}: ${code} [#1] SMP PTI`,
      oops: true, post, ripSite: f.site, frames: f,
    });
    return;
  }
  if (x < MEM_BASE || x >= mem.end) {
    const isNull = x < PAGE_SIZE;
    report(m, isNull ? 'null-pointer-dereference' : 'page-fault', cpu, t, {
      headline: isNull ? `BUG: kernel NULL pointer dereference, address: ${mem.fmtPx(x)}` : `BUG: unable to handle page fault for address: ${mem.fmtPx(x)}`,
      pre: [`#PF: supervisor ${write ? 'write' : 'read'} access in kernel mode`, `#PF: error_code(0x${code}) - not-present page`, 'PGD 0 P4D 0', `Oops: Oops: ${code} [#1] SMP PTI`],
      oops: true, ripSite: f.site, frames: f,
    });
    return;
  }
  // KASAN
  const sh = mem.shadow[(x - MEM_BASE) / 8];
  const obj = mem.objectAt(x);
  let what: string;
  if (sh === SH_FREED) what = 'slab-use-after-free';
  else if (sh === SH_STACK_DEAD) what = 'stack-use-after-return';
  else what = obj ? 'slab-out-of-bounds' : 'wild-memory-access';
  const s = sites[f.site];
  const rip = `${s.fn.name}`;
  const pre = [`${write ? 'Write' : 'Read'} of size 8 at addr ${mem.fmtPx(x)} by task ${t.comm}/${t.pid}`, ''];
  if (obj && sh !== SH_STACK_DEAD) {
    post.push('', ...fmtTrack('Allocated', obj.alloc));
    if (obj.free) post.push('', ...fmtTrack('Freed', obj.free));
    const off = x - obj.addr;
    post.push('', `The buggy address belongs to the object at ${mem.fmtPx(obj.addr)}`,
      ` which belongs to the cache kmalloc-${obj.cache} of size ${obj.cache}`,
      `The buggy address is located ${off} bytes inside of`,
      ` ${obj.live ? 'allocated' : 'freed'} ${obj.size}-byte region [${mem.fmtPx(obj.addr)}, ${mem.fmtPx(obj.addr + obj.size)})`);
  } else if (sh === SH_STACK_DEAD) {
    const r = mem.regionOf(x);
    const owner = r ? m.tasks[r.owner] : undefined;
    const fi = mem.deadFrameAt(x);
    const frame = fi && `${fi.fn} (frame [${mem.fmtPx(fi.addr)}, ${mem.fmtPx(fi.addr + fi.size)}))`;
    post.push('', `The buggy address belongs to stack of task ${owner ? `${owner.comm}/${owner.pid}` : '?'}`,
      ...(frame ? [` and is located in frame ${frame}, which has returned`] : []));
  }
  report(m, 'kasan', cpu, t, {
    headline: `BUG: KASAN: ${what} in ${rip}`,
    kasanWhat: what, pre, post, ripSite: f.site, frames: f, kasan: true,
  });
}

/** kfree() of `x` failed: a double or invalid free. */
export function kasanFree(m: Machine, cpu: Cpu, t: Task, x: number, err: 'double-free' | 'invalid-free'): void {
  const obj = m.mem.objectAt(x);
  const post: string[] = [];
  if (obj) {
    post.push('', ...fmtTrack('Allocated', obj.alloc));
    if (obj.free) post.push('', ...fmtTrack('Freed', obj.free));
  }
  report(m, 'kasan', cpu, t, {
    headline: `BUG: KASAN: ${err} in kfree`, kasanWhat: err,
    pre: [`Free of addr ${m.mem.fmtPx(x)} by task ${t.comm}/${t.pid}`, ''], post, frames: t.top, kasan: true,
  });
}

function fmtTrack(what: string, tr: Track): string[] {
  return [`${what} by task ${tr.pid}:`, ...tr.trace.map((fn) => ` ${fn}`)];
}

/** The allocation or free track KASAN keeps: `t`'s stack with `innermost` (kmalloc, kfree) on top. */
export function track(t: Task, innermost: string): Track {
  return { pid: t.pid, comm: t.comm, trace: [innermost, ...captureTrace(t, -1).filter((e) => !e.marker).map((e) => e.fn)] };
}
