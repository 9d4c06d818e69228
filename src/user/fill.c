/* SPDX-License-Identifier: MIT */
/*
 * fill.c - resolving faults: COPY, ZEROPAGE, CONTINUE, POISON, MOVE, WAKE and
 * WRITEPROTECT on the user engine, with the kernel's checks, errors and
 * result fields (shared/reference/UAPI.md, docs/KERNEL_FACTS.md).
 *
 * Every fill is atomic for other threads: the content is written through
 * the engine's alias view while the page is still hidden in the program's
 * view, and only then shown, in one system call.  A page's busy bit keeps
 * two operations on one page apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include "user.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define ALL_KINDS (FK_MISSING | FK_WP | FK_MINOR)

/* The result field of the caller's argument, computed without dereferencing
 * it: the pointer may be NULL or wild (then the write gives EFAULT), and
 * &user->field on such a pointer is undefined behaviour in C. */
#define RESULT(user, field) \
	((__s64 *)((uintptr_t)(user) + offsetof(__typeof__(*(user)), field)))

enum op { OP_COPY, OP_ZEROPAGE, OP_CONTINUE, OP_POISON };

/* The kernel's validate_unaligned_range() for a source. */
static int validate_src(__u64 start, __u64 len)
{
	/* Same limits as a destination, without the start's alignment. */
	return uf__validate_range(start & ~(__u64)4095, len);
}

/* The destination [dst, dst + len): one registered segment run (same map,
 * owner and mode), as the kernel wants one registered VMA.  -ENOENT if not. */
static int find_dst(uintptr_t dst, size_t len, struct uf__seg *out)
{
	unsigned tok = uf__enter();
	int r = -ENOENT;
	const struct uf__seg *s = uf__lookup(dst);
	if (s && s->ctx) {
		*out = *s;
		uintptr_t end = dst + len;
		r = 0;
		while (out->end < end) {
			const struct uf__seg *n = uf__lookup(out->end);
			if (!n || n->map != s->map || n->ctx != s->ctx || n->mode != s->mode) {
				r = -ENOENT;
				break;
			}
			out->end = n->end;
		}
	}
	uf__leave(tok);
	return r;
}

/* Would a read of the page at a in engine memory end in SIGBUS (poisoned,
 * or a userfault of a context with UFFD_FEATURE_SIGBUS)?  The kernel's
 * copy_from_user takes such a fault as a failed copy: EFAULT, no signal.
 * Mirrors trap.c's decision for a read.  Inside a reader section. */
static int src_would_sigbus(const struct uf__seg *s, uintptr_t a)
{
	struct uf__map *m = s->map;
	uintptr_t page = a & ~(uintptr_t)(m->page - 1);
	uint8_t st = atomic_load(&m->pst[uf__pgidx(m, page)]);
	if (st & PS_POISON)
		return 1;
	if ((st & PS_MAPPED) || !s->ctx || !(s->ctx->features & UFFD_FEATURE_SIGBUS))
		return 0;
	int present = uf__present(m, page) || uf__upstream_has(m, page);
	return present ? (s->mode & UFFDIO_REGISTER_MODE_MINOR) != 0
		       : (s->mode & UFFDIO_REGISTER_MODE_MISSING) != 0;
}

/* Is the page at a in engine memory?  -EFAULT if a read of it would raise
 * SIGBUS, 1 if ours, 0 if not. */
static int src_is_ours(uintptr_t a, uintptr_t *plain_end)
{
	unsigned tok = uf__enter();
	const struct uf__seg *s = uf__lookup_from(a);
	int r = 0;
	if (s && s->start <= a)
		r = src_would_sigbus(s, a) ? -EFAULT : 1;
	/* Not ours: up to where engine memory begins (a huge page's source
	 * is read in one system call rather than 512). */
	*plain_end = s ? s->start : UINTPTR_MAX;
	uf__leave(tok);
	return r;
}

/* Copy from the caller's src: a bad address is EFAULT, as for the kernel.
 * Page by page (an unaligned source straddles two): one in engine memory
 * is read directly, so a hidden page there faults and is served like any
 * user access (the kernel's copy also waits on that userfault), except
 * where that access would raise SIGBUS: the kernel's copy fails with
 * EFAULT there instead.  Other memory is read by a system call, which
 * fails instead of faulting, unless the library placed it there itself
 * (uf_copy()'s own argument, serve.c's copy of another process's bytes:
 * src/trust.c), which is read directly. */
