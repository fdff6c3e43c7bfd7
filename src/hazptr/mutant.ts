// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Mutants: deliberate one-statement bugs in a hazptr version, for measuring
 * what hazsim's search catches (`hazsim mutants`). A mutant is plain data; the
 * port carries the change at the statement it names, as a test of
 * `io.m.mutant` against the mutant's id:
 *
 *     if (io.m.mutant !== MUT_ACQ_NO_MB) yield io.fence(S.acq_mb);
 *
 * Ids are small integers, unique across all versions (a version's catalogue
 * takes its own range: v5's kernel/hazptr.c 100-199, v5-detach's hazptr.h
 * 200-299, wildcard-flip 300-399), so the hot path compares two Smis. 0 is the
 * unmodified version.
 */
export type MutantClass = 'ordering' | 'overflow-list' | 'scan' | 'context';

export interface Mutant {
  readonly id: number;
  /** short, stable, for --mutant NAME: "acquire-no-mb" */
  readonly name: string;
  readonly cls: MutantClass;
  /** the reference file and line of the statement changed: "include/linux/hazptr.h", 198 */
  readonly file: string;
  readonly line: number;
  /** the C statement as the reference has it */
  readonly stmt: string;
  /** what the mutant does instead, in words or C: "deleted", "WRITE_ONCE(slot->addr, NULL)" */
  readonly change: string;
}

/** A catalogue, checked: ids unique and in range, names unique. */
export function catalogue(lo: number, hi: number, ms: Mutant[]): readonly Mutant[] {
  const ids = new Set<number>();
  const names = new Set<string>();
  for (const m of ms) {
    if (m.id < lo || m.id > hi || ids.has(m.id)) throw new Error(`mutant ${m.name}: id ${m.id} is not unique in ${lo}..${hi}`);
    if (names.has(m.name)) throw new Error(`mutant ${m.name}: name used twice`);
    ids.add(m.id);
    names.add(m.name);
  }
  return ms;
}
