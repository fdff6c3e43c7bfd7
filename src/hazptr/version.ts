// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What a hazptr version gives the machine and the workloads. v5 (the patch as
 * posted) implements it; fixed versions and mutants sit beside it and are
 * chosen by `hazptr:` in the scenario.
 */
import type { Machine } from '../kernel/machine.ts';
import type { KGen, Port } from '../kernel/port.ts';
import type { Mutant } from './mutant.ts';

export interface HazptrVersion {
  readonly name: string;
  /** sizeof(struct hazptr_ctx) on x86_64 */
  readonly ctxSize: number;
  /** Define per-CPU variables and statics (before the per-CPU areas are laid out). */
  setup(m: Machine): void;
  /** hazptr_init(), run at boot before any task. */
  init(io: Port): KGen;
  hazptr_acquire(io: Port, ctx: number, addr_p: number, line: number): KGen<number>;
  hazptr_release(io: Port, ctx: number, addr: number, line: number): KGen;
  hazptr_synchronize(io: Port, addr: number, line: number): KGen;
  /** hazptr_detach(), in versions that have it (v5-detach). */
  hazptr_detach?(io: Port, ctx: number, line: number): KGen;
  /** The same version built with CONFIG_HAZPTR_DEBUG, in versions that have it. */
  readonly debug?: HazptrVersion;
  /** Called by __schedule() on the outgoing CPU. */
  note_context_switch(io: Port, line: number): KGen;
  /** One line for `hazsim versions`: what this version is. */
  readonly summary: string;
  /** The mutants `hazsim mutants` runs against this version (src/hazptr/mutant.ts); empty for none. */
  readonly mutants: readonly Mutant[];
  /** After every task has ended: slots still holding an address, lists still holding nodes. */
  quiescence(m: Machine): string[];
}
