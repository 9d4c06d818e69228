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
	} else if (st & (PS_POISON | PS_WP)) {
		/* A marker; a huge page's says HUGE too. */
		c |= PAGE_IS_SWAPPED | ((st & PS_POISON) ? PAGE_IS_WRITTEN : 0);
		if (m->page > 4096)
			c |= PAGE_IS_HUGE;
	} else {
		c |= PAGE_IS_WRITTEN;
	}
	return c;
}

/* A huge page is one entry for the kernel: offered in one piece with one
 * set of categories, and protected only as a whole (uf__scan_huge). */
static int scan_huge(struct uf__scan *s, struct uf__map *m, uintptr_t from, uintptr_t stop,
		     int allowed, int protect)
{
	while (from < stop) {
		uintptr_t hp = from & ~(uintptr_t)(m->page - 1), to = hp + m->page;
		if (to > stop)
			to = stop;
		size_t pg = uf__pgidx(m, hp);
		uint8_t st = protect ? uf__page_lock(m, pg) : atomic_load(&m->pst[pg]);
		__u64 cats = categories(m, st, allowed);
		int wp = protect && (cats & PAGE_IS_WRITTEN) && !(st & (PS_WP | PS_POISON));
		int part = from != hp || to != hp + m->page;
		int r = uf__scan_huge(s, from, to, cats, wp, part);
		if (r == 1 && wp) {
			uf__wp_mark(m, &st, 1);
			uf__page_setwp(m, hp, st);
		}
		if (protect)
			uf__page_unlock(m, pg, st);
		if (r < 0)
			return r;
		from = to;
	}
	return 0;
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
		if (m->page > 4096) {
			int r = scan_huge(s, m, from, stop, allowed, protect);
			if (r < 0)
				return r;
			from = stop;
			continue;
		}
		/* Reported in 4 KiB pages, as the kernel does. */
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
