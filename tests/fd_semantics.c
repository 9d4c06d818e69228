/* SPDX-License-Identifier: MIT */
/*
 * fd_semantics.c - the userfault descriptor as a file: read (sizes, blocking,
 * batches, order, what is and is not re-delivered, signals), poll/epoll/
 * select, O_NONBLOCK changed at run time, dup, release on the last close,
 * and /proc fdinfo.  Faults come from real threads touching real memory.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include "lib/t.h"

#define WAIT_MS		250	/* "still blocked" window */
#define ARRIVE_MS	5000	/* upper bound for something that must happen */

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static char *anon_pages(size_t n)
{
	char *p = mmap(NULL, n * page_size(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		T_FAIL("mmap: %s", strerror(errno));
	return p;
}

/* A thread that touches one byte: reads it, or writes val. */
struct toucher {
	char *addr;
	int write;
	char val;
	char got;
	int started;
	int done;
	t_thread th;
};

static void *touch_fn(void *arg)
{
	struct toucher *t = arg;
	__atomic_store_n(&t->started, 1, __ATOMIC_RELEASE);
	if (t->write)
		*(volatile char *)t->addr = t->val;
	else
		t->got = *(volatile char *)t->addr;
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void touch_start(struct toucher *t, char *addr, int write, char val)
{
	memset(t, 0, sizeof(*t));
	t->addr = addr;
	t->write = write;
	t->val = val;
	t_spawn(&t->th, touch_fn, t);
	T_ASSERT(t_wait_flag(&t->started, ARRIVE_MS));
}

/* The thread must still be blocked in its fault. */
static void still_blocked(struct toucher *t)
{
	if (t_wait_flag(&t->done, WAIT_MS))
		T_FAIL("the faulting thread at %p was not blocked", (void *)t->addr);
}

static void finishes(struct toucher *t)
{
	if (!t_wait_flag(&t->done, ARRIVE_MS))
		T_FAIL("the faulting thread at %p was not woken", (void *)t->addr);
	t_join(&t->th);
}

static short poll1(int fd, short events, int timeout)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = poll(&p, 1, timeout);
	if (r < 0)
		T_FAIL("poll: %s", strerror(errno));
	return r ? p.revents : 0;
}

/* Wait (up to ARRIVE_MS) until a message is pending on a non-blocking fd. */
static void wait_pending(int fd)
{
	short r = poll1(fd, POLLIN, ARRIVE_MS);
	if (r != POLLIN)
		T_FAIL("no message became pending (revents 0x%x)", r);
}

static void set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	T_SYS(fl);
	T_SYS(fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK)));
}

static void check_fault(const struct uffd_msg *m, void *page, int write)
{
	T_EQ(m->event, UFFD_EVENT_PAGEFAULT);
	T_EQ(m->reserved1, 0);
	T_EQ(m->reserved2, 0);
	T_EQ(m->reserved3, 0);
	T_EQX(m->arg.pagefault.address, (__u64)(uintptr_t)page);
	T_EQX(m->arg.pagefault.flags, write ? UFFD_PAGEFAULT_FLAG_WRITE : 0);
}

/* Resolve len bytes at dst with the pattern of seed (UFFDIO_COPY). */
static void resolve_copy(int fd, char *dst, size_t len, unsigned seed)
{
	char *src = t_buffer(len, (int)seed);
	__s64 res = 0;
	T_OK(uf_copy(fd, dst, src, len, 0, &res));
	T_EQ(res, (long long)len);
	munmap(src, len);
}

#define SKIP_NONE	((size_t)-1)
#define SKIP_PAGE_STARTS ((size_t)-2)

/* dst holds the pattern resolve_copy(.., len, seed) put there, except for
 * the byte at offset skip (one a thread wrote), or the first byte of every
 * page with SKIP_PAGE_STARTS. */
static void check_copied(const char *dst, size_t len, unsigned seed, size_t skip)
{
	char *ref = t_buffer(len, (int)seed);
	for (size_t i = 0; i < len; i++)
		if (i != skip && !(skip == SKIP_PAGE_STARTS && i % page_size() == 0) &&
		    dst[i] != ref[i])
			T_FAIL("byte %zu of the copied range: 0x%02x, expected 0x%02x", i,
			       (unsigned char)dst[i], (unsigned char)ref[i]);
	munmap(ref, len);
}

/* A registered anonymous area of n pages on a fresh context. */
struct area {
	int fd;
	char *mem;
	size_t n;
};

static void area_open(const struct t_env *env, struct area *a, size_t n, int flags)
{
	a->fd = t_uffd(env, O_CLOEXEC | flags, 0);
	a->mem = anon_pages(n);
	a->n = n;
	T_OK(uf_register(a->fd, a->mem, n * page_size(), UFFDIO_REGISTER_MODE_MISSING, NULL));
}

