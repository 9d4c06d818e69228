/* SPDX-License-Identifier: MIT */
/*
 * bench.h - what the files of `userfault bench` share.
 *
 *   bench.c         the command: options, engines, the order of the runs
 *   bench_rows.c    the workload table (what each row measures)
 *   bench_mem.c     each row's memory and the one resolve function every
 *                   mode calls (handler thread, SIGBUS handler, child)
 *   bench_fault.c   one row on one engine: touching threads, watchdog
 *   bench_xproc.c   the cross-process handler (a forked child, SCM_RIGHTS)
 *   bench_floor.c   the physical floor, measured in the same run
 *   bench_stats.c   clocks, CPU pinning, percentiles
 *   bench_report.c  the table and the JSON document
 *   bench_svg.c     the latency picture
 *
 * Everything goes through the public API with the engine chosen at
 * uf_open(): a row runs the same code on both engines, so the user engine's
 * column fills in by itself once that engine opens.
 */
#ifndef UF_BENCH_H
#define UF_BENCH_H

#include <sched.h>
#include <stdatomic.h>
#include "cli.h"

#define BENCH_NENGINES 2	/* [0] kernel, [1] user */
#define BENCH_MAX_THREADS 64
#define BENCH_BIG_BLOCK (64 * 1024)

/* How a fault is resolved. */
enum bench_op { OP_COPY, OP_ZEROPAGE, OP_WP, OP_CONTINUE, OP_MOVE };

/* Who resolves it. */
enum bench_mode {
	MODE_HANDLER,	/* uf_handler_start() threads in this process */
	MODE_SIGBUS,	/* UFFD_FEATURE_SIGBUS: the faulting thread, in its handler */
	MODE_XPROC,	/* a forked child that received the descriptor by SCM_RIGHTS */
};

struct bench_row_def {
	char name[24];		/* short, for --rows and JSON */
	char label[56];		/* the table's */
	int op, mode;
	unsigned faulters;	/* faulting threads */
	unsigned handlers;	/* handler threads (MODE_HANDLER, MODE_XPROC) */
	size_t block;		/* bytes resolved per fault: 4 KiB or 64 KiB */
	int random;		/* touch blocks in shuffled order */
	int pinned;		/* PIN_*: where the threads run */
	int picture;		/* 1: pinned headline, 2: unpinned headline (the SVG) */
	int huge;		/* hugetlb memory, block = the huge page: HUGE_* */
};
#define HUGE_PRIVATE	1	/* MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB */
#define HUGE_SHARED	2	/* MAP_SHARED of an MFD_HUGETLB memfd (kept open) */
/* hugetlb rows: at most this many faults (one free huge page each, and the
 * user engine's registration of private hugetlb briefly reserves twice). */
#define BENCH_HUGE_FAULTS 16

enum bench_status {
	ST_NOT_RUN,		/* engine not selected */
	ST_OK,
	ST_NA,			/* the engine does not support it: why */
	ST_FAILED,		/* ran and broke: why */
	ST_UNAVAILABLE,		/* the engine cannot be opened here */
};

struct bench_stats {
	size_t n;
	double median_us, p99_us, max_us, mean_us;
	double per_s;		/* operations (faults) per second of wall time */
};

struct bench_cell {
	int status;
	char why[256];
	struct bench_stats st;
	uint64_t *samples;	/* sorted, ns; kept for the picture's rows only */
	size_t nsamples;
	size_t blocks;		/* faults made (warm-up included) */
	int capped;		/* stopped at opts.cell_s before touching every block */
	unsigned long long messages;	/* faults the resolver saw */
	unsigned long long eexist, eagain;	/* already resolved; retried */
	size_t bad_blocks;	/* failed verification */
};

struct bench_row {
	struct bench_row_def def;
	struct bench_cell cell[BENCH_NENGINES];
};

struct bench_engine {
	int kind;		/* UF_ENGINE_KERNEL / UF_ENGINE_USER */
	int selected;
	int available;
	int via;
	__u64 features, ioctls;	/* UFFDIO_API(0) */
	char why[256];		/* when !available */
};

/* Where a row's threads run. */
enum {
	PIN_NONE,		/* wherever the scheduler puts them */
	PIN_ONE,		/* every thread on the pinned CPU */
	PIN_SPLIT,		/* faulting threads there, resolvers on another */
};

struct bench_floor_row {
	const char *name, *label;
	int status;		/* ST_OK, ST_NA, ST_FAILED */
	char why[160];
	struct bench_stats st;
};
#define BENCH_NFLOOR 10

struct bench_opts {
	int quick;
	uint64_t faults;	/* per row of 4 KiB blocks */
	uint64_t faults_big;	/* per row of 64 KiB blocks */
	unsigned threads;	/* N for the throughput rows */
	uint64_t seed;
	unsigned cell_s;	/* a row on one engine stops touching after this */
	unsigned stall_s;	/* no fault completing this long: the engine is stuck */
	int json;
	const char *svg;
	const char *rows;	/* comma-separated names, or NULL for all */
};

/* The machine as the run sees it. */
struct bench_env {
	cpu_set_t all;		/* the affinity the command started with */
	int ncpus;		/* CPUs in it */
	int pin_cpu;		/* the CPU of pinned rows */
	int other_cpu;		/* another one, or -1 */
	size_t page;
	char kernel[200];
};

/* The command (bench.c).  Declared here rather than in cli.h, which this
 * work does not own: userfault.c includes this header for its table. */
int cmd_bench(int argc, char **argv);

