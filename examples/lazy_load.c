/* SPDX-License-Identifier: MIT */
/*
 * lazy_load.c - load a large file into anonymous memory page by page, when
 * each page is first touched.
 *
 * A process restored from a snapshot, or a VM resumed after migration, should
 * run at once instead of waiting for all its memory to be read.  That memory
 * must be private anonymous memory (it will be written, and the writes must
 * not go back to the file), so the kernel cannot page it in from the file by
 * itself.  With userfaultfd we do it: register the region for MISSING faults;
 * when a thread first touches a page, it stops, a handler thread reads that
 * page from the file and installs it with UFFDIO_COPY, and the thread goes on.
 *
 * Checked: only the touched pages are loaded, each exactly once however many
 * threads touch it at the same moment, and in the end every byte equals the
 * file.
 *
 *   build/examples/lazy_load [--engine=kernel|user|auto]
 *   exit 0 verified, 1 wrong result, 2 usage error, 77 the engine cannot run it
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <userfault.h>

#define NAME		"lazy_load"
#define FILE_MIB	32		/* "large": thousands of faults */
#define TOUCHERS	4		/* threads of the program being loaded */
#define HANDLERS	2		/* threads serving its faults */
#define MAX_PAGE	65536		/* the handler's read buffer lives on its stack */

struct loader {
	int file;			/* what the memory is loaded from */
	char *mem;			/* the registered region */
	size_t page, len;
	atomic_uchar *loaded;		/* per page: 1 once a handler thread took it */
	atomic_ulong loads;		/* pages loaded */
};

struct toucher {
	pthread_t tid;
	struct loader *l;
	unsigned id;
	size_t wrong;			/* pages whose first word was not the file's */
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
			       "Load a %d MiB file into anonymous memory, each page on first touch.\n"
			       "Exit: 0 verified, 1 wrong result, 2 usage error, 77 the engine cannot run it.\n",
			       NAME, FILE_MIB);
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

/* A context on `engine`, UFFDIO_API done; or the SKIP verdict saying why not.
 * (MISSING faults on anonymous memory need no feature bit.) */
static int open_context(int engine, __u64 features)
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
	if (r < 0)
		finish(1, "UFFDIO_API: %s", strerror(-r));
	printf("engine: %s%s\n", uf_engine_name(uf_engine(fd)), engine == UF_ENGINE_AUTO ? " (auto)" : "");
	return fd;
}

/* The file's content: each 8-byte word says where it is, so a page loaded at
 * the wrong place cannot go unnoticed. */
static uint64_t word_at(size_t off)
{
	return (uint64_t)off * 0x9e3779b97f4a7c15ull ^ 0x6c617a79;
}

static int make_file(size_t len)
{
	const char *dir = getenv("TMPDIR");
	char path[4096], buf[1 << 16];
	snprintf(path, sizeof(path), "%s/lazy_load.XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		finish(1, "cannot create a file in %s: %s", dir && *dir ? dir : "/tmp", strerror(errno));
	unlink(path);	/* gone when we exit */
	for (size_t off = 0; off < len; off += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i += 8) {
			uint64_t w = word_at(off + i);
			memcpy(buf + i, &w, 8);
		}
		if (pwrite(fd, buf, sizeof(buf), (off_t)off) != (ssize_t)sizeof(buf))
			finish(1, "cannot write the temporary file: %s", strerror(errno));
	}
	return fd;
}

static int read_at(int fd, void *buf, size_t len, size_t off)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* The handler's on_fault, on the handler threads: read the page from the
 * file, install it.  A real loader would fetch it from the network, or
 * decompress it, here. */
static int load_page(int fd, const struct uffd_msg *m, void *user)
{
	struct loader *l = user;
	unsigned char buf[MAX_PAGE];
	uintptr_t addr = (uintptr_t)m->arg.pagefault.address & ~(uintptr_t)(l->page - 1);
	size_t off = addr - (uintptr_t)l->mem;

	if (addr < (uintptr_t)l->mem || off >= l->len)
		return -EFAULT;		/* not our region: stop the handler */
	/* Threads that touch a page at the same moment each send a message.
	 * The first one here loads the page; its UFFDIO_COPY wakes every
	 * thread waiting on it, so the others need nothing from us. */
	if (atomic_exchange(&l->loaded[off / l->page], 1))
		return 0;
	/* Counted before the copy wakes the program, so that what the
	 * program sees when it runs again is already counted. */
	atomic_fetch_add(&l->loads, 1);
	int r = read_at(l->file, buf, l->page, off);
	if (r < 0)
		return r;
	/* Never write into the region itself: the page becomes visible only
	 * when complete, in the one step UFFDIO_COPY makes. */
	return uf_copy(fd, (void *)addr, buf, l->page, 0, NULL);
}

