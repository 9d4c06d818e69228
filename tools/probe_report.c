/* SPDX-License-Identifier: MIT */
/*
 * probe_report.c - the probe's findings as an aligned table for people and
 * as one JSON document for scripts.  Both walk the same struct probe.
 */
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "probe.h"

const char *probe_via_name(int via)
{
	switch (via) {
	case UF_VIA_SYSCALL: return "userfaultfd(2)";
	case UF_VIA_DEVICE: return "/dev/userfaultfd";
	case UF_VIA_USER_MODE_ONLY: return "userfaultfd(2) + UFFD_USER_MODE_ONLY";
	case UF_VIA_USER_ENGINE: return "user engine";
	default: return "-";
	}
}

static const char *via_key(int via)
{
	switch (via) {
	case UF_VIA_SYSCALL: return "syscall";
	case UF_VIA_DEVICE: return "device";
	case UF_VIA_USER_MODE_ONLY: return "syscall_user_mode_only";
	case UF_VIA_USER_ENGINE: return "user_engine";
	default: return NULL;
	}
}

static const char *seccomp_name(int mode)
{
	switch (mode) {
	case 0: return "disabled";
	case 1: return "strict";
	case 2: return "filter";
	default: return "unknown";
	}
}

static const char *tristate(int v)
{
	return v > 0 ? "yes" : v == 0 ? "no" : "unknown";
}

static void mode_string(unsigned mode, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	out[0] = S_ISCHR(mode) ? 'c' : S_ISBLK(mode) ? 'b' : S_ISDIR(mode) ? 'd' : S_ISREG(mode) ? '-' : '?';
	for (int i = 0; i < 9; i++)
		out[1 + i] = (mode & (0400u >> i)) ? rwx[i] : '-';
	out[10] = '\0';
}

static void owner_names(unsigned uid, unsigned gid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);
	struct group *gr = getgrgid(gid);
	char u[32], g[32];
	snprintf(u, sizeof(u), "%u", uid);
	snprintf(g, sizeof(g), "%u", gid);
	snprintf(buf, len, "%s:%s", pw ? pw->pw_name : u, gr ? gr->gr_name : g);
}

static void open_result(int err, char *buf, size_t len)
{
	if (err == 0)
		snprintf(buf, len, "works");
	else
		snprintf(buf, len, "%s (%s)", errno_name(err), strerror(err));
}

/* ---------------------------------------------------------------- table */

static void print_engine(FILE *f, const char *name, const struct probe_engine *e)
{
	if (!e->usable) {
		fprintf(f, "  %-8s %-9s %s\n", name, "unusable", e->why);
		return;
	}
	if (e->kind != UF_ENGINE_KERNEL && e->kind != UF_ENGINE_USER)
		fprintf(f, "  %-8s %-9s\n", name, "usable");
	else if (strcmp(name, uf_engine_name(e->kind)) == 0)
		fprintf(f, "  %-8s %-9s via %s\n", name, "usable", probe_via_name(e->via));
	else
		fprintf(f, "  %-8s %-9s picks the %s engine, via %s\n", name, "usable",
			uf_engine_name(e->kind), probe_via_name(e->via));
}

static void print_permissions(FILE *f, const struct probe *p)
{
	const struct uf_kernel_status *k = &p->ks;
	char buf[128];

	fprintf(f, "\nPermissions\n");
	if (k->unprivileged_sysctl < 0)
		fprintf(f, "  %-29s unreadable\n", "vm.unprivileged_userfaultfd");
	else
		fprintf(f, "  %-29s %d (%s)\n", "vm.unprivileged_userfaultfd", k->unprivileged_sysctl,
			k->unprivileged_sysctl ? "anyone may open userfaultfd(2)"
					       : "without CAP_SYS_PTRACE, userfaultfd(2) needs UFFD_USER_MODE_ONLY");
	if (k->device_present) {
		char mode[11], owner[80];
		mode_string(k->device_mode, mode);
		owner_names(k->device_uid, k->device_gid, owner, sizeof(owner));
		fprintf(f, "  %-29s %s %s\n", "/dev/userfaultfd", mode, owner);
	} else {
		fprintf(f, "  %-29s absent\n", "/dev/userfaultfd");
	}
	snprintf(buf, sizeof(buf), "%s", seccomp_name(k->seccomp));
	if (p->seccomp_filters[0])
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ", filters: %s", p->seccomp_filters);
	fprintf(f, "  %-29s %s\n", "seccomp", buf);
	fprintf(f, "  %-29s %s\n", "CAP_SYS_PTRACE (effective)", tristate(k->cap_sys_ptrace));
	fprintf(f, "  %-29s %u%s, uid %u\n", "euid", p->euid, p->euid == 0 ? " (root)" : "", p->uid);
}

