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

static void set_why(const struct uf_open_opts *o, const char *fmt, const char *detail)
{
	if (o && o->why && o->why_len)
		snprintf(o->why, o->why_len, fmt, detail);
}

static int open_kernel(int flags, const struct uf_open_opts *o)
{
	int via, used;
	int fd = uf__kernel_open(flags, o ? o->no_fallback : 0, &via, &used);
	if (fd < 0)
		return fd;
	int err = uf__fd_set(fd, &uf__kernel_engine, via, used);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

UF_EXPORT int uf_open(int flags, const struct uf_open_opts *opts)
{
	if (opts && opts->sz < offsetof(struct uf_open_opts, why))
		return -EINVAL;
	if (flags & ~UF_OPEN_FLAGS) {
		set_why(opts, "%s", "unknown flags: only O_CLOEXEC, O_NONBLOCK and UFFD_USER_MODE_ONLY");
		return -EINVAL;
	}
	int engine = opts ? opts->engine : UF_ENGINE_AUTO;
	int fd;

	switch (engine) {
	case UF_ENGINE_AUTO:	/* the user engine is not in this build yet: AUTO is the kernel */
	case UF_ENGINE_KERNEL:
		fd = open_kernel(flags, opts);
		break;
	case UF_ENGINE_USER:
		set_why(opts, "%s", "the user engine is not part of this build yet");
		return -ENOSYS;
	default:
		set_why(opts, "%s", "unknown engine");
		return -EINVAL;
	}
	if (fd < 0 && opts && opts->why && opts->why_len && fd != -EINVAL) {
		char reason[256];
		uf__kernel_why(reason, sizeof(reason));
		set_why(opts, "%s", reason);
	}
	return fd;
}

UF_EXPORT int uf_ioctl(int fd, unsigned long request, void *arg)
{
	const struct uf__engine *e = uf__fd_engine(fd);
	/* The kernel's path is the hot one: no indirect call on it. */
	if (!e || e == &uf__kernel_engine)
		return ioctl(fd, request, arg) < 0 ? uf__neg_errno() : 0;
	return e->ioctl(fd, request, arg);
}

UF_EXPORT ssize_t uf_read(int fd, struct uffd_msg *msgs, size_t n)
{
	const struct uf__engine *e = uf__fd_engine(fd);
	return (e ? e : &uf__kernel_engine)->read(fd, msgs, n);
}

UF_EXPORT int uf_close(int fd)
{
	const struct uf__engine *e = uf__fd_engine(fd);
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

UF_EXPORT int uf_engine(int fd)
{
	const struct uf__engine *e = uf__fd_engine(fd);
	if (e)
		return e->kind;
	int k = is_kernel_uffd(fd);
	if (k < 0)
		return k;
	return k ? UF_ENGINE_KERNEL : -EINVAL;
}

UF_EXPORT int uf_fd_info(int fd, struct uf_fd_info *info)
{
	struct uf__fdent ent;
	if (!info || info->sz < sizeof(*info))
		return -EINVAL;
	if (uf__fd_get(fd, &ent) < 0)
		return -EBADF;
	info->engine = ent.engine->kind;
	info->via = ent.via;
	info->flags = ent.flags;
	return 0;
}
