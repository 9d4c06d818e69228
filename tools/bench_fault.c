/* SPDX-License-Identifier: MIT */
/*
 * bench_fault.c - one bench row on one engine: open a context, register the
 * row's memory, start its resolver (handler threads, the SIGBUS handler or
 * a child process), let the faulting threads touch every block once while
 * timing each access, stop, verify the content.
 *
 * A latency is one access from the faulting thread's side: from just before
 * the load (or store) to just after it, so it holds the whole round trip:
 * fault, message, wake-up of the resolver, the ioctl, wake-up of the
 * faulting thread.
 *
 * The main thread never waits blindly: if the resolver dies or nothing
 * moves for opts.stall_s seconds, it releases the context (the faulting
 * threads then complete on ordinary memory) and the row is reported failed,
 * not hung.  A slow engine is stopped after opts.cell_s seconds instead:
 * the row then holds the faults made so far and says it was capped.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

#define STOP_WAIT_S 5
#define WATCH_NS (50 * 1000 * 1000)
#define WARM_MAX 100

struct shared {
	const struct bench_mem *m;
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* go changed, or a thread is done */
	int go;			/* 0 wait, 1 touch, -1 give up */
	unsigned done;
	atomic_ullong progress;
	atomic_int stop;	/* time is up: touch no more blocks */
};

struct toucher {
	pthread_t tid;
	struct shared *sh;
	const uint32_t *order;	/* this thread's blocks */
	size_t n, warm;		/* the first `warm` are not measured */
	size_t touched;		/* how many of the n were touched */
	uint64_t *lat;		/* n entries */
	uint64_t t_start, t_end;	/* the measured part */
	uint64_t sink;
};

static void *touch(void *arg)
{
	struct toucher *t = arg;
	struct shared *sh = t->sh;
	uint64_t sum = 0;

	pthread_mutex_lock(&sh->lock);
	while (!sh->go)
		pthread_cond_wait(&sh->cond, &sh->lock);
	int go = sh->go;
	pthread_mutex_unlock(&sh->lock);
	if (go < 0)
		return NULL;
	t->t_start = bench_now_ns();
	size_t k;
	for (k = 0; k < t->n && !atomic_load_explicit(&sh->stop, memory_order_relaxed); k++) {
		if (k == t->warm)
			t->t_start = bench_now_ns();
		uint64_t a = bench_now_ns();
		sum += bench_touch(sh->m, t->order[k]);
		uint64_t b = bench_now_ns();
		t->lat[k] = b - a;
		atomic_fetch_add_explicit(&sh->progress, 1, memory_order_relaxed);
	}
	t->t_end = bench_now_ns();
	t->touched = k;
	t->sink = sum;

	pthread_mutex_lock(&sh->lock);
	sh->done++;
	pthread_cond_broadcast(&sh->cond);
	pthread_mutex_unlock(&sh->lock);
	return NULL;
}

/* ---- resolvers --------------------------------------------------------- */

struct resolver {
	int mode;
	int fd;
	const struct bench_mem *m;
	struct bench_counts counts;
	struct uf_handler *h;		/* MODE_HANDLER */
	struct bench_child child;	/* MODE_XPROC */
	int child_started;
	int foreign;			/* the child's uf_engine() refused the descriptor */
	int sigbus_installed;		/* MODE_SIGBUS */
	int err;			/* the first error the resolver reported */
	const char *err_what;
	int err_plain;			/* err_what says it all: no errno name */
	char what_buf[64];
	unsigned long long messages;
};

static int on_fault(int fd, const struct uffd_msg *msg, void *user)
{
	struct resolver *r = user;
	return bench_resolve(fd, r->m, (uintptr_t)msg->arg.pagefault.address, &r->counts);
}

