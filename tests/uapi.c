/* SPDX-License-Identifier: MIT */
/*
 * uapi.c - include/userfault/uapi.h on its own: sizes and numbers at compile
 * time, and at run time that the kernel agrees with the feature mask.
 */
#include <fcntl.h>
#include "lib/t.h"
#include "uapi_check.h"

/* The header claims the kernel header's guard: including it now is a no-op. */
#include <linux/userfaultfd.h>

static void test_sizes_and_numbers(const struct t_env *env)
{
	/* The real checks ran at compile time; this records that they did. */
	T_EQ(sizeof(struct uffd_msg), 32);
	T_EQ(UFFDIO_MOVE, 0xc028aa05);
}

/* The kernel's own answer to UFFDIO_API(0) is exactly UFFD_API_FEATURES. */
static void test_kernel_features_match(const struct t_env *env)
{
	if (env->engine != UF_ENGINE_KERNEL)
		T_SKIP("compares the header with the running kernel");
	int fd = t_uffd_raw(env, O_CLOEXEC);
	__u64 f = 0, io = 0;
	T_OK(uf_api(fd, 0, &f, &io));
	T_EQX(f, UFFD_API_FEATURES);
	T_EQX(io, UFFD_API_IOCTLS);
	uf_close(fd);
}

static const struct t_case cases[] = {
	{ "sizes_and_numbers", test_sizes_and_numbers, T_ONCE, 0 },
	{ "kernel_features_match", test_kernel_features_match, T_MEM_NONE, 0 },
	{ 0 }
};
T_MAIN(cases)
