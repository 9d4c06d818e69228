/* SPDX-License-Identifier: MIT */
/*
 * t.c - the test harness: engine and memory-type parameters, forked runs with
 * a timeout, skips with reasons, huge-page reservation, assertion output.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include "lib/t.h"

/* LeakSanitizer's entry point, present only in sanitizer builds. */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

#define HUGE_PAGE	(2u << 20)
#define HUGE_WANTED	16		/* huge pages reserved for a run */
#define EXIT_SKIP	77

static const char *mem_names[T_MEM_COUNT] = {
	"anon", "shmem", "memfd", "memfd-private", "hugetlb", "hugetlb-private",
};

static int verbose;
static int skip_pipe = -1;		/* child side: write the skip reason here */
static long saved_nr_hugepages = -1;	/* restored at exit if we changed it */

const char *t_mem_name(int mem)
{
	return mem >= 0 && mem < T_MEM_COUNT ? mem_names[mem] : "none";
}

int t_mem_is_hugetlb(int mem)
{
	return mem == T_HUGETLB || mem == T_HUGETLB_PRIVATE;
}

int t_mem_is_anon(int mem)
{
	return mem == T_ANON;
}

int t_mem_is_shared(int mem)
{
	return mem == T_SHMEM || mem == T_MEMFD || mem == T_HUGETLB;
}

__u64 t_mem_modes(int mem)
{
	if (t_mem_is_anon(mem))
		return UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP;
	return UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP | UFFDIO_REGISTER_MODE_MINOR;
}

__u64 t_expected_ioctls(int mem, __u64 mode)
{
	__u64 m = t_mem_is_hugetlb(mem) ? UFFD_API_RANGE_IOCTLS_BASIC : UFFD_API_RANGE_IOCTLS;
	if (!(mode & UFFDIO_REGISTER_MODE_WP))
		m &= ~((__u64)1 << _UFFDIO_WRITEPROTECT);
	if (!(mode & UFFDIO_REGISTER_MODE_MINOR))
		m &= ~((__u64)1 << _UFFDIO_CONTINUE);
	return m;
}

/* ------------------------------------------------------------------------ */
/* Output and assertions                                                    */

void t_log(const char *fmt, ...)
{
	if (!verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("    ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void t_fail_at(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "    %s:%d: %s\n", file, line, msg);
	fflush(stderr);
	_exit(1);
}

void t_skip(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(msg) - 1)
		n = sizeof(msg) - 1;
	if (skip_pipe >= 0 && write(skip_pipe, msg, (size_t)n) < 0) {
		/* the parent then reports a skip without a reason */
	}
	_exit(EXIT_SKIP);
}

/* ------------------------------------------------------------------------ */
/* Memory                                                                   */

void t_fill(void *p, size_t len, unsigned seed)
{
	uint64_t *w = p;
	for (size_t i = 0; i < len / 8; i++)
		w[i] = ((uint64_t)seed << 40) ^ (i * 0x9e3779b97f4a7c15ull);
}

int t_check(const void *p, size_t len, unsigned seed)
{
	const uint64_t *w = p;
	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != (((uint64_t)seed << 40) ^ (i * 0x9e3779b97f4a7c15ull)))
			return 0;
	return 1;
}

char *t_buffer(size_t len, int seed)
{
	char *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED)
		T_FAIL("mmap %zu bytes: %s", len, strerror(errno));
	t_fill(b, len, (unsigned)seed);
	return b;
}

