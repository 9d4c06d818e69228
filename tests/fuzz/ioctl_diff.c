/* SPDX-License-Identifier: MIT */
/*
 * ioctl_diff.c - differential fuzzer of the ioctl path: the same input runs
 * on the kernel engine and on the user engine, each on a fresh, identical
 * set-up, and everything a program can observe must agree.
 *
 * An input is a set-up (memory type, register mode, features, which pages
 * are populated, copied, write-protected) and a short program of requests:
 * UFFDIO_* with fuzzed argument structs, any other request number with raw
 * bytes, and uf_madvise(MADV_DONTNEED) for REMOVE events.  Compared per
 * engine:
 *  - each request's return value and every argument word it changed;
 *  - every message read (faults, events) and what resolving it returned;
 *  - every page of the arena afterwards: read (content hash, or SIGBUS /
 *    SIGSEGV with si_code), then written back, both while the context is
 *    open (faults served by a handler thread) and after its release.
 *
 * Safety: the fuzzer must not scribble over its own memory.  All addresses
 * in arguments come from a controlled set: pages of a private arena at a
 * fixed address (the registered region, an unregistered mapping, a
 * read-only one, holes), a few absolute values that can never be mapped
 * (NULL, below mmap_min_addr, beyond TASK_SIZE, kernel space) and raw fuzz
 * bytes folded into the arena.  A (start, len) pair that is a valid range
 * but reaches outside the arena is shortened, so neither engine can
 * register, move, drop or write anything else.  The argument pointer
 * itself may be NULL, unmapped, read-only, or straddle into a hole.
 *
 * Known, documented differences (docs/LIMITATIONS.md) are not findings:
 * feature bits one engine lacks (none on Linux 6.18: the set is taken at
 * run time) are masked out of UFFDIO_API results, and an input that asks
 * for one of them is not compared.  Any other difference prints both engines' logs and
 * aborts, which libFuzzer records as a crash.
 *
 * Build: make fuzz (clang, libFuzzer).  Run: tests/fuzz/run.sh SECONDS.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "userfault.h"
#include "input.h"

#define PG		4096UL
#define TASK_SIZE	0x7ffffffff000ULL
#define LOW_END		0x10000ULL	/* below: never mapped in this process */

/* The arena, in pages from its base.  The window [-2, 34) is where fuzzed
 * addresses land; the argument box lies outside it. */
#define W_FIRST		(-2)
#define W_LAST		34
#define R_FIRST		0		/* registered region, 16 pages */
#define R_PAGES		16
#define U_FIRST		18		/* unregistered private anonymous, 8 pages */
#define U_PAGES		8
#define RO_FIRST	28		/* read-only private anonymous, 2 pages */
#define RO_PAGES	2
#define ARG_RW		40		/* argument box: read-write page, hole, read-only page */
#define ARG_RO		42
#define SPAN_FIRST	(-8)
#define SPAN_LAST	48

static const uintptr_t arena_base[2] = { 0x300000000000ULL, 0x310000000000ULL };
enum { KERNEL, USER };

#define SENTINEL	0x5a5a5a5a5a5a5a5aULL

/* ------------------------------------------------------------------------ */
/* Reading the input                                                        */

static uint64_t get64(struct rd *r)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)get8(r) << (8 * i);
	return v;
}

/* ------------------------------------------------------------------------ */
/* What one engine showed                                                   */

enum tag {
	L_SETUP = 1,	/* a = step, b = result */
	L_RET,		/* a = op index, b = request, c = result */
	L_WORD,		/* a = op index, b = word offset, c = new value (normalised) */
	L_MSG,		/* a = event, b = flags or start, c = address or end */
	L_PTID,		/* a = 0 none, 1 the faulting prober */
	L_RESOLVE,	/* a = what, b = result */
	L_PAGE,		/* a = phase*1000 + page, b = read outcome, c = hash */
	L_WRITE,	/* a = phase*1000 + page, b = write outcome */
	L_SKIP,		/* a known difference was asked for: do not compare */
	L_STORM,	/* the server gave up on a fault storm */
	L_ARG,		/* a = op index, b = word offset (100: placement), c = value sent */
};

struct rec {
	int tag;
	long long a, b, c;
};

#define LOG_MAX 4096
struct log {
	struct rec r[LOG_MAX];
	atomic_size_t n;
};

static struct log main_log[2], srv_log[2];

static void logrec(struct log *l, int tag, long long a, long long b, long long c)
{
	size_t i = atomic_fetch_add(&l->n, 1);
	if (i < LOG_MAX)
		l->r[i] = (struct rec){ tag, a, b, c };
}

