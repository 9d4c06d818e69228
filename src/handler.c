/* SPDX-License-Identifier: MIT */
/*
 * handler.c - the common serving loop: poll, read a batch, dispatch to the
 * callbacks, on N threads, until stopped.
 *
 * Every thread polls the userfault descriptor and one shared eventfd; writing
 * the eventfd (stop, or one thread failing) ends them all.  Several threads
 * may be woken for one message: the descriptor is non-blocking, so the losers
 * read EAGAIN and go back to poll.
 *
 * On a user-engine descriptor of this process the threads do not poll: they
 * sleep as the engine's idle readers (src/user/queue.c), woken directly by
 * a fault, which saves the doorbell's three system calls and the poll.
 *
 * The threads wait at a gate until all of them exist: if one cannot be
 * created, the others leave without serving, so a failed start never calls
 * a callback (a fault may already be pending when start is called).
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "internal.h"

#define DEFAULT_BATCH 64

struct uf_handler {
	int fd;
	int stopfd;			/* eventfd: readable once the handler must end */
	struct uf_handler_opts opts;
	unsigned nthreads;
	pthread_t *threads;
	atomic_int error;		/* first failure, 0 if none */
	atomic_uint live;		/* threads still serving */
	atomic_ullong count;		/* messages dispatched */
	atomic_int stopping;		/* set with the stop: idle readers look here */
	struct uf__ctx *idle;		/* held: a user-engine context served idly */
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cond;
	int gate;			/* 0 wait, 1 serve, -1 leave at once */
};

/* Wait at the gate; 1 to serve, 0 to leave. */
static int pass_gate(struct uf_handler *h)
{
	pthread_mutex_lock(&h->gate_lock);
	while (h->gate == 0)
		pthread_cond_wait(&h->gate_cond, &h->gate_lock);
	int go = h->gate > 0;
	pthread_mutex_unlock(&h->gate_lock);
	return go;
}

static void open_gate(struct uf_handler *h, int value)
{
	pthread_mutex_lock(&h->gate_lock);
	h->gate = value;
	pthread_cond_broadcast(&h->gate_cond);
	pthread_mutex_unlock(&h->gate_lock);
}

UF_EXPORT void uf_handler_opts_init(struct uf_handler_opts *opts)
{
	static const struct uf_handler_opts defaults = UF_HANDLER_OPTS_INIT;
	*opts = defaults;
}

static void signal_stop(struct uf_handler *h)
{
	atomic_store(&h->stopping, 1);
	if (h->idle)
		uf__idle_wake_all(h->idle);
	uint64_t one = 1;
	/* An eventfd write only fails when the counter would overflow, which
	 * means it is already readable: the stop is signalled either way. */
	if (write(h->stopfd, &one, sizeof(one)) < 0) {
		/* nothing to do */
	}
}

static void fail(struct uf_handler *h, int err)
{
	int none = 0;
	atomic_compare_exchange_strong(&h->error, &none, err);
	signal_stop(h);
}

/* Dispatch n messages read.  0 to go on, or -errno. */
static int dispatch(struct uf_handler *h, struct uffd_msg *msgs, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++) {
		uf_msg_fn fn = msgs[i].event == UFFD_EVENT_PAGEFAULT ? h->opts.on_fault
								     : h->opts.on_event;
		atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
		if (!fn)
			continue;
		int r = fn(h->fd, &msgs[i], h->opts.user);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Read what is pending and dispatch it.  0 to go on, or -errno. */
static int serve_batch(struct uf_handler *h, struct uffd_msg *msgs)
{
	ssize_t n = uf_read(h->fd, msgs, h->opts.batch);
	if (n == -EAGAIN || n == -EINTR)
		return 0;		/* another thread took it, or a signal */
	if (n < 0)
		return (int)n;
	return dispatch(h, msgs, n);
}

/* The loop as an idle reader of the user engine. */
static void serve_idle(struct uf_handler *h, struct uffd_msg *msgs)
{
	uf__idle_serving(h->idle, h->fd);
	while (!atomic_load(&h->stopping)) {
		ssize_t n = uf__idle_read(h->idle, h->fd, msgs, h->opts.batch);
		if (n == -EAGAIN) {
			uf__idle_wait(h->idle, &h->stopping);
			continue;
		}
		int r = n < 0 ? (int)n : dispatch(h, msgs, n);
		if (r < 0) {
			fail(h, r);
			break;
		}
	}
	uf__idle_serving(NULL, -1);
	uf__idle_leave(h->idle, h->fd);
}

static void *serve(void *arg)
{
	struct uf_handler *h = arg;
	struct uffd_msg *msgs = NULL;
	if (!pass_gate(h))
		goto out;
	msgs = calloc(h->opts.batch, sizeof(*msgs));
	if (!msgs) {
		fail(h, -ENOMEM);
		goto out;
	}
	if (h->idle) {
		serve_idle(h, msgs);
		goto out;
	}
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = h->fd, .events = POLLIN },
			{ .fd = h->stopfd, .events = POLLIN },
		};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail(h, uf__neg_errno());
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			int r = serve_batch(h, msgs);
			if (r < 0) {
				fail(h, r);
				break;
			}
			continue;
		}
		/* The kernel never reports POLLHUP to a poll in progress (the
		 * poll holds the file open); a descriptor whose serving side
		 * went away (a socket) does: end, and the others with us. */
		if (p[0].revents & POLLHUP) {
			signal_stop(h);
			break;
		}
		if (p[0].revents & (POLLERR | POLLNVAL)) {
			fail(h, p[0].revents & POLLNVAL ? -EBADF : -EINVAL);
			break;
		}
	}
