/* SPDX-License-Identifier: MIT */
/*
 * syscalls: system calls whose buffer is a missing page of a registered
 * range.  The kernel faults on the page itself (copy_to_user/
 * copy_from_user), the handler thread answers, and the call completes as
 * if the memory had been there: read(2) into registered memory, write(2)
 * from it, and pread, pwrite, readv, writev, recv, recvfrom, recvmsg, send,
 * sendto, sendmsg.  For each call: the bytes moved, the faults it caused
 * (with their read/write kind), and whether the data arrived intact.
 */
#include <sys/socket.h>
#include <stdatomic.h>
#include <sys/uio.h>
#include "uffd.h"

#define NPAGES 64

static int uffd;
static char *region;
static size_t next_page;
static atomic_int reads, writes;

/* Missing pages are answered with the pattern of page 1000 + index. */
static void *handler(void *arg)
{
	(void)arg;
	char *src = map_anon(PAGE);
	for (;;) {
		struct uffd_msg m;
		if (read_msg(uffd, &m, -1) < 0)
			continue;
		if (m.event != UFFD_EVENT_PAGEFAULT)
			FAIL("event %u", m.event);
		uintptr_t a = m.arg.pagefault.address & ~(PAGE - 1);
		if (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE)
			atomic_fetch_add(&writes, 1);
		else
			atomic_fetch_add(&reads, 1);
		fill_page(src, 1000 + (a - (uintptr_t)region) / PAGE);
		struct uffdio_copy c = { a, (uintptr_t)src, PAGE, 0, 0 };
		CHECK(ioctl(uffd, UFFDIO_COPY, &c) == 0);
	}
	return NULL;
}

/* n fresh (missing) pages of the registered range. */
static char *fresh(size_t n)
{
	CHECK(next_page + n <= NPAGES);
	char *p = region + next_page * PAGE;
	next_page += n;
	return p;
}

static size_t index_of(const char *p)
{
	return (size_t)(p - region) / PAGE;
}

static void report(const char *call, ssize_t r, int intact)
{
	printf("%-9s %6zd bytes, faults: %d read %d write, data %s\n", call, r, atomic_exchange(&reads, 0),
	       atomic_exchange(&writes, 0), intact ? "intact" : "WRONG");
}

/* A file with `pages` pages of the pattern of page 0, 1, ... */
static int file_with(size_t pages)
{
	int fd = (int)syscall(SYS_memfd_create, "data", 0);
	CHECK(fd >= 0);
	char *buf = map_anon(pages * PAGE);
	for (size_t i = 0; i < pages; i++)
		fill_page(buf + i * PAGE, i);
	CHECK(write(fd, buf, pages * PAGE) == (ssize_t)(pages * PAGE));
	munmap(buf, pages * PAGE);
	return fd;
}

/* Did the memory receive file pages first..first+n? */
static int got_file(const char *p, size_t n, size_t first)
{
	for (size_t i = 0; i < n; i++)
		if (!page_ok(p + i * PAGE, first + i))
			return 0;
	return 1;
}

/* Does the file (at off) hold the handler's content of pages p..p+n? */
static int file_has(int fd, off_t off, const char *p, size_t n)
{
	char *buf = map_anon(n * PAGE);
	int ok = pread(fd, buf, n * PAGE, off) == (ssize_t)(n * PAGE);
	for (size_t i = 0; ok && i < n; i++)
		ok = page_ok(buf + i * PAGE, 1000 + index_of(p) + i);
	munmap(buf, n * PAGE);
	return ok;
}

