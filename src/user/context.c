/* SPDX-License-Identifier: MIT */
/*
 * context.c - a user-engine context: its descriptor, UFFDIO_API, read, close
 * and release.
 *
 * The descriptor is one end of a SOCK_SEQPACKET socket pair; the engine
 * keeps the other.  That makes it a real descriptor: poll/epoll/select see
 * the doorbell (queue.c), it can be dup'd and passed with SCM_RIGHTS, and
 * when the application's last copy closes, the engine's end reports POLLHUP,
 * which is the kernel's "release".  Contexts are found by the socket's
 * identity (device and inode), so every copy of the descriptor finds it.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/capability.h>
#include "user.h"

/* A list read without locks (inside a reader section, see space.c) and
 * changed under registry_lock; an unlinked context is freed only after the
 * readers that might have seen it have left. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct uf__ctx *) registry;
static atomic_int ncontexts;

/* The engine thread (the "reaper") watches, with epoll: every engine end
 * (POLLHUP is release; input is a hello from another process, serve.c) and
 * every channel such a hello opened (requests).  Watches are added by any
 * thread and freed only by the engine thread, after the batch of events
 * that may name them. */
enum watch_kind { W_KICK, W_CTX, W_CHAN };
struct watch {
	enum watch_kind kind;
	int fd;				/* W_CTX: c->efd; W_CHAN: the channel, ours */
	struct uf__ctx *c;		/* a reference */
	int dead;
	struct watch *next;
};
static pthread_t reaper;
static int reaper_running;
static int reaper_ep = -1;
static int reaper_kick = -1;		/* eventfd: something to sweep */
static struct watch kick_watch = { .kind = W_KICK };
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct watch *watches;
static atomic_int reaper_alive;		/* the thread has started */
static struct uf__ctx *inherited;	/* a forked child: the parent's contexts */

static void release(struct uf__ctx *c);
static atomic_int cached_pid;		/* see uf__pid() */

/* ------------------------------------------------------------------------ */
/* Registry                                                                 */

static int identity(int fd, dev_t *dev, ino_t *ino)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EINVAL;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

struct uf__ctx *uf__ctx_get(int fd)
{
	dev_t dev;
	ino_t ino;
	if (atomic_load(&ncontexts) == 0 || identity(fd, &dev, &ino) < 0)
		return NULL;
	unsigned tok = uf__enter();
	struct uf__ctx *c = atomic_load(&registry);
	while (c && !(c->ino == ino && c->dev == dev))
		c = atomic_load(&c->next);
	if (c)
		atomic_fetch_add(&c->refs, 1);
	uf__leave(tok);
	return c;
}

void uf__ctx_put(struct uf__ctx *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1) {
		/* Closed only now: a thread still holding c may ring it. */
		if (c->efd >= 0)
			close(c->efd);
		pthread_mutex_destroy(&c->ev_lock);
		pthread_mutex_destroy(&c->lock);
		free(c);
	}
}

int uf__is_user_fd(int fd)
{
	struct uf__ctx *c = uf__ctx_get(fd);
	if (c)
		uf__ctx_put(c);
	/* Or one another process opened and passed here. */
	return c != NULL || uf__remote_is_user_fd(fd);
}

static void registry_remove(struct uf__ctx *c)
{
	pthread_mutex_lock(&registry_lock);
	for (_Atomic(struct uf__ctx *) *p = &registry; atomic_load(p); p = &atomic_load(p)->next)
		if (atomic_load(p) == c) {
			atomic_store(p, atomic_load(&c->next));
			atomic_fetch_sub(&ncontexts, 1);
			break;
		}
	pthread_mutex_unlock(&registry_lock);
	uf__synchronize();
}

/* ------------------------------------------------------------------------ */
/* Release                                                                  */

static void kick_reaper(void)
{
	uint64_t one = 1;
	if (reaper_kick >= 0)
		(void)!write(reaper_kick, &one, sizeof(one));
}

