/* SPDX-License-Identifier: MIT */
/*
 * inject.c - the engine's own system calls failing, signals arriving in the
 * middle of a fault, the handler process killed: every case must end in a
 * clean error or a clean release, never a lost page or a hang.
 *
 * Injection (user engine only: it is the engine's calls that fail): this
 * program is linked against a copy of the library whose C library calls go
 * through tests/inject/inject.c (see inject.h).  For each operation, a sweep
 * fails its k-th call, for k = 1, 2, ... until the operation makes fewer
 * than k calls, each time on a fresh registration, and then checks:
 *   - the operation succeeded, or failed with an errno the kernel can give
 *     for it (ENOMEM for memory, EAGAIN for a short fill: see plausible());
 *   - a fill's result field is the bytes it really did: every page reads
 *     exactly what the model says (the operation's source where it reports
 *     a fill, the fault server's content where a fault filled it);
 *   - pages filled before are unchanged, a faulting thread gets through in
 *     bounded time (the harness's timeout catches a hang);
 *   - the context still works (every missing page faults and is served),
 *     and after uf_close() the memory is ordinary.
 *
 * The signal cases and the killed-handler case run on both engines and
 * assert the same results.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include "lib/fault.h"
#include "inject/inject.h"

#define NP		8	/* pages in a rig's region */
#define ORIG(i)		(100u + (unsigned)(i))	/* written before registration */
#define SRC(i)		(200u + (unsigned)(i))	/* put there by the operation */
#define SRV(i)		(300u + (unsigned)(i))	/* put there by the fault server */
#define ZERO		0u
#define GONE		1u	/* unmapped: not to be touched */
#define POISONED	2u
#define UNKNOWN		3u	/* not to be touched */
#define MAX_K		400	/* no operation makes this many calls */

static void need_user(const struct t_env *env)
{
	if (env->engine != UF_ENGINE_USER)
		T_SKIP("injects into the user engine's own calls");
}

/* ------------------------------------------------------------------------ */
/* A rig: a region, a context, a thread serving its faults                  */

struct rig {
	const struct t_env *env;
	struct t_region r;
	int fd;
	__u64 mode;
	unsigned want[NP];	/* what page i must read (seed, ZERO, GONE, POISONED) */
	int missing[NP];	/* 1: still missing (a fault fills it with SRV(i)) */
	atomic_int stop;
	atomic_int wp_faults;
	t_thread srv;
};

static int page_of(struct rig *x, unsigned long addr)
{
	return (int)((addr - (unsigned long)x->r.addr) / x->r.page);
}

/* Serves every fault: MISSING with SRV(page), MINOR with CONTINUE, WP by
 * clearing it.  Events are read and dropped.  Never armed. */
static void *serve(void *arg)
{
	struct rig *x = arg;
	char *buf = t_buffer(x->r.page, 0);
	while (!atomic_load(&x->stop)) {
		struct pollfd p = { .fd = x->fd, .events = POLLIN };
		if (poll(&p, 1, 20) <= 0)
			continue;
		struct uffd_msg m;
		if (uf_read(x->fd, &m, 1) != 1)
			continue;
		if (m.event != UFFD_EVENT_PAGEFAULT)
			continue;
		unsigned long a = F_MSG_ADDR(&m) & ~(unsigned long)(x->r.page - 1);
		int i = page_of(x, a);
		int r;
		if (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
			atomic_fetch_add(&x->wp_faults, 1);
			r = uf_writeprotect(x->fd, (void *)a, x->r.page, 0);
		} else if (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_MINOR) {
			r = uf_continue(x->fd, (void *)a, x->r.page, 0, NULL);
		} else {
			t_fill(buf, x->r.page, SRV(i));
			r = uf_copy(x->fd, (void *)a, buf, x->r.page, 0, NULL);
		}
		if (r < 0 && r != -EEXIST)
			uf_wake(x->fd, (void *)a, x->r.page);
	}
	munmap(buf, x->r.page);
	return NULL;
}

/* Pages 0..3 written before registration, 4..7 missing. */
static void rig_open(struct rig *x, const struct t_env *env, __u64 mode, __u64 extra)
{
	memset(x, 0, sizeof(*x));
	x->env = env;
	x->mode = mode;
	t_region_map(env, NP, &x->r);
	for (int i = 0; i < NP; i++) {
		if (i < NP / 2) {
			t_fill(x->r.addr + i * x->r.page, x->r.page, ORIG(i));
			x->want[i] = ORIG(i);
		} else {
			x->want[i] = SRV(i);
			x->missing[i] = 1;
		}
	}
	x->fd = f_uffd(env, mode, extra);
	T_OK(uf_register(x->fd, x->r.addr, x->r.len, mode, NULL));
	t_spawn(&x->srv, serve, x);
}

/* Every page reads what the model says (missing ones fault and are served
 * when registered MISSING, else read zeros). */
static void rig_check(struct rig *x, const char *when)
{
	for (int i = 0; i < NP; i++) {
		char *p = x->r.addr + i * x->r.page;
		unsigned w = x->want[i];
		if (w == GONE || w == UNKNOWN)
			continue;
		if (w == POISONED) {
			int code;
			if (!f_probe_sigbus(p, 0, &code, NULL))
				T_FAIL("%s: page %d should be poisoned", when, i);
			continue;
		}
		if (x->missing[i] && !(x->mode & F_MODE_M))
			w = ZERO;
		int ok = w == ZERO ? p[0] == 0 && !memcmp(p, p + 1, x->r.page - 1)
				   : t_check(p, x->r.page, w);
		if (!ok)
			T_FAIL("%s: page %d does not read %u (first word %llx)", when, i, w,
			       (unsigned long long)*(volatile uint64_t *)p);
		x->want[i] = w;
		x->missing[i] = 0;
	}
}

/* Stop serving, close, and the memory must be ordinary: what it read
 * stays, writes stick. */
static void rig_close(struct rig *x)
{
	atomic_store(&x->stop, 1);
	t_join(&x->srv);
	T_OK(uf_close(x->fd));
	for (int i = 0; i < NP; i++) {
		if (x->want[i] == GONE || x->want[i] == POISONED || x->want[i] == UNKNOWN)
			continue;
		char *p = x->r.addr + i * x->r.page;
		if (x->want[i] != ZERO && !t_check(p, x->r.page, x->want[i]))
			T_FAIL("after close: page %d lost its content", i);
		p[1] = 0x5a;
		T_EQ(p[1], 0x5a);
	}
	t_region_unmap(&x->r);
}

/* ------------------------------------------------------------------------ */
/* Sweeps                                                                    */

/* An operation under injection: returns what the call returned. */
typedef long long (*op_fn)(struct rig *x, __s64 *res);
/* After it: check the errno and bring the model in line with the result. */
typedef void (*after_fn)(struct rig *x, long long r, __s64 res);

static int plausible(long long r, const int *ok)
{
	if (r >= 0)
		return 1;
	for (; *ok; ok++)
		if (r == -*ok)
			return 1;
	return 0;
}

struct sweep {
	const char *name;
	__u64 mode, extra;
	unsigned long long mask;
	int err;
	op_fn op;
	after_fn after;
	const int *errs;	/* errnos the operation may fail with */
	void (*setup)(struct rig *x);	/* after rig_open(), before arming */
};

/* chunk_open: touch a page first, so that the operation finds the region's
 * chunk open (else it is still covered: registration is lazy). */
