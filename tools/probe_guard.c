/* SPDX-License-Identifier: MIT */
/*
 * probe_guard.c - do guard markers (MADV_GUARD_INSTALL / MADV_GUARD_REMOVE,
 * Linux 6.13) work here?  The user engine relies on them to trap single
 * pages without splitting VMAs.
 *
 * The test deliberately faults, so it runs in a child: whatever happens
 * (a SIGBUS instead of SIGSEGV, a hang, a seccomp kill) the probe itself
 * survives and reports it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif

#define CHILD_TIMEOUT_S 10

static sigjmp_buf jump;
static volatile sig_atomic_t caught;

static void on_fault(int sig)
{
	caught = sig;
	siglongjmp(jump, 1);
}

/* One read of p; 0 if it completed, else the signal it raised. */
static int try_read(volatile const uint64_t *p, uint64_t *value)
{
	caught = 0;
	if (sigsetjmp(jump, 1) == 0)
		*value = *p;
	return caught;
}

static void child(int out)
{
	struct probe_guard g;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct sigaction sa;
	uint64_t v = 0;

	memset(&g, 0, sizeof(g));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	alarm(CHILD_TIMEOUT_S);

	/* Three pages, guard on the middle one: mprotect would make three
	 * VMAs of one, a guard marker must leave one. */
	char *p = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		g.install_err = errno;
		goto out;
	}
	memset(p, 0x5a, 3 * page);
	g.maps_before = count_mappings();
	if (madvise(p + page, page, MADV_GUARD_INSTALL) != 0) {
		g.install_err = errno;
		goto out;
	}
	g.maps_after = count_mappings();
	g.fault_sig = try_read((volatile uint64_t *)(p + page), &v);
	g.faulted = g.fault_sig != 0;
	if (madvise(p + page, page, MADV_GUARD_REMOVE) != 0) {
		g.remove_err = errno;
		goto out;
	}
	/* Installing discards the page: it must come back as a fresh zero
	 * page, readable. */
	v = 1;
	g.restored = try_read((volatile uint64_t *)(p + page), &v) == 0 && v == 0;
out:
	g.ran = 1;
	if (write(out, &g, sizeof(g)) != (ssize_t)sizeof(g))
		_exit(1);
	_exit(0);
}

void probe_guard(struct probe_guard *g)
{
	int pipefd[2];

	memset(g, 0, sizeof(*g));
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		snprintf(g->why, sizeof(g->why), "pipe: %s", errno_name(errno));
		return;
	}
	fflush(NULL);	/* the child must not flush our buffered output again */
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(g->why, sizeof(g->why), "fork: %s", errno_name(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	}
	if (pid == 0) {
		close(pipefd[0]);
		child(pipefd[1]);
	}
	close(pipefd[1]);

	struct probe_guard got;
	ssize_t n;
	do
		n = read(pipefd[0], &got, sizeof(got));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);

	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(got)) {
		*g = got;
		return;
	}
	if (WIFSIGNALED(status))
		snprintf(g->why, sizeof(g->why), "the test process died of signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(g->why, sizeof(g->why), "the test process ended without a result");
}
