/* SPDX-License-Identifier: MIT */
/*
 * bench_xproc.c - the cross-process mode: a forked child receives the
 * context's descriptor over a unix socket (SCM_RIGHTS) and resolves the
 * parent's faults with its own handler threads, as a non-cooperative
 * manager (CRIU's lazy pages, a VMM's snapshot loader) does.
 *
 * The child is forked before the context exists, so it holds the
 * descriptor only through SCM_RIGHTS.  It reads the content from its own
 * copy of the source block (same address, inherited): UFFDIO_COPY reads
 * the source in the caller's address space and writes into the context's.
 *
 * The socket also carries the control: one reply after the descriptor
 * arrives (0 or -errno from the handler's start), a stop byte from the
 * parent, and a last reply with the handler's result and count.  When the
 * parent goes away the child reads EOF and ends.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

#define REPLY_TIMEOUT_MS 10000

struct reply {
	int32_t err;
	int32_t engine;		/* uf_engine() of the descriptor in the child */
	uint64_t served;
};

struct child_ctx {
	const struct bench_mem *m;
	struct bench_counts counts;
};

static int on_fault(int fd, const struct uffd_msg *msg, void *user)
{
	struct child_ctx *c = user;
	return bench_resolve(fd, c->m, (uintptr_t)msg->arg.pagefault.address, &c->counts);
}

static int send_fd(int sock, int fd)
{
	char byte = 'F';
	struct iovec iov = { &byte, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh;
	memset(&mh, 0, sizeof(mh));
	memset(&u, 0, sizeof(u));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* The descriptor, -ENODATA at EOF (the parent gave up), or -errno. */
static int recv_fd(int sock)
{
	char byte;
	struct iovec iov = { &byte, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	ssize_t n;
	while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0)
		if (errno != EINTR)
			return -errno;
	if (n == 0)
		return -ENODATA;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EPROTO;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static void put_reply(int sock, int err, int engine, uint64_t served)
{
	struct reply r = { .err = err, .engine = engine, .served = served };
	while (send(sock, &r, sizeof(r), MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static int get_reply(int sock, struct reply *r)
{
	struct pollfd p = { sock, POLLIN, 0 };
	int n;
	while ((n = poll(&p, 1, REPLY_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (n == 0)
		return -ETIMEDOUT;
	ssize_t got;
	while ((got = recv(sock, r, sizeof(*r), 0)) < 0 && errno == EINTR)
		;
	if (got < 0)
		return -errno;
	if (got != (ssize_t)sizeof(*r))
		return -EPIPE;		/* the child ended */
	return 0;
}

/* The child's whole life; its exit status. */
static int child_main(int sock, const struct bench_mem *m, unsigned handlers)
{
	int fd = recv_fd(sock);
	if (fd < 0)
		return fd == -ENODATA ? 0 : 1;
	/* A descriptor this process's library does not know as a userfault
	 * descriptor cannot be served here: say so instead of waiting. */
	int engine = uf_engine(fd);
	if (engine < 0) {
		put_reply(sock, 0, engine, 0);
		return 0;
	}
	struct child_ctx ctx = { .m = m };
	atomic_init(&ctx.counts.eexist, 0);
	atomic_init(&ctx.counts.eagain, 0);
	struct uf_handler_opts ho = UF_HANDLER_OPTS_INIT;
	ho.on_fault = on_fault;
	ho.user = &ctx;
	ho.nthreads = handlers;
	struct uf_handler *h;
	int err = uf_handler_start(fd, &ho, &h);
	put_reply(sock, err, engine, 0);
	if (err)
		return 1;
	/* Serve until told to stop, or until the handler ends by itself (a
	 * failed resolve): then say so, so the parent can release. */
	for (;;) {
		struct pollfd p = { sock, POLLIN, 0 };
		if (poll(&p, 1, 50) > 0) {
			/* Take the stop byte: a unix socket closed with unread
			 * data resets the peer, which would lose our reply. */
			char stop;
			while (read(sock, &stop, 1) < 0 && errno == EINTR)
				;
			break;
		}
		if (!uf_handler_running(h))
			break;
	}
	uint64_t served = uf_handler_count(h);
	err = uf_handler_stop(h);
	uf_close(fd);
	put_reply(sock, err, engine, served);
	return 0;
}

int bench_child_start(struct bench_child *c, const struct bench_mem *m, unsigned handlers)
{
	int sv[2];
	c->pid = -1;
	c->sock = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fflush(NULL);		/* the child must not write our buffered output again */
	pid_t pid = fork();
	if (pid < 0) {
		int err = -errno;
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (pid == 0) {
		close(sv[0]);
		_exit(child_main(sv[1], m, handlers));
	}
	close(sv[1]);
	c->pid = pid;
	c->sock = sv[0];
	return 0;
}

int bench_child_serve(struct bench_child *c, int fd, int *foreign)
{
	struct reply r;
	*foreign = 0;
	int err = send_fd(c->sock, fd);
	if (err)
		return err;
	err = get_reply(c->sock, &r);
	if (err)
		return err;
	if (r.engine < 0) {
		*foreign = r.engine;
		return r.engine;
	}
	return r.err;
}

int bench_child_alive(struct bench_child *c)
{
	int status;
	if (c->pid <= 0)
		return 0;
	if (waitpid(c->pid, &status, WNOHANG) == 0)
		return 1;
	c->pid = -1;		/* reaped (or not ours any more): never signal it */
	return 0;
}

static int reap(struct bench_child *c)
{
	int status = 0, err = 0;
	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
	if (c->pid > 0) {
		while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0))
			err = -ECHILD;
	}
	c->pid = -1;
	return err;
}

int bench_child_stop(struct bench_child *c, unsigned long long *served)
{
	struct reply r = { 0 };
	*served = 0;
	if (c->sock < 0)
		return -ECHILD;
	/* Ended already (reaped by bench_child_alive()): its last reply may
	 * still wait in the socket. */
	while (send(c->sock, "S", 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
	int err = get_reply(c->sock, &r);
	if (err == -ETIMEDOUT && c->pid > 0)
		kill(c->pid, SIGKILL);	/* our child, stuck */
	int rerr = reap(c);
	if (err)
		return err;
	*served = r.served;
	return r.err ? r.err : rerr;
}

void bench_child_kill(struct bench_child *c)
{
	if (c->pid > 0)
		kill(c->pid, SIGKILL);
	(void)reap(c);
}
