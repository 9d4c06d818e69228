/* SPDX-License-Identifier: MIT */
/*
 * api_state.c - the context's state machine around UFFDIO_API: what works
 * before the handshake, what the handshake accepts and reports, and that it
 * happens exactly once.  Everything goes through uf_ioctl()/uf_api()/uf_read()
 * so the same cases hold on every engine.
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "lib/t.h"

#define FEATURE_UNKNOWN ((__u64)1 << 63)
#define API_IOCTLS_EXPECTED 0x8000000000000003ull

/* Every request the kernel knows besides UFFDIO_API. */
static const struct { const char *name; unsigned long req; } range_ioctls[] = {
	{ "REGISTER", UFFDIO_REGISTER },
	{ "UNREGISTER", UFFDIO_UNREGISTER },
	{ "WAKE", UFFDIO_WAKE },
	{ "COPY", UFFDIO_COPY },
	{ "ZEROPAGE", UFFDIO_ZEROPAGE },
	{ "WRITEPROTECT", UFFDIO_WRITEPROTECT },
	{ "CONTINUE", UFFDIO_CONTINUE },
	{ "POISON", UFFDIO_POISON },
	{ "MOVE", UFFDIO_MOVE },
};

/* Requests the kernel does not know: a free number, a known number with
 * another size or direction, another ioctl type, the device's IOC_NEW. */
static const struct { const char *name; unsigned long req; } unknown_ioctls[] = {
	{ "_IO(0xAA,0x20)", _IO(UFFDIO, 0x20) },
	{ "_IOWR(0xAA,0x09,range)", _IOWR(UFFDIO, 0x09, struct uffdio_range) },
	{ "_IOWR(0xAA,0x3F,__u64)", _IOWR(UFFDIO, _UFFDIO_API, __u64) },
	{ "_IOR(0xAA,0x3F,api)", _IOR(UFFDIO, _UFFDIO_API, struct uffdio_api) },
	{ "_IOWR(0xAB,0x03,copy)", _IOWR(0xAB, _UFFDIO_COPY, struct uffdio_copy) },
	{ "USERFAULTFD_IOC_NEW", USERFAULTFD_IOC_NEW },
};

static void check_zeroed(const struct uffdio_api *a)
{
	T_EQX(a->api, 0);
	T_EQX(a->features, 0);
	T_EQX(a->ioctls, 0);
}

/* A plain successful handshake, checked against what the harness saw. */
static void api_ok(const struct t_env *env, int fd, __u64 features)
{
	struct uffdio_api a = { .api = UFFD_API, .features = features, .ioctls = 0x5a5a };
	T_OK(uf_ioctl(fd, UFFDIO_API, &a));
	T_EQX(a.api, UFFD_API);
	T_EQX(a.features, env->features);
	T_EQX(a.ioctls, API_IOCTLS_EXPECTED);
}

static void test_ioctls_before_api(const struct t_env *env)
{
	int fd = t_uffd_raw(env, O_CLOEXEC);
	char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(page != MAP_FAILED);

	/* Well-formed arguments, as they would be after the handshake. */
	for (size_t i = 0; i < sizeof(range_ioctls) / sizeof(range_ioctls[0]); i++) {
		union {
			struct uffdio_register reg;
			struct uffdio_copy copy;
			char raw[64];
		} arg;
		memset(&arg, 0, sizeof(arg));
		arg.reg.range.start = (__u64)(uintptr_t)page;
		arg.reg.range.len = 4096;
		arg.reg.mode = UFFDIO_REGISTER_MODE_MISSING;
		t_log("%s before API", range_ioctls[i].name);
		T_ERR(uf_ioctl(fd, range_ioctls[i].req, &arg), EINVAL);
		/* The state is checked before the argument is even read. */
		T_ERR(uf_ioctl(fd, range_ioctls[i].req, (void *)1), EINVAL);
		T_ERR(uf_ioctl(fd, range_ioctls[i].req, NULL), EINVAL);
	}
	for (size_t i = 0; i < sizeof(unknown_ioctls) / sizeof(unknown_ioctls[0]); i++) {
		char raw[64] = { 0 };
		t_log("%s before API", unknown_ioctls[i].name);
		T_ERR(uf_ioctl(fd, unknown_ioctls[i].req, raw), EINVAL);
	}
	/* The typed helpers say the same. */
	T_ERR(uf_register(fd, page, 4096, UFFDIO_REGISTER_MODE_MISSING, NULL), EINVAL);
	T_ERR(uf_wake(fd, page, 4096), EINVAL);
	__s64 res = 12345;
	T_ERR(uf_copy(fd, page, page, 4096, 0, &res), EINVAL);
	T_EQ(res, 12345);	/* nothing was written back */

	/* None of these moved the state: the handshake still works once. */
	api_ok(env, fd, 0);
	/* And the page was never registered: it is ordinary memory. */
	page[0] = 7;
	T_EQ(page[0], 7);
	munmap(page, 4096);
	T_OK(uf_close(fd));
}

