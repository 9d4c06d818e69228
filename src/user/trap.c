/* SPDX-License-Identifier: MIT */
/*
 * trap.c - the SIGSEGV handler: where a user-engine fault begins.
 *
 * Everything reachable from on_segv() is async-signal-safe: system calls,
 * atomics, and the lock-free lookups of space.c and queue.c.  It runs with
 * every signal blocked (sa_mask is full), so the doorbell's spin lock can
 * never be re-entered on one thread.
 *
 * The handler is installed first and keeps the program's own: addresses
 * that are not the engine's go to whatever handler was there before (or
 * was installed after ours: registration puts ours back in front), with
 * that handler's mask; SIG_DFL still ends the process with SIGSEGV.
 * Under the preload shim the program's sigaction(SIGSEGV) changes that
 * chained action instead of displacing ours (uf__trap_sigaction).
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include "user.h"
#include "syscall.h"

/* The program's SIGSEGV disposition, behind a sequence count: the handler
 * copies it without a lock while the preload shim's sigaction() may change
 * it on another thread (an odd count: a change is being written). */
static struct sigaction next_action;
static atomic_uint next_seq;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

/* Faults that look already resolved: a few retries are a race with a
 * fill; more mean the fault is not ours (the program's own mprotect). */
static __thread uintptr_t last_addr __attribute__((tls_model("initial-exec")));
static __thread int same_count __attribute__((tls_model("initial-exec")));

void uf__signals_block(sigset_t *old)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

void uf__signals_restore(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

void uf__raise_sigbus(void *addr)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGBUS;
	si.si_code = BUS_ADRERR;
	si.si_addr = addr;
	syscall(SYS_rt_tgsigqueueinfo, uf__pid(), uf__sys_gettid(), SIGBUS, &si);
}

