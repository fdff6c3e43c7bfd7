// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The recorded schedule: every decision the machine took, whatever the
 * strategy, with what it chose among and where (CPU, task, site). Kept in
 * growable typed arrays, reused across runs, so recording allocates nothing per
 * step once warm.
 *
 * A run that needs no log (a seeded run that writes no replay file: a run from a
 * seed is rebuilt by running the seed again) counts its decisions and folds each
 * into the digest as it goes, in constant memory: `Schedule.streaming()`. The
 * digest is the same either way.
 */

import { siteHash } from '../kernel/sites.ts';
import { grown } from '../kernel/typed.ts';

import { BY_CPU, DefaultChoices, K_DEFAULT } from './defaults.ts';
import { D_CPU } from './strategy.ts';

/** The letters of the decision kinds in compact text (D_CPU .. D_DRAIN). */
export const LETTERS = 'cpkwrd';
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 16777619;

export class Schedule {
  length = 0;
  /** false: no log, only the count and the running digest (streaming()) */
  readonly keep: boolean = true;
  /** streaming: the digest of the decisions before the last, and the last one, folded in when the next comes */
  private h = FNV_OFFSET;
  private lastKind = -1;
  private lastChosen = 0;
  private lastSite = -1;

  /** A schedule that keeps no log: length and digest() only. */
  static streaming(): Schedule {
    const s = new Schedule();
    (s as { keep: boolean }).keep = false;
    return s;
  }
  /**
   * Decoded from a v2 replay file (schedule-file.ts): the seed its defaults
   * draw from (kind K_DEFAULT, defaults.ts), and its run lines' checks, by the
   * run's first decision.
   */
  defaults?: { seed: number; checks: Map<number, { last: number; check: string }> };
  // allocated at the first decision kept (a streaming schedule keeps none)
  kind = new Uint8Array(0);
  n = new Uint32Array(0);
  chosen = new Uint32Array(0);
  cpu = new Int8Array(0);
  task = new Int16Array(0);
  site = new Int16Array(0);

  clear(): void {
    this.length = 0;
  }

  push(kind: number, n: number, chosen: number): number {
    if (!this.keep) {
      if (this.lastKind >= 0) this.h = fold(this.h, this.lastKind, this.lastChosen, this.lastSite);
      this.lastKind = kind;
      this.lastChosen = chosen;
      this.lastSite = -1;
      return this.length++;
    }
    if (this.length === this.kind.length) this.grow();
    const i = this.length++;
    this.kind[i] = kind;
    this.n[i] = n;
    this.chosen[i] = chosen;
    this.cpu[i] = -1;
    this.task[i] = -1;
    this.site[i] = -1;
    return i;
  }

  where(i: number, cpu: number, task: number, site: number): void {
    if (!this.keep) {
      this.lastSite = site; // the machine places only the decision it took last
      return;
    }
    this.cpu[i] = cpu;
    this.task[i] = task;
    this.site[i] = site;
  }


  private grow(): void {
    const m = Math.max(1024, this.kind.length + 1);
    this.kind = grown(this.kind, m);
    this.n = grown(this.n, m);
    this.chosen = grown(this.chosen, m);
    this.cpu = grown(this.cpu, m);
    this.task = grown(this.task, m);
    this.site = grown(this.site, m);
  }

  /** A copy holding just the recorded decisions (for replay). */
  snapshot(): Schedule {
    if (!this.keep) throw new Error('a streaming schedule keeps no decisions to snapshot');
    const s = new Schedule();
    s.length = this.length;
    s.kind = this.kind.slice(0, Math.max(1, this.length));
    s.n = this.n.slice(0, Math.max(1, this.length));
    s.chosen = this.chosen.slice(0, Math.max(1, this.length));
    s.cpu = this.cpu.slice(0, Math.max(1, this.length));
    s.task = this.task.slice(0, Math.max(1, this.length));
    s.site = this.site.slice(0, Math.max(1, this.length));
    s.defaults = this.defaults;
    return s;
  }

  /** FNV-1a over the decisions: equal schedules have equal digests. */
  digest(): string {
    let h1 = FNV_OFFSET;
    if (!this.keep) h1 = this.lastKind >= 0 ? fold(this.h, this.lastKind, this.lastChosen, this.lastSite) : this.h;
    else for (let i = 0; i < this.length; i++) h1 = fold(h1, this.kind[i], this.chosen[i], this.site[i]);
    return (h1 >>> 0).toString(16).padStart(8, '0');
  }

  /**
   * Compact text (--json's schedule.encoded): a v2 replay file's decisions
   * (schedule-file.ts) without their context, space-separated: `c2/4` (CPU 2
   * steps, one of 4), `p1/2`, `k0/3`, `w1/2`, `r13/20`, `d0/1024`, and `=N` for
   * N decisions as the default takes them (defaults.ts, rands drawn from `seed`).
   */
  encode(seed = 0): string {
    if (!this.keep) throw new Error('a streaming schedule keeps no decisions to encode');
    const dc = new DefaultChoices(seed);
    const out: string[] = [];
    let run = 0;
    for (let i = 0; i < this.length; i++) {
      if (dc.isDefault(this.kind[i], this.n[i], this.chosen[i], this.cpu[i])) {
        run++;
        continue;
      }
      if (run) out.push(`=${run}`);
      run = 0;
      const v = this.kind[i] === D_CPU && this.cpu[i] >= 0 ? this.cpu[i] : this.chosen[i];
      out.push(`${LETTERS[this.kind[i]]}${v}/${this.n[i]}`);
    }
    if (run) out.push(`=${run}`);
    return out.join(' ');
  }

  /** The schedule encode() wrote (with the same seed), to replay. */
  static decode(text: string, seed = 0): Schedule {
    const s = new Schedule();
    s.defaults = { seed, checks: new Map() };
    for (const tok of text.trim().split(/\s+/)) {
      if (!tok) continue;
      const run = /^=(\d+)$/.exec(tok);
      if (run) {
        for (let j = Number(run[1]); j > 0; j--) s.push(K_DEFAULT, 0, 0);
        continue;
      }
      const m = /^([cpkwrd])(\d+)\/(\d+)$/.exec(tok);
      if (!m) throw new Error(`bad schedule token '${tok}'`);
      const kind = LETTERS.indexOf(m[1]);
      if (kind !== D_CPU) s.push(kind, Number(m[3]), Number(m[2]));
      else s.where(s.push(kind, Number(m[3]), BY_CPU), Number(m[2]), -1, -1);
    }
    return s;
  }
}

/** One decision into the FNV-1a digest: kind, choice, and the site's hash (sites.ts: the same whatever the order modules loaded in; -1, none, as 0xffff). */
function fold(h: number, kind: number, chosen: number, site: number): number {
  h = Math.imul(h ^ kind, FNV_PRIME);
  h = Math.imul(h ^ chosen, FNV_PRIME);
  return Math.imul(h ^ (site >= 0 ? siteHash[site] : 0xffff), FNV_PRIME);
}
