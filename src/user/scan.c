/* SPDX-License-Identifier: MIT */
/*
 * scan.c - PAGEMAP_SCAN over the memory the engine manages: what the kernel
 * would report for each page, from the engine's page states.
 *
 * The kernel reports a page from its page table entry; the engine keeps the
 * same facts per page (user.h, PS_*), so each entry kind has its twin:
 *
 *   kernel entry                  engine state           categories
 *   present page                  PS_MAPPED              PRESENT, FILE for shmem,
 *                                                        WRITTEN unless PS_WP
 *   uffd-wp marker (unpopulated)  PS_WP, not mapped      SWAPPED
 *   poison marker                 PS_POISON              SWAPPED, WRITTEN
 *   none                          0                      WRITTEN
 *
 * and WPALLOWED where the range is registered for WP by a context that
 * negotiated UFFD_FEATURE_WP_ASYNC.  What the engine cannot know is left
 * out and listed in docs/LIMITATIONS.md: PFNZERO (its pages are never the
 * zero page), SOFT_DIRTY, and FILE for pages of a private file mapping
 * that were only read (the engine holds a private copy of every page).
 *
 * pagemap_scan.c decides what is reported; this file only says what each
 * page is and, for PM_SCAN_WP_MATCHING, protects the pages it took.
 */
#include "user.h"

int uf__scan_next(uintptr_t addr, uintptr_t *start, uintptr_t *end)
{
	unsigned tok = uf__enter();
	const struct uf__seg *s = uf__lookup_from(addr);
	if (s) {
		*start = s->start > addr ? s->start : addr;
		*end = s->end;
	}
	uf__leave(tok);
	return s ? 0 : -ENOENT;
}

static int wp_async_on(const struct uf__seg *s)
{
	return s->ctx && (s->mode & UFFDIO_REGISTER_MODE_WP) && atomic_load(&s->ctx->api) == 2 &&
	       (s->ctx->features & UFFD_FEATURE_WP_ASYNC);
}

static __u64 categories(const struct uf__map *m, uint8_t st, int wp_allowed)
{
	__u64 c = wp_allowed ? PAGE_IS_WPALLOWED : 0;
	if (st & PS_MAPPED) {
		c |= PAGE_IS_PRESENT;
		if (!(st & PS_WP))
			c |= PAGE_IS_WRITTEN;
		if (m->ops->kind == UU_SHMEM || m->ops->kind == UU_HUGETLB)
			c |= PAGE_IS_FILE;
		if (m->page > 4096)
			c |= PAGE_IS_HUGE;
	} else if (st & PS_POISON) {
		c |= PAGE_IS_SWAPPED | PAGE_IS_WRITTEN;
	} else if (st & PS_WP) {
		c |= PAGE_IS_SWAPPED;
	} else {
		c |= PAGE_IS_WRITTEN;
	}
	return c;
}

int uf__scan_engine(struct uf__scan *s, uintptr_t from, uintptr_t to, int wp_matching)
{
	while (from < to) {
		struct uf__seg seg;
		unsigned tok = uf__enter();
		const struct uf__seg *sp = uf__lookup(from);
		if (sp)
			seg = *sp;
		uf__leave(tok);
		if (!sp)
			return 0;	/* unmapped meanwhile: nothing there */
		struct uf__map *m = seg.map;
		int allowed = wp_async_on(&seg);
		/* Protecting takes the page, so that a write cannot slip in
		 * between reading its state and setting the mark. */
		int protect = wp_matching && allowed;
		uintptr_t stop = seg.end < to ? seg.end : to;
		/* Reported in 4 KiB pages, as the kernel does, whatever the
		 * map's page size. */
		for (uintptr_t p = from; p < stop; p += 4096) {
			size_t pg = uf__pgidx(m, p);
			uint8_t st = protect ? uf__page_lock(m, pg) : atomic_load(&m->pst[pg]);
			int r = uf__scan_page(s, p, categories(m, st, allowed));
			if (r == 1 && protect && !(st & PS_WP) && !(st & PS_POISON)) {
				uf__wp_mark(m, &st, 1);
				uf__page_setwp(m, p, st);
			}
			if (protect)
				uf__page_unlock(m, pg, st);
			if (r < 0)
				return r;
		}
		from = stop;
	}
	return 0;
}
