/* SPDX-License-Identifier: MIT */
/*
 * scale.c - sizes and concurrency the real users reach.
 *
 *  - random_1g: 1 GiB faulted in random page order (262,144 faults) by two
 *    threads, served by two handler threads.  At the default
 *    vm.max_map_count (65530) a design that mprotects page by page runs out
 *    of VMAs after ~38k faults; this must finish, and every page must hold
 *    what its fault put there.
 *  - stress: four faulting threads and three handler threads over two
 *    regions, with pages bounced between them by UFFDIO_MOVE and refilled
 *    by UFFDIO_COPY; every page's checksum is verified at the end.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include "lib/fault.h"

/* Every page carries its own index in each 8-byte word. */
static void stamp(uint64_t *p, size_t pg, uint64_t idx)
{
	for (size_t i = 0; i < pg / 8; i++)
		p[i] = idx * 0x9e3779b97f4a7c15ULL + i;
}

static int stamped(const uint64_t *p, size_t pg, uint64_t idx)
{
	for (size_t i = 0; i < pg / 8; i += 61)
		if (p[i] != idx * 0x9e3779b97f4a7c15ULL + i)
			return 0;
	return 1;
}

struct served {
	char *base;
	size_t len, pg;
	int bad;
};

static int serve_stamped(int fd, const struct uffd_msg *m, void *user)
{
	struct served *s = user;
	static __thread uint64_t buf[4096 / 8];
	uintptr_t a = (uintptr_t)m->arg.pagefault.address & ~(uintptr_t)(s->pg - 1);
	if (a < (uintptr_t)s->base || a >= (uintptr_t)s->base + s->len) {
		__atomic_add_fetch(&s->bad, 1, __ATOMIC_SEQ_CST);
		return -EPROTO;
	}
	stamp(buf, s->pg, (a - (uintptr_t)s->base) / s->pg);
	int r = uf_copy(fd, (void *)a, buf, s->pg, 0, NULL);
	if (r == -EEXIST)
		r = uf_wake(fd, (void *)a, s->pg);
	return r;
}

struct walker {
	char *base;
	size_t pg;
	const uint32_t *order;
	size_t from, to;
	int bad;
	t_thread th;
};

static void *walk_main(void *arg)
{
	struct walker *w = arg;
	for (size_t i = w->from; i < w->to; i++) {
		size_t idx = w->order[i];
		if (!stamped((const uint64_t *)(w->base + idx * w->pg), w->pg, idx))
			w->bad++;
	}
	return NULL;
}

static size_t count_vmas(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	size_t n = 0;
	int c;
	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void test_random_1g(const struct t_env *env)
{
	/* Under ThreadSanitizer (ten times slower) a quarter of it: 65,536
	 * faults are still well past the ~38k a page-by-page mprotect
	 * design reaches. */
	const size_t len = (size_t)1 << (T_TSAN ? 28 : 30), pg = env->page, n = len / pg;
	char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	T_ASSERT(mem != MAP_FAILED);
	f_no_thp(mem, len);
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, mem, len, F_MODE_M, NULL));

	uint32_t *order = malloc(n * sizeof(*order));
	T_ASSERT(order);
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	uint64_t x = 0x2545f4914f6cdd1dULL;
	for (size_t i = n - 1; i > 0; i--) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t j = x % (i + 1);
		uint32_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	struct served s = { mem, len, pg, 0 };
	struct uf_handler_opts o = UF_HANDLER_OPTS_INIT;
	o.on_fault = serve_stamped;
	o.user = &s;
	o.nthreads = 2;
	struct uf_handler *h;
	T_OK(uf_handler_start(fd, &o, &h));
	struct walker w[2];
	for (int i = 0; i < 2; i++) {
		w[i] = (struct walker){ mem, pg, order, i * n / 2, (i + 1) * n / 2, 0, { 0 } };
		t_spawn(&w[i].th, walk_main, &w[i]);
	}
	for (int i = 0; i < 2; i++) {
		t_join(&w[i].th);
		T_EQ(w[i].bad, 0);
	}
	size_t vmas = count_vmas();
	unsigned long long served = uf_handler_count(h);
	t_log("%llu faults served, %zu VMAs in the process", served, vmas);
	T_OK(uf_handler_stop(h));
	T_EQ(s.bad, 0);
	T_ASSERT(served >= n);
	T_ASSERT(vmas < 65530);
	uf_close(fd);
	free(order);
	munmap(mem, len);
}

/* ------------------------------------------------------------------------ */
/* Stress                                                                   */

#define SPAGES 512

