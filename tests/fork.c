/* SPDX-License-Identifier: MIT */
/*
 * fork.c - UFFD_FEATURE_EVENT_FORK: a fork of a process with registered
 * memory gives the child a context of its own with the same registrations
 * and write protection; a FORK event, read by the monitor, carries a new
 * descriptor for it, and the forking thread waits until the event is read.
 * The child's faults come on that descriptor only, the parent's on the
 * parent's.  Without the feature the child's memory is ordinary.
 *
 * The monitor here is a thread of the parent (tests/xproc.c has one in
 * another process).  Children report by exit status: 0 is fine, anything
 * else names the check that failed.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include "lib/fault.h"

#define ANON_PRIVATE (T_MEM(T_ANON) | T_MEM(T_MEMFD_PRIVATE))

/* A thread that reads one message from fd, saying just before it reads
 * (after the message has been there for a while), so that the forking
 * thread can tell it waited for the read. */
struct reader {
	int fd;
	unsigned ms;		/* wait this long for the message */
	volatile int started;	/* the thread runs */
	volatile int reading;	/* about to read */
	int got;
	struct uffd_msg m;
	t_thread th;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	__atomic_store_n(&r->started, 1, __ATOMIC_SEQ_CST);
	struct pollfd p = { r->fd, POLLIN, 0 };
	if (poll(&p, 1, (int)r->ms) == 1) {
		/* Long enough that a fork that did not wait would be seen
		 * returning first. */
		t_msleep(100);
		__atomic_store_n(&r->reading, 1, __ATOMIC_SEQ_CST);
		r->got = uf_read(r->fd, &r->m, 1) == 1;
	}
	return NULL;
}

/* ThreadSanitizer cannot follow a forked child of a threaded program that
 * starts threads ("dup thread with used id"), and the user engine's child
 * starts its engine thread: these cases are not for `make tsan`. */
static void not_under_tsan(void)
{
	if (T_TSAN)
		T_SKIP("ThreadSanitizer cannot follow a forked child that starts threads");
}

static void reader_start(struct reader *r, int fd)
{
	not_under_tsan();
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->ms = 10000;
	t_spawn(&r->th, reader_main, r);
	/* Fork only once it runs: a thread starting meanwhile may hold a
	 * lock of the runtime's (the sanitizers' allocator is not fork-safe),
	 * which the child, starting its engine thread, would wait for. */
	T_ASSERT(t_wait_flag(&r->started, 5000));
}

/* Fork, with the event read by a reader thread; the child runs fn.  The
 * FORK event's descriptor, checked to be a new open descriptor with the
 * context's flags (O_CLOEXEC | O_NONBLOCK, f_uffd's). */
