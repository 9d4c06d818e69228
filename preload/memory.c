/* SPDX-License-Identifier: MIT */
/*
 * memory.c - the memory calls userfaultfd watches.
 *
 * madvise() and munmap() go through uf_madvise() and uf_munmap(), which
 * send UFFD_EVENT_REMOVE and UFFD_EVENT_UNMAP for user-engine memory and
 * are the system calls themselves everywhere else.  Until the process has
 * a user-engine context they are passed on untouched.
 *
 * mremap() goes through uf_mremap(), which moves the registration with the
 * memory and sends UFFD_EVENT_REMAP.
 */
#include <stdarg.h>
#include <sys/mman.h>
#include "shim.h"

UF_SHIM_EXPORT int madvise(void *addr, size_t len, int advice)
{
	if (!uf__shim_on())
		return uf__real_madvise(addr, len, advice);
	return (int)uf__shim_ret(uf_madvise(addr, len, advice));
}

UF_SHIM_EXPORT int munmap(void *addr, size_t len)
{
	if (!uf__shim_on())
		return uf__real_munmap(addr, len);
	return (int)uf__shim_ret(uf_munmap(addr, len));
}

UF_SHIM_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	void *to = va_arg(ap, void *);
	va_end(ap);
	if (!uf__shim_on())
		return uf__real_mremap(old, old_len, new_len, flags, to);
	void *res;
	int r = uf_mremap(old, old_len, new_len, flags, to, &res);
	if (r < 0) {
		errno = -r;
		return MAP_FAILED;
	}
	return res;
}