static int read_src(void *to, uintptr_t src, size_t len)
{
	char *out = to;
	if (uf__trusted((const void *)src, len)) {
		memcpy(to, (const void *)src, len);
		return 0;
	}
	while (len) {
		size_t n = 4096 - (src & 4095);
		if (n > len)
			n = len;
		uintptr_t plain_end;
		int ours = src_is_ours(src, &plain_end);
		if (ours < 0)
			return ours;
		if (!ours)
			n = plain_end - src < len ? plain_end - src : len;
		if (ours) {
			memcpy(out, (const void *)src, n);
		} else {
			struct iovec l = { out, n }, r = { (void *)src, n };
			if (process_vm_readv(uf__pid(), &l, 1, &r, 1, 0) != (ssize_t)n)
				return -EFAULT;
		}
		out += n;
		src += n;
		len -= n;
	}
	return 0;
}

/* Is [src, src + len) outside engine memory, and not the library's own
 * buffer (read directly, read_src)?  Then a system call can read it with
 * nothing of ours to fault on. */
static int src_is_plain(uintptr_t src, size_t len)
{
	if (uf__trusted((const void *)src, len))
		return 0;
	uintptr_t plain_end;
	return src_is_ours(src, &plain_end) == 0 && plain_end - src >= len;
}

/* Can one pwrite() read [src, src + len), the source of a run (copy_run)?
 * Memory outside the engine can, and so can engine memory no context
 * registers any more (unregistered, released, or unmapped behind the
 * library's back and mapped again by the program): a system call reading
 * it waits on nothing of ours, and a page still hidden there makes the
 * write short, where the page-by-page fill takes over and reads it as the
 * program would.  Registered memory goes page by page: its missing source
 * pages are faults to be served. */
static int src_for_run(uintptr_t src, size_t len)
{
	if (uf__trusted((const void *)src, len))
		return 0;
	uintptr_t a = src, end = src + len;
	int ok = 1;
	unsigned tok = uf__enter();
	while (ok && a < end) {
		const struct uf__seg *s = uf__lookup_from(a);
		if (!s || s->start >= end)
			break;
		ok = s->ctx == NULL;
		a = s->end;
	}
	uf__leave(tok);
	return ok;
}

/* For a private file mapping: bring the original's page (the file's page
 * cache, as the program saw it) into the engine's copy.  1 if there was one. */
static int pull_upstream(struct uf__map *m, uintptr_t a)
{
	if (!uf__upstream_has(m, a))
		return 0;
	size_t off = a - m->start;
	memcpy(m->alias + off, m->upstream + off, m->page);
	return 1;
}

void uf__wp_mark(struct uf__map *m, uint8_t *st, int on)
{
	if (on && !(*st & PS_WP)) {
		*st |= PS_WP;
		atomic_fetch_add(&m->wp_count, 1);
	} else if (!on && (*st & PS_WP)) {
		*st &= (uint8_t)~PS_WP;
		atomic_fetch_sub(&m->wp_count, 1);
	}
}

/* Where COPY reads its source before taking the page: the thread's own, as
 * fills run on any thread of the program (initial-exec: no allocation on
 * first use, since a fill may run in a SIGBUS handler). */
static __thread char scratch[4096] __attribute__((tls_model("initial-exec")));

/* COPY's page written into the map's own file fd from the program's source
 * src, a page no engine memory is part of: pwrite() reads the source as the
 * kernel's copy does (a bad one is EFAULT) and puts the page in the file
 * without the alias view's fault, zeroing and page table entry (~1.5 us a
 * page less).  Signal-safe. */
static int write_file(const struct uf__map *m, int fd, size_t off, const char *src)
{
	ssize_t n = pwrite(fd, src, m->page, (off_t)off);
	if (n == (ssize_t)m->page)
		return 0;
	int err = n < 0 ? errno : EFAULT;
	/* Nothing of it may stay: the page was not in the file (not mapped,
	 * engine_cached), and a part written would read as content. */
	fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)m->page);
	return err == ENOMEM || err == ENOSPC ? -ENOMEM : -EFAULT;
}

/* One page of a fill; the caller holds the page busy (state *st).  data:
 * COPY's source, read before the page was taken, or, with a file (>= 0),
 * the program's source itself, outside engine memory (write_file). */