static int fork_with_event(int fd, pid_t *pid, int (*fn)(void *), void *arg)
{
	struct reader r;
	reader_start(&r, fd);
	*pid = fork();
	T_ASSERT(*pid >= 0);
	if (*pid == 0)
		_exit(fn(arg));
	/* fork returned only once the event was read. */
	T_EQ(__atomic_load_n(&r.reading, __ATOMIC_SEQ_CST), 1);
	t_join(&r.th);
	T_ASSERT(r.got);
	T_EQ(r.m.event, UFFD_EVENT_FORK);
	int ufd = (int)r.m.arg.fork.ufd;
	T_ASSERT(ufd >= 0 && ufd != fd);
	T_EQ(fcntl(ufd, F_GETFD), FD_CLOEXEC);
	T_EQ(fcntl(ufd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	return ufd;
}

static int child_status(pid_t pid)
{
	int st;
	T_EQ(waitpid(pid, &st, 0), pid);
	T_ASSERT(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* ------------------------------------------------------------------------ */

struct child_args {
	struct t_region *r;
	const char *src;	/* page 0's content in the parent */
	unsigned seed;		/* what the monitor puts in the missing page */
};

static int child_reads(void *arg)
{
	struct child_args *a = arg;
	char *p = a->r->addr;
	size_t pg = a->r->page;
	if (memcmp(p, a->src, pg) != 0)
		return 10;
	/* Missing: a fault on the child's descriptor, filled there. */
	if (!t_check(p + pg, pg, a->seed))
		return 11;
	/* The child's memory is its own. */
	memset(p, 0x77, pg);
	return 0;
}

/* The event read in-process; the child's fault served on the new
 * descriptor, with the child's memory; the parent's faults stay on the
 * parent's descriptor; UFFDIO_API is done on the new one already. */
static void event_in_process(const struct t_env *env)
{
	f_need_mode(env, F_MODE_M);
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_EVENT_FORK);
	struct t_region r;
	t_region_map(env, 4, &r);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	char *src = t_buffer(r.page, 31);
	__s64 res;
	T_OK(uf_copy(fd, r.addr, src, r.page, 0, &res));

	struct child_args a = { &r, src, 5 };
	pid_t pid;
	int ufd = fork_with_event(fd, &pid, child_reads, &a);
	struct uffdio_api api = { .api = UFFD_API };
	T_ERR(uf_ioctl(ufd, UFFDIO_API, &api), EINVAL);

	struct uffd_msg m;
	f_expect_fault(ufd, 10000, &m);
	T_EQ(m.arg.pagefault.address & ~(__u64)(r.page - 1), f_ul(r.addr + r.page));
	f_expect_no_msg(fd, 50);
	/* A fault of the parent's on the same page meanwhile: the parent's
	 * descriptor has it, the child's nothing more. */
	struct f_toucher t;
	f_touch_start(&t, r.addr + r.page, 0, 0);
	f_expect_fault(fd, 5000, &m);
	T_EQ(m.arg.pagefault.address & ~(__u64)(r.page - 1), f_ul(r.addr + r.page));
	f_expect_no_msg(ufd, 50);
	char *fill = t_buffer(r.page, 0);
	t_fill(fill, r.page, 5);
	T_OK(uf_copy(ufd, r.addr + r.page, fill, r.page, 0, &res));
	T_EQ(res, (__s64)r.page);
	T_EQ(child_status(pid), 0);

	/* The parent's memory: as it was, page 1 still missing here. */
	T_ASSERT(memcmp(r.addr, src, r.page) == 0);
	f_touch_blocked(&t, 50);
	T_OK(uf_zeropage(fd, r.addr + r.page, r.page, 0, &res));
	f_touch_finish(&t, 5000);
	T_EQ(t.seen, 0);
	T_OK(uf_close(ufd));
	T_OK(uf_close(fd));
}

static int child_writes_wp(void *arg)
{
	struct child_args *a = arg;
	char *p = a->r->addr;
	/* Readable, write-protected: the write waits for the monitor. */
	if (memcmp(p, a->src, a->r->page) != 0)
		return 10;
	p[0] = 0x55;
	return p[0] == 0x55 ? 0 : 11;
}

/* Write protection comes with the registration: the child's write to a
 * write-protected page is a WP fault on the child's descriptor, and the
 * parent's page stays protected. */
static void wp_inherited(const struct t_env *env)
{
	f_need_mode(env, F_MODE_M | F_MODE_WP);
	int fd = f_uffd(env, F_MODE_M | F_MODE_WP, UFFD_FEATURE_EVENT_FORK);
	struct t_region r;
	t_region_map(env, 2, &r);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M | F_MODE_WP, NULL));
	char *src = t_buffer(r.page, 9);
	__s64 res;
	T_OK(uf_copy(fd, r.addr, src, r.page, UFFDIO_COPY_MODE_WP, &res));

	struct child_args a = { &r, src, 0 };
	pid_t pid;
	int ufd = fork_with_event(fd, &pid, child_writes_wp, &a);
	struct uffd_msg m;
	f_expect_fault(ufd, 10000, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE);
	T_EQ(m.arg.pagefault.address & ~(__u64)(r.page - 1), f_ul(r.addr));
	T_OK(uf_writeprotect(ufd, r.addr, r.page, 0));
	T_EQ(child_status(pid), 0);

	T_ASSERT(memcmp(r.addr, src, r.page) == 0);
	struct f_toucher t;
	f_touch_start(&t, r.addr, 1, 0x66);
	f_expect_fault(fd, 5000, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE);
	T_OK(uf_writeprotect(fd, r.addr, r.page, 0));
	f_touch_finish(&t, 5000);
	T_OK(uf_close(ufd));
	T_OK(uf_close(fd));
}

struct two_args {
	char *with, *without;	/* one page each: registered with the feature, without */
	size_t page;
	const char *src;
};

static int child_two(void *arg)
{
	struct two_args *a = arg;
	/* Without the feature: ordinary memory, missing reads as zeros. */
	if (a->without[0] != 0 || memcmp(a->without + a->page, a->src, a->page) != 0)
		return 10;
	/* With it: the monitor fills it. */
	if (!t_check(a->with, a->page, 3))
		return 11;
	return 0;
}

/* Two contexts: only the one with the feature hears of the fork (one event,
 * read before fork returns); the other's memory is ordinary in the child. */
static void only_with_feature(const struct t_env *env)
{
	f_need_mode(env, F_MODE_M);
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_EVENT_FORK);
	int plain = f_uffd(env, F_MODE_M, 0);
	struct t_region r;
	t_region_map(env, 4, &r);
	T_OK(uf_register(fd, r.addr, r.page, F_MODE_M, NULL));
	T_OK(uf_register(plain, r.addr + 2 * r.page, 2 * r.page, F_MODE_M, NULL));
	char *src = t_buffer(r.page, 17);
	__s64 res;
	T_OK(uf_copy(plain, r.addr + 3 * r.page, src, r.page, 0, &res));

	struct two_args a = { r.addr, r.addr + 2 * r.page, r.page, src };
	pid_t pid;
	int ufd = fork_with_event(fd, &pid, child_two, &a);
	struct uffd_msg m;
	f_expect_fault(ufd, 10000, &m);
	T_EQ(m.arg.pagefault.address & ~(__u64)(r.page - 1), f_ul(r.addr));
	char *fill = t_buffer(r.page, 0);
	t_fill(fill, r.page, 3);
	T_OK(uf_copy(ufd, r.addr, fill, r.page, 0, &res));
	T_EQ(child_status(pid), 0);
	f_expect_no_msg(plain, 0);
	f_expect_no_msg(fd, 0);
	T_OK(uf_close(ufd));
	T_OK(uf_close(plain));
	T_OK(uf_close(fd));
}

