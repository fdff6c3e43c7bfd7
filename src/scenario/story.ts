// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The story of a race, derived from the recorded run: after a report, find the
 * hazptr_ctx at its centre (the ctx whose backup slot's list node held the
 * poison that faulted, or the ctx inside the object KASAN caught), replay the
 * recorded schedule, and keep every step that touched that ctx, a per-CPU slot
 * naming it, or a list it was chained on. From those steps, name what happened:
 * which context acquired which slot, a release that read ctx->slot while
 * another CPU's hazptr_note_context_switch() was moving it, a node chained while
 * already chained, the unchain that poisoned it, a kfree while still chained.
 *
 * Nothing here is written for one bug: it reads the same sites the port labels.
 */
import { LIST_POISON1, LIST_POISON2 } from '../kernel/addr.ts';
import { HLIST_NODE_NEXT } from '../kernel/list.ts';
import { FL_BUFFERED, FL_HARDIRQ, type Machine, type StepRecord } from '../kernel/machine.ts';
import { OP_DRAIN, OP_KFREE, OP_KMALLOC, OP_LOAD, OP_STORE } from '../kernel/port.ts';
import { sites } from '../kernel/sites.ts';
import { captureTrace, fmtSecs } from '../kernel/reports.ts';
import { commPid, fmtContext, taskColumns } from '../report/ftrace.ts';
import { S } from '../hazptr/v5/hazptr.ts';
import { BACKUP_NODE, BACKUP_SLOT, CTX_BACKUP, CTX_SLOT, ITEM_CTX, SLOT_ADDR } from '../hazptr/v5/layout.ts';

export interface Subject {
  ctx: number;
  ctxSize: number;
  /** the heap object holding the ctx, if any (hazptr_pending) */
  obj?: { addr: number; size: number };
}

/** The ctx a report is about, from the machine as the run left it. */
export function findSubject(m: Machine): Subject | undefined {
  const b = m.bug;
  if (!b) return undefined; // every version's struct hazptr_ctx starts as v5's (backup slot at +8, its node first)
  const hist = m.history();
  const size = m.hazptr.ctxSize;
  const nodeOff = CTX_BACKUP + BACKUP_NODE;
  if (b.kind === 'general-protection-fault') {
    // the step that loaded the poison: a node's next (or pprev) field
    for (let i = hist.length - 1; i >= 0; i--) {
      const r = hist[i];
      if (r.kind === OP_LOAD && (r.val === LIST_POISON1 || r.val === LIST_POISON2)) {
        const node = r.val === LIST_POISON1 ? r.addr : r.addr - 8;
        return withObject(m, { ctx: node - nodeOff, ctxSize: size });
      }
    }
    return undefined;
  }
  if (b.kind === 'kasan') {
    const x = m.faultAddr; // the access KASAN caught
    const o = m.mem.objectAt(x);
    if (!o) return undefined;
    // the hazptr_ctx inside the freed object: struct hazptr_pending keeps it at +8, after its llist_node
    const ctx = o.size >= size + 8 ? o.addr + 8 : o.addr;
    return { ctx, ctxSize: size, obj: { addr: o.addr, size: o.size } };
  }
  return undefined;
}

function withObject(m: Machine, s: Subject): Subject {
  const o = m.mem.objectAt(s.ctx);
  return o ? { ...s, obj: { addr: o.addr, size: o.size } } : s;
}

/** The entry code of an interrupt (smp.ts) by its function: what the story calls the handler. */
const IRQ_ENTRIES = new Map([
  ['asm_sysvec_call_function_single', 'IPI handler'],
  ['asm_sysvec_apic_timer_interrupt', 'interrupt handler'],
]);

/** A step the story keeps; `irq` numbers the interrupt it ran in (per run), 0 in task context. */
export type StoryStep = StepRecord & { irq: number; irqName: string };

