#!/usr/bin/env bash
# Install everything the test suite needs (the package with its test extras, and nginx when it
# is missing and this is a Debian-like machine with root), then run the whole suite.
# On Debian-like machines with root it also installs nginx's stream module
# (libnginx-mod-stream, a dynamic module there) so the ssl-passthrough tests run instead of
# being skipped (docs/passthrough.md).
# It also unpacks a current nginx beside the system's (scripts/mainline-nginx.sh) for the tests
# that need a newer one.
# It checks the import contracts (lint-imports) first.
# Arguments are passed to pytest, e.g. `bash scripts/test.sh -k golden -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

have_nginx() { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; }

if ! have_nginx; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
    else
        echo "nginx is not installed: install it (e.g. apt-get install nginx-light);" \
             "tests needing it are skipped unless INGRESS2NGINX_REQUIRE_NGINX=1" >&2
    fi
fi

# Debian builds the stream module as a dynamic module in its own package; nginx.org builds
# have it built in (then `nginx -V` does not say "--with-stream=dynamic": nothing to do).
nginx_binary=$(command -v nginx || echo /usr/sbin/nginx)
if [ -x "$nginx_binary" ] && "$nginx_binary" -V 2>&1 | grep -q -- '--with-stream=dynamic'; then
    modules=$("$nginx_binary" -V 2>&1 | grep -o -- '--modules-path=[^ ]*' | cut -d= -f2 || true)
    if [ ! -e "${modules:-/usr/lib/nginx/modules}/ngx_stream_module.so" ] \
            && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        install_stream() {
            apt-get install -y -qq --no-install-recommends libnginx-mod-stream >/dev/null
        }
        install_stream 2>/dev/null || { apt-get update -qq && install_stream; } \
            || echo "could not install libnginx-mod-stream: ssl-passthrough tests are skipped" >&2
    fi
fi

# A current nginx (Debian unstable's, unpacked into a private folder: scripts/mainline-nginx.sh)
# for the tests that need features newer than Debian stable's nginx 1.22. An already exported
# INGRESS2NGINX_MAINLINE_NGINX is kept; without apt-get those tests skip (or fail in CI).
if [ -z "${INGRESS2NGINX_MAINLINE_NGINX:-}" ] && command -v apt-get >/dev/null 2>&1; then
    if mainline=$(bash scripts/mainline-nginx.sh); then
        export INGRESS2NGINX_MAINLINE_NGINX="$mainline"
    else
        echo "could not unpack a current nginx: tests/test_mainline_nginx.py is skipped" >&2
    fi
fi

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
# The import contracts of pyproject.toml (layers, the Kubernetes client only in cluster/);
# tests/test_architecture.py runs them too, so a bare pytest checks them as well.
PYTHONPATH="$PWD" lint-imports --no-cache
exec python3 -m pytest "$@"
