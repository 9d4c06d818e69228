/* SPDX-License-Identifier: MIT */
/*
 * open.c - uf_open(): flags, engine choice, what uf_engine()/uf_fd_info()
 * say about descriptors, and the kernel engine's fallbacks taken for real:
 * as an unprivileged user under vm.unprivileged_userfaultfd=0, and under a
 * seccomp filter that refuses userfaultfd(2).  uf_kernel_probe() must
 * describe each of those situations consistently.
 */
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "lib/t.h"

#define NOBODY 65534
#define USERFAULTFD_NR 323	/* x86_64; SYS_userfaultfd where libc knows it */
#ifdef SYS_userfaultfd
#define SYS_UFFD SYS_userfaultfd
#else
#define SYS_UFFD USERFAULTFD_NR
#endif

/* uf_open() with an engine, a no_fallback mask and a why buffer. */
static int open_with(int flags, int engine, unsigned no_fallback, char *why, size_t len)
{
	struct uf_open_opts o;
	uf_open_opts_init(&o);
	o.engine = engine;
	o.no_fallback = no_fallback;
	o.why = why;
	o.why_len = len;
	if (why && len)
		why[0] = '\0';
	return uf_open(flags, &o);
}

static struct uf_fd_info info_of(int fd)
{
	struct uf_fd_info fi = UF_FD_INFO_INIT;
	T_OK(uf_fd_info(fd, &fi));
	return fi;
}

/* The descriptor is a working context: the handshake succeeds. */
static void works(int fd)
{
	__u64 f = 0, io = 0;
	T_OK(uf_api(fd, 0, &f, &io));
	T_NE(f, 0);
	T_EQX(io, UFFD_API_IOCTLS);
}

/* ------------------------------------------------------------------------ */

static void test_version(const struct t_env *env)
{
	T_EQ(uf_version(), UF_VERSION);
	T_EQ(UF_VERSION, UF_MAKE_VERSION(UF_VERSION_MAJOR, UF_VERSION_MINOR, UF_VERSION_PATCH));
	T_EQ(uf_version() >> 16, UF_VERSION_MAJOR);
	T_EQ((uf_version() >> 8) & 0xff, UF_VERSION_MINOR);
	T_EQ(uf_version() & 0xff, UF_VERSION_PATCH);
	char want[32];
	snprintf(want, sizeof(want), "%d.%d.%d", UF_VERSION_MAJOR, UF_VERSION_MINOR, UF_VERSION_PATCH);
	T_ASSERT(uf_version_string() != NULL);
	if (strcmp(uf_version_string(), want))
		T_FAIL("uf_version_string() = \"%s\", expected \"%s\"", uf_version_string(), want);
	T_ASSERT(!strcmp(uf_engine_name(UF_ENGINE_AUTO), "auto"));
	T_ASSERT(!strcmp(uf_engine_name(UF_ENGINE_KERNEL), "kernel"));
	T_ASSERT(!strcmp(uf_engine_name(UF_ENGINE_USER), "user"));
	T_ASSERT(!strcmp(uf_engine_name(99), "unknown"));
	T_ASSERT(!strcmp(uf_engine_name(-1), "unknown"));
	/* The init function and the macro agree. */
	struct uf_open_opts a = UF_OPEN_OPTS_INIT, b;
	memset(&b, 0x5a, sizeof(b));
	uf_open_opts_init(&b);
	T_EQ(b.sz, sizeof(b));
	T_EQ(b.engine, a.engine);
	T_EQ(b.no_fallback, a.no_fallback);
	T_ASSERT(b.why == NULL);
	T_EQ(b.why_len, 0);
}

