/* SPDX-License-Identifier: MIT */
/*
 * remote.c - the monitor's side: using a user-engine descriptor that another
 * process opened and passed here (SCM_RIGHTS).  The protocol: wire.h.
 *
 * Readiness needs nothing from us: the descriptor is the real socket and
 * the doorbell datagrams arrive on it.  ioctls and reads go to the target
 * over a channel opened by a hello on first use, one per descriptor, one
 * request at a time.  Arguments and source bytes are read here without
 * trusting the pointers (process_vm_readv on ourselves), so a bad pointer is
 * EFAULT, never SIGSEGV, and the target sees only bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "user.h"
#include "wire.h"

#define HELLO_TIMEOUT_MS	5000
#define MAX_CHANNELS		64

struct channel {
	dev_t dev;
	ino_t ino;
	int sock;			/* our end of the channel, -1 once the target is gone */
	pthread_mutex_t lock;		/* one request at a time */
};

static pthread_mutex_t channels_lock = PTHREAD_MUTEX_INITIALIZER;
static struct channel *channels[MAX_CHANNELS];
static atomic_int nchannels;

/* ------------------------------------------------------------------------ */
/* Finding the target                                                       */

/* Does fd look like a user-engine descriptor?  (Before a hello is sent to
 * it: we do not write to sockets that are not ours.)  1 yes, 0 no, -errno
 * if fstat could not say (out of memory: the call fails with that rather
 * than taking the descriptor for a plain socket; tests/inject.c
 * serve_monitor). */
static int fingerprint(int fd, struct stat *st)
{
	int v = 0;
	socklen_t l = sizeof(v);
	if (fstat(fd, st) < 0)
		return errno == EBADF ? 0 : -errno;
	if (!S_ISSOCK(st->st_mode))
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) < 0 || v != AF_UNIX)
		return 0;
	l = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0 || v != SOCK_SEQPACKET)
		return 0;
	l = sizeof(v);
	return getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &l) == 0 && v == 2 * UU_FINGERPRINT_RCVBUF;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* A receive that failed for want of memory is tried again a few times
 * before it counts as the target gone: the datagram is still queued
 * (tests/inject.c serve_monitor).  EINTR: as often as it comes.  *err gets
 * the last errno. */
static ssize_t recv_retry(int s, void *buf, size_t len, int flags, int *err)
{
	ssize_t n;
	int tries = 0;
	for (;;) {
		n = recv(s, buf, len, flags);
		if (n >= 0)
			return n;
		*err = errno;
		if (errno != EINTR && ((errno != ENOMEM && errno != ENOBUFS) || ++tries > 100))
			return n;
		sched_yield();
	}
}

/* Send a hello through fd and wait for the welcome on the new channel.
 * The channel's socket, or -errno (-ESRCH: the target is gone). */
static int hello(int fd)
{
	int p[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0)
		return -errno;
	int big = 4 * UU_CHUNK;
	setsockopt(p[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));

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
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &p[1], sizeof(int));

	/* The descriptor has room for a hello or two; another monitor's may
	 * be in the way for a moment. */
	int err = 0;
	for (int waited = 0;; waited++) {
		if (sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof(h))
			break;
		err = errno == EAGAIN ? -EAGAIN : (errno == EPIPE || errno == ECONNRESET) ? -ESRCH : -errno;
		if (err != -EAGAIN || waited >= HELLO_TIMEOUT_MS)
			break;
		sleep_ms(1);
		err = 0;
	}
	close(p[1]);
	if (err) {
		close(p[0]);
		return err == -EAGAIN ? -ETIMEDOUT : err;
	}
	struct pollfd pf = { .fd = p[0], .events = POLLIN };
	struct uu_welcome w = { 0 };
	int r;
	do
		r = poll(&pf, 1, HELLO_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	ssize_t n = -1;
	int e = r < 0 ? errno : 0;
	if (r > 0)
		n = recv_retry(p[0], &w, sizeof(w), MSG_DONTWAIT, &e);
	if (n != (ssize_t)sizeof(w) || w.magic != UU_HELLO_MAGIC || w.version != UU_WIRE_VERSION) {
		close(p[0]);
		/* Out of memory here (poll, recv) is this call's error; no
		 * engine behind it, or refused (our user: EPERM). */
		if (e == ENOMEM || e == ENOBUFS)
			return -ENOMEM;
		if (r == 0)
			return -ETIMEDOUT;
		return w.magic == UU_HELLO_MAGIC && w.version == 0 && w.pid < 0 ? w.pid : -EPROTO;
	}
	return p[0];
}