static void print_kernel(FILE *f, const struct probe *p)
{
	const struct uf_kernel_status *k = &p->ks;
	char buf[160];

	fprintf(f, "\nKernel userfaultfd: %s\n", k->reason[0] ? k->reason : "not examined");
	if (p->status_err)
		return;
	if (p->kill_sig)
		snprintf(buf, sizeof(buf), "kills the process (%s)", strsignal(p->kill_sig));
	else
		open_result(k->syscall_err, buf, sizeof(buf));
	fprintf(f, "  %-38s %s\n", "userfaultfd(2)", buf);
	if (!p->kill_sig)
		open_result(k->syscall_umo_err, buf, sizeof(buf));
	fprintf(f, "  %-38s %s\n", "userfaultfd(2) + UFFD_USER_MODE_ONLY", buf);
	open_result(k->device_err, buf, sizeof(buf));
	fprintf(f, "  %-38s %s\n", "/dev/userfaultfd + USERFAULTFD_IOC_NEW", buf);
}

static void print_features(FILE *f, const struct probe *p)
{
	const struct uf_kernel_status *k = &p->ks;
	char buf[256];

	if (!k->usable) {
		fprintf(f, "\nFeatures: unknown (the kernel's userfaultfd cannot be opened)\n");
		return;
	}
	fprintf(f, "\nFeatures (UFFDIO_API with features=0 -> 0x%llx)\n", (unsigned long long)k->features);
	for (unsigned b = 0; b < 64; b++) {
		const char *n = feature_name(b);
		int has = (k->features >> b) & 1;
		if (!n && !has)
			continue;
		if (!n) {
			snprintf(buf, sizeof(buf), "bit %u (unknown to this build)", b);
			n = buf;
		}
		fprintf(f, "  %-22s %s\n", n, has ? "yes" : "no");
	}
	ioctl_mask_names(k->ioctls, buf, sizeof(buf));
	fprintf(f, "API ioctls: 0x%llx  %s\n", (unsigned long long)k->ioctls, buf);
}

static void print_registration(FILE *f, const struct probe_registration *r)
{
	fprintf(f, "\nRegistration on the %s engine (UFFDIO_API features=0; range ioctls returned)\n",
		uf_engine_name(r->engine));
	if (!r->ran) {
		fprintf(f, "  skipped: %s\n", r->why);
		return;
	}
	fprintf(f, "  %-16s %-18s %-8s %s\n", "memory", "mode", "result", "range ioctls");
	for (int m = 0; m < PROBE_NMEM; m++) {
		const struct probe_memrow *row = &r->mem[m];
		const char *label = probe_memtypes[m].label;
		if (row->skipped) {
			fprintf(f, "  %-16s skipped: %s\n", label, row->why);
			continue;
		}
		for (int k = 0; k < PROBE_NMODES; k++) {
			char mode[32], ioc[160];
			register_mode_names(probe_modes[k], mode, sizeof(mode));
			if (row->cell[k].err) {
				fprintf(f, "  %-16s %-18s %s\n", k ? "" : label, mode,
					errno_name(row->cell[k].err));
				continue;
			}
			ioctl_mask_names(row->cell[k].ioctls, ioc, sizeof(ioc));
			fprintf(f, "  %-16s %-18s %-8s %s\n", k ? "" : label, mode, "ok", ioc);
		}
	}
}

static int guard_works(const struct probe_guard *g)
{
	return g->ran && !g->install_err && g->faulted && !g->remove_err && g->restored;
}

static void print_guard(FILE *f, const struct probe *p)
{
	const struct probe_guard *g = &p->guard;

	fprintf(f, "\nGuard markers (MADV_GUARD_INSTALL / MADV_GUARD_REMOVE)\n");
	if (!g->ran) {
		fprintf(f, "  not tested: %s\n", g->why);
		return;
	}
	if (g->install_err) {
		fprintf(f, "  %-22s %s (%s)\n", "install", errno_name(g->install_err),
			strerror(g->install_err));
		fprintf(f, "  -> unavailable (Linux 6.13 or later is needed)\n");
		return;
	}
	fprintf(f, "  %-22s ok\n", "install");
	if (g->faulted)
		fprintf(f, "  %-22s yes (%s)\n", "an access faults", strsignal(g->fault_sig));
	else
		fprintf(f, "  %-22s no\n", "an access faults");
	if (g->remove_err)
		fprintf(f, "  %-22s %s\n", "remove", errno_name(g->remove_err));
	else
		fprintf(f, "  %-22s %s\n", "remove restores", g->restored ? "yes" : "no");
	fprintf(f, "  %-22s %s (mappings %ld before, %ld after, for one page in three)\n",
		"splits the VMA", g->maps_after > g->maps_before ? "yes" : "no", g->maps_before,
		g->maps_after);
	fprintf(f, "  -> %s\n", guard_works(g) ? "work" : "do not work");
}

