/* SPDX-License-Identifier: MIT */
/*
 * bench.c - `userfault bench`: both engines side by side, row by row,
 * against the physical floor measured in the same run.
 *
 * Engines alternate inside each row (kernel, then user) so that drift of
 * the machine during the run hits both alike and their ratio stays
 * meaningful.  The command never judges speed: it exits 1 only when a row
 * broke (an error, or content that does not verify).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"

#define MAX_ROWS 64
#define FULL_FAULTS 10000
#define QUICK_FAULTS 1000
#define MAX_FAULTS 10000000
#define BIG_DIVISOR 5		/* 64 KiB rows: this many times fewer faults */
/* A slow engine must not make the run endless: a row on one engine stops
 * touching after CELL_S seconds (and says so), and is abandoned as stuck
 * when no fault completes for STALL_S seconds. */
#define FULL_CELL_S 20
#define QUICK_CELL_S 1
#define FULL_STALL_S 10
#define QUICK_STALL_S 3

enum { SEL_ALL, SEL_KERNEL, SEL_USER };

static void help(void)
{
	printf("usage: userfault bench [--quick] [--engine=kernel|user|all] [--json] [--svg=FILE]\n"
	       "                       [--faults=N] [--threads=N] [--rows=NAME,...] [--seed=N]\n"
	       "                       [--list]\n"
	       "\n"
	       "Fault round trips on each engine, side by side, with the physical floor of\n"
	       "this machine measured in the same run.\n"
	       "\n"
	       "Workloads (one row each; --list names them): MISSING+COPY 4 KiB,\n"
	       "MISSING+ZEROPAGE, a write-protect fault cleared with WRITEPROTECT,\n"
	       "MINOR+CONTINUE on a memfd, MISSING+MOVE; resolved by a handler thread\n"
	       "(uf_handler_start), in the faulting thread (UFFD_FEATURE_SIGBUS), or by\n"
	       "another process that received the descriptor over a unix socket\n"
	       "(SCM_RIGHTS); 4 KiB or 64 KiB resolved per fault, or a whole 2 MiB\n"
	       "hugetlb page (private and shared; as many faults as half the free huge\n"
	       "pages allow, at most 16); sequential or random\n"
	       "order; every thread pinned to one CPU, the handler on another CPU, or\n"
	       "unpinned; throughput with 1 to N\n"
	       "faulting threads against 1 and N handler threads.\n"
	       "The floor: first-touch page faults, memcpy 4 KiB, an empty system call, a\n"
	       "signal round trip, the user engine's own steps (a new page written into a\n"
	       "memfd; a guarded page trapped, unguarded and mapped), futex ping-pong on\n"
	       "one CPU and across two.\n"
	       "\n"
	       "Each row reports the median and 99th percentile of one access (in\n"
	       "microseconds, from just before it to just after it, as the faulting thread\n"
	       "sees it), faults per second, and the user engine's median over the\n"
	       "kernel's.  A row an engine does not support says \"n/a\" and why; an engine\n"
	       "that cannot be opened here is named once, with the reason, and the other\n"
	       "runs alone.  Every faulted page is checked afterwards.  A row on one\n"
	       "engine stops after %d s (%d s with --quick; marked *), and is reported\n"
	       "failed if no fault completes for %d s (%d s).\n"
	       "\n"
	       "options:\n"
	       "  --quick          a small run, in seconds (%d faults per row)\n"
	       "  --engine=E       kernel, user, or all (default)\n"
	       "  --json           one JSON document instead of the table\n"
	       "  --svg=FILE       also draw the latency distribution of MISSING+COPY 4 KiB\n"
	       "                   (pinned and unpinned, each engine) into FILE\n"
	       "  --faults=N       faults per row (default %d; 64 KiB rows: N/%d)\n"
	       "  --threads=N      N for the throughput rows (default: CPUs, 2 to 8)\n"
	       "  --rows=LIST      only these rows (comma-separated names, see --list)\n"
	       "  --seed=N         the random order's seed (default 1)\n"
	       "  --list           list the rows and exit\n"
	       "  --help           this text\n"
	       "\n"
	       "Never gate anything on these numbers: they drift between runs and machines.\n"
	       "Compare engines by their ratio within one run.\n"
	       "\n"
	       "exit status: 0 every row that ran checked out, 1 a row failed (error or wrong\n"
	       "content), 2 usage error, 3 no engine could be opened (the floor is still\n"
	       "reported).\n", FULL_CELL_S, QUICK_CELL_S, FULL_STALL_S, QUICK_STALL_S, QUICK_FAULTS,
	       FULL_FAULTS, BIG_DIVISOR);
}

