/* SPDX-License-Identifier: MIT */
/*
 * stress.c - the long bounce test: every kind of fill, write-protection and
 * event mixed on one region by many threads, every page checked against a
 * model after every operation and once more at the end.
 *
 * Four worker threads pick random pages and, holding that page's lock,
 * do one of: read it (faulting it in), write a new version (taking the WP
 * fault if it is protected), write-protect it, drop it (uf_madvise: a
 * REMOVE event) and leave it to fault back in, or drop it and refill it by
 * UFFDIO_COPY, ZEROPAGE or MOVE (anonymous memory) from a stamped spare
 * page, or unmap it (uf_munmap: an UNMAP event) and map and register it
 * again.  Three handler threads serve the
 * faults from the model (COPY of the page's current version, or ZEROPAGE
 * for version 0; WP faults by clearing the protection) and read the events.
 * A page's content is its index and version stamped into every word, so a
 * lost, stale, torn or misplaced page is caught.
 *
 * The duration is UF_STRESS_SECONDS (default 3 s per engine and memory
 * type, what `make test` runs); a long run:
 *
 *   UF_STRESS_SECONDS=1800 build/tests/stress.t --engine=user --timeout=1900 -v
 *
 * Every engine runs the whole mix from covered (never touched) memory:
 * on the user engine, operations then meet the lazy opening of 2 MiB
 * chunks, and unmap+remap makes new covered chunks all the time.
 * UF_STRESS_SKIP=MASK leaves out operations (bit n: op n), for bisecting.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include "lib/fault.h"

#define NPAGES	1024
#define WORKERS	4
#define HANDLERS 3

enum op { OP_READ, OP_WRITE, OP_WP, OP_COPY, OP_ZERO, OP_MOVE, OP_UNMAP, OP_DROP, OP_COUNT };
static const char *const op_names[OP_COUNT] = {
	"read", "write", "wp", "drop+copy", "drop+zeropage", "drop+move", "unmap+remap", "drop",
};

struct model {
	_Atomic uint32_t ver;		/* 0: zero page; else the stamp's version */
	pthread_mutex_t lock;		/* the worker operating on the page */
	int gone;			/* its address was taken by another mapping */
};

struct stress {
	const struct t_env *env;
	struct t_region r;
	size_t pg;
	int fd;
	int shared;			/* memfd: MADV_REMOVE drops, no MOVE */
	__u64 mode;
	struct model page[NPAGES];
	pthread_mutex_t remap_lock;	/* unmap+remap (see do_op) */
	volatile int stop;
	unsigned skip_ops;		/* UF_STRESS_SKIP: a mask of ops not to do (bisecting) */
	atomic_ullong ops[OP_COUNT], wp_faults, missing_faults, events[2], requeued, bad;
	atomic_ullong holes_taken;	/* unmap+remap found its hole taken (see do_op) */
};

static uint64_t word(size_t idx, uint32_t ver, size_t i)
{
	return ((uint64_t)idx << 40 | (uint64_t)ver << 12 | i) * 0x9e3779b97f4a7c15ULL + 1;
}

static void stamp(uint64_t *p, size_t pg, size_t idx, uint32_t ver)
{
	for (size_t i = 0; i < pg / 8; i++)
		p[i] = ver ? word(idx, ver, i) : 0;
}

