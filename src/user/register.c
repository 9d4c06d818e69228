/* SPDX-License-Identifier: MIT */
/*
 * register.c - UFFDIO_REGISTER and UFFDIO_UNREGISTER on the user engine.
 *
 * Registering walks the VMAs of the range the way the kernel does (holes
 * are skipped; the first VMA must exist; every VMA must suit the modes),
 * checks them all before changing anything, then takes over the memory
 * that is not yet the engine's (a map per VMA piece, see uf__map_prepare()),
 * publishes the new segment table, and only then covers the memory, so a
 * fault in it always finds its segment.
 *
 * VMAs are read with the PROCMAP_QUERY ioctl on /proc/self/maps (Linux
 * 6.11; the guard markers the engine needs came in 6.13).
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include "user.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/* The PROCMAP_QUERY ioctl (Linux 6.11); Debian 12's headers lack it. */
struct uf__procmap_query {
	__u64 size, query_flags, query_addr;
	__u64 vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
	__u32 dev_major, dev_minor, vma_name_size, build_id_size;
	__u64 vma_name_addr, build_id_addr;
};
#define UU_PROCMAP_QUERY _IOWR(0x66, 17, struct uf__procmap_query)
#define Q_COVERING_OR_NEXT 0x10
#define Q_READ 0x1
#define Q_WRITE 0x2
#define Q_EXEC 0x4
#define Q_SHARED 0x8

#define MODES (UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP | UFFDIO_REGISTER_MODE_MINOR)

/* ------------------------------------------------------------------------ */
/* Ranges                                                                   */

#if defined(__x86_64__)
#define TASK_SIZE 0x7ffffffff000ULL
#else
#define TASK_SIZE (1ULL << 48)
#endif

static unsigned long mmap_min_addr(void)
{
	static unsigned long v;
	if (!v) {
		unsigned long x = 65536;
		FILE *f = fopen("/proc/sys/vm/mmap_min_addr", "re");
		if (f) {
			if (fscanf(f, "%lu", &x) != 1)
				x = 65536;
			fclose(f);
		}
		v = x ? x : 1;
	}
	return v;
}

