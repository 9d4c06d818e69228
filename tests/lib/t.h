/* SPDX-License-Identifier: MIT */
/*
 * t.h - the test harness every test program in tests/ uses.
 *
 * A test program declares a table of cases and ends with T_MAIN(cases).
 * Each case runs once per engine (kernel, user) and, if it names memory
 * types, once per memory type, each run in its own forked child with a
 * timeout.  Inside a case, a failed assertion prints both operands and ends
 * the child; T_SKIP() ends it as a skip with a reason.  The program prints
 * one line per run and a closing "# t: P passed, F failed, S skipped" that
 * tests/run.sh adds up.
 *
 *   static void test_copy(const struct t_env *env) { ... }
 *   static const struct t_case cases[] = {
 *       { "copy", test_copy, T_MEM_ALL, UFFD_FEATURE_MISSING_SHMEM },
 *       { 0 }
 *   };
 *   T_MAIN(cases)
 *
 * Options: --engine=kernel|user|all (default all), --mem=NAME, --case=NAME,
 * --timeout=SECONDS (default 30), -v.  The environment variable
 * UF_TEST_ENGINE sets the default engine.
 */
#ifndef UF_TEST_H
#define UF_TEST_H

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "userfault.h"

/* Memory types, as the kernel's own selftests name them. */
enum t_mem {
	T_ANON,			/* MAP_PRIVATE | MAP_ANONYMOUS */
	T_SHMEM,		/* MAP_SHARED | MAP_ANONYMOUS */
	T_MEMFD,		/* memfd, MAP_SHARED */
	T_MEMFD_PRIVATE,	/* memfd, MAP_PRIVATE */
	T_HUGETLB,		/* memfd MFD_HUGETLB (2 MiB), MAP_SHARED */
	T_HUGETLB_PRIVATE,	/* memfd MFD_HUGETLB (2 MiB), MAP_PRIVATE */
	T_MEM_COUNT
};

#define T_MEM_NONE		0u		/* the case does not depend on memory */
#define T_ONCE			(1u << 31)	/* nor on the engine: run once */
#define T_MEM(m)		(1u << (m))
#define T_MEM_ALL		((1u << T_MEM_COUNT) - 1)
#define T_MEM_SHARED_ALL	(T_MEM(T_SHMEM) | T_MEM(T_MEMFD) | T_MEM(T_HUGETLB))
#define T_MEM_HUGETLB_ALL	(T_MEM(T_HUGETLB) | T_MEM(T_HUGETLB_PRIVATE))
#define T_MEM_NO_HUGETLB	(T_MEM_ALL & ~T_MEM_HUGETLB_ALL)
/* Memory the kernel calls shmem (tmpfs/memfd), private or shared. */
#define T_MEM_SHMEM_ALL		(T_MEM(T_SHMEM) | T_MEM(T_MEMFD) | T_MEM(T_MEMFD_PRIVATE))

/* What a case runs with. */
struct t_env {
	int engine;		/* UF_ENGINE_KERNEL or UF_ENGINE_USER */
	int mem;		/* enum t_mem, or -1 for T_MEM_NONE cases */
	size_t page;		/* page size of the memory type (4 KiB or 2 MiB) */
	__u64 features;		/* what the engine advertises for UFFDIO_API(0) */
};

typedef void (*t_fn)(const struct t_env *env);

struct t_case {
	const char *name;
	t_fn fn;
	unsigned mems;		/* T_MEM_* mask; T_MEM_NONE: run once per engine */
	__u64 features;		/* features the case needs; missing ones make it a skip */
};

/* A mapping of one memory type.  For memfd and hugetlb types the backing
 * file stays open (fd) and `alias` is a second MAP_SHARED view of the same
 * pages, for filling the page cache without touching `addr` (MINOR tests). */
struct t_region {
	char *addr;
	size_t len;
	size_t page;
	int mem;
	int fd;			/* backing memfd, or -1 */
	char *alias;		/* shared view of the backing file, or NULL */
};

/* Map npages pages of the env's memory type.  Skips the case if the type
 * cannot be had here (no huge pages).  Never fails silently. */
void t_region_map(const struct t_env *env, size_t npages, struct t_region *r);
/* Map an alias view (sets r->alias); only for memory with a backing fd. */
void t_region_alias(struct t_region *r);
void t_region_unmap(struct t_region *r);
/* A private anonymous buffer of len bytes, filled with byte pattern seed. */
char *t_buffer(size_t len, int seed);

/* Open a context on the env's engine (flags as for uf_open) and do
 * UFFDIO_API with the features asked.  Skips if the engine lacks them. */
