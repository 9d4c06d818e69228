/* SPDX-License-Identifier: MIT */
/*
 * events.c - non-cooperative events: REMOVE (MADV_DONTNEED, MADV_REMOVE) and
 * UNMAP, made through uf_madvise()/uf_munmap() (the system calls themselves
 * on the kernel engine).  The causing thread waits until the event is read;
 * meanwhile fills fail with EAGAIN and -EAGAIN in the result field; faults
 * are read before events; release lets a waiting thread go.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include "lib/fault.h"

/* A thread making one memory call and saying when it returned. */
struct caller {
	void *addr;
	size_t len;
	int advice;		/* -1: uf_munmap */
	volatile int done;
	int ret;
	t_thread th;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	c->ret = c->advice < 0 ? uf_munmap(c->addr, c->len) : uf_madvise(c->addr, c->len, c->advice);
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void call_start(struct caller *c, void *addr, size_t len, int advice)
{
	memset(c, 0, sizeof(*c));
	c->addr = addr;
	c->len = len;
	c->advice = advice;
	t_spawn(&c->th, caller_main, c);
}

static void expect_event(int fd, __u8 event, void *start, void *end)
{
	struct uffd_msg m;
	if (!f_read_msg(fd, &m, 2000))
		T_FAIL("no event %u within 2 s", event);
	T_EQ(m.event, event);
	T_EQX(m.arg.remove.start, f_ul(start));
	T_EQX(m.arg.remove.end, f_ul(end));
}

/* Wait until the caller's event is queued (the descriptor is readable):
 * a fixed sleep is not enough on a loaded machine under sanitizers. */
static void wait_queued(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	T_EQ(poll(&p, 1, 5000), 1);
}

/* A region of n pages, registered MISSING, the first `filled` filled. */
static int setup(const struct t_env *env, struct t_region *r, size_t n, size_t filled,
		 __u64 features)
{
	t_region_map(env, n, r);
	int fd = f_uffd(env, F_MODE_M, features);
	T_OK(uf_register(fd, r->addr, r->len, F_MODE_M, NULL));
	char *src = t_buffer(filled * env->page, 60);
	__s64 res;
	T_OK(uf_copy(fd, r->addr, src, filled * env->page, 0, &res));
	munmap(src, filled * env->page);
	return fd;
}

/* MADV_DONTNEED: the REMOVE event comes before the pages go, the caller
 * waits for it to be read, and fills meanwhile say EAGAIN. */
static void test_remove_dontneed(const struct t_env *env)
{
	struct t_region r;
	const size_t pg = env->page;
	int fd = setup(env, &r, 6, 4, UFFD_FEATURE_EVENT_REMOVE);
	struct caller c;
	call_start(&c, r.addr + pg, 2 * pg, MADV_DONTNEED);
	wait_queued(fd);
	T_ASSERT(!c.done);				/* waits for the reader */

	char *src = t_buffer(pg, 61);
	struct uffdio_copy cp = { f_ul(r.addr + 4 * pg), f_ul(src), pg, 0, F_SENTINEL };
	T_ERR(uf_ioctl(fd, UFFDIO_COPY, &cp), EAGAIN);
	T_EQ(cp.copy, -EAGAIN);
	struct uffdio_zeropage z = { { f_ul(r.addr + 4 * pg), pg }, 0, F_SENTINEL };
	T_ERR(uf_ioctl(fd, UFFDIO_ZEROPAGE, &z), EAGAIN);
	T_EQ(z.zeropage, -EAGAIN);

	expect_event(fd, UFFD_EVENT_REMOVE, r.addr + pg, r.addr + 3 * pg);
	T_ASSERT(t_wait_flag(&c.done, 2000));
	t_join(&c.th);
	T_OK(c.ret);
	/* Fills work again. */
	__s64 res;
	T_OK(uf_copy(fd, r.addr + 4 * pg, src, pg, 0, &res));

	/* Private memory lost the pages: the next touch is a MISSING fault.
	 * Shared memory keeps them in its file: no fault, same content. */
	if (t_mem_is_shared(env->mem)) {
		T_ASSERT(t_check(r.addr, 4 * pg, 60));
	} else {
		struct f_toucher t;
		struct uffd_msg m;
		f_touch_start(&t, r.addr + pg, 0, 0);
		f_expect_fault(fd, 2000, &m);
		T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + pg));
		T_OK(uf_zeropage(fd, r.addr + pg, pg, 0, &res));
		f_touch_finish(&t, 2000);
		T_EQ(t.seen, 0);
	}
	uf_close(fd);
	munmap(src, pg);
	t_region_unmap(&r);
}