static void run_sweep(const struct t_env *env, const struct sweep *s, int chunk_open)
{
	long k;
	for (k = 1; k <= MAX_K; k++) {
		struct rig x;
		rig_open(&x, env, s->mode, s->extra);
		if (s->setup)
			s->setup(&x);
		if (chunk_open)
			(void)*(volatile char *)x.r.addr;
		__s64 res = F_SENTINEL;
		inj_thread(1);
		inj_arm(s->mask, k, 1, s->err, INJ_ARMED);
		long long r = s->op(&x, &res);
		inj_disarm();
		inj_thread(0);
		long failed = inj_failed(), seen = inj_seen();
		if (failed && !plausible(r, s->errs))
			T_FAIL("%s: failing call %ld (%s) with %s: returned %lld (%s)", s->name, k,
			       inj_name(inj_failed_fn()), strerror(s->err), r,
			       r < 0 ? strerror((int)-r) : "");
		if (!failed && r < 0)
			T_FAIL("%s: nothing injected, returned %lld", s->name, r);
		if (failed)
			t_log("%s: call %ld (%s) failed: %lld res %lld", s->name, k,
			      inj_name(inj_failed_fn()), r, (long long)res);
		if (s->after)
			s->after(&x, r, res);
		rig_check(&x, s->name);
		rig_close(&x);
		if (!failed) {
			t_log("%s (chunk %s): %ld injectable calls, each failed once", s->name,
			      chunk_open ? "open" : "covered", seen);
			return;
		}
	}
	T_FAIL("%s: still making calls after %d", s->name, MAX_K);
}

static const int E_MEM[] = { ENOMEM, 0 };
static const int E_FILL[] = { ENOMEM, EAGAIN, 0 };

/* A fill of pages 4..7: res is the bytes done (pages then hold `seed`) or
 * the error; r is 0 (all done), -EAGAIN (short) or res. */
static void after_fill(struct rig *x, long long r, __s64 res, unsigned (*seed)(int))
{
	size_t len = 4 * x->r.page;
	if (r == 0) {
		T_EQ(res, (long long)len);
	} else if (res > 0) {
		T_EQ(r, -EAGAIN);
		T_ASSERT(res < (long long)len && res % (long long)x->r.page == 0);
	} else {
		T_EQ(res, r);
	}
	long long done = r == 0 ? (long long)len : res > 0 ? res : 0;
	for (int i = 4; i < 4 + done / (long long)x->r.page; i++) {
		x->want[i] = seed(i);
		x->missing[i] = 0;
	}
}

static unsigned seed_src(int i) { return SRC(i); }
static unsigned seed_zero(int i) { (void)i; return ZERO; }

static long long op_copy(struct rig *x, __s64 *res)
{
	char *src = t_buffer(4 * x->r.page, 0);
	for (int i = 4; i < 8; i++)
		t_fill(src + (i - 4) * x->r.page, x->r.page, SRC(i));
	inj_thread(1);
	long long r = uf_copy(x->fd, x->r.addr + 4 * x->r.page, src, 4 * x->r.page, 0, res);
	munmap(src, 4 * x->r.page);
	return r;
}
static void after_copy(struct rig *x, long long r, __s64 res) { after_fill(x, r, res, seed_src); }

/* COPY with MODE_WP: the protection is set before the pages show, and
 * taken back with them if the show fails (fill.c, copy_run). */
static long long op_copy_wp(struct rig *x, __s64 *res)
{
	char *src = t_buffer(4 * x->r.page, 0);
	for (int i = 4; i < 8; i++)
		t_fill(src + (i - 4) * x->r.page, x->r.page, SRC(i));
	inj_thread(1);
	long long r = uf_copy(x->fd, x->r.addr + 4 * x->r.page, src, 4 * x->r.page,
			      UFFDIO_COPY_MODE_WP, res);
	munmap(src, 4 * x->r.page);
	return r;
}

static long long op_zeropage(struct rig *x, __s64 *res)
{
	return uf_zeropage(x->fd, x->r.addr + 4 * x->r.page, 4 * x->r.page, 0, res);
}
static void after_zeropage(struct rig *x, long long r, __s64 res) { after_fill(x, r, res, seed_zero); }

static long long op_poison(struct rig *x, __s64 *res)
{
	return uf_poison(x->fd, x->r.addr + 4 * x->r.page, 4 * x->r.page, 0, res);
}
static unsigned seed_poison(int i) { (void)i; return POISONED; }
static void after_poison(struct rig *x, long long r, __s64 res) { after_fill(x, r, res, seed_poison); }

/* MINOR: pages 4..7 put in the page cache through the alias first. */
static long long op_continue(struct rig *x, __s64 *res)
{
	return uf_continue(x->fd, x->r.addr + 4 * x->r.page, 4 * x->r.page, 0, res);
}
static void after_continue(struct rig *x, long long r, __s64 res) { after_fill(x, r, res, seed_src); }
static void setup_continue(struct rig *x)
{
	f_region_alias(&x->r);
	/* Shared anonymous memory is aliased by mremap(), which copies the
	 * registered view's protection (none, until its chunk opens). */
	T_SYS(mprotect(x->r.alias, x->r.len, PROT_READ | PROT_WRITE));
	for (int i = 4; i < NP; i++) {
		t_fill(x->r.alias + i * x->r.page, x->r.page, SRC(i));
		x->want[i] = SRC(i);	/* CONTINUE'd, by the operation or the server */
		x->missing[i] = 0;
	}
}

static long long op_register(struct rig *x, __s64 *res)
{
	(void)res;
	inj_thread(0);		/* armed for the registration alone */
	/* rig_open registered already: this is a second region. */
	struct t_region r2;
	t_region_map(x->env, NP, &r2);
	for (int i = 0; i < NP / 2; i++)
		t_fill(r2.addr + i * r2.page, r2.page, ORIG(i));
	int fd = f_uffd(x->env, F_MODE_M, 0);
	inj_thread(1);
	long long r = uf_register(fd, r2.addr, r2.len, F_MODE_M, NULL);
	inj_thread(0);
	int fired = inj_failed() > 0;
	inj_disarm();
	/* Registered or not, the memory keeps its content; registered, a
	 * missing page faults (a read with nobody serving would hang: probe
	 * with a COPY instead, which succeeds exactly on a missing page). */
	for (int i = 0; i < NP / 2; i++)
		if (!t_check(r2.addr + i * r2.page, r2.page, ORIG(i)))
			T_FAIL("register (call failed: %d, r %lld): page %d changed", fired, r, i);
	char *src = t_buffer(r2.page, 77);
	for (int i = NP / 2; i < NP; i++) {
		int c = uf_copy(fd, r2.addr + i * r2.page, src, r2.page, 0, NULL);
		if (r == 0)
			T_OK(c);
		else
			T_ASSERT(c == -ENOENT || c == 0);
	}
	munmap(src, r2.page);
	T_OK(uf_close(fd));
	for (int i = 0; i < NP / 2; i++)
		if (!t_check(r2.addr + i * r2.page, r2.page, ORIG(i)))
			T_FAIL("register, after close: page %d changed", i);
	r2.addr[NP * r2.page - 1] = 1;
	t_region_unmap(&r2);
	return r;
}

static long long op_unregister(struct rig *x, __s64 *res)
{
	(void)res;
	return uf_unregister(x->fd, x->r.addr, x->r.len);
}
static void after_unregister(struct rig *x, long long r, __s64 res)
{
	(void)res;
	if (r == 0)
		for (int i = 4; i < NP; i++)
			x->want[i] = ZERO;
	/* Failed: some pieces may be unregistered; a missing page then reads
	 * zeros instead of faulting.  Read them here, accepting either. */
	for (int i = 4; r < 0 && i < NP; i++) {
		char *p = x->r.addr + i * x->r.page;
		if (p[0] == 0 && !memcmp(p, p + 1, x->r.page - 1))
			x->want[i] = ZERO;
		x->missing[i] = 0;
		if (x->want[i] != ZERO && !t_check(p, x->r.page, SRV(i)))
			T_FAIL("unregister: page %d reads neither zeros nor its fill", i);
	}
}

