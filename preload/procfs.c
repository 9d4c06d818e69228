/* SPDX-License-Identifier: MIT */
/*
 * procfs.c - what /proc shows about a user-engine descriptor and its memory,
 * made to read as the kernel's userfaultfd would.
 *
 *  - readlink("/proc/self/fd/N") gives "anon_inode:[userfaultfd]";
 *  - opening "/proc/self/fdinfo/N" (open, openat, fopen) gives a snapshot
 *    with the kernel's fields: pos, flags (O_RDONLY, O_NONBLOCK, O_CLOEXEC
 *    as the kernel's file has them), mnt_id (the kernel's anonymous-inode
 *    mount, read from an eventfd), ino (the socket's: the kernel's own
 *    inode number for the context does not exist here), then pending,
 *    total and API as fs/userfaultfd.c prints them;
 *  - reads of /proc/self/pagemap through read(2)/pread(2) get bit 57
 *    (PM_UFFD_WP) set for pages the engine holds write-protected, so
 *    WP_ASYNC dirty tracking reads as it does on the kernel.
 *
 * "self", "thread-self" and this process's id are recognised; other
 * processes' /proc entries are not (docs/LIMITATIONS.md).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "shim.h"

#define PM_UFFD_WP (1ull << 57)

/* After "/proc/" + self|thread-self|our pid + "/": the rest, or NULL. */
static const char *own_proc(const char *path)
{
	if (!path || strncmp(path, "/proc/", 6) != 0)
		return NULL;
	const char *p = path + 6;
	if (strncmp(p, "self/", 5) == 0)
		return p + 5;
	if (strncmp(p, "thread-self/", 12) == 0)
		return p + 12;
	char *end;
	long pid = strtol(p, &end, 10);
	if (end == p || *end != '/' || pid != (long)uf__pid())
		return NULL;
	return end + 1;
}

/* "<dir>/N" with N one of our descriptors: N, else -1. */
static int our_fd_under(const char *rest, const char *dir)
{
	size_t n = strlen(dir);
	if (!rest || strncmp(rest, dir, n) != 0 || rest[n] != '/')
		return -1;
	char *end;
	long fd = strtol(rest + n + 1, &end, 10);
	if (end == rest + n + 1 || *end || fd < 0 || fd > INT32_MAX)
		return -1;
	struct uf__ctx *c = uf__shim_ctx((int)fd);
	if (!c)
		return -1;
	uf__ctx_put(c);
	return (int)fd;
}

static ssize_t link_text(char *buf, size_t n)
{
	static const char target[] = "anon_inode:[userfaultfd]";
	size_t k = sizeof(target) - 1 < n ? sizeof(target) - 1 : n;
	memcpy(buf, target, k);		/* readlink does not terminate */
	return (ssize_t)k;
}

UF_SHIM_EXPORT ssize_t readlink(const char *path, char *buf, size_t n)
{
	if (uf__shim_on() && our_fd_under(own_proc(path), "fd") >= 0)
		return link_text(buf, n);
	return uf__real_readlink(path, buf, n);
}

UF_SHIM_EXPORT ssize_t readlinkat(int dir, const char *path, char *buf, size_t n)
{
	if (uf__shim_on() && (path[0] == '/' || dir == AT_FDCWD) &&
	    our_fd_under(own_proc(path), "fd") >= 0)
		return link_text(buf, n);
	return uf__real_readlinkat(dir, path, buf, n);
}

/* ------------------------------------------------------------------------ */
/* fdinfo                                                                   */

/* The mount the kernel's anonymous inodes live on, as fdinfo numbers it. */
static int anon_mnt_id(void)
{
	static atomic_int cached = -1;
	int v = atomic_load(&cached);
	if (v >= 0)
		return v;
	int e = eventfd(0, EFD_CLOEXEC);
	if (e < 0)
		return 0;
	char path[64], text[512];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", e);
	int f = uf__real_open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k = f >= 0 ? uf__real_read(f, text, sizeof(text) - 1) : -1;
	if (f >= 0)
		uf__real_close(f);
	uf__real_close(e);
	v = 0;
	if (k > 0) {
		text[k] = '\0';
		const char *m = strstr(text, "mnt_id:");
		if (m)
			v = atoi(m + 7);
	}
	atomic_store(&cached, v);
	return v;
}

