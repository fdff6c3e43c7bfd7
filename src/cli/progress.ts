// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Wall-clock progress on stderr (the CLI layer: the simulation never reads the
 * clock): on a terminal a status line rewritten in place (io.status), otherwise
 * a plain line now and then.
 */
import { performance } from 'node:perf_hooks';

export class Progress {
  private readonly t0 = performance.now();
  private lastPrint = 0;

  /**
   * `status`: rewrite the terminal's status line ('' clears it), when stderr is a terminal;
   * `err`: a plain line otherwise. `before`: seeds done before this process started (--resume),
   * which the rate does not count.
   */
  constructor(private readonly err: (line: string) => void, private readonly status: ((line: string) => void) | undefined, private readonly before = 0) {}

  get seconds(): number {
    return (performance.now() - this.t0) / 1000;
  }

  /** Show a line: every 200 ms on a terminal, every 10 s otherwise; `force`: now, as a plain line that stays. */
  show(line: () => string, force = false): void {
    const now = performance.now();
    if (!force && now - this.lastPrint < (this.status ? 200 : 10_000)) return;
    this.lastPrint = now;
    if (force || !this.status) {
      this.clear();
      this.err(line());
    } else this.status(line());
  }

  clear(): void {
    this.status?.('');
  }

  hunt(done: number, total: number, failures: Map<string, number>, force = false): void {
    this.show(() => {
      const rate = (done - this.before) / Math.max(1e-9, this.seconds);
      const byKind = new Map<string, number>();
      for (const [sig, n] of failures) {
        const k = sig.split(' | ')[0];
        byKind.set(k, (byKind.get(k) ?? 0) + n);
      }
      const kinds = [...byKind].map(([k, n]) => `${k} ${n}`).join(', ');
      const before = this.before ? ` (${this.before} before --resume)` : '';
      return `hunt: ${done}/${total} seeds${before}, ${rate.toFixed(1)} seeds/s, ${[...failures.values()].reduce((a, b) => a + b, 0)} failures${kinds ? ` (${kinds})` : ''}`;
    }, force);
  }
}