static int child_sigbus(void *arg)
{
	struct child_args *a = arg;
	int code;
	void *where;
	char *miss = a->r->addr + a->r->page;
	if (f_probe_sigbus(miss, 0, &code, &where) != 1)
		return 10;
	if (code != BUS_ADRERR || where != miss)
		return 11;
	return memcmp(a->r->addr, a->src, a->r->page) == 0 ? 0 : 12;
}

/* UFFD_FEATURE_SIGBUS comes with the context: a missing page of the
 * child's raises SIGBUS there, and no fault is queued. */
static void sigbus_inherited(const struct t_env *env)
{
	f_need_mode(env, F_MODE_M);
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_SIGBUS);
	struct t_region r;
	t_region_map(env, 2, &r);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	char *src = t_buffer(r.page, 14);
	__s64 res;
	T_OK(uf_copy(fd, r.addr, src, r.page, 0, &res));
	struct child_args a = { &r, src, 0 };
	pid_t pid;
	int ufd = fork_with_event(fd, &pid, child_sigbus, &a);
	T_EQ(child_status(pid), 0);
	T_OK(uf_close(ufd));
	T_OK(uf_close(fd));
}

static int child_zero_after_close(void *arg)
{
	struct child_args *a = arg;
	char *p = a->r->addr;
	/* Blocks until the monitor closes the descriptor, then reads the
	 * zeros of ordinary memory, and writes as it likes. */
	if (p[a->r->page] != 0)
		return 10;
	p[a->r->page] = 1;
	return memcmp(p, a->src, a->r->page) == 0 ? 0 : 11;
}

/* The monitor closes the child's descriptor with a fault of the child
 * waiting: the child's memory becomes ordinary memory. */
static void child_fd_closed(const struct t_env *env)
{
	f_need_mode(env, F_MODE_M);
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_EVENT_FORK);
	struct t_region r;
	t_region_map(env, 2, &r);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	char *src = t_buffer(r.page, 12);
	__s64 res;
	T_OK(uf_copy(fd, r.addr, src, r.page, 0, &res));
	struct child_args a = { &r, src, 0 };
	pid_t pid;
	int ufd = fork_with_event(fd, &pid, child_zero_after_close, &a);
	struct uffd_msg m;
	f_expect_fault(ufd, 10000, &m);
	T_OK(uf_close(ufd));
	T_EQ(child_status(pid), 0);
	T_OK(uf_close(fd));
}