/* The SIGBUS mode's state: a signal handler has no argument. */
static struct {
	_Atomic(const struct bench_mem *) m;
	atomic_int fd;
	atomic_int err;
	atomic_ullong signals;
	struct bench_counts counts;
	struct sigaction old;
} sb;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	const struct bench_mem *m = atomic_load(&sb.m);
	uintptr_t a = (uintptr_t)si->si_addr;

	if (!m || si->si_code <= 0 || a - (uintptr_t)m->region >= m->len) {
		/* Not a fault of ours: whatever was there before takes it,
		 * as if we had never been installed. */
		sigaction(SIGBUS, &sb.old, NULL);
		if (si->si_code <= 0)
			raise(sig);
		return;		/* a fault repeats and meets the old action */
	}
	atomic_fetch_add(&sb.signals, 1);
	int fd = atomic_load(&sb.fd);
	int r = bench_resolve(fd, m, a, &sb.counts);
	if (r) {
		int none = 0;
		atomic_compare_exchange_strong(&sb.err, &none, r);
		/* Let the thread go on: unregistered, the range is ordinary
		 * memory (the row is reported failed). */
		uf_unregister(fd, m->region, m->len);
	}
	(void)uc;
}

static int resolver_start(struct resolver *r, const struct bench_row_def *d)
{
	switch (r->mode) {
	case MODE_HANDLER: {
		struct uf_handler_opts ho = UF_HANDLER_OPTS_INIT;
		ho.on_fault = on_fault;
		ho.user = r;
		ho.nthreads = d->handlers;
		r->err_what = "uf_handler_start";
		int err = uf_handler_start(r->fd, &ho, &r->h);
		if (err)
			r->h = NULL;
		return err;
	}
	case MODE_SIGBUS: {
		atomic_store(&sb.fd, r->fd);
		atomic_store(&sb.err, 0);
		atomic_store(&sb.signals, 0);
		atomic_store(&sb.counts.eexist, 0);
		atomic_store(&sb.counts.eagain, 0);
		atomic_store(&sb.m, r->m);
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigbus;
		sa.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		r->err_what = "sigaction(SIGBUS)";
		if (sigaction(SIGBUS, &sa, &sb.old) < 0)
			return -errno;
		r->sigbus_installed = 1;
		return 0;
	}
	case MODE_XPROC:
		r->err_what = "passing the descriptor to the handler process";
		return bench_child_serve(&r->child, r->fd, &r->foreign);
	}
	return -EINVAL;
}

/* Stop resolving; the first error seen is kept in r->err. */
static void resolver_stop(struct resolver *r)
{
	int err = 0;
	switch (r->mode) {
	case MODE_HANDLER:
		if (r->h) {
			r->messages = uf_handler_count(r->h);
			err = uf_handler_stop(r->h);
			r->h = NULL;
			if (err && !r->err) {
				r->err = err;
				r->err_what = "the fault handler";
			}
		}
		break;
	case MODE_SIGBUS:
		if (r->sigbus_installed) {
			sigaction(SIGBUS, &sb.old, NULL);
			atomic_store(&sb.m, NULL);
			r->sigbus_installed = 0;
			r->messages = atomic_load(&sb.signals);
			atomic_store(&r->counts.eexist, atomic_load(&sb.counts.eexist));
			atomic_store(&r->counts.eagain, atomic_load(&sb.counts.eagain));
			err = atomic_load(&sb.err);
			if (err && !r->err) {
				r->err = err;
				r->err_what = "resolving in the SIGBUS handler";
			}
		}
		break;
	case MODE_XPROC:
		if (r->child_started) {
			err = bench_child_stop(&r->child, &r->messages);
			r->child_started = 0;
			if (err && !r->err) {
				r->err = err;
				r->err_what = "the handler process";
			}
		}
		break;
	}
}

/* uf_handler_stop() on its own thread, so that a handler stuck inside a
 * callback cannot hang the bench. */
struct stopper {
	struct uf_handler *h;
	int err;
	atomic_int done;
};