static void area_close(struct area *a)
{
	T_OK(uf_close(a->fd));
	munmap(a->mem, a->n * page_size());
}

/* ------------------------------------------------------------------------ */
/* read                                                                     */

static void test_read_small_buffer(const struct t_env *env)
{
	struct area a;
	area_open(env, &a, 1, O_NONBLOCK);
	struct uffd_msg m[2];
	T_ERR(uf_read(a.fd, m, 0), EINVAL);
	/* With a fault pending it is still EINVAL, and the fault stays. */
	struct toucher t;
	touch_start(&t, a.mem, 0, 0);
	wait_pending(a.fd);
	T_ERR(uf_read(a.fd, m, 0), EINVAL);
	T_EQ(poll1(a.fd, POLLIN, 0), POLLIN);
	T_EQ(uf_read(a.fd, m, 2), 1);
	check_fault(&m[0], a.mem, 0);
	resolve_copy(a.fd, a.mem, page_size(), 1);
	finishes(&t);
	T_ASSERT(t_check(a.mem, page_size(), 1));
	/* A blocking descriptor refuses a short buffer without blocking. */
	set_nonblock(a.fd, 0);
	T_ERR(uf_read(a.fd, m, 0), EINVAL);
	area_close(&a);
}

static void test_read_nonblock_eagain(const struct t_env *env)
{
	struct area a;
	area_open(env, &a, 1, O_NONBLOCK);
	struct uffd_msg m[8];
	T_ERR(uf_read(a.fd, m, 1), EAGAIN);
	T_ERR(uf_read(a.fd, m, 8), EAGAIN);
	/* Touching memory that is already there produces nothing. */
	resolve_copy(a.fd, a.mem, page_size(), 2);
	T_ASSERT(t_check(a.mem, page_size(), 2));
	T_ERR(uf_read(a.fd, m, 8), EAGAIN);
	area_close(&a);
}

struct reader {
	int fd;
	size_t n;
	struct uffd_msg msgs[8];
	ssize_t ret;
	int started;
	int done;
	t_thread th;
};

