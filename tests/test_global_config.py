"""--config values nginx would refuse are refused when the file is read, naming the key; the
compression keys (use-gzip, gzip-level, gzip-min-length, gzip-types, gzip-disable) through
real nginx."""

from __future__ import annotations

import contextlib
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e import Site, echo_service, ingress, path, rule, serving, started_backends, to

from ingress2nginx.core.settings import GZIP_TYPES
from ingress2nginx.sources.configuring import parse_global_config


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"ssl-session-cache-size": "4k"}, "ssl-session-cache-size"),
        ({"max-worker-connections": "2"}, "max-worker-connections"),
        ({"proxy-buffer-size": "0"}, "proxy-buffer-size must not be 0"),
        ({"proxy-buffers-number": "1"}, "at least 2 proxy buffers"),
        ({"proxy-buffers-number": "3"}, "raise proxy-buffers-number"),
        ({"gzip-level": "10"}, 'gzip-level: "10" must be a whole number from 1 to 9'),
        ({"gzip-min-length": "-1"}, "gzip-min-length"),
        ({"gzip-types": "text/css; evil"}, "gzip-types: .* must be MIME types"),
        ({"gzip-types": "text/$host"}, "gzip-types"),
        ({"use-gzip": "yes please"}, "use-gzip"),
        ({"gzip-disable": "MSIE [4-6"}, "gzip-disable: .* not a valid regular expression"),
        ({"gzip-disable": "(?<ua>curl)"}, "gzip-disable: .* named groups"),
        ({"gzip-disable": "curl\tbot"}, "gzip-disable: .* printable ASCII"),
        ({"no-auth-locations": "/ok, no-slash"}, "no-auth-locations: .* URL paths"),
        ({"no-auth-locations": "/a;b"}, "no-auth-locations"),
    ],
)
def test_a_value_nginx_would_refuse_is_an_error_naming_it(
    options: dict[str, str], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        parse_global_config(options, "config.yaml")


def test_values_nginx_takes_are_read() -> None:
    config, warnings = parse_global_config(
        {"ssl-session-cache-size": "512k", "max-worker-connections": "16",
         "proxy-buffers-number": "4", "proxy-buffer-size": "8k"}, "config.yaml"
    )  # fmt: skip
    assert warnings == []
    assert (config.ssl_session_cache_size, config.max_worker_connections) == ("512k", 16)
    assert (config.proxy_buffers_number, config.proxy_buffer_size) == (4, "8k")


def test_compression_and_no_auth_keys_default_as_in_ingress_nginx() -> None:
    config, _ = parse_global_config({}, "config.yaml")
    assert (config.use_gzip, config.gzip_level, config.gzip_min_length) == (False, 1, 256)
    assert config.gzip_types == GZIP_TYPES
    assert "application/json" in config.gzip_types
    assert config.no_auth_locations == ("/.well-known/acme-challenge",)
    changed, warnings = parse_global_config(
        {"use-gzip": True, "gzip-types": "Application/JSON  text/css", "no-auth-locations": ""},
        "config.yaml",
    )
    assert warnings == []
    assert (changed.use_gzip, changed.gzip_types) == (True, ("application/json", "text/css"))
    assert changed.no_auth_locations == ()


# --------------------------------------------------------------------------- compression

ACCEPTS_GZIP = {"Accept-Encoding": "gzip"}


@contextlib.contextmanager
def site_with(tmp_path: Path, nginx_binary: str, options: dict[str, str]) -> Iterator[Site]:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(options))
    with started_backends("web") as echo:
        objects = [ingress("web", rules=[rule("web.test", path("/", to("web")))]),
                   *echo_service(echo["web"])]  # fmt: skip
        with serving(objects, "--config", str(config), binary=nginx_binary) as served:
            yield served


def echoed(site: Site) -> tuple[str | None, dict[str, Any]]:
    """The Content-Encoding of the answer to a client accepting gzip, and the echoed request."""
    response = site.get("/page", host="web.test", headers=ACCEPTS_GZIP)
    assert (response.status, response.backend) == (200, "web")
    encoding = response.headers.get("Content-Encoding")
    body = gzip.decompress(response.body) if encoding == "gzip" else response.body
    return encoding, json.loads(body)


def test_responses_are_not_compressed_by_default(tmp_path: Path, nginx_binary: str) -> None:
    with site_with(tmp_path, nginx_binary, {}) as site:
        assert echoed(site)[0] is None
        assert "gzip" not in site.rendered.config


def test_use_gzip_compresses_the_listed_types_for_clients_that_accept_it(
    tmp_path: Path, nginx_binary: str
) -> None:
    with site_with(tmp_path, nginx_binary, {"use-gzip": "true", "gzip-level": "9"}) as site:
        encoding, request = echoed(site)
        assert encoding == "gzip"
        assert request["path"] == "/page"
        assert request["headers"]["accept-encoding"] == "gzip"  # the backend is asked as is
        answer = site.get("/page", host="web.test", headers=ACCEPTS_GZIP)
        assert answer.headers["Vary"] == "Accept-Encoding"
        plain = site.get("/page", host="web.test")
        assert plain.headers.get("Content-Encoding") is None
        assert plain.json()["path"] == "/page"
        assert "gzip_comp_level 9;" in site.rendered.config


@pytest.mark.parametrize(
    "options",
    [
        {"use-gzip": "true", "gzip-types": "text/css"},  # application/json is not listed
        {"use-gzip": "true", "gzip-min-length": "100000"},  # the echo is shorter
    ],
)
def test_gzip_types_and_gzip_min_length_limit_what_is_compressed(
    tmp_path: Path, nginx_binary: str, options: dict[str, str]
) -> None:
    with site_with(tmp_path, nginx_binary, options) as site:
        assert echoed(site)[0] is None
        assert "gzip on;" in site.rendered.config


def test_gzip_disable_sends_matching_user_agents_plain_answers(
    tmp_path: Path, nginx_binary: str
) -> None:
    options = {"use-gzip": "true", "gzip-disable": 'Legacy-Browser/[1-3]\\. "x"|msie6'}
    with site_with(tmp_path, nginx_binary, options) as site:
        assert 'gzip_disable "Legacy-Browser/[1-3]\\. \\"x\\"|msie6";' in site.rendered.config
        old = site.get("/page", host="web.test", headers={**ACCEPTS_GZIP,
                       "User-Agent": 'legacy-browser/2. "x"'})  # fmt: skip
        assert (old.status, old.headers.get("Content-Encoding")) == (200, None)
        newer = site.get("/page", host="web.test", headers={**ACCEPTS_GZIP,
                         "User-Agent": "Legacy-Browser/4. x"})  # fmt: skip
        assert newer.headers.get("Content-Encoding") == "gzip"
        assert echoed(site)[0] == "gzip"  # no User-Agent at all
