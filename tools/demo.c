/* SPDX-License-Identifier: MIT */
/*
 * demo.c - `userfault demo`: lazy loading of a memory image, the classic
 * userfaultfd use, on each engine, with its numbers and a full verification.
 *
 * The image is built once and shared by the engines, so memory use stays at
 * image + one region (2 x --size) whatever the number of engines.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "demo.h"

#define MAX_SIZE_MIB (1024 * 1024)	/* 1 TiB: page indices fit in 32 bits */
#define MAX_THREADS 1024
#define MAX_HANDLERS 64

enum { SEL_ALL, SEL_AUTO, SEL_KERNEL, SEL_USER };

static void help(void)
{
	printf("usage: userfault demo [--size=MiB] [--threads=N] [--handlers=N]\n"
	       "                      [--engine=auto|kernel|user|all] [--seed=N] [--json]\n"
	       "\n"
	       "Lazy loading of a memory image on each engine: build an image of --size MiB\n"
	       "of pseudo-random content, map an empty private anonymous region of the same\n"
	       "size, register it MISSING, and answer each fault with UFFDIO_COPY of the\n"
	       "image's page from the library's handler helper.  --threads threads then\n"
	       "read one word of every page, each its own shuffled share, timing every\n"
	       "first access; finally every byte of the region is compared with the image.\n"
	       "\n"
	       "Per engine it reports: faults served (the handler's count), pages, fault\n"
	       "latency p50/p99 (microseconds, touch to touch complete), pages per second\n"
	       "and wall time of the touch phase, and whether verification passed.\n"
	       "\n"
	       "options:\n"
	       "  --size=MiB       region size (default 256; memory used is twice this)\n"
	       "  --threads=N      touching threads (default 4)\n"
	       "  --handlers=N     fault-handler threads (default 1)\n"
	       "  --engine=E       auto (what uf_open picks), kernel, user, or all (default:\n"
	       "                   all usable engines; unusable ones are listed as skipped)\n"
	       "  --seed=N         content and touch order seed (default 1)\n"
	       "  --json           one JSON document instead of the table\n"
	       "  --help           this text\n"
	       "\n"
	       "exit status: 0 every engine that ran verified, 1 a run failed or did not\n"
	       "verify, 2 usage error, 3 no engine was usable.\n");
}

static int parse(int argc, char **argv, struct demo_opts *o, int *sel)
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
		} else if ((m = arg_value("demo", argc, argv, &i, "--size", &v)) != 0) {
			if (m < 0 || arg_u64("demo", "--size", v, 1, MAX_SIZE_MIB, &o->size_mib))
				return -1;
		} else if ((m = arg_value("demo", argc, argv, &i, "--threads", &v)) != 0) {
			if (m < 0 || arg_u64("demo", "--threads", v, 1, MAX_THREADS, &n))
				return -1;
			o->threads = (unsigned)n;
		} else if ((m = arg_value("demo", argc, argv, &i, "--handlers", &v)) != 0) {
			if (m < 0 || arg_u64("demo", "--handlers", v, 1, MAX_HANDLERS, &n))
				return -1;
			o->handlers = (unsigned)n;
		} else if ((m = arg_value("demo", argc, argv, &i, "--seed", &v)) != 0) {
			if (m < 0 || arg_u64("demo", "--seed", v, 0, UINT64_MAX, &o->seed))
				return -1;
		} else if ((m = arg_value("demo", argc, argv, &i, "--engine", &v)) != 0) {
			if (m < 0)
				return -1;
			if (strcmp(v, "all") == 0)
				*sel = SEL_ALL;
			else if (strcmp(v, "auto") == 0)
				*sel = SEL_AUTO;
			else if (strcmp(v, "kernel") == 0)
				*sel = SEL_KERNEL;
			else if (strcmp(v, "user") == 0)
				*sel = SEL_USER;
			else {
				usage_error("demo", "--engine: '%s' is not one of auto, kernel, user, all", v);
				return -1;
			}
		} else if (argv[i][0] == '-') {
			usage_error("demo", "unknown option '%s'", argv[i]);
			return -1;
		} else {
			usage_error("demo", "unexpected argument '%s'", argv[i]);
			return -1;
		}
	}
	return 0;
}

