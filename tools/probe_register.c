/* SPDX-License-Identifier: MIT */
/*
 * probe_register.c - which register modes each memory type accepts, and
 * which range ioctls come back.
 *
 * Every (memory type, mode) pair gets a fresh context: a failed or partial
 * registration must not colour the next answer, and closing the context
 * unregisters everything in one step.  Nothing is ever touched, so no fault
 * can be raised and nothing can block.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "probe.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

const uint64_t probe_modes[PROBE_NMODES] = {
	UFFDIO_REGISTER_MODE_MISSING,
	UFFDIO_REGISTER_MODE_WP,
	UFFDIO_REGISTER_MODE_MINOR,
	UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
	UFFDIO_REGISTER_MODE_WP | UFFDIO_REGISTER_MODE_MINOR,
	UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP | UFFDIO_REGISTER_MODE_MINOR,
};

const struct probe_memtype probe_memtypes[PROBE_NMEM] = {
	[MEM_PRIVATE_ANON]    = { "private_anon", "private anon", 0, 0, 0 },
	[MEM_SHARED_ANON]     = { "shared_anon", "shared anon", 0, 1, 0 },
	[MEM_MEMFD_SHARED]    = { "memfd_shared", "memfd shared", 1, 1, 0 },
	[MEM_MEMFD_PRIVATE]   = { "memfd_private", "memfd private", 1, 0, 0 },
	[MEM_HUGETLB_SHARED]  = { "hugetlb_shared", "hugetlb shared", 1, 1, 1 },
	[MEM_HUGETLB_PRIVATE] = { "hugetlb_private", "hugetlb private", 1, 0, 1 },
};

/* Map one region of the type; MAP_FAILED with *err set on failure. */
static void *map_type(const struct probe_memtype *t, size_t len, int *err)
{
	int flags = t->shared ? MAP_SHARED : MAP_PRIVATE;
	int fd = -1;

	if (t->memfd) {
		fd = memfd_create("userfault-probe", MFD_CLOEXEC | (t->huge ? MFD_HUGETLB : 0));
		if (fd < 0 || ftruncate(fd, (off_t)len) < 0) {
			*err = errno;
			if (fd >= 0)
				close(fd);
			return MAP_FAILED;
		}
	} else {
		flags |= MAP_ANONYMOUS;
	}
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
	*err = p == MAP_FAILED ? errno : 0;
	if (fd >= 0)
		close(fd);	/* the mapping holds the file */
	return p;
}

/* A context with UFFDIO_API done; -errno on failure with why filled. */
static int open_ctx(int engine, char *why, size_t why_len)
{
	struct uf_open_opts o = UF_OPEN_OPTS_INIT;
	o.engine = engine;
	o.why = why;
	o.why_len = why_len;
	int fd = uf_open(O_CLOEXEC | O_NONBLOCK, &o);
	if (fd < 0)
		return fd;
	/* features=0: register answers must not depend on features asked for
	 * (WP_ASYNC, for one, would refuse WP on shmem). */
	int r = uf_api(fd, 0, NULL, NULL);
	if (r < 0) {
		snprintf(why, why_len, "UFFDIO_API failed: %s", errno_name(r));
		uf_close(fd);
		return r;
	}
	return fd;
}

void probe_registration(struct probe_registration *r, int engine, const struct probe_hugetlb *huge)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	memset(r, 0, sizeof(*r));
	r->engine = engine;

	/* One context up front tells whether the engine can be probed at all. */
	int fd = open_ctx(engine, r->why, sizeof(r->why));
	if (fd < 0)
		return;
	uf_close(fd);
	r->ran = 1;

	for (int m = 0; m < PROBE_NMEM; m++) {
		const struct probe_memtype *t = &probe_memtypes[m];
		struct probe_memrow *row = &r->mem[m];
		size_t len = t->huge ? huge->page_size : 2 * page;

		if (t->huge && !huge->available) {
			row->skipped = 1;
			snprintf(row->why, sizeof(row->why), "%s", huge->why);
			continue;
		}
		int err;
		void *p = map_type(t, len, &err);
		if (p == MAP_FAILED) {
			row->skipped = 1;
			snprintf(row->why, sizeof(row->why), "cannot map: %s (%s)", errno_name(err),
				 strerror(err));
			continue;
		}
		for (int k = 0; k < PROBE_NMODES; k++) {
			char why[256];
			struct probe_cell *c = &row->cell[k];
			int cfd = open_ctx(engine, why, sizeof(why));
			if (cfd < 0) {
				c->err = -cfd;
				continue;
			}
			__u64 ioctls = 0;
			int rr = uf_register(cfd, p, len, probe_modes[k], &ioctls);
			c->err = rr < 0 ? -rr : 0;
			c->ioctls = rr < 0 ? 0 : ioctls;
			uf_close(cfd);
		}
		munmap(p, len);
	}
}
