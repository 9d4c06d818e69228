/* SPDX-License-Identifier: MIT */
/*
 * ioctl_fill.c - the range ioctls that resolve faults: COPY, ZEROPAGE,
 * CONTINUE, POISON, MOVE, WAKE, WRITEPROTECT.  Success with the result
 * field, every error with the result field as the kernel leaves it: untouched
 * on argument validation, -errno or bytes done once the fill has started.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/fault.h"

#define BIT(n) ((__u64)1 << (n))

/* The raw structs through uf_ioctl(), result field pre-set to F_SENTINEL. */
static int raw_copy(int fd, void *dst, const void *src, size_t len, __u64 mode, __s64 *field)
{
	struct uffdio_copy c = { f_ul(dst), f_ul(src), len, mode, F_SENTINEL };
	int r = uf_ioctl(fd, UFFDIO_COPY, &c);
	*field = c.copy;
	return r;
}

static int raw_zeropage(int fd, void *dst, size_t len, __u64 mode, __s64 *field)
{
	struct uffdio_zeropage z = { { f_ul(dst), len }, mode, F_SENTINEL };
	int r = uf_ioctl(fd, UFFDIO_ZEROPAGE, &z);
	*field = z.zeropage;
	return r;
}

static int raw_continue(int fd, void *dst, size_t len, __u64 mode, __s64 *field)
{
	struct uffdio_continue c = { { f_ul(dst), len }, mode, F_SENTINEL };
	int r = uf_ioctl(fd, UFFDIO_CONTINUE, &c);
	*field = c.mapped;
	return r;
}

static int raw_poison(int fd, void *dst, size_t len, __u64 mode, __s64 *field)
{
	struct uffdio_poison p = { { f_ul(dst), len }, mode, F_SENTINEL };
	int r = uf_ioctl(fd, UFFDIO_POISON, &p);
	*field = p.updated;
	return r;
}

static int raw_move(int fd, void *dst, void *src, size_t len, __u64 mode, __s64 *field)
{
	struct uffdio_move m = { f_ul(dst), f_ul(src), len, mode, F_SENTINEL };
	int r = uf_ioctl(fd, UFFDIO_MOVE, &m);
	*field = m.move;
	return r;
}

/* Call must fail with err and leave the result field alone. */
#define EXPECT_UNTOUCHED(call, err) do {			\
	__s64 f_ = 0;						\
	T_ERR(call, err);					\
	T_EQX(f_, F_SENTINEL);					\
} while (0)
/* Call must fail with err and write `val` in the result field. */
#define EXPECT_FIELD(call, err, val) do {			\
	__s64 f_ = 0;						\
	T_ERR(call, err);					\
	T_EQ(f_, val);						\
} while (0)

/* ------------------------------------------------------------------------ */
/* COPY                                                                     */

static void test_copy(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 4, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	char *src = t_buffer(3 * pg, 11);
	__s64 f = 0;

	T_OK(raw_copy(fd, r.addr, src, pg, 0, &f));
	T_EQ(f, (long long)pg);
	T_ASSERT(t_check(r.addr, pg, 11));
	/* Two pages at once. */
	T_OK(raw_copy(fd, r.addr + pg, src, 2 * pg, 0, &f));
	T_EQ(f, (long long)(2 * pg));
	T_ASSERT(t_check(r.addr + pg, 2 * pg, 11));
	/* Populated: EEXIST, -EEXIST in the field, content unchanged. */
	char *other = t_buffer(pg, 12);
	T_ERR(raw_copy(fd, r.addr, other, pg, 0, &f), EEXIST);
	T_EQ(f, -EEXIST);
	T_ASSERT(t_check(r.addr, pg, 11));
	/* DONTWAKE with an unaligned source is still a full copy. */
	T_OK(raw_copy(fd, r.addr + 3 * pg, src + 1, pg, UFFDIO_COPY_MODE_DONTWAKE, &f));
	T_EQ(f, (long long)pg);
	T_ASSERT(memcmp(r.addr + 3 * pg, src + 1, pg) == 0);
	/* The typed helper hands back the same field. */
	__s64 res = 0;
	T_ERR(uf_copy(fd, r.addr + pg, src, pg, 0, &res), EEXIST);
	T_EQ(res, -EEXIST);
	uf_close(fd);
	t_region_unmap(&r);
}

/* COPY whose source is registered memory that a read would fault on.
 * The kernel's copy_from_user takes that fault: with UFFD_FEATURE_SIGBUS
 * (or on a poisoned page) it fails, so COPY is EFAULT with -EFAULT in the
 * field and no signal reaches the caller; without it the copy waits on the
 * userfault like any access, and goes on once it is resolved. */
static void test_copy_src_sigbus(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 4, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_SIGBUS);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	__s64 f = 0;
	/* Page 2 is missing: the copy of it into page 0 fails, page 0 stays
	 * empty, and the caller got no SIGBUS (it would not be here). */
	T_ERR(raw_copy(fd, r.addr, r.addr + 2 * pg, pg, 0, &f), EFAULT);
	T_EQ(f, -EFAULT);
	T_ASSERT(!f_present(r.addr));
	/* An unaligned source starting in a filled page and ending in the
	 * missing one: EFAULT too. */
	char *src = t_buffer(pg, 31);
	T_OK(uf_copy(fd, r.addr + pg, src, pg, 0, NULL));
	T_ERR(raw_copy(fd, r.addr, r.addr + pg + 8, pg, 0, &f), EFAULT);
	T_EQ(f, -EFAULT);
	/* Once filled, the same source copies. */
	T_OK(uf_copy(fd, r.addr + 2 * pg, src, pg, 0, NULL));
	T_OK(raw_copy(fd, r.addr, r.addr + 2 * pg, pg, 0, &f));
	T_EQ(f, (long long)pg);
	T_ASSERT(t_check(r.addr, pg, 31));
	uf_close(fd);
	t_region_unmap(&r);
}

/* COPY from an ordinary source that is partly unreadable (the kernel reads
 * the whole page first): EFAULT with -EFAULT, nothing of it left behind
 * (the page is still missing and a good copy then fills it), and onto a
 * page that is there, EFAULT as well (the source is read before the
 * destination is looked at; hugetlb looks at the destination first, see
 * copy_hugetlb_dst_first).  Then the user engine's own file behind
 * private memory, which its COPY writes with pwrite(), is closed behind
 * its back and another file takes the number: the copy still works and
 * writes nothing into that file. */
static void test_copy_src_bad(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 3, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	/* A readable page, then an unreadable one. */
	char *two = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(two != MAP_FAILED);
	memset(two, 0x3c, pg);
	T_SYS(mprotect(two + pg, pg, PROT_NONE));
	EXPECT_FIELD(raw_copy(fd, r.addr, two + pg / 2, pg, 0, &f_), EFAULT, -EFAULT);
	T_ASSERT(!f_present(r.addr));
	char *src = t_buffer(pg, 41);
	__s64 f = 0;
	T_OK(raw_copy(fd, r.addr, src, pg, 0, &f));
	T_EQ(f, (long long)pg);
	T_ASSERT(t_check(r.addr, pg, 41));
	EXPECT_FIELD(raw_copy(fd, r.addr, two + pg / 2, pg, 0, &f_), EFAULT, -EFAULT);
	EXPECT_FIELD(raw_copy(fd, r.addr, two + pg, pg, 0, &f_), EFAULT, -EFAULT);
	T_ASSERT(t_check(r.addr, pg, 41));

	/* The engine's file, if there is one: /proc/self/fd names it. */
	int engine_file = -1;
	for (int i = 0; i < 1024 && engine_file < 0; i++) {
		char path[64], name[128];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", i);
		ssize_t n = readlink(path, name, sizeof(name) - 1);
		if (n > 0) {
			name[n] = '\0';
			if (strstr(name, "memfd:userfault"))
				engine_file = i;
		}
	}
	if (env->engine == UF_ENGINE_KERNEL)
		T_EQ(engine_file, -1);
	t_log("the engine's file: %s", engine_file >= 0 ? "closed, its number reused" : "none");
	char tmpl[] = "/tmp/uf-fill-XXXXXX";
	int other = mkstemp(tmpl);
	T_SYS(other);
	unlink(tmpl);
	if (engine_file >= 0)
		T_SYS(dup2(other, engine_file));
	T_OK(raw_copy(fd, r.addr + pg, src, pg, 0, &f));
	T_EQ(f, (long long)pg);
	T_ASSERT(t_check(r.addr + pg, pg, 41));
	struct stat st;
	T_SYS(fstat(other, &st));
	T_EQ(st.st_size, 0);
	if (engine_file >= 0)
		close(engine_file);
	close(other);
	munmap(two, 2 * pg);
	uf_close(fd);
	t_region_unmap(&r);
}