/* The program being loaded reads only a quarter of its memory (pages
 * 1, 5, 9, ...).  Half the threads walk up and half walk down, from
 * different places, so that they often fault on the same page at once. */
static int touched(size_t p)
{
	return p % 4 == 1;
}

static void *touch(void *arg)
{
	struct toucher *t = arg;
	struct loader *l = t->l;
	size_t pages = l->len / l->page;
	size_t start = t->id * pages / TOUCHERS;
	for (size_t i = 0; i < pages; i++) {
		size_t p = t->id % 2 ? (start + i) % pages : (start + pages - i) % pages;
		if (!touched(p))
			continue;
		uint64_t w;
		memcpy(&w, l->mem + p * l->page, 8);	/* the first touch faults */
		if (w != word_at(p * l->page))
			t->wrong++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int engine = parse_engine(argc, argv);
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = (size_t)FILE_MIB << 20;
	size_t pages = len / page;
	if (page > MAX_PAGE)
		finish(77, "pages of %zu bytes are larger than this example's buffer", page);

	int fd = open_context(engine, 0);
	struct loader l = { .file = make_file(len), .page = page, .len = len };
	l.loaded = calloc(pages, sizeof(*l.loaded));
	l.mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!l.loaded || l.mem == MAP_FAILED)
		finish(1, "out of memory");
	int r = uf_register(fd, l.mem, len, UFFDIO_REGISTER_MODE_MISSING, NULL);
	if (r < 0)
		finish(1, "UFFDIO_REGISTER: %s", strerror(-r));

	struct uf_handler_opts ho = UF_HANDLER_OPTS_INIT;
	struct uf_handler *h;
	ho.on_fault = load_page;
	ho.user = &l;
	ho.nthreads = HANDLERS;
	r = uf_handler_start(fd, &ho, &h);
	if (r < 0)
		finish(1, "uf_handler_start: %s", strerror(-r));
	printf("file: %d MiB, %zu pages of %zu bytes, mapped as anonymous memory, nothing read yet\n",
	       FILE_MIB, pages, page);

	/* The program runs: a quarter of its pages get loaded, no more.  (Were
	 * load_page() to fail, the handler would end and these threads would
	 * wait in their faults until the context is released: a real loader
	 * watches uf_handler_running() instead of joining blindly.) */
	struct toucher t[TOUCHERS];
	size_t wrong = 0, want = 0;
	for (unsigned i = 0; i < TOUCHERS; i++) {
		t[i] = (struct toucher){ .l = &l, .id = i };
		if (pthread_create(&t[i].tid, NULL, touch, &t[i]) != 0)
			finish(1, "pthread_create failed");
	}
	for (unsigned i = 0; i < TOUCHERS; i++) {
		pthread_join(t[i].tid, NULL);
		wrong += t[i].wrong;
	}
	size_t extra = 0, missing = 0;
	for (size_t p = 0; p < pages; p++) {
		want += touched(p);
		extra += !touched(p) && atomic_load(&l.loaded[p]);
		missing += touched(p) && !atomic_load(&l.loaded[p]);
	}
	unsigned long first = atomic_load(&l.loads);
	printf("%d threads read %zu pages: %lu pages loaded on first touch, %llu fault messages\n",
	       TOUCHERS, want, first, uf_handler_count(h));

	/* Now read everything and compare with the file: the rest loads too. */
	char buf[1 << 16];
	size_t bad = 0;
	for (size_t off = 0; off < len; off += sizeof(buf)) {
		if (read_at(l.file, buf, sizeof(buf), off) < 0)
			finish(1, "cannot read the file back");
		bad += memcmp(buf, l.mem + off, sizeof(buf)) != 0;
	}
	unsigned long all = atomic_load(&l.loads);
	printf("then all of it: %lu pages loaded in total, compared with the file\n", all);

	r = uf_handler_stop(h);		/* first stop the handler, then close */
	uf_close(fd);
	munmap(l.mem, len);
	free(l.loaded);
	close(l.file);
	if (r < 0)
		finish(1, "the handler failed: %s", strerror(-r));
	if (wrong || bad)
		finish(1, "%zu touched pages and %zu chunks of 64 KiB differ from the file", wrong, bad);
	if (extra || missing || first != want || all != pages)
		finish(1, "loaded %lu pages for %zu touched (%zu untouched loaded, %zu touched not), %lu of %zu in the end",
		       first, want, extra, missing, all, pages);
	finish(0, "%zu of %zu pages loaded on first touch, each once; all equal the file", want, pages);
}
