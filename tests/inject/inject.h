/* SPDX-License-Identifier: MIT */
/*
 * inject.h - making the engine's own system calls fail, for tests/inject.c.
 *
 * The test links a copy of the library whose objects have every reference
 * to the C library functions named in tests/inject/wrapped.txt renamed to
 * uf__inject_NAME (objcopy --redefine-syms, as preload/ does for the shim;
 * see the Makefile).  Those wrappers pass every call through, except the
 * one a plan picks: the nth call, counted from inj_arm(), of one of the
 * functions in the plan's mask, made on an armed thread (or on any thread),
 * fails with the plan's errno without reaching the kernel.  No test hook
 * lives in the engine itself.
 *
 * The wrappers are async-signal-safe (atomics and the call itself): the
 * engine calls them from its SIGSEGV handler.
 */
#ifndef UF_TEST_INJECT_H
#define UF_TEST_INJECT_H

enum inj_fn {
	INJ_MMAP, INJ_MUNMAP, INJ_MREMAP, INJ_MADVISE, INJ_MPROTECT, INJ_MINCORE,
	INJ_MEMFD_CREATE, INJ_FTRUNCATE, INJ_FSTAT, INJ_FCNTL,
	INJ_FUTEX_WAIT,		/* syscall(SYS_futex, FUTEX_WAIT...) */
	INJ_SYSCALL,		/* syscall(), any other number */
	INJ_SOCKETPAIR, INJ_SEND, INJ_RECV, INJ_SENDMSG, INJ_RECVMSG, INJ_POLL,
	INJ_EPOLL_CREATE1, INJ_EPOLL_CTL, INJ_EPOLL_WAIT, INJ_EVENTFD,
	INJ_PTHREAD_CREATE,	/* fails by returning the errno, as it does */
	INJ_MALLOC, INJ_CALLOC, INJ_REALLOC,	/* fail by returning NULL (ENOMEM) */
	INJ_PROCESS_VM_READV, INJ_PROCESS_VM_WRITEV,
	INJ_COUNT
};

#define INJ_BIT(f)	(1ull << (f))
#define INJ_ALL		((1ull << INJ_COUNT) - 1)
/* What allocates or reshapes memory, and may fail with ENOMEM in the
 * kernel.  Not process_vm_readv/writev: the engine copies arguments and
 * sources (at most a page) with them, and for up to 16 pages the kernel
 * allocates nothing there, so they cannot run out of memory; the engine
 * reports their failure as EFAULT, a bad pointer, as copy_from_user does. */
#define INJ_MEMORY	(INJ_BIT(INJ_MMAP) | INJ_BIT(INJ_MUNMAP) | INJ_BIT(INJ_MREMAP) |	\
			 INJ_BIT(INJ_MADVISE) | INJ_BIT(INJ_MPROTECT) | INJ_BIT(INJ_MINCORE) | \
			 INJ_BIT(INJ_MEMFD_CREATE) | INJ_BIT(INJ_FTRUNCATE) |		\
			 INJ_BIT(INJ_MALLOC) | INJ_BIT(INJ_CALLOC) | INJ_BIT(INJ_REALLOC))

/* Which threads a plan counts. */
enum inj_scope { INJ_ARMED, INJ_ANY_THREAD };

/* Count from now the calls of the functions in mask on armed threads (or
 * any); fail calls nth .. nth + times - 1 of them with err (times 0: fail
 * every call from the nth on; nth 0: fail none, just count). */
void inj_arm(unsigned long long mask, long nth, long times, int err, enum inj_scope scope);
/* Stop failing; what was counted stays readable. */
void inj_disarm(void);
/* Mark the calling thread as one whose calls count (INJ_ARMED plans). */
void inj_thread(int on);
/* Matching calls seen since inj_arm(), and how many were failed. */
long inj_seen(void);
long inj_failed(void);
/* The function the first failed call was (enum inj_fn), or -1. */
int inj_failed_fn(void);
const char *inj_name(int fn);

#endif /* UF_TEST_INJECT_H */
