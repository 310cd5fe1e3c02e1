/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emulator.h"

static const char *const status_texts[] = {
#define X(id, text) text,
	PCC_EMU_STATUSES(X)
#undef X
};

const char *pcc_emu_status_text(enum pcc_emu_status s)
{
	return s < PCC_EMU_STATUS_COUNT ? status_texts[s] : "?";
}

#ifndef HAVE_UNICORN

bool pcc_emulator_built(void)
{
	return false;
}

const char *pcc_emulator_engine(void)
{
	return "none";
}

struct pcc_emulator *pcc_emulator_new(struct pcc_target *t, char **why)
{
	(void)t;
	*why = pcc_xstrdup(pcc_emu_status_text(PCC_EMU_UNAVAILABLE));
	return NULL;
}

void pcc_emulator_destroy(struct pcc_emulator *e)
{
	(void)e;
}

void pcc_emulator_run(struct pcc_emulator *e, struct pcc_emu_call *calls,
		      size_t n, uint64_t **refs, size_t *nrefs, size_t *refs_cap)
{
	(void)e, (void)refs, (void)nrefs, (void)refs_cap;
	for (size_t i = 0; i < n; i++) {
		calls[i].status = PCC_EMU_UNAVAILABLE;
		calls[i].first = calls[i].count = 0;
	}
}

const struct pcc_emu_stats *pcc_emulator_stats(const struct pcc_emulator *e)
{
	(void)e;
	return NULL;
}

#else /* HAVE_UNICORN */

#include <sys/mman.h>
#include <unicorn/unicorn.h>

/*
 * The emulator's own region, at an address no target mapping uses:
 *   code   driver and visit stub, read and execute only
 *   ctl    the driver's state (struct ctl)
 *   jobs   the batch: struct job[MAX_BATCH]
 *   tls    what %fs points to when the core gives no thread pointer
 *   stack  reset before every call
 *   out    the referents visited, in order
 * All but the code is one host mapping, mapped into the engine as is, so
 * the results are read in place.
 */
enum {
	PAGE = 4096,
	MAX_BATCH = 4096,
	CODE_OFF = 0,
	CTL_OFF = 0x1000,
	JOBS_OFF = 0x2000,
	TLS_OFF = 0x100000,
	TLS_SIZE = 0x10000,
	STACK_OFF = 0x200000,
	STACK_SIZE = 0x200000,
	OUT_OFF = 0x400000,
	OUT_SIZE = 0x800000,
	/* The visit stub's port: a page of the engine's I/O, after the rest. */
	PORT_OFF = OUT_OFF + OUT_SIZE,
	REGION_SIZE = PORT_OFF + PAGE,
	/* Offsets in the code page (see driver_ram and driver_port). */
	DRIVER_LOOP = 0x0a,
	DRIVER_DONE_RAM = 0x4b,
	DRIVER_DONE_PORT = 0x43,
	VISIT_OFF = 0x50,
	/* Unicorn keeps its regions in one array searched on every new page
	 * it translates; it is slow well before its hard limit. */
	MAX_REGIONS = 4000,
	/* Basic blocks one traversal may run.  A traversal visits each
	 * referent in a few blocks; this is millions of referents. */
	CALL_BLOCKS = 1 << 24,
	/* All calls together, on top of BLOCKS_PER_CALL each. */
	BASE_BLOCKS = 1 << 26,
	BLOCKS_PER_CALL = 1 << 10,
	/* Target memory copied in pieces of this size (see map_on_demand). */
	COPY_CHUNK = 2 << 20,
};

/* Target memory the emulator may copy in all. */
#define COPY_LIMIT (UINT64_C(4) << 30)

/* job.out_start of a job the driver has not started. */
#define NOT_STARTED UINT64_MAX

struct ctl {
	uint64_t cur, end, unused, out_pos, out_end, stack_top;
};

struct job {
	uint64_t obj, fn, out_start, result;
};

/* Where the code writes to the port (port_write): the value's meaning. */
enum {
	PORT_APPEND = 0,    /* a referent, from the visit stub */
	PORT_JOB_START = 8, /* the job at ctl->cur begins */
	PORT_JOB_END = 16,  /* ... returned this; the next one is current */
};
#define PORT_DISP(at) (PORT_OFF - CTL_OFF + (at))
#define LE32(v) (v) & 0xff, ((v) >> 8) & 0xff, ((v) >> 16) & 0xff, ((v) >> 24) & 0xff