/* An address as the log shows it: arena-relative when inside the span. */
static long long rel(int e, uint64_t a)
{
	uint64_t lo = arena_base[e] + (int64_t)SPAN_FIRST * (int64_t)PG;
	uint64_t hi = arena_base[e] + SPAN_LAST * PG;
	if (a >= lo && a < hi)
		return (long long)(a - arena_base[e]);
	return (long long)a;	/* absolute */
}

/* ------------------------------------------------------------------------ */
/* Faults the prober takes on purpose                                       */

static __thread sigjmp_buf probe_jmp;
static __thread volatile int probe_armed;
static __thread volatile int probe_sig, probe_code;

static void on_fault_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (probe_armed) {
		probe_armed = 0;
		probe_sig = sig;
		probe_code = si->si_code;
		siglongjmp(probe_jmp, 1);
	}
	/* Not a probe: a crash of the fuzzer or of an engine. */
	static const char msg[] = "ioctl_diff: unexpected fault signal outside a probe\n";
	ssize_t w = write(2, msg, sizeof(msg) - 1);
	(void)w;
	abort();
}

/* ------------------------------------------------------------------------ */
/* The set-up                                                               */

enum mem { M_ANON, M_SHMEM, M_MEMFD, M_MEMFD_PRIVATE, M_COUNT };

struct setup {
	int mem;
	int raw;		/* no UFFDIO_API */
	__u64 mode, features;
	uint16_t prepop, cachepop, copy, wp;
	uint8_t seed;
};

struct run {
	int e;
	uintptr_t base;
	int fd, memfd, stopfd;
	char *alias;		/* memfd: a shared view of the file, outside the arena */
	struct setup su;
	pthread_t srv;
	int srv_on;
	pid_t prober_tid;
	atomic_int storm;
	int skip;
};

static __u64 common_features, kernel_features, user_features;

/* Feature bits the set-up may ask for, one per selector bit. */
static const __u64 feature_pick[16] = {
	UFFD_FEATURE_PAGEFAULT_FLAG_WP, UFFD_FEATURE_EVENT_REMOVE, UFFD_FEATURE_MISSING_SHMEM,
	UFFD_FEATURE_EVENT_UNMAP, UFFD_FEATURE_SIGBUS, UFFD_FEATURE_THREAD_ID,
	UFFD_FEATURE_MINOR_SHMEM, UFFD_FEATURE_EXACT_ADDRESS, UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
	UFFD_FEATURE_WP_UNPOPULATED, UFFD_FEATURE_POISON, UFFD_FEATURE_WP_ASYNC,
	UFFD_FEATURE_MOVE, UFFD_FEATURE_EVENT_FORK, UFFD_FEATURE_EVENT_REMAP, 0,
};

static __u64 pick_features(uint16_t sel)
{
	__u64 f = 0;
	for (int i = 0; i < 16; i++)
		if (sel & (1u << i))
			f |= feature_pick[i];
	return f;
}

/* Page-sized loops of the harness itself: not instrumented, or they
 * would take most of the time (coverage of the harness is not the goal). */
#define HARNESS_LOOP __attribute__((no_sanitize("coverage", "address", "undefined")))

HARNESS_LOOP static void fill_pattern(unsigned char *p, unsigned seed, long page)
{
	for (size_t i = 0; i < PG; i++)
		p[i] = (unsigned char)(seed * 131 + page * 29 + i * 7 + (i >> 8));
}

static char *pg_addr(const struct run *r, long page)
{
	return (char *)(r->base + page * (long)PG);
}

static void *map_fixed(const struct run *r, long page, size_t npages, int prot, int flags, int fd)
{
	void *want = pg_addr(r, page);
	void *p = mmap(want, npages * PG, prot, flags | MAP_FIXED_NOREPLACE, fd, 0);
	if (p != want) {
		fprintf(stderr, "ioctl_diff: arena page %ld not free at %p\n", page, want);
		abort();
	}
	return p;
}

