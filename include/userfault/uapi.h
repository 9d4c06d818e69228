/* SPDX-License-Identifier: MIT */
/*
 * userfault/uapi.h - the complete userfaultfd user-space API as of Linux 6.18.
 *
 * Written from the documented interface (man pages, shared/reference/UAPI.md),
 * so that programs and the library build the same on any distribution:
 *
 *  - If <linux/userfaultfd.h> has not been included yet, this header defines
 *    everything itself and claims that header's include guard, so a later
 *    #include <linux/userfaultfd.h> becomes a no-op instead of a clash.
 *  - If an older <linux/userfaultfd.h> (e.g. Debian 12's, from Linux 6.1) was
 *    included first, its definitions are kept and only what it lacks is added
 *    (MOVE, POISON, WP_UNPOPULATED, WP_ASYNC, CONTINUE_MODE_WP, ...); the
 *    aggregate masks are redefined to their 6.18 values.
 *
 * Names and values are the kernel's: code moves between the raw kernel API and
 * libuserfault without translation.
 */
#ifndef USERFAULT_UAPI_H
#define USERFAULT_UAPI_H

#include <linux/types.h>
#include <linux/ioctl.h>

#ifndef _LINUX_USERFAULTFD_H
#define _LINUX_USERFAULTFD_H	/* the kernel header's guard: we are it now */

#define USERFAULTFD_IOC		0xAA
#define USERFAULTFD_IOC_NEW	_IO(USERFAULTFD_IOC, 0x00)

#define UFFD_API		((__u64)0xAA)

#define _UFFDIO_REGISTER	(0x00)
#define _UFFDIO_UNREGISTER	(0x01)
#define _UFFDIO_WAKE		(0x02)
#define _UFFDIO_COPY		(0x03)
#define _UFFDIO_ZEROPAGE	(0x04)
#define _UFFDIO_WRITEPROTECT	(0x06)
#define _UFFDIO_CONTINUE	(0x07)
#define _UFFDIO_API		(0x3F)

#define UFFDIO			0xAA

/* One record returned by read(2) on the descriptor: always 32 bytes. */
struct uffd_msg {
	__u8	event;

	__u8	reserved1;
	__u16	reserved2;
	__u32	reserved3;

	union {
		struct {
			__u64	flags;		/* UFFD_PAGEFAULT_FLAG_* */
			__u64	address;	/* page aligned unless EXACT_ADDRESS */
			union {
				__u32 ptid;	/* with UFFD_FEATURE_THREAD_ID */
			} feat;
		} pagefault;

		struct {
			__u32	ufd;		/* new descriptor for the child */
		} fork;

		struct {
			__u64	from;
			__u64	to;
			__u64	len;
		} remap;

		struct {
			__u64	start;
			__u64	end;
		} remove;			/* also used by UFFD_EVENT_UNMAP */

		struct {
			__u64	reserved1;
			__u64	reserved2;
			__u64	reserved3;
		} reserved;
	} arg;
} __attribute__((packed));

#define UFFD_EVENT_PAGEFAULT	0x12
#define UFFD_EVENT_FORK		0x13
#define UFFD_EVENT_REMAP	0x14
#define UFFD_EVENT_REMOVE	0x15
#define UFFD_EVENT_UNMAP	0x16

#define UFFD_PAGEFAULT_FLAG_WRITE	(1<<0)
#define UFFD_PAGEFAULT_FLAG_WP		(1<<1)
#define UFFD_PAGEFAULT_FLAG_MINOR	(1<<2)

struct uffdio_api {
	__u64 api;		/* in: UFFD_API */
	__u64 features;		/* in: requested; out: supported */
	__u64 ioctls;		/* out: UFFD_API_IOCTLS */
};

#define UFFD_FEATURE_PAGEFAULT_FLAG_WP		(1<<0)
#define UFFD_FEATURE_EVENT_FORK			(1<<1)
#define UFFD_FEATURE_EVENT_REMAP		(1<<2)
#define UFFD_FEATURE_EVENT_REMOVE		(1<<3)
#define UFFD_FEATURE_MISSING_HUGETLBFS		(1<<4)
#define UFFD_FEATURE_MISSING_SHMEM		(1<<5)
#define UFFD_FEATURE_EVENT_UNMAP		(1<<6)
#define UFFD_FEATURE_SIGBUS			(1<<7)
#define UFFD_FEATURE_THREAD_ID			(1<<8)
#define UFFD_FEATURE_MINOR_HUGETLBFS		(1<<9)
#define UFFD_FEATURE_MINOR_SHMEM		(1<<10)
#define UFFD_FEATURE_EXACT_ADDRESS		(1<<11)
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM		(1<<12)

struct uffdio_range {
	__u64 start;
	__u64 len;
};

