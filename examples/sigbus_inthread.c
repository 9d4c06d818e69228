/* SPDX-License-Identifier: MIT */
/*
 * sigbus_inthread.c - each thread resolves its own faults, in its SIGBUS
 * handler, with no handler thread at all.
 *
 * With UFFD_FEATURE_SIGBUS the context queues no messages: a thread that
 * touches a missing page of a registered range gets SIGBUS at once.  Its
 * signal handler fills the page with UFFDIO_COPY and returns, and the access
 * that faulted runs again and succeeds.  No thread sleeps and none has to be
 * woken, which saves the cross-CPU round trip to a handler thread; the price
 * is that the handler runs in signal context (async-signal-safe calls only)
 * and that a system call touching a missing page fails with EFAULT instead of
 * waiting, so buffers handed to the kernel must be filled first.  Android's
 * concurrent compacting garbage collector works this way.
 *
 * Checked: every page is filled exactly once although several threads touch
 * each page, all contents are right, and nothing is ever queued on the
 * descriptor.
 *
 *   build/examples/sigbus_inthread [--engine=kernel|user|auto]
 *   exit 0 verified, 1 wrong result, 2 usage error, 77 the engine cannot run it
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <userfault.h>

#define NAME	"sigbus_inthread"
#define PAGES	1024
#define THREADS	4

/* What the signal handler needs: set before the first fault, read-only after. */
static int g_fd = -1;
static char *g_mem;			/* the registered region */
static const char *g_image;		/* what the region should hold */
static size_t g_page, g_len;
static atomic_ulong g_signals, g_fills, g_lost;	/* lost: another thread filled it first */

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
			       "Threads fill their own missing pages in a SIGBUS handler (UFFD_FEATURE_SIGBUS).\n"
			       "Exit: 0 verified, 1 wrong result, 2 usage error, 77 the engine cannot run it.\n",
			       NAME);
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

/* Only async-signal-safe calls in here: write(2), and uf_copy(), which on a
 * kernel descriptor is one lock-free table lookup and one ioctl(2). */
static void on_sigbus(int sig, siginfo_t *si, void *ucontext)
{
	(void)sig;
	(void)ucontext;
	int saved_errno = errno;	/* the interrupted code may be about to read it */
	uintptr_t a = (uintptr_t)si->si_addr, base = (uintptr_t)g_mem;
	if (a < base || a - base >= g_len) {
		/* Not ours: a real bus error.  Return with the default action
		 * restored, so that the access fails again and kills us. */
		signal(SIGBUS, SIG_DFL);
		return;
	}
	size_t off = (a - base) & ~(g_page - 1);
	atomic_fetch_add(&g_signals, 1);
	int r = uf_copy(g_fd, g_mem + off, g_image + off, g_page, 0, NULL);
	if (r == 0) {
		atomic_fetch_add(&g_fills, 1);
	} else if (r == -EEXIST) {
		atomic_fetch_add(&g_lost, 1);	/* filled meanwhile: just retry the access */
	} else {
		static const char msg[] = NAME ": FAIL: UFFDIO_COPY failed in the SIGBUS handler\n";
		(void)!write(STDOUT_FILENO, msg, sizeof(msg) - 1);
		_exit(1);
	}
	errno = saved_errno;
}

/* Every thread reads every page, each starting somewhere else, so pages are
 * often touched by two threads at once. */
static void *reader(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	size_t wrong = 0;
	for (size_t i = 0; i < PAGES; i++) {
		size_t off = ((i + id * PAGES / THREADS) % PAGES) * g_page + id * 8;
		if (g_mem[off] != g_image[off])
			wrong++;
	}
	return (void *)(uintptr_t)wrong;
}

int main(int argc, char **argv)
{
	int engine = parse_engine(argc, argv);
	g_page = (size_t)sysconf(_SC_PAGESIZE);
	g_len = PAGES * g_page;
	g_fd = open_context(engine, UFFD_FEATURE_SIGBUS, "UFFD_FEATURE_SIGBUS");

	char *image = mmap(NULL, g_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	g_mem = mmap(NULL, g_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (image == MAP_FAILED || g_mem == MAP_FAILED)
		finish(1, "out of memory");
	for (size_t i = 0; i < g_len; i++)
		image[i] = (char)(i * 131 + i / g_page);
	g_image = image;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) < 0)
		finish(1, "sigaction: %s", strerror(errno));
	int r = uf_register(g_fd, g_mem, g_len, UFFDIO_REGISTER_MODE_MISSING, NULL);
	if (r < 0)
		finish(1, "UFFDIO_REGISTER: %s", strerror(-r));

	pthread_t t[THREADS];
	size_t wrong = 0;
	for (unsigned i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, reader, (void *)(uintptr_t)i) != 0)
			finish(1, "pthread_create failed");
	for (unsigned i = 0; i < THREADS; i++) {
		void *w;
		pthread_join(t[i], &w);
		wrong += (size_t)(uintptr_t)w;
	}

	/* In SIGBUS mode nothing is queued: the descriptor stays empty. */
	struct uffd_msg m;
	ssize_t queued = uf_read(g_fd, &m, 1);
	unsigned long sigs = atomic_load(&g_signals), fills = atomic_load(&g_fills);
	unsigned long lost = atomic_load(&g_lost);
	printf("%d threads read %d pages: %lu SIGBUS, %lu pages filled in the handler, %lu found filled by another thread\n",
	       THREADS, PAGES, sigs, fills, lost);
	int same = memcmp(g_mem, image, g_len) == 0;
	uf_close(g_fd);
	munmap(g_mem, g_len);
	munmap(image, g_len);

	if (queued != -EAGAIN)
		finish(1, "the descriptor had a message (read gave %zd), SIGBUS mode should queue none", queued);
	if (wrong || !same)
		finish(1, "%zu reads saw wrong data, memory %s the image", wrong, same ? "equals" : "differs from");
	if (fills != PAGES || sigs != fills + lost)
		finish(1, "%lu fills for %d pages, %lu signals", fills, PAGES, sigs);
	finish(0, "%d pages filled by the faulting threads themselves, each once; no message queued", PAGES);
}
