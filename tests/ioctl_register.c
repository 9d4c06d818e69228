/* SPDX-License-Identifier: MIT */
/*
 * ioctl_register.c - UFFDIO_REGISTER and UFFDIO_UNREGISTER on every memory
 * type: the `ioctls` mask for each mode, every EINVAL/EBUSY/EPERM, ranges
 * owned by another context, re-registration, partial unregistration, and a
 * 64 GiB registration that touches no memory.
 */
#include <fcntl.h>
#include <stdint.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "lib/fault.h"

#define BIT(n) ((__u64)1 << (n))

static const __u64 all_modes[] = {
	F_MODE_M, F_MODE_WP, F_MODE_MINOR,
	F_MODE_M | F_MODE_WP, F_MODE_M | F_MODE_MINOR, F_MODE_WP | F_MODE_MINOR,
	F_MODE_M | F_MODE_WP | F_MODE_MINOR,
};

/* The mask as UAPI.md states it, written out independently of the harness. */
static __u64 spec_ioctls(int mem, __u64 mode)
{
	__u64 m = BIT(_UFFDIO_WAKE) | BIT(_UFFDIO_COPY) | BIT(_UFFDIO_POISON);
	if (!t_mem_is_hugetlb(mem))
		m |= BIT(_UFFDIO_ZEROPAGE) | BIT(_UFFDIO_MOVE);
	if (mode & F_MODE_WP)
		m |= BIT(_UFFDIO_WRITEPROTECT);
	if (mode & F_MODE_MINOR)
		m |= BIT(_UFFDIO_CONTINUE);
	return m;
}

/* Every mode combination: success with the exact mask where the memory type
 * takes it, EINVAL where it does not (MINOR on anonymous memory). */
static void test_modes(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	int ok = 0;
	for (size_t i = 0; i < sizeof(all_modes) / sizeof(all_modes[0]); i++) {
		__u64 mode = all_modes[i], need = f_mode_features(env->mem, mode);
		if (!f_mode_ok(env->mem, mode)) {
			int fd = t_uffd(env, O_CLOEXEC, 0);
			struct uffdio_register reg = { { f_ul(r.addr), r.len }, mode, 0x1234 };
			T_ERR(uf_ioctl(fd, UFFDIO_REGISTER, &reg), EINVAL);
			T_EQX(reg.ioctls, 0x1234);	/* not written on failure */
			uf_close(fd);
			continue;
		}
		if ((env->features & need) != need) {
			t_log("mode 0x%llx: engine lacks 0x%llx", (unsigned long long)mode,
			      (unsigned long long)(need & ~env->features));
			continue;
		}
		int fd = t_uffd(env, O_CLOEXEC, need);
		__u64 io = 0;
		T_OK(uf_register(fd, r.addr, r.len, mode, &io));
		t_log("mode 0x%llx: ioctls 0x%llx", (unsigned long long)mode, (unsigned long long)io);
		T_EQX(io, spec_ioctls(env->mem, mode));
		if (io != t_expected_ioctls(env->mem, mode))
			T_FAIL("t_expected_ioctls(%s, 0x%llx) = 0x%llx but the kernel says 0x%llx",
			       t_mem_name(env->mem), (unsigned long long)mode,
			       (unsigned long long)t_expected_ioctls(env->mem, mode),
			       (unsigned long long)io);
		if (env->mem == T_ANON && mode == F_MODE_M)
			T_EQX(io, 0x13c);		/* the probe's numbers */
		if (env->mem == T_ANON && mode == (F_MODE_M | F_MODE_WP))
			T_EQX(io, 0x17c);
		T_OK(uf_unregister(fd, r.addr, r.len));
		uf_close(fd);
		ok++;
	}
	if (!ok)
		T_SKIP("the engine supports no register mode on %s", t_mem_name(env->mem));
	t_region_unmap(&r);
}

/* The kernel does not gate registration on the feature bits asked for in
 * UFFDIO_API: they only advertise.  A context opened with features 0 can
 * register every mode the memory type takes. */
