/* SPDX-License-Identifier: MIT */
/*
 * bench_svg.c - the headline's latency distribution as a hand-written SVG:
 * MISSING + COPY 4 KiB with one handler thread, pinned (solid) and
 * unpinned (dashed), one colour per engine.  Top: the share of faults per
 * latency bin; bottom: the cumulative distribution.  The x axis is
 * logarithmic because the two modes differ by an order of magnitude.
 *
 * An engine with no samples is named in the legend with the reason, so the
 * picture never suggests a comparison that did not happen.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

#define W 820
#define PL 70			/* plot area: left, right edges */
#define PR (W - 30)
#define HIST_T 120		/* histogram panel top, bottom */
#define HIST_B 320
#define CDF_T 372		/* cumulative panel top, bottom */
#define CDF_B 572
#define LEGEND_T (CDF_B + 60)
#define LEGEND_LINE 18
#define H (LEGEND_T + 4 * LEGEND_LINE + 12)
#define BINS_PER_DECADE 24
#define CDF_POINTS 400

static const char *const colour[BENCH_NENGINES] = { "#1f5fbf", "#d0402b" };

struct series {
	const struct bench_cell *c;
	int engine, unpinned;
};

static void put_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

struct axis {
	double lo, hi;		/* log10 of the µs range */
};

static double xpos(const struct axis *a, double v_us)
{
	double l = log10(v_us > 1e-3 ? v_us : 1e-3);
	if (l < a->lo)
		l = a->lo;
	if (l > a->hi)
		l = a->hi;
	return PL + (l - a->lo) / (a->hi - a->lo) * (PR - PL);
}

static void x_grid(FILE *f, const struct axis *a, int top, int bottom, int labels)
{
	for (int d = (int)floor(a->lo); d <= (int)ceil(a->hi); d++) {
		for (int m = 1; m <= 9; m++) {
			double l = d + log10((double)m);
			if (l < a->lo - 1e-9 || l > a->hi + 1e-9)
				continue;
			double x = PL + (l - a->lo) / (a->hi - a->lo) * (PR - PL);
			fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\"/>\n", x, top, x,
				bottom, m == 1 ? "#bbb" : "#eee");
			if (labels && (m == 1 || m == 2 || m == 5)) {
				double v = pow(10, l);
				fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", x,
					bottom + 16, v);
			}
		}
	}
}

static void frame(FILE *f, int top, int bottom, const char *ylabel)
{
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n",
		PL, top, PR - PL, bottom - top);
	fprintf(f, "<text x=\"18\" y=\"%d\" transform=\"rotate(-90 18 %d)\" text-anchor=\"middle\">",
		(top + bottom) / 2, (top + bottom) / 2);
	put_text(f, ylabel);
	fputs("</text>\n", f);
}

static void y_ticks(FILE *f, int top, int bottom, double max, double step, const char *unit)
{
	for (double v = 0; v <= max + 1e-9; v += step) {
		double y = bottom - v / max * (bottom - top);
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>\n", PL, y, PR, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g%s</text>\n", PL - 6, y + 4, v, unit);
	}
}