void t_region_map(const struct t_env *env, size_t npages, struct t_region *r)
{
	int mem = env->mem;
	memset(r, 0, sizeof(*r));
	r->mem = mem;
	r->fd = -1;
	r->page = t_mem_is_hugetlb(mem) ? HUGE_PAGE : (size_t)sysconf(_SC_PAGESIZE);
	r->len = npages * r->page;

	int prot = PROT_READ | PROT_WRITE;
	switch (mem) {
	case T_ANON:
		r->addr = mmap(NULL, r->len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		break;
	case T_SHMEM:
		r->addr = mmap(NULL, r->len, prot, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		break;
	default: {
		unsigned flags = MFD_CLOEXEC | (t_mem_is_hugetlb(mem) ? MFD_HUGETLB : 0);
		r->fd = memfd_create("t_region", flags);
		if (r->fd < 0)
			T_FAIL("memfd_create: %s", strerror(errno));
		if (ftruncate(r->fd, (off_t)r->len) < 0)
			T_FAIL("ftruncate: %s", strerror(errno));
		int shared = (mem == T_MEMFD || mem == T_HUGETLB);
		r->addr = mmap(NULL, r->len, prot, shared ? MAP_SHARED : MAP_PRIVATE, r->fd, 0);
		break;
	}
	}
	if (r->addr == MAP_FAILED) {
		if (t_mem_is_hugetlb(mem))
			T_SKIP("no huge pages available (%s)", strerror(errno));
		T_FAIL("mmap %s: %s", t_mem_name(mem), strerror(errno));
	}
}

void t_region_alias(struct t_region *r)
{
	if (r->fd < 0)
		T_FAIL("t_region_alias: %s has no backing file", t_mem_name(r->mem));
	r->alias = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->alias == MAP_FAILED)
		T_FAIL("mmap alias: %s", strerror(errno));
}

void t_region_unmap(struct t_region *r)
{
	if (r->addr && r->addr != MAP_FAILED)
		munmap(r->addr, r->len);
	if (r->alias && r->alias != MAP_FAILED)
		munmap(r->alias, r->len);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

/* ------------------------------------------------------------------------ */
/* Contexts                                                                 */

int t_uffd_raw(const struct t_env *env, int flags)
{
	struct uf_open_opts o = UF_OPEN_OPTS_INIT;
	char why[256] = "";
	o.engine = env->engine;
	o.no_fallback = UF_FALLBACK_ALL;
	o.why = why;
	o.why_len = sizeof(why);
	int fd = uf_open(flags, &o);
	if (fd < 0)
		T_SKIP("%s engine unavailable: %s", uf_engine_name(env->engine), why);
	return fd;
}

int t_uffd(const struct t_env *env, int flags, __u64 features)
{
	if ((env->features & features) != features)
		T_SKIP("%s engine lacks features 0x%llx", uf_engine_name(env->engine),
		       (unsigned long long)(features & ~env->features));
	int fd = t_uffd_raw(env, flags);
	__u64 got = 0, ioctls = 0;
	int r = uf_api(fd, features, &got, &ioctls);
	if (r < 0)
		T_FAIL("UFFDIO_API(features=0x%llx): %s", (unsigned long long)features, strerror(-r));
	return fd;
}

/* ------------------------------------------------------------------------ */
/* Threads and time                                                         */

void t_spawn(t_thread *t, void *(*fn)(void *), void *arg)
{
	pthread_t id;
	int r = pthread_create(&id, NULL, fn, arg);
	if (r)
		T_FAIL("pthread_create: %s", strerror(r));
	t->id = (unsigned long)id;
	t->fn = fn;
	t->arg = arg;
}

void *t_join(t_thread *t)
{
	void *ret = NULL;
	pthread_join((pthread_t)t->id, &ret);
	t->ret = ret;
	return ret;
}

void t_msleep(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int t_wait_flag(volatile int *flag, unsigned ms)
{
	for (unsigned i = 0; i < ms; i++) {
		if (__atomic_load_n(flag, __ATOMIC_ACQUIRE))
			return 1;
		t_msleep(1);
	}
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE) != 0;
}

/* ------------------------------------------------------------------------ */
/* Huge pages: reserve a few for the run, give them back at exit.            */

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fprintf(f, "%ld\n", v) > 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

#define NR_HUGE "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
#define FREE_HUGE "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
#define RESV_HUGE "/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages"

static void give_back_huge_pages(void)
{
	if (saved_nr_hugepages >= 0)
		write_long(NR_HUGE, saved_nr_hugepages);
}

static void reserve_huge_pages(void)
{
	/* Free pages a mapping has reserved are not free to us: reservations
	 * can also be left behind for good (a partial mremap of private
	 * hugetlb on Linux 6.18 leaks them). */
	long nr = read_long(NR_HUGE), free_ = read_long(FREE_HUGE), resv = read_long(RESV_HUGE);
	if (resv > 0 && free_ >= 0)
		free_ = free_ > resv ? free_ - resv : 0;
	if (nr < 0 || free_ >= HUGE_WANTED)
		return;
	if (write_long(NR_HUGE, nr + (HUGE_WANTED - free_)) == 0) {
		saved_nr_hugepages = nr;
		atexit(give_back_huge_pages);
	}
}

/* ------------------------------------------------------------------------ */
/* Running                                                                  */

/* The features an engine advertises, or 0 with *why set if it cannot open.
 * Asked in a child process: opening the user engine starts its thread, and
 * a parent with an extra thread that forks every case can hand a child a
 * runtime lock held mid-operation (the sanitizers' allocator is not
 * fork-safe against other threads). */
static __u64 engine_features(int engine, char *why, size_t len)
{
	struct {
		__u64 features;
		char why[256];
	} res;
	memset(&res, 0, sizeof(res));
	int p[2];
	if (pipe(p) < 0) {
		snprintf(why, len, "pipe: %s", strerror(errno));
		return 0;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		struct uf_open_opts o = UF_OPEN_OPTS_INIT;
		o.engine = engine;
		o.no_fallback = UF_FALLBACK_ALL;
		o.why = res.why;
		o.why_len = sizeof(res.why);
		int fd = uf_open(O_CLOEXEC, &o);
		if (fd >= 0 && uf_api(fd, 0, &res.features, NULL) < 0) {
			snprintf(res.why, sizeof(res.why), "UFFDIO_API(0) fails");
			res.features = 0;
		}
		(void)!write(p[1], &res, sizeof(res));
		_exit(0);
	}
	close(p[1]);
	ssize_t n = pid > 0 ? read(p[0], &res, sizeof(res)) : -1;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (n != (ssize_t)sizeof(res)) {
		snprintf(why, len, "could not ask a child process");
		return 0;
	}
	res.why[sizeof(res.why) - 1] = '\0';
	snprintf(why, len, "%s", res.why);
	return res.features;
}

/* Memory an engine does not serve, by the feature bits that say so (the
 * kernel always sets them; the user engine sets what it implements). */
static const char *mem_gap(const struct t_env *env)
{
	if (env->mem < 0)
		return NULL;
	if (t_mem_is_hugetlb(env->mem) && !(env->features & UFFD_FEATURE_MISSING_HUGETLBFS))
		return "the engine does not serve hugetlb (no UFFD_FEATURE_MISSING_HUGETLBFS)";
	if (!t_mem_is_anon(env->mem) && !t_mem_is_hugetlb(env->mem) &&
	    !(env->features & UFFD_FEATURE_MISSING_SHMEM))
		return "the engine does not serve shmem (no UFFD_FEATURE_MISSING_SHMEM)";
	return NULL;
}

struct tally { int pass, fail, skip; };

static void run_one(const struct t_case *c, struct t_env *env, unsigned timeout, struct tally *t)
{
	char label[160];
	if (c->mems & T_ONCE)
		snprintf(label, sizeof(label), "%s", c->name);
	else if (env->mem >= 0)
		snprintf(label, sizeof(label), "%s [%s/%s]", c->name, uf_engine_name(env->engine),
			 t_mem_name(env->mem));
	else
		snprintf(label, sizeof(label), "%s [%s]", c->name, uf_engine_name(env->engine));

	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("pipe2");
		exit(2);
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		close(p[0]);
		skip_pipe = p[1];
		alarm(timeout);
		c->fn(env);
		fflush(stdout);
		fflush(stderr);
		/* _exit() skips LeakSanitizer's check at exit: run it here,
		 * so a case that leaks fails under SAN=address. */
		if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check())
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	char reason[257] = "";
	ssize_t n = read(p[0], reason, sizeof(reason) - 1);
	reason[n > 0 ? n : 0] = '\0';
	close(p[0]);

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		t->pass++;
		printf("ok    %s\n", label);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SKIP) {
		t->skip++;
		printf("skip  %s: %s\n", label, reason[0] ? reason : "(no reason given)");
	} else {
		t->fail++;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
			printf("FAIL  %s: timed out after %u s\n", label, timeout);
		else if (WIFSIGNALED(status))
			printf("FAIL  %s: killed by signal %d (%s)\n", label, WTERMSIG(status),
			       strsignal(WTERMSIG(status)));
		else
			printf("FAIL  %s: exit status %d\n", label, WEXITSTATUS(status));
	}
	fflush(stdout);
}

