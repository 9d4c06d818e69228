/* SPDX-License-Identifier: MIT */
/*
 * passed_fd: the descriptor served from another process with plain poll,
 * read and ioctl, as page servers do.
 *
 *  1. received: a monitor forked before the descriptor existed receives it
 *     over a Unix socket (SCM_RIGHTS, as Firecracker hands it to its page
 *     server) and resolves the target's faults with UFFDIO_COPY;
 *  2. the same received with recvmmsg(2);
 *  3. inherited: a child forked after registration (no EVENT_FORK) serves
 *     its parent's faults on the copy of the descriptor it inherited;
 *  4. inherited across exec(2): that child runs this program again, which
 *     serves on the descriptor number it is given.
 *
 * The target checks every page; the monitor reports what it read.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include "uffd.h"

#define NPAGES 6

/* Serve NPAGES faults of the target on fd, each with page content i. */
static int serve(int fd, char *base)
{
	char *buf = map_anon(PAGE);
	for (int k = 0; k < NPAGES; k++) {
		struct uffd_msg m;
		if (read_msg(fd, &m, 10000) < 0)
			return 1;
		if (m.event != UFFD_EVENT_PAGEFAULT)
			return 2;
		unsigned long i = (unsigned long)((m.arg.pagefault.address - (uintptr_t)base) / PAGE);
		fill_page(buf, i);
		struct uffdio_copy c = { .dst = m.arg.pagefault.address & ~(PAGE - 1),
					 .src = (uintptr_t)buf, .len = PAGE };
		if (ioctl(fd, UFFDIO_COPY, &c) != 0 || c.copy != (long long)PAGE)
			return 3;
	}
	/* A write on the descriptor is refused as on a read-only file. */
	char junk = 0;
	if (write(fd, &junk, 1) != -1 || errno != EBADF)
		return 4;
	return 0;
}

/* Touch every page in an order of our own; 1 if all hold their content. */
static int touch_all(char *base)
{
	static const int order[NPAGES] = { 3, 0, 5, 1, 4, 2 };
	int good = 1;
	for (int k = 0; k < NPAGES; k++)
		good &= page_ok(base + order[k] * PAGE, (unsigned long)order[k]);
	return good;
}

static void send_fd(int sock, int fd)
{
	char byte = 'u';
	struct iovec v = { &byte, 1 };
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	CHECK(sendmsg(sock, &m, 0) == 1);
}

static int recv_fd(int sock, int many)
{
	char byte;
	struct iovec v = { &byte, 1 };
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
	struct mmsghdr mm = { .msg_hdr = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl.buf,
					   .msg_controllen = sizeof(ctl.buf) } };
	struct msghdr *m = &mm.msg_hdr;
	if (many)
		CHECK(recvmmsg(sock, &mm, 1, 0, NULL) == 1 && mm.msg_len == 1);
	else
		CHECK(recvmsg(sock, m, 0) == 1);
	struct cmsghdr *h = CMSG_FIRSTHDR(m);
	CHECK(h && h->cmsg_type == SCM_RIGHTS);
	int fd;
	memcpy(&fd, CMSG_DATA(h), sizeof(int));
	return fd;
}

static int wait_child(pid_t pid)
{
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static void received(int many)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	char *base = map_anon(NPAGES * PAGE);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		int fd = recv_fd(sv[1], many);
		int r = serve(fd, base);
		close(fd);
		_exit(r);
	}
	close(sv[1]);
	int uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, 0);
	uffd_register(uffd, base, NPAGES * PAGE, UFFDIO_REGISTER_MODE_MISSING);
	send_fd(sv[0], uffd);
	int good = touch_all(base);
	int r = wait_child(pid);
	printf("received (%s): pages %s, monitor exit %d\n", many ? "recvmmsg" : "recvmsg",
	       good ? "ok" : "WRONG", r);
	close(uffd);
	close(sv[0]);
	munmap(base, NPAGES * PAGE);
}

static void inherited(int exec)
{
	char *base = map_anon(NPAGES * PAGE);
	int uffd = uffd_open(exec ? O_NONBLOCK : O_CLOEXEC | O_NONBLOCK, 0);
	uffd_register(uffd, base, NPAGES * PAGE, UFFDIO_REGISTER_MODE_MISSING);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (!exec)
			_exit(serve(uffd, base));
		char fd_arg[16], base_arg[32];
		snprintf(fd_arg, sizeof(fd_arg), "%d", uffd);
		snprintf(base_arg, sizeof(base_arg), "%lx", (unsigned long)(uintptr_t)base);
		execl("/proc/self/exe", "passed_fd", "serve", fd_arg, base_arg, (char *)NULL);
		_exit(99);
	}
	int good = touch_all(base);
	int r = wait_child(pid);
	printf("inherited%s: pages %s, monitor exit %d\n", exec ? " across exec" : "",
	       good ? "ok" : "WRONG", r);
	close(uffd);
	munmap(base, NPAGES * PAGE);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return serve(atoi(argv[2]), (char *)(uintptr_t)strtoul(argv[3], NULL, 16));
	received(0);
	received(1);
	inherited(0);
	inherited(1);
	printf("done\n");
	return 0;
}
