// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The scenario format (docs/scenarios.md), as a zod schema, and its qualified
 * form: every default filled in, every name resolved, ready for the machine.
 *
 * Every field and operation carries a description (`.describe()`, or `.meta()`
 * with `enumDescriptions` for a choice of names): what an editor shows on hover
 * through schema/scenario.schema.json, which src/scenario/json-schema.ts makes
 * from this file (`npm run schema`). Descriptions change no parse.
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

/** What each operation without an argument does (hover text of `- schedule` and of `- schedule:`). */
const NO_ARG_DOCS: Record<(typeof noArgOps)[number], string> = {
  schedule:
    'schedule(): a yield. __schedule() runs hazptr_note_context_switch(), which moves the hazard pointers in this CPU\'s slots to their contexts\' backup slots; the task stays runnable and may be picked again. "BUG: scheduling while atomic" with preemption disabled.',
  cond_resched:
    'cond_resched(): under preempt: none, a voluntary preemption point (it switches with machine.preempt_rate when a task waits on this CPU); under preempt: full, nothing. "sleeping function called from invalid context" in atomic context.',
  preempt_disable: 'preempt_disable(): preempt_count + 1 on this CPU. No step.',
  preempt_enable:
    'preempt_enable(): preempt_count - 1 on this CPU. No step. Below zero it is reported (machine.debug_preempt) and the run ends.',
  irq_disable: 'local_irq_disable(): interrupts off on this CPU. No step; does not nest.',
  irq_enable: 'local_irq_enable(): interrupts on again on this CPU (one irq_enable undoes any number of irq_disable). No step.',
};

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

/** `{ KEY: value }`, one operation; the description goes on the key's value (what an editor shows on hover over the key). */
const op = (key: string, value: z.ZodType, doc: string) => z.strictObject({ [key]: value.describe(doc) }).describe(doc);

const HELD = 'a declared context of this task or irq, or a name a receive: op bound earlier';

