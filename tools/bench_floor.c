/* SPDX-License-Identifier: MIT */
/*
 * bench_floor.c - the physical floor, measured in the same run as the
 * engines: what a fault round trip cannot be cheaper than on this machine.
 *
 * A fault resolved by another thread holds a page fault, a copy of the
 * page, and two wake-ups (the resolver's and the faulting thread's); one
 * resolved in-thread holds a signal delivery and return instead.  Each of
 * those is measured here, pinned to the CPU the pinned rows use, except the
 * ping-pong across two CPUs (the cost the unpinned rows pay).
 *
 * The user engine's own steps are measured too, without the engine: the
 * write of a page into a memfd (how it fills one), and the trip a guarded
 * page makes (the access traps to SIGSEGV, the handler removes the guard
 * marker, the access maps the page from the file).  Those two and a
 * hand-off (ping-pong on one CPU) or nothing (in-thread) are what a user
 * engine fault cannot be cheaper than: docs/BENCHMARKS.md sums them.
 *
 * Operations far below the clock's resolution (memcpy, an empty system
 * call) are timed in batches; their percentiles are over batch means.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "bench.h"

#define COLD_BYTES (64u << 20)	/* well beyond a last-level cache */
#define HOT_BATCH 32
#define COLD_BATCH 8
#define SYSCALL_BATCH 32

/* Called through a volatile pointer so the compiler can neither drop nor
 * merge the copies it cannot see used. */
static void *(*volatile copy_fn)(void *, const void *, size_t) = memcpy;

static struct bench_floor_row *add(struct bench_floor_row *rows, size_t *n, const char *name,
				   const char *label)
{
	struct bench_floor_row *r = &rows[(*n)++];
	memset(r, 0, sizeof(*r));
	r->name = name;
	r->label = label;
	r->status = ST_FAILED;
	return r;
}

static void failed(struct bench_floor_row *r, const char *what, int err)
{
	r->status = ST_FAILED;
	snprintf(r->why, sizeof(r->why), "%s: %s (%s)", what, errno_name(err), strerror(-err));
}

static void done(struct bench_floor_row *r, uint64_t *lat, size_t n, uint64_t ops, uint64_t wall)
{
	bench_stats(lat, n, ops, wall, &r->st);
	r->status = ST_OK;
}

/* First touch of fresh anonymous pages: the kernel's own fault path. */
static void first_touch(struct bench_floor_row *r, size_t n, size_t page, int write, uint64_t *lat)
{
	unsigned char *p = mmap(NULL, n * page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		failed(r, "mmap", -errno);
		return;
	}
	(void)madvise(p, n * page, MADV_NOHUGEPAGE);
	uint64_t sum = 0, t0 = bench_now_ns();
	for (size_t i = 0; i < n; i++) {
		volatile uint64_t *w = (volatile uint64_t *)(p + i * page);
		uint64_t a = bench_now_ns();
		if (write)
			*w = i;
		else
			sum += *w;
		lat[i] = bench_now_ns() - a;
	}
	uint64_t wall = bench_now_ns() - t0;
	munmap(p, n * page);
	(void)sum;
	done(r, lat, n, n, wall);
}

static void memcpy_hot(struct bench_floor_row *r, size_t n, uint64_t *lat)
{
	static _Alignas(4096) unsigned char src[4096], dst[4096];
	memset(src, 0x5a, sizeof(src));
	uint64_t t0 = bench_now_ns();
	for (size_t i = 0; i < n; i++) {
		uint64_t a = bench_now_ns();
		for (int k = 0; k < HOT_BATCH; k++) {
			copy_fn(dst, src, sizeof(dst));
		}
		lat[i] = (bench_now_ns() - a) / HOT_BATCH;
	}
	done(r, lat, n, (uint64_t)n * HOT_BATCH, bench_now_ns() - t0);
}

