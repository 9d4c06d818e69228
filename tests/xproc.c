/* SPDX-License-Identifier: MIT */
/*
 * xproc.c - a descriptor served from another process: the target (the
 * test) opens the context and registers its memory; a monitor process
 * receives the descriptor over SCM_RIGHTS and resolves the faults, as
 * Firecracker's page server, CRIU's lazy-pages daemon or QEMU do.
 *
 * The monitor is forked before the context exists (so it knows nothing of
 * it but the descriptor) and runs whatever the test asks: an ioctl, a read,
 * a poll, raw bytes written to the descriptor.  Every case runs on both
 * engines and asserts the kernel's results.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "lib/fault.h"
#include "user/wire.h"

/* ------------------------------------------------------------------------ */
/* The monitor process                                                      */

enum mon_op { M_GIVE, M_IOCTL, M_READ, M_POLL, M_WRITE, M_CLOSE, M_HELLO_RAW, M_SETUID, M_USE };

/* How M_IOCTL treats the argument's pointers. */
#define M_SRC_DATA	1	/* UFFDIO_COPY: src = the data sent, in the monitor */
#define M_SRC_SHORT	2	/* ... followed by an unreadable page */
#define M_ARG_NULL	4	/* pass NULL as the argument */

struct mon_cmd {
	int op;
	int flags;
	unsigned long request;
	int timeout_ms;
	unsigned n;
	size_t arg_len;
	size_t data_len;
	_Alignas(8) unsigned char arg[64];
};

struct mon_res {
	long long ret;
	int revents;
	_Alignas(8) unsigned char arg[64];
	unsigned nmsg;
	struct uffd_msg msg[8];
};

struct mon {
	pid_t pid;
	int ctl;
};

/* The largest source a test sends the monitor: two huge pages and more. */
#define DATA_MAX (8u << 20)

/* A raw hello, as a hostile peer would write it: returns the channel or -1. */
static int raw_hello(int fd)
{
	int p[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, p) < 0)
		return -1;
	struct uu_hello h;
	memset(&h, 0, sizeof(h));
	h.magic = UU_HELLO_MAGIC;
	h.version = UU_WIRE_VERSION;
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
	ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);
	close(p[1]);
	struct uu_welcome w;
	struct pollfd pf = { p[0], POLLIN, 0 };
	if (n != sizeof(h) || poll(&pf, 1, 5000) != 1 || recv(p[0], &w, sizeof(w), 0) != sizeof(w)) {
		close(p[0]);
		return -1;
	}
	return p[0];
}

static void mon_serve(int ctl)
{
	int fd = -1;
	char *data = mmap(NULL, DATA_MAX + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mon_cmd c;
	while (recv(ctl, &c, sizeof(c), 0) == sizeof(c)) {
		struct mon_res r;
		memset(&r, 0, sizeof(r));
		if (c.data_len && recv(ctl, data, c.data_len, MSG_WAITALL) != (ssize_t)c.data_len)
			break;
		switch (c.op) {
		case M_GIVE:
			fd = t_recv_fd(ctl);
			r.ret = fd;
			break;
		case M_IOCTL: {
			_Alignas(8) unsigned char arg[64];
			memcpy(arg, c.arg, sizeof(arg));
			if (c.flags & (M_SRC_DATA | M_SRC_SHORT)) {
				/* The source ends at an unreadable page if asked. */
				char *src = data;
				if (c.flags & M_SRC_SHORT) {
					src = data + DATA_MAX - c.data_len;
					memmove(src, data, c.data_len);
					mprotect(data + DATA_MAX, 4096, PROT_NONE);
				}
				((struct uffdio_copy *)(void *)arg)->src = (uintptr_t)src;
			}
			r.ret = uf_ioctl(fd, c.request, (c.flags & M_ARG_NULL) ? NULL : arg);
			memcpy(r.arg, arg, sizeof(arg));
			if (c.flags & (M_SRC_DATA | M_SRC_SHORT))
				((struct uffdio_copy *)(void *)r.arg)->src = 0;
			break;
		}
		case M_READ: {
			struct pollfd pf = { fd, POLLIN, 0 };
			poll(&pf, 1, c.timeout_ms);
			r.revents = pf.revents;
			r.ret = uf_read(fd, r.msg, c.n ? c.n : 1);
			r.nmsg = r.ret > 0 ? (unsigned)r.ret : 0;
			break;
		}
		case M_POLL: {
			struct pollfd pf = { fd, POLLIN | POLLOUT, 0 };
			r.ret = poll(&pf, 1, c.timeout_ms);
			r.revents = pf.revents;
			break;
		}
		case M_WRITE:
			r.ret = write(fd, data, c.data_len) < 0 ? -errno : (long long)c.data_len;
			break;
		case M_SETUID:
			r.ret = setgid(c.n) < 0 || setuid(c.n) < 0 ? -errno : 0;
			break;
		case M_CLOSE:
			r.ret = uf_close(fd);
			fd = -1;
			break;
		case M_USE:
			/* Another descriptor of ours from now on (a FORK
			 * event's); the old number comes back. */
			r.ret = fd;
			fd = (int)c.n;
			r.revents = fcntl(fd, F_GETFD);
			break;
		case M_HELLO_RAW:
			/* The rest of this op speaks the wire itself: the
			 * requests to send came as data; answer each one. */
			{
				int ch = raw_hello(fd);
				r.ret = ch < 0 ? -1 : 0;
				size_t off = 0;
				unsigned k = 0;
				while (ch >= 0 && off + sizeof(uint32_t) <= c.data_len && k < 8) {
					uint32_t len;
					memcpy(&len, data + off, sizeof(len));
					off += sizeof(len);
					if (off + len > c.data_len)
						break;
					struct uu_rep rep;
					memset(&rep, 0, sizeof(rep));
					if (send(ch, data + off, len, MSG_NOSIGNAL) == (ssize_t)len) {
						struct pollfd pf = { ch, POLLIN, 0 };
						if (poll(&pf, 1, 5000) == 1)
							(void)!recv(ch, &rep, sizeof(rep), MSG_TRUNC);
					}
					/* Report each answer's return value. */
					r.msg[k].arg.reserved.reserved1 = (uint64_t)(int64_t)rep.ret;
					r.msg[k].arg.reserved.reserved2 = rep.magic;
					k++;
					off += len;
				}
				r.nmsg = k;
				if (ch >= 0)
					close(ch);
			}
			break;
		}
		if (send(ctl, &r, sizeof(r), MSG_NOSIGNAL) != sizeof(r))
			break;
	}
	_exit(0);
}

/* Fork the monitor: before the context exists, so it knows nothing of it
 * but the descriptor it will be given. */
static struct mon mon_start(void)
{
	int sv[2];
	T_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid_t pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		mon_serve(sv[1]);
	}
	close(sv[1]);
	return (struct mon){ pid, sv[0] };
}

static struct mon_res mon_call(struct mon *m, struct mon_cmd *c, const void *data)
{
	struct mon_res r;
	if (send(m->ctl, c, sizeof(*c), MSG_NOSIGNAL) != sizeof(*c) ||
	    (c->data_len && send(m->ctl, data, c->data_len, MSG_NOSIGNAL) != (ssize_t)c->data_len))
		T_FAIL("the monitor is gone");
	if (c->op == M_GIVE)
		T_ASSERT(t_send_fd(m->ctl, (int)c->n) == 0);
	if (recv(m->ctl, &r, sizeof(r), MSG_WAITALL) != sizeof(r))
		T_FAIL("the monitor died");
	return r;
}

static void mon_give(struct mon *m, int fd)
{
	struct mon_cmd c = { .op = M_GIVE, .n = (unsigned)fd };
	T_ASSERT(mon_call(m, &c, NULL).ret >= 0);
}

/* An ioctl run in the monitor; *arg is updated as the monitor's was. */
static long long mon_ioctl(struct mon *m, unsigned long request, void *arg, size_t len, int flags,
			   const void *data, size_t data_len)
{
	struct mon_cmd c = { .op = M_IOCTL, .request = request, .flags = flags, .arg_len = len,
			     .data_len = data_len };
	memcpy(c.arg, arg, len);
	struct mon_res r = mon_call(m, &c, data);
	memcpy(arg, r.arg, len);
	return r.ret;
}

