/* SPDX-License-Identifier: MIT */
/*
 * pagemap_scan.c - uf_pagemap_scan(): PAGEMAP_SCAN as the kernel answers it,
 * on both engines.  The expected answers are the kernel's (Linux 6.18,
 * measured with the raw ioctl); each case asserts them on each engine.
 *
 * Layout used by most cases: 16 pages registered for WP with
 * UFFD_FEATURE_WP_ASYNC; pages 0-7 populated before registration, then
 * the whole range write-protected (unpopulated pages get markers), then
 * pages 1, 5 and 9 written and page 6 read.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include "lib/t.h"

#define NP		16
/* What both engines can report for every memory type (PFNZERO, HUGE,
 * SOFT_DIRTY and, for private file mappings, FILE are documented
 * differences, see docs/LIMITATIONS.md). */
#define CATS_COMMON	(PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN | PAGE_IS_PRESENT | PAGE_IS_SWAPPED)

struct scan {
	char *base;
	size_t page;
	struct page_region vec[64];
	struct pm_scan_arg a;
	char text[1024];
};

/* Run one scan of [from, to) pages of s->base; the regions as text, in
 * pages from base: "[1,2)b [5,6)b". */
static long scan(struct scan *s, unsigned from, unsigned to, __u64 flags, __u64 inverted,
		 __u64 mask, __u64 anyof, __u64 ret, unsigned vec_len, __u64 max_pages)
{
	memset(s->vec, 0, sizeof(s->vec));
	s->a = (struct pm_scan_arg){
		.size = sizeof(s->a), .flags = flags,
		.start = (__u64)(uintptr_t)(s->base + from * s->page),
		.end = (__u64)(uintptr_t)(s->base + to * s->page),
		.vec = vec_len ? (__u64)(uintptr_t)s->vec : 0, .vec_len = vec_len,
		.max_pages = max_pages, .category_inverted = inverted, .category_mask = mask,
		.category_anyof_mask = anyof, .return_mask = ret,
	};
	long n = uf_pagemap_scan(&s->a);
	char *p = s->text;
	*p = 0;
	for (long i = 0; i < n && i < 64; i++)
		p += sprintf(p, "%s[%ld,%ld)%llx", i ? " " : "",
			     (long)((char *)(uintptr_t)s->vec[i].start - s->base) / (long)s->page,
			     (long)((char *)(uintptr_t)s->vec[i].end - s->base) / (long)s->page,
			     (unsigned long long)s->vec[i].categories);
	return n;
}

static long walk_end(const struct scan *s)
{
	return (long)((char *)(uintptr_t)s->a.walk_end - s->base) / (long)s->page;
}

static long count_regions(const char *text)
{
	long k = 0;
	for (; *text; text++)
		k += *text == '[';
	return k;
}

/* The scan returned n regions, reading want, and stopped at page walk. */
#define EXPECT(s, n, want, walk) do {							\
	if (strcmp((s)->text, (want)) != 0)						\
		T_FAIL("regions: got \"%s\", expected \"%s\"", (s)->text, (want));	\
	T_EQ((n), count_regions(want));							\
	T_EQ(walk_end(s), (walk));							\
} while (0)

/* The layout described at the top; returns the descriptor. */
static int setup(const struct t_env *env, struct t_region *r, struct scan *s)
{
	t_region_map(env, NP, r);
	for (unsigned i = 0; i < 8; i++)
		r->addr[i * r->page] = 1;
	int fd = t_uffd(env, 0, UFFD_FEATURE_WP_ASYNC);
	T_OK(uf_register(fd, r->addr, NP * r->page, UFFDIO_REGISTER_MODE_WP, NULL));
	T_OK(uf_writeprotect(fd, r->addr, NP * r->page, UFFDIO_WRITEPROTECT_MODE_WP));
	r->addr[1 * r->page] = 2;
	r->addr[5 * r->page] = 2;
	r->addr[9 * r->page] = 2;
	T_EQ(*(volatile char *)(r->addr + 6 * r->page), 1);
	s->base = r->addr;
	s->page = r->page;
	return fd;
}

/* ------------------------------------------------------------------------ */

