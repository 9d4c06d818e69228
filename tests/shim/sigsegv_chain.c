/* SPDX-License-Identifier: MIT */
/*
 * sigsegv_chain: a program with its own SIGSEGV handler (as garbage
 * collectors and crash reporters have), installed after the userfaultfd
 * is in use, with sigaction() and with signal().  Its handler sees the
 * faults on its own PROT_NONE page and nothing of the registered range;
 * sigaction() reports back the handler the program installed.
 */
#include <signal.h>
#include "uffd.h"

static char *mine, *region;
static volatile int handled;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	handled++;
	CHECK((char *)si->si_addr >= mine && (char *)si->si_addr < mine + PAGE);
	CHECK(mprotect(mine, PAGE, PROT_READ | PROT_WRITE) == 0);
}

static void on_segv_plain(int sig)
{
	(void)sig;
	handled += 10;
	CHECK(mprotect(mine, PAGE, PROT_READ | PROT_WRITE) == 0);
}

static int uffd;

static void *handler(void *arg)
{
	(void)arg;
	struct uffd_msg m;
	if (read_msg(uffd, &m, 10000) < 0)
		FAIL("no fault");
	struct uffdio_zeropage z = { { m.arg.pagefault.address & ~(PAGE - 1), PAGE }, 0, 0 };
	CHECK(ioctl(uffd, UFFDIO_ZEROPAGE, &z) == 0);
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, 0);
	region = map_anon(PAGE);
	uffd_register(uffd, region, PAGE, UFFDIO_REGISTER_MODE_MISSING);
	mine = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mine != MAP_FAILED);

	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	CHECK(sigaction(SIGSEGV, &sa, &old) == 0);
	printf("previous handler: %s\n", old.sa_handler == SIG_DFL ? "SIG_DFL" : "another");
	CHECK(sigaction(SIGSEGV, NULL, &old) == 0);
	printf("installed handler reported: %s\n",
	       (old.sa_flags & SA_SIGINFO) && old.sa_sigaction == on_segv ? "ours" : "another");

	((volatile char *)mine)[3] = 1;
	printf("own fault handled %d time(s)\n", handled);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, handler, NULL) == 0);
	printf("registered page reads %d, own handler calls %d\n", region[7], handled);
	CHECK(pthread_join(t, NULL) == 0);

	CHECK(mprotect(mine, PAGE, PROT_NONE) == 0);
	void (*prev)(int) = signal(SIGSEGV, on_segv_plain);
	printf("signal() returned the sigaction handler: %s\n", prev == (void (*)(int))(void *)on_segv ? "yes" : "no");
	((volatile char *)mine)[5] = 1;
	printf("plain handler: handled %d\n", handled);
	close(uffd);
	printf("done\n");
	return 0;
}
