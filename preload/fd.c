/* SPDX-License-Identifier: MIT */
/*
 * fd.c - the descriptor itself: ioctl, read, fcntl, dup, close.
 *
 * A user-engine descriptor is a socket; what a program does with it is
 * routed to the engine where the kernel's userfaultfd would answer
 * differently from a socket:
 *  - UFFDIO_* (and every request the kernel's file would see) go to the
 *    engine; the four the VFS answers for any file (FIOCLEX, FIONCLEX,
 *    FIONBIO, FIOASYNC) go to the socket, which answers them the same way;
 *  - read returns 32-byte messages (EINVAL below 32 bytes, before
 *    UFFDIO_API);
 *  - F_GETFL shows O_RDONLY (the kernel's file is read-only), and write
 *    fails with EBADF as it does on a read-only file;
 *  - a dup is the same context; the last close releases it at once (a
 *    close that replaces the descriptor in dup2/dup3 too).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "shim.h"

UF_SHIM_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (request == USERFAULTFD_IOC_NEW && !uf__shim_is_device(fd) && !uf__shim_is_ours(fd)) {
		/* The real device may refuse this request (a seccomp filter on
		 * the ioctl, a device cgroup): auto falls back as at open. */
		int r = uf__real_ioctl(fd, request, arg);
		if (r >= 0 || (errno != EPERM && errno != EACCES))
			return r;
		int err = errno, u = uf__shim_device_refused(fd, arg);
		if (u == UF_SHIM_PASS) {
			errno = err;
			return -1;
		}
		return (int)uf__shim_ret(u);
	}
	if (!uf__shim_on())
		return uf__real_ioctl(fd, request, arg);
	/* The kernel's answer there knows nothing of the engine's pages. */
	if (request == PAGEMAP_SCAN && uf__shim_is_pagemap(fd))
		return (int)uf__shim_ret(uf_pagemap_scan(arg));
	if (uf__shim_is_device(fd))
		return (int)uf__shim_ret(uf__shim_device_ioctl(fd, request, arg));
	struct uf__ctx *c = uf__shim_ctx(fd);
	int mine = c != NULL;
	if (c)
		uf__ctx_put(c);
	if ((!mine && !uf__shim_is_passed(fd)) || request == FIOCLEX || request == FIONCLEX ||
	    request == FIONBIO || request == FIOASYNC)
		return uf__real_ioctl(fd, request, arg);
	/* Ours, or another process's (served through it: remote.c). */
	return (int)uf__shim_ret(uf__user_engine.ioctl(fd, request, arg));
}

int uf__shim_is_ours(int fd)
{
	struct uf__ctx *c = uf__shim_ctx(fd);
	if (c)
		uf__ctx_put(c);
	return c != NULL;
}

ssize_t uf__shim_read_msgs(int fd, const struct iovec *iov, int cnt)
{
	size_t total = 0;
	for (int i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	size_t n = total / sizeof(struct uffd_msg);
	if (n > 4096)
		n = 4096;
	if (cnt == 1) {
		/* n == 0 gives EINVAL, as a buffer under 32 bytes does. */
		ssize_t r = uf_read(fd, iov[0].iov_base, n);
		return uf__shim_ret(r < 0 ? r : r * (ssize_t)sizeof(struct uffd_msg));
	}
	struct uffd_msg *tmp = malloc((n ? n : 1) * sizeof(*tmp));
	if (!tmp)
		return uf__shim_ret(-ENOMEM);
	ssize_t r = uf_read(fd, tmp, n);
	if (r > 0) {
		/* Scatter the messages over the vector as the kernel copies them. */
		size_t left = (size_t)r * sizeof(*tmp);
		const char *src = (const char *)tmp;
		for (int i = 0; i < cnt && left; i++) {
			size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
			memcpy(iov[i].iov_base, src, k);
			src += k;
			left -= k;
		}
		r *= (ssize_t)sizeof(*tmp);
	}
	free(tmp);
	return uf__shim_ret(r);
}

static int fcntl_common(int fd, int cmd, void *arg, int (*real)(int, int, ...))
{
	int r = real(fd, cmd, arg);
	if (r < 0 || !uf__shim_on())
		return r;
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
		uf__shim_track_dup(fd, r);
		uf__shim_device_dup(fd, r);
	} else if (cmd == F_GETFL) {
		if (uf__shim_is_ours(fd) || uf__shim_is_passed(fd))
			r = (r & ~O_ACCMODE) | O_RDONLY;
	}
	return r;
}

UF_SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg, uf__real_fcntl);
}

UF_SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg, uf__real_fcntl64);
}

UF_SHIM_EXPORT int dup(int fd)
{
	int r = uf__real_dup(fd);
	if (r >= 0 && uf__shim_on()) {
		uf__shim_track_dup(fd, r);
		uf__shim_device_dup(fd, r);
	}
	return r;
}

/* dup2/dup3 close `to` first if it is open.  If it was the last copy of a
 * user-engine context, release that context now, as the kernel's last
 * close does: keep a private copy of `to` across the call and close that
 * copy through the engine afterwards. */
static int dup_onto(int fd, int to, int flags, int three)
{
	if (!uf__shim_on())
		return three ? uf__real_dup3(fd, to, flags) : uf__real_dup2(fd, to);
	int keep = -1;
	if (fd != to) {
		struct uf__ctx *c = uf__shim_ctx(to);
		if (c) {
			keep = uf__real_fcntl(to, F_DUPFD_CLOEXEC, 0);
			uf__ctx_put(c);
		}
	}
	int r = three ? uf__real_dup3(fd, to, flags) : uf__real_dup2(fd, to);
	int err = errno;
	if (r >= 0 && fd != to) {
		uf__fd_clear(to);
		uf__shim_passed_closed(to);
		if (uf__shim_is_device(to))
			uf__shim_device_closed(to);
		uf__shim_track_dup(fd, to);
		uf__shim_device_dup(fd, to);
	}
	if (keep >= 0) {
		/* The private copy is not in the table: close it as the engine's. */
		(void)uf__user_engine.close(keep);
	}
	errno = err;
	return r;
}

UF_SHIM_EXPORT int dup2(int fd, int to)
{
	return dup_onto(fd, to, 0, 0);
}

UF_SHIM_EXPORT int dup3(int fd, int to, int flags)
{
	return dup_onto(fd, to, flags, 1);
}

UF_SHIM_EXPORT int close(int fd)
{
	/* pagemap descriptors are watched from their open on (procfs.c). */
	if (uf__shim_is_pagemap(fd))
		uf__shim_pagemap_closed(fd);
	if (!uf__shim_on())
		return uf__real_close(fd);
	uf__shim_epoll_closed(fd);
	if (uf__shim_is_device(fd))
		uf__shim_device_closed(fd);
	struct uf__ctx *c = uf__shim_ctx(fd);
	if (!c) {
		if (!uf__shim_is_passed(fd))
			return uf__real_close(fd);
		/* Another process's: its channel here goes too (remote.c). */
		uf__shim_passed_closed(fd);
		return (int)uf__shim_ret(uf_close(fd));
	}
	uf__ctx_put(c);
	return (int)uf__shim_ret(uf_close(fd));
}
