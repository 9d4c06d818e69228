/* SPDX-License-Identifier: MIT */
/*
 * dirty_track.c - which pages changed since the last snapshot, for
 * incremental snapshots, with UFFD_FEATURE_WP_ASYNC.
 *
 * An incremental snapshot saves only the pages written since the previous
 * one.  With WP_ASYNC, write-protection becomes a dirty bit: protect the
 * range, and the first write to each page lifts its protection inside the
 * kernel, with no message and no waiting, so the program runs at full speed.
 * Later, the pages that lost their protection are the written ones.  The
 * kernel reports them through the PAGEMAP_SCAN ioctl on /proc/self/pagemap
 * (Linux 6.7), which can also protect them again in the same call
 * (PM_SCAN_WP_MATCHING); uf_pagemap_scan() is that ioctl on either engine
 * (the user engine answers for the memory it manages).  Protect everything
 * once; then each round: let the program write, collect the written pages
 * while re-protecting them, copy just those into the snapshot.
 *
 * Checked: each round reports exactly the pages that were written, the
 * incrementally updated snapshot equals the memory, and no fault message was
 * ever queued.
 *
 *   build/examples/dirty_track [--engine=kernel|user|auto]
 *   exit 0 verified, 1 wrong result, 2 usage error, 77 the engine cannot run it
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <userfault.h>

#define NAME		"dirty_track"
#define PAGES		2048
#define ROUNDS		4

_Noreturn static void __attribute__((format(printf, 2, 3))) finish(int status, const char *fmt, ...)
{
	va_list ap;
	printf("%s: %s: ", NAME, status == 0 ? "OK" : status == 77 ? "SKIP" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(status);
}

static int parse_engine(int argc, char **argv)
{
	int engine = UF_ENGINE_AUTO;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: %s [--engine=kernel|user|auto]\n"
			       "Track written pages with UFFD_FEATURE_WP_ASYNC for incremental snapshots.\n"
			       "Exit: 0 verified, 1 wrong result, 2 usage error, 77 the engine cannot run it.\n",
			       NAME);
			exit(0);
		}
		if (strncmp(argv[i], "--engine=", 9) == 0) {
			for (engine = UF_ENGINE_AUTO; engine <= UF_ENGINE_USER; engine++)
				if (strcmp(argv[i] + 9, uf_engine_name(engine)) == 0)
					break;
			if (engine <= UF_ENGINE_USER)
				continue;
		}
		fprintf(stderr, "%s: bad argument '%s' (try --help)\n", NAME, argv[i]);
		exit(2);
	}
	return engine;
}

/* A context on `engine` with `features`; or the SKIP verdict saying why not. */
static int open_context(int engine, __u64 features, const char *feature_name)
{
	char why[256] = "";
	struct uf_open_opts o = UF_OPEN_OPTS_INIT;
	o.engine = engine;
	o.why = why;
	o.why_len = sizeof(why);
	int fd = uf_open(O_CLOEXEC | O_NONBLOCK, &o);
	if (fd < 0)
		finish(77, "%s engine: %s", uf_engine_name(engine), why[0] ? why : strerror(-fd));
	int r = uf_api(fd, features, NULL, NULL);
	if (r == -EINVAL) {
		/* UFFDIO_API fails as a whole, and a context takes only one:
		 * ask a fresh context what this engine has. */
		__u64 have = 0;
		int fd2 = uf_open(O_CLOEXEC, &o);
		if (fd2 >= 0) {
			(void)uf_api(fd2, 0, &have, NULL);
			uf_close(fd2);
		}
		if ((have & features) != features)
			finish(77, "%s engine: no %s", uf_engine_name(uf_engine(fd)), feature_name);
	}
	if (r < 0)
		finish(1, "UFFDIO_API: %s", strerror(-r));
	printf("engine: %s%s\n", uf_engine_name(uf_engine(fd)), engine == UF_ENGINE_AUTO ? " (auto)" : "");
	return fd;
}

/* Which pages of [mem, mem + PAGES pages) were written since the last
 * call: marked in written[], and protected again in the same step, so a
 * write that comes later is seen next time.  A full vec ends a call early
 * (walk_end): call again from there.  0, or -errno. */
