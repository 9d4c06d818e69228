/* SPDX-License-Identifier: MIT */
/*
 * space.c - the memory the user engine manages, as the fault path sees it.
 *
 * The segment table is an immutable sorted array published through one
 * atomic pointer: the SIGSEGV handler looks addresses up without a lock.
 * A writer (registration, release) builds a new table under the space lock,
 * publishes it, and frees the old one only after every reader that could
 * have seen it has left: readers count themselves in one of two counters
 * chosen by an epoch's parity, and the writer flips the epoch and waits for
 * the old counter to drain.  Readers never stay inside while they sleep.
 *
 * Page states live in a byte per page (PS_*), changed under a per-page busy
 * bit; chunks (CS_*) are opened on first use, so that registering 64 GiB
 * costs one mprotect and no page tables.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "user.h"

static _Atomic(struct uf__table *) table;
static atomic_uint epoch;
static atomic_int readers[2];
static pthread_mutex_t space_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;

unsigned uf__enter(void)
{
	for (;;) {
		unsigned e = atomic_load(&epoch);
		atomic_fetch_add(&readers[e & 1], 1);
		if (atomic_load(&epoch) == e)
			return e;
		atomic_fetch_sub(&readers[e & 1], 1);
	}
}

void uf__leave(unsigned token)
{
	atomic_fetch_sub(&readers[token & 1], 1);
}

const struct uf__seg *uf__lookup_from(uintptr_t addr)
{
	const struct uf__table *t = atomic_load(&table);
	if (!t)
		return NULL;
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->seg[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n ? &t->seg[lo] : NULL;
}

const struct uf__seg *uf__lookup(uintptr_t addr)
{
	const struct uf__table *t = atomic_load(&table);
	if (!t)
		return NULL;
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct uf__seg *s = &t->seg[mid];
		if (addr < s->start)
			hi = mid;
		else if (addr >= s->end)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

/* Descriptors kept for fills, at most KEPT_FDS_MAX: each counts against
 * the program's limit of open files, and past a few dozen registered
 * ranges the fill through the alias view does as well (~1.5 us more). */
#define KEPT_FDS_MAX 64
static atomic_int kept_fds;

/* In a forked child only the forking thread exists: no reader can be
 * inside, and no lock can be held by a thread that still runs there. */
void uf__space_after_fork(void)
{
	atomic_store(&readers[0], 0);
	atomic_store(&readers[1], 0);
	/* The kept files are the parent's memory: the child writes its own
	 * (fork.c gives a map it keeps a file of its own) or none. */
	const struct uf__table *t = atomic_load(&table);
	for (size_t i = 0; t && i < t->n; i++) {
		struct uf__map *m = t->seg[i].map;
		if (m && m->fd >= 0) {
			close(m->fd);
			m->fd = -1;
		}
	}
	atomic_store(&kept_fds, 0);
	pthread_mutex_init(&space_lock, NULL);
	pthread_mutex_init(&sync_lock, NULL);
}

void uf__space_lock(void)
{
	pthread_mutex_lock(&space_lock);
}

void uf__space_unlock(void)
{
	pthread_mutex_unlock(&space_lock);
}

const struct uf__table *uf__table_now(void)
{
	return atomic_load(&table);
}

struct uf__table *uf__table_new(size_t n)
{
	struct uf__table *t = calloc(1, sizeof(*t) + n * sizeof(t->seg[0]));
	if (t)
		t->n = n;
	return t;
}

/* Wait until no reader can still hold anything it saw before now.
 * Serialised: with one flip at a time, the readers left in the old parity
 * are exactly those that entered before this call. */
void uf__synchronize(void)
{
	pthread_mutex_lock(&sync_lock);
	unsigned e = atomic_fetch_add(&epoch, 1);
	while (atomic_load(&readers[e & 1]) != 0)
		sched_yield();
	pthread_mutex_unlock(&sync_lock);
}

static int has_map(const struct uf__table *t, const struct uf__map *m)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (t->seg[i].map == m)
			return 1;
	return 0;
}

/* Does a context still own a segment of m in t? */
static int map_registered(const struct uf__table *t, const struct uf__map *m)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (t->seg[i].map == m && t->seg[i].ctx)
			return 1;
	return 0;
}

/* A map no context owns any more takes no fills: its kept file is closed
 * (memory unmapped behind the library's back would otherwise keep it open
 * for ever).  After the grace period: no fill that saw it owned is left. */
