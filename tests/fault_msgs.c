/* SPDX-License-Identifier: MIT */
/*
 * fault_msgs.c - real faults from real threads: the message each one
 * produces (event, flags, address, ptid), how long the faulting thread
 * stays asleep and what wakes it, SIGBUS mode, many faults at once.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include "lib/fault.h"

/* An offset inside the page that is not page aligned, for EXACT_ADDRESS. */
static size_t odd_offset(const struct t_env *env)
{
	return t_mem_is_hugetlb(env->mem) ? 0x12345 : 0x123;
}

/* Start a toucher at addr, read its fault message, check it is still asleep. */
static void fault_and_wait(int fd, struct f_toucher *t, char *addr, int write, unsigned char val,
			   struct uffd_msg *m)
{
	f_touch_start(t, addr, write, val);
	f_expect_fault(fd, 2000, m);
	f_touch_blocked(t, 150);
}

/* Fill one page with the t_fill pattern `seed`, waking waiters. */
static void fill_page(int fd, char *page, size_t pg, unsigned seed, __u64 mode)
{
	char *src = t_buffer(pg, (int)seed);
	__s64 res = 0;
	T_OK(uf_copy(fd, page, src, pg, mode, &res));
	T_EQ(res, (long long)pg);
	munmap(src, pg);
}

static unsigned char pattern_byte(size_t pg, unsigned seed, size_t off)
{
	char *b = t_buffer(pg, (int)seed);
	unsigned char c = (unsigned char)b[off];
	munmap(b, pg);
	return c;
}

/* ------------------------------------------------------------------------ */
/* MISSING faults                                                           */

static void test_missing_read(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	const size_t pg = env->page, off = odd_offset(env);
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	struct f_toucher t;
	struct uffd_msg m;
	fault_and_wait(fd, &t, r.addr + off, 0, 0, &m);
	T_EQX(m.arg.pagefault.flags, 0);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr));		/* page aligned */
	T_EQ(m.arg.pagefault.feat.ptid, 0);
	/* A read message is not delivered twice. */
	f_expect_no_msg(fd, 50);
	f_touch_blocked(&t, 50);
	fill_page(fd, r.addr, pg, 70, 0);
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, pattern_byte(pg, 70, off));
	f_expect_no_msg(fd, 0);
	uf_close(fd);
	t_region_unmap(&r);
}

static void test_missing_write(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	const size_t pg = env->page, off = odd_offset(env);
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	struct f_toucher t;
	struct uffd_msg m;
	fault_and_wait(fd, &t, r.addr + off, 1, 0xab, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WRITE);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr));
	T_EQ(m.arg.pagefault.feat.ptid, 0);
	f_expect_no_msg(fd, 50);
	fill_page(fd, r.addr, pg, 71, 0);
	f_touch_finish(&t, 2000);
	/* The write landed on the filled page, the rest is the fill. */
	T_EQ((unsigned char)r.addr[off], 0xab);
	r.addr[off] = (char)pattern_byte(pg, 71, off);
	T_ASSERT(t_check(r.addr, pg, 71));
	uf_close(fd);
	t_region_unmap(&r);
}

/* EXACT_ADDRESS and THREAD_ID, each alone and together, on three contexts
 * each owning one page. */
static void test_exact_address_thread_id(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 3, &r);
	const size_t pg = env->page, off = odd_offset(env);
	const __u64 feats[3] = { UFFD_FEATURE_EXACT_ADDRESS, UFFD_FEATURE_THREAD_ID,
				 UFFD_FEATURE_EXACT_ADDRESS | UFFD_FEATURE_THREAD_ID };
	for (int i = 0; i < 3; i++) {
		char *page = r.addr + (size_t)i * pg;
		int fd = f_uffd(env, F_MODE_M, feats[i]);
		T_OK(uf_register(fd, page, pg, F_MODE_M, NULL));
		struct f_toucher t;
		struct uffd_msg m;
		fault_and_wait(fd, &t, page + off, i == 1, 0x11, &m);
		T_EQX(m.arg.pagefault.flags, i == 1 ? UFFD_PAGEFAULT_FLAG_WRITE : 0);
		if (feats[i] & UFFD_FEATURE_EXACT_ADDRESS)
			T_EQX(F_MSG_ADDR(&m), f_ul(page + off));
		else
			T_EQX(F_MSG_ADDR(&m), f_ul(page));
		if (feats[i] & UFFD_FEATURE_THREAD_ID) {
			T_NE(t.tid, 0);
			T_NE(t.tid, f_gettid());
			T_EQ(m.arg.pagefault.feat.ptid, t.tid);
		} else {
			T_EQ(m.arg.pagefault.feat.ptid, 0);
		}
		/* The page to fill is the aligned one, whatever the message says. */
		fill_page(fd, (char *)(uintptr_t)(F_MSG_ADDR(&m) & ~(unsigned long)(pg - 1)), pg,
			  72, 0);
		f_touch_finish(&t, 2000);
		uf_close(fd);
	}
	t_region_unmap(&r);
}

