/* SPDX-License-Identifier: MIT */
/*
 * events.c - non-cooperative events (REMOVE, UNMAP) and the calls that make
 * them: uf_madvise() and uf_munmap().
 *
 * The kernel sees every madvise and munmap; the user engine sees the ones
 * made through these functions (the preload shim routes the libc calls
 * here).  On memory the user engine does not manage they are the system
 * calls themselves, so a program can call them everywhere, whatever engine
 * serves it.
 *
 * As in the kernel, the thread causing an event waits until a reader has
 * taken it, and meanwhile the context's fills fail with EAGAIN
 * (mmap_changing).  REMOVE is sent before the pages go, UNMAP after.
 */
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "user.h"

struct uf__event {
	struct uffd_msg msg;
	atomic_uint done;		/* futex: 1 once read (or released) */
	struct uf__event *next;
};

/* ------------------------------------------------------------------------ */
/* The queue                                                                */

static void post_and_wait(struct uf__ctx *c, const struct uffd_msg *msg)
{
	struct uf__event ev = { .msg = *msg };
	pthread_mutex_lock(&c->ev_lock);
	if (atomic_load(&c->released)) {
		pthread_mutex_unlock(&c->ev_lock);
		atomic_fetch_sub(&c->mmap_changing, 1);
		return;
	}
	if (c->ev_tail)
		c->ev_tail->next = &ev;
	else
		c->ev_head = &ev;
	c->ev_tail = &ev;
	atomic_fetch_add(&c->npending, 1);
	pthread_mutex_unlock(&c->ev_lock);
	uf__bell_sync_app(c, -1);
	while (!atomic_load(&ev.done))
		uf__futex_wait(&ev.done, 0);
	atomic_fetch_sub(&c->mmap_changing, 1);
}