static void test_written(const struct t_env *env)
{
	struct t_region r;
	struct scan s;
	int fd = setup(env, &r, &s);
	/* The kernel's fast path: written pages only. */
	long n = scan(&s, 0, NP, 0, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 64, 0);
	EXPECT(&s, n, "[1,2)2 [5,6)2 [9,10)2", NP);
	/* Everything, per page kind: populated and protected 9, written b,
	 * read after protection (present, still protected) 9, markers 11. */
	n = scan(&s, 0, NP, 0, 0, 0, 0, CATS_COMMON, 64, 0);
	EXPECT(&s, n, "[0,1)9 [1,2)b [2,5)9 [5,6)b [6,8)9 [8,9)11 [9,10)b [10,16)11", NP);
	/* Harvest and re-arm in one call, then nothing is written. */
	n = scan(&s, 0, NP, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, 0, PAGE_IS_WRITTEN, 0,
		 PAGE_IS_WRITTEN, 64, 0);
	EXPECT(&s, n, "[1,2)2 [5,6)2 [9,10)2", NP);
	n = scan(&s, 0, NP, 0, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 64, 0);
	EXPECT(&s, n, "", NP);
	/* A write after re-arming is seen, once. */
	r.addr[2 * r.page] = 3;
	n = scan(&s, 0, NP, PM_SCAN_WP_MATCHING, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 64, 0);
	EXPECT(&s, n, "[2,3)2", NP);
	T_EQ(r.addr[2 * r.page], 3);
	/* A dropped anonymous page is written (no entry, no marker); a
	 * dropped shmem page keeps its marker. */
	T_OK(uf_madvise(r.addr + 3 * r.page, r.page, MADV_DONTNEED));
	n = scan(&s, 0, 8, 0, 0, 0, 0, CATS_COMMON, 64, 0);
	EXPECT(&s, n, t_mem_is_anon(env->mem) ? "[0,3)9 [3,4)3 [4,8)9" : "[0,3)9 [3,4)11 [4,8)9", 8);
	uf_close(fd);
	t_region_unmap(&r);
}

static void test_file_category(const struct t_env *env)
{
	struct t_region r;
	struct scan s;
	int fd = setup(env, &r, &s);
	long n = scan(&s, 0, NP, 0, 0, 0, 0, CATS_COMMON | PAGE_IS_FILE, 64, 0);
	if (t_mem_is_anon(env->mem))
		EXPECT(&s, n, "[0,1)9 [1,2)b [2,5)9 [5,6)b [6,8)9 [8,9)11 [9,10)b [10,16)11", NP);
	else
		EXPECT(&s, n, "[0,1)d [1,2)f [2,5)d [5,6)f [6,8)d [8,9)11 [9,10)f [10,16)11", NP);
	uf_close(fd);
	t_region_unmap(&r);
}

static void test_matching(const struct t_env *env)
{
	struct t_region r;
	struct scan s;
	int fd = setup(env, &r, &s);
	/* Not written, by inversion; any of present or swapped. */
	long n = scan(&s, 0, 8, 0, PAGE_IS_WRITTEN, PAGE_IS_WRITTEN, 0, CATS_COMMON, 64, 0);
	EXPECT(&s, n, "[0,1)9 [2,5)9 [6,8)9", 8);
	n = scan(&s, 6, NP, 0, 0, 0, PAGE_IS_WRITTEN | PAGE_IS_SWAPPED, CATS_COMMON, 64, 0);
	EXPECT(&s, n, "[8,9)11 [9,10)b [10,16)11", NP);
	/* Nothing returned: one region of everything; only WRITTEN returned. */
	n = scan(&s, 0, NP, 0, 0, 0, 0, 0, 64, 0);
	EXPECT(&s, n, "[0,16)0", NP);
	n = scan(&s, 0, NP, 0, 0, 0, 0, PAGE_IS_WRITTEN, 64, 0);
	EXPECT(&s, n, "[0,1)0 [1,2)2 [2,5)0 [5,6)2 [6,9)0 [9,10)2 [10,16)0", NP);
	uf_close(fd);
	t_region_unmap(&r);
}

