/* SPDX-License-Identifier: MIT */
/*
 * prng.c - the demo's deterministic content: splitmix64 used as a
 * counter-based generator.
 *
 * Counter-based (value i is a pure function of seed and i) so that any page
 * can be regenerated on its own, by any thread, in any order, and a run is
 * reproducible from --seed alone.
 */
#include "cli.h"

#define GOLDEN_GAMMA 0x9e3779b97f4a7c15ULL

uint64_t prng_at(uint64_t seed, uint64_t i)
{
	uint64_t z = seed + (i + 1) * GOLDEN_GAMMA;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void prng_fill_page(void *page, size_t page_size, uint64_t seed, uint64_t index)
{
	uint64_t *w = page;
	size_t n = page_size / sizeof(*w);
	uint64_t base = index * n;
	for (size_t k = 0; k < n; k++)
		w[k] = prng_at(seed, base + k);
}

void prng_shuffle(uint32_t *v, size_t n, uint64_t seed)
{
	/* A stream apart from the content's, so order and content are
	 * independent for one seed. */
	uint64_t s = prng_at(seed, ~0ULL);
	for (size_t i = n; i > 1; i--) {
		/* Multiply-shift maps 64 random bits to [0, i) with negligible
		 * bias and no division. */
		uint64_t r = prng_at(s, i);
		size_t j = (size_t)(((unsigned __int128)r * i) >> 64);
		uint32_t t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}