static void drop_unused_fds(const struct uf__table *t)
{
	for (size_t i = 0; t && i < t->n; i++) {
		struct uf__map *m = t->seg[i].map;
		if (m && m->fd >= 0 && !map_registered(t, m)) {
			close(m->fd);
			m->fd = -1;
			atomic_fetch_sub(&kept_fds, 1);
		}
	}
}

void uf__table_publish(struct uf__table *t)
{
	struct uf__table *old = atomic_exchange(&table, t);
	uf__synchronize();
	drop_unused_fds(t);
	/* Maps no segment refers to any more are gone from the program. */
	for (size_t i = 0; old && i < old->n; i++) {
		struct uf__map *m = old->seg[i].map;
		int first = 1;
		for (size_t j = 0; j < i && first; j++)
			first = old->seg[j].map != m;
		if (first && !has_map(t, m))
			uf__map_retire(m);
	}
	free(old);
}


/* A kept file is told from whatever the program may have put at its number
 * by its file position: nothing reads or writes it at its position (pwrite
 * does not move it), so it stays where it was set, a random place far
 * beyond any size, which another open file has only if it is a copy of the
 * same one.  lseek() tells it in 0.2 us, fstat() (device and inode) took
 * 0.45 us of every COPY. */
static long long kept_pos(const struct uf__map *m)
{
	unsigned long long r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (unsigned long long)(uintptr_t)m ^ (unsigned long long)ts.tv_nsec ^
		    ((unsigned long long)ts.tv_sec << 30);
	}
	/* In [2^61, 2^62): positive, and no file gets that big. */
	return (long long)((r & ((1ULL << 61) - 1)) | (1ULL << 61));
}

int uf__map_keep_fd(struct uf__map *m, int fd)
{
	if (uf__kind_hugetlb(m->ops->kind))
		return 0;	/* hugetlbfs has no write(2) */
	long long pos = kept_pos(m);
	if (lseek(fd, (off_t)pos, SEEK_SET) != (off_t)pos)
		return 0;
	if (atomic_fetch_add(&kept_fds, 1) >= KEPT_FDS_MAX) {
		atomic_fetch_sub(&kept_fds, 1);
		return 0;
	}
	m->fd_pos = pos;
	m->fd = fd;
	return 1;
}

int uf__map_fd(const struct uf__map *m)
{
	if (m->fd < 0 || lseek(m->fd, 0, SEEK_CUR) != (off_t)m->fd_pos)
		return -1;
	return m->fd;
}

void uf__map_retire(struct uf__map *m)
{
	/* m is in no published table, and no reader can still see it. */
	if (m->fd >= 0) {
		close(m->fd);
		atomic_fetch_sub(&kept_fds, 1);
	}
	if (m->alias)
		uf__map_unmap(m, m->alias, 0);
	if (m->upstream)
		uf__map_unmap(m, m->upstream, 0);
	if (m->peek)
		uf__map_unmap(m, m->peek, 0);
	munmap((void *)m->pst, m->npages);
	munmap((void *)m->cst, m->nchunks);
	free(m);
}

void uf__map_unmap(const struct uf__map *m, char *view, int gone)
{
	/* A map allocation that failed has no states: nothing was moved. */
	if (!m->pst) {
		if (!gone)
			munmap(view, m->end - m->start);
		return;
	}
	for (size_t pg = 0; pg < m->npages;) {
		size_t n = 1;
		int g = atomic_load(&m->pst[pg]) & PS_GONE;
		while (pg + n < m->npages && (atomic_load(&m->pst[pg + n]) & PS_GONE) == g)
			n++;
		if (g == gone)
			munmap(view + (pg << m->page_shift), n << m->page_shift);
		pg += n;
	}
}

/* ------------------------------------------------------------------------ */
/* Pages and chunks (signal-safe)                                           */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

int uf__mincore(void *addr, size_t len, unsigned char *vec)
{
	int r;
	while ((r = mincore(addr, len, vec)) < 0 && errno == EAGAIN)
		sched_yield();
	return r;
}

int uf__present(const struct uf__map *m, uintptr_t addr)
{
	/* Per memory type (memtype.c). */
	return m->ops->cached(m, addr);
}

uint8_t uf__page_lock(struct uf__map *m, size_t pg)
{
	for (int n = 0;; n++) {
		uint8_t s = atomic_fetch_or(&m->pst[pg], PS_BUSY);
		if (!(s & PS_BUSY))
			return s;
		if (n > 100)
			sched_yield();
		else
			cpu_relax();
	}
}

/* Give a page of a chunk that opened while the page was busy the state its
 * operation leaves it in.  Best effort: a failure (out of memory) leaves the
 * page as the opener made it. */