static int stream_has(int fd, const char *p, size_t n)
{
	char *buf = map_anon(n * PAGE);
	size_t got = 0;
	while (got < n * PAGE) {
		ssize_t r = read(fd, buf + got, n * PAGE - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	int ok = got == n * PAGE;
	for (size_t i = 0; ok && i < n; i++)
		ok = page_ok(buf + i * PAGE, 1000 + index_of(p) + i);
	munmap(buf, n * PAGE);
	return ok;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	uffd = uffd_open(O_CLOEXEC | O_NONBLOCK, 0);
	region = map_anon(NPAGES * PAGE);
	uffd_register(uffd, region, NPAGES * PAGE, UFFDIO_REGISTER_MODE_MISSING);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, handler, NULL) == 0);
	int f = file_with(4);

	/* Calls that store into registered memory. */
	char *p = fresh(3);
	ssize_t r = pread(f, p, 3 * PAGE, 0);
	report("pread", r, got_file(p, 3, 0));
	p = fresh(2);
	CHECK(lseek(f, PAGE, SEEK_SET) == (off_t)PAGE);
	r = read(f, p, 2 * PAGE);
	report("read", r, got_file(p, 2, 1));
	p = fresh(4);
	struct iovec v[2] = { { p, PAGE }, { p + 2 * PAGE, 2 * PAGE } };
	CHECK(lseek(f, 0, SEEK_SET) == 0);
	r = readv(f, v, 2);
	report("readv", r, got_file(p, 1, 0) && got_file(p + 2 * PAGE, 2, 1) && page_ok(p + PAGE, 1000 + index_of(p) + 1));

	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	char *plain = map_anon(4 * PAGE);
	for (size_t i = 0; i < 4; i++)
		fill_page(plain + i * PAGE, i);
	CHECK(send(sv[0], plain, 2 * PAGE, 0) == (ssize_t)(2 * PAGE));
	p = fresh(2);
	r = recv(sv[1], p, 2 * PAGE, MSG_WAITALL);
	report("recv", r, got_file(p, 2, 0));
	CHECK(send(sv[0], plain, 2 * PAGE, 0) == (ssize_t)(2 * PAGE));
	p = fresh(2);
	r = recvfrom(sv[1], p, 2 * PAGE, MSG_WAITALL, NULL, NULL);
	report("recvfrom", r, got_file(p, 2, 0));
	CHECK(send(sv[0], plain, 2 * PAGE, 0) == (ssize_t)(2 * PAGE));
	p = fresh(2);
	struct iovec mv[2] = { { p, PAGE }, { p + PAGE, PAGE } };
	struct msghdr mh = { .msg_iov = mv, .msg_iovlen = 2 };
	r = recvmsg(sv[1], &mh, MSG_WAITALL);
	report("recvmsg", r, got_file(p, 2, 0));

	/* Calls that read registered memory. */
	int out = (int)syscall(SYS_memfd_create, "out", 0);
	CHECK(out >= 0);
	p = fresh(2);
	r = write(out, p, 2 * PAGE);
	report("write", r, file_has(out, 0, p, 2));
	p = fresh(2);
	r = pwrite(out, p, 2 * PAGE, 8 * PAGE);
	report("pwrite", r, file_has(out, 8 * PAGE, p, 2));
	p = fresh(2);
	struct iovec wv[2] = { { p, PAGE }, { p + PAGE, PAGE } };
	CHECK(lseek(out, 0, SEEK_SET) == 0);
	r = writev(out, wv, 2);
	report("writev", r, file_has(out, 0, p, 2));
	p = fresh(2);
	r = send(sv[0], p, 2 * PAGE, 0);
	report("send", r, stream_has(sv[1], p, 2));
	p = fresh(2);
	r = sendto(sv[0], p, 2 * PAGE, 0, NULL, 0);
	report("sendto", r, stream_has(sv[1], p, 2));
	p = fresh(2);
	struct iovec sm[2] = { { p, PAGE }, { p + PAGE, PAGE } };
	struct msghdr sh = { .msg_iov = sm, .msg_iovlen = 2 };
	r = sendmsg(sv[0], &sh, 0);
	report("sendmsg", r, stream_has(sv[1], p, 2));

	/* A page the program's pages already hold: no fault at all. */
	p = fresh(1);
	p[0] = 1;
	atomic_store(&writes, 0);
	r = pread(f, p, PAGE, 0);
	report("present", r, got_file(p, 1, 0));
	printf("done\n");
	fflush(stdout);
	_exit(0);	/* the handler thread never returns */
}