static void test_copy_src_poisoned(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_POISON);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	T_OK(uf_poison(fd, r.addr + pg, pg, 0, NULL));
	__s64 f = 0;
	T_ERR(raw_copy(fd, r.addr, r.addr + pg, pg, 0, &f), EFAULT);
	T_EQ(f, -EFAULT);
	T_ASSERT(!f_present(r.addr));
	uf_close(fd);
	t_region_unmap(&r);
}

struct copy_call {
	int fd;
	void *dst, *src;
	size_t len;
	volatile int done;
	int ret;
};

static void *copy_thread(void *arg)
{
	struct copy_call *c = arg;
	c->ret = uf_copy(c->fd, c->dst, c->src, c->len, 0, NULL);
	c->done = 1;
	return NULL;
}

static void test_copy_src_waits(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	struct copy_call c = { fd, r.addr, r.addr + pg, pg, 0, 0 };
	t_thread th;
	t_spawn(&th, copy_thread, &c);
	/* The copy reads its missing source: a MISSING fault (a read). */
	struct uffd_msg m;
	f_expect_fault(fd, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + pg));
	T_EQX(m.arg.pagefault.flags, 0);
	T_ASSERT(!c.done);
	char *src = t_buffer(pg, 32);
	T_OK(uf_copy(fd, r.addr + pg, src, pg, 0, NULL));
	t_join(&th);
	T_OK(c.ret);
	T_ASSERT(t_check(r.addr, pg, 32));
	uf_close(fd);
	t_region_unmap(&r);
}

static void test_copy_enoent(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, 0);
	char *src = t_buffer(2 * pg, 13);
	__s64 f = 0;
	/* Not registered at all. */
	T_ERR(raw_copy(fd, r.addr, src, pg, 0, &f), ENOENT);
	T_EQ(f, -ENOENT);
	T_ASSERT(!f_present(r.addr));
	/* Only the first page registered: a copy across both spans two VMAs. */
	T_OK(uf_register(fd, r.addr, pg, F_MODE_M, NULL));
	T_ERR(raw_copy(fd, r.addr, src, 2 * pg, 0, &f), ENOENT);
	T_EQ(f, -ENOENT);
	T_ERR(raw_copy(fd, r.addr + pg, src, pg, 0, &f), ENOENT);
	T_EQ(f, -ENOENT);
	T_OK(raw_copy(fd, r.addr, src, pg, 0, &f));
	T_EQ(f, (long long)pg);
	uf_close(fd);
	t_region_unmap(&r);
}

