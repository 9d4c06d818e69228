/* SPDX-License-Identifier: MIT */
/*
 * remap.c - moving managed memory to a new address (uf_mremap(), events.c).
 *
 * A map's address range never changes, so a move builds a new map for the
 * destination and carries over what the kernel's mremap carries with the
 * page tables: the content, each page's state (shown, write-protected when
 * the registration moves, poisoned) and, with UFFD_FEATURE_EVENT_REMAP, the
 * owner and mode.  Pages not filled yet stay missing at the new address.
 *
 *   freeze the source maps ─▶ wait for every reader (the fault path, fills,
 *   MOVE, madvise inside a reader section back off from a frozen map and
 *   retry once the move is over) ─▶ cover the old range (PROT_NONE: no
 *   access goes past it unseen) ─▶ new backing: the same file for shared
 *   memory, a new engine memfd with the filled pages copied for private
 *   memory ─▶ the new view, covered, at the destination ─▶ one published
 *   table: the old range's segments out (or kept, MREMAP_DONTUNMAP), the
 *   new map's in ─▶ the old view goes.
 *
 * Private memory is copied (its engine file cannot grow without a
 * descriptor the engine does not keep); shared memory is not.
 *
 * hugetlb moves without copying, as the kernel moves its page tables: it
 * never grows, and a second view of a hugetlb file cannot be made without a
 * descriptor of it (mremap(old_size = 0) refuses hugetlb).  So the views
 * themselves move: the program's view to the destination, the engine's
 * views of the moved part (alias, upstream, peek) to a new map's places;
 * the old map marks those pages PS_GONE and unmaps around them later.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "user.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

atomic_int uf__remapping;

/* Signal-safe: an atomic load and sched_yield(). */
void uf__remap_wait(void)
{
	while (atomic_load(&uf__remapping))
		sched_yield();
}

/* The source: the maps holding [from, from + len), in address order. */
struct source {
	struct uf__map *map[8];
	size_t n;
	struct uf__ctx *ctx;
	unsigned mode;
};

static int find_source(uintptr_t from, uintptr_t end, struct source *src)
{
	src->n = 0;
	for (uintptr_t pos = from; pos < end;) {
		const struct uf__seg *s = uf__lookup(pos);
		if (!s)
			return -EFAULT;
		if (pos == from) {
			src->ctx = s->ctx;
			src->mode = s->mode;
		} else if (s->ctx != src->ctx || s->mode != src->mode) {
			return -EFAULT;
		}
		if (!src->n || src->map[src->n - 1] != s->map) {
			if (src->n == UF_ARRAY_SIZE(src->map))
				return -EFAULT;
			src->map[src->n++] = s->map;
		}
		pos = s->end;
	}
	return 0;
}

static struct uf__map *map_of(const struct source *src, uintptr_t a)
{
	for (size_t i = 0; i < src->n; i++)
		if (a >= src->map[i]->start && a < src->map[i]->end)
			return src->map[i];
	return NULL;
}

/* The new map's backing and its covered view (at a place of the kernel's
 * choosing: *view).  first: the map holding from. */
/* Private file mappings: the original mappings kept aside (upstream) go
 * along, piece by piece from each source map into one place (the old ones
 * stay as they were, without pages: their maps still free them whole);
 * growing maps the file further on, as the kernel does. */
