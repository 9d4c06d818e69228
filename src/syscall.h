/* SPDX-License-Identifier: MIT */
/*
 * syscall.h - raw system calls that libc does not wrap, in one place.
 * They return what the kernel returns: -1 with errno set on failure.
 */
#ifndef UF_SYSCALL_H
#define UF_SYSCALL_H

#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_userfaultfd
#if defined(__x86_64__)
#define __NR_userfaultfd 323
#elif defined(__aarch64__)
#define __NR_userfaultfd 282
#else
#error "__NR_userfaultfd is not known for this architecture"
#endif
#endif

static inline int uf__sys_userfaultfd(int flags)
{
	return (int)syscall(__NR_userfaultfd, flags);
}

static inline pid_t uf__sys_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

#endif /* UF_SYSCALL_H */