/* The channel open to the socket st names, or NULL (channels_lock held). */
static struct channel *channel_find(const struct stat *st, int *free_slot)
{
	*free_slot = -1;
	for (int i = 0; i < MAX_CHANNELS; i++) {
		if (channels[i] && channels[i]->dev == st->st_dev && channels[i]->ino == st->st_ino)
			return channels[i];
		if (!channels[i] && *free_slot < 0)
			*free_slot = i;
	}
	return NULL;
}

/* Is fd the socket of a channel opened before?  One fstat: that socket was
 * fingerprinted when its channel opened, and a socket keeps its identity. */
static int has_channel(int fd, struct stat *st)
{
	if (atomic_load(&nchannels) == 0 || fstat(fd, st) < 0 || !S_ISSOCK(st->st_mode))
		return 0;
	int slot;
	pthread_mutex_lock(&channels_lock);
	int yes = channel_find(st, &slot) != NULL;
	pthread_mutex_unlock(&channels_lock);
	return yes;
}

/* The channel for fd, opening it on first use; NULL with *err if fd is not
 * a user-engine descriptor of another process (-ENOTTY) or cannot be used.
 * A channel already open is found by the socket's identity alone: the
 * fingerprint's four system calls are for a descriptor seen first. */
static struct channel *channel_of(int fd, int *err)
{
	struct stat st;
	int free_slot;
	struct channel *ch = NULL;
	if (has_channel(fd, &st)) {
		pthread_mutex_lock(&channels_lock);
		ch = channel_find(&st, &free_slot);
		pthread_mutex_unlock(&channels_lock);
		if (ch)
			return ch;
	}
	int fp = fingerprint(fd, &st);
	if (fp <= 0) {
		*err = fp < 0 ? fp : fcntl(fd, F_GETFD) < 0 ? -EBADF : -ENOTTY;
		return NULL;
	}
	pthread_mutex_lock(&channels_lock);
	ch = channel_find(&st, &free_slot);
	if (!ch) {
		int sock = free_slot < 0 ? -EMFILE : hello(fd);
		if (sock < 0) {
			*err = sock;
		} else if (!(ch = calloc(1, sizeof(*ch)))) {
			close(sock);
			*err = -ENOMEM;
		} else {
			ch->dev = st.st_dev;
			ch->ino = st.st_ino;
			ch->sock = sock;
			pthread_mutex_init(&ch->lock, NULL);
			channels[free_slot] = ch;
			atomic_fetch_add(&nchannels, 1);
		}
	}
	pthread_mutex_unlock(&channels_lock);
	return ch;
}

int uf__remote_is_user_fd(int fd)
{
	/* The fingerprint is enough to route the call: no hello just to
	 * close the descriptor or to name its engine (the first request
	 * opens the channel, and fails with ESRCH if the target is gone). */
	struct stat st;
	return has_channel(fd, &st) || fingerprint(fd, &st) > 0;
}

int uf__remote_known_fd(int fd)
{
	struct stat st;
	return has_channel(fd, &st);
}

void uf__remote_forget(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	pthread_mutex_lock(&channels_lock);
	for (int i = 0; i < MAX_CHANNELS; i++) {
		struct channel *ch = channels[i];
		if (ch && ch->dev == st.st_dev && ch->ino == st.st_ino) {
			/* Another copy of the descriptor may still be in use
			 * here; it will open a new channel if it needs one. */
			pthread_mutex_lock(&ch->lock);
			channels[i] = NULL;
			atomic_fetch_sub(&nchannels, 1);
			if (ch->sock >= 0)
				close(ch->sock);
			pthread_mutex_unlock(&ch->lock);
			pthread_mutex_destroy(&ch->lock);
			free(ch);
		}
	}
	pthread_mutex_unlock(&channels_lock);
}

