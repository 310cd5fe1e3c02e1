#!/bin/sh
# Build two CPython flavours that no package ships, from Debian's source
# packages, into a cache folder:
#   python3.11-trace-refs  bookworm's python3.11 (3.11.2) --with-trace-refs:
#                          _ob_next/_ob_prev before ob_refcnt in every object
#   python3.13t            sid's python3.13 --disable-gil: free-threaded, no
#                          PyGC_Head, which pycorecheck must refuse
# Only the upstream tarball is used (Debian's patches are not applied), and
# nothing is installed on the system: each build has its own prefix under
# the cache.  The sources come through an extra "deb-src" sources list
# pointing at the mirror the system's apt already uses.
#
#   sh tests/setup-source-pythons.sh [CACHE]     (default /var/cache/pcc-src)
#
# Idempotent: a prefix whose interpreter runs is not built again.  Exits 0
# with a message when a source cannot be fetched or a build fails; the
# message is also left in CACHE/NAME.skip, and the tests then skip that
# interpreter and say why (the build log stays in CACHE/NAME.log).
set -u
cache=${1:-${PCC_SRC_ROOT:-/var/cache/pcc-src}}
jobs=${PCC_SRC_JOBS:-2}
# Bounds, so that a stuck download or build cannot eat CI's budget.
fetch_timeout=600
build_timeout=${PCC_SRC_BUILD_TIMEOUT:-2400}

say() { echo "setup-source-pythons: $*"; }
# skip NAME MESSAGE: why NAME is not there, for the tests to repeat.
skip() {
	say "$1: $2"
	echo "$2" >"$cache/$1.skip"
}

# Lean builds: no PGO/LTO, no test suite run or installed, -O1 (the object layouts, which are all
# the tests look at, do not depend on the optimisation level) but -g, so
# that the interpreters carry DWARF for the oracle's DWARF runs.
opt='-DNDEBUG -g -fwrapv -O1'

# name: label, Debian source package, suite, binary, configure flags
builds='python3.11-trace-refs python3.11 bookworm python3.11 --with-trace-refs
python3.13t python3.13 sid python3.13t --disable-gil'

all_built() {
	echo "$builds" | while read -r name _ _ bin _; do
		"$cache/$name/bin/$bin" -c pass 2>/dev/null || echo no
	done | grep -q no && return 1
	return 0
}
if all_built; then
	say "already built in $cache"
	exit 0
fi

mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/* *$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '/^deb .*debian/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
mkdir -p "$cache/etc" "$cache/apt/lists/partial" "$cache/apt/archives/partial" "$cache/dl"
cat >"$cache/etc/src.sources" <<SRC
Types: deb-src
URIs: $mirror
Suites: bookworm sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt_opts="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$cache/etc -o Dir::State::Lists=$cache/apt/lists -o Dir::Cache=$cache/apt -o APT::Sandbox::User=root"
# shellcheck disable=SC2086
if ! timeout "$fetch_timeout" apt-get $apt_opts -qq update; then
	echo "$builds" | while read -r name _; do
		skip "$name" "cannot reach $mirror (deb-src lists): not built"
	done
	exit 0
fi

# build NAME PKG SUITE BIN FLAGS...: fetch, unpack, configure, make, install.
build() {
	name=$1 pkg=$2 suite=$3 bin=$4
	shift 4
	prefix=$cache/$name
	if "$prefix/bin/$bin" -c pass 2>/dev/null; then
		say "$name: already built in $prefix"
		return 0
	fi
	dl=$cache/dl/$pkg-$suite
	mkdir -p "$dl"
	if ! ls "$dl"/*.orig.tar.* >/dev/null 2>&1; then
		# The suite's newest version first; a mirror can list a version
		# whose files it no longer (or does not yet) serve, so then every
		# other version the lists know, newest first.
		# shellcheck disable=SC2086
		versions=$(apt-cache $apt_opts showsrc "$pkg" 2>/dev/null |
			sed -n 's/^Version: *//p' | sort -rVu)
		got=
		for want in "$pkg/$suite" $(for v in $versions; do echo "$pkg=$v"; done); do
			# --download-only: Debian's patches are not wanted, only
			# the upstream tarball.
			# shellcheck disable=SC2086
			if (cd "$dl" && timeout "$fetch_timeout" apt-get $apt_opts -qq \
				--download-only source "$want" >/dev/null 2>&1); then
				got=$want
				break
			fi
			rm -f "$dl"/*
		done
		if [ -z "$got" ]; then
			skip "$name" "cannot fetch the source of $pkg ($suite or any version the lists name) from $mirror"
			return 0
		fi
		say "$name: fetched $got"
	fi
	tarball=
	for f in "$dl"/*.orig.tar.*; do
		[ -f "$f" ] && tarball=$f && break
	done
	if [ -z "$tarball" ]; then
		skip "$name" "no upstream tarball in $pkg's source package from $suite"
		return 0
	fi
	work=$cache/build/$name
	log=$cache/$name.log
	rm -rf "$work" "$prefix"
	mkdir -p "$work"
	if ! tar -xf "$tarball" -C "$work" --strip-components=1; then
		skip "$name" "cannot unpack $tarball"
		return 0
	fi
	say "$name: building $(basename "$tarball") $*, log in $log"
	start=$(date +%s)
	# The rpath lets bin/python find its own libpython, not a system one.
	# nice: the machine is shared; one build at a time, -j$jobs.
	if (cd "$work" &&
		timeout "$build_timeout" nice ./configure --prefix="$prefix" \
			--enable-shared --without-ensurepip --disable-test-modules "$@" \
			OPT="$opt" LDFLAGS="-Wl,-rpath,$prefix/lib" &&
		timeout "$build_timeout" nice make -j"$jobs" &&
		timeout "$build_timeout" nice make -j"$jobs" install) >"$log" 2>&1 &&
		"$prefix/bin/$bin" -c 'import _socket, select, json, _io' 2>>"$log"; then
		end=$(date +%s)
		say "$name: built in $((end - start)) s into $prefix"
		rm -rf "$work" "$cache/$name.skip"
	else
		end=$(date +%s)
		skip "$name" "build failed after $((end - start)) s (see $log)"
		rm -rf "$prefix"
	fi
	return 0
}

echo "$builds" | while read -r name pkg suite bin flags; do
	# shellcheck disable=SC2086
	build "$name" "$pkg" "$suite" "$bin" $flags
done
exit 0