/* ------------------------------------------------------------------------ */
/* What wakes a waiting fault                                               */

static void test_wake_by_zeropage(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	struct f_toucher t;
	struct uffd_msg m;
	fault_and_wait(fd, &t, r.addr + 77, 0, 0, &m);
	__s64 res = 0;
	T_OK(uf_zeropage(fd, r.addr, r.len, 0, &res));
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, 0);
	uf_close(fd);
	t_region_unmap(&r);
}

/* DONTWAKE fills the page but the sleeper sleeps on; an access that starts
 * afterwards finds the page and does not wait; WAKE then wakes the sleeper. */
static void test_dontwake(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 3, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	for (int i = 0; i < 3; i++) {
		char *page = r.addr + (size_t)i * pg;
		if (i == 1 && t_mem_is_hugetlb(env->mem))
			continue;		/* no ZEROPAGE on hugetlb */
		struct f_toucher t, late;
		struct uffd_msg m;
		fault_and_wait(fd, &t, page + 9, i == 2, 0x5e, &m);
		T_EQX(F_MSG_ADDR(&m), f_ul(page));
		__s64 res = 0;
		if (i == 1) {
			T_OK(uf_zeropage(fd, page, pg, UFFDIO_ZEROPAGE_MODE_DONTWAKE, &res));
		} else {
			fill_page(fd, page, pg, 73, UFFDIO_COPY_MODE_DONTWAKE);
		}
		f_touch_blocked(&t, 100);
		/* A new access to the filled page goes straight through. */
		f_touch_start(&late, page + 10, 0, 0);
		f_touch_finish(&late, 2000);
		T_EQ(late.seen, i == 1 ? 0 : pattern_byte(pg, 73, 10));
		f_expect_no_msg(fd, 0);
		f_touch_blocked(&t, 20);
		/* WAKE of another page does not reach it. */
		if (i > 0)
			T_OK(uf_wake(fd, r.addr, pg));
		f_touch_blocked(&t, 50);
		T_OK(uf_wake(fd, page, pg));
		f_touch_finish(&t, 2000);
		if (i == 2)
			T_EQ((unsigned char)page[9], 0x5e);
		else
			T_EQ(t.seen, i == 1 ? 0 : pattern_byte(pg, 73, 9));
		f_expect_no_msg(fd, 0);
	}
	uf_close(fd);
	t_region_unmap(&r);
}

/* MOVE into a waiting page wakes it; with DONTWAKE only WAKE does. */
static void test_wake_by_move(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	const size_t pg = env->page;
	f_no_thp(r.addr, r.len);
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_MOVE);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	char *src = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(src != MAP_FAILED);
	f_no_thp(src, 2 * pg);
	t_fill(src, pg, 74);
	t_fill(src + pg, pg, 75);
	struct f_toucher t;
	struct uffd_msg m;
	__s64 res = 0;
	fault_and_wait(fd, &t, r.addr + 5, 0, 0, &m);
	T_OK(uf_move(fd, r.addr, src, pg, 0, &res));
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, pattern_byte(pg, 74, 5));

	fault_and_wait(fd, &t, r.addr + pg + 6, 1, 0x3c, &m);
	T_OK(uf_move(fd, r.addr + pg, src + pg, pg, UFFDIO_MOVE_MODE_DONTWAKE, &res));
	f_touch_blocked(&t, 200);
	T_OK(uf_wake(fd, r.addr + pg, pg));
	f_touch_finish(&t, 2000);
	T_EQ((unsigned char)r.addr[pg + 6], 0x3c);
	T_EQ(r.addr[pg + 7], (char)pattern_byte(pg, 75, 7));
	uf_close(fd);
	munmap(src, 2 * pg);
	t_region_unmap(&r);
}