static long long op_wp(struct rig *x, __s64 *res)
{
	(void)res;
	return uf_writeprotect(x->fd, x->r.addr, x->r.len, UFFDIO_WRITEPROTECT_MODE_WP);
}
static void after_wp(struct rig *x, long long r, __s64 res)
{
	(void)res;
	/* Each populated page: a write goes through once WP is cleared (by
	 * the server if it was set); protected ones took one fault each. */
	for (int i = 0; i < NP / 2; i++) {
		volatile char *p = x->r.addr + i * x->r.page;
		int before = atomic_load(&x->wp_faults);
		p[0] = (char)(p[0] ^ 0xff);
		p[0] = (char)(p[0] ^ 0xff);
		int took = atomic_load(&x->wp_faults) - before;
		if (r == 0)
			T_EQ(took, 1);
		else
			T_ASSERT(took <= 1);
	}
}

/* uf_madvise(DONTNEED) of pages 0..3 with EVENT_REMOVE. */
static long long op_dontneed(struct rig *x, __s64 *res)
{
	(void)res;
	return uf_madvise(x->r.addr, 4 * x->r.page, MADV_DONTNEED);
}
static void after_dontneed(struct rig *x, long long r, __s64 res)
{
	(void)res;
	/* Dropped pages fault back in (shared memory keeps its file pages:
	 * DONTNEED only unmaps them). */
	int shared = t_mem_is_shared(x->env->mem);
	for (int i = 0; r == 0 && !shared && i < NP / 2; i++) {
		/* A private file mapping reads the file again: its page is
		 * in the page cache (written through before the copy). */
		x->want[i] = x->env->mem == T_MEMFD_PRIVATE ? ZERO : SRV(i);
		x->missing[i] = x->env->mem != T_MEMFD_PRIVATE;
	}
	/* Failed part-way: each page dropped (as above) or kept. */
	for (int i = 0; r < 0 && i < NP / 2; i++) {
		char *p = x->r.addr + i * x->r.page;
		int zero = p[0] == 0 && !memcmp(p, p + 1, x->r.page - 1);
		if (t_check(p, x->r.page, ORIG(i)))
			x->want[i] = ORIG(i);
		else if (x->env->mem == T_MEMFD_PRIVATE ? zero : t_check(p, x->r.page, SRV(i)))
			x->want[i] = zero ? ZERO : SRV(i);
		else
			T_FAIL("dontneed failed: page %d reads neither its content nor a drop", i);
	}
}

static long long op_munmap(struct rig *x, __s64 *res)
{
	(void)res;
	return uf_munmap(x->r.addr + 6 * x->r.page, 2 * x->r.page);
}
static void after_munmap(struct rig *x, long long r, __s64 res)
{
	(void)res;
	/* Done: the pages are gone (not probed: a new mapping may take the
	 * hole at once).  Failed: they are still there, registered, and
	 * read what they should (rig_check). */
	for (int i = 6; r == 0 && i < NP; i++) {
		x->want[i] = GONE;
		x->missing[i] = 0;
	}
}

