/* SPDX-License-Identifier: MIT */
/*
 * plain_calls (a helper of tests/shim.sh, not compared): the cost of the
 * shim for a program that never uses userfaultfd.  Times a loop of calls
 * the shim replaces (read, dup + close, madvise, poll, ioctl) and prints
 * nanoseconds per round; the script runs it with and without LD_PRELOAD.
 */
#include <time.h>
#include "uffd.h"

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 100000;
	int z = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	CHECK(z >= 0);
	char *p = map_anon(PAGE);
	char b[8];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < rounds; i++) {
		CHECK(read(z, b, sizeof(b)) == (ssize_t)sizeof(b));
		CHECK(close(dup(z)) == 0);
		CHECK(madvise(p, PAGE, MADV_NORMAL) == 0);
		struct pollfd pf = { z, POLLIN, 0 };
		CHECK(poll(&pf, 1, 0) == 1);
		int n;
		CHECK(ioctl(z, FIONBIO, (n = 0, &n)) == 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)rounds;
	printf("%.1f\n", ns);
	return 0;
}
