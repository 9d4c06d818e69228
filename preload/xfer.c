/* SPDX-License-Identifier: MIT */
/*
 * xfer.c - system calls that move data to or from memory, when that memory
 * is a registered range of the user engine.
 *
 * The kernel turns its own access to a missing page of a registered range
 * (copy_to_user in read(2), say) into a userfault: the call waits for the
 * handler and then goes on.  The user engine cannot see the kernel's
 * accesses: the page is hidden, so the call fails with EFAULT, or stops
 * short at the hidden page after moving what came before it.  The shim
 * turns both back into the kernel's behaviour: it takes the fault itself,
 * from user mode, on the page where the call stopped, then calls again for
 * the rest.
 *
 * Taking the fault must not change memory: the program, or the handler of
 * another fault, may be writing the page at that moment.  A load is enough
 * where the call reads memory (write, send); where it stores into memory
 * (read, recv) the fault must be a write fault (so a write-protected page
 * is reported as the kernel reports it), and the write is an atomic OR of
 * zero: an atomic read-modify-write that leaves every byte as it was.
 *
 * Where the kernel would not wait either, the shim does not retry: a
 * poisoned page, a context with UFFD_FEATURE_SIGBUS or UFFD_USER_MODE_ONLY
 * (the kernel fails such accesses with EFAULT).
 *
 * When the call stops short at a page the shim then faults in, it calls
 * again for the rest only if the descriptor is still ready (poll with a
 * zero timeout): on a pipe or socket, data that ended exactly at that page
 * must not turn into a wait that the kernel would not have made.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "shim.h"

/* ------------------------------------------------------------------------ */
/* Faulting a page in from user mode                                        */

static void touch(const void *addr, int write)
{
	if (!write) {
		(void)*(const volatile unsigned char *)addr;
		return;
	}
	/* Spelled out: a compiler may turn an atomic "add 0" into a fenced
	 * load, which would be a read fault. */
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("lock orb $0, %0" : "+m"(*(volatile unsigned char *)addr) : : "memory");
#elif defined(__aarch64__)
	unsigned tmp, fail;
	__asm__ __volatile__("1: ldxrb %w0, %2\n"
			     "   stxrb %w1, %w0, %2\n"
			     "   cbnz %w1, 1b\n"
			     : "=&r"(tmp), "=&r"(fail), "+Q"(*(volatile unsigned char *)addr)
			     : : "memory");
#else
#error "the shim needs a write access that changes nothing on this architecture"
#endif
}

/* Would the kernel wait for a userfault (or map the page itself) where
 * this access finds the page hidden?  Inside a reader section. */
static int kernel_would_resolve(const struct uf__seg *s, uintptr_t addr, int write)
{
	struct uf__map *m = s->map;
	if (!(m->prot & PROT_READ) || (write && !(m->prot & PROT_WRITE)))
		return 0;	/* the program's own protection: a real EFAULT */
	int hidden = 0, wp = 0;
	if (atomic_load(&m->cst[uf__chidx(m, addr)]) != CS_OPEN) {
		hidden = 1;
	} else {
		uint8_t st = atomic_load(&m->pst[uf__pgidx(m, addr)]);
		if (st & PS_POISON)
			return 0;	/* the kernel gives EFAULT */
		hidden = !(st & PS_MAPPED);
		wp = write && (st & PS_WP);
	}
	if (!hidden && !wp)
		return 0;	/* accessible: the EFAULT is about something else */
	/* A fault the context would hear about: not for SIGBUS and
	 * user-mode-only contexts, whose kernel accesses get EFAULT. */
	struct uf__ctx *c = s->ctx;
	int to_ctx = c && ((hidden && (s->mode & (UFFDIO_REGISTER_MODE_MISSING |
						  UFFDIO_REGISTER_MODE_MINOR))) ||
			   (wp && (s->mode & UFFDIO_REGISTER_MODE_WP) &&
			    !(c->features & UFFD_FEATURE_WP_ASYNC)));
	if (to_ctx && ((c->features & UFFD_FEATURE_SIGBUS) || uf__shim_user_mode_only(c)))
		return 0;
	return 1;
}

