/* SPDX-License-Identifier: MIT */
/*
 * page_server.c - a page server in another process, handed the userfaultfd
 * over a Unix socket the way Firecracker hands it over when it restores a
 * microVM snapshot.
 *
 * The VM process (Firecracker; here the parent) maps guest memory as
 * anonymous memory, registers it for MISSING faults, connects to the socket
 * the page server listens on and sends one message: a JSON array describing
 * each guest memory region,
 *     [{"base_host_virt_addr":..,"size":..,"offset":..,"page_size":..}, ...]
 * with the userfaultfd attached as SCM_RIGHTS.  From then on the page server
 * (here the child) answers every fault of the VM from the snapshot's memory
 * file with UFFDIO_COPY.  It runs in a process of its own so that it can be
 * written, sandboxed and restarted separately, and it needs nothing from the
 * VM but that one message: a userfaultfd acts on the memory of the process
 * that created it, whoever holds it.
 *
 * The balloon device complicates it.  When the guest gives memory back, the
 * VM drops those pages (madvise MADV_DONTNEED) and the server receives a
 * REMOVE event; a later fault there must get a zero page (UFFDIO_ZEROPAGE),
 * not the stale contents of the file.  While a REMOVE event waits to be read,
 * every fill fails with EAGAIN, so the server reads all that is queued,
 * handles the events first, and retries the faults that got EAGAIN.
 *
 * Checked: every page the VM touches holds the memory file's contents, except
 * the pages given back by the balloon, which hold zeros; the server filled
 * each page exactly once.
 *
 *   build/examples/page_server [--engine=kernel|user|auto]
 *   exit 0 verified, 1 wrong result, 2 usage error, 77 the engine cannot run it
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <userfault.h>

#define NAME		"page_server"
#define NREGIONS	2
#define MAX_REGIONS	8
#define PENDING		64	/* faults the server holds at once */
#define BALLOON_FIRST	64	/* the balloon takes pages 64..191 of region 0 */
#define BALLOON_PAGES	128
#define BALLOON_STEP	8	/* pages per madvise: one REMOVE event each */

/* One guest memory region, as the handshake describes it. */
struct region {
	uint64_t base;		/* base_host_virt_addr: where the VM mapped it */
	uint64_t size;		/* bytes */
	uint64_t offset;	/* where its contents start in the memory file */
	uint64_t page_size;
};

/* The VM side's regions: 2 MiB and 4 MiB of 4 KiB pages, one after the
 * other in the memory file. */
static const size_t region_pages[NREGIONS] = { 512, 1024 };

static char g_dir[256];		/* temporary: the memory file and the socket */
static pid_t g_server;		/* the page server, until reaped */
static atomic_int g_uffd = -1;	/* the VM's descriptor, until closed */
static atomic_int g_vm_done;

