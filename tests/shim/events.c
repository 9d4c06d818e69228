/* SPDX-License-Identifier: MIT */
/*
 * events: UFFD_EVENT_REMOVE from madvise(MADV_DONTNEED) and
 * UFFD_EVENT_UNMAP from munmap() of registered memory.  The calling thread
 * waits until the event is read; meanwhile a fill fails with EAGAIN and
 * -EAGAIN in its result field.  After MADV_DONTNEED the page is missing
 * again (a new fault).
 */
#include "uffd.h"

static char *region;

struct call { int unmap; size_t off, len; };

static void *caller(void *arg)
{
	struct call *c = arg;
	if (c->unmap)
		CHECK(munmap(region + c->off, c->len) == 0);
	else
		CHECK(madvise(region + c->off, c->len, MADV_DONTNEED) == 0);
	return NULL;
}

static void *reader(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)region[PAGE + 1];
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP);
	region = map_anon(8 * PAGE);
	uffd_register(uffd, region, 8 * PAGE, UFFDIO_REGISTER_MODE_MISSING);
	char *src = map_anon(PAGE);
	memset(src, 9, PAGE);
	for (int i = 0; i < 8; i++) {
		struct uffdio_copy c = { (uintptr_t)region + (size_t)i * PAGE, (uintptr_t)src, PAGE, 0, 0 };
		CHECK(ioctl(uffd, UFFDIO_COPY, &c) == 0);
	}
	struct call calls[] = { { 0, PAGE, 2 * PAGE }, { 1, 6 * PAGE, 2 * PAGE } };
	for (int i = 0; i < 2; i++) {
		pthread_t t;
		CHECK(pthread_create(&t, NULL, caller, &calls[i]) == 0);
		/* The event is pending: the caller waits, fills get EAGAIN. */
		struct pollfd p = { uffd, POLLIN, 0 };
		CHECK(poll(&p, 1, 10000) == 1);
		struct uffdio_copy c = { (uintptr_t)region + 4 * PAGE, (uintptr_t)src, PAGE, 0, 0 };
		int r = ioctl(uffd, UFFDIO_COPY, &c);
		printf("copy while %s pending: %d %s copy=%lld\n", calls[i].unmap ? "unmap" : "remove", r,
		       strerror(errno), (long long)c.copy);
		struct uffd_msg m;
		CHECK(read(uffd, &m, sizeof(m)) == (ssize_t)sizeof(m));
		printf("event %s pages %lu-%lu\n", event_name(m.event),
		       (unsigned long)((m.arg.remove.start - (uintptr_t)region) / PAGE),
		       (unsigned long)((m.arg.remove.end - (uintptr_t)region) / PAGE));
		CHECK(pthread_join(t, NULL) == 0);
	}
	/* The removed page is missing again. */
	pthread_t t;
	CHECK(pthread_create(&t, NULL, reader, NULL) == 0);
	struct uffd_msg m;
	if (read_msg(uffd, &m, 10000) < 0)
		FAIL("no fault after MADV_DONTNEED");
	printf("fault after remove: page %lu\n", (unsigned long)((m.arg.pagefault.address - (uintptr_t)region) / PAGE));
	struct uffdio_zeropage z = { { (uintptr_t)region + PAGE, PAGE }, 0, 0 };
	CHECK(ioctl(uffd, UFFDIO_ZEROPAGE, &z) == 0);
	void *v;
	CHECK(pthread_join(t, &v) == 0);
	printf("reads %d\n", (int)(intptr_t)v);
	/* Outside registered memory: no event. */
	char *plain = map_anon(PAGE);
	CHECK(madvise(plain, PAGE, MADV_DONTNEED) == 0);
	CHECK(munmap(plain, PAGE) == 0);
	struct pollfd p = { uffd, POLLIN, 0 };
	printf("pending after plain calls: %d\n", poll(&p, 1, 100));
	close(uffd);
	printf("done\n");
	return 0;
}
