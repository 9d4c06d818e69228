/* SPDX-License-Identifier: MIT */
/*
 * handler.c - the handler helper (uf_handler_*): a real faulting workload
 * served on 1 and 4 threads, failure of a callback, argument checks, a
 * prompt stop when idle, readiness while a handler serves, and non-fault
 * events going to on_event.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include "lib/t.h"

#define ARRIVE_MS 5000

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		T_FAIL("opendir /proc/self/task: %s", strerror(errno));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Wait until *v reaches want (another thread counts), up to ARRIVE_MS. */
static int wait_int(int *v, int want)
{
	for (long t0 = now_ms(); now_ms() - t0 < ARRIVE_MS; t_msleep(1))
		if (__atomic_load_n(v, __ATOMIC_ACQUIRE) >= want)
			break;
	return __atomic_load_n(v, __ATOMIC_ACQUIRE);
}

static unsigned long long wait_count(struct uf_handler *h, unsigned long long want)
{
	for (long t0 = now_ms(); now_ms() - t0 < ARRIVE_MS; t_msleep(1))
		if (uf_handler_count(h) >= want)
			break;
	return uf_handler_count(h);
}

static __u64 missing_feature(int mem)
{
	if (t_mem_is_anon(mem))
		return 0;
	return t_mem_is_hugetlb(mem) ? UFFD_FEATURE_MISSING_HUGETLBFS : UFFD_FEATURE_MISSING_SHMEM;
}

/* What the fault callback resolves from: the region and its contents. */
struct served {
	char *base;
	const char *src;	/* same size as the region, pattern filled */
	size_t len, page;
	int fail_with;		/* nonzero: return this instead of resolving */
	int faults;		/* callbacks for faults */
	int events;		/* callbacks for other events */
	int eexist;		/* faults found already resolved */
	int bad;		/* messages that made no sense */
	struct uffd_msg last_event;
};

static int on_fault(int fd, const struct uffd_msg *msg, void *user)
{
	struct served *s = user;
	__atomic_add_fetch(&s->faults, 1, __ATOMIC_SEQ_CST);
	if (s->fail_with)
		return s->fail_with;
	__u64 a = msg->arg.pagefault.address, b = (__u64)(uintptr_t)s->base;
	if (msg->event != UFFD_EVENT_PAGEFAULT || a < b || a >= b + s->len || (a - b) % s->page) {
		__atomic_add_fetch(&s->bad, 1, __ATOMIC_SEQ_CST);
		return -EPROTO;
	}
	size_t off = (size_t)(a - b);
	int r = uf_copy(fd, s->base + off, s->src + off, s->page, 0, NULL);
	if (r == -EEXIST) {
		__atomic_add_fetch(&s->eexist, 1, __ATOMIC_SEQ_CST);
		return uf_wake(fd, s->base + off, s->page);
	}
	return r;
}