static struct mon_res mon_read(struct mon *m, unsigned n, int timeout_ms)
{
	struct mon_cmd c = { .op = M_READ, .n = n, .timeout_ms = timeout_ms };
	return mon_call(m, &c, NULL);
}

static int mon_poll(struct mon *m, int timeout_ms)
{
	struct mon_cmd c = { .op = M_POLL, .timeout_ms = timeout_ms };
	return mon_call(m, &c, NULL).revents;
}

static void mon_stop(struct mon *m)
{
	close(m->ctl);
	kill(m->pid, SIGKILL);
	waitpid(m->pid, NULL, 0);
}

static long long mon_copy(struct mon *m, void *dst, const void *data, size_t len, __u64 mode, __s64 *res)
{
	struct uffdio_copy a = { .dst = f_ul(dst), .len = len, .mode = mode, .copy = F_SENTINEL };
	long long r = mon_ioctl(m, UFFDIO_COPY, &a, sizeof(a), M_SRC_DATA, data, len);
	*res = a.copy;
	return r;
}

/* The common set-up: a monitor, then a context with `mode` on a region of
 * npages, given to the monitor. */
struct xp {
	struct mon m;
	int fd;
	struct t_region r;
};

static void xp_setup(const struct t_env *env, struct xp *x, size_t npages, __u64 mode, __u64 extra)
{
	f_need_mode(env, mode);
	x->m = mon_start();
	x->fd = f_uffd(env, mode, extra);
	t_region_map(env, npages, &x->r);
	T_OK(uf_register(x->fd, x->r.addr, x->r.len, mode, NULL));
	mon_give(&x->m, x->fd);
}

/* The same for MINOR faults: a region of two pages whose file holds its
 * first `filled` pages (pattern seed) before the registration. */
static void xp_setup_minor(const struct t_env *env, struct xp *x, size_t filled, unsigned seed)
{
	f_need_mode(env, F_MODE_MINOR);
	x->m = mon_start();
	x->fd = f_uffd(env, F_MODE_MINOR, 0);
	t_region_map(env, 2, &x->r);
	f_region_alias(&x->r);
	t_fill(x->r.alias, filled * x->r.page, seed);
	T_OK(uf_register(x->fd, x->r.addr, x->r.len, F_MODE_MINOR, NULL));
	mon_give(&x->m, x->fd);
}

static void xp_fault(struct mon *m, struct uffd_msg *msg, void *expect_page)
{
	struct mon_res r = mon_read(m, 1, 5000);
	if (r.ret != 1) {
		/* Say whether the message came late or never (seen once,
		 * under load: POLLIN, then EAGAIN; not reproduced since). */
		struct mon_res again = mon_read(m, 1, 5000);
		t_log("read: %lld with revents %#x; read again: %lld", r.ret, (unsigned)r.revents,
		      again.ret);
	}
	T_EQ(r.ret, 1);
	*msg = r.msg[0];
	T_EQ(msg->event, UFFD_EVENT_PAGEFAULT);
	T_EQX(F_MSG_ADDR(msg), f_ul(expect_page));
}

/* ------------------------------------------------------------------------ */
/* Cases                                                                    */

/* A fault in the target, read and resolved with UFFDIO_COPY by the monitor. */
static void copy_resolves(const struct t_env *env)
{
	struct xp x;
	/* hugetlb: fewer pages, as the huge pages are shared with the machine. */
	xp_setup(env, &x, t_mem_is_hugetlb(env->mem) ? 4 : 8, F_MODE_M, 0);
	char *page = x.r.addr + 3 * x.r.page;
	struct f_toucher t;
	f_touch_start(&t, page, 0, 0);
	struct uffd_msg msg;
	xp_fault(&x.m, &msg, page);
	T_EQ(msg.arg.pagefault.flags, 0);
	char *src = t_buffer(x.r.page, 7);
	__s64 res;
	T_OK(mon_copy(&x.m, page, src, x.r.page, 0, &res));
	T_EQ(res, (long long)x.r.page);
	f_touch_finish(&t, 5000);
	T_EQ(t.seen, (unsigned char)src[0]);
	T_ASSERT(memcmp(page, src, x.r.page) == 0);
	/* The doorbell went with the message: nothing to read, never writable. */
	T_EQ(mon_poll(&x.m, 0), 0);
	mon_stop(&x.m);
}

/* ZEROPAGE, WAKE after a DONTWAKE copy, and the result fields. */
static void zeropage_and_wake(const struct t_env *env)
{
	struct xp x;
	xp_setup(env, &x, 4, F_MODE_M, 0);
	char *p0 = x.r.addr, *p1 = x.r.addr + x.r.page;
	struct f_toucher t;
	f_touch_start(&t, p0, 0, 0);
	struct uffd_msg msg;
	xp_fault(&x.m, &msg, p0);
	struct uffdio_zeropage z = { .range = { f_ul(p0), x.r.page }, .zeropage = F_SENTINEL };
	T_OK(mon_ioctl(&x.m, UFFDIO_ZEROPAGE, &z, sizeof(z), 0, NULL, 0));
	T_EQ(z.zeropage, (long long)x.r.page);
	f_touch_finish(&t, 5000);
	T_EQ(t.seen, 0);

	f_touch_start(&t, p1, 0, 0);
	xp_fault(&x.m, &msg, p1);
	char *src = t_buffer(x.r.page, 9);
	__s64 res;
	T_OK(mon_copy(&x.m, p1, src, x.r.page, UFFDIO_COPY_MODE_DONTWAKE, &res));
	f_touch_blocked(&t, 100);
	struct uffdio_range w = { f_ul(p1), x.r.page };
	T_OK(mon_ioctl(&x.m, UFFDIO_WAKE, &w, sizeof(w), 0, NULL, 0));
	f_touch_finish(&t, 5000);
	T_EQ(t.seen, (unsigned char)src[0]);
	mon_stop(&x.m);
}

/* COPY with MODE_WP from the monitor, a write in the target: a WP fault,
 * cleared from the monitor.  The fault is the monitor's to read, every
 * time: the target's engine answers before it wakes (serve.c), and its
 * late wake must not take the new fault off the queue unread (it did:
 * POLLIN, then EAGAIN, then the fault again, 8 runs in 60 of
 * hugetlb_ioctls under load).  Many pages, for many chances. */
static void writeprotect(const struct t_env *env)
{
	/* hugetlb: fewer pages, as the huge pages are shared with the machine. */
	const int N = t_mem_is_hugetlb(env->mem) ? 4 : 16;
	struct xp x;
	xp_setup(env, &x, (size_t)N, F_MODE_M | F_MODE_WP, 0);
	char *src = t_buffer(x.r.page, 4);
	for (int i = 0; i < N; i++) {
		char *p = x.r.addr + i * x.r.page;
		__s64 res;
		T_OK(mon_copy(&x.m, p, src, x.r.page, UFFDIO_COPY_MODE_WP, &res));
		struct f_toucher t;
		f_touch_start(&t, p, 1, (unsigned char)i);
		struct uffd_msg msg;
		xp_fault(&x.m, &msg, p);
		T_EQX(msg.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP);
		struct uffdio_writeprotect wp = { .range = { f_ul(p), x.r.page }, .mode = 0 };
		T_OK(mon_ioctl(&x.m, UFFDIO_WRITEPROTECT, &wp, sizeof(wp), 0, NULL, 0));
		f_touch_finish(&t, 5000);
		T_EQ((unsigned char)p[0], (unsigned char)i);
		T_ASSERT(memcmp(p + 1, src + 1, x.r.page - 1) == 0);
		/* The one fault, read once: nothing more to read. */
		T_EQ(mon_poll(&x.m, 0) & POLLIN, 0);
	}
	munmap(src, x.r.page);
	mon_stop(&x.m);
}

/* MINOR faults on shared memory, resolved with UFFDIO_CONTINUE. */
static void minor_continue(const struct t_env *env)
{
	struct xp x;
	xp_setup_minor(env, &x, 2, 5);
	struct f_toucher t;
	f_touch_start(&t, x.r.addr, 0, 0);
	struct uffd_msg msg;
	xp_fault(&x.m, &msg, x.r.addr);
	T_EQX(msg.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_MINOR);
	struct uffdio_continue c = { .range = { f_ul(x.r.addr), x.r.page }, .mapped = F_SENTINEL };
	T_OK(mon_ioctl(&x.m, UFFDIO_CONTINUE, &c, sizeof(c), 0, NULL, 0));
	T_EQ(c.mapped, (long long)x.r.page);
	f_touch_finish(&t, 5000);
	T_ASSERT(t_check(x.r.addr, x.r.page, 5));
	mon_stop(&x.m);
}