/* Refuse up front what would end in the OOM killer. */
static int check_memory(uint64_t size)
{
	long long avail_kib = meminfo_value("MemAvailable");
	if (avail_kib > 0 && 2 * size / 1024 > (uint64_t)avail_kib) {
		fprintf(stderr, "userfault demo: needs %llu MiB (image + region), only %lld MiB available\n",
			(unsigned long long)(2 * size >> 20), avail_kib / 1024);
		return -1;
	}
	return 0;
}

static int build_image(struct demo_image *img, size_t size, uint64_t seed, double *secs)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	img->page = (size_t)sysconf(_SC_PAGESIZE);
	img->size = size;
	img->pages = size / img->page;
	img->seed = seed;
	unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "userfault demo: cannot map the %zu MiB image: %s\n", size >> 20,
			strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < img->pages; i++)
		prng_fill_page(p + i * img->page, img->page, seed, i);
	img->data = p;
	clock_gettime(CLOCK_MONOTONIC, &b);
	*secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	return 0;
}

static const char *via_short(int via)
{
	switch (via) {
	case UF_VIA_SYSCALL: return "syscall";
	case UF_VIA_DEVICE: return "device";
	case UF_VIA_USER_MODE_ONLY: return "syscall+umo";
	case UF_VIA_USER_ENGINE: return "user";
	default: return "-";
	}
}

static const char *label(const struct demo_result *r)
{
	static char buf[32];
	if (r->engine != UF_ENGINE_AUTO || !r->ran)
		return uf_engine_name(r->engine);
	snprintf(buf, sizeof(buf), "auto:%s", uf_engine_name(r->kind));
	return buf;
}

static void print_table(const struct demo_opts *o, const struct demo_image *img, double image_s,
			const struct demo_result *res, int n)
{
	printf("userfault demo: %llu MiB (%zu pages of %zu KiB), %u touching threads, %u handler "
	       "thread%s, seed %llu\n", (unsigned long long)o->size_mib, img->pages, img->page / 1024,
	       o->threads, o->handlers, o->handlers == 1 ? "" : "s", (unsigned long long)o->seed);
	printf("image built in %.3f s\n\n", image_s);
	/* "µs" is two bytes for one column: the header is spaced by hand. */
	printf("%-12s %-12s %9s %9s %9s %9s %11s %8s  %s\n", "engine", "via", "faults", "pages",
	       "p50 \xc2\xb5s", "p99 \xc2\xb5s", "pages/s", "wall s", "verified");
	for (int i = 0; i < n; i++) {
		const struct demo_result *r = &res[i];
		if (!r->ran) {
			printf("%-12s skipped: %s\n", label(r), r->why);
			continue;
		}
		printf("%-12s %-12s %9llu %9zu %8.1f %8.1f %11.0f %8.3f  %s\n", label(r),
		       via_short(r->via), r->faults, r->pages, r->p50_us, r->p99_us, r->pages_per_s,
		       r->touch_s, r->verified && !r->failed ? "OK" : "FAILED");
		if (r->failed)
			printf("%-12s   error: %s\n", "", r->why);
		if (r->bad_pages)
			printf("%-12s   %zu of %zu pages differ from the image, the first is page %zu\n", "",
			       r->bad_pages, r->pages, r->first_bad);
		if (r->eexist || r->eagain)
			printf("%-12s   %llu faults already resolved (EEXIST), %llu retries (EAGAIN)\n", "",
			       r->eexist, r->eagain);
	}
}

