/* SPDX-License-Identifier: MIT */
/*
 * real.c - uf__real_*(): the C library's functions that the shim replaces,
 * found with dlsym(RTLD_NEXT).
 *
 * Each pointer is resolved by the constructor, before main() and before any
 * signal handler of the engine can run, so a call from the SIGSEGV handler
 * is one atomic load and an indirect call: async-signal-safe as the C
 * library function itself is.  A call that comes earlier (another
 * library's constructor) resolves its pointer on the spot.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "real.h"

/* Nothing can work without the C library's own function.  No message:
 * every way to print could be the missing function itself. */
static void missing(const char *name)
{
	(void)name;
	abort();
}

static void *resolve(_Atomic(void *) *slot, const char *name)
{
	void *p = atomic_load_explicit(slot, memory_order_acquire);
	if (p)
		return p;
	p = dlsym(RTLD_NEXT, name);
	if (!p)
		missing(name);
	atomic_store_explicit(slot, p, memory_order_release);
	return p;
}

#define UF__SHIM_DEFINE(ret, name, params, args)					\
	static _Atomic(void *) p_##name;						\
	ret uf__real_##name params							\
	{										\
		ret (*fn) params = (ret (*) params)resolve(&p_##name, #name);		\
		return fn args;								\
	}
UF__SHIM_PLAIN(UF__SHIM_DEFINE)
#undef UF__SHIM_DEFINE

static _Atomic(void *) p_syscall, p_open, p_open64, p_openat, p_openat64, p_ioctl, p_fcntl,
	p_fcntl64, p_mremap;

/* syscall(2) takes up to six word-sized arguments; passing all six on is
 * what the C library's own variadic wrapper expects. */
UF_SHIM_SIX_WORDS long uf__real_syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
	long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	long (*fn)(long, ...) = (long (*)(long, ...))resolve(&p_syscall, "syscall");
	return fn(nr, a, b, c, d, e, f);
}

/* open's mode is read only when the flags need one, as the C library does. */
#define NEEDS_MODE(fl) (((fl) & O_CREAT) || ((fl) & O_TMPFILE) == O_TMPFILE)

#define OPEN_LIKE(name)									\
	int uf__real_##name(const char *path, int flags, ...)				\
	{										\
		mode_t mode = 0;							\
		if (NEEDS_MODE(flags)) {						\
			va_list ap;							\
			va_start(ap, flags);						\
			mode = (mode_t)va_arg(ap, int);					\
			va_end(ap);							\
		}									\
		int (*fn)(const char *, int, ...) =					\
			(int (*)(const char *, int, ...))resolve(&p_##name, #name);	\
		return fn(path, flags, mode);						\
	}
#define OPENAT_LIKE(name)								\
	int uf__real_##name(int dir, const char *path, int flags, ...)			\
	{										\
		mode_t mode = 0;							\
		if (NEEDS_MODE(flags)) {						\
			va_list ap;							\
			va_start(ap, flags);						\
			mode = (mode_t)va_arg(ap, int);					\
			va_end(ap);							\
		}									\
		int (*fn)(int, const char *, int, ...) =				\
			(int (*)(int, const char *, int, ...))resolve(&p_##name, #name); \
		return fn(dir, path, flags, mode);					\
	}
#include <fcntl.h>
OPEN_LIKE(open)
OPEN_LIKE(open64)
OPENAT_LIKE(openat)
OPENAT_LIKE(openat64)

int uf__real_ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	int (*fn)(int, unsigned long, ...) = (int (*)(int, unsigned long, ...))resolve(&p_ioctl, "ioctl");
	return fn(fd, request, arg);
}

/* fcntl's third argument is an int or a pointer: a word carries both. */
#define FCNTL_LIKE(name)								\
	int uf__real_##name(int fd, int cmd, ...)					\
	{										\
		va_list ap;								\
		va_start(ap, cmd);							\
		void *arg = va_arg(ap, void *);						\
		va_end(ap);								\
		int (*fn)(int, int, ...) = (int (*)(int, int, ...))resolve(&p_##name, #name); \
		return fn(fd, cmd, arg);						\
	}
FCNTL_LIKE(fcntl)
FCNTL_LIKE(fcntl64)

void *uf__real_mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	void *to = va_arg(ap, void *);
	va_end(ap);
	void *(*fn)(void *, size_t, size_t, int, ...) =
		(void *(*)(void *, size_t, size_t, int, ...))resolve(&p_mremap, "mremap");
	return fn(old, old_len, new_len, flags, to);
}

void uf__shim_resolve_all(void)
{
#define UF__SHIM_RESOLVE(ret, name, params, args) resolve(&p_##name, #name);
	UF__SHIM_PLAIN(UF__SHIM_RESOLVE)
#undef UF__SHIM_RESOLVE
	resolve(&p_syscall, "syscall");
	resolve(&p_open, "open");
	resolve(&p_open64, "open64");
	resolve(&p_openat, "openat");
	resolve(&p_openat64, "openat64");
	resolve(&p_ioctl, "ioctl");
	resolve(&p_fcntl, "fcntl");
	resolve(&p_fcntl64, "fcntl64");
	resolve(&p_mremap, "mremap");
}