static const struct sweep fills[] = {
	{ "copy", F_MODE_M, 0, INJ_MEMORY, ENOMEM, op_copy, after_copy, E_FILL, NULL },
	{ "zeropage", F_MODE_M, 0, INJ_MEMORY, ENOMEM, op_zeropage, after_zeropage, E_FILL, NULL },
	{ "poison", F_MODE_M, UFFD_FEATURE_POISON, INJ_MEMORY, ENOMEM, op_poison, after_poison, E_FILL, NULL },
	{ "continue", F_MODE_MINOR, 0, INJ_MEMORY, ENOMEM, op_continue, after_continue, E_FILL,
	  setup_continue },
	{ "copy+wp", F_MODE_M | F_MODE_WP, 0, INJ_MEMORY, ENOMEM, op_copy, after_copy, E_FILL, NULL },
	{ "copy MODE_WP", F_MODE_M | F_MODE_WP, 0, INJ_MEMORY, ENOMEM, op_copy_wp, after_copy, E_FILL,
	  NULL },
	{ "register", F_MODE_M, 0, INJ_MEMORY, ENOMEM, op_register, NULL, E_MEM, NULL },
	{ "unregister", F_MODE_M, 0, INJ_MEMORY, ENOMEM, op_unregister, after_unregister, E_MEM, NULL },
	{ "writeprotect", F_MODE_M | F_MODE_WP, 0, INJ_MEMORY, ENOMEM, op_wp, after_wp, E_MEM, NULL },
	{ "madvise", F_MODE_M, UFFD_FEATURE_EVENT_REMOVE, INJ_MEMORY, ENOMEM, op_dontneed,
	  after_dontneed, E_MEM, NULL },
	/* munmap(2) itself failing is test_munmap_late's. */
	{ "munmap", F_MODE_M, UFFD_FEATURE_EVENT_UNMAP, INJ_MEMORY & ~INJ_BIT(INJ_MUNMAP), ENOMEM,
	  op_munmap, after_munmap, E_MEM, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

static void test_ops(const struct t_env *env)
{
	need_user(env);
	for (const struct sweep *s = fills; s->name; s++) {
		if (((s->mode & F_MODE_WP) && !f_mode_ok(env->mem, F_MODE_WP)) ||
		    ((s->mode & F_MODE_MINOR) && !f_mode_ok(env->mem, F_MODE_MINOR)))
			continue;
		run_sweep(env, s, 1);
		run_sweep(env, s, 0);
	}
}

/* MOVE (private anonymous memory only): pages 0..3 moved onto the missing
 * pages 4..7, from the registration itself or from plain private anonymous
 * memory outside the engine.  Each page is moved or stays where it was:
 * a moved page reads its content at dst and its source is empty (a missing
 * page there: faults, or zeros outside the engine). */
static char *plain_src;		/* the plain source of the running sweep */

static long long op_move_engine(struct rig *x, __s64 *res)
{
	return uf_move(x->fd, x->r.addr + 4 * x->r.page, x->r.addr, 4 * x->r.page, 0, res);
}
static void after_move_engine(struct rig *x, long long r, __s64 res)
{
	after_fill(x, r, res, seed_src);
	for (int i = 4; i < NP; i++) {
		if (x->want[i] != SRC(i))
			continue;	/* not moved: dst still missing, src as before */
		x->want[i] = ORIG(i - 4);
		x->want[i - 4] = SRV(i - 4);	/* empty, registered MISSING: faults */
		x->missing[i - 4] = 1;
	}
}

static long long op_move_plain(struct rig *x, __s64 *res)
{
	inj_thread(0);		/* armed for the move alone */
	plain_src = t_buffer(4 * x->r.page, 0);
	for (int i = 0; i < 4; i++)
		t_fill(plain_src + i * x->r.page, x->r.page, SRC(i + 4));
	inj_thread(1);
	return uf_move(x->fd, x->r.addr + 4 * x->r.page, plain_src, 4 * x->r.page, 0, res);
}
static void after_move_plain(struct rig *x, long long r, __s64 res)
{
	after_fill(x, r, res, seed_src);
	for (int i = 4; i < NP; i++) {
		char *p = plain_src + (i - 4) * x->r.page;
		int moved = x->want[i] == SRC(i);
		if (moved ? p[0] != 0 || memcmp(p, p + 1, x->r.page - 1) : !t_check(p, x->r.page, SRC(i)))
			T_FAIL("move from plain memory: source page %d %s", i - 4,
			       moved ? "not empty after its move" : "changed without a move");
	}
	munmap(plain_src, 4 * x->r.page);
	plain_src = NULL;
}

/* The sources write-protected: their protection goes with the move. */
static void setup_wp_src(struct rig *x)
{
	T_OK(uf_writeprotect(x->fd, x->r.addr, 4 * x->r.page, UFFDIO_WRITEPROTECT_MODE_WP));
}

static const struct sweep moves[] = {
	{ "move (engine to engine)", F_MODE_M, UFFD_FEATURE_MOVE, INJ_MEMORY, ENOMEM, op_move_engine,
	  after_move_engine, E_FILL, NULL },
	{ "move (plain memory in)", F_MODE_M, UFFD_FEATURE_MOVE, INJ_MEMORY, ENOMEM, op_move_plain,
	  after_move_plain, E_FILL, NULL },
	{ "move+wp (engine to engine)", F_MODE_M | F_MODE_WP, UFFD_FEATURE_MOVE, INJ_MEMORY, ENOMEM,
	  op_move_engine, after_move_engine, E_FILL, setup_wp_src },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

static void test_move(const struct t_env *env)
{
	need_user(env);
	for (const struct sweep *s = moves; s->name; s++) {
		run_sweep(env, s, 1);
		run_sweep(env, s, 0);
	}
}

static sigjmp_buf segv_jmp;
static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(segv_jmp, 1);
}

/* 1 if reading addr raises SIGSEGV (our handler in front meanwhile). */
static int probe_segv(volatile char *addr)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_segv;
	sigemptyset(&sa.sa_mask);
	T_SYS(sigaction(SIGSEGV, &sa, &old));
	int hit = 0;
	if (sigsetjmp(segv_jmp, 1) == 0)
		(void)*addr;
	else
		hit = 1;
	T_SYS(sigaction(SIGSEGV, &old, NULL));
	return hit;
}

/* uf_munmap() whose munmap(2) fails (ENOMEM: the split would pass
 * vm.max_map_count).  The engine has forgotten the range by then (so that
 * no fault can find a segment for memory that may be gone), and cannot take
 * it back: the call fails with ENOMEM and no UNMAP event, the pages stay
 * mapped, but a page still hidden is the program's own SIGSEGV (and private
 * memory's content, kept in the engine's file, is freed).  Pinned as docs/LIMITATIONS.md says. */
static void test_munmap_late(const struct t_env *env)
{
	need_user(env);
	long calls = 0;
	for (int pass = 0; pass < 2; pass++) {
		struct rig x;
		rig_open(&x, env, F_MODE_M, UFFD_FEATURE_EVENT_UNMAP);
		(void)*(volatile char *)x.r.addr;	/* the chunk opens */
		inj_thread(1);
		inj_arm(INJ_BIT(INJ_MUNMAP), pass ? calls : 0, 1, ENOMEM, INJ_ARMED);
		int r = uf_munmap(x.r.addr + 2 * x.r.page, 4 * x.r.page);
		inj_disarm();
		inj_thread(0);
		if (!pass) {
			T_OK(r);
			calls = inj_seen();
			T_ASSERT(calls > 0);
			for (int i = 2; i < 6; i++)
				x.want[i] = GONE;
			rig_check(&x, "munmap");
			rig_close(&x);
			continue;
		}
		T_EQ(r, -ENOMEM);
		T_EQ(inj_failed(), 1);
		/* Still mapped (no other mapping can have taken the range). */
		for (int i = 2; i < 6; i++) {
			unsigned char v;
			T_SYS(mincore(x.r.addr + i * x.r.page, x.r.page, &v));
		}
		T_ASSERT(probe_segv(x.r.addr + 4 * x.r.page));
		for (int i = 2; i < 6; i++)
			x.want[i] = UNKNOWN;	/* as above */
		rig_check(&x, "munmap failed");
		rig_close(&x);
	}
}

/* ------------------------------------------------------------------------ */
/* The fault path and its wait                                              */

struct toucher {
	char *addr[2];
	int arm;
	atomic_int done;
	t_thread th;
};

static void *touch_main(void *arg)
{
	struct toucher *t = arg;
	inj_thread(t->arm);
	for (int i = 0; i < 2; i++)
		if (t->addr[i])
			(void)*(volatile char *)t->addr[i];
	inj_thread(0);
	atomic_store(&t->done, 1);
	return NULL;
}

static void touch_start(struct toucher *t, char *a, char *b, int arm)
{
	memset(t, 0, sizeof(*t));
	t->addr[0] = a;
	t->addr[1] = b;
	t->arm = arm;
	t_spawn(&t->th, touch_main, t);
}

/* Gets through within ms (else the case fails: a hang). */
static void touch_finish(struct toucher *t, unsigned ms, const char *what)
{
	for (unsigned n = 0; !atomic_load(&t->done); n++) {
		if (n >= ms)
			T_FAIL("%s: the faulting thread did not get through in %u ms", what, ms);
		t_msleep(1);
	}
	t_join(&t->th);
}

struct fault_plan { const char *name; unsigned long long mask; int err; long times; };

static const struct fault_plan fault_plans[] = {
	{ "memory ENOMEM", INJ_MEMORY, ENOMEM, 1 },
	{ "doorbell ENOBUFS", INJ_BIT(INJ_SEND) | INJ_BIT(INJ_RECV), ENOBUFS, 1 },
	{ "futex EINTR", INJ_BIT(INJ_FUTEX_WAIT), EINTR, 1 },
	{ "futex EAGAIN", INJ_BIT(INJ_FUTEX_WAIT), EAGAIN, 1 },
	/* Every wait interrupted: the waiter must retry, not give up. */
	{ "futex EINTR always", INJ_BIT(INJ_FUTEX_WAIT), EINTR, 0 },
	{ NULL, 0, 0, 0 },
};

/* The first touches of a registration: a populated page (opens the chunk)
 * then a missing one (a MISSING fault, served by the rig's thread). */
static void test_fault_path(const struct t_env *env)
{
	need_user(env);
	for (const struct fault_plan *p = fault_plans; p->name; p++) {
		long k;
		for (k = 1; k <= MAX_K; k++) {
			struct rig x;
			rig_open(&x, env, F_MODE_M, 0);
			inj_arm(p->mask, k, p->times, p->err, INJ_ARMED);
			struct toucher t;
			touch_start(&t, x.r.addr + x.r.page, x.r.addr + 5 * x.r.page, 1);
			touch_finish(&t, 5000, p->name);
			inj_disarm();
			long failed = inj_failed(), seen = inj_seen();
			rig_check(&x, p->name);
			rig_close(&x);
			if (!failed || p->times == 0) {
				t_log("fault path, %s: %ld injectable calls (%ld failed)", p->name, seen,
				      failed);
				break;
			}
		}
		if (k > MAX_K)
			T_FAIL("%s: still making calls after %d", p->name, MAX_K);
	}
}

/* The doorbell's datagram still on its way when a reader takes the fault
 * (the faulting thread was preempted between deciding to ring and its
 * send): the reader waits for it and takes it back, so the descriptor is
 * not left readable with nothing to read.  (handler.c poll_with_handler saw
 * that POLLIN once, in CI.)  Here the send fails with ENOBUFS, which the
 * faulting thread retries, until a thread lets it through 30 ms on. */
static void *let_send_through(void *arg)
{
	(void)arg;
	for (int n = 0; inj_seen() == 0 && n < 5000; n++)
		t_msleep(1);
	t_msleep(30);
	inj_disarm();
	return NULL;
}

static void test_bell_in_flight(const struct t_env *env)
{
	need_user(env);
	struct t_region r;
	t_region_map(env, 1, &r);
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, UFFDIO_REGISTER_MODE_MISSING, NULL));
	inj_arm(INJ_BIT(INJ_SEND), 1, 0, ENOBUFS, INJ_ANY_THREAD);
	t_thread rel;
	t_spawn(&rel, let_send_through, NULL);
	struct toucher t;
	touch_start(&t, r.addr, NULL, 0);

	struct uffd_msg m;
	ssize_t n;
	for (int i = 0; (n = uf_read(fd, &m, 1)) == -EAGAIN; i++) {
		if (i >= 5000)
			T_FAIL("the fault was never pending");
		t_msleep(1);
	}
	T_EQ(n, 1);
	T_EQX(m.arg.pagefault.address, (__u64)(uintptr_t)r.addr);
	t_join(&rel);
	T_ASSERT(inj_failed() > 0);	/* the send really was held back */
	struct pollfd p = { .fd = fd, .events = POLLIN };
	T_EQ(poll(&p, 1, 0), 0);

	char *src = t_buffer(r.page, 7);
	T_OK(uf_copy(fd, r.addr, src, r.page, 0, NULL));
	touch_finish(&t, 5000, "bell in flight");
	T_ASSERT(t_check(r.addr, r.page, 7));
	T_EQ(poll(&p, 1, 0), 0);
	T_OK(uf_close(fd));
	munmap(src, r.page);
	t_region_unmap(&r);
}

