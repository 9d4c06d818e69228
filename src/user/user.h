/* SPDX-License-Identifier: MIT */
/*
 * user.h - the user engine's parts and what they share.
 *
 * The user engine is userfaultfd without the kernel's userfaultfd.  How a
 * fault travels (see docs/ARCHITECTURE.md for the picture):
 *
 *   a thread touches a hidden page ──SIGSEGV──▶ trap.c: find the segment
 *   (space.c), decide what kind of fault it is, take a waiter slot
 *   (queue.c), ring the doorbell, wait ──▶ the handler's uf_read() takes the
 *   message (context.c) ──▶ its UFFDIO_COPY (fill.c) writes the page through
 *   the engine's alias view, uncovers it in the application's view, and
 *   wakes the slot ──▶ the thread returns from the signal and retries.
 *
 * Files:
 *   context.c   the context: descriptor, UFFDIO_API, read, close, release
 *   queue.c     waiter slots, the doorbell, waking
 *   space.c     the memory the engine manages: maps, segments, page states
 *   memtype.c   what differs per memory type (the ops table)
 *   register.c  UFFDIO_REGISTER and UFFDIO_UNREGISTER
 *   fill.c      COPY, ZEROPAGE, CONTINUE, POISON, MOVE, WAKE, WRITEPROTECT
 *   events.c    REMOVE, UNMAP, REMAP events and the calls that make them
 *   remap.c     moving memory for uf_mremap()
 *   fork.c      fork: the child's memory and contexts, the FORK event
 *   trap.c      the SIGSEGV handler
 *   serve.c     serving the descriptor to other processes (the target's side)
 *   remote.c    using a descriptor another process opened (the monitor's side)
 *   wire.h      what those two say to each other
 *
 * Everything marked "signal-safe" below may be called from the SIGSEGV
 * handler: it uses no locks a faulting thread could hold, no malloc and
 * no stdio.
 */
#ifndef UF_USER_H
#define UF_USER_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include "internal.h"

extern const struct uf__engine uf__user_engine;

/* uf_open() for the user engine.  why: one line when it cannot. */
int uf__user_open(int flags, char *why, size_t why_len);

/* Features this build implements (what UFFDIO_API reports). */
#define UU_FEATURES (UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_MISSING_SHMEM |	\
		     UFFD_FEATURE_MISSING_HUGETLBFS | UFFD_FEATURE_MINOR_HUGETLBFS |	\
		     UFFD_FEATURE_SIGBUS | UFFD_FEATURE_THREAD_ID |			\
		     UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_EXACT_ADDRESS |		\
		     UFFD_FEATURE_WP_HUGETLBFS_SHMEM | UFFD_FEATURE_WP_UNPOPULATED |	\
		     UFFD_FEATURE_POISON | UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_MOVE |	\
		     UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP |		\
		     UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_FORK)

/* ------------------------------------------------------------------------ */
/* Contexts (context.c)                                                      */

#define UU_HELD_MAX	8

struct uf__ctx {
	atomic_int refs;
	int efd;			/* the engine's end of the socket pair */
	dev_t dev;			/* identity of the application's end */
	ino_t ino;
	int flags;			/* O_CLOEXEC, O_NONBLOCK as opened (a forked
					 * child's descriptor gets them too) */
	atomic_int api;			/* 0 before UFFDIO_API, 1 while it runs, 2 done */
	__u64 features;			/* negotiated; valid once api == 2 */
	atomic_int released;
	atomic_uint release_done;	/* futex: 1 once release() has finished */

	/* Messages waiting to be read: fault slots (queue.c) and events. */
	atomic_uint npending;
	atomic_ullong seq;		/* fault order */
	atomic_flag bell_lock;
	atomic_int bell;		/* a doorbell datagram is queued, or on its way
					 * (written under bell_lock, read without it) */
	int sending;			/* on its way: rung, not sent yet */
	atomic_int bell_stale;		/* npending fell to 0 where it could not retract */
	/* This process's readers waiting without the doorbell: spinning
	 * (spin_n), or asleep on idle_seq, a futex (idle_n); uf_handler()
	 * threads (queue.c, "idle readers"). */
	atomic_int spin_n;
	atomic_int idle_n;
	atomic_uint idle_seq;

