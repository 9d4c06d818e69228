/* SPDX-License-Identifier: MIT */
/*
 * device: /dev/userfaultfd and USERFAULTFD_IOC_NEW, the way that needs no
 * system call permission (only the device's).  The new descriptor works
 * like one from userfaultfd(2); other requests on the device fail with
 * EINVAL.
 */
#include "uffd.h"

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

static char *region;

static void *toucher(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)page_ok(region, 3);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		SKIP("/dev/userfaultfd: %s", strerror(errno));
	int r = ioctl(dev, _IO(0xAA, 0x20), 0);
	printf("other request: %d %s\n", r, strerror(errno));
	int fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		SKIP("USERFAULTFD_IOC_NEW: %s", strerror(errno));
	close(dev);
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	CHECK(ioctl(fd, UFFDIO_API, &api) == 0);
	printf("API: ioctls 0x%llx\n", (unsigned long long)api.ioctls);
	region = map_anon(PAGE);
	struct uffdio_register reg = { .range = { (uintptr_t)region, PAGE }, .mode = UFFDIO_REGISTER_MODE_MISSING };
	CHECK(ioctl(fd, UFFDIO_REGISTER, &reg) == 0);
	printf("register: ioctls 0x%llx\n", (unsigned long long)reg.ioctls);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, toucher, NULL) == 0);
	struct uffd_msg m;
	if (read_msg(fd, &m, 10000) < 0)
		FAIL("no fault");
	char *src = map_anon(PAGE);
	fill_page(src, 3);
	struct uffdio_copy c = { (uintptr_t)region, (uintptr_t)src, PAGE, 0, 0 };
	CHECK(ioctl(fd, UFFDIO_COPY, &c) == 0);
	void *ok;
	CHECK(pthread_join(t, &ok) == 0);
	printf("fault served: %s\n", ok ? "content intact" : "WRONG");
	r = ioctl(fd, USERFAULTFD_IOC_NEW, 0);
	printf("IOC_NEW on a userfaultfd: %d %s\n", r, strerror(errno));
	close(fd);
	printf("done\n");
	return 0;
}