struct stress {
	char *a, *b;		/* two registered regions of SPAGES pages */
	char *spare;		/* unregistered anonymous pages, MOVE sources */
	size_t pg;
	int fd;
	volatile int stop;
	int bad;
};

static int serve_stress(int fd, const struct uffd_msg *m, void *user)
{
	struct stress *s = user;
	static __thread uint64_t buf[4096 / 8];
	uintptr_t a = (uintptr_t)m->arg.pagefault.address & ~(uintptr_t)(s->pg - 1);
	char *base = a >= (uintptr_t)s->b ? s->b : s->a;
	size_t idx = (a - (uintptr_t)base) / s->pg;
	stamp(buf, s->pg, idx);
	int r = uf_copy(fd, (void *)a, buf, s->pg, 0, NULL);
	if (r == -EEXIST)
		r = uf_wake(fd, (void *)a, s->pg);
	return r == -EAGAIN ? 0 : r;
}

struct stresser {
	struct stress *s;
	unsigned seed;
	size_t moves, reads;
	t_thread th;
};

/* Read random pages of both regions (faulting them in), and now and then
 * drop a page and MOVE a freshly stamped one in from the spare area. */
static void *stress_main(void *arg)
{
	struct stresser *w = arg;
	struct stress *s = w->s;
	uint64_t x = w->seed * 0x9e3779b97f4a7c15ULL + 1;
	char *spare = s->spare + (size_t)w->seed * s->pg;
	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		char *base = (x & 1) ? s->b : s->a;
		size_t idx = (x >> 1) % SPAGES;
		char *p = base + idx * s->pg;
		if (!stamped((const uint64_t *)p, s->pg, idx))
			__atomic_add_fetch(&s->bad, 1, __ATOMIC_SEQ_CST);
		w->reads++;
		if ((x >> 20) % 8 == 0) {
			/* Drop the page and move a correct one in; a fault in
			 * between is served by the handler with the same stamp. */
			T_OK(uf_madvise(p, s->pg, MADV_DONTNEED));
			stamp((uint64_t *)spare, s->pg, idx);
			__s64 res;
			int r = uf_move(s->fd, p, spare, s->pg, 0, &res);
			if (r == 0)
				w->moves++;
			else if (r != -EEXIST && r != -EAGAIN)
				T_FAIL("UFFDIO_MOVE: %s", strerror(-r));
		}
	}
	return NULL;
}

static void test_stress(const struct t_env *env)
{
	const size_t pg = env->page;
	struct stress s = { .pg = pg };
	char *all = mmap(NULL, 2 * SPAGES * pg, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	s.spare = mmap(NULL, 8 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(all != MAP_FAILED && s.spare != MAP_FAILED);
	f_no_thp(all, 2 * SPAGES * pg);
	f_no_thp(s.spare, 8 * pg);
	s.a = all;
	s.b = all + SPAGES * pg;
	s.fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_MOVE);
	T_OK(uf_register(s.fd, all, 2 * SPAGES * pg, F_MODE_M, NULL));
	struct uf_handler_opts o = UF_HANDLER_OPTS_INIT;
	o.on_fault = serve_stress;
	o.user = &s;
	o.nthreads = 3;
	struct uf_handler *h;
	T_OK(uf_handler_start(s.fd, &o, &h));
	struct stresser w[4];
	for (unsigned i = 0; i < 4; i++) {
		w[i] = (struct stresser){ &s, i, 0, 0, { 0 } };
		t_spawn(&w[i].th, stress_main, &w[i]);
	}
	t_msleep(3000);
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	size_t moves = 0, reads = 0;
	for (int i = 0; i < 4; i++) {
		t_join(&w[i].th);
		moves += w[i].moves;
		reads += w[i].reads;
	}
	/* Everything, once more, from one thread. */
	for (size_t i = 0; i < SPAGES; i++)
		if (!stamped((const uint64_t *)(s.a + i * pg), pg, i) ||
		    !stamped((const uint64_t *)(s.b + i * pg), pg, i))
			s.bad++;
	t_log("%zu reads, %zu moves, %llu faults served", reads, moves, (unsigned long long)uf_handler_count(h));
	T_OK(uf_handler_stop(h));
	T_EQ(s.bad, 0);
	T_ASSERT(moves > 0);
	uf_close(s.fd);
	munmap(all, 2 * SPAGES * pg);
	munmap(s.spare, 8 * pg);
}

static const struct t_case cases[] = {
	{ "random_1g", test_random_1g, T_MEM(T_ANON), 0 },
	{ "stress_copy_move", test_stress, T_MEM(T_ANON), UFFD_FEATURE_MOVE },
	{ 0 }
};
T_MAIN(cases)
