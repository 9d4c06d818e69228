/* SPDX-License-Identifier: MIT */
/*
 * queue.c - faulting threads waiting for their page, and waking them.
 *
 * Every waiting fault owns a slot of one process-wide array.  A slot's
 * state word carries a generation in its high bits, so a compare-and-swap
 * made on an old view of a slot fails once the slot is reused.  The word is
 * also the futex the faulting thread sleeps on.
 *
 *   FREE ─claim─▶ CLAIMED ─publish─▶ PENDING ─read─▶ READ ─wake─▶ WOKEN ─▶ FREE
 *                                       └────────────wake───────────┘
 *
 * A fault woken while PENDING disappears from the queue, as in the kernel.
 *
 * No lost wake-up: a waker first changes the page (fill, uncover, clear
 * protection) and then scans the slots; a faulting thread first publishes
 * its slot and then looks at the page again.  Both orders are sequentially
 * consistent, so either the waker sees the slot or the faulting thread sees
 * the changed page and withdraws (it never sleeps on a resolved page).
 *
 * A faulting thread that goes to sleep on its slot first sets SLEEPER in the
 * word (every transition keeps that bit), so a waker makes the futex system
 * call only when someone sleeps there.
 *
 * The doorbell: while a context has something to read, one datagram waits
 * in the application's end of its socket, so poll/epoll/select on the
 * descriptor report POLLIN exactly then.  Only a holder of an application
 * descriptor can take the datagram back; a faulting thread that withdraws
 * its fault marks the bell stale instead and the next read or ioctl fixes it.
 *
 * Idle readers: a uf_handler() thread of this process waiting for work
 * sleeps on the context's idle_seq (a futex) instead of polling the socket.
 * While one sleeps there, something new to read wakes it with a futex call
 * instead of ringing the doorbell: a datagram's send, the poll's wake-up and
 * the recv that takes the datagram back cost ~4 us of a ~19 us fault.  The
 * message is then pending without POLLIN for the moment the reader takes to
 * read it (the kernel would wake a concurrent poll too, which would then
 * find the message taken): the doorbell is rung whenever no idle reader is
 * there, and a reader that stops sleeping for good brings the bell in line.
 * No lost wake-up: a reader counts itself in idle_n, then loads idle_seq,
 * then npending; whoever adds to npending then loads idle_n and, if it is
 * not 0, adds to idle_seq and wakes.  All sequentially consistent: either
 * the waker sees the reader (and its idle_seq change fails the reader's
 * futex wait) or the reader sees npending and does not sleep.
 *
 * Before it sleeps, an idle reader spins a while (counted in spin_n, which
 * spares whoever adds to npending even the futex call): on another CPU it
 * then takes the next fault at once, where a sleeping one costs a wake-up
 * across CPUs (~45 us here).  It yields as it spins, for the faulting
 * thread that may need its CPU.  The same argument covers the spin: a
 * spinner stops counting in spin_n only after its last look at npending,
 * and then counts in idle_n and looks again before it sleeps.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "user.h"

#define UU_SLOTS	4096
#define STATE_MASK	0xffu		/* the state byte: state and SLEEPER */
#define STATE_BITS	0x3fu
#define SLEEPER		0x40u		/* the faulting thread sleeps in futex_wait */
#define GEN_ONE		0x100u

struct slot {
	atomic_uint word;		/* generation << 8 | enum uf__slot_state */
	_Atomic(struct uf__ctx *) ctx;
	atomic_uintptr_t page;
	atomic_int kind;
	atomic_ullong seq;
	/* The message, written while CLAIMED, read while PENDING.  A reader
	 * copies it before claiming the slot, and the claim (a CAS on word)
	 * throws the copy away if the slot was reused meanwhile: a seqlock.
	 * So the words are atomics (relaxed), or that copy racing with a new
	 * fault's write would be a data race (ThreadSanitizer saw it). */
	_Atomic uint64_t msg[sizeof(struct uffd_msg) / 8];
};

_Static_assert(sizeof(struct uffd_msg) % 8 == 0, "uffd_msg is whole words");

