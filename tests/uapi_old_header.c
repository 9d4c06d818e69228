/* SPDX-License-Identifier: MIT */
/*
 * uapi_old_header.c - the system's (possibly older) <linux/userfaultfd.h>
 * included first, then ours: what the old header lacks must be added and the
 * aggregate masks must be 6.18's.
 */
#include <linux/userfaultfd.h>
#include "userfault.h"
#include "lib/t.h"
#include "uapi_check.h"

static void test_old_header_first(const struct t_env *env)
{
	struct uffdio_move m = { 0, 0, 0, UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES, 0 };
	struct uffdio_poison p = { { 0, 0 }, UFFDIO_POISON_MODE_DONTWAKE, 0 };
	T_EQ(m.mode, 2);
	T_EQ(p.mode, 1);
	T_EQX(UFFD_API_FEATURES, 0x1ffff);
}

static const struct t_case cases[] = {
	{ "old_header_first", test_old_header_first, T_ONCE, 0 },
	{ 0 }
};
T_MAIN(cases)
