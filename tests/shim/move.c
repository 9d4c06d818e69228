/* SPDX-License-Identifier: MIT */
/*
 * move: UFFDIO_MOVE answers a fault by moving a page from a private
 * buffer into the registered range: the destination gets the content, the
 * source becomes a hole.  Then the errors: a populated destination
 * (EEXIST), a hole as the source (ENOENT, or skipped with ALLOW_SRC_HOLES).
 */
#include "uffd.h"

static char *region;

static void *toucher(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)page_ok(region + PAGE, 5);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, UFFD_FEATURE_MOVE);
	region = map_anon(4 * PAGE);
	uffd_register(uffd, region, 4 * PAGE, UFFDIO_REGISTER_MODE_MISSING);
	char *src = map_anon(4 * PAGE);
	fill_page(src, 5);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, toucher, NULL) == 0);
	struct uffd_msg m;
	if (read_msg(uffd, &m, 10000) < 0)
		FAIL("no fault");
	struct uffdio_move mv = { .dst = (uintptr_t)region + PAGE, .src = (uintptr_t)src, .len = PAGE, .mode = 0 };
	int r = ioctl(uffd, UFFDIO_MOVE, &mv);
	printf("move: %d move=%lld\n", r, (long long)mv.move);
	void *ok;
	CHECK(pthread_join(t, &ok) == 0);
	printf("destination %s\n", ok ? "has the content" : "WRONG");
	unsigned char v[1];
	CHECK(mincore(src, PAGE, v) == 0);
	printf("source resident after move: %d, reads %d\n", v[0] & 1, src[5]);
	r = ioctl(uffd, UFFDIO_MOVE, &mv);
	printf("move again: %d %s move=%lld\n", r, strerror(errno), (long long)mv.move);
	mv.dst = (uintptr_t)region + 2 * PAGE;
	mv.src = (uintptr_t)src + 2 * PAGE;
	r = ioctl(uffd, UFFDIO_MOVE, &mv);
	printf("move from a hole: %d %s move=%lld\n", r, strerror(errno), (long long)mv.move);
	mv.mode = UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES;
	r = ioctl(uffd, UFFDIO_MOVE, &mv);
	printf("move from a hole, allowed: %d move=%lld\n", r, (long long)mv.move);
	close(uffd);
	printf("done\n");
	return 0;
}
