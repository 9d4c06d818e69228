/* SPDX-License-Identifier: MIT */
/*
 * epoll_states: epoll on the descriptor, as the kernel reports it.  Before
 * UFFDIO_API and on a blocking descriptor the kernel's userfaultfd polls as
 * EPOLLERR alone (epoll reports it whatever events were asked for); after
 * UFFDIO_API a non-blocking descriptor is readable exactly while a fault
 * is pending.  Level-triggered, edge-triggered and one-shot watches, a
 * watch next to another descriptor, a wait that must return at once, and
 * a watch removed.
 */
#include <sys/epoll.h>
#include "uffd.h"

static char *region;
static long page;

static void *toucher(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)region[0];
}

/* One epoll_wait: what it returned, event by event (by tag). */
static void wait_once(int ep, int ms, const char *when)
{
	struct epoll_event ev[4];
	memset(ev, 0, sizeof(ev));
	int n = epoll_wait(ep, ev, 4, ms);
	printf("%s: %d", when, n);
	for (int i = 0; i < n; i++)
		printf(" [%s 0x%x]", ev[i].data.u64 == 1 ? "uffd" : "pipe", ev[i].events);
	printf("\n");
}

static void watch(int ep, int op, int fd, unsigned events, uint64_t tag)
{
	struct epoll_event e = { .events = events, .data.u64 = tag };
	CHECK(epoll_ctl(ep, op, fd, &e) == 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		SKIP("userfaultfd(2): %s", strerror(errno));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0);

	/* Before UFFDIO_API: EPOLLERR, level-triggered: every time. */
	watch(ep, EPOLL_CTL_ADD, fd, EPOLLIN, 1);
	wait_once(ep, 0, "before API");
	wait_once(ep, 0, "before API, again");
	wait_once(ep, -1, "before API, blocking wait");

	/* Edge-triggered and one-shot. */
	watch(ep, EPOLL_CTL_MOD, fd, EPOLLIN | EPOLLET, 1);
	wait_once(ep, 0, "before API, edge-triggered");
	wait_once(ep, 0, "before API, edge-triggered, again");
	watch(ep, EPOLL_CTL_MOD, fd, EPOLLIN | EPOLLONESHOT, 1);
	wait_once(ep, 0, "before API, one-shot");
	wait_once(ep, 0, "before API, one-shot, again");
	watch(ep, EPOLL_CTL_MOD, fd, EPOLLIN, 1);

	/* Next to a readable pipe. */
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK(write(p[1], "x", 1) == 1);
	watch(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 2);
	wait_once(ep, 0, "before API, with a readable pipe");

	struct uffdio_api api = { .api = UFFD_API };
	CHECK(ioctl(fd, UFFDIO_API, &api) == 0);
	wait_once(ep, 0, "after API, nothing pending");
	CHECK(read(p[0], (char[1]){ 0 }, 1) == 1);
	wait_once(ep, 0, "after API, pipe drained");

	region = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(region != MAP_FAILED);
	struct uffdio_register reg = { .range = { (uintptr_t)region, page },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	CHECK(ioctl(fd, UFFDIO_REGISTER, &reg) == 0);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, toucher, NULL) == 0);
	wait_once(ep, 5000, "a fault pending");
	wait_once(ep, 0, "a fault pending, again");

	/* Blocking: EPOLLERR whatever is pending. */
	int fl = fcntl(fd, F_GETFL);
	CHECK(fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0);
	wait_once(ep, 0, "blocking, a fault pending");
	CHECK(fcntl(fd, F_SETFL, fl) == 0);
	wait_once(ep, 0, "non-blocking again");

	struct uffd_msg msg;
	CHECK(read(fd, &msg, sizeof(msg)) == (ssize_t)sizeof(msg));
	static char src[65536];
	memset(src, 7, sizeof(src));
	struct uffdio_copy cp = { .dst = (uintptr_t)region, .src = (uintptr_t)src, .len = page };
	CHECK(ioctl(fd, UFFDIO_COPY, &cp) == 0);
	void *ret;
	CHECK(pthread_join(t, &ret) == 0);
	printf("toucher read %d\n", (int)(intptr_t)ret);
	wait_once(ep, 0, "fault served");

	/* Blocking and removed from the set: nothing more. */
	CHECK(fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0);
	CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) == 0);
	wait_once(ep, 0, "blocking, removed");
	printf("done\n");
	return 0;
}
