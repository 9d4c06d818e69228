/* SPDX-License-Identifier: MIT */
/*
 * sysinfo.c - small facts read from /proc.
 *
 * Every reader tolerates a missing or unreadable file (containers often mask
 * parts of /proc) and says so with -1 instead of failing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

long long read_long_file(const char *path)
{
	FILE *f = fopen(path, "re");
	long long v = -1;
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

int write_long_file(const char *path, long long v)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	int err = 0;
	if (fprintf(f, "%lld\n", v) < 0)
		err = -errno;
	/* A sysctl reports a refused value at write time, which stdio defers
	 * to the flush in fclose. */
	if (fclose(f) != 0 && !err)
		err = errno ? -errno : -EIO;
	return err;
}

long long meminfo_value(const char *key)
{
	char line[256];
	size_t n = strlen(key);
	long long v = -1;
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			if (sscanf(line + n + 1, "%lld", &v) != 1)
				v = -1;
			break;
		}
	}
	fclose(f);
	return v;
}

int self_status(const char *key, char *buf, size_t len)
{
	char line[512];
	size_t n = strlen(key);
	int found = -1;
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			v += strspn(v, " \t");
			snprintf(buf, len, "%.*s", (int)strcspn(v, "\n"), v);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

long count_mappings(void)
{
	char buf[4096];
	long lines = 0;
	size_t n;
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		for (size_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	fclose(f);
	return lines;
}