static void memcpy_cold(struct bench_floor_row *r, size_t n, size_t page, uint64_t seed,
			uint64_t *lat)
{
	size_t pages = COLD_BYTES / page;
	unsigned char *big = mmap(NULL, COLD_BYTES, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *dst = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t *order = malloc(pages * sizeof(*order));
	if (big == MAP_FAILED || dst == MAP_FAILED || !order) {
		failed(r, "memory for the cold copy", -ENOMEM);
		goto out;
	}
	memset(big, 0x5a, COLD_BYTES);
	memset(dst, 0, page);
	for (size_t i = 0; i < pages; i++)
		order[i] = (uint32_t)i;
	prng_shuffle(order, pages, seed);
	uint64_t t0 = bench_now_ns();
	for (size_t i = 0, k = 0; i < n; i++) {
		uint64_t a = bench_now_ns();
		for (int b = 0; b < COLD_BATCH; b++, k = (k + 1) % pages) {
			copy_fn(dst, big + (size_t)order[k] * page, page);
		}
		lat[i] = (bench_now_ns() - a) / COLD_BATCH;
	}
	done(r, lat, n, (uint64_t)n * COLD_BATCH, bench_now_ns() - t0);
out:
	if (big != MAP_FAILED)
		munmap(big, COLD_BYTES);
	if (dst != MAP_FAILED)
		munmap(dst, page);
	free(order);
}

static void empty_syscall(struct bench_floor_row *r, size_t n, uint64_t *lat)
{
	uint64_t t0 = bench_now_ns();
	for (size_t i = 0; i < n; i++) {
		uint64_t a = bench_now_ns();
		for (int k = 0; k < SYSCALL_BATCH; k++)
			(void)syscall(SYS_getppid);
		lat[i] = (bench_now_ns() - a) / SYSCALL_BATCH;
	}
	done(r, lat, n, (uint64_t)n * SYSCALL_BATCH, bench_now_ns() - t0);
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
}

/* Send to self, run an empty handler, return: what an in-thread fault
 * resolver pays on top of the fault. */
static void signal_round_trip(struct bench_floor_row *r, size_t n, uint64_t *lat)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, &old) < 0) {
		failed(r, "sigaction", -errno);
		return;
	}
	pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);
	uint64_t t0 = bench_now_ns();
	for (size_t i = 0; i < n; i++) {
		uint64_t a = bench_now_ns();
		syscall(SYS_tgkill, pid, tid, SIGUSR1);
		lat[i] = bench_now_ns() - a;
	}
	uint64_t wall = bench_now_ns() - t0;
	sigaction(SIGUSR1, &old, NULL);
	done(r, lat, n, n, wall);
}

/* ---- the user engine's steps -------------------------------------------- */

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif

static size_t guard_page;

/* Show the page: what the engine's trap does once the page is filled. */
static void on_guard_fault(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	uintptr_t a = (uintptr_t)si->si_addr & ~(uintptr_t)(guard_page - 1);
	madvise((void *)a, guard_page, MADV_GUARD_REMOVE);
}

/* Two rows: pwrite() of a new page into a memfd, then a guarded page's
 * trip, over the pages just written (mapped shared, as the engine's
 * private memory is). */
static void memfd_steps(struct bench_floor_row *wr, struct bench_floor_row *tr, size_t n,
			size_t page, uint64_t *lat)
{
	char *src = malloc(page);
	int fd = memfd_create("userfault-bench-floor", MFD_CLOEXEC);
	if (!src || fd < 0 || ftruncate(fd, (off_t)(n * page)) < 0) {
		failed(wr, "memfd", -errno);
		failed(tr, "memfd", -errno);
		goto out;
	}
	memset(src, 0x5a, page);
	uint64_t t0 = bench_now_ns();
	for (size_t i = 0; i < n; i++) {
		uint64_t a = bench_now_ns();
		if (pwrite(fd, src, page, (off_t)(i * page)) != (ssize_t)page) {
			failed(wr, "pwrite", -errno);
			failed(tr, "pwrite", -errno);
			goto out;
		}
		lat[i] = bench_now_ns() - a;
	}
	done(wr, lat, n, n, bench_now_ns() - t0);

	char *m = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		failed(tr, "mmap", -errno);
		goto out;
	}
	if (madvise(m, n * page, MADV_GUARD_INSTALL) < 0) {
		tr->status = ST_NA;
		snprintf(tr->why, sizeof(tr->why), "no guard markers (MADV_GUARD_INSTALL: %s)",
			 strerror(errno));
		munmap(m, n * page);
		goto out;
	}
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_guard_fault;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	guard_page = page;
	if (sigaction(SIGSEGV, &sa, &old) < 0) {
		failed(tr, "sigaction", -errno);
		munmap(m, n * page);
		goto out;
	}
	t0 = bench_now_ns();
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = bench_now_ns();
		sum += *(volatile unsigned char *)(m + i * page);
		lat[i] = bench_now_ns() - a;
	}
	uint64_t wall = bench_now_ns() - t0;
	sigaction(SIGSEGV, &old, NULL);
	munmap(m, n * page);
	if (sum != 0x5au * n)
		failed(tr, "the pages read back wrong", -EIO);
	else
		done(tr, lat, n, n, wall);