static void test_read_before_api(const struct t_env *env)
{
	int fd = t_uffd_raw(env, O_CLOEXEC | O_NONBLOCK);
	struct uffd_msg m[4];
	T_ERR(uf_read(fd, m, 1), EINVAL);
	T_ERR(uf_read(fd, m, 4), EINVAL);
	/* Blocking descriptors do not block either: EINVAL comes first. */
	int fd2 = t_uffd_raw(env, O_CLOEXEC);
	T_ERR(uf_read(fd2, m, 1), EINVAL);
	/* After the handshake the same reads are "nothing pending". */
	api_ok(env, fd, 0);
	T_ERR(uf_read(fd, m, 4), EAGAIN);
	T_OK(uf_close(fd2));
	T_OK(uf_close(fd));
}

static void test_api_bad_version(const struct t_env *env)
{
	int fd = t_uffd_raw(env, O_CLOEXEC);
	const __u64 bad[] = { 0, 0xAB, 0xA9, 0x1AA, (__u64)0xAA << 32, ~(__u64)0 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct uffdio_api a = { .api = bad[i], .features = 0, .ioctls = 0x1234 };
		t_log("api=0x%llx", (unsigned long long)bad[i]);
		T_ERR(uf_ioctl(fd, UFFDIO_API, &a), EINVAL);
		check_zeroed(&a);
	}
	/* uf_api() reports the zeroed struct too. */
	api_ok(env, fd, 0);
	T_OK(uf_close(fd));
}

static void test_api_unknown_feature(const struct t_env *env)
{
	int fd = t_uffd_raw(env, O_CLOEXEC);
	const __u64 bad[] = { FEATURE_UNKNOWN, (__u64)1 << 31, (__u64)1 << 40,
			      FEATURE_UNKNOWN | UFFD_FEATURE_MISSING_SHMEM };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!(bad[i] & ~env->features))
			continue;	/* an engine advertising every bit: not unknown there */
		struct uffdio_api a = { .api = UFFD_API, .features = bad[i], .ioctls = 0x1234 };
		t_log("features=0x%llx", (unsigned long long)bad[i]);
		T_ERR(uf_ioctl(fd, UFFDIO_API, &a), EINVAL);
		check_zeroed(&a);
	}
	__u64 f = 1, io = 1;
	T_ERR(uf_api(fd, FEATURE_UNKNOWN, &f, &io), EINVAL);
	T_EQX(f, 0);
	T_EQX(io, 0);
	/* A refused request leaves the context uninitialised. */
	struct uffd_msg m;
	T_ERR(uf_read(fd, &m, 1), EINVAL);
	api_ok(env, fd, 0);
	T_OK(uf_close(fd));
}

static void test_api_success(const struct t_env *env)
{
	int fd = t_uffd_raw(env, O_CLOEXEC | O_NONBLOCK);
	__u64 f = 0, io = 0;
	T_OK(uf_api(fd, 0, &f, &io));
	T_EQX(f, env->features);
	T_EQX(io, API_IOCTLS_EXPECTED);
	T_EQX(io, UFFD_API_IOCTLS);
	if (env->engine == UF_ENGINE_KERNEL)
		T_EQX(f, 0x1ffff);
	/* The feature mask reported is independent of the request. */
	int fd2 = t_uffd_raw(env, O_CLOEXEC);
	__u64 want = env->features & (UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_EXACT_ADDRESS |
				      UFFD_FEATURE_MISSING_SHMEM);
	T_OK(uf_api(fd2, want, &f, &io));
	T_EQX(f, env->features);
	T_EQX(io, API_IOCTLS_EXPECTED);
	/* Range ioctls now work: a zero-length WAKE is an argument error and
	 * a valid one succeeds. */
	char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(page != MAP_FAILED);
	T_ERR(uf_wake(fd, page, 0), EINVAL);
	T_OK(uf_wake(fd, page, 4096));
	T_OK(uf_register(fd, page, 4096, UFFDIO_REGISTER_MODE_MISSING, NULL));
	T_OK(uf_unregister(fd, page, 4096));
	munmap(page, 4096);
	T_OK(uf_close(fd2));
	T_OK(uf_close(fd));
}

