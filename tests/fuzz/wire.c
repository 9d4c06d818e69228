/* SPDX-License-Identifier: MIT */
/*
 * wire.c - fuzzer of what crosses a process boundary on the user engine:
 * the hellos sent through a descriptor and the requests sent on the
 * channels they open (src/user/wire.h; the target's side is serve.c).
 *
 * The fuzzer is the target and plays the monitor too: the engine serves a
 * hello or a request the same way whichever process sent it (it checks the
 * sender's user, which is ours), and one process keeps the run fast and its
 * coverage in one place.  Each input gets a fresh target:
 *  - at a fixed address, registered ranges of four memory types (private
 *    anonymous, memfd shared, memfd private, shared anonymous; MISSING|WP),
 *    some pages filled before registration, each range between canary
 *    pages, and canaries beyond the window that fuzzed addresses reach;
 *  - a channel opened with a real hello through the descriptor;
 * then a sequence of datagrams: requests with any header fields (magic,
 * operation, request number, flags, lengths), truncated, oversized or
 * empty, raw bytes (a request whose flags name a source file, UU_SRC_FILE,
 * comes with a memfd), hellos with odd contents and ancillary data (no
 * descriptor, several, the wrong kind, the descriptor itself), and valid
 * requests mixed in.  Every datagram on a channel must get one well-formed
 * reply (or, empty, close the channel).
 *
 * After each input the target must be unharmed:
 *  - the engine still answers: a valid request on a fresh channel succeeds,
 *    and a fault in a registered page is announced on the descriptor (poll)
 *    and resolved;
 *  - every page of the window and the canaries beyond it reads as before,
 *    except pages a request that may have acted on them (0, EAGAIN, or
 *    EFAULT from the result field) covered;
 *  - no descriptor is left open (the engine's ends of closed channels too).
 * A crash, a hang (libFuzzer's -timeout) or a sanitizer report is a finding.
 *
 * Safety: a request is the engine's UFFDIO_* call, so its address words are
 * taken from a controlled set (the window, values never mapped, raw bytes
 * folded into the window) and ranges are clamped to the window, for
 * structured and raw datagrams alike: otherwise a valid REGISTER or COPY
 * would act on the fuzzer's own memory, which is no finding.
 *
 * Build: make fuzz.  Run: tests/fuzz/run.sh SECONDS wire.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include "userfault.h"
#include "user/wire.h"
#include "input.h"

#define PG		4096UL
#define TASK_SIZE	0x7ffffffff000ULL
#define LOW_END		0x10000ULL

/* The arena, in pages from BASE.  The window [0, W_PAGES) is where fuzzed
 * addresses land; the outer canaries and the liveness page lie outside. */
#define BASE		0x320000000000ULL
#define W_PAGES		30
#define OUT_FIRST	(-2)		/* outer canaries: [-2, 0) and [30, 32) */
#define LIVE_PAGE	32		/* registered, for the liveness check */
#define A_LAST		33		/* arena: [-2, 33) */

enum mem { M_ANON, M_MEMFD, M_MEMFD_PRIVATE, M_SHMEM, M_COUNT };
static const struct { long first, n; } region[M_COUNT] = {
	{ 2, 8 }, { 12, 4 }, { 18, 4 }, { 24, 4 },
};

static int memfds[2] = { -1, -1 };	/* M_MEMFD, M_MEMFD_PRIVATE */
static int uffd = -1;
static uint8_t touched[A_LAST + 2];	/* pages a successful request may have changed */
static uint32_t prepop;			/* bit i: registered page i of the window filled */

#define HARNESS_LOOP __attribute__((no_sanitize("coverage", "address", "undefined")))

static char *pg_addr(long page)
{
	return (char *)(uintptr_t)(BASE + (uint64_t)(page * (long)PG));
}

HARNESS_LOOP static void fill_pattern(unsigned char *p, long page)
{
	for (size_t i = 0; i < PG; i++)
		p[i] = (unsigned char)(page * 29 + i * 7 + (i >> 8) + 1);
}

HARNESS_LOOP static int is_pattern(const volatile unsigned char *p, long page)
{
	for (size_t i = 0; i < PG; i++)
		if (p[i] != (unsigned char)(page * 29 + i * 7 + (i >> 8) + 1))
			return 0;
	return 1;
}

HARNESS_LOOP static int is_zero(const volatile unsigned char *p)
{
	for (size_t i = 0; i < PG; i++)
		if (p[i])
			return 0;
	return 1;
}