/*
 * The driver: for each job from ctl->cur to ctl->end, call
 * job->fn(job->obj, visit, NULL) on a fresh stack, then store its result.
 * It reloads its state from memory after each call (only its own code may
 * be trusted to keep callee-saved registers), and ctl->cur always names
 * the job that is running: after a fault the host restarts the next one.
 * The visit stub appends its first argument to the out buffer and returns
 * 0, or 1 once the buffer is full (the traversal then stops).
 * 0x1122334455667788 is patched to the ctl address, 0x8877665544332211 to
 * the visit stub's.
 */
static const uint8_t driver_ram[] = {
	/* 00 driver: movabs r15, CTL */
	0x49, 0xbf, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
	/* 0a loop:   mov rbx, [r15]; cmp rbx, [r15+8]; jae done */
	0x49, 0x8b, 0x1f, 0x49, 0x3b, 0x5f, 0x08, 0x73, 0x38,
	/* 13 mov rax, [r15+24]; mov [rbx+16], rax; mov rsp, [r15+40] */
	0x49, 0x8b, 0x47, 0x18, 0x48, 0x89, 0x43, 0x10, 0x49, 0x8b, 0x67, 0x28,
	/* 1f mov rdi, [rbx]; movabs rsi, VISIT; xor edx, edx; call [rbx+8] */
	0x48, 0x8b, 0x3b, 0x48, 0xbe, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x31, 0xd2, 0xff, 0x53, 0x08,
	/* 31 movabs r15, CTL; mov rbx, [r15]; mov [rbx+24], rax */
	0x49, 0xbf, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x49, 0x8b,
	0x1f, 0x48, 0x89, 0x43, 0x18,
	/* 42 add rbx, 32; mov [r15], rbx; jmp loop */
	0x48, 0x83, 0xc3, 0x20, 0x49, 0x89, 0x1f, 0xeb, 0xbf,
	/* 4b done: hlt; nop */
	0xf4, 0x0f, 0x1f, 0x40, 0x00,
	/* 50 visit: movabs rcx, CTL; mov rax, [rcx+24]; cmp rax, [rcx+32] */
	0x48, 0xb9, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x48, 0x8b,
	0x41, 0x18, 0x48, 0x3b, 0x41, 0x20,
	/* 62 jae full; mov [rax], rdi; add rax, 8; mov [rcx+24], rax */
	0x73, 0x0e, 0x48, 0x89, 0x38, 0x48, 0x83, 0xc0, 0x08, 0x48, 0x89, 0x41,
	0x18,
	/* 6f xor eax, eax; ret;  72 full: mov eax, 1; ret */
	0x31, 0xc0, 0xc3, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3,
};

/*
 * The same for Unicorn 2.0, which takes a slow path with mallocs on every
 * store to its memory (to find translated code to invalidate; 2.1 fixed
 * it): the driver and the stub store nothing in memory.  They write to the
 * port, that a job starts, what it returned, and each referent, and
 * port_write keeps the books as the other driver does.  On 2.1 a store to
 * the port costs more than one to memory.
 */
static const uint8_t driver_port[] = {
	/* 00 driver: movabs r15, CTL */
	0x49, 0xbf, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
	/* 0a loop:   mov rbx, [r15]; cmp rbx, [r15+8]; jae done */
	0x49, 0x8b, 0x1f, 0x49, 0x3b, 0x5f, 0x08, 0x73, 0x30,
	/* 13 mov [r15+PORT_JOB_START], rbx; mov rsp, [r15+40] */
	0x49, 0x89, 0x9f, LE32(PORT_DISP(PORT_JOB_START)), 0x49, 0x8b, 0x67, 0x28,
	/* 1e mov rdi, [rbx]; movabs rsi, VISIT; xor edx, edx; call [rbx+8] */
	0x48, 0x8b, 0x3b, 0x48, 0xbe, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x31, 0xd2, 0xff, 0x53, 0x08,
	/* 30 movabs r15, CTL; mov [r15+PORT_JOB_END], rax; jmp loop */
	0x49, 0xbf, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
	0x49, 0x89, 0x87, LE32(PORT_DISP(PORT_JOB_END)), 0xeb, 0xc7,
	/* 43 done: hlt; then nops up to the visit stub */
	0xf4, 0x0f, 0x1f, 0x40, 0x00, 0x0f, 0x1f, 0x40, 0x00, 0x0f, 0x1f, 0x40,
	0x00,
	/* 50 visit: movabs rcx, CTL; mov rax, [rcx+24]; cmp rax, [rcx+32] */
	0x48, 0xb9, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x48, 0x8b,
	0x41, 0x18, 0x48, 0x3b, 0x41, 0x20,
	/* 62 jae full; mov [rcx+PORT_APPEND], rdi */
	0x73, 0x0a, 0x48, 0x89, 0xb9, LE32(PORT_DISP(PORT_APPEND)),
	/* 6b xor eax, eax; ret;  6e full: mov eax, 1; ret */
	0x31, 0xc0, 0xc3, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3,
};

