/* SPDX-License-Identifier: MIT */
/*
 * fdtable.c - which engine serves each descriptor uf_open() returned.
 *
 * A two-level table indexed by descriptor number: chunks are allocated on
 * first use and never freed, so a reader can load a chunk pointer and an
 * entry without a lock while writers (open, close) serialise on a mutex.
 * A descriptor that uf_open() did not make has no entry and is treated as a
 * kernel descriptor: that keeps uf_ioctl() on raw kernel descriptors (from
 * SCM_RIGHTS, say) exactly the kernel's.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "internal.h"

#define CHUNK_BITS 10
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define CHUNKS     1024u	/* 1M descriptors: far beyond RLIMIT_NOFILE defaults */

struct slot {
	_Atomic(const struct uf__engine *) engine;
	atomic_int via;
	atomic_int flags;
};

static _Atomic(struct slot *) chunks[CHUNKS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static struct slot *slot_of(int fd, int create)
{
	if (fd < 0 || (unsigned)fd >= CHUNKS * CHUNK_SIZE)
		return NULL;
	unsigned hi = (unsigned)fd >> CHUNK_BITS, lo = (unsigned)fd & (CHUNK_SIZE - 1);
	struct slot *c = atomic_load_explicit(&chunks[hi], memory_order_acquire);
	if (!c && create) {
		c = calloc(CHUNK_SIZE, sizeof(*c));
		if (!c)
			return NULL;
		atomic_store_explicit(&chunks[hi], c, memory_order_release);
	}
	return c ? &c[lo] : NULL;
}

int uf__fd_set(int fd, const struct uf__engine *engine, int via, int flags)
{
	pthread_mutex_lock(&lock);
	struct slot *s = slot_of(fd, 1);
	if (s) {
		atomic_store_explicit(&s->via, via, memory_order_relaxed);
		atomic_store_explicit(&s->flags, flags, memory_order_relaxed);
		atomic_store_explicit(&s->engine, engine, memory_order_release);
	}
	pthread_mutex_unlock(&lock);
	return s ? 0 : (fd < 0 ? -EBADF : -EMFILE);
}

void uf__fd_clear(int fd)
{
	pthread_mutex_lock(&lock);
	struct slot *s = slot_of(fd, 0);
	if (s)
		atomic_store_explicit(&s->engine, NULL, memory_order_release);
	pthread_mutex_unlock(&lock);
}

const struct uf__engine *uf__fd_engine(int fd)
{
	struct slot *s = slot_of(fd, 0);
	return s ? atomic_load_explicit(&s->engine, memory_order_acquire) : NULL;
}

int uf__fd_get(int fd, struct uf__fdent *out)
{
	struct slot *s = slot_of(fd, 0);
	const struct uf__engine *e = s ? atomic_load_explicit(&s->engine, memory_order_acquire) : NULL;
	if (!e)
		return -ENOENT;
	out->engine = e;
	out->via = atomic_load_explicit(&s->via, memory_order_relaxed);
	out->flags = atomic_load_explicit(&s->flags, memory_order_relaxed);
	return 0;
}