static void release(struct uf__ctx *c)
{
	if (atomic_exchange(&c->released, 1))
		return;
	/* Unregister first: once the new table is published and the readers
	 * drained, no faulting thread can still be queueing on c, so the wake
	 * below reaches every waiter. */
	pthread_mutex_lock(&c->lock);
	uf__unregister_all(c);
	pthread_mutex_unlock(&c->lock);
	uf__wake(c, -1, 0, UINTPTR_MAX, FK_MISSING | FK_WP | FK_MINOR);
	uf__release_events(c);
	registry_remove(c);
	/* The engine thread drops its watches of c (and closes the channels
	 * other processes had to it); c->efd closes with the last reference. */
	if (reaper_ep >= 0)
		epoll_ctl(reaper_ep, EPOLL_CTL_DEL, c->efd, NULL);
	kick_reaper();
	atomic_store(&c->release_done, 1);
	syscall(SYS_futex, (unsigned *)&c->release_done, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	uf__ctx_put(c);		/* the registry's reference */
}

/* Wait until release() has finished on c, whoever runs it (the engine
 * thread may have seen the hang-up first). */
static void wait_released(struct uf__ctx *c)
{
	while (!atomic_load(&c->release_done))
		uf__futex_wait(&c->release_done, 0);
}

/* Watch fd for c (taking a reference).  0 or -errno. */
static int watch_add(enum watch_kind kind, int fd, struct uf__ctx *c)
{
	struct watch *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->kind = kind;
	w->fd = fd;
	w->c = c;
	atomic_fetch_add(&c->refs, 1);
	/* Engine ends: edge-triggered, because the datagrams kept queued
	 * there (serve.c) would make level-triggered input fire for ever. */
	struct epoll_event ev = { .events = kind == W_CTX ? EPOLLIN | EPOLLET : EPOLLIN, .data.ptr = w };
	pthread_mutex_lock(&watch_lock);
	int r = epoll_ctl(reaper_ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
	if (r == 0) {
		w->next = watches;
		watches = w;
	}
	pthread_mutex_unlock(&watch_lock);
	if (r < 0) {
		uf__ctx_put(c);
		free(w);
	}
	return r;
}

/* Free the watches that are done: dead ones, and those of released
 * contexts (their channels close here, which the monitor sees). */
static void sweep(void)
{
	pthread_mutex_lock(&watch_lock);
	for (struct watch **p = &watches; *p;) {
		struct watch *w = *p;
		if (!w->dead && !atomic_load(&w->c->released)) {
			p = &w->next;
			continue;
		}
		*p = w->next;
		/* Out of the epoll set before it is freed: release() may not
		 * have got to its own EPOLL_CTL_DEL yet (it marks the context
		 * released first), and c->efd is open while we hold c. */
		epoll_ctl(reaper_ep, EPOLL_CTL_DEL, w->fd, NULL);
		if (w->kind == W_CHAN)
			close(w->fd);
		uf__ctx_put(w->c);
		free(w);
	}
	pthread_mutex_unlock(&watch_lock);
}

static void on_event(struct watch *w, uint32_t events)
{
	struct uf__ctx *c = w->c;
	if (w->dead || atomic_load(&c->released))
		return;
	if (w->kind == W_CTX) {
		if (events & (EPOLLHUP | EPOLLERR)) {
			release(c);
			return;
		}
		int chan;
		/* Watched first, then welcomed; a channel that cannot be
		 * watched (out of memory) is refused with that error. */
		while (!atomic_load(&c->released) && uf__serve_hello(c, &chan))
			if (chan >= 0)
				uf__serve_answer(chan, watch_add(W_CHAN, chan, c));
		return;
	}
	/* A channel: serve what came, then notice a hang-up. */
	if ((events & EPOLLIN) && uf__serve_request(c, w->fd) < 0)
		w->dead = 1;
	else if (!(events & EPOLLIN) && (events & (EPOLLHUP | EPOLLERR)))
		w->dead = 1;
}


static void *reaper_main(void *arg)
{
	(void)arg;
	struct epoll_event ev[16];
	atomic_store(&reaper_alive, 1);
	for (;;) {
		int n = epoll_wait(reaper_ep, ev, 16, -1);
		int must_sweep = 0;
		for (int i = 0; i < n; i++) {
			struct watch *w = ev[i].data.ptr;
			if (w == &kick_watch) {
				uint64_t v;
				(void)!read(reaper_kick, &v, sizeof(v));
				must_sweep = 1;
				continue;
			}
			on_event(w, ev[i].events);
			must_sweep |= w->dead || atomic_load(&w->c->released);
		}
		if (must_sweep)
			sweep();
	}
	return NULL;
}

/* A forked child has no engine thread, and the epoll set and the kick
 * counter it inherited are the parent's: it starts its own when needed.
 * The channels serve the parent's contexts: not the child's to keep.  Its
 * memory stops being managed, as with the kernel without EVENT_FORK, except
 * where a context asked for that feature (fork.c). */
static void after_fork_child(void)
{
	atomic_store(&cached_pid, 0);
	uf__space_after_fork();
	/* The memory first (fork.c): registrations of contexts with
	 * UFFD_FEATURE_EVENT_FORK move to the child's own contexts, the rest
	 * becomes ordinary memory. */
	uf__fork_child_memory();
	/* The contexts are the parent's: a descriptor the child inherited
	 * now reaches them as any other process's does (remote.c).  Their
	 * engine ends are the parent's business; their memory stays listed
	 * (inherited), not leaked. */
	for (struct uf__ctx *c = atomic_load(&registry); c; c = atomic_load(&c->next)) {
		close(c->efd);
		c->efd = -1;
	}
	inherited = atomic_load(&registry);
	atomic_store(&registry, NULL);
	atomic_store(&ncontexts, 0);
	reaper_running = 0;
	atomic_store(&reaper_alive, 0);
	pthread_mutex_init(&registry_lock, NULL);
	pthread_mutex_init(&watch_lock, NULL);
	for (struct watch *w = watches, *next; w; w = next) {
		next = w->next;
		if (w->kind == W_CHAN)
			close(w->fd);
		uf__ctx_put(w->c);	/* frees a released context the watch kept */
		free(w);
	}
	watches = NULL;
	if (reaper_ep >= 0)
		close(reaper_ep);
	if (reaper_kick >= 0)
		close(reaper_kick);
	reaper_ep = reaper_kick = -1;
	/* Then the child's contexts, with an engine thread of its own. */
	uf__fork_child_contexts();
}

/* Called with registry_lock held. */
static int start_reaper(void)
{
	if (reaper_running)
		return 0;
	static int atfork_done;
	if (!atfork_done) {
		pthread_atfork(uf__fork_prepare, uf__fork_parent, after_fork_child);
		atfork_done = 1;
	}
	if (reaper_ep < 0) {
		reaper_ep = epoll_create1(EPOLL_CLOEXEC);
		if (reaper_ep < 0)
			return -errno;
	}
	if (reaper_kick < 0) {
		reaper_kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (reaper_kick < 0)
			return -errno;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &kick_watch };
		if (epoll_ctl(reaper_ep, EPOLL_CTL_ADD, reaper_kick, &ev) < 0)
			return -errno;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* the thread inherits it */
	int r = pthread_create(&reaper, NULL, reaper_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return -r;
	/* Return only once the thread runs: a program that forks right after
	 * uf_open() would otherwise fork in the middle of a thread's start,
	 * and a runtime that tracks threads (the sanitizers') can leave the
	 * child holding its lock.  It starts within microseconds; if it
	 * never does (a runtime's lock a fork left held: docs/LIMITATIONS.md,
	 * sanitizers), this waits asleep rather than spinning for ever. */
	for (unsigned n = 0; !atomic_load(&reaper_alive); n++) {
		struct timespec ms = { 0, 1000000 };
		if (n < 1000)
			sched_yield();
		else
			nanosleep(&ms, NULL);
	}
	pthread_detach(reaper);
	reaper_running = 1;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Open                                                                     */

/* What the engine is built on: guard markers (Linux 6.13) and
 * /proc/self/maps with PROCMAP_QUERY (6.11).  0, or -ENOSYS with why. */
static int check_system(char *why, size_t why_len)
{
	static atomic_int verdict;	/* 0 unknown, 1 fine, -1 not */
	static char reason[160];
	if (atomic_load(&verdict) == 0) {
		char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int ok = p != MAP_FAILED && madvise(p, 4096, 102 /* MADV_GUARD_INSTALL */) == 0;
		int e = errno;
		if (p != MAP_FAILED)
			munmap(p, 4096);
		/* Out of memory says nothing about the system: fail this
		 * open, and ask again at the next (tests/inject.c open). */
		if (!ok && (p == MAP_FAILED || e == ENOMEM || e == EAGAIN || e == EINTR)) {
			if (why && why_len)
				snprintf(why, why_len, "user engine: %s", strerror(e));
			return -e;
		}
		if (!ok)
			snprintf(reason, sizeof(reason),
				 "the user engine needs guard markers (MADV_GUARD_INSTALL, Linux 6.13)");
		else if (access("/proc/self/maps", R_OK) != 0 || access("/proc/self/pagemap", R_OK) != 0) {
			ok = 0;
			snprintf(reason, sizeof(reason), "the user engine needs /proc mounted");
		}
		atomic_store(&verdict, ok ? 1 : -1);
	}
	if (atomic_load(&verdict) > 0)
		return 0;
	if (why && why_len)
		snprintf(why, why_len, "%s", reason);
	return -ENOSYS;
}

/* A context on a new socket pair, not listed yet: *app is the program's end,
 * with the flags asked for (O_CLOEXEC, O_NONBLOCK). */
static int ctx_make(int flags, struct uf__ctx **out, int *app_out)
{
	int sv[2];
	int type = SOCK_SEQPACKET | SOCK_CLOEXEC;
	if (socketpair(AF_UNIX, type, 0, sv) < 0)
		return -errno;
	int app = sv[0], eng = sv[1];
	/* A descriptor without the flags asked for is no descriptor: a
	 * blocking one where O_NONBLOCK was asked would hang a reader. */
	int r = 0;
	if ((!(flags & O_CLOEXEC) && fcntl(app, F_SETFD, 0) < 0) ||
	    ((flags & O_NONBLOCK) && fcntl(app, F_SETFL, O_NONBLOCK) < 0))
		r = -errno;

	struct uf__ctx *c = r ? NULL : calloc(1, sizeof(*c));
	if (r == 0)
		r = c ? identity(app, &c->dev, &c->ino) : -ENOMEM;
	if (r == 0) {
		c->efd = eng;
		c->flags = flags & (O_CLOEXEC | O_NONBLOCK);
		/* A userfaultfd is never writable (see wire.h). */
		r = uf__serve_prepare(c, app);
	}
	if (r < 0) {
		free(c);
		close(app);
		close(eng);
		return r;
	}
	atomic_init(&c->refs, 1);
	atomic_flag_clear(&c->bell_lock);
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->ev_lock, NULL);
	*out = c;
	*app_out = app;
	return 0;
}

/* List c (its reference becomes the registry's) and watch its engine end. */
static int ctx_list(struct uf__ctx *c)
{
	pthread_mutex_lock(&registry_lock);
	int r = start_reaper();
	if (r == 0)
		r = watch_add(W_CTX, c->efd, c);
	if (r == 0) {
		atomic_store(&c->next, atomic_load(&registry));
		atomic_store(&registry, c);
		atomic_fetch_add(&ncontexts, 1);
	}
	pthread_mutex_unlock(&registry_lock);
	return r;
}

/* A context never listed: its end goes, the program's end is the caller's. */
void uf__ctx_discard(struct uf__ctx *c)
{
	if (c->efd >= 0)
		close(c->efd);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->ev_lock);
	free(c);
}

struct uf__ctx *uf__ctx_new_unlisted(int flags, int *app)
{
	struct uf__ctx *c;
	return ctx_make(flags, &c, app) == 0 ? c : NULL;
}

int uf__ctx_adopt(struct uf__ctx *c)
{
	return ctx_list(c);
}

int uf__user_open(int flags, char *why, size_t why_len)
{
	int err = check_system(why, why_len);
	if (err)
		return err;
	struct uf__ctx *c;
	int app;
	int r = ctx_make(flags, &c, &app);
	if (r < 0) {
		if (why && why_len)
			snprintf(why, why_len, "user engine: %s", strerror(-r));
		return r;
	}
	r = uf__trap_install();
	if (r < 0) {
		if (why && why_len)
			snprintf(why, why_len, "user engine: %s", strerror(-r));
		uf__ctx_discard(c);
		close(app);
		return r;
	}
	r = ctx_list(c);
	if (r < 0) {
		if (why && why_len)
			snprintf(why, why_len, "user engine: cannot start its thread: %s", strerror(-r));
		uf__ctx_discard(c);
		close(app);
		return r;
	}
	return app;
}

/* ------------------------------------------------------------------------ */
/* UFFDIO_API                                                               */

static int has_cap_sys_ptrace(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	return (d[CAP_SYS_PTRACE / 32].effective >> (CAP_SYS_PTRACE % 32)) & 1;
}

/* getpid() without a system call each time; a forked child resets it. */

pid_t uf__pid(void)
{
	pid_t p = atomic_load(&cached_pid);
	if (!p) {
		p = getpid();
		atomic_store(&cached_pid, p);
	}
	return p;
}

/* The library's own argument (a typed helper's) is copied directly; any
 * other pointer goes through the kernel, which says EFAULT where it cannot
 * be read or written. */
int uf__copy_in(void *dst, const void *src, size_t len)
{
	if (uf__trusted(src, len)) {
		memcpy(dst, src, len);
		return 0;
	}
	struct iovec l = { dst, len }, r = { (void *)src, len };
	return process_vm_readv(uf__pid(), &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

int uf__copy_out(void *dst, const void *src, size_t len)
{
	if (uf__trusted(dst, len)) {
		memcpy(dst, src, len);
		return 0;
	}
	struct iovec l = { (void *)src, len }, r = { dst, len };
	return process_vm_writev(uf__pid(), &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static int api(struct uf__ctx *c, struct uffdio_api *user)
{
	struct uffdio_api a;
	if (uf__copy_in(&a, user, sizeof(a)) < 0)
		return -EFAULT;
	__u64 want = a.features;
	int err;
	if (a.api != UFFD_API) {
		err = -EINVAL;
		goto fail;
	}
	if ((want & UFFD_FEATURE_EVENT_FORK) && !has_cap_sys_ptrace()) {
		err = -EPERM;
		goto fail;
	}
	if (want & UFFD_FEATURE_WP_ASYNC)
		want |= UFFD_FEATURE_WP_UNPOPULATED;
	if (want & ~(__u64)UU_FEATURES) {
		err = -EINVAL;
		goto fail;
	}
	a.features = UU_FEATURES;
	a.ioctls = UFFD_API_IOCTLS;
	if (uf__copy_out(user, &a, sizeof(a)) < 0)
		return -EFAULT;
	int exp = 0;
	if (!atomic_compare_exchange_strong(&c->api, &exp, 1)) {
		err = -EINVAL;
		goto fail;
	}
	c->features = want;
	atomic_store(&c->api, 2);
	return 0;
fail:
	memset(&a, 0, sizeof(a));
	if (uf__copy_out(user, &a, sizeof(a)) < 0)
		return -EFAULT;
	return err;
}

/* ------------------------------------------------------------------------ */
/* The engine's entry points                                                */

/* The request's argument, copied in; EFAULT for a bad pointer. */
#define ARG(type, name)							\
	type name;							\
	if (uf__copy_in(&name, arg, sizeof(name)) < 0) {			\
		r = -EFAULT;						\
		break;							\
	}

int uf__dispatch(struct uf__ctx *c, int fd, unsigned long request, void *arg)
{
	int r;
	if (request != UFFDIO_API && atomic_load(&c->api) != 2)
		return -EINVAL;
	switch (request) {
	case UFFDIO_API:
		return api(c, arg);
	case UFFDIO_REGISTER: {
		ARG(struct uffdio_register, a);
		r = uf__register(c, &a);
		/* By byte offset: the program's struct may be misaligned, and
		 * naming its member through a misaligned pointer is undefined. */
		if (r == 0 && uf__copy_out((char *)arg + offsetof(struct uffdio_register, ioctls),
				       &a.ioctls, sizeof(a.ioctls)) < 0)
			r = -EFAULT;
		break;
	}
	case UFFDIO_UNREGISTER: {
		ARG(struct uffdio_range, a);
		r = uf__unregister(c, fd, &a);
		break;
	}
	case UFFDIO_WAKE: {
		ARG(struct uffdio_range, a);
		r = uf__wake_ioctl(c, fd, &a);
		break;
	}
	case UFFDIO_WRITEPROTECT: {
		ARG(struct uffdio_writeprotect, a);
		r = uf__writeprotect(c, fd, &a);
		break;
	}
	/* The fills write their result field themselves (it may be written
	 * even when the rest of the argument is bad). */
	case UFFDIO_COPY:
		r = uf__copy(c, fd, arg);
		break;
	case UFFDIO_ZEROPAGE:
		r = uf__zeropage(c, fd, arg);
		break;
	case UFFDIO_CONTINUE:
		r = uf__continue(c, fd, arg);
		break;
	case UFFDIO_POISON:
		r = uf__poison(c, fd, arg);
		break;
	case UFFDIO_MOVE:
		r = uf__move(c, fd, arg);
		break;
	default:
		r = -EINVAL;
	}
	return r;
}

size_t uf__take_msgs(struct uf__ctx *c, struct uffd_msg *out, size_t n, int remote, int *err)
{
	/* Faults first, then events, as the kernel reads them. */
	size_t k = uf__take_faults(c, out, n);
	int e = 0;
	if (k < n)
		k += uf__take_events(c, out + k, n - k, remote, &e);
	/* An error only when nothing was taken (the kernel's read returns
	 * what it has). */
	*err = k ? 0 : e;
	return k;
}

/* The context a uf_handler() thread serves, and its descriptor: its
 * callbacks' ioctls on that descriptor find the context here rather than
 * by the socket's identity (an fstat, 0.45 us of each).  The handler holds
 * the context, and uf_handler_start() requires the descriptor to stay open
 * while the handler runs.  Initial-exec: read by fills in signal handlers. */
static __thread struct uf__ctx *serving_ctx __attribute__((tls_model("initial-exec")));
static __thread int serving_fd __attribute__((tls_model("initial-exec")));

void uf__idle_serving(struct uf__ctx *c, int fd)
{
	serving_ctx = c;
	serving_fd = fd;
}

static int user_ioctl(int fd, unsigned long request, void *arg)
{
	struct uf__ctx *c = serving_ctx;
	if (c && fd == serving_fd)
		atomic_fetch_add(&c->refs, 1);
	else
		c = uf__ctx_get(fd);
	if (!c) {
		/* Another process's (passed to us), or not (or no longer)
		 * ours: the number may have been reused. */
		int r = uf__remote_ioctl(fd, request, arg);
		if (r != -ENOTTY)
			return r;
		return ioctl(fd, request, arg) < 0 ? uf__neg_errno() : 0;
	}
	int r = uf__dispatch(c, fd, request, arg);
	if (atomic_load(&c->bell_stale))
		uf__bell_sync_app(c, fd);
	uf__ctx_put(c);
	return r;
}

static void put_on_cancel(void *c)
{
	uf__ctx_put(c);
}

/* Blocking read: sleep until the doorbell rings, without taking it.  recv()
 * follows the signal's SA_RESTART as the kernel's read does (EINTR
 * without it) and is a cancellation point, so this read is one too. */
static int wait_bell(struct uf__ctx *c, int fd)
{
	char b;
	ssize_t n;
	pthread_cleanup_push(put_on_cancel, c);
	n = recv(fd, &b, 1, MSG_PEEK);
	pthread_cleanup_pop(0);
	return n < 0 ? -errno : 0;
}

/* A read that does not wait: messages, -EAGAIN, or -errno. */
static ssize_t read_now(struct uf__ctx *c, int fd, struct uffd_msg *msgs, size_t n)
{
	if (n == 0 || atomic_load(&c->api) != 2)
		return -EINVAL;
	if (n > 4096)
		n = 4096;
	int err;
	size_t k = uf__take_msgs(c, msgs, n, 0, &err);
	/* The doorbell follows npending: after a take there is a datagram to
	 * take back only if one is queued (none is while messages go to idle
	 * readers instead, and that saves two system calls a read). */
	if ((k && atomic_load(&c->bell)) || atomic_load(&c->bell_stale))
		uf__bell_sync_app(c, fd);
	return k ? (ssize_t)k : err ? err : -EAGAIN;
}

ssize_t uf__idle_read(struct uf__ctx *c, int fd, struct uffd_msg *msgs, size_t n)
{
	/* Released: every descriptor was closed (a polling handler would see
	 * POLLNVAL and end with EBADF). */
	if (atomic_load(&c->released))
		return -EBADF;
	return read_now(c, fd, msgs, n);
}

static ssize_t user_read(int fd, struct uffd_msg *msgs, size_t n)
{
	struct uf__ctx *c = uf__ctx_get(fd);
	if (!c)
		return uf__remote_read(fd, msgs, n);
	ssize_t r;
	for (;;) {
		r = read_now(c, fd, msgs, n);
		if (r != -EAGAIN)
			break;
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0) {
			r = -errno;
			break;
		}
		if (fl & O_NONBLOCK) {
			r = -EAGAIN;
			break;
		}
		int w = wait_bell(c, fd);
		if (w < 0 && w != -EAGAIN) {
			r = w;
			break;
		}
	}
	uf__ctx_put(c);
	return r;
}

static int user_close(int fd)
{
	struct uf__ctx *c = uf__ctx_get(fd);
	if (!c)
		uf__remote_forget(fd);
	int r = close(fd) < 0 ? uf__neg_errno() : 0;
	if (c) {
		/* If that was the last copy, the context is released before
		 * close returns, as the kernel does at the last close: here,
		 * or by the engine thread if it saw the hang-up first. */
		struct pollfd p = { .fd = c->efd, .events = 0 };
		if (poll(&p, 1, 0) > 0 && (p.revents & POLLHUP)) {
			release(c);
			wait_released(c);
		}
		uf__ctx_put(c);
	}
	return r;
}

const struct uf__engine uf__user_engine = {
	.kind = UF_ENGINE_USER,
	.ioctl = user_ioctl,
	.read = user_read,
	.close = user_close,
};
