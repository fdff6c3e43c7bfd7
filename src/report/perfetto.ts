// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The timeline (scenario/timeline.ts) as a Chrome/Perfetto JSON trace file:
 * `{"displayTimeUnit":"ns","otherData":{...},"traceEvents":[...]}`, one event
 * a line, written as pieces (one per batch of events) so that a run of
 * millions of events is never one string. ui.perfetto.dev and chrome://tracing
 * open it (docs/timeline.md).
 */
import type { TraceEvent } from '../scenario/timeline.ts';

/** The file's text, piece by piece; `about` goes into otherData (scenario, seed, hazsim's window). */
export function* perfettoJson(batches: Iterable<TraceEvent[]>, about: Record<string, string>): Generator<string> {
  yield `{"displayTimeUnit":"ns","otherData":${JSON.stringify(about)},"traceEvents":[\n`;
  let first = true;
  for (const b of batches) {
    if (!b.length) continue;
    const text = b.map((e) => JSON.stringify(e)).join(',\n');
    yield first ? text : `,\n${text}`;
    first = false;
  }
  yield '\n]}\n';
}