static void *read_fn(void *arg)
{
	struct reader *r = arg;
	__atomic_store_n(&r->started, 1, __ATOMIC_RELEASE);
	r->ret = uf_read(r->fd, r->msgs, r->n);
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void reader_start(struct reader *r, int fd, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->n = n;
	t_spawn(&r->th, read_fn, r);
	T_ASSERT(t_wait_flag(&r->started, ARRIVE_MS));
}

static void test_read_blocks_until_fault(const struct t_env *env)
{
	struct area a;
	area_open(env, &a, 2, 0);
	struct reader r;
	reader_start(&r, a.fd, 8);
	if (t_wait_flag(&r.done, WAIT_MS))
		T_FAIL("read on a blocking fd returned %zd with nothing pending", r.ret);

	/* A write fault at an unaligned address of the second page. */
	char *page = a.mem + page_size();
	struct toucher t;
	touch_start(&t, page + 0x123, 1, 0x5a);
	T_ASSERT(t_wait_flag(&r.done, ARRIVE_MS));
	t_join(&r.th);
	T_EQ(r.ret, 1);			/* blocks for the first only */
	check_fault(&r.msgs[0], page, 1);
	still_blocked(&t);

	resolve_copy(a.fd, page, page_size(), 3);
	finishes(&t);
	T_EQ(page[0x123], 0x5a);	/* the write landed on the copied page */
	check_copied(page, page_size(), 3, 0x123);
	area_close(&a);
}

#define NTHREADS 4

/* Faults from NTHREADS threads, one after the other: read in batches, in
 * the order they happened. */
static void test_read_batch_fifo(const struct t_env *env)
{
	struct area a;
	area_open(env, &a, NTHREADS, O_NONBLOCK);
	struct toucher t[NTHREADS];
	/* Pages faulted in reverse address order, so that FIFO order is not
	 * also address order. */
	for (int i = 0; i < NTHREADS; i++) {
		touch_start(&t[i], a.mem + (size_t)(NTHREADS - 1 - i) * page_size(), i & 1, 9);
		wait_pending(a.fd);
		t_msleep(50);	/* let it queue before the next one faults */
	}
	struct uffd_msg m[8];
	memset(m, 0xee, sizeof(m));
	/* Room for 2: exactly 2, the oldest ones. */
	T_EQ(uf_read(a.fd, m, 2), 2);
	for (int i = 0; i < 2; i++)
		check_fault(&m[i], t[i].addr, t[i].write);
	/* Room for 8: the remaining NTHREADS-2, still in order. */
	T_EQ(uf_read(a.fd, m, 8), NTHREADS - 2);
	for (int i = 2; i < NTHREADS; i++)
		check_fault(&m[i - 2], t[i].addr, t[i].write);
	T_ERR(uf_read(a.fd, m, 8), EAGAIN);
	for (int i = 0; i < NTHREADS; i++)
		still_blocked(&t[i]);
	resolve_copy(a.fd, a.mem, NTHREADS * page_size(), 4);
	for (int i = 0; i < NTHREADS; i++)
		finishes(&t[i]);
	for (int i = 0; i < NTHREADS; i++) {
		size_t off = (size_t)(t[i].addr - a.mem);
		if (t[i].write)
			T_EQ(a.mem[off], 9);
		else
			T_EQ(t[i].got, a.mem[off]);
	}
	check_copied(a.mem, NTHREADS * page_size(), 4, SKIP_PAGE_STARTS);
	T_ERR(uf_read(a.fd, m, 8), EAGAIN);
	area_close(&a);
}

/* Several faults pending at once come back from one read. */
static void test_read_several_at_once(const struct t_env *env)
{
	enum { N = 6 };
	struct area a;
	area_open(env, &a, N, O_NONBLOCK);
	struct toucher t[N];
	for (int i = 0; i < N; i++)
		touch_start(&t[i], a.mem + (size_t)i * page_size(), 0, 0);
	wait_pending(a.fd);
	t_msleep(WAIT_MS);	/* every started thread is in its fault by now */
	struct uffd_msg m[8];
	ssize_t n = uf_read(a.fd, m, 8);
	T_EQ(n, N);
	int seen[N] = { 0 };
	for (ssize_t i = 0; i < n; i++) {
		T_EQ(m[i].event, UFFD_EVENT_PAGEFAULT);
		size_t off = (size_t)(m[i].arg.pagefault.address - (__u64)(uintptr_t)a.mem);
		T_EQ(off % page_size(), 0);
		T_ASSERT(off / page_size() < N);
		T_EQ(seen[off / page_size()]++, 0);	/* each fault exactly once */
	}
	T_ERR(uf_read(a.fd, m, 8), EAGAIN);
	resolve_copy(a.fd, a.mem, N * page_size(), 5);
	for (int i = 0; i < N; i++) {
		finishes(&t[i]);
		T_EQ(t[i].got, a.mem[(size_t)i * page_size()]);
	}
	T_ASSERT(t_check(a.mem, N * page_size(), 5));
	area_close(&a);
}

/* A fault that was read is not delivered again, however often one asks. */
static void test_read_not_redelivered(const struct t_env *env)
{
	struct area a;
	area_open(env, &a, 1, O_NONBLOCK);
	struct toucher t;
	touch_start(&t, a.mem, 0, 0);
	wait_pending(a.fd);
	struct uffd_msg m[4];
	T_EQ(uf_read(a.fd, m, 4), 1);
	check_fault(&m[0], a.mem, 0);
	for (int i = 0; i < 3; i++) {
		T_ERR(uf_read(a.fd, m, 4), EAGAIN);
		T_EQ(poll1(a.fd, POLLIN, 0), 0);
		t_msleep(30);
	}
	still_blocked(&t);
	T_ERR(uf_read(a.fd, m, 4), EAGAIN);
	resolve_copy(a.fd, a.mem, page_size(), 6);
	finishes(&t);
	T_EQ(t.got, a.mem[0]);
	T_ERR(uf_read(a.fd, m, 4), EAGAIN);
	area_close(&a);
}

/* A fault resolved before anyone read it is gone from the queue. */
static void test_resolved_before_read(const struct t_env *env)
{
	struct area a;
	area_open(env, &a, 2, O_NONBLOCK);
	struct toucher t;
	touch_start(&t, a.mem, 0, 0);
	wait_pending(a.fd);
	resolve_copy(a.fd, a.mem, page_size(), 7);
	finishes(&t);
	struct uffd_msg m[4];
	T_ERR(uf_read(a.fd, m, 4), EAGAIN);
	T_EQ(poll1(a.fd, POLLIN, 0), 0);

	T_EQ(t.got, a.mem[0]);
	check_copied(a.mem, page_size(), 7, SKIP_NONE);
	area_close(&a);

	/* Two pending, the older one resolved: only the other is read. */
	struct toucher t0, t1;
	area_open(env, &a, 2, O_NONBLOCK);
	touch_start(&t0, a.mem, 0, 0);
	wait_pending(a.fd);
	touch_start(&t1, a.mem + page_size(), 1, 3);
	t_msleep(WAIT_MS);
	resolve_copy(a.fd, a.mem, page_size(), 8);
	finishes(&t0);
	T_EQ(poll1(a.fd, POLLIN, 0), POLLIN);
	T_EQ(uf_read(a.fd, m, 4), 1);
	check_fault(&m[0], a.mem + page_size(), 1);
	resolve_copy(a.fd, a.mem + page_size(), page_size(), 8);
	finishes(&t1);
	T_EQ(a.mem[page_size()], 3);
	area_close(&a);
}

/* UFFDIO_WAKE on an unread fault whose page is still missing: the kernel
 * wakes the thread, which faults again at once.  The queue then holds one
 * message for the page (the new fault), never two. */
static void test_wake_before_read(const struct t_env *env)
{
	struct area a;
	area_open(env, &a, 1, O_NONBLOCK);
	struct toucher t;
	touch_start(&t, a.mem, 1, 0x11);
	wait_pending(a.fd);
	T_OK(uf_wake(a.fd, a.mem, page_size()));
	still_blocked(&t);			/* it faulted again */
	wait_pending(a.fd);
	struct uffd_msg m[4];
	T_EQ(uf_read(a.fd, m, 4), 1);
	check_fault(&m[0], a.mem, 1);
	T_ERR(uf_read(a.fd, m, 4), EAGAIN);	/* the first message is gone */

	/* The same after reading: woken, it faults again and is delivered
	 * again, as a new fault. */
	T_OK(uf_wake(a.fd, a.mem, page_size()));
	wait_pending(a.fd);
	T_EQ(uf_read(a.fd, m, 4), 1);
	check_fault(&m[0], a.mem, 1);
	T_ERR(uf_read(a.fd, m, 4), EAGAIN);
	still_blocked(&t);

	/* Resolved with DONTWAKE: the page is there but the thread sleeps
	 * until an explicit WAKE, which then lets it through for good. */
	char *src = t_buffer(page_size(), 9);
	T_OK(uf_copy(a.fd, a.mem, src, page_size(), UFFDIO_COPY_MODE_DONTWAKE, NULL));
	still_blocked(&t);
	T_OK(uf_wake(a.fd, a.mem, page_size()));
	finishes(&t);
	T_ERR(uf_read(a.fd, m, 4), EAGAIN);
	T_EQ(a.mem[0], 0x11);
	check_copied(a.mem, page_size(), 9, 0);
	munmap(src, page_size());
	/* WAKE on a range with nothing waiting is harmless. */
	T_OK(uf_wake(a.fd, a.mem, page_size()));
	T_ERR(uf_read(a.fd, m, 4), EAGAIN);
	area_close(&a);
}

/* ------------------------------------------------------------------------ */
/* Signals                                                                  */

static volatile int sig_count;

static void on_sigusr1(int sig)
{
	(void)sig;
	__atomic_add_fetch(&sig_count, 1, __ATOMIC_SEQ_CST);
}

static void install_sigusr1(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	T_SYS(sigaction(SIGUSR1, &sa, NULL));
}

static void test_read_eintr(const struct t_env *env)
{
	struct area a;
	area_open(env, &a, 1, 0);
	install_sigusr1(0);
	struct reader r;
	reader_start(&r, a.fd, 4);
	if (t_wait_flag(&r.done, WAIT_MS))
		T_FAIL("read returned %zd with nothing pending", r.ret);
	/* Signal until it returns (the first one could in theory arrive just
	 * before the thread blocks). */
	for (int i = 0; i < 10 && !__atomic_load_n(&r.done, __ATOMIC_ACQUIRE); i++) {
		pthread_kill((pthread_t)r.th.id, SIGUSR1);
		t_wait_flag(&r.done, 500);
	}
	T_ASSERT(__atomic_load_n(&r.done, __ATOMIC_ACQUIRE));
	t_join(&r.th);
	T_ERR(r.ret, EINTR);
	T_ASSERT(sig_count >= 1);
	/* Nothing was lost: the descriptor still works. */
	set_nonblock(a.fd, 1);
	struct uffd_msg m;
	T_ERR(uf_read(a.fd, &m, 1), EAGAIN);
	area_close(&a);
}

static void test_read_restart(const struct t_env *env)
{
	/* ThreadSanitizer's runtime holds an asynchronous signal back until
	 * the thread's blocking call returns, which with SA_RESTART it never
	 * does. */
	if (T_TSAN)
		T_SKIP("ThreadSanitizer defers the signal past a restarted read");
	struct area a;
	area_open(env, &a, 1, 0);
	install_sigusr1(SA_RESTART);
	struct reader r;
	reader_start(&r, a.fd, 4);
	if (t_wait_flag(&r.done, WAIT_MS))
		T_FAIL("read returned %zd with nothing pending", r.ret);
	for (int i = 0; i < 3; i++) {
		int before = sig_count;
		pthread_kill((pthread_t)r.th.id, SIGUSR1);
		for (int w = 0; w < ARRIVE_MS && sig_count == before; w++)
			t_msleep(1);
		T_ASSERT(sig_count > before);
		/* The handler ran and the read went back to waiting. */
		if (t_wait_flag(&r.done, 100))
			T_FAIL("SA_RESTART read returned %zd after a signal", r.ret);
	}
	struct toucher t;
	touch_start(&t, a.mem, 0, 0);
	T_ASSERT(t_wait_flag(&r.done, ARRIVE_MS));
	t_join(&r.th);
	T_EQ(r.ret, 1);
	check_fault(&r.msgs[0], a.mem, 0);
	resolve_copy(a.fd, a.mem, page_size(), 10);
	finishes(&t);
	area_close(&a);
}

/* ------------------------------------------------------------------------ */
/* poll, epoll, select                                                      */

/* The kernel reports POLLERR before UFFDIO_API and on a blocking
 * descriptor.  A user-engine descriptor is a socket, which has no such
 * state to show: it reports what is pending (docs/LIMITATIONS.md). */
static short err_or(const struct t_env *env, short pending)
{
	return env->engine == UF_ENGINE_USER ? pending : POLLERR;
}

static void test_poll_states(const struct t_env *env)
{
	/* Before UFFDIO_API: POLLERR, whatever the mode. */
	int fd = t_uffd_raw(env, O_CLOEXEC);
	int nfd = t_uffd_raw(env, O_CLOEXEC | O_NONBLOCK);
	T_EQ(poll1(fd, POLLIN, 0), err_or(env, 0));
	T_EQ(poll1(nfd, POLLIN, 0), err_or(env, 0));
	T_EQ(poll1(nfd, 0, 0), err_or(env, 0));	/* reported even when not asked */
	T_OK(uf_api(fd, 0, NULL, NULL));
	T_OK(uf_api(nfd, 0, NULL, NULL));
	/* After: a blocking descriptor is always POLLERR. */
	T_EQ(poll1(fd, POLLIN | POLLOUT | POLLPRI, 0), err_or(env, 0));
	/* A non-blocking one: nothing. */
	T_EQ(poll1(nfd, POLLIN | POLLOUT | POLLPRI, 0), 0);
	T_EQ(poll1(nfd, POLLIN, 50), 0);
	T_OK(uf_close(fd));

	/* A fault: POLLIN while pending, and poll wakes up for it. */
	char *mem = anon_pages(1);
	T_OK(uf_register(nfd, mem, page_size(), UFFDIO_REGISTER_MODE_MISSING, NULL));
	struct toucher t;
	touch_start(&t, mem, 0, 0);
	T_EQ(poll1(nfd, POLLIN, ARRIVE_MS), POLLIN);
	T_EQ(poll1(nfd, POLLIN | POLLOUT, 0), POLLIN);	/* never writable */
	T_EQ(poll1(nfd, POLLIN, 0), POLLIN);		/* polling consumes nothing */
	struct uffd_msg m;
	T_EQ(uf_read(nfd, &m, 1), 1);
	/* Read: no longer pending, though the thread is still blocked. */
	T_EQ(poll1(nfd, POLLIN, 0), 0);
	still_blocked(&t);
	T_EQ(poll1(nfd, POLLIN, 0), 0);
	resolve_copy(nfd, mem, page_size(), 11);
	finishes(&t);
	T_EQ(poll1(nfd, POLLIN, 0), 0);
	T_OK(uf_close(nfd));
	munmap(mem, page_size());
}

static short epoll1(int ep, int timeout)
{
	struct epoll_event ev;
	int r = epoll_wait(ep, &ev, 1, timeout);
	if (r < 0)
		T_FAIL("epoll_wait: %s", strerror(errno));
	return r ? (short)ev.events : 0;
}

/* 1 if select() says readable, and checks it never reports an exception. */
static int select_readable(int fd, int timeout_ms)
{
	fd_set rd, ex;
	FD_ZERO(&rd);
	FD_ZERO(&ex);
	FD_SET(fd, &rd);
	FD_SET(fd, &ex);
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int r = select(fd + 1, &rd, NULL, &ex, &tv);
	if (r < 0)
		T_FAIL("select: %s", strerror(errno));
	T_ASSERT(!FD_ISSET(fd, &ex));
	return FD_ISSET(fd, &rd) ? 1 : 0;
}

/* The three interfaces agree in every state (poll's view is the reference). */
static void agree(int fd, int ep, short want)
{
	T_EQ(poll1(fd, POLLIN, 0), want);
	T_EQ(epoll1(ep, 0), want);
	/* select maps POLLIN and POLLERR both to "readable". */
	T_EQ(select_readable(fd, 0), want != 0);
}

static int epoll_for(int fd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	T_SYS(ep);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	T_SYS(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	return ep;
}

static void test_epoll_select_agree(const struct t_env *env)
{
	int fd = t_uffd_raw(env, O_CLOEXEC);
	int nfd = t_uffd_raw(env, O_CLOEXEC | O_NONBLOCK);
	int ep = epoll_for(fd), nep = epoll_for(nfd);
	agree(fd, ep, err_or(env, 0));
	agree(nfd, nep, err_or(env, 0));
	T_OK(uf_api(fd, 0, NULL, NULL));
	T_OK(uf_api(nfd, 0, NULL, NULL));
	agree(fd, ep, err_or(env, 0));
	agree(nfd, nep, 0);

	char *mem = anon_pages(2);
	T_OK(uf_register(nfd, mem, 2 * page_size(), UFFDIO_REGISTER_MODE_MISSING, NULL));
	/* epoll_wait and select wake up for a fault. */
	struct toucher t;
	touch_start(&t, mem, 0, 0);
	T_EQ(epoll1(nep, ARRIVE_MS), EPOLLIN);
	agree(nfd, nep, POLLIN);
	struct uffd_msg m;
	T_EQ(uf_read(nfd, &m, 1), 1);
	agree(nfd, nep, 0);
	resolve_copy(nfd, mem, page_size(), 12);
	finishes(&t);
	agree(nfd, nep, 0);

	touch_start(&t, mem + page_size(), 1, 1);
	T_EQ(select_readable(nfd, ARRIVE_MS), 1);
	agree(nfd, nep, POLLIN);
	/* Resolved unread: all three go quiet again. */
	resolve_copy(nfd, mem + page_size(), page_size(), 12);
	finishes(&t);
	agree(nfd, nep, 0);

	close(ep);
	close(nep);
	T_OK(uf_close(fd));
	T_OK(uf_close(nfd));
	munmap(mem, 2 * page_size());
}

/* O_NONBLOCK changed with fcntl() after the fact changes poll and read. */
static void test_fcntl_nonblock_toggle(const struct t_env *env)
{
	struct area a;
	area_open(env, &a, 2, 0);
	struct uffd_msg m[2];
	T_EQ(poll1(a.fd, POLLIN, 0), err_or(env, 0));
	set_nonblock(a.fd, 1);
	T_EQ(poll1(a.fd, POLLIN, 0), 0);
	T_ERR(uf_read(a.fd, m, 2), EAGAIN);

	struct toucher t;
	touch_start(&t, a.mem, 0, 0);
	wait_pending(a.fd);
	/* Back to blocking with a fault pending: POLLERR again, and the read
	 * returns the pending fault at once. */
	set_nonblock(a.fd, 0);
	T_EQ(poll1(a.fd, POLLIN, 0), err_or(env, POLLIN));
	T_EQ(uf_read(a.fd, m, 2), 1);
	check_fault(&m[0], a.mem, 0);
	/* Now nothing is pending: a blocking read blocks... */
	struct reader r;
	reader_start(&r, a.fd, 2);
	if (t_wait_flag(&r.done, WAIT_MS))
		T_FAIL("blocking read returned %zd with nothing pending", r.ret);
	/* ...until the next fault. */
	struct toucher t2;
	touch_start(&t2, a.mem + page_size(), 1, 2);
	T_ASSERT(t_wait_flag(&r.done, ARRIVE_MS));
	t_join(&r.th);
	T_EQ(r.ret, 1);
	check_fault(&r.msgs[0], a.mem + page_size(), 1);
	resolve_copy(a.fd, a.mem, 2 * page_size(), 13);
	finishes(&t);
	finishes(&t2);
	set_nonblock(a.fd, 1);
	T_ERR(uf_read(a.fd, m, 2), EAGAIN);
	area_close(&a);
}

/* A dup'd descriptor is the same context: one queue, one release. */
static void test_dup_same_queue(const struct t_env *env)
{
	struct area a;
	area_open(env, &a, 2, O_NONBLOCK);
	int d = dup(a.fd);
	T_SYS(d);
	T_EQ(uf_engine(d), env->engine);
	T_ASSERT(fcntl(d, F_GETFL) & O_NONBLOCK);	/* shared file status */
	T_EQ(poll1(d, POLLIN, 0), 0);

	struct toucher t;
	touch_start(&t, a.mem, 0, 0);
	wait_pending(a.fd);
	T_EQ(poll1(d, POLLIN, 0), POLLIN);
	struct uffd_msg m[2];
	T_EQ(uf_read(d, m, 2), 1);
	check_fault(&m[0], a.mem, 0);
	T_ERR(uf_read(a.fd, m, 2), EAGAIN);	/* taken through the other fd */
	T_EQ(poll1(a.fd, POLLIN, 0), 0);
	T_EQ(poll1(d, POLLIN, 0), 0);

	/* Closing one of the two releases nothing. */
	T_OK(uf_close(a.fd));
	still_blocked(&t);
	struct toucher t2;
	touch_start(&t2, a.mem + page_size(), 1, 4);
	wait_pending(d);
	T_EQ(uf_read(d, m, 2), 1);
	check_fault(&m[0], a.mem + page_size(), 1);
	resolve_copy(d, a.mem, 2 * page_size(), 14);
	finishes(&t);
	finishes(&t2);
	T_EQ(t.got, a.mem[0]);
	T_EQ(a.mem[page_size()], 4);
	T_OK(uf_close(d));
	munmap(a.mem, 2 * page_size());
}

/* ------------------------------------------------------------------------ */
/* Release                                                                  */

static void test_close_releases(const struct t_env *env)
{
	__u64 feat = t_mem_is_anon(env->mem) ? 0
		   : t_mem_is_hugetlb(env->mem) ? UFFD_FEATURE_MISSING_HUGETLBFS
		   : UFFD_FEATURE_MISSING_SHMEM;
	int fd = t_uffd(env, O_CLOEXEC | O_NONBLOCK, feat);
	struct t_region r;
	t_region_map(env, 4, &r);
	T_OK(uf_register(fd, r.addr, r.len, UFFDIO_REGISTER_MODE_MISSING, NULL));

	/* One fault read (waiting for a resolution), one still pending. */
	struct toucher rd, wr;
	touch_start(&rd, r.addr + 100, 0, 0);
	wait_pending(fd);
	struct uffd_msg m;
	T_EQ(uf_read(fd, &m, 1), 1);
	check_fault(&m, r.addr, 0);
	touch_start(&wr, r.addr + r.page + 200, 1, 0x3c);
	wait_pending(fd);
	still_blocked(&rd);
	still_blocked(&wr);

	T_OK(uf_close(fd));
	/* Both are woken and go through the ordinary fault path. */
	finishes(&rd);
	finishes(&wr);
	T_EQ(rd.got, 0);
	T_EQ(r.addr[r.page + 200], 0x3c);
	T_EQ(r.addr[r.page + 199], 0);
	/* The whole range is ordinary memory now. */
	for (size_t i = 2; i < 4; i++) {
		T_EQ(r.addr[i * r.page], 0);
		r.addr[i * r.page + 1] = (char)i;
		T_EQ(r.addr[i * r.page + 1], (char)i);
	}
	/* And no longer registered: a new context can take it. */
	int fd2 = t_uffd(env, O_CLOEXEC | O_NONBLOCK, feat);
	T_OK(uf_register(fd2, r.addr, r.len, UFFDIO_REGISTER_MODE_MISSING, NULL));
	T_OK(uf_close(fd2));
	t_region_unmap(&r);
}

/* Release is not something poll or epoll ever report: the kernel's poll has
 * no EPOLLHUP (its release wake-up finds no watcher, since an epoll watch is
 * dropped before release and a poll() in progress holds the file open).
 * After the last close, an epoll set simply no longer contains the fd. */
static void test_close_no_hup(const struct t_env *env)
{
	struct area a;
	area_open(env, &a, 1, O_NONBLOCK);
	int ep = epoll_for(a.fd);
	struct toucher t;
	touch_start(&t, a.mem, 0, 0);
	T_EQ(epoll1(ep, ARRIVE_MS), EPOLLIN);
	struct uffd_msg m;
	T_EQ(uf_read(a.fd, &m, 1), 1);
	T_EQ(epoll1(ep, 0), 0);
	T_OK(uf_close(a.fd));
	finishes(&t);
	T_EQ(t.got, 0);
	T_EQ(epoll1(ep, 100), 0);
	/* The watch went away with the file. */
	struct epoll_event ev = { .events = EPOLLIN };
	T_EQ(epoll_ctl(ep, EPOLL_CTL_DEL, a.fd, &ev), -1);
	T_EQ(errno, EBADF);
	close(ep);
	munmap(a.mem, page_size());
}

/* ------------------------------------------------------------------------ */
/* fdinfo                                                                   */

struct fdinfo {
	long pending, total;
	char api[64];
};

static void read_fdinfo(int fd, struct fdinfo *fi)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "re");
	if (!f)
		T_FAIL("%s: %s", path, strerror(errno));
	fi->pending = fi->total = -1;
	fi->api[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "pending: %ld", &fi->pending);
		sscanf(line, "total: %ld", &fi->total);
		sscanf(line, "API: %63s", fi->api);
	}
	fclose(f);
	T_NE(fi->pending, -1);
	T_NE(fi->total, -1);
	T_ASSERT(fi->api[0]);
}

