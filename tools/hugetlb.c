/* SPDX-License-Identifier: MIT */
/*
 * hugetlb.c - borrow a few huge pages through vm.nr_hugepages and give them
 * back.
 *
 * The pool is machine-wide state: a probe that leaves it raised steals
 * memory from everyone, so the window is kept short, the signals that would
 * end the process mid-loan are held back, and the return subtracts only what
 * this loan added (another program may have raised the pool meanwhile).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"

size_t hugetlb_page_size(void)
{
	long long kib = meminfo_value("Hugepagesize");
	return kib > 0 ? (size_t)kib * 1024 : 0;
}

static void block_signals(struct hugetlb_loan *loan)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	loan->blocked = sigprocmask(SIG_BLOCK, &set, &loan->saved_mask) == 0;
}

static void unblock_signals(struct hugetlb_loan *loan)
{
	if (loan->blocked)
		sigprocmask(SIG_SETMASK, &loan->saved_mask, NULL);
	loan->blocked = 0;
}

int hugetlb_borrow(struct hugetlb_loan *loan, long long want)
{
	memset(loan, 0, sizeof(*loan));
	loan->old_nr = -1;

	long long free_now = meminfo_value("HugePages_Free");
	if (free_now < 0 || !hugetlb_page_size()) {
		snprintf(loan->why, sizeof(loan->why), "no hugetlb support in this kernel");
		return 0;
	}
	if (free_now >= want)
		return 1;
	if (geteuid() != 0) {
		snprintf(loan->why, sizeof(loan->why),
			 "no huge pages reserved (root can reserve some via vm.nr_hugepages)");
		return 0;
	}
	long long old = read_long_file(NR_HUGEPAGES);
	if (old < 0) {
		snprintf(loan->why, sizeof(loan->why), "no huge pages reserved and %s is unreadable",
			 NR_HUGEPAGES);
		return 0;
	}

	block_signals(loan);
	long long need = want - free_now;
	int err = write_long_file(NR_HUGEPAGES, old + need);
	if (err) {
		unblock_signals(loan);
		snprintf(loan->why, sizeof(loan->why),
			 "no huge pages reserved; reserving via %s failed: %s", NR_HUGEPAGES,
			 errno_name(err));
		return 0;
	}
	loan->old_nr = old;
	loan->added = need;

	free_now = meminfo_value("HugePages_Free");
	if (free_now < want) {
		snprintf(loan->why, sizeof(loan->why),
			 "asked for %lld huge pages, the kernel found only %lld (memory fragmented?)",
			 want, free_now < 0 ? 0 : free_now);
		return 0;
	}
	return 1;
}

void hugetlb_return(struct hugetlb_loan *loan)
{
	if (loan->old_nr >= 0 && loan->added > 0) {
		long long cur = read_long_file(NR_HUGEPAGES);
		/* Above what we set: someone else raised it too; keep theirs. */
		long long target = cur > loan->old_nr + loan->added ? cur - loan->added : loan->old_nr;
		if (cur >= 0 && cur != target)
			write_long_file(NR_HUGEPAGES, target);
	}
	loan->old_nr = -1;
	loan->added = 0;
	unblock_signals(loan);
}
