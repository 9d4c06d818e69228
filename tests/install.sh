#!/usr/bin/env bash
# install.sh - `make install` into a temporary prefix, then use the result the
# way a consumer would: the files and links are where they should be, the
# pkg-config file points at them, a small program builds as C and as C++
# (C++11 and C++17) against the shared and the static library and runs, and
# the shared library exports nothing but uf_* symbols.
#
# Run from the repository root with BUILD set (tests/run.sh does both).
# Exit 0: pass; 77: skipped (reason on the last line); anything else: fail.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
CC=${CC:-cc}
CXX=${CXX:-c++}

# The install check is about the plain build that users install; a
# sanitizer build's library needs the sanitizer runtime in every consumer.
if [ -n "${SAN:-}" ]; then
	echo "skipped: installing a sanitizer build (SAN=$SAN) is not what users install; the plain run covers it"
	exit 77
fi

# A missing tool is a skip, and nothing is installed to get it.
for tool in make pkg-config nm readelf "$CC" "$CXX"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "skipped: $tool is not installed"
		exit 77
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uf-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
work=$tmp/work
mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
note() { echo "  $*"; }

# ---------------------------------------------------------------------------
# make install

if ! make -s install PREFIX="$prefix" BUILD="$BUILD" >"$work/make.log" 2>&1; then
	cat "$work/make.log"
	echo "FAIL: make install PREFIX=$prefix BUILD=$BUILD failed"
	exit 1
fi
note "installed into $prefix"

version=$(sed -n 's/^VERSION *:= *//p' Makefile)
soversion=$(sed -n 's/^SOVERSION *:= *//p' Makefile)
major=$(sed -n 's/^#define UF_VERSION_MAJOR \([0-9]*\).*/\1/p' include/userfault.h)
minor=$(sed -n 's/^#define UF_VERSION_MINOR \([0-9]*\).*/\1/p' include/userfault.h)
patch=$(sed -n 's/^#define UF_VERSION_PATCH \([0-9]*\).*/\1/p' include/userfault.h)
if [ -z "$version" ] || [ -z "$soversion" ]; then
	echo "FAIL: cannot read VERSION/SOVERSION from the Makefile"
	exit 1
fi
[ "$version" = "$major.$minor.$patch" ] ||
	fail "Makefile VERSION $version differs from the header's $major.$minor.$patch"

# ---------------------------------------------------------------------------
# Files and links

lib=$prefix/lib
real=$lib/libuserfault.so.$version
for f in "$lib/libuserfault.a" "$real" "$lib/libuserfault-preload.so" "$prefix/include/userfault.h" \
	 "$prefix/include/userfault/uapi.h" "$prefix/include/userfault/pagemap.h" "$lib/pkgconfig/userfault.pc" "$prefix/bin/userfault"; do
	[ -f "$f" ] || fail "missing: ${f#"$prefix"/}"
done
[ -x "$prefix/bin/userfault" ] || fail "bin/userfault is not executable"
if [ ! -f "$real" ] || [ -L "$real" ]; then
	fail "lib/libuserfault.so.$version should be the real file"
fi
for link in "libuserfault.so.$soversion" libuserfault.so; do
	if [ ! -L "$lib/$link" ]; then
		fail "lib/$link is not a symbolic link"
	elif [ "$(readlink "$lib/$link")" != "libuserfault.so.$version" ]; then
		fail "lib/$link points to $(readlink "$lib/$link"), not libuserfault.so.$version"
	elif [ ! -e "$lib/$link" ]; then
		fail "lib/$link is dangling"
	fi
