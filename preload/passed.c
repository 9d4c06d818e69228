/* SPDX-License-Identifier: MIT */
/*
 * passed.c - user-engine descriptors this process did not open: received
 * from another process with SCM_RIGHTS (a page server, a lazy-pages
 * daemon), or inherited across fork.
 *
 * Their context lives in the process that opened them, which the library
 * reaches through the descriptor itself (src/user/remote.c).  A program
 * written for the kernel uses them with plain read(2) and ioctl(2), so the
 * shim must know them: they are recognised where they arrive, in
 * recvmsg(), by the fingerprint the opening process gave them, which also
 * turns the shim on in a process that never opened a context itself.  A
 * forked child's copies of its parent's descriptors are recognised the
 * first time they are used (state.c: listed as ours, but no context of
 * this process), and those inherited across exec(2) are found when the
 * shim starts (a look at each socket among the descriptors it finds open:
 * fstat and three getsockopt, nothing sent).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "shim.h"

#define PASSED 64

static atomic_int passed[PASSED];	/* descriptor + 1; 0: free */
static atomic_int npassed;

int uf__shim_is_passed(int fd)
{
	if (fd < 0)
		return 0;
	if (atomic_load(&npassed))
		for (int i = 0; i < PASSED; i++)
			if (atomic_load(&passed[i]) == fd + 1)
				return 1;
	return 0;
}

void uf__shim_passed_add(int fd)
{
	for (int i = 0; i < PASSED; i++) {
		int free_slot = 0;
		if (atomic_compare_exchange_strong(&passed[i], &free_slot, fd + 1)) {
			atomic_fetch_add(&npassed, 1);
			uf__shim_activate();
			return;
		}
	}
	/* More than PASSED at once: the library still serves them through
	 * uf_read()/uf_ioctl(), only the raw calls do not know them. */
}

void uf__shim_passed_closed(int fd)
{
	if (fd < 0 || !atomic_load(&npassed))
		return;
	for (int i = 0; i < PASSED; i++) {
		int want = fd + 1;
		if (atomic_compare_exchange_strong(&passed[i], &want, 0))
			atomic_fetch_sub(&npassed, 1);
	}
}

void uf__shim_passed_dup(int from, int to)
{
	if (to >= 0 && from != to && atomic_load(&npassed) && uf__shim_is_passed(from))
		uf__shim_passed_add(to);
}

void uf__shim_passed_received(const struct msghdr *m)
{
	if (!m || !m->msg_control || m->msg_controllen < sizeof(struct cmsghdr))
		return;
	for (struct cmsghdr *h = CMSG_FIRSTHDR((struct msghdr *)m); h;
	     h = CMSG_NXTHDR((struct msghdr *)m, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(fd));
			if (uf__remote_is_user_fd(fd))
				uf__shim_passed_add(fd);
		}
	}
}

void uf__shim_passed_inherited(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	int self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		struct stat st;
		if (*end || end == e->d_name || fd == self || fd < 0 || fd > 0x7fffffff)
			continue;
		if (fstat((int)fd, &st) == 0 && S_ISSOCK(st.st_mode) && uf__remote_is_user_fd((int)fd))
			uf__shim_passed_add((int)fd);
	}
	closedir(d);
}

/* recvmmsg(2): as recvmsg() for the descriptors that arrive (a fault of
 * its buffers in registered memory is not retried: docs/LIMITATIONS.md). */
UF_SHIM_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *t)
{
	int r = uf__real_recvmmsg(fd, v, n, flags, t);
	for (int i = 0; i < r; i++)
		if (v[i].msg_hdr.msg_controllen)
			uf__shim_passed_received(&v[i].msg_hdr);
	return r;
}