static void test_no_feature_request(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	int fd = t_uffd(env, O_CLOEXEC, 0);
	for (size_t i = 0; i < sizeof(all_modes) / sizeof(all_modes[0]); i++) {
		__u64 mode = all_modes[i];
		if (!f_mode_ok(env->mem, mode))
			continue;
		__u64 need = f_mode_features(env->mem, mode);
		if ((env->features & need) != need)
			continue;
		__u64 io = 0;
		T_OK(uf_register(fd, r.addr, r.len, mode, &io));
		T_EQX(io, spec_ioctls(env->mem, mode));
	}
	uf_close(fd);
	t_region_unmap(&r);
}

static void test_einval(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	const size_t pg = env->page;

	/* Before UFFDIO_API every range ioctl is EINVAL. */
	int raw = t_uffd_raw(env, O_CLOEXEC);
	T_ERR(uf_register(raw, r.addr, r.len, F_MODE_M, NULL), EINVAL);
	uf_close(raw);

	int fd = f_uffd(env, F_MODE_M, 0);
	/* Modes: none, unknown bits alone, unknown bits beside a good one. */
	T_ERR(uf_register(fd, r.addr, r.len, 0, NULL), EINVAL);
	T_ERR(uf_register(fd, r.addr, r.len, BIT(3), NULL), EINVAL);
	T_ERR(uf_register(fd, r.addr, r.len, BIT(5), NULL), EINVAL);
	T_ERR(uf_register(fd, r.addr, r.len, F_MODE_M | BIT(5), NULL), EINVAL);
	T_ERR(uf_register(fd, r.addr, r.len, F_MODE_M | BIT(63), NULL), EINVAL);
	/* Ranges. */
	T_ERR(uf_register(fd, r.addr + 1, pg, F_MODE_M, NULL), EINVAL);
	T_ERR(uf_register(fd, r.addr, 0, F_MODE_M, NULL), EINVAL);
	T_ERR(uf_register(fd, r.addr, pg + 1, F_MODE_M, NULL), EINVAL);
	T_ERR(uf_register(fd, (void *)(uintptr_t)(UINT64_MAX & ~(uint64_t)0xfff), 0x2000,
			  F_MODE_M, NULL), EINVAL);			/* wraps */
	T_ERR(uf_register(fd, (void *)(uintptr_t)0x1000, 0x1000, F_MODE_M, NULL), EINVAL);
	/* below mmap_min_addr */
	if (t_mem_is_hugetlb(env->mem)) {
		/* 4 KiB aligned but not 2 MiB aligned: start, then end. */
		T_ERR(uf_register(fd, r.addr + 4096, pg, F_MODE_M, NULL), EINVAL);
		T_ERR(uf_register(fd, r.addr, 4096, F_MODE_M, NULL), EINVAL);
		T_ERR(uf_register(fd, r.addr, pg + 4096, F_MODE_M, NULL), EINVAL);
	}
	if (t_mem_is_anon(env->mem))
		T_ERR(uf_register(fd, r.addr, r.len, F_MODE_MINOR, NULL), EINVAL);

	/* No mapping at all in the range. */
	char *hole = mmap(NULL, 4 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	T_ASSERT(hole != MAP_FAILED);
	T_SYS(munmap(hole, 4 * pg));
	T_ERR(uf_register(fd, hole, 4 * pg, F_MODE_M, NULL), EINVAL);

	/* None of the failures registered anything: a copy finds no registered VMA. */
	char *src = t_buffer(pg, 1);
	__s64 res = 0;
	T_ERR(uf_copy(fd, r.addr, src, pg, 0, &res), ENOENT);
	T_EQ(res, -ENOENT);
	uf_close(fd);
	t_region_unmap(&r);
}

/* A VMA without VM_MAYWRITE (a shared mapping of a read-only open) cannot be
 * registered: EPERM.  A private mapping of the same file can. */
static void test_eperm_readonly(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 1, &r);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", r.fd);
	int ro = open(path, O_RDONLY | O_CLOEXEC);
	T_SYS(ro);
	int shared = t_mem_is_shared(env->mem);
	char *p = mmap(NULL, r.len, PROT_READ, shared ? MAP_SHARED : MAP_PRIVATE, ro, 0);
	T_ASSERT(p != MAP_FAILED);
	int fd = f_uffd(env, F_MODE_M, 0);
	if (shared) {
		T_ERR(uf_register(fd, p, r.len, F_MODE_M, NULL), EPERM);
		if (env->features & f_mode_features(env->mem, F_MODE_MINOR))
			T_ERR(uf_register(fd, p, r.len, F_MODE_MINOR, NULL), EPERM);
	} else {
		__u64 io = 0;
		T_OK(uf_register(fd, p, r.len, F_MODE_M, &io));
		T_EQX(io, spec_ioctls(env->mem, F_MODE_M));
	}
	uf_close(fd);
	munmap(p, r.len);
	close(ro);
	t_region_unmap(&r);
}

