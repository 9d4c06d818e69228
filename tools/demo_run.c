/* SPDX-License-Identifier: MIT */
/*
 * demo_run.c - one engine's run of the demo: a fresh private anonymous
 * region registered MISSING, each fault answered with UFFDIO_COPY of the
 * image's page, every page touched once from N threads in random order,
 * then every byte compared with the image.
 *
 * The main thread never blocks blindly on the touching threads: if the
 * handler dies, threads stay stuck in their faults until the context is
 * released, so it watches the handler and releases the context itself.  The
 * faults then complete with zero pages and verification reports FAILED
 * instead of the demo hanging.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "demo.h"

#define EAGAIN_RETRIES 1000
#define WATCH_INTERVAL_NS (50 * 1000 * 1000)

struct serve_ctx {
	unsigned char *region;
	const struct demo_image *img;
	atomic_ullong eexist, eagain;
};

struct shared {
	unsigned char *region;
	size_t page;
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* go changed, or a thread is done */
	int go;			/* 0 wait, 1 touch, -1 give up */
	unsigned done;
};

struct toucher {
	pthread_t tid;
	struct shared *sh;
	const uint32_t *order;	/* this thread's share of the shuffled pages */
	size_t n;
	uint64_t *lat_ns;	/* one per page of the share */
	struct timespec end;
	uint64_t sink;
};

static double seconds(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static uint64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return (uint64_t)((b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec));
}

/* The handler's on_fault: runs on the handler threads. */
static int serve_fault(int fd, const struct uffd_msg *msg, void *user)
{
	struct serve_ctx *c = user;
	size_t page = c->img->page;
	uintptr_t base = (uintptr_t)c->region;
	uintptr_t addr = (uintptr_t)msg->arg.pagefault.address & ~(uintptr_t)(page - 1);

	if (addr < base || addr - base >= c->img->size)
		return -EFAULT;		/* not ours: nothing sensible to copy */
	const unsigned char *src = c->img->data + (addr - base);
	for (int tries = 0;; tries++) {
		int r = uf_copy(fd, (void *)addr, src, page, 0, NULL);
		if (r == 0)
			return 0;
		if (r == -EEXIST) {
			/* Resolved by someone else; waking is harmless and
			 * covers a resolver that did not wake. */
			atomic_fetch_add(&c->eexist, 1);
			uf_wake(fd, (void *)addr, page);
			return 0;
		}
		if (r != -EAGAIN || tries >= EAGAIN_RETRIES)
			return r;
		/* The layout is changing under us (an event is pending):
		 * give the other side a chance, then retry. */
		atomic_fetch_add(&c->eagain, 1);
		sched_yield();
	}
}

static void *touch(void *arg)
{
	struct toucher *t = arg;
	struct shared *sh = t->sh;
	uint64_t sum = 0;

	/* Start together so the threads really contend. */
	pthread_mutex_lock(&sh->lock);
	while (!sh->go)
		pthread_cond_wait(&sh->cond, &sh->lock);
	int go = sh->go;
	pthread_mutex_unlock(&sh->lock);
	if (go < 0)
		return NULL;
	for (size_t k = 0; k < t->n; k++) {
		volatile const uint64_t *w = (const uint64_t *)(sh->region + (size_t)t->order[k] * sh->page);
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		sum += *w;
		clock_gettime(CLOCK_MONOTONIC, &b);
		t->lat_ns[k] = ns_between(&a, &b);
	}
	clock_gettime(CLOCK_MONOTONIC, &t->end);
	t->sink = sum;

	pthread_mutex_lock(&sh->lock);
	sh->done++;
	pthread_cond_broadcast(&sh->cond);
	pthread_mutex_unlock(&sh->lock);
	return NULL;
}

/* Wait for the touching threads; 0, or -errno if the handler ended first
 * (the context is then already released so the threads could finish). */
static int watch(struct shared *sh, unsigned nthreads, struct uf_handler **h, int *fd,
		 unsigned long long *faults)
{
	int early = 0;
	pthread_mutex_lock(&sh->lock);
	while (sh->done < nthreads) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += WATCH_INTERVAL_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&sh->cond, &sh->lock, &until);
		if (*h && !uf_handler_running(*h)) {
			pthread_mutex_unlock(&sh->lock);
			*faults = uf_handler_count(*h);
			early = uf_handler_stop(*h);
			*h = NULL;
			if (!early)
				early = -EPIPE;	/* ended without saying why */
			uf_close(*fd);
			*fd = -1;
			pthread_mutex_lock(&sh->lock);
		}
	}
	pthread_mutex_unlock(&sh->lock);
	return early;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double percentile_us(const uint64_t *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t rank = (size_t)(p * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1] / 1000.0;
}

