/* SPDX-License-Identifier: MIT */
/*
 * canary.c - does calling userfaultfd(2) kill this process?
 *
 * Container runtimes usually refuse it with EPERM, but a seccomp filter may
 * also be set to kill (SECCOMP_RET_KILL_*) or to trap with SIGSYS.  The
 * library tries the system call first whatever happens, so before the
 * command calls into it, a throw-away child takes the risk.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"

#define CANARY_TIMEOUT_S 5

int userfaultfd_kills(void)
{
#ifdef SYS_userfaultfd
	fflush(NULL);	/* the child must not write our buffered output again */
	pid_t pid = fork();
	if (pid < 0)
		return 0;	/* cannot tell: take the risk as any program would */
	if (pid == 0) {
		alarm(CANARY_TIMEOUT_S);
		/* Both variants: a filter may look at the flags. */
		long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0)
			close((int)fd);
		fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
		if (fd >= 0)
			close((int)fd);
		_exit(0);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGALRM)
		return WTERMSIG(status);
#endif
	return 0;
}
