/* SPDX-License-Identifier: MIT */
/*
 * userfault/pagemap.h - the PAGEMAP_SCAN interface of /proc/PID/pagemap
 * (Linux 6.7, PAGE_IS_GUARD 6.14), as uf_pagemap_scan() takes it.
 *
 * With UFFD_FEATURE_WP_ASYNC, write-protection is a dirty bit and
 * PAGEMAP_SCAN is how a program reads it (PAGE_IS_WRITTEN) and re-arms it
 * (PM_SCAN_WP_MATCHING).  Debian 12's <linux/fs.h> (Linux 6.1) has none of
 * it, so it is defined here from the documented interface, with the
 * kernel's names and values; what a newer <linux/fs.h> defines is kept.
 */
#ifndef USERFAULT_PAGEMAP_H
#define USERFAULT_PAGEMAP_H

#include <linux/fs.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#ifndef PAGEMAP_SCAN
/* Categories: reported in page_region.categories and used in the masks. */
#define PAGE_IS_WPALLOWED	(1 << 0)	/* async write-protection is on here */
#define PAGE_IS_WRITTEN		(1 << 1)	/* not write-protected (written since) */
#define PAGE_IS_FILE		(1 << 2)	/* a file (or shmem) page */
#define PAGE_IS_PRESENT		(1 << 3)	/* mapped */
#define PAGE_IS_SWAPPED		(1 << 4)	/* a swap entry or a marker */
#define PAGE_IS_PFNZERO		(1 << 5)	/* the shared zero page */
#define PAGE_IS_HUGE		(1 << 6)	/* THP or hugetlb */
#define PAGE_IS_SOFT_DIRTY	(1 << 7)

/* A run of pages with the same categories: [start, end). */
struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

/* Operations. */
#define PM_SCAN_WP_MATCHING	(1 << 0)	/* write-protect the pages that match */
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)	/* EPERM where async WP is not on */

struct pm_scan_arg {
	__u64 size;			/* sizeof(struct pm_scan_arg) */
	__u64 flags;			/* PM_SCAN_* */
	__u64 start;			/* page-aligned */
	__u64 end;			/* rounded up to a page */
	__u64 walk_end;			/* out: where the walk stopped (end: done) */
	__u64 vec;			/* struct page_region[vec_len], or 0 */
	__u64 vec_len;
	__u64 max_pages;		/* at most this many pages reported; 0: no limit */
	__u64 category_inverted;	/* categories that match when clear */
	__u64 category_mask;		/* all of these must match */
	__u64 category_anyof_mask;	/* one of these must match (0: no test) */
	__u64 return_mask;		/* categories reported */
};

#define PAGEMAP_SCAN		_IOWR('f', 16, struct pm_scan_arg)
#endif /* PAGEMAP_SCAN */

#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD		(1 << 8)	/* a guard marker (MADV_GUARD_INSTALL) */
#endif

/* Every operation and every category Linux 6.18 knows (the kernel's own
 * names; not in its uapi header).  Others are refused with EINVAL. */
#ifndef PM_SCAN_FLAGS
#define PM_SCAN_FLAGS		(PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC)
#endif
#undef PM_SCAN_CATEGORIES
#define PM_SCAN_CATEGORIES	(PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN | PAGE_IS_FILE |	\
				 PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO |	\
				 PAGE_IS_HUGE | PAGE_IS_SOFT_DIRTY | PAGE_IS_GUARD)

#endif /* USERFAULT_PAGEMAP_H */
