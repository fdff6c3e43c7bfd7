// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * createCLI(): the whole command line, parseable in-process (tests use it).
 * Errors are mapped to exit codes here, once: bad input is one line on stderr
 * and exit 2; a bug found is exit 1; nothing found is exit 0.
 */
import { Command, CommanderError } from 'commander';
import { EXIT_INPUT, EXIT_INTERNAL, InputError } from './errors.ts';
import { bisectCommand } from './bisect.ts';
import { hazsimCommand } from './options.ts';
import { huntCommand, mergeCommand } from './hunt.ts';
import { replayCommand } from './replay.ts';
import { runCommand } from './run.ts';
import { versionsCommand } from './versions.ts';
import { mutantsCommand } from './mutants.ts';
import { litmusCommand } from './litmus.ts';
import { exploreCommand } from './explore.ts';
import { fromCwd } from './root.ts';

export interface CliIO {
  out: (s: string) => void;
  err: (s: string) => void;
  /** stdout is a terminal (colour) */
  isTTY: boolean;
  /** when stderr is a terminal: rewrite its status line in place ('' clears it) */
  status?: (line: string) => void;
  exitCode: number;
}

export function createCLI(io: CliIO): Command {
  const output = {
    writeOut: (s: string) => io.out(s.replace(/\n$/, '')),
    writeErr: (s: string) => io.err(s.replace(/\n$/, '')),
    // A usage error is one line, like every other bad input: "hazsim: unknown option '--sed' (Did you mean --seed?)".
    outputError: (s: string, write: (s: string) => void) => write(`hazsim: ${s.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')}`),
  };
  const program = new Command('hazsim')
    .description('hazsim: a deterministic SMP kernel model that runs the Linux hazptr code one memory access at a time')
    .version('0.1.0')
    .exitOverride()
    .configureOutput(output)
    .showHelpAfterError(false)
    .addHelpText('after', `\nExample:\n  $ ${hazsimCommand(['run', fromCwd('scenarios/same-task-release.yaml'), '--seed', 42])}\n`);
  const cmds = [runCommand(io), huntCommand(io), bisectCommand(io), replayCommand(io), mergeCommand(io), exploreCommand(io), versionsCommand(io), mutantsCommand(io), litmusCommand(io)];
  for (const c of cmds) program.addCommand(c.exitOverride().configureOutput(output));
  return program;
}

/** Parse and run; returns the exit code. Never calls process.exit. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const program = createCLI(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return io.exitCode;
  } catch (e) {
    if (e instanceof InputError) {
      io.err(`hazsim: ${e.message}`);
      return EXIT_INPUT;
    }
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      // 'commander.help': no command given, help printed on stderr: a usage error
      return EXIT_INPUT; // commander already printed its one-line message
    }
    // Anything else is a hazsim bug, not a kernel bug and not bad input.
    io.err(`hazsim: internal error (a bug in hazsim itself, please report it): ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return EXIT_INTERNAL;
  }
}
