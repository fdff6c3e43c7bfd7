// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Errors the CLI maps to exit codes, once, at the top (src/cli/index.ts).
 * An InputError is bad input (a scenario file, a flag): one line, exit 2.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export const EXIT_OK = 0;
export const EXIT_BUG = 1;
export const EXIT_INPUT = 2;
/** a bug in hazsim itself */
export const EXIT_INTERNAL = 3;
/** stopped by Ctrl-C (128 + SIGINT), as a shell reports it */
export const EXIT_INTERRUPTED = 130;
