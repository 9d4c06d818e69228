/* SPDX-License-Identifier: MIT */
/*
 * json.c - a small streaming JSON writer, indented for people and valid for
 * parsers.
 *
 * Streaming keeps the commands free of a document model: they write fields
 * in the order they compute them.  Strings are escaped fully because the
 * probe copies kernel- and libc-provided text (strerror, reasons) into them.
 */
#include <math.h>
#include "cli.h"

void json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->need_comma = 0;
}

static void put_escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Separator, newline, indentation and "key": before a value. */
static void lead(struct json *j, const char *key)
{
	if (j->need_comma)
		fputc(',', j->f);
	if (j->depth > 0) {
		fputc('\n', j->f);
		for (int i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	if (key) {
		put_escaped(j->f, key);
		fputs(": ", j->f);
	}
	j->need_comma = 1;
}

static void open_(struct json *j, const char *key, char c)
{
	lead(j, key);
	fputc(c, j->f);
	j->depth++;
	j->need_comma = 0;
}

static void close_(struct json *j, char c)
{
	int empty = !j->need_comma;
	j->depth--;
	if (!empty) {
		fputc('\n', j->f);
		for (int i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	fputc(c, j->f);
	j->need_comma = 1;
}

void json_begin_object(struct json *j, const char *key) { open_(j, key, '{'); }
void json_end_object(struct json *j) { close_(j, '}'); }
void json_begin_array(struct json *j, const char *key) { open_(j, key, '['); }
void json_end_array(struct json *j) { close_(j, ']'); }

void json_string(struct json *j, const char *key, const char *s)
{
	lead(j, key);
	if (s)
		put_escaped(j->f, s);
	else
		fputs("null", j->f);
}

void json_int(struct json *j, const char *key, long long v)
{
	lead(j, key);
	fprintf(j->f, "%lld", v);
}

void json_uint(struct json *j, const char *key, unsigned long long v)
{
	lead(j, key);
	fprintf(j->f, "%llu", v);
}

void json_double(struct json *j, const char *key, double v)
{
	lead(j, key);
	/* NaN and infinities are not JSON. */
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

void json_bool(struct json *j, const char *key, int v)
{
	lead(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	lead(j, key);
	fputs("null", j->f);
}

void json_hex(struct json *j, const char *key, unsigned long long v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%llx", v);
	json_string(j, key, buf);
}

void json_finish(struct json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}
