/* SPDX-License-Identifier: MIT */
/*
 * fd_view: the descriptor as the rest of the system shows it.
 * /proc/self/fd readlink, the fdinfo fields (flags, pending, total, API),
 * F_GETFL, poll and select before UFFDIO_API and on a blocking descriptor
 * (POLLERR), read below 32 bytes and before UFFDIO_API (EINVAL), write
 * (EBADF: the file is read-only), and a dup's view of the same context.
 */
#include <sys/select.h>
#include "uffd.h"

static char *region;

static void fdinfo(int fd)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "re");
	CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "mnt_id:", 7) && strncmp(line, "ino:", 4))
			printf("  fdinfo %s", line);
	fclose(f);
}

static void *toucher(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)region[0];
}

static void poll_once(int fd, const char *when)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int r = poll(&p, 1, 0);
	fd_set rs, ws;
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_SET(fd, &rs);
	FD_SET(fd, &ws);
	struct timeval tv = { 0, 0 };
	int s = select(fd + 1, &rs, &ws, NULL, &tv);
	printf("%s: poll %d revents 0x%x, select %d (read %d write %d)\n", when, r, p.revents, s,
	       FD_ISSET(fd, &rs) ? 1 : 0, FD_ISSET(fd, &ws) ? 1 : 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		SKIP("userfaultfd(2): %s", strerror(errno));
	char path[64], target[128];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	CHECK(n > 0);
	target[n] = '\0';
	printf("readlink: %s\n", target);
	printf("F_GETFL: 0%o\n", fcntl(fd, F_GETFL));
	fdinfo(fd);
	poll_once(fd, "before API");
	struct uffd_msg m;
	int r = (int)read(fd, &m, sizeof(m));
	printf("read before API: %d %s\n", r, strerror(errno));

	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_THREAD_ID };
	CHECK(ioctl(fd, UFFDIO_API, &api) == 0);
	fdinfo(fd);
	poll_once(fd, "after API");
	r = (int)read(fd, &m, 31);
	printf("read 31 bytes: %d %s\n", r, strerror(errno));
	r = (int)read(fd, &m, sizeof(m));
	printf("read nothing pending: %d %s\n", r, strerror(errno));
	r = (int)write(fd, &m, sizeof(m));
	printf("write: %d %s\n", r, strerror(errno));

	region = map_anon(PAGE);
	uffd_register(fd, region, PAGE, UFFDIO_REGISTER_MODE_MISSING);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, toucher, NULL) == 0);
	struct pollfd p = { fd, POLLIN, 0 };
	CHECK(poll(&p, 1, 10000) == 1);
	fdinfo(fd);
	poll_once(fd, "fault pending");
	int copy = dup(fd);
	CHECK(read(copy, &m, sizeof(m)) == (ssize_t)sizeof(m));
	fdinfo(copy);
	poll_once(fd, "fault read");
	/* Blocking: POLLERR whatever is pending. */
	CHECK(fcntl(fd, F_SETFL, 0) == 0);
	printf("F_GETFL blocking: 0%o\n", fcntl(fd, F_GETFL));
	poll_once(fd, "blocking");
	struct uffdio_zeropage z = { { (uintptr_t)region, PAGE }, 0, 0 };
	CHECK(ioctl(copy, UFFDIO_ZEROPAGE, &z) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	fdinfo(fd);
	close(copy);
	close(fd);
	printf("done\n");
	return 0;
}
