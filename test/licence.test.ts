// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The licence: hazsim ports kernel/hazptr.c and include/linux/hazptr.h
 * (LGPL-2.1-or-later) and kernel/rcu/hazptrtorture.c (GPL-2.0+) statement by
 * statement, so it is GPL-2.0-or-later, and every tracked source says so on its
 * first line, as the kernel's own files do; the ports of include/linux/list.h
 * and llist.h (GPL-2.0 only) are GPL-2.0-only.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const SPDX = '// SPDX-License-Identifier: GPL-2.0-or-later';
/** Ports of kernel files that are GPL-2.0 only keep that licence (README, Licence). */
const ONLY: Record<string, string> = { 'src/kernel/list.ts': 'include/linux/list.h', 'src/kernel/llist.ts': 'include/linux/llist.h' };
const SPDX_ONLY = '// SPDX-License-Identifier: GPL-2.0-only';

describe('licence', () => {
  it('every tracked .ts file starts with its SPDX line (bin/hazsim: after the shebang)', () => {
    const files = execFileSync('git', ['ls-files', '*.ts'], { encoding: 'utf8' }).trim().split('\n');
    expect(files.length).toBeGreaterThan(50);
    const missing = files.filter((f) => readFileSync(f, 'utf8').split('\n')[0] !== (f in ONLY ? SPDX_ONLY : SPDX));
    expect(missing).toEqual([]);
    for (const [f, from] of Object.entries(ONLY)) expect(readFileSync(f, 'utf8')).toContain(from);
    expect(readFileSync('.ci/run', 'utf8').split('\n')[1]).toBe('# SPDX-License-Identifier: GPL-2.0-or-later');
    expect(readFileSync('bin/hazsim', 'utf8').split('\n').slice(0, 2)).toEqual(['#!/usr/bin/env node', SPDX]);
  });

  it('package.json says GPL-2.0-or-later AND GPL-2.0-only (the list.h and llist.h ports), and LICENSE holds the GPL version 2 text', () => {
    expect(JSON.parse(readFileSync('package.json', 'utf8')).license).toBe('(GPL-2.0-or-later AND GPL-2.0-only)');
    const text = readFileSync('LICENSE', 'utf8');
    expect(text).toContain('GNU GENERAL PUBLIC LICENSE');
    expect(text).toContain('Version 2, June 1991');
  });
});
