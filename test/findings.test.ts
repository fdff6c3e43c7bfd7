// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Each seed named in docs/findings.md keeps producing its signature, and the
 * story and trace lines the document quotes are lines the tool prints. Also the
 * story's own checks on PREEMPT seed 205 (from test/torture.test.ts), on the
 * same run.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fmtStepLine } from '../src/report/ftrace.ts';
import { loadScenario, parseScenario } from '../src/scenario/load.ts';
import { runScenario, type RunResult } from '../src/scenario/run.ts';
import { text } from './helpers.ts';

const handoff = parseScenario(readFileSync('scenarios/cross-task-handoff.yaml', 'utf8'), 'scenarios/cross-task-handoff.yaml');
const findings = readFileSync('docs/findings.md', 'utf8');

/** A line in ftrace's columns: comm-pid, [cpu], flags, time */
const FTRACE = /^ *\S+-\d+ +\[\d{3}\] [d.][N.][h.][0-9a-f.]\. +(\d+\.\d{6}): /;

/** The lines of the fenced code blocks of the document's part from `from` to `to`, without the fence's indentation. */
function quoted(from: string, to: string): string[] {
  const part = findings.slice(findings.indexOf(from), findings.indexOf(to));
  const out: string[] = [];
  let fence: string | null = null;
  for (const l of part.split('\n')) {
    const m = /^( *)```/.exec(l);
    if (m) fence = fence === null ? m[1] : null;
    else if (fence !== null) out.push(l.slice(fence.length));
  }
  return out;
}

const GPF = 'general-protection-fault | hazptr_synchronize_overflow_list < hazptr_synchronize < hazptr_torture_writer < kthread';

/**
 * PREEMPT seed 205, run once (its story and a watch on its trace cost seconds) for the tests below: the
 * document's quotations, and the story's own checks. The trace keeps two things: each step at a time the
 * document quotes, formatted, if it is a line the document quotes; and each "__hlist_del: store *pprev [addr]"
 * step's address, by task, CPU and microsecond.
 */
const seed205 = (() => {
  let got: { r: RunResult; seen: Set<string>; stores: Map<string, string> } | undefined;
  return () => {
    if (got) return got;
    const lines = quoted('**The story.** Under the report', '**With KASAN**');
    const trace = new Set(lines.filter((l) => FTRACE.test(l)));
    // only the steps at the quoted times are formatted: the run has a million (a time as a number of
    // microseconds: no string is built for the steps at other times)
    const micros = (time: string) => {
      const [s, us] = time.split('.');
      return Number(s) * 1e6 + Number(us);
    };
    const times = new Set([...trace].map((l) => micros(FTRACE.exec(l)![1])));
    const seen = new Set<string>();
    const stores = new Map<string, string>();
    const r = runScenario(loadScenario('scenarios/hazptrtorture-preempt.yaml'), {
      seed: 205, story: true,
      trace: (l) => {
        if (l.fn === '__hlist_del' && l.what.startsWith('store *pprev')) stores.set(`${l.comm}-${l.pid} ${l.cpu} ${Math.floor(l.t / 1000)}`, /\[(0x[0-9a-f]+)\]/.exec(l.what)![1]);
        if (!times.has(Math.floor(l.t / 1000))) return;
        const s = fmtStepLine(l);
        if (trace.has(s)) seen.add(s);
      },
    });
    got = { r, seen, stores };
    return got;
  };
})();

describe('finding 0: the torture GPF, PREEMPT seed 1; its story told from seed 205', () => {
  it('the story and the trace lines quoted are the tool\'s (seed 205: the self-loop deletions, OVERWRITES, the IPI acquire)', () => {
    const lines = quoted('**The story.** Under the report', '**With KASAN**');
    const story = lines.filter((l) => FTRACE.test(l) || l.startsWith('hazsim: '));
    const trace = new Set(lines.filter((l) => FTRACE.test(l)));
    expect(story.length).toBeGreaterThan(15);
    const { r, seen } = seed205();
    expect(r.bug?.signature).toBe(GPF);
    // each line is the story's or the trace's
    for (const l of story) expect(r.story!.includes(l) || seen.has(l), l).toBe(true);
    for (const l of trace) expect(r.story!.includes(l) || seen.has(l), l).toBe(true);
  });
});

// moved from test/torture.test.ts, to share seed 205's run with the test above
describe('the story under the report is derived from the recorded run (torture, PREEMPT seed 205)', () => {
  /** comm-pid, CPU, flags, time, as ftrace prints them, then "function: " at column 51 */
  const COLUMNS = /^ *(\S+)-(\d+) +\[(\d{3})\] ([d.][N.][h.][0-9a-f.]\.) +\d+\.\d{6}: \S+: /;
  const stepLines = (story: string[]) => story.filter((l) => !l.startsWith('hazsim: ') && !l.startsWith('  ... ('));

  // seed 1 under TSO still ends in the GPF, but its story has no self-loop deletion: seed 205 tells the whole race (docs/findings.md 0)
  it('torture, PREEMPT seed 205: each step in ftrace\'s columns, who runs what, the releases racing hazptr_note_context_switch', () => {
    const { r } = seed205();
    expect(r.bug?.signature).toBe(GPF);
    const story = r.story!.join('\n');
    expect(r.story![0]).toMatch(/^hazsim: the story of hazptr_ctx 0x[0-9a-f]+ \(in the 72-byte object at 0x[0-9a-f]+\), from the recorded run:$/);
    // the module's kthreads all print as "hazptr_torture_" (TASK_COMM_LEN): the story says which pid runs what
    expect(r.story![1]).toMatch(/^hazsim: ((hazptr_torture_-\d+, )*hazptr_torture_-\d+ runs? hazptr_torture_\w+\(\)(; |$))+$/);
    expect(r.story![1]).toBe('hazsim: hazptr_torture_-100 runs hazptr_torture_do_pending(); hazptr_torture_-101, hazptr_torture_-102, hazptr_torture_-103, hazptr_torture_-104 run hazptr_torture_reader()');
    for (const l of stepLines(r.story!)) {
      expect(l).toMatch(COLUMNS);
      expect(l.indexOf(': ')).toBe(49);
    }
    for (const l of [
      // 1. an IPI handler on CPU1 acquires for reader -102 (CPU2); -102 releases from CPU2 while the interrupted task's
      // context switch moves the slot (hazptr.h:112), acquires again, and the context switch overwrites its ctx->slot
      ' hazptr_torture_-101     [001] dNh1.     0.100576: hazptr_acquire: in the IPI handler on CPU1, interrupting hazptr_torture_-101: acquires into CPU1\'s per-CPU slot 0xffff88807fa40000',
      ' hazptr_torture_-102     [002] ...1.     0.100581: hazptr_release: reads ctx->slot = CPU1\'s per-CPU slot 0xffff88807fa40000, not the backup slot, so it will not unchain (RACE: hazptr_torture_-101 on CPU1 is inside hazptr_note_context_switch() for this ctx)',
      ' hazptr_torture_-101     [001] dN.1.     0.100585: hazptr_note_context_switch: copies the per-CPU slot into the backup slot: NULL (it was cleared meanwhile) (RACE: hazptr_torture_-102 on CPU2 cleared that per-CPU slot in hazptr_release() at 0.100581, inside this hazptr_note_context_switch())',
      ' hazptr_torture_-101     [001] dN.1.     0.100585: hazptr_note_context_switch: ctx->slot = backup slot (OVERWRITES ctx->slot = CPU2\'s per-CPU slot 0xffff88807fa80000 that hazptr_torture_-102 on CPU2 stored at 0.100585: no release will clear that slot now)',
      // 2. the deferred release (the do_pending kthread on CPU0) races a reader's context switch on CPU3, kfree()s the
      // object while its backup slot is chained, and SLUB hands it out again
      ' hazptr_torture_-100     [000] .....     0.103952: hazptr_torture_do_one_pending: kfree()s the object holding the ctx WHILE ITS BACKUP SLOT IS STILL CHAINED',
      ' hazptr_torture_-104     [003] dN.1.     0.103954: hazptr_note_context_switch: copies the per-CPU slot into the backup slot: NULL (it was cleared meanwhile) (RACE: hazptr_torture_-100 on CPU0 cleared that per-CPU slot in hazptr_release() at 0.103951, inside this hazptr_note_context_switch())',
      'kmalloc() returns the object holding the ctx (SLUB reuses it WHILE ITS BACKUP SLOT IS STILL CHAINED from its previous life)',
      // 3. chained twice; the deletions of a node whose next is itself
      ' hazptr_torture_-103     [003] dN.2.     0.104402: hazptr_chain_backup_slot: chains the backup slot on the list at 0xffff88807fac0088 while it is still chained (CHAINED TWICE)',
      ' hazptr_torture_-103     [003] dN.2.     0.104621: __hlist_del: *pprev = next = the node itself: the node before it, 0xffff888003010250, still points at the node being deleted',
      ' hazptr_torture_-103     [003] dN.2.     0.104622: hazptr_unchain_backup_slot: hlist_del() poisons the node (next = LIST_POISON1) WHILE IT IS STILL CHAINED (chained 2 times, this unchains once): a list still leads to the poisoned node',
      // 4. the deferred release races again, and the context switch overwrites another reader's ctx->slot
      ' hazptr_torture_-100     [000] ...1.     0.105406: hazptr_release: reads ctx->slot = CPU3\'s per-CPU slot 0xffff88807fac0000, not the backup slot, so it will not unchain (RACE: hazptr_torture_-102 on CPU2 is inside hazptr_note_context_switch() for this ctx)',
      ' hazptr_torture_-102     [002] d..1.     0.105406: hazptr_note_context_switch: ctx->slot = backup slot (OVERWRITES ctx->slot = CPU3\'s per-CPU slot 0xffff88807fac0000 that hazptr_torture_-103 on CPU3 stored at 0.105401: no release will clear that slot now)',
      // 5. the last poisoning: the node is still on CPU2's array[1], where the writer finds it
      ' hazptr_torture_-104     [003] dN.2.     0.105798: hazptr_unchain_backup_slot: hlist_del() poisons the node (next = LIST_POISON1) WHILE IT IS STILL CHAINED (chained 3 times, this unchains once): a list still leads to the poisoned node',
    ]) expect(story).toContain(l);
  });

  it('torture, PREEMPT seed 205: a self-loop deletion names what *pprev is, as the trace has it (the list head, or the node before it)', () => {
    // the trace's "__hlist_del: store *pprev [addr]" steps: addr is the list head (per-CPU, 0xffff88807f...) or a node's next
    const { r, stores } = seed205();
    const self = stepLines(r.story!).filter((l) => l.includes('*pprev = next = the node itself'));
    expect(self.length).toBeGreaterThanOrEqual(2);
    let heads = 0;
    for (const l of self) {
      const [, comm, pid, cpu] = COLUMNS.exec(l)!;
      const t = /(\d+)\.(\d{6}): /.exec(l)!;
      const addr = stores.get(`${comm}-${pid} ${Number(cpu)} ${Number(t[1]) * 1e6 + Number(t[2])}`);
      expect(addr, l).toBeDefined();
      if (l.endsWith('the list head still points at the node being deleted')) {
        heads++;
        expect(addr, l).toBe('0xffff88807fac0088'); // CPU3's array[1]
      } else {
        expect(l).toContain(`the node before it, ${addr}, still points at the node being deleted`);
      }
    }
    expect(heads).toBeLessThan(self.length);
  });
});

describe('finding 1: cross-task release -> GPF at 0xdead000000000110', () => {
  it('seed 1 ends in the documented report, and the trace lines quoted are the tool\'s', () => {
    const lines: string[] = [];
    const r = runScenario(handoff, { seed: 1, trace: (l) => lines.push(fmtStepLine(l)) });
    expect(r.bug?.signature).toBe('general-protection-fault | hazptr_synchronize_overflow_list < hazptr_synchronize < hazsim_update < hazsim_kthread < kthread');
    const out = text(r);
    expect(out).toContain('Oops: general protection fault, probably for non-canonical address 0xdead000000000110: 0000 [#1] SMP PTI');
    expect(out).toContain('RIP: 0010:hazptr_synchronize_overflow_list kernel/hazptr.c:119');
    expect(out).toContain('0xdead000000000110 is LIST_POISON1 + 0x10');
    const doc = quoted('## 1. Cross-task release', '**Why.**').filter((l) => FTRACE.test(l));
    expect(doc.length).toBeGreaterThan(10);
    const trace = new Set(lines);
    for (const l of doc) expect(trace.has(l), l).toBe(true);
    // the race, as the document tells it: the release reads ctx->slot before the acquirer's context switch redirects it
    const at = (l: string) => lines.indexOf(l);
    expect(at('        releaser-101     [000] ...1.     0.000001: hazptr_release: load ctx->slot [0xffffffff82a00008] -> 0xffff88807fa40000'))
      .toBeGreaterThanOrEqual(0);
    expect(at('        releaser-101     [000] ...1.     0.000001: hazptr_release: load ctx->slot [0xffffffff82a00008] -> 0xffff88807fa40000'))
      .toBeLessThan(at('        acquirer-100     [001] d..1.     0.000001: hazptr_note_context_switch: store ctx->slot = backup_slot [0xffffffff82a00008] <- 0xffffffff82a00020 (store buffered)'));
  });

  it('seeds 1-30 all end with the same signature', () => {
    const sigs = new Set<string>();
    for (let s = 1; s <= 30; s++) sigs.add(runScenario(handoff, { seed: s }).bug?.signature ?? 'none');
    expect([...sigs]).toEqual(['general-protection-fault | hazptr_synchronize_overflow_list < hazptr_synchronize < hazsim_update < hazsim_kthread < kthread']);
  });
});

describe('finding 3: the fixed versions detach a NULL hazard pointer (the detach module, IPI acquires)', () => {
  const TORTURE = 'scenarios/mutants/torture-preempt.yaml';
  it('seed 12 on both versions: the story\'s first chain is an IPI handler\'s, in the first 300 us (1 us steps); without IPI acquires the same seed is clean', () => {
    // under x86-TSO (seed 14 under SC): v5-detach's writer reads the kfree'd hazptr_pending whose node is still chained (KASAN), wildcard-flip's follows LIST_POISON1 (GPF)
    for (const [v, sig] of [
      ['v5-detach', 'KASAN: slab-use-after-free | hazptr_synchronize_overflow_list < hazptr_synchronize < hazptr_torture_writer < kthread'],
      ['wildcard-flip', 'general-protection-fault | hazptr_synchronize_overflow_list < hazptr_scan_period < hazptr_synchronize < hazptr_torture_writer < kthread'],
    ]) {
      const r = runScenario(loadScenario(TORTURE, 'hazptrtorture.irq_acquire=20', { hazptr: v }), { seed: 12, story: true });
      expect(r.bug?.signature, v).toBe(sig);
      expect(findings).toContain(`hazsim: signature: ${sig}`);
      const first = r.story!.find((l) => FTRACE.test(l) && l.includes('chains the backup slot'))!;
      expect(first, v).toMatch(/ 0\.000[0-2]\d\d: hazptr_chain_backup_slot: in the IPI handler on CPU\d, interrupting \S+: chains the backup slot on the list at /);
      expect(runScenario(loadScenario(TORTURE, undefined, { hazptr: v }), { seed: 12, maxSteps: 200_000 }).bug, v).toBeNull();
    }
  });
});
