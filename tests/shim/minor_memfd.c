/* SPDX-License-Identifier: MIT */
/*
 * minor_memfd: MINOR faults on a shared memfd mapping.  The page cache is
 * filled through a second mapping; a touch of the registered view raises a
 * MINOR fault (the page is there, only not mapped), which UFFDIO_CONTINUE
 * resolves with the page cache's content.
 */
#include "uffd.h"

static char *view;

static void *toucher(void *arg)
{
	unsigned long i = (unsigned long)(uintptr_t)arg;
	return (void *)(intptr_t)page_ok(view + i * PAGE, i);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, UFFD_FEATURE_MINOR_SHMEM);
	int mfd = (int)syscall(SYS_memfd_create, "minor", 0);
	CHECK(mfd >= 0);
	CHECK(ftruncate(mfd, 4 * PAGE) == 0);
	view = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	char *alias = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(view != MAP_FAILED && alias != MAP_FAILED);
	for (unsigned long i = 0; i < 4; i++)
		fill_page(alias + i * PAGE, i);
	uffd_register(uffd, view, 4 * PAGE, UFFDIO_REGISTER_MODE_MINOR);

	for (unsigned long i = 0; i < 4; i += 3) {
		pthread_t t;
		CHECK(pthread_create(&t, NULL, toucher, (void *)(uintptr_t)i) == 0);
		struct uffd_msg m;
		if (read_msg(uffd, &m, 10000) < 0)
			FAIL("no minor fault");
		printf("fault page %lu flags%s%s\n",
		       (unsigned long)((m.arg.pagefault.address - (uintptr_t)view) / PAGE),
		       (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_MINOR) ? " MINOR" : "",
		       (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE) ? " WRITE" : "");
		struct uffdio_continue c = { .range = { (uintptr_t)view + i * PAGE, PAGE }, .mode = 0 };
		int r = ioctl(uffd, UFFDIO_CONTINUE, &c);
		printf("continue: %d mapped=%lld\n", r, (long long)c.mapped);
		void *ok;
		CHECK(pthread_join(t, &ok) == 0);
		printf("page %lu content %s\n", i, ok ? "from the page cache" : "WRONG");
	}
	struct uffdio_continue again = { .range = { (uintptr_t)view, PAGE }, .mode = 0 };
	int r = ioctl(uffd, UFFDIO_CONTINUE, &again);
	printf("continue again: %d %s mapped=%lld\n", r, strerror(errno), (long long)again.mapped);
	close(uffd);
	printf("done\n");
	return 0;
}