/* ------------------------------------------------------------------------ */
/* Release                                                                  */

/* A thread in uf_madvise(DONTNEED) with EVENT_REMOVE: it waits until the
 * event is read, or the context released. */
struct dropper {
	char *addr;
	size_t len;
	atomic_int done;
	t_thread th;
};

static void *drop_main(void *arg)
{
	struct dropper *d = arg;
	uf_madvise(d->addr, d->len, MADV_DONTNEED);
	atomic_store(&d->done, 1);
	return NULL;
}

struct release_plan { const char *name; unsigned long long mask; int err; long times; };

static const struct release_plan release_plans[] = {
	/* What allocates, polls, sends and wakes (futex wakes are syscall()). */
	{ "calls ENOMEM", INJ_MEMORY | INJ_BIT(INJ_POLL) | INJ_BIT(INJ_EPOLL_CTL) | INJ_BIT(INJ_SEND) |
	  INJ_BIT(INJ_RECV) | INJ_BIT(INJ_SENDMSG) | INJ_BIT(INJ_RECVMSG) | INJ_BIT(INJ_SYSCALL),
	  ENOMEM, 1 },
	/* The waits: uf_close() waiting for the engine thread's release, the
	 * engine thread's epoll_wait, the faulting and dropping threads. */
	{ "waits EINTR", INJ_BIT(INJ_FUTEX_WAIT) | INJ_BIT(INJ_EPOLL_WAIT), EINTR, 1 },
	{ "waits EINTR always", INJ_BIT(INJ_FUTEX_WAIT) | INJ_BIT(INJ_EPOLL_WAIT), EINTR, 0 },
	{ NULL, 0, 0, 0 },
};

/* uf_close() with a thread waiting on a fault nobody serves and one waiting
 * for its REMOVE event to be read: whatever call of the release fails (on
 * this thread or the engine's, whichever sees the last close first), both
 * get through and the memory becomes ordinary: pages written before keep
 * their content, a page filled by COPY keeps it, missing pages read zeros,
 * write-protected ones become writable, writes stick. */
static void test_release(const struct t_env *env)
{
	need_user(env);
	int wp = f_mode_ok(env->mem, F_MODE_WP);
	__u64 mode = F_MODE_M | (wp ? F_MODE_WP : 0);
	for (const struct release_plan *p = release_plans; p->name; p++) {
		long k;
		for (k = 1; k <= MAX_K; k++) {
			struct rig x;
			rig_open(&x, env, mode, UFFD_FEATURE_EVENT_REMOVE);
			atomic_store(&x.stop, 1);
			t_join(&x.srv);
			if (wp)
				T_OK(uf_writeprotect(x.fd, x.r.addr, 2 * x.r.page,
						     UFFDIO_WRITEPROTECT_MODE_WP));
			char *src = t_buffer(x.r.page, 0);
			t_fill(src, x.r.page, SRC(4));
			T_OK(uf_copy(x.fd, x.r.addr + 4 * x.r.page, src, x.r.page, 0, NULL));
			munmap(src, x.r.page);
			struct toucher t;
			touch_start(&t, x.r.addr + 5 * x.r.page, NULL, 0);
			struct dropper d = { .addr = x.r.addr + 7 * x.r.page, .len = x.r.page };
			t_spawn(&d.th, drop_main, &d);
			t_msleep(5);
			T_ASSERT(!atomic_load(&t.done));
			T_ASSERT(!atomic_load(&d.done));
			inj_thread(1);
			inj_arm(p->mask, k, p->times, p->err, INJ_ANY_THREAD);
			T_OK(uf_close(x.fd));
			inj_disarm();
			inj_thread(0);
			long failed = inj_failed(), seen = inj_seen();
			if (failed)
				t_log("release, %s: call %ld (%s) failed", p->name, k,
				      inj_name(inj_failed_fn()));
			touch_finish(&t, 5000, "release");
			for (int n = 0; !atomic_load(&d.done); n++) {
				if (n > 5000)
					T_FAIL("release, %s, call %ld: the dropping thread hangs", p->name, k);
				t_msleep(1);
			}
			t_join(&d.th);
			for (int i = 0; i < NP; i++) {
				char *q = x.r.addr + i * x.r.page;
				int ok = i < NP / 2 ? t_check(q, x.r.page, ORIG(i))
					 : i == 4   ? t_check(q, x.r.page, SRC(4))
						    : q[0] == 0 && !memcmp(q, q + 1, x.r.page - 1);
				if (!ok)
					T_FAIL("release, %s, call %ld failed: page %d wrong", p->name, k, i);
				q[1] = 0x5a;
				T_EQ(q[1], 0x5a);
			}
			t_region_unmap(&x.r);
			if (!failed || p->times == 0) {
				t_log("release, %s: %ld injectable calls", p->name, seen);
				break;
			}
		}
		if (k > MAX_K)
			T_FAIL("release: still making calls after %d", MAX_K);
	}
}

/* ------------------------------------------------------------------------ */
/* Another process using the descriptor (serve.c, remote.c)                 */

enum side { TARGET, MONITOR };

/* What the monitor did, sent back to the target. */
struct xreport {
	long long copy, zeropage, wp, read, wake, again;
	__s64 copy_res, zeropage_res;
	long failed, seen;
	int failed_fn;
};

/* The monitor: a forked child using its inherited copy of the descriptor,
 * which reaches the target's engine thread over a channel (remote.c).
 * Waits for the go, runs the script (its own k-th call failing when it is
 * the side injected), reports, then after a second go makes one more COPY,
 * which must work: a failure earlier must not have spoiled the channel. */