static void page_apply(struct uf__map *m, uintptr_t addr, uint8_t state)
{
	if (state & PS_MAPPED)
		(void)m->ops->show(m, addr, m->page, uf__page_prot(m, state));
	else
		(void)m->ops->hide(m, addr, m->page);
	if (m->ops->guards)
		(void)mprotect((void *)addr, m->page, uf__page_prot(m, state));
}

/* An operation on a page of a chunk that was not open skipped its show,
 * hide or protection change (marking the page PS_DEFER): the opener applies
 * the states it finds.  But an opener that read this page's state before the
 * operation stores its final one applies the old one.  So: publish the final
 * state while still holding the page, then look at the chunk again.  Still
 * covered: every later opener reads the final state.  Being opened or open:
 * the opener may have used the old state, so wait for it to finish and
 * apply the final state here.  (Sequentially consistent atomics: either the
 * opener's claim of the chunk comes after our store, or we see the claim.) */
void uf__page_unlock(struct uf__map *m, size_t pg, uint8_t state)
{
	state &= (uint8_t)~(PS_BUSY | PS_DEFER);
	if (atomic_load(&m->pst[pg]) & PS_DEFER) {
		size_t ch = (pg << m->page_shift) >> m->chunk_shift;
		atomic_store(&m->pst[pg], (uint8_t)(state | PS_BUSY));
		uint8_t c;
		for (int n = 0; (c = atomic_load(&m->cst[ch])) == CS_BUSY; n++)
			if (n > 100)
				sched_yield();
			else
				cpu_relax();
		if (c == CS_OPEN)
			page_apply(m, m->start + (pg << m->page_shift), state);
	}
	atomic_store(&m->pst[pg], state);
}

/* The chunk of addr is not open: the change is left to its opener, and
 * checked again when the page is released (uf__page_unlock). */
static int deferred(struct uf__map *m, uintptr_t addr)
{
	if (atomic_load(&m->cst[uf__chidx(m, addr)]) == CS_OPEN)
		return 0;
	atomic_fetch_or(&m->pst[uf__pgidx(m, addr)], PS_DEFER);
	return 1;
}

int uf__page_prot(const struct uf__map *m, uint8_t state)
{
	return (state & PS_WP) ? (m->prot & ~PROT_WRITE) : m->prot;
}

int uf__page_show(struct uf__map *m, uintptr_t addr, uint8_t state)
{
	/* A chunk still covered shows the page when it opens. */
	if (deferred(m, addr))
		return 0;
	return m->ops->show(m, addr, m->page, uf__page_prot(m, state));
}

int uf__page_hide(struct uf__map *m, uintptr_t addr)
{
	if (deferred(m, addr))
		return 0;
	return m->ops->hide(m, addr, m->page);
}

int uf__page_setwp(struct uf__map *m, uintptr_t addr, uint8_t state)
{
	if (deferred(m, addr))
		return 0;
	/* With guard markers, protection and visibility are independent; with
	 * mprotect they are one thing, and a hidden page stays hidden. */
	if (!m->ops->guards && !(state & PS_MAPPED))
		return 0;
	return mprotect((void *)addr, m->page, uf__page_prot(m, state)) < 0 ? -errno : 0;
}

/* Is every chunk under [addr, addr + len) open? */
static int run_open(const struct uf__map *m, uintptr_t addr, size_t len)
{
	for (size_t ch = uf__chidx(m, addr); ch <= uf__chidx(m, addr + len - 1); ch++)
		if (atomic_load(&m->cst[ch]) != CS_OPEN)
			return 0;
	return 1;
}

int uf__run_show(struct uf__map *m, uintptr_t addr, size_t len, uint8_t state, int setwp)
{
	/* Open chunks (chunks never close again): one call for the run's
	 * protection, then one to show it, as uf__page_setwp/show would do
	 * page by page.  Else page by page, which leaves the pages of a
	 * covered chunk to its opener, without a system call. */
	if (m->ops->guards && run_open(m, addr, len)) {
		int prot = uf__page_prot(m, state);
		if (setwp && mprotect((void *)addr, len, prot) < 0)
			return -errno;
		return m->ops->show(m, addr, len, prot);
	}
	for (uintptr_t a = addr; a < addr + len; a += m->page) {
		int r = setwp ? uf__page_setwp(m, a, state) : 0;
		if (r == 0)
			r = uf__page_show(m, a, state);
		if (r < 0)
			return r;
	}
	return 0;
}