	/* Events (events.c): queued by uf_madvise()/uf_munmap() callers,
	 * who wait until they are read; fills fail with EAGAIN meanwhile. */
	pthread_mutex_t ev_lock;
	struct uf__event *ev_head, *ev_tail;
	atomic_int mmap_changing;

	pthread_mutex_t lock;		/* registration and release */
	_Atomic(struct uf__ctx *) next;	/* the registry's list */

	/* Datagrams kept queued on efd so the descriptor never looks
	 * writable (serve.c; the engine thread's alone after open). */
	unsigned held_n;
	uint32_t held_len[UU_HELD_MAX];
	uint32_t held_need;
};

/* uf__ctx_get(fd) (declared in internal.h, for the handler too): the
 * context behind an application descriptor (found by the socket's
 * identity, so dup'd descriptors work), with a reference, released with
 * uf__ctx_put(); NULL if fd is not one of ours.  Signal-safe (a fill from a
 * SIGBUS handler needs it). */
/* Is fd a user-engine descriptor?  (For descriptors uf_open() did not
 * hand out, such as dups.) */
int uf__is_user_fd(int fd);

/* A context on a new socket pair, not listed anywhere yet (a forked
 * child's, made before the fork, fork.c); *app: the program's end.  NULL
 * when out of resources. */
struct uf__ctx *uf__ctx_new_unlisted(int flags, int *app);
/* List such a context (in the child): found by its descriptor, served by the
 * engine thread (started if need be).  0 or -errno. */
int uf__ctx_adopt(struct uf__ctx *c);
/* Free a context never listed, closing its engine end. */
void uf__ctx_discard(struct uf__ctx *c);

/* Copy from / to the caller's memory without trusting it: -EFAULT, not
 * SIGSEGV, for a bad pointer (the kernel's copy_from_user/copy_to_user). */
int uf__copy_in(void *dst, const void *src, size_t len);
/* This process's id, cached (signal-safe). */
pid_t uf__pid(void);
int uf__copy_out(void *dst, const void *src, size_t len);
/* Run one ioctl on c (arg in this process's memory); fd: an application
 * descriptor for the doorbell, or -1. */
int uf__dispatch(struct uf__ctx *c, int fd, unsigned long request, void *arg);
/* Take up to n messages without waiting: faults first, then events.  A
 * FORK event's descriptor is made here (fork.c): for this process's program
 * (remote 0: with the context's flags, listed as a user-engine descriptor),
 * or, remote 1, a close-on-exec copy for serve.c to pass on and close.  If it
 * cannot be made, the event stays queued, taking stops there and, when
 * nothing was taken, *err is set (else 0). */
size_t uf__take_msgs(struct uf__ctx *c, struct uffd_msg *out, size_t n, int remote, int *err);

/* ------------------------------------------------------------------------ */
/* Other processes (serve.c: the target's side; remote.c: the monitor's)     */

/* At open: fingerprint the application end app and make it unwritable. */
int uf__serve_prepare(struct uf__ctx *c, int app);
/* Take the next hello queued on c->efd: 1 if there was one (*chan: the
 * channel it asks for, not answered yet, or -1 if it was refused), 0 if
 * none. */
int uf__serve_hello(struct uf__ctx *c, int *chan);
/* Answer a hello's channel once the engine watches it (err 0: welcome) or
 * cannot (err < 0: refused with it, and chan closed).  0 if welcomed; -1
 * if not (a welcome that could not be sent hangs chan up, which its
 * watch sees). */
int uf__serve_answer(int chan, int err);
/* Serve one request on chan: 0, or -1 when the channel is done. */
int uf__serve_request(struct uf__ctx *c, int chan);

/* The monitor's side: fd is a user-engine descriptor another process
 * opened.  They return -ENOTTY (ioctl, read) / 0 (is) when it is not. */
int uf__remote_ioctl(int fd, unsigned long request, void *arg);
ssize_t uf__remote_read(int fd, struct uffd_msg *msgs, size_t n);
int uf__remote_is_user_fd(int fd);
/* Is fd the descriptor of a channel this process opened before?  (One
 * fstat: the quick way to route a call before asking the kernel.) */
