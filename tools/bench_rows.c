/* SPDX-License-Identifier: MIT */
/*
 * bench_rows.c - the workloads of `userfault bench`, one row each.
 *
 * Most rows pin every thread to one CPU: that measures what an engine
 * costs.  The unpinned rows measure what a user gets by default on a
 * machine where a wake-up across CPUs is the largest cost of all.  The
 * headline (MISSING + COPY 4 KiB, one handler thread) is run both ways and
 * drawn in the picture.
 */
#include <stdio.h>
#include <string.h>
#include "bench.h"
#include "cli.h"

const char *bench_op_name(int op)
{
	switch (op) {
	case OP_COPY: return "COPY";
	case OP_ZEROPAGE: return "ZEROPAGE";
	case OP_WP: return "WRITEPROTECT";
	case OP_CONTINUE: return "CONTINUE";
	case OP_MOVE: return "MOVE";
	default: return "?";
	}
}

const char *bench_mode_name(int mode)
{
	switch (mode) {
	case MODE_HANDLER: return "handler";
	case MODE_SIGBUS: return "sigbus";
	case MODE_XPROC: return "cross_process";
	default: return "?";
	}
}

static struct bench_row_def row(const char *name, const char *label, int op, int mode,
				unsigned faulters, unsigned handlers, size_t block, int random,
				int pinned)
{
	struct bench_row_def d;
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.label, sizeof(d.label), "%s", label);
	d.op = op;
	d.mode = mode;
	d.faulters = faulters;
	d.handlers = handlers;
	d.block = block;
	d.random = random;
	d.pinned = pinned;
	return d;
}

size_t bench_rows_make(struct bench_row_def *rows, size_t max, unsigned nthreads)
{
	const size_t K4 = 4096, K64 = BENCH_BIG_BLOCK;
	size_t n = 0;

#define ADD(...) do { if (n < max) rows[n++] = row(__VA_ARGS__); } while (0)
	ADD("copy", "MISSING+COPY 4K, handler, pinned", OP_COPY, MODE_HANDLER, 1, 1, K4, 0, 1);
	if (n)
		rows[n - 1].picture = 1;
	ADD("copy-unpinned", "MISSING+COPY 4K, handler, unpinned", OP_COPY, MODE_HANDLER, 1, 1, K4, 0, 0);
	if (n)
		rows[n - 1].picture = 2;
	ADD("copy-split", "MISSING+COPY 4K, handler on another CPU", OP_COPY, MODE_HANDLER, 1, 1, K4, 0,
	    PIN_SPLIT);
	ADD("copy-random", "MISSING+COPY 4K, random order, pinned", OP_COPY, MODE_HANDLER, 1, 1, K4, 1, 1);
	ADD("zeropage", "MISSING+ZEROPAGE (read), pinned", OP_ZEROPAGE, MODE_HANDLER, 1, 1, K4, 0, 1);
	ADD("wp", "WP fault+WRITEPROTECT clear, pinned", OP_WP, MODE_HANDLER, 1, 1, K4, 0, 1);
	ADD("minor", "MINOR+CONTINUE (memfd), pinned", OP_CONTINUE, MODE_HANDLER, 1, 1, K4, 0, 1);
	ADD("move", "MISSING+MOVE 4K, pinned", OP_MOVE, MODE_HANDLER, 1, 1, K4, 0, 1);
	ADD("copy-64k", "MISSING+COPY 64K/fault, pinned", OP_COPY, MODE_HANDLER, 1, 1, K64, 0, 1);
	ADD("copy-64k-random", "MISSING+COPY 64K/fault, random, pinned", OP_COPY, MODE_HANDLER, 1, 1, K64,
	    1, 1);
	ADD("sigbus", "SIGBUS in-thread COPY 4K", OP_COPY, MODE_SIGBUS, 1, 0, K4, 0, 1);
	ADD("sigbus-64k", "SIGBUS in-thread COPY 64K/fault", OP_COPY, MODE_SIGBUS, 1, 0, K64, 0, 1);
	/* hugetlb: the whole huge page per fault (2 MiB where that is the
	 * default size; the label says 2M for it). */
	size_t hp = hugetlb_page_size() ? hugetlb_page_size() : (size_t)2 << 20;
	ADD("copy-huge", "MISSING+COPY 2M hugetlb private, pinned", OP_COPY, MODE_HANDLER, 1, 1, hp, 0, 1);
	if (n)
		rows[n - 1].huge = HUGE_PRIVATE;
	ADD("copy-huge-shared", "MISSING+COPY 2M hugetlb shared, pinned", OP_COPY, MODE_HANDLER, 1, 1, hp,
	    0, 1);
	if (n)
		rows[n - 1].huge = HUGE_SHARED;
	ADD("xproc", "cross-process COPY 4K, pinned", OP_COPY, MODE_XPROC, 1, 1, K4, 0, 1);
	ADD("xproc-unpinned", "cross-process COPY 4K, unpinned", OP_COPY, MODE_XPROC, 1, 1, K4, 0, 0);

	/* Throughput: 1..N faulting threads against 1 and N handler threads,
	 * unpinned (1 x 1 is copy-unpinned above). */
	if (nthreads < 1)
		nthreads = 1;
	for (unsigned t = 1;; t = t * 2 < nthreads ? t * 2 : nthreads) {
		unsigned hs[2] = { 1, nthreads };
		for (int k = 0; k < 2; k++) {
			unsigned h = hs[k];
			if ((t == 1 && h == 1) || (k == 1 && h == 1))
				continue;
			char name[24], label[56];
			snprintf(name, sizeof(name), "tput-%ux%u", t, h);
			snprintf(label, sizeof(label), "COPY 4K, %u faulting, %u handler%s, unpinned", t, h,
				 h == 1 ? "" : "s");
			ADD(name, label, OP_COPY, MODE_HANDLER, t, h, K4, 0, 0);
		}
		if (t == nthreads)
			break;
	}
#undef ADD
	return n;
}
