/* SPDX-License-Identifier: MIT */
/*
 * fault.c - helpers for the ioctl and fault conformance tests (see fault.h).
 */
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "lib/fault.h"

unsigned long f_ul(const void *p)
{
	return (unsigned long)(uintptr_t)p;
}

pid_t f_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* ------------------------------------------------------------------------ */
/* Features and contexts                                                    */

__u64 f_mode_features(int mem, __u64 mode)
{
	__u64 f = 0;
	int huge = t_mem_is_hugetlb(mem), anon = t_mem_is_anon(mem);
	if (mode & F_MODE_M)
		f |= anon ? 0 : huge ? UFFD_FEATURE_MISSING_HUGETLBFS : UFFD_FEATURE_MISSING_SHMEM;
	if (mode & F_MODE_WP)
		f |= anon ? UFFD_FEATURE_PAGEFAULT_FLAG_WP : UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
	if (mode & F_MODE_MINOR)
		f |= anon ? 0 : huge ? UFFD_FEATURE_MINOR_HUGETLBFS : UFFD_FEATURE_MINOR_SHMEM;
	return f;
}

int f_mode_ok(int mem, __u64 mode)
{
	return mode && !(mode & ~t_mem_modes(mem));
}

void f_need_mode(const struct t_env *env, __u64 mode)
{
	__u64 need = f_mode_features(env->mem, mode);
	if ((env->features & need) != need)
		T_SKIP("%s engine lacks features 0x%llx for mode 0x%llx on %s",
		       uf_engine_name(env->engine), (unsigned long long)(need & ~env->features),
		       (unsigned long long)mode, t_mem_name(env->mem));
}

int f_uffd(const struct t_env *env, __u64 mode, __u64 extra)
{
	f_need_mode(env, mode);
	return t_uffd(env, O_CLOEXEC | O_NONBLOCK, f_mode_features(env->mem, mode) | extra);
}

/* ------------------------------------------------------------------------ */
/* Memory                                                                   */

void f_region_alias(struct t_region *r)
{
	if (r->fd >= 0) {
		t_region_alias(r);
		return;
	}
	if (r->mem != T_SHMEM)
		T_FAIL("f_region_alias: %s has no shared pages to alias", t_mem_name(r->mem));
	/* mremap() with old size 0 maps the same shared pages a second time. */
	void *a = mremap(r->addr, 0, r->len, MREMAP_MAYMOVE);
	if (a == MAP_FAILED)
		T_FAIL("mremap alias: %s", strerror(errno));
	r->alias = a;
}

void f_no_thp(void *addr, size_t len)
{
	/* Without THP support the advice fails, and there is nothing to avoid. */
	(void)madvise(addr, len, MADV_NOHUGEPAGE);
}

int f_present(const void *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		T_FAIL("open /proc/self/pagemap: %s", strerror(errno));
	uint64_t ent = 0;
	off_t off = (off_t)(f_ul(addr) / (unsigned long)sysconf(_SC_PAGESIZE)) * 8;
	ssize_t n = pread(fd, &ent, sizeof(ent), off);
	close(fd);
	if (n != (ssize_t)sizeof(ent))
		T_FAIL("pread pagemap: %s", n < 0 ? strerror(errno) : "short read");
	return (ent >> 63) & 1;
}

size_t f_rss(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, rss = 0;
	if (!f)
		T_FAIL("open /proc/self/statm: %s", strerror(errno));
	int ok = fscanf(f, "%lu %lu", &size, &rss) == 2;
	fclose(f);
	if (!ok)
		T_FAIL("parse /proc/self/statm");
	return rss * (size_t)sysconf(_SC_PAGESIZE);
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                 */

int f_read_msg(int fd, struct uffd_msg *m, unsigned ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;
	do
		r = poll(&p, 1, (int)ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		T_FAIL("poll: %s", strerror(errno));
	if (r == 0)
		return 0;
	if (!(p.revents & POLLIN))
		T_FAIL("poll: revents 0x%x without POLLIN", p.revents);
	memset(m, 0xa5, sizeof(*m));
	ssize_t n = uf_read(fd, m, 1);
	if (n != 1)
		T_FAIL("uf_read after POLLIN: %zd (%s)", n, n < 0 ? strerror((int)-n) : "count");
	return 1;
}

void f_expect_fault(int fd, unsigned ms, struct uffd_msg *m)
{
	if (!f_read_msg(fd, m, ms))
		T_FAIL("no fault message within %u ms", ms);
	T_EQ(m->event, UFFD_EVENT_PAGEFAULT);
	T_EQ(m->reserved1, 0);
	T_EQ(m->reserved2, 0);
	T_EQ(m->reserved3, 0);
}

void f_expect_no_msg(int fd, unsigned ms)
{
	struct uffd_msg m;
	if (f_read_msg(fd, &m, ms))
		T_FAIL("unexpected message: event 0x%x flags 0x%llx address 0x%llx", m.event,
		       (unsigned long long)m.arg.pagefault.flags,
		       (unsigned long long)m.arg.pagefault.address);
	T_ERR(uf_read(fd, &m, 1), EAGAIN);
}

/* ------------------------------------------------------------------------ */
/* Touching threads                                                         */

static void *toucher_main(void *arg)
{
	struct f_toucher *t = arg;
	t->tid = f_gettid();
	__atomic_store_n(&t->started, 1, __ATOMIC_RELEASE);
	if (t->write)
		*t->addr = (char)t->val;
	else
		t->seen = (unsigned char)*t->addr;
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

void f_touch_start(struct f_toucher *t, void *addr, int write, unsigned char val)
{
	memset(t, 0, sizeof(*t));
	t->addr = addr;
	t->write = write;
	t->val = val;
	t_spawn(&t->th, toucher_main, t);
	if (!t_wait_flag(&t->started, 2000))
		T_FAIL("toucher thread did not start");
}

void f_touch_blocked(struct f_toucher *t, unsigned ms)
{
	T_ASSERT(t->started);
	if (t_wait_flag(&t->done, ms))
		T_FAIL("the access at %p got through; it should still be blocked", (void *)t->addr);
}

void f_touch_finish(struct f_toucher *t, unsigned ms)
{
	if (!t_wait_flag(&t->done, ms))
		T_FAIL("the access at %p is still blocked after %u ms", (void *)t->addr, ms);
	t_join(&t->th);
}

/* ------------------------------------------------------------------------ */
/* SIGBUS                                                                   */

static _Thread_local sigjmp_buf probe_jmp;
static _Thread_local volatile int probe_armed;
static _Thread_local int probe_code;
static _Thread_local void *probe_addr;

static void probe_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (!probe_armed) {
		/* Not ours: die of it, as without a handler. */
		signal(SIGBUS, SIG_DFL);
		raise(SIGBUS);
		return;
	}
	probe_code = si->si_code;
	probe_addr = si->si_addr;
	probe_armed = 0;
	siglongjmp(probe_jmp, 1);
}

int f_probe_sigbus(volatile char *addr, int write, int *code, void **where)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = probe_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	T_SYS(sigaction(SIGBUS, &sa, &old));
	int hit = 0;
	if (sigsetjmp(probe_jmp, 1) == 0) {
		probe_armed = 1;
		if (write)
			*addr = 1;
		else
			(void)*addr;
		probe_armed = 0;
	} else {
		hit = 1;
		if (code)
			*code = probe_code;
		if (where)
			*where = probe_addr;
	}
	T_SYS(sigaction(SIGBUS, &old, NULL));
	return hit;
}