static void die(const char *what)
{
	fprintf(stderr, "wire: %s\n", what);
	abort();
}

/* ------------------------------------------------------------------------ */
/* Reading the input                                                        */

static uint32_t get32(struct rd *r)
{
	return (uint32_t)get16(r) | (uint32_t)get16(r) << 16;
}

static uint64_t get64(struct rd *r)
{
	return (uint64_t)get32(r) | (uint64_t)get32(r) << 32;
}

/* ------------------------------------------------------------------------ */
/* The target                                                               */

static void map_fixed(long page, long n, int flags, int fd)
{
	void *want = pg_addr(page);
	if (mmap(want, (size_t)n * PG, PROT_READ | PROT_WRITE, flags | MAP_FIXED_NOREPLACE, fd, 0) != want)
		die("arena not free");
}

static int region_of(long page)
{
	for (int m = 0; m < M_COUNT; m++)
		if (page >= region[m].first && page < region[m].first + region[m].n)
			return m;
	return -1;
}

static void build_target(uint32_t pop)
{
	unsigned char buf[PG];
	prepop = pop;
	memset(touched, 0, sizeof(touched));
	for (int i = 0; i < 2; i++) {
		memfds[i] = memfd_create("wire", MFD_CLOEXEC);
		if (memfds[i] < 0 || ftruncate(memfds[i], 4 * PG) < 0)
			die("memfd");
	}
	/* Canaries everywhere first, then the regions over them. */
	map_fixed(OUT_FIRST, A_LAST - OUT_FIRST, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	for (int m = 0; m < M_COUNT; m++) {
		void *at = pg_addr(region[m].first);
		size_t len = (size_t)region[m].n * PG;
		int flags = MAP_FIXED | (m == M_ANON || m == M_MEMFD_PRIVATE ? MAP_PRIVATE : MAP_SHARED);
		int fd = m == M_MEMFD ? memfds[0] : m == M_MEMFD_PRIVATE ? memfds[1] : -1;
		if (fd < 0)
			flags |= MAP_ANONYMOUS;
		if (mmap(at, len, PROT_READ | PROT_WRITE, flags, fd, 0) != at)
			die("region");
	}
	for (long p = OUT_FIRST; p < A_LAST; p++) {
		int m = region_of(p);
		if (p == LIVE_PAGE || (m >= 0 && !(pop & (1u << p))))
			continue;
		fill_pattern(buf, p);
		memcpy(pg_addr(p), buf, PG);
	}
	struct uf_open_opts o = UF_OPEN_OPTS_INIT;
	o.engine = UF_ENGINE_USER;
	o.no_fallback = UF_FALLBACK_ALL;
	uffd = uf_open(O_CLOEXEC | O_NONBLOCK, &o);
	if (uffd < 0)
		die("uf_open");
	__u64 f = UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_MISSING_SHMEM |
		  UFFD_FEATURE_WP_HUGETLBFS_SHMEM | UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_POISON |
		  UFFD_FEATURE_MOVE | UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_THREAD_ID;
	if (uf_api(uffd, f, NULL, NULL) < 0)
		die("UFFDIO_API");
	__u64 mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP;
	for (int m = 0; m < M_COUNT; m++)
		if (uf_register(uffd, pg_addr(region[m].first), (size_t)region[m].n * PG, mode, NULL) < 0)
			die("register");
	if (uf_register(uffd, pg_addr(LIVE_PAGE), PG, UFFDIO_REGISTER_MODE_MISSING, NULL) < 0)
		die("register the liveness page");
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		die("opendir");
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ------------------------------------------------------------------------ */
/* Channels                                                                 */

#define CHANS 4
static int chans[CHANS];		/* our ends, -1 if none */
static int nchan;

static int wait_in(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;
	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0 ? p.revents : 0;
}

/* Send a hello through the descriptor: `body` of len bytes, with the
 * descriptors fds[0..nfds) attached.  0 or -errno. */
static int send_hello(const void *body, size_t len, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = { (void *)body, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds > 0) {
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	/* The descriptor has room for a hello behind the engine's charge;
	 * one sent just before may still be in the way for a moment. */
	for (int i = 0; i < 2000; i++) {
		if (sendmsg(uffd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno != EAGAIN)
			return -errno;
		usleep(500);
	}
	return -EAGAIN;
}

/* What came back on our end of a hello's socket: 1 welcome, 0 refusal,
 * -1 nothing within ms. */
static int welcome(int s, int ms)
{
	if (!(wait_in(s, ms) & POLLIN))
		return -1;
	struct uu_welcome w;
	memset(&w, 0, sizeof(w));
	ssize_t n = recv(s, &w, sizeof(w), MSG_DONTWAIT);
	if (n != (ssize_t)sizeof(w) || w.magic != UU_HELLO_MAGIC)
		die("a malformed answer to a hello");
	if (w.version == UU_WIRE_VERSION && w.pid == getpid())
		return 1;
	if (w.version == 0 && w.pid == -EPERM)
		return 0;
	die("an answer to a hello that is neither welcome nor refusal");
	return -1;
}

static void hello_body(struct uu_hello *h)
{
	memset(h, 0, sizeof(*h));
	h->magic = UU_HELLO_MAGIC;
	h->version = UU_WIRE_VERSION;
}

/* A real hello: a new channel, or -1 if every slot is taken. */
static int open_channel(void)
{
	if (nchan == CHANS)
		return -1;
	int p[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0)
		die("socketpair");
	int big = 4 * UU_CHUNK;
	setsockopt(p[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	struct uu_hello h;
	hello_body(&h);
	if (send_hello(&h, sizeof(h), &p[1], 1) < 0)
		die("a valid hello could not be sent");
	close(p[1]);
	if (welcome(p[0], 5000) != 1)
		die("a valid hello was not welcomed");
	chans[nchan++] = p[0];
	return nchan - 1;
}

static void close_channel(int i)
{
	close(chans[i]);
	chans[i] = chans[--nchan];
}

/* ------------------------------------------------------------------------ */
/* Arguments                                                                */

static uint64_t fold(uint64_t v)
{
	if (v < LOW_END || v >= TASK_SIZE)
		return v;
	return BASE + v % (W_PAGES * PG);
}

static uint64_t pick_addr(struct rd *in)
{
	static const uint64_t special[] = {
		0, 1, 4095, 4096, 0x8000, TASK_SIZE, TASK_SIZE + PG, 0x800000000000ULL,
		0xffff800000000000ULL, UINT64_MAX,
	};
	uint8_t k = get8(in);
	switch (k % 8) {
	case 6:
		return special[get8(in) % (sizeof(special) / sizeof(special[0]))];
	case 7:
		return fold(get64(in));
	default: {
		uint64_t a = BASE + (get8(in) % W_PAGES) * PG;
		return k & 0x80 ? a + get8(in) + 1 : a;
	}
	}
}

static uint64_t pick_len(struct rd *in)
{
	uint8_t k = get8(in);
	switch (k % 8) {
	case 0:
		return 0;
	case 1:
		return get64(in);
	case 2:
		return (uint64_t)(get8(in) % 8 + 1) * PG + get8(in);
	default:
		return (uint64_t)(get8(in) % 8 + 1) * PG;
	}
}

/* The kernel's range check, for the clamp. */
static int valid_range(uint64_t start, uint64_t len)
{
	return !(start & (PG - 1)) && !(len & (PG - 1)) && len && start >= 4096 && start < TASK_SIZE &&
	       len <= TASK_SIZE - start;
}

/* A range the engine would act on stays in the window (or below LOW_END,
 * where nothing is mapped). */
static void clamp(uint64_t start, uint64_t *len)
{
	uint64_t lo = BASE, hi = BASE + W_PAGES * PG;
	uint64_t s = start & ~(PG - 1), extra = start & (PG - 1) ? PG : 0;
	if (!valid_range(s, *len))
		return;
	uint64_t e = s + *len + extra;
	if ((s >= lo && e <= hi) || e <= LOW_END)
		return;
	uint64_t room = s >= lo && s < hi ? hi - s : s < LOW_END ? LOW_END - s : 0;
	room = room > extra ? room - extra : 0;
	*len = room ? (*len % room) & ~(PG - 1) : 0;
}

static const unsigned long known[] = {
	UFFDIO_API, UFFDIO_REGISTER, UFFDIO_UNREGISTER, UFFDIO_WAKE, UFFDIO_COPY,
	UFFDIO_ZEROPAGE, UFFDIO_WRITEPROTECT, UFFDIO_CONTINUE, UFFDIO_POISON, UFFDIO_MOVE,
};
#define NKNOWN (sizeof(known) / sizeof(known[0]))

/* Make an argument the engine may run safe, whatever its bytes (w: up to
 * UU_ARG_MAX bytes, 8-byte words). */
static void sanitize(uint64_t request, uint64_t *w, size_t nwords)
{
	unsigned long req = (uint32_t)request;	/* what a dispatch may compare */
	if (nwords < 2)
		return;
	for (size_t i = 0; i < 2; i++)
		w[i] = fold(w[i]);
	switch (req) {
	case UFFDIO_COPY: case UFFDIO_MOVE:
		if (nwords >= 3) {
			clamp(w[0], &w[2]);
			clamp(w[1], &w[2]);
		}
		break;
	default:
		clamp(w[0], &w[1]);
	}
	(void)known;
}

static int is_known(uint64_t request)
{
	for (size_t i = 0; i < NKNOWN; i++)
		if ((uint32_t)request == (uint32_t)known[i])
			return 1;
	return 0;
}

/* The pages [start, start + len) of the arena a request may have filled
 * (an unaligned start: its page too). */
static void mark(uint64_t start, uint64_t len)
{
	uint64_t lo = BASE + (uint64_t)((long)OUT_FIRST * (long)PG), hi = BASE + A_LAST * PG;
	uint64_t s = start & ~(PG - 1);
	uint64_t e = len > UINT64_MAX - start ? UINT64_MAX : start + len;
	if (s < lo)
		s = lo;
	if (e > hi)
		e = hi;
	for (uint64_t a = s; a < e; a += PG)
		touched[(a - lo) / PG] = 1;
}

static int is_touched(long page)
{
	return touched[page - OUT_FIRST];
}

/* After a reply: what may the request have changed? */
static void note_effect(uint64_t request, const uint64_t *w, size_t nwords, int32_t ret)
{
	/* Done in full, in part (EAGAIN), or done and then unable to write
	 * the result field (EFAULT, as the kernel's put_user fails after the
	 * fill): anything else changed nothing. */
	if ((ret != 0 && ret != -EAGAIN && ret != -EFAULT) || nwords < 3)
		return;
	switch ((uint32_t)request) {
	case (uint32_t)UFFDIO_COPY: case (uint32_t)UFFDIO_MOVE:
		mark(w[0], w[2]);
		if ((uint32_t)request == (uint32_t)UFFDIO_MOVE)
			mark(w[1], w[2]);
		break;
	case (uint32_t)UFFDIO_ZEROPAGE: case (uint32_t)UFFDIO_CONTINUE: case (uint32_t)UFFDIO_POISON:
		mark(w[0], w[1]);
		break;
	}
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */

static char dgram[sizeof(struct uu_req) + UU_ARG_MAX + UU_CHUNK + 512];
static char rbuf[sizeof(struct uu_rep) + UU_READ_MAX * sizeof(struct uffd_msg) + 64];

/* The reply to what was sent on channel i: one well-formed datagram. */
static int32_t get_reply(int i, const struct uu_req *sent, int well_formed)
{
	if (!(wait_in(chans[i], 10000) & POLLIN))
		die("no reply to a request");
	ssize_t n = recv(chans[i], rbuf, sizeof(rbuf), MSG_DONTWAIT | MSG_TRUNC);
	struct uu_rep r;
	if (n < (ssize_t)sizeof(r))
		die("a reply shorter than its header");
	memcpy(&r, rbuf, sizeof(r));
	if (r.magic != UU_REP_MAGIC || (size_t)n != sizeof(r) + r.len || (size_t)n > sizeof(rbuf))
		die("a malformed reply");
	if (r.retract) {
		char b;
		(void)!recv(uffd, &b, 1, MSG_DONTWAIT);
	}
	if (well_formed && sent->op == UU_OP_IOCTL && r.len && r.len != sent->arg_len)
		die("a reply whose argument length is not the request's");
	if (r.ret > 0 && (sent->op != UU_OP_READ || r.len != (uint32_t)r.ret * sizeof(struct uffd_msg)))
		die("a positive result that is not a read's count");
	if (r.ret < -4095)
		die("a result that is no errno");
	if (r.unit)
		die("a COPY's unit asked for where no memory has huge pages");
	if (getenv("UF_WIRE_DUMP")) {	/* to see what an input does */
		const uint64_t *a = (const uint64_t *)(const void *)(dgram + sizeof(*sent));
		fprintf(stderr, "req op %u request %#llx flags %#x arg %u data %u: %#llx %#llx %#llx -> %d\n",
			sent->op, (unsigned long long)sent->request, sent->flags, sent->arg_len,
			sent->data_len, (unsigned long long)a[0], (unsigned long long)a[1],
			(unsigned long long)a[2], r.ret);
	}
	return r.ret;
}

/* A COPY's source file (UU_SRC_FILE, wire.h): made once, a pattern. */
static int src_memfd = -1;

/* Send len bytes of dgram on channel i, with descriptor file attached
 * unless -1; an empty datagram closes the channel. */
static void send_with(int i, size_t len, int file)
{
	struct iovec iov = { dgram, len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (file >= 0) {
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &file, sizeof(int));
	}
	ssize_t n = sendmsg(chans[i], &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0 && errno == EMSGSIZE)
		return;			/* more than the socket takes: nothing sent */
	if (n != (ssize_t)len) {
		fprintf(stderr, "wire: send of %zu bytes on a channel: %zd (%s)\n", len, n,
			n < 0 ? strerror(errno) : "short");
		abort();
	}
	if (len == 0) {
		/* The engine takes it for the end of the channel. */
		if (!(wait_in(chans[i], 10000) & (POLLHUP | POLLIN)))
			die("an empty datagram did not end the channel");
		close_channel(i);
	}
}

static void send_on(int i, size_t len)
{
	send_with(i, len, -1);
}

/* A request built from fields: any header, an argument of known layout
 * (or raw words), source bytes. */
static void structured_request(struct rd *in, int i)
{
	struct uu_req q;
	memset(&q, 0, sizeof(q));
	uint8_t k = get8(in);
	q.magic = k & 0x80 ? get32(in) : UU_REQ_MAGIC;
	q.op = k & 0x40 ? get32(in) : (k & 1 ? UU_OP_READ : UU_OP_IOCTL);
	q.request = k & 0x20 ? get64(in) : known[get8(in) % NKNOWN];
	q.flags = k & 0x10 ? get32(in) : get8(in) & 3;
	uint32_t size = _IOC_SIZE(q.request);
	q.arg_len = k & 0x08 ? get32(in) % (UU_ARG_MAX + 16) : size <= UU_ARG_MAX ? size : 0;
	q.nmsg = k & 0x04 ? get32(in) : get8(in) % 4 + 1;
	uint64_t w[UU_ARG_MAX / 8 + 2];
	memset(w, 0, sizeof(w));
	uint8_t wk = get8(in);
	if (wk & 1) {
		for (size_t j = 0; j < sizeof(w) / 8; j++)
			w[j] = get64(in);
	} else {
		w[0] = pick_addr(in);
		w[1] = (uint32_t)q.request == (uint32_t)UFFDIO_COPY ||
		       (uint32_t)q.request == (uint32_t)UFFDIO_MOVE ? pick_addr(in) : pick_len(in);
		w[2] = (uint32_t)q.request == (uint32_t)UFFDIO_COPY ||
		       (uint32_t)q.request == (uint32_t)UFFDIO_MOVE ? pick_len(in) : get8(in) & 0x1f;
		w[3] = get8(in) & 0x80 ? get64(in) : (uint64_t)(get8(in) & 7);
		w[4] = 0x5a5a5a5a5a5a5a5aULL;
	}
	if (is_known(q.request))
		sanitize(q.request, w, sizeof(w) / 8);
	uint32_t data = 0;
	uint8_t dk = get8(in);
	if ((uint32_t)q.request == (uint32_t)UFFDIO_COPY && !(dk & 0x80))
		data = (uint32_t)(w[2] <= UU_CHUNK ? w[2] : UU_CHUNK);
	else if (dk & 0x40)
		data = get32(in) % (UU_CHUNK + 64);
	q.data_len = dk & 0x20 ? get32(in) : data;
	size_t body = q.arg_len <= UU_ARG_MAX ? q.arg_len : UU_ARG_MAX;
	size_t dlen = data <= UU_CHUNK + 64 ? data : 0;
	size_t len = sizeof(q) + body + dlen;
	/* Truncated or padded now and then. */
	uint8_t tk = get8(in);
	if (tk & 0x80)
		len = tk & 0x40 ? len + (tk & 0x3f) * 8 : len - (tk & 0x3f) % (len + 1);
	if (len > sizeof(dgram))
		len = sizeof(dgram);
	memset(dgram, 0, sizeof(dgram));
	memcpy(dgram, &q, sizeof(q));
	memcpy(dgram + sizeof(q), w, body < sizeof(w) ? body : sizeof(w));
	for (size_t j = 0; j < dlen && sizeof(q) + body + j < sizeof(dgram); j++)
		dgram[sizeof(q) + body + j] = (char)(j * 13 + 5);
	int well_formed = len == sizeof(q) + q.arg_len + q.data_len;
	/* A request that names a source file gets one (the source file's
	 * checks are the target's: wire.h). */
	int file = q.flags & UU_SRC_FILE ? src_memfd : -1;
	if (file >= 0)
		well_formed = len == sizeof(q) + q.arg_len;
	send_with(i, len, file);
	if (len == 0)
		return;
	int32_t ret = get_reply(i, &q, well_formed);
	/* What the engine may have run: the argument as sent, if it was whole. */
	if (len >= sizeof(q) + 24 && q.op == UU_OP_IOCTL)
		note_effect(q.request, w, 3, ret);
}

/* Raw bytes, made safe where they would be an argument the engine runs. */
static void raw_request(struct rd *in, int i)
{
	size_t len = get16(in) % (sizeof(dgram) + 1);
	memset(dgram, 0, len);
	size_t have = in->n < len ? in->n : len;
	memcpy(dgram, in->p, have);
	in->p += have;
	in->n -= have;
	struct uu_req q;
	memset(&q, 0, sizeof(q));
	memcpy(&q, dgram, len < sizeof(q) ? len : sizeof(q));
	if (get8(in) & 1 && len >= 8) {
		q.magic = UU_REQ_MAGIC;
		memcpy(dgram, &q.magic, sizeof(q.magic));
	}
	uint64_t w[UU_ARG_MAX / 8];
	size_t nw = len > sizeof(q) ? (len - sizeof(q)) / 8 : 0;
	if (nw > UU_ARG_MAX / 8)
		nw = UU_ARG_MAX / 8;
	memcpy(w, dgram + sizeof(q), nw * 8);
	if (is_known(q.request)) {
		sanitize(q.request, w, nw);
		memcpy(dgram + sizeof(q), w, nw * 8);
	}
	send_on(i, len);
	if (len == 0)
		return;
	int32_t ret = get_reply(i, &q, 0);
	if (nw >= 3 && q.op == UU_OP_IOCTL)
		note_effect(q.request, w, nw, ret);
}

/* A valid request through the channel, as remote.c sends it. */
static void valid_request(struct rd *in, int i)
{
	struct {
		struct uu_req q;
		union {
			struct uffdio_copy c;
			struct uffdio_zeropage z;
			struct uffdio_range r;
			struct uffdio_writeprotect wp;
		} a;
	} m;
	memset(&m, 0, sizeof(m));
	m.q.magic = UU_REQ_MAGIC;
	m.q.op = UU_OP_IOCTL;
	int rg = get8(in) % M_COUNT;
	long page = region[rg].first + get8(in) % region[rg].n;
	uint64_t dst = (uint64_t)(uintptr_t)pg_addr(page);
	size_t len = sizeof(m.q);
	static char src[PG];
	uint64_t w[3] = { dst, PG, 0 };
	switch (get8(in) % 5) {
	case 0:
		m.q.request = UFFDIO_COPY;
		m.q.arg_len = sizeof(m.a.c);
		m.q.data_len = PG;
		m.a.c = (struct uffdio_copy){ dst, 0x10000000, PG, 0, 0 };
		fill_pattern((unsigned char *)src, 1000 + page);
		memcpy(dgram + sizeof(m.q) + sizeof(m.a.c), src, PG);
		w[1] = 0x10000000;
		w[2] = PG;
		break;
	case 1:
		m.q.request = UFFDIO_ZEROPAGE;
		m.q.arg_len = sizeof(m.a.z);
		m.a.z = (struct uffdio_zeropage){ { dst, PG }, 0, 0 };
		break;
	case 2:
		m.q.request = UFFDIO_WAKE;
		m.q.arg_len = sizeof(m.a.r);
		m.a.r = (struct uffdio_range){ dst, PG };
		break;
	case 3:
		m.q.request = UFFDIO_WRITEPROTECT;
		m.q.arg_len = sizeof(m.a.wp);
		m.a.wp = (struct uffdio_writeprotect){ { dst, PG }, get8(in) & 1 };
		break;
	default:
		m.q.op = UU_OP_READ;
		m.q.nmsg = get8(in) % UU_READ_MAX + 1;
		break;
	}
	len += m.q.arg_len + m.q.data_len;
	memcpy(dgram, &m, sizeof(m.q) + m.q.arg_len);
	send_on(i, len);
	int32_t ret = get_reply(i, &m.q, 1);
	if (m.q.op == UU_OP_READ) {
		if (ret != -EAGAIN)
			die("a read found a message where no fault can be");
		return;
	}
	note_effect(m.q.request, w, 3, ret);
}

/* ------------------------------------------------------------------------ */
/* Hellos                                                                   */

/* A hello with odd contents or ancillary data. */
static void odd_hello(struct rd *in)
{
	static char body[UU_HELLO_BYTES * 2];
	struct uu_hello h;
	hello_body(&h);
	uint8_t k = get8(in);
	if (k & 1)
		h.magic ^= (uint64_t)1 << (get8(in) % 64);
	if (k & 2)
		h.version = get32(in);
	size_t len = sizeof(h);
	if (k & 4)
		len = get16(in) % sizeof(body);
	memset(body, 0, sizeof(body));
	memcpy(body, &h, len < sizeof(h) ? len : sizeof(h));

	int fds[16], nfds = 0, mine = -1, p[2] = { -1, -1 };
	int kind = get8(in) % 8;
	switch (kind) {
	case 0:		/* no descriptor */
		break;
	case 1: case 2:	/* a seqpacket socket, then maybe more of anything */
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0)
			die("socketpair");
		fds[nfds++] = p[1];
		mine = p[0];
		for (int j = get8(in) % 14; kind == 2 && j > 0; j--)
			fds[nfds++] = j & 1 ? uffd : p[1];
		break;
	case 3:		/* a stream socket */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
			die("socketpair");
		fds[nfds++] = p[1];
		mine = p[0];
		break;
	case 4:		/* a pipe */
		if (pipe2(p, O_CLOEXEC) < 0)
			die("pipe");
		fds[nfds++] = p[0];
		mine = p[1];
		p[1] = p[0];
		p[0] = mine;
		mine = -1;
		break;
	case 5:		/* the descriptor itself */
		fds[nfds++] = uffd;
		break;
	case 6:		/* a datagram socket */
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, p) < 0)
			die("socketpair");
		fds[nfds++] = p[1];
		mine = p[0];
		break;
	default:	/* a seqpacket socket whose other end is gone */
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0)
			die("socketpair");
		fds[nfds++] = p[1];
		close(p[0]);
		p[0] = -1;
		break;
	}
	int r = send_hello(body, len, fds, nfds);
	if (p[1] >= 0)
		close(p[1]);
	if (r == 0 && mine >= 0) {
		/* Exactly an unchanged hello with a seqpacket socket first is
		 * welcomed (with at most 8 descriptors in all: serve.c takes no
		 * more, and a hello carries one); anything else with a socket
		 * is refused. */
		int want = (kind == 1 || kind == 2) && len == sizeof(h) && h.magic == UU_HELLO_MAGIC &&
			   h.version == UU_WIRE_VERSION && nfds <= 8;
		int got = welcome(mine, 5000);
		if (got != want)
			die(want ? "a valid hello was not welcomed" : "an invalid hello was not refused");
		if (got == 1 && nchan < CHANS && mine == p[0]) {
			chans[nchan++] = mine;
			p[0] = -1;	/* kept as a channel */
		}
	}
	if (p[0] >= 0)
		close(p[0]);
}

/* Bytes written straight into the descriptor (not a hello's size). */
static void junk_into_descriptor(struct rd *in)
{
	static char b[3000];
	size_t len = get16(in) % sizeof(b);
	memset(b, get8(in), len);
	(void)!send(uffd, b, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* ------------------------------------------------------------------------ */
/* After the input: the target unharmed                                     */

static void *toucher(void *arg)
{
	volatile char *p = arg;
	(void)p[0];
	return NULL;
}

static void check_alive(void)
{
	/* A valid request on a fresh channel. */
	while (nchan)
		close_channel(nchan - 1);
	int i = open_channel();
	struct {
		struct uu_req q;
		struct uffdio_range r;
	} m = { { UU_REQ_MAGIC, UU_OP_IOCTL, UFFDIO_WAKE, 0, sizeof(struct uffdio_range), 0, 0 },
		{ BASE, W_PAGES * PG } };
	memcpy(dgram, &m, sizeof(m));
	send_on(i, sizeof(m));
	if (get_reply(i, &m.q, 1) != 0)
		die("a valid WAKE failed");
	close_channel(i);
	/* A fault announced on the descriptor and resolved in process. */
	pthread_t t;
	if (pthread_create(&t, NULL, toucher, pg_addr(LIVE_PAGE)) != 0)
		die("pthread_create");
	if (!(wait_in(uffd, 10000) & POLLIN))
		die("a fault was not announced on the descriptor");
	struct uffd_msg msg;
	ssize_t n;
	do
		n = uf_read(uffd, &msg, 1);
	while (n == -EAGAIN && (wait_in(uffd, 10000) & POLLIN));
	if (n != 1 || msg.event != UFFD_EVENT_PAGEFAULT ||
	    msg.arg.pagefault.address != (uintptr_t)pg_addr(LIVE_PAGE))
		die("the fault's message");
	if (uf_zeropage(uffd, pg_addr(LIVE_PAGE), PG, 0, NULL) < 0)
		die("resolving the fault");
	pthread_join(t, NULL);
}

static __thread sigjmp_buf probe_jmp;
static __thread volatile int probe_armed;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (probe_armed) {
		probe_armed = 0;
		siglongjmp(probe_jmp, sig);
	}
	static const char msg[] = "wire: unexpected fault signal\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	abort();
}

static void check_memory(void)
{
	/* Ordinary memory again (nothing waits on a fault), then every page. */
	if (uf_unregister(uffd, pg_addr(OUT_FIRST), (A_LAST - OUT_FIRST) * PG) < 0)
		die("unregister");
	for (long p = OUT_FIRST; p < A_LAST; p++) {
		if (is_touched(p) || p == LIVE_PAGE)
			continue;
		volatile unsigned char *a = (volatile unsigned char *)pg_addr(p);
		int ok;
		if (sigsetjmp(probe_jmp, 1) == 0) {
			probe_armed = 1;
			int m = region_of(p);
			ok = m < 0 || (prepop & (1u << p)) ? is_pattern(a, p) : is_zero(a);
			probe_armed = 0;
		} else {
			ok = 0;
		}
		if (!ok) {
			fprintf(stderr, "wire: page %ld (%s) changed without a request that could\n", p,
				region_of(p) < 0 ? "canary" : "registered");
			abort();
		}
	}
}

static void teardown(int fds_before)
{
	while (nchan)
		close_channel(nchan - 1);
	uf_close(uffd);
	uffd = -1;
	if (uf_munmap(pg_addr(OUT_FIRST), (A_LAST - OUT_FIRST) * PG) < 0)
		die("munmap");
	for (int i = 0; i < 2; i++)
		close(memfds[i]);
	/* The engine closes its ends of the channels and of the context as
	 * it notices: allow it a moment, then nothing may be left. */
	for (int i = 0; i < 20000 && count_fds() > fds_before; i++)
		usleep(100);
	if (count_fds() > fds_before)
		die("descriptors leaked");
}

/* ------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct uf_open_opts o = UF_OPEN_OPTS_INIT;
	o.engine = UF_ENGINE_USER;
	o.no_fallback = UF_FALLBACK_ALL;
	int fd = uf_open(O_CLOEXEC | O_NONBLOCK, &o);
	if (fd < 0) {
		fprintf(stderr, "wire: the user engine does not open here (%s)\n", strerror(-fd));
		exit(77);
	}
	uf_close(fd);
	/* Two requests' worth of source, for COPYs that name a file. */
	static unsigned char pat[2 * UU_CHUNK];
	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (unsigned char)(i * 11 + 3);
	src_memfd = memfd_create("wire-src", MFD_CLOEXEC);
	if (src_memfd < 0 || write(src_memfd, pat, sizeof(pat)) != (ssize_t)sizeof(pat))
		die("the source file");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd in = { data, size };
	int fds_before = count_fds();
	build_target(get32(&in));
	nchan = 0;
	open_channel();
	for (int op = 0; op < 24 && in.n; op++) {
		uint8_t k = get8(&in);
		if (nchan == 0 && k % 8 < 6)
			open_channel();
		int i = nchan ? get8(&in) % nchan : 0;
		switch (k % 8) {
		case 0: case 1: case 2:
			structured_request(&in, i);
			break;
		case 3:
			raw_request(&in, i);
			break;
		case 4: case 5:
			valid_request(&in, i);
			break;
		case 6:
			odd_hello(&in);
			break;
		default:
			if (k & 0x80)
				junk_into_descriptor(&in);
			else if (nchan && k & 0x40)
				close_channel(i);
			else
				open_channel();
			break;
		}
	}
	check_alive();
	check_memory();
	teardown(fds_before);
	return 0;
}
