// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The replay strategy: answers every choice from a recorded schedule and checks
 * that each decision is taken where it was recorded (same kind, same number of
 * options, and when the recording has it, the same CPU, task and site). The
 * first mismatch stops the run with a ReplayDivergence naming the decision, or,
 * with a fallback strategy (--on-divergence continue), is noted and the run goes
 * on under the fallback.
 *
 * A schedule decoded from a v2 file (schedule-file.ts) has two more things: CPU
 * decisions recorded by CPU id (chosen BY_CPU: that CPU steps, at whatever index
 * it now has; one that cannot step is a divergence), and default decisions
 * (kind K_DEFAULT: taken as defaults.ts takes them, whatever kind the run asks
 * for; a run line's check, when it has one, compares the kinds and option counts
 * of its decisions at its last one).
 */
import { BY_CPU, DefaultChoices, K_DEFAULT, RunCheck } from './defaults.ts';
import { Schedule } from './schedule.ts';
import { DECISION_NAMES, D_CPU, type Strategy } from './strategy.ts';

export class ReplayDivergence extends Error {
  constructor(readonly index: number, message: string) {
    super(message);
    this.name = 'ReplayDivergence';
  }
}

/**
 * The names a file records, by the ids its decisions use (Schedule.task and
 * .site index these, not the machine's ids): checked by name on replay.
 */
export interface ReplayNames {
  /** "comm/pid" */
  tasks: string[];
  /** "function:description" */
  sites: string[];
}

export class ReplayStrategy implements Strategy {
  private i = 0;
  /** the first divergence, when running with a fallback */
  diverged: { index: number; message: string } | null = null;
  /** Name a task ("comm/pid") and a site ("function:description") for name checks and messages, '' for none; set by the machine's owner. */
  taskName: (task: number) => string = (t) => `task ${t}`;
  siteKey: (site: number) => string = (s) => `site ${s}`;
  /** v2: the defaults, and the run line being checked */
  private readonly defaults: DefaultChoices | null;
  private run: { first: number; last: number; check: string; sum: RunCheck } | null = null;

  constructor(
    private readonly rec: Schedule,
    private readonly names?: ReplayNames,
    private readonly fallback?: Strategy,
  ) {
    this.defaults = rec.defaults ? new DefaultChoices(rec.defaults.seed) : null;
  }

  private fail(index: number, message: string): void {
    if (!this.fallback) throw new ReplayDivergence(index, message);
    this.diverged = { index, message };
  }

  /** A recorded decision as a message names it: "cpu 1/2" (by index) or "cpu2 of 4" (v2, by CPU id). */
  private recorded(i: number): string {
    const r = this.rec;
    if (r.kind[i] === K_DEFAULT) return 'a default decision';
    if (r.chosen[i] === BY_CPU) return `cpu${r.cpu[i]} of ${r.n[i]}`;
    return `${DECISION_NAMES[r.kind[i]]} ${r.chosen[i]}/${r.n[i]}`;
  }

  choose(kind: number, n: number, options?: Int32Array, weights?: Int32Array): number {
    if (this.diverged) return this.fallback!.choose(kind, n, options, weights);
    const i = this.i;
    const r = this.rec;
    const d = this.defaults;
    if (i >= r.length) {
      this.fail(i, `schedule ends after ${r.length} decisions, but the run asks for decision #${i} (${DECISION_NAMES[kind]} among ${n})`);
      return this.fallback!.choose(kind, n, options, weights);
    }
    let k: number;
    if (r.kind[i] === K_DEFAULT && d) {
      k = d.choose(kind, n, options);
      if (k < 0) {
        this.fail(i, `decision #${i} (a default decision): cpu${d.lastCpu} would go on, but it cannot step now (${cpuList(options!, n)} can)`);
        return this.fallback!.choose(kind, n, options, weights);
      }
      if (!this.run && r.defaults!.checks.has(i)) this.run = { first: i, ...r.defaults!.checks.get(i)!, sum: new RunCheck() };
      if (this.run) {
        this.run.sum.add(kind, n);
        if (i === this.run.last) {
          const { first, check, sum } = this.run;
          this.run = null;
          if (sum.value() !== check) {
            this.fail(i, `decisions #${first}..#${i} (= ${i - first + 1} ~${check}): the run asked for other kinds of decisions or numbers of options than were recorded (~${sum.value()}): it diverged within these`);
            return this.fallback ? this.fallback.choose(kind, n, options, weights) : k;
          }
        }
      }
    } else {
      if (r.kind[i] !== kind || r.n[i] !== n) {
        this.fail(i, `decision #${i}: recorded ${r.kind[i] === K_DEFAULT ? 'a default decision' : `${DECISION_NAMES[r.kind[i]]} among ${r.n[i]}`}, but the run asks for ${DECISION_NAMES[kind]} among ${n}`);
        return this.fallback!.choose(kind, n, options, weights);
      }
      k = r.chosen[i];
      if (k === BY_CPU) {
        k = -1;
        if (options) for (let j = 0; j < n; j++) if (options[j] === r.cpu[i]) k = j;
        if (k < 0) {
          this.fail(i, `decision #${i} (${this.recorded(i)}): cpu${r.cpu[i]} cannot step now (${options ? cpuList(options, n) : 'no CPU ids given'} can)`);
          return this.fallback!.choose(kind, n, options, weights);
        }
      }
    }
    if (d && kind === D_CPU && options) d.lastCpu = options[k];
    return k;
  }

  confirm(cpu: number, task: number, site: number): void {
    if (this.diverged) {
      this.fallback!.confirm(cpu, task, site);
      return;
    }
    const i = this.i++;
    const r = this.rec;
    // recorded without context (or a default); a CPU decision by CPU id had its CPU checked in choose()
    if (r.task[i] === -1 && r.site[i] === -1 && (r.cpu[i] === -1 || r.chosen[i] === BY_CPU)) return;
    let ok: boolean;
    let recorded: string;
    if (this.names) {
      const tn = r.task[i] >= 0 ? this.names.tasks[r.task[i]] : '';
      const sk = r.site[i] >= 0 ? this.names.sites[r.site[i]] : '';
      ok = (r.cpu[i] < 0 || r.cpu[i] === cpu) && (!tn || tn === this.taskName(task)) && (!sk || sk === this.siteKey(site));
      recorded = `${r.cpu[i] >= 0 ? `cpu${r.cpu[i]}` : '-'} ${tn || '-'} ${sk || '-'}`;
    } else {
      ok = r.cpu[i] === cpu && r.task[i] === task && r.site[i] === site;
      recorded = this.context(r.cpu[i], r.task[i], r.site[i]);
    }
    if (!ok) this.fail(i, `decision #${i} (${this.recorded(i)}): recorded at ${recorded}, but now leads to ${this.context(cpu, task, site)}`);
  }

  /** A decision's context as a file names it, "cpu0 comm/pid function:description" ('-' for what it lacks): both sides of a divergence message. */
  private context(cpu: number, task: number, site: number): string {
    return `${cpu >= 0 ? `cpu${cpu}` : '-'} ${(task >= 0 && this.taskName(task)) || '-'} ${(site >= 0 && this.siteKey(site)) || '-'}`;
  }
}

function cpuList(options: Int32Array, n: number): string {
  const out: string[] = [];
  for (let j = 0; j < n; j++) out.push(`cpu${options[j]}`);
  return out.join(', ');
}