static void *stop_thread(void *arg)
{
	struct stopper *s = arg;
	s->err = uf_handler_stop(s->h);
	atomic_store(&s->done, 1);
	return NULL;
}

static void stop_handler_bounded(struct resolver *r)
{
	struct stopper *s = calloc(1, sizeof(*s));
	pthread_t th;
	if (!s || pthread_create(&th, NULL, stop_thread, s) != 0) {
		free(s);
		resolver_stop(r);	/* no thread to spare: wait for it here */
		return;
	}
	s->h = r->h;
	r->messages = uf_handler_count(r->h);
	r->h = NULL;
	pthread_detach(th);
	for (int i = 0; i < STOP_WAIT_S * 100 && !atomic_load(&s->done); i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	if (!atomic_load(&s->done)) {
		/* A thread of the engine will not come back: nothing left to
		 * measure or to release safely. */
		fprintf(stderr, "userfault bench: a fault handler thread is stuck in a callback; "
			"giving up\n");
		_exit(CLI_FAILED);
	}
	if (s->err && !r->err) {
		r->err = s->err;
		r->err_what = "the fault handler";
	}
	free(s);
}

/* The resolver died or nothing moves: release the context so the faulting
 * threads finish on ordinary memory.  `stuck`: it may still be running. */
static void rescue(struct resolver *r, int err, const char *what, int stuck)
{
	if (r->mode == MODE_XPROC && r->child_started && stuck) {
		bench_child_kill(&r->child);
		r->child_started = 0;
	}
	/* A handler thread inside poll(2) holds the file: stop it first.  The
	 * SIGBUS handler stays until the threads are done: without it a
	 * fault still under way would meet the default action. */
	if (r->mode == MODE_HANDLER && r->h)
		stop_handler_bounded(r);
	else if (r->mode == MODE_XPROC)
		resolver_stop(r);	/* collects the child's last word */
	if (!r->err) {
		r->err = err;
		r->err_what = what;
		r->err_plain = 1;
	}
	if (r->fd >= 0) {
		uf_close(r->fd);
		r->fd = -1;
	}
}

/* Wait for the faulting threads, watching the resolver. */
static void watch(const struct bench_opts *o, struct shared *sh, unsigned nthreads,
		  struct resolver *r)
{
	unsigned long long last = 0;
	uint64_t start = bench_now_ns(), last_t = start;
	int rescued = 0;

	pthread_mutex_lock(&sh->lock);
	while (sh->done < nthreads) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += WATCH_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&sh->cond, &sh->lock, &until);
		if (rescued || sh->done >= nthreads)
			continue;
		unsigned long long p = atomic_load(&sh->progress);
		uint64_t now = bench_now_ns();
		if (p != last) {
			last = p;
			last_t = now;
		}
		if (now - start > (uint64_t)o->cell_s * 1000000000ull)
			atomic_store(&sh->stop, 1);
		int err = 0, stuck = 0;
		const char *what = NULL;
		if (r->mode == MODE_HANDLER && r->h && !uf_handler_running(r->h)) {
			err = -EPIPE;
			what = "the fault handler ended";
		} else if (r->mode == MODE_XPROC && r->child_started && !bench_child_alive(&r->child)) {
			err = -EPIPE;
			what = "the handler process ended";
		} else if (now - last_t > (uint64_t)o->stall_s * 1000000000ull) {
			err = -ETIMEDOUT;
			snprintf(r->what_buf, sizeof(r->what_buf), "no fault completed for %u s", o->stall_s);
			what = r->what_buf;
			stuck = 1;
		}
		if (err) {
			pthread_mutex_unlock(&sh->lock);
			rescue(r, err, what, stuck);
			rescued = 1;
			pthread_mutex_lock(&sh->lock);
		}
	}
	pthread_mutex_unlock(&sh->lock);
}