/* UNREGISTER wakes the faults of a MISSING range; they complete as ordinary
 * faults. */
static void test_wake_by_unregister(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	struct f_toucher rd, wr;
	struct uffd_msg m;
	fault_and_wait(fd, &rd, r.addr + 1, 0, 0, &m);
	fault_and_wait(fd, &wr, r.addr + 2, 1, 0x4d, &m);
	T_OK(uf_unregister(fd, r.addr, r.len));
	f_touch_finish(&rd, 2000);
	f_touch_finish(&wr, 2000);
	T_EQ(rd.seen, 0);
	T_EQ(r.addr[2], 0x4d);
	f_expect_no_msg(fd, 0);
	uf_close(fd);
	t_region_unmap(&r);
}

/* Closing the context wakes everything too. */
static void test_wake_by_close(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	struct f_toucher t;
	struct uffd_msg m;
	fault_and_wait(fd, &t, r.addr + 3, 0, 0, &m);
	T_OK(uf_close(fd));
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, 0);
	t_region_unmap(&r);
}

/* UNREGISTER wakes only MISSING ranges: a fault waiting on a WP-only range
 * sleeps on (the protection is gone) until WAKE. */
static void test_unregister_wp_no_wake(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	int fd = f_uffd(env, F_MODE_WP, 0);
	r.addr[0] = 1;
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_WP, NULL));
	T_OK(uf_writeprotect(fd, r.addr, r.len, UFFDIO_WRITEPROTECT_MODE_WP));
	struct f_toucher t;
	struct uffd_msg m;
	fault_and_wait(fd, &t, r.addr + 4, 1, 0x21, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE);
	T_OK(uf_unregister(fd, r.addr, r.len));
	f_touch_blocked(&t, 200);
	T_OK(uf_wake(fd, r.addr, r.len));
	f_touch_finish(&t, 2000);
	T_EQ(r.addr[4], 0x21);
	f_expect_no_msg(fd, 0);
	uf_close(fd);
	t_region_unmap(&r);
}

/* ------------------------------------------------------------------------ */
/* WP and MINOR faults                                                      */

static void test_wp_fault(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	const size_t pg = env->page, off = odd_offset(env);
	int fd = f_uffd(env, F_MODE_M | F_MODE_WP, UFFD_FEATURE_THREAD_ID);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M | F_MODE_WP, NULL));
	fill_page(fd, r.addr, pg, 76, 0);
	fill_page(fd, r.addr + pg, pg, 77, 0);
	T_OK(uf_writeprotect(fd, r.addr, r.len, UFFDIO_WRITEPROTECT_MODE_WP));

	/* Reading a write-protected page is no fault. */
	struct f_toucher t;
	struct uffd_msg m;
	f_touch_start(&t, r.addr + off, 0, 0);
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, pattern_byte(pg, 76, off));
	f_expect_no_msg(fd, 0);

	fault_and_wait(fd, &t, r.addr + pg + off, 1, 0x99, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + pg));
	T_EQ(m.arg.pagefault.feat.ptid, t.tid);
	f_expect_no_msg(fd, 50);
	/* WAKE without clearing: the write faults again, a second message. */
	T_OK(uf_wake(fd, r.addr + pg, pg));
	f_expect_fault(fd, 2000, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE);
	T_EQ(m.arg.pagefault.feat.ptid, t.tid);
	f_touch_blocked(&t, 50);
	T_OK(uf_writeprotect(fd, r.addr + pg, pg, 0));
	f_touch_finish(&t, 2000);
	T_EQ((unsigned char)r.addr[pg + off], 0x99);
	/* Page 0 is still protected. */
	fault_and_wait(fd, &t, r.addr, 1, 0x98, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr));
	T_OK(uf_writeprotect(fd, r.addr, pg, 0));
	f_touch_finish(&t, 2000);
	uf_close(fd);
	t_region_unmap(&r);
}