int uf__remote_known_fd(int fd);
/* fd is being closed: forget its channel (before close(2)). */
void uf__remote_forget(int fd);

/* ------------------------------------------------------------------------ */
/* Memory: maps, segments, page states (space.c, memtype.c)                  */

/* Per-page state bits. */
#define PS_MAPPED	0x01	/* the application's view shows the page */
#define PS_WP		0x02	/* write-protected (UFFDIO_WRITEPROTECT) */
#define PS_POISON	0x04	/* UFFDIO_POISON: an access raises SIGBUS */
#define PS_GONE		0x08	/* moved to another map with its views (hugetlb,
				 * remap.c): in no segment, and this map's views
				 * no longer hold it (space.c unmaps around it) */
#define PS_DEFER	0x40	/* that operation left its show/hide/protection
				 * to a chunk not open yet (space.c) */
#define PS_BUSY		0x80	/* an operation on the page is in progress */

/* Per-chunk states: a chunk is PROT_NONE as a whole until first used. */
#define CS_COVERED	0
#define CS_BUSY		1
#define CS_OPEN		2

struct uf__map;
struct uf__event;

/* What differs per memory type: the seam the kernel has as vm_uffd_ops. */
struct uf__memops {
	const char *name;
	int kind;			/* enum uf__kind */
	int guards;			/* hides with guard markers (else with mprotect) */
	int shared;			/* the content is the program's own file (else
					 * an engine memfd standing in for it) */
	/* Hide pages in the application's view / show them.  With guard
	 * markers, prot is ignored: protection is set apart (uf__page_setwp). */
	int (*hide)(struct uf__map *m, uintptr_t addr, size_t len);
	int (*show)(struct uf__map *m, uintptr_t addr, size_t len, int prot);
	/* Is the page at addr there in the content (uf__present)? */
	int (*cached)(const struct uf__map *m, uintptr_t addr);
	/* Private file mappings: is the file's page at addr in its page
	 * cache (seen through m->upstream)?  NULL for other types. */
	int (*upstream_cached)(const struct uf__map *m, uintptr_t addr);
};

enum uf__kind {
	UU_ANON,		/* private anonymous: replaced by an engine memfd */
	UU_SHMEM,		/* shared anonymous or shared memfd/tmpfs: the file itself */
	UU_SHMEM_PRIVATE,	/* private mapping of a memfd/tmpfs file */
	UU_HUGETLB,		/* shared hugetlb */
	UU_HUGETLB_PRIVATE,	/* private hugetlb */
};

/* A mapping the engine manages.  Its address range never changes; it lives
 * until the memory is unmapped through the engine or the process ends.
 * uf_mremap() moves memory by building a new map at the destination. */
struct uf__map {
	uintptr_t start, end;
	size_t page;			/* 4 KiB or the huge page size */
	unsigned page_shift;
	const struct uf__memops *ops;
	int prot;			/* the application's protection */
	char *alias;			/* the engine's read-write view of the same pages */
	char *upstream;			/* private file mappings: the original, moved aside */
	char *peek;			/* shared hugetlb: a private view of the file,
					 * for asking what its page cache holds */
	int anon_file;			/* private hugetlb of MAP_ANONYMOUS memory: its
					 * file is the kernel's own, which nothing else
					 * can map shared, so its page cache stays
					 * empty (upstream never has a page) */
	size_t chunk;			/* bytes per lazily opened chunk */
	unsigned chunk_shift;
	_Atomic uint8_t *pst;		/* per page */
	_Atomic uint8_t *cst;		/* per chunk */
	size_t npages, nchunks;
	atomic_int wp_count;		/* pages currently write-protected */
	unsigned long long ino;		/* the file the program's view maps */
	/* The program's VMA it was made from: its file (0: anonymous) and
	 * the file offset of start; for telling which maps the kernel would
	 * have merged into one VMA (events.c). */
	unsigned long long vm_ino;
	unsigned long long vm_off;
	/* Nonzero while uf_mremap() moves pages out of it (remap.c): the
	 * fault path, fills, MOVE and madvise leave it alone and retry. */
	atomic_int frozen;
	/* The engine's memfd behind a private map, kept open so that COPY
	 * writes it with pwrite() (fill.c), or -1.  Its file position, set to
	 * fd_pos, says it is still that file: a program may close descriptors
	 * it did not open (space.c, uf__map_fd). */
	int fd;
	long long fd_pos;
};