/** Steps of a replay that concern the subject, oldest first. */
export function watch(subject: Subject, run: (tracer: (r: StepRecord) => void) => Machine): { steps: StoryStep[]; m: Machine } {
  const { ctx, ctxSize } = subject;
  const node = ctx + CTX_BACKUP + BACKUP_NODE;
  const backup = ctx + CTX_BACKUP + BACKUP_SLOT;
  const slots = new Set<number>(); // per-CPU slot addresses whose item names this ctx
  const heads = new Set<number>(); // list heads and nodes linked to ours
  const inCtx = (a: number) => a >= ctx && a < ctx + ctxSize;
  const inObj = (a: number) => subject.obj !== undefined && a >= subject.obj.addr && a < subject.obj.addr + subject.obj.size;
  const steps: StoryStep[] = [];
  // per CPU: the interrupt taken last (its number and kind), from the entry step the machine records
  const irqs = new Map<number, { n: number; name: string }>();
  let nIrq = 0;
  const m = run((r) => {
    // a store's drain (x86-TSO) repeats the store's site: the story tells the store once, at its step,
    // and keeps only the drain of a store that chains the node (when the link became visible)
    if (r.kind === OP_DRAIN) {
      if (heads.has(r.addr) && r.val === node) steps.push({ ...r, irq: 0, irqName: '' });
      return;
    }
    const s = sites[r.site];
    const entry = IRQ_ENTRIES.get(s.fn.name);
    if (entry) irqs.set(r.cpu, { n: ++nIrq, name: entry });
    let keep = inCtx(r.addr) || slots.has(r.addr) || heads.has(r.addr) || (r.kind === OP_KFREE && inObj(r.addr)) || (r.kind === OP_KMALLOC && inObj(r.val));
    if (r.kind === OP_STORE && (r.site === S.acq_item_ctx || r.site === S.free_ctx)) {
      if (r.val === ctx) slots.add(r.addr - ITEM_CTX + SLOT_ADDR), keep = true;
      else slots.delete(r.addr - ITEM_CTX + SLOT_ADDR);
    }
    if (r.site === S.ncs_ctx && r.val === ctx) keep = true;
    if (s.fn.name === 'hlist_add_head' && s.desc === 'store h->first' && r.val === node) heads.add(r.addr), keep = true;
    if (r.kind === OP_STORE && r.val === node) keep = true;
    if (r.val === backup && r.site === S.rel_load_slot) keep = true;
    // every deletion's start, so that tell() knows which node each CPU is deleting
    if (s.fn.name === '__hlist_del' && s.desc === 'load n->next') keep = true;
    if (!keep) return;
    const irq = r.flags & FL_HARDIRQ ? irqs.get(r.cpu) : undefined;
    steps.push({ ...r, irq: irq?.n ?? 0, irqName: irq?.name ?? '' });
  });
  return { steps, m };
}

/**
 * The story: a few lines naming what happened, each step in ftrace's columns
 * (report/ftrace.ts) and told by who did it: a task ("comm-pid on CPUn"), or an
 * interrupt handler, named with the task it interrupted (ftrace shows that
 * task's comm-pid, with 'h' in the flags).
 */
