// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `hazsim mutants` as a table: per version, the control, then one row per
 * mutant (what it changes; what killed it, or that it survived; how long),
 * each kill's signature and the command that replays it, and the last line
 * `killed K of N mutants (P%)`.
 */
import { Chalk } from 'chalk';
import type { Mutant } from '../hazptr/mutant.ts';
import type { MutantResult } from '../mutants/run.ts';
import { hazsimCommand } from '../cli/options.ts';

export interface VersionReport {
  version: string;
  battery: { file: string; hazptr: string }[];
  /** --memory-model, when given: every battery scenario ran under it */
  memoryModel?: string;
  budget: { seconds: number; runs: number | null };
  control: MutantResult;
  mutants: { mutant: Mutant; result: MutantResult }[];
}

function pad(rows: string[][]): string[] {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  '));
}

const base = (f: string) => f.slice(f.lastIndexOf('/') + 1);
const budgetText = (r: MutantResult) => `${r.runs} runs, ${r.seconds.toFixed(1)} s`;

/** The command that replays a kill. */
export function replayKill(rep: VersionReport, m: Mutant, r: MutantResult): string {
  const k = r.killedBy!;
  const hz = rep.battery.find((b) => b.file === k.file)?.hazptr ?? rep.version;
  return hazsimCommand(['run', k.file, '--hazptr', hz, '--mutant', m.name, ...(rep.memoryModel ? ['--memory-model', rep.memoryModel] : []), '--seed', k.seed]);
}

/** --list: one row per mutant: name, class, the statement (file:line, C) and the change. */
export function mutantList(version: string, ms: readonly Mutant[]): string[] {
  const one = (t: string) => t.replace(/\s+/g, ' ').trim();
  return pad([['version', 'mutant', 'class', 'statement', 'change'], ...ms.map((m) => [version, m.name, m.cls, `${m.file}:${m.line} ${one(m.stmt)}`, one(m.change)])]);
}

export function mutantTable(reports: VersionReport[], o: { color: boolean }): string[] {
  const c = new Chalk({ level: o.color ? 1 : 0 });
  const out: string[] = [];
  let killed = 0;
  let total = 0;
  for (const rep of reports) {
    const b = rep.budget;
    out.push(c.bold(`hazptr ${rep.version}: ${rep.mutants.length} mutants, battery of ${rep.battery.length} (${rep.battery.map((e) => base(e.file)).join(', ')}), each mutant until a report or ${b.seconds} s${b.runs !== null ? ` or ${b.runs} runs` : ''}${rep.memoryModel ? `, --memory-model ${rep.memoryModel}` : ''}`));
    const ctl = rep.control;
    out.push(ctl.killedBy
      ? c.red.bold(`control: ${rep.version} unmodified FAILS the battery: ${base(ctl.killedBy.file)} seed ${ctl.killedBy.seed}: ${ctl.killedBy.signature} (the score below means nothing until this is explained)`)
      : `control: ${rep.version} unmodified, clean (${budgetText(ctl)})`);
    const rows = [['mutant', 'class', 'statement', 'change', 'killed by', 'time']];
    for (const { mutant: m, result: r } of rep.mutants) {
      total++;
      if (r.killedBy) killed++;
      rows.push([
        m.name, m.cls, `${m.file.replace(/^.*\//, '')}:${m.line}`, m.change.replace(/\s+/g, ' '),
        r.killedBy ? `${base(r.killedBy.file)} seed ${r.killedBy.seed} (${r.killedBy.steps} steps): ${r.killedBy.signature.split(' | ')[0]}` : `survived (${r.runs} runs)`,
        `${r.seconds.toFixed(1)} s`,
      ]);
    }
    out.push(...pad(rows));
    const kills = rep.mutants.filter((x) => x.result.killedBy);
    if (kills.length) {
      out.push('signatures and replays:');
      for (const { mutant: m, result: r } of kills) out.push(`  ${m.name}: ${r.killedBy!.signature}\n    ${replayKill(rep, m, r)}`);
    }
    out.push('');
  }
  out.push(c.bold(`killed ${killed} of ${total} mutants (${total ? Math.round((100 * killed) / total) : 0}%)`));
  return out;
}