static void test_copy_einval(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	char *src = t_buffer(2 * pg, 14);

	EXPECT_UNTOUCHED(raw_copy(fd, r.addr, src, pg, BIT(2), &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_copy(fd, r.addr, src, pg, BIT(63), &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_copy(fd, r.addr + 1, src, pg, 0, &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_copy(fd, r.addr, src, 0, 0, &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_copy(fd, r.addr, src, pg + 1, 0, &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_copy(fd, r.addr, src, 100, 0, &f_), EINVAL);
	/* The source range wraps around the address space. */
	EXPECT_UNTOUCHED(raw_copy(fd, r.addr, (void *)(uintptr_t)(UINT64_MAX - 0xfff), pg, 0, &f_),
			 EINVAL);
	if (t_mem_is_hugetlb(env->mem)) {
		/* 4 KiB aligned passes the range check; the huge-page fill then
		 * refuses it, and the field says so. */
		EXPECT_FIELD(raw_copy(fd, r.addr + 4096, src, pg, 0, &f_), EINVAL, -EINVAL);
		EXPECT_FIELD(raw_copy(fd, r.addr, src, 4096, 0, &f_), EINVAL, -EINVAL);
	}
	/* MODE_WP on a range not registered for WP: the fill refuses, -EINVAL
	 * written. */
	EXPECT_FIELD(raw_copy(fd, r.addr, src, pg, UFFDIO_COPY_MODE_WP, &f_), EINVAL, -EINVAL);
	/* None of that populated anything. */
	T_ASSERT(!f_present(r.addr));
	T_ASSERT(!f_present(r.addr + pg));
	__s64 f = 0;
	T_OK(raw_copy(fd, r.addr, src, r.len, 0, &f));
	T_EQ(f, (long long)r.len);
	uf_close(fd);
	t_region_unmap(&r);
}

/* A multi-page copy that meets a populated page stops there: bytes done in
 * the field and EAGAIN; if the very first page is populated, EEXIST. */
static void test_copy_partial(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 4, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	char *src = t_buffer(4 * pg, 15), *mid = t_buffer(pg, 16);
	__s64 f = 0;
	T_OK(raw_copy(fd, r.addr + pg, mid, pg, 0, &f));

	T_ERR(raw_copy(fd, r.addr, src, 3 * pg, 0, &f), EAGAIN);
	T_EQ(f, (long long)pg);
	T_ASSERT(t_check(r.addr, pg, 15));
	T_ASSERT(t_check(r.addr + pg, pg, 16));		/* left as it was */
	T_ASSERT(!f_present(r.addr + 2 * pg));		/* never reached */

	T_ERR(raw_copy(fd, r.addr + pg, src, 3 * pg, 0, &f), EEXIST);
	T_EQ(f, -EEXIST);
	T_ASSERT(!f_present(r.addr + 2 * pg));
	/* The caller resumes after the populated page. */
	T_OK(raw_copy(fd, r.addr + 2 * pg, src + 2 * pg, 2 * pg, 0, &f));
	T_EQ(f, (long long)(2 * pg));
	uf_close(fd);
	t_region_unmap(&r);
}

/* COPY with MODE_WP leaves the page write-protected: reads go through, a
 * write faults with FLAG_WP until the protection is cleared. */
static void test_copy_wp(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M | F_MODE_WP, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M | F_MODE_WP, NULL));
	char *src = t_buffer(pg, 17);
	__s64 f = 0;
	T_OK(raw_copy(fd, r.addr, src, pg, UFFDIO_COPY_MODE_WP, &f));
	T_EQ(f, (long long)pg);
	T_ASSERT(t_check(r.addr, pg, 17));		/* reading is fine */

	struct f_toucher t;
	struct uffd_msg m;
	f_touch_start(&t, r.addr + 40, 1, 0x33);
	f_expect_fault(fd, 2000, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr));
	f_touch_blocked(&t, 100);
	T_OK(uf_writeprotect(fd, r.addr, pg, 0));
	f_touch_finish(&t, 2000);
	T_EQ(r.addr[40], 0x33);

	/* Without MODE_WP the page is writable at once. */
	T_OK(raw_copy(fd, r.addr + pg, src, pg, 0, &f));
	r.addr[pg] = 1;
	f_expect_no_msg(fd, 0);
	uf_close(fd);
	t_region_unmap(&r);
}

/* ------------------------------------------------------------------------ */
/* COPY of 64 KiB: the user engine writes such a run of small pages in one  */
/* pwrite() and shows it in one call (fill.c copy_run); where the run stops */
/* must not show.                                                           */

#define RUN_PAGES 16

/* The user engine opens a region lazily, in chunks of 2 MiB or more, on
 * the first access; a fill into a chunk not yet open leaves the show to
 * the opener.  open: fill and read the page after the run first, so that
 * the run's chunk is open and its show is a system call. */
static void open_after(int fd, char *run_end, size_t pg, int open)
{
	if (!open)
		return;
	char *fill = t_buffer(pg, 58);
	T_OK(uf_copy(fd, run_end, fill, pg, 0, NULL));
	T_ASSERT(t_check(run_end, pg, 58));
	munmap(fill, pg);
}

/* A missing page must still fault: a read of it blocks with a MISSING
 * message at its address, and goes on once a COPY fills it. */
static void expect_missing(int fd, char *page, size_t pg)
{
	T_ASSERT(!f_present(page));
	struct f_toucher t;
	struct uffd_msg m;
	f_touch_start(&t, page, 0, 0);
	f_expect_fault(fd, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(page));
	T_EQX(m.arg.pagefault.flags, 0);
	f_touch_blocked(&t, 50);
	char *fill = t_buffer(pg, 59);
	T_OK(uf_copy(fd, page, fill, pg, 0, NULL));
	f_touch_finish(&t, 2000);
	T_ASSERT(t_check(page, pg, 59));
	munmap(fill, pg);
}

/* A 64 KiB COPY over a range whose page k is there already: k pages done
 * (EEXIST if k is 0), page k left as it was, the pages after it missing. */
static void test_copy_run_present(const struct t_env *env)
{
	static const size_t ks[] = { 0, 1, 7, 14, 15 };
	const size_t pg = env->page, len = RUN_PAGES * pg;
	char *src = t_buffer(len, 51), *there = t_buffer(pg, 52);
	for (size_t i = 0; i < 2 * sizeof(ks) / sizeof(ks[0]); i++) {
		size_t k = ks[i / 2];
		struct t_region r;
		t_region_map(env, RUN_PAGES + 1, &r);
		int fd = f_uffd(env, F_MODE_M, 0);
		T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
		open_after(fd, r.addr + len, pg, i % 2);
		T_OK(uf_copy(fd, r.addr + k * pg, there, pg, 0, NULL));
		__s64 f = 0;
		if (k == 0) {
			T_ERR(raw_copy(fd, r.addr, src, len, 0, &f), EEXIST);
			T_EQ(f, -EEXIST);
		} else {
			T_ERR(raw_copy(fd, r.addr, src, len, 0, &f), EAGAIN);
			T_EQ(f, (long long)(k * pg));
		}
		T_ASSERT(t_check(r.addr, k * pg, 51));
		T_ASSERT(t_check(r.addr + k * pg, pg, 52));
		for (size_t j = k + 1; j < RUN_PAGES; j++)
			T_ASSERT(!f_present(r.addr + j * pg));
		if (k + 1 < RUN_PAGES)
			expect_missing(fd, r.addr + (k + 1) * pg, pg);
		if (k + 2 < RUN_PAGES)
			expect_missing(fd, r.addr + (RUN_PAGES - 1) * pg, pg);
		f_expect_no_msg(fd, 0);
		uf_close(fd);
		t_region_unmap(&r);
	}
	munmap(src, len);
	munmap(there, pg);
}

/* A 64 KiB COPY whose source turns unreadable (PROT_NONE) at its page j:
 * the pages before the first one whose source reaches it are done (EFAULT
 * if none), and nothing past them shows, in the view or in the memory (a
 * touch faults).  An unaligned source reaches the bad page one page early. */
static void test_copy_run_src_fault(const struct t_env *env)
{
	static const size_t js[] = { 0, 1, 8, 15 };
	static const size_t shifts[] = { 0, 100 };
	const size_t pg = env->page, len = RUN_PAGES * pg;
	char *zero = t_buffer(pg, 0);
	memset(zero, 0, pg);
	for (size_t i = 0; i < sizeof(js) / sizeof(js[0]); i++) {
		for (size_t h = 0; h < 2 * sizeof(shifts) / sizeof(shifts[0]); h++) {
			size_t j = js[i], shift = shifts[h / 2];
			size_t done = shift && j ? j - 1 : j;
			char *buf = mmap(NULL, len + pg, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			T_ASSERT(buf != MAP_FAILED);
			t_fill(buf, len + pg, 53);
			T_SYS(mprotect(buf + j * pg, pg, PROT_NONE));
			struct t_region r;
			t_region_map(env, RUN_PAGES + 1, &r);
			int fd = f_uffd(env, F_MODE_M, 0);
			T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
			open_after(fd, r.addr + len, pg, h % 2);
			__s64 f = 0;
			if (done == 0) {
				T_ERR(raw_copy(fd, r.addr, buf + shift, len, 0, &f), EFAULT);
				T_EQ(f, -EFAULT);
			} else {
				T_ERR(raw_copy(fd, r.addr, buf + shift, len, 0, &f), EAGAIN);
				T_EQ(f, (long long)(done * pg));
			}
			T_ASSERT(memcmp(r.addr, buf + shift, done * pg) == 0);
			for (size_t p = done; p < RUN_PAGES; p++)
				T_ASSERT(!f_present(r.addr + p * pg));
			/* The page the copy stopped at holds nothing (an
			 * unaligned source had part of it): ZEROPAGE shows
			 * zeros there. */
			T_OK(uf_zeropage(fd, r.addr + done * pg, pg, 0, NULL));
			T_ASSERT(memcmp(r.addr + done * pg, zero, pg) == 0);
			if (done + 1 < RUN_PAGES)
				expect_missing(fd, r.addr + (done + 1) * pg, pg);
			f_expect_no_msg(fd, 0);
			uf_close(fd);
			t_region_unmap(&r);
			munmap(buf, len + pg);
		}
	}
}

/* A 64 KiB COPY whose source is memory registered before: unregistered,
 * its context closed, or unmapped with plain munmap(2) and mapped again by
 * the program (the library does not see that).  Its page HOLE was never
 * filled: it reads as zeros, on the kernel as ordinary memory does; on the
 * user engine it is still hidden, so the copy's one write of the run stops
 * there and the page-by-page fill reads it as the program would.  Every
 * page is done, with the source's content. */
#define HOLE 5
static void test_copy_run_src_unregistered(const struct t_env *env)
{
	static const char *const how[] = { "unregistered", "closed", "mapped again" };
	const size_t pg = env->page, len = RUN_PAGES * pg;
	char *pattern = t_buffer(len, 61), *want = t_buffer(len, 61);
	memset(want + HOLE * pg, 0, pg);
	for (size_t v = 0; v < 2 * sizeof(how) / sizeof(how[0]); v++) {
		t_log("source %s%s", how[v / 2], v % 2 ? ", destination chunk open" : "");
		struct t_region s, r;
		t_region_map(env, RUN_PAGES, &s);
		int sfd = f_uffd(env, F_MODE_M, 0);
		T_OK(uf_register(sfd, s.addr, s.len, F_MODE_M, NULL));
		T_OK(uf_copy(sfd, s.addr, pattern, HOLE * pg, 0, NULL));
		T_OK(uf_copy(sfd, s.addr + (HOLE + 1) * pg, pattern + (HOLE + 1) * pg,
			     len - (HOLE + 1) * pg, 0, NULL));
		const char *expect = want;
		if (v / 2 == 0) {
			T_OK(uf_unregister(sfd, s.addr, s.len));
		} else {
			uf_close(sfd);
			sfd = -1;
		}
		if (v / 2 == 2) {
			T_SYS(munmap(s.addr, s.len));
			void *again = mmap(s.addr, len, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			T_ASSERT(again == s.addr);
			t_fill(s.addr, len, 62);
			expect = NULL;
		}
		t_region_map(env, RUN_PAGES + 1, &r);
		int fd = f_uffd(env, F_MODE_M, 0);
		T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
		open_after(fd, r.addr + len, pg, v % 2);
		__s64 f = 0;
		T_OK(raw_copy(fd, r.addr, s.addr, len, 0, &f));
		T_EQ(f, (long long)len);
		if (expect)
			T_ASSERT(memcmp(r.addr, expect, len) == 0);
		else
			T_ASSERT(t_check(r.addr, len, 62));
		f_expect_no_msg(fd, 0);
		uf_close(fd);
		if (sfd >= 0)
			uf_close(sfd);
		t_region_unmap(&r);
		t_region_unmap(&s);
	}
	munmap(pattern, len);
	munmap(want, len);
}

/* A write to page p of a write-protected range faults with FLAG_WP, and
 * goes on once the protection is cleared. */
static void expect_wp_fault(int fd, char *page, size_t pg)
{
	struct f_toucher t;
	struct uffd_msg m;
	f_touch_start(&t, page + 8, 1, 0x5e);
	f_expect_fault(fd, 2000, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE);
	T_EQX(F_MSG_ADDR(&m), f_ul(page));
	f_touch_blocked(&t, 50);
	T_OK(uf_writeprotect(fd, page, pg, 0));
	f_touch_finish(&t, 2000);
	T_EQ(page[8], 0x5e);
}

/* A 64 KiB COPY with MODE_WP: every page reads the source, a write to any
 * (the first, one in the middle, the last) faults with FLAG_WP; the page
 * after the range is not protected.  Twice: into a chunk not open yet,
 * then (the first read opened it) into an open one. */
static void test_copy_run_wp(const struct t_env *env)
{
	const size_t pg = env->page, len = RUN_PAGES * pg;
	struct t_region r;
	t_region_map(env, 2 * RUN_PAGES + 1, &r);
	int fd = f_uffd(env, F_MODE_M | F_MODE_WP, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M | F_MODE_WP, NULL));
	char *src = t_buffer(len + pg, 54);
	__s64 f = 0;
	for (char *run = r.addr; run < r.addr + 2 * len; run += len) {
		T_OK(raw_copy(fd, run, src, len, UFFDIO_COPY_MODE_WP, &f));
		T_EQ(f, (long long)len);
		T_ASSERT(t_check(run, len, 54));
		expect_wp_fault(fd, run, pg);
		expect_wp_fault(fd, run + 7 * pg, pg);
		expect_wp_fault(fd, run + (RUN_PAGES - 1) * pg, pg);
		/* The others still are: the clearing was one page each. */
		expect_wp_fault(fd, run + 8 * pg, pg);
	}
	T_OK(raw_copy(fd, r.addr + 2 * len, src + len, pg, 0, &f));
	r.addr[2 * len] = 1;
	f_expect_no_msg(fd, 0);
	uf_close(fd);
	t_region_unmap(&r);
}

/* A 64 KiB COPY without MODE_WP over empty pages of which some carry a WP
 * marker (WP_UNPOPULATED): the fill replaces the markers, every page is
 * writable at once.  In a chunk not open yet, and in an open one. */
static void test_copy_run_wp_marker(const struct t_env *env)
{
	const size_t pg = env->page, len = RUN_PAGES * pg;
	char *src = t_buffer(len, 55);
	for (int open = 0; open < 2; open++) {
		struct t_region r;
		t_region_map(env, RUN_PAGES + 1, &r);
		int fd = f_uffd(env, F_MODE_M | F_MODE_WP, UFFD_FEATURE_WP_UNPOPULATED);
		T_OK(uf_register(fd, r.addr, r.len, F_MODE_M | F_MODE_WP, NULL));
		open_after(fd, r.addr + len, pg, open);
		T_OK(uf_writeprotect(fd, r.addr + 5 * pg, 3 * pg, UFFDIO_WRITEPROTECT_MODE_WP));
		__s64 f = 0;
		T_OK(raw_copy(fd, r.addr, src, len, 0, &f));
		T_EQ(f, (long long)len);
		T_ASSERT(t_check(r.addr, len, 55));
		for (size_t p = 0; p < RUN_PAGES; p++) {
			struct f_toucher t;
			f_touch_start(&t, r.addr + p * pg, 1, 0x61);
			f_touch_finish(&t, 2000);
		}
		f_expect_no_msg(fd, 0);
		uf_close(fd);
		t_region_unmap(&r);
	}
	munmap(src, len);
}

/* A 64 KiB COPY across the user engine's first 2 MiB boundary of the
 * range: the first chunk is open (a page of it was read), the second is
 * not yet; the whole copy is done and reads back. */
static void test_copy_run_chunk_edge(const struct t_env *env)
{
	const size_t pg = env->page, len = RUN_PAGES * pg, mib2 = (size_t)2 << 20;
	struct t_region r;
	t_region_map(env, mib2 / pg + RUN_PAGES, &r);
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	char *src = t_buffer(len, 56);
	T_OK(uf_copy(fd, r.addr, src, pg, 0, NULL));
	T_ASSERT(t_check(r.addr, pg, 56));
	char *at = r.addr + mib2 - len / 2;
	__s64 f = 0;
	T_OK(raw_copy(fd, at, src, len, 0, &f));
	T_EQ(f, (long long)len);
	T_ASSERT(t_check(at, len, 56));
	expect_missing(fd, at + len, pg);
	expect_missing(fd, at - pg, pg);
	uf_close(fd);
	t_region_unmap(&r);
}

/* ------------------------------------------------------------------------ */
/* ZEROPAGE                                                                 */

static void test_zeropage(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 4, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, 3 * pg, F_MODE_M, NULL));
	__s64 f = 0;
	T_OK(raw_zeropage(fd, r.addr, 2 * pg, 0, &f));
	T_EQ(f, (long long)(2 * pg));
	for (size_t i = 0; i < 2 * pg; i++)
		if (r.addr[i])
			T_FAIL("byte %zu is %d after ZEROPAGE", i, r.addr[i]);
	T_ERR(raw_zeropage(fd, r.addr + pg, pg, 0, &f), EEXIST);
	T_EQ(f, -EEXIST);
	T_OK(raw_zeropage(fd, r.addr + 2 * pg, pg, UFFDIO_ZEROPAGE_MODE_DONTWAKE, &f));
	T_EQ(f, (long long)pg);
	T_EQ(r.addr[2 * pg + 7], 0);
	/* A zero page is a real page: writable, and no fault for it. */
	r.addr[0] = 5;
	T_EQ(r.addr[0], 5);
	f_expect_no_msg(fd, 0);
	/* Past the registered part. */
	T_ERR(raw_zeropage(fd, r.addr + 3 * pg, pg, 0, &f), ENOENT);
	T_EQ(f, -ENOENT);
	/* Argument errors leave the field alone. */
	EXPECT_UNTOUCHED(raw_zeropage(fd, r.addr, pg, BIT(1), &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_zeropage(fd, r.addr, pg, BIT(63), &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_zeropage(fd, r.addr + 1, pg, 0, &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_zeropage(fd, r.addr, 0, 0, &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_zeropage(fd, r.addr, pg - 1, 0, &f_), EINVAL);
	/* The typed helper hands back the same field. */
	__s64 res = 0;
	T_ERR(uf_zeropage(fd, r.addr, pg, 0, &res), EEXIST);
	T_EQ(res, -EEXIST);
	uf_close(fd);
	t_region_unmap(&r);
}

/* Hugetlb has no zero page: the fill refuses with EINVAL written. */
static void test_zeropage_hugetlb(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	EXPECT_FIELD(raw_zeropage(fd, r.addr, r.len, 0, &f_), EINVAL, -EINVAL);
	EXPECT_UNTOUCHED(raw_zeropage(fd, r.addr, r.len, BIT(1), &f_), EINVAL);
	T_ASSERT(!f_present(r.addr));
	uf_close(fd);
	t_region_unmap(&r);
}

/* hugetlb's COPY looks at the destination before it reads the source: onto
 * a page that is there, a bad source is EEXIST (elsewhere EFAULT).  A shared
 * mapping's page counts as there when the file has it (written through
 * another mapping), a private mapping's only when the mapping has it. */
static void test_copy_hugetlb_dst_first(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	t_region_alias(&r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	char *src = t_buffer(pg, 23);
	/* Unreadable, and kept mapped so that nothing else lands there. */
	char *bad = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	T_ASSERT(bad != MAP_FAILED);
	__s64 f = 0;
	T_OK(uf_copy(fd, r.addr, src, pg, 0, &f));
	EXPECT_FIELD(raw_copy(fd, r.addr, bad, pg, 0, &f_), EEXIST, -EEXIST);
	/* A page only in the file (the second page, written through the
	 * alias): shared sees it, private does not. */
	memset(r.alias + pg, 0x5a, pg);
	if (t_mem_is_shared(env->mem)) {
		EXPECT_FIELD(raw_copy(fd, r.addr + pg, bad, pg, 0, &f_), EEXIST, -EEXIST);
		EXPECT_FIELD(raw_copy(fd, r.addr + pg, src, pg, 0, &f_), EEXIST, -EEXIST);
		T_EQ(r.addr[pg + 7], 0x5a);
	} else {
		EXPECT_FIELD(raw_copy(fd, r.addr + pg, bad, pg, 0, &f_), EFAULT, -EFAULT);
		T_OK(uf_copy(fd, r.addr + pg, src, pg, 0, &f));
		T_EQ(f, (long long)pg);
		T_EQ(memcmp(r.addr + pg, src, pg), 0);
		T_EQ(r.alias[pg + 7], 0x5a);	/* the file keeps its own */
	}
	T_EQ(memcmp(r.addr, src, pg), 0);
	munmap(bad, pg);
	uf_close(fd);
	t_region_unmap(&r);
}

/* ------------------------------------------------------------------------ */
/* CONTINUE                                                                 */

static void test_continue(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 4, &r);
	f_region_alias(&r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_MINOR, 0);
	/* The page cache gets pages 0, 1 and 3 through the alias; 2 is a hole. */
	t_fill(r.alias, pg, 21);
	t_fill(r.alias + pg, pg, 22);
	t_fill(r.alias + 3 * pg, pg, 24);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_MINOR, NULL));
	T_ASSERT(!f_present(r.addr));
	__s64 f = 0;
	T_OK(raw_continue(fd, r.addr, pg, 0, &f));
	T_EQ(f, (long long)pg);
	T_ASSERT(t_check(r.addr, pg, 21));
	/* Mapped now: EEXIST. */
	T_ERR(raw_continue(fd, r.addr, pg, 0, &f), EEXIST);
	T_EQ(f, -EEXIST);
	T_OK(raw_continue(fd, r.addr + pg, pg, UFFDIO_CONTINUE_MODE_DONTWAKE, &f));
	T_EQ(f, (long long)pg);
	T_ASSERT(t_check(r.addr + pg, pg, 22));
	/* Shared mappings see the same page as the alias. */
	if (t_mem_is_shared(env->mem)) {
		r.alias[pg + 3] = 0x5c;
		T_EQ(r.addr[pg + 3], 0x5c);
	}
	/* No page in the page cache. */
	EXPECT_FIELD(raw_continue(fd, r.addr + 2 * pg, pg, 0, &f_), EFAULT, -EFAULT);
	T_ASSERT(!f_present(r.addr + 2 * pg));
	/* A range that starts mapped stops at once; one that meets the hole
	 * after a good page reports that page done. */
	EXPECT_FIELD(raw_continue(fd, r.addr + pg, 2 * pg, 0, &f_), EEXIST, -EEXIST);
	/* Argument errors. */
	EXPECT_UNTOUCHED(raw_continue(fd, r.addr + 3 * pg, pg, BIT(2), &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_continue(fd, r.addr + 3 * pg, pg, BIT(63), &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_continue(fd, r.addr + 1, pg, 0, &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_continue(fd, r.addr + 3 * pg, 0, 0, &f_), EINVAL);
	/* MODE_WP without WP registration. */
	EXPECT_FIELD(raw_continue(fd, r.addr + 3 * pg, pg, UFFDIO_CONTINUE_MODE_WP, &f_), EINVAL,
		     -EINVAL);
	T_OK(raw_continue(fd, r.addr + 3 * pg, pg, 0, &f));
	T_ASSERT(t_check(r.addr + 3 * pg, pg, 24));
	uf_close(fd);
	t_region_unmap(&r);
}

/* Partial CONTINUE: the page cache has pages 0 and 2, not 1. */
static void test_continue_partial(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 3, &r);
	f_region_alias(&r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_MINOR, 0);
	t_fill(r.alias, pg, 25);
	t_fill(r.alias + 2 * pg, pg, 27);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_MINOR, NULL));
	__s64 f = 0;
	T_ERR(raw_continue(fd, r.addr, 3 * pg, 0, &f), EAGAIN);
	T_EQ(f, (long long)pg);
	T_ASSERT(t_check(r.addr, pg, 25));
	T_ASSERT(!f_present(r.addr + 2 * pg));
	uf_close(fd);
	t_region_unmap(&r);
}

/* CONTINUE with MODE_WP maps the page write-protected. */
static void test_continue_wp(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	f_region_alias(&r);
	int fd = f_uffd(env, F_MODE_MINOR | F_MODE_WP, 0);
	t_fill(r.alias, r.len, 28);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_MINOR | F_MODE_WP, NULL));
	__s64 f = 0;
	T_OK(raw_continue(fd, r.addr, r.len, UFFDIO_CONTINUE_MODE_WP, &f));
	T_EQ(f, (long long)r.len);
	T_ASSERT(t_check(r.addr, r.len, 28));
	struct f_toucher t;
	struct uffd_msg m;
	f_touch_start(&t, r.addr + 8, 1, 0x44);
	f_expect_fault(fd, 2000, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr));
	f_touch_blocked(&t, 100);
	T_OK(uf_writeprotect(fd, r.addr, r.len, 0));
	f_touch_finish(&t, 2000);
	T_EQ(r.addr[8], 0x44);
	uf_close(fd);
	t_region_unmap(&r);
}