int uf__shim_fault_in(const void *addr, int write)
{
	unsigned tok = uf__enter();
	const struct uf__seg *s = uf__lookup((uintptr_t)addr);
	int yes = s && kernel_would_resolve(s, (uintptr_t)addr, write);
	uf__leave(tok);
	if (yes)
		touch(addr, write);
	return yes;
}

/* The first page from byte `from` of the vector that the kernel would have
 * faulted on; fault it in.  1 if one was found. */
static int fault_first(const struct iovec *iov, int cnt, size_t from, int write)
{
	for (int i = 0; i < cnt; i++) {
		if (from >= iov[i].iov_len) {
			from -= iov[i].iov_len;
			continue;
		}
		uintptr_t a = (uintptr_t)iov[i].iov_base + from, end = (uintptr_t)iov[i].iov_base + iov[i].iov_len;
		from = 0;
		while (a < end) {
			unsigned tok = uf__enter();
			const struct uf__seg *s = uf__lookup_from(a);
			if (!s || s->start >= end) {
				uf__leave(tok);
				break;
			}
			if (s->start > a)
				a = s->start;
			uintptr_t to = s->end < end ? s->end : end;
			for (; a < to; a = (a | 4095) + 1) {
				if (kernel_would_resolve(s, a, write)) {
					uf__leave(tok);
					touch((void *)a, write);
					return 1;
				}
			}
			uf__leave(tok);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The retry loop                                                           */

struct xfer {
	int fd;
	int write;		/* the call stores into memory */
	off_t off;		/* pread/pwrite */
	int flags;		/* recv/send */
	int once;		/* MSG_PEEK: a second call would see the same data */
	const struct msghdr *msg;	/* recvmsg/sendmsg: the caller's header */
	struct msghdr *msg_out;		/* recvmsg: where results go */
	/* One call on the part of the vector from byte `done` on. */
	ssize_t (*call)(struct xfer *x, const struct iovec *iov, int cnt, size_t done);
};

/* iov advanced by `done` bytes, into out (which has room for cnt). */
static int advance(const struct iovec *iov, int cnt, size_t done, struct iovec *out)
{
	int k = 0;
	for (int i = 0; i < cnt; i++) {
		if (done >= iov[i].iov_len) {
			done -= iov[i].iov_len;
			continue;
		}
		out[k].iov_base = (char *)iov[i].iov_base + done;
		out[k].iov_len = iov[i].iov_len - done;
		done = 0;
		k++;
	}
	return k;
}

static int still_ready(int fd, int write)
{
	struct pollfd p = { .fd = fd, .events = write ? POLLOUT : POLLIN };
	return uf__real_poll(&p, 1, 0) == 1 && (p.revents & p.events);
}

static ssize_t run(struct xfer *x, const struct iovec *iov, int cnt)
{
	ssize_t r = x->call(x, iov, cnt, 0);
	if (!uf__shim_on() || (r >= 0 && cnt == 1 && (size_t)r == iov[0].iov_len))
		return r;
	size_t total = 0;
	for (int i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	size_t done = 0;
	struct iovec small[8], *rest = small;
	for (;;) {
		int err = errno;
		if (r < 0) {
			if (err != EFAULT || !fault_first(iov, cnt, done, x->write)) {
				errno = err;
				if (done == 0)
					break;
				r = (ssize_t)done;	/* what moved before the error */
				break;
			}
		} else {
			done += (size_t)r;
			if (r == 0 || done >= total)
				break;
			/* Stopped short: at a page the kernel would have waited for? */
			struct iovec here[1];
			if (x->once || advance(iov, cnt, done, here) == 0 ||
			    !uf__shim_fault_in(here[0].iov_base, x->write) ||
			    !still_ready(x->fd, x->write))
				break;
		}
		if (rest == small && cnt > (int)(sizeof(small) / sizeof(small[0]))) {
			rest = malloc((size_t)cnt * sizeof(*rest));
			if (!rest) {
				rest = small;
				break;
			}
		}
		int k = advance(iov, cnt, done, rest);
		r = x->call(x, rest, k, done);
		if (r < 0 && done > 0 && errno != EFAULT) {
			r = (ssize_t)done;	/* what moved before the error */
			break;
		}
	}
	if (r >= 0 && (size_t)r < done)
		r = (ssize_t)done;
	if (rest != small)
		free(rest);
	return r;
}

/* ------------------------------------------------------------------------ */
/* The calls                                                                */

static ssize_t do_readv(struct xfer *x, const struct iovec *v, int n, size_t d)
{
	(void)d;
	return n == 1 ? uf__real_read(x->fd, v[0].iov_base, v[0].iov_len) : uf__real_readv(x->fd, v, n);
}

static ssize_t do_writev(struct xfer *x, const struct iovec *v, int n, size_t d)
{
	(void)d;
	return n == 1 ? uf__real_write(x->fd, v[0].iov_base, v[0].iov_len) : uf__real_writev(x->fd, v, n);
}

static ssize_t do_pread(struct xfer *x, const struct iovec *v, int n, size_t d)
{
	(void)n;
	return uf__real_pread(x->fd, v[0].iov_base, v[0].iov_len, x->off + (off_t)d);
}

static ssize_t do_pwrite(struct xfer *x, const struct iovec *v, int n, size_t d)
{
	(void)n;
	return uf__real_pwrite(x->fd, v[0].iov_base, v[0].iov_len, x->off + (off_t)d);
}

/* The first call carries the caller's whole header (address, control
 * data); a call for the rest carries only the data. */
static ssize_t do_recvmsg(struct xfer *x, const struct iovec *v, int n, size_t d)
{
	struct msghdr m = *x->msg;
	m.msg_iov = (struct iovec *)v;
	m.msg_iovlen = (size_t)n;
	if (d) {
		m.msg_name = NULL;
		m.msg_namelen = 0;
		m.msg_control = NULL;
		m.msg_controllen = 0;
	}
	ssize_t r = uf__real_recvmsg(x->fd, &m, x->flags);
	if (r >= 0 && !d) {
		x->msg_out->msg_namelen = m.msg_namelen;
		x->msg_out->msg_controllen = m.msg_controllen;
		x->msg_out->msg_flags = m.msg_flags;
	}
	return r;
}

static ssize_t do_sendmsg(struct xfer *x, const struct iovec *v, int n, size_t d)
{
	struct msghdr m = *x->msg;
	m.msg_iov = (struct iovec *)v;
	m.msg_iovlen = (size_t)n;
	if (d) {
		m.msg_control = NULL;
		m.msg_controllen = 0;
	}
	return uf__real_sendmsg(x->fd, &m, x->flags);
}

static ssize_t one(struct xfer *x, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };
	return run(x, &v, 1);
}

UF_SHIM_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	if (!uf__shim_on())
		return uf__real_read(fd, buf, n);
	struct uf__ctx *c = uf__shim_ctx(fd);
	if (c)
		uf__ctx_put(c);
	if (c || uf__shim_is_passed(fd)) {
		struct iovec v = { buf, n };
		return uf__shim_read_msgs(fd, &v, 1);
	}
	if (uf__shim_is_pagemap(fd)) {
		off_t off = lseek(fd, 0, SEEK_CUR);
		return uf__shim_pagemap_fix(fd, buf, uf__real_read(fd, buf, n), off);
	}
	struct xfer x = { .fd = fd, .write = 1, .call = do_readv };
	return one(&x, buf, n);
}

UF_SHIM_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	if (!uf__shim_on() || cnt <= 0)
		return uf__real_readv(fd, iov, cnt);
	struct uf__ctx *c = uf__shim_ctx(fd);
	if (c)
		uf__ctx_put(c);
	if (c || uf__shim_is_passed(fd))
		return uf__shim_read_msgs(fd, iov, cnt);
	struct xfer x = { .fd = fd, .write = 1, .call = do_readv };
	return run(&x, iov, cnt);
}


UF_SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	if (!uf__shim_on())
		return uf__real_write(fd, buf, n);
	if (uf__shim_is_ours(fd) || uf__shim_is_passed(fd))
		return uf__shim_ret(-EBADF);	/* the kernel's userfaultfd is read-only */
	struct xfer x = { .fd = fd, .call = do_writev };
	return one(&x, buf, n);
}

