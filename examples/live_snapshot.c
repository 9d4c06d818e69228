/* SPDX-License-Identifier: MIT */
/*
 * live_snapshot.c - a consistent copy of a running multi-threaded program's
 * memory, taken while the program keeps writing.
 *
 * Copying memory while threads write to it gives a torn copy: some pages as
 * they were when the copy started, some as they were later.  Stopping the
 * program for the whole copy is what we want to avoid.  Write-protection gives
 * the consistent copy without the long stop: protect the whole range in one
 * UFFDIO_WRITEPROTECT (that instant is the snapshot's), then save the pages
 * in the background.  A thread that writes to a page not yet saved stops with
 * a WP fault; the handler saves that page first, lifts the protection of that
 * page only, and the write goes on.  Every page is thus saved before its first
 * write after the instant of protection.
 *
 * Checked: the snapshot equals the memory as it was at the instant of
 * protection, although the writers kept writing and some had to wait for
 * their page to be saved.
 *
 *   build/examples/live_snapshot [--engine=kernel|user|auto]
 *   exit 0 verified, 1 wrong result, 2 usage error, 77 the engine cannot run it
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <userfault.h>

#define NAME	"live_snapshot"
#define PAGES	4096
#define WRITERS	3
#define BATCH	32

struct program {
	uint64_t *mem;			/* its memory: the registered region */
	size_t page, len;
	/* Writers hold it shared for each write.  Only the check needs it
	 * taken exclusively: to copy the memory of the instant of protection
	 * for comparison, nothing may write meanwhile. */
	pthread_rwlock_t world;
	atomic_int stop;
	atomic_int instant_passed;	/* the snapshot instant has passed */
	atomic_ulong writes_after;	/* writes made after that instant */
};

struct writer {
	pthread_t tid;
	struct program *p;
	uint64_t id;
};

_Noreturn static void __attribute__((format(printf, 2, 3))) finish(int status, const char *fmt, ...)
{
	va_list ap;
	printf("%s: %s: ", NAME, status == 0 ? "OK" : status == 77 ? "SKIP" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(status);
}

static int parse_engine(int argc, char **argv)
{
	int engine = UF_ENGINE_AUTO;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: %s [--engine=kernel|user|auto]\n"
			       "Snapshot the memory of %d writing threads with write-protection, and verify it.\n"
			       "Exit: 0 verified, 1 wrong result, 2 usage error, 77 the engine cannot run it.\n",
			       NAME, WRITERS);
			exit(0);
		}
		if (strncmp(argv[i], "--engine=", 9) == 0) {
			for (engine = UF_ENGINE_AUTO; engine <= UF_ENGINE_USER; engine++)
				if (strcmp(argv[i] + 9, uf_engine_name(engine)) == 0)
					break;
			if (engine <= UF_ENGINE_USER)
				continue;
		}
		fprintf(stderr, "%s: bad argument '%s' (try --help)\n", NAME, argv[i]);
		exit(2);
	}
	return engine;
}

/* A context on `engine` with `features`; or the SKIP verdict saying why not. */
static int open_context(int engine, __u64 features, const char *feature_name)
{
	char why[256] = "";
	struct uf_open_opts o = UF_OPEN_OPTS_INIT;
	o.engine = engine;
	o.why = why;
	o.why_len = sizeof(why);
	int fd = uf_open(O_CLOEXEC | O_NONBLOCK, &o);
	if (fd < 0)
		finish(77, "%s engine: %s", uf_engine_name(engine), why[0] ? why : strerror(-fd));
	int r = uf_api(fd, features, NULL, NULL);
	if (r == -EINVAL) {
		/* UFFDIO_API fails as a whole, and a context takes only one:
		 * ask a fresh context what this engine has. */
		__u64 have = 0;
		int fd2 = uf_open(O_CLOEXEC, &o);
		if (fd2 >= 0) {
			(void)uf_api(fd2, 0, &have, NULL);
			uf_close(fd2);
		}
		if ((have & features) != features)
			finish(77, "%s engine: no %s", uf_engine_name(uf_engine(fd)), feature_name);
	}
	if (r < 0)
		finish(1, "UFFDIO_API: %s", strerror(-r));
	printf("engine: %s%s\n", uf_engine_name(uf_engine(fd)), engine == UF_ENGINE_AUTO ? " (auto)" : "");
	return fd;
}

/* The program: each thread writes numbered values at random places. */
static void *write_forever(void *arg)
{
	struct writer *w = arg;
	struct program *p = w->p;
	size_t words = p->len / sizeof(uint64_t);
	uint64_t x = w->id * 0x9e3779b97f4a7c15ull + 1, n = 0, after = 0;
	while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
		x ^= x << 13;		/* xorshift: a cheap random place */
		x ^= x >> 7;
		x ^= x << 17;
		int late = atomic_load_explicit(&p->instant_passed, memory_order_relaxed);
		pthread_rwlock_rdlock(&p->world);
		p->mem[x % words] = w->id << 56 | ++n;	/* may stop in a WP fault */
		pthread_rwlock_unlock(&p->world);
		after += late;
	}
	atomic_fetch_add(&p->writes_after, after);
	return NULL;
}

struct snapshot {
	int fd;
	char *mem, *copy;
	size_t page, pages, saved;
	unsigned char *done;		/* per page: saved and unprotected */
	size_t by_fault;		/* saved early because a writer waited */
};

/* Save page i if not yet done, then let writes to it through (that wakes
 * the writers waiting on it). */
