/* SPDX-License-Identifier: MIT */
/*
 * probe.h - the probe's findings, gathered first and then rendered, so the
 * human table and the JSON document can never disagree.
 */
#ifndef UF_PROBE_H
#define UF_PROBE_H

#include <sys/utsname.h>
#include "cli.h"

/* Register modes tried on every memory type: the three alone and the
 * combinations real users register (snapshot: MISSING|WP; minor-fault
 * live migration: MINOR|WP; everything at once). */
#define PROBE_NMODES 6
extern const uint64_t probe_modes[PROBE_NMODES];

enum probe_mem {
	MEM_PRIVATE_ANON,
	MEM_SHARED_ANON,
	MEM_MEMFD_SHARED,
	MEM_MEMFD_PRIVATE,
	MEM_HUGETLB_SHARED,
	MEM_HUGETLB_PRIVATE,
	PROBE_NMEM
};

struct probe_memtype {
	const char *key;	/* JSON */
	const char *label;	/* table */
	int memfd, shared, huge;
};
extern const struct probe_memtype probe_memtypes[PROBE_NMEM];

struct probe_engine {
	int tried;		/* 0: not tried (seccomp would kill us) */
	int usable;
	int kind;		/* what it turned out to be (AUTO row) */
	int via;		/* enum uf_open_via */
	int flags;
	char why[256];
};

struct probe_cell {
	int err;		/* 0 or errno from UFFDIO_REGISTER */
	uint64_t ioctls;
};

struct probe_memrow {
	int skipped;		/* could not map: why says why */
	char why[160];
	struct probe_cell cell[PROBE_NMODES];
};

struct probe_registration {
	int engine;		/* UF_ENGINE_KERNEL / UF_ENGINE_USER */
	int ran;
	char why[256];		/* when !ran */
	struct probe_memrow mem[PROBE_NMEM];
};

struct probe_guard {
	int ran;
	char why[160];		/* when !ran */
	int install_err;
	int faulted;		/* the access after install faulted */
	int fault_sig;
	int remove_err;
	int restored;		/* the access after remove worked and read zero */
	long maps_before, maps_after;	/* around installing on the middle page */
};

struct probe_hugetlb {
	size_t page_size;
	int available;		/* huge pages free for the test (maybe borrowed) */
	long long borrowed;
	char why[160];
};

struct probe {
	struct utsname uts;
	unsigned uid, euid;
	int kill_sig;		/* userfaultfd(2) killed a child with this signal */
	int status_err;		/* uf_kernel_probe() result */
	struct uf_kernel_status ks;
	char seccomp_filters[32];
	struct probe_engine kernel, user, autoeng;
	struct probe_registration reg[2];	/* kernel, user */
	struct probe_hugetlb huge;
	long long max_map_count;
	long mappings;
	struct probe_guard guard;
};

/* probe_register.c: the memory type x register mode matrix for one engine. */
void probe_registration(struct probe_registration *r, int engine, const struct probe_hugetlb *huge);

/* probe_guard.c: guard markers, tried in a child process. */
void probe_guard(struct probe_guard *g);

/* probe_report.c */
void probe_print_table(const struct probe *p, FILE *f);
void probe_print_json(const struct probe *p, FILE *f);
const char *probe_via_name(int via);

#endif /* UF_PROBE_H */
