/* SPDX-License-Identifier: MIT */
/*
 * Loop detection for linked structures read from the target (interpreter
 * lists, deque blocks, OrderedDict nodes): Brent's algorithm, in constant
 * memory.  A chain that comes back to a node it has already passed is
 * reported within a few times the length of its tail plus loop, so a walk
 * that uses it costs at most a small multiple of the nodes that exist.
 */
#ifndef PCC_CHAIN_H
#define PCC_CHAIN_H

#include <stdbool.h>
#include <stdint.h>

struct pcc_chain_check {
	uint64_t saved; /* the node the others are compared with */
	uint64_t power, steps;
};

static inline void pcc_chain_check_init(struct pcc_chain_check *c,
					uint64_t first)
{
	c->saved = first;
	c->power = 1;
	c->steps = 0;
}

/* Call with each node after the first: true once the chain has looped. */
static inline bool pcc_chain_check_loops(struct pcc_chain_check *c,
					 uint64_t node)
{
	if (node == c->saved)
		return true;
	if (++c->steps == c->power) {
		c->saved = node;
		c->power *= 2;
		c->steps = 0;
	}
	return false;
}

#endif