static void test_fdinfo(const struct t_env *env)
{
	if (env->engine != UF_ENGINE_KERNEL)
		T_SKIP("fdinfo lines are the kernel's own; the %s engine has no /proc entry of its own",
		       uf_engine_name(env->engine));
	struct fdinfo fi;
	int fd = t_uffd_raw(env, O_CLOEXEC | O_NONBLOCK);
	read_fdinfo(fd, &fi);
	T_EQ(fi.pending, 0);
	T_EQ(fi.total, 0);
	T_ASSERT(!strcmp(fi.api, "aa:0:80000000000001ff"));
	T_OK(uf_api(fd, 0, NULL, NULL));
	read_fdinfo(fd, &fi);
	T_ASSERT(!strcmp(fi.api, "aa:80000000:80000000000001ff"));

	char *mem = anon_pages(2);
	T_OK(uf_register(fd, mem, 2 * page_size(), UFFDIO_REGISTER_MODE_MISSING, NULL));
	struct toucher t0, t1;
	touch_start(&t0, mem, 0, 0);
	wait_pending(fd);
	read_fdinfo(fd, &fi);
	T_EQ(fi.pending, 1);
	T_EQ(fi.total, 1);
	touch_start(&t1, mem + page_size(), 1, 1);
	for (int i = 0; i < ARRIVE_MS / 10; i++) {
		read_fdinfo(fd, &fi);
		if (fi.pending == 2)
			break;
		t_msleep(10);
	}
	T_EQ(fi.pending, 2);
	T_EQ(fi.total, 2);
	struct uffd_msg m;
	T_EQ(uf_read(fd, &m, 1), 1);
	read_fdinfo(fd, &fi);
	T_EQ(fi.pending, 1);	/* read: waiting, no longer pending */
	T_EQ(fi.total, 2);
	resolve_copy(fd, mem, 2 * page_size(), 15);
	finishes(&t0);
	finishes(&t1);
	read_fdinfo(fd, &fi);
	T_EQ(fi.pending, 0);
	T_EQ(fi.total, 0);
	T_OK(uf_close(fd));

	/* Features asked for show up in the middle field. */
	fd = t_uffd(env, O_CLOEXEC, UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_EVENT_REMOVE);
	read_fdinfo(fd, &fi);
	T_ASSERT(!strcmp(fi.api, "aa:80000108:80000000000001ff"));
	T_OK(uf_close(fd));
	munmap(mem, 2 * page_size());
}