static void set_why(struct bench_cell *c, int status, const char *what, int err)
{
	c->status = status;
	if (err)
		snprintf(c->why, sizeof(c->why), "%s: %s (%s)", what, errno_name(err), strerror(-err));
	else
		snprintf(c->why, sizeof(c->why), "%s", what);
}

/* Touch every block from d->faulters threads; the latencies into cell. */
static int run_touchers(const struct bench_opts *o, const struct bench_row_def *d,
			const struct bench_mem *m, struct resolver *r, struct bench_cell *cell,
			uint32_t **verify, size_t *nverify)
{
	size_t n = m->blocks;
	unsigned nt = d->faulters;
	uint32_t *order = malloc(n * sizeof(*order));
	uint64_t *lat = malloc(n * sizeof(*lat));
	struct toucher *t = calloc(nt, sizeof(*t));
	struct shared sh = { .m = m };
	unsigned started = 0;
	int err = 0;

	if (!order || !lat || !t) {
		free(order);
		free(lat);
		free(t);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	if (d->random)
		prng_shuffle(order, n, o->seed);
	atomic_init(&sh.progress, 0);
	atomic_init(&sh.stop, 0);
	pthread_mutex_init(&sh.lock, NULL);
	pthread_cond_init(&sh.cond, NULL);
	for (unsigned i = 0; i < nt; i++) {
		size_t lo = n * i / nt, hi = n * (i + 1) / nt;
		size_t warm = (hi - lo) / 20;
		t[i] = (struct toucher){ .sh = &sh, .order = order + lo, .n = hi - lo,
					 .warm = warm > WARM_MAX ? WARM_MAX : warm, .lat = lat + lo };
		int pr = pthread_create(&t[i].tid, NULL, touch, &t[i]);
		if (pr) {
			err = -pr;
			break;
		}
		started++;
	}
	pthread_mutex_lock(&sh.lock);
	sh.go = err ? -1 : 1;
	pthread_cond_broadcast(&sh.cond);
	pthread_mutex_unlock(&sh.lock);
	if (!err)
		watch(o, &sh, nt, r);
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i].tid, NULL);
	pthread_cond_destroy(&sh.cond);
	pthread_mutex_destroy(&sh.lock);

	if (!err) {
		/* The measured part of every thread, packed to the front; the
		 * blocks touched, packed likewise for the verification. */
		size_t k = 0, nb = 0;
		uint64_t first = UINT64_MAX, last = 0;
		for (unsigned i = 0; i < nt; i++) {
			size_t measured = t[i].touched > t[i].warm ? t[i].touched - t[i].warm : 0;
			memmove(lat + k, t[i].lat + t[i].warm, measured * sizeof(*lat));
			k += measured;
			memmove(order + nb, t[i].order, t[i].touched * sizeof(*order));
			nb += t[i].touched;
			cell->capped |= t[i].touched < t[i].n;
			if (t[i].t_start < first)
				first = t[i].t_start;
			if (t[i].t_end > last)
				last = t[i].t_end;
		}
		cell->blocks = nb;
		if (verify) {
			*verify = order;
			*nverify = nb;
			order = NULL;
		}
		bench_stats(lat, k, k, last > first ? last - first : 0, &cell->st);
		if (d->picture && k) {
			cell->samples = lat;	/* sorted by bench_stats() */
			cell->nsamples = k;
			lat = NULL;
		}
	}
	free(order);
	free(lat);
	free(t);
	return err;
}

/* Huge pages free and not reserved: what a new hugetlb mapping can take. */
static long long huge_pages_free(void)
{
	long long f = meminfo_value("HugePages_Free"), r = meminfo_value("HugePages_Rsvd");
	return f < 0 ? 0 : f - (r > 0 ? r : 0);
}

