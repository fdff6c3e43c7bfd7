// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `hazsim versions`: the hazptr versions a scenario (`hazptr:`) or `--hazptr`
 * can name, one line each; a version with CONFIG_HAZPTR_DEBUG also as NAME+debug.
 */
import { Command } from 'commander';
import { versionNames, versions } from '../hazptr/index.ts';
import type { CliIO } from './index.ts';

export function versionRows(): { name: string; summary: string; mutants: number }[] {
  const rows: { name: string; summary: string; mutants: number }[] = [];
  for (const n of versionNames) {
    const v = versions[n];
    rows.push({ name: n, summary: v.summary, mutants: v.mutants.length });
    if (v.debug) rows.push({ name: `${n}+debug`, summary: v.debug.summary, mutants: v.debug.mutants.length });
  }
  return rows;
}

export function versionsCommand(io: CliIO): Command {
  return new Command('versions')
    .description('list the hazptr versions hazsim can run (scenario hazptr:, --hazptr NAME)')
    .option('--json', 'print them as JSON')
    .action((opts: { json?: boolean }) => {
      const rows = versionRows();
      if (opts.json) {
        io.out(JSON.stringify(rows));
        return;
      }
      const w = Math.max(...rows.map((r) => r.name.length));
      for (const r of rows) io.out(`${r.name.padEnd(w)}  ${r.summary}`);
    });
}