static void test_flags_invalid(const struct t_env *env)
{
	static const int bad[] = { 0x100, O_RDWR, O_APPEND, O_DIRECT, O_CLOEXEC | 0x2,
				   O_NONBLOCK | O_SYNC, 1 << 30, -1 };
	static const int engines[] = { UF_ENGINE_AUTO, UF_ENGINE_KERNEL, UF_ENGINE_USER };
	char why[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t_log("flags 0x%x", bad[i]);
		T_ERR(uf_open(bad[i], NULL), EINVAL);
		for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e++) {
			T_ERR(open_with(bad[i], engines[e], 0, why, sizeof(why)), EINVAL);
			T_ASSERT(why[0] != '\0');
			T_ERR(open_with(bad[i], engines[e], UF_FALLBACK_ALL, NULL, 0), EINVAL);
		}
	}
	/* Unknown engine, too small an options struct. */
	T_ERR(open_with(O_CLOEXEC, 3, 0, why, sizeof(why)), EINVAL);
	T_ASSERT(why[0] != '\0');
	T_ERR(open_with(O_CLOEXEC, -1, 0, NULL, 0), EINVAL);
	struct uf_open_opts o = UF_OPEN_OPTS_INIT;
	o.sz = 4;
	T_ERR(uf_open(O_CLOEXEC, &o), EINVAL);
	o.sz = 0;
	T_ERR(uf_open(O_CLOEXEC, &o), EINVAL);
	/* A tiny why buffer is respected (and terminated). */
	struct { char w[4]; char g; } wb = { { 'x', 'x', 'x', 'x' }, 'G' };
	T_ERR(open_with(0x100, UF_ENGINE_KERNEL, 0, wb.w, sizeof(wb.w)), EINVAL);
	T_EQ(wb.w[3], '\0');
	T_EQ(wb.g, 'G');
	T_NE(wb.w[0], 'x');
}

/* Does an exec'd program still have descriptor fd?  1 yes, 0 no. */
static int survives_exec(int fd)
{
	char script[64];
	snprintf(script, sizeof(script), "[ -e /proc/$$/fd/%d ]", fd);
	pid_t pid = fork();
	T_SYS(pid);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	int st;
	T_SYS(waitpid(pid, &st, 0));
	T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) <= 1);
	return WEXITSTATUS(st) == 0;
}

static void test_flags_cloexec_nonblock(const struct t_env *env)
{
	static const int combos[] = { 0, O_CLOEXEC, O_NONBLOCK, O_CLOEXEC | O_NONBLOCK };
	for (size_t i = 0; i < sizeof(combos) / sizeof(combos[0]); i++) {
		int flags = combos[i];
		int fd = t_uffd_raw(env, flags);
		int fdfl = fcntl(fd, F_GETFD), fl = fcntl(fd, F_GETFL);
		T_SYS(fdfl);
		T_SYS(fl);
		T_EQ(!!(fdfl & FD_CLOEXEC), !!(flags & O_CLOEXEC));
		T_EQ(!!(fl & O_NONBLOCK), !!(flags & O_NONBLOCK));
		/* The kernel makes the file read-only (it has no write method). */
		if (env->engine == UF_ENGINE_KERNEL)
			T_EQ(fl & O_ACCMODE, O_RDONLY);
		T_EQ(survives_exec(fd), !(flags & O_CLOEXEC));
		struct uf_fd_info fi = info_of(fd);
		T_EQ(fi.engine, env->engine);
		T_EQ(fi.flags, flags);
		T_EQ(uf_engine(fd), env->engine);
		/* O_NONBLOCK is the file's: it shows in read behaviour. */
		works(fd);
		if (flags & O_NONBLOCK) {
			struct uffd_msg m;
			T_ERR(uf_read(fd, &m, 1), EAGAIN);
		}
		T_OK(uf_close(fd));
	}
}

