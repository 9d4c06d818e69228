/* SPDX-License-Identifier: MIT */
/*
 * fork.c - fork(2) of a process with user-engine memory, and the FORK event.
 *
 * Registered memory is a MAP_SHARED view of a file (ARCHITECTURE.md): the
 * program's own file for shared memory, an engine memfd for private memory.
 * A fork copies the view, so without help the child would write into the
 * parent's private memory.  The kernel gives the child a copy of private
 * memory, and then either keeps the registrations on a new context
 * (UFFD_FEATURE_EVENT_FORK: the monitor learns its descriptor from a FORK
 * event) or drops them.  Here, with pthread_atfork handlers (context.c
 * installs them with its first context):
 *
 *   before the fork   for every context with the feature that owns
 *                     registered memory, the child's context is made (a new
 *                     socket pair: the program end stays in the parent, to be
 *                     handed to whoever reads the event; the engine end will
 *                     be the child's); fills on the parent's context fail
 *                     with EAGAIN until the event is read (mmap_changing, as
 *                     in the kernel); the segment table is held still.
 *   in the child      each map with such a registration gets a file of its
 *                     own holding the parent's pages and is covered again, so
 *                     the chunks reopen from the page states the child
 *                     inherited (missing, write-protected, poisoned stay so);
 *                     its segments move to the child's contexts.  Other maps
 *                     become ordinary memory with the parent's content.  The
 *                     child's contexts are listed and served by an engine
 *                     thread of the child's own.
 *   in the parent     one FORK event per such context, in the order of their
 *                     first registered address (the kernel's VMA order); the
 *                     forking thread waits until each is read, or the
 *                     context released.  The reader gets a new descriptor for
 *                     the child's context (events.c); a monitor in another
 *                     process gets it passed along (wire.h).  Then the
 *                     parent closes its copy: if no one took it, the child's
 *                     context sees the hang-up and releases its memory into
 *                     ordinary memory, as the kernel's does.
 *
 * Why atfork handlers and no fork() wrapper: they run in every fork made
 * through the C library (fork, and the preload shim's programs unchanged),
 * at the right moments: before, with the parent's threads still running
 * (sockets and memory can be made), and after, in each process, with the
 * C library's locks usable (malloc, pthread_create in the child).  The
 * kernel's event is read while the forking thread waits; the parent
 * handler can wait there too.  What they cannot see: the raw clone(2)
 * system call, and vfork/posix_spawn, which share the parent's memory (the
 * kernel sends no event for those either).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "user.h"

struct forking {
	struct uf__ctx *parent;		/* referenced; its mmap_changing raised */
	struct uf__ctx *child;		/* made before the fork, listed in the child */
	int app;			/* the child context's program end */
};

/* Between the prepare handler and the parent's or child's handler, under
 * the C library's fork lock (one fork with handlers at a time). */
static struct forking *forks;
static size_t nforks;

/* The child context of parent c, or NULL. */
static struct uf__ctx *child_of(const struct uf__ctx *c)
{
	for (size_t i = 0; c && i < nforks; i++)
		if (forks[i].parent == c)
			return forks[i].child;
	return NULL;
}

void uf__fork_prepare(void)
{
	/* Held across the fork: the child inherits a table and maps no
	 * registration is halfway through changing. */
	uf__space_lock();
	nforks = 0;
	forks = NULL;
	const struct uf__table *t = uf__table_now();
	size_t cap = 0;
	for (size_t i = 0; t && i < t->n; i++) {
		struct uf__ctx *c = t->seg[i].ctx;
		if (!c || !t->seg[i].map || atomic_load(&c->api) != 2 ||
		    !(c->features & UFFD_FEATURE_EVENT_FORK) || atomic_load(&c->released))
			continue;
		size_t k;
		for (k = 0; k < nforks && forks[k].parent != c; k++)
			;
		if (k < nforks)
			continue;
		if (nforks == cap) {
			size_t ncap = cap ? 2 * cap : 4;
			struct forking *nf = realloc(forks, ncap * sizeof(*nf));
			if (!nf)
				break;
			forks = nf;
			cap = ncap;
		}
		/* Out of resources: this context's memory becomes ordinary in
		 * the child, as without the feature (the kernel's fork would
		 * fail with ENOMEM; a handler cannot make it fail). */
		int app;
		struct uf__ctx *n = uf__ctx_new_unlisted(c->flags, &app);
		if (!n)
			continue;
		n->features = c->features;
		atomic_store(&n->api, 2);
		atomic_fetch_add(&c->refs, 1);
		atomic_fetch_add(&c->mmap_changing, 1);
		forks[nforks++] = (struct forking){ c, n, app };
	}
}