static long collect_written(const char *mem, size_t page, unsigned char *written)
{
	struct page_region vec[32];
	__u64 start = (__u64)(uintptr_t)mem, end = start + PAGES * page;
	memset(written, 0, PAGES);
	while (start < end) {
		struct pm_scan_arg a = {
			.size = sizeof(a),
			.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			.start = start, .end = end,
			.vec = (__u64)(uintptr_t)vec, .vec_len = 32,
			.category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN,
		};
		long n = uf_pagemap_scan(&a);
		if (n < 0)
			return n;
		for (long i = 0; i < n; i++)
			for (__u64 p = vec[i].start; p < vec[i].end; p += page)
				written[(p - (__u64)(uintptr_t)mem) / page] = 1;
		start = a.walk_end;
	}
	return 0;
}

/* The program's writes in a round: about one page in six, a different set
 * each round, at a place inside the page that varies too. */
static size_t program_writes(char *mem, size_t page, unsigned round, unsigned char *wrote)
{
	size_t n = 0;
	for (size_t i = 0; i < PAGES; i++) {
		uint32_t h = (uint32_t)i * 2654435761u ^ round * 0x85ebca6bu;
		h ^= h >> 15;
		h *= 0x2c1b3c6du;
		h ^= h >> 12;
		wrote[i] = h % 6 == 0;
		if (wrote[i]) {
			mem[i * page + (i + round) % page] += 1;
			n++;
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	int engine = parse_engine(argc, argv);
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = PAGES * page;
	/* WP_ASYNC implies WP_UNPOPULATED: pages never touched are
	 * protected too, and their first write shows as well. */
	int fd = open_context(engine, UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_WP_ASYNC,
			      "UFFD_FEATURE_WP_ASYNC");
	char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *snap = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *wrote = calloc(PAGES, 1), *found = calloc(PAGES, 1);
	if (mem == MAP_FAILED || snap == MAP_FAILED || !wrote || !found)
		finish(1, "out of memory");
	/* Small pages only: a first write into a protected huge page makes
	 * the kernel split it, which costs time and gains nothing here. */
	madvise(mem, len, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < len; i++)
		mem[i] = (char)(i / page);
	int r = uf_register(fd, mem, len, UFFDIO_REGISTER_MODE_WP, NULL);
	if (r < 0)
		finish(1, "UFFDIO_REGISTER: %s", strerror(-r));
	r = uf_writeprotect(fd, mem, len, UFFDIO_WRITEPROTECT_MODE_WP);
	if (r < 0)
		finish(1, "UFFDIO_WRITEPROTECT: %s", strerror(-r));
	memcpy(snap, mem, len);		/* the first, full snapshot */
	printf("full snapshot: %d pages\n", PAGES);

	size_t wrong = 0, stale = 0;
	for (unsigned round = 1; round <= ROUNDS; round++) {
		size_t n = program_writes(mem, page, round, wrote);
		long e = collect_written(mem, page, found);
		if (e == -ENOTTY || e == -EINVAL)
			finish(77, "PAGEMAP_SCAN is not available here (Linux 6.7 or later): %s", strerror((int)-e));
		if (e < 0)
			finish(1, "PAGEMAP_SCAN: %s", strerror((int)-e));
		size_t reported = 0, round_wrong = 0;
		for (size_t i = 0; i < PAGES; i++) {
			reported += found[i];
			round_wrong += found[i] != wrote[i];
			if (found[i])	/* the incremental part */
				memcpy(snap + i * page, mem + i * page, page);
		}
		int same = memcmp(snap, mem, len) == 0;
		printf("round %u: %zu pages written, %zu reported written, snapshot updated with those: %s\n",
		       round, n, reported, same ? "equal to memory" : "DIFFERENT from memory");
		wrong += round_wrong;
		stale += !same;
	}

	/* The kernel resolved every write itself: nothing was queued. */
	struct uffd_msg m;
	ssize_t queued = uf_read(fd, &m, 1);
	uf_close(fd);
	munmap(mem, len);
	munmap(snap, len);
	free(wrote);
	free(found);
	if (wrong || stale)
		finish(1, "%zu pages misreported, %zu rounds with a wrong snapshot", wrong, stale);
	if (queued != -EAGAIN)
		finish(1, "a message was queued (read gave %zd); WP_ASYNC should queue none", queued);
	finish(0, "%d rounds: exactly the written pages reported, each incremental snapshot equal to memory",
	       ROUNDS);
}
