/* SPDX-License-Identifier: MIT */
/*
 * thread_id_exact: UFFD_FEATURE_THREAD_ID puts the faulting thread's id
 * in the message; UFFD_FEATURE_EXACT_ADDRESS keeps the address unmasked.
 * Without them: ptid 0 and a page-aligned address.
 */
#include "uffd.h"

static char *region;
static volatile pid_t tid;

static void *toucher(void *arg)
{
	tid = (pid_t)syscall(SYS_gettid);
	size_t off = (size_t)(uintptr_t)arg;
	return (void *)(intptr_t)region[off];
}

static void run(__u64 features, size_t off)
{
	int uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, features);
	region = map_anon(2 * PAGE);
	uffd_register(uffd, region, 2 * PAGE, UFFDIO_REGISTER_MODE_MISSING);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, toucher, (void *)(uintptr_t)off) == 0);
	struct uffd_msg m;
	if (read_msg(uffd, &m, 10000) < 0)
		FAIL("no fault");
	printf("features%s%s: address offset %lu, ptid %s\n",
	       (features & UFFD_FEATURE_THREAD_ID) ? " THREAD_ID" : "",
	       (features & UFFD_FEATURE_EXACT_ADDRESS) ? " EXACT_ADDRESS" : "",
	       (unsigned long)(m.arg.pagefault.address - (uintptr_t)region),
	       m.arg.pagefault.feat.ptid == 0 ? "0" :
	       (pid_t)m.arg.pagefault.feat.ptid == tid ? "the faulting thread" : "WRONG");
	struct uffdio_zeropage z = { { (uintptr_t)region + (off & ~(PAGE - 1)), PAGE }, 0, 0 };
	CHECK(ioctl(uffd, UFFDIO_ZEROPAGE, &z) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	close(uffd);
	munmap(region, 2 * PAGE);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	run(0, PAGE + 123);
	run(UFFD_FEATURE_THREAD_ID, PAGE + 123);
	run(UFFD_FEATURE_EXACT_ADDRESS, PAGE + 123);
	run(UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_EXACT_ADDRESS, 77);
	printf("done\n");
	return 0;
}
