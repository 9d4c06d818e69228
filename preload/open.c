/* SPDX-License-Identifier: MIT */
/*
 * open.c - where userfaultfd descriptors come from: userfaultfd(2) through
 * syscall(), and /dev/userfaultfd with USERFAULTFD_IOC_NEW.
 *
 * USERFAULT_ENGINE picks the engine.  kernel: both pass straight on.
 * user: the user engine serves every context; /dev/userfaultfd opens as a
 * stand-in (/dev/null underneath) whose USERFAULTFD_IOC_NEW makes a
 * user-engine context.  auto: the kernel's where it works; a refusal
 * (EPERM from a seccomp filter or the sysctl, EACCES from the device's
 * permissions, ENOENT/ENOSYS where it is missing) falls back to the user
 * engine.  auto does not add UFFD_USER_MODE_ONLY by itself as uf_open()
 * may: the program asked for a context that serves the kernel's own
 * accesses too, which the user engine (with the shim's retries, xfer.c)
 * comes closer to.  A bad USERFAULT_ENGINE value makes opening fail with
 * EINVAL rather than silently picking an engine.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include "shim.h"
#include "syscall.h"

#define DEVICE_PATH "/dev/userfaultfd"

/* Contexts made with UFFD_USER_MODE_ONLY, by socket identity: the kernel
 * gives EFAULT for its own accesses there, so xfer.c must not retry. */
#define UMO_MAX 64
static struct { dev_t dev; ino_t ino; } umo[UMO_MAX];
static int numo;
static pthread_mutex_t umo_lock = PTHREAD_MUTEX_INITIALIZER;

int uf__shim_user_mode_only(const struct uf__ctx *c)
{
	int r = 0;
	pthread_mutex_lock(&umo_lock);
	for (int i = 0; i < numo && !r; i++)
		r = umo[i].dev == c->dev && umo[i].ino == c->ino;
	pthread_mutex_unlock(&umo_lock);
	return r;
}

static int open_user(int flags)
{
	struct uf_open_opts o = UF_OPEN_OPTS_INIT;
	o.engine = UF_ENGINE_USER;
	uf__shim_activate();
	int fd = uf_open(flags, &o);
	if (fd >= 0 && (flags & UFFD_USER_MODE_ONLY)) {
		struct uf__ctx *c = uf__ctx_get(fd);
		pthread_mutex_lock(&umo_lock);
		if (c && numo < UMO_MAX) {
			umo[numo].dev = c->dev;
			umo[numo].ino = c->ino;
			numo++;
		}
		pthread_mutex_unlock(&umo_lock);
		if (c)
			uf__ctx_put(c);
	}
	return fd;
}

/* Errors that another engine cannot cure: bad flags, no descriptors. */
static int final_error(int err)
{
	return err == -EINVAL || err == -EMFILE || err == -ENFILE || err == -ENOMEM;
}

static long shim_userfaultfd(int flags)
{
	int engine = uf__shim_engine();
	if (engine < 0)
		return engine;
	if (engine == UF_ENGINE_KERNEL) {
		long r = uf__real_syscall(__NR_userfaultfd, (long)flags);
		return r < 0 ? -errno : r;
	}
	if (engine == UF_ENGINE_AUTO) {
		int via, used;
		int fd = uf__kernel_open(flags, UF_FALLBACK_USER_MODE_ONLY, &via, &used);
		if (fd >= 0 || final_error(fd))
			return fd;
	}
	return open_user(flags);
}

UF_SHIM_EXPORT UF_SHIM_SIX_WORDS long syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
	long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	if (nr != __NR_userfaultfd)
		return uf__real_syscall(nr, a, b, c, d, e, f);
	return uf__shim_ret(shim_userfaultfd((int)a));
}

/* ------------------------------------------------------------------------ */
/* /dev/userfaultfd                                                         */

/* Stand-ins for the device, by descriptor + 1 (0: free slot).  A program
 * opens the device, makes its contexts and closes it: a few at a time. */
#define DEVICES 64
static atomic_int devices[DEVICES];
static atomic_int ndevices;

int uf__shim_is_device(int fd)
{
	if (fd < 0 || atomic_load(&ndevices) == 0)
		return 0;
	for (int i = 0; i < DEVICES; i++)
		if (atomic_load(&devices[i]) == fd + 1)
			return 1;
	return 0;
}

void uf__shim_device_closed(int fd)
{
	for (int i = 0; i < DEVICES; i++) {
		int want = fd + 1;
		if (atomic_compare_exchange_strong(&devices[i], &want, 0)) {
			atomic_fetch_sub(&ndevices, 1);
			return;
		}
	}
}

