/* SPDX-License-Identifier: MIT */
/*
 * demo.h - what the demo's command (demo.c) and its per-engine run
 * (demo_run.c) share.
 */
#ifndef UF_DEMO_H
#define UF_DEMO_H

#include "cli.h"

struct demo_opts {
	uint64_t size_mib;
	unsigned threads;	/* touching threads */
	unsigned handlers;	/* handler threads */
	uint64_t seed;
	int json;
};

/* The region's expected content, built once and shared by every engine. */
struct demo_image {
	const unsigned char *data;
	size_t size, page, pages;
	uint64_t seed;
};

struct demo_result {
	int engine;		/* asked for: enum uf_engine_kind */
	int kind, via;		/* what uf_open() gave */
	int ran;		/* 0: skipped, why says why */
	int failed;		/* ran but something broke: why says what */
	char why[256];
	unsigned long long faults;	/* messages the handler dispatched */
	unsigned long long eexist, eagain;	/* retries and races seen */
	size_t pages;
	double p50_us, p99_us, max_us;
	double touch_s;		/* first touch to last touch completing */
	double verify_s;
	double pages_per_s;
	size_t bad_pages, first_bad;
	int verified;
};

/* Serve, touch and verify a fresh region on one engine. */
void demo_run(const struct demo_opts *o, const struct demo_image *img, int engine,
	      struct demo_result *r);

#endif /* UF_DEMO_H */
