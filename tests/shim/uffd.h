/* SPDX-License-Identifier: MIT */
/*
 * uffd.h - what the shim test programs share.  They are written against the
 * kernel's interface alone (<linux/userfaultfd.h>, syscall(2), ioctl(2),
 * read(2), poll(2)), never against userfault's headers: tests/shim.sh runs
 * each one natively on the kernel and under libuserfault-preload.so on the
 * user engine and compares their output.  So a program prints only what
 * both must agree on: no addresses (offsets into its region instead), no
 * thread ids, no timings.
 *
 * Debian 12's <linux/userfaultfd.h> is Linux 6.1's: what came later
 * (POISON, WP_UNPOPULATED, WP_ASYNC, MOVE) is defined here with the
 * kernel's values, as any program built on an older distribution has to.
 * Exit status: 0 done, 1 a check failed (the message says which), 77 the
 * kernel or engine lacks what the program needs (the message says what).
 */
#ifndef SHIM_UFFD_H
#define SHIM_UFFD_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON		(1 << 14)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE		(1 << 16)
#endif
#ifndef UFFDIO_CONTINUE_MODE_WP
#define UFFDIO_CONTINUE_MODE_WP		((__u64)1 << 1)
#endif
#ifndef _UFFDIO_POISON
#define _UFFDIO_POISON			(0x08)
#define UFFDIO_POISON_MODE_DONTWAKE	((__u64)1 << 0)
struct uffdio_poison {
	struct uffdio_range range;
	__u64 mode;
	__s64 updated;
};
#define UFFDIO_POISON _IOWR(UFFDIO, _UFFDIO_POISON, struct uffdio_poison)
#endif
#ifndef _UFFDIO_MOVE
#define _UFFDIO_MOVE			(0x05)
#define UFFDIO_MOVE_MODE_DONTWAKE	((__u64)1 << 0)
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES ((__u64)1 << 1)
struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
	__u64 mode;
	__s64 move;
};
#define UFFDIO_MOVE _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif
/* PAGEMAP_SCAN (Linux 6.7): Debian 12's <linux/fs.h> predates it. */
#include <linux/fs.h>
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED	(1 << 0)
#define PAGE_IS_WRITTEN		(1 << 1)
#define PAGE_IS_FILE		(1 << 2)
#define PAGE_IS_PRESENT		(1 << 3)
#define PAGE_IS_SWAPPED		(1 << 4)
#define PM_SCAN_WP_MATCHING	(1 << 0)
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)
struct page_region { __u64 start, end, categories; };
struct pm_scan_arg {
	__u64 size, flags, start, end, walk_end, vec, vec_len, max_pages;
	__u64 category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

#define PAGE 4096UL

#define FAIL(...)							\
	do {								\
		printf("FAIL %s:%d: ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		fflush(stdout);						\
		exit(1);						\
	} while (0)
#define CHECK(cond) do { if (!(cond)) FAIL("%s (errno %s)", #cond, strerror(errno)); } while (0)
#define SKIP(...)							\
	do {								\
		printf("SKIP: ");					\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		fflush(stdout);						\
		exit(77);						\
	} while (0)

/* userfaultfd(2) and UFFDIO_API with the features asked for; a feature the
 * kernel (or engine) does not offer is a skip. */
static inline int uffd_open(int flags, __u64 features)
{
	int fd = (int)syscall(__NR_userfaultfd, flags);
	if (fd < 0)
		SKIP("userfaultfd(2): %s", strerror(errno));
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	int probe = (int)syscall(__NR_userfaultfd, O_CLOEXEC);
	CHECK(probe >= 0);
	CHECK(ioctl(probe, UFFDIO_API, &api) == 0);
	close(probe);
	if ((api.features & features) != features)
		SKIP("features 0x%llx not offered", (unsigned long long)(features & ~api.features));
	api.api = UFFD_API;
	api.features = features;
	api.ioctls = 0;
	CHECK(ioctl(fd, UFFDIO_API, &api) == 0);
	return fd;
}

static inline void uffd_register(int fd, void *addr, size_t len, __u64 mode)
{
	struct uffdio_register r = { .range = { (uintptr_t)addr, len }, .mode = mode };
	CHECK(ioctl(fd, UFFDIO_REGISTER, &r) == 0);
}

static inline char *map_anon(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	return p;
}

/* The content a test puts in page i. */
static inline void fill_page(char *p, unsigned long i)
{
	for (size_t k = 0; k < PAGE; k += 8)
		*(uint64_t *)(p + k) = i * 0x9e3779b97f4a7c15ull + k;
}

static inline int page_ok(const char *p, unsigned long i)
{
	for (size_t k = 0; k < PAGE; k += 8)
		if (*(const uint64_t *)(p + k) != i * 0x9e3779b97f4a7c15ull + k)
			return 0;
	return 1;
}

/* One message, waiting with poll(2) as handlers do; -1 on timeout. */
static inline int read_msg(int fd, struct uffd_msg *m, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, timeout_ms);
	if (r == 0)
		return -1;
	CHECK(r == 1 && (p.revents & POLLIN));
	CHECK(read(fd, m, sizeof(*m)) == (ssize_t)sizeof(*m));
	return 0;
}

static inline const char *event_name(unsigned e)
{
	switch (e) {
	case UFFD_EVENT_PAGEFAULT: return "PAGEFAULT";
	case UFFD_EVENT_FORK: return "FORK";
	case UFFD_EVENT_REMAP: return "REMAP";
	case UFFD_EVENT_REMOVE: return "REMOVE";
	case UFFD_EVENT_UNMAP: return "UNMAP";
	default: return "?";
	}
}

#endif /* SHIM_UFFD_H */
