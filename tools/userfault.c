/* SPDX-License-Identifier: MIT */
/*
 * userfault.c - the command's entry: global options and the command table.
 *
 * A new command is one file with one cmd_*() function and one row below;
 * each command parses its own options and prints its own --help.
 */
#include <string.h>
#include "cli.h"
#include "bench.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "probe", cmd_probe, "explain what works here: engines, permissions, features, memory types" },
	{ "demo", cmd_demo, "serve a region's faults lazily from an image on each engine, verify it" },
	{ "run", cmd_run, "run a program with the preload shim on the engine chosen (auto, kernel, user)" },
	{ "bench", cmd_bench, "fault round trips on both engines side by side, against this machine's floor" },
};

static void help(FILE *f)
{
	fprintf(f,
		"usage: userfault [--help] [--version] COMMAND [ARGS]\n"
		"\n"
		"Page faults handled in user space: the kernel's userfaultfd, or userfault's\n"
		"own user-space engine, behind one API (libuserfault %s).\n"
		"\n"
		"commands:\n", uf_version_string());
	for (size_t i = 0; i < CLI_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"  %-8s the same as COMMAND --help\n"
		"\n"
		"'userfault COMMAND --help' describes a command's options.\n"
		"\n"
		"exit status:\n"
		"  0  success\n"
		"  1  the operation ran and failed (e.g. demo verification failed, a bench row failed)\n"
		"  2  usage error (unknown command or option, bad value)\n"
		"  3  nothing usable (e.g. demo found no engine that works here)\n",
		"help CMD");
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < CLI_ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* "userfault help [CMD]": habit from git and friends. */
static int help_command(int argc, char **argv)
{
	if (argc < 2) {
		help(stdout);
		return CLI_OK;
	}
	const struct command *c = find(argv[1]);
	if (!c)
		return usage_error(NULL, "unknown command '%s'", argv[1]);
	char *sub[] = { argv[1], (char *)"--help", NULL };
	return c->run(2, sub);
}

int main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			help(stdout);
			return CLI_OK;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("userfault %d.%d.%d (libuserfault %s)\n", UF_VERSION_MAJOR,
			       UF_VERSION_MINOR, UF_VERSION_PATCH, uf_version_string());
			return CLI_OK;
		}
		return usage_error(NULL, "unknown option '%s'", argv[i]);
	}
	if (i == argc) {
		char names[128] = "";
		for (size_t k = 0; k < CLI_ARRAY_SIZE(commands); k++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 k ? ", " : "", commands[k].name);
		return usage_error(NULL, "no command given (one of: %s)", names);
	}
	if (strcmp(argv[i], "help") == 0)
		return help_command(argc - i, argv + i);
	const struct command *c = find(argv[i]);
	if (!c)
		return usage_error(NULL, "unknown command '%s'", argv[i]);
	int rc = c->run(argc - i, argv + i);
	/* A failed write (full disk, closed pipe) must not pass for success. */
	if (fflush(stdout) != 0 && rc == CLI_OK)
		rc = CLI_FAILED;
	return rc;
}
