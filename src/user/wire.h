/* SPDX-License-Identifier: MIT */
/*
 * wire.h - how another process uses a user-engine descriptor it was given.
 *
 * A user-engine descriptor is one end of a socket pair whose other end the
 * engine keeps in the process that opened it (the "target").  A process that
 * receives the descriptor (the "monitor", over SCM_RIGHTS) polls it and sees
 * the doorbell natively; everything else it asks the target for:
 *
 *   1. Hello.  The monitor sends one datagram through the descriptor itself,
 *      carrying one end of a fresh socket pair (SCM_RIGHTS).  Only a holder of
 *      the descriptor can do this, so the descriptor is the credential, as it
 *      is with the kernel; the target also checks the sender's user
 *      (SCM_CREDENTIALS).  The target answers on the new pair: that pair is
 *      the monitor's private channel from then on.
 *   2. Requests on the channel: an ioctl (its argument, and for UFFDIO_COPY
 *      the source bytes) or a read.  The target runs it with the same code as
 *      in-process calls and answers with the result and the argument as the
 *      call left it.  A COPY's source travels UU_CHUNK bytes a request in
 *      the datagram; a huge page's is needed whole by the fill, more than a
 *      datagram holds, so for those the target answers the first request
 *      with the unit it needs (struct uu_rep's unit; the copy not run) and
 *      the monitor sends each piece's source in a file of its own passed
 *      with the request (a memfd, UU_SRC_FILE), which the target reads into
 *      a buffer of one huge page: no state between requests, and never more
 *      than one destination page of memory for whatever a peer sends.
 *
 * Why the hello goes through the descriptor: no name to find (an abstract
 * socket would stop at network namespaces, a path at mount namespaces), and
 * no permission beyond holding the descriptor (pidfd_getfd and
 * process_vm_writev need ptrace rights).  The descriptor must never look
 * writable (a userfaultfd never does), so the engine keeps its send buffer
 * charged with datagrams it does not take: a socket is writable only while
 * under a quarter of its buffer is charged, but it may send while under all
 * of it.  The engine keeps the newest hellos queued as that charge and reads
 * each new one by peeking past them (SO_PEEK_OFF); epoll in edge-triggered
 * mode tells it when one arrives.  See serve.c.
 *
 *   3. A read that takes a UFFD_EVENT_FORK message passes the child context's
 *      descriptor along with the reply (SCM_RIGHTS), one per FORK message in
 *      their order; in the message itself arg.reserved.reserved1 holds
 *      O_CLOEXEC if the monitor's new descriptor must have it (the kernel
 *      gives it the flags of the context it was forked from), and the
 *      monitor writes the descriptor's number into arg.fork.ufd.  The child
 *      context lives in the forked child, which serves it like any other
 *      (its engine end is there).
 *
 * Everything in these messages is checked by the receiver: sizes, counts,
 * the operation.  Integers are in the host's order (both ends are on one
 * machine).
 */
#ifndef UF_USER_WIRE_H
#define UF_USER_WIRE_H

#include <stdint.h>

#define UU_WIRE_VERSION		2
#define UU_HELLO_MAGIC		0x4f4c4c4548465555ull	/* "UUFHELLO" */
#define UU_REQ_MAGIC		0x51524655u		/* "UFRQ" */
#define UU_REP_MAGIC		0x50524655u		/* "UFRP" */

/* Every hello datagram (and the filler the engine starts with) is this long,
 * so that one of them keeps the descriptor from ever looking writable. */
#define UU_HELLO_BYTES		1024
/* The engine keeps at most this much charged (its estimate, serve.c), so a
 * hello always fits behind (the send buffer is 4.5 KiB, its minimum). */
#define UU_HELD_CHARGE_MAX	4096

/* The application end's receive buffer is set to this (the kernel doubles
 * it): a fingerprint a monitor checks before it sends a hello to a socket. */
#define UU_FINGERPRINT_RCVBUF	23117

/* Source bytes carried by one request (UFFDIO_COPY is split into these). */
#define UU_CHUNK		(64u * 1024)
/* The largest unit a target may ask a COPY's source in (a 1 GiB huge
 * page): a monitor refuses a larger one. */
#define UU_UNIT_MAX		(1u << 30)
/* Messages returned by one read request. */
#define UU_READ_MAX		128u
/* Largest argument of any userfaultfd ioctl (struct uffdio_api is 24). */
#define UU_ARG_MAX		64u

struct uu_hello {
	uint64_t magic;			/* UU_HELLO_MAGIC */
	uint32_t version;		/* UU_WIRE_VERSION */
	uint32_t pad;
	char filler[UU_HELLO_BYTES - 16];
};

/* The target's answer on the new channel.  A refusal has version 0 and
 * -errno in pid. */
struct uu_welcome {
	uint64_t magic;			/* UU_HELLO_MAGIC */
	uint32_t version;
	int32_t pid;			/* the target, as the target sees itself */
};

enum uu_op {
	UU_OP_IOCTL = 1,
	UU_OP_READ = 2,
};

/* UU_OP_IOCTL flags: where the monitor could not read or write the
 * argument, the target runs the call on an argument that fails the same
 * way, so the errors come in the kernel's order. */
#define UU_ARG_UNREADABLE	0x1u
#define UU_ARG_READONLY		0x2u
/* UFFDIO_COPY: the source bytes (data_len of them) are at the start of the
 * one file passed with the request (SCM_RIGHTS: a memfd; a file that is not
 * shmem or hugetlbfs, where a read could block, is refused), not in the
 * datagram.  The target reads at most the destination's unit of it. */
#define UU_SRC_FILE		0x4u

struct uu_req {
	uint32_t magic;			/* UU_REQ_MAGIC */
	uint32_t op;			/* enum uu_op */
	uint64_t request;		/* UU_OP_IOCTL: the ioctl number */
	uint32_t flags;			/* UU_ARG_* */
	uint32_t arg_len;		/* argument bytes that follow */
	uint32_t data_len;		/* UFFDIO_COPY: source bytes after the argument */
	uint32_t nmsg;			/* UU_OP_READ: at most this many messages */
	/* followed by arg_len + data_len bytes */
};

struct uu_rep {
	uint32_t magic;			/* UU_REP_MAGIC */
	int32_t ret;			/* 0 or -errno; UU_OP_READ: messages, or -errno */
	uint32_t retract;		/* take one doorbell datagram off the descriptor */
	uint32_t len;			/* bytes that follow: the argument, or the messages */
	uint32_t unit;			/* UFFDIO_COPY not run (ret -EMSGSIZE): send the
					 * source in pieces of this many bytes, each
					 * through a file (UU_SRC_FILE); else 0 */
};

#endif /* UF_USER_WIRE_H */