/* Anonymous memory has no page cache: EINVAL with -EINVAL written. */
static void test_continue_anon(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	EXPECT_FIELD(raw_continue(fd, r.addr, r.len, 0, &f_), EINVAL, -EINVAL);
	if (env->features & UFFD_FEATURE_PAGEFAULT_FLAG_WP) {
		T_OK(uf_register(fd, r.addr, r.len, F_MODE_M | F_MODE_WP, NULL));
		EXPECT_FIELD(raw_continue(fd, r.addr, r.len, 0, &f_), EINVAL, -EINVAL);
	}
	T_ASSERT(!f_present(r.addr));
	uf_close(fd);
	t_region_unmap(&r);
}

/* CONTINUE on a range registered MISSING only (shmem): not a MINOR range. */
static void test_continue_not_minor(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	f_region_alias(&r);
	t_fill(r.alias, r.len, 29);
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	__s64 f = F_SENTINEL;
	int rc = raw_continue(fd, r.addr, r.len, 0, &f);
	t_log("CONTINUE on MISSING-only range: %d field %lld", rc, (long long)f);
	T_EQ(rc, 0);
	T_EQ(f, (long long)r.len);
	T_ASSERT(t_check(r.addr, r.len, 29));
	uf_close(fd);
	t_region_unmap(&r);
}

