/* SPDX-License-Identifier: MIT */
/*
 * inject.c - the wrappers behind tests/inject/inject.h.
 *
 * Each uf__inject_NAME() asks should_fail() and either fails the way NAME
 * fails (-1 with errno, MAP_FAILED, NULL, or an error number returned) or
 * calls the C library's NAME.  Everything here is async-signal-safe: the
 * engine reaches these from its SIGSEGV handler.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/futex.h>
#include "inject/inject.h"

static atomic_ullong mask;
static atomic_long nth, times, seen, failed;
static atomic_int err_no, scope, first_fn = -1;
static __thread int armed __attribute__((tls_model("initial-exec")));

static const char *const names[INJ_COUNT] = {
	"mmap", "munmap", "mremap", "madvise", "mprotect", "mincore",
	"memfd_create", "ftruncate", "fstat", "fcntl", "futex_wait", "syscall",
	"socketpair", "send", "recv", "sendmsg", "recvmsg", "poll",
	"epoll_create1", "epoll_ctl", "epoll_wait", "eventfd", "pthread_create",
	"malloc", "calloc", "realloc", "process_vm_readv", "process_vm_writev",
};

const char *inj_name(int fn)
{
	return fn >= 0 && fn < INJ_COUNT ? names[fn] : "none";
}

void inj_arm(unsigned long long m, long n, long t, int err, enum inj_scope sc)
{
	atomic_store(&mask, 0);
	atomic_store(&seen, 0);
	atomic_store(&failed, 0);
	atomic_store(&first_fn, -1);
	atomic_store(&nth, n);
	atomic_store(&times, t);
	atomic_store(&err_no, err);
	atomic_store(&scope, (int)sc);
	atomic_store(&mask, m);
}

void inj_disarm(void)
{
	atomic_store(&mask, 0);
}

void inj_thread(int on)
{
	armed = on;
}

long inj_seen(void) { return atomic_load(&seen); }
long inj_failed(void) { return atomic_load(&failed); }
int inj_failed_fn(void) { return atomic_load(&first_fn); }

/* The errno to fail with, or 0 to pass the call through. */
static int should_fail(enum inj_fn fn)
{
	if (!(atomic_load(&mask) & INJ_BIT(fn)))
		return 0;
	if (atomic_load(&scope) == INJ_ARMED && !armed)
		return 0;
	long k = atomic_fetch_add(&seen, 1) + 1;
	long n = atomic_load(&nth), t = atomic_load(&times);
	if (n <= 0 || k < n || (t > 0 && k >= n + t))
		return 0;
	int exp = -1;
	atomic_compare_exchange_strong(&first_fn, &exp, (int)fn);
	atomic_fetch_add(&failed, 1);
	int e = atomic_load(&err_no);
	/* mincore(2) says ENOMEM for "not mapped"; out of memory it says
	 * EAGAIN (it could not get its buffer page). */
	if (fn == INJ_MINCORE && e == ENOMEM)
		e = EAGAIN;
	return e;
}

#define FAIL_OR(fn, failure)			\
	do {					\
		int e_ = should_fail(fn);	\
		if (e_) {			\
			errno = e_;		\
			return failure;		\
		}				\
	} while (0)

/* Declared here: nothing else calls them by these names. */
void *uf__inject_mmap(void *a, size_t n, int prot, int fl, int fd, off_t off);
int uf__inject_munmap(void *a, size_t n);
void *uf__inject_mremap(void *a, size_t n, size_t nn, int fl, ...);
int uf__inject_madvise(void *a, size_t n, int adv);
int uf__inject_mprotect(void *a, size_t n, int prot);
int uf__inject_mincore(void *a, size_t n, unsigned char *v);
int uf__inject_memfd_create(const char *name, unsigned fl);
int uf__inject_ftruncate(int fd, off_t n);
int uf__inject_fstat(int fd, struct stat *st);
int uf__inject_fcntl(int fd, int cmd, ...);
long uf__inject_syscall(long nr, ...);
int uf__inject_socketpair(int d, int t, int p, int sv[2]);
ssize_t uf__inject_send(int fd, const void *b, size_t n, int fl);
ssize_t uf__inject_recv(int fd, void *b, size_t n, int fl);
ssize_t uf__inject_sendmsg(int fd, const struct msghdr *m, int fl);
ssize_t uf__inject_recvmsg(int fd, struct msghdr *m, int fl);
int uf__inject_poll(struct pollfd *p, nfds_t n, int t);
int uf__inject_epoll_create1(int fl);
int uf__inject_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev);
int uf__inject_epoll_wait(int ep, struct epoll_event *ev, int n, int t);
int uf__inject_eventfd(unsigned v, int fl);
int uf__inject_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
void *uf__inject_malloc(size_t n);
void *uf__inject_calloc(size_t n, size_t m);
void *uf__inject_realloc(void *p, size_t n);
ssize_t uf__inject_process_vm_readv(pid_t pid, const struct iovec *l, unsigned long ln,
				    const struct iovec *r, unsigned long rn, unsigned long fl);
ssize_t uf__inject_process_vm_writev(pid_t pid, const struct iovec *l, unsigned long ln,
				     const struct iovec *r, unsigned long rn, unsigned long fl);

void *uf__inject_mmap(void *a, size_t n, int prot, int fl, int fd, off_t off)
{
	FAIL_OR(INJ_MMAP, MAP_FAILED);
	return mmap(a, n, prot, fl, fd, off);
}