struct plain_args {
	struct t_region *r;
	const char *src;
	int fd;			/* the parent's descriptor, inherited */
	int go;			/* a pipe: the parent's fork has returned */
};

static int child_plain(void *arg)
{
	struct plain_args *a = arg;
	char *p = a->r->addr;
	/* The parent's context is released only once every copy of its
	 * descriptor is closed, this one too.  The memory is touched only
	 * once the event is given up (the kernel never wakes a fault the
	 * child's context had taken before: docs/LIMITATIONS.md). */
	close(a->fd);
	char b;
	if (read(a->go, &b, 1) != 1)
		return 12;
	return p[a->r->page] == 0 && memcmp(p, a->src, a->r->page) == 0 ? 0 : 10;
}

struct closer {
	int fd;
	volatile int started;
	t_thread th;
};

static void *closer_main(void *arg)
{
	struct closer *c = arg;
	c->started = 1;
	struct pollfd p = { c->fd, POLLIN, 0 };
	if (poll(&p, 1, 10000) == 1)
		uf_close(c->fd);
	return NULL;
}

/* The parent's context is released while its FORK event waits: fork
 * returns, and the child's memory is ordinary (the user engine's fork waits
 * after the child runs, so closing every copy can release it). */
static void released_before_read(const struct t_env *env)
{
	/* The kernel's forking thread waits inside fork(2), before the child
	 * runs, and the child's copy of the descriptor keeps the context:
	 * there it cannot be released before the event is read. */
	if (env->engine == UF_ENGINE_KERNEL)
		T_SKIP("the kernel's context cannot be released while its FORK event waits");
	f_need_mode(env, F_MODE_M);
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_EVENT_FORK);
	struct t_region r;
	t_region_map(env, 2, &r);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	char *src = t_buffer(r.page, 13);
	__s64 res;
	T_OK(uf_copy(fd, r.addr, src, r.page, 0, &res));
	int go[2];
	T_SYS(pipe(go));
	struct plain_args a = { &r, src, fd, go[0] };
	struct closer c = { .fd = fd };
	not_under_tsan();
	t_spawn(&c.th, closer_main, &c);
	T_ASSERT(t_wait_flag(&c.started, 5000));	/* see reader_start() */
	pid_t pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0)
		_exit(child_plain(&a));
	T_EQ(write(go[1], "", 1), 1);
	t_join(&c.th);
	T_EQ(child_status(pid), 0);
}

/* The messages' order: a fault already waiting is read before the FORK
 * event; with two contexts, the one registered lower in memory hears first,
 * and the other's event comes only once the first is read. */
static void *toucher_read(void *arg)
{
	return (void *)(intptr_t)*(volatile char *)arg;
}

struct two_readers {
	int lo, hi;
	int first;		/* lo's first message: the fault */
	int lo_fork, hi_fork;	/* then lo's FORK, then hi's */
	int early;		/* hi's event was there before lo's was read */
	volatile int started;
	t_thread th;
};

static int read_event(int fd, unsigned ms)
{
	struct uffd_msg m;
	if (!f_read_msg(fd, &m, ms))
		return -1;
	if (m.event == UFFD_EVENT_FORK)
		uf_close((int)m.arg.fork.ufd);
	return m.event;
}

static void *two_readers_main(void *arg)
{
	struct two_readers *t = arg;
	t->started = 1;
	t->first = read_event(t->lo, 10000);
	/* lo's FORK is queued once lo is readable again; hi's must wait
	 * until it is read. */
	struct pollfd p = { t->lo, POLLIN, 0 };
	if (poll(&p, 1, 10000) != 1)
		return NULL;
	p.fd = t->hi;
	t->early = poll(&p, 1, 100) != 0;
	t->lo_fork = read_event(t->lo, 0);
	t->hi_fork = read_event(t->hi, 10000);
	return NULL;
}