UF_SHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	if (!uf__shim_on() || cnt <= 0)
		return uf__real_writev(fd, iov, cnt);
	if (uf__shim_is_ours(fd) || uf__shim_is_passed(fd))
		return uf__shim_ret(-EBADF);	/* the kernel's userfaultfd is read-only */
	struct xfer x = { .fd = fd, .call = do_writev };
	return run(&x, iov, cnt);
}

UF_SHIM_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	if (!uf__shim_on())
		return uf__real_pread(fd, buf, n, off);
	if (uf__shim_is_pagemap(fd))
		return uf__shim_pagemap_fix(fd, buf, uf__real_pread(fd, buf, n, off), off);
	struct xfer x = { .fd = fd, .write = 1, .off = off, .call = do_pread };
	return one(&x, buf, n);
}

UF_SHIM_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	return pread(fd, buf, n, off);
}

UF_SHIM_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (!uf__shim_on())
		return uf__real_pwrite(fd, buf, n, off);
	if (uf__shim_is_ours(fd))
		return uf__shim_ret(-EBADF);	/* the kernel's userfaultfd is read-only */
	struct xfer x = { .fd = fd, .off = off, .call = do_pwrite };
	return one(&x, buf, n);
}

UF_SHIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite(fd, buf, n, off);
}

