/* SPDX-License-Identifier: MIT */
/*
 * missing_copy: the classic userfaultfd program.  A handler thread polls
 * the descriptor, reads each fault and answers it with UFFDIO_COPY; the
 * main thread touches 64 pages of a registered region in order, some by
 * reading and some by writing, and checks every byte.
 */
#include "uffd.h"

#define NPAGES 64

static int uffd;
static char *region;

static void *handler(void *arg)
{
	(void)arg;
	char *src = map_anon(PAGE);
	for (int n = 0; n < NPAGES; n++) {
		struct uffd_msg m;
		if (read_msg(uffd, &m, 10000) < 0)
			FAIL("no fault within 10 s");
		CHECK(m.event == UFFD_EVENT_PAGEFAULT);
		unsigned long off = m.arg.pagefault.address - (uintptr_t)region;
		printf("fault page %lu flags %s\n", off / PAGE,
		       (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE) ? "WRITE" : "READ");
		fill_page(src, off / PAGE);
		struct uffdio_copy c = { .dst = m.arg.pagefault.address & ~(PAGE - 1),
					 .src = (uintptr_t)src, .len = PAGE, .mode = 0 };
		CHECK(ioctl(uffd, UFFDIO_COPY, &c) == 0);
		CHECK(c.copy == (__s64)PAGE);
	}
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, 0);
	region = map_anon(NPAGES * PAGE);
	uffd_register(uffd, region, NPAGES * PAGE, UFFDIO_REGISTER_MODE_MISSING);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, handler, NULL) == 0);
	for (unsigned long i = 0; i < NPAGES; i++) {
		if (i % 3 == 0) {
			region[i * PAGE + 8] ^= 0;	/* a write fault */
		}
		CHECK(page_ok(region + i * PAGE, i));
	}
	CHECK(pthread_join(t, NULL) == 0);
	/* Filled pages are ordinary memory now. */
	struct uffdio_copy again = { .dst = (uintptr_t)region, .src = (uintptr_t)region + PAGE,
				     .len = PAGE, .mode = 0 };
	int r = ioctl(uffd, UFFDIO_COPY, &again);
	printf("copy onto a filled page: %d %s copy=%lld\n", r, strerror(errno), (long long)again.copy);
	CHECK(close(uffd) == 0);
	printf("done\n");
	return 0;
}