/* ------------------------------------------------------------------------ */
/* One request                                                              */

/* Send q (with its argument and data) and wait for the answer: the reply's
 * header and up to cap bytes of body.  Takes the doorbell datagram off fd
 * when the target says so.  -ESRCH once the target is gone. */
/* Descriptors that came with a reply (SCM_RIGHTS): up to UU_READ_MAX, in
 * order; *n of them. */
struct passed {
	int fd[UU_READ_MAX];
	size_t n;
};

static void passed_take(struct msghdr *m, struct passed *p)
{
	p->n = 0;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(m); h; h = CMSG_NXTHDR(m, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(fd));
			if (p->n < UU_READ_MAX)
				p->fd[p->n++] = fd;
			else
				close(fd);
		}
	}
}

static void passed_close(struct passed *p, size_t from)
{
	for (size_t i = from; i < p->n; i++)
		close(p->fd[i]);
	p->n = 0;
}

static int exchange_fds(struct channel *ch, int fd, struct uu_req *q, const void *arg,
			const void *data, int send_fd, struct uu_rep *rep, void *body, size_t cap,
			struct passed *fds);

static int exchange(struct channel *ch, int fd, struct uu_req *q, const void *arg,
		    const void *data, struct uu_rep *rep, void *body, size_t cap)
{
	struct passed p;
	int r = exchange_fds(ch, fd, q, arg, data, -1, rep, body, cap, &p);
	passed_close(&p, 0);	/* no reply but a read's passes any */
	return r;
}

/* exchange() that sends send_fd along (unless -1: a COPY's source file)
 * and keeps the descriptors the reply passed in *fds (the caller closes
 * those it does not keep). */