void uf__fork_parent(void)
{
	struct forking *f = forks;
	size_t n = nforks;
	forks = NULL;
	nforks = 0;
	uf__space_unlock();
	/* The engine ends are the child's now. */
	for (size_t i = 0; i < n; i++)
		uf__ctx_discard(f[i].child);
	for (size_t i = 0; i < n; i++) {
		uf__post_fork(f[i].parent, f[i].app);
		close(f[i].app);
		uf__ctx_put(f[i].parent);
	}
	free(f);
}

/* ------------------------------------------------------------------------ */
/* The child's memory                                                       */

/* Apply fn to each live part of m (its segments: parts the program
 * unmapped through uf_munmap() are in none and must stay unmapped). */
static int each_part(const struct uf__table *t, const struct uf__map *m,
		     int (*fn)(const struct uf__map *, uintptr_t, uintptr_t, void *), void *arg)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->seg[i].map != m)
			continue;
		uintptr_t from = t->seg[i].start, to = t->seg[i].end;
		while (i + 1 < t->n && t->seg[i + 1].map == m && t->seg[i + 1].start == to)
			to = t->seg[++i].end;
		int r = fn(m, from, to, arg);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Copy the pages the program's view shows from one file's view to
 * another's (both at the map's offsets). */
static void copy_shown(const struct uf__map *m, char *to, const char *from, uintptr_t a, uintptr_t b)
{
	for (uintptr_t p = a; p < b; p += m->page)
		if (atomic_load(&m->pst[uf__pgidx(m, p)]) & PS_MAPPED)
			memcpy(to + (p - m->start), from + (p - m->start), m->page);
}

/* Without the feature: the part becomes ordinary memory holding what the
 * parent's held, its own copy for private memory, the same file for shared
 * memory. */
static int detach_part(const struct uf__map *m, uintptr_t a, uintptr_t b, void *arg)
{
	(void)arg;
	size_t len = b - a;
	void *view;
	if (m->ops->kind == UU_HUGETLB) {
		/* Shared hugetlb: the program's view is still its own shared
		 * mapping of the file, inherited shared, and the engine hid its
		 * pages with mprotect alone (no guard markers there): giving the
		 * part its protection back makes it ordinary, sharing the file
		 * with the parent as the kernel's child does.  (A second view
		 * made with mremap(old_size = 0), as for shmem below, hugetlb
		 * refuses.)  If that fails the child keeps a covered view: its
		 * accesses fault. */
		(void)mprotect((void *)a, len, m->prot);
		return 0;
	}
	if (m->ops->kind == UU_SHMEM) {
		view = mremap(m->alias + (a - m->start), 0, len, MREMAP_MAYMOVE);
	} else if (m->upstream) {
		/* A private file mapping: the file's pages where the program
		 * wrote none. */
		view = mremap(m->upstream + (a - m->start), len, len, MREMAP_MAYMOVE);
		if (view != MAP_FAILED)
			mprotect(view, len, PROT_READ | PROT_WRITE);
	} else {
		view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			    -1, 0);
	}
	if (view == MAP_FAILED)
		return 0;	/* the child keeps a covered view: its accesses fault */
	if (m->ops->kind != UU_SHMEM)
		copy_shown(m, (char *)view - (a - m->start), m->alias, a, b);
	mprotect(view, len, m->prot);
	if (mremap(view, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)a) == MAP_FAILED)
		munmap(view, len);
	return 0;
}

struct own {
	int fd;			/* the child's new file */
	char *alias;		/* its view for the engine */
};

static int copy_part(const struct uf__map *m, uintptr_t a, uintptr_t b, void *arg)
{
	struct own *o = arg;
	copy_shown(m, o->alias, m->alias, a, b);
	return 0;
}

/* The program's view of the part maps the child's file now, covered until
 * used.  (Shared memory keeps its file, shared with the parent as in the
 * kernel: only covered.) */
static int cover_part(const struct uf__map *m, uintptr_t a, uintptr_t b, void *arg)
{
	struct own *o = arg;
	if (!o)
		return mprotect((void *)a, b - a, PROT_NONE) < 0 ? -errno : 0;
	void *v = mmap((void *)a, b - a, PROT_NONE, MAP_SHARED | MAP_FIXED, o->fd, (off_t)(a - m->start));
	return v == MAP_FAILED ? -errno : 0;
}

/* With the feature: the map stays the engine's, on a file of the child's
 * own for private memory.  Its page states stay as they were; every chunk
 * is covered again, so the first access reopens it from them (space.c):
 * hidden pages get their guard markers, write-protected ones their
 * read-only protection, in the child's own page tables.  -errno and the
 * map untouched if its file cannot be made. */