static int on_event(int fd, const struct uffd_msg *msg, void *user)
{
	struct served *s = user;
	if (msg->event == UFFD_EVENT_PAGEFAULT)
		__atomic_add_fetch(&s->bad, 1, __ATOMIC_SEQ_CST);
	s->last_event = *msg;
	__atomic_add_fetch(&s->events, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/* A worker touching every nworkers-th page of the region once. */
struct worker {
	struct served *s;
	unsigned index, nworkers;
	int done;
	t_thread th;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct served *s = w->s;
	size_t npages = s->len / s->page;
	for (size_t p = w->index; p < npages; p += w->nworkers) {
		char *at = s->base + p * s->page + (p * 64) % s->page;
		if (p % 3 == 0)
			*(volatile char *)at = (char)(p | 1);	/* a write fault */
		else
			(void)*(volatile char *)at;		/* a read fault */
	}
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void serve_workload(const struct t_env *env, unsigned nthreads)
{
	int fd = t_uffd(env, O_CLOEXEC, missing_feature(env->mem));
	size_t npages = t_mem_is_hugetlb(env->mem) ? 8 : 256;
	struct t_region r;
	t_region_map(env, npages, &r);
	T_OK(uf_register(fd, r.addr, r.len, UFFDIO_REGISTER_MODE_MISSING, NULL));

	struct served s = { .base = r.addr, .len = r.len, .page = r.page };
	char *src = t_buffer(r.len, 21);
	s.src = src;
	struct uf_handler_opts o;
	uf_handler_opts_init(&o);
	T_EQ(o.sz, sizeof(o));
	o.on_fault = on_fault;
	o.on_event = on_event;
	o.user = &s;
	o.nthreads = nthreads;
	o.batch = nthreads > 1 ? 4 : 0;
	int before = count_threads();
	struct uf_handler *h = NULL;
	T_OK(uf_handler_start(fd, &o, &h));
	T_ASSERT(h != NULL);
	T_EQ(count_threads(), before + (int)nthreads);
	T_EQ(uf_handler_running(h), 1);
	T_EQ(uf_handler_count(h), 0);
	/* The handler made the descriptor non-blocking, as documented. */
	T_ASSERT(fcntl(fd, F_GETFL) & O_NONBLOCK);

	enum { NWORKERS = 4 };
	struct worker w[NWORKERS];
	for (unsigned i = 0; i < NWORKERS; i++) {
		w[i] = (struct worker){ .s = &s, .index = i, .nworkers = NWORKERS };
		t_spawn(&w[i].th, work, &w[i]);
	}
	for (unsigned i = 0; i < NWORKERS; i++) {
		if (!t_wait_flag(&w[i].done, 20000))
			T_FAIL("worker %u never finished: %d faults served so far", i, s.faults);
		t_join(&w[i].th);
	}
	T_EQ(s.bad, 0);
	T_EQ(s.events, 0);
	T_EQ(s.eexist, 0);
	T_EQ(s.faults, (int)npages);		/* one fault per page */
	T_EQ(uf_handler_count(h), npages);
	T_EQ(uf_handler_running(h), 1);

	/* Every page holds the source's contents (plus the workers' writes). */
	for (size_t p = 0; p < npages; p++) {
		size_t at = p * r.page + (p * 64) % r.page;
		if (p % 3 == 0) {
			T_EQ(r.addr[at], (char)(p | 1));
			r.addr[at] = src[at];
		}
	}
	T_ASSERT(t_check(r.addr, r.len, 21));

	/* Touching resolved memory again costs no more faults. */
	for (size_t p = 0; p < npages; p++)
		(void)*(volatile char *)(r.addr + p * r.page);
	T_EQ(uf_handler_count(h), npages);

	long t0 = now_ms();
	T_OK(uf_handler_stop(h));
	T_ASSERT(now_ms() - t0 < 2000);
	T_EQ(count_threads(), before);
	/* stop() leaves the descriptor open and usable. */
	struct uffd_msg m;
	T_ERR(uf_read(fd, &m, 1), EAGAIN);
	T_OK(uf_close(fd));
	munmap(src, r.len);
	t_region_unmap(&r);
}

static void test_serve_1_thread(const struct t_env *env)
{
	serve_workload(env, 1);
}

static void test_serve_4_threads(const struct t_env *env)
{
	serve_workload(env, 4);
}

struct toucher {
	char *addr;
	int done;
	char got;
	t_thread th;
};

static void *touch(void *arg)
{
	struct toucher *t = arg;
	t->got = *(volatile char *)t->addr;
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void callback_error(const struct t_env *env, unsigned nthreads)
{
	int fd = t_uffd(env, O_CLOEXEC | O_NONBLOCK, 0);
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *mem = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(mem != MAP_FAILED);
	T_OK(uf_register(fd, mem, pg, UFFDIO_REGISTER_MODE_MISSING, NULL));
	struct served s = { .base = mem, .len = pg, .page = pg, .fail_with = -EIO };
	struct uf_handler_opts o = UF_HANDLER_OPTS_INIT;
	o.on_fault = on_fault;
	o.user = &s;
	o.nthreads = nthreads;
	int before = count_threads();
	struct uf_handler *h;
	T_OK(uf_handler_start(fd, &o, &h));
	T_EQ(uf_handler_running(h), 1);
	t_msleep(50);
	T_EQ(uf_handler_running(h), 1);		/* idle is not ended */

	struct toucher t = { .addr = mem };
	t_spawn(&t.th, touch, &t);
	long t0 = now_ms();
	while (uf_handler_running(h) && now_ms() - t0 < ARRIVE_MS)
		t_msleep(1);
	T_EQ(uf_handler_running(h), 0);
	T_EQ(s.faults, 1);
	T_EQ(uf_handler_count(h), 1);
	/* Every thread ends, not only the one that failed. */
	t0 = now_ms();
	while (count_threads() > before + 1 && now_ms() - t0 < ARRIVE_MS)
		t_msleep(1);
	T_EQ(count_threads(), before + 1);	/* + the blocked toucher */
	T_ERR(uf_handler_stop(h), EIO);

	/* The fault the callback refused is still waiting; resolve it here. */
	T_ASSERT(!t.done);
	char *src = t_buffer(pg, 22);
	T_OK(uf_copy(fd, mem, src, pg, 0, NULL));
	T_ASSERT(t_wait_flag(&t.done, ARRIVE_MS));
	t_join(&t.th);
	T_EQ(t.got, src[0]);
	munmap(src, pg);
	munmap(mem, pg);
	T_OK(uf_close(fd));
}

static void test_callback_error_1(const struct t_env *env)
{
	callback_error(env, 1);
}

static void test_callback_error_4(const struct t_env *env)
{
	callback_error(env, 4);
}

static void test_invalid_opts(const struct t_env *env)
{
	int fd = t_uffd(env, O_CLOEXEC, 0);	/* blocking: start must not change it */
	struct served s = { 0 };
	struct uf_handler_opts o = UF_HANDLER_OPTS_INIT;
	o.on_fault = on_fault;
	o.user = &s;
	struct uf_handler *h = (struct uf_handler *)&s;	/* must stay untouched */
	int before = count_threads();

	struct uf_handler_opts bad = o;
	bad.on_fault = NULL;
	bad.on_event = on_event;
	T_ERR(uf_handler_start(fd, &bad, &h), EINVAL);
	bad = o;
	bad.sz = sizeof(bad) - 1;
	T_ERR(uf_handler_start(fd, &bad, &h), EINVAL);
	bad.sz = 0;
	T_ERR(uf_handler_start(fd, &bad, &h), EINVAL);
	T_ERR(uf_handler_start(fd, NULL, &h), EINVAL);
	T_ERR(uf_handler_start(fd, &o, NULL), EINVAL);
	T_ASSERT(h == (struct uf_handler *)&s);
	/* A descriptor that is not open. */
	int closed = dup(fd);
	T_SYS(closed);
	close(closed);
	T_ERR(uf_handler_start(closed, &o, &h), EBADF);
	T_ASSERT(h == (struct uf_handler *)&s);

	T_EQ(count_threads(), before);
	T_ASSERT(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
	T_EQ(s.faults, 0);
	T_ERR(uf_handler_stop(NULL), EINVAL);
	T_OK(uf_close(fd));
}

static long vm_size_kb(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kb = -1;
	if (!f)
		T_FAIL("/proc/self/status: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* A start that fails half-way (thread creation refused) starts nothing,
 * calls nothing, and leaves the descriptor as it found it, even with a
 * fault already pending. */
static void test_start_failure(const struct t_env *env)
{
	int fd = t_uffd(env, O_CLOEXEC, 0);		/* blocking */
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *mem = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(mem != MAP_FAILED);
	T_OK(uf_register(fd, mem, pg, UFFDIO_REGISTER_MODE_MISSING, NULL));
	struct toucher t = { .addr = mem };
	t_spawn(&t.th, touch, &t);
	t_msleep(100);					/* the fault is pending */

	/* Room for about two more thread stacks (8 MiB each by default). */
	struct rlimit old, lim;
	T_SYS(getrlimit(RLIMIT_AS, &old));
	struct rlimit stk;
	T_SYS(getrlimit(RLIMIT_STACK, &stk));
	if (stk.rlim_cur == RLIM_INFINITY || stk.rlim_cur < (1 << 20))
		T_SKIP("thread stack size not bounded by RLIMIT_STACK here");
	lim = old;
	lim.rlim_cur = (rlim_t)vm_size_kb() * 1024 + 2 * stk.rlim_cur + stk.rlim_cur / 2;
	T_SYS(setrlimit(RLIMIT_AS, &lim));

	struct served s = { .base = mem, .len = pg, .page = pg };
	struct uf_handler_opts o = UF_HANDLER_OPTS_INIT;
	o.on_fault = on_fault;
	o.user = &s;
	o.nthreads = 8;
	int before = count_threads();
	struct uf_handler *h = NULL;
	int r = uf_handler_start(fd, &o, &h);
	T_SYS(setrlimit(RLIMIT_AS, &old));
	if (r == 0) {
		uf_handler_stop(h);
		T_SKIP("thread creation was not refused under RLIMIT_AS");
	}
	T_ASSERT(r == -EAGAIN || r == -ENOMEM);
	T_ASSERT(h == NULL);
	t_msleep(50);
	T_EQ(count_threads(), before);
	T_EQ(s.faults, 0);				/* no callback ran */
	T_ASSERT(!(fcntl(fd, F_GETFL) & O_NONBLOCK));	/* flags restored */
	T_ASSERT(!t.done);

	/* The pending fault is still there for whoever reads next. */
	struct uffd_msg m;
	T_EQ(uf_read(fd, &m, 1), 1);
	T_EQX(m.arg.pagefault.address, (__u64)(uintptr_t)mem);
	T_OK(uf_zeropage(fd, mem, pg, 0, NULL));
	T_ASSERT(t_wait_flag(&t.done, ARRIVE_MS));
	t_join(&t.th);
	T_EQ(t.got, 0);
	T_OK(uf_close(fd));
}

static void test_stop_idle(const struct t_env *env)
{
	static const unsigned counts[] = { 0, 1, 4 };
	for (size_t i = 0; i < 3; i++) {
		int fd = t_uffd(env, O_CLOEXEC, 0);
		struct served s = { 0 };
		struct uf_handler_opts o = UF_HANDLER_OPTS_INIT;
		o.on_fault = on_fault;
		o.user = &s;
		o.nthreads = counts[i];
		int before = count_threads();
		struct uf_handler *h;
		T_OK(uf_handler_start(fd, &o, &h));
		/* nthreads 0 means 1. */
		T_EQ(count_threads(), before + (counts[i] ? (int)counts[i] : 1));
		t_msleep(20);
		T_EQ(uf_handler_running(h), 1);
		long t0 = now_ms();
		T_EQ(uf_handler_stop(h), 0);
		long took = now_ms() - t0;
		if (took > 500)
			T_FAIL("stopping an idle handler took %ld ms", took);
		T_EQ(count_threads(), before);
		T_EQ(s.faults, 0);
		T_OK(uf_close(fd));
	}
}

/* A fault callback that holds the first fault until told to go on. */
struct holding {
	struct served s;
	int held;		/* the first fault arrived and is held */
	int go;			/* let it go */
};

static int on_fault_holding(int fd, const struct uffd_msg *msg, void *user)
{
	struct holding *hd = user;
	if (!__atomic_exchange_n(&hd->held, 1, __ATOMIC_SEQ_CST))
		T_ASSERT(t_wait_flag(&hd->go, ARRIVE_MS));
	return on_fault(fd, msg, &hd->s);
}

static short poll_in(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);
	T_SYS(n);
	return n ? p.revents : 0;
}

/* Readiness around a handler is the kernel's: POLLIN while a fault waits
 * that the handler is too busy to read, none once it is served, and, after
 * the handler stopped, POLLIN for a new fault.  (The user engine hands a
 * fault to a sleeping handler thread without the doorbell; it must ring it
 * whenever no such thread is there.) */
static void test_poll_with_handler(const struct t_env *env)
{
	int fd = t_uffd(env, O_CLOEXEC | O_NONBLOCK, 0);
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = 4;
	char *mem = mmap(NULL, n * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(mem != MAP_FAILED);
	T_OK(uf_register(fd, mem, n * pg, UFFDIO_REGISTER_MODE_MISSING, NULL));
	char *src = t_buffer(n * pg, 24);
	struct holding hd = { .s = { .base = mem, .src = src, .len = n * pg, .page = pg } };
	struct uf_handler_opts o = UF_HANDLER_OPTS_INIT;
	o.on_fault = on_fault_holding;
	o.user = &hd;
	struct uf_handler *h;
	T_OK(uf_handler_start(fd, &o, &h));
	T_EQ(poll_in(fd, 0), 0);

	/* The first fault is held in the callback: the handler is busy, so a
	 * second one is pending and the descriptor is readable. */
	struct toucher t[3] = { { .addr = mem }, { .addr = mem + pg }, { .addr = mem + 2 * pg } };
	t_spawn(&t[0].th, touch, &t[0]);
	T_EQ(wait_int(&hd.held, 1), 1);
	T_EQ(poll_in(fd, 0), 0);	/* the held one was read */
	t_spawn(&t[1].th, touch, &t[1]);
	T_EQ(poll_in(fd, ARRIVE_MS), POLLIN);
	__atomic_store_n(&hd.go, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 2; i++) {
		T_ASSERT(t_wait_flag(&t[i].done, ARRIVE_MS));
		t_join(&t[i].th);
		T_EQ(t[i].got, src[i * pg]);
	}
	T_EQ(hd.s.faults, 2);
	T_EQ(poll_in(fd, 0), 0);	/* nothing left to read */

	/* Served by a sleeping handler thread: nothing left readable either. */
	T_EQ(mem[3 * pg], src[3 * pg]);
	T_EQ(poll_in(fd, 0), 0);
	T_OK(uf_handler_stop(h));
	T_EQ(poll_in(fd, 0), 0);

	/* No handler: a new fault makes the descriptor readable. */
	t_spawn(&t[2].th, touch, &t[2]);
	T_EQ(poll_in(fd, ARRIVE_MS), POLLIN);
	struct uffd_msg m;
	T_EQ(uf_read(fd, &m, 1), 1);
	T_EQX(m.arg.pagefault.address, (__u64)(uintptr_t)(mem + 2 * pg));
	T_EQ(poll_in(fd, 0), 0);
	T_OK(uf_copy(fd, mem + 2 * pg, src + 2 * pg, pg, 0, NULL));
	T_ASSERT(t_wait_flag(&t[2].done, ARRIVE_MS));
	t_join(&t[2].th);
	T_EQ(t[2].got, src[2 * pg]);
	T_OK(uf_close(fd));
	munmap(src, n * pg);
	munmap(mem, n * pg);
}

/* Closed under a running handler (which uf_handler_start(3) says not to
 * do): the kernel's context lives on while a thread polls it, and the
 * handler serves on; the user engine's handler holds no file, the context
 * is released and the handler ends with EBADF (docs/LIMITATIONS.md). */
static void test_closed_under_handler(const struct t_env *env)
{
	int fd = t_uffd(env, O_CLOEXEC | O_NONBLOCK, 0);
	struct served s = { 0 };
	struct uf_handler_opts o = UF_HANDLER_OPTS_INIT;
	o.on_fault = on_fault;
	o.user = &s;
	struct uf_handler *h;
	T_OK(uf_handler_start(fd, &o, &h));
	t_msleep(20);
	T_OK(uf_close(fd));
	long t0 = now_ms();
	while (uf_handler_running(h) && now_ms() - t0 < 1000)
		t_msleep(1);
	if (env->engine == UF_ENGINE_KERNEL) {
		T_EQ(uf_handler_running(h), 1);
		/* Woken by the stop; its next poll finds the number closed
		 * (or reused: then whatever it is), so 0 or EBADF. */
		int r = uf_handler_stop(h);
		T_ASSERT(r == 0 || r == -EBADF);
	} else {
		T_EQ(uf_handler_running(h), 0);
		T_ERR(uf_handler_stop(h), EBADF);
	}
	T_EQ(s.faults, 0);
}

/* Pages dropped with MADV_DONTNEED: a UFFD_EVENT_REMOVE for on_event, then
 * faults again for on_fault when touched. */
static void remove_events(const struct t_env *env, int with_on_event)
{
	int fd = t_uffd(env, O_CLOEXEC, UFFD_FEATURE_EVENT_REMOVE);
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = 8;
	char *mem = mmap(NULL, n * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(mem != MAP_FAILED);
	T_OK(uf_register(fd, mem, n * pg, UFFDIO_REGISTER_MODE_MISSING, NULL));
	char *src = t_buffer(n * pg, 23);
	struct served s = { .base = mem, .src = src, .len = n * pg, .page = pg };
	struct uf_handler_opts o = UF_HANDLER_OPTS_INIT;
	o.on_fault = on_fault;
	o.on_event = with_on_event ? on_event : NULL;
	o.user = &s;
	o.nthreads = 2;
	struct uf_handler *h;
	T_OK(uf_handler_start(fd, &o, &h));

	/* Fault everything in through the handler. */
	for (size_t i = 0; i < n; i++)
		T_EQ(mem[i * pg], src[i * pg]);
	T_EQ(s.faults, (int)n);
	/* Drop two pages: uf_madvise (madvise itself on the kernel engine)
	 * waits until the event has been read. */
	T_OK(uf_madvise(mem + 2 * pg, 2 * pg, MADV_DONTNEED));
	/* (the event is read before the handler counts and dispatches it) */
	T_EQ(wait_count(h, n + 1), n + 1);
	if (with_on_event) {
		T_EQ(wait_int(&s.events, 1), 1);
		T_EQ(s.last_event.event, UFFD_EVENT_REMOVE);
		T_EQX(s.last_event.arg.remove.start, (__u64)(uintptr_t)(mem + 2 * pg));
		T_EQX(s.last_event.arg.remove.end, (__u64)(uintptr_t)(mem + 4 * pg));
	}
	/* The dropped pages are missing again: two more faults. */
	T_ASSERT(t_check(mem, n * pg, 23));
	T_EQ(s.faults, (int)n + 2);
	T_EQ(uf_handler_count(h), n + 3);
	T_EQ(s.bad, 0);
	T_EQ(uf_handler_running(h), 1);
	T_OK(uf_handler_stop(h));
	T_OK(uf_close(fd));
	munmap(src, n * pg);
	munmap(mem, n * pg);
}

static void test_on_event_remove(const struct t_env *env)
{
	remove_events(env, 1);
}

static void test_events_without_on_event(const struct t_env *env)
{
	remove_events(env, 0);
}

static const struct t_case cases[] = {
	{ "serve_1_thread", test_serve_1_thread, T_MEM_ALL, 0 },
	{ "serve_4_threads", test_serve_4_threads, T_MEM_ALL, 0 },
	{ "callback_error_1", test_callback_error_1, T_MEM_NONE, 0 },
	{ "callback_error_4", test_callback_error_4, T_MEM_NONE, 0 },
	{ "invalid_opts", test_invalid_opts, T_MEM_NONE, 0 },
	{ "start_failure", test_start_failure, T_MEM_NONE, 0 },
	{ "stop_idle", test_stop_idle, T_MEM_NONE, 0 },
	{ "poll_with_handler", test_poll_with_handler, T_MEM_NONE, 0 },
	{ "closed_under_handler", test_closed_under_handler, T_MEM_NONE, 0 },
	{ "on_event_remove", test_on_event_remove, T_MEM_NONE, 0 },
	{ "events_without_on_event", test_events_without_on_event, T_MEM_NONE, 0 },
	{ 0 }
};
T_MAIN(cases)
