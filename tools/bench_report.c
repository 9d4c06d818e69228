/* SPDX-License-Identifier: MIT */
/*
 * bench_report.c - the bench's table and JSON document, both rendered from
 * the same results so they cannot disagree.
 *
 * The table has one line per row and engine: a row an engine cannot run
 * says "n/a: why" in place of its numbers, never a made-up value.  An
 * engine that cannot be opened at all is said once, above the table.
 */
#include <string.h>
#include "bench.h"
#include "probe.h"

#define LABEL_W 44

const char *bench_status_name(int st)
{
	switch (st) {
	case ST_OK: return "ok";
	case ST_NA: return "n/a";
	case ST_FAILED: return "failed";
	case ST_UNAVAILABLE: return "unavailable";
	default: return "not run";
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

double bench_ratio(const struct bench_row *row)
{
	const struct bench_cell *k = &row->cell[0], *u = &row->cell[1];
	if (k->status != ST_OK || u->status != ST_OK || k->st.median_us <= 0)
		return 0;
	return u->st.median_us / k->st.median_us;
}

/* Microseconds with the precision their size deserves. */
static const char *us(double v, char buf[24])
{
	if (v < 1)
		snprintf(buf, 24, "%.3f", v);
	else if (v < 10)
		snprintf(buf, 24, "%.2f", v);
	else if (v < 1000)
		snprintf(buf, 24, "%.1f", v);
	else
		snprintf(buf, 24, "%.0f", v);
	return buf;
}

/* A rate with thousands separators. */
static const char *rate(double v, char buf[32])
{
	char digits[32];
	snprintf(digits, sizeof(digits), "%.0f", v < 0 ? 0 : v);
	size_t n = strlen(digits), o = 0;
	for (size_t i = 0; i < n && o < 30; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static void print_floor(const struct bench_run *r, FILE *f)
{
	char a[24], b[24], c[32];
	fprintf(f, "%-*s %9s %9s %12s\n", LABEL_W, "floor (same run, no engine)", "median", "p99", "ops/s");
	for (size_t i = 0; i < r->nfloor; i++) {
		const struct bench_floor_row *x = &r->floor[i];
		if (x->status != ST_OK) {
			fprintf(f, "%-*s %s: %s\n", LABEL_W, x->label, bench_status_name(x->status), x->why);
			continue;
		}
		fprintf(f, "%-*s %9s %9s %12s\n", LABEL_W, x->label, us(x->st.median_us, a),
			us(x->st.p99_us, b), rate(x->st.per_s, c));
	}
}

static void print_cell(FILE *f, const char *label, const char *engine, const struct bench_cell *c,
		       const char *ratio)
{
	char a[24], b[24], d[32];
	fprintf(f, "%-*s %-7s", LABEL_W, label, engine);
	if (c->status == ST_OK)
		fprintf(f, " %9s %9s %11s%s%s%s\n", us(c->st.median_us, a), us(c->st.p99_us, b),
			rate(c->st.per_s, d), c->capped ? "*" : "", *ratio ? (c->capped ? " " : "  ") : "",
			ratio);
	else if (c->status == ST_FAILED)
		fprintf(f, " FAILED: %s\n", c->why);
	else
		fprintf(f, " %s: %s\n", bench_status_name(c->status), c->why);
}

void bench_print_table(const struct bench_run *r, FILE *f)
{
	const struct bench_opts *o = r->o;
	const struct bench_env *env = r->env;
	int shown[BENCH_NENGINES], any = 0;

	fprintf(f, "userfault bench: libuserfault %s, %s, %d CPU%s, pinned rows on CPU %d\n",
		uf_version_string(), env->kernel, env->ncpus, env->ncpus == 1 ? "" : "s", env->pin_cpu);
	fprintf(f, "%s run: %llu faults per row (%llu for 64K rows); the first 5%% of each thread's "
		"faults (at most 100) are warm-up\n", o->quick ? "quick" : "full",
		(unsigned long long)o->faults, (unsigned long long)o->faults_big);
	fprintf(f, "times in microseconds: one access, from just before it to just after it;\n"
		"per second: measured faults (or operations) over their wall time\n\n");
	for (int e = 0; e < BENCH_NENGINES; e++) {
		const struct bench_engine *x = &r->eng[e];
		shown[e] = x->selected && x->available;
		any |= shown[e];
		if (!x->selected)
			fprintf(f, "engine %-7s not selected (--engine)\n", uf_engine_name(x->kind));
		else if (x->available)
			fprintf(f, "engine %-7s available, via %s\n", uf_engine_name(x->kind),
				probe_via_name(x->via));
		else
			fprintf(f, "engine %-7s unavailable: %s\n", uf_engine_name(x->kind), x->why);
	}
	fprintf(f, "\n");
	print_floor(r, f);
	fprintf(f, "\n");
	if (!any) {
		fprintf(f, "no engine available: only the floor was measured\n");
		return;
	}
	fprintf(f, "%-*s %-7s %9s %9s %11s%s\n", LABEL_W, "workload", "engine", "median", "p99",
		"faults/s", shown[0] && shown[1] ? "  user/kernel" : "");
	for (size_t i = 0; i < r->nrows; i++) {
		const struct bench_row *row = &r->rows[i];
		const char *label = row->def.label;
		for (int e = 0; e < BENCH_NENGINES; e++) {
			if (!shown[e])
				continue;
			char ratio[32] = "";
			double x = bench_ratio(row);
			if (e == 1 && x > 0)
				snprintf(ratio, sizeof(ratio), "%.2fx", x);
			print_cell(f, label, uf_engine_name(r->eng[e].kind), &row->cell[e], ratio);
			label = "";
		}
	}
	int capped = 0;
	for (size_t i = 0; i < r->nrows; i++)
		for (int e = 0; e < BENCH_NENGINES; e++)
			capped |= r->rows[i].cell[e].status == ST_OK && r->rows[i].cell[e].capped;
	if (shown[0] && shown[1])
		fprintf(f, "\nuser/kernel: the user engine's median over the kernel's (above 1: slower)\n");
	if (capped)
		fprintf(f, "%s*: stopped after %u s, before every fault asked for was made\n",
			shown[0] && shown[1] ? "" : "\n", o->cell_s);
	fprintf(f, "\nfloor: memcpy and the system call are batch means; a ping-pong is one round "
		"trip (two wake-ups)\n");
	fprintf(f, "ran in %.1f s\n", r->seconds);
}

static void json_stats(struct json *j, const struct bench_stats *st, const char *rate_key)
{
	json_uint(j, "samples", st->n);
	json_double(j, "median_us", st->median_us);
	json_double(j, "p99_us", st->p99_us);
	json_double(j, "max_us", st->max_us);
	json_double(j, "mean_us", st->mean_us);
	json_double(j, rate_key, st->per_s);
}

void bench_print_json(const struct bench_run *r, FILE *f)
{
	const struct bench_opts *o = r->o;
	const struct bench_env *env = r->env;
	struct json j;

	json_init(&j, f);
	json_begin_object(&j, NULL);
	json_string(&j, "library", uf_version_string());
	json_string(&j, "kernel", env->kernel);
	json_int(&j, "cpus", env->ncpus);
	json_int(&j, "pin_cpu", env->pin_cpu);
	json_bool(&j, "quick", o->quick);
	json_uint(&j, "faults_per_row", o->faults);
	json_uint(&j, "faults_per_64k_row", o->faults_big);
	json_uint(&j, "threads", o->threads);
	json_uint(&j, "seed", o->seed);
	json_uint(&j, "row_seconds_max", o->cell_s);
	json_double(&j, "seconds", r->seconds);

	json_begin_array(&j, "engines");
	for (int e = 0; e < BENCH_NENGINES; e++) {
		const struct bench_engine *x = &r->eng[e];
		json_begin_object(&j, NULL);
		json_string(&j, "engine", uf_engine_name(x->kind));
		json_bool(&j, "selected", x->selected);
		json_bool(&j, "available", x->selected && x->available);
		if (x->selected && x->available) {
			json_string(&j, "via", via_key(x->via));
			json_hex(&j, "features", x->features);
			json_hex(&j, "ioctls", x->ioctls);
			json_null(&j, "why");
		} else {
			json_string(&j, "why", x->selected ? x->why : "not selected");
		}
		json_end_object(&j);
	}
	json_end_array(&j);

	json_begin_array(&j, "floor");
	for (size_t i = 0; i < r->nfloor; i++) {
		const struct bench_floor_row *x = &r->floor[i];
		json_begin_object(&j, NULL);
		json_string(&j, "name", x->name);
		json_string(&j, "label", x->label);
		json_string(&j, "status", bench_status_name(x->status));
		if (x->status == ST_OK)
			json_stats(&j, &x->st, "ops_per_second");
		else
			json_string(&j, "why", x->why);
		json_end_object(&j);
	}
	json_end_array(&j);

	json_begin_array(&j, "rows");
	for (size_t i = 0; i < r->nrows; i++) {
		const struct bench_row *row = &r->rows[i];
		const struct bench_row_def *d = &row->def;
		json_begin_object(&j, NULL);
		json_string(&j, "name", d->name);
		json_string(&j, "label", d->label);
		json_string(&j, "op", bench_op_name(d->op));
		json_string(&j, "mode", bench_mode_name(d->mode));
		json_uint(&j, "faulting_threads", d->faulters);
		json_uint(&j, "handler_threads", d->handlers);
		json_uint(&j, "bytes_per_fault", d->block);
		json_string(&j, "order", d->random ? "random" : "sequential");
		json_bool(&j, "pinned", d->pinned == PIN_ONE);
		json_bool(&j, "split", d->pinned == PIN_SPLIT);
		json_begin_object(&j, "engines");
		for (int e = 0; e < BENCH_NENGINES; e++) {
			const struct bench_cell *c = &row->cell[e];
			json_begin_object(&j, uf_engine_name(r->eng[e].kind));
			json_string(&j, "status", bench_status_name(c->status));
			if (c->status == ST_OK) {
				json_stats(&j, &c->st, "faults_per_second");
			} else {
				json_string(&j, "why", c->status == ST_NOT_RUN ? "not selected" : c->why);
			}
			if (c->status == ST_OK || c->status == ST_FAILED) {
				/* What the resolver saw: also the clue when a row fails. */
				json_uint(&j, "faults", c->blocks);
				json_bool(&j, "capped", c->capped);
				json_uint(&j, "messages", c->messages);
				json_uint(&j, "eexist", c->eexist);
				json_uint(&j, "eagain", c->eagain);
				json_uint(&j, "bad_blocks", c->bad_blocks);
			}
			json_end_object(&j);
		}
		json_end_object(&j);
		double x = bench_ratio(row);
		if (x > 0)
			json_double(&j, "user_over_kernel", x);
		else
			json_null(&j, "user_over_kernel");
		json_end_object(&j);
	}
	json_end_array(&j);
	json_string(&j, "svg", o->svg);
	json_int(&j, "exit", r->rc);
	json_end_object(&j);
	json_finish(&j);
}