struct pcc_emulator {
	struct pcc_target *t;
	uc_engine *uc;
	uint64_t base;     /* of the region, in the emulated address space */
	uint8_t *code;     /* host pages */
	uint8_t *data;     /* host pages of [base + CTL_OFF, base + REGION_SIZE) */
	uint64_t fs_base;
	uint64_t regions;
	bool port;         /* driver_port, else driver_ram */
	uint64_t port_low; /* see port_write */
	/* Why the current run stopped, when a hook stopped it. */
	enum pcc_emu_status stop;
	uint64_t fault_addr;
	uint64_t call_blocks, total_blocks, total_limit;
	enum pcc_emu_status st[MAX_BATCH]; /* of the batch's jobs */
	struct pcc_mmap_vec copies; /* see map_copy */
	struct pcc_emu_stats stats;
};

bool pcc_emulator_built(void)
{
	return true;
}

static struct ctl *ctl_of(struct pcc_emulator *e)
{
	return (struct ctl *)(e->data + (CTL_OFF - CTL_OFF));
}

static struct job *jobs_of(struct pcc_emulator *e)
{
	return (struct job *)(e->data + (JOBS_OFF - CTL_OFF));
}

/*
 * The port: the driver's and the visit stub's only stores.  Unicorn 2.0
 * takes a slow path with mallocs on every store to its memory (to find
 * translated code to invalidate); a store to I/O memory only calls this.
 * The engine splits an 8-byte store to I/O into two of 4, the low half
 * first.  Code that writes the port itself (it is not ours to write) can
 * only make its own job's results wrong, which collect_batch checks.
 */
static void port_write(uc_engine *uc, uint64_t off, unsigned size,
		       uint64_t value, void *arg)
{
	(void)uc;
	struct pcc_emulator *e = arg;
	struct ctl *c = ctl_of(e);
	if (size == 4 && off % 8 == 0) {
		e->port_low = (uint32_t)value;
		return;
	}
	if (size == 4 && off % 8 == 4)
		value = e->port_low | value << 32;
	else if (size != 8)
		return;
	uint64_t jobs = e->base + JOBS_OFF, i = (c->cur - jobs) / sizeof(struct job);
	struct job *job = c->cur >= jobs && i < MAX_BATCH ? &jobs_of(e)[i] : NULL;
	switch (off & ~(uint64_t)7) {
	case PORT_APPEND:
		if (c->out_pos >= e->base + OUT_OFF && c->out_pos < c->out_end) {
			memcpy(e->data + (c->out_pos - e->base - CTL_OFF), &value, 8);
			c->out_pos += 8;
		}
		break;
	case PORT_JOB_START:
		if (job)
			job->out_start = c->out_pos;
		break;
	case PORT_JOB_END:
		if (job) {
			job->result = value;
			c->cur += sizeof(struct job);
		}
		break;
	}
}

static uint64_t port_read(uc_engine *uc, uint64_t off, unsigned size, void *arg)
{
	(void)uc, (void)off, (void)size, (void)arg;
	return 0;
}

/* driver_port on Unicorn before 2.1; PCC_EMU_PORT=0 or 1 says which
 * (bench/emulation.sh compares them). */
static bool uses_port(void)
{
	const char *force = getenv("PCC_EMU_PORT");
	if (force && (*force == '0' || *force == '1'))
		return *force == '1';
	unsigned major, minor;
	uc_version(&major, &minor);
	return major < 2 || (major == 2 && minor < 1);
}

const char *pcc_emulator_engine(void)
{
	static char name[64];
	unsigned major, minor;
	uc_version(&major, &minor);
	snprintf(name, sizeof(name), "Unicorn %u.%u, %s driver", major, minor,
		 uses_port() ? "port" : "memory");
	return name;
}