/* A piece of a map with one owner and one mode (mode 0: not registered). */
struct uf__seg {
	uintptr_t start, end;
	struct uf__map *map;
	struct uf__ctx *ctx;
	unsigned mode;			/* UFFDIO_REGISTER_MODE_* */
};

/* The published, sorted table of segments (read lock-free). */
struct uf__table {
	size_t n;
	struct uf__seg seg[];
};

/* Readers (signal-safe): enter, look up, use, leave.  The table, maps and
 * contexts seen inside stay valid until uf__leave(). */
unsigned uf__enter(void);
void uf__leave(unsigned token);
/* Wait until every reader inside now has left (writers only). */
void uf__synchronize(void);
const struct uf__seg *uf__lookup(uintptr_t addr);
/* The first segment ending above addr (it may start above addr), or NULL:
 * for walking a range without probing every page of its gaps. */
const struct uf__seg *uf__lookup_from(uintptr_t addr);

/* Writers (not signal-safe) hold the space lock while building a change. */
void uf__space_lock(void);
/* Reset reader counts and locks in a forked child (pthread_atfork). */
void uf__space_after_fork(void);
void uf__space_unlock(void);
const struct uf__table *uf__table_now(void);
/* Publish a new table (taking ownership) and free the old one once no
 * reader can still see it. */
void uf__table_publish(struct uf__table *t);
struct uf__table *uf__table_new(size_t n);
/* Maps are never freed while the process may still fault on them. */
void uf__map_retire(struct uf__map *m);
/* Unmap the pages of view (m->alias, m->upstream or m->peek: the map's
 * length at the map's offsets) whose PS_GONE bit is gone: 0 for a view of
 * the map's (a gone page's place in it may hold someone else's mapping by
 * now), PS_GONE for the parts of a whole new view that are not the map's. */
void uf__map_unmap(const struct uf__map *m, char *view, int gone);
/* Keep fd (the map's own memfd) open for fills; 1 if kept (then closed at
 * retire), 0 if the caller is to close it (hugetlb, or too many kept). */
int uf__map_keep_fd(struct uf__map *m, int fd);
/* The map's kept file if it is still that file (signal-safe), else -1. */
int uf__map_fd(const struct uf__map *m);

static inline size_t uf__pgidx(const struct uf__map *m, uintptr_t addr)
{
	return (addr - m->start) >> m->page_shift;
}
static inline size_t uf__chidx(const struct uf__map *m, uintptr_t addr)
{
	return (addr - m->start) >> m->chunk_shift;
}

/* mincore(2), retried while it says EAGAIN (it could not get its buffer
 * page: out of memory, not an answer).  ENOMEM still means "not mapped".
 * Signal-safe. */
int uf__mincore(void *addr, size_t len, unsigned char *vec);
/* Is the page's content in the backing store (page cache)?  1/0. (signal-safe) */
int uf__present(const struct uf__map *m, uintptr_t addr);
/* Private file mappings: is the file's own page at addr in its page cache
 * (what a MINOR fault finds)?  0 for other types.  Signal-safe. */
int uf__upstream_has(const struct uf__map *m, uintptr_t addr);
/* Open a covered chunk: hide the pages not mapped, give the rest the map's
 * protection (read-only where write-protected).  Spins while another
 * thread does it.  Signal-safe. */