static int is_write(const ucontext_t *uc)
{
#if defined(__x86_64__)
	return (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#elif defined(__aarch64__)
	/* ESR in the fault record that follows the FP/SIMD record. */
	const struct _aarch64_ctx *h = (const void *)uc->uc_mcontext.__reserved;
	while (h->magic) {
		if (h->magic == ESR_MAGIC)
			return (((const struct esr_context *)h)->esr >> 6) & 1;
		h = (const void *)((const char *)h + h->size);
	}
	return 1;
#else
#error "the user engine needs to know write faults on this architecture"
#endif
}

/* ------------------------------------------------------------------------ */
/* Deciding                                                                 */

struct fault {
	struct uf__map *map;
	struct uf__ctx *ctx;
	uintptr_t addr, page;
	size_t pg;
	int kind;
};

/* After the slot is visible: does the fault still need an answer? */
static int still_needed(void *arg)
{
	struct fault *f = arg;
	uint8_t st = atomic_load(&f->map->pst[f->pg]);
	const struct uf__seg *s = uf__lookup(f->addr);
	if (!s || s->ctx != f->ctx)
		return 0;
	switch (f->kind) {
	case FK_WP:
		return (st & PS_WP) && (s->mode & UFFDIO_REGISTER_MODE_WP);
	case FK_MINOR:
		return !(st & (PS_MAPPED | PS_POISON)) && (s->mode & UFFDIO_REGISTER_MODE_MINOR);
	default:
		return !(st & (PS_MAPPED | PS_POISON)) && (s->mode & UFFDIO_REGISTER_MODE_MISSING);
	}
}

/* Show a hidden page the kernel would simply have mapped (nothing is
 * registered for it, or the mode does not ask for this fault). */
static void show_plain(struct uf__map *m, uintptr_t page, size_t pg)
{
	uint8_t st = uf__page_lock(m, pg);
	if (!(st & (PS_MAPPED | PS_POISON))) {
		size_t off = page - m->start;
		if (m->upstream && !uf__present(m, page) && uf__upstream_has(m, page))
			memcpy(m->alias + off, m->upstream + off, m->page);
		/* Not shown (out of memory): the next fault tries again. */
		if (uf__page_show(m, page, st | PS_MAPPED) == 0)
			st |= PS_MAPPED;
	}
	uf__page_unlock(m, pg, st);
}

static void clear_wp_plain(struct uf__map *m, uintptr_t page, size_t pg)
{
	uint8_t st = uf__page_lock(m, pg);
	/* Not writable yet (out of memory): the next fault tries again. */
	if ((st & PS_WP) && uf__page_setwp(m, page, st & (uint8_t)~PS_WP) == 0) {
		st &= (uint8_t)~PS_WP;
		atomic_fetch_sub(&m->wp_count, 1);
	}
	uf__page_unlock(m, pg, st);
}

/* 2 if SIGBUS is due instead (UFFD_FEATURE_SIGBUS), else 1. */
static int deliver(struct fault *f, int write, unsigned tok)
{
	struct uf__ctx *c = f->ctx;
	if (c->features & UFFD_FEATURE_SIGBUS) {
		uf__leave(tok);
		return 2;
	}
	struct uffd_msg msg;
	memset(&msg, 0, sizeof(msg));
	msg.event = UFFD_EVENT_PAGEFAULT;
	msg.arg.pagefault.flags = (write ? UFFD_PAGEFAULT_FLAG_WRITE : 0) |
				  (f->kind == FK_WP ? UFFD_PAGEFAULT_FLAG_WP : 0) |
				  (f->kind == FK_MINOR ? UFFD_PAGEFAULT_FLAG_MINOR : 0);
	/* The page's start: a huge page's on hugetlb, as the kernel reports. */
	msg.arg.pagefault.address = (c->features & UFFD_FEATURE_EXACT_ADDRESS) ? f->addr : f->page;
	if (c->features & UFFD_FEATURE_THREAD_ID)
		msg.arg.pagefault.feat.ptid = (__u32)uf__sys_gettid();
	/* Woken by ranges holding the message's address, as the kernel's
	 * waiters are (inside a huge page, EXACT_ADDRESS makes a difference). */
	uf__fault_wait(c, (uintptr_t)msg.arg.pagefault.address, f->kind, &msg, still_needed, f, tok);
	return 1;
}

/* 1: handled (return and retry the access); 2: SIGBUS is due at addr (the
 * caller delivers it); 0: not ours. */
static int handle(uintptr_t addr, int write)
{
	unsigned tok = uf__enter();
	const struct uf__seg *s = uf__lookup(addr);
	if (!s) {
		uf__leave(tok);
		return 0;
	}
	struct uf__map *m = s->map;
	if (atomic_load(&m->frozen)) {
		/* Being moved (remap.c), which waits for this reader section
		 * to end: out of it, wait for the move, then look again. */
		uf__leave(tok);
		uf__remap_wait();
		return 1;
	}
	if (!(m->prot & PROT_READ) || (write && !(m->prot & PROT_WRITE))) {
		uf__leave(tok);
		return 0;	/* the program's own protection */
	}
	struct fault f = { .map = m, .ctx = s->ctx, .addr = addr,
			   .page = addr & ~(uintptr_t)(m->page - 1) };
	f.pg = uf__pgidx(m, f.page);
	size_t ch = uf__chidx(m, addr);
	if (atomic_load(&m->cst[ch]) != CS_OPEN) {
		uf__chunk_open(m, ch);
		uf__leave(tok);
		return 1;
	}
	uint8_t st = atomic_load(&m->pst[f.pg]);
	if (st & PS_BUSY) {
		/* Being filled or changed right now: wait for it, then retry. */
		while (atomic_load(&m->pst[f.pg]) & PS_BUSY)
			sched_yield();
		uf__leave(tok);
		return 1;
	}
	if (st & PS_POISON) {
		uf__leave(tok);
		return 2;
	}
	if (!(st & PS_MAPPED)) {
		int present = uf__present(m, f.page) || uf__upstream_has(m, f.page);
		if (f.ctx && present && (s->mode & UFFDIO_REGISTER_MODE_MINOR))
			f.kind = FK_MINOR;
		else if (f.ctx && !present && (s->mode & UFFDIO_REGISTER_MODE_MISSING))
			f.kind = FK_MISSING;
		if (!f.kind) {
			show_plain(m, f.page, f.pg);
			uf__leave(tok);
			return 1;
		}
		return deliver(&f, write, tok);
	}
	if ((st & PS_WP) && write) {
		if (f.ctx && (s->mode & UFFDIO_REGISTER_MODE_WP) &&
		    !(f.ctx->features & UFFD_FEATURE_WP_ASYNC)) {
			f.kind = FK_WP;
			return deliver(&f, write, tok);
		}
		/* WP_ASYNC, or no longer registered: the write goes through and
		 * clears the mark, as the kernel resolves it itself. */
		clear_wp_plain(m, f.page, f.pg);
		uf__leave(tok);
		return 1;
	}
	uf__leave(tok);
	/* The page should be accessible: a fill raced with this fault, or the
	 * fault is not ours after all. */
	if (addr == last_addr && ++same_count > 3) {
		same_count = 0;
		return 0;
	}
	if (addr != last_addr) {
		last_addr = addr;
		same_count = 0;
	}
	return 1;
}

/* ------------------------------------------------------------------------ */
/* The handler and the chain                                                */

/* Writers hold install_lock. */
static void set_next(const struct sigaction *a)
{
	atomic_fetch_add(&next_seq, 1);
	atomic_thread_fence(memory_order_seq_cst);
	next_action = *a;
	atomic_thread_fence(memory_order_seq_cst);
	atomic_fetch_add(&next_seq, 1);
}

/* Signal-safe: a consistent copy of next_action. */
static void get_next(struct sigaction *out)
{
	for (;;) {
		unsigned s = atomic_load(&next_seq);
		if (s & 1) {
			sched_yield();
			continue;
		}
		atomic_thread_fence(memory_order_seq_cst);
		*out = next_action;
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load(&next_seq) == s)
			return;
	}
}

