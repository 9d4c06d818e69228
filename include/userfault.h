/* SPDX-License-Identifier: MIT */
/*
 * userfault.h - page faults handled in user space, on the kernel's
 * userfaultfd or on userfault's own user-space engine, through one API.
 *
 * The kernel's structs (struct uffdio_copy, struct uffd_msg, ...) are the
 * arguments, unchanged: code moves between the raw kernel interface and this
 * library without translation.
 *
 * Conventions:
 *  - Every function returns 0 (or a count, or a descriptor) on success and a
 *    negative errno on failure.  The return value is the error report: errno
 *    may have been changed by the system calls made on the way.
 *  - The library never prints, aborts or exits.
 *  - Option structs start with a size field (set it with the *_INIT macro or
 *    the *_init() function) so that programs built against an older header
 *    keep working with a newer library.
 */
#ifndef USERFAULT_H
#define USERFAULT_H

#include <errno.h>
#include <stddef.h>
#include <sys/types.h>
#include <userfault/uapi.h>
#include <userfault/pagemap.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                  */

#define UF_VERSION_MAJOR 0
#define UF_VERSION_MINOR 1
#define UF_VERSION_PATCH 0
/* One number for comparisons: UF_VERSION >= UF_MAKE_VERSION(0, 1, 0). */
#define UF_MAKE_VERSION(maj, min, pat) (((maj) << 16) | ((min) << 8) | (pat))
#define UF_VERSION UF_MAKE_VERSION(UF_VERSION_MAJOR, UF_VERSION_MINOR, UF_VERSION_PATCH)

/* The version of the library actually loaded, as UF_MAKE_VERSION() makes it. */
int uf_version(void);
/* The same as a string, e.g. "0.1.0". */
const char *uf_version_string(void);

/* ------------------------------------------------------------------------ */
/* Engines                                                                  */

enum uf_engine_kind {
	UF_ENGINE_AUTO   = 0,	/* the kernel's where it works, else the user engine */
	UF_ENGINE_KERNEL = 1,	/* the kernel's userfaultfd */
	UF_ENGINE_USER   = 2,	/* userfault's user-space engine */
};

/* How a kernel-engine descriptor was obtained (see uf_fd_info()). */
enum uf_open_via {
	UF_VIA_NONE           = 0,
	UF_VIA_SYSCALL        = 1,	/* userfaultfd(2) with the flags asked for */
	UF_VIA_DEVICE         = 2,	/* /dev/userfaultfd, USERFAULTFD_IOC_NEW */
	UF_VIA_USER_MODE_ONLY = 3,	/* userfaultfd(2) with UFFD_USER_MODE_ONLY added */
	UF_VIA_USER_ENGINE    = 4,	/* the user engine */
};

/* uf_open_opts.no_fallback: fallbacks uf_open() must not take (all are allowed by default). */
#define UF_FALLBACK_DEVICE		(1u << 0)	/* syscall refused: try /dev/userfaultfd */
#define UF_FALLBACK_USER_MODE_ONLY	(1u << 1)	/* EPERM from the sysctl: add UFFD_USER_MODE_ONLY */
#define UF_FALLBACK_USER_ENGINE		(1u << 2)	/* AUTO only: kernel unusable, use the user engine */
#define UF_FALLBACK_ALL			(UF_FALLBACK_DEVICE | UF_FALLBACK_USER_MODE_ONLY | \
					 UF_FALLBACK_USER_ENGINE)

struct uf_open_opts {
	size_t sz;		/* sizeof(struct uf_open_opts) */
	int engine;		/* enum uf_engine_kind; AUTO by default */
	unsigned no_fallback;	/* UF_FALLBACK_* bits to refuse; UF_FALLBACK_ALL: exactly what was asked */
	char *why;		/* optional: on failure, a one-line human reason is written here */
	size_t why_len;		/* size of the why buffer */
};
#define UF_OPEN_OPTS_INIT { sizeof(struct uf_open_opts), UF_ENGINE_AUTO, 0, NULL, 0 }

/* Fill *opts with the defaults (for C++ and for code that prefers a call). */
void uf_open_opts_init(struct uf_open_opts *opts);

/*
 * Open a userfault context and return its descriptor, like userfaultfd(2).
 * flags: O_CLOEXEC, O_NONBLOCK, UFFD_USER_MODE_ONLY, as for userfaultfd(2).
 * opts: may be NULL (AUTO engine, all fallbacks).
 *
 * The kernel engine tries userfaultfd(2) first; if it is refused it tries
 * /dev/userfaultfd, then (when refused by vm.unprivileged_userfaultfd=0)
 * userfaultfd(2) with UFFD_USER_MODE_ONLY, unless opts->no_fallback refuses it.
 * With AUTO, if the kernel engine cannot be opened the user engine is used.
 *
 * opts->sz must be sizeof(struct uf_open_opts) of this version (0.1).
 * Close the descriptor with uf_close(), not close(2), so that the library
 * forgets it (a user-engine context needs that to release).
 *
 * Returns the descriptor, or -errno: -EINVAL for unknown flags or options,
 * the kernel's errno when no way works (opts->why then says why: the sysctl,
 * a seccomp filter, a missing capability, device permissions, no kernel
 * support), -ENOSYS when the user engine was asked for and this system lacks
 * what it needs (guard markers, Linux 6.13; /proc).
 */
