/* SPDX-License-Identifier: MIT */
/*
 * run.c - `userfault run`: start a program with the preload shim, so that
 * its userfaultfd calls are served by the engine asked for.
 *
 * It finds libuserfault-preload.so (next to this binary in a build tree,
 * in ../lib next to an installed binary, or in the LIBDIR it was built
 * for), adds it to LD_PRELOAD (after what is there), sets
 * USERFAULT_ENGINE, checks that the engine can serve here, and execs the
 * program, whose exit status becomes the command's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

#ifndef UF_LIBDIR
#define UF_LIBDIR "/usr/local/lib"
#endif
#define PRELOAD_NAME "libuserfault-preload.so"

/* Exit codes of a failed exec, as env(1) and the shells use them. */
enum { RUN_CANNOT_EXEC = 126, RUN_NOT_FOUND = 127 };

static void help(void)
{
	printf("usage: userfault run [--engine=auto|kernel|user] [--] PROGRAM [ARGS...]\n"
	       "\n"
	       "Run PROGRAM with libuserfault-preload.so, so that its userfaultfd calls\n"
	       "(userfaultfd(2) through syscall(), /dev/userfaultfd, ioctl, read, poll...)\n"
	       "are served by the engine chosen:\n"
	       "  auto     the kernel's userfaultfd where it works, else the user engine\n"
	       "           (default; e.g. in a container whose seccomp profile refuses it)\n"
	       "  kernel   the kernel's userfaultfd, untouched\n"
	       "  user     userfault's user-space engine for every context\n"
	       "\n"
	       "The library is looked for next to this command, in ../lib from it, then in\n"
	       "%s; it is added to LD_PRELOAD (after any libraries already there) and\n"
	       "USERFAULT_ENGINE is set, so programs PROGRAM starts inherit both.\n"
	       "\n"
	       "options:\n"
	       "  --engine=E  auto, kernel or user (default auto)\n"
	       "  --help      this text\n"
	       "\n"
	       "exit status: PROGRAM's own; or 1 (the preload library is missing),\n"
	       "2 (usage error), 3 (the engine asked for cannot serve here: the reason\n"
	       "is printed), 126 (PROGRAM cannot be executed), 127 (PROGRAM not found).\n",
	       UF_LIBDIR);
}

static int readable(const char *path)
{
	return access(path, R_OK) == 0;
}

/* dir + "/" + sub + PRELOAD_NAME into buf, if it fits and is readable. */
static int candidate(char *buf, size_t len, const char *dir, const char *sub)
{
	int n = snprintf(buf, len, "%s/%s%s", dir, sub, PRELOAD_NAME);
	return n > 0 && (size_t)n < len && readable(buf);
}

/* The preload library's absolute path into buf (PATH_MAX bytes); 0, or -1
 * if it is nowhere. */
static int find_preload(char *buf)
{
	char exe[PATH_MAX], tmp[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (candidate(tmp, sizeof(tmp), exe, "") ||
			    candidate(tmp, sizeof(tmp), exe, "../lib/"))
				return realpath(tmp, buf) ? 0 : -1;
		}
	}
	return candidate(tmp, sizeof(tmp), UF_LIBDIR, "") && realpath(tmp, buf) ? 0 : -1;
}

/* Can the engine serve here?  0, or CLI_UNUSABLE after saying why. */
static int check_engine(int engine)
{
	char why[256] = "";
	if (engine != UF_ENGINE_USER) {
		/* A seccomp filter that kills on userfaultfd(2) would kill the
		 * program at its first call: say so instead. */
		int sig = userfaultfd_kills();
		if (sig && engine == UF_ENGINE_KERNEL) {
			fprintf(stderr, "userfault run: userfaultfd(2) is killed here by signal %d "
				"(a seccomp filter); try --engine=user\n", sig);
			return CLI_UNUSABLE;
		}
		if (!sig) {
			struct uf_open_opts o = UF_OPEN_OPTS_INIT;
			o.engine = UF_ENGINE_KERNEL;
			o.no_fallback = UF_FALLBACK_USER_MODE_ONLY;
			o.why = why;
			o.why_len = sizeof(why);
			int fd = uf_open(O_CLOEXEC, &o);
			if (fd >= 0) {
				uf_close(fd);
				return 0;
			}
			if (engine == UF_ENGINE_KERNEL) {
				fprintf(stderr, "userfault run: the kernel's userfaultfd is not usable "
					"here: %s\n", why);
				return CLI_UNUSABLE;
			}
		}
		/* auto: the shim falls back to the user engine, which must work. */
	}
	struct uf_open_opts o = UF_OPEN_OPTS_INIT;
	o.engine = UF_ENGINE_USER;
	o.why = why;
	o.why_len = sizeof(why);
	int fd = uf_open(O_CLOEXEC, &o);
	if (fd < 0) {
		fprintf(stderr, "userfault run: %s engine: %s\n",
			engine == UF_ENGINE_USER ? "the user" : "neither the kernel's nor the user", why);
		return CLI_UNUSABLE;
	}
	uf_close(fd);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	int engine = UF_ENGINE_AUTO;
	int i = 1;
	for (; i < argc; i++) {
		const char *v;
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (argv[i][0] != '-')
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			help();
			return CLI_OK;
		}
		int m = arg_value("run", argc, argv, &i, "--engine", &v);
		if (m < 0)
			return CLI_USAGE;
		if (m == 0)
			return usage_error("run", "unknown option '%s'", argv[i]);
		if (strcmp(v, "auto") == 0)
			engine = UF_ENGINE_AUTO;
		else if (strcmp(v, "kernel") == 0)
			engine = UF_ENGINE_KERNEL;
		else if (strcmp(v, "user") == 0)
			engine = UF_ENGINE_USER;
		else
			return usage_error("run", "--engine: '%s' is not auto, kernel or user", v);
	}
	if (i >= argc)
		return usage_error("run", "no program given");

	char lib[PATH_MAX];
	if (find_preload(lib) < 0) {
		fprintf(stderr, "userfault run: %s not found next to this command, in ../lib, "
			"or in %s\n", PRELOAD_NAME, UF_LIBDIR);
		return CLI_FAILED;
	}
	int rc = check_engine(engine);
	if (rc)
		return rc;

	const char *old = getenv("LD_PRELOAD");
	size_t len = strlen(lib) + (old ? strlen(old) + 1 : 0) + 1;
	char *preload = malloc(len);
	if (!preload) {
		fprintf(stderr, "userfault run: out of memory\n");
		return CLI_FAILED;
	}
	snprintf(preload, len, "%s%s%s", old && *old ? old : "", old && *old ? ":" : "", lib);
	if (setenv("LD_PRELOAD", preload, 1) < 0 ||
	    setenv("USERFAULT_ENGINE", uf_engine_name(engine), 1) < 0) {
		fprintf(stderr, "userfault run: setenv: %s\n", strerror(errno));
		return CLI_FAILED;
	}
	fflush(stdout);
	execvp(argv[i], argv + i);
	int err = errno;
	fprintf(stderr, "userfault run: %s: %s\n", argv[i], strerror(err));
	return err == ENOENT ? RUN_NOT_FOUND : RUN_CANNOT_EXEC;
}
