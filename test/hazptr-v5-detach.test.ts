// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * hazptr v5-detach: fidelity of its sites to ../shared/reference/v5-detach/
 * (hazptr.h for the inline functions this version ports, hazptr.c for the
 * functions it shares with v5), its ctx layouts, and the `detach` op and
 * CONFIG_HAZPTR_DEBUG WARN on workload scenarios.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { versionOf, versions } from '../src/hazptr/index.ts';
import { S as V5_S } from '../src/hazptr/v5/hazptr.ts';
import { detachSites } from '../src/hazptr/v5-detach/hazptr.ts';
import { sites } from '../src/kernel/sites.ts';
import { cli, run, text } from './helpers.ts';

const REF = join(__dirname, '..', '..', 'shared', 'reference', 'v5-detach');
const refLines = (f: string) => readFileSync(join(REF, f), 'utf8').split('\n');
const norm = (s: string) => s.replace(/\s+/g, ' ').trim();

describe('v5-detach fidelity to the reference', () => {
  const h = refLines('hazptr.h');
  const c = refLines('hazptr.c');

  it('every hazptr.h site names its function, and its line holds its C statement', () => {
    const { F, S } = detachSites();
    const fnLines = new Map<string, number>();
    h.forEach((l, i) => {
      const m = /^(?:void|bool|void \*)\s*\*?(\w+)\(/.exec(l);
      if (m) fnLines.set(m[1], i + 1);
    });
    const entries = Object.entries(S);
    expect(entries.length).toBeGreaterThan(20);
    for (const [key, id] of entries) {
      const s = sites[id];
      expect(s.fn.file, key).toBe('include/linux/hazptr.h');
      expect(Object.values(F)).toContain(s.fn);
      expect(norm(h[s.line - 1]), `${key}: hazptr.h:${s.line}`).toBe(norm(s.stmt));
      // the line is inside the function the site names: after its definition, before the next one
      const start = fnLines.get(s.fn.name)!;
      expect(start, s.fn.name).toBeDefined();
      const next = Math.min(...[...fnLines.values()].filter((l) => l > start), h.length);
      expect(s.line > start && s.line < next, `${key}: line ${s.line} in ${s.fn.name} (${start}..${next})`).toBe(true);
    }
  });

  it('the hazptr.c sites it shares with v5 are the reference hazptr.c lines', () => {
    for (const [key, id] of Object.entries(V5_S)) {
      const s = sites[id];
      if (s.fn.file !== 'kernel/hazptr.c') continue;
      expect(norm(c[s.line - 1]), `${key}: hazptr.c:${s.line}`).toContain(norm(s.stmt).replace(/ \/\*.*\*\/$/, ''));
    }
  });

  it('struct hazptr_ctx: 0x38 bytes, 0x50 with the CONFIG_HAZPTR_DEBUG fields', () => {
    expect(versionOf('v5-detach').ctxSize).toBe(0x38);
    expect(versionOf('v5-detach', true).ctxSize).toBe(0x50);
    expect(versions.v5.debug).toBeUndefined();
    expect(versions.v5.hazptr_detach).toBeUndefined();
  });
});

const scenario = (hazptr: string, detach: boolean) => `
name: handoff
machine: { cpus: 2, preempt: full, kasan: true }
hazptr: ${hazptr}
limits: { steps: 400000 }
objects: [gp]
tasks:
  - name: acquirer
    contexts: { c0: static }
    repeat: 40
    program:
      - acquire: c0
      - deref: c0
${detach ? '      - detach: c0\n' : ''}      - handoff: { ctx: c0, to: releaser }
  - name: releaser
    repeat: 40
    program:
      - receive: held
      - deref: held
      - release: held
  - name: writer
    repeat: 40
    program:
      - update: gp
      - sleep_us: 1
`;

describe('v5-detach workloads', () => {
  it('cross-task handoff with detach: clean over 100 seeds, with and without debug', () => {
    for (const hz of ['v5-detach', '{ version: v5-detach, debug: true }']) {
      for (let seed = 1; seed <= 100; seed++) {
        const r = run(scenario(hz, true), seed);
        expect(r.bug ?? null, `${hz} seed ${seed}: ${r.bug?.headline}`).toBeNull();
        expect(r.outcome, `${hz} seed ${seed}`).toBe('done');
      }
    }
  });

  it('without detach, debug: the WARN_ONCE of hazptr_release_debug(), in the reference format', () => {
    const fmt = refLines('hazptr.h')[225].match(/"(.*)"/)![1];
    // the reference's format, its conversions as this model prints them
    const re = new RegExp('^' + fmt.replace(/[.()]/g, '\\$&').replace('%pS', '(\\w+)').replace('%p', '([0-9a-f]{16})').replace(/%s/g, '(.+?)').replace(/%d/g, '(\\d+)') + '$');
    let seen = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const r = run(scenario('{ version: v5-detach, debug: true }', false), seed);
      if (r.bug?.kind !== 'hazptr-debug-remote-release') continue;
      seen++;
      const out = text(r);
      // __warn_printk(): the cut-here line and the message; then __warn(): the WARNING line naming the
      // function the inline WARN sits in
      expect(r.bug.lead?.[0]).toBe('------------[ cut here ]------------');
      expect(r.bug.headline).toMatch(/^WARNING: include\/linux\/hazptr\.h:225 at hazsim_kthread, CPU#\d+: \w+\/\d+$/);
      const m = re.exec(r.bug.lead![1]);
      expect(m, r.bug.lead![1]).not.toBeNull();
      expect(out.indexOf(r.bug.lead![1])).toBeLessThan(out.indexOf(r.bug.headline));
      expect(m![2]).toBe('task');
      expect(m![3]).toBe('being detached from task');
      expect(m![4]).toBe('hazsim_kthread');
      expect(Number(m![7])).toBe(r.bug.pid);
      expect(out).toContain('Call Trace:');
      expect(out).toContain(' hazptr_release include/linux/hazptr.h:245 [inline]');
      expect(r.bug.signature).toBe('hazptr-debug-remote-release | hazptr_release_debug < hazptr_release < hazsim_kthread < kthread');
    }
    expect(seen).toBeGreaterThan(5);
  });
});

describe('v5-detach with the hazptrtorture module (its pre-detach form)', () => {
  it('debug: struct hazptr_pending grows with the ctx, and the WARN names the remote release first', () => {
    const r = run(`
name: torture
machine: { cpus: 4, preempt: full, kasan: false, step_ns: 100 }
hazptr: { version: v5-detach, debug: true }
limits: { steps: 20000000 }
hazptrtorture: { module: pre-detach, torture_type: hazptr, defer_modulus: 5, irq_acquire: 20, irq_release: 20, stat_interval: 1, shutdown_secs: 2 }
`, 1);
    expect(r.bug?.kind).toBe('hazptr-debug-remote-release');
    expect(r.bug?.lead?.[1]).toMatch(/^Hazard Pointer \(addr=[0-9a-f]{16}\) released on remote task without being detached from task\. Acquire: caller=hazptr_torture_read_lock, pid=\d+, cpu=\d\. Release: pid=\d+, cpu=\d\.$/);
  });
});

describe('v5-detach selection errors (exit 2)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hazsim-v5-detach-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, body: string) => {
    const f = join(dir, name);
    writeFileSync(f, body);
    return f;
  };

  it('v5 with debug: one line naming the version', async () => {
    const f = file('v5-debug.yaml', scenario('{ version: v5, debug: true }', false));
    const r = await cli(['run', f, '--seed', '1']);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.err).toContain(`${f}:4:`);
    expect(r.err).toContain("hazptr.debug: hazptr version 'v5' has no CONFIG_HAZPTR_DEBUG (debug: is for v5-detach, wildcard-flip)");
  });

  it('detach with v5: one line naming the version', async () => {
    const f = file('v5-detach-op.yaml', scenario('v5', true));
    const r = await cli(['run', f, '--seed', '1']);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.err).toContain("tasks[0].program[2].detach: hazptr version 'v5' has no hazptr_detach() (detach: is for v5-detach, wildcard-flip)");
  });

  it('an unknown version in the mapping form names the version key', async () => {
    const f = file('unknown.yaml', scenario('{ version: v9 }', false));
    const r = await cli(['run', f, '--seed', '1']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("hazptr.version: unknown hazptr version 'v9' (known: v5, v5-detach, wildcard-flip)");
  });
});
