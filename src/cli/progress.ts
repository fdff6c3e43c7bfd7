/**
 * Wall-clock progress for hunt (the CLI layer: the simulation never reads the clock).
 */
import { performance } from 'node:perf_hooks';

export class Progress {
  private readonly t0 = performance.now();
  private lastPrint = 0;

  /** `before`: seeds done before this process started (--resume); the rate counts only the others */
  constructor(private readonly write: (s: string) => void, private readonly tty: boolean, private readonly before = 0) {}

  get seconds(): number {
    return (performance.now() - this.t0) / 1000;
  }

  update(done: number, total: number, failures: Map<string, number>, force = false): void {
    const now = performance.now();
    if (!force && now - this.lastPrint < (this.tty ? 200 : 10_000)) return;
    this.lastPrint = now;
    const rate = (done - this.before) / Math.max(1e-9, this.seconds);
    const byKind = new Map<string, number>();
    for (const [sig, n] of failures) {
      const k = sig.split(' | ')[0];
      byKind.set(k, (byKind.get(k) ?? 0) + n);
    }
    const kinds = [...byKind].map(([k, n]) => `${k} ${n}`).join(', ');
    const line = `hunt: ${done}/${total} seeds${this.before ? ` (${this.before} before --resume)` : ''}, ${rate.toFixed(1)} seeds/s, ${[...failures.values()].reduce((a, b) => a + b, 0)} failures${kinds ? ` (${kinds})` : ''}`;
    this.write(this.tty ? `\r${line}\x1b[K` : `${line}\n`);
  }

  done(): void {
    if (this.tty) this.write('\n');
  }
}
