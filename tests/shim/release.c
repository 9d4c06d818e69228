/* SPDX-License-Identifier: MIT */
/*
 * release: closing the last descriptor releases the context.  A thread
 * waiting on a fault goes on (the page is then an ordinary missing page:
 * zeros), the range is no longer registered, and a dup keeps the context
 * alive until it is closed too.
 */
#include "uffd.h"

static char *region;

static void *toucher(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)(region[5] + 1);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, 0);
	region = map_anon(4 * PAGE);
	uffd_register(uffd, region, 4 * PAGE, UFFDIO_REGISTER_MODE_MISSING);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, toucher, NULL) == 0);
	struct uffd_msg m;
	if (read_msg(uffd, &m, 10000) < 0)
		FAIL("no fault");
	int copy = dup(uffd);
	CHECK(copy >= 0);
	CHECK(close(uffd) == 0);
	/* A copy is still open: the thread still waits. */
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	struct uffdio_range w = { (uintptr_t)region + PAGE * 3, PAGE };
	printf("dup still works: %d\n", ioctl(copy, UFFDIO_WAKE, &w));
	CHECK(close(copy) == 0);
	void *v;
	CHECK(pthread_join(t, &v) == 0);
	printf("thread after release reads %d\n", (int)(intptr_t)v - 1);
	/* Ordinary memory now: no fault waits on the other pages. */
	region[3 * PAGE] = 4;
	printf("page 3 after release: %d\n", region[3 * PAGE]);
	/* Registering it again with a new context works (nothing is left). */
	int again = uffd_open(O_CLOEXEC | O_NONBLOCK, 0);
	struct uffdio_register r = { .range = { (uintptr_t)region, 4 * PAGE }, .mode = UFFDIO_REGISTER_MODE_MISSING };
	printf("register again: %d\n", ioctl(again, UFFDIO_REGISTER, &r));
	close(again);
	printf("done\n");
	return 0;
}
