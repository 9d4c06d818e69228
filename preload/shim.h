/* SPDX-License-Identifier: MIT */
/*
 * shim.h - what the preload shim's files share.
 *
 * libuserfault-preload.so is the whole library (the engine objects, with
 * their C library references renamed, see real.h) plus the functions in
 * this directory, which replace the C library's for an unmodified
 * userfaultfd program:
 *
 *   open.c      userfaultfd(2) through syscall(), /dev/userfaultfd + USERFAULTFD_IOC_NEW
 *   fd.c        ioctl, read/readv, write, fcntl, dup*, close on the descriptor
 *   poll.c      poll/ppoll/select/pselect: the kernel's POLLERR states
 *   epoll.c     epoll_ctl/epoll_wait/epoll_pwait/epoll_pwait2: the same for epoll
 *   memory.c    madvise/munmap (REMOVE and UNMAP events), mremap (passed on)
 *   signals.c   sigaction/signal for SIGSEGV: the engine's handler stays first
 *   xfer.c      system calls that meet a missing page of a registered range
 *   procfs.c    /proc/self/fd, /proc/self/fdinfo, /proc/self/pagemap for our descriptors
 *   passed.c    descriptors another process opened (received, inherited)
 *
 * Cost for a program that never opens a user-engine context: every
 * replaced function first loads one flag (uf__shim_on()) and, while it is
 * 0, calls the C library's function at once.
 */
#ifndef UF_SHIM_H
#define UF_SHIM_H

#include <errno.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include "internal.h"
#include "user/user.h"
#include "real.h"

/* What the program's own calls resolve to. */
#define UF_SHIM_EXPORT __attribute__((visibility("default")))

/* 1 once this process made a user-engine context or a stand-in for
 * /dev/userfaultfd (never goes back to 0). */
extern atomic_int uf__shim_active;
static inline int uf__shim_on(void)
{
	return atomic_load_explicit(&uf__shim_active, memory_order_relaxed) != 0;
}
void uf__shim_activate(void);

/* USERFAULT_ENGINE: UF_ENGINE_AUTO (unset or "auto"), UF_ENGINE_KERNEL,
 * UF_ENGINE_USER, or -EINVAL for anything else. */
int uf__shim_engine(void);

/* The user-engine context behind fd (referenced: uf__ctx_put() it), or
 * NULL if fd is not one of the user engine's descriptors.  Confirmed by the
 * socket's identity, so a number reused after a close the shim did not see
 * is not mistaken for ours. */
struct uf__ctx *uf__shim_ctx(int fd);

/* Is fd one of the user engine's descriptors (confirmed as above)? */
int uf__shim_is_ours(int fd);

/* Remember a new descriptor for the same context as `from` (dup, F_DUPFD). */
void uf__shim_track_dup(int from, int to);

/* -1 with errno set for a negative errno; r itself otherwise. */
static inline long uf__shim_ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* open.c: the stand-in for /dev/userfaultfd. */
int uf__shim_is_device(int fd);
void uf__shim_device_closed(int fd);
int uf__shim_device_ioctl(int fd, unsigned long request, void *arg);
void uf__shim_device_dup(int from, int to);
/* auto: the real /dev/userfaultfd opened but refused USERFAULTFD_IOC_NEW
 * (EPERM/EACCES): a user-engine context instead, or UF_SHIM_PASS. */
int uf__shim_device_refused(int fd, void *arg);

/* fd.c: read(2)/readv(2) on a user-engine descriptor, the kernel's way. */
ssize_t uf__shim_read_msgs(int fd, const struct iovec *iov, int cnt);

/* poll.c: does fd poll as POLLERR on the kernel (before UFFDIO_API, or
 * blocking)?  c is its context. */
int uf__shim_pollerr(struct uf__ctx *c, int fd);
/* 1 if fd is ours and polls as POLLERR, 0 if ours and not, -1 if not ours. */
int uf__shim_poll_state(int fd);

/* epoll.c: fd (a watched descriptor or an epoll set) is being closed. */
void uf__shim_epoll_closed(int fd);

/* xfer.c: fault in, from user mode, the page at addr if it is user-engine
 * memory that the kernel would have faulted on for this access (write:
 * the system call stores into it).  1 if it did (retry the call), 0 if the
 * address is not such a page (the EFAULT is real). */
int uf__shim_fault_in(const void *addr, int write);

/* open.c: was c made with UFFD_USER_MODE_ONLY? */
int uf__shim_user_mode_only(const struct uf__ctx *c);

/* procfs.c: paths under /proc that show our descriptors.  A descriptor or
 * -errno, or UF_SHIM_PASS when path is none of them. */
#define UF_SHIM_PASS (-0x7fffffff)
int uf__shim_proc_open(const char *path, int flags);
/* Descriptors open on our /proc/self/pagemap: reads get bit 57 fixed. */
int uf__shim_is_pagemap(int fd);
void uf__shim_pagemap_closed(int fd);
ssize_t uf__shim_pagemap_fix(int fd, void *buf, ssize_t got, off_t off);

/* passed.c: user-engine descriptors another process opened.  Is fd one
 * (for a descriptor uf__shim_ctx() does not know)?  Remember the ones a
 * recvmsg() brought (turning the shim on), copies made by dup, and forget
 * closed ones. */
int uf__shim_is_passed(int fd);
void uf__shim_passed_add(int fd);
void uf__shim_passed_received(const struct msghdr *m);
void uf__shim_passed_dup(int from, int to);
void uf__shim_passed_closed(int fd);
/* At start: those inherited across exec(2). */
void uf__shim_passed_inherited(void);

#endif /* UF_SHIM_H */