export const opSchema: z.ZodType<Op> = z.lazy(() =>
  z.union([
    z.enum(noArgOps).meta({
      description: `An operation without an argument, as a bare name: ${noArgOps.join(', ')}.`,
      enumDescriptions: noArgOps.map((k) => NO_ARG_DOCS[k]),
    }),
    op(
      'acquire',
      z.union([
        name.describe('The context (a declared context of this task or irq); the object is the first in objects:.'),
        z
          .strictObject({
            ctx: name.describe('The context: a declared context of this task or irq (not a received name).'),
            from: name.describe('The object to read (one of objects:; default: the first).').optional(),
          })
          .describe('acquire: { ctx: CTX, from: OBJ }: the context and the object.'),
      ]),
      'p = hazptr_acquire(ctx, &gp): publish a hazard pointer to the object and hold it. acquire: CTX reads the first object in objects:; acquire: { ctx: CTX, from: OBJ } names the object. CTX is a declared context of this task or irq. Blocks while the ctx is handed off and not yet released.',
    ),
    op('release', name, `hazptr_release(ctx, p) for the pointer held on this name (${HELD}). Nothing held: no step. Releasing a received name lets its owner acquire on the ctx again.`),
    op(
      'detach',
      name,
      `hazptr_detach(ctx) (v5-detach, wildcard-flip; not v5) for the pointer held on this name (${HELD}): moves it to the ctx's backup slot, chained on this CPU's overflow list, so that another task or CPU may release it. Nothing held: no step.`,
    ),
    op('deref', name, `READ_ONCE(p->data): one load of the first word of the object held on this name (${HELD}). The value is not checked: KASAN catches a freed object. Nothing held: no step.`),
    op(
      'handoff',
      z.strictObject({
        ctx: name.describe(`The name whose pointer and ctx are handed off (${HELD}).`),
        to: name.describe('The task that gets them: another task, whose program has a receive: op.'),
      }),
      "Pass the held pointer and its struct hazptr_ctx to another task, as a work queue would (hazsim's helper, not a kernel API): queued on that task's mailbox, which it takes with receive:. The hazard pointer stays published; the sender holds nothing on the ctx and cannot acquire on it until the receiver releases it.",
    ),
    op(
      'receive',
      name,
      'Take the oldest entry of this task\'s mailbox (a handoff: to it) and bind it to this new name for the rest of the program: release:, deref:, detach: and handoff: can then use it. Blocks (TASK_UNINTERRUPTIBLE) while the mailbox is empty. The name must not be a declared context.',
    ),
    op(
      'update',
      name,
      'Replace the named object (one of objects:) and free the old one: kmalloc a new one, publish it with smp_store_release(), hazptr_synchronize(old), kfree(old). Updaters are not serialised: two tasks that update one object both kfree the old one (a KASAN double-free); use lock:/unlock: around it or separate objects.',
    ),
    op('sleep_us', z.number().nonnegative(), 'usleep_range_state(): sleep this many microseconds (>= 0, may be fractional), TASK_UNINTERRUPTIBLE, after a might_sleep() check. No steps while asleep.'),
    op(
      'udelay_us',
      z.number().nonnegative(),
      '__udelay(): busy-wait this many microseconds (>= 0), keeping the CPU. Interrupts are taken if irqs are on; under preempt: full a task waiting on this CPU may preempt the delay. Allowed in atomic context.',
    ),
    op('spin', z.number().int().min(1).max(1_000_000), 'N steps of local work (cpu_relax()), 1..1,000,000: no shared memory, but each step is a point where the task can be preempted or interrupted, if allowed.'),
    op(
      'lock',
      name,
      'mutex_lock() on the named mutex (created on first use; names apart from spin_lock:\'s): might_sleep() check, then take it or wait in FIFO order (TASK_UNINTERRUPTIBLE). "possible recursive locking detected" if the task already owns it (machine.lockdep).',
    ),
    op('unlock', name, 'mutex_unlock() of the named mutex: it passes to the first waiter, or becomes free. "bad unlock balance detected" if the task does not own it.'),
    op(
      'spin_lock',
      name,
      "raw_spin_lock() on the named raw spinlock (created on first use; names apart from lock:'s): preempt_disable(), then cmpxchg, spinning while it is held. Interrupts stay on.",
    ),
    op('spin_unlock', name, 'raw_spin_unlock(): store-release 0, then preempt_enable(). "spinlock already unlocked" or "wrong owner" if misused.'),
    op(
      'loop',
      z.strictObject({
        times: z.number().int().min(1).max(1_000_000).describe('How many times the body runs, 1..1,000,000.'),
        do: z.array(opSchema).min(1).describe('The body: a list of operations (at least one). Loops nest.'),
      }),
      'loop: { times: N, do: [ ... ] }: run the body N times. No step of its own. A receive: inside binds its name for every later operation in program order.',
    ),
    ...noArgOps.map((k) => op(k, z.null(), NO_ARG_DOCS[k])),
  ] as unknown as [z.ZodTypeAny, ...z.ZodTypeAny[]]),
).meta({
  id: 'operation',
  description: 'One operation: a mapping with one key ({ acquire: c0 }, { sleep_us: 5 }), or, for an operation without an argument, its bare name (schedule).',
}) as z.ZodType<Op>;

const contexts = (doc: string) =>
  z
    .record(name, z.enum(['stack', 'static']).meta({ enumDescriptions: ['In a stack frame of the task, pushed at the start of every iteration and popped at its end (KASAN: a use after return is caught).', 'In .data, for the whole run.'] }))
    .default({})
    .describe(doc);

export const taskSchema = z
  .strictObject({
    name: name.describe("The task's comm (at most 15 characters are kept); unique among tasks. Letters, digits, _ . - /."),
    cpu: nonNegInt
      .describe("The CPU whose run queue the task starts on, 0..machine.cpus - 1 (default: the task's index in tasks: mod machine.cpus). A pinned task runs only there.")
      .optional(),
    pinned: z.boolean().default(false).describe('true: the task always runs on its cpu. Default false: the scheduler may place it on any CPU.'),
    nice: z
      .number()
      .int()
      .min(-20)
      .max(19)
      .default(0)
      .describe("The task's nice level, -20..19 (default 0): its CFS weight in pick_next_task() and in the preemption chance (nice 0 weighs 1024, nice 19 weighs 15)."),
    contexts: contexts(
      "The task's struct hazptr_ctx variables: NAME: stack (in a frame pushed at the start of each iteration and popped at its end) or NAME: static (in .data for the whole run). Default {}.",
    ),
    repeat: posInt
      .max(10_000_000)
      .default(1)
      .describe('How many times the program runs, 1..10,000,000 (default 1). Each iteration starts holding nothing: a pointer acquired and not released stays published.'),
    program: z.array(opSchema).min(1).describe('The operations the task runs, in order (at least one); then it exits.'),
  })
  .describe('A kthread (PIDs from 100, in this order) and the program it runs.');

