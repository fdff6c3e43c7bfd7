// SPDX-License-Identifier: GPL-2.0-or-later
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    pool: 'forks',
    // vitest's default is one worker fewer than the CPUs: on the 2-core CI machine, one worker,
    // every file in turn. Two keep both cores busy (a hunt's worker threads share them).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Each worker process imports src/ once and runs its files one after another: a fresh
    // process per file imported it again and warmed the simulator's step loop up again, about
    // a third of the suite's CPU time. No test needs a fresh module state: src/'s module-level
    // tables (kernel/sites.ts' sites, the lazily built hazptr versions) only grow, and a
    // schedule digest hashes what a site is, not its number (sites.ts); the tests that set
    // process.env or SIGINT handlers put them back.
    isolate: false,
  },
});
