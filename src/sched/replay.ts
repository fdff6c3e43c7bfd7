// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The replay strategy: answers every choice from a recorded schedule and checks
 * that each decision is taken where it was recorded (same kind, same number of
 * options, and when the recording has it, the same CPU, task and site). The
 * first mismatch stops the run with a ReplayDivergence naming the decision, or,
 * with a fallback strategy (--on-divergence continue), is noted and the run goes
 * on under the fallback.
 */
import { Schedule } from './schedule.ts';
import { DECISION_NAMES, type Strategy } from './strategy.ts';

export class ReplayDivergence extends Error {
  constructor(readonly index: number, message: string) {
    super(message);
    this.name = 'ReplayDivergence';
  }
}

export interface ReplayNames {
  /** per decision, "comm/pid" or '' */
  taskNames: string[];
  /** per decision, "function:description" or '' */
  siteKeys: string[];
}

export class ReplayStrategy implements Strategy {
  private i = 0;
  /** the first divergence, when running with a fallback */
  diverged: { index: number; message: string } | null = null;
  /** Names a CPU, task and site for messages and name checks; set by the machine's owner. */
  describe: (cpu: number, task: number, site: number) => string = (c, t, s) => `cpu${c} task ${t} site ${s}`;
  taskName: (task: number) => string = (t) => String(t);
  siteKey: (site: number) => string = (s) => String(s);

  constructor(
    private readonly rec: Schedule,
    private readonly names?: ReplayNames,
    private readonly fallback?: Strategy,
  ) {}

  private fail(index: number, message: string): void {
    if (!this.fallback) throw new ReplayDivergence(index, message);
    this.diverged = { index, message };
  }

  choose(kind: number, n: number, options?: Int32Array, weights?: Int32Array): number {
    if (this.diverged) return this.fallback!.choose(kind, n, options, weights);
    const i = this.i;
    if (i >= this.rec.length) {
      this.fail(i, `schedule ends after ${this.rec.length} decisions, but the run asks for decision #${i} (${DECISION_NAMES[kind]} among ${n})`);
      return this.fallback!.choose(kind, n, options, weights);
    }
    if (this.rec.kind[i] !== kind || this.rec.n[i] !== n) {
      this.fail(i, `decision #${i}: recorded ${DECISION_NAMES[this.rec.kind[i]]} among ${this.rec.n[i]}, but the run asks for ${DECISION_NAMES[kind]} among ${n}`);
      return this.fallback!.choose(kind, n, options, weights);
    }
    return this.rec.chosen[i];
  }

  confirm(cpu: number, task: number, site: number): void {
    if (this.diverged) {
      this.fallback!.confirm(cpu, task, site);
      return;
    }
    const i = this.i++;
    const r = this.rec;
    let ok: boolean;
    let recorded: string;
    if (this.names) {
      const tn = this.names.taskNames[i];
      const sk = this.names.siteKeys[i];
      ok = (r.cpu[i] < 0 || r.cpu[i] === cpu) && (!tn || tn === this.taskName(task)) && (!sk || sk === this.siteKey(site));
      recorded = `cpu${r.cpu[i]} ${tn || '-'} ${sk || '-'}`;
    } else {
      if (r.cpu[i] === -1 && r.task[i] === -1 && r.site[i] === -1) return; // recorded without context
      ok = r.cpu[i] === cpu && r.task[i] === task && r.site[i] === site;
      recorded = this.describe(r.cpu[i], r.task[i], r.site[i]);
    }
    if (!ok) {
      this.fail(i, `decision #${i} (${DECISION_NAMES[r.kind[i]]} ${r.chosen[i]}/${r.n[i]}): recorded at ${recorded}, but now leads to ${this.describe(cpu, task, site)}`);
    }
  }
}
