/* SPDX-License-Identifier: MIT */
/*
 * pagemap_scan.c - uf_pagemap_scan(): the kernel's PAGEMAP_SCAN for this
 * process, with the memory the user engine manages answered by the engine.
 *
 * With UFFD_FEATURE_WP_ASYNC, programs learn which pages were written from
 * PAGEMAP_SCAN on /proc/self/pagemap.  The kernel cannot tell for memory
 * the user engine manages: there it sees the engine's shared view, its
 * guard markers and its protections, not the program's pages.  So the walk
 * is cut in pieces: memory the engine does not manage goes to the kernel's
 * PAGEMAP_SCAN, the rest to the engine (user/scan.c), and both feed one
 * output that merges, counts and stops exactly as the kernel's does.  A
 * range without engine memory is the kernel's call itself.
 *
 * One difference remains, at a boundary between the two kinds of memory:
 * when the output is already full there, the walk stops at the boundary
 * (walk_end) where the kernel would stop at the next page it would have
 * reported.  Calling again from walk_end, as the interface asks, gives the
 * same pages either way.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <unistd.h>
#include "internal.h"
#include "user/user.h"

#define PAGE		4096ULL
/* The highest user address + 1 (x86_64 and aarch64, 4-level tables). */
#define USER_TOP	0x7ffffffff000ULL
/* Regions asked of the kernel per call while merging its answer in. */
#define BOUNCE		256

struct uf__scan {
	struct pm_scan_arg a;		/* end aligned; max_pages 0 made "no limit" */
	struct page_region cur;		/* the region being built; end 0: none */
	__u64 n_out;			/* regions written to a.vec */
	__u64 found;			/* pages reported */
	__u64 stop_at;			/* walk_end after an early stop */
	__u64 cut_at;			/* walk_end after a complete walk, when a
					 * huge page was left out (uf__scan_huge) */
};

/* ------------------------------------------------------------------------ */
/* Arguments                                                                 */

/* The caller's memory is read and written without trusting it (EFAULT, not
 * SIGSEGV): uf__copy_in()/uf__copy_out(), addresses given as __u64. */
static int copy_in(void *to, __u64 from, size_t len)
{
	return uf__copy_in(to, (const void *)(uintptr_t)from, len);
}

static int copy_out(__u64 to, const void *from, size_t len)
{
	return uf__copy_out((void *)(uintptr_t)to, from, len);
}

/* The kernel's access_ok(): the range lies below the top of user space. */
static int user_range_ok(__u64 addr, __u64 len)
{
	return addr + len >= addr && addr + len <= USER_TOP;
}

/* The kernel's argument checks, in its order. */
static int check_args(struct pm_scan_arg *a)
{
	if (a->size != sizeof(*a))
		return -EINVAL;
	if (a->flags & ~(__u64)PM_SCAN_FLAGS)
		return -EINVAL;
	if ((a->category_inverted | a->category_mask | a->category_anyof_mask | a->return_mask) &
	    ~(__u64)PM_SCAN_CATEGORIES)
		return -EINVAL;
	if (a->start % PAGE)
		return -EINVAL;
	if (!user_range_ok(a->start, a->end - a->start))
		return -EFAULT;
	if (!a->vec && a->vec_len)
		return -EINVAL;
	if (a->vec && (a->vec_len > UINT64_MAX / sizeof(struct page_region) ||
		       !user_range_ok(a->vec, a->vec_len * sizeof(struct page_region))))
		return -EFAULT;
	a->end = (a->end + PAGE - 1) & ~(PAGE - 1);
	a->walk_end = 0;
	if (!a->max_pages)
		a->max_pages = UINT64_MAX;
	return 0;
}

/* /proc/self/pagemap, opened once per process (a forked child opens its
 * own: the parent's would show the parent's memory). */
static pthread_mutex_t pm_lock = PTHREAD_MUTEX_INITIALIZER;
static int pm_fd = -1;
static pid_t pm_pid;

