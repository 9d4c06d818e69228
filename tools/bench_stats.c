/* SPDX-License-Identifier: MIT */
/*
 * bench_stats.c - clocks, CPU pinning and percentiles for the bench.
 *
 * Percentiles are nearest-rank over every sample: no averaging of
 * averages, no outlier removal, so the p99 shows the wake-ups that went
 * wrong as well.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

double bench_percentile_us(const uint64_t *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t rank = (size_t)(p * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1] / 1000.0;
}

void bench_stats(uint64_t *v, size_t n, uint64_t ops, uint64_t wall_ns, struct bench_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_u64);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
	st->n = n;
	st->median_us = bench_percentile_us(v, n, 0.50);
	st->p99_us = bench_percentile_us(v, n, 0.99);
	st->max_us = (double)v[n - 1] / 1000.0;
	st->mean_us = sum / (double)n / 1000.0;
	if (wall_ns)
		st->per_s = (double)ops * 1e9 / (double)wall_ns;
	else if (sum > 0)
		st->per_s = 1e9 * (double)n / sum;
}

void bench_pin_to(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

void bench_pin(const struct bench_env *env)
{
	bench_pin_to(env->pin_cpu);
}

void bench_unpin(const struct bench_env *env)
{
	(void)sched_setaffinity(0, sizeof(env->all), &env->all);
}

void bench_env_init(struct bench_env *env)
{
	memset(env, 0, sizeof(*env));
	env->page = (size_t)sysconf(_SC_PAGESIZE);
	if (sched_getaffinity(0, sizeof(env->all), &env->all) != 0) {
		CPU_ZERO(&env->all);
		CPU_SET(0, &env->all);
	}
	env->ncpus = CPU_COUNT(&env->all);
	env->pin_cpu = -1;
	env->other_cpu = -1;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &env->all))
			continue;
		if (env->pin_cpu < 0)
			env->pin_cpu = c;
		else if (env->other_cpu < 0)
			env->other_cpu = c;
	}
	if (env->pin_cpu < 0)
		env->pin_cpu = 0;
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(env->kernel, sizeof(env->kernel), "%s %s %s", u.sysname, u.release, u.machine);
}