export function tell(subject: Subject, steps: StoryStep[], m: Machine): string[] {
  const { ctx } = subject;
  const mem = m.mem;
  const node = ctx + CTX_BACKUP + BACKUP_NODE;
  const backup = ctx + CTX_BACKUP + BACKUP_SLOT;
  const who = (r: StoryStep) => (r.irq ? `the ${r.irqName} on CPU${r.cpu}, interrupting ${commPid(m, r.task)}` : `${commPid(m, r.task)} on CPU${r.cpu}`);
  /** who(r) as the subject of a clause: an interrupt handler's phrase closed by a comma */
  const actor = (r: StoryStep) => (r.irq ? `${who(r)},` : who(r));
  /** a line: the step's columns, its function, and in an interrupt, whose handler it is */
  const line = (r: StoryStep, fn: string, what: string) =>
    `${fmtContext({ t: r.t, cpu: r.cpu, ...taskColumns(m, r.task), flags: r.flags })} ${fn}: ${r.irq ? `in ${who(r)}: ` : ''}${what}`;
  /** one context: a task, or one run of an interrupt handler */
  const sameContext = (a: StoryStep, b: StoryStep) => a.task === b.task && a.irq === b.irq;
  const slotName = (a: number) => {
    const reg = mem.regionOf(a);
    if (reg?.kind === 'percpu') return `CPU${reg.owner}'s per-CPU slot ${mem.fmt(a)}`;
    if (a === backup) return `its backup slot ${mem.fmt(a)}`;
    return mem.fmt(a);
  };
  const story: string[] = [];
  story.push(`hazsim: the story of hazptr_ctx ${mem.fmt(ctx)}${subject.obj ? ` (in the ${subject.obj.size}-byte object at ${mem.fmt(subject.obj.addr)})` : ''}, from the recorded run:`);
  let chains = 0; // how many times the node is chained now: hlist_add_head()s less hlist_del()s
  // per CPU: a note_context_switch on this ctx between picking it and ctx->slot = backup
  const moving = new Map<number, StoryStep>();
  const movingElsewhere = (cpu: number) => [...moving.values()].find((m) => m.cpu !== cpu);
  let lastAcquire: StoryStep | undefined; // the last acquire that stored ctx->slot
  let lastClear: StoryStep | undefined; // the last release that cleared a per-CPU slot of this ctx
  const deleting = new Map<number, number>(); // per CPU: the node whose __hlist_del is under way
  // kind: 'acq' | 'rel-read' | 'rel-clear' for plain use, collapsed below; '' for the rest
  const events: { r: StoryStep; kind: string; slot: number; fn: string; text: string }[] = [];
  const ev = (r: StoryStep, fn: string, what: string, kind = '', slot = 0) => events.push({ r, kind, slot, fn, text: line(r, fn, what) });
  // list head -> the store chaining the node there while it is still in its CPU's store buffer (x86-TSO)
  const buffered = new Map<number, StoryStep>();
  /** how the node is chained now: by links in memory, or only by a store still buffered */
  const chainedNow = () => {
    if (chains - buffered.size > 0) return ' WHILE ITS BACKUP SLOT IS STILL CHAINED';
    const b = [...buffered.values()][0];
    return b ? ` WHILE ITS BACKUP SLOT IS BEING CHAINED (the store that links it, by ${actor(b)} at ${fmtSecs(b.t)}, is still in CPU${b.cpu}'s store buffer)` : '';
  };
  for (const r of steps) {
    const s = sites[r.site];
    if (r.kind === OP_DRAIN) {
      if (buffered.get(r.addr)?.val === r.val) buffered.delete(r.addr);
    } else if (r.kind === OP_KMALLOC) ev(r, s.fn.name, `kmalloc() returns the object holding the ctx${chains > 0 ? ' (SLUB reuses it WHILE ITS BACKUP SLOT IS STILL CHAINED from its previous life)' : ''}`);
    else if (r.site === S.acq_ctx_slot || r.site === S.sacq_ctx_slot) {
      lastAcquire = r;
      ev(r, s.fn.name, `acquires into ${slotName(r.val)}`, 'acq', r.val);
    } else if (r.site === S.ncs_test && r.val !== 0) {
      // watch() keeps this test only for a per-CPU slot whose item names the ctx: found in use, the slot
      // is being moved from here (hazptr.h:112) until ctx->slot = backup_slot (hazptr.h:129)
      moving.set(r.cpu, r);
      ev(r, 'hazptr_note_context_switch', `starts moving the ctx's per-CPU slot to its backup slot`);
    } else if (r.site === S.ncs_ctx_slot && r.addr === ctx + CTX_SLOT) {
      const mine = moving.get(r.cpu);
      const lost = mine && lastAcquire && lastAcquire.cpu !== r.cpu && lastAcquire.t >= mine.t ? lastAcquire : undefined;
      ev(r, 'hazptr_note_context_switch', `ctx->slot = backup slot${lost ? ` (OVERWRITES ctx->slot = ${slotName(lost.val)} that ${actor(lost)} stored at ${fmtSecs(lost.t)}: no release will clear that slot now)` : ''}`);
      moving.delete(r.cpu);
    } else if (r.site === S.ncs_backup && r.addr === backup) {
      const mine = moving.get(r.cpu);
      const by = r.val === 0 && mine && lastClear && lastClear.cpu !== r.cpu && lastClear.t >= mine.t ? lastClear : undefined;
      ev(r, 'hazptr_note_context_switch', `copies the per-CPU slot into the backup slot: ${r.val === 0 ? 'NULL (it was cleared meanwhile)' : mem.fmt(r.val)}${by ? ` (RACE: ${actor(by)} cleared that per-CPU slot in hazptr_release() at ${fmtSecs(by.t)}, inside this hazptr_note_context_switch())` : ''}`);
    } else if (r.site === S.rel_load_slot) {
      const other = movingElsewhere(r.cpu);
      const racing = other !== undefined && r.val !== backup;
      ev(r, 'hazptr_release', `reads ctx->slot = ${slotName(r.val)}${r.val !== backup ? ', not the backup slot, so it will not unchain' : ''}${racing ? ` (RACE: ${actor(other!)} is inside hazptr_note_context_switch() for this ctx)` : ''}`, racing ? '' : 'rel-read', r.val);
    } else if (r.site === S.rel_clear) {
      if (mem.regionOf(r.addr)?.kind === 'percpu') lastClear = r;
      ev(r, 'hazptr_release', `clears ${slotName(r.addr)}`, 'rel-clear', r.addr);
    } else if (s.fn.name === 'hlist_add_head' && s.desc === 'store h->first' && r.val === node) {
      ev(r, 'hazptr_chain_backup_slot', `chains the backup slot on the list at ${mem.fmt(r.addr)}${chains > 0 ? ' while it is still chained (CHAINED TWICE)' : ''}`);
      chains++;
      if (r.flags & FL_BUFFERED) buffered.set(r.addr, r);
    } else if (s.fn.name === 'hlist_add_head' && s.desc === 'store n->next' && r.addr === node && r.val === node) {
      ev(r, 'hlist_add_head', 'n->next = n: the list is now a self-loop');
    } else if (s.fn.name === 'hlist_del' && r.val === LIST_POISON1 && r.addr === node) {
      chains = Math.max(0, chains - 1);
      ev(r, 'hazptr_unchain_backup_slot', `hlist_del() poisons the node (next = LIST_POISON1)${chains > 0 ? ` WHILE IT IS STILL CHAINED (chained ${chains + 1} times, this unchains once): a list still leads to the poisoned node` : ''}`);
    } else if (s.fn.name === '__hlist_del' && s.desc === 'load n->next') {
      deleting.set(r.cpu, r.addr);
    } else if (s.fn.name === '__hlist_del' && s.desc === 'store *pprev' && r.val === node && deleting.get(r.cpu) === node) {
      // pprev names a list head (per-CPU in v5) or the next field of the node before it (next is at offset 0)
      const before = mem.regionOf(r.addr)?.kind === 'percpu' ? 'the list head' : `the node before it, ${mem.fmt(r.addr - HLIST_NODE_NEXT)},`;
      ev(r, '__hlist_del', `*pprev = next = the node itself: ${before} still points at the node being deleted`);
    } else if (r.kind === OP_KFREE) {
      ev(r, s.fn.name, `kfree()s the object holding the ctx${chainedNow()}`);
    }
  }
  // Plain correct use (acquire, then a release in the same context reading and clearing the
  // same slot) is folded into one line per run, so the unusual events stand out.
  const lines: { text: string; task: number; fn: string }[] = [];
  for (let i = 0; i < events.length; ) {
    let j = i;
    let pairs = 0;
    while (j + 2 < events.length && events[j].kind === 'acq' && events[j + 1].kind === 'rel-read' && events[j + 2].kind === 'rel-clear'
      && events[j + 1].slot === events[j].slot && events[j + 2].slot === events[j].slot
      && sameContext(events[j + 1].r, events[j].r) && sameContext(events[j + 2].r, events[j].r) && sameContext(events[j].r, events[i].r)) {
      j += 3;
      pairs++;
    }
    const e = events[i];
    if (pairs > 0) {
      lines.push({ text: line(e.r, e.fn, `${pairs} x acquire and release in ${slotName(e.slot)} (ordinary use)`), task: e.r.task, fn: e.fn });
      i = j;
    } else {
      lines.push({ text: e.text, task: e.r.task, fn: e.fn });
      i++;
    }
  }
  // Show the first and the last notable line of each kind with two lines of context each
  // side, and the last 12 lines; what lies between is counted, not shown.
  const NOTABLE = /RACE|OVERWRITES|CHAINED TWICE|self-loop|still points at the node|STILL CHAINED|BEING CHAINED|cleared meanwhile/;
  const show = new Set<number>();
  const firstLast = new Map<string, [number, number]>();
  lines.forEach((l, i) => {
    const hit = NOTABLE.exec(l.text);
    if (!hit) return;
    const kind = `${hit[0]} in ${l.fn}`;
    firstLast.set(kind, [firstLast.get(kind)?.[0] ?? i, i]);
  });
  for (const [a, b] of firstLast.values()) for (const i of new Set([a, b])) for (let k = i - 2; k <= i + 2; k++) show.add(k);
  for (let k = lines.length - 12; k < lines.length; k++) show.add(k);
  const names = kthreadNames(m, [...new Set(lines.filter((_, i) => show.has(i)).map((l) => l.task))]);
  if (names) story.push(`hazsim: ${names}`);
  let skipped = 0;
  lines.forEach((l, i) => {
    if (!show.has(i)) {
      skipped++;
      return;
    }
    if (skipped) story.push(`  ... (${skipped} event${skipped > 1 ? 's' : ''} not shown)`);
    skipped = 0;
    story.push(l.text);
  });
  return story;
}

/**
 * Which kthread each of `tasks` runs, for those whose comm another task shares
 * ("hazptr_torture_" is all of the module's kthreads: TASK_COMM_LEN cuts the
 * names): the function below kthread() in its call trace as the run left it.
 */
export function kthreadNames(m: Machine, tasks: number[]): string {
  const byFn = new Map<string, string[]>();
  for (const id of tasks.sort((a, b) => m.tasks[a].pid - m.tasks[b].pid)) {
    const t = m.tasks[id];
    if (t.isIdle || !m.tasks.some((o) => o !== t && o.comm === t.comm)) continue;
    const trace = captureTrace(t, -1);
    const k = trace.findIndex((e) => e.fn === 'kthread');
    const fn = k > 0 ? trace[k - 1].fn : '';
    if (fn && fn !== 'do_exit') byFn.set(fn, [...(byFn.get(fn) ?? []), commPid(m, id)]);
  }
  return [...byFn].map(([fn, who]) => `${who.join(', ')} run${who.length > 1 ? '' : 's'} ${fn}()`).join('; ');
}