static size_t blocks_for(const struct bench_opts *o, const struct bench_row_def *d)
{
	if (d->huge) {
		/* Half the free huge pages (the user engine's registration
		 * of private hugetlb reserves twice for a moment), one spare. */
		long long room = huge_pages_free() / 2 - 1;
		size_t n = o->faults_big < BENCH_HUGE_FAULTS ? (size_t)o->faults_big : BENCH_HUGE_FAULTS;
		return room < 1 ? 0 : (size_t)room < n ? (size_t)room : n;
	}
	return d->block >= BENCH_BIG_BLOCK ? (size_t)o->faults_big : (size_t)o->faults;
}

/* Not enough memory is not the engine's fault: the row is n/a. */
static int memory_ok(const struct bench_row_def *d, size_t blocks, struct bench_cell *cell)
{
	if (d->huge) {
		if (blocks >= 2)
			return 1;
		cell->status = ST_NA;
		snprintf(cell->why, sizeof(cell->why), "needs 6 free huge pages, %lld free",
			 huge_pages_free());
		return 0;
	}
	unsigned long long need = (unsigned long long)blocks * d->block;
	if (d->op == OP_MOVE)
		need *= 2;
	long long avail_kib = meminfo_value("MemAvailable");
	if (avail_kib > 0 && need / 1024 > (unsigned long long)avail_kib / 2) {
		cell->status = ST_NA;
		snprintf(cell->why, sizeof(cell->why), "needs %llu MiB, %lld MiB available", need >> 20,
			 avail_kib / 1024);
		return 0;
	}
	return 1;
}

void bench_fault_row(const struct bench_opts *o, const struct bench_env *env,
		     const struct bench_engine *e, const struct bench_row_def *d,
		     struct bench_cell *cell)
{
	struct resolver r;
	struct bench_mem m;
	const char *what = NULL;
	uint32_t *touched = NULL;
	size_t ntouched = 0;
	int err;

	memset(cell, 0, sizeof(*cell));
	memset(&r, 0, sizeof(r));
	r.fd = -1;
	r.mode = d->mode;
	atomic_init(&r.counts.eexist, 0);
	atomic_init(&r.counts.eagain, 0);
	if (!e->selected) {
		cell->status = ST_NOT_RUN;
		return;
	}
	if (!e->available) {
		cell->status = ST_UNAVAILABLE;
		snprintf(cell->why, sizeof(cell->why), "%s", e->why);
		return;
	}
	__u64 need = bench_features_needed(d);
	if (need & ~e->features) {
		for (unsigned b = 0; b < 64; b++)
			if (need & ~e->features & ((__u64)1 << b)) {
				cell->status = ST_NA;
				snprintf(cell->why, sizeof(cell->why), "the %s engine does not offer UFFD_FEATURE_%s",
					 uf_engine_name(e->kind), feature_name(b) ? feature_name(b) : "?");
				return;
			}
	}
	size_t blocks = blocks_for(o, d);
	if (!memory_ok(d, blocks, cell))
		return;
	size_t bytes = blocks * (d->block < env->page ? env->page : d->block);
	if (!d->huge)
		bench_prewarm(d->op == OP_MOVE ? 2 * bytes : bytes, env->page);
	err = bench_mem_setup(&m, d, blocks, env->page, o->seed, &what);
	if (err) {
		set_why(cell, ST_FAILED, what, err);
		bench_mem_free(&m);
		return;
	}
	r.m = &m;

	/* Threads (and the child) inherit the main thread's affinity: a split
	 * row's resolvers are started on the other CPU, its faulting threads
	 * on the pinned one. */
	if (d->pinned == PIN_SPLIT && env->other_cpu < 0) {
		cell->status = ST_NA;
		snprintf(cell->why, sizeof(cell->why), "one CPU only");
		goto out;
	}
	if (d->pinned == PIN_SPLIT)
		bench_pin_to(env->other_cpu);
	else if (d->pinned)
		bench_pin(env);
	else
		bench_unpin(env);

	if (d->mode == MODE_XPROC) {
		/* Before the context exists: the child gets it only by SCM_RIGHTS. */
		err = bench_child_start(&r.child, &m, d->handlers);
		if (err) {
			set_why(cell, ST_FAILED, "starting the handler process", err);
			goto out;
		}
		r.child_started = 1;
	}