/* Fresh memory, identical for both engines. */
static void build_arena(struct run *r)
{
	const struct setup *s = &r->su;
	unsigned char buf[PG];
	r->memfd = -1;
	r->alias = NULL;
	switch (s->mem) {
	case M_ANON:
		map_fixed(r, R_FIRST, R_PAGES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
		break;
	case M_SHMEM:
		map_fixed(r, R_FIRST, R_PAGES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
		break;
	default:
		r->memfd = memfd_create("ioctl_diff", MFD_CLOEXEC);
		if (r->memfd < 0 || ftruncate(r->memfd, R_PAGES * PG) < 0)
			abort();
		map_fixed(r, R_FIRST, R_PAGES, PROT_READ | PROT_WRITE,
			  s->mem == M_MEMFD ? MAP_SHARED : MAP_PRIVATE, r->memfd);
		r->alias = mmap(NULL, R_PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
		if (r->alias == MAP_FAILED)
			abort();
	}
	/* Page cache without a mapping (what MINOR faults need). */
	for (long i = 0; i < R_PAGES; i++) {
		if (!(s->cachepop & (1u << i)) || s->mem == M_ANON)
			continue;
		fill_pattern(buf, s->seed + 1, i);
		if (r->alias) {
			memcpy(r->alias + i * PG, buf, PG);
		} else {
			memcpy(pg_addr(r, i), buf, PG);
			madvise(pg_addr(r, i), PG, MADV_DONTNEED);
		}
	}
	for (long i = 0; i < R_PAGES; i++)
		if (s->prepop & (1u << i)) {
			fill_pattern(buf, s->seed, i);
			memcpy(pg_addr(r, i), buf, PG);
		}
	map_fixed(r, U_FIRST, U_PAGES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	for (long i = 0; i < U_PAGES / 2; i++) {
		fill_pattern(buf, s->seed + 2, U_FIRST + i);
		memcpy(pg_addr(r, U_FIRST + i), buf, PG);
	}
	map_fixed(r, RO_FIRST, RO_PAGES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	fill_pattern(buf, s->seed + 3, RO_FIRST);
	memcpy(pg_addr(r, RO_FIRST), buf, PG);
	mprotect(pg_addr(r, RO_FIRST), RO_PAGES * PG, PROT_READ);
	map_fixed(r, ARG_RW, 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	map_fixed(r, ARG_RO, 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
}

static void teardown_arena(struct run *r)
{
	/* Through the library, so the user engine forgets its maps. */
	if (uf_munmap(pg_addr(r, SPAN_FIRST), (SPAN_LAST - SPAN_FIRST) * PG) < 0)
		abort();
	if (r->alias)
		munmap(r->alias, R_PAGES * PG);
	if (r->memfd >= 0)
		close(r->memfd);
}

/* ------------------------------------------------------------------------ */
/* The handler thread: reads every message and resolves it the same way    */
/* on both engines, logging both.                                           */

static unsigned char fill_src[PG];

static void *server_main(void *arg)
{
	struct run *r = arg;
	struct log *l = &srv_log[r->e];
	unsigned n_msgs = 0;
	for (;;) {
		struct pollfd p[2] = { { r->fd, POLLIN, 0 }, { r->stopfd, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			break;
		struct uffd_msg m[16];
		ssize_t k = uf_read(r->fd, m, 16);
		if (k < 0) {
			/* Before UFFDIO_API the kernel's descriptor polls POLLERR
			 * and read fails; the user engine's shows nothing (a
			 * documented difference): not compared, and no busy loop. */
			if (k != -EAGAIN)
				usleep(1000);
			continue;
		}
		for (ssize_t i = 0; i < k; i++) {
			if (m[i].event != UFFD_EVENT_PAGEFAULT) {
				logrec(l, L_MSG, m[i].event, rel(r->e, m[i].arg.remove.start),
				       rel(r->e, m[i].arg.remove.end));
				continue;
			}
			__u64 a = m[i].arg.pagefault.address, fl = m[i].arg.pagefault.flags;
			logrec(l, L_MSG, m[i].event, (long long)fl, rel(r->e, a));
			__u32 ptid = m[i].arg.pagefault.feat.ptid;
			logrec(l, L_PTID, ptid == 0 ? 0 : ptid == (__u32)r->prober_tid ? 1 : 2, 0, 0);
			void *page = (void *)(uintptr_t)(a & ~(PG - 1));
			if (++n_msgs > 256) {
				/* Both engines in a loop: end it the same way. */
				if (!atomic_exchange(&r->storm, 1))
					logrec(l, L_STORM, 0, 0, 0);
				uf_unregister(r->fd, pg_addr(r, W_FIRST), (W_LAST - W_FIRST) * PG);
				uf_wake(r->fd, page, PG);
				continue;
			}
			int res;
			if (fl & UFFD_PAGEFAULT_FLAG_WP) {
				res = uf_writeprotect(r->fd, page, PG, 0);
				logrec(l, L_RESOLVE, 1, res, 0);
			} else if (fl & UFFD_PAGEFAULT_FLAG_MINOR) {
				res = uf_continue(r->fd, page, PG, 0, NULL);
				logrec(l, L_RESOLVE, 2, res, 0);
			} else {
				fill_pattern(fill_src, 77, (long)(((uintptr_t)page - r->base) / PG));
				res = uf_copy(r->fd, page, fill_src, PG, 0, NULL);
				logrec(l, L_RESOLVE, 3, res, 0);
			}
			if (res < 0)
				logrec(l, L_RESOLVE, 4, uf_wake(r->fd, page, PG), 0);
		}
	}
	return NULL;
}

static void server_start(struct run *r)
{
	r->stopfd = eventfd(0, EFD_CLOEXEC);
	if (r->stopfd < 0 || pthread_create(&r->srv, NULL, server_main, r) != 0)
		abort();
	r->srv_on = 1;
}

static void server_stop(struct run *r)
{
	if (!r->srv_on)
		return;
	uint64_t one = 1;
	if (write(r->stopfd, &one, sizeof(one)) != sizeof(one))
		abort();
	pthread_join(r->srv, NULL);
	close(r->stopfd);
	r->srv_on = 0;
}

/* ------------------------------------------------------------------------ */
/* Probing every page of the window                                         */

HARNESS_LOOP static uint64_t hash_page(const volatile unsigned char *p)
{
	const volatile uint64_t *w = (const volatile uint64_t *)p;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < PG / 8; i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	return h;
}

struct probe {
	struct run *r;
	int phase;
};

static void *prober_main(void *arg)
{
	struct probe *pr = arg;
	struct run *r = pr->r;
	struct log *l = &main_log[r->e];
	r->prober_tid = (pid_t)syscall(SYS_gettid);
	for (long pg = W_FIRST; pg < W_LAST; pg++) {
		volatile unsigned char *p = (volatile unsigned char *)pg_addr(r, pg);
		long long where = pr->phase * 1000 + pg;
		uint64_t h = 0;
		if (sigsetjmp(probe_jmp, 1) == 0) {
			probe_armed = 1;
			h = hash_page(p);
			probe_armed = 0;
			logrec(l, L_PAGE, where, 0, (long long)h);
		} else {
			logrec(l, L_PAGE, where, probe_sig * 100 + probe_code, 0);
			continue;
		}
		if (sigsetjmp(probe_jmp, 1) == 0) {
			probe_armed = 1;
			p[1] = p[1];
			probe_armed = 0;
			logrec(l, L_WRITE, where, 0, 0);
		} else {
			logrec(l, L_WRITE, where, probe_sig * 100 + probe_code, 0);
		}
	}
	return NULL;
}

static void probe_all(struct run *r, int phase)
{
	struct probe pr = { r, phase };
	pthread_t t;
	if (pthread_create(&t, NULL, prober_main, &pr) != 0)
		abort();
	pthread_join(t, NULL);
}

/* ------------------------------------------------------------------------ */
/* Arguments                                                                */

/* An address from the controlled set. */
static uint64_t pick_addr(struct rd *in, const struct run *r)
{
	static const uint64_t special[] = {
		0, 1, 4095, 4096, 0x8000, TASK_SIZE, TASK_SIZE + PG, 0x800000000000ULL,
		0xffff800000000000ULL, 0xfffffffffffff000ULL, UINT64_MAX,
	};
	uint8_t k = get8(in);
	switch (k % 16) {
	case 13:
		return special[get8(in) % (sizeof(special) / sizeof(special[0]))];
	case 14: case 15: {
		uint64_t v = get64(in);
		if (v < LOW_END || v >= TASK_SIZE)
			return v;
		/* Folded into the window, keeping the low bits. */
		uint64_t span = (uint64_t)(W_LAST - W_FIRST) * PG;
		return r->base + (int64_t)W_FIRST * (int64_t)PG + v % span;
	}
	default: {
		long page = (long)(get8(in) % (W_LAST - W_FIRST)) + W_FIRST;
		uint64_t a = r->base + page * (long)PG;
		if (k % 16 >= 11)
			a += (uint64_t)get8(in) + 1;
		return a;
	}
	}
}

static uint64_t pick_len(struct rd *in)
{
	static const uint64_t special[] = {
		1ULL << 46, 1ULL << 47, 1ULL << 63, UINT64_MAX, UINT64_MAX & ~(PG - 1),
		TASK_SIZE, 1ULL << 32, PG - 1, PG + 1,
	};
	uint8_t k = get8(in);
	switch (k % 16) {
	case 0:
		return 0;
	case 11:
		return (uint64_t)(get8(in) % 34 + 1) * PG + get8(in) + 1;
	case 12:
		return special[get8(in) % (sizeof(special) / sizeof(special[0]))];
	case 13: case 14: case 15:
		return get64(in);
	default:
		return (uint64_t)(get8(in) % 34 + 1) * PG;
	}
}

static uint64_t pick_mode(struct rd *in)
{
	uint8_t k = get8(in);
	if ((k & 0xe0) == 0xe0)
		return get64(in);
	return (k & 7) | ((uint64_t)(k & 0x10) << 59);
}

/* The kernel's range check, for the safety clamp only. */
static int valid_range(uint64_t start, uint64_t len)
{
	return !(start & (PG - 1)) && !(len & (PG - 1)) && len && start >= 4096 &&
	       start < TASK_SIZE && len <= TASK_SIZE - start;
}

/* A range either engine would act on must stay inside the window or below
 * LOW_END, where nothing of the fuzzer lives: shorten it otherwise.  start
 * may be unaligned (a COPY source), which touches one page more. */
static void clamp(const struct run *r, uint64_t start, uint64_t *len)
{
	uint64_t lo = r->base + (int64_t)W_FIRST * (int64_t)PG, hi = r->base + (uint64_t)W_LAST * PG;
	uint64_t s = start & ~(PG - 1), extra = start & (PG - 1) ? PG : 0;
	/* Decided alike for both arenas (the kernel's is the lower): a
	 * length can be valid from one base and too long from the other. */
	uint64_t s_low = s - r->base + arena_base[KERNEL];
	if (!valid_range(s, *len) && !(s >= lo && s < hi && valid_range(s_low, *len)))
		return;		/* no engine acts on it */
	uint64_t e = s + *len + extra;
	if ((s >= lo && e <= hi) || e <= LOW_END)
		return;
	uint64_t room = s >= lo && s < hi ? hi - s : s < LOW_END ? LOW_END - s : 0;
	room = room > extra ? room - extra : 0;
	*len = room ? *len % room : 0;
}

/* Requests by number, with their argument sizes. */
static const struct { unsigned long req; size_t size; } requests[] = {
	{ UFFDIO_API, sizeof(struct uffdio_api) },
	{ UFFDIO_REGISTER, sizeof(struct uffdio_register) },
	{ UFFDIO_UNREGISTER, sizeof(struct uffdio_range) },
	{ UFFDIO_WAKE, sizeof(struct uffdio_range) },
	{ UFFDIO_COPY, sizeof(struct uffdio_copy) },
	{ UFFDIO_ZEROPAGE, sizeof(struct uffdio_zeropage) },
	{ UFFDIO_WRITEPROTECT, sizeof(struct uffdio_writeprotect) },
	{ UFFDIO_CONTINUE, sizeof(struct uffdio_continue) },
	{ UFFDIO_POISON, sizeof(struct uffdio_poison) },
	{ UFFDIO_MOVE, sizeof(struct uffdio_move) },
};
#define NREQ (sizeof(requests) / sizeof(requests[0]))

/* Make a known request's argument safe: addresses folded, ranges clamped.
 * Applies to raw bytes too, so no request number escapes the rules. */
static void sanitize(const struct run *r, unsigned long req, uint64_t *w)
{
	switch (req) {
	case UFFDIO_REGISTER: case UFFDIO_UNREGISTER: case UFFDIO_WAKE: case UFFDIO_ZEROPAGE:
	case UFFDIO_WRITEPROTECT: case UFFDIO_CONTINUE: case UFFDIO_POISON:
		clamp(r, w[0], &w[1]);
		break;
	case UFFDIO_COPY: case UFFDIO_MOVE:
		clamp(r, w[0], &w[2]);
		clamp(r, w[1], &w[2]);
		break;
	}
}

static void fold_word(const struct run *r, uint64_t *v)
{
	if (*v < LOW_END || *v >= TASK_SIZE)
		return;
	uint64_t span = (uint64_t)(W_LAST - W_FIRST) * PG;
	*v = r->base + (int64_t)W_FIRST * (int64_t)PG + *v % span;
}

/* Fill the words of a request's argument from the input. */
static size_t build_arg(struct rd *in, const struct run *r, unsigned long *req, uint64_t w[8])
{
	uint8_t k = get8(in);
	memset(w, 0, 8 * sizeof(w[0]));
	size_t size;
	unsigned which = k % 16;
	if (which < NREQ) {
		*req = requests[which].req;
		size = requests[which].size;
		switch (*req) {
		case UFFDIO_API:
			w[0] = get8(in) & 0x80 ? get8(in) : UFFD_API;
			w[1] = get8(in) & 0x80 ? get64(in) : pick_features(get16(in));
			w[2] = get8(in) & 0x80 ? get64(in) : SENTINEL;
			break;
		case UFFDIO_REGISTER:
			w[0] = pick_addr(in, r);
			w[1] = pick_len(in);
			w[2] = pick_mode(in);
			w[3] = SENTINEL;
			break;
		case UFFDIO_UNREGISTER: case UFFDIO_WAKE:
			w[0] = pick_addr(in, r);
			w[1] = pick_len(in);
			break;
		case UFFDIO_COPY: case UFFDIO_MOVE:
			w[0] = pick_addr(in, r);
			w[1] = pick_addr(in, r);
			w[2] = pick_len(in);
			w[3] = pick_mode(in);
			w[4] = SENTINEL;
			break;
		default:	/* ZEROPAGE, WRITEPROTECT, CONTINUE, POISON */
			w[0] = pick_addr(in, r);
			w[1] = pick_len(in);
			w[2] = pick_mode(in);
			w[3] = SENTINEL;
			break;
		}
	} else {
		/* Any request: mostly in the userfaultfd number space, sometimes
		 * anything but the generic VFS ones (FIONBIO and friends act on
		 * any file and are not userfaultfd requests). */
		uint32_t v = (uint32_t)get64(in);
		if (which == 15 && get8(in) & 1) {
			unsigned type = (v >> 8) & 0xff;
			if (type == 'T' || type == 'f' || type == 'X' || type == 0x94 || type == 0 ||
			    type == 0x15 || type == 0x12)
				v = (v & ~0xff00u) | 0xaa00u;
		} else {
			v = (v & ~0xff00u) | 0xaa00u;
		}
		*req = v;
		size = 64;
		for (int i = 0; i < 8; i++)
			w[i] = get64(in);
		for (size_t i = 0; i < NREQ; i++)
			if (requests[i].req == *req && *req != UFFDIO_API) {
				for (int j = 0; j < 2; j++)
					fold_word(r, &w[j]);
			}
	}
	sanitize(r, *req, w);
	return size;
}

/* Does a range ioctl's argument start below LOW_END? */
static int low_start(unsigned long req, const uint64_t *w)
{
	switch (req) {
	case UFFDIO_COPY: case UFFDIO_MOVE:
		return w[0] < LOW_END || w[1] < LOW_END;
	case UFFDIO_REGISTER: case UFFDIO_UNREGISTER: case UFFDIO_WAKE: case UFFDIO_ZEROPAGE:
	case UFFDIO_WRITEPROTECT: case UFFDIO_CONTINUE: case UFFDIO_POISON:
		return w[0] < LOW_END;
	}
	return 0;
}

/* Where the argument lives: 0 normal, 1 NULL, 2 unmapped, 3 read-only,
 * 4 straddling into the hole after the read-write page, 5 odd offset. */
static void *place_arg(const struct run *r, int kind, const uint64_t *w, size_t size)
{
	char *rw = pg_addr(r, ARG_RW), *ro = pg_addr(r, ARG_RO);
	switch (kind) {
	case 1:
		return NULL;
	case 2:
		return pg_addr(r, ARG_RW + 1) + 64;
	case 3:
		mprotect(ro, PG, PROT_READ | PROT_WRITE);
		memcpy(ro + 128, w, size);
		mprotect(ro, PG, PROT_READ);
		return ro + 128;
	case 4: {
		char *p = rw + PG - size / 2;
		memcpy(p, w, size / 2);
		return p;
	}
	case 5:
		memcpy(rw + 1001, w, size);
		return rw + 1001;
	default:
		memcpy(rw + 256, w, size);
		return rw + 256;
	}
}

/* ------------------------------------------------------------------------ */
/* One engine, one input                                                    */

static int open_engine(int e)
{
	struct uf_open_opts o = UF_OPEN_OPTS_INIT;
	o.engine = e == KERNEL ? UF_ENGINE_KERNEL : UF_ENGINE_USER;
	o.no_fallback = UF_FALLBACK_ALL;
	return uf_open(O_CLOEXEC | O_NONBLOCK, &o);
}

static void do_setup(struct run *r)
{
	struct log *l = &main_log[r->e];
	const struct setup *s = &r->su;
	build_arena(r);
	r->fd = open_engine(r->e);
	logrec(l, L_SETUP, 0, r->fd < 0 ? r->fd : 0, 0);
	if (r->fd < 0)
		abort();
	if (s->raw)
		return;
	__u64 got = 0;
	logrec(l, L_SETUP, 1, uf_api(r->fd, s->features, &got, NULL), 0);
	logrec(l, L_SETUP, 2, (long long)(got & common_features), 0);
	__u64 ioctls = 0;
	logrec(l, L_SETUP, 3, uf_register(r->fd, pg_addr(r, R_FIRST), R_PAGES * PG, s->mode, &ioctls),
	       (long long)ioctls);
	unsigned char buf[PG];
	for (long i = 0; i < R_PAGES; i++)
		if (s->copy & (1u << i)) {
			fill_pattern(buf, s->seed + 4, i);
			__s64 res = SENTINEL;
			logrec(l, L_SETUP, 100 + i, uf_copy(r->fd, pg_addr(r, i), buf, PG,
							  UFFDIO_COPY_MODE_DONTWAKE, &res), res);
		}
	for (long i = 0; i < R_PAGES; i++)
		if (s->wp & (1u << i))
			logrec(l, L_SETUP, 200 + i,
			       uf_writeprotect(r->fd, pg_addr(r, i), PG, UFFDIO_WRITEPROTECT_MODE_WP), 0);
}

static void do_op(struct run *r, struct rd *in, int idx)
{
	struct log *l = &main_log[r->e];
	uint8_t kind_sel = get8(in);
	if (kind_sel % 8 == 7 || kind_sel % 32 == 6) {
		/* uf_madvise(MADV_DONTNEED) or uf_munmap(): REMOVE and UNMAP
		 * events where asked for.  Both round the length up: clamp
		 * what they would touch.  Not the argument box. */
		uint64_t a = pick_addr(in, r), len = pick_len(in) % (64 * PG);
		len = (len + PG - 1) & ~(PG - 1);
		clamp(r, a, &len);
		int unmap = kind_sel % 8 != 7;
		logrec(l, L_ARG, idx, 0, rel(r->e, a));
		logrec(l, L_ARG, idx, 1, (long long)len);
		logrec(l, L_RET, idx, unmap ? -2 : -1,
		       unmap ? uf_munmap((void *)(uintptr_t)a, len)
			     : uf_madvise((void *)(uintptr_t)a, len, MADV_DONTNEED));
		return;
	}
	unsigned long req;
	uint64_t w[8];
	size_t size = build_arg(in, r, &req, w);
	int kind = (kind_sel >> 3) % 16;
	kind = kind < 10 ? 0 : kind - 9;
	if (req == UFFDIO_API && (w[0] == UFFD_API) &&
	    (w[1] & (kernel_features ^ user_features) & ~(__u64)UFFD_FEATURE_WP_UNPOPULATED)) {
		/* A feature only one engine has: a documented difference. */
		r->skip = 1;
	}
	if (low_start(req, w)) {
		/* Finding, not fixed: this kernel (6.18.44 here) accepts range
		 * starts below mmap_min_addr (0, 0x1000: ENOENT, WAKE succeeds)
		 * although fs/userfaultfd.c's validate_range() refuses them and
		 * the sysctl says 4096; the user engine applies the sysctl
		 * (EINVAL).  docs/LIMITATIONS.md. */
		r->skip = 1;
	}
	uint64_t before[8];
	memcpy(before, w, sizeof(before));
	/* The argument as sent, arena addresses relative (for the report;
	 * identical on both engines by construction). */
	int known = 0;
	for (size_t i = 0; i < NREQ; i++)
		known |= requests[i].req == req;
	/* Only address words are made arena-relative: a length equal to an
	 * address in one arena (the kernel's base - 1) is the same length. */
	for (size_t i = 0; i < size / 8; i++) {
		int addr = known && (i == 0 || (i == 1 && (req == UFFDIO_COPY || req == UFFDIO_MOVE)));
		logrec(l, L_ARG, idx, (long long)i, addr ? rel(r->e, w[i]) : (long long)w[i]);
	}
	logrec(l, L_ARG, idx, 100, kind);
	void *arg = place_arg(r, kind, w, size);
	int ret = uf_ioctl(r->fd, req, arg);
	logrec(l, L_RET, idx, (long long)req, ret);
	if (kind == 1 || kind == 2)
		return;
	uint64_t after[8] = { 0 };
	size_t readable = kind == 4 ? size / 2 : size;
	memcpy(after, arg, readable);
	for (size_t i = 0; i < readable / 8; i++) {
		if (after[i] == before[i])
			continue;
		uint64_t v = after[i];
		if (req == UFFDIO_API && i == 1)
			v &= common_features;
		logrec(l, L_WORD, idx, (long long)i, (long long)v);
	}
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		abort();
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Finding: uf_close() on the user engine can return while the reaper
 * thread is still releasing the context (both call release(); the loser of
 * the race returns at once), so memory is not yet ordinary when close
 * returns, unlike the kernel's last close.  Wait for the release to end
 * (its last step closes the engine's end of the socket pair) so that the
 * rest of the release is still compared; docs/LIMITATIONS.md. */
static void wait_released(int fds_before)
{
	for (int i = 0; i < 20000 && count_fds() > fds_before - 2; i++)
		usleep(100);
}

static void run_engine(struct run *r, const uint8_t *data, size_t size, const struct setup *su)
{
	struct rd in = { data, size };
	r->su = *su;
	r->storm = 0;
	r->skip = 0;
	do_setup(r);
	server_start(r);
	unsigned nops = get8(&in) % 8 + 1;
	for (unsigned i = 0; i < nops && !r->skip; i++)
		do_op(r, &in, (int)i);
	if (!r->skip)
		probe_all(r, 1);
	server_stop(r);
	int fds = count_fds();
	if (uf_close(r->fd) < 0)
		abort();
	if (r->e == USER)
		wait_released(fds);
	if (!r->skip)
		probe_all(r, 2);
	teardown_arena(r);
}

/* ------------------------------------------------------------------------ */
/* Comparing                                                                */

static const char *tag_name(int t)
{
	static const char *n[] = { "?", "setup", "ret", "word", "msg", "ptid", "resolve",
				   "page", "write", "skip", "storm", "arg" };
	return t > 0 && t <= L_ARG ? n[t] : "?";
}

static void dump(const char *what, const struct log *k, const struct log *u)
{
	size_t nk = k->n < LOG_MAX ? k->n : LOG_MAX, nu = u->n < LOG_MAX ? u->n : LOG_MAX;
	fprintf(stderr, "== %s log: kernel %zu records, user %zu records\n", what, nk, nu);
	for (size_t i = 0; i < nk || i < nu; i++) {
		const struct rec *a = i < nk ? &k->r[i] : NULL, *b = i < nu ? &u->r[i] : NULL;
		int same = a && b && !memcmp(a, b, sizeof(*a));
		fprintf(stderr, "%s %4zu ", same ? "  " : "!!", i);
		if (a)
			fprintf(stderr, "K %-7s %lld %lld %lld", tag_name(a->tag), a->a, a->b, a->c);
		if (b && !same)
			fprintf(stderr, "%sU %-7s %lld %lld %lld", a ? "   |   " : "", tag_name(b->tag),
				b->a, b->b, b->c);
		fputc('\n', stderr);
	}
}

static int logs_equal(const struct log *a, const struct log *b)
{
	return a->n == b->n &&
	       !memcmp(a->r, b->r, (a->n < LOG_MAX ? a->n : LOG_MAX) * sizeof(a->r[0]));
}

static void decode_setup(struct rd *in, struct setup *s)
{
	uint8_t b0 = get8(in);
	static const __u64 modes[] = {
		UFFDIO_REGISTER_MODE_MISSING, UFFDIO_REGISTER_MODE_WP,
		UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP, UFFDIO_REGISTER_MODE_MINOR,
		UFFDIO_REGISTER_MODE_MINOR | UFFDIO_REGISTER_MODE_WP,
		UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR,
		UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR | UFFDIO_REGISTER_MODE_WP,
	};
	s->mem = b0 % M_COUNT;
	s->raw = (b0 & 0x1c) == 0x1c;
	s->mode = modes[get8(in) % (sizeof(modes) / sizeof(modes[0]))];
	/* Features: the ones the mode needs on this memory, plus a pick;
	 * only those both engines have. */
	uint16_t fsel = get16(in);
	s->features = pick_features(fsel) & common_features;
	if (!(b0 & 0x20)) {
		int shm = s->mem != M_ANON;
		if (s->mode & UFFDIO_REGISTER_MODE_MISSING && shm)
			s->features |= UFFD_FEATURE_MISSING_SHMEM;
		if (s->mode & UFFDIO_REGISTER_MODE_WP)
			s->features |= shm ? UFFD_FEATURE_WP_HUGETLBFS_SHMEM : UFFD_FEATURE_PAGEFAULT_FLAG_WP;
		if (s->mode & UFFDIO_REGISTER_MODE_MINOR)
			s->features |= UFFD_FEATURE_MINOR_SHMEM;
	}
	s->prepop = get16(in);
	s->cachepop = get16(in);
	s->copy = get16(in);
	s->wp = get16(in);
	s->seed = get8(in);
}

static struct run runs[2];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Ours before the engine's, which chains to it for other addresses. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault_signal;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	for (int e = 0; e < 2; e++) {
		int fd = open_engine(e);
		__u64 f = 0;
		if (fd < 0 || uf_api(fd, 0, &f, NULL) < 0) {
			fprintf(stderr, "ioctl_diff: the %s engine does not open here (%s)\n",
				e == KERNEL ? "kernel" : "user", strerror(fd < 0 ? -fd : EINVAL));
			exit(77);
		}
		uf_close(fd);
		*(e == KERNEL ? &kernel_features : &user_features) = f;
		runs[e].e = e;
		runs[e].base = arena_base[e];
	}
	common_features = kernel_features & user_features;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd in = { data, size };
	struct setup su;
	decode_setup(&in, &su);
	for (int e = 0; e < 2; e++) {
		atomic_store(&main_log[e].n, 0);
		atomic_store(&srv_log[e].n, 0);
		run_engine(&runs[e], in.p, in.n, &su);
	}
	if (runs[KERNEL].skip || runs[USER].skip)
		return 0;
	int same_main = logs_equal(&main_log[KERNEL], &main_log[USER]);
	int same_srv = logs_equal(&srv_log[KERNEL], &srv_log[USER]);
	if (same_main && same_srv) {
		if (getenv("UF_FUZZ_DUMP")) {	/* to see what an input does */
			dump("requests and pages", &main_log[KERNEL], &main_log[USER]);
			dump("messages", &srv_log[KERNEL], &srv_log[USER]);
		}
		return 0;
	}
	fprintf(stderr, "ioctl_diff: the engines differ (mem %d mode 0x%llx features 0x%llx raw %d)\n",
		su.mem, (unsigned long long)su.mode, (unsigned long long)su.features, su.raw);
	dump("requests and pages", &main_log[KERNEL], &main_log[USER]);
	dump("messages", &srv_log[KERNEL], &srv_log[USER]);
	abort();
}