static void test_api_twice(const struct t_env *env)
{
	/* features=0 first, then the same again, then with features. */
	int fd = t_uffd_raw(env, O_CLOEXEC);
	api_ok(env, fd, 0);
	struct uffdio_api a = { .api = UFFD_API, .features = 0, .ioctls = 0x77 };
	T_ERR(uf_ioctl(fd, UFFDIO_API, &a), EINVAL);
	check_zeroed(&a);
	struct uffdio_api b = { .api = UFFD_API, .features = env->features & UFFD_FEATURE_THREAD_ID };
	T_ERR(uf_ioctl(fd, UFFDIO_API, &b), EINVAL);
	check_zeroed(&b);
	/* A bad version on an initialised context is still just EINVAL. */
	struct uffdio_api c = { .api = 0xAB, .features = 0 };
	T_ERR(uf_ioctl(fd, UFFDIO_API, &c), EINVAL);
	check_zeroed(&c);
	/* The context stays usable. */
	struct uffd_msg m;
	int fl = fcntl(fd, F_GETFL);
	T_SYS(fl);
	T_SYS(fcntl(fd, F_SETFL, fl | O_NONBLOCK));
	T_ERR(uf_read(fd, &m, 1), EAGAIN);
	T_OK(uf_close(fd));

	/* With features the first time. */
	if (env->features & UFFD_FEATURE_THREAD_ID) {
		fd = t_uffd_raw(env, O_CLOEXEC);
		api_ok(env, fd, UFFD_FEATURE_THREAD_ID);
		__u64 f = 1, io = 1;
		T_ERR(uf_api(fd, 0, &f, &io), EINVAL);
		T_EQX(f, 0);
		T_EQX(io, 0);
		T_OK(uf_close(fd));
	}
}

static void test_unknown_ioctl_after_api(const struct t_env *env)
{
	int fd = t_uffd(env, O_CLOEXEC, 0);
	for (size_t i = 0; i < sizeof(unknown_ioctls) / sizeof(unknown_ioctls[0]); i++) {
		char raw[64] = { 0 };
		t_log("%s after API", unknown_ioctls[i].name);
		T_ERR(uf_ioctl(fd, unknown_ioctls[i].req, raw), EINVAL);
		T_ERR(uf_ioctl(fd, unknown_ioctls[i].req, (void *)1), EINVAL);
	}
	T_OK(uf_close(fd));
}

/* Drop CAP_SYS_PTRACE from the effective and permitted sets of this process
 * (the case's forked child); 0 on success, else an errno. */
static int drop_cap_sys_ptrace(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return errno;
	data[CAP_SYS_PTRACE / 32].effective &= ~(1u << (CAP_SYS_PTRACE % 32));
	data[CAP_SYS_PTRACE / 32].permitted &= ~(1u << (CAP_SYS_PTRACE % 32));
	data[CAP_SYS_PTRACE / 32].inheritable &= ~(1u << (CAP_SYS_PTRACE % 32));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return errno;
	if (syscall(SYS_capget, &hdr, data) < 0)
		return errno;
	return (data[CAP_SYS_PTRACE / 32].effective >> (CAP_SYS_PTRACE % 32)) & 1 ? EPERM : 0;
}

