/* SPDX-License-Identifier: MIT */
/*
 * input.h - reading a fuzzer's input bytes, shared by the fuzz targets.
 * Past the end every read gives 0, so any input is a whole program.
 *
 * Each target keeps its own wider reads (get32/get64): the seed corpora in
 * tests/fuzz/corpus/ decode through them as they are, and a change of how
 * bytes are read would turn each named seed into another input.
 */
#ifndef UF_FUZZ_INPUT_H
#define UF_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct rd {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t get8(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static inline uint16_t get16(struct rd *r)
{
	return (uint16_t)(get8(r) | get8(r) << 8);
}

#endif /* UF_FUZZ_INPUT_H */