static void test_limits(const struct t_env *env)
{
	struct t_region r;
	struct scan s;
	int fd = setup(env, &r, &s);
	/* A full vec ends the walk where the next region would start. */
	long n = scan(&s, 0, NP, 0, 0, 0, 0, CATS_COMMON, 1, 0);
	EXPECT(&s, n, "[0,1)9", 1);
	n = scan(&s, 0, NP, 0, 0, 0, 0, CATS_COMMON, 2, 0);
	EXPECT(&s, n, "[0,1)9 [1,2)b", 2);
	/* max_pages cuts a region; reached exactly, the walk ends at the
	 * next page that would have been reported. */
	n = scan(&s, 0, NP, 0, 0, 0, 0, CATS_COMMON, 64, 3);
	EXPECT(&s, n, "[0,1)9 [1,2)b [2,3)9", 3);
	n = scan(&s, 0, NP, 0, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 64, 2);
	EXPECT(&s, n, "[1,2)2 [5,6)2", 9);
	/* Protecting with a full vec protects only what was reported. */
	n = scan(&s, 0, NP, PM_SCAN_WP_MATCHING, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 1, 0);
	EXPECT(&s, n, "[1,2)2", 5);
	n = scan(&s, 0, NP, 0, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 64, 0);
	EXPECT(&s, n, "[5,6)2 [9,10)2", NP);
	/* Without a vec: no limit, everything matching is protected. */
	n = scan(&s, 0, NP, PM_SCAN_WP_MATCHING, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 0, 1);
	T_EQ(n, 0);
	T_EQ(walk_end(&s), NP);
	n = scan(&s, 0, NP, 0, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 64, 0);
	EXPECT(&s, n, "", NP);
	/* An empty range. */
	n = scan(&s, 4, 4, 0, 0, 0, 0, CATS_COMMON, 64, 0);
	EXPECT(&s, n, "", 4);
	uf_close(fd);
	t_region_unmap(&r);
}

/* Ordinary memory around the registered range: the kernel answers there,
 * the engine inside, and regions merge across the boundary. */
static void test_mixed(const struct t_env *env)
{
	struct t_region r;
	struct scan s;
	t_region_map(env, NP, &r);
	memset(r.addr, 1, NP * r.page);
	int fd = t_uffd(env, 0, UFFD_FEATURE_WP_ASYNC);
	T_OK(uf_register(fd, r.addr + 4 * r.page, 8 * r.page, UFFDIO_REGISTER_MODE_WP, NULL));
	s.base = r.addr;
	s.page = r.page;
	long n = scan(&s, 0, NP, 0, 0, 0, 0, CATS_COMMON, 64, 0);
	EXPECT(&s, n, "[0,4)a [4,12)b [12,16)a", NP);
	n = scan(&s, 0, NP, 0, 0, 0, 0, PAGE_IS_WRITTEN | PAGE_IS_PRESENT, 64, 0);
	EXPECT(&s, n, "[0,16)a", NP);
	T_OK(uf_writeprotect(fd, r.addr + 4 * r.page, 8 * r.page, UFFDIO_WRITEPROTECT_MODE_WP));
	r.addr[6 * r.page] = 2;
	n = scan(&s, 0, NP, 0, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 64, 0);
	EXPECT(&s, n, "[0,4)2 [6,7)2 [12,16)2", NP);
	/* Protecting passes over memory without async WP ... */
	n = scan(&s, 0, NP, PM_SCAN_WP_MATCHING, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 64, 0);
	EXPECT(&s, n, "[6,7)2", NP);
	/* ... unless told to fail there: EPERM, what was found before it is
	 * written, and walk_end is the end. */
	r.addr[7 * r.page] = 2;
	n = scan(&s, 4, NP, PM_SCAN_CHECK_WPASYNC, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 64, 0);
	T_EQ(n, -EPERM);
	T_EQ(s.vec[0].start, (__u64)(uintptr_t)(r.addr + 7 * r.page));
	T_EQ(s.vec[0].end, (__u64)(uintptr_t)(r.addr + 8 * r.page));
	T_EQ(s.vec[1].end, 0);
	T_EQ(walk_end(&s), NP);
	/* After close the range is ordinary memory again. */
	uf_close(fd);
	n = scan(&s, 0, NP, 0, 0, 0, 0, CATS_COMMON, 64, 0);
	EXPECT(&s, n, "[0,16)a", NP);
	t_region_unmap(&r);
}

