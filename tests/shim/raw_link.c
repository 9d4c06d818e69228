/* SPDX-License-Identifier: MIT */
/*
 * raw_link (a helper of tests/shim.sh, not compared): which engine serves
 * a new userfaultfd, as the kernel sees it.  readlink through the raw
 * system call, which the shim does not rewrite: "anon_inode:[userfaultfd]"
 * for the kernel's, "socket:[...]" for the user engine's.  Then a fault is
 * served, so the context is known to work.  Exit 0, or 1 with a message.
 */
#include "uffd.h"

static char *region;

static void *toucher(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)region[1];
}

int main(void)
{
	int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		printf("userfaultfd: %s\n", strerror(errno));
		return 1;
	}
	char path[64], target[128];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	long n = syscall(SYS_readlinkat, AT_FDCWD, path, target, sizeof(target) - 1);
	CHECK(n > 0);
	target[n] = '\0';
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	CHECK(ioctl(fd, UFFDIO_API, &api) == 0);
	region = map_anon(PAGE);
	uffd_register(fd, region, PAGE, UFFDIO_REGISTER_MODE_MISSING);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, toucher, NULL) == 0);
	struct uffd_msg m;
	if (read_msg(fd, &m, 10000) < 0)
		FAIL("no fault");
	struct uffdio_zeropage z = { { (uintptr_t)region, PAGE }, 0, 0 };
	CHECK(ioctl(fd, UFFDIO_ZEROPAGE, &z) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	printf("%s served a fault\n", strncmp(target, "socket:", 7) == 0 ? "user engine" :
	       strcmp(target, "anon_inode:[userfaultfd]") == 0 ? "kernel" : target);
	return 0;
}
