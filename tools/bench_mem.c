/* SPDX-License-Identifier: MIT */
/*
 * bench_mem.c - the memory of one bench row, how its faults are resolved,
 * and the check that they were resolved right.
 *
 * One resolver serves every mode (handler thread, SIGBUS handler, child
 * process), so the modes differ only in who calls it.  It is
 * async-signal-safe: uf_* calls, arithmetic, lock-free atomics.
 *
 * Regions are block aligned (64 KiB rows resolve the aligned block around
 * the fault) and marked MADV_NOHUGEPAGE so every row measures 4 KiB pages
 * whatever the machine's THP setting.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "bench.h"

#define EAGAIN_RETRIES 1000

__u64 bench_register_mode(int op)
{
	switch (op) {
	case OP_WP: return UFFDIO_REGISTER_MODE_WP;
	case OP_CONTINUE: return UFFDIO_REGISTER_MODE_MINOR;
	default: return UFFDIO_REGISTER_MODE_MISSING;
	}
}

__u64 bench_features_needed(const struct bench_row_def *d)
{
	__u64 f = 0;
	if (d->mode == MODE_SIGBUS)
		f |= UFFD_FEATURE_SIGBUS;
	if (d->op == OP_WP)
		f |= UFFD_FEATURE_PAGEFAULT_FLAG_WP;
	if (d->op == OP_CONTINUE)
		f |= UFFD_FEATURE_MINOR_SHMEM;
	if (d->op == OP_MOVE)
		f |= UFFD_FEATURE_MOVE;
	if (d->huge)
		f |= UFFD_FEATURE_MISSING_HUGETLBFS;
	return f;
}

unsigned bench_ioctl_needed(int op)
{
	switch (op) {
	case OP_ZEROPAGE: return _UFFDIO_ZEROPAGE;
	case OP_WP: return _UFFDIO_WRITEPROTECT;
	case OP_CONTINUE: return _UFFDIO_CONTINUE;
	case OP_MOVE: return _UFFDIO_MOVE;
	default: return _UFFDIO_COPY;
	}
}

/* The word a CONTINUE or MOVE row expects at the start of page p. */
static uint64_t page_word(const struct bench_mem *m, size_t p)
{
	return prng_at(m->seed, p) | 1;		/* never 0: a zero page must not pass */
}

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

int bench_mem_setup(struct bench_mem *m, const struct bench_row_def *d, size_t blocks,
		    size_t page, uint64_t seed, const char **what)
{
	memset(m, 0, sizeof(*m));
	m->memfd = -1;
	m->op = d->op;
	m->block = d->block < page ? page : d->block;
	m->page = page;
	m->blocks = blocks;
	m->len = blocks * m->block;
	m->seed = seed;

	/* Reserve len + block and place the region at a block boundary. */
	m->map_len = m->len + m->block;
	*what = "mmap of the region";
	m->map_base = mmap(NULL, m->map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->map_base == MAP_FAILED) {
		m->map_base = NULL;
		return -errno;
	}
	uintptr_t at = ((uintptr_t)m->map_base + m->block - 1) & ~(uintptr_t)(m->block - 1);
	void *r;
	if (d->huge) {
		/* The region is hugetlb itself (block: one huge page). */
		int fl = MAP_FIXED | MAP_HUGETLB | MAP_PRIVATE | MAP_ANONYMOUS, fd = -1;
		if (d->huge == HUGE_SHARED) {
			*what = "memfd_create(MFD_HUGETLB)";
			m->memfd = memfd_create("userfault-bench", MFD_CLOEXEC | MFD_HUGETLB);
			if (m->memfd < 0)
				return -errno;
			*what = "ftruncate of the hugetlb memfd";
			if (ftruncate(m->memfd, (off_t)m->len) < 0)
				return -errno;
			fl = MAP_FIXED | MAP_SHARED;
			fd = m->memfd;
		}
		*what = "mmap of hugetlb memory";
		r = mmap((void *)at, m->len, PROT_READ | PROT_WRITE, fl, fd, 0);
		if (r == MAP_FAILED)
			return -errno;
		m->huge = 1;
	} else if (m->op == OP_CONTINUE) {
		*what = "memfd_create";
		m->memfd = memfd_create("userfault-bench", MFD_CLOEXEC);
		if (m->memfd < 0)
			return -errno;
		*what = "ftruncate of the memfd";
		if (ftruncate(m->memfd, (off_t)m->len) < 0)
			return -errno;
		*what = "mmap of the memfd";
		r = mmap((void *)at, m->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, m->memfd, 0);
		if (r == MAP_FAILED)
			return -errno;
		m->alias = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, m->memfd, 0);
		if (m->alias == MAP_FAILED) {
			m->alias = NULL;
			return -errno;
		}
		/* In the page cache, not in the region's page tables: each
		 * first access is a minor fault. */
		for (size_t p = 0; p < m->len / page; p++)
			*(uint64_t *)(m->alias + p * page) = page_word(m, p);
	} else {
		r = mmap((void *)at, m->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
		if (r == MAP_FAILED)
			return -errno;
		(void)madvise(r, m->len, MADV_NOHUGEPAGE);
	}
	m->region = r;

	if (m->op == OP_WP) {
		/* Present pages: the write-protect fault needs them. */
		for (size_t p = 0; p < m->len / page; p++)
			*(volatile uint64_t *)(m->region + p * page) = 0;
	}
	if (m->op == OP_COPY) {
		*what = "mmap of the source";
		m->src = map_anon(m->block);
		if (!m->src)
			return -errno;
		for (size_t p = 0; p < m->block / page; p++)
			prng_fill_page(m->src + p * page, page, seed, p);
	}
	if (m->op == OP_MOVE) {
		*what = "mmap of the pages to move";
		m->movesrc = map_anon(m->len);
		if (!m->movesrc)
			return -errno;
		for (size_t p = 0; p < m->len / page; p++)
			*(uint64_t *)(m->movesrc + p * page) = page_word(m, p);
	}
	*what = NULL;
	return 0;
}

