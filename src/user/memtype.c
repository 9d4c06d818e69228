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
 * split, so no vm.max_map_count wall), mprotect otherwise.
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

static const struct uf__memops ops[] = {
	[UU_ANON] = { "anon", UU_ANON, 1, guard_hide, guard_show },
	[UU_SHMEM] = { "shmem", UU_SHMEM, 1, guard_hide, guard_show },
	[UU_SHMEM_PRIVATE] = { "shmem-private", UU_SHMEM_PRIVATE, 1, guard_hide, guard_show },
	[UU_HUGETLB] = { "hugetlb", UU_HUGETLB, 0, prot_hide, prot_show },
	[UU_HUGETLB_PRIVATE] = { "hugetlb-private", UU_HUGETLB_PRIVATE, 0, prot_hide, prot_show },
};

const struct uf__memops *uf__memops_of(int kind)
{
	if (kind < 0 || (size_t)kind >= UF_ARRAY_SIZE(ops))
		return NULL;
	return &ops[kind];
}