static int new_upstream(struct uf__map *n, const struct source *src, uintptr_t from, size_t len)
{
	size_t nlen = n->end - n->start;
	char *area = mmap(NULL, nlen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		return -errno;
	uintptr_t last = from;
	for (uintptr_t a = from; a < from + len;) {
		struct uf__map *m = map_of(src, a);
		uintptr_t e = m->end < from + len ? m->end : from + len;
		if (mremap(m->upstream + (a - m->start), e - a, e - a,
			   MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, area + (a - from)) == MAP_FAILED) {
			int err = -errno;
			munmap(area, nlen);
			return err;
		}
		last = a;
		a = e;
	}
	if (nlen > len) {
		/* The last piece, longer, back in its place over the rest. */
		size_t off = last - from, plen = len - off;
		void *g = mremap(area + off, plen, nlen - off, MREMAP_MAYMOVE);
		if (g == MAP_FAILED || mremap(g, nlen - off, nlen - off, MREMAP_MAYMOVE | MREMAP_FIXED,
					      area + off) == MAP_FAILED) {
			int err = -errno;
			if (g != MAP_FAILED)
				munmap(g, nlen - off);
			munmap(area, nlen);
			return err;
		}
	}
	n->upstream = area;
	return 0;
}

static int new_backing(struct uf__map *n, const struct source *src, uintptr_t from, size_t len,
		       void **view)
{
	const struct uf__map *first = src->map[0];
	size_t off = from - first->start, nlen = n->end - n->start;
	*view = MAP_FAILED;
	if (first->ops->kind == UU_SHMEM) {
		/* Another view of the program's own file at the same offset;
		 * growing it maps the file further on, as the kernel does. */
		size_t dl = len ? len : nlen;	/* 0: a duplicate (events.c) */
		void *a = mremap(first->alias + off, 0, dl, MREMAP_MAYMOVE);
		if (a != MAP_FAILED && nlen > dl) {
			void *g = mremap(a, dl, nlen, MREMAP_MAYMOVE);
			if (g == MAP_FAILED)
				munmap(a, dl);
			a = g;
		}
		if (a == MAP_FAILED)
			return -errno;
		n->alias = a;
		void *v = mremap(a, 0, nlen, MREMAP_MAYMOVE);
		if (v == MAP_FAILED || mprotect(v, nlen, PROT_NONE) < 0) {
			int e = -errno;
			if (v != MAP_FAILED)
				munmap(v, nlen);
			return e;
		}
		*view = v;
		return 0;
	}
	int fd = memfd_create("userfault", MFD_CLOEXEC);
	struct stat st;
	int r = 0;
	if (fd < 0 || ftruncate(fd, (off_t)nlen) < 0 || fstat(fd, &st) < 0)
		r = -errno;
	if (r == 0) {
		n->ino = st.st_ino;
		void *a = mmap(NULL, nlen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		void *v = a == MAP_FAILED ? MAP_FAILED : mmap(NULL, nlen, PROT_NONE, MAP_SHARED, fd, 0);
		if (v == MAP_FAILED) {
			r = -errno;
			if (a != MAP_FAILED)
				munmap(a, nlen);
		} else {
			n->alias = a;
			*view = v;
		}
	}
	if (fd >= 0)
		close(fd);
	if (r == 0 && first->upstream)
		r = new_upstream(n, src, from, len);
	return r;
}

/* Copy page states and content from the source to n, one page held at a
 * time (the old view is covered: nothing writes there any more). */
static void carry(struct uf__map *n, const struct source *src, uintptr_t from, size_t len, int keep)
{
	uint8_t mask = PS_MAPPED | PS_POISON | (keep ? PS_WP : 0);
	for (uintptr_t a = from; a < from + len;) {
		struct uf__map *m = map_of(src, a);
		size_t pg = uf__pgidx(m, a), npg = (a - from) >> n->page_shift;
		uint8_t st = uf__page_lock(m, pg);
		if (m->ops->kind != UU_SHMEM && (st & PS_MAPPED))
			memcpy(n->alias + (npg << n->page_shift), m->alias + (a - m->start), m->page);
		uint8_t ns = st & mask;
		if (ns & PS_WP)
			atomic_fetch_add(&n->wp_count, 1);
		atomic_store(&n->pst[npg], ns);
		uf__page_unlock(m, pg, st);
		a += m->page;
	}
}

/* The chunk-clipped runs of [from, end) in the source: fn(m, a, to) on each
 * piece inside one chunk of one map. */
static void each_chunk(const struct source *src, uintptr_t from, uintptr_t end,
		       void (*fn)(struct uf__map *, uintptr_t, uintptr_t))
{
	for (uintptr_t a = from; a < end;) {
		struct uf__map *m = map_of(src, a);
		uintptr_t to = m->start + ((uf__chidx(m, a) + 1) << m->chunk_shift);
		if (to > m->end)
			to = m->end;
		if (to > end)
			to = end;
		fn(m, a, to);
		a = to;
	}
}

/* MREMAP_DONTUNMAP: the page tables went to the new place, so every old
 * page is missing again, its marks (WP, poison) gone with them and private
 * content dropped.  Where the chunk is open the covered pages are hidden
 * with the map's protection; a covered chunk opens later from the states. */
static void empty_old(struct uf__map *m, uintptr_t a, uintptr_t to)
{
	for (uintptr_t p = a; p < to; p += m->page) {
		size_t pg = uf__pgidx(m, p);
		uint8_t st = uf__page_lock(m, pg);
		if (m->ops->kind != UU_SHMEM && (st & PS_MAPPED))
			madvise(m->alias + (p - m->start), m->page, MADV_REMOVE);
		if (st & PS_WP)
			atomic_fetch_sub(&m->wp_count, 1);
		uf__page_unlock(m, pg, 0);
	}
	if (atomic_load(&m->cst[uf__chidx(m, a)]) == CS_OPEN) {
		(void)m->ops->hide(m, a, to - a);
		if (m->ops->guards)
			(void)mprotect((void *)a, to - a, m->prot);
	}
}

/* A failed move: the covered old view gets its pages' protection back where
 * the chunk is open. */
static void reopen_old(struct uf__map *m, uintptr_t a, uintptr_t to)
{
	if (atomic_load(&m->cst[uf__chidx(m, a)]) != CS_OPEN)
		return;
	for (uintptr_t p = a; p < to; p += m->page)
		(void)mprotect((void *)p, m->page, uf__page_prot(m, atomic_load(&m->pst[uf__pgidx(m, p)])));
}

/* Move every mapping of [src, src + len) to the same offset from dst,
 * replacing what is there: one mremap per VMA, as hugetlb VMAs split by
 * per-page protection never merge again.  On failure, what moved goes
 * back; -errno. */
static int move_vmas(uintptr_t src, size_t len, uintptr_t dst)
{
	uintptr_t a = src, end = src + len;
	int r = 0;
	while (a < end) {
		uintptr_t vs, ve;
		if (uf__vma_next(a, &vs, &ve) < 0 || vs >= end)
			break;		/* a hole up to the end: nothing there to move */
		if (vs < a)
			vs = a;
		if (ve > end)
			ve = end;
		if (mremap((void *)vs, ve - vs, ve - vs, MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)(dst + (vs - src))) == MAP_FAILED) {
			r = -errno;
			break;
		}
		a = ve;
	}
	if (r < 0 && a > src)
		(void)move_vmas(dst, a - src, src);
	return r;
}

/* The engine's views of a hugetlb map (alias, upstream, peek), by number. */
#define HUGE_VIEWS 3

static char **huge_view(struct uf__map *m, int v)
{
	return v == 0 ? &m->alias : v == 1 ? &m->upstream : &m->peek;
}

static void freeze(const struct source *src)
{
	atomic_fetch_add(&uf__remapping, 1);
	for (size_t i = 0; i < src->n; i++)
		atomic_fetch_add(&src->map[i]->frozen, 1);
	uf__synchronize();
}

/* Maps still published thaw; the others are retired already. */
static void thaw(const struct source *src)
{
	const struct uf__table *t = uf__table_now();
	for (size_t i = 0; i < src->n; i++)
		for (size_t k = 0; t && k < t->n; k++)
			if (t->seg[k].map == src->map[i]) {
				atomic_fetch_sub(&src->map[i]->frozen, 1);
				break;
			}
	atomic_fetch_sub(&uf__remapping, 1);
}

/* hugetlb: the same length (it never grows, and a move is never in place
 * or MREMAP_DONTUNMAP: events.c refuses those as the kernel does).  One
 * new map per source map, so the maps stay as the kernel's VMAs were.
 * Undoing a failed step (out of memory) moves back what moved; a place a
 * failed step left holes in is not unmapped (another thread may have
 * mapped something there since): a reservation's remains stay, unused. */
enum { MV_NONE, MV_DONE, MV_FAILED };

static int move_huge(struct uf__remap *rq, struct source *src)
{
	uintptr_t from = rq->from, end = from + rq->len;
	size_t len = rq->len, pg = src->map[0]->page;
	struct uf__map *n[UF_ARRAY_SIZE(src->map)] = { NULL };
	char *area[HUGE_VIEWS] = { MAP_FAILED, MAP_FAILED, MAP_FAILED };
	uint8_t moved[UF_ARRAY_SIZE(src->map)][HUGE_VIEWS] = { { MV_NONE } };
	uintptr_t to = rq->to;
	int r = 0, covered = 0;

	for (size_t i = 0; i < src->n && r == 0; i++) {
		struct uf__map *m = src->map[i];
		uintptr_t a = m->start > from ? m->start : from, e = m->end < end ? m->end : end;
		n[i] = uf__map_alloc(0, e - a, m->ops->kind, m->page, m->prot);
		if (!n[i])
			r = -ENOMEM;
	}
	if (r < 0)
		goto fail;

	freeze(src);
	if (mprotect((void *)from, len, PROT_NONE) < 0)
		r = -errno;
	covered = 1;
	/* The engine's views of the moved part, each kind in a place of its
	 * own, at the moved part's offsets. */
	for (int v = 0; v < HUGE_VIEWS && r == 0; v++) {
		int any = 0;
		for (size_t i = 0; i < src->n; i++)
			any |= *huge_view(src->map[i], v) != NULL;
		if (any && (area[v] = uf__reserve_aligned(len, pg)) == MAP_FAILED)
			r = -errno;
		for (size_t i = 0; any && r == 0 && i < src->n; i++) {
			struct uf__map *m = src->map[i];
			uintptr_t a = m->start > from ? m->start : from, e = m->end < end ? m->end : end;
			char *view = *huge_view(m, v);
			if (!view)
				continue;
			r = move_vmas((uintptr_t)view + (a - m->start), e - a, (uintptr_t)area[v] + (a - from));
			moved[i][v] = r == 0 ? MV_DONE : MV_FAILED;
			*huge_view(n[i], v) = area[v] + (a - from);
		}
	}
	/* The program's view, covered, to its new place. */
	int to_state = MV_NONE, reserved = 0;
	if (r == 0 && !rq->fixed) {
		void *p = uf__reserve_aligned(len, pg);
		if (p == MAP_FAILED)
			r = -errno;
		to = (uintptr_t)p;
		reserved = r == 0;
	}
	if (r == 0) {
		r = move_vmas(from, len, to);
		to_state = r == 0 ? MV_DONE : MV_FAILED;
	}
	if (r < 0)
		goto undo;

	for (size_t i = 0; i < src->n; i++) {
		struct uf__map *m = src->map[i], *nm = n[i];
		uintptr_t a = m->start > from ? m->start : from;
		nm->start = to + (a - from);
		nm->end += nm->start;
		nm->ino = m->ino;
		nm->anon_file = m->anon_file;
		nm->vm_ino = m->vm_ino;
		nm->vm_off = m->vm_off + (a - m->start);
		for (size_t k = 0; k < nm->npages; k++) {
			size_t opg = uf__pgidx(m, a) + k;
			uint8_t st = uf__page_lock(m, opg);
			uint8_t ns = st & (PS_MAPPED | PS_POISON | (rq->keep ? PS_WP : 0));
			if (ns & PS_WP)
				atomic_fetch_add(&nm->wp_count, 1);
			atomic_store(&nm->pst[k], ns);
			if (st & PS_WP)
				atomic_fetch_sub(&m->wp_count, 1);
			/* Held busy (nothing deferred on it) and in no
			 * segment from now on: no unlock to run. */
			atomic_store(&m->pst[opg], PS_GONE);
		}
	}
	/* Parts of a view's place no source map had that view for. */
	for (int v = 0; v < HUGE_VIEWS; v++)
		for (size_t i = 0; area[v] != MAP_FAILED && i < src->n; i++)
			if (moved[i][v] == MV_NONE)
				munmap(area[v] + (n[i]->start - to), n[i]->end - n[i]->start);
	struct uf__seg seg[UF_ARRAY_SIZE(src->map)];
	for (size_t i = 0; i < src->n; i++)
		seg[i] = (struct uf__seg){ n[i]->start, n[i]->end, n[i], rq->keep ? src->ctx : NULL,
					   rq->keep ? src->mode : 0 };
	/* The pages are in the new maps' views now: the table follows. */
	while ((r = uf__table_hand_over(from, end, seg, src->n)) == -ENOMEM)
		sched_yield();
	rq->to = to;
	thaw(src);
	return 0;

undo:
	if (reserved && to_state == MV_NONE)
		munmap((void *)to, len);
	for (size_t i = 0; i < src->n; i++) {
		struct uf__map *m = src->map[i];
		uintptr_t a = m->start > from ? m->start : from, e = m->end < end ? m->end : end;
		for (int v = 0; v < HUGE_VIEWS; v++) {
			if (moved[i][v] == MV_DONE)
				(void)move_vmas((uintptr_t)area[v] + (a - from), e - a,
						(uintptr_t)*huge_view(m, v) + (a - m->start));
			else if (moved[i][v] == MV_NONE && area[v] != MAP_FAILED)
				munmap(area[v] + (a - from), e - a);
			*huge_view(n[i], v) = NULL;
		}
	}
	if (covered)
		each_chunk(src, from, end, reopen_old);
	thaw(src);
fail:
	for (size_t i = 0; i < src->n; i++)
		if (n[i])
			uf__map_retire(n[i]);
	return r;
}

int uf__remap_move(struct uf__remap *rq)
{
	uintptr_t from = rq->from, end = from + rq->len;
	struct source src = { .n = 0 };
	int r = find_source(from, rq->len ? end : from + 1, &src);
	if (r < 0)
		return r;
	struct uf__map *first = src.map[0];
	if (uf__kind_hugetlb(first->ops->kind))
		return move_huge(rq, &src);
	struct uf__map *n = uf__map_alloc(0, rq->new_len, first->ops->kind, first->page, first->prot);
	if (!n)
		return -ENOMEM;

	/* From here on nothing changes the source's pages from inside a
	 * reader section, and after uf__synchronize() nothing still does. */
	freeze(&src);

	void *view = MAP_FAILED;
	int covered = 0;
	r = new_backing(n, &src, from, rq->len, &view);
	if (r == 0) {
		if (mprotect((void *)from, rq->len, PROT_NONE) < 0)
			r = -errno;
		covered = 1;
	}
	uintptr_t to = rq->to;
	if (r == 0 && (rq->fixed || rq->in_place)) {
		/* Whatever is there goes (the caller made the engine forget
		 * it), in one step. */
		if (mremap(view, rq->new_len, rq->new_len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)to) == MAP_FAILED)
			r = -errno;
		else
			view = MAP_FAILED;
	} else if (r == 0) {
		to = (uintptr_t)view;
		view = MAP_FAILED;
	}
	if (r < 0) {
		if (view != MAP_FAILED)
			munmap(view, rq->new_len);
		if (covered)
			each_chunk(&src, from, end, reopen_old);
		goto out;
	}

	/* The new map at its place, with the kernel's offsets: a moved VMA
	 * keeps its file offset (its page offset, for anonymous memory). */
	n->start = to;
	n->end = to + rq->new_len;
	n->vm_ino = first->vm_ino;
	n->vm_off = first->vm_off + (from - first->start);
	if (first->ops->kind == UU_SHMEM)
		n->ino = first->ino;
	carry(n, &src, from, rq->len, rq->keep);

	struct uf__seg seg = { n->start, n->end, n, rq->keep ? src.ctx : NULL, rq->keep ? src.mode : 0 };
	/* The new view is in place (at a fixed address, what was there is
	 * gone): the table has to follow, as a release does (uf__unregister_all). */
	while ((r = rq->dontunmap ? uf__table_replace(0, 0, n, &seg, 1)
				  : uf__table_replace(from, end, n, &seg, 1)) == -ENOMEM)
		sched_yield();
	n = NULL;
	if (rq->dontunmap)
		each_chunk(&src, from, end, empty_old);
	else if (!rq->in_place)
		munmap((void *)from, rq->len);
	rq->to = to;
out:
	thaw(&src);
	if (n)
		uf__map_retire(n);
	return r;
}