static void test_minor_fault(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	f_region_alias(&r);
	const size_t pg = env->page, off = odd_offset(env);
	int fd = f_uffd(env, F_MODE_MINOR, UFFD_FEATURE_EXACT_ADDRESS);
	t_fill(r.alias, pg, 78);
	t_fill(r.alias + pg, pg, 79);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_MINOR, NULL));
	struct f_toucher t;
	struct uffd_msg m;
	__s64 res = 0;

	fault_and_wait(fd, &t, r.addr + off, 0, 0, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_MINOR);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + off));
	/* The page cache may be changed while the fault waits. */
	r.alias[off] = 0x2a;
	T_OK(uf_continue(fd, r.addr, pg, 0, &res));
	T_EQ(res, (long long)pg);
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, 0x2a);

	fault_and_wait(fd, &t, r.addr + pg + off, 1, 0x2b, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_MINOR | UFFD_PAGEFAULT_FLAG_WRITE);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + pg + off));
	T_OK(uf_continue(fd, r.addr + pg, pg, 0, &res));
	f_touch_finish(&t, 2000);
	T_EQ((unsigned char)r.addr[pg + off], 0x2b);
	/* Shared: the write is in the page cache.  Private: it went to a copy. */
	if (t_mem_is_shared(env->mem))
		T_EQ((unsigned char)r.alias[pg + off], 0x2b);
	else
		T_EQ((unsigned char)r.alias[pg + off], pattern_byte(pg, 79, off));
	uf_close(fd);
	t_region_unmap(&r);
}

/* A MINOR fault waits through UNREGISTER (only MISSING ranges are woken);
 * WAKE then lets it map the page cache page as an ordinary fault. */
static void test_minor_unregister_no_wake(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	f_region_alias(&r);
	int fd = f_uffd(env, F_MODE_MINOR, 0);
	t_fill(r.alias, r.len, 80);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_MINOR, NULL));
	struct f_toucher t;
	struct uffd_msg m;
	fault_and_wait(fd, &t, r.addr + 24, 0, 0, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_MINOR);
	T_OK(uf_unregister(fd, r.addr, r.len));
	f_touch_blocked(&t, 200);
	T_OK(uf_wake(fd, r.addr, r.len));
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, pattern_byte(r.len, 80, 24));
	f_expect_no_msg(fd, 0);
	uf_close(fd);
	t_region_unmap(&r);
}

/* ------------------------------------------------------------------------ */
/* SIGBUS mode                                                              */

static int sigbus_fd = -1;
static char *sigbus_src;
static size_t sigbus_page;
static volatile int sigbus_count;
static volatile int sigbus_code;
static void *volatile sigbus_addr;

/* Resolve the fault from the faulting thread itself, then return and let
 * the access retry. */
static void sigbus_fill(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	sigbus_count++;
	sigbus_code = si->si_code;
	sigbus_addr = si->si_addr;
	uintptr_t page = (uintptr_t)si->si_addr & ~(uintptr_t)(sigbus_page - 1);
	if (uf_copy(sigbus_fd, (void *)page, sigbus_src, sigbus_page, 0, NULL) < 0) {
		signal(SIGBUS, SIG_DFL);	/* retrying would loop: die of it */
	}
}