static void histogram(FILE *f, const struct axis *a, const struct series *s, size_t ns)
{
	int nbins = (int)((a->hi - a->lo) * BINS_PER_DECADE + 0.5);
	double *share = calloc((size_t)nbins * (ns ? ns : 1), sizeof(*share));
	double max = 0;
	if (!share)
		return;
	for (size_t k = 0; k < ns; k++) {
		const struct bench_cell *c = s[k].c;
		for (size_t i = 0; i < c->nsamples; i++) {
			double l = log10((double)c->samples[i] / 1000.0 + 1e-9);
			int b = (int)((l - a->lo) * BINS_PER_DECADE);
			if (b < 0)
				b = 0;
			if (b >= nbins)
				b = nbins - 1;
			share[k * (size_t)nbins + (size_t)b] += 100.0 / (double)c->nsamples;
		}
		for (int b = 0; b < nbins; b++)
			if (share[k * (size_t)nbins + (size_t)b] > max)
				max = share[k * (size_t)nbins + (size_t)b];
	}
	double step = max > 40 ? 20 : max > 20 ? 10 : max > 8 ? 5 : max > 4 ? 2 : 1;
	double top = ceil(max / step) * step;
	if (top <= 0)
		top = 1;
	y_ticks(f, HIST_T, HIST_B, top, step, "%");
	for (size_t k = 0; k < ns; k++) {
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\"%s points=\"",
			colour[s[k].engine], s[k].unpinned ? " stroke-dasharray=\"6 3\"" : "");
		for (int b = 0; b < nbins; b++) {
			double x0 = PL + (double)b / nbins * (PR - PL), x1 = PL + (double)(b + 1) / nbins * (PR - PL);
			double y = HIST_B - share[k * (size_t)nbins + (size_t)b] / top * (HIST_B - HIST_T);
			fprintf(f, "%.1f,%.1f %.1f,%.1f ", x0, y, x1, y);
		}
		fputs("\"/>\n", f);
	}
	free(share);
}

static void cdf(FILE *f, const struct axis *a, const struct series *s, size_t ns)
{
	y_ticks(f, CDF_T, CDF_B, 100, 25, "%");
	for (size_t k = 0; k < ns; k++) {
		const struct bench_cell *c = s[k].c;
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\"%s points=\"",
			colour[s[k].engine], s[k].unpinned ? " stroke-dasharray=\"6 3\"" : "");
		for (int i = 0; i < CDF_POINTS; i++) {
			size_t idx = (size_t)((double)i / (CDF_POINTS - 1) * (double)(c->nsamples - 1));
			double x = xpos(a, (double)c->samples[idx] / 1000.0);
			double y = CDF_B - (double)(idx + 1) / (double)c->nsamples * (CDF_B - CDF_T);
			fprintf(f, "%.1f,%.1f ", x, y);
		}
		fputs("\"/>\n", f);
	}
}

static void legend(FILE *f, const struct bench_run *r, const struct bench_row *pic[2])
{
	int y = LEGEND_T;
	for (int e = 0; e < BENCH_NENGINES; e++) {
		const struct bench_engine *x = &r->eng[e];
		if (!x->selected || !x->available) {
			fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#777\">%s engine: ", PL, y,
				uf_engine_name(x->kind));
			put_text(f, x->selected ? "unavailable: " : "not selected");
			if (x->selected)
				put_text(f, x->why);
			fputs("</text>\n", f);
			y += LEGEND_LINE;
			continue;
		}
		for (int p = 0; p < 2; p++) {
			const struct bench_cell *c = pic[p] ? &pic[p]->cell[e] : NULL;
			fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
				PL, y - 4, PL + 28, y - 4, colour[e], p ? " stroke-dasharray=\"6 3\"" : "");
			fprintf(f, "<text x=\"%d\" y=\"%d\">%s engine, %s: ", PL + 36, y, uf_engine_name(x->kind),
				p ? "unpinned" : "pinned");
			if (c && c->status == ST_OK && c->nsamples)
				fprintf(f, "median %.1f \xc2\xb5s, p99 %.1f \xc2\xb5s, %zu faults", c->st.median_us,
					c->st.p99_us, c->st.n);
			else if (c) {
				put_text(f, bench_status_name(c->status));
				fputs(": ", f);
				put_text(f, c->why);
			} else
				fputs("not run (--rows)", f);
			fputs("</text>\n", f);
			y += LEGEND_LINE;
		}
	}
}

/* The largest 1, 2 or 5 x 10^k at or below v (up: the smallest at or
 * above), as a log10. */
