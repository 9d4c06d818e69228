/* SPDX-License-Identifier: MIT */
/*
 * helpers.c - one typed helper per ioctl: fill the kernel's struct, call
 * uf_ioctl(), hand back the result field.
 *
 * The result field is pre-set to a sentinel so that "the kernel left it
 * untouched" (argument validation errors) can be told apart and *result is
 * then left untouched too, as the raw interface would leave it.
 */
#include <stdint.h>
#include "internal.h"

#define UNTOUCHED INT64_MIN

static void give_result(__s64 field, __s64 *result)
{
	if (result && field != UNTOUCHED)
		*result = field;
}

/* uf_ioctl() on the helper's own struct: the engine may use it directly. */
static int own_ioctl(int fd, unsigned long request, void *arg, size_t len)
{
	struct uf__trust t;
	uf__trust_push(&t, arg, len);
	int r = uf_ioctl(fd, request, arg);
	uf__trust_pop(&t);
	return r;
}
#define OWN_IOCTL(fd, request, s) own_ioctl(fd, request, &(s), sizeof(s))

static __u64 addr_of(const void *p)
{
	return (__u64)(uintptr_t)p;
}

UF_EXPORT int uf_api(int fd, __u64 features, __u64 *features_out, __u64 *ioctls_out)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int r = OWN_IOCTL(fd, UFFDIO_API, api);
	if (features_out)
		*features_out = api.features;
	if (ioctls_out)
		*ioctls_out = api.ioctls;
	return r;
}

UF_EXPORT int uf_register(int fd, void *addr, size_t len, __u64 mode, __u64 *ioctls_out)
{
	struct uffdio_register reg = { .range = { addr_of(addr), len }, .mode = mode };
	int r = OWN_IOCTL(fd, UFFDIO_REGISTER, reg);
	if (r == 0 && ioctls_out)
		*ioctls_out = reg.ioctls;
	return r;
}

UF_EXPORT int uf_unregister(int fd, void *addr, size_t len)
{
	struct uffdio_range range = { addr_of(addr), len };
	return OWN_IOCTL(fd, UFFDIO_UNREGISTER, range);
}

UF_EXPORT int uf_wake(int fd, void *addr, size_t len)
{
	struct uffdio_range range = { addr_of(addr), len };
	return OWN_IOCTL(fd, UFFDIO_WAKE, range);
}

UF_EXPORT int uf_copy(int fd, void *dst, const void *src, size_t len, __u64 mode, __s64 *result)
{
	struct uffdio_copy c = { addr_of(dst), addr_of(src), len, mode, UNTOUCHED };
	int r = OWN_IOCTL(fd, UFFDIO_COPY, c);
	give_result(c.copy, result);
	return r;
}

UF_EXPORT int uf_zeropage(int fd, void *addr, size_t len, __u64 mode, __s64 *result)
{
	struct uffdio_zeropage z = { { addr_of(addr), len }, mode, UNTOUCHED };
	int r = OWN_IOCTL(fd, UFFDIO_ZEROPAGE, z);
	give_result(z.zeropage, result);
	return r;
}

UF_EXPORT int uf_writeprotect(int fd, void *addr, size_t len, __u64 mode)
{
	struct uffdio_writeprotect wp = { { addr_of(addr), len }, mode };
	return OWN_IOCTL(fd, UFFDIO_WRITEPROTECT, wp);
}

UF_EXPORT int uf_continue(int fd, void *addr, size_t len, __u64 mode, __s64 *result)
{
	struct uffdio_continue c = { { addr_of(addr), len }, mode, UNTOUCHED };
	int r = OWN_IOCTL(fd, UFFDIO_CONTINUE, c);
	give_result(c.mapped, result);
	return r;
}

UF_EXPORT int uf_poison(int fd, void *addr, size_t len, __u64 mode, __s64 *result)
{
	struct uffdio_poison p = { { addr_of(addr), len }, mode, UNTOUCHED };
	int r = OWN_IOCTL(fd, UFFDIO_POISON, p);
	give_result(p.updated, result);
	return r;
}

UF_EXPORT int uf_move(int fd, void *dst, void *src, size_t len, __u64 mode, __s64 *result)
{
	struct uffdio_move m = { addr_of(dst), addr_of(src), len, mode, UNTOUCHED };
	int r = OWN_IOCTL(fd, UFFDIO_MOVE, m);
	give_result(m.move, result);
	return r;
}
