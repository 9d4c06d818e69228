/* SPDX-License-Identifier: MIT */
/*
 * hugetlb: MISSING faults on a 2 MiB hugetlb memfd mapping, answered with
 * UFFDIO_COPY of a whole huge page.  Skips when the engine does not offer
 * UFFD_FEATURE_MISSING_HUGETLBFS or no huge page is free.  The memfd stays
 * open, as in programs that share hugetlb memory: the user engine maps its
 * alias of the file through it when /proc/self/map_files is not open to it.
 */
#include "uffd.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4U
#endif
#define HPAGE (2UL << 20)

static char *region;

static void *toucher(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)region[HPAGE / 2 + 5];
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, UFFD_FEATURE_MISSING_HUGETLBFS);
	int mfd = (int)syscall(SYS_memfd_create, "huge", MFD_HUGETLB);
	if (mfd < 0)
		SKIP("memfd_create(MFD_HUGETLB): %s", strerror(errno));
	if (ftruncate(mfd, (off_t)HPAGE) < 0)
		SKIP("ftruncate of a hugetlb file: %s", strerror(errno));
	region = mmap(NULL, HPAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (region == MAP_FAILED)
		SKIP("no free 2 MiB huge page: %s", strerror(errno));
	struct uffdio_register r = { .range = { (uintptr_t)region, HPAGE }, .mode = UFFDIO_REGISTER_MODE_MISSING };
	CHECK(ioctl(uffd, UFFDIO_REGISTER, &r) == 0);
	printf("register: ioctls 0x%llx\n", (unsigned long long)r.ioctls);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, toucher, NULL) == 0);
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
	close(uffd);
	printf("done\n");
	return 0;
}
