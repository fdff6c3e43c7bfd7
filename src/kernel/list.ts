// SPDX-License-Identifier: GPL-2.0-only
/**
 * include/linux/list.h, the hlist part the hazptr code uses, one access a step.
 * A statement-by-statement port of GPL-2.0 (only) kernel code, so this file is
 * GPL-2.0-only (README, Licence).
 * hlist_del poisons with LIST_POISON1/2 as on x86_64.
 */
import { LIST_POISON1, LIST_POISON2 } from './addr.ts';
import { ORD_ONCE, ORD_PLAIN, type KGen, type Port } from './port.ts';
import { kfunc, site } from './sites.ts';

export const HLIST_NODE_NEXT = 0;
export const HLIST_NODE_PPREV = 8;
export const HLIST_NODE_SIZE = 16;
export const HLIST_HEAD_FIRST = 0;

const LIST_H = 'include/linux/list.h';
const F_add = kfunc('hlist_add_head', LIST_H, true);
const F_del = kfunc('hlist_del', LIST_H, true);
const F___del = kfunc('__hlist_del', LIST_H, true);

const S_add_first = site(F_add, 0, 'struct hlist_node *first = h->first;', 'load h->first');
const S_add_next = site(F_add, 0, 'WRITE_ONCE(n->next, first);', 'store n->next');
const S_add_fpprev = site(F_add, 0, 'WRITE_ONCE(first->pprev, &n->next);', 'store first->pprev');
const S_add_hfirst = site(F_add, 0, 'WRITE_ONCE(h->first, n);', 'store h->first');
const S_add_pprev = site(F_add, 0, 'WRITE_ONCE(n->pprev, &h->first);', 'store n->pprev');
const S_del_next = site(F___del, 0, 'struct hlist_node *next = n->next;', 'load n->next');
const S_del_pprev = site(F___del, 0, 'struct hlist_node **pprev = n->pprev;', 'load n->pprev');
const S_del_store_pprev = site(F___del, 0, 'WRITE_ONCE(*pprev, next);', 'store *pprev');
const S_del_next_pprev = site(F___del, 0, 'WRITE_ONCE(next->pprev, pprev);', 'store next->pprev');
const S_del_p1 = site(F_del, 0, 'n->next = LIST_POISON1;', 'store n->next = LIST_POISON1');
const S_del_p2 = site(F_del, 0, 'n->pprev = LIST_POISON2;', 'store n->pprev = LIST_POISON2');

export function* hlist_add_head(io: Port, n: number, h: number, line: number): KGen {
  io.enter(F_add, line);
  const first = yield io.load(h + HLIST_HEAD_FIRST, ORD_PLAIN, S_add_first);
  yield io.store(n + HLIST_NODE_NEXT, first, ORD_ONCE, S_add_next);
  if (first) yield io.store(first + HLIST_NODE_PPREV, n + HLIST_NODE_NEXT, ORD_ONCE, S_add_fpprev);
  yield io.store(h + HLIST_HEAD_FIRST, n, ORD_ONCE, S_add_hfirst);
  yield io.store(n + HLIST_NODE_PPREV, h + HLIST_HEAD_FIRST, ORD_ONCE, S_add_pprev);
  io.leave();
}

export function* hlist_del(io: Port, n: number, line: number): KGen {
  io.enter(F_del, line);
  io.enter(F___del, 0);
  const next = yield io.load(n + HLIST_NODE_NEXT, ORD_PLAIN, S_del_next);
  const pprev = yield io.load(n + HLIST_NODE_PPREV, ORD_PLAIN, S_del_pprev);
  yield io.store(pprev, next, ORD_ONCE, S_del_store_pprev);
  if (next) yield io.store(next + HLIST_NODE_PPREV, pprev, ORD_ONCE, S_del_next_pprev);
  io.leave();
  yield io.store(n + HLIST_NODE_NEXT, LIST_POISON1, ORD_PLAIN, S_del_p1);
  yield io.store(n + HLIST_NODE_PPREV, LIST_POISON2, ORD_PLAIN, S_del_p2);
  io.leave();
}
