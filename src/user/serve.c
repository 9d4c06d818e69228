/* SPDX-License-Identifier: MIT */
/*
 * serve.c - the target's side of a descriptor used from another process:
 * keeping the descriptor unwritable, taking hellos, and serving requests on
 * the channels they open.  The protocol and why it looks like this: wire.h.
 *
 * Everything here runs on the engine's thread (context.c), one request at a
 * time, with every signal blocked.  A request runs through the very code an
 * in-process call runs (uf__dispatch, uf__take_msgs), on a copy of its
 * argument kept in this process, so both give the same results.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "user.h"
#include "wire.h"

/* A socket call that failed for want of memory (or a signal) is tried
 * again at once, a bounded number of times: the engine thread has nobody to
 * report it to, and giving up costs more (an edge-triggered hello not read
 * until the next one, so the monitor times out; a channel hung up, so the
 * monitor's every later request fails).  Bounded, so a failure that lasts
 * cannot hold the engine thread (tests/inject.c serve_target). */
#define SOCK_TRIES	100

static int try_again(int *tries)
{
	if ((errno != ENOMEM && errno != ENOBUFS && errno != EINTR) || ++*tries > SOCK_TRIES)
		return 0;
	sched_yield();
	return 1;
}

/* ------------------------------------------------------------------------ */
/* At open: the charge that keeps the descriptor from looking writable       */

/* What a queued datagram of len bytes charges to the sender's buffer, a
 * little over (measured: ~768 bytes for an empty one, ~2.3 KiB for 1 KiB). */
static uint32_t charge(uint32_t len)
{
	return 768 + 2 * len;
}

int uf__serve_prepare(struct uf__ctx *c, int app)
{
	int small = 1, mark = UU_FINGERPRINT_RCVBUF, on = 1;
	if (setsockopt(app, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) < 0 ||
	    setsockopt(app, SOL_SOCKET, SO_RCVBUF, &mark, sizeof(mark)) < 0 ||
	    setsockopt(c->efd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0)
		return -errno;
	/* Filler datagrams the size of a hello, until POLLOUT goes away: on
	 * this kernel one does it (the send buffer is at its minimum). */
	static const struct uu_hello filler;
	c->held_n = 0;
	c->held_need = 0;
	for (;;) {
		struct pollfd p = { .fd = app, .events = POLLOUT };
		int n = poll(&p, 1, 0);
		if (n < 0)
			return -errno;
		if (n == 0 || !(p.revents & POLLOUT))
			return 0;
		/* No buffer for the charge: what userfaultfd(2) says when it
		 * cannot allocate (tests/inject.c open). */
		if (c->held_n == UU_HELD_MAX ||
		    send(app, &filler, sizeof(filler), MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof(filler))
			return -ENOMEM;
		c->held_len[c->held_n++] = sizeof(filler);
		c->held_need += charge(sizeof(filler));
	}
}

/* ------------------------------------------------------------------------ */
/* Hellos                                                                    */

static int peer_allowed(const struct ucred *cr)
{
	/* The descriptor is the credential; the user is checked as well:
	 * ours, or the administrator. */
	return cr && (cr->uid == 0 || cr->uid == getuid() || cr->uid == geteuid());
}

static int is_seqpacket(int fd)
{
	int type = 0;
	socklen_t l = sizeof(type);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) == 0 && type == SOCK_SEQPACKET;
}

/* Drop the oldest held datagram while the newer ones still make the charge
 * (a hostile peer's tiny datagrams do not count for much), and while the
 * charge is so big that no hello would fit behind it: a peer that wrote
 * junk into the descriptor may make it look writable until the next hello,
 * but can never lock the other monitors out. */
static void drop_old_hellos(struct uf__ctx *c)
{
	while (c->held_n > 0) {
		uint32_t all = 0;
		for (unsigned i = 0; i < c->held_n; i++)
			all += charge(c->held_len[i]);
		uint32_t newer = all - charge(c->held_len[0]);
		if (!(c->held_n >= 2 && newer >= c->held_need) && all <= UU_HELD_CHARGE_MAX &&
		    c->held_n < UU_HELD_MAX)
			return;
		/* No buffer and no control space: the datagram and any
		 * descriptors it carries are discarded. */
		if (recv(c->efd, NULL, 0, MSG_DONTWAIT | MSG_TRUNC) < 0)
			return;
		memmove(c->held_len, c->held_len + 1, (c->held_n - 1) * sizeof(c->held_len[0]));
		c->held_n--;
	}
}

/* Is fd a copy of c's own descriptor (the program's end)? */
static int is_self(const struct uf__ctx *c, int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && st.st_ino == c->ino && st.st_dev == c->dev;
}

/* A hello that carries the descriptor itself may not stay queued as the
 * charge: a descriptor in flight in its own engine end's queue is a
 * reference the program cannot drop, so its last uf_close() would not be
 * the release (faulting threads would wait for ever; the kernel's
 * collector of such cycles does not run for it in time).  So every held
 * datagram up to and including it is taken off the queue (the kernel drops
 * what they carry), and the charge is made again from self, a copy of the
 * program's end, as at open; the filler datagrams are then taken as junk
 * hellos like any other.  Hellos already answered lose only their place in
 * the charge. */
static void purge(struct uf__ctx *c, int self)
{
	static const struct uu_hello filler;
	for (unsigned i = 0; i < c->held_n; i++)
		(void)recv(c->efd, NULL, 0, MSG_DONTWAIT | MSG_TRUNC);
	c->held_n = 0;
	for (unsigned n = 0; n < UU_HELD_MAX; n++) {
		struct pollfd p = { .fd = self, .events = POLLOUT };
		if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT) ||
		    send(self, &filler, sizeof(filler), MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof(filler))
			break;
	}
	close(self);
}