/* POISON from the monitor: the result, and SIGBUS in the target. */
static void poison(const struct t_env *env)
{
	struct xp x;
	xp_setup(env, &x, 2, F_MODE_M, UFFD_FEATURE_POISON);
	struct uffdio_poison p = { .range = { f_ul(x.r.addr), x.r.page }, .updated = F_SENTINEL };
	T_OK(mon_ioctl(&x.m, UFFDIO_POISON, &p, sizeof(p), 0, NULL, 0));
	T_EQ(p.updated, (long long)x.r.page);
	p.updated = F_SENTINEL;
	T_EQ(mon_ioctl(&x.m, UFFDIO_POISON, &p, sizeof(p), 0, NULL, 0), -EEXIST);
	int code;
	void *where;
	T_EQ(f_probe_sigbus(x.r.addr, 0, &code, &where), 1);
	T_EQ(code, BUS_ADRERR);
	T_EQX(f_ul(where), f_ul(x.r.addr));
	mon_stop(&x.m);
}

/* MOVE asked by another process: the kernel refuses moves across address
 * spaces (EINVAL, the result field untouched); the page stays. */
static void move_refused(const struct t_env *env)
{
	struct xp x;
	xp_setup(env, &x, 4, F_MODE_M, UFFD_FEATURE_MOVE);
	f_no_thp(x.r.addr, x.r.len);
	char *src = t_buffer(x.r.page, 11);
	__s64 res;
	T_OK(mon_copy(&x.m, x.r.addr, src, x.r.page, 0, &res));
	char *dst = x.r.addr + 2 * x.r.page;
	struct uffdio_move mv = { .dst = f_ul(dst), .src = f_ul(x.r.addr), .len = x.r.page,
				  .move = F_SENTINEL };
	T_EQ(mon_ioctl(&x.m, UFFDIO_MOVE, &mv, sizeof(mv), 0, NULL, 0), -EINVAL);
	T_EQ(mv.move, F_SENTINEL);
	T_ASSERT(memcmp(x.r.addr, src, x.r.page) == 0);
	/* In the target's own process the same move works. */
	T_OK(uf_move(x.fd, dst, x.r.addr, x.r.page, 0, &res));
	T_EQ(res, (long long)x.r.page);
	T_ASSERT(memcmp(dst, src, x.r.page) == 0);
	mon_stop(&x.m);
}

/* The monitor registers and unregisters the target's memory itself. */
static void register_from_monitor(const struct t_env *env)
{
	f_need_mode(env, F_MODE_M);
	struct mon m = mon_start();
	int fd = f_uffd(env, F_MODE_M, 0);
	struct t_region r;
	t_region_map(env, 4, &r);
	mon_give(&m, fd);
	struct uffdio_register reg = { .range = { f_ul(r.addr), r.len }, .mode = F_MODE_M };
	T_OK(mon_ioctl(&m, UFFDIO_REGISTER, &reg, sizeof(reg), 0, NULL, 0));
	T_EQX(reg.ioctls, t_expected_ioctls(env->mem, F_MODE_M));
	struct f_toucher t;
	f_touch_start(&t, r.addr + r.page, 0, 0);
	struct uffd_msg msg;
	xp_fault(&m, &msg, r.addr + r.page);
	char *src = t_buffer(r.page, 13);
	__s64 res;
	T_OK(mon_copy(&m, r.addr + r.page, src, r.page, 0, &res));
	f_touch_finish(&t, 5000);
	struct uffdio_range ur = { f_ul(r.addr), r.len };
	T_OK(mon_ioctl(&m, UFFDIO_UNREGISTER, &ur, sizeof(ur), 0, NULL, 0));
	/* Ordinary memory now: a missing page reads as zeros. */
	T_EQ(r.addr[3 * r.page], 0);
	mon_stop(&m);
}

/* Bad arguments from the monitor: the kernel's errors, and nothing written
 * where it was not registered. */
