/* SPDX-License-Identifier: MIT */
/*
 * seccomp_launch (a helper of tests/shim_run.sh, not compared): run a
 * command under a real seccomp filter that blocks the kernel's
 * userfaultfd the way container runtimes' profiles do: userfaultfd(2)
 * fails with EPERM, and so does opening /dev/userfaultfd.
 *
 * A BPF filter cannot read a path, so open and openat are sent to this
 * process (SECCOMP_RET_USER_NOTIF): it reads the path from the caller's
 * memory and answers EPERM for /dev/userfaultfd, or lets the call go on
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE).  With --ioctl, the device opens
 * but its USERFAULTFD_IOC_NEW fails with EPERM instead (a filter on the
 * ioctl's request, which BPF can read).  Exit status: the command's, or 125
 * if the filter cannot be set up (the message says why), 126/127 if the
 * command cannot be run.
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "uffd.h"

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#endif

static int send_fd(int sock, int fd)
{
	char c = 0;
	struct iovec v = { &c, 1 };
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c;
	struct iovec v = { &c, 1 };
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	if (recvmsg(sock, &m, 0) != 1)
		return -1;
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	int fd = -1;
	if (h && h->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(h), sizeof(int));
	return fd;
}

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

static void child(int sock, char **argv, int on_ioctl)
{
#ifdef ARCH
	struct sock_filter by_ioctl[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_userfaultfd, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, USERFAULTFD_IOC_NEW, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_userfaultfd, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
#ifdef __NR_open
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_open, 2, 0),
#else
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 2, 0),
#endif
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct sock_fprog fprog = { sizeof(prog) / sizeof(prog[0]), prog };
	if (on_ioctl) {
		fprog.len = sizeof(by_ioctl) / sizeof(by_ioctl[0]);
		fprog.filter = by_ioctl;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		printf("PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
		_exit(125);
	}
	int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				    on_ioctl ? 0 : SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog);
	if (listener < 0) {
		printf("seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER): %s\n", strerror(errno));
		_exit(125);
	}
	if (on_ioctl)
		listener = -1;	/* nothing to answer: tell the parent so */
	if (on_ioctl ? send(sock, "x", 1, 0) != 1 : send_fd(sock, listener) < 0)
		_exit(125);
	if (listener >= 0)
		close(listener);
	close(sock);
	fflush(stdout);
	execvp(argv[0], argv);
	printf("%s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
#else
	(void)sock;
	(void)argv;
	(void)on_ioctl;
	printf("the filter is written for x86_64 and aarch64\n");
	_exit(125);
#endif
}

/* The path argument of the notified open/openat, read from the caller. */
static void path_of(const struct seccomp_notif *req, char *buf, size_t len)
{
	buf[0] = '\0';
	uint64_t ptr = req->data.nr == __NR_openat ? req->data.args[1] : req->data.args[0];
	char mem[64];
	snprintf(mem, sizeof(mem), "/proc/%u/mem", req->pid);
	int fd = open(mem, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = pread(fd, buf, len - 1, (off_t)ptr);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
}

int main(int argc, char **argv)
{
	int on_ioctl = argc > 1 && strcmp(argv[1], "--ioctl") == 0;
	argv += on_ioctl;
	argc -= on_ioctl;
	if (argc < 2) {
		printf("usage: seccomp_launch [--ioctl] COMMAND [ARGS...]\n");
		return 125;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		child(sv[1], argv + 1, on_ioctl);
	}
	close(sv[1]);
	int listener = recv_fd(sv[0]);	/* -1 with --ioctl, or if the child failed */
	close(sv[0]);
	struct seccomp_notif_sizes sizes;
	if (listener >= 0 && syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		FAIL("SECCOMP_GET_NOTIF_SIZES: %s", strerror(errno));
	struct seccomp_notif *req = listener >= 0 ? calloc(1, sizes.seccomp_notif) : NULL;
	struct seccomp_notif_resp *resp = listener >= 0 ? calloc(1, sizes.seccomp_notif_resp) : NULL;
	int status;
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (listener < 0) {
			CHECK(waitpid(pid, &status, 0) == pid);
			break;
		}
		struct pollfd p = { listener, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0 || !(p.revents & POLLIN))
			continue;
		memset(req, 0, sizes.seccomp_notif);
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
			continue;	/* the caller went away */
		char path[256];
		path_of(req, path, sizeof(path));
		memset(resp, 0, sizes.seccomp_notif_resp);
		resp->id = req->id;
		if (strcmp(path, "/dev/userfaultfd") == 0)
			resp->error = -EPERM;
		else
			resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		(void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	printf("killed by signal %d\n", WTERMSIG(status));
	return 128 + WTERMSIG(status);
}
