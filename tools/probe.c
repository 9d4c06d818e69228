/* SPDX-License-Identifier: MIT */
/*
 * probe.c - `userfault probe`: what works on this machine for this user,
 * and why the rest does not.
 *
 * Written for the person whose userfaultfd fails inside a container: every
 * refusal is caught and reported, never fatal.  The one refusal that cannot
 * be caught in-process, a seccomp filter that kills on userfaultfd(2), is
 * detected first in a throw-away child.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "probe.h"

#define HUGE_PAGES_WANTED 2
#define CAP_SYS_PTRACE_BIT 19

static void help(void)
{
	printf("usage: userfault probe [--json]\n"
	       "\n"
	       "Report what works here, for this user, and why the rest does not:\n"
	       "  - which engines are usable (kernel, user) and which one 'auto' picks;\n"
	       "  - each way of opening the kernel's userfaultfd: userfaultfd(2),\n"
	       "    userfaultfd(2) with UFFD_USER_MODE_ONLY, /dev/userfaultfd;\n"
	       "  - vm.unprivileged_userfaultfd, the device's mode and owner, seccomp,\n"
	       "    CAP_SYS_PTRACE, euid;\n"
	       "  - the kernel's feature bits and API ioctls (UFFDIO_API with features=0);\n"
	       "  - for private/shared anonymous, memfd shared/private and hugetlb memory:\n"
	       "    whether UFFDIO_REGISTER accepts each mode, and the range ioctls it\n"
	       "    returns (as root, 1-2 huge pages are reserved for a moment if none\n"
	       "    are free, and given back);\n"
	       "  - vm.max_map_count and this process's number of mappings;\n"
	       "  - whether guard markers (MADV_GUARD_INSTALL/REMOVE) work.\n"
	       "\n"
	       "options:\n"
	       "  --json   one JSON document instead of the table\n"
	       "  --help   this text\n"
	       "\n"
	       "exit status: 0 when the report was produced (whatever it says), 2 usage error.\n");
}

static void try_engine(struct probe_engine *e, int kind)
{
	struct uf_open_opts o = UF_OPEN_OPTS_INIT;
	o.engine = kind;
	o.why = e->why;
	o.why_len = sizeof(e->why);

	e->tried = 1;
	e->why[0] = '\0';
	int fd = uf_open(O_CLOEXEC, &o);
	if (fd < 0) {
		if (!e->why[0])
			snprintf(e->why, sizeof(e->why), "uf_open: %s", errno_name(fd));
		return;
	}
	struct uf_fd_info info = UF_FD_INFO_INIT;
	e->usable = 1;
	e->kind = uf_engine(fd);
	if (uf_fd_info(fd, &info) == 0) {
		e->kind = info.engine;
		e->via = info.via;
		e->flags = info.flags;
	}
	uf_close(fd);
}

static void not_tried(struct probe_engine *e, const char *why)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->why, sizeof(e->why), "%s", why);
}

/*
 * What uf_kernel_probe() would report, without the system call that would
 * kill us: the same files, and the device, which a filter on syscall
 * numbers cannot tell apart from any other open + ioctl.
 */
static void status_without_syscall(struct probe *p)
{
	struct uf_kernel_status *k = &p->ks;
	char buf[64];
	struct stat sb;

	k->unprivileged_sysctl = (int)read_long_file("/proc/sys/vm/unprivileged_userfaultfd");
	k->seccomp = self_status("Seccomp", buf, sizeof(buf)) == 0 ? atoi(buf) : -1;
	k->cap_sys_ptrace = -1;
	if (self_status("CapEff", buf, sizeof(buf)) == 0)
		k->cap_sys_ptrace = (int)((strtoull(buf, NULL, 16) >> CAP_SYS_PTRACE_BIT) & 1);
	k->syscall_err = k->syscall_umo_err = EPERM;	/* never returned: shown as killed */
	k->device_err = ENOENT;
	if (stat("/dev/userfaultfd", &sb) == 0) {
		k->device_present = 1;
		k->device_mode = sb.st_mode;
		k->device_uid = sb.st_uid;
		k->device_gid = sb.st_gid;
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		int fd = dev < 0 ? -1 : ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC);
		k->device_err = dev < 0 || fd < 0 ? errno : 0;
		if (fd >= 0) {
			__u64 features = 0, ioctls = 0;
			if (uf_api(fd, 0, &features, &ioctls) == 0) {
				k->features = features;
				k->ioctls = ioctls;
			}
			close(fd);
		}
		if (dev >= 0)
			close(dev);
	}
	k->usable = k->device_err == 0;
	snprintf(k->reason, sizeof(k->reason),
		 "userfaultfd(2) kills the calling process (signal %d, %s): a seccomp filter set to "
		 "kill, not to refuse%s", p->kill_sig, strsignal(p->kill_sig),
		 k->usable ? "; /dev/userfaultfd works, but uf_open() tries userfaultfd(2) first" : "");
}

static void gather(struct probe *p)
{
	memset(p, 0, sizeof(*p));
	if (uname(&p->uts) != 0)
		snprintf(p->uts.release, sizeof(p->uts.release), "unknown");
	p->uid = (unsigned)getuid();
	p->euid = (unsigned)geteuid();
	if (self_status("Seccomp_filters", p->seccomp_filters, sizeof(p->seccomp_filters)) != 0)
		p->seccomp_filters[0] = '\0';

	p->kill_sig = userfaultfd_kills();
	if (p->kill_sig) {
		status_without_syscall(p);
		not_tried(&p->kernel, p->ks.reason);
		not_tried(&p->autoeng, p->ks.reason);
	} else {
		p->status_err = uf_kernel_probe(&p->ks, sizeof(p->ks));
		try_engine(&p->kernel, UF_ENGINE_KERNEL);
		try_engine(&p->autoeng, UF_ENGINE_AUTO);
	}
	try_engine(&p->user, UF_ENGINE_USER);

	p->huge.page_size = hugetlb_page_size();
	struct hugetlb_loan loan;
	p->huge.available = hugetlb_borrow(&loan, HUGE_PAGES_WANTED);
	p->huge.borrowed = loan.added;
	snprintf(p->huge.why, sizeof(p->huge.why), "%s", loan.why);

	struct probe_engine *engines[2] = { &p->kernel, &p->user };
	for (int i = 0; i < 2; i++) {
		int kind = i == 0 ? UF_ENGINE_KERNEL : UF_ENGINE_USER;
		if (engines[i]->usable) {
			probe_registration(&p->reg[i], kind, &p->huge);
		} else {
			p->reg[i].engine = kind;
			snprintf(p->reg[i].why, sizeof(p->reg[i].why), "engine not usable");
		}
	}
	hugetlb_return(&loan);

	p->max_map_count = read_long_file("/proc/sys/vm/max_map_count");
	p->mappings = count_mappings();
	probe_guard(&p->guard);
}

int cmd_probe(int argc, char **argv)
{
	int json = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			help();
			return CLI_OK;
		}
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (argv[i][0] == '-')
			return usage_error("probe", "unknown option '%s'", argv[i]);
		else
			return usage_error("probe", "unexpected argument '%s'", argv[i]);
	}

	static struct probe p;	/* large: keep it off the stack */
	gather(&p);
	if (json)
		probe_print_json(&p, stdout);
	else
		probe_print_table(&p, stdout);
	return CLI_OK;
}