/* recv, recvfrom, send and sendto go through the message calls: the same
 * system call underneath, and one place that knows about the address. */
static ssize_t msg_run(int fd, struct msghdr *m, int flags, int write)
{
	struct xfer x = { .fd = fd, .write = write, .flags = flags, .once = !!(flags & MSG_PEEK),
			  .msg = m, .msg_out = m, .call = write ? do_recvmsg : do_sendmsg };
	return run(&x, m->msg_iov, (int)m->msg_iovlen);
}

UF_SHIM_EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	ssize_t r;
	if (!uf__shim_on() || !m || m->msg_iovlen > INT_MAX)
		r = uf__real_recvmsg(fd, m, flags);
	else
		r = msg_run(fd, m, flags, 1);
	/* Descriptors that came with it may be another process's contexts
	 * (passed.c): looked at only when there is control data. */
	if (r >= 0 && m && m->msg_controllen)
		uf__shim_passed_received(m);
	return r;
}

UF_SHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	if (!uf__shim_on() || !m || m->msg_iovlen > INT_MAX)
		return uf__real_sendmsg(fd, m, flags);
	struct msghdr copy = *m;
	return msg_run(fd, &copy, flags, 0);
}

UF_SHIM_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a,
				socklen_t *al)
{
	if (!uf__shim_on())
		return uf__real_recvfrom(fd, buf, n, flags, a, al);
	struct iovec v = { buf, n };
	struct msghdr m = { .msg_name = a, .msg_namelen = (a && al) ? *al : 0, .msg_iov = &v,
			    .msg_iovlen = 1 };
	ssize_t r = msg_run(fd, &m, flags, 1);
	if (r >= 0 && a && al)
		*al = m.msg_namelen;
	return r;
}

UF_SHIM_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	if (!uf__shim_on())
		return uf__real_recv(fd, buf, n, flags);
	return recvfrom(fd, buf, n, flags, NULL, NULL);
}

UF_SHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
			      socklen_t al)
{
	if (!uf__shim_on())
		return uf__real_sendto(fd, buf, n, flags, a, al);
	struct iovec v = { (void *)buf, n };
	struct msghdr m = { .msg_name = (void *)a, .msg_namelen = a ? al : 0, .msg_iov = &v,
			    .msg_iovlen = 1 };
	return msg_run(fd, &m, flags, 0);
}

UF_SHIM_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	if (!uf__shim_on())
		return uf__real_send(fd, buf, n, flags);
	return sendto(fd, buf, n, flags, NULL, 0);
}