static void print_json(const struct demo_opts *o, const struct demo_image *img, double image_s,
		       const struct demo_result *res, int n, int rc)
{
	struct json j;
	json_init(&j, stdout);
	json_begin_object(&j, NULL);
	json_uint(&j, "size_mib", o->size_mib);
	json_uint(&j, "page_size", img->page);
	json_uint(&j, "pages", img->pages);
	json_uint(&j, "threads", o->threads);
	json_uint(&j, "handlers", o->handlers);
	json_uint(&j, "seed", o->seed);
	json_double(&j, "image_seconds", image_s);
	json_begin_array(&j, "engines");
	for (int i = 0; i < n; i++) {
		const struct demo_result *r = &res[i];
		json_begin_object(&j, NULL);
		json_string(&j, "engine", uf_engine_name(r->engine));
		if (!r->ran) {
			json_string(&j, "status", "skipped");
			json_string(&j, "why", r->why);
			json_end_object(&j);
			continue;
		}
		json_string(&j, "status", r->failed ? "failed" : "ran");
		json_string(&j, "why", r->failed ? r->why : NULL);
		json_string(&j, "served_by", uf_engine_name(r->kind));
		json_string(&j, "via", via_short(r->via));
		json_uint(&j, "faults", r->faults);
		json_uint(&j, "pages", r->pages);
		json_begin_object(&j, "latency_us");
		json_double(&j, "p50", r->p50_us);
		json_double(&j, "p99", r->p99_us);
		json_double(&j, "max", r->max_us);
		json_end_object(&j);
		json_double(&j, "pages_per_second", r->pages_per_s);
		json_double(&j, "wall_seconds", r->touch_s);
		json_double(&j, "verify_seconds", r->verify_s);
		json_uint(&j, "eexist", r->eexist);
		json_uint(&j, "eagain", r->eagain);
		json_bool(&j, "verified", r->verified && !r->failed);
		json_uint(&j, "bad_pages", r->bad_pages);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_int(&j, "exit", rc);
	json_end_object(&j);
	json_finish(&j);
}

int cmd_demo(int argc, char **argv)
{
	struct demo_opts o = { .size_mib = 256, .threads = 4, .handlers = 1, .seed = 1 };
	int sel = SEL_ALL;
	int p = parse(argc, argv, &o, &sel);
	if (p)
		return p > 0 ? CLI_OK : CLI_USAGE;

	int engines[2], n = 0;
	switch (sel) {
	case SEL_ALL: engines[n++] = UF_ENGINE_KERNEL; engines[n++] = UF_ENGINE_USER; break;
	case SEL_AUTO: engines[n++] = UF_ENGINE_AUTO; break;
	case SEL_KERNEL: engines[n++] = UF_ENGINE_KERNEL; break;
	case SEL_USER: engines[n++] = UF_ENGINE_USER; break;
	}

	/* Before the image exists: the check forks. */
	int kill_sig = sel == SEL_USER ? 0 : userfaultfd_kills();

	size_t size = (size_t)o.size_mib << 20;
	if (check_memory(size) < 0)
		return CLI_FAILED;
	struct demo_image img;
	double image_s;
	if (build_image(&img, size, o.seed, &image_s) < 0)
		return CLI_FAILED;

	struct demo_result res[2];
	int ran = 0, bad = 0;
	for (int i = 0; i < n; i++) {
		if (engines[i] != UF_ENGINE_USER && kill_sig) {
			/* uf_open() would try userfaultfd(2) and die with us. */
			memset(&res[i], 0, sizeof(res[i]));
			res[i].engine = engines[i];
			snprintf(res[i].why, sizeof(res[i].why),
				 "userfaultfd(2) kills the process here (seccomp, %s)", strsignal(kill_sig));
			continue;
		}
		demo_run(&o, &img, engines[i], &res[i]);
		ran += res[i].ran;
		bad += res[i].ran && (res[i].failed || !res[i].verified);
	}
	munmap((void *)img.data, img.size);

	int rc = bad ? CLI_FAILED : ran ? CLI_OK : CLI_UNUSABLE;
	if (o.json)
		print_json(&o, &img, image_s, res, n, rc);
	else
		print_table(&o, &img, image_s, res, n);
	if (rc == CLI_UNUSABLE)
		fprintf(stderr, "userfault demo: no usable engine (see 'userfault probe')\n");
	return rc;
}