static void patch(uint8_t *code, size_t len, uint64_t from, uint64_t to)
{
	for (size_t i = 0; i + 8 <= len; i++) {
		uint64_t v;
		memcpy(&v, code + i, 8);
		if (v == from)
			memcpy(code + i, &to, 8);
	}
}

static bool overlaps_target(struct pcc_target *t, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < t->segments.len; i++)
		if (t->segments.data[i].start < hi && t->segments.data[i].end > lo)
			return true;
	for (size_t i = 0; i < t->files.list.len; i++)
		if (t->files.list.data[i].start < hi && t->files.list.data[i].end > lo)
			return true;
	return false;
}

/* The region goes where nothing of the target is: user space on x86-64 is
 * below 2^47, and mappings cluster near 0x55.. (PIE), 0x7f.. (libraries,
 * stacks) and below 4 GiB. */
static uint64_t choose_base(struct pcc_target *t)
{
	for (uint64_t base = 1ull << 44; base < (1ull << 47) - REGION_SIZE;
	     base += 1ull << 40)
		if (!overlaps_target(t, base, base + REGION_SIZE))
			return base;
	return 0;
}

/* Copy the target's bytes of [lo, hi) (whole pages) into memory of the
 * emulator's own, mapped there: for target memory whose host bytes are not
 * page-aligned (gdb writes cores with segments at any file offset). */