int uf__run_hide(struct uf__map *m, uintptr_t addr, size_t len, uint8_t state, int setwp)
{
	/* Page by page, as whatever part of uf__run_show was done: pages it
	 * left to an opener are left to it again (the opener applies the
	 * state the page is released with). */
	int r = 0;
	for (uintptr_t a = addr; a < addr + len; a += m->page) {
		if (uf__page_hide(m, a) < 0)
			r = -1;
		if (setwp)
			(void)uf__page_setwp(m, a, state);
	}
	return r;
}

/* Apply fn to each run of pages in [from, to) whose state, masked, equals
 * want. */
static int for_runs(struct uf__map *m, uintptr_t from, uintptr_t to, uint8_t mask, uint8_t want,
		    int (*fn)(struct uf__map *, uintptr_t, size_t, int), int prot)
{
	uintptr_t run = 0;
	int have = 0;
	for (uintptr_t a = from; a <= to; a += m->page) {
		int match = a < to && (atomic_load(&m->pst[uf__pgidx(m, a)]) & mask) == want;
		if (match && !have) {
			run = a;
			have = 1;
		} else if (!match && have) {
			int r = fn(m, run, a - run, prot);
			if (r < 0)
				return r;
			have = 0;
		}
	}
	return 0;
}

static int hide_fn(struct uf__map *m, uintptr_t a, size_t len, int prot)
{
	(void)prot;
	return m->ops->hide(m, a, len);
}

static int protect_fn(struct uf__map *m, uintptr_t a, size_t len, int prot)
{
	(void)m;
	return mprotect((void *)a, len, prot) < 0 ? -errno : 0;
}

static int open_run(struct uf__map *m, uintptr_t from, uintptr_t to)
{
	int r, ro = m->prot & ~PROT_WRITE;
	/* A page busy in another operation may change under us: that
	 * operation applies its final state itself once we are done
	 * (uf__page_unlock). */
	if (m->ops->guards) {
		/* Markers first, while the whole chunk is still inaccessible. */
		r = for_runs(m, from, to, PS_MAPPED, 0, hide_fn, 0);
		/* Each page straight to its protection: never writable for a
		 * moment when write-protected (a write then would go unseen,
		 * the loss tests/pagemap_scan.c concurrent_writers caught). */
		if (r == 0)
			r = for_runs(m, from, to, PS_WP, PS_WP, protect_fn, ro);
		if (r == 0)
			r = for_runs(m, from, to, PS_WP, 0, protect_fn, m->prot);
	} else {
		r = for_runs(m, from, to, PS_MAPPED | PS_WP, PS_MAPPED, m->ops->show, m->prot);
		if (r == 0)
			r = for_runs(m, from, to, PS_MAPPED | PS_WP, PS_MAPPED | PS_WP, m->ops->show, ro);
	}
	return r;
}

int uf__chunk_open(struct uf__map *m, size_t ch)
{
	uint8_t exp = CS_COVERED;
	if (!atomic_compare_exchange_strong(&m->cst[ch], &exp, CS_BUSY)) {
		/* Until it is open, or covered again by a failed opening. */
		for (int n = 0; atomic_load(&m->cst[ch]) == CS_BUSY; n++)
			if (n > 100)
				sched_yield();
			else
				cpu_relax();
		return 0;
	}
	uintptr_t from = m->start + (ch << m->chunk_shift);
	uintptr_t to = from + m->chunk;
	if (to > m->end)
		to = m->end;
	/* Only the parts still mapped (uf_munmap may have taken some). */
	int r = 0;
	uintptr_t pos;
	for (pos = from; pos < to && r == 0;) {
		const struct uf__seg *sg = uf__lookup_from(pos);
		if (!sg || sg->start >= to)
			break;
		uintptr_t start = sg->start > pos ? sg->start : pos;
		uintptr_t end = sg->end < to ? sg->end : to;
		if (sg->map == m)
			r = open_run(m, start, end);
		pos = end;
	}
	if (r < 0) {
		/* Out of memory half-way: cover what was opened again, so no
		 * page shows against its state, and let the next fault try
		 * again (tests/inject.c fault_path).  The guard markers put
		 * on hidden pages may stay: they are right. */
		for (uintptr_t p = from; p < pos;) {
			const struct uf__seg *sg = uf__lookup_from(p);
			if (!sg || sg->start >= pos)
				break;
			uintptr_t start = sg->start > p ? sg->start : p;
			uintptr_t end = sg->end < pos ? sg->end : pos;
			if (sg->map == m)
				(void)protect_fn(m, start, end - start, PROT_NONE);
			p = end;
		}
		atomic_store(&m->cst[ch], CS_COVERED);
		return r;
	}
	atomic_store(&m->cst[ch], CS_OPEN);
	return 0;
}