/* Has the program's end gone?  Then a receive says 0 for ever, which is no
 * empty datagram: the engine thread would take it as a hello again and
 * again and serve nothing else (seen when the last close raced a hello).
 * Its hang-up comes as an event of its own; that is where c is released. */
static int hung_up(int efd)
{
	struct pollfd p = { .fd = efd, .events = POLLIN | POLLRDHUP };
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP));
}

int uf__serve_hello(struct uf__ctx *c, int *chan)
{
	*chan = -1;
	int off = 0;
	for (unsigned i = 0; i < c->held_n; i++)
		off += (int)c->held_len[i];
	if (setsockopt(c->efd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) < 0)
		return 0;

	struct uu_hello h;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	ssize_t n;
	int tries = 0;
	do
		n = recvmsg(c->efd, &msg, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
	while (n < 0 && try_again(&tries));
	if (n < 0 || (n == 0 && hung_up(c->efd)))
		return 0;
	c->held_len[c->held_n++] = (uint32_t)n;

	/* Peeking gave us copies of any descriptors it carries. */
	int fd = -1, self = -1;
	const struct ucred *cred = NULL;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_CREDENTIALS && cm->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			cred = (const struct ucred *)(void *)CMSG_DATA(cm);
		} else if (cm->cmsg_type == SCM_RIGHTS) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int got;
				memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (self < 0 && is_self(c, got))
					self = dup(got);
				if (fd < 0)
					fd = got;
				else
					close(got);
			}
		}
	}
	/* A user-engine descriptor (this one, another of ours, another
	 * process's) as the channel: the engine would serve the datagrams
	 * sent to it, its doorbells, as requests, and answer into it.  Such
	 * a "channel" is closed without an answer. */
	if (fd >= 0 && uf__is_user_fd(fd)) {
		close(fd);
		fd = -1;
	}
	int ok = n == (ssize_t)sizeof(h) && !(msg.msg_flags & MSG_CTRUNC) &&
		 h.magic == UU_HELLO_MAGIC && h.version == UU_WIRE_VERSION &&
		 fd >= 0 && is_seqpacket(fd) && peer_allowed(cred);
	if (ok) {
		int big = 4 * UU_CHUNK;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		fcntl(fd, F_SETFL, O_NONBLOCK);
		/* Welcomed only once the engine watches it (uf__serve_answer):
		 * a channel welcomed and then not watched would take requests
		 * nobody serves, and the monitor would wait for ever. */
		*chan = fd;
	} else if (fd >= 0) {
		uf__serve_answer(fd, -EPERM);
	}
	if (self >= 0)
		purge(c, self);
	else
		drop_old_hellos(c);
	return 1;
}