static void remove_dir(void)
{
	char p[300];
	if (!g_dir[0])
		return;
	snprintf(p, sizeof(p), "%s/mem", g_dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/uffd.sock", g_dir);
	unlink(p);
	rmdir(g_dir);
	g_dir[0] = '\0';
}

/* The VM side's verdict.  The server never calls it. */
_Noreturn static void __attribute__((format(printf, 2, 3))) finish(int status, const char *fmt, ...)
{
	va_list ap;
	if (g_server > 0)
		kill(g_server, SIGKILL);	/* not reaped yet, so still ours */
	remove_dir();
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
			       "Serve a VM's memory from another process, handed the userfaultfd the way\n"
			       "Firecracker does on snapshot restore; zero pages after balloon REMOVE events.\n"
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

/* The memory file's content: each 8-byte word says where it is. */
static uint64_t word_at(uint64_t off)
{
	return off * 0x9e3779b97f4a7c15ull ^ 0x66697265;
}

/* ------------------------------------------------------------------------ */
/* The page server (the child process)                                      */

struct server {
	int uffd;
	struct region r[MAX_REGIONS];
	unsigned char *removed[MAX_REGIONS];	/* per page: given back, serve zeros */
	size_t n;
	const char *file;			/* the memory file, mapped */
	size_t file_len;
	unsigned long copied, zeroed, eagain;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("server: ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);		/* the VM's lines and ours share the output */
}

/* The number after "key": inside one JSON object [obj, end). */
static int json_u64(const char *obj, const char *end, const char *key, uint64_t *out)
{
	char quoted[64];
	snprintf(quoted, sizeof(quoted), "\"%s\"", key);
	const char *p = strstr(obj, quoted);
	if (!p || p >= end)
		return -1;
	p += strlen(quoted);
	p += strspn(p, " \t\n");
	if (*p++ != ':')
		return -1;
	p += strspn(p, " \t\n");
	char *e;
	errno = 0;
	unsigned long long v = strtoull(p, &e, 10);
	if (e == p || errno || e > end)
		return -1;
	*out = v;
	return 0;
}

/* Parse and check the regions: they come from another process. */
static int parse_regions(struct server *s, const char *json)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	const char *p = json + strspn(json, " \t\n");
	if (*p != '[')
		return -1;
	while ((p = strchr(p, '{')) != NULL) {
		const char *end = strchr(p, '}');
		struct region *r = &s->r[s->n];
		if (!end || s->n == MAX_REGIONS ||
		    json_u64(p, end, "base_host_virt_addr", &r->base) < 0 ||
		    json_u64(p, end, "size", &r->size) < 0 ||
		    json_u64(p, end, "offset", &r->offset) < 0 ||
		    json_u64(p, end, "page_size", &r->page_size) < 0)
			return -1;
		/* Base pages only: UFFDIO_ZEROPAGE does not exist for huge pages. */
		if (r->page_size != page || r->size == 0 || (r->base | r->size | r->offset) % page ||
		    r->offset > s->file_len || r->size > s->file_len - r->offset)
			return -1;
		s->removed[s->n] = calloc(r->size / page, 1);
		if (!s->removed[s->n])
			return -1;
		s->n++;
		p = end + 1;
	}
	return s->n ? 0 : -1;
}

/* The handshake: one message, the JSON text plus the descriptor. */
static int receive_handshake(int conn, char *json, size_t cap)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	struct iovec iov = { json, cap - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf,
			     .msg_controllen = sizeof(c.buf) };
	ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return -1;
	json[n] = '\0';
	struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
	if (!h || (mh.msg_flags & MSG_CTRUNC) || h->cmsg_level != SOL_SOCKET ||
	    h->cmsg_type != SCM_RIGHTS || h->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(h), sizeof(fd));
	return fd;
}

/* Resolve the fault at addr: 0 done, -EAGAIN not now, other -errno fatal. */
static int serve(struct server *s, uint64_t addr)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct region *r = &s->r[i];
		if (addr - r->base >= r->size)
			continue;
		uint64_t off = (addr - r->base) & ~(r->page_size - 1);
		void *dst = (void *)(uintptr_t)(r->base + off);
		unsigned long *count;
		int rc;
		if (s->removed[i][off / r->page_size]) {
			rc = uf_zeropage(s->uffd, dst, r->page_size, 0, NULL);
			count = &s->zeroed;
		} else {
			rc = uf_copy(s->uffd, dst, s->file + r->offset + off, r->page_size, 0, NULL);
			count = &s->copied;
		}
		*count += rc == 0;
		s->eagain += rc == -EAGAIN;
		return rc == -EEXIST ? 0 : rc;	/* EEXIST: already there, nobody waits */
	}
	return -EFAULT;		/* not in any region we were given */
}

static void mark_removed(struct server *s, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct region *r = &s->r[i];
		for (uint64_t a = start; a < end; a += r->page_size)
			if (a - r->base < r->size)
				s->removed[i][(a - r->base) / r->page_size] = 1;
	}
}