/* MADV_REMOVE (shared memory only) punches the file: MISSING again. */
static void test_remove_punch(const struct t_env *env)
{
	struct t_region r;
	const size_t pg = env->page;
	int fd = setup(env, &r, 4, 4, UFFD_FEATURE_EVENT_REMOVE);
	struct caller c;
	call_start(&c, r.addr, 2 * pg, MADV_REMOVE);
	expect_event(fd, UFFD_EVENT_REMOVE, r.addr, r.addr + 2 * pg);
	T_ASSERT(t_wait_flag(&c.done, 2000));
	t_join(&c.th);
	T_OK(c.ret);
	struct f_toucher t;
	struct uffd_msg m;
	__s64 res;
	f_touch_start(&t, r.addr + pg, 0, 0);
	f_expect_fault(fd, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + pg));
	T_OK(uf_zeropage(fd, r.addr + pg, pg, 0, &res));
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, 0);
	uf_close(fd);
	t_region_unmap(&r);
}

/* munmap: UNMAP comes after the memory is gone; the caller waits for it. */
static void test_unmap(const struct t_env *env)
{
	struct t_region r;
	const size_t pg = env->page;
	int fd = setup(env, &r, 4, 2, UFFD_FEATURE_EVENT_UNMAP);
	struct caller c;
	call_start(&c, r.addr + 2 * pg, 2 * pg, -1);
	expect_event(fd, UFFD_EVENT_UNMAP, r.addr + 2 * pg, r.addr + 4 * pg);
	T_ASSERT(t_wait_flag(&c.done, 2000));
	t_join(&c.th);
	T_OK(c.ret);
	unsigned char v;
	T_EQ(mincore(r.addr + 2 * pg, pg, &v), -1);	/* gone */
	T_EQ(errno, ENOMEM);
	T_ASSERT(t_check(r.addr, 2 * pg, 60));	/* the rest stays */
	uf_close(fd);
	r.len = 2 * pg;
	t_region_unmap(&r);
}

/* A fault and an event pending: the fault is read first. */
static void test_faults_first(const struct t_env *env)
{
	struct t_region r;
	const size_t pg = env->page;
	int fd = setup(env, &r, 4, 2, UFFD_FEATURE_EVENT_REMOVE);
	struct caller c;
	call_start(&c, r.addr, pg, MADV_DONTNEED);
	wait_queued(fd);
	struct f_toucher t;
	f_touch_start(&t, r.addr + 3 * pg, 0, 0);
	t_msleep(100);
	struct uffd_msg m[2];
	T_EQ(uf_read(fd, m, 2), 2);
	T_EQ(m[0].event, UFFD_EVENT_PAGEFAULT);
	T_EQ(m[1].event, UFFD_EVENT_REMOVE);
	T_ASSERT(t_wait_flag(&c.done, 2000));
	t_join(&c.th);
	__s64 res;
	T_OK(uf_zeropage(fd, r.addr + 3 * pg, pg, 0, &res));
	f_touch_finish(&t, 2000);
	uf_close(fd);
	t_region_unmap(&r);
}

/* Closing the descriptor lets a thread waiting on an unread event go. */
static void test_release_frees_caller(const struct t_env *env)
{
	struct t_region r;
	const size_t pg = env->page;
	int fd = setup(env, &r, 2, 2, UFFD_FEATURE_EVENT_REMOVE);
	struct caller c;
	call_start(&c, r.addr, pg, MADV_DONTNEED);
	wait_queued(fd);
	T_ASSERT(!c.done);
	T_OK(uf_close(fd));
	T_ASSERT(t_wait_flag(&c.done, 2000));
	t_join(&c.th);
	T_OK(c.ret);
	t_region_unmap(&r);
}