int uf_open(int flags, const struct uf_open_opts *opts);

/*
 * The one generic entry: exactly the kernel's ioctl semantics for every
 * UFFDIO_* request (argument structs unchanged, result fields written as the
 * kernel writes them).  Returns 0 or -errno.
 */
int uf_ioctl(int fd, unsigned long request, void *arg);

/*
 * Read up to n messages (at most 4096 per call).  Blocks for the first one
 * unless the descriptor is O_NONBLOCK; returns as many as are pending (at
 * least 1), or -errno:
 * -EAGAIN (non-blocking, nothing pending), -EINVAL (before UFFDIO_API, or
 * n == 0), -EINTR (a signal arrived while blocking).
 */
ssize_t uf_read(int fd, struct uffd_msg *msgs, size_t n);

/* Close the descriptor; the last close releases the context.  0 or -errno. */
int uf_close(int fd);

/* Which engine serves fd: UF_ENGINE_KERNEL or UF_ENGINE_USER, or -EBADF
 * (not open) or -EINVAL (open, but not a userfault descriptor). */
int uf_engine(int fd);

/* A name for an engine kind: "auto", "kernel", "user" (or "unknown"). */
const char *uf_engine_name(int engine);

struct uf_fd_info {
	size_t sz;		/* sizeof(struct uf_fd_info) */
	int engine;		/* enum uf_engine_kind */
	int via;		/* enum uf_open_via */
	int flags;		/* flags the context was created with (after fallbacks) */
};
#define UF_FD_INFO_INIT { sizeof(struct uf_fd_info), 0, 0, 0 }

/* Describe a descriptor returned by uf_open().  0 or -errno (-EBADF if the
 * descriptor did not come from uf_open(), -EINVAL if info->sz is too small). */
int uf_fd_info(int fd, struct uf_fd_info *info);

/* ------------------------------------------------------------------------ */
/* Typed helpers: one per ioctl.  Each returns 0 or -errno, as uf_ioctl().  */
/* Where the kernel writes a result field, *result (if not NULL) receives   */
/* it: bytes done, or -errno; it is left untouched when the kernel leaves   */
/* the field untouched (argument validation errors).                        */

/* UFFDIO_API.  features: requested; *features_out / *ioctls_out may be NULL.
 * They are written in every case: on failure the kernel zeroes the struct,
 * so they receive 0. */
int uf_api(int fd, __u64 features, __u64 *features_out, __u64 *ioctls_out);
/* UFFDIO_REGISTER with UFFDIO_REGISTER_MODE_* in mode; *ioctls_out: the
 * range ioctls available (bit n set means ioctl number n works). */
int uf_register(int fd, void *addr, size_t len, __u64 mode, __u64 *ioctls_out);
int uf_unregister(int fd, void *addr, size_t len);
int uf_wake(int fd, void *addr, size_t len);
int uf_copy(int fd, void *dst, const void *src, size_t len, __u64 mode, __s64 *result);
int uf_zeropage(int fd, void *addr, size_t len, __u64 mode, __s64 *result);
int uf_writeprotect(int fd, void *addr, size_t len, __u64 mode);
int uf_continue(int fd, void *addr, size_t len, __u64 mode, __s64 *result);
int uf_poison(int fd, void *addr, size_t len, __u64 mode, __s64 *result);
int uf_move(int fd, void *dst, void *src, size_t len, __u64 mode, __s64 *result);

/* ------------------------------------------------------------------------ */
/* Kernel diagnosis: why the kernel engine does or does not work here.      */

/* Result of one way of opening: 0 if it worked, else the errno it gave. */
struct uf_kernel_status {
	int syscall_err;		/* userfaultfd(O_CLOEXEC) */
	int syscall_umo_err;		/* userfaultfd(O_CLOEXEC | UFFD_USER_MODE_ONLY) */
	int device_err;			/* open("/dev/userfaultfd") + USERFAULTFD_IOC_NEW */
	int usable;			/* 1 if any way above works */
	int unprivileged_sysctl;	/* vm.unprivileged_userfaultfd, or -1 if unreadable */
	int seccomp;			/* Seccomp: from /proc/self/status (0 none, 1 strict, 2 filter), -1 unknown */
	int cap_sys_ptrace;		/* 1 if CAP_SYS_PTRACE is effective, 0 if not, -1 unknown */
	int device_present;		/* 1 if /dev/userfaultfd exists */
	unsigned device_mode;		/* its st_mode when present */
	unsigned device_uid, device_gid;
	__u64 features;			/* UFFDIO_API(0) result when usable, else 0 */
	__u64 ioctls;			/* UFFDIO_API ioctls when usable, else 0 */
	char reason[256];		/* one line: what works, or why nothing does */
};


