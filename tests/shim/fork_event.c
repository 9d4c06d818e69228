/* SPDX-License-Identifier: MIT */
/*
 * fork event: UFFD_FEATURE_EVENT_FORK.  fork() of a process with registered
 * memory returns only once a monitor thread has read UFFD_EVENT_FORK; the
 * event's descriptor (flags of the parent's: close-on-exec, non-blocking)
 * serves the child's faults, a missing page and a write-protected one, with
 * the child's memory, while the parent's faults stay on the parent's
 * descriptor.  A context without the feature hears nothing and the child's
 * copy of its memory is ordinary (missing pages read as zeros).
 */
#include <sched.h>
#include <sys/wait.h>
#include "uffd.h"

static int uffd;
static volatile int started, reading;

static void *monitor(void *arg)
{
	struct uffd_msg *m = arg;
	__atomic_store_n(&started, 1, __ATOMIC_SEQ_CST);
	struct pollfd p = { uffd, POLLIN, 0 };
	CHECK(poll(&p, 1, 10000) == 1);
	/* A while, so that a fork that did not wait would be seen. */
	usleep(100000);
	__atomic_store_n(&reading, 1, __ATOMIC_SEQ_CST);
	CHECK(read(uffd, m, sizeof(*m)) == (ssize_t)sizeof(*m));
	return NULL;
}

static void *toucher(void *arg)
{
	return (void *)(intptr_t)*(volatile char *)arg;
}

static int child_exit(pid_t pid)
{
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_PAGEFAULT_FLAG_WP);
	char *region = map_anon(4 * PAGE);
	uffd_register(uffd, region, 4 * PAGE, UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP);
	char *src = map_anon(PAGE);
	fill_page(src, 0);
	struct uffdio_copy c = { (uintptr_t)region, (uintptr_t)src, PAGE, UFFDIO_COPY_MODE_WP, 0 };
	CHECK(ioctl(uffd, UFFDIO_COPY, &c) == 0);

	struct uffd_msg ev;
	pthread_t t;
	CHECK(pthread_create(&t, NULL, monitor, &ev) == 0);
	/* Fork only once the monitor runs: a thread still starting may hold
	 * a lock of the runtime's (gcc 12's AddressSanitizer allocator is not
	 * fork-safe), and a child that starts a thread (the user engine's,
	 * under the shim) would wait for it for ever. */
	while (!__atomic_load_n(&started, __ATOMIC_SEQ_CST))
		sched_yield();
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (!page_ok(region, 0))
			_exit(10);
		if (!page_ok(region + 2 * PAGE, 2))
			_exit(11);
		region[0] = 1;		/* write-protected: waits for the monitor */
		_exit(region[0] == 1 ? 0 : 12);
	}
	printf("fork returned after the event was read: %s\n", reading ? "yes" : "no");
	CHECK(pthread_join(t, NULL) == 0);
	printf("event %s\n", event_name(ev.event));
	int ufd = (int)ev.arg.fork.ufd;
	printf("new descriptor: %s, close-on-exec %d, non-blocking %d\n", ufd != uffd ? "new" : "same",
	       (fcntl(ufd, F_GETFD) & FD_CLOEXEC) != 0, (fcntl(ufd, F_GETFL) & O_NONBLOCK) != 0);
	struct uffdio_api api = { .api = UFFD_API };
	int r = ioctl(ufd, UFFDIO_API, &api);
	printf("UFFDIO_API on it: %d %s\n", r, r ? strerror(errno) : "");

	char *buf = map_anon(PAGE);
	for (int k = 0; k < 2; k++) {
		struct uffd_msg m;
		CHECK(read_msg(ufd, &m, 10000) == 0);
		unsigned long pg = (unsigned long)((m.arg.pagefault.address - (uintptr_t)region) / PAGE);
		printf("child's fault: %s page %lu flags 0x%llx\n", event_name(m.event), pg,
		       (unsigned long long)m.arg.pagefault.flags);
		if (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
			struct uffdio_writeprotect w = { { (uintptr_t)region + pg * PAGE, PAGE }, 0 };
			CHECK(ioctl(ufd, UFFDIO_WRITEPROTECT, &w) == 0);
		} else {
			fill_page(buf, pg);
			struct uffdio_copy cc = { (uintptr_t)region + pg * PAGE, (uintptr_t)buf, PAGE, 0, 0 };
			CHECK(ioctl(ufd, UFFDIO_COPY, &cc) == 0);
			printf("copy into the child: %lld\n", (long long)cc.copy);
		}
	}
	printf("child exit %d\n", child_exit(pid));
	CHECK(close(ufd) == 0);

	/* The parent's memory as it was: page 0 intact and still protected,
	 * page 2 missing, its fault on the parent's descriptor. */
	printf("parent page 0 intact: %d\n", page_ok(region, 0));
	CHECK(pthread_create(&t, NULL, toucher, region + 2 * PAGE) == 0);
	struct uffd_msg m;
	CHECK(read_msg(uffd, &m, 10000) == 0);
	printf("parent's fault on the parent's descriptor: page %lu\n",
	       (unsigned long)((m.arg.pagefault.address - (uintptr_t)region) / PAGE));
	struct uffdio_zeropage z = { { (uintptr_t)region + 2 * PAGE, PAGE }, 0, 0 };
	CHECK(ioctl(uffd, UFFDIO_ZEROPAGE, &z) == 0);
	CHECK(pthread_join(t, NULL) == 0);

	/* Without the feature: no event, ordinary memory in the child. */
	int plain = uffd_open(O_CLOEXEC | O_NONBLOCK, 0);
	char *other = map_anon(2 * PAGE);
	uffd_register(plain, other, 2 * PAGE, UFFDIO_REGISTER_MODE_MISSING);
	CHECK(close(uffd) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(other[PAGE] == 0 ? 0 : 13);
	printf("without the feature: child exit %d\n", child_exit(pid));
	struct pollfd p = { plain, POLLIN, 0 };
	printf("messages: %d\n", poll(&p, 1, 100));
	return 0;
}