static void xmonitor(int sock, int fd, char *base, size_t page, int wp, enum side side, long k,
		     unsigned long long mask)
{
	struct xreport rep;
	memset(&rep, 0, sizeof(rep));
	char go;
	if (read(sock, &go, 1) != 1)
		_exit(2);
	char *src = malloc(3 * page);
	if (!src)
		_exit(3);
	for (int i = 4; i < 6; i++)
		t_fill(src + (i - 4) * page, page, SRC(i));
	t_fill(src + 2 * page, page, SRC(7));
	if (side == MONITOR) {
		inj_thread(1);
		inj_arm(mask, k, 1, ENOMEM, INJ_ARMED);
	}
	rep.copy_res = rep.zeropage_res = F_SENTINEL;
	rep.copy = uf_copy(fd, base + 4 * page, src, 2 * page, 0, &rep.copy_res);
	rep.zeropage = uf_zeropage(fd, base + 6 * page, page, 0, &rep.zeropage_res);
	rep.wp = wp ? uf_writeprotect(fd, base, 2 * page, UFFDIO_WRITEPROTECT_MODE_WP) : 0;
	struct uffd_msg m;
	rep.read = uf_read(fd, &m, 1);
	rep.wake = uf_wake(fd, base, 8 * page);
	if (side == MONITOR) {
		inj_disarm();
		inj_thread(0);
		rep.failed = inj_failed();
		rep.seen = inj_seen();
		rep.failed_fn = inj_failed_fn();
	}
	if (write(sock, &rep, sizeof(rep)) != sizeof(rep) || read(sock, &go, 1) != 1)
		_exit(4);
	rep.again = uf_copy(fd, base + 7 * page, src + 2 * page, page, 0, NULL);
	if (write(sock, &rep, sizeof(rep)) != sizeof(rep))
		_exit(5);
	_exit(0);
}

static void check_op(const char *what, long long r, const int *ok, long k, const struct xreport *rep)
{
	if (!plausible(r, ok))
		T_FAIL("%s: call %ld (%s) failing: returned %lld (%s)", what, k,
		       rep->failed_fn >= 0 ? inj_name(rep->failed_fn) : "?", r, r < 0 ? strerror((int)-r) : "");
}

/* A monitor's requests served while calls fail on one side: the target's
 * engine thread (serve.c: the hello, receiving, running, replying) or the
 * monitor's library (remote.c: the hello, sending, waiting).  Each request
 * succeeds or fails with an errno the kernel's ioctl or read could give,
 * the next request works, and every page reads what the results say. */
static void xproc_sweep(const struct t_env *env, enum side side, unsigned long long mask, int err)
{
	int wp = f_mode_ok(env->mem, F_MODE_WP);
	__u64 mode = F_MODE_M | (wp ? F_MODE_WP : 0);
	static const int e_read[] = { EAGAIN, ENOMEM, 0 };
	long k;
	for (k = 1; k <= MAX_K; k++) {
		struct rig x;
		rig_open(&x, env, mode, 0);
		atomic_store(&x.stop, 1);	/* nothing faults until the check */
		t_join(&x.srv);
		int sv[2];
		T_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
		pid_t pid = fork();
		T_SYS(pid);
		if (pid == 0) {
			close(sv[0]);
			xmonitor(sv[1], x.fd, x.r.addr, x.r.page, wp, side, k, mask);
		}
		close(sv[1]);
		if (side == TARGET)
			inj_arm(mask, k, 1, err, INJ_ANY_THREAD);
		struct xreport rep;
		T_EQ(write(sv[0], "g", 1), 1);
		T_EQ(read(sv[0], &rep, sizeof(rep)), (ssize_t)sizeof(rep));
		if (side == TARGET) {
			inj_disarm();
			rep.failed = inj_failed();
			rep.seen = inj_seen();
			rep.failed_fn = inj_failed_fn();
		}
		if (rep.failed)
			t_log("%s side: call %ld (%s) failed: copy %lld (res %lld) zeropage %lld wp %lld "
			      "read %lld wake %lld", side == TARGET ? "target" : "monitor", k,
			      inj_name(rep.failed_fn), rep.copy, (long long)rep.copy_res, rep.zeropage,
			      rep.wp, rep.read, rep.wake);
		else if (rep.copy || rep.zeropage || rep.wp || rep.read != -EAGAIN || rep.wake)
			T_FAIL("nothing injected: copy %lld zeropage %lld wp %lld read %lld wake %lld",
			       rep.copy, rep.zeropage, rep.wp, rep.read, rep.wake);
		check_op("copy", rep.copy, E_FILL, k, &rep);
		check_op("zeropage", rep.zeropage, E_FILL, k, &rep);
		check_op("writeprotect", rep.wp, E_MEM, k, &rep);
		check_op("read", rep.read, e_read, k, &rep);
		check_op("wake", rep.wake, E_MEM, k, &rep);
		T_EQ(write(sv[0], "g", 1), 1);
		struct xreport rep2;
		T_EQ(read(sv[0], &rep2, sizeof(rep2)), (ssize_t)sizeof(rep2));
		if (rep2.again != 0)
			T_FAIL("call %ld (%s) failed earlier: the next COPY returned %lld", k,
			       inj_name(rep.failed_fn), rep2.again);
		int st;
		T_SYS(waitpid(pid, &st, 0));
		T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		close(sv[0]);
		/* The model: what the results say was done. */
		long long len = 2 * (long long)x.r.page, done = 0;
		if (rep.copy == 0) {
			T_EQ(rep.copy_res, len);
			done = len;
		} else if (rep.copy_res > 0 && rep.copy_res != F_SENTINEL) {
			/* (a failure in the monitor before the request reached the
			 * target leaves the field as it was) */
			T_EQ(rep.copy, -EAGAIN);
			T_ASSERT(rep.copy_res < len && rep.copy_res % (long long)x.r.page == 0);
			done = rep.copy_res;
		}
		for (int i = 4; i < 4 + done / (long long)x.r.page; i++) {
			x.want[i] = SRC(i);
			x.missing[i] = 0;
		}
		if (rep.zeropage == 0) {
			x.want[6] = ZERO;
			x.missing[6] = 0;
		}
		x.want[7] = SRC(7);
		x.missing[7] = 0;
		atomic_store(&x.stop, 0);
		t_spawn(&x.srv, serve, &x);
		for (int i = 0; wp && i < 2; i++) {
			volatile char *q = x.r.addr + i * x.r.page;
			int before = atomic_load(&x.wp_faults);
			q[0] = (char)(q[0] ^ 0xff);
			q[0] = (char)(q[0] ^ 0xff);
			int took = atomic_load(&x.wp_faults) - before;
			if (rep.wp == 0 ? took != 1 : took > 1)
				T_FAIL("call %ld: writeprotect returned %lld, a write took %d WP faults", k,
				       rep.wp, took);
		}
		rig_check(&x, side == TARGET ? "serve (target side)" : "serve (monitor side)");
		rig_close(&x);
		if (!rep.failed) {
			t_log("%s side: %ld injectable calls, each failed once",
			      side == TARGET ? "target" : "monitor", rep.seen);
			return;
		}
	}
	T_FAIL("still making calls after %d", MAX_K);
}

/* The monitor's argument and source reads (process_vm_readv) are left out:
 * a failure there is EFAULT, a bad pointer (see inject.h). */
#define XPROC_CALLS	(INJ_ALL & ~(INJ_BIT(INJ_FUTEX_WAIT) | INJ_BIT(INJ_EPOLL_WAIT) |		\
				     INJ_BIT(INJ_PTHREAD_CREATE) | INJ_BIT(INJ_PROCESS_VM_READV) |	\
				     INJ_BIT(INJ_PROCESS_VM_WRITEV)))

static void test_serve_target(const struct t_env *env)
{
	need_user(env);
	xproc_sweep(env, TARGET, XPROC_CALLS, ENOMEM);
	xproc_sweep(env, TARGET, INJ_BIT(INJ_EPOLL_WAIT), EINTR);
}

static void test_serve_monitor(const struct t_env *env)
{
	need_user(env);
	xproc_sweep(env, MONITOR, XPROC_CALLS, ENOMEM);
}

/* ------------------------------------------------------------------------ */
/* Open                                                                     */

static int count_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* The engine's end of a released context closes with its last reference,
 * which the engine thread may hold a moment longer (seconds on a loaded
 * machine under ThreadSanitizer). */