static void test_bad_arguments(const struct t_env *env)
{
	struct t_region r;
	struct scan s;
	int fd = setup(env, &r, &s);
	__u64 start = (__u64)(uintptr_t)r.addr, end = start + NP * r.page;
	struct page_region vec[4];
	struct pm_scan_arg ok = { .size = sizeof(ok), .start = start, .end = end,
				  .vec = (__u64)(uintptr_t)vec, .vec_len = 4, .return_mask = CATS_COMMON };
	struct pm_scan_arg a;
#define TRY(field, value, err) do { a = ok; a.field = (value); T_ERR(uf_pagemap_scan(&a), err); } while (0)
	TRY(size, sizeof(a) - 8, EINVAL);
	TRY(size, 0, EINVAL);
	TRY(flags, 4, EINVAL);
	TRY(return_mask, PAGE_IS_GUARD << 1, EINVAL);
	TRY(category_mask, 1ull << 40, EINVAL);
	TRY(category_inverted, 1ull << 9, EINVAL);
	TRY(category_anyof_mask, 1ull << 63, EINVAL);
	TRY(start, start + 1, EINVAL);
	TRY(end, start - r.page, EFAULT);			/* end before start */
	TRY(end, 0x800000000000ull, EFAULT);			/* beyond user space */
	TRY(vec, 0, EINVAL);					/* vec_len without vec */
	TRY(vec_len, 1ull << 60, EFAULT);
	TRY(vec, 0x7ffffffff000ull - sizeof(vec[0]), EFAULT);	/* vec runs past the top */
	TRY(vec, 4096, EFAULT);					/* unmapped vec, pages to report */
	T_ERR(uf_pagemap_scan(NULL), EFAULT);
	/* The checks' order: size first, then flags, categories, alignment. */
	a = ok;
	a.size = 8;
	a.flags = 8;
	a.start = 1;
	T_ERR(uf_pagemap_scan(&a), EINVAL);
	a = ok;
	a.start = start + 1;
	a.end = 0;
	T_ERR(uf_pagemap_scan(&a), EINVAL);
	/* An unaligned end is rounded up; a full vec ends the walk. */
	a = ok;
	a.end = end - 5;
	T_EQ(uf_pagemap_scan(&a), 4);
	T_EQ(a.walk_end, vec[3].end);
#undef TRY
	uf_close(fd);
	t_region_unmap(&r);
}

/* Writers keep writing while the scanner harvests and re-arms: no write is
 * lost, so the snapshot built from the harvests equals the memory. */
struct writer {
	char *base;
	size_t page;
	atomic_int *stop;
	unsigned seed;
};

static void *write_loop(void *arg)
{
	struct writer *w = arg;
	unsigned x = w->seed;
	while (!atomic_load(w->stop)) {
		x = x * 1103515245u + 12345u;
		unsigned pg = (x >> 8) % NP;
		__atomic_fetch_add((unsigned *)(w->base + pg * w->page + (w->seed % 4) * 64), 1,
				   __ATOMIC_RELAXED);
	}
	return NULL;
}

static void harvest(struct scan *s, char *snapshot)
{
	for (;;) {
		long n = scan(s, 0, NP, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, 0,
			      PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 4, 0);
		T_ASSERT(n >= 0);
		for (long i = 0; i < n; i++) {
			size_t off = (char *)(uintptr_t)s->vec[i].start - s->base;
			/* Word by word with atomic loads: the writers go on
			 * meanwhile, as a live migration's do. */
			for (size_t k = off; k < off + (s->vec[i].end - s->vec[i].start); k += 4)
				*(unsigned *)(void *)(snapshot + k) =
					__atomic_load_n((unsigned *)(void *)(s->base + k), __ATOMIC_RELAXED);
		}
		if (walk_end(s) == NP)
			return;
	}
}

