/* SPDX-License-Identifier: MIT */
/*
 * api.c - the public entry points: open, the generic ioctl, read, close, and
 * the questions about a descriptor.  Each one finds the descriptor's engine
 * and hands over; descriptors uf_open() did not make go to the kernel.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "internal.h"
#include "user/user.h"

#define UF_OPEN_FLAGS (O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY)

UF_EXPORT int uf_version(void)
{
	return UF_VERSION;
}

UF_EXPORT const char *uf_version_string(void)
{
	return "0.1.0";
}

UF_EXPORT void uf_open_opts_init(struct uf_open_opts *opts)
{
	static const struct uf_open_opts defaults = UF_OPEN_OPTS_INIT;
	*opts = defaults;
}

UF_EXPORT const char *uf_engine_name(int engine)
{
	switch (engine) {
	case UF_ENGINE_AUTO: return "auto";
	case UF_ENGINE_KERNEL: return "kernel";
	case UF_ENGINE_USER: return "user";
	default: return "unknown";
	}
}

static void set_why(const struct uf_open_opts *o, const char *reason)
{
	if (o && o->why && o->why_len)
		snprintf(o->why, o->why_len, "%s", reason);
}

/* Say why opening failed: for a refusal, what the system shows; for a
 * resource error, just that (a fresh probe could succeed and mislead). */
static void explain_failure(const struct uf_open_opts *o, int err)
{
	char reason[256];
	if (!o || !o->why || !o->why_len)
		return;
	switch (-err) {
	case EINVAL:
		set_why(o, "the kernel refused these flags (UFFD_USER_MODE_ONLY needs Linux 5.11)");
		return;
	case EMFILE: case ENFILE: case ENOMEM:
		snprintf(reason, sizeof(reason), "out of resources: %s", strerror(-err));
		set_why(o, reason);
		return;
	default:
		uf__kernel_why(reason, sizeof(reason));
		set_why(o, reason);
	}
}

static int open_kernel(int flags, const struct uf_open_opts *o)
{
	int via, used;
	int fd = uf__kernel_open(flags, o ? o->no_fallback : 0, &via, &used);
	if (fd < 0)
		return fd;
	/* An untracked kernel descriptor still works (unknown descriptors go
	 * to the kernel); only uf_fd_info() would not know it. */
	(void)uf__fd_set(fd, &uf__kernel_engine, via, used);
	return fd;
}

static int open_user(int flags, const struct uf_open_opts *o)
{
	char why[256] = "";
	int fd = uf__user_open(flags, why, sizeof(why));
	if (fd < 0) {
		set_why(o, why);
		return fd;
	}
	if (uf__fd_set(fd, &uf__user_engine, UF_VIA_USER_ENGINE, flags) < 0) {
		uf__user_engine.close(fd);
		set_why(o, "descriptor number beyond the library's table");
		return -EMFILE;
	}
	return fd;
}

UF_EXPORT int uf_open(int flags, const struct uf_open_opts *opts)
{
	/* Version 0.1 has one layout: anything smaller is not ours. */
	if (opts && opts->sz < sizeof(*opts))
		return -EINVAL;
	if (opts && (opts->no_fallback & ~UF_FALLBACK_ALL)) {
		set_why(opts, "unknown bits in no_fallback");
		return -EINVAL;
	}
	if (flags & ~UF_OPEN_FLAGS) {
		set_why(opts, "unknown flags: only O_CLOEXEC, O_NONBLOCK and UFFD_USER_MODE_ONLY");
		return -EINVAL;
	}
	int engine = opts ? opts->engine : UF_ENGINE_AUTO;
	int fd;

	switch (engine) {
	case UF_ENGINE_AUTO:
		/* The kernel's where it works; the user engine where it is
		 * refused or missing. */
		fd = open_kernel(flags, opts);
		if (fd >= 0 || fd == -EINVAL || fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM ||
		    (opts && (opts->no_fallback & UF_FALLBACK_USER_ENGINE)))
			break;
		return open_user(flags, opts);
	case UF_ENGINE_KERNEL:
		fd = open_kernel(flags, opts);
		break;
	case UF_ENGINE_USER:
		return open_user(flags, opts);
	default:
		set_why(opts, "unknown engine");
		return -EINVAL;
	}
	if (fd < 0)
		explain_failure(opts, fd);
	return fd;
}

UF_EXPORT int uf_ioctl(int fd, unsigned long request, void *arg)
{
	const struct uf__engine *e = uf__fd_engine(fd);
	/* The kernel's path is the hot one: no indirect call on it. */
	if (e == &uf__kernel_engine)
		return ioctl(fd, request, arg) < 0 ? uf__neg_errno() : 0;
	if (e)
		return e->ioctl(fd, request, arg);
	/* Not from uf_open(): the kernel's, or a copy of a user-engine
	 * descriptor (a socket: ENOTTY from the kernel).  One whose channel
	 * is open already goes there at once (a monitor's every call). */
	if (uf__remote_known_fd(fd))
		return uf__user_engine.ioctl(fd, request, arg);
	if (ioctl(fd, request, arg) == 0)
		return 0;
	int err = uf__neg_errno();
	if (err == -ENOTTY && uf__is_user_fd(fd))
		return uf__user_engine.ioctl(fd, request, arg);
	return err;
}

UF_EXPORT ssize_t uf_read(int fd, struct uffd_msg *msgs, size_t n)
{
	const struct uf__engine *e = uf__fd_engine(fd);
	if (!e && (uf__remote_known_fd(fd) || uf__is_user_fd(fd)))
		e = &uf__user_engine;
	return (e ? e : &uf__kernel_engine)->read(fd, msgs, n);
}

UF_EXPORT int uf_close(int fd)
{
	const struct uf__engine *e = uf__fd_engine(fd);
	if (!e && uf__is_user_fd(fd))
		e = &uf__user_engine;
	uf__fd_clear(fd);
	return (e ? e : &uf__kernel_engine)->close(fd);
}

/* Is fd a kernel userfaultfd?  1 yes, 0 no, -errno if fd is not open. */
static int is_kernel_uffd(int fd)
{
	char path[64], target[64];
	if (fcntl(fd, F_GETFD) < 0)
		return uf__neg_errno();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[userfaultfd]") == 0;
}

/* A kernel entry goes stale if the program closed the descriptor with
 * close(2) and the number was reused: check before answering. */
static const struct uf__engine *checked_engine(int fd)
{
	const struct uf__engine *e = uf__fd_engine(fd);
	if (e == &uf__kernel_engine && is_kernel_uffd(fd) != 1 && access("/proc/self/fd", F_OK) == 0) {
		uf__fd_clear(fd);
		return NULL;
	}
	return e;
}

UF_EXPORT int uf_engine(int fd)
{
	const struct uf__engine *e = checked_engine(fd);
	if (e)
		return e->kind;
	int k = is_kernel_uffd(fd);
	if (k < 0)
		return k;
	if (!k && uf__is_user_fd(fd))
		return UF_ENGINE_USER;
	return k ? UF_ENGINE_KERNEL : -EINVAL;
}

UF_EXPORT int uf_fd_info(int fd, struct uf_fd_info *info)
{
	struct uf__fdent ent;
	if (!info || info->sz < sizeof(*info))
		return -EINVAL;
	if (!checked_engine(fd) || uf__fd_get(fd, &ent) < 0)
		return -EBADF;
	info->engine = ent.engine->kind;
	info->via = ent.via;
	info->flags = ent.flags;
	return 0;
}
