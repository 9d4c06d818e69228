/* SPDX-License-Identifier: MIT */
/*
 * poll.c - readiness of the descriptor: what the socket cannot show.
 *
 * The descriptor is a socket whose doorbell makes it readable exactly while
 * a fault or event is pending, so poll/select/epoll already agree with the
 * kernel then.  What a socket cannot show is the kernel's POLLERR: before
 * UFFDIO_API, and always on a blocking descriptor, the kernel's userfaultfd
 * polls as POLLERR alone.  poll/ppoll/select/pselect add it here: such a
 * descriptor is reported at once (POLLERR; readable and writable for
 * select, which is how select shows an error), and the others are polled
 * without waiting, as the kernel returns at once when one descriptor is
 * ready.  Readiness also keeps to the kernel's bits: POLLIN, never the
 * socket's POLLRDNORM.
 *
 * epoll has the same states added in epoll.c.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include "shim.h"

int uf__shim_pollerr(struct uf__ctx *c, int fd)
{
	if (atomic_load(&c->api) != 2)
		return 1;
	int fl = uf__real_fcntl(fd, F_GETFL);
	return fl >= 0 && !(fl & O_NONBLOCK);
}

int uf__shim_poll_state(int fd)
{
	if (fd < 0 || uf__fd_engine(fd) != &uf__user_engine)
		return -1;
	struct uf__ctx *c = uf__shim_ctx(fd);
	if (!c)
		return -1;
	int e = uf__shim_pollerr(c, fd);
	uf__ctx_put(c);
	return e;
}

#define KERNEL_BITS (POLLIN | POLLERR | POLLHUP | POLLNVAL)

typedef int (*poll_fn)(struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *s,
		       int ms);

static int poll_common(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *sm,
		       int ms, poll_fn real)
{
	if (!uf__shim_on())
		return real(fds, n, t, sm, ms);
	int ours = 0, errs = 0;
	for (nfds_t i = 0; i < n; i++) {
		int s = uf__shim_poll_state(fds[i].fd);
		ours += s >= 0;
		errs += s > 0;
	}
	if (!ours)
		return real(fds, n, t, sm, ms);
	int r;
	if (!errs) {
		r = real(fds, n, t, sm, ms);
	} else {
		/* Poll the others without waiting; ours in error are set aside
		 * (a negative descriptor is skipped and reports nothing). */
		struct pollfd small[16], *p = n <= 16 ? small : malloc(n * sizeof(*p));
		if (!p)
			return (int)uf__shim_ret(-ENOMEM);
		memcpy(p, fds, n * sizeof(*p));
		for (nfds_t i = 0; i < n; i++)
			if (uf__shim_poll_state(p[i].fd) > 0)
				p[i].fd = -1;
		struct timespec zero = { 0, 0 };
		r = real(p, n, &zero, sm, 0);
		if (r >= 0)
			for (nfds_t i = 0; i < n; i++)
				fds[i].revents = p[i].fd < 0 && fds[i].fd >= 0 ? POLLERR : p[i].revents;
		if (p != small)
			free(p);
	}
	if (r < 0)
		return r;
	r = 0;
	for (nfds_t i = 0; i < n; i++) {
		if (fds[i].revents && uf__shim_poll_state(fds[i].fd) >= 0)
			fds[i].revents &= KERNEL_BITS;
		r += fds[i].revents != 0;
	}
	return r;
}

static int real_poll(struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *s, int ms)
{
	(void)t;
	(void)s;
	return uf__real_poll(p, n, ms);
}

static int real_ppoll(struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *s, int ms)
{
	(void)ms;
	return uf__real_ppoll(p, n, t, s);
}

UF_SHIM_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	return poll_common(fds, n, NULL, NULL, timeout, real_poll);
}

UF_SHIM_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *s)
{
	return poll_common(fds, n, t, s, 0, real_ppoll);
}

/* select/pselect: ours in error are readable and writable at once. */
static int select_common(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv,
			 const struct timespec *ts, const sigset_t *sm, int is_pselect)
{
	fd_set errs;
	int nerr = 0;
	FD_ZERO(&errs);
	if (uf__shim_on())
		for (int fd = 0; fd < n && fd < FD_SETSIZE; fd++)
			if (((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w))) && uf__shim_poll_state(fd) > 0) {
				FD_SET(fd, &errs);
				nerr++;
			}
	if (!nerr)
		return is_pselect ? uf__real_pselect(n, r, w, e, ts, sm) : uf__real_select(n, r, w, e, tv);
	fd_set want_r, want_w;
	if (r)
		want_r = *r;
	if (w)
		want_w = *w;
	for (int fd = 0; fd < n && fd < FD_SETSIZE; fd++)
		if (FD_ISSET(fd, &errs)) {
			if (r)
				FD_CLR(fd, r);
			if (w)
				FD_CLR(fd, w);
		}
	struct timeval tz = { 0, 0 };
	struct timespec sz = { 0, 0 };
	int got = is_pselect ? uf__real_pselect(n, r, w, e, &sz, sm) : uf__real_select(n, r, w, e, &tz);
	if (got < 0)
		return got;
	for (int fd = 0; fd < n && fd < FD_SETSIZE; fd++)
		if (FD_ISSET(fd, &errs)) {
			if (r && FD_ISSET(fd, &want_r)) {
				FD_SET(fd, r);
				got++;
			}
			if (w && FD_ISSET(fd, &want_w)) {
				FD_SET(fd, w);
				got++;
			}
		}
	return got;
}

UF_SHIM_EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	return select_common(n, r, w, e, tv, NULL, NULL, 0);
}

UF_SHIM_EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
			   const sigset_t *sm)
{
	return select_common(n, r, w, e, NULL, ts, sm, 1);
}