struct parsed {
	int sel;
	int list;
	int faults_set;
};

static int parse(int argc, char **argv, struct bench_opts *o, struct parsed *p)
{
	const char *v;
	uint64_t n;

	for (int i = 1; i < argc; i++) {
		int m;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			help();
			return 1;
		}
		if (strcmp(argv[i], "--json") == 0) {
			o->json = 1;
		} else if (strcmp(argv[i], "--quick") == 0) {
			o->quick = 1;
		} else if (strcmp(argv[i], "--list") == 0) {
			p->list = 1;
		} else if ((m = arg_value("bench", argc, argv, &i, "--faults", &v)) != 0) {
			if (m < 0 || arg_u64("bench", "--faults", v, BIG_DIVISOR, MAX_FAULTS, &o->faults))
				return -1;
			p->faults_set = 1;
		} else if ((m = arg_value("bench", argc, argv, &i, "--threads", &v)) != 0) {
			if (m < 0 || arg_u64("bench", "--threads", v, 1, BENCH_MAX_THREADS, &n))
				return -1;
			o->threads = (unsigned)n;
		} else if ((m = arg_value("bench", argc, argv, &i, "--seed", &v)) != 0) {
			if (m < 0 || arg_u64("bench", "--seed", v, 0, UINT64_MAX, &o->seed))
				return -1;
		} else if ((m = arg_value("bench", argc, argv, &i, "--svg", &v)) != 0) {
			if (m < 0)
				return -1;
			if (!*v) {
				usage_error("bench", "--svg: needs a file name");
				return -1;
			}
			o->svg = v;
		} else if ((m = arg_value("bench", argc, argv, &i, "--rows", &v)) != 0) {
			if (m < 0)
				return -1;
			o->rows = v;
		} else if ((m = arg_value("bench", argc, argv, &i, "--engine", &v)) != 0) {
			if (m < 0)
				return -1;
			if (strcmp(v, "all") == 0)
				p->sel = SEL_ALL;
			else if (strcmp(v, "kernel") == 0)
				p->sel = SEL_KERNEL;
			else if (strcmp(v, "user") == 0)
				p->sel = SEL_USER;
			else {
				usage_error("bench", "--engine: '%s' is not one of kernel, user, all", v);
				return -1;
			}
		} else if (argv[i][0] == '-') {
			usage_error("bench", "unknown option '%s'", argv[i]);
			return -1;
		} else {
			usage_error("bench", "unexpected argument '%s'", argv[i]);
			return -1;
		}
	}
	return 0;
}