/* Turn the effective CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE (40) on or
 * off, keeping them permitted; 0 or an errno. */
static int map_files_caps(int on)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return errno;
	const int caps[] = { CAP_SYS_ADMIN, 40 };
	for (size_t i = 0; i < 2; i++) {
		__u32 bit = 1u << (caps[i] % 32);
		if (on)
			data[caps[i] / 32].effective |= bit & data[caps[i] / 32].permitted;
		else
			data[caps[i] / 32].effective &= ~bit;
	}
	return syscall(SYS_capset, &hdr, data) < 0 ? errno : 0;
}

/* Register, fill page pg of r from src, read it back, unregister. */
static void register_and_fill(int fd, struct t_region *r, size_t pg, const char *src)
{
	__s64 f = 0;
	T_OK(uf_register(fd, r->addr, r->len, F_MODE_M, NULL));
	T_OK(uf_copy(fd, r->addr + pg * r->page, src, r->page, 0, &f));
	T_EQ(memcmp(r->addr + pg * r->page, src, r->page), 0);
	T_OK(uf_unregister(fd, r->addr, r->len));
}

/* The user engine's view of a shared hugetlb mapping is a mapping of its
 * file, which it opens through /proc/self/map_files (CAP_SYS_ADMIN or
 * CAP_CHECKPOINT_RESTORE) or through a descriptor of the file the program
 * holds.  With neither, it refuses the registration with EPERM, where the
 * kernel registers (docs/LIMITATIONS.md).  A private mapping registers
 * either way (the engine keeps the original mapping aside then), and still
 * shows the file's pages: page 0 is in the file, page 1 is missing. */
static void test_hugetlb_file_access(const struct t_env *env)
{
	if (geteuid() != 0)
		T_SKIP("needs root to take the capabilities away and back");
	struct t_region held, left;
	t_region_map(env, 1, &held);
	t_region_map(env, 2, &left);
	t_region_alias(&left);
	memset(left.alias, 0x5a, left.page);
	char *src = t_buffer(held.page, 31);
	int fd = f_uffd(env, F_MODE_M, 0);
	int err = map_files_caps(0);
	if (err)
		T_SKIP("cannot drop CAP_SYS_ADMIN: %s", strerror(err));
	/* The program holds the file open: found among its descriptors. */
	register_and_fill(fd, &held, 0, src);
	/* Nothing holds this one any more but its mappings. */
	T_SYS(close(left.fd));
	left.fd = -1;
	int rc = uf_register(fd, left.addr, left.len, F_MODE_M, NULL);
	t_log("REGISTER of %s, no descriptor, no capability: %d", t_mem_name(env->mem), rc);
	if (env->engine == UF_ENGINE_USER && t_mem_is_shared(env->mem)) {
		T_ERR(rc, EPERM);
	} else {
		T_OK(rc);
		struct f_toucher t;
		struct uffd_msg m;
		f_touch_start(&t, left.addr + 9, 0, 0);
		f_touch_finish(&t, 2000);
		T_EQ(t.seen, 0x5a);
		f_touch_start(&t, left.addr + left.page + 9, 0, 0);
		f_expect_fault(fd, 2000, &m);
		T_EQX(F_MSG_ADDR(&m), f_ul(left.addr + left.page));
		__s64 f = 0;
		T_OK(uf_copy(fd, left.addr + left.page, src, left.page, 0, &f));
		f_touch_finish(&t, 2000);
		T_EQ(t.seen, (unsigned char)src[9]);
		T_OK(uf_unregister(fd, left.addr, left.len));
		if (!t_mem_is_shared(env->mem)) {
			T_EQ(map_files_caps(1), 0);
			goto done;
		}
		/* Shared: empty the page again for the next registration. */
		T_SYS(madvise(left.alias + left.page, left.page, MADV_REMOVE));
	}
	/* With the capability, /proc/self/map_files opens it. */
	T_EQ(map_files_caps(1), 0);
	register_and_fill(fd, &left, 1, src);
done:
	uf_close(fd);
	t_region_unmap(&held);
	t_region_unmap(&left);
}

