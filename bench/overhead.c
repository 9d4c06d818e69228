/* SPDX-License-Identifier: MIT */
/*
 * overhead.c - what the library adds over raw system calls on the kernel
 * engine.
 *
 * Two measurements, each alternating raw and library rounds inside one run
 * so that machine noise hits both alike:
 *   1. a cheap ioctl (UFFDIO_WAKE on a registered page): ioctl(2) against
 *      uf_ioctl() and uf_wake();
 *   2. a full fault round trip (MISSING + COPY 4 KiB, handler thread, both
 *      pinned to one CPU): read(2) + ioctl(2) against uf_read() + uf_copy().
 * Prints a table and one machine-readable line per row; never fails on
 * speed, only on errors.
 *
 *   build/bench/overhead [--rounds=N]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "userfault.h"

#define PAGE 4096
#define WAKE_CALLS 20000
#define FAULTS 2000

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "overhead: %s: %s\n", what, strerror(err));
	exit(1);
}

static void pin_to_cpu0(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* ---- 1. a cheap ioctl ------------------------------------------------- */

enum { RAW, LIB_IOCTL, LIB_TYPED, NWAYS };
static const char *way_name[NWAYS] = { "ioctl(2)", "uf_ioctl()", "uf_wake()" };

static double wake_round(int fd, char *page, int way)
{
	struct uffdio_range r = { (uintptr_t)page, PAGE };
	double t0 = now_ns();
	for (int i = 0; i < WAKE_CALLS; i++) {
		int ok;
		if (way == RAW)
			ok = ioctl(fd, UFFDIO_WAKE, &r) == 0;
		else if (way == LIB_IOCTL)
			ok = uf_ioctl(fd, UFFDIO_WAKE, &r) == 0;
		else
			ok = uf_wake(fd, page, PAGE) == 0;
		if (!ok)
			die("UFFDIO_WAKE", errno);
	}
	return (now_ns() - t0) / WAKE_CALLS;
}

/* ---- 2. a fault round trip --------------------------------------------- */

struct server {
	int fd;
	int library;		/* 0: read(2) + ioctl(2); 1: uf_read + uf_copy */
	char *src;
	atomic_int stop;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	pin_to_cpu0();
	while (!atomic_load(&s->stop)) {
		struct pollfd p = { s->fd, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		struct uffd_msg m;
		if (s->library) {
			if (uf_read(s->fd, &m, 1) != 1)
				continue;
			uf_copy(s->fd, (void *)(uintptr_t)m.arg.pagefault.address, s->src, PAGE, 0, NULL);
		} else {
			if (read(s->fd, &m, sizeof(m)) != sizeof(m))
				continue;
			struct uffdio_copy c = { m.arg.pagefault.address, (uintptr_t)s->src, PAGE, 0, 0 };
			ioctl(s->fd, UFFDIO_COPY, &c);
		}
	}
	return NULL;
}

/* Median fault latency in ns over FAULTS faults served one way. */
static double fault_round(int library)
{
	int fd = uf_open(O_CLOEXEC | O_NONBLOCK, NULL);
	if (fd < 0)
		die("uf_open", -fd);
	if (uf_api(fd, 0, NULL, NULL) < 0)
		die("UFFDIO_API", EINVAL);
	size_t len = (size_t)FAULTS * PAGE;
	char *region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *src = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED || src == MAP_FAILED)
		die("mmap", errno);
	memset(src, 0x5a, PAGE);
	int r = uf_register(fd, region, len, UFFDIO_REGISTER_MODE_MISSING, NULL);
	if (r < 0)
		die("UFFDIO_REGISTER", -r);

	struct server s = { .fd = fd, .library = library, .src = src };
	pthread_t th;
	pthread_create(&th, NULL, serve, &s);
	static double lat[FAULTS];
	for (int i = 0; i < FAULTS; i++) {
		volatile char *p = region + (size_t)i * PAGE;
		double t0 = now_ns();
		(void)*p;
		lat[i] = now_ns() - t0;
		if (*p != 0x5a)
			die("page content", EIO);
	}
	atomic_store(&s.stop, 1);
	pthread_join(th, NULL);
	munmap(region, len);
	munmap(src, PAGE);
	uf_close(fd);
	return median(lat, FAULTS);
}

int main(int argc, char **argv)
{
	int rounds = 7;
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--rounds=", 9) && atoi(argv[i] + 9) > 0)
			rounds = atoi(argv[i] + 9);
		else {
			fprintf(stderr, "usage: %s [--rounds=N]\n", argv[0]);
			return 2;
		}
	}
	pin_to_cpu0();

	int fd = uf_open(O_CLOEXEC, NULL);
	if (fd < 0) {
		fprintf(stderr, "overhead: kernel engine unavailable (%s): nothing to compare\n",
			strerror(-fd));
		return 3;
	}
	char *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (uf_api(fd, 0, NULL, NULL) < 0 ||
	    uf_register(fd, page, PAGE, UFFDIO_REGISTER_MODE_MISSING, NULL) < 0)
		die("setup", EINVAL);

	double wake[NWAYS][64], fault[2][64];
	if (rounds > 64)
		rounds = 64;
	for (int r = 0; r < rounds; r++)
		for (int w = 0; w < NWAYS; w++)
			wake[w][r] = wake_round(fd, page, w);
	for (int r = 0; r < rounds; r++)
		for (int lib = 0; lib < 2; lib++)
			fault[lib][r] = fault_round(lib);
	uf_close(fd);

	printf("%-34s %12s %10s\n", "operation (kernel engine)", "median", "vs raw");
	double raw_wake = median(wake[RAW], rounds);
	for (int w = 0; w < NWAYS; w++) {
		double m = median(wake[w], rounds);
		printf("UFFDIO_WAKE via %-18s %9.1f ns %9.3fx\n", way_name[w], m, m / raw_wake);
	}
	double raw_fault = median(fault[0], rounds), lib_fault = median(fault[1], rounds);
	printf("fault round trip, raw            %9.2f us %9.3fx\n", raw_fault / 1000, 1.0);
	printf("fault round trip, library        %9.2f us %9.3fx\n", lib_fault / 1000,
	       lib_fault / raw_fault);
	printf("bench=overhead wake_raw_ns=%.1f wake_uf_ioctl_ns=%.1f wake_uf_wake_ns=%.1f "
	       "fault_raw_us=%.2f fault_lib_us=%.2f rounds=%d\n",
	       raw_wake, median(wake[LIB_IOCTL], rounds), median(wake[LIB_TYPED], rounds),
	       raw_fault / 1000, lib_fault / 1000, rounds);
	return 0;
}