static int remember_device(int fd)
{
	for (int i = 0; i < DEVICES; i++) {
		int free_slot = 0;
		if (atomic_compare_exchange_strong(&devices[i], &free_slot, fd + 1)) {
			atomic_fetch_add(&ndevices, 1);
			return 0;
		}
	}
	return -ENFILE;
}

void uf__shim_device_dup(int from, int to)
{
	if (to >= 0 && uf__shim_is_device(from))
		(void)remember_device(to);
}

static int open_standin(int flags)
{
	uf__shim_activate();
	int fd = uf__real_open("/dev/null", O_RDWR | (flags & O_CLOEXEC));
	if (fd < 0)
		return -errno;
	if (remember_device(fd) == 0)
		return fd;
	uf__real_close(fd);
	return -ENFILE;
}

/* open(DEVICE_PATH, flags): -errno, or a descriptor. */
static int open_device(int flags, mode_t mode)
{
	int engine = uf__shim_engine();
	if (engine < 0)
		return engine;
	if (engine != UF_ENGINE_USER) {
		int fd = uf__real_open(DEVICE_PATH, flags, mode);
		if (fd >= 0 || engine == UF_ENGINE_KERNEL)
			return fd < 0 ? -errno : fd;
		int err = errno;
		if (err != EPERM && err != EACCES && err != ENOENT && err != ENODEV && err != ENXIO)
			return -err;
	}
	return open_standin(flags);
}

int uf__shim_device_refused(int fd, void *arg)
{
	struct stat st, dev;
	if (uf__shim_engine() != UF_ENGINE_AUTO || fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) ||
	    stat(DEVICE_PATH, &dev) < 0 || dev.st_rdev != st.st_rdev)
		return UF_SHIM_PASS;
	return open_user((int)(intptr_t)arg);
}

int uf__shim_device_ioctl(int fd, unsigned long request, void *arg)
{
	(void)fd;
	if (request != USERFAULTFD_IOC_NEW)
		return -EINVAL;		/* the device knows no other request */
	return open_user((int)(intptr_t)arg);
}

static int is_device(int dir, const char *path)
{
	return path && (dir == AT_FDCWD || path[0] == '/') && strcmp(path, DEVICE_PATH) == 0;
}

/* The mode argument exists only when the flags need one. */
#define NEEDS_MODE(fl) (((fl) & O_CREAT) || ((fl) & O_TMPFILE) == O_TMPFILE)
#define GET_MODE(last, fl, mode)				\
	do {							\
		if (NEEDS_MODE(fl)) {				\
			va_list ap;				\
			va_start(ap, last);			\
			mode = (mode_t)va_arg(ap, int);		\
			va_end(ap);				\
		}						\
	} while (0)

static int open_any(int dir, const char *path, int flags, mode_t mode,
		    int (*real)(int, const char *, int, mode_t))
{
	if (is_device(dir, path))
		return (int)uf__shim_ret(open_device(flags, mode));
	/* /proc/self/pagemap is watched even before the shim is in use:
	 * programs open it early.  A prefix test costs nothing next to open. */
	if (path && path[0] == '/' && strncmp(path, "/proc/", 6) == 0) {
		int r = uf__shim_proc_open(path, flags);
		if (r != UF_SHIM_PASS)
			return (int)uf__shim_ret(r);
	}
	return real(dir, path, flags, mode);
}

static int real_open(int dir, const char *p, int fl, mode_t m) { (void)dir; return uf__real_open(p, fl, m); }
static int real_open64(int dir, const char *p, int fl, mode_t m) { (void)dir; return uf__real_open64(p, fl, m); }
static int real_openat(int dir, const char *p, int fl, mode_t m) { return uf__real_openat(dir, p, fl, m); }
static int real_openat64(int dir, const char *p, int fl, mode_t m) { return uf__real_openat64(dir, p, fl, m); }

UF_SHIM_EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	GET_MODE(flags, flags, mode);
	return open_any(AT_FDCWD, path, flags, mode, real_open);
}

UF_SHIM_EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	GET_MODE(flags, flags, mode);
	return open_any(AT_FDCWD, path, flags, mode, real_open64);
}

UF_SHIM_EXPORT int openat(int dir, const char *path, int flags, ...)
{
	mode_t mode = 0;
	GET_MODE(flags, flags, mode);
	return open_any(dir, path, flags, mode, real_openat);
}

UF_SHIM_EXPORT int openat64(int dir, const char *path, int flags, ...)
{
	mode_t mode = 0;
	GET_MODE(flags, flags, mode);
	return open_any(dir, path, flags, mode, real_openat64);
}