done
if [ -f "$real" ]; then
	soname=$(readelf -d "$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
	[ "$soname" = "libuserfault.so.$soversion" ] ||
		fail "SONAME is '$soname', expected libuserfault.so.$soversion"
fi
cmp -s include/userfault.h "$prefix/include/userfault.h" || fail "installed userfault.h differs from include/"
cmp -s include/userfault/uapi.h "$prefix/include/userfault/uapi.h" ||
	fail "installed userfault/uapi.h differs from include/"

nman=0
for m in man/*.[1-8]; do
	[ -e "$m" ] || continue
	s=${m##*.}
	nman=$((nman + 1))
	[ -f "$prefix/share/man/man$s/$(basename "$m")" ] || fail "man page not installed: man$s/$(basename "$m")"
done
note "$nman man pages checked"

# ---------------------------------------------------------------------------
# pkg-config

export PKG_CONFIG_PATH=$lib/pkgconfig
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
pc=(pkg-config)
if ! pkg-config --exists userfault; then
	echo "FAIL: pkg-config cannot find userfault in $PKG_CONFIG_PATH"
	exit 1
fi
[ "$(pkg-config --modversion userfault)" = "$version" ] ||
	fail "pkg-config --modversion: $(pkg-config --modversion userfault), expected $version"
bad_pc=0
for var in prefix:"$prefix" libdir:"$lib" includedir:"$prefix/include"; do
	name=${var%%:*} want=${var#*:}
	got=$(pkg-config --variable="$name" userfault)
	if [ "$got" != "$want" ]; then
		fail "userfault.pc: $name=$got, expected $want (the .pc file is not regenerated for PREFIX)"
		bad_pc=1
	fi
done
if [ $bad_pc = 1 ]; then
	# Go on with the right directories, to check everything else.
	pc=(pkg-config --define-variable=prefix="$prefix" --define-variable=libdir="$lib"
	    --define-variable=includedir="$prefix/include")
fi
cflags=$("${pc[@]}" --cflags userfault)
libs=$("${pc[@]}" --libs userfault)
note "cflags: $cflags; libs: $libs"

# ---------------------------------------------------------------------------
# A consumer, as C and as C++

cat >"$work/consumer.c" <<'EOF'
/* A program using the installed library: open, handshake, print the version.
 * Strict -std=c11 hides POSIX names such as O_CLOEXEC unless asked for. */
#define _POSIX_C_SOURCE 200809L
#include <userfault.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	struct uf_open_opts opts = UF_OPEN_OPTS_INIT;
	struct uf_open_opts same;
	char why[256] = "";
	__u64 features = 0, ioctls = 0;
	int fd, r;

	uf_open_opts_init(&same);
	if (same.sz != opts.sz || uf_version() != UF_VERSION)
		return 4;
	printf("userfault %s\n", uf_version_string());
	opts.why = why;
	opts.why_len = sizeof(why);
	fd = uf_open(O_CLOEXEC, &opts);
	if (fd < 0) {
		printf("no context: %s (%s)\n", strerror(-fd), why);
		return 2;
	}
	r = uf_api(fd, 0, &features, &ioctls);
	if (r < 0 || ioctls != UFFD_API_IOCTLS) {
		printf("UFFDIO_API: %s\n", strerror(-r));
		return 3;
	}
	printf("engine %s features 0x%llx\n", uf_engine_name(uf_engine(fd)),
	       (unsigned long long)features);
	return uf_close(fd) == 0 ? 0 : 5;
}
EOF
cp "$work/consumer.c" "$work/consumer.cpp"

no_context=""
# run NAME [env...]: run a built consumer, check what it prints.
run() {
	local bin=$1; shift
	local out rc
	out=$(env "$@" "$work/$bin" 2>&1)
	rc=$?
	if [ $rc -eq 2 ]; then
		no_context=$out
	elif [ $rc -ne 0 ]; then
		fail "$bin exited $rc: $out"
		return
	fi
	if [ "$(printf '%s\n' "$out" | head -n 1)" != "userfault $version" ]; then
		fail "$bin printed '$out', expected 'userfault $version' first"
		return
	fi
	note "$bin: $(printf '%s' "$out" | tr '\n' ' ')"
}

# build NAME COMPILER ARGS...
build() {
	local name=$1; shift
	if ! "$@" >"$work/$name.log" 2>&1; then
		cat "$work/$name.log"
		fail "building $name: $*"
		return 1
	fi
}

