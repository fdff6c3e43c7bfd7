/**
 * The replay strategy: answers every choice from a recorded schedule and checks
 * that each decision is taken where it was recorded (same kind, same number of
 * options, and when the recording has it, the same CPU, task and site). The
 * first mismatch stops the run with a ReplayDivergence naming the decision.
 */
import { Schedule } from './schedule.ts';
import { DECISION_NAMES, type Strategy } from './strategy.ts';

export class ReplayDivergence extends Error {
  constructor(readonly index: number, message: string) {
    super(message);
    this.name = 'ReplayDivergence';
  }
}

export class ReplayStrategy implements Strategy {
  private i = 0;
  /** Names a CPU, task and site for messages; set by the machine. */
  describe: (cpu: number, task: number, site: number) => string = (c, t, s) => `cpu${c} task ${t} site ${s}`;

  constructor(private readonly rec: Schedule) {}

  choose(kind: number, n: number): number {
    const i = this.i;
    if (i >= this.rec.length) {
      throw new ReplayDivergence(i, `schedule ends after ${this.rec.length} decisions, but the run asks for decision #${i} (${DECISION_NAMES[kind]} among ${n})`);
    }
    if (this.rec.kind[i] !== kind || this.rec.n[i] !== n) {
      throw new ReplayDivergence(i, `decision #${i}: recorded ${DECISION_NAMES[this.rec.kind[i]]} among ${this.rec.n[i]}, but the run asks for ${DECISION_NAMES[kind]} among ${n}`);
    }
    return this.rec.chosen[i];
  }

  confirm(cpu: number, task: number, site: number): void {
    const i = this.i++;
    const r = this.rec;
    if (r.cpu[i] === -1 && r.task[i] === -1 && r.site[i] === -1) return; // recorded without context
    if (r.cpu[i] !== cpu || r.task[i] !== task || r.site[i] !== site) {
      throw new ReplayDivergence(i, `decision #${i} (${DECISION_NAMES[r.kind[i]]} ${r.chosen[i]}/${r.n[i]}): recorded at ${this.describe(r.cpu[i], r.task[i], r.site[i])}, but now leads to ${this.describe(cpu, task, site)}`);
    }
  }

  get consumed(): number {
    return this.i;
  }
}
