/* SPDX-License-Identifier: MIT */
/*
 * random_1g: 1 GiB (MAP_NORESERVE) registered for MISSING faults, every
 * page touched once in a random order (262,144 faults), each answered by a
 * handler thread with UFFDIO_COPY of that page's content, and every page
 * checked afterwards.  Only counts and a checksum are printed.
 */
#include "uffd.h"

#define SIZE (1UL << 30)
#define NPAGES (SIZE / PAGE)

static int uffd;
static char *region;
static volatile int stop;
static unsigned long served;

static void *handler(void *arg)
{
	(void)arg;
	char *src = map_anon(PAGE);
	struct uffd_msg msgs[64];
	while (!stop) {
		struct pollfd p = { uffd, POLLIN, 0 };
		int r = poll(&p, 1, 100);
		if (r <= 0)
			continue;
		ssize_t n = read(uffd, msgs, sizeof(msgs));
		if (n < 0 && errno == EAGAIN)
			continue;
		CHECK(n > 0 && n % (ssize_t)sizeof(msgs[0]) == 0);
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(msgs[0]); i++) {
			uintptr_t a = msgs[i].arg.pagefault.address & ~(PAGE - 1);
			unsigned long pg = (a - (uintptr_t)region) / PAGE;
			*(uint64_t *)src = pg * 0x9e3779b97f4a7c15ull;
			struct uffdio_copy c = { a, (uintptr_t)src, PAGE, 0, 0 };
			if (ioctl(uffd, UFFDIO_COPY, &c) < 0 && errno != EEXIST)
				FAIL("copy: %s", strerror(errno));
			served++;
		}
	}
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, 0);
	region = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(region != MAP_FAILED);
	uffd_register(uffd, region, SIZE, UFFDIO_REGISTER_MODE_MISSING);
	uint32_t *order = malloc(NPAGES * sizeof(*order));
	CHECK(order);
	for (uint32_t i = 0; i < NPAGES; i++)
		order[i] = i;
	uint64_t x = 0x2545f4914f6cdd1dull;
	for (uint32_t i = NPAGES - 1; i > 0; i--) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint32_t j = (uint32_t)(x % (i + 1));
		uint32_t tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	pthread_t t;
	CHECK(pthread_create(&t, NULL, handler, NULL) == 0);
	uint64_t sum = 0;
	for (uint32_t i = 0; i < NPAGES; i++)
		sum += *(volatile uint64_t *)(region + (size_t)order[i] * PAGE);
	stop = 1;
	CHECK(pthread_join(t, NULL) == 0);
	unsigned long bad = 0;
	for (unsigned long pg = 0; pg < NPAGES; pg++)
		bad += *(uint64_t *)(region + pg * PAGE) != pg * 0x9e3779b97f4a7c15ull;
	printf("pages %lu, faults served %lu, wrong pages %lu, checksum %016llx\n", (unsigned long)NPAGES,
	       served, bad, (unsigned long long)sum);
	close(uffd);
	munmap(region, SIZE);
	printf("done\n");
	return 0;
}