static void test_engine_choice(const struct t_env *env)
{
	char why[256];
	/* KERNEL: works here (the machine allows it as root). */
	int fd = open_with(O_CLOEXEC, UF_ENGINE_KERNEL, UF_FALLBACK_ALL, why, sizeof(why));
	if (fd < 0)
		T_SKIP("the kernel's userfaultfd is not usable here: %s", why);
	T_EQ(uf_engine(fd), UF_ENGINE_KERNEL);
	struct uf_fd_info fi = info_of(fd);
	T_EQ(fi.engine, UF_ENGINE_KERNEL);
	T_EQ(fi.via, UF_VIA_SYSCALL);
	T_EQ(fi.flags, O_CLOEXEC);
	works(fd);
	T_OK(uf_close(fd));

	/* AUTO: the kernel where it works, so the kernel here; NULL opts too. */
	fd = open_with(O_CLOEXEC, UF_ENGINE_AUTO, 0, why, sizeof(why));
	T_OK(fd);
	T_EQ(uf_engine(fd), UF_ENGINE_KERNEL);
	T_EQ(info_of(fd).via, UF_VIA_SYSCALL);
	T_OK(uf_close(fd));
	fd = uf_open(O_CLOEXEC, NULL);
	T_OK(fd);
	T_EQ(uf_engine(fd), UF_ENGINE_KERNEL);
	T_OK(uf_close(fd));

	/* USER: a working user-engine descriptor, or -ENOSYS with a reason. */
	why[0] = '\0';
	fd = open_with(O_CLOEXEC, UF_ENGINE_USER, 0, why, sizeof(why));
	if (fd == -ENOSYS) {
		T_ASSERT(why[0] != '\0');
		t_log("user engine: %s", why);
	} else {
		T_OK(fd);
		T_EQ(uf_engine(fd), UF_ENGINE_USER);
		fi = info_of(fd);
		T_EQ(fi.engine, UF_ENGINE_USER);
		T_EQ(fi.via, UF_VIA_USER_ENGINE);
		T_EQ(fi.flags, O_CLOEXEC);
		works(fd);
		T_OK(uf_close(fd));
	}
	/* A successful open leaves errno as it was. */
	errno = 4242;
	fd = uf_open(O_CLOEXEC, NULL);
	T_OK(fd);
	T_EQ(errno, 4242);
	T_OK(uf_close(fd));
}

static void test_uf_engine_of(const struct t_env *env)
{
	int fd = t_uffd_raw(env, O_CLOEXEC);
	T_EQ(uf_engine(fd), env->engine);

	/* Descriptors uf_open() did not make: pipes are not contexts. */
	int p[2];
	T_SYS(pipe2(p, O_CLOEXEC));
	T_ERR(uf_engine(p[0]), EINVAL);
	T_ERR(uf_engine(p[1]), EINVAL);
	int efd = eventfd(0, EFD_CLOEXEC);
	T_SYS(efd);
	T_ERR(uf_engine(efd), EINVAL);
	struct uf_fd_info fi = UF_FD_INFO_INIT;
	T_ERR(uf_fd_info(p[0], &fi), EBADF);

	/* Closed and never-open descriptors. */
	int closed = dup(p[0]);
	T_SYS(closed);
	close(closed);
	T_ERR(uf_engine(closed), EBADF);
	T_ERR(uf_engine(-1), EBADF);
	T_ERR(uf_engine(1 << 20), EBADF);
	T_ERR(uf_fd_info(closed, &fi), EBADF);
	T_ERR(uf_fd_info(-1, &fi), EBADF);

	/* A context closed with uf_close() is gone, and a descriptor that
	 * reuses its number is what it is. */
	int num = fd;
	T_OK(uf_close(fd));
	T_ERR(uf_engine(num), EBADF);
	T_ERR(uf_fd_info(num, &fi), EBADF);
	int again = eventfd(0, EFD_CLOEXEC);
	T_SYS(again);
	if (again == num) {
		T_ERR(uf_engine(again), EINVAL);
		T_ERR(uf_fd_info(again, &fi), EBADF);
	}
	close(again);

	/* Closed with close(2) instead of uf_close(), the number reused: the
	 * library must not take the newcomer for its own (kernel contexts:
	 * close(2) on them is ordinary use of a kernel descriptor). */
	if (env->engine == UF_ENGINE_KERNEL) {
		fd = t_uffd_raw(env, O_CLOEXEC);
		num = fd;
		close(fd);
		again = eventfd(0, EFD_CLOEXEC);
		T_SYS(again);
		if (again == num) {
			T_ERR(uf_engine(again), EINVAL);
			T_ERR(uf_fd_info(again, &fi), EBADF);
		} else {
			t_log("descriptor %d not reused (got %d): stale-entry check skipped", num, again);
		}
		close(again);
	}

	/* uf_fd_info wants a full struct. */
	fd = t_uffd_raw(env, O_CLOEXEC);
	struct uf_fd_info small = UF_FD_INFO_INIT;
	small.sz = sizeof(small) - 1;
	T_ERR(uf_fd_info(fd, &small), EINVAL);
	T_ERR(uf_fd_info(fd, NULL), EINVAL);
	T_OK(uf_close(fd));
	close(p[0]);
	close(p[1]);
	close(efd);
}