static void wait_fds(int most)
{
	for (int n = 0; count_fds() > most; n++) {
		if (n > 10000)
			T_FAIL("%d descriptors open, at most %d expected", count_fds(), most);
		t_msleep(1);
	}
}

/* One uf_open() with its k-th call failing: a clean -errno and no
 * descriptor left behind, or a context that works.  1 if a call failed. */
static int open_once(const struct t_env *env, unsigned long long mask, int err, long k)
{
	/* The engine thread's epoll set and kick counter, made once for the
	 * process, are the only descriptors that may stay. */
	int before = count_fds() + 2;
	struct uf_open_opts o = UF_OPEN_OPTS_INIT;
	o.engine = UF_ENGINE_USER;
	o.no_fallback = UF_FALLBACK_ALL;
	inj_thread(1);
	inj_arm(mask, k, 1, err, INJ_ARMED);
	int fd = uf_open(O_CLOEXEC | O_NONBLOCK, &o);
	inj_disarm();
	inj_thread(0);
	long failed = inj_failed(), seen = inj_seen();
	if (failed)
		t_log("open: call %ld (%s) failed: %d", k, inj_name(inj_failed_fn()), fd);
	else
		t_log("open (%s): %ld injectable calls", strerror(err), seen);
	if (fd < 0) {
		T_ASSERT(failed);
		/* userfaultfd(2)'s own errors when out of memory or descriptors. */
		if (fd != -err && fd != -ENOMEM && fd != -EMFILE && fd != -ENFILE)
			T_FAIL("open, call %ld (%s) failed: %s", k, inj_name(inj_failed_fn()),
			       strerror(-fd));
		wait_fds(before);
		return 1;
	}
	/* It works: faults served, then released. */
	struct rig x;
	memset(&x, 0, sizeof(x));
	x.env = env;
	x.mode = F_MODE_M;
	x.fd = fd;
	T_OK(uf_api(fd, 0, NULL, NULL));
	t_region_map(env, NP, &x.r);
	for (int i = 0; i < NP; i++) {
		x.want[i] = SRV(i);
		x.missing[i] = 1;
	}
	T_OK(uf_register(fd, x.r.addr, x.r.len, F_MODE_M, NULL));
	t_spawn(&x.srv, serve, &x);
	rig_check(&x, "open");
	rig_close(&x);
	wait_fds(before);
	return failed > 0;
}

/* uf_open() as the first in a process (the system check and the engine
 * thread's start included), each k in a fresh child process. */
static void test_open(const struct t_env *env)
{
	need_user(env);
	static const struct { unsigned long long mask; int err; } plans[] = {
		{ INJ_ALL & ~INJ_BIT(INJ_PTHREAD_CREATE), ENOMEM },
		{ INJ_BIT(INJ_PTHREAD_CREATE), EAGAIN },
	};
	for (size_t p = 0; p < sizeof(plans) / sizeof(plans[0]); p++) {
		long k;
		for (k = 1; k <= MAX_K; k++) {
			pid_t pid = fork();
			T_SYS(pid);
			if (pid == 0)
				_exit(open_once(env, plans[p].mask, plans[p].err, k) ? 11 : 10);
			int st;
			T_SYS(waitpid(pid, &st, 0));
			if (!WIFEXITED(st) || (WEXITSTATUS(st) != 10 && WEXITSTATUS(st) != 11))
				T_FAIL("open, call %ld failing: the child ended with status 0x%x", k, st);
			if (WEXITSTATUS(st) == 10)
				break;
		}
		if (k > MAX_K)
			T_FAIL("open: still making calls after %d", MAX_K);
	}
}

/* ------------------------------------------------------------------------ */
/* Signals arriving mid-fault (both engines)                                */

static atomic_int sig_count;
static void on_sig(int sig)
{
	(void)sig;
	atomic_fetch_add(&sig_count, 1);
}

static void install(int sig, int restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	T_SYS(sigaction(sig, &sa, NULL));
}

struct storm {
	pthread_t target;
	atomic_int stop;
	atomic_int sent;
	t_thread th;
};

/* SIGUSR1 and SIGALRM, alternately, every 50 us until stopped. */
static void *storm_main(void *arg)
{
	struct storm *s = arg;
	while (!atomic_load(&s->stop)) {
		int n = atomic_fetch_add(&s->sent, 1);
		pthread_kill(s->target, n & 1 ? SIGALRM : SIGUSR1);
		struct timespec ts = { 0, 50000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void storm_start(struct storm *s, unsigned long target)
{
	memset(s, 0, sizeof(*s));
	s->target = (pthread_t)target;
	t_spawn(&s->th, storm_main, s);
}

static void storm_stop(struct storm *s)
{
	atomic_store(&s->stop, 1);
	t_join(&s->th);
}

/* A thread faulting on a missing page, signalled all the time while its
 * fault waits 100 ms for the server: it gets the page's content, once, and
 * its handlers ran. */
static void storm_at_faulting(const struct t_env *env, int restart)
{
	install(SIGUSR1, restart);
	install(SIGALRM, restart);
	int fd = f_uffd(env, F_MODE_M, 0);
	struct t_region r;
	t_region_map(env, 4, &r);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	struct toucher t;
	touch_start(&t, r.addr + r.page, NULL, 0);
	struct uffd_msg m;
	f_expect_fault(fd, 2000, &m);
	struct storm s;
	storm_start(&s, t.th.id);
	t_msleep(100);
	T_ASSERT(!atomic_load(&t.done));
	/* The kernel runs the handlers during the wait (and retries the
	 * access); the user engine's thread waits inside its SIGSEGV
	 * handler with signals blocked: they run once the page is there
	 * (docs/LIMITATIONS.md). */
	int during = atomic_load(&sig_count);
	if (env->engine == UF_ENGINE_KERNEL)
		T_ASSERT(during > 0);
	else
		T_EQ(during, 0);
	char *src = t_buffer(r.page, 0);
	t_fill(src, r.page, SRV(1));
	T_OK(uf_copy(fd, r.addr + r.page, src, r.page, 0, NULL));
	touch_finish(&t, 5000, "signal storm");
	storm_stop(&s);
	T_ASSERT(t_check(r.addr + r.page, r.page, SRV(1)));
	T_ASSERT(atomic_load(&sig_count) > 0);
	/* A signal interrupts the kernel's wait: the fault is retried and may
	 * be queued again; every such message is for the same page, and
	 * resolving it again finds the page there. */
	int extra = 0;
	while (f_read_msg(fd, &m, 20)) {
		T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + r.page));
		T_ERR(uf_copy(fd, r.addr + r.page, src, r.page, 0, NULL), -EEXIST);
		extra++;
	}
	t_log("%d signals sent, %d handled, %d messages again", atomic_load(&s.sent),
	      atomic_load(&sig_count), extra);
	uf_close(fd);
	munmap(src, r.page);
	t_region_unmap(&r);
}

static void test_storm_fault_restart(const struct t_env *env) { storm_at_faulting(env, 1); }
static void test_storm_fault_norestart(const struct t_env *env) { storm_at_faulting(env, 0); }

struct reader {
	int fd;
	atomic_int eintr, got;
	struct uffd_msg m;
	t_thread th;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	for (;;) {
		ssize_t n = uf_read(rd->fd, &rd->m, 1);
		if (n == -EINTR) {
			atomic_fetch_add(&rd->eintr, 1);
			continue;
		}
		if (n == 1) {
			atomic_store(&rd->got, 1);
			return NULL;
		}
		T_FAIL("blocking read: %zd (%s)", n, n < 0 ? strerror((int)-n) : "");
	}
}

/* A handler thread in a blocking read, signalled all the time: with
 * SA_RESTART the read goes on waiting, without it returns EINTR, as the
 * kernel's read does; either way the next fault's message is read. */
static void storm_at_reader(const struct t_env *env, int restart)
{
	install(SIGUSR1, restart);
	install(SIGALRM, restart);
	__u64 feats = f_mode_features(env->mem, F_MODE_M);
	int fd = t_uffd(env, O_CLOEXEC, feats);	/* blocking */
	struct t_region r;
	t_region_map(env, 4, &r);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	struct reader rd;
	memset(&rd, 0, sizeof(rd));
	rd.fd = fd;
	t_spawn(&rd.th, reader_main, &rd);
	struct storm s;
	storm_start(&s, rd.th.id);
	t_msleep(50);
	T_ASSERT(!atomic_load(&rd.got));
	struct toucher t;
	touch_start(&t, r.addr + 2 * r.page, NULL, 0);
	for (int n = 0; !atomic_load(&rd.got); n++) {
		if (n > 5000)
			T_FAIL("the reader did not get the fault's message");
		t_msleep(1);
	}
	storm_stop(&s);
	t_join(&rd.th);
	T_EQX(F_MSG_ADDR(&rd.m), f_ul(r.addr + 2 * r.page));
	char *src = t_buffer(r.page, 0);
	t_fill(src, r.page, SRV(2));
	T_OK(uf_copy(fd, r.addr + 2 * r.page, src, r.page, 0, NULL));
	touch_finish(&t, 5000, "reader storm");
	T_ASSERT(t_check(r.addr + 2 * r.page, r.page, SRV(2)));
	t_log("%d signals sent, %d handled, %d reads returned EINTR", atomic_load(&s.sent),
	      atomic_load(&sig_count), atomic_load(&rd.eintr));
	if (restart)
		T_EQ(atomic_load(&rd.eintr), 0);
	else
		T_ASSERT(atomic_load(&rd.eintr) > 0);
	uf_close(fd);
	munmap(src, r.page);
	t_region_unmap(&r);
}

static void test_storm_read_restart(const struct t_env *env) { storm_at_reader(env, 1); }
static void test_storm_read_norestart(const struct t_env *env) { storm_at_reader(env, 0); }

/* ------------------------------------------------------------------------ */
/* The handler process killed (both engines)                                */

#define KP	64	/* pages the touchers walk */
#define KT	3	/* touchers */

/* The monitor: serves every fault with SRV(page) until killed. */
static void monitor(int sock, size_t page)
{
	int fd = t_recv_fd(sock);
	if (fd < 0)
		_exit(2);
	char *base;
	if (read(sock, &base, sizeof(base)) != sizeof(base))
		_exit(3);
	char *buf = malloc(page);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 1000) < 0)
			_exit(4);
		struct uffd_msg m;
		if (uf_read(fd, &m, 1) != 1 || m.event != UFFD_EVENT_PAGEFAULT)
			continue;
		unsigned long a = F_MSG_ADDR(&m) & ~(unsigned long)(page - 1);
		t_fill(buf, page, SRV((a - (unsigned long)base) / page));
		uf_copy(fd, (void *)a, buf, page, 0, NULL);
	}
}

