// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The comparison table of docs/memory-model.md: each C litmus test in DIR (a
 * checkout of the kernel's tools/memory-model/litmus-tests/, or litmus/), with
 * LKMM's verdict from its header (`Result:`), hazsim's under tso and under sc,
 * and for a tso verdict that differs from LKMM's, why x86 differs. A test
 * hazsim cannot run is a row naming the construct and its line.
 *
 *   npx tsx scripts/litmus-table.ts DIR
 *
 * Prints the markdown table, then a summary line. Unlike `hazsim litmus`, one
 * unmodelled test does not stop the others.
 */
import { basename } from 'node:path';
import { InputError } from '../src/cli/errors.ts';
import { readText } from '../src/cli/files.ts';
import { litmusFiles } from '../src/cli/litmus.ts';
import { compileLitmus, type Program } from '../src/litmus/compile.ts';
import { explore } from '../src/litmus/explore.ts';
import { parseLitmus } from '../src/litmus/parse.ts';
import { litmusResult } from '../src/litmus/report.ts';

/**
 * Why x86-TSO forbids what LKMM allows, by the test's name, else by its shape
 * (its name up to the first '+'): LKMM is weaker than x86 (it must hold on Arm, Power, Alpha),
 * and x86 lets only a store be passed by a later load.
 */
const WHY_X86: Record<string, string> = {
  'MP+polockonce+poacquiresilsil': 'spin_lock() is a locked cmpxchg: the lock word is in memory before the critical section\'s stores',
  MP: 'x86 keeps store→store and load→load order',
  LB: 'x86 never makes a store visible before an earlier load has read',
  S: 'x86 keeps store→store order and never passes a load with a later store',
  IRIW: 'x86 is multicopy atomic and keeps load→load order',
  WRC: 'x86 is multicopy atomic and keeps load→load order',
  ISA2: 'x86 keeps store→store, load→store and load→load order',
  'Z6.0': 'x86 keeps store→store and load→store order, and smp_mb() drains the store buffer',
  R: 'x86 keeps store→store order',
  SB: 'x86 lets a load pass an earlier store only',
  '2': 'x86 keeps store→store order',
};

function main(): void {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: npx tsx scripts/litmus-table.ts DIR');
    process.exit(2);
  }
  const rows = ['| test | LKMM (header) | hazsim tso | hazsim sc | note |', '| --- | --- | --- | --- | --- |'];
  let n = 0;
  let agree = 0;
  let differ = 0;
  let lkmmNeverSeen = 0;
  const unmodelled: string[] = [];
  for (const file of litmusFiles([dir])) {
    n++;
    let p: Program;
    try {
      p = compileLitmus(parseLitmus(file, readText(file, 'litmus test')));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      const why = e.message.replace(`${file}:`, 'line ');
      unmodelled.push(basename(file, '.litmus'));
      const lkmm = /Result:\s*(Never|Sometimes|Always)/.exec(readText(file, 'litmus test'))?.[1] ?? '—';
      rows.push(`| ${basename(file, '.litmus')} | ${lkmm} | — | — | not run: ${why} |`);
      continue;
    }
    const tso = litmusResult(p, 'tso', explore(p, 'tso'));
    const sc = litmusResult(p, 'sc', explore(p, 'sc'));
    const lkmm = tso.lkmm ?? '—';
    if (tso.lkmm === tso.observation) agree++;
    else if (tso.lkmm) differ++;
    if (tso.lkmm === 'Never' && tso.observation !== 'Never') lkmmNeverSeen++;
    const note = tso.lkmm && tso.lkmm !== tso.observation ? (WHY_X86[tso.name] ?? WHY_X86[tso.name.split(/[+-]/)[0]] ?? 'x86-TSO differs from LKMM') : '';
    rows.push(`| ${tso.name} | ${lkmm} | ${tso.observation} | ${sc.observation} | ${note} |`);
  }
  console.log(rows.join('\n'));
  console.log(`\n${n} tests: ${agree} with hazsim tso = LKMM, ${differ} where they differ, ` +
    `${lkmmNeverSeen} LKMM-Never outcomes observed under tso, ${unmodelled.length} not run${unmodelled.length ? ` (${unmodelled.join(', ')})` : ''}.`);
}

main();