void probe_print_table(const struct probe *p, FILE *f)
{
	fprintf(f, "userfault probe: Linux %s %s, libuserfault %s\n", p->uts.release, p->uts.machine,
		uf_version_string());

	fprintf(f, "\nEngines\n");
	print_engine(f, "kernel", &p->kernel);
	print_engine(f, "user", &p->user);
	print_engine(f, "auto", &p->autoeng);

	print_kernel(f, p);
	print_permissions(f, p);
	print_features(f, p);
	for (int i = 0; i < 2; i++)
		print_registration(f, &p->reg[i]);
	if (p->huge.borrowed)
		fprintf(f, "\nHuge pages: %lld of %zu KiB reserved via vm.nr_hugepages for the hugetlb "
			"rows, then given back\n", p->huge.borrowed, p->huge.page_size / 1024);

	fprintf(f, "\nLimits\n");
	fprintf(f, "  %-22s %lld\n", "vm.max_map_count", p->max_map_count);
	fprintf(f, "  %-22s %ld\n", "mappings now", p->mappings);
	print_guard(f, p);
}

/* ----------------------------------------------------------------- JSON */

static void json_errno(struct json *j, const char *key, int err)
{
	if (err)
		json_string(j, key, errno_name(err));
	else
		json_null(j, key);
}

static void json_open_way(struct json *j, const char *key, int err, int kill_sig)
{
	json_begin_object(j, key);
	json_bool(j, "works", !kill_sig && err == 0);
	json_errno(j, "errno", kill_sig ? 0 : err);
	if (kill_sig)
		json_int(j, "kills_with_signal", kill_sig);
	else
		json_null(j, "kills_with_signal");
	json_end_object(j);
}

static void json_engine(struct json *j, const char *key, const struct probe_engine *e)
{
	json_begin_object(j, key);
	json_bool(j, "usable", e->usable);
	json_bool(j, "tried", e->tried);
	if (e->usable) {
		json_string(j, "engine", uf_engine_name(e->kind));
		json_string(j, "via", via_key(e->via));
		json_int(j, "flags", e->flags);
		json_null(j, "why");
	} else {
		json_string(j, "why", e->why);
	}
	json_end_object(j);
}

static void json_ioctls(struct json *j, const char *key, uint64_t mask)
{
	json_begin_object(j, key);
	json_hex(j, "mask", mask);
	json_begin_array(j, "names");
	for (unsigned nr = 0; nr < 64; nr++) {
		char other[16];
		if (mask & ((uint64_t)1 << nr))
			json_string(j, NULL, ioctl_bit_name(nr, other));
	}
	json_end_array(j);
	json_end_object(j);
}

static void json_kernel(struct json *j, const struct probe *p)
{
	const struct uf_kernel_status *k = &p->ks;

	json_begin_object(j, "kernel");
	json_string(j, "reason", k->reason);
	if (p->kill_sig)
		json_int(j, "syscall_kills_with_signal", p->kill_sig);
	else
		json_null(j, "syscall_kills_with_signal");
	json_bool(j, "usable", k->usable);
	json_begin_object(j, "open");
	if (!p->status_err) {
		json_open_way(j, "syscall", k->syscall_err, p->kill_sig);
		json_open_way(j, "syscall_user_mode_only", k->syscall_umo_err, p->kill_sig);
		json_open_way(j, "device", k->device_err, 0);
	}
	json_end_object(j);
	json_begin_object(j, "features");
	json_hex(j, "mask", k->features);
	json_begin_array(j, "supported");
	for (unsigned b = 0; b < 64; b++) {
		if (!((k->features >> b) & 1))
			continue;
		char other[16];
		const char *n = feature_name(b);
		if (!n)
			snprintf(other, sizeof(other), "bit%u", b);
		json_string(j, NULL, n ? n : other);
	}
	json_end_array(j);
	json_begin_array(j, "unsupported");
	if (k->usable)
		for (unsigned b = 0; b < feature_bits(); b++)
			if (!((k->features >> b) & 1))
				json_string(j, NULL, feature_name(b));
	json_end_array(j);
	json_end_object(j);
	json_ioctls(j, "api_ioctls", k->ioctls);
	json_end_object(j);
}