int uf__inject_munmap(void *a, size_t n)
{
	FAIL_OR(INJ_MUNMAP, -1);
	return munmap(a, n);
}

void *uf__inject_mremap(void *a, size_t n, size_t nn, int fl, ...)
{
	va_list ap;
	va_start(ap, fl);
	void *to = (fl & MREMAP_FIXED) ? va_arg(ap, void *) : NULL;
	va_end(ap);
	FAIL_OR(INJ_MREMAP, MAP_FAILED);
	return mremap(a, n, nn, fl, to);
}

int uf__inject_madvise(void *a, size_t n, int adv)
{
	FAIL_OR(INJ_MADVISE, -1);
	return madvise(a, n, adv);
}

int uf__inject_mprotect(void *a, size_t n, int prot)
{
	FAIL_OR(INJ_MPROTECT, -1);
	return mprotect(a, n, prot);
}

int uf__inject_mincore(void *a, size_t n, unsigned char *v)
{
	FAIL_OR(INJ_MINCORE, -1);
	return mincore(a, n, v);
}

int uf__inject_memfd_create(const char *name, unsigned fl)
{
	FAIL_OR(INJ_MEMFD_CREATE, -1);
	return memfd_create(name, fl);
}

int uf__inject_ftruncate(int fd, off_t n)
{
	FAIL_OR(INJ_FTRUNCATE, -1);
	return ftruncate(fd, n);
}

int uf__inject_fstat(int fd, struct stat *st)
{
	FAIL_OR(INJ_FSTAT, -1);
	return fstat(fd, st);
}

int uf__inject_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);	/* every command the engine uses takes one word or none */
	va_end(ap);
	FAIL_OR(INJ_FCNTL, -1);
	return fcntl(fd, cmd, arg);
}

/* Six words passed on whatever the caller gave, as the C library's wrapper
 * does; reading words a caller did not pass is what ASan would flag. */
__attribute__((no_sanitize_address)) long uf__inject_syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a[6];
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	int fn = INJ_SYSCALL;
	if (nr == SYS_futex && ((a[1] & FUTEX_CMD_MASK) == FUTEX_WAIT ||
				(a[1] & FUTEX_CMD_MASK) == FUTEX_WAIT_BITSET))
		fn = INJ_FUTEX_WAIT;
	FAIL_OR(fn, -1);
	return syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

int uf__inject_socketpair(int d, int t, int p, int sv[2])
{
	FAIL_OR(INJ_SOCKETPAIR, -1);
	return socketpair(d, t, p, sv);
}

ssize_t uf__inject_send(int fd, const void *b, size_t n, int fl)
{
	FAIL_OR(INJ_SEND, -1);
	return send(fd, b, n, fl);
}

ssize_t uf__inject_recv(int fd, void *b, size_t n, int fl)
{
	FAIL_OR(INJ_RECV, -1);
	return recv(fd, b, n, fl);
}

ssize_t uf__inject_sendmsg(int fd, const struct msghdr *m, int fl)
{
	FAIL_OR(INJ_SENDMSG, -1);
	return sendmsg(fd, m, fl);
}

ssize_t uf__inject_recvmsg(int fd, struct msghdr *m, int fl)
{
	FAIL_OR(INJ_RECVMSG, -1);
	return recvmsg(fd, m, fl);
}

int uf__inject_poll(struct pollfd *p, nfds_t n, int t)
{
	FAIL_OR(INJ_POLL, -1);
	return poll(p, n, t);
}

int uf__inject_epoll_create1(int fl)
{
	FAIL_OR(INJ_EPOLL_CREATE1, -1);
	return epoll_create1(fl);
}

int uf__inject_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev)
{
	FAIL_OR(INJ_EPOLL_CTL, -1);
	return epoll_ctl(ep, op, fd, ev);
}

int uf__inject_epoll_wait(int ep, struct epoll_event *ev, int n, int t)
{
	FAIL_OR(INJ_EPOLL_WAIT, -1);
	return epoll_wait(ep, ev, n, t);
}

int uf__inject_eventfd(unsigned v, int fl)
{
	FAIL_OR(INJ_EVENTFD, -1);
	return eventfd(v, fl);
}

int uf__inject_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	int e = should_fail(INJ_PTHREAD_CREATE);
	if (e)
		return e;
	return pthread_create(t, a, fn, arg);
}

void *uf__inject_malloc(size_t n)
{
	FAIL_OR(INJ_MALLOC, NULL);
	return malloc(n);
}

void *uf__inject_calloc(size_t n, size_t m)
{
	FAIL_OR(INJ_CALLOC, NULL);
	return calloc(n, m);
}

void *uf__inject_realloc(void *p, size_t n)
{
	FAIL_OR(INJ_REALLOC, NULL);
	return realloc(p, n);
}

ssize_t uf__inject_process_vm_readv(pid_t pid, const struct iovec *l, unsigned long ln,
				    const struct iovec *r, unsigned long rn, unsigned long fl)
{
	FAIL_OR(INJ_PROCESS_VM_READV, -1);
	return process_vm_readv(pid, l, ln, r, rn, fl);
}

ssize_t uf__inject_process_vm_writev(pid_t pid, const struct iovec *l, unsigned long ln,
				     const struct iovec *r, unsigned long rn, unsigned long fl)
{
	FAIL_OR(INJ_PROCESS_VM_WRITEV, -1);
	return process_vm_writev(pid, l, ln, r, rn, fl);
}