	struct uf_open_opts oo = UF_OPEN_OPTS_INIT;
	oo.engine = e->kind;
	oo.why = cell->why;
	oo.why_len = sizeof(cell->why);
	r.fd = uf_open(O_CLOEXEC | O_NONBLOCK, &oo);
	if (r.fd < 0) {
		char why[sizeof(cell->why)];
		snprintf(why, sizeof(why), "uf_open: %.200s", cell->why[0] ? cell->why : strerror(-r.fd));
		cell->status = ST_FAILED;
		snprintf(cell->why, sizeof(cell->why), "%s", why);
		r.fd = -1;
		goto out;
	}
	cell->why[0] = '\0';
	err = uf_api(r.fd, need, NULL, NULL);
	if (err) {
		set_why(cell, ST_NA, "UFFDIO_API with the row's features", err);
		goto out;
	}
	__u64 ioctls = 0, mode = bench_register_mode(d->op);
	err = uf_register(r.fd, m.region, m.len, mode, &ioctls);
	if (err) {
		char modes[64], w[128];
		register_mode_names(mode, modes, sizeof(modes));
		snprintf(w, sizeof(w), "UFFDIO_REGISTER %s on %s", modes,
			 d->huge == HUGE_SHARED ? "a shared hugetlb memfd" :
			 d->huge ? "private hugetlb memory" :
			 d->op == OP_CONTINUE ? "a shared memfd" : "private anonymous memory");
		set_why(cell, ST_NA, w, err);
		goto out;
	}
	unsigned need_ioctl = bench_ioctl_needed(d->op);
	if (!(ioctls & ((__u64)1 << need_ioctl))) {
		cell->status = ST_NA;
		snprintf(cell->why, sizeof(cell->why), "the registration offers no UFFDIO_%s",
			 ioctl_name(need_ioctl) ? ioctl_name(need_ioctl) : "?");
		goto out;
	}
	err = bench_mem_arm(&m, r.fd);
	if (err) {
		set_why(cell, ST_FAILED, "UFFDIO_WRITEPROTECT of the region", err);
		goto out;
	}
	err = resolver_start(&r, d);
	if (err && r.foreign) {
		set_why(cell, ST_NA, "the receiving process does not know the descriptor "
			"(uf_engine() there)", r.foreign);
		goto out;
	}
	if (err) {
		set_why(cell, ST_FAILED, r.err_what, err);
		goto out;
	}
	if (d->pinned == PIN_SPLIT)
		bench_pin(env);
	err = run_touchers(o, d, &m, &r, cell, &touched, &ntouched);
	resolver_stop(&r);
	cell->messages = r.messages;
	cell->eexist = atomic_load(&r.counts.eexist);
	cell->eagain = atomic_load(&r.counts.eagain);
	if (err) {
		set_why(cell, ST_FAILED, "starting the faulting threads", err);
		goto out;
	}
	if (r.err) {
		set_why(cell, ST_FAILED, r.err_what, r.err_plain ? 0 : r.err);
		goto out;
	}
	cell->bad_blocks = bench_mem_verify(&m, touched, ntouched);
	if (cell->bad_blocks) {
		cell->status = ST_FAILED;
		snprintf(cell->why, sizeof(cell->why), "%zu of %zu blocks hold the wrong content",
			 cell->bad_blocks, ntouched);
		goto out;
	}
	cell->status = ST_OK;
out:
	free(touched);
	resolver_stop(&r);
	if (r.mode == MODE_XPROC && r.child_started)
		bench_child_kill(&r.child);
	if (r.fd >= 0)
		uf_close(r.fd);
	bench_mem_free(&m);
	bench_unpin(env);
	if (cell->status != ST_OK) {
		free(cell->samples);
		cell->samples = NULL;
		cell->nsamples = 0;
	}
}