static int fdinfo_open(int fd, int flags)
{
	struct uf__ctx *c = uf__shim_ctx(fd);
	if (!c)
		return -ENOENT;
	int fl = uf__real_fcntl(fd, F_GETFL), fdfl = uf__real_fcntl(fd, F_GETFD);
	unsigned kflags = (unsigned)(fl & O_NONBLOCK) | ((fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0);
	unsigned long pending, total;
	uf__fault_counts(c, &pending, &total);
	unsigned features = atomic_load(&c->api) == 2 ? (unsigned)c->features | 0x80000000u : 0;
	char text[512];
	int n = snprintf(text, sizeof(text),
			 "pos:\t0\nflags:\t0%o\nmnt_id:\t%d\nino:\t%lu\n"
			 "pending:\t%lu\ntotal:\t%lu\nAPI:\t%llx:%x:%llx\n",
			 kflags, anon_mnt_id(), (unsigned long)c->ino, pending, total,
			 (unsigned long long)UFFD_API, features,
			 (unsigned long long)(UFFD_API_IOCTLS | UFFD_API_RANGE_IOCTLS));
	uf__ctx_put(c);
	/* A file with that text: a memfd, read from the start like the real one. */
	int m = memfd_create("userfaultfd-fdinfo", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (m < 0)
		return -errno;
	if (uf__real_write(m, text, (size_t)n) != n || lseek(m, 0, SEEK_SET) != 0) {
		int err = errno;
		uf__real_close(m);
		return -err;
	}
	return m;
}

/* ------------------------------------------------------------------------ */
/* pagemap                                                                  */

#define PAGEMAPS 32
static atomic_int pagemaps[PAGEMAPS];	/* descriptor + 1 */
static atomic_int npagemaps;

int uf__shim_is_pagemap(int fd)
{
	if (atomic_load(&npagemaps) == 0)
		return 0;
	for (int i = 0; i < PAGEMAPS; i++)
		if (atomic_load(&pagemaps[i]) == fd + 1)
			return 1;
	return 0;
}

void uf__shim_pagemap_closed(int fd)
{
	for (int i = 0; i < PAGEMAPS; i++) {
		int want = fd + 1;
		if (atomic_compare_exchange_strong(&pagemaps[i], &want, 0)) {
			atomic_fetch_sub(&npagemaps, 1);
			return;
		}
	}
}

static int pagemap_open(const char *path, int flags)
{
	int fd = uf__real_open(path, flags);
	if (fd < 0)
		return -errno;
	for (int i = 0; i < PAGEMAPS; i++) {
		int free_slot = 0;
		if (atomic_compare_exchange_strong(&pagemaps[i], &free_slot, fd + 1)) {
			atomic_fetch_add(&npagemaps, 1);
			break;
		}
	}
	return fd;	/* more than PAGEMAPS open at once: read unchanged */
}

ssize_t uf__shim_pagemap_fix(int fd, void *buf, ssize_t got, off_t off)
{
	(void)fd;
	if (got <= 0 || off < 0 || (off & 7))
		return got;
	unsigned char *b = buf;
	unsigned tok = uf__enter();
	for (ssize_t i = 0; i + 8 <= got; i += 8) {
		uintptr_t va = (uintptr_t)((off + i) / 8) * 4096;
		const struct uf__seg *s = uf__lookup(va);
		if (!s)
			continue;
		const struct uf__map *m = s->map;
		if (atomic_load(&m->cst[uf__chidx(m, va)]) != CS_OPEN)
			continue;
		if (atomic_load(&m->pst[uf__pgidx(m, va)]) & PS_WP) {
			unsigned long long e;
			memcpy(&e, b + i, 8);
			e |= PM_UFFD_WP;
			memcpy(b + i, &e, 8);
		}
	}
	uf__leave(tok);
	return got;
}

int uf__shim_proc_open(const char *path, int flags)
{
	const char *rest = own_proc(path);
	if (!rest)
		return UF_SHIM_PASS;
	if (strcmp(rest, "pagemap") == 0)
		return pagemap_open(path, flags);
	int fd = our_fd_under(rest, "fdinfo");
	if (fd >= 0)
		return fdinfo_open(fd, flags);
	return UF_SHIM_PASS;
}

static FILE *fopen_common(const char *path, const char *mode, FILE *(*real)(const char *, const char *))
{
	if (uf__shim_on()) {
		int fd = our_fd_under(own_proc(path), "fdinfo");
		if (fd >= 0) {
			int m = fdinfo_open(fd, strchr(mode, 'e') ? O_CLOEXEC : 0);
			if (m < 0) {
				errno = -m;
				return NULL;
			}
			FILE *f = fdopen(m, mode);
			if (!f)
				uf__real_close(m);
			return f;
		}
	}
	return real(path, mode);
}

UF_SHIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
	return fopen_common(path, mode, uf__real_fopen);
}

UF_SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return fopen_common(path, mode, uf__real_fopen64);
}