static void bad_arguments(const struct t_env *env)
{
	struct xp x;
	xp_setup(env, &x, 4, F_MODE_M, 0);
	char *other = mmap(NULL, x.r.page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(other != MAP_FAILED);
	memset(other, 0x5a, x.r.page);
	char *src = t_buffer(x.r.page, 1);
	__s64 res;
	T_EQ(mon_copy(&x.m, other, src, x.r.page, 0, &res), -ENOENT);
	T_EQ((unsigned char)other[100], 0x5a);
	T_EQ(mon_copy(&x.m, x.r.addr + 1, src, x.r.page, 0, &res), -EINVAL);
	T_EQ(res, F_SENTINEL);
	T_EQ(mon_copy(&x.m, x.r.addr, src, x.r.page, 1u << 7, &res), -EINVAL);
	/* A source the monitor cannot read: EFAULT in the result field. */
	struct uffdio_copy a = { .dst = f_ul(x.r.addr), .src = 4096, .len = x.r.page, .copy = F_SENTINEL };
	T_EQ(mon_ioctl(&x.m, UFFDIO_COPY, &a, sizeof(a), 0, NULL, 0), -EFAULT);
	T_EQ(a.copy, -EFAULT);
	/* No argument at all. */
	T_EQ(mon_ioctl(&x.m, UFFDIO_COPY, &a, sizeof(a), M_ARG_NULL, NULL, 0), -EFAULT);
	T_EQ(mon_ioctl(&x.m, UFFDIO_ZEROPAGE, &a, sizeof(a), M_ARG_NULL, NULL, 0), -EFAULT);
	/* Not a userfaultfd request. */
	T_EQ(mon_ioctl(&x.m, _IOR(UFFDIO, 0x3f, __u64), &a, sizeof(__u64), 0, NULL, 0), -EINVAL);
	/* A second UFFDIO_API: EINVAL. */
	struct uffdio_api api = { .api = UFFD_API };
	T_EQ(mon_ioctl(&x.m, UFFDIO_API, &api, sizeof(api), 0, NULL, 0), -EINVAL);
	/* Nothing pending: a non-blocking read says EAGAIN. */
	struct mon_res rr = mon_read(&x.m, 1, 0);
	T_EQ(rr.ret, -EAGAIN);
	munmap(other, x.r.page);
	mon_stop(&x.m);
}

/* One UFFDIO_COPY of 1 MiB (more than one request's worth on the user
 * engine), and one whose source turns unreadable after 100 KiB. */
static void large_and_short_copy(const struct t_env *env)
{
	struct xp x;
	size_t n = (1u << 20) / 4096;
	xp_setup(env, &x, n + 32, F_MODE_M, 0);
	char *src = t_buffer(1u << 20, 17);
	__s64 res;
	T_OK(mon_copy(&x.m, x.r.addr, src, 1u << 20, 0, &res));
	T_EQ(res, 1 << 20);
	T_ASSERT(memcmp(x.r.addr, src, 1u << 20) == 0);

	char *dst = x.r.addr + (1u << 20);
	struct uffdio_copy a = { .dst = f_ul(dst), .len = 32 * 4096, .copy = F_SENTINEL };
	T_EQ(mon_ioctl(&x.m, UFFDIO_COPY, &a, sizeof(a), M_SRC_SHORT, src, 25 * 4096), -EAGAIN);
	T_EQ(a.copy, 25 * 4096);
	T_ASSERT(memcmp(dst, src, 25 * 4096) == 0);
	mon_stop(&x.m);
}

/* UFFDIO_COPY into hugetlb from the monitor (on the user engine its source
 * crosses in pieces of a huge page, wire.h): the kernel's results for a
 * copy of several huge pages, EEXIST on the first page and on a later one,
 * a source that turns unreadable inside the second huge page or the first,
 * or is unreadable from its start, a length that is no huge page, and
 * DONTWAKE then WAKE. */
static void hugetlb_copy(const struct t_env *env)
{
	struct xp x;
	xp_setup(env, &x, 6, F_MODE_M, 0);
	const size_t pg = x.r.page;
	char *p = x.r.addr;
	char *src = t_buffer(2 * pg, 41);
	__s64 res;
	/* Two huge pages in one call. */
	T_OK(mon_copy(&x.m, p, src, 2 * pg, 0, &res));
	T_EQ(res, (__s64)(2 * pg));
	T_ASSERT(memcmp(p, src, 2 * pg) == 0);
	/* Onto a page that is there: EEXIST, in the field too. */
	T_EQ(mon_copy(&x.m, p, src, pg, 0, &res), -EEXIST);
	T_EQ(res, -EEXIST);
	/* The second page there: the first copied, then EAGAIN. */
	T_OK(mon_copy(&x.m, p + 3 * pg, src + pg, pg, 0, &res));
	T_EQ(mon_copy(&x.m, p + 2 * pg, src, 2 * pg, 0, &res), -EAGAIN);
	T_EQ(res, (__s64)pg);
	T_ASSERT(memcmp(p + 2 * pg, src, pg) == 0);
	T_ASSERT(memcmp(p + 3 * pg, src + pg, pg) == 0);
	/* A source readable for a page and a half: the first page, EAGAIN. */
	struct uffdio_copy a = { .dst = f_ul(p + 4 * pg), .len = 2 * pg, .copy = F_SENTINEL };
	T_EQ(mon_ioctl(&x.m, UFFDIO_COPY, &a, sizeof(a), M_SRC_SHORT, src, pg + pg / 2), -EAGAIN);
	T_EQ(a.copy, (__s64)pg);
	T_ASSERT(memcmp(p + 4 * pg, src, pg) == 0);
	/* Readable for less than a huge page (more or less than a request's
	 * 64 KiB): EFAULT, nothing copied. */
	static const size_t shorts[] = { 10 * 1024, 100 * 1024, 2 * 1024 * 1024 - 4096 };
	for (size_t i = 0; i < sizeof(shorts) / sizeof(shorts[0]); i++) {
		if (shorts[i] >= pg)
			continue;
		a = (struct uffdio_copy){ .dst = f_ul(p + 5 * pg), .len = pg, .copy = F_SENTINEL };
		T_EQ(mon_ioctl(&x.m, UFFDIO_COPY, &a, sizeof(a), M_SRC_SHORT, src, shorts[i]), -EFAULT);
		T_EQ(a.copy, -EFAULT);
	}
	/* Unreadable from the start. */
	a = (struct uffdio_copy){ .dst = f_ul(p + 5 * pg), .src = 4096, .len = pg, .copy = F_SENTINEL };
	T_EQ(mon_ioctl(&x.m, UFFDIO_COPY, &a, sizeof(a), 0, NULL, 0), -EFAULT);
	T_EQ(a.copy, -EFAULT);
	/* Not a whole huge page: EINVAL, written to the field by the fill. */
	T_EQ(mon_copy(&x.m, p + 5 * pg, src, pg / 2, 0, &res), -EINVAL);
	T_EQ(res, -EINVAL);
	/* DONTWAKE, then WAKE. */
	struct f_toucher t;
	f_touch_start(&t, p + 5 * pg + 12345, 0, 0);
	struct uffd_msg msg;
	xp_fault(&x.m, &msg, p + 5 * pg);
	T_OK(mon_copy(&x.m, p + 5 * pg, src + pg, pg, UFFDIO_COPY_MODE_DONTWAKE, &res));
	T_EQ(res, (__s64)pg);
	f_touch_blocked(&t, 100);
	struct uffdio_range w = { f_ul(p + 5 * pg), 4096 };
	T_OK(mon_ioctl(&x.m, UFFDIO_WAKE, &w, sizeof(w), 0, NULL, 0));
	f_touch_finish(&t, 5000);
	T_EQ(t.seen, (unsigned char)src[pg + 12345]);
	T_ASSERT(memcmp(p + 5 * pg, src + pg, pg) == 0);
	mon_stop(&x.m);
}

/* The other ioctls a monitor runs on hugetlb: ZEROPAGE is EINVAL (no zero
 * huge page; the field says so), COPY with MODE_WP and WRITEPROTECT (whole
 * huge pages only), POISON. */
static void hugetlb_ioctls(const struct t_env *env)
{
	struct xp x;
	xp_setup(env, &x, 3, F_MODE_M | F_MODE_WP, UFFD_FEATURE_POISON);
	const size_t pg = x.r.page;
	char *p = x.r.addr;
	struct uffdio_zeropage z = { .range = { f_ul(p), pg }, .zeropage = F_SENTINEL };
	T_EQ(mon_ioctl(&x.m, UFFDIO_ZEROPAGE, &z, sizeof(z), 0, NULL, 0), -EINVAL);
	T_EQ(z.zeropage, -EINVAL);

	char *src = t_buffer(pg, 43);
	__s64 res;
	T_OK(mon_copy(&x.m, p, src, pg, UFFDIO_COPY_MODE_WP, &res));
	T_EQ(res, (__s64)pg);
	struct f_toucher t;
	f_touch_start(&t, p + 777, 1, 0x66);
	struct uffd_msg msg;
	xp_fault(&x.m, &msg, p);
	T_EQX(msg.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP);
	struct uffdio_writeprotect wp = { .range = { f_ul(p + 4096), 4096 }, .mode = 0 };
	T_EQ(mon_ioctl(&x.m, UFFDIO_WRITEPROTECT, &wp, sizeof(wp), 0, NULL, 0), -EINVAL);
	f_touch_blocked(&t, 50);
	wp.range = (struct uffdio_range){ f_ul(p), pg };
	T_OK(mon_ioctl(&x.m, UFFDIO_WRITEPROTECT, &wp, sizeof(wp), 0, NULL, 0));
	f_touch_finish(&t, 5000);
	T_EQ((unsigned char)p[777], 0x66);
	T_ASSERT(memcmp(p, src, 777) == 0);
	/* Protected again from the monitor: the next write faults. */
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	T_OK(mon_ioctl(&x.m, UFFDIO_WRITEPROTECT, &wp, sizeof(wp), 0, NULL, 0));
	f_touch_start(&t, p + 4096, 1, 0x67);
	xp_fault(&x.m, &msg, p);
	wp.mode = 0;
	T_OK(mon_ioctl(&x.m, UFFDIO_WRITEPROTECT, &wp, sizeof(wp), 0, NULL, 0));
	f_touch_finish(&t, 5000);
	T_EQ((unsigned char)p[4096], 0x67);

	struct uffdio_poison po = { .range = { f_ul(p + pg), pg }, .updated = F_SENTINEL };
	T_OK(mon_ioctl(&x.m, UFFDIO_POISON, &po, sizeof(po), 0, NULL, 0));
	T_EQ(po.updated, (__s64)pg);
	po.updated = F_SENTINEL;
	T_EQ(mon_ioctl(&x.m, UFFDIO_POISON, &po, sizeof(po), 0, NULL, 0), -EEXIST);
	T_EQ(po.updated, -EEXIST);
	po.range = (struct uffdio_range){ f_ul(p + 2 * pg), 4096 };
	po.updated = F_SENTINEL;
	T_EQ(mon_ioctl(&x.m, UFFDIO_POISON, &po, sizeof(po), 0, NULL, 0), -EINVAL);
	T_EQ(po.updated, -EINVAL);
	int code;
	void *where;
	T_EQ(f_probe_sigbus(p + pg + 100, 0, &code, &where), 1);
	T_EQ(code, BUS_ADRERR);
	mon_stop(&x.m);
}

/* MINOR faults on hugetlb, resolved with UFFDIO_CONTINUE from the monitor
 * (a page the file does not have: EFAULT). */
static void hugetlb_continue(const struct t_env *env)
{
	struct xp x;
	xp_setup_minor(env, &x, 1, 47);
	const size_t pg = x.r.page;
	struct f_toucher t;
	f_touch_start(&t, x.r.addr + 5000, 0, 0);
	struct uffd_msg msg;
	xp_fault(&x.m, &msg, x.r.addr);
	T_EQX(msg.arg.pagefault.flags, UFFD_PAGEFAULT_FLAG_MINOR);
	struct uffdio_continue c = { .range = { f_ul(x.r.addr), 4096 }, .mapped = F_SENTINEL };
	T_EQ(mon_ioctl(&x.m, UFFDIO_CONTINUE, &c, sizeof(c), 0, NULL, 0), -EINVAL);
	T_EQ(c.mapped, -EINVAL);
	c.range.len = pg;
	c.mapped = F_SENTINEL;
	T_OK(mon_ioctl(&x.m, UFFDIO_CONTINUE, &c, sizeof(c), 0, NULL, 0));
	T_EQ(c.mapped, (__s64)pg);
	f_touch_finish(&t, 5000);
	T_ASSERT(t_check(x.r.addr, pg, 47));
	c.range.start = f_ul(x.r.addr + pg);
	c.mapped = F_SENTINEL;
	T_EQ(mon_ioctl(&x.m, UFFDIO_CONTINUE, &c, sizeof(c), 0, NULL, 0), -EFAULT);
	T_EQ(c.mapped, -EFAULT);
	mon_stop(&x.m);
}

/* REMOVE and UNMAP events read by the monitor; fills fail with EAGAIN
 * while one waits. */
struct unmapper {
	char *addr;
	size_t len;
	int remove;
	atomic_int done;
};

static void *do_unmap(void *arg)
{
	struct unmapper *u = arg;
	if (u->remove)
		uf_madvise(u->addr, u->len, MADV_DONTNEED);
	else
		uf_munmap(u->addr, u->len);
	atomic_store(&u->done, 1);
	return NULL;
}

static void events(const struct t_env *env)
{
	struct xp x;
	xp_setup(env, &x, 4, F_MODE_M, UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP);
	char *src = t_buffer(x.r.page, 19);
	__s64 res;
	T_OK(mon_copy(&x.m, x.r.addr, src, x.r.page, 0, &res));

	struct unmapper u = { x.r.addr, x.r.page, 1, 0 };
	t_thread th;
	t_spawn(&th, do_unmap, &u);
	T_ASSERT(mon_poll(&x.m, 5000) & POLLIN);
	T_ASSERT(!atomic_load(&u.done));
	T_EQ(mon_copy(&x.m, x.r.addr + x.r.page, src, x.r.page, 0, &res), -EAGAIN);
	T_EQ(res, -EAGAIN);
	struct mon_res r = mon_read(&x.m, 1, 5000);
	T_EQ(r.ret, 1);
	T_EQ(r.msg[0].event, UFFD_EVENT_REMOVE);
	T_EQX(r.msg[0].arg.remove.start, f_ul(x.r.addr));
	T_EQX(r.msg[0].arg.remove.end, f_ul(x.r.addr + x.r.page));
	t_join(&th);

	struct unmapper v = { x.r.addr + 2 * x.r.page, 2 * x.r.page, 0, 0 };
	t_spawn(&th, do_unmap, &v);
	r = mon_read(&x.m, 1, 5000);
	T_EQ(r.ret, 1);
	T_EQ(r.msg[0].event, UFFD_EVENT_UNMAP);
	T_EQX(r.msg[0].arg.remove.start, f_ul(v.addr));
	T_EQX(r.msg[0].arg.remove.end, f_ul(v.addr + v.len));
	t_join(&th);
	mon_stop(&x.m);
}

/* The monitor is killed while a thread waits on a fault it has read: the
 * target's last copy of the descriptor is gone, so the context is released
 * and the thread goes on with ordinary memory. */
static void handler_killed(const struct t_env *env)
{
	struct xp x;
	xp_setup(env, &x, 4, F_MODE_M, 0);
	T_OK(uf_close(x.fd));
	struct f_toucher t;
	f_touch_start(&t, x.r.addr + x.r.page, 0, 0);
	struct uffd_msg msg;
	xp_fault(&x.m, &msg, x.r.addr + x.r.page);
	f_touch_blocked(&t, 50);
	kill(x.m.pid, SIGKILL);
	waitpid(x.m.pid, NULL, 0);
	close(x.m.ctl);
	f_touch_finish(&t, 5000);
	T_EQ(t.seen, 0);
	/* Ordinary memory: writes stay, other missing pages read zeros. */
	x.r.addr[0] = 42;
	T_EQ(x.r.addr[0], 42);
	T_EQ(x.r.addr[3 * x.r.page], 0);
}

/* A peer writing garbage into the descriptor: the kernel refuses it
 * (EBADF: a userfaultfd is not open for writing).  The user engine's socket
 * takes it and the engine drops it; a datagram too big to keep as the
 * charge may leave the descriptor looking writable until the next hello
 * (docs/LIMITATIONS.md).  Either way the target is unharmed. */
static void garbage_written(const struct t_env *env)
{
	struct xp x;
	xp_setup(env, &x, 2, F_MODE_M, 0);
	static const size_t sizes[] = { 1, 7, 32, 1024, 1025, 4000 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char junk[4000];
		memset(junk, (int)(0xa5 + i), sizeof(junk));
		struct mon_cmd c = { .op = M_WRITE, .data_len = sizes[i] };
		long long r = mon_call(&x.m, &c, junk).ret;
		if (env->engine == UF_ENGINE_KERNEL) {
			T_EQ(r, -EBADF);
			T_EQ(mon_poll(&x.m, 0), 0);
		} else {
			T_ASSERT(r == (long long)sizes[i] || r == -EAGAIN);
		}
	}
	struct f_toucher t;
	f_touch_start(&t, x.r.addr, 0, 0);
	struct uffd_msg msg;
	xp_fault(&x.m, &msg, x.r.addr);
	char *src = t_buffer(x.r.page, 23);
	__s64 res;
	T_OK(mon_copy(&x.m, x.r.addr, src, x.r.page, 0, &res));
	f_touch_finish(&t, 5000);
	T_EQ(t.seen, (unsigned char)src[0]);
	/* The hello put the charge back: neither readable nor writable. */
	T_EQ(mon_poll(&x.m, 0), 0);
	mon_stop(&x.m);
}

/* The user engine's own wire, spoken wrongly on purpose: every malformed
 * request gets EINVAL, an out-of-range one the kernel's error, and the
 * target keeps serving. */
static void hostile_requests(const struct t_env *env)
{
	if (env->engine != UF_ENGINE_USER)
		T_SKIP("the request wire is the user engine's");
	struct xp x;
	xp_setup(env, &x, 2, F_MODE_M, 0);
	char *outside = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(outside != MAP_FAILED);
	memset(outside, 0x3c, 4096);

	static char buf[16384];
	size_t off = 0;
#define PUT(ptr, len) do {							\
	uint32_t l_ = (uint32_t)(len);						\
	memcpy(buf + off, &l_, sizeof(l_));					\
	memcpy(buf + off + sizeof(l_), (ptr), l_);				\
	off += sizeof(l_) + l_;							\
} while (0)
	char tiny[3] = { 1, 2, 3 };
	PUT(tiny, sizeof(tiny));				/* shorter than a header */
	struct uu_req q = { .magic = 0xdeadbeef, .op = UU_OP_READ, .nmsg = 1 };
	PUT(&q, sizeof(q));					/* bad magic */
	q = (struct uu_req){ .magic = UU_REQ_MAGIC, .op = UU_OP_IOCTL, .request = UFFDIO_WAKE,
			     .arg_len = 1000 };
	PUT(&q, sizeof(q));					/* argument too long */
	q = (struct uu_req){ .magic = UU_REQ_MAGIC, .op = UU_OP_READ, .nmsg = 100000 };
	PUT(&q, sizeof(q));					/* too many messages */
	q = (struct uu_req){ .magic = UU_REQ_MAGIC, .op = 99 };
	PUT(&q, sizeof(q));					/* unknown operation */
	struct {
		struct uu_req q;
		struct uffdio_copy a;
		char data[4096];
	} cp;
	memset(&cp, 0x11, sizeof(cp));
	cp.q = (struct uu_req){ .magic = UU_REQ_MAGIC, .op = UU_OP_IOCTL, .request = UFFDIO_COPY,
				.arg_len = sizeof(cp.a), .data_len = 4096 };
	cp.a = (struct uffdio_copy){ .dst = f_ul(outside), .src = 0x10000000, .len = 4096 };
	PUT(&cp, sizeof(cp));					/* outside the ranges */
	cp.q.data_len = 5000;
	PUT(&cp, sizeof(cp));					/* lengths that do not add up */
#undef PUT
	struct mon_cmd c = { .op = M_HELLO_RAW, .data_len = off };
	struct mon_res r = mon_call(&x.m, &c, buf);
	T_EQ(r.ret, 0);
	T_EQ(r.nmsg, 7);
	static const int expect[] = { -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -ENOENT, -EINVAL };
	for (unsigned i = 0; i < 7; i++) {
		T_EQX(r.msg[i].arg.reserved.reserved2, UU_REP_MAGIC);
		T_EQ((int64_t)r.msg[i].arg.reserved.reserved1, expect[i]);
	}
	T_EQ((unsigned char)outside[0], 0x3c);

	/* The target still serves. */
	struct f_toucher t;
	f_touch_start(&t, x.r.addr, 0, 0);
	struct uffd_msg msg;
	xp_fault(&x.m, &msg, x.r.addr);
	char *src = t_buffer(x.r.page, 29);
	__s64 res;
	T_OK(mon_copy(&x.m, x.r.addr, src, x.r.page, 0, &res));
	f_touch_finish(&t, 5000);
	munmap(outside, 4096);
	mon_stop(&x.m);
}