struct uffdio_register {
	struct uffdio_range range;
#define UFFDIO_REGISTER_MODE_MISSING	((__u64)1<<0)
#define UFFDIO_REGISTER_MODE_WP		((__u64)1<<1)
#define UFFDIO_REGISTER_MODE_MINOR	((__u64)1<<2)
	__u64 mode;
	__u64 ioctls;		/* out: the range ioctls usable on the range */
};

struct uffdio_copy {
	__u64 dst;
	__u64 src;
	__u64 len;
#define UFFDIO_COPY_MODE_DONTWAKE	((__u64)1<<0)
#define UFFDIO_COPY_MODE_WP		((__u64)1<<1)
	__u64 mode;
	__s64 copy;		/* out: bytes copied, or -errno */
};

struct uffdio_zeropage {
	struct uffdio_range range;
#define UFFDIO_ZEROPAGE_MODE_DONTWAKE	((__u64)1<<0)
	__u64 mode;
	__s64 zeropage;		/* out: bytes zeroed, or -errno */
};

struct uffdio_writeprotect {
	struct uffdio_range range;
#define UFFDIO_WRITEPROTECT_MODE_WP		((__u64)1<<0)
#define UFFDIO_WRITEPROTECT_MODE_DONTWAKE	((__u64)1<<1)
	__u64 mode;
};

struct uffdio_continue {
	struct uffdio_range range;
#define UFFDIO_CONTINUE_MODE_DONTWAKE	((__u64)1<<0)
#define UFFDIO_CONTINUE_MODE_WP		((__u64)1<<1)
	__u64 mode;
	__s64 mapped;		/* out: bytes mapped, or -errno */
};

#define UFFDIO_API		_IOWR(UFFDIO, _UFFDIO_API, struct uffdio_api)
#define UFFDIO_REGISTER		_IOWR(UFFDIO, _UFFDIO_REGISTER, struct uffdio_register)
#define UFFDIO_UNREGISTER	_IOR(UFFDIO, _UFFDIO_UNREGISTER, struct uffdio_range)
#define UFFDIO_WAKE		_IOR(UFFDIO, _UFFDIO_WAKE, struct uffdio_range)
#define UFFDIO_COPY		_IOWR(UFFDIO, _UFFDIO_COPY, struct uffdio_copy)
#define UFFDIO_ZEROPAGE		_IOWR(UFFDIO, _UFFDIO_ZEROPAGE, struct uffdio_zeropage)
#define UFFDIO_WRITEPROTECT	_IOWR(UFFDIO, _UFFDIO_WRITEPROTECT, struct uffdio_writeprotect)
#define UFFDIO_CONTINUE		_IOWR(UFFDIO, _UFFDIO_CONTINUE, struct uffdio_continue)

/* Flag for userfaultfd(2) and USERFAULTFD_IOC_NEW: only user-mode faults. */
#define UFFD_USER_MODE_ONLY	1

#endif /* _LINUX_USERFAULTFD_H */

/*
 * What an older kernel header may lack.  Each group is keyed on a macro that
 * the kernel header defines together with the group.
 */

/* Linux 5.13 (MINOR): only reachable here if a pre-5.13 header came first. */
#ifndef _UFFDIO_CONTINUE
#define _UFFDIO_CONTINUE	(0x07)
#endif
#ifndef UFFDIO_CONTINUE_MODE_DONTWAKE
#define UFFDIO_CONTINUE_MODE_DONTWAKE	((__u64)1<<0)
struct uffdio_continue {
	struct uffdio_range range;
	__u64 mode;
	__s64 mapped;
};
#endif
#ifndef UFFDIO_CONTINUE
#define UFFDIO_CONTINUE		_IOWR(UFFDIO, _UFFDIO_CONTINUE, struct uffdio_continue)
#endif
#ifndef UFFDIO_REGISTER_MODE_MINOR
#define UFFDIO_REGISTER_MODE_MINOR	((__u64)1<<2)
#endif
#ifndef UFFD_PAGEFAULT_FLAG_MINOR
#define UFFD_PAGEFAULT_FLAG_MINOR	(1<<2)
#endif
#ifndef UFFD_FEATURE_MINOR_HUGETLBFS
#define UFFD_FEATURE_MINOR_HUGETLBFS	(1<<9)
#endif
#ifndef UFFD_FEATURE_MINOR_SHMEM
#define UFFD_FEATURE_MINOR_SHMEM	(1<<10)
#endif
#ifndef UFFD_FEATURE_EXACT_ADDRESS
#define UFFD_FEATURE_EXACT_ADDRESS	(1<<11)
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM	(1<<12)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY	1
#endif
#ifndef USERFAULTFD_IOC
#define USERFAULTFD_IOC		0xAA
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW	_IO(USERFAULTFD_IOC, 0x00)
#endif