static int fill_page(struct uf__map *m, uintptr_t a, enum op op, const char *data, int file,
		     int wp, uint8_t *st)
{
	size_t off = a - m->start;
	if (op == OP_POISON) {
		/* Any page table entry is in the way, a WP marker too (a
		 * hidden page marked PS_WP is one, see uf__writeprotect). */
		if (*st & (PS_MAPPED | PS_POISON | PS_WP))
			return -EEXIST;
		*st |= PS_POISON;
		return 0;
	}
	/* CONTINUE looks the file's page up before the page table: on a
	 * private mapping a page the program has (its own copy) with none in
	 * the file is EFAULT, not EEXIST. */
	if (op == OP_CONTINUE && m->upstream && !uf__upstream_has(m, a))
		return -EFAULT;
	int mapped = (*st & PS_MAPPED) != 0;
	int present = mapped || uf__present(m, a);
	if (op == OP_COPY && present && !(*st & PS_POISON))
		return -EEXIST;
	if (mapped)
		return -EEXIST;
	switch (op) {
	case OP_COPY:
		/* A huge page is allocated first, so that no huge page free is
		 * ENOMEM (as the kernel's) rather than SIGBUS in the copy. */
		if (uf__kind_hugetlb(m->ops->kind) &&
		    madvise(m->alias + off, m->page, MADV_POPULATE_WRITE) < 0)
			return -ENOMEM;
		if (file >= 0) {
			int w = write_file(m, file, off, data);
			if (w < 0)
				return w;
			break;
		}
		memcpy(m->alias + off, data, m->page);
		break;
	case OP_ZEROPAGE:
		if (present && !(*st & PS_POISON))
			return -EEXIST;
		/* Outside shared memory the kernel's ZEROPAGE wants an entry
		 * that is none: a WP marker is in the way (COPY and shmem's
		 * ZEROPAGE replace it). */
		if (m->ops->kind != UU_SHMEM && (*st & PS_WP))
			return -EEXIST;
		if (present)
			memset(m->alias + off, 0, m->page);
		else if (madvise(m->alias + off, m->page, MADV_POPULATE_WRITE) < 0)
			memset(m->alias + off, 0, m->page);
		break;
	case OP_CONTINUE:
		if (!present && !pull_upstream(m, a))
			return -EFAULT;
		break;
	default:
		break;
	}
	uint8_t old = *st;
	*st = (uint8_t)((*st | PS_MAPPED) & ~PS_POISON);
	/* The kernel installs a new page table entry, write-protected only
	 * with MODE_WP: a mark set on the empty page (WP_UNPOPULATED, shmem)
	 * does not survive the fill.  Protection before the page is seen. */
	uint8_t before = *st;
	uf__wp_mark(m, st, wp);
	int r = 0;
	if (*st != before || wp)
		r = uf__page_setwp(m, a, *st);
	if (r == 0)
		r = uf__page_show(m, a, *st);
	if (r < 0) {
		/* Not shown (out of memory): the page stays as it was, so a
		 * fault there still asks for it, and a fill that made its
		 * content takes it back (tests/inject.c ops). */
		uf__wp_mark(m, st, (old & PS_WP) != 0);
		*st = old;
		(void)uf__page_setwp(m, a, old);
		if (!present && m->ops->shared)
			madvise(m->alias + off, m->page, MADV_REMOVE);
		return r;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* COPY of a run of small pages in one write                                */

/* Take a page busy without waiting (MOVE and a COPY run hold
 * several pages: no lock order). */
static int page_trylock(struct uf__map *m, size_t pg, uint8_t *st)
{
	uint8_t s = atomic_fetch_or(&m->pst[pg], PS_BUSY);
	if (s & PS_BUSY)
		return 0;
	*st = s;
	return 1;
}

/* Pages one run takes busy at most: a fault on any of them waits for the
 * whole run's write, so the run is bounded (256 KiB: tens of microseconds). */
#define RUN_MAX 64

/* Take busy, from a on, the pages one write can fill: empty (not shown, no
 * content, no poison or WP marker: the page-by-page fill knows what to do
 * with those).  A page another operation holds ends the run before it:
 * holding some pages while waiting for one could deadlock with an
 * operation that holds two (MOVE).  Returns how many, their states in st. */
static size_t run_take(struct uf__map *m, uintptr_t a, size_t max, uint8_t *st)
{
	size_t n;
	for (n = 0; n < max; n++) {
		uintptr_t p = a + n * m->page;
		size_t pg = uf__pgidx(m, p);
		if (!page_trylock(m, pg, &st[n]))
			break;
		if ((st[n] & (PS_MAPPED | PS_POISON | PS_WP)) || uf__present(m, p)) {
			uf__page_unlock(m, pg, st[n]);
			break;
		}
	}
	return n;
}

/* Write n pages' content at a from the program's plain source src into the
 * kept file in one pwrite().  Returns the whole pages written.  A short
 * write (a bad source page, no memory) may have written part of the page
 * after those: it and the rest are punched out again (they were not in the
 * file, and a part written would read as content), as write_file does. */
static size_t run_write(const struct uf__map *m, int file, uintptr_t a, size_t n, uintptr_t src)
{
	size_t off = a - m->start, len = n * m->page;
	ssize_t w = pwrite(file, (const void *)src, len, (off_t)off);
	size_t k = w > 0 ? (size_t)w / m->page : 0;
	if (k < n)
		fallocate(file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(off + k * m->page),
			  (off_t)(len - k * m->page));
	return k;
}

/* Show the len bytes of written pages at a (held busy, empty before: no WP
 * marker), write-protected with MODE_WP.  If that fails (out of memory),
 * they are taken back whole: hidden again, and their content punched out
 * unless a page could not be hidden (then what may show is the copy's own
 * bytes, which the page-by-page fill that follows writes again, never
 * zeros). */
static int run_show(struct uf__map *m, int file, uintptr_t a, size_t len, int wp)
{
	int r = uf__run_show(m, a, len, (uint8_t)(PS_MAPPED | (wp ? PS_WP : 0)), wp);
	if (r < 0 && uf__run_hide(m, a, len, 0, wp) == 0)
		fallocate(file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(a - m->start),
			  (off_t)len);
	return r;
}

/* COPY into small pages from a plain source, as many as go at once: one
 * pwrite() and one show for the run instead of one each per page.  Returns
 * the bytes done, all shown; 0 if it could not start.  It only ever does
 * pages that succeed: where it stops (a page not empty or busy, a short
 * write, a show that failed) the page-by-page fill takes over and gives
 * that page's result exactly as before, errors included (EFAULT before
 * EEXIST, ENOMEM).  So the bytes done, the partial copies and the errors
 * stay the kernel's, page by page.
 *
 * The pages are held busy while pwrite() reads the source: safe because the
 * source is outside registered memory (src_for_run), so reading it waits
 * on nothing of ours; memory the program registers there meanwhile is
 * hidden by markers, which a system call's read takes as EFAULT, not a
 * fault.
 * Signal-safe (system calls only). */
static size_t copy_run(struct uf__map *m, int file, uintptr_t a, uintptr_t end, uintptr_t src,
		       int wp)
{
	size_t max = (end - a) / m->page;
	if (max > RUN_MAX)
		max = RUN_MAX;
	/* A single page goes the page-by-page way: nothing to gain. */
	if (max < 2 || !src_for_run(src, max * m->page))
		return 0;
	uint8_t st[RUN_MAX];
	size_t n = run_take(m, a, max, st);
	size_t k = n < 2 ? 0 : run_write(m, file, a, n, src);
	if (k && run_show(m, file, a, k * m->page, wp) < 0)
		k = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t s = st[i];
		if (i < k) {
			s |= PS_MAPPED;
			uf__wp_mark(m, &s, wp);
		}
		uf__page_unlock(m, uf__pgidx(m, a + i * m->page), s);
	}
	return k * m->page;
}

/* Can a COPY into m batch runs of pages (copy_run)?  Small pages written
 * into a kept file (hugetlb has none) and hidden by markers (so that
 * visibility and protection are apart). */
static int can_run(const struct uf__map *m, enum op op, int file)
{
	return op == OP_COPY && file >= 0 && m->ops->guards && m->page == 4096;
}

static long long fill_in(uintptr_t dst, size_t len, enum op op, uintptr_t src, int wp);

/* A map being moved (remap.c): the move waits for reader sections to end,
 * so whoever finds one leaves its section, waits and looks again. */
#define FROZEN (-ERANGE)

/* A huge page's COPY source is staged in a buffer of its size.  A new
 * mapping each time cost more than the rest of the fill (its first touch
 * faulted in 512 small pages: ~0.5 ms of a 2 MiB COPY), so two 2 MiB ones
 * are kept for the next COPYs, taken and given back by atomic exchange
 * (signal-safe: a fill may run in a SIGBUS handler).  Other sizes (1 GiB)
 * are mapped, populated in one call, for each COPY. */
#define STAGE_SIZE	((size_t)2 << 20)
#define STAGE_KEPT	2
static _Atomic(char *) stage_kept[STAGE_KEPT];

static char *stage_get(size_t len)
{
	for (int i = 0; len == STAGE_SIZE && i < STAGE_KEPT; i++) {
		char *p = atomic_exchange(&stage_kept[i], NULL);
		if (p)
			return p;
	}
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void stage_put(char *p, size_t len)
{
	for (int i = 0; len == STAGE_SIZE && i < STAGE_KEPT; i++) {
		char *none = NULL;
		if (atomic_compare_exchange_strong(&stage_kept[i], &none, p))
			return;
	}
	munmap(p, len);
}

/* The whole fill runs inside a reader section, so the map cannot be
 * retired (uf_munmap) under it. */
static long long fill(uintptr_t dst, size_t len, enum op op, uintptr_t src, int wp)
{
	for (;;) {
		unsigned tok = uf__enter();
		long long r = fill_in(dst, len, op, src, wp);
		uf__leave(tok);
		if (r != FROZEN)
			return r;
		uf__remap_wait();
	}
}

static long long fill_in(uintptr_t dst, size_t len, enum op op, uintptr_t src, int wp)
{
	struct uf__seg seg;
	int r = find_dst(dst, len, &seg);
	if (r < 0)
		return r;
	struct uf__map *m = seg.map;
	int kind = m->ops->kind;
	if (atomic_load(&m->frozen))
		return FROZEN;
	if (wp && !(seg.mode & UFFDIO_REGISTER_MODE_WP))
		return -EINVAL;
	int huge = uf__kind_hugetlb(kind);
	if (op == OP_CONTINUE && kind == UU_ANON)
		return -EINVAL;
	/* hugetlb: no zero page of that size (EINVAL), and whole huge pages. */
	if (huge && op == OP_ZEROPAGE)
		return -EINVAL;
	if (huge && ((dst | len) & (m->page - 1)))
		return -EINVAL;
	char *data = scratch;
	if (op == OP_COPY && m->page > sizeof(scratch)) {
		/* A huge page's source: a buffer of this call's own. */
		data = stage_get(m->page);
		if (!data)
			return -ENOMEM;
	}
	/* The kept file, checked once a call (an lseek): the program may
	 * have closed it and reused its number (LIMITATIONS). */
	int file = op == OP_COPY ? uf__map_fd(m) : -1;
	long long done = 0;
	int runs = can_run(m, op, file);
	for (uintptr_t a = dst; a < dst + len;) {
		size_t n = runs ? copy_run(m, file, a, dst + len, src + (a - dst), wp) : 0;
		done += (long long)n;
		a += n;
		/* At the end, or stopped by its bound alone: the next run goes
		 * on.  Else the page it stopped at goes the way below. */
		if (n && (a == dst + len || n == RUN_MAX * m->page))
			continue;
		size_t pg = uf__pgidx(m, a);
		/* hugetlb's COPY looks at the destination before it reads the
		 * source: a page there is EEXIST even from a bad source. */
		if (op == OP_COPY && huge) {
			uint8_t st = uf__page_lock(m, pg);
			int there = (st & PS_MAPPED) || (!(st & PS_POISON) && uf__present(m, a));
			uf__page_unlock(m, pg, st);
			if (there) {
				r = -EEXIST;
				break;
			}
		}
		uintptr_t from = src + (a - dst);
		int direct = file >= 0 && src_is_plain(from, m->page);
		/* As the kernel: the source is copied in first (so an
		 * unreadable one is EFAULT even onto an existing page), and
		 * before the page is held busy, so a source inside it faults
		 * and is served like any access instead of waiting on itself.
		 * A source outside engine memory can fault on nothing of ours:
		 * it is read by the write into the file itself. */
		if (op == OP_COPY && !direct && read_src(data, from, m->page) < 0) {
			r = -EFAULT;
			break;
		}
		uint8_t st = uf__page_lock(m, pg);
		r = fill_page(m, a, op, direct ? (const char *)from : data, direct ? file : -1, wp,
			      &st);
		uf__page_unlock(m, pg, st);
		/* The source first, as above: EFAULT before EEXIST. */
		if (r == -EEXIST && direct && read_src(data, from, m->page) < 0)
			r = -EFAULT;
		if (r < 0)
			break;
		done += (long long)m->page;
		a += m->page;
	}
	if (data != scratch)
		stage_put(data, m->page);
	return done ? done : r;
}

/* The tail common to the fills: write the result field, wake, and turn a
 * short count into EAGAIN. */
static int finish(struct uf__ctx *c, int fd, __s64 *field, long long res, uintptr_t start,
		  size_t len, int dontwake)
{
	__s64 v = res;
	if (uf__copy_out(field, &v, sizeof(v)) < 0)
		return -EFAULT;
	if (res < 0)
		return (int)res;
	if (!dontwake)
		uf__wake(c, fd, start, (uintptr_t)res, ALL_KINDS);
	return (size_t)res == len ? 0 : -EAGAIN;
}

/* An event is on its way (mmap_changing): the kernel writes -EAGAIN into
 * the result field and fails with EAGAIN.  -EFAULT is written as EFAULT. */
static int changing(struct uf__ctx *c, __s64 *field)
{
	if (!atomic_load(&c->mmap_changing))
		return 0;
	__s64 v = -EAGAIN;
	(void)uf__copy_out(field, &v, sizeof(v));
	return 1;
}

int uf__copy(struct uf__ctx *c, int fd, struct uffdio_copy *user)
{
	if (changing(c, RESULT(user, copy)))
		return -EAGAIN;
	struct uffdio_copy a;
	if (uf__copy_in(&a, user, sizeof(a) - sizeof(a.copy)) < 0)
		return -EFAULT;
	int r = validate_src(a.src, a.len);
	if (r == 0)
		r = uf__validate_range(a.dst, a.len);
	if (r)
		return r;
	if (a.mode & ~(__u64)(UFFDIO_COPY_MODE_DONTWAKE | UFFDIO_COPY_MODE_WP))
		return -EINVAL;
	long long res = fill(a.dst, a.len, OP_COPY, a.src, (a.mode & UFFDIO_COPY_MODE_WP) != 0);
	return finish(c, fd, RESULT(user, copy), res, a.dst, a.len, a.mode & UFFDIO_COPY_MODE_DONTWAKE);
}

int uf__zeropage(struct uf__ctx *c, int fd, struct uffdio_zeropage *user)
{
	if (changing(c, RESULT(user, zeropage)))
		return -EAGAIN;
	struct uffdio_zeropage a;
	if (uf__copy_in(&a, user, sizeof(a) - sizeof(a.zeropage)) < 0)
		return -EFAULT;
	int r = uf__validate_range(a.range.start, a.range.len);
	if (r)
		return r;
	if (a.mode & ~(__u64)UFFDIO_ZEROPAGE_MODE_DONTWAKE)
		return -EINVAL;
	long long res = fill(a.range.start, a.range.len, OP_ZEROPAGE, 0, 0);
	return finish(c, fd, RESULT(user, zeropage), res, a.range.start, a.range.len,
		      a.mode & UFFDIO_ZEROPAGE_MODE_DONTWAKE);
}

int uf__continue(struct uf__ctx *c, int fd, struct uffdio_continue *user)
{
	if (changing(c, RESULT(user, mapped)))
		return -EAGAIN;
	struct uffdio_continue a;
	if (uf__copy_in(&a, user, sizeof(a) - sizeof(a.mapped)) < 0)
		return -EFAULT;
	int r = uf__validate_range(a.range.start, a.range.len);
	if (r)
		return r;
	if (a.mode & ~(__u64)(UFFDIO_CONTINUE_MODE_DONTWAKE | UFFDIO_CONTINUE_MODE_WP))
		return -EINVAL;
	long long res = fill(a.range.start, a.range.len, OP_CONTINUE, 0,
			     (a.mode & UFFDIO_CONTINUE_MODE_WP) != 0);
	return finish(c, fd, RESULT(user, mapped), res, a.range.start, a.range.len,
		      a.mode & UFFDIO_CONTINUE_MODE_DONTWAKE);
}

int uf__poison(struct uf__ctx *c, int fd, struct uffdio_poison *user)
{
	if (changing(c, RESULT(user, updated)))
		return -EAGAIN;
	struct uffdio_poison a;
	if (uf__copy_in(&a, user, sizeof(a) - sizeof(a.updated)) < 0)
		return -EFAULT;
	int r = uf__validate_range(a.range.start, a.range.len);
	if (r)
		return r;
	if (a.mode & ~(__u64)UFFDIO_POISON_MODE_DONTWAKE)
		return -EINVAL;
	long long res = fill(a.range.start, a.range.len, OP_POISON, 0, 0);
	return finish(c, fd, RESULT(user, updated), res, a.range.start, a.range.len,
		      a.mode & UFFDIO_POISON_MODE_DONTWAKE);
}

/* ------------------------------------------------------------------------ */
/* MOVE                                                                     */

/* Take back what a move wrote into a page of the engine's file.  Anonymous
 * memory counts a page as present by its mark alone (uf__present), so
 * content left there would show through a later ZEROPAGE: if the punch
 * fails (out of memory), the page is zeroed in place instead. */
static void drop_alias_page(struct uf__map *m, uintptr_t a)
{
	char *p = m->alias + (a - m->start);
	if (madvise(p, m->page, MADV_REMOVE) < 0)
		memset(p, 0, m->page);
}

/* Move one page; dst is held busy (state *dst_st).  A step that fails
 * (out of memory) undoes the steps before it, so the page is either moved
 * or left where it was, never lost or in both places (tests/inject.c
 * move).  Only the undo failing as well could leave a page hidden. */
static int move_page(struct uf__map *dm, uintptr_t d, const struct uf__seg *ss, uintptr_t s,
		     int holes, uint8_t *dst_st)
{
	/* MOVE wants an empty entry: a WP or poison marker is in the way
	 * too. */
	if ((*dst_st & (PS_MAPPED | PS_WP | PS_POISON)) || uf__present(dm, d))
		return -EEXIST;
	char *to = dm->alias + (d - dm->start);
	int r;
	if (!ss) {
		/* Plain anonymous memory outside the engine. */
		unsigned char v = 0;
		if (uf__mincore((void *)s, 4096, &v) < 0)
			return -ENOMEM;
		if (!(v & 1))
			return holes ? 1 : -ENOENT;
		if (read_src(to, s, dm->page) < 0) {
			drop_alias_page(dm, d);
			return -EFAULT;
		}
		/* Shown before the source is dropped: a drop that fails is
		 * undone by hiding dst again (the source may be read-only,
		 * so its content could not be written back). */
		if ((r = uf__page_show(dm, d, *dst_st | PS_MAPPED)) < 0) {
			drop_alias_page(dm, d);
			return r;
		}
		if (madvise((void *)s, dm->page, MADV_DONTNEED) < 0) {
			r = -errno;
			if (uf__page_hide(dm, d) == 0) {
				drop_alias_page(dm, d);
				return r;
			}
			/* Not hidden again either: the page was copied, not
			 * moved; both read it, nothing is lost. */
		}
	} else if (s == d) {
		/* Overlapping ranges are moved page by page, as the kernel
		 * does; a page onto itself is empty here (dst is), a hole. */
		return holes ? 1 : -ENOENT;
	} else {
		struct uf__map *sm = ss->map;
		size_t spg = uf__pgidx(sm, s);
		uint8_t sst;
		while (!page_trylock(sm, spg, &sst))
			sched_yield();
		int has = (sst & PS_MAPPED) || uf__present(sm, s);
		if (!has) {
			uf__page_unlock(sm, spg, sst);
			return holes ? 1 : -ENOENT;
		}
		/* Hide the source first, so no thread reads it half-moved;
		 * its protection goes back to the map's (the kernel's MOVE
		 * leaves an empty entry, no WP marker) while it is hidden. */
		r = uf__page_hide(sm, s);
		if (r == 0 && (sst & PS_WP) && (r = uf__page_setwp(sm, s, sst & (uint8_t)~PS_WP)) < 0)
			(void)uf__page_show(sm, s, sst);
		if (r == 0) {
			memcpy(to, sm->alias + (s - sm->start), dm->page);
			if ((r = uf__page_show(dm, d, *dst_st | PS_MAPPED)) < 0) {
				drop_alias_page(dm, d);
				if (sst & PS_WP)
					(void)uf__page_setwp(sm, s, sst);
				(void)uf__page_show(sm, s, sst);
			}
		}
		if (r < 0) {
			uf__page_unlock(sm, spg, sst);
			return r;
		}
		drop_alias_page(sm, s);
		sst &= (uint8_t)~PS_MAPPED;
		uf__wp_mark(sm, &sst, 0);
		uf__page_unlock(sm, spg, sst);
	}
	*dst_st |= PS_MAPPED;
	return 0;
}

/* Is [s, s + len) plain private anonymous memory, or one engine segment run
 * of anonymous kind, with the protection of the destination (dst_prot; the
 * kernel refuses a pair of VMAs that differ in it, EINVAL, before looking
 * at pages)?  *seg is set for the latter.  s itself is mapped. */
static int move_src(uintptr_t s, size_t len, int dst_prot, struct uf__seg *seg, int *ours)
{
	unsigned tok = uf__enter();
	const struct uf__seg *x = uf__lookup(s);
	int r = 0;
	*ours = x != NULL;
	if (x) {
		*seg = *x;
		if (x->map->ops->kind != UU_ANON || s + len > x->map->end || x->map->prot != dst_prot)
			r = -EINVAL;
	}
	uf__leave(tok);
	if (!*ours && uf__vma_prot(s) != dst_prot)
		return -EINVAL;
	if (!*ours) {
		/* Outside the engine: a hole means the range leaves the VMA
		 * that s is in, which the kernel refuses with EINVAL. */
		unsigned char v;
		for (uintptr_t a = s; a < s + len; a += 4096)
			if (uf__mincore((void *)a, 4096, &v) < 0)
				return -EINVAL;
	}
	return r;
}

/* Is there a mapping at a (the kernel's VMA lookup)?  Inside a reader
 * section. */
static int mapped_at(uintptr_t a)
{
	unsigned char v;
	return uf__lookup(a) != NULL || uf__mincore((void *)(a & ~(uintptr_t)4095), 4096, &v) == 0 ||
	       errno != ENOMEM;
}

int uf__move(struct uf__ctx *c, int fd, struct uffdio_move *user)
{
	if (changing(c, RESULT(user, move)))
		return -EAGAIN;
	struct uffdio_move a;
	if (uf__copy_in(&a, user, sizeof(a) - sizeof(a.move)) < 0)
		return -EFAULT;
	int r = uf__validate_range(a.dst, a.len);
	if (r == 0)
		r = uf__validate_range(a.src, a.len);
	if (r)
		return r;
	if (a.mode & ~(__u64)(UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES | UFFDIO_MOVE_MODE_DONTWAKE))
		return -EINVAL;
	long long res;
	struct uf__seg dseg, sseg;
	int ours = 0;
again:;
	unsigned tok = uf__enter();	/* no map retired under the move */
	/* The kernel's order: no VMA at dst or at src is ENOENT, before
	 * any check of the ranges and the memory (EINVAL). */
	if (!mapped_at(a.dst) || !mapped_at(a.src))
		res = -ENOENT;
	else if (find_dst(a.dst, a.len, &dseg) < 0)
		res = -EINVAL;		/* not one registered VMA */
	else if (dseg.ctx != c || dseg.map->ops->kind != UU_ANON)
		res = -EINVAL;
	else if ((res = move_src(a.src, a.len, dseg.map->prot, &sseg, &ours)) < 0)
		;
	else if (atomic_load(&dseg.map->frozen) || (ours && atomic_load(&sseg.map->frozen))) {
		uf__leave(tok);
		uf__remap_wait();
		goto again;
	} else {
		struct uf__map *m = dseg.map;
		int holes = (a.mode & UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES) != 0;
		res = 0;
		for (uintptr_t d = a.dst; d < a.dst + a.len; d += m->page) {
			size_t pg = uf__pgidx(m, d);
			uint8_t st = uf__page_lock(m, pg);
			r = move_page(m, d, ours ? &sseg : NULL, a.src + (d - a.dst), holes, &st);
			uf__page_unlock(m, pg, st);
			if (r < 0)
				break;
			res += (long long)m->page;
		}
		if (!res)
			res = r;
	}
	uf__leave(tok);
	return finish(c, fd, RESULT(user, move), res, a.dst, a.len, a.mode & UFFDIO_MOVE_MODE_DONTWAKE);
}

/* ------------------------------------------------------------------------ */
/* WAKE and WRITEPROTECT                                                    */

int uf__wake_ioctl(struct uf__ctx *c, int fd, struct uffdio_range *a)
{
	int r = uf__validate_range(a->start, a->len);
	if (r)
		return r;
	uf__wake(c, fd, a->start, a->len, ALL_KINDS);
	return 0;
}

int uf__writeprotect(struct uf__ctx *c, int fd, struct uffdio_writeprotect *a)
{
	int r = uf__validate_range(a->range.start, a->range.len);
	if (r)
		return r;
	if (a->mode & ~(__u64)(UFFDIO_WRITEPROTECT_MODE_DONTWAKE | UFFDIO_WRITEPROTECT_MODE_WP))
		return -EINVAL;
	if (atomic_load(&c->mmap_changing))
		return -EAGAIN;
	int on = (a->mode & UFFDIO_WRITEPROTECT_MODE_WP) != 0;
	int dontwake = (a->mode & UFFDIO_WRITEPROTECT_MODE_DONTWAKE) != 0;
	if (on && dontwake)
		return -EINVAL;
	/* As the kernel walks the VMAs of the range: holes are skipped, a
	 * VMA not registered for WP ends it (after what was done), and a
	 * range without any VMA is ENOENT. */
	uintptr_t pos = a->range.start, end = a->range.start + a->range.len;
	int seen = 0;
	while (pos < end) {
		struct uf__seg seg;
		unsigned tok = uf__enter();
		const struct uf__seg *s = uf__lookup_from(pos);
		if (s)
			seg = *s;
		uf__leave(tok);
		if (!s || seg.start > pos) {
			/* Not engine memory up to the next segment: any VMA
			 * there is not registered. */
			uintptr_t gap_end = s && seg.start < end ? seg.start : end, vs, ve;
			if (uf__vma_next(pos, &vs, &ve) == 0 && vs < gap_end)
				return -ENOENT;
			pos = gap_end;
			continue;
		}
		seen = 1;
		if (!seg.ctx || !(seg.mode & UFFDIO_REGISTER_MODE_WP))
			return -ENOENT;
		struct uf__map *m = seg.map;
		/* hugetlb: the whole range in huge pages, checked per VMA. */
		if (uf__kind_hugetlb(m->ops->kind) &&
		    ((a->range.start | a->range.len) & (m->page - 1)))
			return -EINVAL;
		uintptr_t to = seg.end < end ? seg.end : end;
		/* Without WP_UNPOPULATED, anonymous pages not yet there cannot
		 * carry the mark; shmem always can. */
		int unpopulated = m->ops->kind != UU_ANON ||
				  (seg.ctx->features & UFFD_FEATURE_WP_UNPOPULATED);
		for (uintptr_t p = pos; p < to; p += m->page) {
			size_t pg = uf__pgidx(m, p);
			uint8_t st = uf__page_lock(m, pg);
			int e = 0;
			if (!on || (st & PS_MAPPED) || unpopulated) {
				uint8_t before = st;
				uf__wp_mark(m, &st, on);
				if (st != before)
					e = uf__page_setwp(m, p, st);
				/* Not applied (out of memory): the mark stays
				 * as the protection is, and the call fails as
				 * the kernel's can (tests/inject.c ops). */
				if (e < 0)
					uf__wp_mark(m, &st, !on);
			}
			uf__page_unlock(m, pg, st);
			if (e < 0)
				return e;
		}
		pos = to;
	}
	if (!seen)
		return -ENOENT;
	if (!on && !dontwake)
		uf__wake(c, fd, a->range.start, a->range.len, ALL_KINDS);
	return 0;
}