/* CONTINUE on a private file mapping looks the file's page up first: a
 * page COPY placed (the program's own, none in the file) is EFAULT, not
 * EEXIST; with the file's page there, a mapped page is EEXIST.  (A write
 * before registration would have put a page in the file: EEXIST.) */
static void test_continue_private_copy(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	f_region_alias(&r);
	const size_t pg = env->page;
	t_fill(r.alias + pg, pg, 43);		/* the file's page */
	int fd = f_uffd(env, F_MODE_M | F_MODE_MINOR, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M | F_MODE_MINOR, NULL));
	char *src = t_buffer(pg, 44);
	T_OK(uf_copy(fd, r.addr, src, pg, 0, NULL));
	__s64 f = 0;
	T_ERR(raw_continue(fd, r.addr, pg, 0, &f), EFAULT);
	T_EQ(f, -EFAULT);
	T_ASSERT(t_check(r.addr, pg, 44));
	T_OK(raw_continue(fd, r.addr + pg, pg, 0, &f));
	T_EQ(f, (long long)pg);
	T_ASSERT(t_check(r.addr + pg, pg, 43));
	T_ERR(raw_continue(fd, r.addr + pg, pg, 0, &f), EEXIST);
	T_EQ(f, -EEXIST);
	uf_close(fd);
	t_region_unmap(&r);
}

/* ZEROPAGE onto an empty page carrying a WP marker: on private memory
 * (anonymous, private file mappings) the kernel wants an entry that is
 * none, so the marker is in the way: EEXIST, or EAGAIN with the pages done
 * before it; shared memory's ZEROPAGE replaces the marker. */