int uf__chunk_open(struct uf__map *m, size_t chunk);
/* Take / release a page's PS_BUSY bit (signal-safe; spins). */
uint8_t uf__page_lock(struct uf__map *m, size_t pg);
void uf__page_unlock(struct uf__map *m, size_t pg, uint8_t state);
/* Make the page visible with its state's protection (caller holds it busy). */
int uf__page_show(struct uf__map *m, uintptr_t addr, uint8_t state);
int uf__page_hide(struct uf__map *m, uintptr_t addr);
/* Apply the page's PS_WP to its protection (caller holds it busy). */
int uf__page_setwp(struct uf__map *m, uintptr_t addr, uint8_t state);
int uf__page_prot(const struct uf__map *m, uint8_t state);
/* A run of pages held busy that all go to one state: show them (with the
 * state's protection first if setwp), in one call each where their chunks
 * are open; and take that back, to state (0 if every page is hidden). */
int uf__run_show(struct uf__map *m, uintptr_t addr, size_t len, uint8_t state, int setwp);
int uf__run_hide(struct uf__map *m, uintptr_t addr, size_t len, uint8_t state, int setwp);

/* A map for [start, end) with its page and chunk state arrays (all pages
 * missing, all chunks covered) and nothing else: the caller gives it its
 * views.  NULL when out of memory.  (register.c) */
struct uf__map *uf__map_alloc(uintptr_t start, uintptr_t end, int kind, size_t page, int prot);
/* Publish the current table with the segments of [start, end) whose map is
 * not keep dropped (private memory's content freed with them) and extra
 * added, atomically for the fault path.  Space lock held.  (register.c) */
int uf__table_replace(uintptr_t start, uintptr_t end, const struct uf__map *keep,
		      const struct uf__seg *extra, size_t nextra);
/* The same, every segment of [start, end) dropped with its content kept:
 * the pages went to the maps of extra (a hugetlb move, remap.c). */
int uf__table_hand_over(uintptr_t start, uintptr_t end, const struct uf__seg *extra, size_t nextra);
/* len bytes of PROT_NONE address space aligned to align (a hugetlb VMA
 * moves only to an address of its alignment), or MAP_FAILED.  (register.c) */
void *uf__reserve_aligned(size_t len, size_t align);

/* Moving memory (remap.c).  What uf_mremap() asks of the engine: move
 * [from, from + len) of one registered run to a new map of new_len bytes
 * at *to (fixed: exactly there, replacing what is there; in_place: *to is
 * from and [from + len, from + new_len) is reserved by the caller; else
 * anywhere), carrying content, page states and, with keep, the owner and
 * mode (else the new memory is not registered).  dontunmap: the old range
 * stays, empty, with its registration.  0 or -errno (nothing changed). */
struct uf__remap {
	uintptr_t from;
	size_t len, new_len;
	uintptr_t to;
	int fixed, in_place, dontunmap, keep;
};
int uf__remap_move(struct uf__remap *r);
/* Moves in progress; a thread that found a frozen map waits for none
 * (signal-safe). */
extern atomic_int uf__remapping;
void uf__remap_wait(void);
int uf__map_create(uintptr_t start, uintptr_t end, int kind, size_t page, int prot,
		  struct uf__map **out);
const struct uf__memops *uf__memops_of(int kind);
static inline int uf__kind_hugetlb(int kind)
{
	return kind == UU_HUGETLB || kind == UU_HUGETLB_PRIVATE;
}

/* hugetlb (hugetlb.c).  A read-write descriptor of the file a shared
 * hugetlb VMA maps (through /proc/self/map_files, else one of the program's
 * descriptors of it), or -EPERM when neither can be had. */
int uf__hugetlb_open(uintptr_t vma_start, uintptr_t vma_end, unsigned dev_major,
		     unsigned dev_minor, unsigned long long ino);
/* A shared hugetlb map's alias (read-write) and peek view, of the file the
 * VMA [vma_start, vma_end) maps at offset off.  0 or -errno (-EPERM: no
 * descriptor of the file could be had, or it is not writable). */
int uf__hugetlb_views(struct uf__map *m, uintptr_t vma_start, uintptr_t vma_end, unsigned dev_major,
		      unsigned dev_minor, unsigned long long ino, unsigned long long off);
/* A read-only MAP_PRIVATE | MAP_NORESERVE view of len bytes at offset off
 * of the file that VMA maps, or NULL when no descriptor of it can be had. */