static void json_permissions(struct json *j, const struct probe *p)
{
	const struct uf_kernel_status *k = &p->ks;

	json_begin_object(j, "permissions");
	json_int(j, "unprivileged_userfaultfd", k->unprivileged_sysctl);
	json_begin_object(j, "device");
	json_bool(j, "present", k->device_present);
	if (k->device_present) {
		char mode[11], m[8], owner[80];
		mode_string(k->device_mode, mode);
		snprintf(m, sizeof(m), "%04o", k->device_mode & 07777);
		owner_names(k->device_uid, k->device_gid, owner, sizeof(owner));
		json_string(j, "mode", m);
		json_string(j, "ls", mode);
		json_uint(j, "uid", k->device_uid);
		json_uint(j, "gid", k->device_gid);
		json_string(j, "owner", owner);
	}
	json_end_object(j);
	json_int(j, "seccomp", k->seccomp);
	json_string(j, "seccomp_mode", seccomp_name(k->seccomp));
	if (p->seccomp_filters[0])
		json_int(j, "seccomp_filters", atoll(p->seccomp_filters));
	else
		json_null(j, "seccomp_filters");
	if (k->cap_sys_ptrace < 0)
		json_null(j, "cap_sys_ptrace");
	else
		json_bool(j, "cap_sys_ptrace", k->cap_sys_ptrace);
	json_uint(j, "uid", p->uid);
	json_uint(j, "euid", p->euid);
	json_end_object(j);
}

static void json_registration(struct json *j, const struct probe_registration *r)
{
	json_begin_object(j, NULL);
	json_string(j, "engine", uf_engine_name(r->engine));
	json_bool(j, "ran", r->ran);
	json_string(j, "why", r->ran ? NULL : r->why);
	json_begin_array(j, "memory");
	for (int m = 0; r->ran && m < PROBE_NMEM; m++) {
		const struct probe_memrow *row = &r->mem[m];
		json_begin_object(j, NULL);
		json_string(j, "type", probe_memtypes[m].key);
		json_bool(j, "tested", !row->skipped);
		json_string(j, "why", row->skipped ? row->why : NULL);
		json_begin_array(j, "modes");
		for (int k = 0; !row->skipped && k < PROBE_NMODES; k++) {
			char mode[32];
			register_mode_names(probe_modes[k], mode, sizeof(mode));
			json_begin_object(j, NULL);
			json_string(j, "mode", mode);
			json_uint(j, "mode_bits", probe_modes[k]);
			json_bool(j, "ok", row->cell[k].err == 0);
			json_errno(j, "errno", row->cell[k].err);
			if (row->cell[k].err == 0)
				json_ioctls(j, "ioctls", row->cell[k].ioctls);
			json_end_object(j);
		}
		json_end_array(j);
		json_end_object(j);
	}
	json_end_array(j);
	json_end_object(j);
}

static void json_guard(struct json *j, const struct probe_guard *g)
{
	json_begin_object(j, "guard_markers");
	json_bool(j, "works", guard_works(g));
	json_bool(j, "tested", g->ran);
	json_string(j, "why", g->ran ? NULL : g->why);
	if (g->ran) {
		json_errno(j, "install_errno", g->install_err);
		json_bool(j, "access_faults", g->faulted);
		if (g->faulted)
			json_string(j, "fault_signal", g->fault_sig == SIGSEGV ? "SIGSEGV" :
				    g->fault_sig == SIGBUS ? "SIGBUS" : "other");
		json_errno(j, "remove_errno", g->remove_err);
		json_bool(j, "remove_restores", g->restored);
		if (!g->install_err) {
			json_int(j, "mappings_before", g->maps_before);
			json_int(j, "mappings_after", g->maps_after);
		}
	}
	json_end_object(j);
}

void probe_print_json(const struct probe *p, FILE *f)
{
	struct json j;
	json_init(&j, f);
	json_begin_object(&j, NULL);
	json_string(&j, "version", uf_version_string());
	json_begin_object(&j, "system");
	json_string(&j, "kernel", p->uts.release);
	json_string(&j, "machine", p->uts.machine);
	json_end_object(&j);

	json_begin_object(&j, "engines");
	json_engine(&j, "kernel", &p->kernel);
	json_engine(&j, "user", &p->user);
	json_engine(&j, "auto", &p->autoeng);
	json_end_object(&j);

	json_kernel(&j, p);
	json_permissions(&j, p);

	json_begin_object(&j, "hugetlb");
	json_uint(&j, "page_size", p->huge.page_size);
	json_bool(&j, "available", p->huge.available);
	json_int(&j, "borrowed", p->huge.borrowed);
	json_string(&j, "why", p->huge.available ? NULL : p->huge.why);
	json_end_object(&j);

	json_begin_array(&j, "registration");
	for (int i = 0; i < 2; i++)
		json_registration(&j, &p->reg[i]);
	json_end_array(&j);

	json_begin_object(&j, "limits");
	json_int(&j, "max_map_count", p->max_map_count);
	json_int(&j, "mappings", p->mappings);
	json_end_object(&j);

	json_guard(&j, &p->guard);
	json_end_object(&j);
	json_finish(&j);
}