/*
 * Memory calls that userfaultfd watches.  The kernel sees every madvise()
 * and munmap() and sends UFFD_EVENT_REMOVE and UFFD_EVENT_UNMAP for
 * registered memory; the user engine sees these calls.  On memory the
 * user engine does not manage they are exactly madvise(2) and munmap(2),
 * so a program may use them everywhere.  0 or -errno.
 */
int uf_madvise(void *addr, size_t len, int advice);
int uf_munmap(void *addr, size_t len);
/*
 * mremap(2) that userfaultfd follows: on user-engine memory the registration
 * moves with the memory and UFFD_EVENT_REMAP is sent (with
 * UFFD_FEATURE_EVENT_REMAP; without it the moved memory is no longer
 * registered), as the kernel does.  new_addr is read only with MREMAP_FIXED
 * or MREMAP_DONTUNMAP.  0 with the new address in *result (result may be
 * NULL), or -errno.
 */
int uf_mremap(void *old_addr, size_t old_len, size_t new_len, int flags, void *new_addr,
	      void **result);

/*
 * PAGEMAP_SCAN on this process (ioctl(2) on /proc/self/pagemap, Linux 6.7),
 * answered by the user engine for the memory it manages: how a program
 * using UFFD_FEATURE_WP_ASYNC learns which pages were written
 * (PAGE_IS_WRITTEN) and protects them again (PM_SCAN_WP_MATCHING), on
 * either engine.  arg and its results are the kernel's; returns the number
 * of regions written to arg->vec, or -errno.  Not async-signal-safe.
 */
long uf_pagemap_scan(struct pm_scan_arg *arg);

/* Try every way to reach the kernel's userfaultfd and explain the result in
 * *st; sz is sizeof(*st) as the caller knows it (in version 0.1 it must be
 * sizeof(struct uf_kernel_status)).  Opens and closes descriptors; changes
 * nothing else.
 * 0 or -errno (-EINVAL for a NULL st or a size smaller than version 0.1's). */
int uf_kernel_probe(struct uf_kernel_status *st, size_t sz);

/* ------------------------------------------------------------------------ */
/* Handler helper: poll, read a batch, dispatch, on N threads, stoppable.    */

struct uf_handler;

/*
 * Called for each message.  Return 0 to go on; a negative errno stops the
 * whole handler (uf_handler_stop() then returns that value).  The callbacks
 * run on the handler's threads, several at once when nthreads > 1.
 */
typedef int (*uf_msg_fn)(int fd, const struct uffd_msg *msg, void *user);

struct uf_handler_opts {
	size_t sz;		/* sizeof(struct uf_handler_opts) */
	uf_msg_fn on_fault;	/* UFFD_EVENT_PAGEFAULT; required */
	uf_msg_fn on_event;	/* every other event; NULL ignores them */
	void *user;		/* passed to the callbacks */
	unsigned nthreads;	/* handler threads; 0 means 1 */
	unsigned batch;		/* messages read at once per thread; 0 means 64 */
};
#define UF_HANDLER_OPTS_INIT { sizeof(struct uf_handler_opts), NULL, NULL, NULL, 0, 0 }

void uf_handler_opts_init(struct uf_handler_opts *opts);

/*
 * Start serving fd on opts->nthreads new threads.  fd must have completed
 * UFFDIO_API; the handler sets O_NONBLOCK on it (poll(2) on a blocking
 * userfault descriptor always reports POLLERR).  On success *out is the
 * handler and 0 is returned; on failure nothing was started, no callback is
 * ever called, and -errno is returned.  The handler ends by itself when a
 * callback fails (the faults of the failed batch that were not dispatched
 * stay pending, read, until woken); otherwise it serves until
 * uf_handler_stop().  Stop the handler before closing fd: a thread inside
 * poll(2) holds the file open, so a close does not release the context
 * while the handler runs.
 */
int uf_handler_start(int fd, const struct uf_handler_opts *opts, struct uf_handler **out);

/* 1 while every thread is still serving, 0 once the handler has ended. */
int uf_handler_running(const struct uf_handler *h);

/* Number of messages read and dispatched so far (faults and events, also
 * events dropped because on_event is NULL). */
unsigned long long uf_handler_count(const struct uf_handler *h);

/*
 * Stop the threads, wait for them, free the handler.  Does not close fd.
 * Returns 0, or the first negative value a callback returned, or -errno from
 * the handler's own poll/read.
 */
int uf_handler_stop(struct uf_handler *h);

#ifdef __cplusplus
}
#endif

#endif /* USERFAULT_H */
