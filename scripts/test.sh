#!/usr/bin/env bash
# Install everything the test suite needs (the package with its test extras, and nginx when it
# is missing and this is a Debian-like machine with root), then run the whole suite.
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

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
exec python3 -m pytest "$@"