/* Raw kernel descriptors (made without the library) are the kernel's. */
static void test_uf_engine_raw_kernel(const struct t_env *env)
{
	int raw = (int)syscall(SYS_UFFD, O_CLOEXEC | O_NONBLOCK);
	if (raw < 0)
		T_SKIP("userfaultfd(2) refused here: %s", strerror(errno));
	T_EQ(uf_engine(raw), UF_ENGINE_KERNEL);
	struct uf_fd_info fi = UF_FD_INFO_INIT;
	T_ERR(uf_fd_info(raw, &fi), EBADF);	/* not one uf_open() made */
	/* The API works on it all the same. */
	works(raw);
	struct uffd_msg m;
	T_ERR(uf_read(raw, &m, 1), EAGAIN);
	T_OK(uf_close(raw));
	T_ERR(uf_engine(raw), EBADF);

	/* One from /dev/userfaultfd, likewise. */
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		t_log("/dev/userfaultfd: %s (part skipped)", strerror(errno));
		return;
	}
	int dfd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC);
	T_SYS(dfd);
	close(dev);
	T_EQ(uf_engine(dfd), UF_ENGINE_KERNEL);
	works(dfd);
	T_OK(uf_close(dfd));
}

/* ------------------------------------------------------------------------ */
/* Fallbacks                                                                */

static int read_sysctl(void)
{
	FILE *f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "re");
	int v = -1;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Become uid/gid nobody, losing every capability. */
static void become_nobody(void)
{
	if (geteuid() != 0)
		T_SKIP("needs root to switch to uid %d", NOBODY);
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0)
		T_SKIP("cannot become uid %d: %s", NOBODY, strerror(errno));
	T_EQ(geteuid(), NOBODY);
}

