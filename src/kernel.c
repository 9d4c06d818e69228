/* SPDX-License-Identifier: MIT */
/*
 * kernel.c - the kernel engine: the kernel's own userfaultfd.
 *
 * Everything after opening is a direct system call; the only work added is
 * turning -1/errno into -errno.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "internal.h"
#include "syscall.h"

#define UF_DEVICE_PATH "/dev/userfaultfd"

static int kernel_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg) < 0 ? uf__neg_errno() : 0;
}

static ssize_t kernel_read(int fd, struct uffd_msg *msgs, size_t n)
{
	/* Clamp so that n * 32 cannot overflow; the kernel returns at most
	 * what is pending anyway. */
	if (n > 4096)
		n = 4096;
	ssize_t r = read(fd, msgs, n * sizeof(*msgs));
	if (r < 0)
		return uf__neg_errno();
	return r / (ssize_t)sizeof(*msgs);
}

static int kernel_close(int fd)
{
	return close(fd) < 0 ? uf__neg_errno() : 0;
}

const struct uf__engine uf__kernel_engine = {
	.kind = UF_ENGINE_KERNEL,
	.ioctl = kernel_ioctl,
	.read = kernel_read,
	.close = kernel_close,
};

/* /dev/userfaultfd + USERFAULTFD_IOC_NEW; -1 with errno set on failure. */
static int open_device(int flags)
{
	int dev = open(UF_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -1;
	int fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
	int saved = errno;
	close(dev);
	errno = saved;
	return fd;
}

int uf__kernel_open(int flags, unsigned no_fallback, int *via, int *flags_used)
{
	int fd = uf__sys_userfaultfd(flags);
	if (fd >= 0) {
		*via = UF_VIA_SYSCALL;
		*flags_used = flags;
		return fd;
	}
	int first = errno;
	/* EINVAL means the flags themselves are wrong: no other way helps. */
	if (first == EINVAL)
		return -EINVAL;

	/* Refused (sysctl, seccomp) or absent: the device keeps the full
	 * semantics, so it comes before UFFD_USER_MODE_ONLY. */
	if (!(no_fallback & UF_FALLBACK_DEVICE)) {
		fd = open_device(flags);
		if (fd >= 0) {
			*via = UF_VIA_DEVICE;
			*flags_used = flags;
			return fd;
		}
	}
	/* vm.unprivileged_userfaultfd=0 without CAP_SYS_PTRACE still allows
	 * user-mode-only contexts. */
	if (first == EPERM && !(flags & UFFD_USER_MODE_ONLY) &&
	    !(no_fallback & UF_FALLBACK_USER_MODE_ONLY)) {
		fd = uf__sys_userfaultfd(flags | UFFD_USER_MODE_ONLY);
		if (fd >= 0) {
			*via = UF_VIA_USER_MODE_ONLY;
			*flags_used = flags | UFFD_USER_MODE_ONLY;
			return fd;
		}
	}
	return -first;
}