size_t uf__take_events(struct uf__ctx *c, struct uffd_msg *out, size_t n)
{
	size_t k = 0;
	pthread_mutex_lock(&c->ev_lock);
	while (k < n && c->ev_head) {
		struct uf__event *ev = c->ev_head;
		c->ev_head = ev->next;
		if (!c->ev_head)
			c->ev_tail = NULL;
		out[k++] = ev->msg;
		atomic_fetch_sub(&c->npending, 1);
		/* After this store the poster may return and free ev. */
		atomic_store(&ev->done, 1);
		syscall(SYS_futex, (unsigned *)&ev->done, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	}
	pthread_mutex_unlock(&c->ev_lock);
	return k;
}

void uf__release_events(struct uf__ctx *c)
{
	pthread_mutex_lock(&c->ev_lock);
	while (c->ev_head) {
		struct uf__event *ev = c->ev_head;
		c->ev_head = ev->next;
		atomic_fetch_sub(&c->npending, 1);
		atomic_store(&ev->done, 1);
		syscall(SYS_futex, (unsigned *)&ev->done, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	}
	c->ev_tail = NULL;
	pthread_mutex_unlock(&c->ev_lock);
}

/* ------------------------------------------------------------------------ */
/* Which contexts hear about a range                                        */

struct hearer {
	struct uf__ctx *c;
	uintptr_t start, end;
	const struct uf__map *map;
	unsigned mode;
};

/* Would the kernel have one VMA where the engine has the adjacent maps a
 * and b (already known to have one owner and one mode)?  Registering the
 * pieces of a VMA one by one makes a map each, where the kernel merges the
 * pieces back into one VMA: same flags and context, same file (or none)
 * at contiguous offsets. */
static int one_vma(const struct uf__map *a, const struct uf__map *b)
{
	return a == b || (a->end == b->start && a->ops == b->ops && a->prot == b->prot &&
			  a->vm_ino == b->vm_ino && a->vm_off + (a->end - a->start) == b->vm_off);
}

/* Let go of hearers that will not be told (the call fails). */
static void forget_hearers(struct hearer *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		atomic_fetch_sub(&h[i].c->mmap_changing, 1);
		uf__ctx_put(h[i].c);
	}
	free(h);
}

/* The contexts that hear about [start, end) (registered there, with
 * feature), each referenced and its mmap_changing raised, with the range
 * each is told, as the kernel tells it:
 *  - REMOVE: once per VMA, the part of the range inside it (madvise works
 *    VMA by VMA); a VMA is a run of one map with one owner and one mode;
 *  - UNMAP: once per context, the whole range of the call. */
static size_t hearers(uintptr_t start, uintptr_t end, __u64 feature, struct hearer **out)
{
	size_t n = 0, cap = 0;
	struct hearer *h = NULL;
	int per_call = feature == UFFD_FEATURE_EVENT_UNMAP;
	unsigned tok = uf__enter();
	for (uintptr_t pos = start; pos < end;) {
		const struct uf__seg *s = uf__lookup_from(pos);
		if (!s || s->start >= end)
			break;
		if (s->start > pos)
			pos = s->start;
		uintptr_t to = s->end < end ? s->end : end;
		if (s->ctx && (s->ctx->features & feature) && !atomic_load(&s->ctx->released)) {
			size_t same = n;
			for (size_t i = 0; per_call && i < n; i++)
				if (h[i].c == s->ctx)
					same = i;
			if (!per_call && n && h[n - 1].c == s->ctx && h[n - 1].end == pos &&
			    h[n - 1].mode == s->mode && one_vma(h[n - 1].map, s->map))
				same = n - 1;
			if (same < n) {
				h[same].end = per_call ? end : to;
			} else {
				if (n == cap) {
					cap = cap ? cap * 2 : 4;
					struct hearer *nh = realloc(h, cap * sizeof(*h));
					if (!nh) {
						/* No event may be lost: the
						 * call fails instead. */
						uf__leave(tok);
						forget_hearers(h, n);
						*out = NULL;
						return (size_t)-1;
					}
					h = nh;
				}
				h[n++] = (struct hearer){ s->ctx, per_call ? start : pos, per_call ? end : to,
							  s->map, s->mode };
				atomic_fetch_add(&s->ctx->refs, 1);
				atomic_fetch_add(&s->ctx->mmap_changing, 1);
			}
		}
		pos = to;
	}
	uf__leave(tok);
	*out = h;
	return n;
}

static void tell(struct hearer *h, size_t n, __u8 event)
{
	for (size_t i = 0; i < n; i++) {
		struct uffd_msg m;
		memset(&m, 0, sizeof(m));
		m.event = event;
		m.arg.remove.start = h[i].start;
		m.arg.remove.end = h[i].end;
		post_and_wait(h[i].c, &m);
		uf__ctx_put(h[i].c);
	}
	free(h);
}

/* Inside a reader section: a table published meanwhile (by another
 * thread's REGISTER, UNREGISTER or release) frees this one once the readers
 * that may see it have left; reading its size outside was a use after free
 * (ThreadSanitizer saw it: tests/stress.c bounce). */
static int engine_empty(void)
{
	unsigned tok = uf__enter();
	const struct uf__table *t = uf__table_now();
	int empty = !t || t->n == 0;
	uf__leave(tok);
	return empty;
}

/* ------------------------------------------------------------------------ */
/* madvise                                                                  */

static int drops_pages(int advice)
{
	return advice == MADV_DONTNEED || advice == MADV_REMOVE || advice == MADV_FREE ||
	       advice == 16 /* MADV_DONTNEED_LOCKED */;
}

/* Drop the pages of [from, to) in engine memory: the program's view loses
 * them; private memory (the engine's copy) and MADV_REMOVE lose the
 * content too, shared memory keeps it in its file otherwise. */
static int drop_pages(struct uf__map *m, uintptr_t from, uintptr_t to, int advice)
{
	int punch = advice == MADV_REMOVE || m->ops->kind != UU_SHMEM;
	for (uintptr_t a = from; a < to; a += m->page) {
		size_t pg = uf__pgidx(m, a);
		uint8_t st = uf__page_lock(m, pg);
		if (st & PS_MAPPED) {
			/* Not hidden (out of memory): the page stays, with
			 * its content, and the call fails as madvise(2) can
			 * (tests/inject.c ops). */
			int r = uf__page_hide(m, a);
			if (r < 0) {
				uf__page_unlock(m, pg, st);
				return r;
			}
			st &= (uint8_t)~PS_MAPPED;
		}
		/* The kernel drops everything of anonymous memory, a WP mark
		 * too; file memory keeps it as a marker on the empty entry. */
		if (m->ops->kind == UU_ANON && (st & PS_WP)) {
			st &= (uint8_t)~PS_WP;
			atomic_fetch_sub(&m->wp_count, 1);
			uf__page_setwp(m, a, st);
		}
		/* A poison marker goes with the page table entry, on every
		 * memory type: the page is empty again. */
		st &= (uint8_t)~PS_POISON;
		if (punch)
			madvise(m->alias + (a - m->start), m->page, MADV_REMOVE);
		uf__page_unlock(m, pg, st);
	}
	return 0;
}

UF_EXPORT int uf_madvise(void *addr, size_t len, int advice)
{
	uintptr_t start = (uintptr_t)addr, end = start + len;
	if (!drops_pages(advice) || engine_empty() || (start & 4095) || end < start)
		return madvise(addr, len, advice) < 0 ? uf__neg_errno() : 0;
	struct hearer *h;
	size_t n = hearers(start, end, UFFD_FEATURE_EVENT_REMOVE, &h);
	if (n == (size_t)-1)
		return -ENOMEM;
	tell(h, n, UFFD_EVENT_REMOVE);		/* before the pages go */
	end = start + ((len + 4095) & ~(size_t)4095);
	int r = 0;
	for (uintptr_t pos = start; pos < end;) {
		unsigned tok = uf__enter();
		const struct uf__seg *s = uf__lookup_from(pos);
		if (s && s->start <= pos) {
			uintptr_t to = s->end < end ? s->end : end;
			int e = drop_pages(s->map, pos, to, advice);
			if (e < 0 && r == 0)
				r = e;
			uf__leave(tok);
			pos = to;
			continue;
		}
		/* Plain memory up to the next engine segment. */
		uintptr_t to = s && s->start < end ? s->start : end;
		uf__leave(tok);
		if (madvise((void *)pos, to - pos, advice) < 0 && r == 0)
			r = uf__neg_errno();
		pos = to;
	}
	return r;
}

/* ------------------------------------------------------------------------ */
/* munmap                                                                   */

UF_EXPORT int uf_munmap(void *addr, size_t len)
{
	uintptr_t start = (uintptr_t)addr, end = start + ((len + 4095) & ~(size_t)4095);
	if (engine_empty() || (start & 4095) || !len || end < start)
		return munmap(addr, len) < 0 ? uf__neg_errno() : 0;
	struct hearer *h;
	size_t n = hearers(start, end, UFFD_FEATURE_EVENT_UNMAP, &h);
	if (n == (size_t)-1)
		return -ENOMEM;
	/* The engine forgets the range first, so no fault can find it. */
	int r = uf__forget_range(start, end);
	if (r < 0) {
		forget_hearers(h, n);	/* nothing was unmapped: no event */
		return r;
	}
	if (munmap(addr, len) < 0)
		r = uf__neg_errno();
	tell(h, n, UFFD_EVENT_UNMAP);		/* after they are gone */
	return r;
}
