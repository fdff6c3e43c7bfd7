// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The scenario format (docs/scenarios.md), as a zod schema, and its qualified
 * form: every default filled in, every name resolved, ready for the machine.
 */
import { MEMORY_MODELS } from '../kernel/tso.ts';
import { z } from 'zod';
import { TORTURE_MODULES } from '../torture/params.ts';

const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.\-/]*$/, 'a name of letters, digits, _ . - /');
const posInt = z.number().int().positive();
/** the largest limits.steps (and --steps) */
export const STEPS_MAX = 1e12;
const nonNegInt = z.number().int().nonnegative();

const noArgOps = ['schedule', 'cond_resched', 'preempt_disable', 'preempt_enable', 'irq_disable', 'irq_enable'] as const;

export type Op =
  | { acquire: string | { ctx: string; from?: string } }
  | { release: string }
  | { detach: string }
  | { deref: string }
  | { handoff: { ctx: string; to: string } }
  | { receive: string }
  | { update: string }
  | { sleep_us: number }
  | { udelay_us: number }
  | { spin: number }
  | { lock: string }
  | { unlock: string }
  | { spin_lock: string }
  | { spin_unlock: string }
  | { loop: { times: number; do: Op[] } }
  | (typeof noArgOps)[number]
  | Record<(typeof noArgOps)[number], null>;

export const opSchema: z.ZodType<Op> = z.lazy(() =>
  z.union([
    z.enum(noArgOps),
    z.strictObject({ acquire: z.union([name, z.strictObject({ ctx: name, from: name.optional() })]) }),
    z.strictObject({ release: name }),
    z.strictObject({ detach: name }),
    z.strictObject({ deref: name }),
    z.strictObject({ handoff: z.strictObject({ ctx: name, to: name }) }),
    z.strictObject({ receive: name }),
    z.strictObject({ update: name }),
    z.strictObject({ sleep_us: z.number().nonnegative() }),
    z.strictObject({ udelay_us: z.number().nonnegative() }),
    z.strictObject({ spin: z.number().int().min(1).max(1_000_000) }),
    z.strictObject({ lock: name }),
    z.strictObject({ unlock: name }),
    z.strictObject({ spin_lock: name }),
    z.strictObject({ spin_unlock: name }),
    z.strictObject({ loop: z.strictObject({ times: z.number().int().min(1).max(1_000_000), do: z.array(opSchema).min(1) }) }),
    ...noArgOps.map((k) => z.strictObject({ [k]: z.null() })),
  ] as unknown as [z.ZodTypeAny, ...z.ZodTypeAny[]]),
) as z.ZodType<Op>;

const contexts = z.record(name, z.enum(['stack', 'static'])).default({});

export const taskSchema = z.strictObject({
  name,
  cpu: nonNegInt.optional(),
  pinned: z.boolean().default(false),
  nice: z.number().int().min(-20).max(19).default(0),
  contexts,
  repeat: posInt.max(10_000_000).default(1),
  program: z.array(opSchema).min(1),
});

export const irqSchema = z.strictObject({
  name,
  cpu: nonNegInt,
  every_us: z.number().positive(),
  contexts,
  program: z.array(opSchema).min(1),
});

const intParam = z.number().int();
/** hazptrtorture's module parameters, by their names; defaults are the module's (src/torture/params.ts). */
export const tortureParamsSchema = z.strictObject({
  torture_type: z.enum(['hazptr', 'hazptr-stack']).optional(),
  nreaders: intParam.min(-64).max(256).optional(),
  nwriters: z.union([z.literal(0), z.literal(1), z.boolean().transform((b) => (b ? 1 : 0))]).optional(),
  defer_modulus: intParam.optional(),
  irq_acquire: intParam.optional(),
  irq_release: intParam.optional(),
  kthread_do_pending_ms: intParam.optional(),
  onoff_holdoff: intParam.optional(),
  onoff_interval: intParam.optional(),
  preempt_duration: intParam.optional(),
  preempt_interval: intParam.optional(),
  reader_sleep_us: intParam.optional(),
  shuffle_interval: intParam.optional(),
  shutdown_secs: intParam.optional(),
  stat_interval: intParam.optional(),
  stutter: intParam.optional(),
  verbose: intParam.optional(),
});
/**
 * `hazptrtorture:`: the module parameters, and `module:`, which form of the module runs
 * (not a parameter: --bootarg does not take it). Loaded, `module` is present only for the
 * detach form (src/torture/params.ts withModule()).
 */
export const tortureSchema = tortureParamsSchema.extend({
  module: z.enum(TORTURE_MODULES).optional(),
});
export type TortureInput = z.output<typeof tortureSchema>;

export const scenarioSchema = z.strictObject({
  name: z.string().min(1),
  machine: z
    .strictObject({
      cpus: z.number().int().min(1).max(64).default(2),
      preempt: z.enum(['full', 'none']).default('full'),
      kasan: z.boolean().default(true),
      lockdep: z.boolean().default(true),
      debug_preempt: z.boolean().default(true),
      step_ns: z.number().positive().max(1e6).default(10),
      preempt_rate: z.number().min(0).max(1).default(0.02),
      /** tso: x86-TSO store buffers (what an x86_64 kernel runs on); sc: sequentially consistent */
      memory_model: z.enum(MEMORY_MODELS).default('tso'),
      /** tso: the probability that a CPU's store buffer drains its oldest store before a step; default: one of 1/2 .. 1/64 per seed */
      drain_rate: z.number().gt(0).max(1).optional(),
    })
    .default({ cpus: 2, preempt: 'full', kasan: true, lockdep: true, debug_preempt: true, step_ns: 10, preempt_rate: 0.02, memory_model: 'tso' }),
  /** a version name, or { version, debug } (debug: CONFIG_HAZPTR_DEBUG) */
  hazptr: z.union([z.string(), z.strictObject({ version: z.string(), debug: z.boolean().default(false) })]).default('v5'),
  limits: z
    .strictObject({
      steps: posInt.max(STEPS_MAX).default(1_000_000),
      time_ms: z.number().positive().optional(),
      soft_lockup_ms: z.number().positive().default(20_000),
      hung_task_ms: z.number().positive().default(120_000),
      history: nonNegInt.max(10_000).default(24),
    })
    .default({ steps: 1_000_000, soft_lockup_ms: 20_000, hung_task_ms: 120_000, history: 24 }),
  objects: z.array(name).default([]),
  tasks: z.array(taskSchema).min(1).optional(),
  /** the hazptrtorture workload instead of tasks: its keys are the module's parameters */
  hazptrtorture: tortureSchema.optional(),
  irqs: z.array(irqSchema).max(30).default([]),
});

/**
 * The qualified scenario: `tasks` is [] for a hazptrtorture scenario; `hazptr` is the
 * version's name, and `hazptr_debug` is present (true) only with `debug: true`, so
 * that a scenario without it keeps its digest.
 */
export type Scenario = Omit<z.output<typeof scenarioSchema>, 'tasks' | 'hazptr'> & {
  tasks: z.output<typeof taskSchema>[];
  hazptr: string;
  hazptr_debug?: true;
  /** a mutant of that version (`--mutant NAME`, src/hazptr/mutant.ts); never in a scenario file */
  hazptr_mutant?: string;
};
export const NO_ARG_OPS: readonly string[] = noArgOps;
