/* SPDX-License-Identifier: MIT */
/*
 * remap.c - mremap(2) of registered memory through uf_mremap() (the system
 * call itself on the kernel engine), as the kernel follows it: with
 * UFFD_FEATURE_EVENT_REMAP the registration, content and page states move
 * and the monitor reads UFFD_EVENT_REMAP {from, to, len}; without it the
 * moved memory is ordinary memory with the same content.  Growing in place
 * keeps the registration; shrinking unmaps the tail (UNMAP event);
 * MREMAP_DONTUNMAP leaves the old range registered and empty.  The moving
 * thread waits until the event is read; fills meanwhile say EAGAIN.
 */
#include <poll.h>
#include <sys/mman.h>
#include "lib/fault.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define REMAP_UNMAP (UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_UNMAP)

/* A thread calling uf_mremap() and saying when it returned. */
struct mover {
	void *old;
	size_t old_len, new_len;
	int flags;
	void *to;
	void *res;
	int ret;
	volatile int done;
	t_thread th;
};

static void *mover_main(void *arg)
{
	struct mover *m = arg;
	m->ret = uf_mremap(m->old, m->old_len, m->new_len, m->flags, m->to, &m->res);
	__atomic_store_n(&m->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void move_start(struct mover *m, void *old, size_t old_len, size_t new_len, int flags,
		       void *to)
{
	memset(m, 0, sizeof(*m));
	m->old = old;
	m->old_len = old_len;
	m->new_len = new_len;
	m->flags = flags;
	m->to = to;
	t_spawn(&m->th, mover_main, m);
}

static char *move_finish(struct mover *m)
{
	T_ASSERT(t_wait_flag(&m->done, 5000));
	t_join(&m->th);
	T_OK(m->ret);
	return m->res;
}

static struct uffd_msg next_event(int fd)
{
	struct uffd_msg m;
	if (!f_read_msg(fd, &m, 5000))
		T_FAIL("no event within 5 s");
	return m;
}

static void expect_remap(int fd, void *from, void *to, size_t len)
{
	struct uffd_msg m = next_event(fd);
	T_EQ(m.event, UFFD_EVENT_REMAP);
	T_EQX(m.arg.remap.from, f_ul(from));
	T_EQX(m.arg.remap.to, f_ul(to));
	T_EQX(m.arg.remap.len, len);
}

static void expect_unmap(int fd, void *start, void *end)
{
	struct uffd_msg m = next_event(fd);
	T_EQ(m.event, UFFD_EVENT_UNMAP);
	T_EQX(m.arg.remove.start, f_ul(start));
	T_EQX(m.arg.remove.end, f_ul(end));
}

/* A free place for n pages (reserved, so nothing else lands there),
 * aligned to the page: a hugetlb mapping moves only to a huge page's
 * address. */
static char *reserve(size_t n, size_t pg)
{
	char *p = mmap(NULL, (n + 1) * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(p != MAP_FAILED);
	size_t head = (pg - ((uintptr_t)p & (pg - 1))) & (pg - 1);
	if (head)
		munmap(p, head);
	munmap(p + head + n * pg, pg - head);
	return p + head;
}

/* A region of n pages, registered MISSING, the first `filled` filled with
 * pattern 60. */
static int setup(const struct t_env *env, struct t_region *r, size_t n, size_t filled,
		 __u64 mode, __u64 features)
{
	t_region_map(env, n, r);
	int fd = f_uffd(env, mode, features);
	T_OK(uf_register(fd, r->addr, r->len, mode, NULL));
	if (filled) {
		char *src = t_buffer(filled * env->page, 60);
		__s64 res;
		T_OK(uf_copy(fd, r->addr, src, filled * env->page, 0, &res));
		munmap(src, filled * env->page);
	}
	return fd;
}

/* Unmapped through uf_munmap(), as a moved region's new place has to be:
 * plain munmap(2) would leave the user engine believing in it. */
static void region_drop(struct t_region *r)
{
	T_OK(uf_munmap(r->addr, r->len));
	r->addr = NULL;
	t_region_unmap(r);
}

/* A fault at addr (a page's start) must come, reported at addr; answered
 * with a zero page (hugetlb has no ZEROPAGE: a COPY of zeroes). */
static void expect_fault_at(int fd, char *addr, size_t pg)
{
	struct f_toucher t;
	struct uffd_msg m;
	__s64 res;
	f_touch_start(&t, addr, 0, 0);
	f_expect_fault(fd, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(addr));
	if (pg > 4096) {
		char *zero = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		T_ASSERT(zero != MAP_FAILED);
		T_OK(uf_copy(fd, addr, zero, pg, 0, &res));
		munmap(zero, pg);
	} else {
		T_OK(uf_zeropage(fd, addr, pg, 0, &res));
	}
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, 0);
}

/* Moved to a fixed place with EVENT_REMAP: REMAP, then UNMAP of the old
 * range; the mover waits for them; fills meanwhile say EAGAIN.  The content
 * moved, the old range is gone, a missing page faults at its new address. */
static void test_move_fixed(const struct t_env *env)
{
	const size_t pg = env->page;
	struct t_region r;
	int fd = setup(env, &r, 4, 2, F_MODE_M, REMAP_UNMAP);
	char *dst = reserve(4, pg);
	struct mover mv;
	move_start(&mv, r.addr, 4 * pg, 4 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	T_EQ(poll(&p, 1, 5000), 1);
	T_ASSERT(!mv.done);			/* waits for the reader */
	char *src = t_buffer(pg, 61);
	struct uffdio_copy cp = { f_ul(dst + 3 * pg), f_ul(src), pg, 0, F_SENTINEL };
	T_ERR(uf_ioctl(fd, UFFDIO_COPY, &cp), EAGAIN);
	T_EQ(cp.copy, -EAGAIN);
	expect_remap(fd, r.addr, dst, 4 * pg);
	expect_unmap(fd, r.addr, r.addr + 4 * pg);
	T_ASSERT(move_finish(&mv) == dst);
	f_expect_no_msg(fd, 0);
	T_ASSERT(t_check(dst, 2 * pg, 60));
	unsigned char v;
	T_EQ(mincore(r.addr, pg, &v), -1);	/* the old range is gone */
	T_EQ(errno, ENOMEM);
	expect_fault_at(fd, dst + 2 * pg, pg);
	/* Fills work again, at the new address. */
	__s64 res;
	T_OK(uf_copy(fd, dst + 3 * pg, src, pg, 0, &res));
	T_ASSERT(t_check(dst + 3 * pg, pg, 61));
	uf_close(fd);
	munmap(src, pg);
	r.addr = dst;
	region_drop(&r);
}

/* Without EVENT_REMAP the moved memory is not registered: no REMAP, a
 * missing page reads as the memory type's empty page without a message, and
 * the range can be registered again. */
static void test_move_no_feature(const struct t_env *env)
{
	const size_t pg = env->page;
	struct t_region r;
	int fd = setup(env, &r, 4, 2, F_MODE_M, UFFD_FEATURE_EVENT_UNMAP);
	char *dst = reserve(4, pg);
	struct mover mv;
	move_start(&mv, r.addr, 4 * pg, 4 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	expect_unmap(fd, r.addr, r.addr + 4 * pg);
	T_ASSERT(move_finish(&mv) == dst);
	T_ASSERT(t_check(dst, 2 * pg, 60));
	T_EQ(((volatile char *)dst)[2 * pg], 0);
	f_expect_no_msg(fd, 50);
	dst[3 * pg] = 7;			/* ordinary memory: writable */
	T_EQ(dst[3 * pg], 7);
	/* Registered again: what is there stays, a missing page faults
	 * (only anonymous memory: in a file the read above made a page). */
	T_OK(uf_register(fd, dst, 4 * pg, F_MODE_M, NULL));
	T_ASSERT(t_check(dst, 2 * pg, 60));
	T_EQ(dst[3 * pg], 7);
	if (env->mem == T_ANON) {
		T_OK(uf_madvise(dst + 2 * pg, pg, MADV_DONTNEED));
		expect_fault_at(fd, dst + 2 * pg, pg);
	}
	uf_close(fd);
	r.addr = dst;
	region_drop(&r);
}

/* Growing where the space after is free: same address, no event, and the
 * new part is registered too (the VMA grew, with or without the feature). */
static void test_grow_in_place(const struct t_env *env)
{
	const size_t pg = env->page;
	for (int feat = 0; feat < 2; feat++) {
		struct t_region r;
		int fd = setup(env, &r, 8, 0, F_MODE_M, feat ? REMAP_UNMAP : 0);
		/* Nothing may be mapped between the unmapping and the growing:
		 * it could take the hole. */
		char *src = t_buffer(pg, 60);
		T_OK(uf_unregister(fd, r.addr + 4 * pg, 4 * pg));
		T_OK(uf_munmap(r.addr + 4 * pg, 4 * pg));
		__s64 res;
		T_OK(uf_copy(fd, r.addr, src, pg, 0, &res));
		void *to;
		T_OK(uf_mremap(r.addr, 4 * pg, 8 * pg, 0, NULL, &to));
		T_ASSERT(to == r.addr);
		f_expect_no_msg(fd, 0);
		T_ASSERT(t_check(r.addr, pg, 60));
		expect_fault_at(fd, r.addr + pg, pg);
		expect_fault_at(fd, r.addr + 5 * pg, pg);
		uf_close(fd);
		munmap(src, pg);
		region_drop(&r);
	}
}

/* Growing where the space after is taken: ENOMEM without MREMAP_MAYMOVE;
 * with it the memory moves (REMAP with the old length, UNMAP of the old
 * range) and all of the new range is registered. */
static void test_grow_move(const struct t_env *env)
{
	const size_t pg = env->page;
	struct t_region r;
	int fd = setup(env, &r, 8, 1, F_MODE_M, REMAP_UNMAP);
	T_OK(uf_unregister(fd, r.addr + 4 * pg, 4 * pg));
	void *to;
	T_ERR(uf_mremap(r.addr, 4 * pg, 8 * pg, 0, NULL, &to), ENOMEM);
	f_expect_no_msg(fd, 0);
	struct mover mv;
	move_start(&mv, r.addr, 4 * pg, 8 * pg, MREMAP_MAYMOVE, NULL);
	struct uffd_msg m = next_event(fd);
	T_EQ(m.event, UFFD_EVENT_REMAP);
	T_EQX(m.arg.remap.from, f_ul(r.addr));
	T_EQX(m.arg.remap.len, 4 * pg);
	expect_unmap(fd, r.addr, r.addr + 4 * pg);
	char *n = move_finish(&mv);
	T_EQX(f_ul(n), m.arg.remap.to);
	T_ASSERT(t_check(n, pg, 60));
	expect_fault_at(fd, n + pg, pg);
	expect_fault_at(fd, n + 6 * pg, pg);
	uf_close(fd);
	T_OK(uf_munmap(n, 8 * pg));
	r.addr += 4 * pg;
	r.len = 4 * pg;
	region_drop(&r);
}

/* Pages of the shrinking cases (half of it for two regions at once): half
 * as many on hugetlb, whose huge pages are few (the user engine's private
 * hugetlb registration briefly holds twice). */
static size_t shrink_pages(const struct t_env *env)
{
	return t_mem_is_hugetlb(env->mem) ? 4 : 8;
}

/* Shrinking in place unmaps the tail (an UNMAP event for it); the rest
 * stays registered with its content. */
static void test_shrink_in_place(const struct t_env *env)
{
	const size_t pg = env->page, n = shrink_pages(env), h = n / 2;
	struct t_region r;
	int fd = setup(env, &r, n, 1, F_MODE_M, REMAP_UNMAP);
	struct mover mv;
	move_start(&mv, r.addr, n * pg, h * pg, MREMAP_MAYMOVE, NULL);
	expect_unmap(fd, r.addr + h * pg, r.addr + n * pg);
	T_ASSERT(move_finish(&mv) == r.addr);
	f_expect_no_msg(fd, 0);
	T_ASSERT(t_check(r.addr, pg, 60));
	expect_fault_at(fd, r.addr + pg, pg);
	uf_close(fd);
	r.len = h * pg;
	region_drop(&r);
}

/* Moving and shrinking: REMAP with the new length, then UNMAP of the tail,
 * then of the old range. */
static void test_shrink_fixed(const struct t_env *env)
{
	const size_t pg = env->page, n = shrink_pages(env), h = n / 2;
	struct t_region r;
	int fd = setup(env, &r, n, h / 2, F_MODE_M, REMAP_UNMAP);
	char *dst = reserve(h, pg);
	struct mover mv;
	move_start(&mv, r.addr, n * pg, h * pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	expect_remap(fd, r.addr, dst, h * pg);
	expect_unmap(fd, r.addr + h * pg, r.addr + n * pg);
	expect_unmap(fd, r.addr, r.addr + h * pg);
	T_ASSERT(move_finish(&mv) == dst);
	T_ASSERT(t_check(dst, h / 2 * pg, 60));
	expect_fault_at(fd, dst + (h - 1) * pg, pg);
	uf_close(fd);
	r.addr = dst;
	r.len = h * pg;
	region_drop(&r);
}

/* MREMAP_DONTUNMAP: REMAP and no UNMAP; the content moved; the old range
 * keeps its registration: private memory lost its pages there (a fault at
 * the old address), shared memory still has them in its file. */
static void test_dontunmap(const struct t_env *env)
{
	const size_t pg = env->page;
	for (int feat = 0; feat < 2; feat++) {
		struct t_region r;
		int fd = setup(env, &r, 4, 2, F_MODE_M, feat ? REMAP_UNMAP : UFFD_FEATURE_EVENT_UNMAP);
		struct mover mv;
		move_start(&mv, r.addr, 4 * pg, 4 * pg, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
		char *n;
		if (feat) {
			struct uffd_msg m = next_event(fd);
			T_EQ(m.event, UFFD_EVENT_REMAP);
			T_EQX(m.arg.remap.from, f_ul(r.addr));
			T_EQX(m.arg.remap.len, 4 * pg);
			n = move_finish(&mv);
			T_EQX(f_ul(n), m.arg.remap.to);
		} else {
			n = move_finish(&mv);
		}
		f_expect_no_msg(fd, 0);
		T_ASSERT(t_check(n, 2 * pg, 60));
		if (t_mem_is_shared(env->mem)) {
			T_ASSERT(t_check(r.addr, 2 * pg, 60));
			f_expect_no_msg(fd, 0);
		} else {
			expect_fault_at(fd, r.addr, pg);
		}
		expect_fault_at(fd, r.addr + 3 * pg, pg);
		if (feat)
			expect_fault_at(fd, n + 2 * pg, pg);
		else
			T_EQ(((volatile char *)n)[2 * pg], 0);
		f_expect_no_msg(fd, 0);
		uf_close(fd);
		T_OK(uf_munmap(n, 4 * pg));
		region_drop(&r);
	}
}

/* Write protection moves with the registration (EVENT_REMAP): a write at
 * the new address is a WP fault there.  Without the feature the mark goes:
 * the write just happens. */
static void test_wp_moves(const struct t_env *env)
{
	const size_t pg = env->page;
	for (int feat = 0; feat < 2; feat++) {
		struct t_region r;
		int fd = setup(env, &r, 2, 2, F_MODE_M | F_MODE_WP, feat ? UFFD_FEATURE_EVENT_REMAP : 0);
		char *want = t_buffer(2 * pg, 60);
		T_OK(uf_writeprotect(fd, r.addr, pg, UFFDIO_WRITEPROTECT_MODE_WP));
		char *dst = reserve(2, pg);
		struct mover mv;
		move_start(&mv, r.addr, 2 * pg, 2 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
		if (feat)
			expect_remap(fd, r.addr, dst, 2 * pg);
		move_finish(&mv);
		struct f_toucher t;
		f_touch_start(&t, dst, 1, 0x33);
		if (feat) {
			struct uffd_msg m;
			f_expect_fault(fd, 2000, &m);
			T_EQX(F_MSG_ADDR(&m), f_ul(dst));
			T_ASSERT(m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP);
			T_OK(uf_writeprotect(fd, dst, pg, 0));
		}
		f_touch_finish(&t, 2000);
		T_EQ(dst[0], 0x33);
		T_ASSERT(memcmp(dst + 1, want + 1, 2 * pg - 1) == 0);
		dst[pg] = 0x44;			/* never protected */
		f_expect_no_msg(fd, 0);
		uf_close(fd);
		munmap(want, 2 * pg);
		r.addr = dst;
		region_drop(&r);
	}
}

/* A poisoned page stays poisoned at the new address, with or without the
 * feature (the marker moves with the page table). */
static void test_poison_moves(const struct t_env *env)
{
	const size_t pg = env->page;
	if (!(env->features & UFFD_FEATURE_POISON))
		T_SKIP("%s engine lacks UFFD_FEATURE_POISON", uf_engine_name(env->engine));
	for (int feat = 0; feat < 2; feat++) {
		struct t_region r;
		int fd = setup(env, &r, 2, 1, F_MODE_M,
			       UFFD_FEATURE_POISON | (feat ? UFFD_FEATURE_EVENT_REMAP : 0));
		__s64 res;
		T_OK(uf_poison(fd, r.addr + pg, pg, 0, &res));
		char *dst = reserve(2, pg);
		struct mover mv;
		move_start(&mv, r.addr, 2 * pg, 2 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
		if (feat)
			expect_remap(fd, r.addr, dst, 2 * pg);
		move_finish(&mv);
		int code;
		void *where;
		T_EQ(f_probe_sigbus(dst + pg, 0, &code, &where), 1);
		T_ASSERT(where == dst + pg);
		T_ASSERT(t_check(dst, pg, 60));
		uf_close(fd);
		r.addr = dst;
		region_drop(&r);
	}
}

/* The kernel's errors for bad arguments. */
static void test_errors(const struct t_env *env)
{
	const size_t pg = env->page;
	struct t_region r;
	int fd = setup(env, &r, 4, 1, F_MODE_M, REMAP_UNMAP);
	char *far = reserve(4, pg);
	void *to = NULL;
	T_ERR(uf_mremap(r.addr, 4 * pg, 4 * pg, 8, NULL, &to), EINVAL);
	T_ERR(uf_mremap(r.addr, 4 * pg, 4 * pg, MREMAP_FIXED, far, &to), EINVAL);
	T_ERR(uf_mremap(r.addr, 4 * pg, 8 * pg, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL, &to), EINVAL);
	T_ERR(uf_mremap(r.addr + 1, pg, pg, MREMAP_MAYMOVE, NULL, &to), EINVAL);
	T_ERR(uf_mremap(r.addr, pg, 0, MREMAP_MAYMOVE, NULL, &to), EINVAL);
	T_ERR(uf_mremap(r.addr, 4 * pg, 4 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, r.addr + pg, &to),
	      EINVAL);
	T_ERR(uf_mremap(r.addr, 4 * pg, 4 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, far + 1, &to), EINVAL);
	/* Past the VMA's end while growing or moving. */
	T_ERR(uf_mremap(r.addr, 8 * pg, 12 * pg, MREMAP_MAYMOVE, NULL, &to), EFAULT);
	T_ERR(uf_mremap(r.addr + 2 * pg, 4 * pg, 4 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, far, &to),
	      EFAULT);
	/* Old size 0 duplicates shared memory only. */
	if (!t_mem_is_shared(env->mem))
		T_ERR(uf_mremap(r.addr, 0, pg, MREMAP_MAYMOVE, NULL, &to), EINVAL);
	/* Same size, nothing to do: the address itself, no event. */
	T_OK(uf_mremap(r.addr, 4 * pg, 4 * pg, MREMAP_MAYMOVE, NULL, &to));
	T_ASSERT(to == r.addr);
	f_expect_no_msg(fd, 0);
	T_ASSERT(t_check(r.addr, pg, 60));
	uf_close(fd);
	munmap(far, 4 * pg);
	region_drop(&r);
}

/* Old size 0 on shared memory: a second mapping of the same pages; the old
 * one stays as it was; REMAP with length 0. */
static void test_duplicate_shared(const struct t_env *env)
{
	const size_t pg = env->page;
	struct t_region r;
	int fd = setup(env, &r, 4, 1, F_MODE_M, REMAP_UNMAP);
	struct mover mv;
	move_start(&mv, r.addr, 0, 2 * pg, MREMAP_MAYMOVE, NULL);
	struct uffd_msg m = next_event(fd);
	T_EQ(m.event, UFFD_EVENT_REMAP);
	T_EQX(m.arg.remap.from, f_ul(r.addr));
	T_EQX(m.arg.remap.len, 0);
	char *n = move_finish(&mv);
	T_EQX(f_ul(n), m.arg.remap.to);
	T_ASSERT(t_check(n, pg, 60));
	T_ASSERT(t_check(r.addr, pg, 60));
	expect_fault_at(fd, n + pg, pg);
	T_EQ(((volatile char *)r.addr)[pg], 0);	/* the same page, filled now */
	expect_fault_at(fd, r.addr + 2 * pg, pg);
	uf_close(fd);
	T_OK(uf_munmap(n, 2 * pg));
	region_drop(&r);
}

/* On memory no engine manages it is mremap(2). */
static void test_plain_memory(const struct t_env *env)
{
	(void)env;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(p != MAP_FAILED);
	p[0] = 5;
	void *to;
	T_ERR(uf_mremap(p + 1, pg, pg, MREMAP_MAYMOVE, NULL, &to), EINVAL);
	T_OK(uf_mremap(p, 2 * pg, 4 * pg, MREMAP_MAYMOVE, NULL, &to));
	T_EQ(((char *)to)[0], 5);
	T_OK(uf_munmap(to, 4 * pg));
}

/* A monitor serving MISSING faults with pages whose bytes say where they
 * are (page index from base, or from the moved range's new place), reading
 * events as they come; a fill refused with EAGAIN (an event pending) is
 * tried again after the next read, as a handler has to. */
struct monitor {
	int fd;
	char *base, *moved_from, *moved_to;
	size_t pg, moved_len;
	volatile int stop;
	int remaps;
	t_thread th;
};

static unsigned char page_byte(const struct monitor *mo, uintptr_t a)
{
	if (mo->moved_to && a >= (uintptr_t)mo->moved_to && a < (uintptr_t)mo->moved_to + mo->moved_len)
		a = a - (uintptr_t)mo->moved_to + (uintptr_t)mo->moved_from;
	return (unsigned char)(1 + (a - (uintptr_t)mo->base) / mo->pg);
}

static void *monitor_main(void *arg)
{
	struct monitor *mo = arg;
	char *src = t_buffer(mo->pg, 0);
	uintptr_t retry[64];
	size_t nretry = 0;
	while (!__atomic_load_n(&mo->stop, __ATOMIC_SEQ_CST)) {
		struct pollfd p = { .fd = mo->fd, .events = POLLIN };
		if (poll(&p, 1, 10) == 1) {
			struct uffd_msg m;
			ssize_t n = uf_read(mo->fd, &m, 1);
			if (n == 1 && m.event == UFFD_EVENT_PAGEFAULT && nretry < 64)
				retry[nretry++] = m.arg.pagefault.address & ~(uintptr_t)(mo->pg - 1);
			else if (n == 1 && m.event == UFFD_EVENT_REMAP)
				__atomic_fetch_add(&mo->remaps, 1, __ATOMIC_SEQ_CST);
		}
		for (size_t i = 0; i < nretry;) {
			memset(src, page_byte(mo, retry[i]), mo->pg);
			__s64 res;
			int r = uf_copy(mo->fd, (void *)retry[i], src, mo->pg, 0, &res);
			if (r == -EAGAIN) {
				i++;
				continue;
			}
			if (r < 0 && r != -EEXIST)
				T_FAIL("copy at %p: %s", (void *)retry[i], strerror(-r));
			retry[i] = retry[--nretry];
		}
	}
	munmap(src, mo->pg);
	return NULL;
}

struct reader_arg {
	const struct monitor *mo;
	char *from;
	size_t n;
	int bad;
	t_thread th;
};

static void *reader_main(void *arg)
{
	struct reader_arg *ra = arg;
	for (size_t i = 0; i < ra->n; i++) {
		char *p = ra->from + i * ra->mo->pg;
		if ((unsigned char)*(volatile char *)p != page_byte(ra->mo, (uintptr_t)p))
			ra->bad++;
	}
	return NULL;
}

/* Threads fault on the part of a map that stays while the rest of it moves
 * (the move holds the whole map still for a moment): every fault is served,
 * every page has its content, the moved part too. */
static void test_move_while_faulting(const struct t_env *env)
{
	const size_t pg = env->page, n = 1024, half = n / 2;
	struct t_region r;
	int fd = setup(env, &r, n, 0, F_MODE_M, UFFD_FEATURE_EVENT_REMAP);
	struct monitor mo = { .fd = fd, .base = r.addr, .pg = pg };
	t_spawn(&mo.th, monitor_main, &mo);
	/* The lower half: every other page filled through faults first. */
	for (size_t i = 0; i < half; i += 2)
		T_EQ((unsigned char)*(volatile char *)(r.addr + i * pg), page_byte(&mo, (uintptr_t)r.addr + i * pg));
	char *dst = reserve(half, pg);
	mo.moved_from = r.addr;
	mo.moved_len = half * pg;
	mo.moved_to = dst;
	struct reader_arg rd[2] = { { &mo, r.addr + half * pg, half / 2, 0, { 0 } },
				    { &mo, r.addr + (half + half / 2) * pg, half / 2, 0, { 0 } } };
	t_spawn(&rd[0].th, reader_main, &rd[0]);
	t_spawn(&rd[1].th, reader_main, &rd[1]);
	void *to;
	T_OK(uf_mremap(r.addr, half * pg, half * pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst, &to));
	T_ASSERT(to == dst);
	t_join(&rd[0].th);
	t_join(&rd[1].th);
	T_EQ(rd[0].bad + rd[1].bad, 0);
	T_EQ(__atomic_load_n(&mo.remaps, __ATOMIC_SEQ_CST), 1);
	/* The moved half: the filled pages kept, the others fault at their
	 * new address and are served there. */
	struct reader_arg all = { &mo, dst, half, 0, { 0 } };
	reader_main(&all);
	T_EQ(all.bad, 0);
	__atomic_store_n(&mo.stop, 1, __ATOMIC_SEQ_CST);
	t_join(&mo.th);
	uf_close(fd);
	T_OK(uf_munmap(dst, half * pg));
	r.addr += half * pg;
	r.len = half * pg;
	region_drop(&r);
}

/* A range registered in two pieces is one VMA for the kernel (same flags
 * and context): it moves in one call, content and registration with it.
 * Not hugetlb VMAs, which the kernel never merges: EFAULT across the
 * pieces, each moving on its own. */
static void test_move_merged_pieces(const struct t_env *env)
{
	const size_t pg = env->page;
	struct t_region r;
	t_region_map(env, 4, &r);
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_EVENT_REMAP);
	T_OK(uf_register(fd, r.addr + 2 * pg, 2 * pg, F_MODE_M, NULL));
	T_OK(uf_register(fd, r.addr, 2 * pg, F_MODE_M, NULL));
	char *src = t_buffer(4 * pg, 60);
	__s64 res;
	T_OK(uf_copy(fd, r.addr + pg, src + pg, pg, 0, &res));
	T_OK(uf_copy(fd, r.addr + 2 * pg, src + 2 * pg, pg, 0, &res));
	char *dst = reserve(4, pg);
	struct mover mv;
	if (t_mem_is_hugetlb(env->mem)) {
		void *to;
		T_ERR(uf_mremap(r.addr, 4 * pg, 4 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst, &to), EFAULT);
		f_expect_no_msg(fd, 0);
		move_start(&mv, r.addr + 2 * pg, 2 * pg, 2 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst + 2 * pg);
		expect_remap(fd, r.addr + 2 * pg, dst + 2 * pg, 2 * pg);
		T_ASSERT(move_finish(&mv) == dst + 2 * pg);
		move_start(&mv, r.addr, 2 * pg, 2 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
		expect_remap(fd, r.addr, dst, 2 * pg);
		T_ASSERT(move_finish(&mv) == dst);
	} else {
		move_start(&mv, r.addr, 4 * pg, 4 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
		expect_remap(fd, r.addr, dst, 4 * pg);
		T_ASSERT(move_finish(&mv) == dst);
	}
	T_ASSERT(memcmp(dst + pg, src + pg, 2 * pg) == 0);
	expect_fault_at(fd, dst, pg);
	expect_fault_at(fd, dst + 3 * pg, pg);
	uf_close(fd);
	munmap(src, 4 * pg);
	r.addr = dst;
	region_drop(&r);
}

/* Moved onto other registered memory: that memory is unmapped first (its
 * UNMAP comes first), then REMAP, then UNMAP of the old range; the
 * destination's old registration is gone, the moved one is there. */
static void test_move_onto_registered(const struct t_env *env)
{
	const size_t pg = env->page, n = shrink_pages(env) / 2;
	struct t_region r, d;
	int fd = setup(env, &r, n, 1, F_MODE_M, REMAP_UNMAP);
	t_region_map(env, n, &d);
	T_OK(uf_register(fd, d.addr, d.len, F_MODE_M, NULL));
	struct mover mv;
	move_start(&mv, r.addr, n * pg, n * pg, MREMAP_MAYMOVE | MREMAP_FIXED, d.addr);
	expect_unmap(fd, d.addr, d.addr + n * pg);
	expect_remap(fd, r.addr, d.addr, n * pg);
	expect_unmap(fd, r.addr, r.addr + n * pg);
	T_ASSERT(move_finish(&mv) == d.addr);
	T_ASSERT(t_check(d.addr, pg, 60));
	expect_fault_at(fd, d.addr + pg, pg);
	uf_close(fd);
	r.addr = d.addr;
	region_drop(&r);
	d.addr = NULL;
	t_region_unmap(&d);
}

/* hugetlb's own rules (the moves themselves are the cases above, on every
 * memory type): lengths are rounded up to whole huge pages, the addresses
 * must be huge-page aligned, it never grows and MREMAP_DONTUNMAP is
 * refused, all with EINVAL and before the VMA's extent is looked at
 * (EFAULT past it only once those pass); a length of a huge page and a
 * bit is two huge pages, in the REMAP event too; the new range is
 * registered and faults there, the old one is gone. */
static void test_hugetlb_rules(const struct t_env *env)
{
	const size_t pg = env->page, k4 = 4096;
	struct t_region r;
	int fd = setup(env, &r, 4, 1, F_MODE_M, REMAP_UNMAP);
	char *far = reserve(4, pg);
	void *to = NULL;
	T_ERR(uf_mremap(r.addr + k4, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, far, &to), EINVAL);
	T_ERR(uf_mremap(r.addr + k4, pg - k4, pg / 2, 0, NULL, &to), EINVAL);
	T_ERR(uf_mremap(r.addr, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, far + k4, &to), EINVAL);
	T_ERR(uf_mremap(r.addr, pg, 2 * pg, MREMAP_MAYMOVE, NULL, &to), EINVAL);
	T_ERR(uf_mremap(r.addr, pg, pg + k4, 0, NULL, &to), EINVAL);
	T_ERR(uf_mremap(r.addr, pg, pg, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL, &to), EINVAL);
	T_ERR(uf_mremap(r.addr, pg, pg, MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED, far, &to),
	      EINVAL);
	T_ERR(uf_mremap(r.addr, 0, pg, MREMAP_MAYMOVE, NULL, &to), EINVAL);
	/* Past the VMA: the hugetlb rules first, then EFAULT. */
	T_ERR(uf_mremap(r.addr, 8 * pg, 8 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, far + k4, &to), EINVAL);
	T_ERR(uf_mremap(r.addr, 8 * pg, 10 * pg, MREMAP_MAYMOVE, NULL, &to), EINVAL);
	T_ERR(uf_mremap(r.addr + 2 * pg, 4 * pg, 4 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, far, &to), EFAULT);
	/* Rounded to the same size without moving: the address, nothing else;
	 * new_addr is not looked at without MREMAP_FIXED. */
	T_OK(uf_mremap(r.addr, pg - k4, pg / 2, MREMAP_MAYMOVE, far + k4, &to));
	T_ASSERT(to == r.addr);
	f_expect_no_msg(fd, 0);
	T_ASSERT(t_check(r.addr, pg, 60));
	/* Shrinking inside the last huge page: rounded up, nothing changes. */
	struct mover mv;
	move_start(&mv, r.addr, 4 * pg, 3 * pg + k4, 0, NULL);
	T_ASSERT(move_finish(&mv) == r.addr);
	f_expect_no_msg(fd, 0);
	/* Shrinking by two huge pages and a bit less: their UNMAP. */
	move_start(&mv, r.addr, 4 * pg, 2 * pg - k4, MREMAP_MAYMOVE, NULL);
	expect_unmap(fd, r.addr + 2 * pg, r.addr + 4 * pg);
	T_ASSERT(move_finish(&mv) == r.addr);
	/* A huge page and a bit, moved: two huge pages, the whole mapping
	 * (moving part of a private hugetlb mapping makes Linux 6.18 leak
	 * huge page reservations for good: HugePages_Rsvd never comes back). */
	move_start(&mv, r.addr, pg + k4, pg + k4, MREMAP_MAYMOVE | MREMAP_FIXED, far);
	expect_remap(fd, r.addr, far, 2 * pg);
	expect_unmap(fd, r.addr, r.addr + 2 * pg);
	T_ASSERT(move_finish(&mv) == far);
	T_ASSERT(t_check(far, pg, 60));
	unsigned char v;
	T_EQ(mincore(r.addr, pg, &v), -1);	/* the old range is gone */
	T_EQ(errno, ENOMEM);
	expect_fault_at(fd, far + pg, pg);
	uf_close(fd);
	T_OK(uf_munmap(far, 2 * pg));
	r.addr = NULL;
	t_region_unmap(&r);
	munmap(far, 4 * pg);
}

/* The file's pages move with hugetlb memory: on shared hugetlb registered
 * MINOR, a page in the file's page cache (written through another mapping,
 * before or after the move) is a MINOR fault at its new address; on private
 * hugetlb registered MISSING, it reads as the file's without a message,
 * and a page not in the file is a MISSING fault at its new address. */
static void test_hugetlb_file_pages(const struct t_env *env)
{
	const size_t pg = env->page;
	int shared = t_mem_is_shared(env->mem);
	__u64 mode = shared ? F_MODE_MINOR : F_MODE_M;
	struct t_region r;
	t_region_map(env, 3, &r);
	t_region_alias(&r);
	t_fill(r.alias + pg, pg, 62);
	int fd = f_uffd(env, mode, UFFD_FEATURE_EVENT_REMAP);
	T_OK(uf_register(fd, r.addr, r.len, mode, NULL));
	char *dst = reserve(3, pg);
	struct mover mv;
	move_start(&mv, r.addr, 3 * pg, 3 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	expect_remap(fd, r.addr, dst, 3 * pg);
	T_ASSERT(move_finish(&mv) == dst);
	__s64 res;
	struct f_toucher t;
	struct uffd_msg m;
	if (shared) {
		t_fill(r.alias + 2 * pg, pg, 63);
		for (size_t i = 1; i < 3; i++) {
			f_touch_start(&t, dst + i * pg, 0, 0);
			f_expect_fault(fd, 2000, &m);
			T_EQX(F_MSG_ADDR(&m), f_ul(dst + i * pg));
			T_ASSERT(m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_MINOR);
			T_OK(uf_continue(fd, dst + i * pg, pg, 0, &res));
			f_touch_finish(&t, 2000);
		}
		T_ASSERT(t_check(dst + pg, pg, 62));
		T_ASSERT(t_check(dst + 2 * pg, pg, 63));
		T_EQ(((volatile char *)dst)[0], 0);	/* not in the file: a new page */
	} else {
		T_ASSERT(t_check(dst + pg, pg, 62));
		f_touch_start(&t, dst + 2 * pg, 0, 0);
		f_expect_fault(fd, 2000, &m);
		T_EQX(F_MSG_ADDR(&m), f_ul(dst + 2 * pg));
		T_ASSERT(!(m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_MINOR));
		char *src = t_buffer(pg, 61);
		T_OK(uf_copy(fd, dst + 2 * pg, src, pg, 0, &res));
		munmap(src, pg);
		f_touch_finish(&t, 2000);
		T_ASSERT(t_check(dst + 2 * pg, pg, 61));
	}
	f_expect_no_msg(fd, 0);
	uf_close(fd);
	r.addr = dst;
	region_drop(&r);
}

static const struct t_case cases[] = {
	{ "move_onto_registered", test_move_onto_registered, T_MEM_ALL, REMAP_UNMAP },
	{ "move_merged_pieces", test_move_merged_pieces, T_MEM_ALL, UFFD_FEATURE_EVENT_REMAP },
	{ "move_while_faulting", test_move_while_faulting, T_MEM_NO_HUGETLB, UFFD_FEATURE_EVENT_REMAP },
	{ "move_fixed", test_move_fixed, T_MEM_ALL, REMAP_UNMAP },
	{ "move_no_feature", test_move_no_feature, T_MEM_ALL, UFFD_FEATURE_EVENT_UNMAP },
	{ "grow_in_place", test_grow_in_place, T_MEM_NO_HUGETLB, REMAP_UNMAP },
	{ "grow_move", test_grow_move, T_MEM_NO_HUGETLB, REMAP_UNMAP },
	{ "shrink_in_place", test_shrink_in_place, T_MEM_ALL, REMAP_UNMAP },
	{ "shrink_fixed", test_shrink_fixed, T_MEM_ALL, REMAP_UNMAP },
	{ "dontunmap", test_dontunmap, T_MEM_NO_HUGETLB, REMAP_UNMAP },
	{ "wp_moves", test_wp_moves, T_MEM_ALL, UFFD_FEATURE_EVENT_REMAP },
	{ "poison_moves", test_poison_moves, T_MEM_ALL, UFFD_FEATURE_EVENT_REMAP },
	{ "errors", test_errors, T_MEM_NO_HUGETLB, REMAP_UNMAP },
	{ "duplicate_shared", test_duplicate_shared, T_MEM(T_SHMEM) | T_MEM(T_MEMFD), REMAP_UNMAP },
	{ "plain_memory", test_plain_memory, T_MEM_NONE, 0 },
	{ "hugetlb_rules", test_hugetlb_rules, T_MEM_HUGETLB_ALL, REMAP_UNMAP },
	{ "hugetlb_file_pages", test_hugetlb_file_pages, T_MEM_HUGETLB_ALL, UFFD_FEATURE_EVENT_REMAP },
	{ 0 }
};
T_MAIN(cases)
