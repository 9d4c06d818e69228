/* SPDX-License-Identifier: MIT */
/*
 * epoll.c - epoll on the descriptor: the kernel's EPOLLERR states.
 *
 * poll.c explains what a socket cannot show: before UFFDIO_API, and always
 * on a blocking descriptor, the kernel's userfaultfd polls as EPOLLERR
 * alone, and epoll reports EPOLLERR whatever events were asked for.  The
 * real epoll set keeps the socket; here the shim remembers which watches
 * are on user-engine descriptors (epoll_ctl) and, when one of them is in
 * such a state, epoll_wait returns at once with EPOLLERR for it (tagged
 * with the watch's data, as the kernel would) ahead of what the real set
 * has ready.  As with the kernel:
 *
 *   - level-triggered: EPOLLERR at every wait while the state lasts;
 *   - edge-triggered: once after EPOLL_CTL_ADD/MOD, and again after each
 *     wake-up of the descriptor (here: each event the real set has for it);
 *   - one-shot: once, then nothing until EPOLL_CTL_MOD.
 *
 * The real set's own events for one of our watches are told apart by the
 * watch's data (what the program gets back; epoll gives nothing else), and
 * keep to the kernel's bits (EPOLLIN, never the socket's EPOLLRDNORM).  Not
 * followed (docs/LIMITATIONS.md): a descriptor that enters such a state
 * while a thread already sleeps in epoll_wait does not wake it, and two
 * watches sharing the same data in one set cannot be told apart.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include "shim.h"

struct watch {
	int epfd, fd;
	uint32_t events;		/* as the program asked */
	uint64_t data;
	int armed;			/* edge-triggered/one-shot: due a report */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct watch *watches;
static size_t nwatches, capacity;
static atomic_size_t watched;	/* nwatches, read without the lock */

static struct watch *find(int epfd, int fd)
{
	for (size_t i = 0; i < nwatches; i++)
		if (watches[i].epfd == epfd && watches[i].fd == fd)
			return &watches[i];
	return NULL;
}

static void drop(size_t i)
{
	watches[i] = watches[--nwatches];
	atomic_store(&watched, nwatches);
}

static void remember(int epfd, int op, int fd, const struct epoll_event *ev)
{
	pthread_mutex_lock(&lock);
	struct watch *w = find(epfd, fd);
	if (op == EPOLL_CTL_DEL) {
		if (w)
			drop((size_t)(w - watches));
	} else if (ev) {
		if (!w && nwatches == capacity) {
			size_t cap = capacity ? 2 * capacity : 8;
			struct watch *n = realloc(watches, cap * sizeof(*n));
			if (n) {
				watches = n;
				capacity = cap;
			}
		}
		if (!w && nwatches < capacity) {
			w = &watches[nwatches++];
			atomic_store(&watched, nwatches);
		}
		if (w)
			*w = (struct watch){ epfd, fd, ev->events, ev->data.u64, 1 };
	}
	pthread_mutex_unlock(&lock);
}

void uf__shim_epoll_closed(int fd)
{
	if (!atomic_load(&watched))
		return;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nwatches;)
		if (watches[i].fd == fd || watches[i].epfd == fd)
			drop(i);
		else
			i++;
	pthread_mutex_unlock(&lock);
}

UF_SHIM_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	int r = uf__real_epoll_ctl(epfd, op, fd, ev);
	if (r == 0 && uf__shim_on() && (op == EPOLL_CTL_DEL || uf__shim_poll_state(fd) >= 0))
		remember(epfd, op, fd, ev);
	return r;
}

#define KERNEL_BITS (EPOLLIN | EPOLLERR | EPOLLHUP)

/* The watch of epfd whose data is this, on one of our descriptors. */
static struct watch *by_data(int epfd, uint64_t data)
{
	for (size_t i = 0; i < nwatches; i++)
		if (watches[i].epfd == epfd && watches[i].data == data)
			return &watches[i];
	return NULL;
}