void *uf__hugetlb_file_view(uintptr_t vma_start, uintptr_t vma_end, unsigned dev_major,
			    unsigned dev_minor, unsigned long long ino, unsigned long long off,
			    size_t len);
/* Is the huge page at view (in a MAP_PRIVATE view of a hugetlb file) in the
 * file's page cache?  1/0; takes a free huge page for a moment, and says 0
 * when there is none.  Signal-safe. */
int uf__hugetlb_cached(char *view, size_t page);

/* ------------------------------------------------------------------------ */
/* Waiting and waking (queue.c)                                              */

enum uf__slot_state { SLOT_FREE, SLOT_CLAIMED, SLOT_PENDING, SLOT_READ, SLOT_WOKEN };
enum uf__fault_kind { FK_MISSING = 1, FK_WP = 2, FK_MINOR = 4 };


/* Queue a fault and wait until it is woken (signal-safe).  still_needed()
 * is asked after the slot is visible to wakers: if it says no, the fault
 * is withdrawn.  Called inside a reader section (token from uf__enter()),
 * which it leaves before sleeping. */
void uf__fault_wait(struct uf__ctx *c, uintptr_t page, int kind, const struct uffd_msg *msg,
		   int (*still_needed)(void *), void *arg, unsigned token);
/* Take up to n pending faults of c, oldest first. */
size_t uf__take_faults(struct uf__ctx *c, struct uffd_msg *out, size_t n);
/* Wake c's waiters on pages in [start, start + len) whose kind is in kinds.
 * fd: an application descriptor to retract the doorbell through, or -1. */
void uf__wake(struct uf__ctx *c, int fd, uintptr_t start, uintptr_t len, int kinds);
/* On: this thread's wakes wait until it turns deferring off, which does
 * them (beyond 16 they are done at once).  For the engine thread serving
 * another process: it answers first, because a woken thread may end its
 * process at once (a forked child that was waiting for its last page), and
 * the monitor must still get the answer the kernel would have given. */
void uf__wake_defer(int on);
/* Sleep while *w == val, for at most 100 ms (queue.c says why). */
void uf__futex_wait(atomic_uint *w, unsigned val);
/* Faults of c not read yet (*pending) and, with those read but not woken,
 * all that wait (*total): what the kernel's fdinfo shows.  A snapshot. */
void uf__fault_counts(struct uf__ctx *c, unsigned long *pending, unsigned long *total);
/* Bring the doorbell in line with npending (fd as above; -1 can only ring).
 * uf__bell_sync is signal-safe and must be called with signals blocked;
 * uf__bell_sync_app blocks them itself. */
void uf__bell_sync(struct uf__ctx *c, int fd);
void uf__bell_sync_app(struct uf__ctx *c, int fd);
/* The engine thread's variant for another process's request: 1 if the
 * requester must take one doorbell datagram off its descriptor. */
int uf__bell_handover(struct uf__ctx *c);

/* ------------------------------------------------------------------------ */
/* Requests (register.c, fill.c)                                             */

int uf__register(struct uf__ctx *c, struct uffdio_register *a);
/* Forget engine memory in [start, end) (it is being unmapped). */
int uf__forget_range(uintptr_t start, uintptr_t end);
/* Events: take up to n (oldest first, as uf__take_msgs); end every waiting
 * one (release). */
size_t uf__take_events(struct uf__ctx *c, struct uffd_msg *out, size_t n, int remote, int *err);
/* Queue UFFD_EVENT_FORK on c for the child context whose program end is app
 * and wait until it is read or c is released; lowers c->mmap_changing. */
void uf__post_fork(struct uf__ctx *c, int app);
void uf__release_events(struct uf__ctx *c);
int uf__unregister(struct uf__ctx *c, int fd, struct uffdio_range *a);
/* Drop every registration of c (release). */
void uf__unregister_all(struct uf__ctx *c);
/* fork (fork.c), through pthread_atfork: before, the child's contexts are
 * made for every context with UFFD_FEATURE_EVENT_FORK that has registered
 * memory; in the parent, FORK events are sent and waited for; in the child,
 * uf__fork_child_memory() gives registered memory its own files (where a
 * context moves to the child) or makes it ordinary memory with the parent's
 * content (the kernel without the feature), and uf__fork_child_contexts()
 * lists the child's contexts once the parent's are forgotten.  Not atomic
 * against the parent's other threads, which share the engine's files. */