static void test_sigbus(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 3, &r);
	const size_t pg = env->page, off = odd_offset(env);
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_SIGBUS);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));

	/* The access gets SIGBUS at once; nothing is queued. */
	int code = 0;
	void *where = NULL;
	T_ASSERT(f_probe_sigbus(r.addr + off, 0, &code, &where));
	T_EQ(code, BUS_ADRERR);
	T_EQX(f_ul(where), f_ul(r.addr + off));
	T_ASSERT(f_probe_sigbus(r.addr + off, 1, &code, &where));
	T_EQ(code, BUS_ADRERR);
	T_EQX(f_ul(where), f_ul(r.addr + off));
	f_expect_no_msg(fd, 50);
	T_ASSERT(!f_present(r.addr));

	/* A handler that fills the page and returns: the access completes. */
	sigbus_fd = fd;
	sigbus_page = pg;
	sigbus_src = t_buffer(pg, 81);
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigbus_fill;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	T_SYS(sigaction(SIGBUS, &sa, &old));
	struct f_toucher t;
	f_touch_start(&t, r.addr + pg + off, 0, 0);
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, (unsigned char)sigbus_src[off]);
	T_EQ(sigbus_count, 1);
	T_EQ(sigbus_code, BUS_ADRERR);
	T_EQX(f_ul(sigbus_addr), f_ul(r.addr + pg + off));
	f_touch_start(&t, r.addr + 2 * pg + off, 1, 0x6f);
	f_touch_finish(&t, 2000);
	T_EQ(sigbus_count, 2);
	T_EQX(f_ul(sigbus_addr), f_ul(r.addr + 2 * pg + off));
	T_EQ((unsigned char)r.addr[2 * pg + off], 0x6f);
	T_EQ(r.addr[2 * pg + off + 1], sigbus_src[off + 1]);
	T_SYS(sigaction(SIGBUS, &old, NULL));
	f_expect_no_msg(fd, 0);
	uf_close(fd);
	t_region_unmap(&r);
}

/* SIGBUS mode covers WP faults too. */
static void test_sigbus_wp(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	int fd = f_uffd(env, F_MODE_WP, UFFD_FEATURE_SIGBUS);
	r.addr[0] = 3;
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_WP, NULL));
	T_OK(uf_writeprotect(fd, r.addr, r.len, UFFDIO_WRITEPROTECT_MODE_WP));
	int code = 0;
	void *where = NULL;
	T_ASSERT(!f_probe_sigbus(r.addr + 5, 0, NULL, NULL));	/* reads are fine */
	T_ASSERT(f_probe_sigbus(r.addr + 5, 1, &code, &where));
	T_EQ(code, BUS_ADRERR);
	T_EQX(f_ul(where), f_ul(r.addr + 5));
	f_expect_no_msg(fd, 50);
	T_OK(uf_writeprotect(fd, r.addr, r.len, 0));
	T_ASSERT(!f_probe_sigbus(r.addr + 5, 1, NULL, NULL));
	T_EQ(r.addr[0], 3);
	uf_close(fd);
	t_region_unmap(&r);
}

/* ------------------------------------------------------------------------ */
/* Many faults at once                                                      */

#define NTHREADS 6

static void test_many_threads(const struct t_env *env)
{
	const int n = t_mem_is_hugetlb(env->mem) ? 4 : NTHREADS;
	struct t_region r;
	t_region_map(env, (size_t)n, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_THREAD_ID);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	struct f_toucher t[NTHREADS];
	for (int i = 0; i < n; i++)
		f_touch_start(&t[i], r.addr + (size_t)i * pg + (size_t)i * 8, i & 1, (unsigned char)(0xc0 + i));

	int seen[NTHREADS] = { 0 };
	for (int got = 0; got < n; ) {
		struct uffd_msg msgs[NTHREADS];
		struct uffd_msg *m = msgs;
		if (!f_read_msg(fd, m, 2000))
			T_FAIL("only %d of %d faults reported", got, n);
		/* Take whatever else is pending in one batch too. */
		ssize_t more = uf_read(fd, msgs + 1, (size_t)(n - got - 1 > 0 ? n - got - 1 : 1));
		int cnt = 1 + (more > 0 ? (int)more : 0);
		if (more < 0 && more != -EAGAIN)
			T_FAIL("uf_read: %s", strerror((int)-more));
		for (int k = 0; k < cnt; k++) {
			T_EQ(msgs[k].event, UFFD_EVENT_PAGEFAULT);
			unsigned long a = F_MSG_ADDR(&msgs[k]);
			T_ASSERT(a >= f_ul(r.addr) && a < f_ul(r.addr) + r.len);
			int i = (int)((a - f_ul(r.addr)) / pg);
			T_EQX(a, f_ul(r.addr + (size_t)i * pg));
			T_EQ(seen[i], 0);
			seen[i] = 1;
			T_EQ(msgs[k].arg.pagefault.feat.ptid, t[i].tid);
			T_EQX(msgs[k].arg.pagefault.flags, (i & 1) ? UFFD_PAGEFAULT_FLAG_WRITE : 0);
		}
		got += cnt;
		T_ASSERT(got <= n);
	}
	f_expect_no_msg(fd, 50);
	for (int i = 0; i < n; i++)
		f_touch_blocked(&t[i], i ? 0 : 100);
	/* Resolve in reverse order; each wakes exactly its own thread. */
	for (int i = n - 1; i >= 0; i--) {
		fill_page(fd, r.addr + (size_t)i * pg, pg, 90 + (unsigned)i, 0);
		f_touch_finish(&t[i], 2000);
		for (int j = 0; j < i; j++)
			T_ASSERT(!t[j].done);
		size_t off = (size_t)i * 8;
		if (i & 1)
			T_EQ((unsigned char)r.addr[(size_t)i * pg + off], 0xc0 + i);
		else
			T_EQ(t[i].seen, pattern_byte(pg, 90 + (unsigned)i, off));
	}
	f_expect_no_msg(fd, 0);
	uf_close(fd);
	t_region_unmap(&r);
}

