/* SPDX-License-Identifier: MIT */
/*
 * memtype.c - what differs per memory type, in one ops table.
 *
 * This is the seam the kernel has as vm_uffd_ops.  Every type the user
 * engine serves is shown to the application as a MAP_SHARED mapping of some
 * file (the program's own shmem file, or an engine-owned memfd standing in
 * for private memory), so filling a page is always "write the file through
 * the engine's alias view, then show the page".  What differs is how a page
 * is hidden: a guard marker where the kernel has them for that type (no VMA
 * split, so no vm.max_map_count wall), mprotect otherwise (hugetlb: the
 * kernel refuses guard markers there), and how the engine asks whether a
 * page has content (in the file's page cache, or in the engine's memfd).
 *
 * All functions are signal-safe (system calls only).
 */
#include <errno.h>
#include <sys/mman.h>
#include "user.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif

static int guard_hide(struct uf__map *m, uintptr_t addr, size_t len)
{
	(void)m;
	return madvise((void *)addr, len, MADV_GUARD_INSTALL) < 0 ? -errno : 0;
}

static int guard_show(struct uf__map *m, uintptr_t addr, size_t len, int prot)
{
	(void)m;
	(void)prot;
	return madvise((void *)addr, len, MADV_GUARD_REMOVE) < 0 ? -errno : 0;
}

static int prot_hide(struct uf__map *m, uintptr_t addr, size_t len)
{
	(void)m;
	return mprotect((void *)addr, len, PROT_NONE) < 0 ? -errno : 0;
}

static int prot_show(struct uf__map *m, uintptr_t addr, size_t len, int prot)
{
	(void)m;
	return mprotect((void *)addr, len, prot) < 0 ? -errno : 0;
}

/* Private memory's content is the engine's memfd, which holds exactly the
 * pages the engine filled and did not drop since: those marked mapped. */
static int engine_cached(const struct uf__map *m, uintptr_t addr)
{
	return (atomic_load(&m->pst[uf__pgidx(m, addr)]) & PS_MAPPED) != 0;
}

/* Is the 4 KiB page at view mapped there?  (One byte of mincore: for a huge
 * page, its first 4 KiB stand for it.) */
static int mapped_in(const char *view)
{
	unsigned char v = 0;
	return uf__mincore((void *)view, 4096, &v) == 0 && (v & 1);
}

/* shmem: mincore sees the page cache through any mapping. */
static int shmem_cached(const struct uf__map *m, uintptr_t addr)
{
	return mapped_in(m->alias + (addr - m->start));
}

static int shmem_upstream_cached(const struct uf__map *m, uintptr_t addr)
{
	return mapped_in(m->upstream + (addr - m->start));
}

/* hugetlb: mincore sees only what one mapping maps.  The alias maps every
 * page the engine filled; others (written through another mapping of the
 * file) take a look through the private view (hugetlb.c). */
static int hugetlb_cached(const struct uf__map *m, uintptr_t addr)
{
	size_t off = addr - m->start;
	return mapped_in(m->alias + off) || uf__hugetlb_cached(m->peek + off, m->page);
}

static int hugetlb_upstream_cached(const struct uf__map *m, uintptr_t addr)
{
	/* Nothing to look at: a look would take a huge page (zeroed, given
	 * back) per fault to learn what is known. */
	if (m->anon_file)
		return 0;
	return uf__hugetlb_cached(m->upstream + (addr - m->start), m->page);
}

static const struct uf__memops ops[] = {
	[UU_ANON] = { "anon", UU_ANON, 1, 0, guard_hide, guard_show, engine_cached, NULL },
	[UU_SHMEM] = { "shmem", UU_SHMEM, 1, 1, guard_hide, guard_show, shmem_cached, NULL },
	[UU_SHMEM_PRIVATE] = { "shmem-private", UU_SHMEM_PRIVATE, 1, 0, guard_hide, guard_show,
			       engine_cached, shmem_upstream_cached },
	[UU_HUGETLB] = { "hugetlb", UU_HUGETLB, 0, 1, prot_hide, prot_show, hugetlb_cached, NULL },
	[UU_HUGETLB_PRIVATE] = { "hugetlb-private", UU_HUGETLB_PRIVATE, 0, 0, prot_hide, prot_show,
				 engine_cached, hugetlb_upstream_cached },
};

int uf__upstream_has(const struct uf__map *m, uintptr_t addr)
{
	return m->upstream && m->ops->upstream_cached && m->ops->upstream_cached(m, addr);
}

const struct uf__memops *uf__memops_of(int kind)
{
	if (kind < 0 || (size_t)kind >= UF_ARRAY_SIZE(ops))
		return NULL;
	return &ops[kind];
}
