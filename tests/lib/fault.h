/* SPDX-License-Identifier: MIT */
/*
 * fault.h - helpers shared by the ioctl and fault conformance tests: the
 * features a registration needs, waiting for messages, threads that touch
 * memory and report when they got through, SIGBUS probes, page presence.
 *
 * Everything goes through the library's API (uf_*), never through raw
 * ioctl() on the descriptor: the same tests run on the user engine.
 */
#ifndef UF_TEST_FAULT_H
#define UF_TEST_FAULT_H

#include <setjmp.h>
#include <signal.h>
#include "lib/t.h"

/* A result-field value no engine ever writes: "the field was left alone". */
#define F_SENTINEL ((__s64)0x5a5a5a5a5a5a5a5aLL)

#define F_MODE_M	UFFDIO_REGISTER_MODE_MISSING
#define F_MODE_WP	UFFDIO_REGISTER_MODE_WP
#define F_MODE_MINOR	UFFDIO_REGISTER_MODE_MINOR

/* The feature bits that advertise support for register `mode` on `mem`. */
__u64 f_mode_features(int mem, __u64 mode);
/* 1 if the kernel accepts register `mode` on `mem` (MINOR needs shmem or hugetlb). */
int f_mode_ok(int mem, __u64 mode);
/* Skip the case unless the env's engine advertises what `mode` on env->mem needs. */
void f_need_mode(const struct t_env *env, __u64 mode);
/* A context (O_CLOEXEC | O_NONBLOCK) after UFFDIO_API asking for the features
 * that `mode` on env->mem needs plus `extra`; skips when they are missing. */
int f_uffd(const struct t_env *env, __u64 mode, __u64 extra);

/* Map, and also give the region a second shared view (r->alias) of the same
 * pages, also for MAP_SHARED|MAP_ANONYMOUS where there is no file to map. */
void f_region_alias(struct t_region *r);
/* Keep transparent huge pages out of an anonymous range (MOVE, RSS checks). */
void f_no_thp(void *addr, size_t len);

/* Wait up to ms for a message (poll for POLLIN, then uf_read one).
 * 1 with *m filled, 0 if none came. */
int f_read_msg(int fd, struct uffd_msg *m, unsigned ms);
/* A message must come within ms, and be a page fault. */
void f_expect_fault(int fd, unsigned ms, struct uffd_msg *m);
/* No message in ms: poll says nothing and uf_read gives -EAGAIN. */
void f_expect_no_msg(int fd, unsigned ms);

/* A thread that reads or writes one byte and says when it got through. */
struct f_toucher {
	volatile char *addr;
	int write;		/* 1: store `val`; 0: load into `seen` */
	unsigned char val;
	unsigned char seen;
	volatile int started;	/* set just before the access */
	volatile int done;	/* set right after it */
	volatile int tid;	/* the thread's kernel TID */
	t_thread th;
};
void f_touch_start(struct f_toucher *t, void *addr, int write, unsigned char val);
/* The toucher must be blocked: started, and not done within ms. */
void f_touch_blocked(struct f_toucher *t, unsigned ms);
/* The toucher must get through within ms; then joins it. */
void f_touch_finish(struct f_toucher *t, unsigned ms);

/* Access one byte with a SIGBUS catcher in place.  Returns 1 if SIGBUS
 * was raised (with *code and *where: si_code and si_addr from its siginfo), 0 if the access
 * went through. */
int f_probe_sigbus(volatile char *addr, int write, int *code, void **where);

/* 1 if the page holding addr is mapped in this process (pagemap "present"). */
int f_present(const void *addr);
/* Resident set size of the calling process, in bytes. */
size_t f_rss(void);

pid_t f_gettid(void);
unsigned long f_ul(const void *p);

#define F_MSG_ADDR(m)	((unsigned long)(m)->arg.pagefault.address)

#endif /* UF_TEST_FAULT_H */