/* A range owned by one context is off limits to another. */
static void test_ebusy(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	const size_t pg = env->page;
	int a = f_uffd(env, F_MODE_M, 0), b = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(a, r.addr, r.len, F_MODE_M, NULL));

	T_ERR(uf_register(b, r.addr, r.len, F_MODE_M, NULL), EBUSY);
	T_ERR(uf_register(b, r.addr + pg, pg, F_MODE_M, NULL), EBUSY);
	T_ERR(uf_unregister(b, r.addr, r.len), EINVAL);
	T_ERR(uf_unregister(b, r.addr + pg, pg), EINVAL);
	/* Filling only asks that the VMA be registered with some context of this
	 * mm (the kernel does not check which): b can fill a's range.  But the
	 * wake-up goes to b's waiters, so a thread waiting on a stays asleep
	 * until a wakes it. */
	char *src = t_buffer(pg, 3);
	__s64 res = 0;
	T_OK(uf_copy(b, r.addr, src, pg, 0, &res));
	T_EQ(res, (long long)pg);
	T_ASSERT(t_check(r.addr, pg, 3));

	/* a still owns it: the fault goes to a, not to b. */
	struct f_toucher t;
	struct uffd_msg m;
	f_touch_start(&t, r.addr + pg, 0, 0);
	f_expect_fault(a, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + pg));
	f_expect_no_msg(b, 0);
	T_OK(uf_copy(b, r.addr + pg, src, pg, 0, &res));
	T_EQ(res, (long long)pg);
	f_touch_blocked(&t, 200);
	T_OK(uf_wake(b, r.addr + pg, pg));	/* b's wake does not reach a's waiter either */
	f_touch_blocked(&t, 200);
	T_OK(uf_wake(a, r.addr + pg, pg));
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, (unsigned char)src[0]);
	f_expect_no_msg(a, 0);

	/* Once a lets go, b may take it. */
	T_OK(uf_unregister(a, r.addr, r.len));
	T_OK(uf_register(b, r.addr, r.len, F_MODE_M, NULL));
	T_ERR(uf_register(a, r.addr, pg, F_MODE_M, NULL), EBUSY);
	uf_close(a);
	uf_close(b);
	t_region_unmap(&r);
}

/* The same context may register a range again.  The kernel's rule: when
 * the VMA already has every mode asked for (a subset), nothing changes;
 * otherwise the new modes replace the old ones.  The ioctls mask returned
 * always describes the modes asked for. */