int t_uffd(const struct t_env *env, int flags, __u64 features);
/* Open a context without UFFDIO_API. */
int t_uffd_raw(const struct t_env *env, int flags);

const char *t_mem_name(int mem);
/* Page-aligned mapping types that the kernel treats as anonymous. */
int t_mem_is_anon(int mem);
int t_mem_is_hugetlb(int mem);
int t_mem_is_shared(int mem);
/* Register modes the kernel allows on this memory type. */
__u64 t_mem_modes(int mem);
/* The `ioctls` mask UFFDIO_REGISTER returns for this type and mode. */
__u64 t_expected_ioctls(int mem, __u64 mode);

/* Byte pattern used to fill and verify pages: depends on page index. */
void t_fill(void *p, size_t len, unsigned seed);
int t_check(const void *p, size_t len, unsigned seed);	/* 1 if it matches */

/* Run fn(arg) on a new thread; t_join() returns its result. */
typedef struct t_thread { unsigned long id; void *(*fn)(void *); void *arg; void *ret; } t_thread;
void t_spawn(t_thread *t, void *(*fn)(void *), void *arg);
void *t_join(t_thread *t);

/* Hand a descriptor over a Unix socket (SCM_RIGHTS, fdpass.c): 0 / the
 * descriptor received, or -1. */
int t_send_fd(int sock, int fd);
int t_recv_fd(int sock);

/* Sleep a little (milliseconds), for giving another thread time to block. */
void t_msleep(unsigned ms);
/* Wait until *flag becomes nonzero, up to ms milliseconds; 1 if it did. */
int t_wait_flag(volatile int *flag, unsigned ms);

/* The test program's entry point. */
int t_main(int argc, char **argv, const struct t_case *cases);
#define T_MAIN(cases) int main(int argc, char **argv) { return t_main(argc, argv, cases); }

/* ------------------------------------------------------------------------ */
/* Assertions.  They may be used from any thread of the case's child.       */

void t_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
void t_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void t_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define T_FAIL(...) t_fail_at(__FILE__, __LINE__, __VA_ARGS__)
#define T_SKIP(...) t_skip(__VA_ARGS__)

/* 1 in a ThreadSanitizer build (make tsan): the few checks its runtime
 * makes meaningless (signal timing, resident memory) look at this. */
#if defined(__SANITIZE_THREAD__)
#define T_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define T_TSAN 1
#endif
#endif
#ifndef T_TSAN
#define T_TSAN 0
#endif

#define T_ASSERT(cond) do { if (!(cond)) T_FAIL("assertion failed: %s", #cond); } while (0)

/* Integers (signed): prints both sides. */
#define T_EQ(a, b) do {								\
	long long t_a_ = (long long)(a), t_b_ = (long long)(b);			\
	if (t_a_ != t_b_)							\
		T_FAIL("%s == %s: %lld (0x%llx) != %lld (0x%llx)", #a, #b,	\
		       t_a_, (unsigned long long)t_a_, t_b_, (unsigned long long)t_b_); \
} while (0)
#define T_NE(a, b) do {								\
	long long t_a_ = (long long)(a), t_b_ = (long long)(b);			\
	if (t_a_ == t_b_)							\
		T_FAIL("%s != %s: both %lld", #a, #b, t_a_);			\
} while (0)
/* Unsigned 64-bit values (masks, features). */
#define T_EQX(a, b) do {							\
	unsigned long long t_a_ = (unsigned long long)(a), t_b_ = (unsigned long long)(b); \
	if (t_a_ != t_b_)							\
		T_FAIL("%s == %s: 0x%llx != 0x%llx", #a, #b, t_a_, t_b_);	\
} while (0)
/* A uf_* call returning 0/-errno must succeed. */
#define T_OK(expr) do {								\
	long long t_r_ = (long long)(expr);					\
	if (t_r_ < 0)								\
		T_FAIL("%s failed: %s (%lld)", #expr, strerror((int)-t_r_), t_r_); \
} while (0)
/* A uf_* call must fail with exactly -err. */
#define T_ERR(expr, err) do {							\
	long long t_r_ = (long long)(expr);					\
	if (t_r_ != -(long long)(err))						\
		T_FAIL("%s: expected -%s, got %lld (%s)", #expr, #err, t_r_,	\
		       t_r_ < 0 ? strerror((int)-t_r_) : "success");		\
} while (0)
/* A libc call returning -1/errno must succeed. */
#define T_SYS(expr) do {							\
	if ((long long)(expr) == -1)						\
		T_FAIL("%s failed: %s", #expr, strerror(errno));		\
} while (0)

#endif /* UF_TEST_H */
