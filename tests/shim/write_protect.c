/* SPDX-License-Identifier: MIT */
/*
 * write_protect: pages filled, then write-protected; a write blocks with a
 * WP fault (flags WRITE|WP) until the handler removes the protection; reads
 * never fault.  Then WP_ASYNC dirty tracking through /proc/self/pagemap:
 * bit 57 (PM_UFFD_WP) read with pread (written pages lose the bit, others
 * keep it), and the PAGEMAP_SCAN ioctl, which lists the written pages and
 * protects them again.
 */
#include "uffd.h"

#define NPAGES 8
#define PM_UFFD_WP (1ull << 57)

static int uffd;
static char *region;

static void *writer(void *arg)
{
	(void)arg;
	region[3 * PAGE + 1] = 42;
	return NULL;
}

static void protect(int fd, char *p, size_t len, int on)
{
	struct uffdio_writeprotect wp = { .range = { (uintptr_t)p, len },
					  .mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0 };
	CHECK(ioctl(fd, UFFDIO_WRITEPROTECT, &wp) == 0);
}

static void sync_wp(void)
{
	uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, UFFD_FEATURE_PAGEFAULT_FLAG_WP);
	region = map_anon(NPAGES * PAGE);
	memset(region, 1, NPAGES * PAGE);
	uffd_register(uffd, region, NPAGES * PAGE, UFFDIO_REGISTER_MODE_WP);
	protect(uffd, region, NPAGES * PAGE, 1);
	printf("read under wp: %d\n", region[3 * PAGE + 1]);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, writer, NULL) == 0);
	struct uffd_msg m;
	if (read_msg(uffd, &m, 10000) < 0)
		FAIL("no wp fault");
	printf("fault page %lu flags%s%s\n", (unsigned long)((m.arg.pagefault.address - (uintptr_t)region) / PAGE),
	       (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE) ? " WRITE" : "",
	       (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) ? " WP" : "");
	protect(uffd, region + 3 * PAGE, PAGE, 0);
	CHECK(pthread_join(t, NULL) == 0);
	printf("after unprotect: %d\n", region[3 * PAGE + 1]);
	struct uffdio_writeprotect bad = { .range = { (uintptr_t)region, PAGE },
					   .mode = UFFDIO_WRITEPROTECT_MODE_WP | UFFDIO_WRITEPROTECT_MODE_DONTWAKE };
	int r = ioctl(uffd, UFFDIO_WRITEPROTECT, &bad);
	printf("wp|dontwake: %d %s\n", r, strerror(errno));
	close(uffd);
	munmap(region, NPAGES * PAGE);
}

/* The written pages of the region through the PAGEMAP_SCAN ioctl. */
static void scan_written(int pm, unsigned long long flags)
{
	struct page_region v[NPAGES];
	struct pm_scan_arg a = { .size = sizeof(a), .flags = flags, .start = (uintptr_t)region,
				 .end = (uintptr_t)region + NPAGES * PAGE, .vec = (uintptr_t)v, .vec_len = NPAGES,
				 .category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN };
	int n = ioctl(pm, PAGEMAP_SCAN, &a);
	printf("pagemap_scan written (flags %llx): %d:", flags, n);
	for (int i = 0; i < n; i++)
		printf(" [%lu,%lu)", (unsigned long)((v[i].start - (uintptr_t)region) / PAGE),
		       (unsigned long)((v[i].end - (uintptr_t)region) / PAGE));
	printf(" walk_end %lu\n", (unsigned long)((a.walk_end - (uintptr_t)region) / PAGE));
}

static void async_wp(void)
{
	uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED);
	region = map_anon(NPAGES * PAGE);
	memset(region, 1, NPAGES * PAGE);
	uffd_register(uffd, region, NPAGES * PAGE, UFFDIO_REGISTER_MODE_WP);
	protect(uffd, region, NPAGES * PAGE, 1);
	region[1 * PAGE] = 2;
	region[6 * PAGE + 9] = 2;
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	CHECK(pm >= 0);
	uint64_t e[NPAGES];
	CHECK(pread(pm, e, sizeof(e), (off_t)((uintptr_t)region / PAGE) * 8) == (ssize_t)sizeof(e));
	printf("wp_async written:");
	for (int i = 0; i < NPAGES; i++)
		printf(" %d", (e[i] & PM_UFFD_WP) ? 0 : 1);
	printf("\n");
	scan_written(pm, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC);
	scan_written(pm, 0);
	region[2 * PAGE] = 3;
	scan_written(pm, 0);
	/* Everything it knows of the pages, in regions. */
	struct page_region v[NPAGES];
	struct pm_scan_arg a = { .size = sizeof(a), .start = (uintptr_t)region,
				 .end = (uintptr_t)region + NPAGES * PAGE, .vec = (uintptr_t)v, .vec_len = NPAGES,
				 .return_mask = PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN | PAGE_IS_PRESENT };
	int n = ioctl(pm, PAGEMAP_SCAN, &a);
	printf("pagemap_scan all: %d:", n);
	for (int i = 0; i < n; i++)
		printf(" [%lu,%lu)%llx", (unsigned long)((v[i].start - (uintptr_t)region) / PAGE),
		       (unsigned long)((v[i].end - (uintptr_t)region) / PAGE), (unsigned long long)v[i].categories);
	printf("\n");
	a.size = 8;
	n = ioctl(pm, PAGEMAP_SCAN, &a);
	printf("pagemap_scan bad size: %d %s\n", n, strerror(errno));
	close(pm);
	close(uffd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	sync_wp();
	async_wp();
	printf("done\n");
	return 0;
}