/* Send a hello through the descriptor (in this process: the engine serves
 * its own process's hellos the same way) carrying `chan`. */
static void hello_with(int fd, int chan)
{
	struct uu_hello h;
	memset(&h, 0, sizeof(h));
	h.magic = UU_HELLO_MAGIC;
	h.version = UU_WIRE_VERSION;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &chan, sizeof(int));
	/* Room for a hello or two behind the engine's charge: one sent just
	 * before may be in the way until the engine has taken it (as remote.c,
	 * wait a little). */
	ssize_t n = -1;
	for (int i = 0; i < 5000 && n < 0; i++) {
		n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN)
			break;
		if (n < 0)
			t_msleep(1);
	}
	T_EQ(n, (ssize_t)sizeof(h));
}

/* A channel opened by a real hello: our end. */
static int open_chan(int fd)
{
	int p[2];
	T_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p));
	hello_with(fd, p[1]);
	close(p[1]);
	struct pollfd pf = { .fd = p[0], .events = POLLIN };
	T_EQ(poll(&pf, 1, 5000), 1);
	struct uu_welcome w;
	T_EQ(recv(p[0], &w, sizeof(w), 0), (ssize_t)sizeof(w));
	T_EQ(w.version, UU_WIRE_VERSION);
	return p[0];
}