out:
	if (fd >= 0)
		close(fd);
	free(src);
}

/* ---- futex ping-pong --------------------------------------------------- */

struct pingpong {
	atomic_uint ping, pong;
	size_t n;
	int cpu;		/* of the answering thread */
};

static void futex_wait(atomic_uint *w, unsigned val)
{
	syscall(SYS_futex, (unsigned *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *w)
{
	syscall(SYS_futex, (unsigned *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* FUTEX_WAIT sleeps only while the word still holds the value read, so a
 * store + wake between the load and the sleep is never lost. */
static void *answer(void *arg)
{
	struct pingpong *pp = arg;
	bench_pin_to(pp->cpu);
	for (unsigned i = 1; i <= pp->n; i++) {
		unsigned v;
		while ((v = atomic_load(&pp->ping)) != i)
			futex_wait(&pp->ping, v);
		atomic_store(&pp->pong, i);
		futex_wake(&pp->pong);
	}
	return NULL;
}

static void pingpong(struct bench_floor_row *r, size_t n, int cpu_a, int cpu_b, uint64_t *lat)
{
	struct pingpong pp = { .n = n, .cpu = cpu_b };
	atomic_init(&pp.ping, 0);
	atomic_init(&pp.pong, 0);
	pthread_t th;
	bench_pin_to(cpu_a);
	int e = pthread_create(&th, NULL, answer, &pp);
	if (e) {
		failed(r, "pthread_create", -e);
		return;
	}
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 1; i <= n; i++) {
		uint64_t a = bench_now_ns();
		atomic_store(&pp.ping, i);
		futex_wake(&pp.ping);
		unsigned v;
		while ((v = atomic_load(&pp.pong)) != i)
			futex_wait(&pp.pong, v);
		lat[i - 1] = bench_now_ns() - a;
	}
	uint64_t wall = bench_now_ns() - t0;
	pthread_join(th, NULL);
	done(r, lat, n, n, wall);
}

size_t bench_floor(const struct bench_opts *o, const struct bench_env *env,
		   struct bench_floor_row *rows)
{
	size_t n = (size_t)o->faults, k = 0;
	uint64_t *lat = malloc(n * sizeof(*lat));
	struct bench_floor_row *r;

	if (!lat)
		return 0;
	bench_pin(env);
	bench_prewarm(n * env->page, env->page);
	r = add(rows, &k, "first_touch_write", "first-touch write fault, 4K anon");
	first_touch(r, n, env->page, 1, lat);
	r = add(rows, &k, "first_touch_read", "first-touch read fault (zero page)");
	first_touch(r, n, env->page, 0, lat);
	r = add(rows, &k, "memcpy_hot", "memcpy 4K, cache hot");
	memcpy_hot(r, n, lat);
	r = add(rows, &k, "memcpy_cold", "memcpy 4K, cache cold");
	memcpy_cold(r, n, env->page, o->seed, lat);
	r = add(rows, &k, "syscall", "empty system call (getppid)");
	empty_syscall(r, n, lat);
	r = add(rows, &k, "signal", "signal round trip (tgkill self)");
	signal_round_trip(r, n, lat);
	r = add(rows, &k, "memfd_write", "memfd write of a new 4K page (pwrite)");
	struct bench_floor_row *trip = add(rows, &k, "guard_trip",
					   "guarded page: SIGSEGV, unguard, map");
	memfd_steps(r, trip, n, env->page, lat);
	r = add(rows, &k, "futex_one_cpu", "futex ping-pong, one CPU");
	pingpong(r, n, env->pin_cpu, env->pin_cpu, lat);
	r = add(rows, &k, "futex_two_cpus", "futex ping-pong, two CPUs");
	if (env->other_cpu >= 0) {
		pingpong(r, n, env->pin_cpu, env->other_cpu, lat);
	} else {
		r->status = ST_NA;
		snprintf(r->why, sizeof(r->why), "one CPU only");
	}
	bench_unpin(env);
	free(lat);
	return k;
}