static void test_fallback_user_mode_only(const struct t_env *env)
{
	int sysctl = read_sysctl();
	if (sysctl < 0)
		T_SKIP("vm.unprivileged_userfaultfd is not readable");
	if (sysctl != 0)
		T_SKIP("vm.unprivileged_userfaultfd=%d: unprivileged userfaultfd(2) works, no fallback to see",
		       sysctl);
	struct stat dev;
	int have_dev = stat("/dev/userfaultfd", &dev) == 0;
	become_nobody();

	struct uf_kernel_status st;
	T_OK(uf_kernel_probe(&st, sizeof(st)));
	T_EQ(st.unprivileged_sysctl, 0);
	T_EQ(st.cap_sys_ptrace, 0);
	T_EQ(st.syscall_err, EPERM);
	T_EQ(st.syscall_umo_err, 0);
	T_EQ(st.usable, 1);
	T_EQ(st.device_present, have_dev);
	if (have_dev) {
		T_EQ(st.device_mode, dev.st_mode);
		T_EQ(st.device_uid, dev.st_uid);
		/* This machine's node is root-only; where it is open to all
		 * the device path would be taken instead. */
		if ((dev.st_mode & 0006) == 0)
			T_EQ(st.device_err, EACCES);
	}
	T_NE(st.features, 0);
	T_ASSERT(strstr(st.reason, "vm.unprivileged_userfaultfd") != NULL);
	int device_works = st.device_err == 0;

	char why[256];
	int fd = open_with(0, UF_ENGINE_KERNEL, 0, why, sizeof(why));
	T_OK(fd);
	struct uf_fd_info fi = info_of(fd);
	T_EQ(fi.engine, UF_ENGINE_KERNEL);
	if (device_works) {
		T_EQ(fi.via, UF_VIA_DEVICE);
		T_EQ(fi.flags, 0);
	} else {
		T_EQ(fi.via, UF_VIA_USER_MODE_ONLY);
		T_ASSERT(fi.flags & UFFD_USER_MODE_ONLY);
	}
	T_EQ(fi.flags & ~UFFD_USER_MODE_ONLY, 0);
	works(fd);

	/* It really is user-mode-only: a user fault is delivered, while the
	 * kernel touching the same missing page (write(2) from it) fails. */
	if (fi.via == UF_VIA_USER_MODE_ONLY) {
		size_t pg = (size_t)sysconf(_SC_PAGESIZE);
		char *mem = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		T_ASSERT(mem != MAP_FAILED);
		T_OK(uf_register(fd, mem, pg, UFFDIO_REGISTER_MODE_MISSING, NULL));
		int p[2];
		T_SYS(pipe2(p, O_CLOEXEC));
		errno = 0;
		T_EQ(write(p[1], mem, 16), -1);
		T_EQ(errno, EFAULT);
		close(p[0]);
		close(p[1]);
		munmap(mem, pg);
	}
	T_OK(uf_close(fd));

	/* Asked for explicitly, UFFD_USER_MODE_ONLY needs no fallback. */
	fd = open_with(O_CLOEXEC | UFFD_USER_MODE_ONLY, UF_ENGINE_KERNEL, UF_FALLBACK_ALL, why,
		       sizeof(why));
	T_OK(fd);
	fi = info_of(fd);
	T_EQ(fi.via, UF_VIA_SYSCALL);
	T_EQ(fi.flags, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	works(fd);
	T_OK(uf_close(fd));

	/* No fallbacks: the kernel's EPERM and a reason naming the sysctl. */
	static const int engines[] = { UF_ENGINE_KERNEL, UF_ENGINE_AUTO };
	for (size_t e = 0; e < 2; e++) {
		T_ERR(open_with(O_CLOEXEC, engines[e], UF_FALLBACK_ALL, why, sizeof(why)), EPERM);
		t_log("why (%s): %s", uf_engine_name(engines[e]), why);
		if (!strstr(why, "vm.unprivileged_userfaultfd"))
			T_FAIL("the reason does not name the sysctl: \"%s\"", why);
	}
	/* Only the user-mode-only fallback refused: the device is still
	 * tried, and refused too on a root-only node. */
	fd = open_with(O_CLOEXEC, UF_ENGINE_KERNEL, UF_FALLBACK_USER_MODE_ONLY, why, sizeof(why));
	if (device_works) {
		T_OK(fd);
		T_EQ(info_of(fd).via, UF_VIA_DEVICE);
		T_OK(uf_close(fd));
	} else {
		T_ERR(fd, EPERM);
		T_ASSERT(strstr(why, "vm.unprivileged_userfaultfd") != NULL);
	}
}

/* A seccomp filter that makes userfaultfd(2) fail with err. */
static void install_filter(int err)
{
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_UFFD, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog fprog = { sizeof(prog) / sizeof(prog[0]), prog };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		T_SKIP("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
		T_SKIP("seccomp(SECCOMP_SET_MODE_FILTER): %s", strerror(errno));
	/* The filter is in force. */
	errno = 0;
	T_EQ(syscall(SYS_UFFD, O_CLOEXEC), -1);
	T_EQ(errno, err);
}

static void seccomp_case(int err)
{
#if !defined(__x86_64__)
	T_SKIP("the filter is written for x86_64");
#endif
	if (access("/dev/userfaultfd", F_OK) != 0)
		T_SKIP("no /dev/userfaultfd to fall back to");
	install_filter(err);

	struct uf_kernel_status st;
	T_OK(uf_kernel_probe(&st, sizeof(st)));
	T_EQ(st.seccomp, 2);
	T_EQ(st.syscall_err, err);
	T_EQ(st.syscall_umo_err, err);
	T_EQ(st.device_present, 1);
	if (st.device_err)
		T_SKIP("/dev/userfaultfd refused: %s", strerror(st.device_err));
	T_EQ(st.usable, 1);
	T_NE(st.features, 0);
	T_EQX(st.ioctls, UFFD_API_IOCTLS);

	char why[256];
	int fd = open_with(O_CLOEXEC | O_NONBLOCK, UF_ENGINE_KERNEL, 0, why, sizeof(why));
	T_OK(fd);
	struct uf_fd_info fi = info_of(fd);
	T_EQ(fi.via, UF_VIA_DEVICE);
	T_EQ(fi.flags, O_CLOEXEC | O_NONBLOCK);
	T_EQ(uf_engine(fd), UF_ENGINE_KERNEL);
	T_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	T_ASSERT(fcntl(fd, F_GETFL) & O_NONBLOCK);
	works(fd);
	T_OK(uf_close(fd));
	/* AUTO takes the same way. */
	fd = uf_open(O_CLOEXEC, NULL);
	T_OK(fd);
	T_EQ(info_of(fd).via, UF_VIA_DEVICE);
	T_OK(uf_close(fd));

	/* The device refused: nothing else works (user-mode-only goes through
	 * the same filtered syscall). */
	static const unsigned refuse[] = { UF_FALLBACK_DEVICE, UF_FALLBACK_ALL };
	for (size_t i = 0; i < 2; i++) {
		fd = open_with(O_CLOEXEC, UF_ENGINE_KERNEL, refuse[i], why, sizeof(why));
		T_ERR(fd, err);
		t_log("why: %s", why);
		if (!strstr(why, "seccomp"))
			T_FAIL("the reason does not mention seccomp: \"%s\"", why);
	}
	/* AUTO with the kernel's ways refused falls back to the user engine,
	 * unless that fallback is refused too. */
	fd = open_with(O_CLOEXEC, UF_ENGINE_AUTO, UF_FALLBACK_DEVICE | UF_FALLBACK_USER_MODE_ONLY,
		       why, sizeof(why));
	T_OK(fd);
	T_EQ(uf_engine(fd), UF_ENGINE_USER);
	T_EQ(info_of(fd).via, UF_VIA_USER_ENGINE);
	works(fd);
	T_OK(uf_close(fd));
	T_ERR(open_with(O_CLOEXEC, UF_ENGINE_AUTO, UF_FALLBACK_ALL, why, sizeof(why)), err);
}

static void test_fallback_seccomp_eperm(const struct t_env *env)
{
	seccomp_case(EPERM);
}

static void test_fallback_seccomp_enosys(const struct t_env *env)
{
	seccomp_case(ENOSYS);
}

static void test_probe_root(const struct t_env *env)
{
	struct uf_kernel_status st;
	T_ERR(uf_kernel_probe(NULL, sizeof(st)), EINVAL);
	T_ERR(uf_kernel_probe(&st, sizeof(st) - 1), EINVAL);
	T_OK(uf_kernel_probe(&st, sizeof(st)));
	T_EQ(st.unprivileged_sysctl, read_sysctl());
	if (st.syscall_err)
		T_SKIP("userfaultfd(2) does not work here: %s", st.reason);
	T_EQ(st.usable, 1);
	T_EQ(st.syscall_umo_err, 0);
	T_ASSERT(st.seccomp == 0 || st.seccomp == 2);
	T_EQX(st.ioctls, UFFD_API_IOCTLS);
	__u64 f = 0;
	int fd = uf_open(O_CLOEXEC, NULL);
	T_OK(fd);
	T_OK(uf_api(fd, 0, &f, NULL));
	T_EQX(st.features, f);
	T_OK(uf_close(fd));
	T_ASSERT(!strcmp(st.reason, "userfaultfd(2) works"));
	if (geteuid() == 0)
		T_EQ(st.cap_sys_ptrace, 1);
}

static const struct t_case cases[] = {
	{ "version", test_version, T_ONCE, 0 },
	{ "flags_invalid", test_flags_invalid, T_ONCE, 0 },
	{ "flags_cloexec_nonblock", test_flags_cloexec_nonblock, T_MEM_NONE, 0 },
	{ "engine_choice", test_engine_choice, T_ONCE, 0 },
	{ "uf_engine_of", test_uf_engine_of, T_MEM_NONE, 0 },
	{ "uf_engine_raw_kernel", test_uf_engine_raw_kernel, T_ONCE, 0 },
	{ "fallback_user_mode_only", test_fallback_user_mode_only, T_ONCE, 0 },
	{ "fallback_seccomp_eperm", test_fallback_seccomp_eperm, T_ONCE, 0 },
	{ "fallback_seccomp_enosys", test_fallback_seccomp_enosys, T_ONCE, 0 },
	{ "probe_root", test_probe_root, T_ONCE, 0 },
	{ 0 }
};
T_MAIN(cases)