/* Two threads on the same page: two messages (one per thread), one fill
 * wakes both. */
static void test_same_page_twice(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_THREAD_ID);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	struct f_toucher a, b;
	struct uffd_msg m1, m2;
	fault_and_wait(fd, &a, r.addr + 1, 0, 0, &m1);
	fault_and_wait(fd, &b, r.addr + 2, 1, 0x7e, &m2);
	T_EQX(F_MSG_ADDR(&m1), f_ul(r.addr));
	T_EQX(F_MSG_ADDR(&m2), f_ul(r.addr));
	T_EQ(m1.arg.pagefault.feat.ptid, a.tid);
	T_EQ(m2.arg.pagefault.feat.ptid, b.tid);
	T_EQX(m1.arg.pagefault.flags, 0);
	T_EQX(m2.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WRITE);
	f_expect_no_msg(fd, 50);
	fill_page(fd, r.addr, r.len, 95, 0);
	f_touch_finish(&a, 2000);
	f_touch_finish(&b, 2000);
	T_EQ(a.seen, pattern_byte(r.len, 95, 1));
	T_EQ((unsigned char)r.addr[2], 0x7e);
	f_expect_no_msg(fd, 0);
	uf_close(fd);
	t_region_unmap(&r);
}

#define NOT_ANON	(T_MEM_ALL & ~T_MEM(T_ANON))

static const struct t_case cases[] = {
	{ "missing_read", test_missing_read, T_MEM_ALL, 0 },
	{ "missing_write", test_missing_write, T_MEM_ALL, 0 },
	{ "exact_address_thread_id", test_exact_address_thread_id, T_MEM_ALL,
	  UFFD_FEATURE_EXACT_ADDRESS | UFFD_FEATURE_THREAD_ID },
	{ "wake_by_zeropage", test_wake_by_zeropage, T_MEM_NO_HUGETLB, 0 },
	{ "dontwake", test_dontwake, T_MEM_ALL, 0 },
	{ "wake_by_move", test_wake_by_move, T_MEM(T_ANON), UFFD_FEATURE_MOVE },
	{ "wake_by_unregister", test_wake_by_unregister, T_MEM_ALL, 0 },
	{ "wake_by_close", test_wake_by_close, T_MEM_ALL, 0 },
	{ "unregister_wp_no_wake", test_unregister_wp_no_wake, T_MEM_ALL, 0 },
	{ "wp_fault", test_wp_fault, T_MEM_ALL, UFFD_FEATURE_THREAD_ID },
	{ "minor_fault", test_minor_fault, NOT_ANON, UFFD_FEATURE_EXACT_ADDRESS },
	{ "minor_unregister_no_wake", test_minor_unregister_no_wake, NOT_ANON, 0 },
	{ "sigbus", test_sigbus, T_MEM_ALL, UFFD_FEATURE_SIGBUS },
	{ "sigbus_wp", test_sigbus_wp, T_MEM_ALL, UFFD_FEATURE_SIGBUS },
	{ "many_threads", test_many_threads, T_MEM_ALL, UFFD_FEATURE_THREAD_ID },
	{ "same_page_twice", test_same_page_twice, T_MEM_ALL, UFFD_FEATURE_THREAD_ID },
	{ 0 }
};
T_MAIN(cases)