static void test_concurrent_writers(const struct t_env *env)
{
	struct t_region r;
	struct scan s;
	t_region_map(env, NP, &r);
	memset(r.addr, 0, NP * r.page);
	int fd = t_uffd(env, 0, UFFD_FEATURE_WP_ASYNC);
	T_OK(uf_register(fd, r.addr, NP * r.page, UFFDIO_REGISTER_MODE_WP, NULL));
	T_OK(uf_writeprotect(fd, r.addr, NP * r.page, UFFDIO_WRITEPROTECT_MODE_WP));
	s.base = r.addr;
	s.page = r.page;
	char *snapshot = t_buffer(NP * r.page, 0);
	memset(snapshot, 0, NP * r.page);
	atomic_int stop = 0;
	struct writer w[2] = { { r.addr, r.page, &stop, 1 }, { r.addr, r.page, &stop, 2 } };
	t_thread th[2];
	for (int i = 0; i < 2; i++)
		t_spawn(&th[i], write_loop, &w[i]);
	for (int round = 0; round < 300; round++)
		harvest(&s, snapshot);
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		t_join(&th[i]);
	harvest(&s, snapshot);
	T_ASSERT(memcmp(snapshot, r.addr, NP * r.page) == 0);
	munmap(snapshot, NP * r.page);
	uf_close(fd);
	t_region_unmap(&r);
}

/* uf_close() of the last descriptor returns after the release: the range
 * is ordinary memory at once (the engine thread may see the hang-up first
 * and be the one releasing; close waits for it). */
static void test_close_releases(const struct t_env *env)
{
	struct t_region r;
	struct scan s;
	t_region_map(env, 4, &r);
	memset(r.addr, 1, 4 * r.page);
	s.base = r.addr;
	s.page = r.page;
	for (int i = 0; i < 100; i++) {
		int fd = t_uffd(env, 0, UFFD_FEATURE_WP_ASYNC);
		T_OK(uf_register(fd, r.addr, 4 * r.page, UFFDIO_REGISTER_MODE_WP, NULL));
		T_OK(uf_writeprotect(fd, r.addr, 4 * r.page, UFFDIO_WRITEPROTECT_MODE_WP));
		T_OK(uf_close(fd));
		long n = scan(&s, 0, 4, 0, 0, 0, 0, CATS_COMMON, 64, 0);
		EXPECT(&s, n, "[0,4)a", 4);
	}
	t_region_unmap(&r);
}

/* hugetlb: a huge page is one entry, reported whole (HUGE; FILE where the
 * page is the file's), cut by max_pages in 4 KiB pages, protected only
 * whole.  Four huge pages: 0 and 1 populated before registration, all
 * protected, then 1 and 3 written; regions are in 4 KiB pages. */