int uf__validate_range(__u64 start, __u64 len)
{
	if ((start & 4095) || (len & 4095) || !len)
		return -EINVAL;
	if (start < mmap_min_addr() || start >= TASK_SIZE || len > TASK_SIZE - start)
		return -EINVAL;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* VMAs                                                                     */

struct vma {
	uintptr_t start, end;
	int kind;		/* enum uf__kind, or -1: not a type userfaultfd serves */
	int prot;
	size_t page;
	unsigned long long ino;
	unsigned long long off;	/* file offset of start */
	unsigned dev_major, dev_minor;	/* the file's device */
	int anon_file;		/* MAP_ANONYMOUS hugetlb: the kernel's own file */
};

static int prot_of(__u64 f)
{
	return ((f & Q_READ) ? PROT_READ : 0) | ((f & Q_WRITE) ? PROT_WRITE : 0) |
	       ((f & Q_EXEC) ? PROT_EXEC : 0);
}

/* Is the file behind a mapping shmem (tmpfs, memfd, shared anonymous)? */
static int is_shmem(const char *name, size_t page)
{
	if (!strncmp(name, "/memfd:", 7) || !strncmp(name, "/dev/zero", 9) ||
	    !strncmp(name, "/SYSV", 5))
		return page == 4096;
	struct statfs s;
	char path[4096];
	snprintf(path, sizeof(path), "%s", name);
	char *del = strstr(path, " (deleted)");
	if (del)
		*del = '\0';
	return page == 4096 && statfs(path, &s) == 0 && s.f_type == TMPFS_MAGIC;
}

/* The first VMA ending above addr: 0, or -ENOENT if there is none. */
static int vma_at(int maps, uintptr_t addr, struct vma *v)
{
	char name[4096];
	struct uf__procmap_query q;
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.query_flags = Q_COVERING_OR_NEXT;
	q.query_addr = addr;
	q.vma_name_addr = (uintptr_t)name;
	q.vma_name_size = sizeof(name);
	if (ioctl(maps, UU_PROCMAP_QUERY, &q) < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	if (!q.vma_name_size)
		name[0] = '\0';
	v->start = q.vma_start;
	v->end = q.vma_end;
	v->prot = prot_of(q.vma_flags);
	v->page = q.vma_page_size ? q.vma_page_size : 4096;
	v->ino = q.inode;
	v->off = q.vma_offset;
	v->dev_major = q.dev_major;
	v->dev_minor = q.dev_minor;
	int shared = (q.vma_flags & Q_SHARED) != 0;
	v->kind = -1;
	v->anon_file = 0;
	if (v->page != 4096) {
		v->kind = shared ? UU_HUGETLB : UU_HUGETLB_PRIVATE;
		/* The name hugetlb gives the file behind MAP_ANONYMOUS. */
		v->anon_file = !strcmp(name, "/anon_hugepage (deleted)");
	}
	else if (!q.inode && !shared && (!name[0] || !strcmp(name, "[heap]") ||
					 !strcmp(name, "[stack]") || !strncmp(name, "[anon:", 6)))
		v->kind = UU_ANON;
	else if (q.inode && is_shmem(name, v->page))
		v->kind = shared ? UU_SHMEM : UU_SHMEM_PRIVATE;
	return 0;
}

static int open_maps(void)
{
	return open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
}

/* The first VMA ending above addr, from a fresh read of the maps. */
static int vma_lookup(uintptr_t addr, struct vma *v)
{
	int maps = open_maps();
	if (maps < 0)
		return -errno;
	int r = vma_at(maps, addr, v);
	close(maps);
	return r;
}

int uf__vma_next(uintptr_t addr, uintptr_t *start, uintptr_t *end)
{
	struct vma v;
	int r = vma_lookup(addr, &v);
	if (r == 0) {
		*start = v.start;
		*end = v.end;
	}
	return r;
}

int uf__vma_prot(uintptr_t addr)
{
	struct vma v;
	int r = vma_lookup(addr, &v);
	if (r == 0)
		r = v.start <= addr ? v.prot : -ENOENT;
	return r;
}

/* Kinds this build serves: every one the ops table has. */
static int kind_served(int kind)
{
	return uf__memops_of(kind) != NULL;
}

static int kind_is_shmem(int kind)
{
	return kind == UU_SHMEM || kind == UU_SHMEM_PRIVATE;
}

/* ------------------------------------------------------------------------ */
/* Maps                                                                     */

static unsigned log2_ceil(size_t x)
{
	unsigned s = 0;
	while (((size_t)1 << s) < x)
		s++;
	return s;
}

static void *anon_zeroed(size_t len)
{
	void *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Which pages of [start, end) the program's view shows now.  Anonymous
 * memory: mincore (resident = mapped).  File mappings: mincore says what
 * the page cache holds; pagemap says what this mapping has mapped. */
static int scan_mapped(struct uf__map *m, const char *view, int file)
{
	int pm = -1;
	if (file && (pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	/* mincore gives a byte per 4 KiB: a huge page's first stands for it. */
	const size_t per = m->page / 4096, batch = (1u << 20) / per;
	unsigned char *vec = malloc(batch * per);
	int r = vec ? 0 : -ENOMEM;
	for (size_t i = 0; r == 0 && i < m->npages; i += batch) {
		size_t n = m->npages - i < batch ? m->npages - i : batch;
		if (uf__mincore((void *)(view + (i << m->page_shift)), n << m->page_shift, vec) < 0) {
			r = -errno;
			break;
		}
		for (size_t j = 0; j < n; j++) {
			if (!(vec[j * per] & 1))
				continue;
			if (file) {
				uint64_t e = 0;
				uintptr_t va = m->start + ((i + j) << m->page_shift);
				if (pread(pm, &e, 8, (off_t)(va / 4096) * 8) != 8 || !(e >> 63))
					continue;
			}
			atomic_store(&m->pst[i + j], PS_MAPPED);
		}
	}
	free(vec);
	if (pm >= 0)
		close(pm);
	return r;
}

/* Copy the mapped pages of view into the map's alias. */
static void copy_mapped(struct uf__map *m, const char *view)
{
	for (size_t i = 0; i < m->npages; i++)
		if (atomic_load(&m->pst[i]) & PS_MAPPED)
			memcpy(m->alias + (i << m->page_shift), view + (i << m->page_shift), m->page);
}

struct prepared {
	struct uf__map *map;
	int memfd;		/* the engine's file, for private kinds */
};

struct uf__map *uf__map_alloc(uintptr_t start, uintptr_t end, int kind, size_t page, int prot)
{
	size_t len = end - start;
	struct uf__map *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->fd = -1;
	m->start = start;
	m->end = end;
	m->page = page;
	m->page_shift = log2_ceil(page);
	m->ops = uf__memops_of(kind);
	m->prot = prot;
	m->npages = len >> m->page_shift;
	/* Chunks: 2 MiB (at least a page), or larger so that no map has
	 * more than 8192. */
	m->chunk_shift = log2_ceil(len / 8192);
	if (m->chunk_shift < 21)
		m->chunk_shift = 21;
	if (m->chunk_shift < m->page_shift)
		m->chunk_shift = m->page_shift;
	m->chunk = (size_t)1 << m->chunk_shift;
	m->nchunks = (len + m->chunk - 1) >> m->chunk_shift;
	m->pst = anon_zeroed(m->npages);
	m->cst = anon_zeroed(m->nchunks);
	if (!m->pst || !m->cst) {
		uf__map_retire(m);
		return NULL;
	}
	return m;
}

/* Build a map for [start, end) without changing what the program sees. */
static int map_prepare(const struct vma *v, uintptr_t start, uintptr_t end, struct prepared *out)
{
	size_t len = end - start;
	struct uf__map *m = uf__map_alloc(start, end, v->kind, v->page, v->prot);
	if (!m)
		return -ENOMEM;
	out->memfd = -1;
	int r = 0;

	m->ino = v->ino;
	m->vm_ino = v->ino;
	/* Anonymous memory: /proc reports no offset; the kernel's is the
	 * address the VMA was made at, so take the address itself (VMAs the
	 * program moved with mremap are the exception). */
	m->vm_off = v->ino ? v->off + (start - v->start) : start;
	if (r == 0 && v->kind == UU_SHMEM) {
		/* A second view of the program's own file. */
		void *a = mremap((void *)start, 0, len, MREMAP_MAYMOVE);
		if (a == MAP_FAILED)
			r = -errno;
		else {
			m->alias = a;
			/* No VM_MAYWRITE (a read-only open): the kernel says EPERM. */
			if (mprotect(a, len, PROT_READ | PROT_WRITE) < 0)
				r = errno == EACCES ? -EPERM : -errno;
		}
		if (r == 0)
			r = scan_mapped(m, (const char *)start, 1);
	} else if (r == 0 && v->kind == UU_HUGETLB) {
		/* hugetlb refuses that mremap: views of the file (hugetlb.c). */
		r = uf__hugetlb_views(m, v->start, v->end, v->dev_major, v->dev_minor, v->ino,
				      v->off + (start - v->start));
		if (r == 0)
			r = scan_mapped(m, (const char *)start, 1);
	} else if (r == 0) {
		/* Private memory: an engine memfd stands in for it, of huge
		 * pages of the same size for hugetlb. */
		unsigned huge = uf__kind_hugetlb(v->kind) ? MFD_HUGETLB | (m->page_shift << 26) : 0;
		int fd = memfd_create("userfault", MFD_CLOEXEC | huge);
		struct stat st;
		if (fd < 0 || ftruncate(fd, (off_t)len) < 0 || fstat(fd, &st) < 0)
			r = -errno;
		else
			m->ino = st.st_ino;
		if (r == 0) {
			void *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (a == MAP_FAILED)
				r = -errno;
			else
				m->alias = a;
		}
		out->memfd = fd;
		/* Private hugetlb: the file's pages seen through a view that
		 * reserves nothing, where there is a way to the file; else the
		 * original is kept aside (map_cover), with the huge pages its
		 * mapping reserved. */
		m->anon_file = v->kind == UU_HUGETLB_PRIVATE && v->anon_file;
		if (r == 0 && v->kind == UU_HUGETLB_PRIVATE)
			m->upstream = uf__hugetlb_file_view(v->start, v->end, v->dev_major, v->dev_minor,
							    v->ino, v->off + (start - v->start), len);
		int readable = v->prot & PROT_READ;
		if (r == 0 && !readable && mprotect((void *)start, len, PROT_READ) < 0)
			r = -errno;
		if (r == 0)
			r = scan_mapped(m, (const char *)start, v->kind != UU_ANON);
		if (r == 0)
			copy_mapped(m, (const char *)start);
		if (!readable)
			mprotect((void *)start, len, v->prot);
	}
	if (r < 0) {
		if (out->memfd >= 0)
			close(out->memfd);
		out->memfd = -1;
		uf__map_retire(m);
		return r;
	}
	out->map = m;
	return 0;
}

void *uf__reserve_aligned(size_t len, size_t align)
{
	char *p = mmap(NULL, len + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (p == MAP_FAILED)
		return p;
	size_t head = (align - ((uintptr_t)p & (align - 1))) & (align - 1);
	if (head)
		munmap(p, head);
	munmap(p + head + len, align - head);
	return p + head;
}

/* Make the program's view the map's: covered (PROT_NONE) until used. */
static int map_cover(struct prepared *p)
{
	struct uf__map *m = p->map;
	size_t len = m->end - m->start;
	int r = 0;
	if (p->memfd < 0) {
		if (mprotect((void *)m->start, len, PROT_NONE) < 0)
			r = -errno;
		return r;
	}
	if (m->ops->upstream_cached && !m->upstream) {
		/* Keep the original aside: its page cache pages are what a
		 * MINOR fault finds and a read of an untouched page shows. */
		void *up = uf__reserve_aligned(len, m->page);
		void *tmp = mmap(NULL, len, PROT_NONE, MAP_SHARED, p->memfd, 0);
		if (up == MAP_FAILED || tmp == MAP_FAILED)
			r = -errno;
		else if (mremap((void *)m->start, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, up) == MAP_FAILED)
			r = -errno;
		else if (mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)m->start) == MAP_FAILED) {
			/* The original goes back where it was, or the program
			 * loses its memory (tests/inject.c ops). */
			r = -errno;
			mremap(up, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)m->start);
			up = MAP_FAILED;
		} else {
			tmp = MAP_FAILED;
			/* Only the file's pages: the program's private copies are
			 * in the engine's memfd now, and one dropped later
			 * (MADV_DONTNEED) must read as the file, not as the old
			 * copy kept here. */
			madvise(up, len, MADV_DONTNEED);
			mprotect(up, len, PROT_READ);
			m->upstream = up;
			up = MAP_FAILED;
		}
		if (up != MAP_FAILED)
			munmap(up, len);
		if (tmp != MAP_FAILED)
			munmap(tmp, len);
	} else {
		if (mmap((void *)m->start, len, PROT_NONE, MAP_SHARED | MAP_FIXED, p->memfd, 0) == MAP_FAILED)
			r = -errno;
	}
	if (r < 0 || !uf__map_keep_fd(m, p->memfd))
		close(p->memfd);
	p->memfd = -1;
	return r;
}

/* ------------------------------------------------------------------------ */
/* Segment tables                                                           */

struct segbuf {
	struct uf__seg *v;
	size_t n, cap;
};

static int sb_push(struct segbuf *b, struct uf__seg s)
{
	if (s.start >= s.end)
		return 0;
	if (b->n) {
		struct uf__seg *p = &b->v[b->n - 1];
		if (p->end == s.start && p->map == s.map && p->ctx == s.ctx && p->mode == s.mode) {
			p->end = s.end;
			return 0;
		}
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct uf__seg *v = realloc(b->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = s;
	return 0;
}

typedef void (*seg_fn)(struct uf__seg *s, void *arg);

static int cmp_seg(const void *a, const void *b)
{
	const struct uf__seg *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* The current table plus extra segments, with fn applied to every piece
 * inside [start, end).  Published on success. */
static int rebuild(const struct uf__seg *extra, size_t nextra, uintptr_t start, uintptr_t end,
		   seg_fn fn, void *arg)
{
	const struct uf__table *old = uf__table_now();
	size_t nold = old ? old->n : 0;
	struct uf__seg *all = malloc((nold + nextra + 1) * sizeof(*all));
	if (!all)
		return -ENOMEM;
	if (nold)
		memcpy(all, old->seg, nold * sizeof(*all));
	if (nextra)
		memcpy(all + nold, extra, nextra * sizeof(*all));
	qsort(all, nold + nextra, sizeof(*all), cmp_seg);

	struct segbuf b = { 0 };
	int r = 0;
	for (size_t i = 0; r == 0 && i < nold + nextra; i++) {
		struct uf__seg s = all[i];
		if (s.end <= start || s.start >= end) {
			r = sb_push(&b, s);
			continue;
		}
		struct uf__seg lo = s, mid = s, hi = s;
		lo.end = start;			/* empty unless s starts before */
		hi.start = end;			/* empty unless s ends after */
		mid.start = s.start > start ? s.start : start;
		mid.end = s.end < end ? s.end : end;
		fn(&mid, arg);
		r = sb_push(&b, lo);
		if (r == 0 && mid.map)		/* fn may drop the piece */
			r = sb_push(&b, mid);
		if (r == 0)
			r = sb_push(&b, hi);
	}
	free(all);
	struct uf__table *t = r == 0 ? uf__table_new(b.n) : NULL;
	if (!t) {
		free(b.v);
		return -ENOMEM;
	}
	if (b.n)
		memcpy(t->seg, b.v, b.n * sizeof(t->seg[0]));
	free(b.v);
	uf__table_publish(t);
	return 0;
}

/* The segment of the current table holding addr, or NULL; also the start
 * of the next segment above addr (or UINTPTR_MAX). */
static const struct uf__seg *seg_at(uintptr_t addr, uintptr_t *next)
{
	/* Under the space lock: only its holders publish, so the table stays. */
	const struct uf__seg *s = uf__lookup_from(addr);
	*next = s ? s->start : UINTPTR_MAX;
	return s && s->start <= addr ? s : NULL;
}

/* ------------------------------------------------------------------------ */
/* Walking a range                                                          */


/* A map whose memory the program unmapped behind the engine's back (with
 * munmap(2) rather than uf_munmap()) is stale: the address may now hold
 * other memory.  Is m still in place at addr, a page of one of its
 * segments?  Not at m->start: uf_munmap() of the map's first pages leaves
 * the rest of it managed, and those pages must not be taken for stale. */
static int map_alive(int maps, const struct uf__map *m, uintptr_t addr)
{
	struct vma v;
	if (vma_at(maps, addr, &v) < 0)
		return 0;
	return v.start <= addr && v.ino == m->ino;
}

/* Forget a stale map: a table without its segments, then free it. */
static int drop_map(struct uf__map *m)
{
	const struct uf__table *t = uf__table_now();
	struct uf__table *n = uf__table_new(t->n);
	if (!n)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->seg[i].map != m)
			n->seg[k++] = t->seg[i];
	n->n = k;
	uf__table_publish(n);	/* retires m */
	return 0;
}

/* A piece of the range: either engine memory (seg) or a plain VMA. */
struct piece {
	uintptr_t start, end;
	const struct uf__seg *seg;	/* NULL: not the engine's yet */
	struct vma vma;
};

/* Call fn on each piece of [start, end), as the kernel walks VMAs: the
 * first must exist, holes are skipped.  fn returns 0 or -errno (stops). */
static int walk(uintptr_t start, uintptr_t end, int (*fn)(struct piece *, void *), void *arg)
{
	int maps = open_maps();
	if (maps < 0)
		return -errno;
	int r = 0, first = 1;
	uintptr_t pos = start;
	while (pos < end) {
		struct piece p = { 0 };
		uintptr_t next;
		const struct uf__seg *s = seg_at(pos, &next);
		if (s && !map_alive(maps, s->map, pos)) {
			r = drop_map(s->map);
			if (r < 0)
				break;
			continue;
		}
		if (s) {
			p.start = pos;
			p.end = s->map->end < end ? s->map->end : end;
			p.seg = s;
			/* A whole map at a time: its segments are checked by fn. */
		} else {
			int q = vma_at(maps, pos, &p.vma);
			if (q == -ENOENT || (q == 0 && p.vma.start >= end)) {
				r = first ? -EINVAL : 0;
				break;
			}
			if (q < 0) {
				r = q;
				break;
			}
			p.start = p.vma.start > pos ? p.vma.start : pos;
			if (p.start >= next) {	/* engine memory comes first */
				pos = next;
				continue;
			}
			p.end = p.vma.end < end ? p.vma.end : end;
			if (p.end > next)
				p.end = next;
		}
		r = fn(&p, arg);
		if (r < 0)
			break;
		first = 0;
		pos = p.end;
	}
	close(maps);
	return r;
}

/* ------------------------------------------------------------------------ */
/* UFFDIO_REGISTER                                                          */

struct reg {
	struct uf__ctx *c;
	unsigned mode;
	uintptr_t start, end;
	int hugetlb;
	struct prepared *prep;
	size_t nprep, capprep;
	int checked;		/* pieces reg_check has seen */
};

static int kind_of_piece(const struct piece *p)
{
	return p->seg ? p->seg->map->ops->kind : p->vma.kind;
}

/* The kernel's hugetlb alignment rule: the range starts on a huge page of
 * its first VMA, and ends on one of the VMA holding its end.  0 or -EINVAL. */
static int huge_aligned(const struct piece *p, int first, uintptr_t start, uintptr_t end, int check_end)
{
	int kind = kind_of_piece(p);
	size_t page = p->seg ? p->seg->map->page : p->vma.page;
	if (!uf__kind_hugetlb(kind))
		return 0;
	if (first && (start & (page - 1)))
		return -EINVAL;
	if (check_end && p->end == end && (end & (page - 1)))
		return -EINVAL;
	return 0;
}

static int reg_check(struct piece *p, void *arg)
{
	struct reg *g = arg;
	int kind = kind_of_piece(p);
	int first = !g->checked++;
	if (first && huge_aligned(p, 1, g->start, g->end, 0) < 0)
		return -EINVAL;
	if (kind < 0)
		return -EINVAL;
	if ((g->mode & UFFDIO_REGISTER_MODE_MINOR) && !kind_is_shmem(kind) &&
	    kind != UU_HUGETLB && kind != UU_HUGETLB_PRIVATE)
		return -EINVAL;
	if (!kind_served(kind))
		return -EINVAL;
	if (huge_aligned(p, 0, g->start, g->end, 1) < 0)
		return -EINVAL;
	if (uf__kind_hugetlb(kind))
		g->hugetlb = 1;		/* the BASIC ioctls */
	if (p->seg) {
		/* Every segment of this map inside the piece: owned by us or nobody. */
		uintptr_t pos = p->start, next;
		while (pos < p->end) {
			const struct uf__seg *s = seg_at(pos, &next);
			if (!s)
				break;
			if (s->ctx && s->ctx != g->c)
				return -EBUSY;
			pos = s->end;
		}
		return 0;
	}
	/* A shared mapping without VM_MAYWRITE, or a non-writable one asked
	 * for WP: the map's preparation finds out (EPERM). */
	return 0;
}

static int reg_prepare(struct piece *p, void *arg)
{
	struct reg *g = arg;
	if (p->seg)
		return 0;
	if (g->nprep == g->capprep) {
		size_t cap = g->capprep ? g->capprep * 2 : 4;
		struct prepared *v = realloc(g->prep, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		g->prep = v;
		g->capprep = cap;
	}
	int r = map_prepare(&p->vma, p->start, p->end, &g->prep[g->nprep]);
	if (r == 0)
		g->nprep++;
	return r;
}

static void reg_apply(struct uf__seg *s, void *arg)
{
	struct reg *g = arg;
	if (s->ctx == g->c && (s->mode & g->mode) == g->mode)
		return;		/* already has every mode asked: unchanged */
	s->ctx = g->c;
	s->mode = g->mode;
}

int uf__register(struct uf__ctx *c, struct uffdio_register *a)
{
	if (!a->mode || (a->mode & ~(__u64)MODES))
		return -EINVAL;
	int r = uf__validate_range(a->range.start, a->range.len);
	if (r)
		return r;
	r = uf__trap_install();
	if (r)
		return r;
	struct reg g = { .c = c, .mode = (unsigned)a->mode, .start = a->range.start,
			 .end = a->range.start + a->range.len };
	uf__space_lock();
	r = walk(g.start, g.end, reg_check, &g);
	if (r == 0)
		r = walk(g.start, g.end, reg_prepare, &g);
	struct uf__seg *extra = NULL;
	if (r == 0 && g.nprep) {
		extra = calloc(g.nprep, sizeof(*extra));
		if (!extra)
			r = -ENOMEM;
		for (size_t i = 0; r == 0 && i < g.nprep; i++)
			extra[i] = (struct uf__seg){ g.prep[i].map->start, g.prep[i].map->end,
						    g.prep[i].map, NULL, 0 };
	}
	if (r == 0)
		r = rebuild(extra, g.nprep, g.start, g.end, reg_apply, &g);
	if (r == 0) {
		for (size_t i = 0; i < g.nprep; i++) {
			int q = map_cover(&g.prep[i]);
			if (q < 0 && r == 0)
				r = q;
		}
	} else {
		for (size_t i = 0; i < g.nprep; i++) {
			if (g.prep[i].memfd >= 0)
				close(g.prep[i].memfd);
			uf__map_retire(g.prep[i].map);
		}
	}
	uf__space_unlock();
	free(extra);
	free(g.prep);
	if (r == 0) {
		__u64 io = g.hugetlb ? UFFD_API_RANGE_IOCTLS_BASIC : UFFD_API_RANGE_IOCTLS;
		if (!(a->mode & UFFDIO_REGISTER_MODE_WP))
			io &= ~((__u64)1 << _UFFDIO_WRITEPROTECT);
		if (!(a->mode & UFFDIO_REGISTER_MODE_MINOR))
			io &= ~((__u64)1 << _UFFDIO_CONTINUE);
		a->ioctls = io;
	}
	return r;
}

/* ------------------------------------------------------------------------ */
/* UFFDIO_UNREGISTER                                                        */

struct unreg {
	struct uf__ctx *c;
	uintptr_t start, end;
	int checked;
	/* Ranges to wake afterwards (MISSING-registered pieces). */
	struct uffdio_range *wake;
	size_t nwake, capwake;
};

static int unreg_check(struct piece *p, void *arg)
{
	struct unreg *u = arg;
	int kind = kind_of_piece(p);
	if (huge_aligned(p, !u->checked++, u->start, u->end, 1) < 0)
		return -EINVAL;
	if (kind < 0)
		return -EINVAL;
	if (!p->seg)
		return kind_served(kind) ? 0 : -EINVAL;
	uintptr_t pos = p->start, next;
	while (pos < p->end) {
		const struct uf__seg *s = seg_at(pos, &next);
		if (!s)
			break;
		if (s->ctx && s->ctx != u->c)
			return -EINVAL;
		pos = s->end;
	}
	return 0;
}

/* Clear write-protection on [from, to) of m. */
static void clear_wp(struct uf__map *m, uintptr_t from, uintptr_t to)
{
	if (atomic_load(&m->wp_count) == 0)
		return;
	for (uintptr_t a = from; a < to; a += m->page) {
		size_t pg = uf__pgidx(m, a);
		if (!(atomic_load(&m->pst[pg]) & PS_WP))
			continue;
		uint8_t st = uf__page_lock(m, pg);
		/* Still read-only (out of memory): the mark stays, so a write
		 * faults and the trap makes the page writable then, as for any
		 * page no longer registered (a mark cleared without its
		 * protection made that write the program's own SIGSEGV;
		 * tests/inject.c release). */
		if ((st & PS_WP) && uf__page_setwp(m, a, st & (uint8_t)~PS_WP) == 0) {
			st &= (uint8_t)~PS_WP;
			atomic_fetch_sub(&m->wp_count, 1);
		}
		uf__page_unlock(m, pg, st);
	}
}

static void unreg_apply(struct uf__seg *s, void *arg)
{
	struct unreg *u = arg;
	if (s->ctx != u->c)
		return;
	if ((s->mode & UFFDIO_REGISTER_MODE_MISSING) && u->nwake < u->capwake)
		u->wake[u->nwake++] = (struct uffdio_range){ s->start, s->end - s->start };
	if (s->mode & UFFDIO_REGISTER_MODE_WP)
		clear_wp(s->map, s->start, s->end);
	s->ctx = NULL;
	s->mode = 0;
}

static int unregister_range(struct uf__ctx *c, int fd, uintptr_t start, uintptr_t end, int check)
{
	struct unreg u = { .c = c, .start = start, .end = end };
	uf__space_lock();
	int r = check ? walk(start, end, unreg_check, &u) : 0;
	if (r == 0) {
		const struct uf__table *t = uf__table_now();
		u.capwake = t ? t->n : 0;
		u.wake = calloc(u.capwake + 1, sizeof(*u.wake));
		r = u.wake ? rebuild(NULL, 0, start, end, unreg_apply, &u) : -ENOMEM;
	}
	uf__space_unlock();
	for (size_t i = 0; r == 0 && i < u.nwake; i++)
		uf__wake(c, fd, u.wake[i].start, u.wake[i].len, FK_MISSING | FK_WP | FK_MINOR);
	free(u.wake);
	return r;
}

int uf__unregister(struct uf__ctx *c, int fd, struct uffdio_range *a)
{
	int r = uf__validate_range(a->start, a->len);
	if (r)
		return r;
	return unregister_range(c, fd, a->start, a->start + a->len, 1);
}

void uf__unregister_all(struct uf__ctx *c)
{
	/* A release cannot fail (the kernel's never does), or its faulting
	 * threads would wait on it for ever: out of memory, try again
	 * (tests/inject.c release). */
	while (unregister_range(c, -1, 0, UINTPTR_MAX, 0) == -ENOMEM)
		sched_yield();
}

/* ------------------------------------------------------------------------ */
/* Memory going away                                                        */

static void forget_fn(struct uf__seg *s, void *arg)
{
	(void)arg;
	/* Private memory's content lives in the engine's file: free it now
	 * rather than when the whole map goes. */
	if (!s->map->ops->shared)
		madvise(s->map->alias + (s->start - s->map->start), s->end - s->start, MADV_REMOVE);
	s->map = NULL;
}

int uf__forget_range(uintptr_t start, uintptr_t end)
{
	uf__space_lock();
	int r = rebuild(NULL, 0, start, end, forget_fn, NULL);
	uf__space_unlock();
	return r;
}

static void replace_fn(struct uf__seg *s, void *arg)
{
	if (s->map != arg)
		forget_fn(s, NULL);
}

int uf__table_replace(uintptr_t start, uintptr_t end, const struct uf__map *keep,
		      const struct uf__seg *extra, size_t nextra)
{
	return rebuild(extra, nextra, start, end, replace_fn, (void *)keep);
}

static void hand_over_fn(struct uf__seg *s, void *arg)
{
	(void)arg;
	s->map = NULL;
}

int uf__table_hand_over(uintptr_t start, uintptr_t end, const struct uf__seg *extra, size_t nextra)
{
	return rebuild(extra, nextra, start, end, hand_over_fn, NULL);
}