/* A hello whose channel is the descriptor itself: refused without an
 * answer.  (Served, the engine took the descriptor's own doorbells for
 * requests: a fault was never announced.)  The descriptor still works. */
static void hello_self_refused(const struct t_env *env)
{
	if (env->engine != UF_ENGINE_USER)
		T_SKIP("the hello is the user engine's");
	struct t_region r;
	t_region_map(env, 1, &r);
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	hello_with(fd, fd);
	int other = f_uffd(env, F_MODE_M, 0);
	hello_with(fd, other);
	struct f_toucher t;
	struct uffd_msg m;
	f_touch_start(&t, r.addr, 0, 0);
	f_expect_fault(fd, 5000, &m);
	T_EQX(F_MSG_ADDR(&m), f_ul(r.addr));
	T_OK(uf_zeropage(fd, r.addr, r.page, 0, NULL));
	f_touch_finish(&t, 5000);
	f_expect_no_msg(other, 0);
	uf_close(other);
	uf_close(fd);
	t_region_unmap(&r);
}

/* The last hello carried the descriptor itself (refused): it must not stay
 * queued as the charge, or the descriptor in flight in its own queue would
 * keep the context alive after the program's last close, and a faulting
 * thread would wait for ever instead of reading zeros.  The descriptor still
 * looks unwritable afterwards, and another monitor's hello still works. */
static void hello_self_released(const struct t_env *env)
{
	if (env->engine != UF_ENGINE_USER)
		T_SKIP("the hello is the user engine's");
	struct t_region r;
	t_region_map(env, 2, &r);
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	int ch = open_chan(fd);
	close(ch);
	hello_with(fd, fd);
	t_msleep(20);		/* taken by the engine thread */
	struct pollfd pf = { .fd = fd, .events = POLLOUT };
	T_EQ(poll(&pf, 1, 0), 0);
	ch = open_chan(fd);	/* answered still */
	close(ch);
	hello_with(fd, fd);	/* and the self-hello last of all */
	t_msleep(20);
	T_EQ(poll(&pf, 1, 0), 0);
	T_OK(uf_close(fd));
	struct f_toucher t;
	f_touch_start(&t, r.addr + r.page, 0, 0);
	f_touch_finish(&t, 5000);
	T_EQ(r.addr[r.page], 0);
	t_region_unmap(&r);
}

/* The last close racing the engine thread's taking of a hello: a receive
 * on the engine end says 0 for ever once the program's end is gone, which
 * the engine thread once took for an empty hello again and again, serving
 * nothing else (seen as a monitor's read timing out in tests/shim
 * passed_fd).  After many such races, a new descriptor is still answered. */
static void hello_then_close(const struct t_env *env)
{
	if (env->engine != UF_ENGINE_USER)
		T_SKIP("the hello is the user engine's");
	for (int i = 0; i < 300; i++) {
		int fd = f_uffd(env, F_MODE_M, 0);
		int p[2];
		T_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p));
		hello_with(fd, p[1]);
		close(p[1]);
		if (i & 1)
			sched_yield();
		T_OK(uf_close(fd));
		close(p[0]);
	}
	int fd = f_uffd(env, F_MODE_M, 0);
	close(open_chan(fd));
	T_OK(uf_close(fd));
}

/* An empty datagram on a channel ends it: the monitor sees the hang-up
 * (the hello that opened it, still queued as the charge, no longer keeps
 * it looking open), and a new hello opens another. */
static void empty_request_hangs_up(const struct t_env *env)
{
	if (env->engine != UF_ENGINE_USER)
		T_SKIP("the request wire is the user engine's");
	int fd = f_uffd(env, F_MODE_M, 0);
	int ch = open_chan(fd);
	T_EQ(send(ch, "", 0, 0), 0);
	struct pollfd pf = { .fd = ch, .events = POLLIN };
	T_EQ(poll(&pf, 1, 5000), 1);
	T_ASSERT(pf.revents & POLLHUP);
	char b;
	T_EQ(recv(ch, &b, 1, MSG_DONTWAIT), 0);
	close(ch);
	ch = open_chan(fd);
	struct {
		struct uu_req q;
		struct uffdio_range r;
	} w = { { .magic = UU_REQ_MAGIC, .op = UU_OP_IOCTL, .request = UFFDIO_WAKE,
		  .arg_len = sizeof(struct uffdio_range) }, { 0x10000000, 4096 } };
	T_EQ(send(ch, &w, sizeof(w), 0), (ssize_t)sizeof(w));
	struct uu_rep rep;
	char body[64];
	struct iovec in[2] = { { &rep, sizeof(rep) }, { body, sizeof(body) } };
	struct msghdr mi = { .msg_iov = in, .msg_iovlen = 2 };
	T_EQ(recvmsg(ch, &mi, 0), (ssize_t)(sizeof(rep) + sizeof(struct uffdio_range)));
	T_EQX(rep.magic, UU_REP_MAGIC);
	T_EQ(rep.ret, 0);
	close(ch);
	uf_close(fd);
}

/* A COPY request on a raw channel with a source file and any descriptors
 * attached: the reply's ret, and in *copy the field as the target left it. */
static int32_t file_request(int ch, const struct uu_req *q, const struct uffdio_copy *a,
			    size_t extra, const int *fds, int nfds, __s64 *copy)
{
	struct {
		struct uu_req q;
		struct uffdio_copy a;
		char extra[64];
	} m;
	memset(&m, 0, sizeof(m));
	m.q = *q;
	m.a = *a;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = { &m, sizeof(m.q) + q->arg_len + extra };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds) {
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	T_EQ(sendmsg(ch, &mh, 0), (ssize_t)iov.iov_len);
	struct uu_rep rep;
	struct uffdio_copy back;
	memset(&back, 0, sizeof(back));
	back.copy = F_SENTINEL;
	struct iovec in[2] = { { &rep, sizeof(rep) }, { &back, sizeof(back) } };
	struct msghdr mi = { .msg_iov = in, .msg_iovlen = 2 };
	T_ASSERT(recvmsg(ch, &mi, 0) >= (ssize_t)sizeof(rep));
	T_EQX(rep.magic, UU_REP_MAGIC);
	*copy = rep.len == sizeof(back) ? back.copy : F_SENTINEL;
	return rep.ret;
}