static void test_hugetlb(const struct t_env *env)
{
	struct t_region r;
	struct scan s;
	t_region_map(env, 4, &r);
	r.addr[0] = 1;
	r.addr[r.page] = 1;
	int fd = t_uffd(env, 0, UFFD_FEATURE_WP_ASYNC);
	T_OK(uf_register(fd, r.addr, r.len, UFFDIO_REGISTER_MODE_WP, NULL));
	T_OK(uf_writeprotect(fd, r.addr, r.len, UFFDIO_WRITEPROTECT_MODE_WP));
	r.addr[r.page + 5] = 2;
	r.addr[3 * r.page + 5] = 2;
	s.base = r.addr;
	s.page = 4096;
	const __u64 all = CATS_COMMON | PAGE_IS_HUGE | PAGE_IS_FILE;
	const unsigned hp = (unsigned)(r.page / 4096), end = 4 * hp;
	char want[256];
	long n = scan(&s, 0, end, 0, 0, 0, 0, all, 64, 0);
	/* Present pages: HUGE, PRESENT, WPALLOWED, WRITTEN if written, FILE
	 * for a shared mapping; the marker: HUGE, SWAPPED, WPALLOWED. */
	if (t_mem_is_shared(env->mem))
		snprintf(want, sizeof(want), "[0,%u)4d [%u,%u)4f [%u,%u)51 [%u,%u)4f", hp, hp, 2 * hp,
			 2 * hp, 3 * hp, 3 * hp, end);
	else
		snprintf(want, sizeof(want), "[0,%u)49 [%u,%u)4b [%u,%u)51 [%u,%u)4b", hp, hp, 2 * hp,
			 2 * hp, 3 * hp, 3 * hp, end);
	EXPECT(&s, n, want, end);
	/* max_pages cuts inside a huge page. */
	n = scan(&s, 0, end, 0, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 64, hp + 7);
	snprintf(want, sizeof(want), "[%u,%u)2 [%u,%u)2", hp, 2 * hp, 3 * hp, 3 * hp + 7);
	EXPECT(&s, n, want, 3 * hp + 7);
	/* Protecting: not a part of a huge page, neither cut by max_pages nor
	 * by the range; whole ones are. */
	n = scan(&s, 0, end, PM_SCAN_WP_MATCHING, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 64, hp + 7);
	t_log("WP_MATCHING, max_pages inside a huge page: %ld \"%s\" walk_end %ld", n, s.text,
	      walk_end(&s));
	snprintf(want, sizeof(want), "[%u,%u)2", hp, 2 * hp);
	EXPECT(&s, n, want, 3 * hp);
	n = scan(&s, 3 * hp + 1, end, PM_SCAN_WP_MATCHING, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 64, 0);
	t_log("WP_MATCHING, range inside a huge page: %ld \"%s\" walk_end %ld", n, s.text,
	      walk_end(&s));
	EXPECT(&s, n, "", 3 * hp + 1);
	r.addr[r.page + 5] = 3;		/* written again */
	n = scan(&s, hp + 1, end, PM_SCAN_WP_MATCHING, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 64, 0);
	t_log("WP_MATCHING, range from inside a huge page: %ld \"%s\" walk_end %ld", n, s.text,
	      walk_end(&s));
	/* The part is left out and walk_end says where, but the walk goes on. */
	snprintf(want, sizeof(want), "[%u,%u)2", 3 * hp, end);
	EXPECT(&s, n, want, hp + 1);
	n = scan(&s, 0, end, 0, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 64, 0);
	snprintf(want, sizeof(want), "[%u,%u)2", hp, 2 * hp);
	EXPECT(&s, n, want, end);
	/* Without a vec, a part is left out the same way. */
	n = scan(&s, hp + 1, end, PM_SCAN_WP_MATCHING, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 0, 0);
	T_EQ(n, 0);
	T_EQ(walk_end(&s), hp + 1);
	n = scan(&s, 0, end, PM_SCAN_WP_MATCHING, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 0, 0);
	T_EQ(walk_end(&s), end);
	n = scan(&s, 0, end, 0, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, 64, 0);
	EXPECT(&s, n, "", end);
	uf_close(fd);
	t_region_unmap(&r);
}

#define MEMS (T_MEM(T_ANON) | T_MEM(T_SHMEM) | T_MEM(T_MEMFD) | T_MEM(T_MEMFD_PRIVATE))

static const struct t_case cases[] = {
	{ "written", test_written, MEMS, UFFD_FEATURE_WP_ASYNC },
	{ "file_category", test_file_category, T_MEM(T_ANON) | T_MEM(T_SHMEM) | T_MEM(T_MEMFD),
	  UFFD_FEATURE_WP_ASYNC },
	{ "matching", test_matching, MEMS, UFFD_FEATURE_WP_ASYNC },
	{ "limits", test_limits, MEMS, UFFD_FEATURE_WP_ASYNC },
	{ "mixed", test_mixed, MEMS, UFFD_FEATURE_WP_ASYNC },
	{ "bad_arguments", test_bad_arguments, T_MEM(T_ANON), UFFD_FEATURE_WP_ASYNC },
	{ "concurrent_writers", test_concurrent_writers, MEMS, UFFD_FEATURE_WP_ASYNC },
	{ "close_releases", test_close_releases, MEMS, UFFD_FEATURE_WP_ASYNC },
	{ "hugetlb", test_hugetlb, T_MEM_HUGETLB_ALL, UFFD_FEATURE_WP_ASYNC },
	{ 0 }
};

T_MAIN(cases)
