#!/bin/sh
# Unpack Debian sid's python3.13 and python3.14 (and the newer libc they
# need) into a cache folder, for the oracle tests of builds without DWARF.
# Nothing is installed on the system: the packages are downloaded with an
# extra sources list pointing at the mirror the system's apt already uses,
# unpacked with dpkg -x, and run through the unpacked dynamic loader
# (tests/oracle/run_oracle.py makes the wrappers).
#
#   sh tests/setup-sid-pythons.sh [CACHE]     (default /var/cache/pcc-sid)
#
# Exits 0 with a message when the mirror cannot be reached: the oracle then
# skips these interpreters and says why.
set -u
cache=${1:-${PCC_SID_CACHE:-/var/cache/pcc-sid}}
root=$cache/root
if [ -x "$root/usr/bin/python3.14" ] && [ -x "$root/usr/bin/python3.13" ]; then
	echo "setup-sid-pythons: already in $root"
	exit 0
fi
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/* *$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '/^deb .*debian/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
mkdir -p "$cache/etc" "$cache/apt/lists/partial" "$cache/apt/archives/partial" "$cache/debs" "$root"
cat >"$cache/etc/sid.sources" <<SRC
Types: deb
URIs: $mirror
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt_opts="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$cache/etc -o Dir::State::Lists=$cache/apt/lists -o Dir::Cache=$cache/apt -o APT::Sandbox::User=root"
# shellcheck disable=SC2086
if ! timeout 600 apt-get $apt_opts -qq update; then
	echo "setup-sid-pythons: cannot reach $mirror sid: the sid interpreters will be skipped"
	exit 0
fi
cd "$cache/debs" || exit 0
# shellcheck disable=SC2086
if ! timeout 600 apt-get $apt_opts -qq download \
	python3.14-minimal libpython3.14-minimal libpython3.14-stdlib python3.14 \
	libpython3.14-dev libpython3.14 python3.13-minimal libpython3.13-minimal \
	libpython3.13-stdlib libpython3.13-dev libc6 libexpat1 zlib1g libssl3t64 libffi8; then
	echo "setup-sid-pythons: download failed: the sid interpreters will be skipped"
	exit 0
fi
for d in ./*.deb; do
	dpkg -x "$d" "$root" || exit 1
done
echo "setup-sid-pythons: unpacked into $root"
