// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `hazsim litmus FILE|DIR… [--model tso|sc] [--json]`: C litmus tests (the
 * Linux kernel memory model's format), explored exhaustively under x86-TSO
 * (tso.ts's store buffers and drain rules) or sequential consistency, printed
 * in herd7's vocabulary with one Verdict line per test. Every file is parsed
 * and compiled before any is explored, so a bad file is exit 2 at once; a
 * verdict that differs from the test's own hazsim-tso:/hazsim-sc: line is exit 1.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { MEMORY_MODELS, type MemoryModel } from '../kernel/tso.ts';
import { compileLitmus } from '../litmus/compile.ts';
import { explore } from '../litmus/explore.ts';
import { parseLitmus } from '../litmus/parse.ts';
import { formatHerd, litmusResult } from '../litmus/report.ts';
import { EXIT_BUG, InputError } from './errors.ts';
import { readText } from './files.ts';
import type { CliIO } from './index.ts';

/** The files the arguments name: a directory stands for its *.litmus files, sorted. */
export function litmusFiles(paths: string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw new InputError(`${p}: no such file or directory`);
    }
    if (!isDir) {
      files.push(p);
      continue;
    }
    const found = readdirSync(p).filter((f) => f.endsWith('.litmus')).sort();
    if (found.length === 0) throw new InputError(`${p}: no .litmus files in this directory`);
    files.push(...found.map((f) => join(p, f)));
  }
  return files;
}

export function litmusCommand(io: CliIO): Command {
  return new Command('litmus')
    .description("explore C litmus tests (the kernel memory model's format) exhaustively under x86-TSO or SC; herd7's output")
    .argument('<paths...>', 'litmus files, or directories of them (their *.litmus files, sorted)')
    .addOption(new Option('--model <model>', 'tso: x86-TSO store buffers (tso.ts); sc: sequentially consistent').choices(MEMORY_MODELS).default('tso'))
    .option('--json', 'print the results as JSON')
    .action((paths: string[], opts: { model: MemoryModel; json?: boolean }) => {
      const programs = litmusFiles(paths).map((f) => compileLitmus(parseLitmus(f, readText(f, 'litmus test'))));
      const results = programs.map((p) => litmusResult(p, opts.model, explore(p, opts.model)));
      if (opts.json) io.out(JSON.stringify(results, null, 2));
      else io.out(results.map((r) => formatHerd(r).join('\n')).join('\n\n'));
      if (results.some((r) => r.ok === false)) io.exitCode = EXIT_BUG;
    });
}