void bench_prewarm(size_t bytes, size_t page)
{
	unsigned char *p = map_anon(bytes);
	if (!p)
		return;		/* only a warm-up: the row itself will say */
	for (size_t off = 0; off < bytes; off += page)
		p[off] = 1;
	munmap(p, bytes);
}

int bench_mem_arm(struct bench_mem *m, int fd)
{
	if (m->op == OP_WP)
		return uf_writeprotect(fd, m->region, m->len, UFFDIO_WRITEPROTECT_MODE_WP);
	return 0;
}

void bench_mem_free(struct bench_mem *m)
{
	/* Through the library: the user engine's views of hugetlb memory
	 * hold huge pages until it is unmapped there. */
	if (m->huge && m->region)
		uf_munmap(m->region, m->len);
	if (m->map_base)
		munmap(m->map_base, m->map_len);
	if (m->alias)
		munmap(m->alias, m->len);
	if (m->src)
		munmap(m->src, m->block);
	if (m->movesrc)
		munmap(m->movesrc, m->len);
	if (m->memfd >= 0)
		close(m->memfd);
	memset(m, 0, sizeof(*m));
	m->memfd = -1;
}

/* One ioctl over [dst, dst + len); *done: bytes the engine says it did. */
static int resolve_once(int fd, const struct bench_mem *m, unsigned char *dst, size_t len,
			__s64 *done)
{
	size_t off = (size_t)(dst - m->region);
	*done = 0;
	switch (m->op) {
	case OP_COPY: return uf_copy(fd, dst, m->src + off % m->block, len, 0, done);
	case OP_ZEROPAGE: return uf_zeropage(fd, dst, len, 0, done);
	case OP_WP: return uf_writeprotect(fd, dst, len, 0);
	case OP_CONTINUE: return uf_continue(fd, dst, len, 0, done);
	case OP_MOVE: return uf_move(fd, dst, m->movesrc + off, len, 0, done);
	default: return -EINVAL;
	}
}

int bench_resolve(int fd, const struct bench_mem *m, uintptr_t addr, struct bench_counts *c)
{
	uintptr_t base = (uintptr_t)m->region;
	if (addr < base || addr - base >= m->len)
		return -EFAULT;		/* not ours */
	unsigned char *dst = m->region + ((addr - base) & ~(uintptr_t)(m->block - 1));
	size_t len = m->block;

	for (int tries = 0;; tries++) {
		__s64 done;
		int r = resolve_once(fd, m, dst, len, &done);
		if (r == 0)
			return 0;
		if (r == -EEXIST) {
			/* Someone resolved it first: waking is harmless and
			 * covers a resolver that did not wake. */
			atomic_fetch_add(&c->eexist, 1);
			uf_wake(fd, dst, len);
			return 0;
		}
		if (r != -EAGAIN || tries >= EAGAIN_RETRIES)
			return r;
		/* A part may be done (mmap_changing mid-way): go on from there. */
		if (done > 0 && (size_t)done < len) {
			dst += done;
			len -= (size_t)done;
		}
		atomic_fetch_add(&c->eagain, 1);
		sched_yield();
	}
}

uint64_t bench_touch(const struct bench_mem *m, size_t i)
{
	volatile uint64_t *w = (volatile uint64_t *)(m->region + i * m->block);
	if (m->op == OP_WP) {
		*w = i + 1;
		return 0;
	}
	return *w;
}

size_t bench_mem_verify(const struct bench_mem *m, const uint32_t *blocks, size_t n)
{
	size_t bad = 0, per = m->block / m->page;
	for (size_t i = 0; i < n; i++) {
		size_t b = blocks[i];
		const unsigned char *blk = m->region + b * m->block;
		int ok = 1;
		switch (m->op) {
		case OP_COPY:
			ok = memcmp(blk, m->src, m->block) == 0;
			break;
		case OP_ZEROPAGE:
			for (size_t p = 0; p < per && ok; p++)
				ok = *(const uint64_t *)(blk + p * m->page) == 0;
			break;
		case OP_WP:
			ok = *(const uint64_t *)blk == b + 1;
			break;
		case OP_CONTINUE:
		case OP_MOVE:
			for (size_t p = 0; p < per && ok; p++)
				ok = *(const uint64_t *)(blk + p * m->page) == page_word(m, b * per + p);
			break;
		}
		bad += !ok;
	}
	return bad;
}