export const irqSchema = z
  .strictObject({
    name: name.describe("The handler's name: unique among irqs (it may repeat a task name)."),
    cpu: nonNegInt.describe('The CPU the interrupt is raised on, 0..machine.cpus - 1.'),
    every_us: z
      .number()
      .positive()
      .describe('Period in microseconds (> 0): it first fires at every_us, then every every_us while a task is alive; delivered at the CPU\'s next step with interrupts on.'),
    contexts: contexts('Contexts for the handler: NAME: stack or NAME: static. Both are allocated statically (in .data). Default {}.'),
    program: z
      .array(opSchema)
      .min(1)
      .describe('The operations run on each delivered interrupt, in hardirq context (at least one). An operation that can sleep is reported as in atomic context.'),
  })
  .describe('A periodic interrupt handler on one CPU and the program it runs.');

const intParam = z.number().int();
/** hazptrtorture's module parameters, by their names; defaults are the module's (src/torture/params.ts). */
export const tortureParamsSchema = z.strictObject({
  torture_type: z
    .enum(['hazptr', 'hazptr-stack'])
    .meta({
      description: 'Where a reader keeps its struct hazptr_pending (default hazptr).',
      enumDescriptions: ['Each reader kmalloc()s its struct hazptr_pending (72 bytes, kmalloc-96).', "One struct hazptr_pending on the reader's own stack for its whole life; no deferral."],
    })
    .optional(),
  nreaders: intParam
    .min(-64)
    .max(256)
    .describe('Number of hazard-pointer reader threads, -64..256 (default -1). Negative N: num_online_cpus() × -N, at least 1 (-1: one per CPU); 0: none.')
    .optional(),
  nwriters: z
    .union([z.literal(0), z.literal(1), z.boolean().transform((b) => (b ? 1 : 0))])
    .describe('Number of hazard-pointer writer threads, 0 or 1 (a bool parameter: true and false are accepted too; default 1).')
    .optional(),
  defer_modulus: intParam
    .describe(
      'Defer once per specified # of hazptr ops, zero to disable: a reader hands its release to the hazptr_torture_do_pending kthread with probability 1/N (default -1: 1000 × cpus; 0 for hazptr-stack or when kthread_do_pending_ms is 0).',
    )
    .optional(),
  irq_acquire: intParam
    .describe('Acquire hazard pointers from irq handlers once per specified #, zero to disable: with probability 1/N a reader has its hazard pointer acquired by an IPI handler on another CPU (default -1: 1000 × cpus).')
    .optional(),
  irq_release: intParam
    .describe('Release hazard pointers from irq handlers once per specified #, zero to disable: with probability 1/N the release is done by an IPI handler on the next online CPU (default -1: 1000 × cpus).')
    .optional(),
  kthread_do_pending_ms: intParam
    .describe(
      'Delay between cleanups for deferred hazard pointers (ms), zero to disable: the hazptr_torture_do_pending kthread, which releases deferred hazard pointers (default -1: 3; 0 for hazptr-stack or when defer_modulus is 0).',
    )
    .optional(),
  onoff_holdoff: intParam.describe('Time after boot before CPU hotplugs (s) (default 0).').optional(),
  onoff_interval: intParam
    .describe('Time between CPU hotplugs (jiffies: 1 ms), 0=disable (default 0). Above 0, with more than one CPU, the torture_onoff kthread takes CPUs offline and back.')
    .optional(),
  preempt_duration: intParam
    .describe('Preemption duration (ms), zero to disable (default 0): every preempt_interval, the preempt kthread holds the next CPU busy this long as a SCHED_FIFO task.')
    .optional(),
  preempt_interval: intParam.describe('Interval between preemptions (ms) (default 1000).').optional(),
  reader_sleep_us: intParam.describe('Reader sleep duration (us) (default 0): in each read-side delay, a reader that can sleep sleeps this long.').optional(),
  shuffle_interval: intParam
    .describe('Number of seconds between shuffles (default 3): torture_shuffle leaves the next CPU in turn idle, none, then CPU 0 again.')
    .optional(),
  shutdown_secs: intParam
    .describe('Shutdown time (s), <= zero to disable (default 0): when the test stops and prints "End of test". Disabled, the run ends at limits.steps or limits.time_ms.')
    .optional(),
  stat_interval: intParam.describe('Number of seconds between stats printk()s (default 60); <= 0: no statistics kthread.').optional(),
  stutter: intParam
    .describe('Number of seconds to run/halt test (default 5): readers and writer run N s, then wait N s, and so on; 0 and 1: no stutter.')
    .optional(),
  verbose: intParam.describe('Enable verbose debugging printk()s (default 1): the "task started" lines.').optional(),
});
/**
 * `hazptrtorture:`: the module parameters, and `module:`, which form of the module runs
 * (not a parameter: --bootarg does not take it). Loaded, `module` is present only for the
 * detach form (src/torture/params.ts withModule()).
 */