/* Is `name` in the comma-separated list? */
static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, name, n) == 0)
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Keep the rows --rows names; a name that matches none is a usage error. */
static int select_rows(const char *list, struct bench_row_def *defs, size_t *n)
{
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		int found = 0;
		for (size_t i = 0; i < *n && !found; i++)
			found = strlen(defs[i].name) == len && strncmp(defs[i].name, p, len) == 0;
		if (!found) {
			usage_error("bench", "--rows: no row named '%.*s' (see --list)", (int)len, p);
			return -1;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	size_t k = 0;
	for (size_t i = 0; i < *n; i++)
		if (in_list(list, defs[i].name))
			defs[k++] = defs[i];
	*n = k;
	return 0;
}

/* Can the engine be opened, and what does it offer? */
static void probe_engine(struct bench_engine *e, int kill_sig)
{
	e->available = 0;
	if (!e->selected)
		return;
	if (e->kind == UF_ENGINE_KERNEL && kill_sig) {
		/* uf_open() would try userfaultfd(2) and die with us. */
		snprintf(e->why, sizeof(e->why), "userfaultfd(2) kills the process here (seccomp, %s)",
			 strsignal(kill_sig));
		return;
	}
	struct uf_open_opts oo = UF_OPEN_OPTS_INIT;
	oo.engine = e->kind;
	oo.why = e->why;
	oo.why_len = sizeof(e->why);
	int fd = uf_open(O_CLOEXEC | O_NONBLOCK, &oo);
	if (fd < 0) {
		if (!e->why[0])
			snprintf(e->why, sizeof(e->why), "uf_open: %s", strerror(-fd));
		return;
	}
	struct uf_fd_info info = UF_FD_INFO_INIT;
	if (uf_fd_info(fd, &info) == 0)
		e->via = info.via;
	int err = uf_api(fd, 0, &e->features, &e->ioctls);
	uf_close(fd);
	if (err) {
		snprintf(e->why, sizeof(e->why), "UFFDIO_API: %s (%s)", errno_name(err), strerror(-err));
		return;
	}
	e->why[0] = '\0';
	e->available = 1;
}

static int exit_code(const struct bench_run *r)
{
	int any = 0;
	for (size_t i = 0; i < r->nfloor; i++)
		if (r->floor[i].status == ST_FAILED)
			return CLI_FAILED;
	for (size_t i = 0; i < r->nrows; i++)
		for (int e = 0; e < BENCH_NENGINES; e++)
			if (r->rows[i].cell[e].status == ST_FAILED)
				return CLI_FAILED;
	for (int e = 0; e < BENCH_NENGINES; e++)
		any |= r->eng[e].selected && r->eng[e].available;
	return any ? CLI_OK : CLI_UNUSABLE;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_opts o = { .seed = 1 };
	struct parsed p = { .sel = SEL_ALL };
	struct bench_env env;
	int rc = parse(argc, argv, &o, &p);
	if (rc)
		return rc > 0 ? CLI_OK : CLI_USAGE;

	bench_env_init(&env);
	if (!p.faults_set)
		o.faults = o.quick ? QUICK_FAULTS : FULL_FAULTS;
	o.faults_big = o.faults / BIG_DIVISOR;
	o.cell_s = o.quick ? QUICK_CELL_S : FULL_CELL_S;
	o.stall_s = o.quick ? QUICK_STALL_S : FULL_STALL_S;
	if (!o.threads)
		o.threads = env.ncpus < 2 ? 2 : env.ncpus > 8 ? 8 : (unsigned)env.ncpus;

	struct bench_row_def defs[MAX_ROWS];
	size_t ndefs = bench_rows_make(defs, MAX_ROWS, o.threads);
	if (o.rows && select_rows(o.rows, defs, &ndefs) < 0)
		return CLI_USAGE;
	if (p.list) {
		for (size_t i = 0; i < ndefs; i++)
			printf("%-18s %s\n", defs[i].name, defs[i].label);
		return CLI_OK;
	}

	struct bench_run run;
	memset(&run, 0, sizeof(run));
	run.o = &o;
	run.env = &env;
	run.eng[0].kind = UF_ENGINE_KERNEL;
	run.eng[1].kind = UF_ENGINE_USER;
	run.eng[0].selected = p.sel != SEL_USER;
	run.eng[1].selected = p.sel != SEL_KERNEL;
	int kill_sig = run.eng[0].selected ? userfaultfd_kills() : 0;
	for (int e = 0; e < BENCH_NENGINES; e++) {
		probe_engine(&run.eng[e], kill_sig);
		/* In the table this is said above the rows; JSON goes to a
		 * program, so a person gets the line on stderr. */
		if (o.json && run.eng[e].selected && !run.eng[e].available)
			fprintf(stderr, "userfault bench: the %s engine is unavailable: %s\n",
				uf_engine_name(run.eng[e].kind), run.eng[e].why);
	}

	run.rows = calloc(ndefs ? ndefs : 1, sizeof(*run.rows));
	if (!run.rows) {
		fprintf(stderr, "userfault bench: out of memory\n");
		return CLI_FAILED;
	}
	int progress = isatty(STDERR_FILENO);
	uint64_t t0 = bench_now_ns();
	if (progress)
		fprintf(stderr, "userfault bench: the floor...\n");
	run.nfloor = bench_floor(&o, &env, run.floor);
	for (size_t i = 0; i < ndefs; i++) {
		run.rows[i].def = defs[i];
		if (progress)
			fprintf(stderr, "userfault bench: %zu/%zu %s...\n", i + 1, ndefs, defs[i].name);
		for (int e = 0; e < BENCH_NENGINES; e++)
			bench_fault_row(&o, &env, &run.eng[e], &defs[i], &run.rows[i].cell[e]);
	}
	run.nrows = ndefs;
	run.seconds = (double)(bench_now_ns() - t0) / 1e9;
	run.rc = exit_code(&run);

	if (o.svg) {
		int err = bench_svg_write(&run, o.svg);
		if (err) {
			fprintf(stderr, "userfault bench: cannot write %s: %s\n", o.svg, strerror(-err));
			run.rc = CLI_FAILED;
		}
	}
	if (o.json)
		bench_print_json(&run, stdout);
	else
		bench_print_table(&run, stdout);
	if (!o.json && o.svg && run.rc != CLI_FAILED)
		printf("latency picture: %s\n", o.svg);
	if (run.rc == CLI_UNUSABLE)
		fprintf(stderr, "userfault bench: no usable engine (see 'userfault probe')\n");
	for (size_t i = 0; i < run.nrows; i++)
		for (int e = 0; e < BENCH_NENGINES; e++)
			free(run.rows[i].cell[e].samples);
	free(run.rows);
	return run.rc;
}
