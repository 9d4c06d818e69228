/* SPDX-License-Identifier: MIT */
/*
 * signals.c - the program's own SIGSEGV handling keeps working next to the
 * engine's (which, on the user engine, is a SIGSEGV handler itself):
 * SA_SIGINFO handlers and plain ones see their own faults with the right
 * address, a handler installed before registration is honoured, and
 * SIG_DFL still ends the process with SIGSEGV.  Userfaults keep working
 * alongside.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "lib/fault.h"

static sigjmp_buf jump;
static void *volatile seen_addr;
static volatile int seen_sig;

static void on_segv_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	seen_sig = sig;
	seen_addr = si->si_addr;
	siglongjmp(jump, 1);
}

static void on_segv_plain(int sig)
{
	seen_sig = sig;
	siglongjmp(jump, 1);
}

static void install(int siginfo)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	if (siginfo) {
		sa.sa_sigaction = on_segv_info;
		sa.sa_flags = SA_SIGINFO;
	} else {
		sa.sa_handler = on_segv_plain;
	}
	sigemptyset(&sa.sa_mask);
	T_SYS(sigaction(SIGSEGV, &sa, NULL));
}

/* Touch a page of the program's own that is PROT_NONE: its handler must
 * run (1), with si_addr when it asked for siginfo. */
static int own_fault(char *p)
{
	seen_sig = 0;
	seen_addr = NULL;
	if (sigsetjmp(jump, 1) == 0) {
		*(volatile char *)p = 1;
		return 0;
	}
	return seen_sig == SIGSEGV;
}

/* A real userfault on `mem` (registered MISSING on fd), served here. */
static void userfault_works(int fd, char *mem, unsigned char val)
{
	struct f_toucher t;
	struct uffd_msg m;
	f_touch_start(&t, mem, 0, 0);
	f_expect_fault(fd, 2000, &m);
	char *src = t_buffer(4096, 0);
	memset(src, val, 4096);
	T_OK(uf_copy(fd, mem, src, 4096, 0, NULL));
	f_touch_finish(&t, 2000);
	T_EQ(t.seen, val);
	munmap(src, 4096);
}

static void check_both(const struct t_env *env, int siginfo, int install_first)
{
	const size_t pg = 4096;
	char *own = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *mem = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(own != MAP_FAILED && mem != MAP_FAILED);
	if (install_first)
		install(siginfo);
	int fd = f_uffd(env, F_MODE_M, 0);
	if (!install_first)
		install(siginfo);	/* after the engine opened, before registering */
	T_OK(uf_register(fd, mem, 2 * pg, F_MODE_M, NULL));
	T_ASSERT(own_fault(own));
	if (siginfo)
		T_EQX(f_ul(seen_addr), f_ul(own));
	userfault_works(fd, mem, 7);
	T_ASSERT(own_fault(own + 1));		/* again, after a userfault */
	if (siginfo)
		T_EQX(f_ul(seen_addr), f_ul(own + 1));
	userfault_works(fd, mem + pg, 8);
	uf_close(fd);
	munmap(own, pg);
	munmap(mem, 2 * pg);
}

static void test_siginfo_before(const struct t_env *env) { check_both(env, 1, 1); }
static void test_plain_before(const struct t_env *env) { check_both(env, 0, 1); }
static void test_siginfo_after_open(const struct t_env *env) { check_both(env, 1, 0); }

/* SIG_DFL: a fault that is not a userfault still kills with SIGSEGV. */
static void test_default_kills(const struct t_env *env)
{
	pid_t pid = fork();
	T_SYS(pid);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		int fd = f_uffd(env, F_MODE_M, 0);
		char *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (uf_register(fd, mem, 4096, F_MODE_M, NULL) < 0)
			_exit(3);
		char *own = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		*(volatile char *)own = 1;
		_exit(4);
	}
	int st;
	T_SYS(waitpid(pid, &st, 0));
	T_ASSERT(WIFSIGNALED(st));
	T_EQ(WTERMSIG(st), SIGSEGV);
}

static const struct t_case cases[] = {
	{ "app_siginfo_handler", test_siginfo_before, T_MEM(T_ANON), 0 },
	{ "app_plain_handler", test_plain_before, T_MEM(T_ANON), 0 },
	{ "app_handler_after_open", test_siginfo_after_open, T_MEM(T_ANON), 0 },
	{ "sig_dfl_still_kills", test_default_kills, T_MEM(T_ANON), 0 },
	{ 0 }
};
T_MAIN(cases)