static void test_zeropage_wp_marker(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 3, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M | F_MODE_WP, UFFD_FEATURE_WP_UNPOPULATED);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M | F_MODE_WP, NULL));
	T_OK(uf_writeprotect(fd, r.addr + pg, 2 * pg, UFFDIO_WRITEPROTECT_MODE_WP));
	__s64 f = 0;
	if (t_mem_is_shared(env->mem)) {
		T_OK(raw_zeropage(fd, r.addr, 2 * pg, 0, &f));
		T_EQ(f, (long long)(2 * pg));
		T_OK(raw_zeropage(fd, r.addr + 2 * pg, pg, 0, &f));
		T_EQ(r.addr[2 * pg], 0);
	} else {
		T_ERR(raw_zeropage(fd, r.addr, 2 * pg, 0, &f), EAGAIN);
		T_EQ(f, (long long)pg);
		T_ERR(raw_zeropage(fd, r.addr + 2 * pg, pg, 0, &f), EEXIST);
		T_EQ(f, -EEXIST);
		/* COPY replaces the marker. */
		char *src = t_buffer(pg, 45);
		T_OK(uf_copy(fd, r.addr + pg, src, pg, 0, NULL));
		T_ASSERT(t_check(r.addr + pg, pg, 45));
	}
	T_EQ(r.addr[0], 0);
	uf_close(fd);
	t_region_unmap(&r);
}

/* ------------------------------------------------------------------------ */
/* POISON                                                                   */

static void test_poison(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 3, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_POISON);
	T_OK(uf_register(fd, r.addr, 2 * pg, F_MODE_M, NULL));
	__s64 f = 0;
	T_OK(raw_poison(fd, r.addr, pg, 0, &f));
	T_EQ(f, (long long)pg);

	/* Any access now raises SIGBUS; no message is queued. */
	int code = 0;
	void *where = NULL;
	T_ASSERT(f_probe_sigbus(r.addr + 100, 0, &code, &where));
	t_log("poisoned read: si_code %d si_addr %p (page %p)", code, where, (void *)r.addr);
	T_EQ(code, BUS_ADRERR);
	T_EQX(f_ul(where), f_ul(r.addr + 100));
	T_ASSERT(f_probe_sigbus(r.addr + pg - 1, 1, &code, &where));
	T_EQ(code, BUS_ADRERR);
	T_EQX(f_ul(where), f_ul(r.addr + pg - 1));
	f_expect_no_msg(fd, 0);

	/* A poisoned pte is not none for POISON: EEXIST. */
	T_ERR(raw_poison(fd, r.addr, pg, 0, &f), EEXIST);
	T_EQ(f, -EEXIST);
	/* A populated page. */
	char *src = t_buffer(pg, 31);
	T_OK(raw_copy(fd, r.addr + pg, src, pg, 0, &f));
	T_ERR(raw_poison(fd, r.addr + pg, pg, 0, &f), EEXIST);
	T_EQ(f, -EEXIST);
	T_ASSERT(t_check(r.addr + pg, pg, 31));
	/* Unregistered page. */
	T_ERR(raw_poison(fd, r.addr + 2 * pg, pg, 0, &f), ENOENT);
	T_EQ(f, -ENOENT);
	/* Argument errors. */
	EXPECT_UNTOUCHED(raw_poison(fd, r.addr, pg, BIT(1), &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_poison(fd, r.addr + 1, pg, 0, &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_poison(fd, r.addr, 0, 0, &f_), EINVAL);
	/* Unregistering leaves the poison in place. */
	T_OK(uf_unregister(fd, r.addr, 2 * pg));
	T_ASSERT(f_probe_sigbus(r.addr, 0, &code, &where));
	T_EQ(code, BUS_ADRERR);
	/* COPY treats a poison marker like an empty pte: it replaces it. */
	T_OK(uf_register(fd, r.addr, pg, F_MODE_M, NULL));
	char *fix = t_buffer(pg, 32);
	T_OK(raw_copy(fd, r.addr, fix, pg, 0, &f));
	T_EQ(f, (long long)pg);
	T_ASSERT(!f_probe_sigbus(r.addr, 0, NULL, NULL));
	T_ASSERT(t_check(r.addr, pg, 32));
	uf_close(fd);
	t_region_unmap(&r);
}

/* ------------------------------------------------------------------------ */
/* MOVE                                                                     */

static char *anon_pages(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(p != MAP_FAILED);
	f_no_thp(p, len);
	return p;
}

/* MADV_DONTNEED over a poisoned page: the kernel's zap drops the poison
 * marker with the page table entry, so the page is empty again: a read is
 * a MISSING fault, not SIGBUS.  Pages it does not cover stay poisoned. */
static void test_poison_dontneed(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_POISON);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	T_OK(uf_poison(fd, r.addr, 2 * pg, 0, NULL));
	T_OK(uf_madvise(r.addr, pg, MADV_DONTNEED));
	int code = 0;
	void *where = NULL;
	T_ASSERT(f_probe_sigbus(r.addr + pg, 0, &code, &where));
	struct f_toucher t;
	struct uffd_msg m;
	f_touch_start(&t, r.addr + 10, 0, 0);
	f_expect_fault(fd, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr));
	char *src = t_buffer(pg, 33);
	T_OK(uf_copy(fd, r.addr, src, pg, 0, NULL));
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, (unsigned char)src[10]);
	/* POISON again works on the emptied page (no marker in the way). */
	T_OK(uf_madvise(r.addr, pg, MADV_DONTNEED));
	T_OK(uf_poison(fd, r.addr, pg, 0, NULL));
	T_ASSERT(f_probe_sigbus(r.addr, 0, &code, &where));
	uf_close(fd);
	t_region_unmap(&r);
}

/* MOVE between VMAs of different protection: EINVAL (-EINVAL in the
 * field) before any page is looked at, even onto a populated page. */
static void test_move_prot_einval(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_MOVE);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	char *src = t_buffer(pg, 41);
	T_OK(uf_copy(fd, r.addr, src, pg, 0, NULL));
	char *ro = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(ro != MAP_FAILED);
	f_no_thp(ro, pg);
	memset(ro, 0x42, pg);
	T_OK(mprotect(ro, pg, PROT_READ));
	__s64 f = 0;
	T_ERR(raw_move(fd, r.addr, ro, pg, 0, &f), EINVAL);
	T_EQ(f, -EINVAL);
	T_ERR(raw_move(fd, r.addr + pg, ro, pg, 0, &f), EINVAL);
	T_EQ(f, -EINVAL);
	T_EQ(ro[0], 0x42);
	T_ASSERT(t_check(r.addr, pg, 41));
	munmap(ro, pg);
	uf_close(fd);
	t_region_unmap(&r);
}

