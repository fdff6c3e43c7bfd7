// SPDX-License-Identifier: GPL-2.0-or-later
import { Machine, type MachineConfig } from '../src/kernel/machine.ts';
import type { KGen, Port } from '../src/kernel/port.ts';
import { v5 } from '../src/hazptr/v5/hazptr.ts';
import { RandomStrategy } from '../src/sched/random.ts';
import { parseScenario } from '../src/scenario/load.ts';
import { runScenario, type RunResult } from '../src/scenario/run.ts';
import { formatRun } from '../src/report/dmesg.ts';
import { main, type CliIO } from '../src/cli/index.ts';

/** Run the CLI in-process: exit code, stdout and stderr (lines joined with \n). */
export async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false, exitCode: 0 };
  const code = await main(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

export function cfg(over: Partial<MachineConfig> = {}): MachineConfig {
  return {
    cpus: 2, preempt: 'full', kasan: true, lockdep: true, debugPreempt: true, stepNs: 10, preemptRate: 0.05,
    maxSteps: 2_000_000, maxTimeNs: Infinity, softLockupNs: 20e9, hungTaskNs: 120e9, historySteps: 16,
    release: '7.0.0-rc1-hazsim', ...over,
  };
}

/** A machine running the given kthread bodies (kernel code written against the Port API). */
export function machine(over: Partial<MachineConfig>, seed: number, bodies: { name: string; cpu?: number; pinned?: boolean; fn: (io: Port) => KGen }[]): Machine {
  const c = cfg(over);
  const m = new Machine(c, v5, new RandomStrategy(seed, c.preemptRate));
  for (const b of bodies) m.spawn(b.name, b.fn, { cpu: b.cpu, pinned: b.pinned });
  return m;
}

export function run(yaml: string, seed: number, maxSteps?: number): RunResult {
  return runScenario(parseScenario(yaml, 'test.yaml'), { seed, maxSteps });
}

export function text(r: RunResult): string {
  return formatRun(r, { color: false, quiet: false, replayCommand: 'hazsim run test.yaml' }).join('\n');
}