static void test_reregister(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 3, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M | F_MODE_WP, 0);
	__u64 io = 0;
	struct f_toucher t;
	struct uffd_msg m;
	__s64 res = 0;

	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, &io));
	T_EQX(io, spec_ioctls(env->mem, F_MODE_M));
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, &io));		/* same again */
	T_EQX(io, spec_ioctls(env->mem, F_MODE_M));
	/* WP is not a subset of MISSING: WP replaces it, a missing page is now
	 * an ordinary fault. */
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_WP, &io));
	T_EQX(io, spec_ioctls(env->mem, F_MODE_WP));
	f_touch_start(&t, r.addr, 0, 0);
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, 0);
	f_expect_no_msg(fd, 0);

	/* MISSING|WP is more than WP: both are on now. */
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M | F_MODE_WP, &io));
	T_EQX(io, spec_ioctls(env->mem, F_MODE_M | F_MODE_WP));
	f_touch_start(&t, r.addr + pg, 0, 0);
	f_expect_fault(fd, 2000, &m);
	T_EQX(m.arg.pagefault.flags, 0);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + pg));
	char *src = t_buffer(pg, 4);
	T_OK(uf_copy(fd, r.addr + pg, src, pg, 0, &res));
	f_touch_finish(&t, 2000);

	/* WP alone is a subset of MISSING|WP: a no-op, MISSING stays on. */
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_WP, &io));
	T_EQX(io, spec_ioctls(env->mem, F_MODE_WP));
	f_touch_start(&t, r.addr + 2 * pg, 0, 0);
	f_expect_fault(fd, 2000, &m);
	T_EQX(m.arg.pagefault.flags, 0);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + 2 * pg));
	T_OK(uf_copy(fd, r.addr + 2 * pg, src, pg, 0, &res));
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, (unsigned char)src[0]);

	/* And WP is on: a write to a write-protected page reports. */
	T_OK(uf_writeprotect(fd, r.addr + pg, pg, UFFDIO_WRITEPROTECT_MODE_WP));
	f_touch_start(&t, r.addr + pg, 1, 9);
	f_expect_fault(fd, 2000, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE);
	T_OK(uf_writeprotect(fd, r.addr + pg, pg, 0));
	f_touch_finish(&t, 2000);
	T_EQ(r.addr[pg], 9);

	if (f_mode_ok(env->mem, F_MODE_MINOR) &&
	    (env->features & f_mode_features(env->mem, F_MODE_MINOR))) {
		/* MINOR on top, and MISSING|MINOR from scratch: the mask follows. */
		T_OK(uf_register(fd, r.addr, r.len, F_MODE_MINOR, &io));
		T_EQX(io, spec_ioctls(env->mem, F_MODE_MINOR));
		T_OK(uf_unregister(fd, r.addr, r.len));
		T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, &io));
		T_OK(uf_register(fd, r.addr, r.len, F_MODE_M | F_MODE_MINOR, &io));
		T_EQX(io, spec_ioctls(env->mem, F_MODE_M | F_MODE_MINOR));
	}
	uf_close(fd);
	t_region_unmap(&r);
}

/* Unregistering the middle of a range: faults there become ordinary, the
 * rest still reports. */
static void test_unregister_partial(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 4, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	T_OK(uf_unregister(fd, r.addr + pg, 2 * pg));

	struct f_toucher t;
	f_touch_start(&t, r.addr + pg, 0, 0);
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, 0);
	f_touch_start(&t, r.addr + 2 * pg + 5, 1, 0x42);
	f_touch_finish(&t, 2000);
	T_EQ(r.addr[2 * pg + 5], 0x42);
	f_expect_no_msg(fd, 0);
	/* The unregistered part is not this context's any more. */
	char *src = t_buffer(pg, 5);
	__s64 res = 0;
	T_ERR(uf_copy(fd, r.addr + pg, src, pg, 0, &res), ENOENT);
	T_EQ(res, -ENOENT);

	/* Both ends are still registered. */
	struct uffd_msg m;
	f_touch_start(&t, r.addr, 0, 0);
	f_expect_fault(fd, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr));
	T_OK(uf_copy(fd, r.addr, src, pg, 0, &res));
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, (unsigned char)src[0]);
	f_touch_start(&t, r.addr + 3 * pg, 1, 0x17);
	f_expect_fault(fd, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + 3 * pg));
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WRITE);
	T_OK(uf_copy(fd, r.addr + 3 * pg, src, pg, 0, &res));
	f_touch_finish(&t, 2000);
	T_EQ(r.addr[3 * pg], 0x17);
	T_EQ(r.addr[3 * pg + 8], src[8]);
	uf_close(fd);
	t_region_unmap(&r);
}

