/* SPDX-License-Identifier: MIT */
/*
 * signals.c - the program's SIGSEGV handlers next to the engine's.
 *
 * The user engine's SIGSEGV handler must stay first in line; a program
 * that installs its own (a garbage collector, a crash reporter) after the
 * engine started would otherwise push it aside.  While the engine's
 * handler is installed, the program's sigaction(SIGSEGV) and
 * signal(SIGSEGV) change the handler the engine chains to for addresses
 * that are not its own, and report that one as the old action
 * (uf__trap_sigaction in src/user/trap.c).  Before that, and for every
 * other signal, they are the C library's.
 *
 * SIGBUS is passed on: the engine installs no SIGBUS handler (it raises
 * SIGBUS for poisoned pages and the SIGBUS feature, which the program's
 * own handler must see directly, as with the kernel).
 */
#include <string.h>
#include "shim.h"

UF_SHIM_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig != SIGSEGV || !uf__shim_on())
		return uf__real_sigaction(sig, act, old);
	return (int)uf__shim_ret(uf__trap_sigaction(act, old));
}

/* The C library's signal(): BSD semantics (SA_RESTART, the signal itself
 * blocked in its handler), the old handler as the result. */
UF_SHIM_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	if (sig != SIGSEGV || !uf__shim_on())
		return uf__real_signal(sig, handler);
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, sig);
	sa.sa_flags = SA_RESTART;
	int r = uf__trap_sigaction(&sa, &old);
	if (r < 0) {
		errno = -r;
		return SIG_ERR;
	}
	return (old.sa_flags & SA_SIGINFO) ? (sighandler_t)(void *)old.sa_sigaction : old.sa_handler;
}