static int own_map(const struct uf__table *t, struct uf__map *m)
{
	size_t len = m->end - m->start;
	struct own o = { -1, NULL }, *op = NULL;
	int r = 0;
	/* Shared memory (shmem, shared hugetlb) keeps the program's file. */
	if (m->ops->kind != UU_SHMEM && m->ops->kind != UU_HUGETLB) {
		struct stat st;
		o.fd = memfd_create("userfault", MFD_CLOEXEC |
				    (m->ops->kind == UU_HUGETLB_PRIVATE ? MFD_HUGETLB : 0));
		if (o.fd < 0)
			return -errno;
		if (ftruncate(o.fd, (off_t)len) < 0 || fstat(o.fd, &st) < 0) {
			r = -errno;
			close(o.fd);
			return r;
		}
		o.alias = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, o.fd, 0);
		if (o.alias == MAP_FAILED) {
			r = -errno;
			close(o.fd);
			return r;
		}
		each_part(t, m, copy_part, &o);
		m->ino = st.st_ino;
		op = &o;
	}
	/* Pages busy at the fork were so in threads the child does not have:
	 * the states they left are the child's. */
	for (size_t pg = 0; pg < m->npages; pg++)
		atomic_fetch_and(&m->pst[pg], (uint8_t)~(PS_BUSY | PS_DEFER));
	for (size_t ch = 0; ch < m->nchunks; ch++)
		atomic_store(&m->cst[ch], CS_COVERED);
	r = each_part(t, m, cover_part, op);
	if (op) {
		uf__map_unmap(m, m->alias, 0);
		uf__map_unmap(m, o.alias, PS_GONE);	/* parts moved to other maps */
		m->alias = o.alias;
		close(o.fd);
	}
	return r;
}

/* Drop write protection from the pages of a segment the child does not
 * keep registered (the kernel clears it with the registration). */
static void unprotect(struct uf__map *m, uintptr_t a, uintptr_t b)
{
	for (uintptr_t p = a; p < b; p += m->page) {
		size_t pg = uf__pgidx(m, p);
		if (atomic_fetch_and(&m->pst[pg], (uint8_t)~PS_WP) & PS_WP)
			atomic_fetch_sub(&m->wp_count, 1);
	}
}

void uf__fork_child_memory(void)
{
	uf__space_lock();
	const struct uf__table *t = uf__table_now();
	size_t n = t ? t->n : 0;
	/* Without a new table (out of memory) everything becomes ordinary. */
	struct uf__table *nt = uf__table_new(n);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct uf__map *m = t->seg[i].map;
		if (!m)
			continue;
		size_t first;
		for (first = 0; first < i && t->seg[first].map != m; first++)
			;
		if (first < i)
			continue;	/* this map is done */
		int keep = 0;
		for (size_t j = i; nt && j < n && !keep; j++)
			keep = t->seg[j].map == m && child_of(t->seg[j].ctx);
		if (keep && own_map(t, m) < 0)
			keep = 0;
		if (!keep) {
			each_part(t, m, detach_part, NULL);
			continue;
		}
		for (size_t j = i; j < n; j++) {
			if (t->seg[j].map != m)
				continue;
			struct uf__seg s = t->seg[j];
			s.ctx = child_of(s.ctx);
			if (!s.ctx) {
				if (s.mode & UFFDIO_REGISTER_MODE_WP)
					unprotect(m, s.start, s.end);
				s.mode = 0;
			}
			nt->seg[k++] = s;
		}
	}
	if (!nt)
		nt = uf__table_new(0);
	if (nt) {
		/* Segments were taken map by map: back in address order. */
		for (size_t i = 1; i < k; i++)
			for (size_t j = i; j > 0 && nt->seg[j - 1].start > nt->seg[j].start; j--) {
				struct uf__seg x = nt->seg[j];
				nt->seg[j] = nt->seg[j - 1];
				nt->seg[j - 1] = x;
			}
		nt->n = k;
		uf__table_publish(nt);
	}
	uf__space_unlock();
	/* The program ends are the parent's to hand out. */
	for (size_t i = 0; i < nforks; i++)
		close(forks[i].app);
}

void uf__fork_child_contexts(void)
{
	for (size_t i = 0; i < nforks; i++) {
		struct uf__ctx *c = forks[i].child;
		/* No engine thread: no one could reach the context.  Its
		 * memory becomes ordinary, as if the event were never read. */
		if (uf__ctx_adopt(c) < 0) {
			uf__unregister_all(c);
			uf__ctx_discard(c);
		}
	}
	free(forks);
	forks = NULL;
	nforks = 0;
}
