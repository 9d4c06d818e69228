/* SPDX-License-Identifier: MIT */
/*
 * args.c - option parsing shared by the commands.
 *
 * Hand-written rather than getopt_long: every error must be one line naming
 * the command and end in exit code 2, and values must be range-checked with
 * the option's name in the message.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "userfault%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "\ntry 'userfault %s --help'\n", cmd);
	else
		fprintf(stderr, "\ntry 'userfault --help'\n");
	return CLI_USAGE;
}

int arg_value(const char *cmd, int argc, char **argv, int *i, const char *name, const char **value)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*value = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;		/* "--sizes" is another option */
	if (*i + 1 >= argc) {
		usage_error(cmd, "option '%s' needs a value", name);
		return -1;
	}
	*value = argv[++*i];
	return 1;
}

int arg_u64(const char *cmd, const char *opt, const char *text, uint64_t min, uint64_t max,
	    uint64_t *out)
{
	char *end;

	/* strtoull accepts "-1" as a huge number: refuse signs outright. */
	if (!*text || strchr(text, '-') || strchr(text, '+') || strchr(text, ' ')) {
		usage_error(cmd, "%s: '%s' is not a number", opt, text);
		return -1;
	}
	errno = 0;
	/* Base 10 unless "0x": a leading zero must not silently mean octal. */
	int hex = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
	unsigned long long v = strtoull(text, &end, hex ? 16 : 10);
	if (errno || *end) {
		usage_error(cmd, "%s: '%s' is not a number", opt, text);
		return -1;
	}
	if (v < min || v > max) {
		usage_error(cmd, "%s: %llu is out of range (%llu to %llu)", opt, v,
			    (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}