static void event_order(const struct t_env *env)
{
	f_need_mode(env, F_MODE_M);
	struct t_region r;
	t_region_map(env, 4, &r);
	int lo = f_uffd(env, F_MODE_M, UFFD_FEATURE_EVENT_FORK);
	int hi = f_uffd(env, F_MODE_M, UFFD_FEATURE_EVENT_FORK);
	T_OK(uf_register(hi, r.addr + 2 * r.page, 2 * r.page, F_MODE_M, NULL));
	T_OK(uf_register(lo, r.addr, 2 * r.page, F_MODE_M, NULL));
	t_thread touch;
	not_under_tsan();
	t_spawn(&touch, toucher_read, r.addr + r.page);
	struct two_readers t = { .lo = lo, .hi = hi };
	/* The fault is waiting before the fork begins (nothing reads it). */
	struct pollfd p = { lo, POLLIN, 0 };
	T_EQ(poll(&p, 1, 5000), 1);
	t_spawn(&t.th, two_readers_main, &t);
	T_ASSERT(t_wait_flag(&t.started, 5000));	/* see reader_start() */
	pid_t pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0)
		_exit(0);
	t_join(&t.th);
	T_EQ(t.first, UFFD_EVENT_PAGEFAULT);
	T_EQ(t.early, 0);
	T_EQ(t.lo_fork, UFFD_EVENT_FORK);
	T_EQ(t.hi_fork, UFFD_EVENT_FORK);
	T_EQ(child_status(pid), 0);
	__s64 res;
	T_OK(uf_zeropage(lo, r.addr + r.page, r.page, 0, &res));
	t_join(&touch);
	T_OK(uf_close(lo));
	T_OK(uf_close(hi));
}

/* hugetlb: the child's fault comes on the new descriptor, as on any
 * memory, and a COPY of the huge page there fills it (on the user engine
 * the descriptor is served by the child, so the copy crosses processes and
 * its source goes whole, not 64 KiB a request); the child sees the
 * content.  Once the child has exited, its descriptor's COPY is ESRCH. */
static int child_touches(void *arg)
{
	struct child_args *a = arg;
	return t_check(a->r->addr, a->r->page, a->seed) ? 0 : 12;
}

static void hugetlb_child_copy(const struct t_env *env)
{
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_EVENT_FORK);
	struct t_region r;
	t_region_map(env, 1, &r);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	struct child_args a = { &r, NULL, 9 };
	pid_t pid;
	int ufd = fork_with_event(fd, &pid, child_touches, &a);
	struct uffd_msg m;
	f_expect_fault(ufd, 10000, &m);
	T_EQ(m.arg.pagefault.address, f_ul(r.addr));
	char *fill = t_buffer(r.page, 0);
	t_fill(fill, r.page, 9);
	__s64 res = 0;
	T_OK(uf_copy(ufd, r.addr, fill, r.page, 0, &res));
	T_EQ(res, (__s64)r.page);
	T_EQ(child_status(pid), 0);
	/* The child is gone, and with it what its descriptor served. */
	res = F_SENTINEL;
	T_ERR(uf_copy(ufd, r.addr, fill, r.page, 0, &res), ESRCH);
	T_EQ(res, F_SENTINEL);
	T_OK(uf_close(ufd));
	munmap(fill, r.page);
	T_OK(uf_close(fd));
	t_region_unmap(&r);
}

static const struct t_case cases[] = {
	{ "event_in_process", event_in_process, ANON_PRIVATE, UFFD_FEATURE_EVENT_FORK },
	{ "wp_inherited", wp_inherited, T_MEM(T_ANON), UFFD_FEATURE_EVENT_FORK },
	{ "only_with_feature", only_with_feature, ANON_PRIVATE, UFFD_FEATURE_EVENT_FORK },
	{ "sigbus_inherited", sigbus_inherited, ANON_PRIVATE, UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_SIGBUS },
	{ "child_fd_closed", child_fd_closed, ANON_PRIVATE, UFFD_FEATURE_EVENT_FORK },
	{ "released_before_read", released_before_read, T_MEM(T_ANON), UFFD_FEATURE_EVENT_FORK },
	{ "event_order", event_order, T_MEM(T_ANON), UFFD_FEATURE_EVENT_FORK },
	{ "hugetlb_child_copy", hugetlb_child_copy, T_MEM_HUGETLB_ALL,
	  UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_MISSING_HUGETLBFS },
	{ NULL, NULL, 0, 0 },
};

T_MAIN(cases)