/* Without EVENT_REMOVE nothing is queued and nobody waits. */
static void test_no_feature(const struct t_env *env)
{
	struct t_region r;
	const size_t pg = env->page;
	int fd = setup(env, &r, 2, 2, 0);
	T_OK(uf_madvise(r.addr, pg, MADV_DONTNEED));
	f_expect_no_msg(fd, 50);
	uf_close(fd);
	t_region_unmap(&r);
}

/* On memory no engine manages, the calls are madvise(2) and munmap(2). */
static void test_plain_memory(const struct t_env *env)
{
	(void)env;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(p != MAP_FAILED);
	p[0] = 5;
	T_OK(uf_madvise(p, pg, MADV_DONTNEED));
	T_EQ(p[0], 0);
	T_ERR(uf_madvise(p + 1, pg, MADV_DONTNEED), EINVAL);
	T_OK(uf_munmap(p, 2 * pg));
	T_ERR(uf_munmap(p + 1, pg), EINVAL);
}

/* A range registered in two pieces, in either order: the kernel merges
 * the pieces into one VMA (same flags, same context), so one MADV_DONTNEED
 * over both is one REMOVE for the whole range. */
static void test_remove_merged_pieces(const struct t_env *env)
{
	const size_t pg = env->page;
	for (int second_first = 0; second_first < 2; second_first++) {
		struct t_region r;
		t_region_map(env, 4, &r);
		memset(r.addr, 0x61, pg);	/* one piece has pages, one not */
		int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_EVENT_REMOVE);
		char *first = second_first ? r.addr + 2 * pg : r.addr;
		char *second = second_first ? r.addr : r.addr + 2 * pg;
		T_OK(uf_register(fd, first, 2 * pg, F_MODE_M, NULL));
		T_OK(uf_register(fd, second, 2 * pg, F_MODE_M, NULL));
		struct caller c;
		call_start(&c, r.addr, r.len, MADV_DONTNEED);
		wait_queued(fd);
		expect_event(fd, UFFD_EVENT_REMOVE, r.addr, r.addr + r.len);
		t_join(&c.th);
		T_OK(c.ret);
		f_expect_no_msg(fd, 0);
		uf_close(fd);
		t_region_unmap(&r);
	}
}

/* hugetlb (no ZEROPAGE there, so the cases above leave it out): a REMOVE
 * for MADV_DONTNEED and MADV_REMOVE, fills in between say EAGAIN; shared
 * memory keeps dropped pages in its file, private memory faults again, and
 * a punched page faults again on both.  A VMA registered in two pieces stays
 * two VMAs (hugetlb VMAs are not merged back): one REMOVE per piece. */