/* COPY's source in a file (the wire's way for a huge page, wire.h), sent
 * wrongly on purpose: no file, two, a pipe or a socket, too much asked, on
 * another ioctl, with bytes in the datagram too: EINVAL, nothing run.  A
 * request naming more than the destination's unit copies one unit at most
 * (64 KiB, or a huge page): the target never reads more than that.  A file
 * shorter than it says: what it has.  Descriptors sent with other requests
 * are not kept. */
static void src_file_hostile(const struct t_env *env)
{
	if (env->engine != UF_ENGINE_USER)
		T_SKIP("the request wire is the user engine's");
	int huge = t_mem_is_hugetlb(env->mem);
	struct t_region r;
	t_region_map(env, huge ? 2 : 40, &r);
	const size_t unit = huge ? r.page : UU_CHUNK;
	int fd = f_uffd(env, F_MODE_M, 0);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	int ch = open_chan(fd);
	int mfd = memfd_create("src", MFD_CLOEXEC);
	T_ASSERT(mfd >= 0);
	char *src = t_buffer(2 * unit, 53);
	T_EQ(pwrite(mfd, src, 2 * unit, 0), (ssize_t)(2 * unit));
	int pp[2], sp[2];
	T_OK(pipe(pp));
	T_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
	struct uu_req q = { .magic = UU_REQ_MAGIC, .op = UU_OP_IOCTL, .request = UFFDIO_COPY,
			    .flags = UU_SRC_FILE, .arg_len = sizeof(struct uffdio_copy),
			    .data_len = (uint32_t)(2 * unit) };
	struct uffdio_copy a = { .dst = f_ul(r.addr), .src = 0x10000000, .len = 2 * unit };
	__s64 copy;
	int two[2] = { mfd, mfd };
	T_EQ(file_request(ch, &q, &a, 0, NULL, 0, &copy), -EINVAL);
	T_EQ(file_request(ch, &q, &a, 0, two, 2, &copy), -EINVAL);
	T_EQ(file_request(ch, &q, &a, 0, &pp[0], 1, &copy), -EINVAL);
	T_EQ(file_request(ch, &q, &a, 0, &sp[0], 1, &copy), -EINVAL);
	T_EQ(file_request(ch, &q, &a, 8, &mfd, 1, &copy), -EINVAL);
	struct uu_req big = q;
	big.data_len = UU_UNIT_MAX + 1;
	T_EQ(file_request(ch, &big, &a, 0, &mfd, 1, &copy), -EINVAL);
	struct uu_req other = q;
	other.request = UFFDIO_ZEROPAGE;
	other.arg_len = sizeof(struct uffdio_zeropage);
	T_EQ(file_request(ch, &other, &a, 0, &mfd, 1, &copy), -EINVAL);
	T_ASSERT(!f_present(r.addr));
	/* All it asks for (more than a unit, up to the largest): one unit. */
	big.data_len = UU_UNIT_MAX;
	copy = 0;
	T_EQ(file_request(ch, &big, &a, 0, &mfd, 1, &copy), -EAGAIN);
	T_EQ(copy, (__s64)unit);
	T_ASSERT(memcmp(r.addr, src, unit) == 0);
	if (!huge) {
		/* A file shorter than it says: its 8 KiB, then the guard. */
		T_OK(ftruncate(mfd, 8192));
		a.dst = f_ul(r.addr + unit);
		a.len = unit;
		T_EQ(file_request(ch, &q, &a, 0, &mfd, 1, &copy), -EAGAIN);
		T_EQ(copy, 8192);
		T_ASSERT(memcmp(r.addr + unit, src, 8192) == 0);
	}
	/* A descriptor sent with a WAKE is closed by the target: the pipe's
	 * last read end is ours, and once ours is closed a write fails. */
	struct uu_req wq = { .magic = UU_REQ_MAGIC, .op = UU_OP_IOCTL, .request = UFFDIO_WAKE,
			     .arg_len = sizeof(struct uffdio_range) };
	struct uffdio_copy wa = { .dst = f_ul(r.addr), .src = r.page };	/* a uffdio_range */
	T_EQ(file_request(ch, &wq, &wa, 0, &pp[0], 1, &copy), 0);
	close(pp[0]);
	signal(SIGPIPE, SIG_IGN);
	T_EQ(write(pp[1], "x", 1), -1);
	T_EQ(errno, EPIPE);
	close(pp[1]);
	close(sp[0]);
	close(sp[1]);
	close(mfd);
	close(ch);
	uf_close(fd);
	t_region_unmap(&r);
}

/* A monitor running as another user: the kernel asks only for the
 * descriptor; the user engine also refuses a peer that is neither the
 * target's user nor root (EPERM, docs/LIMITATIONS.md). */
static void other_user(const struct t_env *env)
{
	if (geteuid() != 0)
		T_SKIP("needs root to run the monitor as another user");
	struct xp x;
	xp_setup(env, &x, 2, F_MODE_M, 0);
	struct mon_cmd c = { .op = M_SETUID, .n = 65534 };
	T_OK(mon_call(&x.m, &c, NULL).ret);
	struct uffdio_zeropage z = { .range = { f_ul(x.r.addr), x.r.page }, .zeropage = F_SENTINEL };
	long long r = mon_ioctl(&x.m, UFFDIO_ZEROPAGE, &z, sizeof(z), 0, NULL, 0);
	if (env->engine == UF_ENGINE_KERNEL) {
		T_OK(r);
		T_EQ(z.zeropage, (long long)x.r.page);
	} else {
		T_EQ(r, -EPERM);
		T_EQ(z.zeropage, F_SENTINEL);
	}
	mon_stop(&x.m);
}

/* A forked child's registered shared hugetlb memory, without
 * UFFD_FEATURE_EVENT_FORK: the child's memory is ordinary and still the
 * parent's shared mapping of the file.  Its write to a page the parent
 * filled shows in the parent; a page missing in the parent reads as zeros
 * in the child (a new page of the file), and the child's write to it is in
 * the file: the parent's access to it finds the page there, no fault. */
static void fork_shared_hugetlb(const struct t_env *env)
{
	int fd = f_uffd(env, F_MODE_M, 0);
	struct t_region r;
	t_region_map(env, 2, &r);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	char *src = t_buffer(r.page, 32);
	__s64 res;
	T_OK(uf_copy(fd, r.addr, src, r.page, 0, &res));
	pid_t pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		if (memcmp(r.addr, src, r.page) != 0)
			_exit(10);
		r.addr[5] = 0x44;
		if (r.addr[r.page] != 0 || r.addr[2 * r.page - 1] != 0)
			_exit(11);
		r.addr[r.page + 7] = 0x55;
		_exit(0);
	}
	int st;
	T_ASSERT(waitpid(pid, &st, 0) == pid);
	T_ASSERT(WIFEXITED(st));
	T_EQ(WEXITSTATUS(st), 0);
	T_EQ(r.addr[5], 0x44);
	T_ASSERT(memcmp(r.addr + 6, src + 6, r.page - 6) == 0);
	struct f_toucher t;
	f_touch_start(&t, r.addr + r.page + 7, 0, 0);
	f_touch_finish(&t, 5000);
	T_EQ(t.seen, 0x55);
	f_expect_no_msg(fd, 0);
	uf_close(fd);
	t_region_unmap(&r);
}

/* fork() without UFFD_FEATURE_EVENT_FORK: the child's copy is ordinary
 * memory (the parent's content, missing pages read as zeros, its writes its
 * own), while the descriptor it inherited still acts on the parent. */
