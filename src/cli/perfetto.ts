// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `--perfetto FILE` and `--perfetto-all` on run, replay and bisect: check the
 * path before any work, then, after the run, run it again with the timeline's
 * tracer (scenario/timeline.ts) and stream the JSON (report/perfetto.ts) to the
 * file; one line on stderr says what was written.
 */
import { fmtSecs } from '../kernel/reports.ts';
import { causalSlice, recordRun } from '../scenario/slice.ts';
import { rerun, type RunOptions, type RunResult } from '../scenario/run.ts';
import type { Scenario } from '../scenario/schema.ts';
import { findSubject } from '../scenario/story.ts';
import { timelineEvents, type TimelineSummary } from '../scenario/timeline.ts';
import { raceSteps } from '../report/slice.ts';
import { perfettoJson } from '../report/perfetto.ts';
import { InputError } from './errors.ts';
import { checkWritable, writeChunks } from './files.ts';
import type { CliIO } from './index.ts';

export interface PerfettoFlags {
  perfetto?: string;
  perfettoAll?: boolean;
}

/** Before any work: --perfetto-all needs --perfetto, and its file must be writable. */
export function checkPerfetto(o: PerfettoFlags): void {
  if (o.perfettoAll && !o.perfetto) throw new InputError('--perfetto-all: goes with --perfetto FILE');
  if (o.perfetto) checkWritable('--perfetto', o.perfetto);
}

/**
 * Write the timeline of run `r` (made with options `o`) to --perfetto's file.
 * The causal slice comes from the run's own replay (RunResult.race), or, when
 * the run did not tell its story (--json), from one more replay here.
 */
export function writePerfetto(io: CliIO, flags: PerfettoFlags, s: Scenario, o: RunOptions, r: RunResult, about: Record<string, string>): void {
  const file = flags.perfetto;
  if (!file) return;
  const build = rerun(s, o, r);
  if (!build) {
    io.err(`hazsim: warning: --perfetto: this run cannot be run again (it diverged from its schedule, or ran under another strategy); ${file} not written`);
    return;
  }
  let race = r.race;
  if (!race && r.fatal) {
    const { log, m } = recordRun(build);
    const subject = findSubject(m);
    const sl = causalSlice(log, m, subject);
    if (sl) race = raceSteps(sl, m, subject);
  }
  const all = !!flags.perfettoAll;
  const sum: TimelineSummary = { events: 0, fromNs: 0, toNs: 0, raceSteps: 0, raceShown: 0 };
  const head = { ...about, window: all ? 'the whole run' : 'before the report (--perfetto-all for the whole run)', units: 'ts in simulated microseconds' };
  writeChunks('--perfetto', file, perfettoJson(timelineEvents(build, { all, race, endNs: r.simNs, lastStepNs: r.history.at(-1)?.t }, sum), head));
  const what = race?.length ? `, the race's ${sum.raceShown === sum.raceSteps ? `${sum.raceSteps}` : `${sum.raceShown} of ${sum.raceSteps}`} steps` : '';
  io.err(`hazsim: perfetto: wrote ${file} (${sum.events} events, ${fmtSecs(sum.fromNs)} s to ${fmtSecs(sum.toNs)} s simulated${what}${all ? '' : '; --perfetto-all for the whole run'})`);
}