static void test_move(const struct t_env *env)
{
	const size_t pg = env->page;
	struct t_region r;
	t_region_map(env, 5, &r);
	f_no_thp(r.addr, r.len);
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_MOVE);
	T_OK(uf_register(fd, r.addr, 4 * pg, F_MODE_M, NULL));
	char *src = anon_pages(4 * pg);
	for (int i = 0; i < 4; i++)
		t_fill(src + i * pg, pg, 40 + i);
	__s64 f = 0;

	T_OK(raw_move(fd, r.addr, src, pg, 0, &f));
	T_EQ(f, (long long)pg);
	T_ASSERT(t_check(r.addr, pg, 40));
	T_ASSERT(!f_present(src));			/* the source is a hole now */
	T_EQ(src[123], 0);

	/* Populated destination. */
	T_ERR(raw_move(fd, r.addr, src + pg, pg, 0, &f), EEXIST);
	T_EQ(f, -EEXIST);
	T_ASSERT(t_check(src + pg, pg, 41));		/* the source stays */
	/* A poisoned destination is not empty either, even moved onto
	 * itself (fuzz seed move-onto-poison-eexist). */
	T_OK(uf_poison(fd, r.addr + 3 * pg, pg, 0, &f));
	T_ERR(raw_move(fd, r.addr + 3 * pg, src + pg, pg, 0, &f), EEXIST);
	T_ERR(raw_move(fd, r.addr + 3 * pg, r.addr + 3 * pg, pg, 0, &f), EEXIST);
	T_EQ(f, -EEXIST);
	T_ASSERT(t_check(src + pg, pg, 41));
	T_OK(uf_madvise(r.addr + 3 * pg, pg, MADV_DONTNEED));	/* poison dropped */
	/* Source hole without, then with ALLOW_SRC_HOLES. */
	char *hole = anon_pages(pg);
	T_ERR(raw_move(fd, r.addr + pg, hole, pg, 0, &f), ENOENT);
	T_EQ(f, -ENOENT);
	T_OK(raw_move(fd, r.addr + pg, hole, pg, UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES, &f));
	T_EQ(f, (long long)pg);
	T_ASSERT(!f_present(r.addr + pg));		/* the hole moved: still a hole */
	/* Two pages, DONTWAKE. */
	T_OK(raw_move(fd, r.addr + 2 * pg, src + 2 * pg, 2 * pg, UFFDIO_MOVE_MODE_DONTWAKE, &f));
	T_EQ(f, (long long)(2 * pg));
	T_ASSERT(t_check(r.addr + 2 * pg, pg, 42));
	T_ASSERT(t_check(r.addr + 3 * pg, pg, 43));
	T_ASSERT(!f_present(src + 2 * pg) && !f_present(src + 3 * pg));

	/* Argument errors leave the field alone. */
	EXPECT_UNTOUCHED(raw_move(fd, r.addr + pg, src + pg, pg, BIT(2), &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_move(fd, r.addr + pg, src + pg + 1, pg, 0, &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_move(fd, r.addr + pg + 1, src + pg, pg, 0, &f_), EINVAL);
	EXPECT_UNTOUCHED(raw_move(fd, r.addr + pg, src + pg, 0, 0, &f_), EINVAL);
	/* A destination not registered with this context. */
	EXPECT_FIELD(raw_move(fd, r.addr + 4 * pg, src + pg, pg, 0, &f_), EINVAL, -EINVAL);
	T_ASSERT(t_check(src + pg, pg, 41));
	uf_close(fd);
	munmap(src, 4 * pg);
	munmap(hole, pg);
	t_region_unmap(&r);
}

/* A partial MOVE: the second destination page is populated. */
static void test_move_partial(const struct t_env *env)
{
	const size_t pg = env->page;
	struct t_region r;
	t_region_map(env, 3, &r);
	f_no_thp(r.addr, r.len);
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_MOVE);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	char *src = anon_pages(3 * pg);
	for (int i = 0; i < 3; i++)
		t_fill(src + i * pg, pg, 50 + i);
	__s64 f = 0;
	T_OK(uf_zeropage(fd, r.addr + pg, pg, 0, &f));
	T_ERR(raw_move(fd, r.addr, src, 3 * pg, 0, &f), EAGAIN);
	T_EQ(f, (long long)pg);
	T_ASSERT(t_check(r.addr, pg, 50));
	T_ASSERT(!f_present(src));
	T_ASSERT(t_check(src + pg, pg, 51));
	T_ASSERT(t_check(src + 2 * pg, pg, 52));
	uf_close(fd);
	munmap(src, 3 * pg);
	t_region_unmap(&r);
}

/* MOVE works only between anonymous private mappings. */
static void test_move_nonanon(const struct t_env *env)
{
	const size_t pg = env->page;
	struct t_region r;
	t_region_map(env, 1, &r);
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_MOVE);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	char *src = anon_pages(pg);
	t_fill(src, pg, 55);
	EXPECT_FIELD(raw_move(fd, r.addr, src, pg, 0, &f_), EINVAL, -EINVAL);
	T_ASSERT(t_check(src, pg, 55));
	T_ASSERT(!f_present(r.addr));
	uf_close(fd);
	munmap(src, pg);
	t_region_unmap(&r);
}

/* ------------------------------------------------------------------------ */
/* WAKE                                                                     */

static void test_wake(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, pg, F_MODE_M, NULL));
	T_ERR(uf_wake(fd, r.addr, 0), EINVAL);
	T_ERR(uf_wake(fd, r.addr + 1, pg), EINVAL);
	T_ERR(uf_wake(fd, r.addr, pg + 1), EINVAL);
	T_ERR(uf_wake(fd, (void *)(uintptr_t)(UINT64_MAX & ~(uint64_t)0xfff), 0x2000), EINVAL);
	/* Nobody waiting, registered or not: WAKE only checks the range. */
	T_OK(uf_wake(fd, r.addr, pg));
	T_OK(uf_wake(fd, r.addr + pg, pg));
	T_OK(uf_wake(fd, r.addr, r.len));
	/* A woken fault that was not resolved faults again: a second message. */
	struct f_toucher t;
	struct uffd_msg m;
	f_touch_start(&t, r.addr + 3, 1, 0x66);
	f_expect_fault(fd, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr));
	T_OK(uf_wake(fd, r.addr, pg));
	f_expect_fault(fd, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr));
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WRITE);
	f_touch_blocked(&t, 50);
	char *src = t_buffer(pg, 56);
	__s64 f = 0;
	T_OK(uf_copy(fd, r.addr, src, pg, 0, &f));
	f_touch_finish(&t, 2000);
	T_EQ(r.addr[3], 0x66);
	T_EQ(r.addr[4], src[4]);
	uf_close(fd);
	t_region_unmap(&r);
}

static void test_wake_hugetlb(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	struct f_toucher t;
	struct uffd_msg m;
	f_touch_start(&t, r.addr + 5000, 0, 0);
	f_expect_fault(fd, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr));
	char *src = t_buffer(r.len, 57);
	__s64 f = 0;
	T_OK(uf_copy(fd, r.addr, src, r.len, UFFDIO_COPY_MODE_DONTWAKE, &f));
	f_touch_blocked(&t, 100);
	/* WAKE does not need the huge page alignment: it only matches addresses. */
	T_OK(uf_wake(fd, r.addr, 4096));
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, (unsigned char)src[5000]);
	uf_close(fd);
	t_region_unmap(&r);

	/* With EXACT_ADDRESS the address matched is the exact one: a WAKE of
	 * the huge page's first 4 KiB misses a fault at 5000. */
	t_region_map(env, 1, &r);
	fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_EXACT_ADDRESS);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	f_touch_start(&t, r.addr + 5000, 0, 0);
	f_expect_fault(fd, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + 5000));
	T_OK(uf_copy(fd, r.addr, src, r.len, UFFDIO_COPY_MODE_DONTWAKE, &f));
	T_OK(uf_wake(fd, r.addr, 4096));
	f_touch_blocked(&t, 100);
	T_OK(uf_wake(fd, r.addr + 4096, 4096));
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, (unsigned char)src[5000]);
	uf_close(fd);
	t_region_unmap(&r);
}

/* ------------------------------------------------------------------------ */
/* WRITEPROTECT                                                             */

