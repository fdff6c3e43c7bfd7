// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The default decisions of a v2 replay file (schedule-file.ts): what a run
 * line `= N` stands for, N decisions each taken as the default takes it.
 *
 *  - which CPU steps (cpu): the CPU that stepped at the last CPU decision goes
 *    on (it must be able to: if it cannot, the replay has diverged);
 *  - preempt, pick, wake-cpu, drain: 0 (no preemption; the first candidate,
 *    prev if it is runnable; the first CPU; the store drains at once);
 *  - rand: the next number of the generator `alea("hazsim-bisect:<seed>")`
 *    (the file's seed), drawn only at a default rand, as bisect's completion
 *    draws it (src/sched/bisect.ts), so that a bisected schedule is almost all
 *    defaults.
 *
 * The writer and the replay both walk a schedule with one of these, so they
 * agree on what is default: the writer marks a decision default only when the
 * default would take exactly it.
 */
import seedrandom from 'seedrandom';
import { D_CPU, D_RAND } from './strategy.ts';

/** Schedule.kind of a decision to take as the default (decoded from a run line). */
export const K_DEFAULT = 255;
/** Schedule.chosen of a CPU decision recorded by CPU id (v2): replay chooses that CPU, at whatever index. */
export const BY_CPU = 0xffffffff;

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 16777619;

export class DefaultChoices {
  /** the CPU of the last CPU decision (-1 before the first) */
  lastCpu = -1;
  private readonly rng: () => number;
  /** the generator's next number in [0, 1), drawn ahead so that the writer can look at it */
  private next: number;

  constructor(seed: number) {
    this.rng = seedrandom.alea(`hazsim-bisect:${seed}`);
    this.next = this.rng();
  }

  /** Writer: is decision (kind, n, chosen, cpu) the default? Walk every decision in order; a default rand consumes a number. */
  isDefault(kind: number, n: number, chosen: number, cpu: number): boolean {
    if (kind === D_CPU) {
      const d = cpu >= 0 && cpu === this.lastCpu;
      this.lastCpu = cpu;
      return d;
    }
    if (kind === D_RAND) {
      if (chosen !== Math.floor(this.next * n)) return false;
      this.next = this.rng();
      return true;
    }
    return chosen === 0;
  }

  /** Replay: the default's index among `n` (options: the CPU ids for cpu), or -1 when the last CPU cannot step. */
  choose(kind: number, n: number, options?: Int32Array): number {
    if (kind === D_CPU) {
      if (!options) return 0;
      for (let j = 0; j < n; j++) if (options[j] === this.lastCpu) return j;
      return -1;
    }
    if (kind === D_RAND) {
      const v = Math.floor(this.next * n);
      this.next = this.rng();
      return v;
    }
    return 0;
  }
}

/** The check of a run line (`~xxxx`): the kinds and option counts of its decisions, folded to 16 bits. */
export class RunCheck {
  private h = FNV_OFFSET;

  add(kind: number, n: number): void {
    this.h = Math.imul(Math.imul(this.h ^ kind, FNV_PRIME) ^ n, FNV_PRIME);
  }

  /** four hex digits */
  value(): string {
    return (((this.h >>> 16) ^ this.h) & 0xffff).toString(16).padStart(4, '0');
  }
}