static void test_event_fork_needs_ptrace(const struct t_env *env)
{
	if (!(env->features & UFFD_FEATURE_EVENT_FORK))
		T_SKIP("%s engine lacks UFFD_FEATURE_EVENT_FORK", uf_engine_name(env->engine));
	/* Open while privileged (the open itself is not what is tested), then
	 * lose the capability: UFFDIO_API checks it at call time. */
	int fd = t_uffd_raw(env, O_CLOEXEC);
	int fd_cap = t_uffd_raw(env, O_CLOEXEC);
	struct uf_kernel_status st;
	T_OK(uf_kernel_probe(&st, sizeof(st)));
	if (st.cap_sys_ptrace == 1) {
		/* Still privileged: EVENT_FORK is allowed. */
		struct uffdio_api a = { .api = UFFD_API, .features = UFFD_FEATURE_EVENT_FORK };
		T_OK(uf_ioctl(fd_cap, UFFDIO_API, &a));
		T_EQX(a.features, env->features);
	}
	int err = drop_cap_sys_ptrace();
	if (err)
		T_SKIP("cannot drop CAP_SYS_PTRACE: %s", strerror(err));
	T_OK(uf_kernel_probe(&st, sizeof(st)));
	T_EQ(st.cap_sys_ptrace, 0);

	struct uffdio_api a = { .api = UFFD_API, .features = UFFD_FEATURE_EVENT_FORK, .ioctls = 9 };
	T_ERR(uf_ioctl(fd, UFFDIO_API, &a), EPERM);
	check_zeroed(&a);
	/* EPERM wins over an unknown feature bit (the capability is checked
	 * first), and a bad version wins over both. */
	struct uffdio_api b = { .api = UFFD_API, .features = UFFD_FEATURE_EVENT_FORK | FEATURE_UNKNOWN };
	T_ERR(uf_ioctl(fd, UFFDIO_API, &b), EPERM);
	check_zeroed(&b);
	struct uffdio_api c = { .api = 0xAB, .features = UFFD_FEATURE_EVENT_FORK };
	T_ERR(uf_ioctl(fd, UFFDIO_API, &c), EINVAL);
	/* The refusal did not initialise the context: other features work. */
	api_ok(env, fd, env->features & ~(__u64)UFFD_FEATURE_EVENT_FORK & UFFD_FEATURE_EVENT_REMOVE);
	T_OK(uf_close(fd));
	T_OK(uf_close(fd_cap));
}

static void test_api_efault(const struct t_env *env)
{
	int fd = t_uffd_raw(env, O_CLOEXEC);
	T_ERR(uf_ioctl(fd, UFFDIO_API, (void *)1), EFAULT);
	T_ERR(uf_ioctl(fd, UFFDIO_API, NULL), EFAULT);
	/* A pointer into a PROT_NONE page. */
	char *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(none != MAP_FAILED);
	T_ERR(uf_ioctl(fd, UFFDIO_API, none), EFAULT);
	/* A struct that runs off the end of readable memory. */
	char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(two != MAP_FAILED);
	T_SYS(mprotect(two + 4096, 4096, PROT_NONE));
	struct uffdio_api *edge = (struct uffdio_api *)(two + 4096 - 16);
	edge->api = UFFD_API;
	edge->features = 0;
	T_ERR(uf_ioctl(fd, UFFDIO_API, edge), EFAULT);
	/* None of that initialised the context. */
	api_ok(env, fd, 0);

	/* After the handshake, range ioctls read their argument: EFAULT. */
	T_ERR(uf_ioctl(fd, UFFDIO_REGISTER, (void *)1), EFAULT);
	T_ERR(uf_ioctl(fd, UFFDIO_UNREGISTER, (void *)1), EFAULT);
	T_ERR(uf_ioctl(fd, UFFDIO_WAKE, (void *)1), EFAULT);
	T_ERR(uf_ioctl(fd, UFFDIO_COPY, none), EFAULT);
	T_ERR(uf_ioctl(fd, UFFDIO_ZEROPAGE, none), EFAULT);
	T_ERR(uf_ioctl(fd, UFFDIO_API, (void *)1), EFAULT);
	munmap(none, 4096);
	munmap(two, 8192);
	T_OK(uf_close(fd));
}

static const struct t_case cases[] = {
	{ "ioctls_before_api", test_ioctls_before_api, T_MEM_NONE, 0 },
	{ "read_before_api", test_read_before_api, T_MEM_NONE, 0 },
	{ "api_bad_version", test_api_bad_version, T_MEM_NONE, 0 },
	{ "api_unknown_feature", test_api_unknown_feature, T_MEM_NONE, 0 },
	{ "api_success", test_api_success, T_MEM_NONE, 0 },
	{ "api_twice", test_api_twice, T_MEM_NONE, 0 },
	{ "unknown_ioctl_after_api", test_unknown_ioctl_after_api, T_MEM_NONE, 0 },
	{ "event_fork_needs_ptrace", test_event_fork_needs_ptrace, T_MEM_NONE, 0 },
	{ "api_efault", test_api_efault, T_MEM_NONE, 0 },
	{ 0 }
};
T_MAIN(cases)
