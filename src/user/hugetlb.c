/* SPDX-License-Identifier: MIT */
/*
 * hugetlb.c - what hugetlb memory needs that the other types do not.
 *
 * Two things the kernel gives shmem but not hugetlbfs:
 *
 * - A second view of a shared mapping.  The engine makes shmem's alias with
 *   mremap(old_size = 0), which hugetlb refuses (EINVAL), so the alias of a
 *   shared hugetlb mapping is an mmap of its file: opened through
 *   /proc/self/map_files (needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE), or
 *   found among the program's own descriptors by device and inode (programs
 *   that share hugetlb memory usually keep the file open).
 *
 * - Asking whether a page is in the file's page cache.  lseek(SEEK_DATA)
 *   sees no holes on hugetlbfs, and mincore and /proc/self/pagemap see only
 *   what one mapping has mapped.  What works: in a MAP_PRIVATE view of the
 *   file, read-fault the page in (MADV_POPULATE_READ); it is the page cache's
 *   page if there is one (pagemap's PM_FILE bit set), else a fresh anonymous
 *   page, given back at once (MADV_DONTNEED).  It takes one free huge page
 *   for a moment.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "user.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

#define PM_PRESENT	(1ULL << 63)
#define PM_FILE		(1ULL << 61)

/* Does the open file fd have this device and inode? */
static int same_file(int fd, unsigned dev_major, unsigned dev_minor, unsigned long long ino)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_ino == ino &&
	       major(st.st_dev) == dev_major && minor(st.st_dev) == dev_minor;
}

int uf__hugetlb_open(uintptr_t vma_start, uintptr_t vma_end, unsigned dev_major,
		     unsigned dev_minor, unsigned long long ino)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)vma_start,
		 (unsigned long)vma_end);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		if (same_file(fd, dev_major, dev_minor, ino))
			return fd;
		close(fd);
	}
	/* Without the capability: one of the program's descriptors. */
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -EPERM;
	int r = -EPERM;
	struct dirent *e;
	while (r == -EPERM && (e = readdir(d)) != NULL) {
		char *end;
		long n = strtol(e->d_name, &end, 10);
		if (*end || e->d_name[0] == '\0' || n == dirfd(d) || !same_file((int)n, dev_major, dev_minor, ino))
			continue;
		/* A new open of the same file, read-write: the descriptor
		 * found may be read-only, and is the program's to close. */
		snprintf(path, sizeof(path), "/proc/self/fd/%ld", n);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && same_file(fd, dev_major, dev_minor, ino))
			r = fd;
		else if (fd >= 0)
			close(fd);
	}
	closedir(d);
	return r;
}

int uf__hugetlb_cached(char *view, size_t page)
{
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		return 0;
	uint64_t e = 0;
	off_t at = (off_t)((uintptr_t)view / 4096) * 8;
	/* Already faulted in by an earlier look: no need to allocate. */
	if (pread(pm, &e, 8, at) != 8)
		e = 0;
	if (!(e & PM_PRESENT)) {
		/* No free huge page to look with: the page reads as not
		 * there (docs/LIMITATIONS.md). */
		if (madvise(view, page, MADV_POPULATE_READ) < 0 || pread(pm, &e, 8, at) != 8)
			e = 0;
	}
	close(pm);
	int cached = (e & PM_PRESENT) && (e & PM_FILE);
	/* A private copy (the hole read as zeroes) goes back to the pool; the
	 * file's own page may stay mapped, read-only, for the next look. */
	if ((e & PM_PRESENT) && !cached)
		madvise(view, page, MADV_DONTNEED);
	return cached;
}

/* Has the VMA at vma_start VM_MAYWRITE (smaps' "mw")?  A shared mapping of
 * a file opened read-only has not, and the kernel refuses it with EPERM;
 * the engine's own descriptor of the file, opened afresh, cannot tell. */
static int may_write(uintptr_t vma_start)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	if (!f)
		return 1;	/* cannot tell: as the kernel mostly finds */
	char line[512], head[32];
	snprintf(head, sizeof(head), "%lx-", (unsigned long)vma_start);
	int in = 0, r = 1;
	while (fgets(line, sizeof(line), f)) {
		if (!in) {
			in = !strncmp(line, head, strlen(head));
			continue;
		}
		if (!strncmp(line, "VmFlags:", 8)) {
			r = strstr(line, " mw") != NULL;
			break;
		}
	}
	fclose(f);
	return r;
}

int uf__hugetlb_views(struct uf__map *m, uintptr_t vma_start, uintptr_t vma_end, unsigned dev_major,
		      unsigned dev_minor, unsigned long long ino, unsigned long long off)
{
	size_t len = m->end - m->start;
	if (!may_write(vma_start))
		return -EPERM;
	int fd = uf__hugetlb_open(vma_start, vma_end, dev_major, dev_minor, ino);
	if (fd < 0)
		return fd;
	int r = 0;
	void *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	if (a == MAP_FAILED)
		r = errno == EACCES ? -EPERM : -errno;
	else
		m->alias = a;
	/* MAP_NORESERVE: a look takes a huge page only while it looks. */
	void *p = r ? MAP_FAILED : mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_NORESERVE, fd, (off_t)off);
	if (r == 0 && p == MAP_FAILED)
		r = -errno;
	else if (r == 0)
		m->peek = p;
	close(fd);
	return r;
}

void *uf__hugetlb_file_view(uintptr_t vma_start, uintptr_t vma_end, unsigned dev_major,
			    unsigned dev_minor, unsigned long long ino, unsigned long long off,
			    size_t len)
{
	int fd = uf__hugetlb_open(vma_start, vma_end, dev_major, dev_minor, ino);
	if (fd < 0)
		return NULL;
	void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_NORESERVE, fd, (off_t)off);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}
