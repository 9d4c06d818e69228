/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the files of the userfault command share.
 *
 * The command uses only the public API (userfault.h): it is also the first
 * program written against it, so anything it has to work around is a gap
 * in the library worth reporting.
 */
#ifndef UF_CLI_H
#define UF_CLI_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include "userfault.h"

/* Exit codes: the same meaning for every command (see userfault --help). */
enum {
	CLI_OK       = 0,	/* success */
	CLI_FAILED   = 1,	/* the operation ran and failed */
	CLI_USAGE    = 2,	/* bad command line */
	CLI_UNUSABLE = 3,	/* nothing usable to run it on */
};

#define CLI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- commands (one file each); argv[0] is the command's name ---------- */

int cmd_probe(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_run(int argc, char **argv);

/* ---- args.c: option parsing shared by the commands -------------------- */

/*
 * Does argv[*i] name option `name` ("--size")?  Accepts "--size=V" and
 * "--size V".  Returns 0 if it is another option, 1 with *value set if it
 * matched (and *i advanced past a separate value), -1 if it matched but the
 * value is missing (a usage error has been printed).
 */
int arg_value(const char *cmd, int argc, char **argv, int *i, const char *name, const char **value);

/* Parse a decimal (or 0x hex) unsigned integer in [min, max]; 0 or -1 after
 * printing a usage error naming the option. */
int arg_u64(const char *cmd, const char *opt, const char *text, uint64_t min, uint64_t max,
	    uint64_t *out);

/* Print "userfault CMD: MESSAGE" and the hint to stderr; returns CLI_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- names.c: names for numbers the kernel hands back ----------------- */

/* "EPERM", "ENOSYS"...; "OK" for 0; "E<n>" when unknown. */
const char *errno_name(int err);

/* Feature bit n (UFFD_FEATURE_*) without the prefix, or NULL if unknown. */
const char *feature_name(unsigned bit);
/* The highest feature bit feature_name() knows. */
unsigned feature_bits(void);

/* ioctl number n (_UFFDIO_*) without the prefix, or NULL if unknown. */
const char *ioctl_name(unsigned nr);
/* ioctl_name(), or "bitN" (written into other) for a bit without a name. */
const char *ioctl_bit_name(unsigned nr, char other[16]);

/* Names of the set bits of an ioctls mask, space separated, into buf. */
void ioctl_mask_names(uint64_t mask, char *buf, size_t len);

/* "MISSING|WP" for UFFDIO_REGISTER_MODE_* bits, into buf. */
void register_mode_names(uint64_t mode, char *buf, size_t len);

/* ---- sysinfo.c: small facts read from /proc --------------------------- */

/* The integer in a one-number file (a sysctl), or -1 if unreadable. */
long long read_long_file(const char *path);
/* Write one integer into a file (a sysctl).  0 or -errno. */
int write_long_file(const char *path, long long v);
/* A "Key: N kB" line of /proc/meminfo, in its own unit; -1 if absent. */
long long meminfo_value(const char *key);
/* A "Key:\tvalue" line of /proc/self/status copied into buf; 0 or -1. */
int self_status(const char *key, char *buf, size_t len);
/* Number of lines in /proc/self/maps (the process's mappings), or -1. */
long count_mappings(void);

/* ---- canary.c --------------------------------------------------------- */

/* The signal userfaultfd(2) kills a process with here (a seccomp filter set
 * to kill), or 0 if calling it is safe.  Tried in a child process. */
int userfaultfd_kills(void);

/* ---- json.c: a small streaming JSON writer ----------------------------- */

struct json {
	FILE *f;
	int depth;
	int need_comma;		/* a value has been written at this depth */
};

void json_init(struct json *j, FILE *f);
/* key is NULL inside arrays and for the top-level value. */
void json_begin_object(struct json *j, const char *key);
void json_end_object(struct json *j);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);
void json_string(struct json *j, const char *key, const char *s);	/* NULL: null */
void json_int(struct json *j, const char *key, long long v);
void json_uint(struct json *j, const char *key, unsigned long long v);
void json_double(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);
/* A mask as a "0x..." string: JSON numbers lose 64-bit precision. */
void json_hex(struct json *j, const char *key, unsigned long long v);
/* Finish the document (newline). */
void json_finish(struct json *j);

/* ---- hugetlb.c: borrow huge pages for a moment, give them back -------- */

struct hugetlb_loan {
	long long old_nr;	/* nr_hugepages before, -1 if untouched */
	long long added;	/* how many this loan added */
	int blocked;		/* signals blocked, saved_mask to restore */
	sigset_t saved_mask;
	char why[160];		/* when none are available: why */
};

/* Make sure `want` huge pages are free, reserving them if root; 1 if they
 * are free now, 0 if not (loan->why says why).  Signals that would end the
 * process are blocked until hugetlb_return() so the pages come back. */
int hugetlb_borrow(struct hugetlb_loan *loan, long long want);
/* Give back what hugetlb_borrow() added.  Safe to call when nothing was. */
void hugetlb_return(struct hugetlb_loan *loan);
/* The default huge page size in bytes, or 0. */
size_t hugetlb_page_size(void);

/* ---- prng.c: the demo's deterministic content ------------------------- */

/* splitmix64: the value at position i of the stream for seed. */
uint64_t prng_at(uint64_t seed, uint64_t i);
/* Fill a page with the content of page `index` for seed. */
void prng_fill_page(void *page, size_t page_size, uint64_t seed, uint64_t index);
/* Fisher-Yates shuffle of v[0..n) driven by seed. */
void prng_shuffle(uint32_t *v, size_t n, uint64_t seed);

#endif /* UF_CLI_H */
