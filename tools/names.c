/* SPDX-License-Identifier: MIT */
/*
 * names.c - names for the numbers the kernel hands back: errnos, feature
 * bits, ioctl numbers, register modes.
 *
 * The probe's audience reads "EPERM" in a bug report faster than
 * "Operation not permitted", and can search for it: names come first.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

const char *errno_name(int err)
{
	static _Thread_local char unknown[16];

	if (err < 0)
		err = -err;
	if (err == 0)
		return "OK";
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
	const char *s = strerrorname_np(err);
	if (s)
		return s;
#else
	/* Other libcs: the errnos userfaultfd and its neighbours give. */
	static const struct { int err; const char *name; } known[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" }, { EINTR, "EINTR" },
		{ EIO, "EIO" }, { ENXIO, "ENXIO" }, { EBADF, "EBADF" }, { EAGAIN, "EAGAIN" },
		{ ENOMEM, "ENOMEM" }, { EACCES, "EACCES" }, { EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },
		{ EEXIST, "EEXIST" }, { ENODEV, "ENODEV" }, { EINVAL, "EINVAL" }, { ENFILE, "ENFILE" },
		{ EMFILE, "EMFILE" }, { ENOTTY, "ENOTTY" }, { ENOSPC, "ENOSPC" }, { EROFS, "EROFS" },
		{ ENOSYS, "ENOSYS" }, { EOPNOTSUPP, "EOPNOTSUPP" },
	};
	for (size_t i = 0; i < CLI_ARRAY_SIZE(known); i++)
		if (known[i].err == err)
			return known[i].name;
#endif
	snprintf(unknown, sizeof(unknown), "E%d", err);
	return unknown;
}

/* Indexed by bit number; spelled as in the uAPI without UFFD_FEATURE_. */
static const char *const features[] = {
	"PAGEFAULT_FLAG_WP", "EVENT_FORK", "EVENT_REMAP", "EVENT_REMOVE",
	"MISSING_HUGETLBFS", "MISSING_SHMEM", "EVENT_UNMAP", "SIGBUS",
	"THREAD_ID", "MINOR_HUGETLBFS", "MINOR_SHMEM", "EXACT_ADDRESS",
	"WP_HUGETLBFS_SHMEM", "WP_UNPOPULATED", "POISON", "WP_ASYNC",
	"MOVE",
};

const char *feature_name(unsigned bit)
{
	return bit < CLI_ARRAY_SIZE(features) ? features[bit] : NULL;
}

unsigned feature_bits(void)
{
	return (unsigned)CLI_ARRAY_SIZE(features);
}

const char *ioctl_name(unsigned nr)
{
	switch (nr) {
	case _UFFDIO_REGISTER: return "REGISTER";
	case _UFFDIO_UNREGISTER: return "UNREGISTER";
	case _UFFDIO_WAKE: return "WAKE";
	case _UFFDIO_COPY: return "COPY";
	case _UFFDIO_ZEROPAGE: return "ZEROPAGE";
	case _UFFDIO_MOVE: return "MOVE";
	case _UFFDIO_WRITEPROTECT: return "WRITEPROTECT";
	case _UFFDIO_CONTINUE: return "CONTINUE";
	case _UFFDIO_POISON: return "POISON";
	case _UFFDIO_API: return "API";
	default: return NULL;
	}
}

/* Append " word" (no leading space when buf is empty), truncating safely. */
static void append(char *buf, size_t len, const char *sep, const char *word)
{
	size_t used = strlen(buf);
	if (used < len)
		snprintf(buf + used, len - used, "%s%s", used ? sep : "", word);
}

const char *ioctl_bit_name(unsigned nr, char other[16])
{
	const char *n = ioctl_name(nr);
	if (n)
		return n;
	snprintf(other, 16, "bit%u", nr);
	return other;
}

void ioctl_mask_names(uint64_t mask, char *buf, size_t len)
{
	if (!len)
		return;
	buf[0] = '\0';
	for (unsigned nr = 0; nr < 64; nr++) {
		char other[16];
		if (mask & ((uint64_t)1 << nr))
			append(buf, len, " ", ioctl_bit_name(nr, other));
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

void register_mode_names(uint64_t mode, char *buf, size_t len)
{
	static const char *const modes[] = { "MISSING", "WP", "MINOR" };
	if (!len)
		return;
	buf[0] = '\0';
	for (unsigned b = 0; b < 64; b++) {
		if (!(mode & ((uint64_t)1 << b)))
			continue;
		char other[16];
		const char *n = b < CLI_ARRAY_SIZE(modes) ? modes[b] : other;
		if (b >= CLI_ARRAY_SIZE(modes))
			snprintf(other, sizeof(other), "bit%u", b);
		append(buf, len, "|", n);
	}
	if (!buf[0])
		snprintf(buf, len, "0");
}
