/* SPDX-License-Identifier: MIT */
/*
 * sigbus_poison: UFFD_FEATURE_SIGBUS turns a missing-page fault into
 * SIGBUS for the faulting thread (its handler resolves the page with
 * UFFDIO_ZEROPAGE and returns); UFFDIO_POISON makes a page raise SIGBUS on
 * every access.  The handler reports si_code and the page.
 */
#include <setjmp.h>
#include <signal.h>
#include "uffd.h"

static int uffd;
static char *region;
static sigjmp_buf back;
static volatile int mode;	/* 0: fill in the handler; 1: jump back */

static void on_bus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	unsigned long pg = (unsigned long)(((uintptr_t)si->si_addr - (uintptr_t)region) / PAGE);
	char line[64];
	int n = snprintf(line, sizeof(line), "SIGBUS code %d page %lu\n", si->si_code, pg);
	CHECK(write(1, line, (size_t)n) == n);
	if (mode == 1)
		siglongjmp(back, 1);
	struct uffdio_zeropage z = { .range = { (uintptr_t)si->si_addr & ~(PAGE - 1), PAGE }, .mode = 0 };
	CHECK(ioctl(uffd, UFFDIO_ZEROPAGE, &z) == 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, UFFD_FEATURE_SIGBUS | UFFD_FEATURE_POISON);
	region = map_anon(4 * PAGE);
	uffd_register(uffd, region, 4 * PAGE, UFFDIO_REGISTER_MODE_MISSING);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_bus;
	sa.sa_flags = SA_SIGINFO;
	CHECK(sigaction(SIGBUS, &sa, NULL) == 0);

	printf("read page 1: %d\n", *(volatile char *)(region + PAGE + 3));
	printf("read page 1 again: %d\n", *(volatile char *)(region + PAGE + 3));

	struct uffdio_poison p = { .range = { (uintptr_t)region + 2 * PAGE, PAGE }, .mode = 0 };
	int r = ioctl(uffd, UFFDIO_POISON, &p);
	printf("poison: %d updated=%lld\n", r, (long long)p.updated);
	r = ioctl(uffd, UFFDIO_POISON, &p);
	printf("poison again: %d %s updated=%lld\n", r, strerror(errno), (long long)p.updated);
	mode = 1;
	for (int i = 0; i < 2; i++) {
		if (sigsetjmp(back, 1) == 0) {
			*(volatile char *)(region + 2 * PAGE + 17) = 1;
			printf("write to poisoned page went through\n");
		} else {
			printf("write to poisoned page: SIGBUS\n");
		}
	}
	close(uffd);
	printf("done\n");
	return 0;
}
