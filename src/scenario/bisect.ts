// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Shrink a failing run while keeping its signature (hazsim bisect):
 *
 * 1. the shortest prefix of the recorded decisions after which the fixed
 *    completion of BisectStrategy still fails the same way (binary search);
 * 2. the causal slice of the recorded failure (slice.ts) pins the decisions
 *    taken near its steps (PIN_NS, on their CPUs or by their tasks); every
 *    other decision of the prefix is set to its default in one trial, kept so
 *    when the signature holds;
 * 3. delta debugging over that prefix: chunks of decisions, halving in size,
 *    from the end of the prefix backwards, are set back to their default choice
 *    (no preemption, stay on the CPU, ...) and kept so when the signature holds,
 *    until the run budget (--max-runs) is spent;
 * 4. a final run records the resulting schedule exactly, for a replay file.
 *
 * Deterministic: the same scenario and seed give the same result.
 */
import { BisectStrategy, depthOf, switchPoints } from '../sched/bisect.ts';
import type { Scenario } from './schema.ts';
import { runScenario, type RunResult, type Search } from './run.ts';
import type { Schedule } from '../sched/schedule.ts';
import { fmtStepLine, type StepLine } from '../report/ftrace.ts';
import { pinnedBySlice } from './slice.ts';
import { buildMachine } from './workload.ts';

/** Decisions within this much simulated time of a step of the race's causal slice (on its CPU or by its task) are pinned. */
const PIN_NS = 5_000;

export interface BisectResult {
  original: RunResult;
  final: RunResult;
  runs: number;
  prefix: number;
  originalSwitches: number;
  finalSwitches: number;
  /** preemptions and delayed drains in the original and the shrunk schedule (depthOf) */
  originalDepth: { preemptions: number; delayedDrains: number };
  finalDepth: { preemptions: number; delayedDrains: number };
}

/** `from`: bisect this schedule (one explore found) instead of the seed's run. */
export function bisect(s: Scenario, seed: number, o: { maxSteps?: number; maxRuns?: number; log: (line: string) => void; search?: Search; from?: Schedule }): BisectResult | { error: string } {
  const original = runScenario(s, { seed, stopAtWarn: true, maxSteps: o.maxSteps, record: true, ...(o.from ? { replay: o.from } : { search: o.search }) });
  if (!original.bug) return { error: `seed ${seed} does not fail (${original.outcome} after ${original.steps} steps): nothing to bisect` };
  const sig = original.bug.signature;
  const rec = original.schedule.snapshot();
  const cap = Math.max(200_000, original.steps * 2);
  const maxRuns = o.maxRuns ?? 150;
  let runs = 0;
  const mask = new Uint8Array(rec.length);
  const fails = (prefix: number, m: Uint8Array): boolean => {
    runs++;
    const r = runScenario(s, { seed, stopAtWarn: true, maxSteps: cap, strategy: new BisectStrategy(rec, prefix, m, seed), record: false });
    return r.bug?.signature === sig;
  };
  o.log(`bisect: seed ${seed}: ${sig}`);
  o.log(`bisect: recorded run: ${original.steps} steps, ${rec.length} decisions, ${switchPoints(rec).length} switch points`);
  if (!fails(rec.length, mask)) {
    return { error: `seed ${seed}: following the recorded decisions with the bisect completion does not fail the same way; cannot shrink` };
  }
  // 1. shortest failing prefix
  let lo = 0;
  let hi = rec.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (fails(mid, mask)) hi = mid;
    else lo = mid + 1;
    o.log(`bisect: prefix search: ${lo}..${hi} of ${rec.length} decisions (${runs} runs)`);
  }
  const prefix = hi;
  // 2. what the race's slice does not pin goes to its default at once
  if (prefix > 0) {
    const pin = pinnedBySlice((st) => buildMachine(s, st, { seed, stopAtWarn: true, recordSchedule: false, ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}) }), rec, PIN_NS);
    if (pin) {
      const trial = mask.slice();
      let free = 0;
      let pinned = 0;
      for (let i = 0; i < prefix; i++) {
        if (pin[i]) pinned++;
        else if (!trial[i]) (trial[i] = 1), free++;
      }
      if (free > 0) {
        const holds = fails(prefix, trial);
        if (holds) mask.set(trial);
        o.log(`bisect: slice: ${pinned} of ${prefix} decisions are near the race's causal slice; the other ${free} at their default at once: ${holds ? 'the failure holds' : 'the failure goes'} (${runs} runs)`);
      }
    }
  }
  // 3. set chunks of the prefix back to default choices while the failure holds
  for (let size = Math.max(1, Math.floor(prefix / 2)); size >= 1 && runs < maxRuns; size = Math.floor(size / 2)) {
    let kept = 0;
    // from the end of the prefix backwards: decisions near the failure change less of what follows
    for (let end = prefix; end > 0 && runs < maxRuns; end -= size) {
      const start = Math.max(0, end - size);
      let open = false;
      for (let i = start; i < end; i++) if (!mask[i]) open = true;
      if (!open) continue;
      const trial = mask.slice();
      trial.fill(1, start, end);
      if (fails(prefix, trial)) {
        mask.set(trial);
        kept++;
      }
    }
    let left = 0;
    for (let i = 0; i < prefix; i++) if (!mask[i]) left++;
    o.log(`bisect: chunks of ${size}: ${kept} set to default, ${left} recorded decisions left (${runs} runs)`);
    if (size === 1 || left === 0) break;
  }
  // 4. the final run, recorded exactly
  const shrunk = runScenario(s, { seed, stopAtWarn: true, maxSteps: cap, strategy: new BisectStrategy(rec, prefix, mask, seed) });
  const exact = shrunk.schedule.snapshot();
  const final = runScenario(s, { seed, stopAtWarn: true, maxSteps: cap, replay: exact, story: true });
  return {
    original, final, runs: runs + 2, prefix, originalSwitches: switchPoints(rec).length, finalSwitches: switchPoints(exact).length,
    originalDepth: depthOf(rec), finalDepth: depthOf(exact),
  };
}