cwarn=(-Wall -Wextra -Werror)
# shellcheck disable=SC2086  # word splitting of pkg-config output is intended
{
	static_libs="-Wl,-Bstatic $("${pc[@]}" --libs-only-L --libs-only-l userfault) -Wl,-Bdynamic $("${pc[@]}" --static --libs-only-other userfault)"
	variants=(
		"c_shared:$CC -std=c11 -pedantic ${cwarn[*]} $work/consumer.c $cflags $libs"
		"c_static:$CC -std=c11 -pedantic ${cwarn[*]} $work/consumer.c $cflags $static_libs"
		"cxx11_shared:$CXX -std=c++11 ${cwarn[*]} $work/consumer.cpp $cflags $libs"
		"cxx11_static:$CXX -std=c++11 ${cwarn[*]} $work/consumer.cpp $cflags $static_libs"
		"cxx17_shared:$CXX -std=c++17 ${cwarn[*]} $work/consumer.cpp $cflags $libs"
		"cxx17_static:$CXX -std=c++17 ${cwarn[*]} $work/consumer.cpp $cflags $static_libs"
	)
	for v in "${variants[@]}"; do
		name=${v%%:*} cmd=${v#*:}
		build "$name" $cmd -o "$work/$name" || continue
		needed=$(readelf -d "$work/$name" | grep -c 'NEEDED.*libuserfault')
		case $name in
		*_shared)
			[ "$needed" -eq 1 ] || { fail "$name does not link libuserfault.so"; continue; }
			readelf -d "$work/$name" | grep -q "NEEDED.*\[libuserfault.so.$soversion\]" ||
				fail "$name does not depend on the SONAME libuserfault.so.$soversion"
			# Without the library path it must not start (nothing else
			# on the system may stand in for the fresh install)...
			if ! ldconfig -p 2>/dev/null | grep -q "libuserfault.so.$soversion" &&
			   env -u LD_LIBRARY_PATH "$work/$name" >/dev/null 2>&1; then
				fail "$name ran without LD_LIBRARY_PATH: which libuserfault did it find?"
			fi
			# ...and with it, it loads the installed copy.
			LD_LIBRARY_PATH=$lib ldd "$work/$name" 2>/dev/null | grep -q "libuserfault.so.$soversion => $lib/" ||
				fail "$name does not resolve libuserfault from $lib"
			run "$name" LD_LIBRARY_PATH="$lib"
			;;
		*_static)
			[ "$needed" -eq 0 ] || { fail "$name depends on libuserfault.so although linked statically"; continue; }
			run "$name" -u LD_LIBRARY_PATH
			;;
		esac
	done
}

# ---------------------------------------------------------------------------
# Exported symbols

if [ -f "$real" ]; then
	nm -D --defined-only "$real" | awk '{ print $NF }' | sed 's/@.*//' | sort -u >"$work/exported"
	# The version node itself (USERFAULT_x.y) is an absolute symbol, not code.
	grep -v '^USERFAULT_[0-9.]*$' "$work/exported" >"$work/exported.code"
	leaked=$(grep -v '^uf_' "$work/exported.code" | tr '\n' ' ')
	internal=$(grep '^uf__' "$work/exported.code" | tr '\n' ' ')
	[ -z "$leaked" ] || fail "the shared library exports non-uf_ symbols: $leaked"
	[ -z "$internal" ] || fail "the shared library exports internal uf__ symbols: $internal"
	# Every function the header declares is exported, with a version.
	sed -n 's/.*[ *]\(uf_[a-z_0-9]*\)(.*/\1/p' include/userfault.h | sort -u >"$work/declared"
	missing=$(comm -23 "$work/declared" "$work/exported.code" | tr '\n' ' ')
	[ -z "$missing" ] || fail "declared in userfault.h but not exported: $missing"
	unversioned=$(nm -D --defined-only "$real" | awk '$NF ~ /^uf_/ && $NF !~ /@/ { print $NF }' | tr '\n' ' ')
	[ -z "$unversioned" ] || fail "exported without a symbol version: $unversioned"
	note "$(wc -l <"$work/exported.code") symbols exported, $(wc -l <"$work/declared") declared"
fi
# The static library defines no global names outside uf_* either (they
# would collide with the program's own).
if [ -f "$lib/libuserfault.a" ]; then
	polluting=$(nm -g --defined-only "$lib/libuserfault.a" 2>/dev/null |
		awk 'NF == 3 { print $3 }' | grep -v '^uf_' | sort -u | tr '\n' ' ')
	[ -z "$polluting" ] || fail "libuserfault.a defines global symbols outside uf_*: $polluting"
fi

# The installed `userfault run` finds the installed preload library (../lib).
if [ -f "$lib/libuserfault-preload.so" ]; then
	got=$("$prefix/bin/userfault" run -- sh -c 'echo "$LD_PRELOAD"' 2>&1)
	want=$(realpath "$lib/libuserfault-preload.so")
	if [ "$got" = "$want" ]; then
		note "userfault run uses the installed $want"
	elif [[ $got == *"cannot serve"* || $got == *"engine"* ]]; then
		note "userfault run: no engine here: $got"
	else
		fail "installed userfault run preloads '$got', expected $want"
	fi
fi

echo
if [ $failures -gt 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
if [ -n "$no_context" ]; then
	# Everything was installed and linked; only the run could not open a
	# context here.  That is the machine, not the install.
	note "consumers could not open a context here: $no_context"
fi
echo "install checks passed"
exit 0