/* Report w as EPOLLERR (if due) into out; 1 if it was. */
static int report_err(int epfd, struct watch *w, struct epoll_event *out)
{
	int edge = (w->events & (EPOLLET | EPOLLONESHOT)) != 0;
	if (edge && !w->armed)
		return 0;
	w->armed = 0;
	if (w->events & EPOLLONESHOT) {
		/* Disarmed as the kernel's is: the real watch must not fire
		 * later on its own. */
		struct epoll_event off = { .events = 0, .data.u64 = w->data };
		(void)uf__real_epoll_ctl(epfd, EPOLL_CTL_MOD, w->fd, &off);
	}
	out->events = EPOLLERR;
	out->data.u64 = w->data;
	return 1;
}

typedef int (*wait_fn)(int epfd, struct epoll_event *ev, int max, int ms,
		       const struct timespec *ts, const sigset_t *sm, int now);

static int wait_common(int epfd, struct epoll_event *ev, int max, int ms, const struct timespec *ts,
		       const sigset_t *sm, wait_fn real)
{
	if (!uf__shim_on() || !atomic_load(&watched) || max <= 0)
		return real(epfd, ev, max, ms, ts, sm, 0);
	pthread_mutex_lock(&lock);
	int nerr = 0, ours = 0;
	for (size_t i = 0; i < nwatches && nerr < max; i++) {
		struct watch *w = &watches[i];
		if (w->epfd != epfd)
			continue;
		int s = uf__shim_poll_state(w->fd);
		ours += s >= 0;
		if (s > 0)
			nerr += report_err(epfd, w, &ev[nerr]);
	}
	pthread_mutex_unlock(&lock);
	if (!ours)
		return real(epfd, ev, max, ms, ts, sm, 0);
	int got = 0;
	if (nerr < max) {
		/* With errors to report the kernel returns at once. */
		got = real(epfd, ev + nerr, max - nerr, ms, ts, sm, nerr > 0);
		if (got < 0)
			return nerr ? nerr : got;
	}
	/* The real set's events for our watches: kernel bits only, and none
	 * but EPOLLERR for a descriptor in an error state. */
	pthread_mutex_lock(&lock);
	int n = nerr;
	for (int i = nerr; i < nerr + got; i++) {
		struct epoll_event e = ev[i];
		struct watch *w = by_data(epfd, e.data.u64);
		int s = w ? uf__shim_poll_state(w->fd) : -1;
		if (s > 0) {
			/* A wake-up of the descriptor: an edge-triggered watch
			 * is due again. */
			w->armed = 1;
			int dup = 0;
			for (int j = 0; j < nerr; j++)
				dup |= ev[j].data.u64 == e.data.u64;
			if (dup || !report_err(epfd, w, &e))
				continue;
		} else if (s == 0) {
			e.events &= KERNEL_BITS;
			if (!e.events)
				continue;
		}
		ev[n++] = e;
	}
	pthread_mutex_unlock(&lock);
	return n;
}

static int real_wait(int epfd, struct epoll_event *ev, int max, int ms, const struct timespec *ts,
		     const sigset_t *sm, int now)
{
	(void)ts;
	(void)sm;
	return uf__real_epoll_wait(epfd, ev, max, now ? 0 : ms);
}

static int real_pwait(int epfd, struct epoll_event *ev, int max, int ms, const struct timespec *ts,
		      const sigset_t *sm, int now)
{
	(void)ts;
	return uf__real_epoll_pwait(epfd, ev, max, now ? 0 : ms, sm);
}

static int real_pwait2(int epfd, struct epoll_event *ev, int max, int ms, const struct timespec *ts,
		       const sigset_t *sm, int now)
{
	(void)ms;
	static const struct timespec zero = { 0, 0 };
	return uf__real_epoll_pwait2(epfd, ev, max, now ? &zero : ts, sm);
}

UF_SHIM_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int ms)
{
	return wait_common(epfd, ev, max, ms, NULL, NULL, real_wait);
}

UF_SHIM_EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int ms, const sigset_t *sm)
{
	return wait_common(epfd, ev, max, ms, NULL, sm, real_pwait);
}

UF_SHIM_EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max, const struct timespec *ts,
				const sigset_t *sm)
{
	return wait_common(epfd, ev, max, 0, ts, sm, real_pwait2);
}