static void test_remove_hugetlb(const struct t_env *env)
{
	struct t_region r;
	const size_t pg = env->page;
	int fd = setup(env, &r, 4, 3, UFFD_FEATURE_EVENT_REMOVE);
	char *src = t_buffer(pg, 61);
	struct caller c;
	call_start(&c, r.addr, 2 * pg, MADV_DONTNEED);
	wait_queued(fd);
	T_ASSERT(!c.done);
	struct uffdio_copy cp = { f_ul(r.addr + 3 * pg), f_ul(src), pg, 0, F_SENTINEL };
	T_ERR(uf_ioctl(fd, UFFDIO_COPY, &cp), EAGAIN);
	T_EQ(cp.copy, -EAGAIN);
	expect_event(fd, UFFD_EVENT_REMOVE, r.addr, r.addr + 2 * pg);
	T_ASSERT(t_wait_flag(&c.done, 2000));
	t_join(&c.th);
	T_OK(c.ret);
	struct f_toucher t;
	struct uffd_msg m;
	__s64 res;
	if (t_mem_is_shared(env->mem)) {
		T_ASSERT(t_check(r.addr, 3 * pg, 60));
		/* Punching the file: the page is missing again. */
		call_start(&c, r.addr + pg, pg, MADV_REMOVE);
		expect_event(fd, UFFD_EVENT_REMOVE, r.addr + pg, r.addr + 2 * pg);
		T_ASSERT(t_wait_flag(&c.done, 2000));
		t_join(&c.th);
		T_OK(c.ret);
	}
	f_touch_start(&t, r.addr + pg + 5, 0, 0);
	f_expect_fault(fd, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + pg));
	T_OK(uf_copy(fd, r.addr + pg, src, pg, 0, &res));
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, (unsigned char)src[5]);
	uf_close(fd);
	t_region_unmap(&r);

	t_region_map(env, 4, &r);
	fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_EVENT_REMOVE);
	T_OK(uf_register(fd, r.addr + 2 * pg, 2 * pg, F_MODE_M, NULL));
	T_OK(uf_register(fd, r.addr, 2 * pg, F_MODE_M, NULL));
	call_start(&c, r.addr, r.len, MADV_DONTNEED);
	expect_event(fd, UFFD_EVENT_REMOVE, r.addr, r.addr + 2 * pg);
	expect_event(fd, UFFD_EVENT_REMOVE, r.addr + 2 * pg, r.addr + 4 * pg);
	T_ASSERT(t_wait_flag(&c.done, 2000));
	t_join(&c.th);
	T_OK(c.ret);
	f_expect_no_msg(fd, 0);
	/* Ranges that are not whole huge pages: a start inside one is EINVAL
	 * (MADV_FREE always), and so is an unmap that would split one, with no
	 * event; DONTNEED's end is rounded down (nothing left: no event). */
	T_ERR(uf_madvise(r.addr + 4096, pg, MADV_DONTNEED), EINVAL);
	T_ERR(uf_madvise(r.addr, pg, MADV_FREE), EINVAL);
	T_OK(uf_madvise(r.addr, 4096, MADV_DONTNEED));
	T_ERR(uf_munmap(r.addr + 4096, pg), EINVAL);
	T_ERR(uf_munmap(r.addr, 4096), EINVAL);
	f_expect_no_msg(fd, 0);
	call_start(&c, r.addr, pg + 4096, MADV_DONTNEED);
	expect_event(fd, UFFD_EVENT_REMOVE, r.addr, r.addr + pg);
	T_ASSERT(t_wait_flag(&c.done, 2000));
	t_join(&c.th);
	T_OK(c.ret);
	uf_close(fd);
	munmap(src, pg);
	t_region_unmap(&r);
}

static const struct t_case cases[] = {
	{ "remove_dontneed", test_remove_dontneed, T_MEM_NO_HUGETLB, UFFD_FEATURE_EVENT_REMOVE },
	{ "remove_punch", test_remove_punch, T_MEM(T_SHMEM) | T_MEM(T_MEMFD),
	  UFFD_FEATURE_EVENT_REMOVE },
	{ "remove_merged_pieces", test_remove_merged_pieces, T_MEM_NO_HUGETLB,
	  UFFD_FEATURE_EVENT_REMOVE },
	{ "unmap", test_unmap, T_MEM_NO_HUGETLB, UFFD_FEATURE_EVENT_UNMAP },
	{ "faults_before_events", test_faults_first, T_MEM_NO_HUGETLB, UFFD_FEATURE_EVENT_REMOVE },
	{ "release_frees_caller", test_release_frees_caller, T_MEM_NO_HUGETLB,
	  UFFD_FEATURE_EVENT_REMOVE },
	{ "no_feature_no_event", test_no_feature, T_MEM_NO_HUGETLB, 0 },
	{ "remove_hugetlb", test_remove_hugetlb, T_MEM_HUGETLB_ALL, UFFD_FEATURE_EVENT_REMOVE },
	{ "plain_memory", test_plain_memory, T_MEM_NONE, 0 },
	{ 0 }
};
T_MAIN(cases)