static int pagemap_fd(void)
{
	pthread_mutex_lock(&pm_lock);
	if (pm_fd >= 0 && pm_pid != getpid()) {
		close(pm_fd);
		pm_fd = -1;
	}
	if (pm_fd < 0) {
		pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		pm_pid = getpid();
	}
	int fd = pm_fd >= 0 ? pm_fd : uf__neg_errno();
	pthread_mutex_unlock(&pm_lock);
	return fd;
}

/* ------------------------------------------------------------------------ */
/* The output: regions merged, counted and stopped as the kernel does       */

static int flush(struct uf__scan *s)
{
	if (!s->cur.end)
		return 0;
	if (copy_out(s->a.vec + s->n_out * sizeof(s->cur), &s->cur, sizeof(s->cur)) < 0)
		return -EFAULT;
	s->n_out++;
	s->cur.end = 0;
	return 0;
}

/* Add [start, end) with categories cats (already masked): merged into the
 * region being built when it continues it, else a new region if one is
 * left.  -ENOSPC: the walk ends at start. */
static int add_region(struct uf__scan *s, __u64 start, __u64 end, __u64 cats)
{
	if (s->cur.end && s->cur.end == start && s->cur.categories == cats) {
		s->cur.end = end;
	} else {
		if (s->cur.end && s->n_out + 1 >= s->a.vec_len) {
			s->stop_at = start;
			return -ENOSPC;
		}
		int r = flush(s);
		if (r)
			return r;
		s->cur = (struct page_region){ start, end, cats };
	}
	s->found += (end - start) / PAGE;
	return 0;
}

static int interesting(const struct uf__scan *s, __u64 cats)
{
	__u64 c = cats ^ s->a.category_inverted;
	if ((c & s->a.category_mask) != s->a.category_mask)
		return 0;
	return !s->a.category_anyof_mask || (c & s->a.category_anyof_mask);
}

int uf__scan_page(struct uf__scan *s, uintptr_t addr, __u64 cats)
{
	if (!(cats & PAGE_IS_WPALLOWED)) {
		if (s->a.flags & PM_SCAN_CHECK_WPASYNC)
			return -EPERM;
		if (s->a.flags & PM_SCAN_WP_MATCHING)
			return 0;	/* the kernel passes such memory over */
	}
	if (!interesting(s, cats))
		return 0;
	if (!s->a.vec_len)
		return 1;		/* nothing to report: only protecting */
	if (s->found >= s->a.max_pages) {
		s->stop_at = addr;
		return -ENOSPC;
	}
	int r = add_region(s, addr, addr + PAGE, cats & s->a.return_mask);
	return r ? r : 1;
}

int uf__scan_huge(struct uf__scan *s, uintptr_t start, uintptr_t end, __u64 cats, int whole,
		  int part)
{
	if (!(cats & PAGE_IS_WPALLOWED)) {
		if (s->a.flags & PM_SCAN_CHECK_WPASYNC)
			return -EPERM;
		if (s->a.flags & PM_SCAN_WP_MATCHING)
			return 0;
	}
	if (!interesting(s, cats))
		return 0;
	cats &= s->a.return_mask;
	__u64 room = s->a.max_pages - s->found, n = (end - start) / PAGE;
	if (s->a.vec_len) {
		/* No page left, or no region left for a new one: the walk
		 * ends here. */
		int merges = s->cur.end == start && s->cur.categories == cats;
		if (!room || (s->cur.end && !merges && s->n_out + 1 >= s->a.vec_len)) {
			s->stop_at = start;
			return -ENOSPC;
		}
	}
	/* To be protected but not all of it can be: the kernel takes back what
	 * it reported of it, says the walk ended there, and goes on. */
	if (whole && (part || (s->a.vec_len && n > room))) {
		s->cut_at = start;
		return 0;
	}
	if (!s->a.vec_len)
		return 1;
	int cut = n > room;
	if (cut)
		end = start + room * PAGE;
	int r = add_region(s, start, end, cats);
	if (r)
		return r;
	if (cut) {
		s->stop_at = end;
		return -ENOSPC;
	}
	return 1;
}

/* ------------------------------------------------------------------------ */
/* Memory the engine does not manage: the kernel's answer, merged in        */

