// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Reading the files a command is given and writing the ones it makes, with the
 * errors as one line (an InputError: exit 2). An output path is checked before
 * any work (checkWritable), so a long run does not end in a file it cannot write.
 */
import { accessSync, constants, readFileSync, readSync, statSync, openSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from './errors.ts';

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    default:
      return code ?? 'error';
  }
}

/** The text of an input file; `what` names it in the error ("scenario", "schedule"). */
export function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`${file}: cannot read ${what} (${errnoText(e)})`);
  }
}

/**
 * The lines of an input file, one at a time, read in pieces of 1 MiB: a file
 * larger than a string can hold (a replay file of millions of decisions) reads
 * in memory proportional to its longest line. Without the line ends.
 */
export function* readLines(file: string, what: string): Generator<string> {
  let fd = -1;
  const fail = (e: unknown): never => {
    throw new InputError(`${file}: cannot read ${what} (${errnoText(e)})`);
  };
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    fail(e);
  }
  try {
    const buf = Buffer.alloc(1 << 20);
    const decoder = new TextDecoder('utf-8');
    let rest = '';
    for (;;) {
      let got = 0;
      try {
        got = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        fail(e);
      }
      const text = rest + decoder.decode(buf.subarray(0, got), { stream: got > 0 });
      const lines = text.split('\n');
      rest = lines.pop()!;
      for (const l of lines) yield l;
      if (got === 0) break;
    }
    if (rest) yield rest;
  } finally {
    closeSync(fd);
  }
}

/** Throw the one-line error `write` would end in, before any work: a directory, a missing or read-only directory. */
export function checkWritable(flag: string, file: string): void {
  const fail = (why: string): never => {
    throw new InputError(`${flag}: cannot write ${file} (${why})`);
  };
  const stat = (p: string) => {
    try {
      return statSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return fail(errnoText(e));
    }
  };
  const st = stat(file);
  const target = st ? file : dirname(file);
  if (st?.isDirectory()) fail('is a directory');
  if (!st) {
    const d = stat(target);
    if (!d) fail(`no such directory: ${target}`);
    if (!d!.isDirectory()) fail(`${target} is not a directory`);
  }
  try {
    accessSync(target, constants.W_OK);
  } catch {
    fail(st ? 'permission denied' : `permission denied in ${target}`);
  }
}

export function writeText(flag: string, file: string, text: string): void {
  writeChunks(flag, file, [text]);
}

/** Write `chunks` one after another (a text too long for one string: a replay file of millions of decisions). */
export function writeChunks(flag: string, file: string, chunks: Iterable<string>): void {
  let fd = -1;
  try {
    fd = openSync(file, 'w');
    for (const c of chunks) writeSync(fd, c);
  } catch (e) {
    throw new InputError(`${flag}: cannot write ${file} (${errnoText(e)})`);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
