#!/usr/bin/env bash
# Unpack a current nginx (Debian unstable's package, with its own libc, OpenSSL and PCRE2) into
# a private folder and print the path of an `nginx` wrapper that starts it through that folder's
# dynamic loader. Nothing is installed system-wide and the machine's own nginx is untouched.
#
# Why: Debian stable ships nginx 1.22; features such as `server ... resolve` in upstreams
# (nginx >= 1.27.3) and the `http2 on;` directive (>= 1.25.1) need a newer one to be proven.
#
# Usage: bash scripts/mainline-nginx.sh [DEST]   (DEST defaults to ~/.cache/ingress2nginx/nginx-mainline)
# Prints the wrapper's path on stdout; progress and errors go to stderr. Idempotent: an existing
# unpacked copy that runs is reused. Needs apt-get (a Debian-like machine); root is not needed.
set -euo pipefail

dest=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/ingress2nginx/nginx-mainline}
wrapper="$dest/bin/nginx"
suite=${INGRESS2NGINX_MAINLINE_SUITE:-sid}
packages=(nginx libnginx-mod-stream libc6 libcrypt1 libpcre2-8-0 libssl3t64 zlib1g)

if [ -x "$wrapper" ] && "$wrapper" -v >/dev/null 2>&1; then
    echo "$wrapper"
    exit 0
fi
command -v apt-get >/dev/null 2>&1 || { echo "mainline nginx: apt-get is needed" >&2; exit 1; }

work="$dest/apt"
rm -rf "$dest/root" "$work"
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/sources" "$work/debs" "$dest/bin"
cat >"$work/sources/$suite.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_options=(
    -o "Dir::State::Lists=$work/lists" -o "Dir::State::status=/dev/null"
    -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/sources"
    -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=$(id -un)"
)
echo "mainline nginx: reading Debian $suite's package lists" >&2
apt-get "${apt_options[@]}" update -qq >&2
(cd "$work/debs" && apt-get "${apt_options[@]}" download "${packages[@]}" >&2)
for package in "$work"/debs/*.deb; do
    dpkg -x "$package" "$dest/root"
done
rm -rf "$work"

libs="$dest/root/usr/lib/x86_64-linux-gnu"
[ -d "$libs" ] || libs=$(dirname "$(find "$dest/root/usr/lib" -name 'ld-linux*.so.*' | head -n 1)")
loader=$(find "$libs" -maxdepth 1 -name 'ld-linux*.so.*' | head -n 1)
cat >"$wrapper" <<EOF
#!/bin/sh
# nginx from Debian $suite, started through its own dynamic loader and libraries.
exec "$loader" --library-path "$libs" "$dest/root/usr/sbin/nginx" "\$@"
EOF
chmod 0755 "$wrapper"
# The wrapper's folder must be traversable by nginx workers (user nobody) when root starts it.
chmod 0755 "$dest" "$dest/bin"
"$wrapper" -v >&2
echo "$wrapper"
