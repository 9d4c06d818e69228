/* SPDX-License-Identifier: MIT */
/*
 * remap: mremap() of registered memory, anonymous private and shared.  With
 * UFFD_FEATURE_EVENT_REMAP the registration and the content move and the
 * monitor reads UFFD_EVENT_REMAP (then UNMAP of the old range); the caller
 * waits until it is read, fills meanwhile fail with EAGAIN.  Growing in
 * place keeps the registration; shrinking unmaps the tail; MREMAP_DONTUNMAP
 * leaves the old range registered and empty.  Without the feature the moved
 * memory is ordinary memory.  Addresses are printed as page offsets.
 */
#include "uffd.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

static char *src;
static char *names_at[2];
static const char *names[2] = { "old", "new" };

/* "old+3", "new+0": where an address is. */
static const char *where(uintptr_t a)
{
	static char buf[4][32];
	static int k;
	char *b = buf[k++ & 3];
	for (int i = 0; i < 2; i++)
		if (names_at[i] && a >= (uintptr_t)names_at[i] && a < (uintptr_t)names_at[i] + 64 * PAGE) {
			snprintf(b, 32, "%s+%lu", names[i], (unsigned long)((a - (uintptr_t)names_at[i]) / PAGE));
			return b;
		}
	return "elsewhere";
}

struct call {
	int unmap;
	char *old;
	size_t old_len, new_len;
	int flags;
	char *to;
	void *res;
	int err;
	volatile int done;
};