static void msg_put(struct slot *s, const struct uffd_msg *m)
{
	uint64_t w[sizeof(s->msg) / sizeof(s->msg[0])];
	memcpy(w, m, sizeof(w));
	for (size_t i = 0; i < UF_ARRAY_SIZE(w); i++)
		atomic_store_explicit(&s->msg[i], w[i], memory_order_relaxed);
}

static void msg_get(struct slot *s, struct uffd_msg *m)
{
	uint64_t w[sizeof(s->msg) / sizeof(s->msg[0])];
	for (size_t i = 0; i < UF_ARRAY_SIZE(w); i++)
		w[i] = atomic_load_explicit(&s->msg[i], memory_order_relaxed);
	memcpy(m, w, sizeof(w));
}

static struct slot slots[UU_SLOTS];
static atomic_uint slots_hw;		/* every slot in use is below this */

static inline unsigned st(unsigned w) { return w & STATE_BITS; }

/* Every sleep of the engine (a faulting thread, a thread whose event waits
 * to be read, uf_close() waiting for the release) is bounded: its caller
 * looks at its word again after at most 100 ms.  A wake whose futex call
 * failed then costs that long instead of a hang (tests/inject.c release
 * fails them; the kernel's FUTEX_WAKE has no error for a valid word, but a
 * hang is the one outcome the engine does not allow).  Async-signal-safe. */
void uf__futex_wait(atomic_uint *w, unsigned val)
{
	struct timespec limit = { 0, 100 * 1000 * 1000 };
	syscall(SYS_futex, (unsigned *)w, FUTEX_WAIT_PRIVATE, val, &limit, NULL, 0);
}

