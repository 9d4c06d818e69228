/* SPDX-License-Identifier: MIT */
/*
 * diagnose.c - why the kernel's userfaultfd does or does not work here.
 *
 * Tries each way of opening (syscall, syscall with UFFD_USER_MODE_ONLY, the
 * device) and reads what explains a refusal: vm.unprivileged_userfaultfd,
 * the seccomp mode, CAP_SYS_PTRACE, the device node's owner and mode.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"
#include "syscall.h"

#define CAP_SYS_PTRACE_BIT 19

static int read_int_file(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Seccomp mode and CAP_SYS_PTRACE from /proc/self/status. */
static void read_status(int *seccomp, int *ptrace_cap)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	*seccomp = -1;
	*ptrace_cap = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long caps;
		if (sscanf(line, "Seccomp: %d", seccomp) == 1)
			continue;
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			*ptrace_cap = (int)((caps >> CAP_SYS_PTRACE_BIT) & 1);
	}
	fclose(f);
}

/* 0 if the way works, else its errno; fills features/ioctls when it works. */
static int try_syscall(int flags, __u64 *features, __u64 *ioctls)
{
	int fd = uf__sys_userfaultfd(flags | O_CLOEXEC);
	if (fd < 0)
		return errno;
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	if (features && ioctl(fd, UFFDIO_API, &api) == 0) {
		*features = api.features;
		*ioctls = api.ioctls;
	}
	close(fd);
	return 0;
}

static int try_device(__u64 *features, __u64 *ioctls)
{
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return errno;
	int fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC);
	int err = fd < 0 ? errno : 0;
	close(dev);
	if (fd >= 0) {
		struct uffdio_api api = { .api = UFFD_API, .features = 0 };
		if (ioctl(fd, UFFDIO_API, &api) == 0 && !*features) {
			*features = api.features;
			*ioctls = api.ioctls;
		}
		close(fd);
	}
	return err;
}

static void explain(struct uf_kernel_status *st)
{
	char *r = st->reason;
	size_t n = sizeof(st->reason);

	if (st->syscall_err == 0) {
		snprintf(r, n, "userfaultfd(2) works");
		return;
	}
	if (st->syscall_err == ENOSYS && st->device_err != 0 && st->seccomp != 2) {
		snprintf(r, n, "this kernel has no userfaultfd (built without CONFIG_USERFAULTFD)");
		return;
	}
	char dev[128];
	if (!st->device_present)
		snprintf(dev, sizeof(dev), "/dev/userfaultfd does not exist");
	else if (st->device_err == EACCES || st->device_err == EPERM)
		snprintf(dev, sizeof(dev), "/dev/userfaultfd is mode %03o owner %u:%u, not open to uid %u",
			 st->device_mode & 0777, st->device_uid, st->device_gid, (unsigned)geteuid());
	else if (st->device_err)
		snprintf(dev, sizeof(dev), "/dev/userfaultfd: %s", strerror(st->device_err));
	else
		snprintf(dev, sizeof(dev), "/dev/userfaultfd works");

	if (st->syscall_err == EPERM && st->syscall_umo_err == 0)
		snprintf(r, n, "userfaultfd(2) needs UFFD_USER_MODE_ONLY: vm.unprivileged_userfaultfd=%d "
			 "and no CAP_SYS_PTRACE; %s", st->unprivileged_sysctl, dev);
	else if (st->seccomp == 2)
		snprintf(r, n, "userfaultfd(2) is refused (%s) and a seccomp filter is active, as container "
			 "runtimes install by default; %s", strerror(st->syscall_err), dev);
	else if (st->syscall_err == EPERM)
		snprintf(r, n, "userfaultfd(2) is refused (EPERM): vm.unprivileged_userfaultfd=%d, "
			 "CAP_SYS_PTRACE %s; %s", st->unprivileged_sysctl,
			 st->cap_sys_ptrace == 1 ? "present" : "missing", dev);
	else
		snprintf(r, n, "userfaultfd(2) fails: %s; %s", strerror(st->syscall_err), dev);
}

UF_EXPORT int uf_kernel_probe(struct uf_kernel_status *st, size_t sz)
{
	if (!st || sz < sizeof(*st))
		return -EINVAL;
	memset(st, 0, sizeof(*st));

	st->unprivileged_sysctl = read_int_file("/proc/sys/vm/unprivileged_userfaultfd");
	read_status(&st->seccomp, &st->cap_sys_ptrace);

	struct stat sb;
	if (stat("/dev/userfaultfd", &sb) == 0) {
		st->device_present = 1;
		st->device_mode = sb.st_mode;
		st->device_uid = sb.st_uid;
		st->device_gid = sb.st_gid;
	}
	st->syscall_err = try_syscall(0, &st->features, &st->ioctls);
	st->syscall_umo_err = try_syscall(UFFD_USER_MODE_ONLY, st->features ? NULL : &st->features,
					  &st->ioctls);
	st->device_err = st->device_present ? try_device(&st->features, &st->ioctls) : ENOENT;
	st->usable = !st->syscall_err || !st->syscall_umo_err || !st->device_err;
	explain(st);
	return 0;
}

void uf__kernel_why(char *buf, size_t len)
{
	struct uf_kernel_status st;
	if (!buf || !len)
		return;
	if (uf_kernel_probe(&st, sizeof(st)) < 0)
		snprintf(buf, len, "the kernel engine could not be examined");
	else
		snprintf(buf, len, "%s", st.reason);
}