static const struct t_case cases[] = {
	{ "read_small_buffer", test_read_small_buffer, T_MEM_NONE, 0 },
	{ "read_nonblock_eagain", test_read_nonblock_eagain, T_MEM_NONE, 0 },
	{ "read_blocks_until_fault", test_read_blocks_until_fault, T_MEM_NONE, 0 },
	{ "read_batch_fifo", test_read_batch_fifo, T_MEM_NONE, 0 },
	{ "read_several_at_once", test_read_several_at_once, T_MEM_NONE, 0 },
	{ "read_not_redelivered", test_read_not_redelivered, T_MEM_NONE, 0 },
	{ "resolved_before_read", test_resolved_before_read, T_MEM_NONE, 0 },
	{ "wake_before_read", test_wake_before_read, T_MEM_NONE, 0 },
	{ "read_eintr", test_read_eintr, T_MEM_NONE, 0 },
	{ "read_restart", test_read_restart, T_MEM_NONE, 0 },
	{ "poll_states", test_poll_states, T_MEM_NONE, 0 },
	{ "epoll_select_agree", test_epoll_select_agree, T_MEM_NONE, 0 },
	{ "fcntl_nonblock_toggle", test_fcntl_nonblock_toggle, T_MEM_NONE, 0 },
	{ "dup_same_queue", test_dup_same_queue, T_MEM_NONE, 0 },
	{ "close_releases", test_close_releases, T_MEM_ALL, 0 },
	{ "close_no_hup", test_close_no_hup, T_MEM_NONE, 0 },
	{ "fdinfo", test_fdinfo, T_MEM_NONE, 0 },
	{ 0 }
};
T_MAIN(cases)