/* Linux 6.3: CONTINUE can install the page write-protected. */
#ifndef UFFDIO_CONTINUE_MODE_WP
#define UFFDIO_CONTINUE_MODE_WP		((__u64)1<<1)
#endif

/* Linux 6.4 to 6.8: the features the 6.1 header lacks. */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1<<13)
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON		(1<<14)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1<<15)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE		(1<<16)
#endif

/* Linux 6.6: UFFDIO_POISON. */
#ifndef _UFFDIO_POISON
#define _UFFDIO_POISON		(0x08)
#endif
#ifndef UFFDIO_POISON_MODE_DONTWAKE
#define UFFDIO_POISON_MODE_DONTWAKE	((__u64)1<<0)
struct uffdio_poison {
	struct uffdio_range range;
	__u64 mode;
	__s64 updated;		/* out: bytes poisoned, or -errno */
};
#endif
#ifndef UFFDIO_POISON
#define UFFDIO_POISON		_IOWR(UFFDIO, _UFFDIO_POISON, struct uffdio_poison)
#endif

/* Linux 6.8: UFFDIO_MOVE. */
#ifndef _UFFDIO_MOVE
#define _UFFDIO_MOVE		(0x05)
#endif
#ifndef UFFDIO_MOVE_MODE_DONTWAKE
#define UFFDIO_MOVE_MODE_DONTWAKE		((__u64)1<<0)
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES	((__u64)1<<1)
struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
	__u64 mode;
	__s64 move;		/* out: bytes moved, or -errno */
};
#endif
#ifndef UFFDIO_MOVE
#define UFFDIO_MOVE		_IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif

/*
 * Aggregate masks: always the 6.18 values, whatever header came first.
 */
#undef UFFD_API_REGISTER_MODES
#define UFFD_API_REGISTER_MODES (UFFDIO_REGISTER_MODE_MISSING |	\
				 UFFDIO_REGISTER_MODE_WP |	\
				 UFFDIO_REGISTER_MODE_MINOR)

#undef UFFD_API_FEATURES
#define UFFD_API_FEATURES (UFFD_FEATURE_PAGEFAULT_FLAG_WP |	\
			   UFFD_FEATURE_EVENT_FORK |		\
			   UFFD_FEATURE_EVENT_REMAP |		\
			   UFFD_FEATURE_EVENT_REMOVE |		\
			   UFFD_FEATURE_MISSING_HUGETLBFS |	\
			   UFFD_FEATURE_MISSING_SHMEM |		\
			   UFFD_FEATURE_EVENT_UNMAP |		\
			   UFFD_FEATURE_SIGBUS |		\
			   UFFD_FEATURE_THREAD_ID |		\
			   UFFD_FEATURE_MINOR_HUGETLBFS |	\
			   UFFD_FEATURE_MINOR_SHMEM |		\
			   UFFD_FEATURE_EXACT_ADDRESS |		\
			   UFFD_FEATURE_WP_HUGETLBFS_SHMEM |	\
			   UFFD_FEATURE_WP_UNPOPULATED |	\
			   UFFD_FEATURE_POISON |		\
			   UFFD_FEATURE_WP_ASYNC |		\
			   UFFD_FEATURE_MOVE)

#undef UFFD_API_IOCTLS
#define UFFD_API_IOCTLS ((__u64)1 << _UFFDIO_REGISTER |	\
			 (__u64)1 << _UFFDIO_UNREGISTER |	\
			 (__u64)1 << _UFFDIO_API)

#undef UFFD_API_RANGE_IOCTLS
#define UFFD_API_RANGE_IOCTLS ((__u64)1 << _UFFDIO_WAKE |	\
			       (__u64)1 << _UFFDIO_COPY |	\
			       (__u64)1 << _UFFDIO_ZEROPAGE |	\
			       (__u64)1 << _UFFDIO_MOVE |	\
			       (__u64)1 << _UFFDIO_WRITEPROTECT |	\
			       (__u64)1 << _UFFDIO_CONTINUE |	\
			       (__u64)1 << _UFFDIO_POISON)

/* What hugetlb ranges get: no ZEROPAGE, no MOVE. */
#undef UFFD_API_RANGE_IOCTLS_BASIC
#define UFFD_API_RANGE_IOCTLS_BASIC ((__u64)1 << _UFFDIO_WAKE |	\
				     (__u64)1 << _UFFDIO_COPY |	\
				     (__u64)1 << _UFFDIO_WRITEPROTECT |	\
				     (__u64)1 << _UFFDIO_CONTINUE |	\
				     (__u64)1 << _UFFDIO_POISON)

#endif /* USERFAULT_UAPI_H */