static void *caller(void *arg)
{
	struct call *c = arg;
	if (c->unmap) {
		c->res = munmap(c->old, c->old_len) == 0 ? NULL : MAP_FAILED;
	} else {
		c->res = mremap(c->old, c->old_len, c->new_len, c->flags, c->to);
	}
	c->err = errno;
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Print the events the call makes until it returns; the result. */
static char *run(int uffd, const char *what, struct call c)
{
	pthread_t t;
	CHECK(pthread_create(&t, NULL, caller, &c) == 0);
	for (;;) {
		struct uffd_msg m;
		if (read_msg(uffd, &m, 200) < 0) {
			if (__atomic_load_n(&c.done, __ATOMIC_SEQ_CST))
				break;
			continue;
		}
		if (m.event == UFFD_EVENT_REMAP) {
			/* A place the kernel chose is named "new" from here. */
			if (!names_at[1])
				names_at[1] = (char *)(uintptr_t)m.arg.remap.to;
			printf("  event REMAP from %s to %s len %lu\n", where(m.arg.remap.from),
			       where(m.arg.remap.to), (unsigned long)(m.arg.remap.len / PAGE));
		} else {
			printf("  event %s %s..%s\n", event_name(m.event), where(m.arg.remove.start),
			       where(m.arg.remove.end - 1));
		}
	}
	CHECK(pthread_join(t, NULL) == 0);
	if (c.unmap)
		return NULL;
	if (c.res == MAP_FAILED) {
		printf("%s: %s\n", what, strerror(c.err));
	} else {
		if (!names_at[1])
			names_at[1] = c.res;
		printf("%s: at %s\n", what, where((uintptr_t)c.res));
	}
	return c.res;
}

static void unmap(int uffd, char *p, size_t len)
{
	run(uffd, "unmap", (struct call){ .unmap = 1, .old = p, .old_len = len });
}

static void *reader(void *arg)
{
	return (void *)(intptr_t)*(volatile char *)arg;
}

/* A read of p that must fault: the fault's address, then a copy of 0x55. */
static void touch_fault(int uffd, char *p)
{
	pthread_t t;
	CHECK(pthread_create(&t, NULL, reader, p) == 0);
	struct uffd_msg m;
	if (read_msg(uffd, &m, 10000) < 0)
		FAIL("no fault at %s", where((uintptr_t)p));
	printf("  fault at %s\n", where(m.arg.pagefault.address));
	memset(src, 0x55, PAGE);
	struct uffdio_copy c = { (uintptr_t)p & ~(PAGE - 1), (uintptr_t)src, PAGE, 0, 0 };
	CHECK(ioctl(uffd, UFFDIO_COPY, &c) == 0);
	void *v;
	CHECK(pthread_join(t, &v) == 0);
	printf("  %s reads 0x%x\n", where((uintptr_t)p), (unsigned)(unsigned char)(intptr_t)v);
}

/* A read of p that must not fault. */
static void touch_plain(int uffd, char *p)
{
	printf("  %s reads 0x%x\n", where((uintptr_t)p), (unsigned)(unsigned char)*(volatile char *)p);
	struct pollfd q = { uffd, POLLIN, 0 };
	CHECK(poll(&q, 1, 0) == 0);
}

static void fill(int uffd, char *p, int v)
{
	memset(src, v, PAGE);
	struct uffdio_copy c = { (uintptr_t)p, (uintptr_t)src, PAGE, 0, 0 };
	CHECK(ioctl(uffd, UFFDIO_COPY, &c) == 0);
}

static char *region(size_t n, int shared)
{
	char *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		       (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	names_at[0] = p;
	names_at[1] = NULL;
	return p;
}

static char *reserve(size_t n)
{
	char *p = mmap(NULL, n * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	return p;
}

static void with_feature(int shared)
{
	int uffd = uffd_open(O_CLOEXEC | O_NONBLOCK,
			     UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_MISSING_SHMEM);
	__u64 reg = UFFDIO_REGISTER_MODE_MISSING;

	printf("-- move to a fixed place\n");
	char *a = region(4, shared), *b = reserve(4);
	names_at[1] = b;
	uffd_register(uffd, a, 4 * PAGE, reg);
	fill(uffd, a, 1);
	fill(uffd, a + PAGE, 2);
	struct call c = { .old = a, .old_len = 4 * PAGE, .new_len = 4 * PAGE,
			  .flags = MREMAP_MAYMOVE | MREMAP_FIXED, .to = b };
	pthread_t t;
	CHECK(pthread_create(&t, NULL, caller, &c) == 0);
	struct pollfd p = { uffd, POLLIN, 0 };
	CHECK(poll(&p, 1, 10000) == 1);
	struct uffdio_copy cp = { (uintptr_t)b + 3 * PAGE, (uintptr_t)src, PAGE, 0, 0 };
	int r = ioctl(uffd, UFFDIO_COPY, &cp);
	printf("  copy while pending: %d %s copy=%lld, mover waits: %d\n", r, strerror(errno),
	       (long long)cp.copy, !__atomic_load_n(&c.done, __ATOMIC_SEQ_CST));
	struct uffd_msg m;
	CHECK(read_msg(uffd, &m, 10000) == 0);
	printf("  event %s from %s to %s len %lu\n", event_name(m.event), where(m.arg.remap.from),
	       where(m.arg.remap.to), (unsigned long)(m.arg.remap.len / PAGE));
	CHECK(read_msg(uffd, &m, 10000) == 0);
	printf("  event %s %s..%s\n", event_name(m.event), where(m.arg.remove.start),
	       where(m.arg.remove.end - 1));
	CHECK(pthread_join(t, NULL) == 0);
	printf("moved: at %s\n", where((uintptr_t)c.res));
	printf("  new+0 0x%x new+1 0x%x\n", b[0], b[PAGE]);
	unsigned char v;
	printf("  old range mapped: %d\n", mincore(a, PAGE, &v) == 0);
	touch_fault(uffd, b + 2 * PAGE);
	unmap(uffd, b, 4 * PAGE);

	printf("-- grow in place\n");
	a = region(8, shared);
	uffd_register(uffd, a, 4 * PAGE, reg);
	unmap(uffd, a + 4 * PAGE, 4 * PAGE);
	fill(uffd, a, 1);
	run(uffd, "grown", (struct call){ .old = a, .old_len = 4 * PAGE, .new_len = 8 * PAGE });
	touch_plain(uffd, a);
	touch_fault(uffd, a + PAGE);
	touch_fault(uffd, a + 6 * PAGE);
	unmap(uffd, a, 8 * PAGE);

	printf("-- shrink in place\n");
	a = region(8, shared);
	uffd_register(uffd, a, 8 * PAGE, reg);
	fill(uffd, a, 1);
	run(uffd, "shrunk", (struct call){ .old = a, .old_len = 8 * PAGE, .new_len = 4 * PAGE,
					   .flags = MREMAP_MAYMOVE });
	touch_plain(uffd, a);
	touch_fault(uffd, a + PAGE);
	unmap(uffd, a, 4 * PAGE);

	printf("-- grow where the next page is taken\n");
	a = region(8, shared);
	uffd_register(uffd, a, 4 * PAGE, reg);
	unmap(uffd, a + 5 * PAGE, 3 * PAGE);
	fill(uffd, a, 1);
	run(uffd, "no MREMAP_MAYMOVE", (struct call){ .old = a, .old_len = 4 * PAGE, .new_len = 8 * PAGE });
	char *n = run(uffd, "moved", (struct call){ .old = a, .old_len = 4 * PAGE, .new_len = 8 * PAGE,
						   .flags = MREMAP_MAYMOVE });
	touch_plain(uffd, n);
	touch_fault(uffd, n + PAGE);
	touch_fault(uffd, n + 6 * PAGE);
	unmap(uffd, n, 8 * PAGE);
	names_at[1] = NULL;
	unmap(uffd, a + 4 * PAGE, PAGE);

	printf("-- move and shrink\n");
	a = region(8, shared);
	b = reserve(4);
	names_at[1] = b;
	uffd_register(uffd, a, 8 * PAGE, reg);
	fill(uffd, a, 1);
	run(uffd, "moved", (struct call){ .old = a, .old_len = 8 * PAGE, .new_len = 4 * PAGE,
					  .flags = MREMAP_MAYMOVE | MREMAP_FIXED, .to = b });
	touch_plain(uffd, b);
	touch_fault(uffd, b + 3 * PAGE);
	unmap(uffd, b, 4 * PAGE);

	printf("-- MREMAP_DONTUNMAP\n");
	a = region(4, shared);
	uffd_register(uffd, a, 4 * PAGE, reg);
	fill(uffd, a, 1);
	n = run(uffd, "moved", (struct call){ .old = a, .old_len = 4 * PAGE, .new_len = 4 * PAGE,
					     .flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP });
	touch_plain(uffd, n);
	if (shared)
		touch_plain(uffd, a);	/* the file keeps the page */
	else
		touch_fault(uffd, a);	/* the page went with the move */
	touch_fault(uffd, a + 2 * PAGE);
	touch_fault(uffd, n + 3 * PAGE);
	unmap(uffd, n, 4 * PAGE);
	unmap(uffd, a, 4 * PAGE);

	printf("-- bad arguments\n");
	a = region(4, shared);
	b = reserve(4);
	uffd_register(uffd, a, 4 * PAGE, reg);
	struct { const char *what; struct call c; } bad[] = {
		{ "unknown flag", { .old = a, .old_len = PAGE, .new_len = PAGE, .flags = 8 } },
		{ "fixed without maymove", { .old = a, .old_len = PAGE, .new_len = PAGE,
					     .flags = MREMAP_FIXED, .to = b } },
		{ "dontunmap resizing", { .old = a, .old_len = PAGE, .new_len = 2 * PAGE,
					  .flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP } },
		{ "unaligned", { .old = a + 1, .old_len = PAGE, .new_len = PAGE, .flags = MREMAP_MAYMOVE } },
		{ "new length 0", { .old = a, .old_len = PAGE, .new_len = 0, .flags = MREMAP_MAYMOVE } },
		{ "overlapping", { .old = a, .old_len = 4 * PAGE, .new_len = 4 * PAGE,
				   .flags = MREMAP_MAYMOVE | MREMAP_FIXED, .to = a + PAGE } },
		{ "past the end", { .old = a, .old_len = 8 * PAGE, .new_len = 12 * PAGE,
				    .flags = MREMAP_MAYMOVE } },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		run(uffd, bad[i].what, bad[i].c);
	if (!shared)
		run(uffd, "old length 0", (struct call){ .old = a, .old_len = 0, .new_len = PAGE,
							 .flags = MREMAP_MAYMOVE });
	CHECK(munmap(b, 4 * PAGE) == 0);
	unmap(uffd, a, 4 * PAGE);
	close(uffd);
}

static void without_feature(int shared)
{
	int uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_MISSING_SHMEM);
	printf("-- move without EVENT_REMAP\n");
	char *a = region(4, shared), *b = reserve(4);
	names_at[1] = b;
	uffd_register(uffd, a, 4 * PAGE, UFFDIO_REGISTER_MODE_MISSING);
	fill(uffd, a, 1);
	run(uffd, "moved", (struct call){ .old = a, .old_len = 4 * PAGE, .new_len = 4 * PAGE,
					  .flags = MREMAP_MAYMOVE | MREMAP_FIXED, .to = b });
	touch_plain(uffd, b);
	touch_plain(uffd, b + 2 * PAGE);	/* not registered: an empty page */
	b[3 * PAGE] = 9;
	touch_plain(uffd, b + 3 * PAGE);
	/* Registered again, a missing page faults. */
	uffd_register(uffd, b, 4 * PAGE, UFFDIO_REGISTER_MODE_MISSING);
	touch_plain(uffd, b);
	if (!shared)
		touch_fault(uffd, b + PAGE);
	unmap(uffd, b, 4 * PAGE);
	close(uffd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	src = map_anon(PAGE);
	for (int shared = 0; shared < 2; shared++) {
		printf("== %s\n", shared ? "shared anonymous" : "private anonymous");
		with_feature(shared);
		without_feature(shared);
	}
	printf("done\n");
	return 0;
}
