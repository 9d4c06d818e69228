/* SPDX-License-Identifier: MIT */
/*
 * fdpass.c - handing a descriptor to another process over a Unix socket
 * (SCM_RIGHTS with one data byte), as Firecracker and CRIU hand over a
 * userfaultfd.
 */
#include <string.h>
#include <sys/socket.h>
#include "t.h"

int t_send_fd(int sock, int fd)
{
	char one = 1;
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = { &one, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

int t_recv_fd(int sock)
{
	char one;
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } ctl;
	struct iovec iov = { &one, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf) };
	if (recvmsg(sock, &m, 0) != 1)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}