/* ---- bench_rows.c ----------------------------------------------------- */

/* Fill rows[] with every workload for N throughput threads; the count. */
size_t bench_rows_make(struct bench_row_def *rows, size_t max, unsigned nthreads);
const char *bench_op_name(int op);
const char *bench_mode_name(int mode);

/* ---- bench_stats.c ---------------------------------------------------- */

uint64_t bench_now_ns(void);
/* Sort v[0..n) and summarise it; wall_ns is the wall time of ops operations
 * (0: per_s from the mean). */
void bench_stats(uint64_t *v, size_t n, uint64_t ops, uint64_t wall_ns, struct bench_stats *st);
/* Nearest-rank percentile (p in [0, 1]) of sorted v, in µs. */
double bench_percentile_us(const uint64_t *v, size_t n, double p);
/* The calling thread: on the pinned CPU, on `cpu`, or back on all. */
void bench_pin(const struct bench_env *env);
void bench_pin_to(int cpu);
void bench_unpin(const struct bench_env *env);
void bench_env_init(struct bench_env *env);

/* ---- bench_mem.c ------------------------------------------------------ */

struct bench_mem {
	int op;
	size_t block, page, len;	/* len: the registered region, blocks * block */
	size_t blocks;
	uint64_t seed;
	unsigned char *region;		/* block aligned */
	unsigned char *src;		/* COPY: one block of content */
	unsigned char *movesrc;		/* MOVE: len bytes, one prefilled page per page */
	unsigned char *alias;		/* CONTINUE: a second view of the memfd */
	int memfd;
	int huge;			/* the region is hugetlb */
	void *map_base;			/* what to unmap for region */
	size_t map_len;
};

/* Counters the resolvers keep; atomic as handler threads share them. */
struct bench_counts {
	atomic_ullong eexist, eagain;
};

/* Map and prepare the memory of one row: 0 or -errno (what says what). */
int bench_mem_setup(struct bench_mem *m, const struct bench_row_def *d, size_t blocks,
		    size_t page, uint64_t seed, const char **what);
/* Touch `bytes` of fresh memory once and give it back.  In a VM, memory the
 * guest has not used lately costs a trip to the hypervisor per page (about
 * ten times a fault's own cost here); without this, whichever engine runs
 * first would pay it for both. */
void bench_prewarm(size_t bytes, size_t page);
/* After UFFDIO_REGISTER: what the op needs registered first (WP: protect). */
int bench_mem_arm(struct bench_mem *m, int fd);
void bench_mem_free(struct bench_mem *m);
/* Resolve the fault at addr.  Async-signal-safe: the SIGBUS mode calls it
 * from its signal handler.  0 or -errno. */
int bench_resolve(int fd, const struct bench_mem *m, uintptr_t addr, struct bench_counts *c);
/* Touch block i as the op needs (read, or write for WP). */
uint64_t bench_touch(const struct bench_mem *m, size_t i);
/* Of the n blocks listed, those whose content is not what the op must have
 * put there. */
size_t bench_mem_verify(const struct bench_mem *m, const uint32_t *blocks, size_t n);
/* The register mode, the feature bits to ask UFFDIO_API for and those that
 * must be offered, and the ioctl the op needs. */
__u64 bench_register_mode(int op);
__u64 bench_features_needed(const struct bench_row_def *d);
unsigned bench_ioctl_needed(int op);

/* ---- bench_fault.c ---------------------------------------------------- */

void bench_fault_row(const struct bench_opts *o, const struct bench_env *env,
		     const struct bench_engine *e, const struct bench_row_def *d,
		     struct bench_cell *cell);

/* ---- bench_xproc.c ---------------------------------------------------- */

struct bench_child {
	pid_t pid;
	int sock;
};

/* Fork the handler process (it inherits the caller's CPU affinity); it
 * waits for the descriptor.  0 or -errno. */
int bench_child_start(struct bench_child *c, const struct bench_mem *m, unsigned handlers);
/* Pass fd and wait until the child serves it.  0 or -errno; *foreign is
 * the child's uf_engine() error when its library does not know the
 * descriptor (the engine does not support use from another process). */
int bench_child_serve(struct bench_child *c, int fd, int *foreign);
/* 1 while the child runs. */
int bench_child_alive(struct bench_child *c);
/* Stop the child and collect it; its handler's result (0 or -errno). */
int bench_child_stop(struct bench_child *c, unsigned long long *served);
/* Kill it (when it stopped serving). */
void bench_child_kill(struct bench_child *c);

/* ---- bench_floor.c ---------------------------------------------------- */

size_t bench_floor(const struct bench_opts *o, const struct bench_env *env,
		   struct bench_floor_row *rows);

/* ---- bench_report.c --------------------------------------------------- */

struct bench_run {
	const struct bench_opts *o;
	const struct bench_env *env;
	struct bench_engine eng[BENCH_NENGINES];
	struct bench_floor_row floor[BENCH_NFLOOR];
	size_t nfloor;
	struct bench_row *rows;
	size_t nrows;
	double seconds;		/* the whole run */
	int rc;
};

void bench_print_table(const struct bench_run *r, FILE *f);
void bench_print_json(const struct bench_run *r, FILE *f);
const char *bench_status_name(int st);
/* user median / kernel median for a row, or 0 when not both ran. */
double bench_ratio(const struct bench_row *row);

/* ---- bench_svg.c ------------------------------------------------------ */

/* Write the picture to path; 0 or -errno. */
int bench_svg_write(const struct bench_run *r, const char *path);

#endif /* UF_BENCH_H */
