/* SPDX-License-Identifier: MIT */
/*
 * hugetlb: MISSING faults on a 2 MiB hugetlb memfd mapping, answered with
 * UFFDIO_COPY of a whole huge page.  Skips when the engine does not offer
 * UFFD_FEATURE_MISSING_HUGETLBFS or no huge page is free.  The memfd stays
 * open, as in programs that share hugetlb memory: the user engine maps its
 * alias of the file through it when /proc/self/map_files is not open to it.
 * Then mremap() moves it (UFFD_FEATURE_EVENT_REMAP): to an address not on
 * a huge page EINVAL, to one that is the REMAP event, the page moved, and a
 * second huge page's fault at the new address.
 */
#include "uffd.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4U
#endif
#define HPAGE (2UL << 20)

static char *region;

static void *toucher(void *arg)
{
	return (void *)(intptr_t)((char *)arg)[5];
}

static char *dst;

static void *mover(void *arg)
{
	(void)arg;
	return mremap(region, 2 * HPAGE, 2 * HPAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, UFFD_FEATURE_MISSING_HUGETLBFS | UFFD_FEATURE_EVENT_REMAP);
	int mfd = (int)syscall(SYS_memfd_create, "huge", MFD_HUGETLB);
	if (mfd < 0)
		SKIP("memfd_create(MFD_HUGETLB): %s", strerror(errno));
	if (ftruncate(mfd, (off_t)(2 * HPAGE)) < 0)
		SKIP("ftruncate of a hugetlb file: %s", strerror(errno));
	region = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (region == MAP_FAILED)
		SKIP("no 2 free 2 MiB huge pages: %s", strerror(errno));
	struct uffdio_register r = { .range = { (uintptr_t)region, 2 * HPAGE }, .mode = UFFDIO_REGISTER_MODE_MISSING };
	CHECK(ioctl(uffd, UFFDIO_REGISTER, &r) == 0);
	printf("register: ioctls 0x%llx\n", (unsigned long long)r.ioctls);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, toucher, region + HPAGE / 2) == 0);
	struct uffd_msg m;
	if (read_msg(uffd, &m, 10000) < 0)
		FAIL("no fault");
	printf("fault at offset %lu\n", (unsigned long)(m.arg.pagefault.address - (uintptr_t)region));
	char *src = mmap(NULL, HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(src != MAP_FAILED);
	memset(src, 6, HPAGE);
	struct uffdio_copy c = { (uintptr_t)region, (uintptr_t)src, HPAGE, 0, 0 };
	int rc = ioctl(uffd, UFFDIO_COPY, &c);
	printf("copy: %d copy=%lld\n", rc, (long long)c.copy);
	void *v;
	CHECK(pthread_join(t, &v) == 0);
	printf("reads %d\n", (int)(intptr_t)v);

	/* A huge-page-aligned place for two huge pages. */
	char *res = mmap(NULL, 3 * HPAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(res != MAP_FAILED);
	dst = (char *)(((uintptr_t)res + HPAGE - 1) & ~(HPAGE - 1));
	errno = 0;
	void *bad = mremap(region, 2 * HPAGE, 2 * HPAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst + PAGE);
	printf("mremap to a 4 KiB-aligned place: %s\n", bad == MAP_FAILED ? strerror(errno) : "moved");
	CHECK(pthread_create(&t, NULL, mover, NULL) == 0);
	if (read_msg(uffd, &m, 10000) < 0)
		FAIL("no REMAP event");
	printf("event 0x%x: from +%ld to +%ld len %llu\n", m.event,
	       (long)(m.arg.remap.from - (uintptr_t)region), (long)(m.arg.remap.to - (uintptr_t)dst),
	       (unsigned long long)m.arg.remap.len);
	CHECK(pthread_join(t, &v) == 0);
	printf("mremap: %s\n", v == dst ? "at the new place" : "elsewhere");
	printf("new place reads %d, old place mapped: %s\n", dst[7],
	       msync(region, HPAGE, MS_ASYNC) == 0 ? "yes" : strerror(errno));
	CHECK(pthread_create(&t, NULL, toucher, dst + HPAGE) == 0);
	if (read_msg(uffd, &m, 10000) < 0)
		FAIL("no fault at the new place");
	printf("fault at new offset %lu\n", (unsigned long)(m.arg.pagefault.address - (uintptr_t)dst));
	memset(src, 8, HPAGE);
	c = (struct uffdio_copy){ (uintptr_t)dst + HPAGE, (uintptr_t)src, HPAGE, 0, 0 };
	rc = ioctl(uffd, UFFDIO_COPY, &c);
	printf("copy: %d copy=%lld\n", rc, (long long)c.copy);
	CHECK(pthread_join(t, &v) == 0);
	printf("reads %d\n", (int)(intptr_t)v);
	close(uffd);
	printf("done\n");
	return 0;
}