static void verify(const struct demo_image *img, const unsigned char *region, struct demo_result *r)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	r->bad_pages = 0;
	for (size_t i = 0; i < img->pages; i++) {
		if (memcmp(region + i * img->page, img->data + i * img->page, img->page) != 0) {
			if (!r->bad_pages)
				r->first_bad = i;
			r->bad_pages++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	r->verify_s = seconds(&a, &b);
	r->verified = r->bad_pages == 0;
}

static void failed(struct demo_result *r, const char *what, int err)
{
	r->failed = 1;
	snprintf(r->why, sizeof(r->why), "%s: %s (%s)", what, errno_name(err), strerror(-err));
}

/* Touch every page from o->threads threads; fills latencies and timing.
 * *touched says whether every page was touched (even if the handler died). */
static int touch_all(const struct demo_opts *o, const struct demo_image *img, unsigned char *region,
		     struct uf_handler **h, int *fd, struct demo_result *r, int *touched)
{
	size_t n = img->pages;
	uint32_t *order = malloc(n * sizeof(*order));
	uint64_t *lat = malloc(n * sizeof(*lat));
	struct toucher *t = calloc(o->threads, sizeof(*t));
	struct shared sh = { .region = region, .page = img->page };
	int err = 0;
	unsigned started = 0;

	*touched = 0;
	if (!order || !lat || !t) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	prng_shuffle(order, n, img->seed);

	pthread_mutex_init(&sh.lock, NULL);
	pthread_cond_init(&sh.cond, NULL);
	for (unsigned i = 0; i < o->threads; i++) {
		size_t lo = n * i / o->threads, hi = n * (i + 1) / o->threads;
		t[i] = (struct toucher){ .sh = &sh, .order = order + lo, .n = hi - lo, .lat_ns = lat + lo };
		int pr = pthread_create(&t[i].tid, NULL, touch, &t[i]);
		if (pr) {
			err = -pr;
			break;
		}
		started++;
	}
	struct timespec t0;
	pthread_mutex_lock(&sh.lock);
	sh.go = err ? -1 : 1;
	pthread_cond_broadcast(&sh.cond);
	pthread_mutex_unlock(&sh.lock);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!err) {
		err = watch(&sh, o->threads, h, fd, &r->faults);
		*touched = 1;
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i].tid, NULL);
	pthread_cond_destroy(&sh.cond);
	pthread_mutex_destroy(&sh.lock);
	if (!*touched)
		goto out;

	struct timespec end = t0;
	for (unsigned i = 0; i < o->threads; i++)
		if (seconds(&end, &t[i].end) > 0)
			end = t[i].end;
	r->touch_s = seconds(&t0, &end);
	r->pages_per_s = r->touch_s > 0 ? (double)n / r->touch_s : 0;
	qsort(lat, n, sizeof(*lat), cmp_u64);
	r->p50_us = percentile_us(lat, n, 0.50);
	r->p99_us = percentile_us(lat, n, 0.99);
	r->max_us = n ? (double)lat[n - 1] / 1000.0 : 0;
out:
	free(order);
	free(lat);
	free(t);
	return err;
}

void demo_run(const struct demo_opts *o, const struct demo_image *img, int engine,
	      struct demo_result *r)
{
	struct uf_open_opts oo = UF_OPEN_OPTS_INIT;
	unsigned char *region = MAP_FAILED;
	struct uf_handler *h = NULL;
	struct serve_ctx ctx;
	int err;

	memset(r, 0, sizeof(*r));
	r->engine = engine;
	r->pages = img->pages;
	oo.engine = engine;
	oo.why = r->why;
	oo.why_len = sizeof(r->why);
	int fd = uf_open(O_CLOEXEC | O_NONBLOCK, &oo);
	if (fd < 0) {
		if (!r->why[0])
			snprintf(r->why, sizeof(r->why), "%s", strerror(-fd));
		return;		/* skipped, not failed */
	}
	r->why[0] = '\0';
	r->ran = 1;
	struct uf_fd_info info = UF_FD_INFO_INIT;
	r->kind = uf_fd_info(fd, &info) == 0 ? info.engine : uf_engine(fd);
	r->via = info.via;

	err = uf_api(fd, 0, NULL, NULL);
	if (err) {
		failed(r, "UFFDIO_API", err);
		goto out;
	}
	region = mmap(NULL, img->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (region == MAP_FAILED) {
		failed(r, "mmap of the region", -errno);
		goto out;
	}
	__u64 ioctls = 0;
	err = uf_register(fd, region, img->size, UFFDIO_REGISTER_MODE_MISSING, &ioctls);
	if (err) {
		failed(r, "UFFDIO_REGISTER MISSING", err);
		goto out;
	}
	if (!(ioctls & ((__u64)1 << _UFFDIO_COPY))) {
		failed(r, "UFFDIO_REGISTER gave no UFFDIO_COPY", -EOPNOTSUPP);
		goto out;
	}

	ctx.region = region;
	ctx.img = img;
	atomic_init(&ctx.eexist, 0);
	atomic_init(&ctx.eagain, 0);
	struct uf_handler_opts ho = UF_HANDLER_OPTS_INIT;
	ho.on_fault = serve_fault;
	ho.user = &ctx;
	ho.nthreads = o->handlers;
	err = uf_handler_start(fd, &ho, &h);
	if (err) {
		h = NULL;
		failed(r, "uf_handler_start", err);
		goto out;
	}

	int touched;
	err = touch_all(o, img, region, &h, &fd, r, &touched);
	if (h)
		r->faults = uf_handler_count(h);
	if (err)
		failed(r, touched ? "the fault handler stopped" : "touching threads", err);
	/* Verify while the handler still serves (an engine may trap reads of
	 * pages it has not filled yet), and after a failure too: the count of
	 * bad pages shows how much was served. */
	if (touched)
		verify(img, region, r);
	if (h) {
		int herr = uf_handler_stop(h);
		h = NULL;
		if (herr && !r->failed)
			failed(r, "the fault handler", herr);
	}
	r->eexist = atomic_load(&ctx.eexist);
	r->eagain = atomic_load(&ctx.eagain);
out:
	if (h)
		uf_handler_stop(h);
	if (fd >= 0)
		uf_close(fd);
	if (region != MAP_FAILED)
		munmap(region, img->size);
}