static void futex_wake_all(atomic_uint *w)
{
	syscall(SYS_futex, (unsigned *)w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* The waits below yield as they spin, so that a partner on the same CPU
 * (the handler, or the faulting thread) runs at once.  On a CPU that other
 * programs keep busy, a yield can hand the CPU to one of them for its
 * whole time slice (milliseconds): with two busy loops beside it, 1 GiB
 * faulted in random order took 219 s (the kernel engine: 8 s; now 14 s),
 * and the median fault waited 4 ms.  A yield that comes back that
 * late says so, and for a while after it the waits sleep on their futex
 * at once, as the kernel's do: a woken thread is run before a busy loop. */
#define CONTENDED_NS		200000L		/* a yield this long: someone else ran */
#define CONTENDED_HOLD_NS	50000000L	/* then sleep at once for 50 ms */

static atomic_long contended_until;

/* Async-signal-safe. */
static int yields_pay(void)
{
	return now_ns() >= atomic_load_explicit(&contended_until, memory_order_relaxed);
}

/* sched_yield(), noting a CPU others keep busy: 1 if it found one, and
 * the caller should stop spinning (async-signal-safe). */
static int yield_timed(void)
{
	long t0 = now_ns();
	sched_yield();
	long t1 = now_ns();
	if (t1 - t0 <= CONTENDED_NS)
		return 0;
	atomic_store_explicit(&contended_until, t1 + CONTENDED_HOLD_NS, memory_order_relaxed);
	return 1;
}

/* Signal-safe: a free slot, marked CLAIMED. */
static struct slot *claim(void)
{
	for (;;) {
		for (unsigned i = 0; i < UU_SLOTS; i++) {
			unsigned w = atomic_load(&slots[i].word);
			if (st(w) != SLOT_FREE)
				continue;
			unsigned nw = (w & ~STATE_MASK) + GEN_ONE + SLOT_CLAIMED;
			if (!atomic_compare_exchange_strong(&slots[i].word, &w, nw))
				continue;
			unsigned hw = atomic_load(&slots_hw);
			while (hw < i + 1 && !atomic_compare_exchange_weak(&slots_hw, &hw, i + 1))
				;
			return &slots[i];
		}
		sched_yield();	/* 4096 threads waiting at once: wait for one to finish */
	}
}

static void set_state(struct slot *s, unsigned w, unsigned state)
{
	atomic_store(&s->word, (w & ~STATE_MASK) | state);
}

/* What the caller of bell_sync_locked() must do after unlocking. */
enum { BELL_NONE, BELL_RING, BELL_KICK, BELL_SENDING };

/* Signal-safe (the doorbell lock is only ever held with signals blocked).
 * Under the lock: bring the doorbell in line with npending.  BELL_RING if
 * the caller must send the datagram, after unlocking: the send wakes the
 * handler, which may preempt the sender on its CPU at once and must not then
 * find the lock held (it would spin and yield back: two context switches
 * more per fault).  Between the unlock and the send, bell is 1 and sending
 * tells so.  BELL_KICK: an idle reader is asleep, wake it instead.
 * BELL_SENDING (only with an fd): the datagram to take back is still on its
 * way; unlock, let its sender finish, and ask again. */
static int bell_sync_locked(struct uf__ctx *c, int fd)
{
	int want = atomic_load(&c->npending) > 0;
	if (want && !c->bell) {
		if (atomic_load(&c->spin_n) > 0)
			return BELL_NONE;	/* it will see npending itself */
		if (atomic_load(&c->idle_n) > 0)
			return BELL_KICK;
		c->bell = 1;
		c->sending = 1;
		return BELL_RING;
	}
	if (!want && c->bell) {
		if (fd < 0) {
			atomic_store(&c->bell_stale, 1);
			return 0;
		}
		/* A datagram still on its way is not there yet: its sender is
		 * between two steps, so wait for it (uf__bell_sync), or a
		 * reader now busy with what it took would leave POLLIN on with
		 * nothing to read. */
		if (c->sending)
			return BELL_SENDING;
		char b;
		if (recv(fd, &b, 1, MSG_DONTWAIT) == 1) {
			c->bell = 0;
			atomic_store(&c->bell_stale, 0);
		} else {
			atomic_store(&c->bell_stale, 1);
		}
	} else if (c->bell == want) {
		atomic_store(&c->bell_stale, 0);	/* in line: nothing left to take */
	}
	return BELL_NONE;
}

/* Signal-safe, with signals blocked.  A holder only ever makes one
 * non-blocking socket call, which wakes no one; a waiter that spins for long
 * yields the CPU all the same, in case the holder was preempted. */
static void bell_lock(struct uf__ctx *c)
{
	for (int n = 0; atomic_flag_test_and_set(&c->bell_lock); n++)
		if (n > 50)
			sched_yield();
		else
			cpu_relax();
}

/* Send the datagram bell_sync_locked() asked for (signal-safe). */
static void bell_ring(struct uf__ctx *c)
{
	char b = 0;
	/* EPIPE/ECONNRESET after release: nobody can read anyway.  Out of
	 * buffers: try again, or the fault is never seen and its thread waits
	 * for ever (tests/inject.c fault_path). */
	ssize_t n;
	while ((n = send(c->efd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 &&
	       (errno == ENOBUFS || errno == ENOMEM || errno == EINTR))
		sched_yield();
	int sent = n == 1;
	bell_lock(c);
	c->sending = 0;
	if (!sent)
		c->bell = 0;	/* nothing was queued, nothing can have been taken */
	atomic_flag_clear(&c->bell_lock);
}

/* Wake one idle reader (signal-safe). */
static void idle_kick(struct uf__ctx *c, int n)
{
	atomic_fetch_add(&c->idle_seq, 1);
	syscall(SYS_futex, (unsigned *)&c->idle_seq, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* Carry out bell_sync_locked()'s answer, the lock released. */
static void bell_act(struct uf__ctx *c, int what)
{
	if (what == BELL_RING)
		bell_ring(c);
	else if (what == BELL_KICK)
		idle_kick(c, 1);
}

/* How long a reader waits for a datagram on its way before it leaves the
 * bell stale for the next read or ioctl: its sender only has one
 * non-blocking send(2) left to make, so this is a preempted sender's wait
 * for a CPU, and the bound only keeps a stopped one (a debugger) from
 * stopping the reader too. */
#define SENDING_WAIT_NS	(100 * 1000 * 1000L)

void uf__bell_sync(struct uf__ctx *c, int fd)
{
	long start = 0;
	int what;
	for (;;) {
		bell_lock(c);
		what = bell_sync_locked(c, fd);
		if (what != BELL_SENDING)
			break;
		if (!start) {
			start = now_ns();
		} else if (now_ns() - start > SENDING_WAIT_NS) {
			atomic_store(&c->bell_stale, 1);
			what = BELL_NONE;
			break;
		}
		atomic_flag_clear(&c->bell_lock);
		sched_yield();
	}
	atomic_flag_clear(&c->bell_lock);
	bell_act(c, what);
}

#define IDLE_SPIN_NS	20000L

void uf__idle_wait(struct uf__ctx *c, atomic_int *stop)
{
	atomic_fetch_add(&c->spin_n, 1);
	long start = now_ns();
	int seen = 0;
	/* A yield each time round: a faulting thread on this CPU gets it at
	 * once, and on a CPU of its own this reader sees the next fault
	 * within one system call (0.2 us).  Not on a busy CPU (above). */
	int spin = yields_pay();
	for (int n = 1; spin && !atomic_load(stop); n++) {
		if (atomic_load(&c->npending)) {
			seen = 1;
			break;
		}
		if ((n & 7) == 0 && now_ns() - start > IDLE_SPIN_NS)
			break;
		if (yield_timed())
			break;
	}
	atomic_fetch_sub(&c->spin_n, 1);
	if (seen)
		return;
	atomic_fetch_add(&c->idle_n, 1);
	unsigned seq = atomic_load(&c->idle_seq);
	if (!atomic_load(stop) && atomic_load(&c->npending) == 0)
		uf__futex_wait(&c->idle_seq, seq);
	atomic_fetch_sub(&c->idle_n, 1);
}

void uf__idle_wake_all(struct uf__ctx *c)
{
	idle_kick(c, INT_MAX);
}

void uf__idle_leave(struct uf__ctx *c, int fd)
{
	/* Messages handed to idle readers, this one among them, may not be
	 * read now: the doorbell (or another idle reader) takes over. */
	uf__bell_sync_app(c, fd);
}

/* Normal-context variant: no signal handler may run on this thread while it
 * holds the doorbell lock. */
void uf__bell_sync_app(struct uf__ctx *c, int fd)
{
	sigset_t old;
	uf__signals_block(&old);
	uf__bell_sync(c, fd);
	uf__signals_restore(&old);
}

/* For a holder of the descriptor in another process (serve.c): the engine
 * thread, signals blocked, cannot take the doorbell back itself, so it
 * hands that over: 1 means "take one datagram off the descriptor", and the
 * bell counts as gone from now on.  If it rings again before the monitor
 * takes the old one, two wait a moment, and POLLIN is right either way. */
int uf__bell_handover(struct uf__ctx *c)
{
	/* A datagram on its way must be queued before the monitor is told to
	 * take it: wait for its sender, a faulting thread of this process
	 * between two steps of a signal handler that does not block (it may
	 * be preempted: yield). */
	for (;;) {
		bell_lock(c);
		if (!c->sending)
			break;
		atomic_flag_clear(&c->bell_lock);
		sched_yield();
	}
	int take = 0, what = BELL_NONE;
	if (atomic_load(&c->npending) == 0 && c->bell) {
		c->bell = 0;
		take = 1;
		atomic_store(&c->bell_stale, 0);
	} else {
		what = bell_sync_locked(c, -1);
		atomic_store(&c->bell_stale, 0);
	}
	atomic_flag_clear(&c->bell_lock);
	bell_act(c, what);
	return take;
}

/* Wait for the answer.  Give the CPU away once at once: the doorbell has
 * just woken the handler, and if it was woken on this CPU (both pinned here,
 * or the scheduler's wake-affine choice) nothing can answer until this
 * thread lets it run; when no one else waits for this CPU the yield is a
 * system call of 0.5 us.  Then spin briefly (a handler on another CPU
 * usually answers within a few microseconds and a cross-CPU futex wake-up
 * costs ~50 us here), yield now and then (a handler preempted on this CPU
 * needs it back), and only then sleep. */
#define SPIN_NS		3000L
#define YIELD_NS	30000L

static unsigned wait_woken(struct slot *s)
{
	unsigned w = atomic_load(&s->word);
	/* Unless the handler already answered: a handler woken on this CPU
	 * may have preempted this thread as soon as it was woken. */
	if (st(w) == SLOT_WOKEN)
		return w;
	/* On a CPU others keep busy, sleep at once (yield_timed).  Looked at
	 * once, and then only as each yield returns: the spin itself reads
	 * the clock only every 64 rounds. */
	int spin = yields_pay() && !yield_timed();
	long start = now_ns(), t;
	int n = 0;
	while (spin) {
		w = atomic_load(&s->word);
		if (st(w) == SLOT_WOKEN)
			return w;
		if ((++n & 63) == 0) {
			t = now_ns() - start;
			if (t > YIELD_NS || (t > SPIN_NS && yield_timed()))
				break;
		}
		cpu_relax();
	}
	for (;;) {
		w = atomic_load(&s->word);
		if (st(w) == SLOT_WOKEN)
			return w;
		/* Tell wakers to call futex_wake; the CAS fails if the state
		 * moved meanwhile, and the loop looks again. */
		if (!(w & SLEEPER)) {
			if (!atomic_compare_exchange_strong(&s->word, &w, w | SLEEPER))
				continue;
			w |= SLEEPER;
		}
		uf__futex_wait(&s->word, w);
	}
}

void uf__fault_wait(struct uf__ctx *c, uintptr_t page, int kind, const struct uffd_msg *msg,
		   int (*still_needed)(void *), void *arg, unsigned token)
{
	struct slot *s = claim();
	unsigned w = atomic_load(&s->word);
	atomic_store(&s->ctx, c);
	atomic_store(&s->page, page);
	atomic_store(&s->kind, kind);
	atomic_store(&s->seq, atomic_fetch_add(&c->seq, 1));
	msg_put(s, msg);
	/* Counted before it can be read, so a reader never takes it below 0. */
	atomic_fetch_add(&c->npending, 1);
	set_state(s, w, SLOT_PENDING);

	/* Asked before the doorbell rings, as the kernel wakes readers only
	 * once it knows the thread must wait: a handler woken first could
	 * fill the page with DONTWAKE and the thread would go on unwoken. */
	if (!still_needed(arg)) {
		/* Resolved meanwhile: take the fault back in whatever state it
		 * reached; a reader may already have delivered it (a handler
		 * then sees EEXIST, as it can with the kernel). */
		for (;;) {
			unsigned cur = atomic_load(&s->word);
			unsigned state = st(cur);
			if (atomic_compare_exchange_strong(&s->word, &cur,
							   (cur & ~STATE_MASK) | SLOT_FREE)) {
				if (state == SLOT_PENDING &&
				    atomic_fetch_sub(&c->npending, 1) == 1)
					uf__bell_sync(c, -1);
				uf__leave(token);
				return;
			}
		}
	}
	uf__bell_sync(c, -1);
	/* From here on only the slot is touched: the context may go. */
	uf__leave(token);
	w = wait_woken(s);
	set_state(s, w, SLOT_FREE);
}

size_t uf__take_faults(struct uf__ctx *c, struct uffd_msg *out, size_t n)
{
	size_t k = 0;
	unsigned long long floor = 0;	/* seqs below this were taken or skipped */
	while (k < n) {
		unsigned hw = atomic_load(&slots_hw);
		struct slot *best = NULL;
		unsigned best_w = 0;
		unsigned long long best_seq = ULLONG_MAX;
		for (unsigned i = 0; i < hw; i++) {
			struct slot *s = &slots[i];
			unsigned w = atomic_load(&s->word);
			if (st(w) != SLOT_PENDING || atomic_load(&s->ctx) != c)
				continue;
			unsigned long long q = atomic_load(&s->seq);
			if (q >= floor && q < best_seq) {
				best = s;
				best_w = w;
				best_seq = q;
			}
		}
		if (!best)
			break;
		struct uffd_msg m;
		msg_get(best, &m);
		unsigned exp = best_w;
		int took;
		/* Its thread may set SLEEPER meanwhile: that bit stays. */
		while (!(took = atomic_compare_exchange_strong(&best->word, &exp,
				(exp & ~STATE_MASK) | (exp & SLEEPER) | SLOT_READ)))
			if ((exp & ~STATE_MASK) != (best_w & ~STATE_MASK) || st(exp) != SLOT_PENDING)
				break;
		if (took) {
			out[k++] = m;
			atomic_fetch_sub(&c->npending, 1);
		}
		floor = best_seq + 1;
	}
	return k;
}

/* Wakes held back on this thread (the engine thread serving another
 * process's request, serve.c), to be done once the reply is sent.  Only the
 * flag is per thread (initial-exec: read on fault paths, maybe in a signal
 * handler); the queue is the engine thread's alone, the one thread that
 * turns deferring on. */
#define DEFER_MAX 16
struct deferred_wake {
	struct uf__ctx *c;
	uintptr_t start, len;
	int kinds;
	unsigned long long before;	/* c->seq when it was due */
};
static __thread int defer_on __attribute__((tls_model("initial-exec")));
static unsigned defer_n;
static struct deferred_wake defer_q[DEFER_MAX];

static void wake_range(struct uf__ctx *c, int fd, uintptr_t start, uintptr_t len, int kinds,
		       unsigned long long before);

void uf__wake_defer(int on)
{
	if (on) {
		defer_on = 1;
		defer_n = 0;
		return;
	}
	defer_on = 0;
	for (unsigned i = 0; i < defer_n; i++) {
		struct deferred_wake *d = &defer_q[i];
		wake_range(d->c, -1, d->start, d->len, d->kinds, d->before);
	}
	defer_n = 0;
}

void uf__wake(struct uf__ctx *c, int fd, uintptr_t start, uintptr_t len, int kinds)
{
	if (defer_on && defer_n < DEFER_MAX) {
		/* Done late, it must still wake only the faults there now, as
		 * the kernel's wake inside the call does: the monitor has its
		 * answer first and may cause a new fault on the same page
		 * meanwhile, which a late wake would take off the queue, unread
		 * (POLLIN, then EAGAIN, then the fault again).  A fault queued
		 * from now on draws a seq at or above this and looks at the
		 * page, already changed, after that (uf__fault_wait). */
		defer_q[defer_n++] = (struct deferred_wake){ c, start, len, kinds,
							     atomic_load(&c->seq) };
		return;
	}
	wake_range(c, fd, start, len, kinds, ULLONG_MAX);
}

/* Wake c's faults on [start, start + len) of a kind in kinds and queued
 * with a seq below `before`. */
static void wake_range(struct uf__ctx *c, int fd, uintptr_t start, uintptr_t len, int kinds,
		       unsigned long long before)
{
	uintptr_t end = start + len;
	if (end < start)
		end = UINTPTR_MAX;
	int dequeued = 0;
	unsigned hw = atomic_load(&slots_hw);
	for (unsigned i = 0; i < hw; i++) {
		struct slot *s = &slots[i];
		unsigned w = atomic_load(&s->word), gen = w & ~STATE_MASK;
		for (;;) {
			unsigned state = st(w);
			if ((w & ~STATE_MASK) != gen)
				break;		/* another fault now: not this wake's */
			if (state != SLOT_PENDING && state != SLOT_READ)
				break;
			if (atomic_load(&s->ctx) != c || !(atomic_load(&s->kind) & kinds))
				break;
			uintptr_t p = atomic_load(&s->page);
			if (p < start || p >= end)
				break;
			/* Read after the state: this generation's (or a later
			 * one's, and then the CAS below fails). */
			if (atomic_load(&s->seq) >= before)
				break;
			/* A failed CAS reloads w: the fault was read, or its
			 * thread went to sleep, meanwhile; look again. */
			if (!atomic_compare_exchange_strong(&s->word, &w,
							   (w & ~STATE_MASK) | SLOT_WOKEN))
				continue;
			if (state == SLOT_PENDING) {
				atomic_fetch_sub(&c->npending, 1);
				dequeued = 1;
			}
			if (w & SLEEPER)
				futex_wake_all(&s->word);
			break;
		}
	}
	if (dequeued || atomic_load(&c->bell_stale))
		uf__bell_sync_app(c, fd);
}

void uf__fault_counts(struct uf__ctx *c, unsigned long *pending, unsigned long *total)
{
	unsigned long p = 0, t = 0;
	unsigned hw = atomic_load(&slots_hw);
	for (unsigned i = 0; i < hw; i++) {
		unsigned state = st(atomic_load(&slots[i].word));
		if ((state != SLOT_PENDING && state != SLOT_READ) || atomic_load(&slots[i].ctx) != c)
			continue;
		p += state == SLOT_PENDING;
		t++;
	}
	*pending = p;
	*total = t;
}