void uf__fork_prepare(void);
void uf__fork_parent(void);
void uf__fork_child_memory(void);
void uf__fork_child_contexts(void);
int uf__copy(struct uf__ctx *c, int fd, struct uffdio_copy *a);
int uf__zeropage(struct uf__ctx *c, int fd, struct uffdio_zeropage *a);
int uf__continue(struct uf__ctx *c, int fd, struct uffdio_continue *a);
int uf__poison(struct uf__ctx *c, int fd, struct uffdio_poison *a);
int uf__move(struct uf__ctx *c, int fd, struct uffdio_move *a);
int uf__wake_ioctl(struct uf__ctx *c, int fd, struct uffdio_range *a);
int uf__writeprotect(struct uf__ctx *c, int fd, struct uffdio_writeprotect *a);
/* The first VMA of the process ending above addr (it may start above it):
 * 0 with its [*start, *end), or -ENOENT if there is none. */
int uf__vma_next(uintptr_t addr, uintptr_t *start, uintptr_t *end);
/* The protection (PROT_*) of the VMA holding addr, or -ENOENT. */
int uf__vma_prot(uintptr_t addr);
/* The kernel's validate_range(): 0 or -EINVAL. */
int uf__validate_range(__u64 start, __u64 len);

/* Set (on) or clear a page's PS_WP in *st, counting it in the map (the
 * caller holds the page busy and applies the protection). */
void uf__wp_mark(struct uf__map *m, uint8_t *st, int on);

/* ------------------------------------------------------------------------ */
/* PAGEMAP_SCAN (src/pagemap_scan.c walks and reports, scan.c answers for
 * the engine's memory)                                                      */

struct uf__scan;
/* Offer the 4 KiB page at addr with its categories: 1 taken (with
 * PM_SCAN_WP_MATCHING the caller protects it now), 0 passed over, -ENOSPC
 * the walk ends before it, -EPERM (PM_SCAN_CHECK_WPASYNC), -EFAULT. */
int uf__scan_page(struct uf__scan *s, uintptr_t addr, __u64 categories);
/* Offer [start, end), part (part = 1) or all of one huge page, with its
 * categories, in one piece as the kernel's hugetlb walk does: 1 taken, 0
 * passed over, or an error as above.  whole: it is to be protected
 * (PM_SCAN_WP_MATCHING), so all of the huge page or none: a part, or one
 * max_pages would cut, is passed over and walk_end says start. */
int uf__scan_huge(struct uf__scan *s, uintptr_t start, uintptr_t end, __u64 categories, int whole,
		  int part);
/* The first engine memory at or above addr: 0 and [*start, *end), or -ENOENT. */
int uf__scan_next(uintptr_t addr, uintptr_t *start, uintptr_t *end);
/* Offer every page of [from, to), engine memory from uf__scan_next(). */
int uf__scan_engine(struct uf__scan *s, uintptr_t from, uintptr_t to, int wp_matching);

/* ------------------------------------------------------------------------ */
/* The trap (trap.c)                                                         */

/* Make sure our SIGSEGV handler is first in line (chaining to whatever the
 * program installed).  Called at open and at registration. */
int uf__trap_install(void);
/* sigaction(SIGSEGV, act, old) as the program sees it: while the engine's
 * handler is installed, act replaces the handler it chains to and *old is
 * that one; otherwise the system call itself.  For the preload shim, which
 * routes the program's sigaction() and signal() here.  0 or -errno. */
int uf__trap_sigaction(const struct sigaction *act, struct sigaction *old);
/* Raise SIGBUS with BUS_ADRERR at addr on this thread (signal-safe). */
void uf__raise_sigbus(void *addr);

/* Block every signal on this thread while a lock a fault path also takes is
 * held (so a signal handler touching registered memory cannot deadlock). */
void uf__signals_block(sigset_t *old);
void uf__signals_restore(const sigset_t *old);

#endif /* UF_USER_H */