static void fork_without_event(const struct t_env *env)
{
	f_need_mode(env, F_MODE_M);
	int fd = f_uffd(env, F_MODE_M, 0);
	struct t_region r;
	t_region_map(env, 4, &r);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	char *src = t_buffer(r.page, 31);
	__s64 res;
	T_OK(uf_copy(fd, r.addr, src, r.page, 0, &res));
	pid_t pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		if (memcmp(r.addr, src, r.page) != 0)
			_exit(10);
		memset(r.addr, 0x11, r.page);
		if (r.addr[r.page] != 0 || r.addr[r.page + 100] != 0)
			_exit(11);
		r.addr[r.page] = 0x22;
		/* The inherited descriptor: a fill lands in the parent. */
		if (uf_zeropage(fd, r.addr + 2 * r.page, r.page, 0, &res) != 0 || res != (__s64)r.page)
			_exit(12);
		_exit(0);
	}
	int st;
	T_ASSERT(waitpid(pid, &st, 0) == pid);
	T_ASSERT(WIFEXITED(st));
	T_EQ(WEXITSTATUS(st), 0);
	T_ASSERT(memcmp(r.addr, src, r.page) == 0);
	struct f_toucher t;
	f_touch_start(&t, r.addr + 2 * r.page, 0, 0);
	f_touch_finish(&t, 5000);
	T_EQ(t.seen, 0);
	/* The child's write to page 1 was its own.  On anonymous memory the
	 * page is still missing here; on a private file mapping the child's
	 * read put a page in the shared page cache, so it is not (as with the
	 * kernel). */
	f_touch_start(&t, r.addr + r.page, 0, 0);
	if (env->mem == T_ANON) {
		f_touch_blocked(&t, 50);
		T_OK(uf_zeropage(fd, r.addr + r.page, r.page, 0, &res));
	}
	f_touch_finish(&t, 5000);
	T_EQ(t.seen, 0);
}

static int mon_use(struct mon *m, int fd, int *fd_flags)
{
	struct mon_cmd c = { .op = M_USE, .n = (unsigned)fd };
	struct mon_res r = mon_call(m, &c, NULL);
	*fd_flags = r.revents;
	return (int)r.ret;
}

struct mon_reader {
	struct mon *m;
	struct mon_res res;
	volatile int started;
	t_thread th;
};

static void *mon_reader_main(void *arg)
{
	struct mon_reader *r = arg;
	r->started = 1;
	r->res = mon_read(r->m, 4, 10000);
	return NULL;
}

/* UFFD_FEATURE_EVENT_FORK with the monitor in another process: it reads
 * the FORK event (the target's fork returns only then) and gets a
 * descriptor of its own for the child's context, with the context's flags;
 * on it, the child's fault, filled into the child's memory; the parent's
 * faults stay on the parent's descriptor. */
static void fork_event(const struct t_env *env)
{
	f_need_mode(env, F_MODE_M);
	if (T_TSAN && env->engine == UF_ENGINE_USER)
		T_SKIP("ThreadSanitizer: a forked child that starts threads is beyond its runtime "
		       "(\"dup thread with used id\"), and the user engine's child starts one");
	struct mon m = mon_start();
	int fd = f_uffd(env, F_MODE_M, UFFD_FEATURE_EVENT_FORK);
	struct t_region r;
	t_region_map(env, 4, &r);
	T_OK(uf_register(fd, r.addr, r.len, F_MODE_M, NULL));
	mon_give(&m, fd);
	char *src = t_buffer(r.page, 23);
	__s64 res;
	T_OK(uf_copy(fd, r.addr, src, r.page, 0, &res));

	struct mon_reader rd = { .m = &m };
	t_spawn(&rd.th, mon_reader_main, &rd);
	/* Fork only once it runs (a thread starting may hold a lock of the
	 * sanitizers' allocator, which is not fork-safe). */
	T_ASSERT(t_wait_flag(&rd.started, 5000));
	pid_t pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		if (memcmp(r.addr, src, r.page) != 0)
			_exit(10);
		if (!t_check(r.addr + 2 * r.page, r.page, 8))
			_exit(11);
		memset(r.addr, 0x44, r.page);
		_exit(0);
	}
	t_join(&rd.th);
	T_EQ(rd.res.nmsg, 1);
	T_EQ(rd.res.msg[0].event, UFFD_EVENT_FORK);
	int ufd = (int)rd.res.msg[0].arg.fork.ufd;
	int fl;
	T_ASSERT(mon_use(&m, ufd, &fl) >= 0);
	T_EQ(fl, FD_CLOEXEC);

	struct mon_res f = mon_read(&m, 4, 10000);
	T_EQ(f.nmsg, 1);
	T_EQ(f.msg[0].event, UFFD_EVENT_PAGEFAULT);
	T_EQ(f.msg[0].arg.pagefault.address & ~(__u64)(r.page - 1), f_ul(r.addr + 2 * r.page));
	char *fill = t_buffer(r.page, 0);
	t_fill(fill, r.page, 8);
	T_EQ(mon_copy(&m, r.addr + 2 * r.page, fill, r.page, 0, &res), 0);
	T_EQ(res, (__s64)r.page);
	int st;
	T_EQ(waitpid(pid, &st, 0), pid);
	T_ASSERT(WIFEXITED(st));
	T_EQ(WEXITSTATUS(st), 0);

	/* The parent's: as it was, page 2 missing, its fault on its own
	 * descriptor. */
	T_ASSERT(memcmp(r.addr, src, r.page) == 0);
	struct f_toucher t;
	f_touch_start(&t, r.addr + 2 * r.page, 0, 0);
	struct uffd_msg pm;
	f_expect_fault(fd, 5000, &pm);
	T_OK(uf_zeropage(fd, r.addr + 2 * r.page, r.page, 0, &res));
	f_touch_finish(&t, 5000);
	T_EQ(t.seen, 0);
	mon_stop(&m);
}

#define ANON_SHMEM (T_MEM(T_ANON) | T_MEM(T_MEMFD))

static const struct t_case cases[] = {
	{ "copy_resolves", copy_resolves, T_MEM_ALL, 0 },
	{ "zeropage_and_wake", zeropage_and_wake, ANON_SHMEM, 0 },
	{ "writeprotect", writeprotect, ANON_SHMEM | T_MEM_HUGETLB_ALL, UFFD_FEATURE_PAGEFAULT_FLAG_WP },
	{ "minor_continue", minor_continue, T_MEM(T_MEMFD), UFFD_FEATURE_MINOR_SHMEM },
	{ "poison", poison, T_MEM(T_ANON), UFFD_FEATURE_POISON },
	{ "move_refused", move_refused, T_MEM(T_ANON), UFFD_FEATURE_MOVE },
	{ "register_from_monitor", register_from_monitor, ANON_SHMEM, 0 },
	{ "bad_arguments", bad_arguments, T_MEM(T_ANON), 0 },
	{ "large_and_short_copy", large_and_short_copy, T_MEM(T_ANON), 0 },
	{ "hugetlb_copy", hugetlb_copy, T_MEM_HUGETLB_ALL, 0 },
	{ "hugetlb_ioctls", hugetlb_ioctls, T_MEM_HUGETLB_ALL, UFFD_FEATURE_POISON },
	{ "hugetlb_continue", hugetlb_continue, T_MEM_HUGETLB_ALL, 0 },
	{ "events", events, T_MEM(T_ANON), UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP },
	{ "handler_killed", handler_killed, ANON_SHMEM, 0 },
	{ "garbage_written", garbage_written, T_MEM(T_ANON), 0 },
	{ "hostile_requests", hostile_requests, T_MEM(T_ANON), 0 },
	{ "other_user", other_user, T_MEM(T_ANON), 0 },
	{ "hello_self_refused", hello_self_refused, T_MEM(T_ANON), 0 },
	{ "hello_self_released", hello_self_released, T_MEM(T_ANON), 0 },
	{ "empty_request_hangs_up", empty_request_hangs_up, T_MEM(T_ANON), 0 },
	{ "hello_then_close", hello_then_close, T_MEM(T_ANON), 0 },
	{ "src_file_hostile", src_file_hostile, T_MEM(T_ANON) | T_MEM_HUGETLB_ALL, 0 },
	{ "fork_without_event", fork_without_event, T_MEM(T_ANON) | T_MEM(T_MEMFD_PRIVATE), 0 },
	{ "fork_shared_hugetlb", fork_shared_hugetlb, T_MEM(T_HUGETLB), 0 },
	{ "fork_event", fork_event, T_MEM(T_ANON) | T_MEM(T_MEMFD_PRIVATE), UFFD_FEATURE_EVENT_FORK },
	{ NULL, NULL, 0, 0 },
};

T_MAIN(cases)