static bool map_copy(struct pcc_emulator *e, uint64_t lo, uint64_t hi)
{
	if (e->stats.bytes_copied + (hi - lo) > COPY_LIMIT) {
		e->stop = PCC_EMU_MAP_LIMIT;
		return false;
	}
	uint8_t *buf = mmap(NULL, hi - lo, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return false;
	for (uint64_t a = lo; a < hi;) {
		const struct pcc_segment *s = pcc_target_find_segment(e->t, a);
		if (!s) {
			a = (a | (PAGE - 1)) + 1;
			continue;
		}
		uint64_t end = s->end < hi ? s->end : hi;
		memcpy(buf + (a - lo), s->data + (a - s->start), end - a);
		a = end;
	}
	if (uc_mem_map_ptr(e->uc, lo, hi - lo, UC_PROT_READ | UC_PROT_EXEC, buf)
	    != UC_ERR_OK) {
		munmap(buf, hi - lo);
		return false;
	}
	struct pcc_mmap *m = pcc_mmap_vec_push(&e->copies);
	m->addr = buf;
	m->len = hi - lo;
	e->stats.bytes_copied += hi - lo;
	return true;
}

/* Map the target memory at addr on first access: the page-aligned part of
 * its segment in place, read-only, or else the COPY_CHUNK around addr as a
 * copy (few, large regions: each new one costs the engine time linear in
 * the regions it has). */
static bool map_on_demand(uc_engine *uc, uc_mem_type type, uint64_t addr,
			  int size, int64_t value, void *arg)
{
	struct pcc_emulator *e = arg;
	(void)uc, (void)size, (void)value, (void)type;
	e->fault_addr = addr;
	if (addr - e->base < REGION_SIZE)
		return false;
	const struct pcc_segment *s = pcc_target_find_segment(e->t, addr);
	if (!s)
		return false;
	if (e->regions >= MAX_REGIONS) {
		e->stop = PCC_EMU_MAP_LIMIT;
		return false;
	}
	uint64_t page_mask = ~(uint64_t)(PAGE - 1);
	uint64_t lo = (s->start + PAGE - 1) & page_mask;
	uint64_t hi = s->end & page_mask;
	const uint8_t *host = s->data + (lo - s->start);
	bool ok;
	if (addr >= lo && addr < hi && !((uintptr_t)host & (PAGE - 1))) {
		ok = uc_mem_map_ptr(e->uc, lo, hi - lo, UC_PROT_READ | UC_PROT_EXEC,
				    (void *)host) == UC_ERR_OK;
	} else {
		uint64_t chunk_mask = ~(uint64_t)(COPY_CHUNK - 1);
		uint64_t clo = addr & chunk_mask, chi = clo + COPY_CHUNK;
		uint64_t slo = s->start & page_mask;
		uint64_t shi = (s->end + PAGE - 1) & page_mask;
		ok = map_copy(e, clo > slo ? clo : slo, chi < shi ? chi : shi)
		     || map_copy(e, addr & page_mask, (addr & page_mask) + PAGE);
	}
	if (!ok)
		return false;
	e->regions++;
	e->stats.regions_mapped++;
	return true;
}

static void count_block(uc_engine *uc, uint64_t addr, uint32_t size, void *arg)
{
	struct pcc_emulator *e = arg;
	(void)size;
	if (addr == e->base + CODE_OFF + DRIVER_LOOP) {
		e->call_blocks = 0;
		return;
	}
	e->total_blocks++;
	if (++e->call_blocks > CALL_BLOCKS) {
		e->stop = PCC_EMU_BUDGET;
		uc_emu_stop(uc);
	} else if (e->total_blocks > e->total_limit) {
		e->stop = PCC_EMU_TOTAL_BUDGET;
		uc_emu_stop(uc);
	}
}

static void on_syscall(uc_engine *uc, void *arg)
{
	struct pcc_emulator *e = arg;
	e->stop = PCC_EMU_SYSCALL;
	uc_emu_stop(uc);
}

static void on_interrupt(uc_engine *uc, uint32_t intno, void *arg)
{
	struct pcc_emulator *e = arg;
	e->stop = intno == 0x80 ? PCC_EMU_SYSCALL : PCC_EMU_INSTRUCTION;
	uc_emu_stop(uc);
}

struct pcc_emulator *pcc_emulator_new(struct pcc_target *t, char **why)
{
	struct pcc_emulator *e = pcc_xcalloc(1, sizeof(*e));
	e->t = t;
	uc_err err;
	uc_hook h;
	e->base = choose_base(t);
	if (!e->base) {
		*why = pcc_xstrdup("the target's address space has no room for "
				   "the emulator's own memory");
		goto fail;
	}
	e->code = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	e->data = mmap(NULL, PORT_OFF - CTL_OFF, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (e->code == MAP_FAILED || e->data == MAP_FAILED) {
		e->code = e->code == MAP_FAILED ? NULL : e->code;
		e->data = e->data == MAP_FAILED ? NULL : e->data;
		*why = pcc_xstrdup("no memory for the emulator");
		goto fail;
	}
	e->port = uses_port();
	const uint8_t *driver = e->port ? driver_port : driver_ram;
	size_t len = e->port ? sizeof(driver_port) : sizeof(driver_ram);
	memcpy(e->code, driver, len);
	patch(e->code, len, 0x1122334455667788ull, e->base + CTL_OFF);
	patch(e->code, len, 0x8877665544332211ull, e->base + CODE_OFF + VISIT_OFF);
	if ((err = uc_open(UC_ARCH_X86, UC_MODE_64, &e->uc)) != UC_ERR_OK
	    || (err = uc_mem_map_ptr(e->uc, e->base + CODE_OFF, PAGE,
				     UC_PROT_READ | UC_PROT_EXEC, e->code)) != UC_ERR_OK
	    || (err = uc_mem_map_ptr(e->uc, e->base + CTL_OFF, PORT_OFF - CTL_OFF,
				     UC_PROT_READ | UC_PROT_WRITE, e->data)) != UC_ERR_OK
	    || (err = uc_mmio_map(e->uc, e->base + PORT_OFF, PAGE, port_read, e,
				  port_write, e)) != UC_ERR_OK
	    || (err = uc_hook_add(e->uc, &h, UC_HOOK_MEM_UNMAPPED, map_on_demand,
				  e, 1, 0)) != UC_ERR_OK
	    || (err = uc_hook_add(e->uc, &h, UC_HOOK_BLOCK, count_block, e, 1,
				  0)) != UC_ERR_OK
	    || (err = uc_hook_add(e->uc, &h, UC_HOOK_INSN, on_syscall, e, 1, 0,
				  UC_X86_INS_SYSCALL)) != UC_ERR_OK
	    || (err = uc_hook_add(e->uc, &h, UC_HOOK_INSN, on_syscall, e, 1, 0,
				  UC_X86_INS_SYSENTER)) != UC_ERR_OK
	    || (err = uc_hook_add(e->uc, &h, UC_HOOK_INTR, on_interrupt, e, 1,
				  0)) != UC_ERR_OK) {
		*why = pcc_xasprintf("the CPU emulator cannot start: %s",
				     uc_strerror(err));
		goto fail;
	}
	e->regions = 2;
	/* The thread pointer: the first thread's, where the stack protector's
	 * canary and thread-local variables really are; else a page of zeros
	 * with room on both sides (TLS lies below %fs, the TCB above). */
	uint64_t probe;
	e->fs_base = t->fs_base && pcc_target_read_u64(t, t->fs_base + 0x28, &probe)
			     ? t->fs_base
			     : e->base + TLS_OFF + TLS_SIZE / 2;
	e->total_limit = BASE_BLOCKS;
	return e;
fail:
	pcc_emulator_destroy(e);
	return NULL;
}

void pcc_emulator_destroy(struct pcc_emulator *e)
{
	if (!e)
		return;
	if (e->uc)
		uc_close(e->uc);
	if (e->code)
		munmap(e->code, PAGE);
	if (e->data)
		munmap(e->data, PORT_OFF - CTL_OFF);
	for (size_t i = 0; i < e->copies.len; i++)
		munmap(e->copies.data[i].addr, e->copies.data[i].len);
	pcc_mmap_vec_free(&e->copies);
	free(e);
}

static enum pcc_emu_status status_of(uc_err err)
{
	switch (err) {
	case UC_ERR_OK:
		return PCC_EMU_OK;
	case UC_ERR_READ_UNMAPPED:
	case UC_ERR_READ_PROT:
		return PCC_EMU_READ_FAULT;
	case UC_ERR_FETCH_UNMAPPED:
	case UC_ERR_FETCH_PROT:
		return PCC_EMU_FETCH_FAULT;
	case UC_ERR_WRITE_UNMAPPED:
	case UC_ERR_WRITE_PROT:
		return PCC_EMU_WRITE;
	case UC_ERR_INSN_INVALID:
	case UC_ERR_EXCEPTION:
		return PCC_EMU_INSTRUCTION;
	default:
		return PCC_EMU_ENGINE;
	}
}

/* Run the driver from job `from` until it is done or a job fails; returns
 * the index of the job it stopped in (k when done), with *status. */
static size_t run_driver(struct pcc_emulator *e, size_t from, size_t k,
			 enum pcc_emu_status *status)
{
	struct ctl *c = ctl_of(e);
	uint64_t jobs = e->base + JOBS_OFF;
	c->cur = jobs + from * sizeof(struct job);
	c->end = jobs + k * sizeof(struct job);
	c->out_end = e->base + OUT_OFF + OUT_SIZE;
	c->stack_top = e->base + STACK_OFF + STACK_SIZE - 64;
	e->stop = PCC_EMU_OK;
	e->call_blocks = 0;
	uint64_t zero = 0;
	uc_reg_write(e->uc, UC_X86_REG_FS_BASE, &e->fs_base);
	uc_reg_write(e->uc, UC_X86_REG_GS_BASE, &zero);
	uc_err err = uc_emu_start(e->uc, e->base + CODE_OFF,
				  e->base + CODE_OFF
					  + (e->port ? DRIVER_DONE_PORT : DRIVER_DONE_RAM),
				  0, 0);
	*status = e->stop != PCC_EMU_OK ? e->stop : status_of(err);
	if (getenv("PCC_DEBUG_EMU") && *status != PCC_EMU_OK) {
		uint64_t rip;
		uint8_t insn[16] = { 0 };
		uc_reg_read(e->uc, UC_X86_REG_RIP, &rip);
		uc_mem_read(e->uc, rip, insn, sizeof(insn));
		fprintf(stderr, "pycorecheck: emulation stopped (%s, uc %s) at 0x%llx:",
			pcc_emu_status_text(*status), uc_strerror(err),
			(unsigned long long)rip);
		for (int i = 0; i < 16; i++)
			fprintf(stderr, " %02x", insn[i]);
		fputc('\n', stderr);
	}
	uint64_t cur = c->cur;
	if (cur < c->end && cur >= jobs + from * sizeof(struct job)
	    && (cur - jobs) % sizeof(struct job) == 0)
		return (cur - jobs) / sizeof(struct job);
	if (cur == jobs + k * sizeof(struct job) && *status == PCC_EMU_OK)
		return k;
	*status = PCC_EMU_CORRUPT;
	return from;
}

/* Check the batch's bookkeeping and hand its referents out.  Returns how
 * many calls are finished (the rest are run again in a new batch: the out
 * buffer filled up under them). */
static size_t collect_batch(struct pcc_emulator *e, struct pcc_emu_call *calls,
			    size_t k, uint64_t **refs, size_t *nrefs, size_t *cap)
{
	struct job *jobs = jobs_of(e);
	uint64_t out_end = e->base + OUT_OFF + OUT_SIZE;
	uint64_t prev = e->base + OUT_OFF;
	for (size_t i = 0; i < k; i++) {
		struct pcc_emu_call *call = &calls[i];
		call->first = (uint32_t)*nrefs;
		call->count = 0;
		call->status = e->st[i];
		uint64_t lo = jobs[i].out_start;
		if (lo == NOT_STARTED) {
			if (call->status == PCC_EMU_OK)
				call->status = PCC_EMU_CORRUPT;
			continue;
		}
		size_t next = i + 1;
		while (next < k && jobs[next].out_start == NOT_STARTED)
			next++;
		uint64_t hi = next < k ? jobs[next].out_start : ctl_of(e)->out_pos;
		if (lo != prev || hi < lo || hi > out_end || (hi - lo) % 8) {
			/* The emulated code wrote where it should not: none
			 * of what follows can be believed. */
			for (size_t j = i; j < k; j++) {
				calls[j].status = PCC_EMU_CORRUPT;
				calls[j].first = (uint32_t)*nrefs;
				calls[j].count = 0;
			}
			return k;
		}
		prev = hi;
		if (hi == out_end && jobs[i].result) {
			if (i > 0)
				return i;
			call->status = PCC_EMU_OVERFLOW;
		} else if (call->status == PCC_EMU_OK && jobs[i].result) {
			call->status = PCC_EMU_RETURNED_ERROR;
		}
		size_t n = (hi - lo) / 8;
		if (*nrefs + n > *cap) {
			size_t want = *cap ? *cap : 1024;
			while (want < *nrefs + n)
				want *= 2;
			*refs = pcc_xreallocarray(*refs, want, sizeof(**refs));
			*cap = want;
		}
		if (n)
			memcpy(*refs + *nrefs, e->data + (lo - e->base - CTL_OFF), n * 8);
		call->count = (uint32_t)n;
		*nrefs += n;
	}
	return k;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void pcc_emulator_run(struct pcc_emulator *e, struct pcc_emu_call *calls,
		      size_t n, uint64_t **refs, size_t *nrefs, size_t *refs_cap)
{
	double t0 = now();
	e->total_limit += (uint64_t)n * BLOCKS_PER_CALL;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < MAX_BATCH ? n - done : MAX_BATCH;
		struct job *jobs = jobs_of(e);
		for (size_t i = 0; i < k; i++) {
			jobs[i] = (struct job){ calls[done + i].obj,
						calls[done + i].fn, NOT_STARTED, 0 };
			e->st[i] = e->total_blocks > e->total_limit
					   ? PCC_EMU_TOTAL_BUDGET
					   : PCC_EMU_OK;
			calls[done + i].fault_addr = 0;
		}
		ctl_of(e)->out_pos = e->base + OUT_OFF;
		for (size_t next = 0; next < k && e->st[next] == PCC_EMU_OK;) {
			enum pcc_emu_status s;
			size_t at = run_driver(e, next, k, &s);
			if (at == k)
				break;
			if (s == PCC_EMU_CORRUPT || s == PCC_EMU_TOTAL_BUDGET) {
				/* Nothing from here on can be run, or
				 * believed. */
				for (size_t i = at; i < k; i++)
					e->st[i] = s;
				break;
			}
			e->st[at] = s == PCC_EMU_OK ? PCC_EMU_CORRUPT : s;
			calls[done + at].fault_addr = e->fault_addr;
			next = at + 1;
		}
		size_t finished = collect_batch(e, calls + done, k, refs, nrefs,
						refs_cap);
		for (size_t i = 0; i < finished; i++)
			if (calls[done + i].status != PCC_EMU_OK)
				e->stats.failed++;
		e->stats.calls += finished;
		done += finished;
	}
	e->stats.blocks = e->total_blocks;
	e->stats.seconds += now() - t0;
	if (getenv("PCC_DEBUG_EMU"))
		fprintf(stderr, "pycorecheck: emulated %zu calls: %llu regions mapped, "
			"%llu bytes copied, %llu blocks\n", n,
			(unsigned long long)e->stats.regions_mapped,
			(unsigned long long)e->stats.bytes_copied,
			(unsigned long long)e->total_blocks);
}

const struct pcc_emu_stats *pcc_emulator_stats(const struct pcc_emulator *e)
{
	return e ? &e->stats : NULL;
}

#endif /* HAVE_UNICORN */