/* Serve until the VM says it is done (end of file on the socket). */
static int serve_vm(struct server *s, int conn)
{
	struct uffd_msg m[PENDING];
	uint64_t pending[PENDING];
	size_t np = 0;
	for (;;) {
		struct pollfd p[2] = { { .fd = s->uffd, .events = POLLIN }, { .fd = conn, .events = POLLIN } };
		/* With faults left over from EAGAIN, look again soon even if
		 * nothing new arrives. */
		if (poll(p, 2, np ? 1 : -1) < 0 && errno != EINTR)
			return -errno;
		if (p[1].revents)
			return np ? -EPROTO : 0;	/* the VM is done: nothing may wait */
		if (p[0].revents & (POLLHUP | POLLERR))
			return -EPIPE;			/* the VM closed its userfaultfd */
		/* Read all that is queued: faults come first, and the REMOVE
		 * event that makes fills fail with EAGAIN may be behind them. */
		ssize_t n = 0;
		while (np < PENDING && (n = uf_read(s->uffd, m, PENDING - np)) > 0) {
			for (ssize_t k = 0; k < n; k++) {
				if (m[k].event == UFFD_EVENT_PAGEFAULT)
					pending[np++] = m[k].arg.pagefault.address;
				else if (m[k].event == UFFD_EVENT_REMOVE)
					mark_removed(s, m[k].arg.remove.start, m[k].arg.remove.end);
				else
					return -EPROTO;		/* no other event was asked for */
			}
		}
		if (n < 0 && n != -EAGAIN)
			return (int)n;
		size_t keep = 0;
		for (size_t i = 0; i < np; i++) {
			int r = serve(s, pending[i]);
			if (r == -EAGAIN)
				pending[keep++] = pending[i];	/* again next round */
			else if (r < 0)
				return r;
		}
		np = keep;
	}
}

/* The page server's whole life; returns its exit status. */
static int run_server(int listener, const char *mem_path)
{
	struct server s = { .uffd = -1 };
	int file = open(mem_path, O_RDONLY | O_CLOEXEC);
	off_t len = file < 0 ? -1 : lseek(file, 0, SEEK_END);
	if (len <= 0) {
		say("cannot open the memory file %s", mem_path);
		return 1;
	}
	s.file_len = (size_t)len;
	s.file = mmap(NULL, s.file_len, PROT_READ, MAP_PRIVATE, file, 0);
	close(file);
	int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	close(listener);
	if (s.file == MAP_FAILED || conn < 0) {
		say("cannot map the memory file or accept the VM: %s", strerror(errno));
		return 1;
	}
	/* Whoever connects gets to make us write into its memory, and we
	 * trust its description of it: accept only our own user (a real
	 * deployment checks the uid the VM runs as). */
	struct ucred peer;
	socklen_t plen = sizeof(peer);
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &plen) < 0 || peer.uid != getuid()) {
		say("refusing a connection from another user");
		return 1;
	}
	char json[4096];
	s.uffd = receive_handshake(conn, json, sizeof(json));
	if (s.uffd < 0 || parse_regions(&s, json) < 0) {
		say("bad handshake: '%s'", s.uffd < 0 ? "no descriptor" : json);
		return 1;
	}
	say("got a userfaultfd and %zu regions: %s", s.n, json);

	int r = serve_vm(&s, conn);
	char stats[128];
	int slen = snprintf(stats, sizeof(stats), "copied=%lu zeroed=%lu eagain=%lu\n", s.copied, s.zeroed,
			    s.eagain);
	say("%lu pages copied from the file, %lu zero pages after REMOVE, %lu fills retried after EAGAIN",
	    s.copied, s.zeroed, s.eagain);
	if (r < 0)
		say("stopped: %s", strerror(-r));
	else if (write(conn, stats, (size_t)slen) != slen)
		r = -errno;
	uf_close(s.uffd);
	close(conn);
	munmap((void *)s.file, s.file_len);
	for (size_t i = 0; i < s.n; i++)
		free(s.removed[i]);
	return r < 0;
}

/* ------------------------------------------------------------------------ */
/* The VM (the parent process)                                              */

static void close_uffd(void)
{
	int fd = atomic_exchange(&g_uffd, -1);
	if (fd >= 0)
		uf_close(fd);
}

/* A VM whose page server died would wait in its next fault forever.  Then
 * release the context: the faults complete with zero pages, and the check
 * says what happened.  (The child is not reaped here, so its pid stays ours
 * for finish() to kill.) */