static void test_unregister_errors(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M, 0);

	/* Mapped but never registered: nothing to do, success. */
	T_OK(uf_unregister(fd, r.addr, r.len));
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	T_ERR(uf_unregister(fd, r.addr + 1, pg), EINVAL);
	T_ERR(uf_unregister(fd, r.addr, 0), EINVAL);
	T_ERR(uf_unregister(fd, r.addr, pg + 1), EINVAL);
	if (t_mem_is_hugetlb(env->mem)) {
		T_ERR(uf_unregister(fd, r.addr + 4096, pg), EINVAL);
		/* A 2 MiB VMA cannot be split at a 4 KiB end either. */
		T_ERR(uf_unregister(fd, r.addr, 4096), EINVAL);
	}
	char *hole = mmap(NULL, 4 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	T_ASSERT(hole != MAP_FAILED);
	T_SYS(munmap(hole, 4 * pg));
	T_ERR(uf_unregister(fd, hole, 4 * pg), EINVAL);

	/* The failures left the registration alone: a fault still reports. */
	struct f_toucher t;
	struct uffd_msg m;
	f_touch_start(&t, r.addr + pg, 0, 0);
	f_expect_fault(fd, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + pg));
	/* UNREGISTER wakes the waiting fault, which then completes as ordinary. */
	T_OK(uf_unregister(fd, r.addr, r.len));
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, 0);
	T_OK(uf_unregister(fd, r.addr, r.len));		/* twice is fine */
	uf_close(fd);
	t_region_unmap(&r);
}

/* 64 GiB of reserved-nothing address space registers without populating. */
static void test_huge_range(const struct t_env *env)
{
	const size_t len = (size_t)64 << 30, pg = env->page;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		T_SKIP("cannot map 64 GiB of address space: %s", strerror(errno));
	int fd = f_uffd(env, F_MODE_M, 0);
	size_t before = f_rss();
	__u64 io = 0;
	T_OK(uf_register(fd, p, len, F_MODE_M, &io));
	T_EQX(io, spec_ioctls(T_ANON, F_MODE_M));
	size_t after = f_rss();
	t_log("rss before %zu after %zu", before, after);
	/* (ThreadSanitizer's runtime clears its shadow of the engine's new
	 * mappings, which counts in the resident set.) */
	if (!T_TSAN)
		T_ASSERT(after < before + (4u << 20));

	/* Fill one page far inside, and take a real fault on another. */
	char *src = t_buffer(pg, 9);
	__s64 res = 0;
	char *mid = p + ((size_t)32 << 30);
	T_OK(uf_copy(fd, mid, src, pg, 0, &res));
	T_EQ(res, (long long)pg);
	T_ASSERT(t_check(mid, pg, 9));
	struct f_toucher t;
	struct uffd_msg m;
	char *last = p + len - pg;
	f_touch_start(&t, last, 0, 0);
	f_expect_fault(fd, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(last));
	T_OK(uf_zeropage(fd, last, pg, 0, &res));
	f_touch_finish(&t, 2000);
	if (!T_TSAN)	/* (as above) */
		T_ASSERT(f_rss() < before + (8u << 20));
	T_OK(uf_unregister(fd, p, len));
	uf_close(fd);
	munmap(p, len);
}

/* The argument need not be aligned (the kernel copies it in and out by
 * bytes): ioctls comes back at its place. */