static int kernel_piece(struct uf__scan *s, int pm, __u64 from, __u64 to)
{
	struct page_region bounce[BOUNCE];
	struct pm_scan_arg k = s->a;
	k.start = from;
	k.end = to;
	if (!s->a.vec_len) {
		k.vec = 0;
		return ioctl(pm, PAGEMAP_SCAN, &k) < 0 ? uf__neg_errno() : 0;
	}
	while (k.start < to) {
		__u64 used = s->n_out + (s->cur.end ? 1 : 0);
		__u64 room = s->a.vec_len - used;
		/* One more when the kernel's first region may continue ours;
		 * not when it protects what it reports (it must all fit). */
		if (s->cur.end == k.start && !(s->a.flags & PM_SCAN_WP_MATCHING))
			room++;
		if (!room || s->found >= s->a.max_pages) {
			s->stop_at = k.start;
			return -ENOSPC;
		}
		k.vec = (__u64)(uintptr_t)bounce;
		k.vec_len = room < BOUNCE ? room : BOUNCE;
		k.max_pages = s->a.max_pages == UINT64_MAX ? 0 : s->a.max_pages - s->found;
		memset(bounce, 0, sizeof(bounce));
		long n = ioctl(pm, PAGEMAP_SCAN, &k);
		int err = n < 0 ? uf__neg_errno() : 0;
		if (n < 0)	/* EPERM still hands over what was found before */
			for (n = 0; n < (long)k.vec_len && bounce[n].end; n++)
				;
		for (long i = 0; i < n; i++) {
			int r = add_region(s, bounce[i].start, bounce[i].end, bounce[i].categories);
			if (r)
				return r;
		}
		if (err)
			return err;
		if (k.walk_end >= to)
			return 0;
		if (s->found >= s->a.max_pages || k.vec_len == room) {
			/* The kernel stopped where the whole walk stops. */
			s->stop_at = k.walk_end;
			return -ENOSPC;
		}
		k.start = k.walk_end;	/* only the bounce buffer was full */
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The walk                                                                  */

static int walk(struct uf__scan *s, int pm)
{
	__u64 pos = s->a.start, end = s->a.end;
	while (pos < end) {
		uintptr_t ms, me;
		if (uf__scan_next(pos, &ms, &me) < 0 || ms >= end)
			return kernel_piece(s, pm, pos, end);
		if (ms > pos) {
			int r = kernel_piece(s, pm, pos, ms);
			if (r)
				return r;
			pos = ms;
		}
		__u64 to = me < end ? me : end;
		int r = uf__scan_engine(s, pos, to, (s->a.flags & PM_SCAN_WP_MATCHING) != 0);
		if (r)
			return r;
		pos = to;
	}
	return 0;
}

UF_EXPORT long uf_pagemap_scan(struct pm_scan_arg *arg)
{
	struct uf__scan s = { .cur = { 0, 0, 0 } };
	if (copy_in(&s.a, (__u64)(uintptr_t)arg, sizeof(s.a)) < 0)
		return -EFAULT;
	int r = check_args(&s.a);
	if (r)
		return r;
	int pm = pagemap_fd();
	if (pm < 0)
		return pm;
	uintptr_t ms, me;
	if (uf__scan_next(s.a.start, &ms, &me) < 0 || ms >= s.a.end) {
		/* No engine memory in the range: the kernel's call itself. */
		long n = ioctl(pm, PAGEMAP_SCAN, arg);
		return n < 0 ? uf__neg_errno() : n;
	}
	r = walk(&s, pm);
	if (r == -ENOSPC)
		s.a.walk_end = s.stop_at;
	else		/* done, or failed (as the kernel says) */
		s.a.walk_end = s.cut_at ? s.cut_at : s.a.end;
	int f = flush(&s);
	if (r == -ENOSPC || !r)
		r = f;
	if (copy_out((__u64)(uintptr_t)&arg->walk_end, &s.a.walk_end, sizeof(s.a.walk_end)) < 0)
		r = -EFAULT;
	return r ? r : (long)s.n_out;
}
