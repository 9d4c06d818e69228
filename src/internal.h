/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the library's files share and nothing outside sees.
 *
 * Names: public uf_*, internal uf__*.  Every internal function returns 0 or
 * -errno, like the public ones.
 */
#ifndef UF_INTERNAL_H
#define UF_INTERNAL_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>
#include "userfault.h"

/* Public functions are the only symbols the shared library exports. */
#define UF_EXPORT __attribute__((visibility("default")))

#define UF_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* -errno from a libc call that failed with -1 and errno set. */
static inline int uf__neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/*
 * An engine: how a descriptor's ioctls, reads and close are carried out.
 * The kernel engine passes them to the kernel; the user engine serves them
 * itself.  Each returns 0 (or a count) or -errno.
 */
struct uf__engine {
	int kind;					/* enum uf_engine_kind */
	int (*ioctl)(int fd, unsigned long request, void *arg);
	ssize_t (*read)(int fd, struct uffd_msg *msgs, size_t n);
	int (*close)(int fd);
};

extern const struct uf__engine uf__kernel_engine;

/*
 * Idle readers: how uf_handler() threads wait on a user-engine context of
 * this process without polling its descriptor (src/user/queue.c says why
 * and how).  The handler holds the context behind fd (uf__ctx_get, NULL for
 * any other descriptor, which is polled; uf__ctx_put lets it go).
 * uf__idle_read: a non-blocking read (messages, -EAGAIN, or -errno).
 * uf__idle_wait: sleep until there may be something to read, *stop is set,
 * or 100 ms pass.  uf__idle_wake_all: wake every sleeper (after setting
 * *stop).  uf__idle_leave: a reader stops waiting for good (messages handed
 * to it go to the doorbell).  uf__idle_serving: from now on the calling
 * thread's ioctls on fd go to c (NULL: no longer), found without looking fd
 * up (an fstat): fd must stay open while the handler runs.
 */
struct uf__ctx;
struct uf__ctx *uf__ctx_get(int fd);
void uf__ctx_put(struct uf__ctx *c);
ssize_t uf__idle_read(struct uf__ctx *c, int fd, struct uffd_msg *msgs, size_t n);
void uf__idle_wait(struct uf__ctx *c, atomic_int *stop);
void uf__idle_wake_all(struct uf__ctx *c);
void uf__idle_leave(struct uf__ctx *c, int fd);
void uf__idle_serving(struct uf__ctx *c, int fd);

/* Open through the kernel engine (see uf_open() for the fallbacks).  On
 * success *via says which way worked and *flags_used the flags it used. */
int uf__kernel_open(int flags, unsigned no_fallback, int *via, int *flags_used);

/* Write a one-line reason why the kernel engine cannot be opened. */
void uf__kernel_why(char *buf, size_t len);

/*
 * The descriptor table: what uf_open() knows about each descriptor it made.
 * Lookups are lock-free (a fault path may do them); changes take a lock.
 */
struct uf__fdent {
	const struct uf__engine *engine;	/* NULL: not ours */
	int via;				/* enum uf_open_via */
	int flags;
};

int uf__fd_set(int fd, const struct uf__engine *engine, int via, int flags);
void uf__fd_clear(int fd);
/* Copy the entry for fd into *out; 0 if known, -ENOENT if not. */
int uf__fd_get(int fd, struct uf__fdent *out);
/* The engine serving fd, or NULL for descriptors uf_open() did not make. */
const struct uf__engine *uf__fd_engine(int fd);

/*
 * Memory the library set up itself (a typed helper's struct on its own
 * stack, the copy of another process's request): while it is pushed, an
 * engine may read and write [p, p + len) directly instead of through the
 * checks a caller's pointer needs (on the user engine, a
 * process_vm_readv/writev of 1.3 us each).  One pointer per
 * thread, changed by single stores, so a signal handler's helper call nests
 * inside another's (async-signal-safe).
 */
struct uf__trust {
	const void *p;
	size_t len;
	const struct uf__trust *prev;
};
void uf__trust_push(struct uf__trust *t, const void *p, size_t len);
void uf__trust_pop(const struct uf__trust *t);
/* Is [p, p + len) inside one range pushed on this thread? */
int uf__trusted(const void *p, size_t len);

#endif /* UF_INTERNAL_H */