out:
	free(msgs);
	atomic_fetch_sub(&h->live, 1);
	return NULL;
}

UF_EXPORT int uf_handler_start(int fd, const struct uf_handler_opts *opts, struct uf_handler **out)
{
	if (!opts || !out || opts->sz < sizeof(*opts) || !opts->on_fault)
		return -EINVAL;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return uf__neg_errno();

	struct uf_handler *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fd = fd;
	h->stopfd = -1;
	pthread_mutex_init(&h->gate_lock, NULL);
	pthread_cond_init(&h->gate_cond, NULL);
	h->opts = *opts;
	h->opts.batch = opts->batch ? opts->batch : DEFAULT_BATCH;
	h->nthreads = opts->nthreads ? opts->nthreads : 1;
	h->threads = calloc(h->nthreads, sizeof(*h->threads));
	h->stopfd = eventfd(0, EFD_CLOEXEC);
	h->idle = uf__ctx_get(fd);
	int err = 0, set_nonblock = 0;
	if (!h->threads)
		err = -ENOMEM;
	else if (h->stopfd < 0)
		err = uf__neg_errno();
	else if (!(fl & O_NONBLOCK)) {
		if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			err = uf__neg_errno();
		else
			set_nonblock = 1;
	}
	if (err)
		goto fail_early;

	for (unsigned i = 0; i < h->nthreads; i++) {
		atomic_fetch_add(&h->live, 1);
		int r = pthread_create(&h->threads[i], NULL, serve, h);
		if (r) {
			atomic_fetch_sub(&h->live, 1);
			/* The ones already created are still at the gate:
			 * send them away before they serve anything. */
			open_gate(h, -1);
			for (unsigned j = 0; j < i; j++)
				pthread_join(h->threads[j], NULL);
			err = -r;
			goto fail_early;
		}
	}
	open_gate(h, 1);
	*out = h;
	return 0;

fail_early:
	if (set_nonblock)
		fcntl(fd, F_SETFL, fl);
	if (h->idle)
		uf__ctx_put(h->idle);
	if (h->stopfd >= 0)
		close(h->stopfd);
	pthread_cond_destroy(&h->gate_cond);
	pthread_mutex_destroy(&h->gate_lock);
	free(h->threads);
	free(h);
	return err;
}

UF_EXPORT int uf_handler_running(const struct uf_handler *h)
{
	struct uf_handler *m = (struct uf_handler *)h;
	return atomic_load(&m->live) == m->nthreads && atomic_load(&m->error) == 0;
}

UF_EXPORT unsigned long long uf_handler_count(const struct uf_handler *h)
{
	struct uf_handler *m = (struct uf_handler *)h;
	return atomic_load_explicit(&m->count, memory_order_relaxed);
}

UF_EXPORT int uf_handler_stop(struct uf_handler *h)
{
	if (!h)
		return -EINVAL;
	signal_stop(h);
	for (unsigned i = 0; i < h->nthreads; i++)
		pthread_join(h->threads[i], NULL);
	int err = atomic_load(&h->error);
	if (h->idle)
		uf__ctx_put(h->idle);
	close(h->stopfd);
	pthread_cond_destroy(&h->gate_cond);
	pthread_mutex_destroy(&h->gate_lock);
	free(h->threads);
	free(h);
	return err;
}
