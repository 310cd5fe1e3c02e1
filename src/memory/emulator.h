/* SPDX-License-Identifier: MIT */
/*
 * Machine code of the target, run offline: an x86-64 emulator (Unicorn)
 * over the target's memory, for the one kind of call pycorecheck makes,
 * a traversal fn(obj, visit, arg) whose visit records its first argument.
 *
 * The emulator sees the target's segments read-only, mapped on first access
 * (no copy), plus a region of its own: a driver that calls every function of
 * a batch in turn, the visit stub, the stack, the referents it records.
 * Nothing the emulated code does reaches the target or pycorecheck's memory:
 * a write to the target, a system call, an unmapped access, an unsupported
 * instruction or too many instructions end that one call, which is then
 * reported as failed with the reason.  Without libunicorn every call fails
 * with PCC_EMU_UNAVAILABLE.
 */
#ifndef PCC_EMULATOR_H
#define PCC_EMULATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "memory.h"

#define PCC_EMU_STATUSES(X)                                                   \
	X(OK, "ok")                                                           \
	X(UNAVAILABLE, "built without the CPU emulator (libunicorn)")         \
	X(READ_FAULT, "reads memory the core does not hold")                  \
	X(FETCH_FAULT, "jumps to memory the core does not hold")              \
	X(WRITE, "writes to memory (a traversal never does)")                 \
	X(SYSCALL, "makes a system call")                                     \
	X(INSTRUCTION, "runs an instruction the emulator does not support")   \
	X(BUDGET, "runs longer than any traversal should (a loop?)")          \
	X(TOTAL_BUDGET, "was not run: the emulation's time budget was spent") \
	X(OVERFLOW, "visits more referents than the emulator records")        \
	X(RETURNED_ERROR, "returned an error")                                \
	X(CORRUPT, "overwrote the emulator's own bookkeeping")                \
	X(MAP_LIMIT, "needs more memory regions than the emulator can map")   \
	X(ENGINE, "failed inside the emulator")

enum pcc_emu_status {
#define X(id, text) PCC_EMU_##id,
	PCC_EMU_STATUSES(X)
#undef X
	PCC_EMU_STATUS_COUNT
};

const char *pcc_emu_status_text(enum pcc_emu_status s);

/* One traversal to run: fn(obj, visit, NULL). */
struct pcc_emu_call {
	uint64_t fn, obj;
	/* Out: the referents visited, refs[first .. first + count), in the
	 * order visited (also when the call failed part-way). */
	uint32_t first, count;
	enum pcc_emu_status status;
	uint64_t fault_addr; /* READ_FAULT, FETCH_FAULT, WRITE */
};

struct pcc_emulator;

/* Whether this build has the emulator. */
bool pcc_emulator_built(void);
/* The engine and its version ("Unicorn 2.0"), or "none". */
const char *pcc_emulator_engine(void);

/* An emulator over t's memory, or NULL with *why set (malloc'd) when there
 * is none (not built in, no room for its own region, engine error). */
struct pcc_emulator *pcc_emulator_new(struct pcc_target *t, char **why);
void pcc_emulator_destroy(struct pcc_emulator *e);

/*
 * Run every call.  Referents are appended to *refs (grown with realloc);
 * each call's first/count index into it.  Bounded: each call by its own
 * instruction budget, all of them together by total_budget basic blocks.
 */
void pcc_emulator_run(struct pcc_emulator *e, struct pcc_emu_call *calls,
		      size_t n, uint64_t **refs, size_t *nrefs, size_t *refs_cap);

struct pcc_emu_stats {
	uint64_t calls, failed, blocks, regions_mapped, bytes_copied;
	double seconds;
};
const struct pcc_emu_stats *pcc_emulator_stats(const struct pcc_emulator *e);

#endif