static double nice_log(double v, int up)
{
	double d = floor(log10(v));
	static const double steps[] = { 1, 2, 5, 10 };
	if (up) {
		for (int i = 0; i < 4; i++)
			if (steps[i] * pow(10, d) >= v * (1 - 1e-9))
				return log10(steps[i] * pow(10, d));
		return d + 1;
	}
	for (int i = 3; i >= 0; i--)
		if (steps[i] * pow(10, d) <= v * (1 + 1e-9))
			return log10(steps[i] * pow(10, d));
	return d;
}

int bench_svg_write(const struct bench_run *r, const char *path)
{
	const struct bench_row *pic[2] = { NULL, NULL };
	struct series s[2 * BENCH_NENGINES];
	size_t ns = 0;
	double lo = INFINITY, hi = 0;

	for (size_t i = 0; i < r->nrows; i++)
		if (r->rows[i].def.picture == 1 || r->rows[i].def.picture == 2)
			pic[r->rows[i].def.picture - 1] = &r->rows[i];
	for (int e = 0; e < BENCH_NENGINES; e++) {
		for (int p = 0; p < 2; p++) {
			const struct bench_cell *c = pic[p] ? &pic[p]->cell[e] : NULL;
			if (!c || c->status != ST_OK || !c->nsamples)
				continue;
			s[ns++] = (struct series){ c, e, p };
			double a = bench_percentile_us(c->samples, c->nsamples, 0.001);
			double b = bench_percentile_us(c->samples, c->nsamples, 0.999);
			lo = a < lo ? a : lo;
			hi = b > hi ? b : hi;
		}
	}
	struct axis ax = { 0, 3 };
	if (ns) {
		ax.lo = nice_log(lo > 0.01 ? lo : 0.01, 0);
		ax.hi = nice_log(hi > 0.01 ? hi : 0.01, 1);
		if (ax.hi <= ax.lo + 0.3)
			ax.hi = ax.lo + 1;
	}

	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, H, W, H);
	fprintf(f, "<text x=\"%d\" y=\"28\" font-size=\"16\" font-weight=\"bold\">"
		"MISSING + UFFDIO_COPY 4 KiB: fault latency, one handler thread</text>\n", PL);
	fprintf(f, "<text x=\"%d\" y=\"50\" fill=\"#444\">userfault bench%s, libuserfault %s, ", PL,
		r->o->quick ? " --quick" : "", uf_version_string());
	put_text(f, r->env->kernel);
	fprintf(f, ", %d CPU%s</text>\n", r->env->ncpus, r->env->ncpus == 1 ? "" : "s");
	fprintf(f, "<text x=\"%d\" y=\"68\" fill=\"#444\">solid: the faulting and the handler "
		"thread both on CPU %d; dashed: unpinned (the scheduler places them)</text>\n", PL,
		r->env->pin_cpu);
	fprintf(f, "<text x=\"%d\" y=\"86\" fill=\"#444\">one access as the faulting thread sees "
		"it, from just before to just after; the first 5%% of faults are warm-up</text>\n", PL);

	fprintf(f, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">share of faults per bin "
		"(%d bins per decade)</text>\n", PL, HIST_T - 8, BINS_PER_DECADE);
	x_grid(f, &ax, HIST_T, HIST_B, 1);
	if (ns)
		histogram(f, &ax, s, ns);
	frame(f, HIST_T, HIST_B, "faults");

	fprintf(f, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">cumulative: faults done within x</text>\n",
		PL, CDF_T - 8);
	x_grid(f, &ax, CDF_T, CDF_B, 1);
	if (ns)
		cdf(f, &ax, s, ns);
	frame(f, CDF_T, CDF_B, "faults");
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">\xc2\xb5s per fault "
		"(logarithmic)</text>\n", (PL + PR) / 2, CDF_B + 34);
	if (!ns)
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#777\">no engine produced "
			"samples for this workload</text>\n", (PL + PR) / 2, (HIST_T + HIST_B) / 2);
	legend(f, r, pic);
	fputs("</svg>\n", f);
	int err = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && !err)
		err = -errno;
	return err;
}
