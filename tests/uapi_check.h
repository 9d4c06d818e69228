/* SPDX-License-Identifier: MIT */
/*
 * uapi_check.h - the uAPI's sizes and numbers as observed on Linux 6.18
 * x86_64 (shared/reference/UAPI.md), checked at compile time.  Included by
 * uapi.c (our header alone) and uapi_old_header.c (the system's older
 * <linux/userfaultfd.h> first), so both orders must agree with the kernel.
 */
#include <stddef.h>

#define UAPI_EQ(a, b) _Static_assert((a) == (b), #a " == " #b)

UAPI_EQ(sizeof(struct uffd_msg), 32);
UAPI_EQ(sizeof(struct uffdio_api), 24);
UAPI_EQ(sizeof(struct uffdio_range), 16);
UAPI_EQ(sizeof(struct uffdio_register), 32);
UAPI_EQ(sizeof(struct uffdio_copy), 40);
UAPI_EQ(sizeof(struct uffdio_zeropage), 32);
UAPI_EQ(sizeof(struct uffdio_writeprotect), 24);
UAPI_EQ(sizeof(struct uffdio_continue), 32);
UAPI_EQ(sizeof(struct uffdio_poison), 32);
UAPI_EQ(sizeof(struct uffdio_move), 40);

UAPI_EQ(offsetof(struct uffd_msg, arg), 8);
UAPI_EQ(offsetof(struct uffd_msg, arg.pagefault.flags), 8);
UAPI_EQ(offsetof(struct uffd_msg, arg.pagefault.address), 16);
UAPI_EQ(offsetof(struct uffd_msg, arg.pagefault.feat.ptid), 24);
UAPI_EQ(offsetof(struct uffd_msg, arg.fork.ufd), 8);
UAPI_EQ(offsetof(struct uffd_msg, arg.remap.from), 8);
UAPI_EQ(offsetof(struct uffd_msg, arg.remap.to), 16);
UAPI_EQ(offsetof(struct uffd_msg, arg.remap.len), 24);
UAPI_EQ(offsetof(struct uffd_msg, arg.remove.start), 8);
UAPI_EQ(offsetof(struct uffd_msg, arg.remove.end), 16);
UAPI_EQ(offsetof(struct uffdio_copy, copy), 32);
UAPI_EQ(offsetof(struct uffdio_zeropage, zeropage), 24);
UAPI_EQ(offsetof(struct uffdio_continue, mapped), 24);
UAPI_EQ(offsetof(struct uffdio_poison, updated), 24);
UAPI_EQ(offsetof(struct uffdio_move, move), 32);
UAPI_EQ(offsetof(struct uffdio_register, ioctls), 24);

UAPI_EQ(UFFDIO_API, 0xc018aa3f);
UAPI_EQ(UFFDIO_REGISTER, 0xc020aa00);
UAPI_EQ(UFFDIO_UNREGISTER, 0x8010aa01);
UAPI_EQ(UFFDIO_WAKE, 0x8010aa02);
UAPI_EQ(UFFDIO_COPY, 0xc028aa03);
UAPI_EQ(UFFDIO_ZEROPAGE, 0xc020aa04);
UAPI_EQ(UFFDIO_MOVE, 0xc028aa05);
UAPI_EQ(UFFDIO_WRITEPROTECT, 0xc018aa06);
UAPI_EQ(UFFDIO_CONTINUE, 0xc020aa07);
UAPI_EQ(UFFDIO_POISON, 0xc020aa08);
UAPI_EQ(USERFAULTFD_IOC_NEW, 0xaa00);
UAPI_EQ(UFFD_API, 0xAA);
UAPI_EQ(UFFD_USER_MODE_ONLY, 1);

UAPI_EQ(UFFD_EVENT_PAGEFAULT, 0x12);
UAPI_EQ(UFFD_EVENT_FORK, 0x13);
UAPI_EQ(UFFD_EVENT_REMAP, 0x14);
UAPI_EQ(UFFD_EVENT_REMOVE, 0x15);
UAPI_EQ(UFFD_EVENT_UNMAP, 0x16);
UAPI_EQ(UFFD_PAGEFAULT_FLAG_WRITE, 1);
UAPI_EQ(UFFD_PAGEFAULT_FLAG_WP, 2);
UAPI_EQ(UFFD_PAGEFAULT_FLAG_MINOR, 4);

UAPI_EQ(UFFD_FEATURE_PAGEFAULT_FLAG_WP, 1 << 0);
UAPI_EQ(UFFD_FEATURE_EVENT_FORK, 1 << 1);
UAPI_EQ(UFFD_FEATURE_EVENT_REMAP, 1 << 2);
UAPI_EQ(UFFD_FEATURE_EVENT_REMOVE, 1 << 3);
UAPI_EQ(UFFD_FEATURE_MISSING_HUGETLBFS, 1 << 4);
UAPI_EQ(UFFD_FEATURE_MISSING_SHMEM, 1 << 5);
UAPI_EQ(UFFD_FEATURE_EVENT_UNMAP, 1 << 6);
UAPI_EQ(UFFD_FEATURE_SIGBUS, 1 << 7);
UAPI_EQ(UFFD_FEATURE_THREAD_ID, 1 << 8);
UAPI_EQ(UFFD_FEATURE_MINOR_HUGETLBFS, 1 << 9);
UAPI_EQ(UFFD_FEATURE_MINOR_SHMEM, 1 << 10);
UAPI_EQ(UFFD_FEATURE_EXACT_ADDRESS, 1 << 11);
UAPI_EQ(UFFD_FEATURE_WP_HUGETLBFS_SHMEM, 1 << 12);
UAPI_EQ(UFFD_FEATURE_WP_UNPOPULATED, 1 << 13);
UAPI_EQ(UFFD_FEATURE_POISON, 1 << 14);
UAPI_EQ(UFFD_FEATURE_WP_ASYNC, 1 << 15);
UAPI_EQ(UFFD_FEATURE_MOVE, 1 << 16);
UAPI_EQ(UFFD_API_FEATURES, 0x1ffff);		/* what 6.18 answers to UFFDIO_API(0) */
UAPI_EQ(UFFD_API_IOCTLS, 0x8000000000000003ull);
UAPI_EQ(UFFD_API_RANGE_IOCTLS, 0x1fc);
UAPI_EQ(UFFD_API_RANGE_IOCTLS_BASIC, 0x1cc);
UAPI_EQ(UFFD_API_REGISTER_MODES, 7);

UAPI_EQ(UFFDIO_REGISTER_MODE_MISSING, 1);
UAPI_EQ(UFFDIO_REGISTER_MODE_WP, 2);
UAPI_EQ(UFFDIO_REGISTER_MODE_MINOR, 4);
UAPI_EQ(UFFDIO_COPY_MODE_DONTWAKE, 1);
UAPI_EQ(UFFDIO_COPY_MODE_WP, 2);
UAPI_EQ(UFFDIO_ZEROPAGE_MODE_DONTWAKE, 1);
UAPI_EQ(UFFDIO_WRITEPROTECT_MODE_WP, 1);
UAPI_EQ(UFFDIO_WRITEPROTECT_MODE_DONTWAKE, 2);
UAPI_EQ(UFFDIO_CONTINUE_MODE_DONTWAKE, 1);
UAPI_EQ(UFFDIO_CONTINUE_MODE_WP, 2);
UAPI_EQ(UFFDIO_POISON_MODE_DONTWAKE, 1);
UAPI_EQ(UFFDIO_MOVE_MODE_DONTWAKE, 1);
UAPI_EQ(UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES, 2);