static int exchange_fds(struct channel *ch, int fd, struct uu_req *q, const void *arg,
			const void *data, int send_fd, struct uu_rep *rep, void *body, size_t cap,
			struct passed *fds)
{
	fds->n = 0;
	int cs;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	pthread_mutex_lock(&ch->lock);
	int r = -ESRCH;
	if (ch->sock < 0)
		goto out;
	q->magic = UU_REQ_MAGIC;
	size_t data_len = send_fd >= 0 ? 0 : q->data_len;	/* in the file, not here */
	struct iovec out[3] = {
		{ q, sizeof(*q) }, { (void *)arg, q->arg_len }, { (void *)data, data_len },
	};
	struct msghdr m = { .msg_iov = out, .msg_iovlen = 3 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} sctl;
	if (send_fd >= 0) {
		memset(&sctl, 0, sizeof(sctl));
		m.msg_control = sctl.buf;
		m.msg_controllen = sizeof(sctl.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &send_fd, sizeof(int));
	}
	ssize_t n;
	do
		n = sendmsg(ch->sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EFAULT) {
		r = -EFAULT;	/* arg or data unreadable: nothing was sent */
		goto out;
	}
	if (n < 0 && (errno == ENOMEM || errno == ENOBUFS)) {
		/* Nothing was sent (a datagram goes whole or not at all):
		 * this call's error, and the channel stays (tests/inject.c
		 * serve_monitor). */
		r = -ENOMEM;
		goto out;
	}
	if (n != (ssize_t)(sizeof(*q) + q->arg_len + data_len))
		goto gone;
	struct iovec in[2] = { { rep, sizeof(*rep) }, { body, cap } };
	union {
		char buf[CMSG_SPACE(UU_READ_MAX * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mi = { .msg_iov = in, .msg_iovlen = 2,
			     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	/* The request was sent: its reply must be read, so out of memory
	 * is tried again (the reply stays queued meanwhile). */
	for (int tries = 0;; tries++) {
		n = recvmsg(ch->sock, &mi, MSG_CMSG_CLOEXEC);
		if (n >= 0 || (errno != EINTR && ((errno != ENOMEM && errno != ENOBUFS) || tries > 100)))
			break;
		if (errno != EINTR)
			sched_yield();
	}
	if (n >= 0)
		passed_take(&mi, fds);
	if (n < (ssize_t)sizeof(*rep) || rep->magic != UU_REP_MAGIC || rep->len > cap ||
	    (size_t)n != sizeof(*rep) + rep->len)
		goto gone;
	if (rep->retract) {
		char b;
		(void)!recv(fd, &b, 1, MSG_DONTWAIT);
	}
	r = 0;
	goto out;
gone:
	close(ch->sock);
	ch->sock = -1;
out:
	pthread_mutex_unlock(&ch->lock);
	pthread_setcancelstate(cs, NULL);
	return r;
}

/* Read len bytes at src of our own memory as far as they are readable, a
 * page at a time: how many were. */
static size_t read_readable(void *to, uintptr_t src, size_t len)
{
	/* All of it in one call, as it mostly is (a huge page's source is
	 * 512 pages). */
	struct iovec wl = { to, len }, wr = { (void *)src, len };
	if (len && process_vm_readv(uf__pid(), &wl, 1, &wr, 1, 0) == (ssize_t)len)
		return len;
	size_t done = 0;
	while (done < len) {
		size_t in_page = 4096 - ((src + done) & 4095);
		size_t k = len - done < in_page ? len - done : in_page;
		struct iovec l = { (char *)to + done, k }, r = { (void *)(src + done), k };
		if (process_vm_readv(uf__pid(), &l, 1, &r, 1, 0) != (ssize_t)k)
			break;
		done += k;
	}
	return done;
}

/* A COPY's source in units larger than a request holds (a huge page, the
 * target says which: wire.h): a memfd of that size, mapped here, into which
 * each piece is read and which goes with the request. */
struct src_file {
	int fd;
	char *map;
	size_t len;
};

static void src_file_close(struct src_file *f)
{
	if (f->map)
		munmap(f->map, f->len);
	if (f->fd >= 0)
		close(f->fd);
	*f = (struct src_file){ -1, NULL, 0 };
}

/* Make f hold at least unit bytes.  0, or -ENOMEM (the kernel's COPY fails
 * only so for want of resources). */
static int src_file_size(struct src_file *f, size_t unit)
{
	if (f->len >= unit)
		return 0;
	src_file_close(f);
	f->fd = memfd_create("userfault-copy", MFD_CLOEXEC);
	if (f->fd < 0 || ftruncate(f->fd, (off_t)unit) < 0) {
		src_file_close(f);
		return -ENOMEM;
	}
	void *m = mmap(NULL, unit, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
	if (m == MAP_FAILED) {
		src_file_close(f);
		return -ENOMEM;
	}
	f->map = m;
	f->len = unit;
	return 0;
}

/* UFFDIO_COPY: the source travels with the request, UU_CHUNK at a time.
 * Each request names the whole rest of the range, so the target checks it
 * as the kernel checks the whole call, and copies what came with it (the
 * copy stops where the bytes end, at the target's guard page).  Into
 * memory whose pages are larger (hugetlb), the target runs nothing and
 * answers with the unit it needs; from then on each piece is a unit read
 * into a file sent along (what can be read of it: a source unreadable
 * within a page fails that page there, as in the kernel). */
static int remote_copy(struct channel *ch, int fd, struct uffdio_copy *user, struct uffdio_copy a,
		       uint32_t flags)
{
	char *data = NULL;
	struct src_file file = { -1, NULL, 0 };
	size_t unit = UU_CHUNK;
	__s64 total = 0;
	int ret;
	int first = 1;
	for (;;) {
		struct uffdio_copy piece = a;
		piece.dst += (__u64)total;
		piece.src += (__u64)total;
		piece.len -= (__u64)total;
		if (!first)
			piece.copy = 0;
		size_t want = piece.len < unit ? (size_t)piece.len : unit;
		/* A source the kernel refuses is the target's to refuse. */
		int valid = uf__validate_range(piece.src & ~(__u64)4095, piece.len) == 0;
		struct uu_req q = { .op = UU_OP_IOCTL, .request = UFFDIO_COPY, .flags = flags,
				    .arg_len = sizeof(piece) };
		struct uu_rep rep;
		struct uffdio_copy back;
		size_t have = 0;
		ret = -EFAULT;
		if (unit > UU_CHUNK) {
			struct passed none;
			if ((ret = src_file_size(&file, unit)) < 0)
				break;
			have = valid ? read_readable(file.map, (uintptr_t)piece.src, want) : 0;
			q.flags |= UU_SRC_FILE;
			q.data_len = (uint32_t)have;
			ret = exchange_fds(ch, fd, &q, &piece, NULL, file.fd, &rep, &back, sizeof(back),
					   &none);
			passed_close(&none, 0);
		} else {
			if (valid && want) {
				/* Sent straight from the source: the socket's
				 * copy fails with EFAULT, sending nothing, where
				 * it is not all readable... */
				have = want;
				q.data_len = (uint32_t)have;
				ret = exchange(ch, fd, &q, &piece, (const void *)(uintptr_t)piece.src,
					       &rep, &back, sizeof(back));
			}
			if (ret == -EFAULT) {
				/* ...and then what can be read of it is. */
				if (!data && !(data = malloc(UU_CHUNK))) {
					ret = -ENOMEM;
					break;
				}
				have = valid ? read_readable(data, (uintptr_t)piece.src, want) : 0;
				q.data_len = (uint32_t)have;
				ret = exchange(ch, fd, &q, &piece, data, &rep, &back, sizeof(back));
			}
		}
		if (ret < 0)
			break;
		ret = rep.ret;
		if (rep.ret == -EMSGSIZE && rep.unit) {
			/* Not run: the same piece again, in the target's unit
			 * (larger each time, so this ends). */
			if (rep.unit <= unit || rep.unit > UU_UNIT_MAX || (rep.unit & (rep.unit - 1))) {
				ret = -EIO;
				break;
			}
			unit = rep.unit;
			continue;
		}
		if (rep.len != sizeof(back))
			break;
		/* Stopped only because the bytes sent ran out: go on. */
		int more = rep.ret == -EAGAIN && back.copy >= 0 && (size_t)back.copy == have &&
			   have == want && (__u64)(total + back.copy) < a.len;
		if (first && !more) {
			/* The whole call was this one request: its argument
			 * as the target left it (src is ours again). */
			if (!flags && uf__copy_out(user, &back, sizeof(back)) < 0)
				ret = -EFAULT;
			break;
		}
		if (!more) {
			if (back.copy > 0)
				total += back.copy;
			ret = (__u64)total == a.len ? 0 : -EAGAIN;
			if (uf__copy_out(&user->copy, &total, sizeof(total)) < 0)
				ret = -EFAULT;
			break;
		}
		total += back.copy;
		first = 0;
	}
	free(data);
	src_file_close(&file);
	return ret;
}

int uf__remote_ioctl(int fd, unsigned long request, void *arg)
{
	int err;
	struct channel *ch = channel_of(fd, &err);
	if (!ch)
		return err;
	/* The argument's size is in the request number; anything else is not
	 * a userfaultfd ioctl and the target refuses it with EINVAL. */
	size_t size = _IOC_TYPE(request) == UFFDIO ? _IOC_SIZE(request) : 0;
	if (size > UU_ARG_MAX)
		size = 0;
	char buf[UU_ARG_MAX];
	uint32_t flags = 0;
	if (size && uf__copy_in(buf, arg, size) < 0)
		flags |= UU_ARG_UNREADABLE;
	else if (size && uf__copy_out(arg, buf, size) < 0)
		flags |= UU_ARG_READONLY;	/* same bytes written back: a test */
	if (request == UFFDIO_COPY && size == sizeof(struct uffdio_copy) &&
	    !(flags & UU_ARG_UNREADABLE)) {
		struct uffdio_copy a;
		memcpy(&a, buf, sizeof(a));
		return remote_copy(ch, fd, arg, a, flags);
	}
	struct uu_req q = { .op = UU_OP_IOCTL, .request = request, .flags = flags,
			    .arg_len = (uint32_t)size };
	struct uu_rep rep;
	char back[UU_ARG_MAX];
	int r = exchange(ch, fd, &q, buf, NULL, &rep, back, sizeof(back));
	if (r < 0)
		return r;
	/* The call's writes to its argument, made there on a copy: make them
	 * here (a read-only argument failed there already). */
	if (rep.len == size && size && !flags && uf__copy_out(arg, back, size) < 0)
		return -EFAULT;
	return rep.ret;
}

/* The FORK messages of a read take the descriptors passed with it, in
 * order (wire.h): each becomes this process's descriptor for the child's
 * context, with the flags the message names.  -EIO (all closed) when they
 * do not match. */
static int fork_fds(struct uffd_msg *m, size_t n, struct passed *fds)
{
	size_t want = 0;
	for (size_t i = 0; i < n; i++)
		want += m[i].event == UFFD_EVENT_FORK;
	if (want != fds->n) {
		passed_close(fds, 0);
		return -EIO;
	}
	for (size_t i = 0, k = 0; i < n; i++) {
		if (m[i].event != UFFD_EVENT_FORK)
			continue;
		int nfd = fds->fd[k++];
		__u64 flags = m[i].arg.reserved.reserved1;
		if (!(flags & O_CLOEXEC))
			fcntl(nfd, F_SETFD, 0);
		/* A user-engine descriptor: listed so that uf_ioctl() and the
		 * preload shim route it at once (its context is the child's). */
		int fl = fcntl(nfd, F_GETFL);
		(void)uf__fd_set(nfd, &uf__user_engine, UF_VIA_USER_ENGINE,
				 (int)(flags & O_CLOEXEC) | (fl >= 0 ? (fl & O_NONBLOCK) : 0));
		memset(&m[i].arg, 0, sizeof(m[i].arg));
		m[i].arg.fork.ufd = (__u32)nfd;
	}
	fds->n = 0;
	return 0;
}

ssize_t uf__remote_read(int fd, struct uffd_msg *msgs, size_t n)
{
	int err;
	struct channel *ch = channel_of(fd, &err);
	if (!ch)
		return err == -ENOTTY ? -EBADF : err;
	if (n == 0)
		return -EINVAL;
	if (n > UU_READ_MAX)
		n = UU_READ_MAX;
	struct uffd_msg got[UU_READ_MAX];
	for (;;) {
		struct uu_req q = { .op = UU_OP_READ, .nmsg = (uint32_t)n };
		struct uu_rep rep;
		struct passed fds;
		int r = exchange_fds(ch, fd, &q, NULL, NULL, -1, &rep, got, sizeof(got), &fds);
		if (r < 0) {
			passed_close(&fds, 0);
			return r == -ESRCH ? 0 : r;	/* the target is gone: end of file */
		}
		if (rep.ret > 0) {
			size_t len = (size_t)rep.ret * sizeof(*got);
			if (rep.len != len || (size_t)rep.ret > n) {
				passed_close(&fds, 0);
				return -EIO;
			}
			r = fork_fds(got, (size_t)rep.ret, &fds);
			if (r < 0)
				return r;
			return uf__copy_out(msgs, got, len) < 0 ? -EFAULT : rep.ret;
		}
		passed_close(&fds, 0);
		if (rep.ret != -EAGAIN)
			return rep.ret;
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0)
			return -errno;
		if (fl & O_NONBLOCK)
			return -EAGAIN;
		/* Sleep until the doorbell rings (a cancellation point, and
		 * restarted or not after a signal as the kernel's read is). */
		char b;
		ssize_t k = recv(fd, &b, 1, MSG_PEEK);
		if (k == 0)
			return 0;		/* the target is gone */
		if (k < 0 && errno != EAGAIN)
			return -errno;
	}
}
