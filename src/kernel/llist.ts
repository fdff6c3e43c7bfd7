// SPDX-License-Identifier: GPL-2.0-only
/**
 * include/linux/llist.h, the two calls hazptrtorture makes: llist_add() (its
 * try_cmpxchg loop, one access a step) and llist_del_all(). A statement-by-
 * statement port of GPL-2.0 (only) kernel code, so this file is GPL-2.0-only
 * (README, Licence).
 */
import { ORD_ONCE, ORD_PLAIN, type KGen, type Port } from './port.ts';
import { kfunc, memoryDriven, site } from './sites.ts';

const LLIST_H = 'include/linux/llist.h';
export const F_llist_add = kfunc('llist_add', LLIST_H, true);
export const F_llist_del_all = kfunc('llist_del_all', LLIST_H, true);
// the llist_add cmpxchg retry ends only on the values it loads (loop-proof.ts)
memoryDriven(F_llist_add);

const S_first = site(F_llist_add, 0, 'first = READ_ONCE(head->first);', 'load head->first');
const S_next = site(F_llist_add, 0, 'new_last->next = first;', 'store new->next');
const S_cmpxchg = site(F_llist_add, 0, 'try_cmpxchg(&head->first, &first, new_first)', 'cmpxchg head->first');
const S_xchg = site(F_llist_del_all, 0, 'return xchg(&head->first, NULL);', 'xchg head->first = NULL');

/** llist_add(new, head): push one node. */
export function* llist_add(io: Port, node: number, head: number): KGen {
  io.enter(F_llist_add);
  for (;;) {
    const first = yield io.load(head, ORD_ONCE, S_first);
    yield io.store(node, first, ORD_PLAIN, S_next);
    if ((yield io.cmpxchg(head, first, node, S_cmpxchg)) === first) break;
  }
  io.leave();
}

/**
 * llist_del_all(head): take the whole list. Without a generator, for its one
 * caller, which polls (hazptrtorture's do_pending kthread): enters its frame
 * and returns the xchg to yield; the caller, resumed with the first node,
 * leaves the frame (io.leave()).
 */
export function llist_del_all_op(io: Port, head: number): Port {
  io.enter(F_llist_del_all);
  return io.xchg(head, 0, S_xchg);
}