static void chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction next;
	get_next(&next);
	if (next.sa_flags & SA_SIGINFO) {
		if (next.sa_sigaction) {
			sigset_t m;
			sigorset(&m, &((ucontext_t *)uc)->uc_sigmask, &next.sa_mask);
			if (!(next.sa_flags & SA_NODEFER))
				sigaddset(&m, sig);
			sigset_t mine;
			pthread_sigmask(SIG_SETMASK, &m, &mine);
			next.sa_sigaction(sig, si, uc);
			pthread_sigmask(SIG_SETMASK, &mine, NULL);
			return;
		}
	} else if (next.sa_handler != SIG_DFL && next.sa_handler != SIG_IGN) {
		sigset_t m, mine;
		sigorset(&m, &((ucontext_t *)uc)->uc_sigmask, &next.sa_mask);
		if (!(next.sa_flags & SA_NODEFER))
			sigaddset(&m, sig);
		pthread_sigmask(SIG_SETMASK, &m, &mine);
		next.sa_handler(sig);
		pthread_sigmask(SIG_SETMASK, &mine, NULL);
		return;
	}
	/* Default (or ignored, which the kernel does not allow for a fault):
	 * end the process with this signal, as it would have without us. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	if (si->si_code <= 0)
		syscall(SYS_tgkill, uf__pid(), uf__sys_gettid(), sig);
	/* A real fault repeats on return and now kills. */
}

/* Deliver the SIGBUS of a fault at addr as the kernel would: by running the
 * program's handler from here, with the mask and stack its own delivery
 * would give it, which saves a second signal (its system calls, its frame
 * and its sigreturn: ~3 us, as much as the kernel's whole in-thread
 * fault); by raising the signal where that would differ (default or
 * ignored action, SA_RESETHAND, a different stack).  The kernel forces a
 * fault's SIGBUS through a blocked mask and leaves it unblocked, so it is
 * taken out of the mask restored at return either way. */
static void sigbus_due(void *addr, ucontext_t *uc)
{
	sigdelset(&uc->uc_sigmask, SIGBUS);
	struct sigaction act;
	if (sigaction(SIGBUS, NULL, &act) < 0)
		goto raise;
	if (act.sa_flags & SA_SIGINFO) {
		if (!act.sa_sigaction)
			goto raise;
	} else if (act.sa_handler == SIG_DFL || act.sa_handler == SIG_IGN) {
		goto raise;
	}
	if (act.sa_flags & SA_RESETHAND)
		goto raise;
	/* This handler runs on the alternate stack whenever one is set up
	 * (SA_ONSTACK); the program's would, delivered after ours returns,
	 * only with SA_ONSTACK or if the fault was already on that stack. */
	int alt = !(uc->uc_stack.ss_flags & SS_DISABLE) && uc->uc_stack.ss_size > 0;
	if (alt && !(act.sa_flags & SA_ONSTACK) && !(uc->uc_stack.ss_flags & SS_ONSTACK))
		goto raise;
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGBUS;
	si.si_code = BUS_ADRERR;
	si.si_addr = addr;
	sigset_t m;
	sigorset(&m, &uc->uc_sigmask, &act.sa_mask);
	if (!(act.sa_flags & SA_NODEFER))
		sigaddset(&m, SIGBUS);
	/* No need to block everything again afterwards: only our return is
	 * left, and it restores uc's mask. */
	pthread_sigmask(SIG_SETMASK, &m, NULL);
	if (act.sa_flags & SA_SIGINFO)
		act.sa_sigaction(SIGBUS, &si, uc);
	else
		act.sa_handler(SIGBUS);
	return;
raise:
	uf__raise_sigbus(addr);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	int handled = 0;
	/* Only faults the kernel raised; a kill(SIGSEGV) is the program's. */
	if (si->si_code > 0)
		handled = handle((uintptr_t)si->si_addr, is_write(uc));
	if (handled == 2) {
		sigbus_due(si->si_addr, uc);
	} else if (!handled) {
		chain(sig, si, uc);
	}
	errno = saved;
}

int uf__trap_install(void)
{
	pthread_mutex_lock(&install_lock);
	struct sigaction cur;
	int r = 0;
	if (sigaction(SIGSEGV, NULL, &cur) < 0) {
		r = -errno;
	} else if (!((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_segv)) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_segv;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
		sigfillset(&sa.sa_mask);
		set_next(&cur);
		if (sigaction(SIGSEGV, &sa, NULL) < 0)
			r = -errno;
	}
	pthread_mutex_unlock(&install_lock);
	return r;
}

int uf__trap_sigaction(const struct sigaction *act, struct sigaction *old)
{
	pthread_mutex_lock(&install_lock);
	struct sigaction cur;
	int r = 0;
	if (sigaction(SIGSEGV, NULL, &cur) < 0) {
		r = -errno;
	} else if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_segv) {
		/* Ours is in front: the program's action is the one chained to. */
		if (old)
			get_next(old);
		if (act)
			set_next(act);
	} else if (sigaction(SIGSEGV, act, old) < 0) {
		r = -errno;
	}
	pthread_mutex_unlock(&install_lock);
	return r;
}