/** The last steps of a run as a numbered story in ftrace's columns, with the switch points marked. */
export function numberedStory(s: Scenario, r: RunResult, last = 40): string[] {
  const lines: StepLine[] = [];
  runScenario(s, {
    seed: r.seed, replay: r.schedule.snapshot(), maxSteps: r.steps + 10, record: false,
    trace: (l) => {
      if (l.event !== 'step') return;
      lines.push(l);
      if (lines.length > last * 4) lines.splice(0, lines.length - last);
    },
  });
  const tail = lines.slice(-last);
  return tail.map((l, i) => {
    const mark = i > 0 && l.cpu !== tail[i - 1].cpu ? '  <-- switch' : l.what === 'preempted' ? '  <-- preemption' : '';
    return `${String(i + 1).padStart(3)}. ${fmtStepLine(l)}${mark}`;
  });
}


/**
 * --shrink-scenario: make the scenario smaller while the seed still fails with
 * the same signature. Greedy, to a fixed point: fewer CPUs, fewer readers (a
 * torture workload), fewer repetitions and loop iterations, shorter sleeps.
 * Each candidate is one run of the seed; the first that keeps the signature is
 * kept. Deterministic.
 */
export function shrinkScenario(s: Scenario, seed: number, sig: string, o: { maxSteps?: number; maxRuns?: number; log: (line: string) => void; search?: Search }): { scenario: Scenario; changes: string[]; runs: number } {
  let cur: Scenario = structuredClone(s);
  const changes: string[] = [];
  let runs = 0;
  const maxRuns = o.maxRuns ?? 60;
  const holds = (c: Scenario) => {
    runs++;
    return runScenario(c, { seed, stopAtWarn: true, maxSteps: o.maxSteps, search: o.search }).bug?.signature === sig;
  };
  const candidates = (c: Scenario): { what: string; sc: Scenario }[] => {
    const out: { what: string; sc: Scenario }[] = [];
    const add = (what: string, f: (x: Scenario) => boolean) => {
      const x = structuredClone(c);
      if (f(x)) out.push({ what, sc: x });
    };
    add(`machine.cpus ${c.machine.cpus} -> ${c.machine.cpus - 1}`, (x) => {
      if (x.machine.cpus <= 1) return false;
      x.machine.cpus--;
      if (x.tasks.some((t) => t.cpu !== undefined && t.cpu >= x.machine.cpus) || x.irqs.some((q) => q.cpu >= x.machine.cpus)) return false;
      return true;
    });
    if (c.hazptrtorture) {
      const n = c.hazptrtorture.nreaders ?? -1;
      const eff = n >= 0 ? n : c.machine.cpus * -n;
      add(`hazptrtorture.nreaders ${eff} -> ${eff - 1}`, (x) => {
        if (eff <= 1) return false;
        x.hazptrtorture!.nreaders = eff - 1;
        return true;
      });
    }
    c.tasks.forEach((t, i) => {
      add(`tasks[${i}].repeat ${t.repeat} -> ${Math.ceil(t.repeat / 2)}`, (x) => {
        if (t.repeat <= 1) return false;
        x.tasks[i].repeat = Math.ceil(t.repeat / 2);
        return true;
      });
      // each candidate finds its op in its own copy by the path of indices
      type Ops = Record<string, unknown>[];
      const opsAt = (x: Scenario, trail: number[]): Ops => {
        let ops = x.tasks[i].program as unknown as Ops;
        for (const j of trail) ops = (ops[j].loop as { do: Ops }).do;
        return ops;
      };
      const walk = (ops: Ops, path: string, trail: number[]) => {
        ops.forEach((op, j) => {
          if (typeof op !== 'object' || op === null) return;
          if ('loop' in op) {
            const l = op.loop as { times: number; do: Ops };
            add(`${path}[${j}].loop.times ${l.times} -> ${Math.ceil(l.times / 2)}`, (x) => {
              if (l.times <= 1) return false;
              (opsAt(x, trail)[j].loop as { times: number }).times = Math.ceil(l.times / 2);
              return true;
            });
            walk(l.do, `${path}[${j}].loop.do`, [...trail, j]);
          }
          if ('sleep_us' in op && (op.sleep_us as number) >= 1) {
            const v = op.sleep_us as number;
            add(`${path}[${j}].sleep_us ${v} -> ${Math.floor(v / 2)}`, (x) => {
              opsAt(x, trail)[j].sleep_us = Math.floor(v / 2);
              return true;
            });
          }
        });
      };
      walk(t.program as unknown as Ops, `tasks[${i}].program`, []);
    });
    return out;
  };
  let changed = true;
  while (changed && runs < maxRuns) {
    changed = false;
    for (const cand of candidates(cur)) {
      if (runs >= maxRuns) break;
      if (holds(cand.sc)) {
        cur = cand.sc;
        changes.push(cand.what);
        o.log(`bisect: scenario: ${cand.what} (${runs} runs)`);
        changed = true;
        break;
      }
    }
  }
  return { scenario: cur, changes, runs };
}