int uf__serve_answer(int chan, int err)
{
	struct uu_welcome w = { .magic = UU_HELLO_MAGIC, .version = UU_WIRE_VERSION, .pid = uf__pid() };
	if (err < 0) {
		/* Say no (the monitor's call fails with err): the hello stays
		 * queued (as the charge) with a copy of this end in it, so
		 * closing ours shows the monitor no hang-up. */
		w.version = 0;
		w.pid = err;
	}
	ssize_t k;
	int tries = 0;
	do
		k = send(chan, &w, sizeof(w), MSG_DONTWAIT | MSG_NOSIGNAL);
	while (k < 0 && try_again(&tries));
	if (err < 0) {
		close(chan);
		return -1;
	}
	if (k != sizeof(w)) {
		shutdown(chan, SHUT_RDWR);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */

/* The places a request's argument and source bytes are put: each ends at a
 * page no one can read, so an argument or source the monitor could not read
 * (all or from some byte on) fails here at the same point. */
static char *arg_page;		/* [arg page][guard] */
static char *data_area;		/* [UU_CHUNK][guard] */
static size_t page_size;
static char reqbuf[sizeof(struct uu_req) + UU_ARG_MAX + UU_CHUNK];
static char repbuf[sizeof(struct uu_rep) + UU_READ_MAX * sizeof(struct uffd_msg)];

static int areas(void)
{
	if (arg_page)
		return 0;
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	char *a = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *d = mmap(NULL, UU_CHUNK + page_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || d == MAP_FAILED) {
		if (a != MAP_FAILED)
			munmap(a, 2 * page_size);
		if (d != MAP_FAILED)
			munmap(d, UU_CHUNK + page_size);
		return -ENOMEM;
	}
	mprotect(a + page_size, page_size, PROT_NONE);
	mprotect(d + UU_CHUNK, page_size, PROT_NONE);
	arg_page = a;
	data_area = d;
	return 0;
}

/* The reply, with nfds descriptors passed along (FORK events, wire.h). */
static int reply_fds(int chan, int32_t ret, uint32_t retract, uint32_t unit, const void *body,
		     uint32_t len, const int *fds, size_t nfds)
{
	struct uu_rep r = { .magic = UU_REP_MAGIC, .ret = ret, .retract = retract, .len = len,
			    .unit = unit };
	memcpy(repbuf, &r, sizeof(r));
	if (len)
		memcpy(repbuf + sizeof(r), body, len);
	union {
		char buf[CMSG_SPACE(UU_READ_MAX * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { repbuf, sizeof(r) + len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds) {
		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.buf;
		m.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	ssize_t n;
	int tries = 0;
	do
		n = sendmsg(chan, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && try_again(&tries));
	return n == (ssize_t)(sizeof(r) + len) ? 0 : -1;
}

static int reply(int chan, int32_t ret, uint32_t retract, const void *body, uint32_t len)
{
	return reply_fds(chan, ret, retract, 0, body, len, NULL, 0);
}

/* The unit a COPY to dst needs its source in: the page size of c's
 * hugetlb memory there when a request's bytes cannot hold one, else 0. */
static size_t copy_unit(struct uf__ctx *c, uintptr_t dst)
{
	unsigned tok = uf__enter();
	const struct uf__seg *s = uf__lookup(dst);
	size_t u = s && s->ctx == c && s->map && uf__kind_hugetlb(s->map->ops->kind) ? s->map->page : 0;
	uf__leave(tok);
	return u > UU_CHUNK ? u : 0;
}

/* Is file a source a read of which cannot block for long (shmem or
 * hugetlbfs: the kinds that keep seals)?  A peer's FUSE or network file
 * could hold the engine thread for ever. */
static int src_file_ok(int file)
{
	struct stat st;
	return fstat(file, &st) == 0 && S_ISREG(st.st_mode) && fcntl(file, F_GET_SEALS) >= 0;
}

/* A COPY's source that came in a file (UU_SRC_FILE): at most cap bytes of
 * it, read so that they end at the guard page after [buf, buf + cap).  How
 * many were read (a file shorter than the request says gives fewer: the
 * copy then fails at the guard as for a source unreadable from there). */
static size_t read_src_file(int file, char *buf, size_t cap, size_t want)
{
	struct stat st;
	if (want > cap)
		want = cap;
	if (fstat(file, &st) < 0 || st.st_size < 0)
		return 0;
	if ((uint64_t)st.st_size < want)
		want = (size_t)st.st_size;
	char *to = buf + cap - want;
	size_t got = 0;
	while (got < want) {
		ssize_t k = pread(file, to + got, want - got, (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	if (got < want)
		memmove(buf + cap - got, to, got);	/* shrunk meanwhile */
	return got;
}

/* One ioctl: the argument is placed at the end of the argument page (all
 * userfaultfd arguments are a multiple of 8 bytes long, so it is aligned).
 * A COPY's source is data (data_len bytes), or in file (UU_SRC_FILE).
 * -EMSGSIZE with *unit set: a COPY not run, whose source must come in
 * pieces of *unit bytes (wire.h). */
static int serve_ioctl(struct uf__ctx *c, const struct uu_req *q, const char *arg, const char *data,
		       int file, char *out, uint32_t *unit)
{
	/* An argument whose size is not the request's is one the monitor
	 * could not have read: its own library never sends one. */
	if ((q->flags & UU_ARG_UNREADABLE) || q->arg_len != _IOC_SIZE(q->request))
		return uf__dispatch(c, -1, q->request, arg_page + page_size);
	memcpy(out, arg, q->arg_len);	/* what goes back if nothing writes it */
	/* The kernel refuses moves across address spaces, once the argument
	 * is read and no event is on its way. */
	if (q->request == UFFDIO_MOVE && atomic_load(&c->api) == 2 && !atomic_load(&c->mmap_changing))
		return -EINVAL;
	char *a = arg_page + page_size - q->arg_len;
	memcpy(a, arg, q->arg_len);
	__u64 orig_src = 0;
	int is_copy = q->request == UFFDIO_COPY && q->arg_len == sizeof(struct uffdio_copy);
	char *stage = NULL;		/* a huge page's source, [unit][guard] */
	size_t stage_len = 0, have = 0;
	const char *src = NULL;
	if (is_copy) {
		/* The source bytes travelled with the request: point the copy at
		 * them, ending at the guard page.  A source the kernel would
		 * refuse is left as it is, to be refused here the same way. */
		struct uffdio_copy *cp = (struct uffdio_copy *)(void *)a;
		orig_src = cp->src;
		int valid = uf__validate_range(cp->src & ~(__u64)4095, cp->len) == 0;
		size_t u = copy_unit(c, (uintptr_t)cp->dst);
		if (file < 0 && u && valid && cp->len >= u &&
		    q->data_len == (cp->len < UU_CHUNK ? cp->len : UU_CHUNK)) {
			/* A huge page from a request that could not hold one
			 * (the monitor had more to give): ask for it whole. */
			*unit = (uint32_t)u;
			return -EMSGSIZE;
		}
		if (file >= 0 && u) {
			/* One huge page at most, whatever the request says. */
			stage_len = u + page_size;
			stage = mmap(NULL, stage_len, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			if (stage == MAP_FAILED)
				return -ENOMEM;
			if (mprotect(stage + u, page_size, PROT_NONE) < 0) {
				munmap(stage, stage_len);
				return -ENOMEM;
			}
		}
		if (valid && file >= 0) {
			size_t cap = stage ? stage_len - page_size : UU_CHUNK;
			char *buf = stage ? stage : data_area;
			have = read_src_file(file, buf, cap, q->data_len);
			src = buf + cap - have;
		} else if (valid) {
			have = q->data_len;
			src = data_area + UU_CHUNK - have;
			memcpy((char *)src, data, have);
		}
		if (valid)
			cp->src = (uintptr_t)src;
	}
	/* What was placed here whole needs no check: the argument (unless it
	 * must fail as read-only) and the source bytes up to the guard page. */
	struct uf__trust targ, tdata;
	int trust_arg = !(q->flags & UU_ARG_READONLY);
	if (trust_arg)
		uf__trust_push(&targ, a, q->arg_len);
	if (src)
		uf__trust_push(&tdata, src, have);
	if (q->flags & UU_ARG_READONLY)
		mprotect(arg_page, page_size, PROT_READ);
	int r = uf__dispatch(c, -1, q->request, a);
	if (q->flags & UU_ARG_READONLY)
		mprotect(arg_page, page_size, PROT_READ | PROT_WRITE);
	if (src)
		uf__trust_pop(&tdata);
	if (trust_arg)
		uf__trust_pop(&targ);
	if (is_copy)
		((struct uffdio_copy *)(void *)a)->src = orig_src;
	if (stage)
		munmap(stage, stage_len);
	memcpy(out, a, q->arg_len);
	return r;
}

/* The channel is done: say so to the monitor.  Closing our descriptor is
 * not enough, as the hello that brought it stays queued (the charge) with
 * a reference to the same socket, so the monitor would see no hang-up and
 * wait for a reply for ever. */
static int hang_up(int chan)
{
	shutdown(chan, SHUT_RDWR);
	return -1;
}

/* The descriptors a request carried (SCM_RIGHTS): the first in *file,
 * the others closed.  How many there were, or -1 if some were dropped for
 * want of room (MSG_CTRUNC). */
static int take_fds(struct msghdr *m, int *file)
{
	int k = 0;
	*file = -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++, k++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (*file < 0)
				*file = fd;
			else
				close(fd);
		}
	}
	return (m->msg_flags & MSG_CTRUNC) ? -1 : k;
}

/* Does q name its source in a file, as a monitor sends it: a COPY whose
 * argument is whole, with one file that can be read without blocking, and
 * no more than a huge page can be asked for (wire.h)? */
static int src_file_request(const struct uu_req *q, int nin, int file)
{
	return q->op == UU_OP_IOCTL && q->request == UFFDIO_COPY &&
	       (q->flags & ~UU_ARG_READONLY) == UU_SRC_FILE &&
	       q->arg_len == sizeof(struct uffdio_copy) && q->data_len <= UU_UNIT_MAX && nin == 1 &&
	       src_file_ok(file);
}

int uf__serve_request(struct uf__ctx *c, int chan)
{
	ssize_t n;
	int tries = 0;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { reqbuf, sizeof(reqbuf) };
	struct msghdr mh;
	do {
		mh = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				      .msg_controllen = sizeof(ctl.buf) };
		n = recvmsg(chan, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
	} while (n < 0 && try_again(&tries));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : hang_up(chan);
	/* Any descriptor a request carries is closed when it is served;
	 * only a COPY's source file is used. */
	int file;
	int nin = take_fds(&mh, &file);
	if (n == 0) {
		if (file >= 0)
			close(file);
		return hang_up(chan);	/* the monitor closed its end, or sent nothing */
	}
	struct uu_req q;
	int bad = (size_t)n > sizeof(reqbuf) || (size_t)n < sizeof(q);
	if (!bad) {
		memcpy(&q, reqbuf, sizeof(q));
		int by_file = (q.flags & UU_SRC_FILE) != 0;
		bad = q.magic != UU_REQ_MAGIC || q.arg_len > UU_ARG_MAX ||
		      (by_file ? !src_file_request(&q, nin, file) : q.data_len > UU_CHUNK) ||
		      (size_t)n != sizeof(q) + q.arg_len + (by_file ? 0 : q.data_len) || areas() < 0;
		if (!by_file && file >= 0) {
			close(file);
			file = -1;
		}
	}
	if (bad) {
		if (file >= 0)
			close(file);
		return reply(chan, -EINVAL, 0, NULL, 0) < 0 ? hang_up(chan) : 0;
	}
	const char *arg = reqbuf + sizeof(q), *data = arg + q.arg_len;

	char out[sizeof(repbuf) - sizeof(struct uu_rep)];
	int32_t ret;
	uint32_t len = 0;
	int fds[UU_READ_MAX];
	size_t nfds = 0;
	uint32_t unit = 0;
	switch (q.op) {
	case UU_OP_IOCTL:
		uf__wake_defer(1);	/* until the reply is sent (user.h) */
		ret = serve_ioctl(c, &q, arg, data, file, out, &unit);
		len = (q.flags & UU_ARG_UNREADABLE) || q.arg_len != _IOC_SIZE(q.request) ? 0 : q.arg_len;
		break;
	case UU_OP_READ:
		if (q.nmsg == 0 || q.nmsg > UU_READ_MAX || atomic_load(&c->api) != 2) {
			ret = -EINVAL;
			break;
		}
	{
		int err;
		struct uffd_msg *msgs = (struct uffd_msg *)(void *)out;
		ret = (int32_t)uf__take_msgs(c, msgs, q.nmsg, 1, &err);
		if (ret == 0) {
			ret = err ? err : -EAGAIN;
			break;
		}
		len = (uint32_t)ret * sizeof(struct uffd_msg);
		/* A FORK event's descriptor travels beside the messages, in
		 * their order; the message carries the flags it must have
		 * (wire.h). */
		for (int32_t i = 0; i < ret; i++)
			if (msgs[i].event == UFFD_EVENT_FORK) {
				fds[nfds++] = (int)msgs[i].arg.fork.ufd;
				memset(&msgs[i].arg, 0, sizeof(msgs[i].arg));
				msgs[i].arg.reserved.reserved1 = (__u64)(c->flags & O_CLOEXEC);
			}
		break;
	}
	default:
		ret = -EINVAL;
	}
	if (file >= 0)
		close(file);	/* read by now (a file comes only with a COPY) */
	int sent = reply_fds(chan, ret, (uint32_t)uf__bell_handover(c), unit, out, len, fds, nfds);
	uf__wake_defer(0);
	/* Passed on (or lost with the monitor): not ours to keep. */
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	if (sent < 0)
		return hang_up(chan);
	return 0;
}