static void *watch_server(void *arg)
{
	siginfo_t si;
	(void)arg;
	while (waitid(P_PID, (id_t)g_server, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
	if (!atomic_load(&g_vm_done)) {
		fprintf(stderr, "%s: the page server ended early: releasing the VM's faults\n", NAME);
		close_uffd();
	}
	return NULL;
}

struct vm {
	char *mem[NREGIONS];
	uint64_t offset[NREGIONS];	/* in the memory file */
	size_t page;
};

/* Touch pages [first, first + n) of a region (the first access faults) and
 * count those that differ from the memory file. */
static size_t touch(const struct vm *vm, int reg, size_t first, size_t n)
{
	size_t wrong = 0;
	for (size_t i = first; i < first + n; i++) {
		const char *p = vm->mem[reg] + i * vm->page;
		for (size_t b = 0; b < vm->page; b += 8) {
			uint64_t w;
			memcpy(&w, p + b, sizeof(w));
			if (w != word_at(vm->offset[reg] + i * vm->page + b)) {
				wrong++;
				break;
			}
		}
	}
	return wrong;
}

struct toucher {
	const struct vm *vm;
	size_t wrong;
};

/* A vCPU running while the balloon deflates: faults in region 1's second half. */
static void *vcpu(void *arg)
{
	struct toucher *t = arg;
	t->wrong = touch(t->vm, 1, region_pages[1] / 2, region_pages[1] / 2);
	return NULL;
}

static int send_handshake(int conn, const char *json, int uffd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	memset(&c, 0, sizeof(c));
	struct iovec iov = { (void *)json, strlen(json) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf,
			     .msg_controllen = sizeof(c.buf) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &uffd, sizeof(uffd));
	return sendmsg(conn, &mh, MSG_NOSIGNAL) == (ssize_t)iov.iov_len ? 0 : -1;
}

/* The snapshot's memory file and the socket the page server listens on. */
static int prepare(size_t page, char *mem_path, size_t path_len, struct sockaddr_un *sa)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(g_dir, sizeof(g_dir), "%s/page_server.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(g_dir)) {
		g_dir[0] = '\0';
		finish(1, "cannot create a temporary directory: %s", strerror(errno));
	}
	snprintf(mem_path, path_len, "%s/mem", g_dir);
	int f = open(mem_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (f < 0)
		finish(1, "cannot create %s: %s", mem_path, strerror(errno));
	uint64_t buf[512];
	size_t total = (region_pages[0] + region_pages[1]) * page;
	for (uint64_t off = 0; off < total; off += sizeof(buf)) {
		for (size_t i = 0; i < 512; i++)
			buf[i] = word_at(off + i * 8);
		if (write(f, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			finish(1, "cannot write the memory file: %s", strerror(errno));
	}
	close(f);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/uffd.sock", g_dir) >= sizeof(sa->sun_path))
		finish(77, "the temporary directory's name is too long for a socket address");
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(l, 1) < 0)
		finish(1, "cannot listen on %s: %s", sa->sun_path, strerror(errno));
	return l;
}

int main(int argc, char **argv)
{
	/* Two processes write to the same output: whole lines, in order. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	int engine = parse_engine(argc, argv);
	struct vm vm = { .page = (size_t)sysconf(_SC_PAGESIZE) };
	char mem_path[300];
	struct sockaddr_un sa;

	/* The page server is normally started first and listens; binding
	 * before the fork gives the same order without a race. */
	int listener = prepare(vm.page, mem_path, sizeof(mem_path), &sa);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		finish(1, "fork: %s", strerror(errno));
	if (pid == 0) {
		int st = run_server(listener, mem_path);
		fflush(stdout);
		_exit(st);	/* the VM's exit handlers are not ours to run */
	}
	g_server = pid;
	close(listener);
	pthread_t watcher;
	if (pthread_create(&watcher, NULL, watch_server, NULL) != 0)
		finish(1, "pthread_create failed");

	/* Firecracker's side: create the context, register guest memory,
	 * connect, send the regions and the descriptor. */
	int fd = open_context(engine, UFFD_FEATURE_EVENT_REMOVE, "UFFD_FEATURE_EVENT_REMOVE");
	atomic_store(&g_uffd, fd);
	char json[1024];
	size_t used = (size_t)snprintf(json, sizeof(json), "[");
	uint64_t offset = 0;
	for (int i = 0; i < NREGIONS; i++) {
		size_t size = region_pages[i] * vm.page;
		vm.mem[i] = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				 -1, 0);
		if (vm.mem[i] == MAP_FAILED)
			finish(1, "out of memory");
		int r = uf_register(fd, vm.mem[i], size, UFFDIO_REGISTER_MODE_MISSING, NULL);
		if (r < 0)
			finish(1, "UFFDIO_REGISTER: %s", strerror(-r));
		vm.offset[i] = offset;
		used += (size_t)snprintf(json + used, sizeof(json) - used,
					 "%s{\"base_host_virt_addr\":%llu,\"size\":%zu,\"offset\":%llu,\"page_size\":%zu}",
					 i ? "," : "", (unsigned long long)(uintptr_t)vm.mem[i], size,
					 (unsigned long long)offset, vm.page);
		offset += size;
	}
	snprintf(json + used, sizeof(json) - used, "]");
	int conn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (conn < 0 || connect(conn, (struct sockaddr *)&sa, sizeof(sa)) < 0 || send_handshake(conn, json, fd) < 0)
		finish(1, "cannot hand the descriptor to the page server: %s", strerror(errno));

	/* The guest runs: all of region 0, the first half of region 1. */
	size_t wrong = touch(&vm, 0, 0, region_pages[0]) + touch(&vm, 1, 0, region_pages[1] / 2);
	printf("vm: touched %zu pages\n", region_pages[0] + region_pages[1] / 2);

	/* The balloon takes pages back while a vCPU keeps faulting: each
	 * madvise() waits until the server has read its REMOVE event. */
	struct toucher t = { .vm = &vm };
	pthread_t cpu;
	if (pthread_create(&cpu, NULL, vcpu, &t) != 0)
		finish(1, "pthread_create failed");
	for (size_t i = 0; i < BALLOON_PAGES; i += BALLOON_STEP)
		if (uf_madvise(vm.mem[0] + (BALLOON_FIRST + i) * vm.page, BALLOON_STEP * vm.page, MADV_DONTNEED) < 0)
			finish(1, "madvise: %s", strerror(errno));
	pthread_join(cpu, NULL);
	wrong += t.wrong;
	printf("vm: the balloon gave back %d pages while a vCPU touched %zu more\n", BALLOON_PAGES,
	       region_pages[1] / 2);

	/* The guest uses the given-back pages again: zeros, not the file. */
	size_t not_zero = 0;
	for (size_t i = 0; i < BALLOON_PAGES; i++) {
		const char *p = vm.mem[0] + (BALLOON_FIRST + i) * vm.page;
		size_t b = 0;
		while (b < vm.page && p[b] == 0)
			b++;
		not_zero += b < vm.page;
	}
	printf("vm: touched the %d given-back pages again\n", BALLOON_PAGES);

	/* Done: ask the server what it did, and let it go. */
	atomic_store(&g_vm_done, 1);
	shutdown(conn, SHUT_WR);
	char stats[128];
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(stats) - 1 && (n = read(conn, stats + got, sizeof(stats) - 1 - got)) > 0)
		got += (size_t)n;
	stats[got] = '\0';
	unsigned long copied = 0, zeroed = 0, eagain = 0;
	int have_stats = sscanf(stats, "copied=%lu zeroed=%lu eagain=%lu", &copied, &zeroed, &eagain) == 3;
	pthread_join(watcher, NULL);
	int st = 0;
	waitpid(pid, &st, 0);
	g_server = 0;
	close_uffd();
	close(conn);
	for (int i = 0; i < NREGIONS; i++)
		munmap(vm.mem[i], region_pages[i] * vm.page);
	remove_dir();

	size_t all = region_pages[0] + region_pages[1];
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !have_stats)
		finish(1, "the page server failed (%s %d)", WIFEXITED(st) ? "exit" : "signal",
		       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	if (wrong || not_zero)
		finish(1, "%zu pages differ from the memory file, %zu given-back pages are not zero", wrong, not_zero);
	if (copied != all || zeroed != BALLOON_PAGES)
		finish(1, "the server copied %lu pages (expected %zu) and zeroed %lu (expected %d)", copied, all,
		       zeroed, BALLOON_PAGES);
	finish(0, "%zu pages served from the memory file by another process, %d zero pages after REMOVE, "
		  "%lu fills retried after EAGAIN", all, BALLOON_PAGES, eagain);
}
