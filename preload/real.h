/* SPDX-License-Identifier: MIT */
/*
 * real.h - the C library's own functions behind the ones the shim replaces.
 *
 * The shim exports read(), ioctl(), madvise()... so that the program's
 * calls reach it first.  Inside the shim's own .so those names would bind
 * to the shim too, so the engine's objects are copied with every such
 * reference renamed (objcopy --redefine-syms, see the Makefile): the
 * engine's read() becomes uf__real_read(), defined here as the C library's
 * read.  The shim's own code calls uf__real_*() by name.
 *
 * UF__SHIM_PLAIN lists the fixed-argument functions, UF__SHIM_VARIADIC the
 * others; preload/interposed.txt must name exactly the same set (the
 * Makefile renames from it, tests/shim.sh compares the two).
 */
#ifndef UF_SHIM_REAL_H
#define UF_SHIM_REAL_H

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/* X(return type, name, (parameters), (arguments)) */
#define UF__SHIM_PLAIN(X)								\
	X(ssize_t, read, (int fd, void *buf, size_t n), (fd, buf, n))			\
	X(ssize_t, readv, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt))	\
	X(ssize_t, write, (int fd, const void *buf, size_t n), (fd, buf, n))		\
	X(ssize_t, writev, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt))	\
	X(ssize_t, pread, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off))	\
	X(ssize_t, pread64, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off))	\
	X(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off)) \
	X(ssize_t, pwrite64, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off)) \
	X(ssize_t, recv, (int fd, void *buf, size_t n, int fl), (fd, buf, n, fl))	\
	X(ssize_t, recvfrom, (int fd, void *buf, size_t n, int fl, struct sockaddr *a,	\
			      socklen_t *al), (fd, buf, n, fl, a, al))			\
	X(ssize_t, recvmsg, (int fd, struct msghdr *m, int fl), (fd, m, fl))		\
	X(ssize_t, send, (int fd, const void *buf, size_t n, int fl), (fd, buf, n, fl))	\
	X(ssize_t, sendto, (int fd, const void *buf, size_t n, int fl,			\
			    const struct sockaddr *a, socklen_t al), (fd, buf, n, fl, a, al)) \
	X(ssize_t, sendmsg, (int fd, const struct msghdr *m, int fl), (fd, m, fl))	\
	X(int, recvmmsg, (int fd, struct mmsghdr *v, unsigned n, int fl, struct timespec *t), \
	  (fd, v, n, fl, t))								\
	X(int, close, (int fd), (fd))							\
	X(int, dup, (int fd), (fd))							\
	X(int, dup2, (int fd, int to), (fd, to))					\
	X(int, dup3, (int fd, int to, int fl), (fd, to, fl))				\
	X(int, poll, (struct pollfd *p, nfds_t n, int t), (p, n, t))			\
	X(int, ppoll, (struct pollfd *p, nfds_t n, const struct timespec *t,		\
		       const sigset_t *s), (p, n, t, s))				\
	X(int, select, (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t),	\
	  (n, r, w, e, t))								\
	X(int, pselect, (int n, fd_set *r, fd_set *w, fd_set *e,			\
			 const struct timespec *t, const sigset_t *s), (n, r, w, e, t, s)) \
	X(int, madvise, (void *a, size_t n, int adv), (a, n, adv))			\
	X(int, munmap, (void *a, size_t n), (a, n))					\
	X(int, sigaction, (int sig, const struct sigaction *a, struct sigaction *o),	\
	  (sig, a, o))									\
	X(sighandler_t, signal, (int sig, sighandler_t h), (sig, h))			\
	X(ssize_t, readlink, (const char *p, char *buf, size_t n), (p, buf, n))	\
	X(ssize_t, readlinkat, (int dir, const char *p, char *buf, size_t n),		\
	  (dir, p, buf, n))								\
	X(FILE *, fopen, (const char *p, const char *m), (p, m))			\
	X(FILE *, fopen64, (const char *p, const char *m), (p, m))			\
	X(int, epoll_ctl, (int ep, int op, int fd, struct epoll_event *e), (ep, op, fd, e)) \
	X(int, epoll_wait, (int ep, struct epoll_event *e, int n, int ms), (ep, e, n, ms)) \
	X(int, epoll_pwait, (int ep, struct epoll_event *e, int n, int ms,		\
			     const sigset_t *s), (ep, e, n, ms, s))			\
	X(int, epoll_pwait2, (int ep, struct epoll_event *e, int n,			\
			      const struct timespec *t, const sigset_t *s), (ep, e, n, t, s))

/* Variadic: syscall, open, open64, openat, openat64, ioctl, fcntl, fcntl64,
 * mremap (declared by hand below). */

#define UF__SHIM_DECLARE(ret, name, params, args) ret uf__real_##name params;
UF__SHIM_PLAIN(UF__SHIM_DECLARE)
#undef UF__SHIM_DECLARE

/* syscall(2) passes on six words whatever the caller gave, as the C
 * library's own wrapper does; reading the words a caller did not pass is
 * what AddressSanitizer would flag, so these two are not instrumented. */
#define UF_SHIM_SIX_WORDS __attribute__((no_sanitize_address))
UF_SHIM_SIX_WORDS long uf__real_syscall(long nr, ...);
int uf__real_open(const char *path, int flags, ...);
int uf__real_open64(const char *path, int flags, ...);
int uf__real_openat(int dir, const char *path, int flags, ...);
int uf__real_openat64(int dir, const char *path, int flags, ...);
int uf__real_ioctl(int fd, unsigned long request, ...);
int uf__real_fcntl(int fd, int cmd, ...);
int uf__real_fcntl64(int fd, int cmd, ...);
void *uf__real_mremap(void *old, size_t old_len, size_t new_len, int flags, ...);

/* Resolve every real function now (the constructor does; later calls are
 * then async-signal-safe: one atomic load and an indirect call). */
void uf__shim_resolve_all(void);

#endif /* UF_SHIM_REAL_H */