struct walker {
	char *base;
	size_t page;
	int first;
	atomic_int done;
	t_thread th;
};

static void *walk_main(void *arg)
{
	struct walker *w = arg;
	for (int i = 0; i < KP; i++)
		(void)*(volatile char *)(w->base + (size_t)((i + w->first) % KP) * w->page);
	atomic_store(&w->done, 1);
	return NULL;
}

/* The process serving the faults dies at a random point of its loop (in a
 * read, between a message and its COPY, inside a COPY request): the target
 * had closed its own copy of the descriptor, so that is the release.  Every
 * faulting thread gets through, and every page reads either the monitor's
 * whole fill or zeros, never part of one. */
static void test_handler_killed(const struct t_env *env)
{
	unsigned seed = (unsigned)time(NULL);
	t_log("seed %u", seed);
	for (int round = 0; round < 12; round++) {
		int sv[2];
		T_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
		struct t_region r;
		t_region_map(env, KP, &r);
		pid_t pid = fork();
		T_SYS(pid);
		if (pid == 0) {
			close(sv[0]);
			monitor(sv[1], r.page);
		}
		close(sv[1]);
		int fd = f_uffd(env, F_MODE_M, 0);
		T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
		T_SYS(t_send_fd(sv[0], fd));
		T_EQ(write(sv[0], &r.addr, sizeof(r.addr)), (ssize_t)sizeof(r.addr));
		T_OK(uf_close(fd));
		struct walker w[KT];
		for (int i = 0; i < KT; i++) {
			w[i].base = r.addr;
			w[i].page = r.page;
			w[i].first = i * KP / KT;
			atomic_store(&w[i].done, 0);
			t_spawn(&w[i].th, walk_main, &w[i]);
		}
		unsigned us = rand_r(&seed) % 20000;
		struct timespec ts = { 0, (long)us * 1000 };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		T_SYS(waitpid(pid, NULL, 0));
		close(sv[0]);
		for (int i = 0; i < KT; i++) {
			for (int n = 0; !atomic_load(&w[i].done); n++) {
				if (n > 5000)
					T_FAIL("round %d (kill after %u us): a faulting thread hangs", round, us);
				t_msleep(1);
			}
			t_join(&w[i].th);
		}
		int filled = 0;
		for (int i = 0; i < KP; i++) {
			char *p = r.addr + (size_t)i * r.page;
			int zero = p[0] == 0 && !memcmp(p, p + 1, r.page - 1);
			if (!zero && !t_check(p, r.page, SRV(i)))
				T_FAIL("round %d (kill after %u us): page %d is neither filled nor zero",
				       round, us, i);
			filled += !zero;
			p[1] = 0x5a;	/* ordinary memory now */
			T_EQ(p[1], 0x5a);
		}
		t_log("round %d: killed after %u us, %d pages filled", round, us, filled);
		t_region_unmap(&r);
	}
}

static const struct t_case cases[] = {
	{ "open", test_open, T_MEM_NONE, 0 },
	{ "ops", test_ops, T_MEM_SHMEM_ALL | T_MEM(T_ANON), 0 },
	{ "move", test_move, T_MEM(T_ANON), 0 },
	{ "munmap_late", test_munmap_late, T_MEM(T_ANON) | T_MEM(T_MEMFD), 0 },
	{ "fault_path", test_fault_path, T_MEM(T_ANON) | T_MEM(T_MEMFD), 0 },
	{ "bell_in_flight", test_bell_in_flight, T_MEM(T_ANON), 0 },
	{ "release", test_release, T_MEM_SHMEM_ALL | T_MEM(T_ANON), 0 },
	{ "serve_target", test_serve_target, T_MEM(T_ANON) | T_MEM(T_MEMFD), 0 },
	{ "serve_monitor", test_serve_monitor, T_MEM(T_ANON) | T_MEM(T_MEMFD), 0 },
	{ "storm_fault_restart", test_storm_fault_restart, T_MEM(T_ANON), 0 },
	{ "storm_fault_norestart", test_storm_fault_norestart, T_MEM(T_ANON), 0 },
	{ "storm_read_restart", test_storm_read_restart, T_MEM(T_ANON), 0 },
	{ "storm_read_norestart", test_storm_read_norestart, T_MEM(T_ANON), 0 },
	{ "handler_killed", test_handler_killed, T_MEM(T_ANON) | T_MEM(T_SHMEM), 0 },
	{ NULL, NULL, 0, 0 },
};
T_MAIN(cases)