/* The whole page, word by word: 0 if it holds (idx, ver). */
static int check(const volatile uint64_t *p, size_t pg, size_t idx, uint32_t ver)
{
	for (size_t i = 0; i < pg / 8; i++)
		if (p[i] != (ver ? word(idx, ver, i) : 0))
			return -1;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Handlers                                                                 */

static int on_fault(int fd, const struct uffd_msg *m, void *user)
{
	struct stress *s = user;
	static __thread uint64_t buf[4096 / 8];
	uintptr_t a = (uintptr_t)m->arg.pagefault.address & ~(uintptr_t)(s->pg - 1);
	size_t idx = (a - (uintptr_t)s->r.addr) / s->pg;
	if (a < (uintptr_t)s->r.addr || idx >= NPAGES) {
		atomic_fetch_add(&s->bad, 1);
		return -EPROTO;
	}
	int r;
	if (m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
		atomic_fetch_add(&s->wp_faults, 1);
		r = uf_writeprotect(fd, (void *)a, s->pg, 0);
		if (r == -EAGAIN) {	/* as below */
			atomic_fetch_add(&s->requeued, 1);
			r = uf_wake(fd, (void *)a, s->pg);
		}
	} else {
		atomic_fetch_add(&s->missing_faults, 1);
		/* The faulting worker holds the page: its version is stable. */
		uint32_t ver = atomic_load(&s->page[idx].ver);
		if (ver) {
			stamp(buf, s->pg, idx, ver);
			r = uf_copy(fd, (void *)a, buf, s->pg, 0, NULL);
		} else {
			r = uf_zeropage(fd, (void *)a, s->pg, 0, NULL);
		}
		/* EAGAIN: an event is waiting to be read (maybe behind this
		 * fault, by this very thread).  Waiting here could stop every
		 * handler; wake the thread instead: it faults again and the
		 * fault comes back as a new message. */
		if (r == -EEXIST || r == -EAGAIN) {
			if (r == -EAGAIN)
				atomic_fetch_add(&s->requeued, 1);
			r = uf_wake(fd, (void *)a, s->pg);
		}
	}
	return r;
}

static int on_event(int fd, const struct uffd_msg *m, void *user)
{
	struct stress *s = user;
	if (m->event == UFFD_EVENT_REMOVE)
		atomic_fetch_add(&s->events[0], 1);
	else if (m->event == UFFD_EVENT_UNMAP)
		atomic_fetch_add(&s->events[1], 1);
	else
		atomic_fetch_add(&s->bad, 1);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Workers                                                                  */

struct worker {
	struct stress *s;
	unsigned id;
	uint64_t *spare;		/* a private page outside the region (MOVE source) */
	t_thread th;
};

static void fail_page(struct stress *s, size_t idx, const char *what)
{
	atomic_fetch_add(&s->bad, 1);
	t_log("page %zu: %s (version %u)", idx, what, atomic_load(&s->page[idx].ver));
}

/* Drop the page (a REMOVE event) so that a fill can put a new one there. */
static void drop(struct stress *s, char *p)
{
	T_OK(uf_madvise(p, s->pg, s->shared ? MADV_REMOVE : MADV_DONTNEED));
}

/* A fill that must succeed, retried while an event is in flight. */
static int retry(int r)
{
	return r == -EAGAIN;
}

static void do_op(struct worker *w, size_t idx, int op)
{
	struct stress *s = w->s;
	struct model *m = &s->page[idx];
	char *p = s->r.addr + idx * s->pg;
	uint32_t ver = atomic_load(&m->ver), next = ver + 1 ? ver + 1 : 1;
	int r;
	if (m->gone)
		return;
	switch (op) {
	case OP_READ:
		break;
	case OP_WRITE:
		/* Fault the page in first: a handler fills the old version. */
		if (check((volatile uint64_t *)p, s->pg, idx, ver) < 0)
			fail_page(s, idx, "wrong before a write");
		atomic_store(&m->ver, next);
		stamp((uint64_t *)p, s->pg, idx, next);
		break;
	case OP_WP:
		(void)*(volatile char *)p;	/* present, so the mark sticks */
		do
			r = uf_writeprotect(s->fd, p, s->pg, UFFDIO_WRITEPROTECT_MODE_WP);
		while (retry(r));
		T_OK(r);
		break;
	case OP_COPY: {
		drop(s, p);
		stamp(w->spare, s->pg, idx, next);
		do
			r = uf_copy(s->fd, p, w->spare, s->pg, 0, NULL);
		while (retry(r));
		T_OK(r);
		atomic_store(&m->ver, next);
		break;
	}
	case OP_ZERO:
		drop(s, p);
		do
			r = uf_zeropage(s->fd, p, s->pg, 0, NULL);
		while (retry(r));
		T_OK(r);
		atomic_store(&m->ver, 0);
		break;
	case OP_MOVE:
		drop(s, p);
		stamp(w->spare, s->pg, idx, next);
		do
			r = uf_move(s->fd, p, w->spare, s->pg, 0, NULL);
		while (retry(r));
		T_OK(r);
		atomic_store(&m->ver, next);
		break;
	case OP_DROP:
		/* Left empty: the check below faults it back in, and a
		 * handler refills it from the model (a MISSING fault). */
		drop(s, p);
		break;
	case OP_UNMAP: {
		/* Gone (an UNMAP event), then the same memory again: anonymous
		 * memory comes back empty and is refilled from the model on
		 * its next fault; a file keeps its page. */
		/* munmap then mmap at the same address races with every
		 * other mmap(NULL) in the process, which may take the hole
		 * first (a MAP_FIXED would then clobber it: the user engine's
		 * registration maps its page states and views, and an engine
		 * page-state array clobbered this way showed up as a word 1 in
		 * a test page).  The registrations, the only such mmaps of
		 * this program, are all made under remap_lock; NOREPLACE
		 * catches any other (a sanitizer's allocator, say), and the
		 * page is then left out of the run. */
		pthread_mutex_lock(&s->remap_lock);
		T_OK(uf_munmap(p, s->pg));
		void *q = s->shared ? mmap(p, s->pg, PROT_READ | PROT_WRITE,
					   MAP_SHARED | MAP_FIXED_NOREPLACE, s->r.fd,
					   (off_t)(idx * s->pg))
				    : mmap(p, s->pg, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (q == MAP_FAILED && errno == EEXIST) {
			pthread_mutex_unlock(&s->remap_lock);
			m->gone = 1;
			atomic_fetch_add(&s->holes_taken, 1);
			return;
		}
		T_ASSERT(q == p);
		r = uf_register(s->fd, p, s->pg, s->mode, NULL);
		pthread_mutex_unlock(&s->remap_lock);
		T_OK(r);
		break;
	}
	}
	if (check((volatile uint64_t *)p, s->pg, idx, atomic_load(&m->ver)) < 0)
		fail_page(s, idx, op_names[op]);
	atomic_fetch_add(&s->ops[op], 1);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	uint64_t x = (w->id + 1) * 0x9e3779b97f4a7c15ULL;
	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t idx = (x >> 8) % NPAGES;
		/* Mostly reads and writes, as a program does; the rest often
		 * enough to meet each other. */
		unsigned pick = (unsigned)(x >> 40) % 64;
		int op = pick < 22 ? OP_READ : pick < 37 ? OP_WRITE : pick < 45 ? OP_WP :
			 pick < 49 ? OP_DROP : pick < 53 ? OP_COPY : pick < 57 ? OP_ZERO :
			 pick < 62 ? OP_MOVE : OP_UNMAP;
		if (op == OP_MOVE && s->shared)
			op = OP_COPY;
		if (s->skip_ops & (1u << op))
			op = OP_READ;
		pthread_mutex_lock(&s->page[idx].lock);
		do_op(w, idx, op);
		pthread_mutex_unlock(&s->page[idx].lock);
	}
	return NULL;
}

/* A fault the engine does not take as its own ends the run: say where
 * (the engine chains to this handler for addresses it does not serve). */
static struct stress *crash_ctx;
static void on_stray_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	char msg[200];
	uintptr_t a = (uintptr_t)si->si_addr, base = (uintptr_t)crash_ctx->r.addr;
	long idx = a >= base && a < base + crash_ctx->r.len ? (long)((a - base) / crash_ctx->pg) : -1;
	int n = snprintf(msg, sizeof(msg), "    stray signal %d at %p (region page %ld, si_code %d)\n",
			 sig, si->si_addr, idx, si->si_code);
	if (write(2, msg, (size_t)n) < 0)
		_exit(3);
	signal(sig, SIG_DFL);
	raise(sig);
}

static unsigned stress_seconds(void)
{
	const char *e = getenv("UF_STRESS_SECONDS");
	long v = e ? strtol(e, NULL, 10) : 3;
	return v > 0 ? (unsigned)v : 3;
}

static void test_bounce(const struct t_env *env)
{
	static struct stress s;	/* large; one per child process */
	memset(&s, 0, sizeof(s));
	s.env = env;
	s.pg = env->page;
	s.shared = env->mem == T_MEMFD;
	s.mode = F_MODE_M | F_MODE_WP;
	s.skip_ops = getenv("UF_STRESS_SKIP") ? (unsigned)strtoul(getenv("UF_STRESS_SKIP"), NULL, 0) : 0;
	/* ThreadSanitizer's runtime maps memory of its own at any time, so a
	 * hole left by an unmap may be taken before the remap fills it. */
	if (T_TSAN)
		s.skip_ops |= 1u << OP_UNMAP;
	t_region_map(env, NPAGES, &s.r);
	crash_ctx = &s;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_stray_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	if (!s.shared)
		f_no_thp(s.r.addr, s.r.len);
	__u64 extra = UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP |
		      (s.shared ? 0 : UFFD_FEATURE_MOVE);
	s.fd = f_uffd(env, s.mode, extra);
	for (size_t i = 0; i < NPAGES; i++)
		pthread_mutex_init(&s.page[i].lock, NULL);
	pthread_mutex_init(&s.remap_lock, NULL);
	T_OK(uf_register(s.fd, s.r.addr, s.r.len, s.mode, NULL));

	struct uf_handler_opts o = UF_HANDLER_OPTS_INIT;
	o.on_fault = on_fault;
	o.on_event = on_event;
	o.user = &s;
	o.nthreads = HANDLERS;
	struct uf_handler *h;
	T_OK(uf_handler_start(s.fd, &o, &h));

	struct worker w[WORKERS];
	for (unsigned i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){ &s, i, NULL, { 0 } };
		w[i].spare = mmap(NULL, s.pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		T_ASSERT(w[i].spare != MAP_FAILED);
		f_no_thp(w[i].spare, s.pg);
		t_spawn(&w[i].th, worker_main, &w[i]);
	}
	unsigned secs = stress_seconds();
	for (unsigned t = 0; t < secs * 10 && !atomic_load(&s.bad); t++) {
		t_msleep(100);
		if (!uf_handler_running(h))
			T_FAIL("the handler ended: %s", strerror(-uf_handler_stop(h)));
	}
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < WORKERS; i++)
		t_join(&w[i].th);
	/* Everything once more, from one thread. */
	for (size_t i = 0; i < NPAGES; i++)
		if (!s.page[i].gone && check((volatile uint64_t *)(s.r.addr + i * s.pg), s.pg, i,
			  atomic_load(&s.page[i].ver)) < 0)
			fail_page(&s, i, "wrong at the end");
	unsigned long long total = 0;
	char line[512];
	int n = snprintf(line, sizeof(line), "%us:", secs);
	for (int i = 0; i < OP_COUNT; i++) {
		total += s.ops[i];
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %s %llu", op_names[i],
			      (unsigned long long)s.ops[i]);
	}
	t_log("%s; %llu operations, %llu missing and %llu WP faults (%llu retried after EAGAIN) "
	      "served, %llu REMOVE and %llu UNMAP events; %llu unmapped pages' addresses taken by "
	      "other mappings before the remap (left out)", line, total,
	      (unsigned long long)s.missing_faults, (unsigned long long)s.wp_faults,
	      (unsigned long long)s.requeued, (unsigned long long)s.events[0],
	      (unsigned long long)s.events[1], (unsigned long long)s.holes_taken);
	T_OK(uf_handler_stop(h));
	T_EQ(s.bad, 0);
	for (int i = 0; i < OP_COUNT; i++)
		if (!(s.shared && i == OP_MOVE) && !(s.skip_ops & (1u << i)))
			T_ASSERT(s.ops[i] > 0);
	unsigned done_ops = ~s.skip_ops;
	if (done_ops & (1u << OP_WP))
		T_ASSERT(s.wp_faults > 0);
	if (done_ops & ((1u << OP_COPY) | (1u << OP_ZERO) | (1u << OP_MOVE)))
		T_ASSERT(s.events[0] > 0);
	if (done_ops & (1u << OP_UNMAP))
		T_ASSERT(s.events[1] > 0);
	uf_close(s.fd);
	for (unsigned i = 0; i < WORKERS; i++)
		munmap(w[i].spare, s.pg);
	t_region_unmap(&s.r);
}

static const struct t_case cases[] = {
	{ "bounce", test_bounce, T_MEM(T_ANON) | T_MEM(T_MEMFD),
	  UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP },
	{ 0 }
};
T_MAIN(cases)
