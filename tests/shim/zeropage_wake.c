/* SPDX-License-Identifier: MIT */
/*
 * zeropage_wake: UFFDIO_ZEROPAGE answers read faults; a COPY with
 * UFFDIO_COPY_MODE_DONTWAKE fills a page without waking its thread, which
 * goes on only after UFFDIO_WAKE; the result fields and errors on the way.
 */
#include "uffd.h"

static int uffd;
static char *region;
static volatile int woke;

static void *toucher(void *arg)
{
	(void)arg;
	volatile char *p = region + 2 * PAGE;
	char v = p[100];
	woke = 1;
	return (void *)(intptr_t)v;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, 0);
	region = map_anon(4 * PAGE);
	uffd_register(uffd, region, 4 * PAGE, UFFDIO_REGISTER_MODE_MISSING);

	/* ZEROPAGE ahead of any fault, then twice (EEXIST). */
	struct uffdio_zeropage z = { .range = { (uintptr_t)region, PAGE }, .mode = 0 };
	int r = ioctl(uffd, UFFDIO_ZEROPAGE, &z);
	printf("zeropage: %d zeropage=%lld\n", r, (long long)z.zeropage);
	r = ioctl(uffd, UFFDIO_ZEROPAGE, &z);
	printf("zeropage again: %d %s zeropage=%lld\n", r, strerror(errno), (long long)z.zeropage);
	printf("page 0 byte: %d\n", region[5]);
	z.range.len = 3;
	r = ioctl(uffd, UFFDIO_ZEROPAGE, &z);
	printf("zeropage len 3: %d %s\n", r, strerror(errno));

	/* A waiting thread, filled with DONTWAKE, then woken. */
	pthread_t t;
	CHECK(pthread_create(&t, NULL, toucher, NULL) == 0);
	struct uffd_msg m;
	if (read_msg(uffd, &m, 10000) < 0)
		FAIL("no fault");
	printf("fault at page %lu\n", (unsigned long)((m.arg.pagefault.address - (uintptr_t)region) / PAGE));
	char *src = map_anon(PAGE);
	memset(src, 7, PAGE);
	struct uffdio_copy c = { .dst = (uintptr_t)region + 2 * PAGE, .src = (uintptr_t)src, .len = PAGE,
				 .mode = UFFDIO_COPY_MODE_DONTWAKE };
	r = ioctl(uffd, UFFDIO_COPY, &c);
	printf("copy dontwake: %d copy=%lld\n", r, (long long)c.copy);
	usleep(200 * 1000);
	printf("thread after dontwake: %s\n", woke ? "running" : "waiting");
	struct uffdio_range w = { (uintptr_t)region + 2 * PAGE, PAGE };
	r = ioctl(uffd, UFFDIO_WAKE, &w);
	printf("wake: %d\n", r);
	void *v;
	CHECK(pthread_join(t, &v) == 0);
	printf("thread read %d\n", (int)(intptr_t)v);
	w.len = 0;
	r = ioctl(uffd, UFFDIO_WAKE, &w);
	printf("wake len 0: %d %s\n", r, strerror(errno));
	close(uffd);
	printf("done\n");
	return 0;
}
