/* SPDX-License-Identifier: MIT */
/*
 * events.c - non-cooperative events (REMOVE, UNMAP, REMAP; FORK is posted by
 * fork.c) and the calls that make them: uf_madvise(), uf_munmap() and
 * uf_mremap() (the move itself is remap.c's).
 *
 * The kernel sees every madvise and munmap; the user engine sees the ones
 * made through these functions (the preload shim routes the libc calls
 * here).  On memory the user engine does not manage they are the system
 * calls themselves, so a program can call them everywhere, whatever engine
 * serves it.
 *
 * As in the kernel, the thread causing an event waits until a reader has
 * taken it, and meanwhile the context's fills fail with EAGAIN
 * (mmap_changing).  REMOVE is sent before the pages go, UNMAP and REMAP
 * after.
 */
#include <fcntl.h>
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
	int fork_app;			/* FORK: the child context's program end */
	atomic_uint done;		/* futex: 1 once read (or released) */
	struct uf__event *next;
};

/* ------------------------------------------------------------------------ */
/* The queue                                                                */

static void post_and_wait(struct uf__ctx *c, const struct uffd_msg *msg, int fork_app)
{
	struct uf__event ev = { .msg = *msg, .fork_app = fork_app };
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

void uf__post_fork(struct uf__ctx *c, int app)
{
	struct uffd_msg m;
	memset(&m, 0, sizeof(m));
	m.event = UFFD_EVENT_FORK;
	post_and_wait(c, &m, app);
}

/* The reader's descriptor for a FORK event, made while the event is still
 * queued (its poster closes app once woken): as the kernel installs it at
 * read time, with the context's flags.  For another process, a copy to pass
 * on (serve.c), close-on-exec here. */
static int fork_fd(struct uf__ctx *c, int app, int remote)
{
	int cloexec = remote || (c->flags & O_CLOEXEC);
	int fd = fcntl(app, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	if (fd < 0)
		return -errno;
	/* Listed as the user engine's, so uf_ioctl() and the preload shim
	 * route it at once; its context lives in the child (remote.c). */
	if (!remote)
		(void)uf__fd_set(fd, &uf__user_engine, UF_VIA_USER_ENGINE, c->flags);
	return fd;
}

size_t uf__take_events(struct uf__ctx *c, struct uffd_msg *out, size_t n, int remote, int *err)
{
	size_t k = 0;
	*err = 0;
	pthread_mutex_lock(&c->ev_lock);
	while (k < n && c->ev_head) {
		struct uf__event *ev = c->ev_head;
		struct uffd_msg m = ev->msg;
		if (m.event == UFFD_EVENT_FORK) {
			/* No descriptor: the event stays for the next read
			 * (the kernel's read fails the same way, EMFILE). */
			int fd = fork_fd(c, ev->fork_app, remote);
			if (fd < 0) {
				if (k == 0)
					*err = fd;
				break;
			}
			m.arg.fork.ufd = (__u32)fd;
		}
		c->ev_head = ev->next;
		if (!c->ev_head)
			c->ev_tail = NULL;
		out[k++] = m;
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
 * at contiguous offsets.  Not hugetlb VMAs: the kernel never merges those. */
static int one_vma(const struct uf__map *a, const struct uf__map *b)
{
	return a == b || (a->end == b->start && a->ops == b->ops && a->prot == b->prot &&
			  a->vm_ino == b->vm_ino && a->vm_off + (a->end - a->start) == b->vm_off &&
			  !uf__kind_hugetlb(a->ops->kind));
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
		post_and_wait(h[i].c, &m, -1);
		uf__ctx_put(h[i].c);
	}
	free(h);
}

/* Would a thread wait for a move of m?  Not inside a reader section: the
 * move waits for readers to leave (remap.c). */
static int frozen(const struct uf__map *m)
{
	return atomic_load(&m->frozen) != 0;
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
	int punch = advice == MADV_REMOVE || !m->ops->shared;
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

/* The huge page size of the hugetlb map holding addr, or 0. */
static size_t huge_page_at(uintptr_t addr)
{
	unsigned tok = uf__enter();
	const struct uf__seg *s = uf__lookup(addr);
	size_t page = s && uf__kind_hugetlb(s->map->ops->kind) ? s->map->page : 0;
	uf__leave(tok);
	return page;
}

/* The kernel's rules for dropping hugetlb pages, before any event: the
 * range starts on a huge page (EINVAL), MADV_FREE is refused (EINVAL), and
 * MADV_DONTNEED's end is rounded down to a huge page, lest a 4 KiB length
 * drop a whole huge page (nothing left: no event, success).  MADV_REMOVE
 * punches the whole huge pages inside the range. */
static int huge_madvise_range(uintptr_t start, uintptr_t *end, int advice)
{
	size_t hp = huge_page_at(start);
	if (hp && advice != MADV_REMOVE && ((start & (hp - 1)) || advice == MADV_FREE))
		return -EINVAL;
	hp = *end > start ? huge_page_at(*end - 1) : 0;
	if (hp && advice != MADV_REMOVE)
		*end &= ~(uintptr_t)(hp - 1);
	return 0;
}

UF_EXPORT int uf_madvise(void *addr, size_t len, int advice)
{
	uintptr_t start = (uintptr_t)addr, end = start + len;
	if (!drops_pages(advice) || engine_empty() || (start & 4095) || end < start)
		return madvise(addr, len, advice) < 0 ? uf__neg_errno() : 0;
	end = start + ((len + 4095) & ~(size_t)4095);
	int bad = huge_madvise_range(start, &end, advice);
	if (bad)
		return bad;
	if (end <= start)
		return 0;
	len = end - start;
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
		if (s && s->start <= pos && frozen(s->map)) {
			uf__leave(tok);
			uf__remap_wait();
			continue;
		}
		if (s && s->start <= pos) {
			uintptr_t to = s->end < end ? s->end : end;
			/* hugetlb: whole huge pages only (MADV_REMOVE's part
			 * pages stay, as hugetlbfs punches). */
			size_t hp = s->map->page;
			uintptr_t from = (pos + hp - 1) & ~(uintptr_t)(hp - 1);
			uintptr_t upto = to & ~(uintptr_t)(hp - 1);
			int e = from < upto ? drop_pages(s->map, from, upto, advice) : 0;
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
	/* A hugetlb VMA splits only at a huge page: munmap(2) would fail
	 * with EINVAL, so no event and nothing forgotten. */
	size_t hs = huge_page_at(start), he = huge_page_at(end);
	if ((hs && (start & (hs - 1))) || (he && (end & (he - 1))))
		return -EINVAL;
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

/* ------------------------------------------------------------------------ */
/* mremap                                                                   */

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#if defined(__x86_64__)
#define TASK_SIZE 0x7ffffffff000ULL
#else
#define TASK_SIZE (1ULL << 48)
#endif

/* Does [start, start + len) hold engine memory? */
static int engine_in(uintptr_t start, size_t len)
{
	unsigned tok = uf__enter();
	const struct uf__seg *s = uf__lookup_from(start);
	int r = s && s->start < start + len;
	uf__leave(tok);
	return r;
}

/* The kernel's VMA holding addr, when it is engine memory: the run of
 * segments with one owner and mode whose maps the kernel would have as one
 * VMA.  0 and its end, memory type and page size, or -ENOENT if addr is not
 * engine memory. */
static int engine_vma(uintptr_t addr, uintptr_t *end, int *kind, size_t *page)
{
	unsigned tok = uf__enter();
	const struct uf__seg *s = uf__lookup(addr);
	int r = s ? 0 : -ENOENT;
	if (s) {
		*kind = s->map->ops->kind;
		*page = s->map->page;
	}
	while (s) {
		*end = s->end;
		const struct uf__seg *n = uf__lookup(s->end);
		if (!n || n->ctx != s->ctx || n->mode != s->mode || !one_vma(s->map, n->map))
			break;
		s = n;
	}
	uf__leave(tok);
	return r;
}

static int plain_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr,
			void **out)
{
	void *p = mremap(old, old_len, new_len, flags, new_addr);
	if (p == MAP_FAILED)
		return uf__neg_errno();
	*out = p;
	return 0;
}

/* The kernel's check_mremap_params(), on page-aligned lengths. */
static int check_params(uintptr_t from, size_t old_len, size_t new_len, int flags, uintptr_t to)
{
	if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
		return -EINVAL;
	if ((from & 4095) || !new_len || new_len > TASK_SIZE)
		return -EINVAL;
	if (!(flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)))
		return 0;
	if (to > TASK_SIZE - new_len || (to & 4095) || !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	if ((flags & MREMAP_DONTUNMAP) && old_len != new_len)
		return -EINVAL;
	if (to < from + old_len && from < to + new_len)
		return -EINVAL;
	return 0;
}

static void tell_remap(struct hearer *h, size_t n, uintptr_t from, uintptr_t to, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		struct uffd_msg m;
		memset(&m, 0, sizeof(m));
		m.event = UFFD_EVENT_REMAP;
		m.arg.remap.from = from;
		m.arg.remap.to = to;
		m.arg.remap.len = len;
		post_and_wait(h[i].c, &m, -1);
		uf__ctx_put(h[i].c);
	}
	free(h);
}

/* Hearers of [start, end) for feature, or none when the range is empty. */
static size_t hear(uintptr_t start, uintptr_t end, __u64 feature, struct hearer **h)
{
	*h = NULL;
	return start < end ? hearers(start, end, feature, h) : 0;
}

static int do_mremap(void *old_addr, size_t old_len, size_t new_len, int flags, void *new_addr,
		     void **result)
{
	uintptr_t from = (uintptr_t)old_addr, dst = (uintptr_t)new_addr;
	size_t olen = (old_len + 4095) & ~(size_t)4095, nlen = (new_len + 4095) & ~(size_t)4095;
	int fixed = (flags & MREMAP_FIXED) != 0, dontunmap = (flags & MREMAP_DONTUNMAP) != 0;
	if (engine_empty() || olen < old_len || nlen < new_len ||
	    (!engine_in(from, olen ? olen : 1) && !(fixed && engine_in(dst, nlen))))
		return plain_mremap(old_addr, old_len, new_len, flags, new_addr, result);
	int r = check_params(from, olen, nlen, flags, dst);
	if (r)
		return r;
	uintptr_t vend = 0;
	int kind;
	size_t hp = 0;
	if (engine_vma(from, &vend, &kind, &hp) < 0) {
		/* Plain memory moved onto engine memory: the engine forgets
		 * what is at the destination, whose contexts hear of it. */
		uintptr_t vs, ve;
		if (uf__vma_next(from, &vs, &ve) < 0 || vs > from || from + olen > ve)
			return -EFAULT;
		struct hearer *h;
		size_t n = hearers(dst, dst + nlen, UFFD_FEATURE_EVENT_UNMAP, &h);
		if (n == (size_t)-1)
			return -ENOMEM;
		r = uf__forget_range(dst, dst + nlen);
		if (r == 0)
			r = plain_mremap(old_addr, old_len, new_len, flags, new_addr, result);
		tell(h, n, UFFD_EVENT_UNMAP);
		return r;
	}
	if (uf__kind_hugetlb(kind)) {
		/* The kernel's hugetlb rules, before it looks at the VMA's
		 * extent: whole huge pages (lengths rounded up to them), never
		 * growing, never MREMAP_DONTUNMAP (hugetlb VMAs cannot expand). */
		olen = (olen + hp - 1) & ~(hp - 1);
		nlen = (nlen + hp - 1) & ~(hp - 1);
		if ((from & (hp - 1)) || (fixed && (dst & (hp - 1))) || nlen > olen || dontunmap)
			return -EINVAL;
	}
	int move = fixed || dontunmap;
	if (!move && olen == nlen) {
		*result = old_addr;
		return 0;
	}
	if (!move && olen > nlen) {
		/* Shrinking in place is unmapping the tail. */
		r = uf_munmap((void *)(from + nlen), olen - nlen);
		if (r == 0)
			*result = old_addr;
		return r;
	}
	if (from + olen > vend)
		return -EFAULT;		/* across the kernel's VMA boundary */
	/* old_len 0 duplicates a shared mapping: a new view of the same file,
	 * nothing moved, the old range untouched (as MREMAP_DONTUNMAP leaves
	 * it, minus the emptying: no page moved out of it). */
	if (!olen && kind != UU_SHMEM)
		return -EINVAL;
	struct uf__remap rq = { .from = from, .len = olen < nlen ? olen : nlen, .new_len = nlen,
				.to = dst, .fixed = fixed, .dontunmap = dontunmap || !olen };
	if (!move) {
		/* Growing: in place when the VMA ends there and what follows
		 * is free (reserved now, replaced by the move), else moved. */
		void *tail = MAP_FAILED;
		if (from + olen == vend)
			tail = mmap((void *)(from + olen), nlen - olen, PROT_NONE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (tail != MAP_FAILED && (uintptr_t)tail != from + olen) {
			munmap(tail, nlen - olen);	/* a kernel without NOREPLACE */
			tail = MAP_FAILED;
		}
		if (tail == MAP_FAILED && !(flags & MREMAP_MAYMOVE))
			return -ENOMEM;
		if (tail != MAP_FAILED) {
			rq.in_place = 1;
			rq.to = from;
			rq.keep = 1;	/* the VMA grows: its registration too */
			uf__space_lock();
			r = uf__remap_move(&rq);
			uf__space_unlock();
			if (r < 0) {
				munmap(tail, nlen - olen);
				return r;
			}
			*result = old_addr;
			return 0;
		}
	}
	/* A move: the kernel's order of events is the unmapping of the
	 * destination, REMAP, then the unmapping of the tail (shrinking) and
	 * of the old range.  Each context's mmap_changing is raised now. */
	struct hearer *early, *remap, *tail, *old;
	size_t ne = fixed ? hear(dst, dst + nlen, UFFD_FEATURE_EVENT_UNMAP, &early) : hear(0, 0, 0, &early);
	size_t nr = ne == (size_t)-1 ? 0 :
		    hear(from, from + (olen ? olen : 4096), UFFD_FEATURE_EVENT_REMAP, &remap);
	size_t nt = nr == (size_t)-1 ? 0 : hear(from + rq.len, from + olen, UFFD_FEATURE_EVENT_UNMAP, &tail);
	size_t no = nt == (size_t)-1 ? 0 :
		    hear(from, rq.dontunmap ? from : from + rq.len, UFFD_FEATURE_EVENT_UNMAP, &old);
	if (ne == (size_t)-1 || nr == (size_t)-1 || nt == (size_t)-1 || no == (size_t)-1) {
		if (ne != (size_t)-1)
			forget_hearers(early, ne);
		if (ne != (size_t)-1 && nr != (size_t)-1)
			forget_hearers(remap, nr);
		if (ne != (size_t)-1 && nr != (size_t)-1 && nt != (size_t)-1)
			forget_hearers(tail, nt);
		return -ENOMEM;
	}
	rq.keep = nr > 0;
	int shrunk = 0;
	r = fixed ? uf__forget_range(dst, dst + nlen) : 0;
	if (r == 0 && rq.len < olen) {
		r = uf__forget_range(from + rq.len, from + olen);
		if (r == 0)
			shrunk = munmap((void *)(from + rq.len), olen - rq.len) == 0;
	}
	if (r == 0) {
		uf__space_lock();
		r = uf__remap_move(&rq);
		uf__space_unlock();
	}
	tell(early, ne, UFFD_EVENT_UNMAP);
	if (r == 0) {
		tell_remap(remap, nr, from, rq.to, rq.len);
		tell(tail, nt, UFFD_EVENT_UNMAP);
		tell(old, no, UFFD_EVENT_UNMAP);
		*result = (void *)rq.to;
	} else {
		/* What was unmapped is told even so, as the kernel does. */
		forget_hearers(remap, nr);
		if (shrunk)
			tell(tail, nt, UFFD_EVENT_UNMAP);
		else
			forget_hearers(tail, nt);
		forget_hearers(old, no);
	}
	return r;
}

UF_EXPORT int uf_mremap(void *old_addr, size_t old_len, size_t new_len, int flags, void *new_addr,
			void **result)
{
	void *to = MAP_FAILED;
	int r = do_mremap(old_addr, old_len, new_len, flags, new_addr, &to);
	if (r == 0 && result)
		*result = to;
	return r;
}
