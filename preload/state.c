/* SPDX-License-Identifier: MIT */
/*
 * state.c - the shim's little state: whether it is in use yet, which
 * engine USERFAULT_ENGINE asks for, and which descriptors are ours.
 *
 * Which descriptors are the user engine's is the library's own descriptor
 * table (src/fdtable.c): uf_open() fills it, the shim adds dups and clears
 * closes.  An entry is a hint, confirmed by the socket's identity before it
 * is acted on (uf__ctx_get), because a descriptor can be closed where the
 * shim does not see it (close_range(2), the C library's internal calls).
 */
#include <stdlib.h>
#include <string.h>
#include "shim.h"

atomic_int uf__shim_active;

void uf__shim_activate(void)
{
	atomic_store(&uf__shim_active, 1);
}

int uf__shim_engine(void)
{
	/* Read once: the program may change its environment later. */
	static atomic_int cached;	/* 0 unknown, else engine + 1, or -1 bad */
	int v = atomic_load(&cached);
	if (v == 0) {
		const char *s = getenv("USERFAULT_ENGINE");
		if (!s || !*s || strcmp(s, "auto") == 0)
			v = UF_ENGINE_AUTO + 1;
		else if (strcmp(s, "kernel") == 0)
			v = UF_ENGINE_KERNEL + 1;
		else if (strcmp(s, "user") == 0)
			v = UF_ENGINE_USER + 1;
		else
			v = -1;
		atomic_store(&cached, v);
	}
	return v < 0 ? -EINVAL : v - 1;
}

struct uf__ctx *uf__shim_ctx(int fd)
{
	if (!uf__shim_on() || uf__fd_engine(fd) != &uf__user_engine)
		return NULL;
	struct uf__ctx *c = uf__ctx_get(fd);
	if (!c) {
		/* Closed behind our back and the number reused, or, in a
		 * forked child, a copy of the parent's descriptor: that one is
		 * served as any other process's (passed.c). */
		if (uf__remote_is_user_fd(fd))
			uf__shim_passed_add(fd);
		uf__fd_clear(fd);
	}
	return c;
}

void uf__shim_track_dup(int from, int to)
{
	struct uf__fdent ent;
	if (to >= 0 && uf__fd_get(from, &ent) == 0 && ent.engine == &uf__user_engine)
		(void)uf__fd_set(to, ent.engine, ent.via, ent.flags);
	uf__shim_passed_dup(from, to);
}

/* Resolve the C library's functions before main(), so that the engine's
 * signal handler never has to (see real.c). */
__attribute__((constructor)) static void shim_init(void)
{
	uf__shim_resolve_all();
	uf__shim_passed_inherited();
}