export const tortureSchema = tortureParamsSchema.extend({
  module: z
    .enum(TORTURE_MODULES)
    .meta({
      description:
        'Which form of the module runs (not a module parameter: --bootarg does not take it). Default: detach for a hazptr version with hazptr_detach() (v5-detach, wildcard-flip), pre-detach for v5.',
      enumDescriptions: [
        'hazptrtorture.c as it stood when the reviewers\' crash was reported, before hazptr_detach() existed.',
        'hazptrtorture.c after "hazptrtorture: Fix hazptr ownership issue": hazptr_detach() where a hazard pointer is handed to another CPU or task (needs a version with hazptr_detach()).',
      ],
    })
    .optional(),
});
export type TortureInput = z.output<typeof tortureSchema>;

export const scenarioSchema = z.strictObject({
  name: z.string().min(1).describe('What the scenario is, in a few words (any non-empty text): printed in the first log line and in --json.'),
  machine: z
    .strictObject({
      cpus: z
        .number()
        .int()
        .min(1)
        .max(64)
        .default(2)
        .describe('Number of CPUs, 1..64 (default 2). Each has its own idle task, run queue, preempt_count and per-CPU hazptr slots; nr_cpu_ids for hazptrtorture.'),
      preempt: z
        .enum(['full', 'none'])
        .default('full')
        .meta({
          description: 'The preemption model (default full).',
          enumDescriptions: [
            'CONFIG_PREEMPT: any step with preempt_count 0 and interrupts on may be preempted by a task waiting on this CPU; cond_resched() does nothing.',
            'CONFIG_PREEMPT_NONE: a task leaves the CPU only where it calls into the scheduler (schedule, cond_resched, a sleep, a wait).',
          ],
        }),
      kasan: z
        .boolean()
        .default(true)
        .describe(
          'KASAN (default true): shadow checks on every access, freed objects quarantined, returned stack frames poisoned, double and invalid kfree reported. false: a use after free reads whatever is there, and SLUB reuses a freed object at once.',
        ),
      lockdep: z
        .boolean()
        .default(true)
        .describe('Lockdep (default true): lockdep_assert_preemption_enabled() in hazptr_synchronize(), and "possible recursive locking detected" for a mutex taken twice by its owner.'),
      debug_preempt: z
        .boolean()
        .default(true)
        .describe('CONFIG_DEBUG_PREEMPT (default true): "BUG: using smp_processor_id() in preemptible", and a report when preempt_enable() takes preempt_count below zero.'),
      step_ns: z
        .number()
        .positive()
        .max(1e6)
        .default(10)
        .describe('Simulated nanoseconds per machine step, > 0, at most 1e6 (default 10; the shipped hazptrtorture scenarios use 100).'),
      preempt_rate: z
        .number()
        .min(0)
        .max(1)
        .default(0.02)
        .describe(
          "The chance, 0..1, that a step where preemption is possible is preempted while a task waits on this CPU's run queue (under preempt: none: that cond_resched() switches), times min(1, waiting weight / running weight) (default 0.02).",
        ),
      /** tso: x86-TSO store buffers (what an x86_64 kernel runs on); sc: sequentially consistent */
      memory_model: z
        .enum(MEMORY_MODELS)
        .default('tso')
        .meta({
          description: 'The memory model (default tso). --memory-model on the command line overrides it.',
          enumDescriptions: [
            "x86-TSO, what an x86_64 kernel runs on: each CPU's stores go through a FIFO store buffer, drained when the scheduler decides and by smp_mb(), locked operations, interrupts and context switches.",
            'Sequentially consistent: every store is in memory at its step.',
          ],
        }),
      /** tso: the probability that a CPU's store buffer drains its oldest store before a step; default: one of 1/2 .. 1/64 per seed */
      drain_rate: z
        .number()
        .gt(0)
        .max(1)
        .describe("Under tso, the chance, above 0 up to 1, that a CPU's store buffer drains its oldest store before a step: a store stays buffered about 1 / drain_rate steps. Default: each seed draws one of 1/2 .. 1/64.")
        .optional(),
    })
    .default({ cpus: 2, preempt: 'full', kasan: true, lockdep: true, debug_preempt: true, step_ns: 10, preempt_rate: 0.02, memory_model: 'tso' })
    .describe('The simulated machine. Absent, every default applies; present, missing keys take their defaults.'),
  /** a version name, or { version, debug } (debug: CONFIG_HAZPTR_DEBUG) */
  hazptr: z
    .union([
      z.string().describe('The hazptr version (hazsim versions lists them).'),
      z
        .strictObject({
          version: z.string().describe('The hazptr version (hazsim versions lists them).'),
          debug: z
            .boolean()
            .default(false)
            .describe(
              'Build the version with CONFIG_HAZPTR_DEBUG (default false): a WARN_ONCE when a hazard pointer is released on another CPU without a context switch, or by another task without hazptr_detach(). Not for v5.',
            ),
        })
        .describe('A version, with or without CONFIG_HAZPTR_DEBUG.'),
    ])
    .default('v5')
    .describe('Which hazptr implementation runs: a version name (default v5), or { version: NAME, debug: true } for its CONFIG_HAZPTR_DEBUG build. --hazptr NAME[+debug] on the command line replaces it.'),
  limits: z
    .strictObject({
      steps: posInt
        .max(STEPS_MAX)
        .default(1_000_000)
        .describe(
          'Step budget, 1..1e12 (default 1000000). Used up: "no bug so far" (exit 0), or stalled-at-budget (exit 1) when a CPU passed no scheduling point in the budget\'s second half. --steps overrides it.',
        ),
      time_ms: z.number().positive().describe('Simulated time limit in milliseconds (> 0; default: none): the run ends, "no bug so far", at the first step past it.').optional(),
      soft_lockup_ms: z
        .number()
        .positive()
        .default(20_000)
        .describe('Soft-lockup watchdog threshold in simulated milliseconds (> 0, default 20000): a CPU that passes no scheduling point this long gets "watchdog: BUG: soft lockup".'),
      hung_task_ms: z
        .number()
        .positive()
        .default(120_000)
        .describe(
          'Hung-task threshold in simulated milliseconds (> 0, default 120000): a task blocked this long on a mutex, a receive or a handed-off ctx gets "INFO: task ... blocked for more than N seconds".',
        ),
      history: nonNegInt.max(10_000).default(24).describe('How many of the last steps are printed after a report, 0..10000 (default 24). 0 also means no story of the race.'),
    })
    .default({ steps: 1_000_000, soft_lockup_ms: 20_000, hung_task_ms: 120_000, history: 24 })
    .describe('Step and time limits, watchdog thresholds, how much history a report prints. Missing keys take their defaults.'),
  objects: z
    .array(name.describe('An object: a global pointer (8 bytes in .data) to a 64-byte kmalloc\'d object.'))
    .default([])
    .describe('Global pointers the tasks read with acquire: and replace with update:; each points at first to a 64-byte kmalloc\'d object. Unique names (default []). Only with tasks:.'),
  tasks: z
    .array(taskSchema)
    .min(1)
    .describe('Kthreads and their programs (at least one). Give tasks: or hazptrtorture:, not both.')
    .optional(),
  /** the hazptrtorture workload instead of tasks: its keys are the module's parameters */
  hazptrtorture: tortureSchema
    .describe(
      "Run the hazptrtorture module (kernel/rcu/hazptrtorture.c) instead of tasks: its keys are the module's parameters, with the module's defaults, and module:. {} runs it with every default. Not with tasks:, objects: or irqs:.",
    )
    .optional(),
  irqs: z
    .array(irqSchema)
    .max(30)
    .default([])
    .describe('Periodic interrupt handlers and their programs, at most 30 (default []). Only with tasks:.'),
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