static void usage(const char *prog)
{
	printf("usage: %s [--engine=kernel|user|all] [--mem=NAME] [--case=NAME] [--timeout=S] [-v]\n",
	       prog);
}

int t_main(int argc, char **argv, const struct t_case *cases)
{
	const char *engine_arg = getenv("UF_TEST_ENGINE");
	const char *mem_arg = NULL, *case_arg = NULL;
	unsigned timeout = 30;

	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--engine=", 9))
			engine_arg = argv[i] + 9;
		else if (!strncmp(argv[i], "--mem=", 6))
			mem_arg = argv[i] + 6;
		else if (!strncmp(argv[i], "--case=", 7))
			case_arg = argv[i] + 7;
		else if (!strncmp(argv[i], "--timeout=", 10))
			timeout = (unsigned)atoi(argv[i] + 10);
		else if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(argv[0]);
			return 0;
		} else {
			usage(argv[0]);
			return 2;
		}
	}
	if (!engine_arg || !*engine_arg)
		engine_arg = "all";
	int engines[2], nengines = 0;
	if (!strcmp(engine_arg, "kernel") || !strcmp(engine_arg, "all"))
		engines[nengines++] = UF_ENGINE_KERNEL;
	if (!strcmp(engine_arg, "user") || !strcmp(engine_arg, "all"))
		engines[nengines++] = UF_ENGINE_USER;
	if (!nengines) {
		usage(argv[0]);
		return 2;
	}

	int need_huge = 0;
	for (const struct t_case *c = cases; c->name; c++)
		if (c->mems & T_MEM_HUGETLB_ALL)
			need_huge = 1;
	if (need_huge)
		reserve_huge_pages();

	struct tally t = { 0, 0, 0 };
	for (int e = 0; e < nengines; e++) {
		char why[256] = "";
		struct t_env env = { .engine = engines[e] };
		env.features = engine_features(engines[e], why, sizeof(why));
		for (const struct t_case *c = cases; c->name; c++) {
			if (case_arg && strcmp(case_arg, c->name))
				continue;
			if (c->mems & T_ONCE) {
				if (e == 0) {
					struct t_env once = { .engine = 0, .mem = -1 };
					run_one(c, &once, timeout, &t);
				}
				continue;
			}
			for (int m = c->mems ? 0 : -1; m < (c->mems ? T_MEM_COUNT : 0); m++) {
				if (m >= 0 && !(c->mems & T_MEM(m)))
					continue;
				if (m >= 0 && mem_arg && strcmp(mem_arg, t_mem_name(m)))
					continue;
				env.mem = m;
				env.page = t_mem_is_hugetlb(m) ? HUGE_PAGE : (size_t)sysconf(_SC_PAGESIZE);
				if (!env.features) {
					t.skip++;
					printf("skip  %s [%s%s%s]: %s engine unavailable: %s\n", c->name,
					       uf_engine_name(env.engine), m >= 0 ? "/" : "",
					       m >= 0 ? t_mem_name(m) : "", uf_engine_name(env.engine), why);
					continue;
				}
				const char *gap = mem_gap(&env);
				if (gap) {
					t.skip++;
					printf("skip  %s [%s/%s]: %s\n", c->name, uf_engine_name(env.engine),
					       t_mem_name(m), gap);
					continue;
				}
				run_one(c, &env, timeout, &t);
			}
		}
	}
	printf("# %s: %d passed, %d failed, %d skipped\n", argv[0], t.pass, t.fail, t.skip);
	return t.fail ? 1 : 0;
}
