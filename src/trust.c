/* SPDX-License-Identifier: MIT */
/*
 * trust.c - which ioctl argument the library built itself (see
 * uf__trust_push() in internal.h).
 *
 * The typed helpers pass a struct on their own stack: checking that pointer
 * as a caller's would be (process_vm_readv/writev on the user engine) costs
 * more than a whole kernel fault.  The range lives on the helper's stack and
 * this thread points at it; every change is one store of that pointer, so a
 * signal handler that calls a helper on the same thread pushes and pops its
 * own range inside ours.  Async-signal-safe.
 */
#include <stdatomic.h>
#include <stdint.h>
#include "internal.h"

static __thread const struct uf__trust *top __attribute__((tls_model("initial-exec")));

void uf__trust_push(struct uf__trust *t, const void *p, size_t len)
{
	t->p = p;
	t->len = len;
	t->prev = top;
	/* The fields are written before a handler on this thread can see t. */
	atomic_signal_fence(memory_order_seq_cst);
	top = t;
	atomic_signal_fence(memory_order_seq_cst);
}

void uf__trust_pop(const struct uf__trust *t)
{
	atomic_signal_fence(memory_order_seq_cst);
	top = t->prev;
	atomic_signal_fence(memory_order_seq_cst);
}

int uf__trusted(const void *p, size_t len)
{
	/* Every range still pushed is on a frame that is still live. */
	for (const struct uf__trust *t = top; t; t = t->prev) {
		uintptr_t a = (uintptr_t)p, s = (uintptr_t)t->p;
		if (a >= s && len <= t->len && a - s <= t->len - len)
			return 1;
	}
	return 0;
}