static void test_writeprotect(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 3, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M | F_MODE_WP, 0);
	T_OK(uf_register(fd, r.addr, 2 * pg, F_MODE_M | F_MODE_WP, NULL));
	char *src = t_buffer(2 * pg, 60);
	__s64 f = 0;
	T_OK(uf_copy(fd, r.addr, src, 2 * pg, 0, &f));

	T_OK(uf_writeprotect(fd, r.addr, 2 * pg, UFFDIO_WRITEPROTECT_MODE_WP));
	T_OK(uf_writeprotect(fd, r.addr, 2 * pg, UFFDIO_WRITEPROTECT_MODE_WP));	/* again */
	T_ASSERT(t_check(r.addr, 2 * pg, 60));		/* reads go through */
	f_expect_no_msg(fd, 0);

	/* A write waits; clearing wakes it. */
	struct f_toucher t;
	struct uffd_msg m;
	f_touch_start(&t, r.addr + pg + 9, 1, 0x71);
	f_expect_fault(fd, 2000, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + pg));
	f_touch_blocked(&t, 200);
	T_OK(uf_writeprotect(fd, r.addr + pg, pg, 0));
	f_touch_finish(&t, 2000);
	T_EQ(r.addr[pg + 9], 0x71);

	/* Clearing with DONTWAKE leaves the writer asleep until WAKE. */
	f_touch_start(&t, r.addr + 1, 1, 0x72);
	f_expect_fault(fd, 2000, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE);
	T_OK(uf_writeprotect(fd, r.addr, pg, UFFDIO_WRITEPROTECT_MODE_DONTWAKE));
	f_touch_blocked(&t, 200);
	r.addr[2] = 0x73;		/* the page is writable already */
	T_OK(uf_wake(fd, r.addr, pg));
	f_touch_finish(&t, 2000);
	T_EQ(r.addr[1], 0x72);
	T_EQ(r.addr[2], 0x73);
	f_expect_no_msg(fd, 0);

	/* Errors. */
	T_ERR(uf_writeprotect(fd, r.addr, pg, UFFDIO_WRITEPROTECT_MODE_WP |
			      UFFDIO_WRITEPROTECT_MODE_DONTWAKE), EINVAL);
	T_ERR(uf_writeprotect(fd, r.addr, pg, BIT(2)), EINVAL);
	T_ERR(uf_writeprotect(fd, r.addr, pg, BIT(63) | UFFDIO_WRITEPROTECT_MODE_WP), EINVAL);
	T_ERR(uf_writeprotect(fd, r.addr + 1, pg, UFFDIO_WRITEPROTECT_MODE_WP), EINVAL);
	T_ERR(uf_writeprotect(fd, r.addr, 0, UFFDIO_WRITEPROTECT_MODE_WP), EINVAL);
	T_ERR(uf_writeprotect(fd, r.addr + 2 * pg, pg, UFFDIO_WRITEPROTECT_MODE_WP), ENOENT);
	T_ERR(uf_writeprotect(fd, r.addr + 2 * pg, pg, 0), ENOENT);
	/* Registered, but for MISSING only (registering a subset of the modes
	 * changes nothing, so unregister first). */
	T_OK(uf_unregister(fd, r.addr, pg));
	T_OK(uf_register(fd, r.addr, pg, F_MODE_M, NULL));
	T_ERR(uf_writeprotect(fd, r.addr, pg, UFFDIO_WRITEPROTECT_MODE_WP), ENOENT);
	/* None of the errors protected anything. */
	r.addr[0] = 1;
	r.addr[pg] = 1;
	f_expect_no_msg(fd, 0);

	/* A range over a WP VMA and then an unregistered one: ENOENT, but the
	 * kernel has already protected the first VMA when it meets the second. */
	T_ERR(uf_writeprotect(fd, r.addr + pg, 2 * pg, UFFDIO_WRITEPROTECT_MODE_WP), ENOENT);
	f_touch_start(&t, r.addr + pg, 1, 0x75);
	f_expect_fault(fd, 2000, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + pg));
	/* Clearing over the same range: same ENOENT; the first VMA is cleared
	 * all the same, but a failed call wakes nobody: WAKE does. */
	T_ERR(uf_writeprotect(fd, r.addr + pg, 2 * pg, 0), ENOENT);
	f_touch_blocked(&t, 100);
	T_OK(uf_wake(fd, r.addr + pg, pg));
	f_touch_finish(&t, 2000);
	T_EQ(r.addr[pg], 0x75);
	uf_close(fd);
	t_region_unmap(&r);
}

static void test_writeprotect_hugetlb(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	int fd = f_uffd(env, F_MODE_M | F_MODE_WP, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M | F_MODE_WP, NULL));
	char *src = t_buffer(r.len, 61);
	__s64 f = 0;
	T_OK(uf_copy(fd, r.addr, src, r.len, 0, &f));
	int rc = uf_writeprotect(fd, r.addr + 4096, 4096, UFFDIO_WRITEPROTECT_MODE_WP);
	t_log("WRITEPROTECT of 4 KiB inside a huge page: %d", rc);
	T_ERR(rc, EINVAL);
	T_OK(uf_writeprotect(fd, r.addr, r.len, UFFDIO_WRITEPROTECT_MODE_WP));
	struct f_toucher t;
	struct uffd_msg m;
	f_touch_start(&t, r.addr + 12345, 1, 0x74);
	f_expect_fault(fd, 2000, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr));
	T_OK(uf_writeprotect(fd, r.addr, r.len, 0));
	f_touch_finish(&t, 2000);
	T_EQ(r.addr[12345], 0x74);
	uf_close(fd);
	t_region_unmap(&r);
}

#define NOT_ANON	(T_MEM_ALL & ~T_MEM(T_ANON))

static const struct t_case cases[] = {
	{ "copy", test_copy, T_MEM_ALL, 0 },
	{ "copy_enoent", test_copy_enoent, T_MEM_ALL, 0 },
	{ "copy_src_sigbus", test_copy_src_sigbus, T_MEM_ALL, 0 },
	{ "copy_src_bad", test_copy_src_bad, T_MEM_NO_HUGETLB, 0 },
	{ "copy_src_poisoned", test_copy_src_poisoned, T_MEM_ALL, UFFD_FEATURE_POISON },
	{ "copy_src_waits", test_copy_src_waits, T_MEM_ALL, 0 },
	{ "copy_einval", test_copy_einval, T_MEM_ALL, 0 },
	{ "copy_partial", test_copy_partial, T_MEM_ALL, 0 },
	{ "copy_wp", test_copy_wp, T_MEM_ALL, 0 },
	{ "copy_run_present", test_copy_run_present, T_MEM_NO_HUGETLB, 0 },
	{ "copy_run_src_fault", test_copy_run_src_fault, T_MEM_NO_HUGETLB, 0 },
	{ "copy_run_src_unregistered", test_copy_run_src_unregistered, T_MEM_NO_HUGETLB, 0 },
	{ "copy_run_wp", test_copy_run_wp, T_MEM_NO_HUGETLB, 0 },
	{ "copy_run_wp_marker", test_copy_run_wp_marker, T_MEM_NO_HUGETLB, UFFD_FEATURE_WP_UNPOPULATED },
	{ "copy_run_chunk_edge", test_copy_run_chunk_edge, T_MEM_NO_HUGETLB, 0 },
	{ "zeropage", test_zeropage, T_MEM_NO_HUGETLB, 0 },
	{ "zeropage_wp_marker", test_zeropage_wp_marker, T_MEM_NO_HUGETLB, UFFD_FEATURE_WP_UNPOPULATED },
	{ "zeropage_hugetlb_einval", test_zeropage_hugetlb, T_MEM_HUGETLB_ALL, 0 },
	{ "copy_hugetlb_dst_first", test_copy_hugetlb_dst_first, T_MEM_HUGETLB_ALL, 0 },
	{ "continue", test_continue, NOT_ANON, 0 },
	{ "continue_partial", test_continue_partial, NOT_ANON, 0 },
	{ "continue_wp", test_continue_wp, NOT_ANON, 0 },
	{ "continue_anon_einval", test_continue_anon, T_MEM(T_ANON), 0 },
	{ "continue_not_minor", test_continue_not_minor, NOT_ANON, 0 },
	{ "continue_private_copy", test_continue_private_copy,
	  T_MEM(T_MEMFD_PRIVATE) | T_MEM(T_HUGETLB_PRIVATE), 0 },
	{ "poison", test_poison, T_MEM_ALL, UFFD_FEATURE_POISON },
	{ "poison_dontneed", test_poison_dontneed, T_MEM_ALL, UFFD_FEATURE_POISON },
	{ "move", test_move, T_MEM(T_ANON), UFFD_FEATURE_MOVE },
	{ "move_prot_einval", test_move_prot_einval, T_MEM(T_ANON), UFFD_FEATURE_MOVE },
	{ "move_partial", test_move_partial, T_MEM(T_ANON), UFFD_FEATURE_MOVE },
	{ "move_nonanon_einval", test_move_nonanon, NOT_ANON, UFFD_FEATURE_MOVE },
	{ "wake", test_wake, T_MEM_ALL, 0 },
	{ "wake_hugetlb", test_wake_hugetlb, T_MEM_HUGETLB_ALL, 0 },
	{ "writeprotect", test_writeprotect, T_MEM_ALL, 0 },
	{ "writeprotect_hugetlb", test_writeprotect_hugetlb, T_MEM_HUGETLB_ALL, 0 },
	{ 0 }
};
T_MAIN(cases)