static void test_misaligned_argument(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 2, &r);
	int fd = t_uffd(env, O_CLOEXEC, 0);
	_Alignas(8) char buf[sizeof(struct uffdio_register) + 8];
	char *at = buf + 3;
	struct uffdio_register reg = { { f_ul(r.addr), r.len }, UFFDIO_REGISTER_MODE_MISSING, 0 };
	memcpy(at, &reg, sizeof(reg));
	T_OK(uf_ioctl(fd, UFFDIO_REGISTER, at));
	memcpy(&reg, at, sizeof(reg));
	T_EQX(reg.ioctls, t_expected_ioctls(env->mem, UFFDIO_REGISTER_MODE_MISSING));
	uf_close(fd);
	t_region_unmap(&r);
}

/* uf_munmap() of a registered range's first page leaves the rest
 * registered: reads work, a write to a write-protected page is a WP fault;
 * UNREGISTER over the hole and part of the rest clears write protection
 * there (writes go through, no message), and only there. */
static void test_unregister_after_unmap(const struct t_env *env)
{
	struct t_region r;
	t_region_map(env, 4, &r);
	const size_t pg = env->page;
	int fd = f_uffd(env, F_MODE_M | F_MODE_WP, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M | F_MODE_WP, NULL));
	char *src = t_buffer(r.len, 7);
	T_OK(uf_copy(fd, r.addr, src, r.len, 0, NULL));
	T_OK(uf_writeprotect(fd, r.addr, r.len, UFFDIO_WRITEPROTECT_MODE_WP));
	T_OK(uf_munmap(r.addr, pg));
	T_ASSERT(memcmp(r.addr + pg, src + pg, 3 * pg) == 0);
	struct f_toucher t;
	struct uffd_msg m;
	f_touch_start(&t, r.addr + pg, 1, 0x31);
	f_expect_fault(fd, 2000, &m);
	T_EQX(m.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + pg));
	T_OK(uf_writeprotect(fd, r.addr + pg, pg, 0));
	f_touch_finish(&t, 2000);

	T_OK(uf_unregister(fd, r.addr, 3 * pg));
	f_touch_start(&t, r.addr + 2 * pg, 1, 0x32);
	f_touch_finish(&t, 2000);
	T_EQ(r.addr[2 * pg], 0x32);
	f_expect_no_msg(fd, 0);
	/* The last page is still registered and protected. */
	f_touch_start(&t, r.addr + 3 * pg, 1, 0x33);
	f_expect_fault(fd, 2000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr + 3 * pg));
	T_OK(uf_writeprotect(fd, r.addr + 3 * pg, pg, 0));
	f_touch_finish(&t, 2000);
	T_EQ(r.addr[3 * pg], 0x33);
	T_ASSERT(memcmp(r.addr + pg + 1, src + pg + 1, pg - 1) == 0);
	uf_close(fd);
	t_region_unmap(&r);
}

static const struct t_case cases[] = {
	{ "register_modes", test_modes, T_MEM_ALL, 0 },
	{ "register_no_feature_request", test_no_feature_request, T_MEM_ALL, 0 },
	{ "register_einval", test_einval, T_MEM_ALL, 0 },
	{ "register_eperm_readonly", test_eperm_readonly,
	  T_MEM(T_MEMFD) | T_MEM(T_MEMFD_PRIVATE) | T_MEM_HUGETLB_ALL, 0 },
	{ "register_hugetlb_file_access", test_hugetlb_file_access, T_MEM_HUGETLB_ALL, 0 },
	{ "register_ebusy", test_ebusy, T_MEM_ALL, 0 },
	{ "register_reregister", test_reregister, T_MEM_ALL, 0 },
	{ "unregister_partial", test_unregister_partial, T_MEM_ALL, 0 },
	{ "unregister_errors", test_unregister_errors, T_MEM_ALL, 0 },
	{ "unregister_after_unmap", test_unregister_after_unmap, T_MEM_ALL, 0 },
	{ "register_64g_noreserve", test_huge_range, T_MEM(T_ANON), 0 },
	{ "register_misaligned_argument", test_misaligned_argument, T_MEM(T_ANON), 0 },
	{ 0 }
};
T_MAIN(cases)