static int save(struct snapshot *s, size_t i, int for_fault)
{
	if (s->done[i])
		return 0;	/* a fault read after we saved it: already woken */
	memcpy(s->copy + i * s->page, s->mem + i * s->page, s->page);
	s->done[i] = 1;
	s->saved++;
	s->by_fault += for_fault;
	return uf_writeprotect(s->fd, s->mem + i * s->page, s->page, 0);
}

/* The snapshot loop, one thread: first the pages writers wait for, then
 * the next page in order.  Faults go first because each one is a thread
 * of the program standing still. */
static int take_snapshot(struct snapshot *s)
{
	struct uffd_msg m[BATCH];
	size_t next = 0;
	/* A real snapshotter starts saving at once.  Waiting for the first
	 * write here makes every run show the fault path at work. */
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	(void)poll(&pfd, 1, 2000);

	while (s->saved < s->pages) {
		ssize_t n = uf_read(s->fd, m, BATCH);
		if (n == -EAGAIN) {
			while (s->done[next])
				next++;
			n = 0;
			int r = save(s, next, 0);
			if (r < 0)
				return r;
		}
		if (n < 0)
			return (int)n;
		for (ssize_t k = 0; k < n; k++) {
			uintptr_t a = (uintptr_t)m[k].arg.pagefault.address;
			if (m[k].event != UFFD_EVENT_PAGEFAULT || !(m[k].arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) ||
			    a < (uintptr_t)s->mem || a - (uintptr_t)s->mem >= s->pages * s->page)
				return -EPROTO;		/* nothing else should happen here */
			int r = save(s, (a - (uintptr_t)s->mem) / s->page, 1);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int engine = parse_engine(argc, argv);
	struct program p = { .page = (size_t)sysconf(_SC_PAGESIZE) };
	p.len = PAGES * p.page;
	int fd = open_context(engine, UFFD_FEATURE_PAGEFAULT_FLAG_WP, "write-protection (UFFD_FEATURE_PAGEFAULT_FLAG_WP)");

	pthread_rwlockattr_t ra;
	pthread_rwlockattr_init(&ra);
	/* Writers take the lock all the time: give the one exclusive taker a
	 * chance. */
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&p.world, &ra);
	pthread_rwlockattr_destroy(&ra);

	p.mem = mmap(NULL, p.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *expected = mmap(NULL, p.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct snapshot s = { .fd = fd, .mem = (char *)p.mem, .page = p.page, .pages = PAGES };
	s.copy = mmap(NULL, p.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	s.done = calloc(PAGES, 1);
	if (p.mem == MAP_FAILED || expected == MAP_FAILED || s.copy == MAP_FAILED || !s.done)
		finish(1, "out of memory");
	/* Write-protection applies to pages that exist: fill them all (or ask
	 * for UFFD_FEATURE_WP_UNPOPULATED). */
	memset(p.mem, 0x5a, p.len);
	int r = uf_register(fd, p.mem, p.len, UFFDIO_REGISTER_MODE_WP, NULL);
	if (r < 0)
		finish(1, "UFFDIO_REGISTER: %s", strerror(-r));

	struct writer w[WRITERS];
	for (unsigned i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){ .p = &p, .id = i + 1 };
		if (pthread_create(&w[i].tid, NULL, write_forever, &w[i]) != 0)
			finish(1, "pthread_create failed");
	}
	nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);	/* the program runs */

	/* The instant of the snapshot.  The world stops only so that the
	 * check has the memory of this instant to compare with. */
	pthread_rwlock_wrlock(&p.world);
	memcpy(expected, p.mem, p.len);
	r = uf_writeprotect(fd, p.mem, p.len, UFFDIO_WRITEPROTECT_MODE_WP);
	atomic_store(&p.instant_passed, 1);
	pthread_rwlock_unlock(&p.world);
	if (r < 0)
		finish(1, "UFFDIO_WRITEPROTECT: %s", strerror(-r));

	r = take_snapshot(&s);
	if (r < 0)	/* now, before writers still waiting on a protected page are joined */
		finish(1, "snapshot: %s", strerror(-r));
	nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);	/* the program goes on */
	atomic_store(&p.stop, 1);
	for (unsigned i = 0; i < WRITERS; i++)
		pthread_join(w[i].tid, NULL);

	size_t changed = 0;
	for (size_t i = 0; i < PAGES; i++)
		changed += memcmp(s.copy + i * p.page, (char *)p.mem + i * p.page, p.page) != 0;
	int same = memcmp(s.copy, expected, p.len) == 0;
	unsigned long after = atomic_load(&p.writes_after);
	printf("%d threads kept writing: %lu writes after the instant of protection, %zu pages changed since\n",
	       WRITERS, after, changed);
	printf("snapshot of %d pages: %zu saved ahead of a waiting writer, %zu in the background\n",
	       PAGES, s.by_fault, s.saved - s.by_fault);

	uf_close(fd);
	munmap(p.mem, p.len);
	munmap(expected, p.len);
	munmap(s.copy, p.len);
	free(s.done);
	pthread_rwlock_destroy(&p.world);
	if (!same)
		finish(1, "the snapshot differs from the memory at the instant of protection");
	if (s.by_fault == 0 || changed == 0)
		finish(1, "the writers never met a protected page (%zu faults, %zu pages changed)", s.by_fault, changed);
	finish(0, "the snapshot equals the memory at the instant of protection; %zu pages saved early for a waiting writer",
	       s.by_fault);
}
