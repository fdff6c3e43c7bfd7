/**
 * Each seed named in docs/findings.md keeps producing its signature, and the
 * steps the document quotes are in its trace.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../src/scenario/load.ts';
import { runScenario } from '../src/scenario/run.ts';
import { text } from './helpers.ts';

const handoff = parseScenario(readFileSync('scenarios/cross-task-handoff.yaml', 'utf8'), 'scenarios/cross-task-handoff.yaml');

describe('finding 1: cross-task release -> GPF at 0xdead000000000110', () => {
  it('seed 1 ends in the documented report', () => {
    const lines: string[] = [];
    const r = runScenario(handoff, { seed: 1, trace: (l) => lines.push(l) });
    expect(r.bug?.signature).toBe('general-protection-fault | hazptr_synchronize_overflow_list < hazptr_synchronize < hazsim_update < hazsim_kthread < kthread');
    const out = text(r);
    expect(out).toContain('Oops: general protection fault, probably for non-canonical address 0xdead000000000110: 0000 [#1] SMP PTI');
    expect(out).toContain('RIP: 0010:hazptr_synchronize_overflow_list kernel/hazptr.c:119');
    expect(out).toContain('0xdead000000000110 is LIST_POISON1 + 0x10');
    const trace = lines.join('\n');
    for (const quoted of [
      'cpu1 releaser hazptr_release: load ctx->slot [0xffffffff82a00008] -> 0xffff88807fa00000',
      'cpu0 acquirer hazptr_note_context_switch: store backup_slot->addr [0xffffffff82a00020] <- 0',
      'cpu0 acquirer hlist_add_head: store n->next [0xffffffff82a00010] <- 0xffffffff82a00010',
      'cpu0 releaser __hlist_del: store *pprev [0xffff88807fa00070] <- 0xffffffff82a00010',
      'cpu1 writer hazptr_synchronize_overflow_list: load backup_slot->overflow_node.next [0xffffffff82a00010] -> 0xdead000000000100',
    ]) expect(trace).toContain(quoted);
  });

  it('seeds 1-30 all end with the same signature', () => {
    const sigs = new Set<string>();
    for (let s = 1; s <= 30; s++) sigs.add(runScenario(handoff, { seed: s }).bug?.signature ?? 'none');
    expect([...sigs]).toEqual(['general-protection-fault | hazptr_synchronize_overflow_list < hazptr_synchronize < hazsim_update < hazsim_kthread < kthread']);
  });
});
