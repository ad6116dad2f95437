"""Global options from ``--config FILE``, named as in ingress-nginx's ConfigMap.

The file is either a plain YAML mapping (``hsts-max-age: "600"``) or an ingress-nginx
ConfigMap manifest, whose ``data`` is read, so people migrating can pass the ConfigMap they
already have. Values are checked against an allowlist each; a bad value is an error naming
the key, an unknown or unsupported key a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from ingress2nginx.core.errors import shown
from ingress2nginx.core.settings import GlobalConfig
from ingress2nginx.features.balancing import load_balance
from ingress2nginx.features.base import AnnotationValueError, AnnotationValueIgnored
from ingress2nginx.features.compressing import mime_types, user_agent_pattern
from ingress2nginx.features.proxy import NEXT_UPSTREAM_CONDITIONS, ProxyOptions, buffer_problem
from ingress2nginx.features.values import (
    choice,
    cidrs,
    cipher_list,
    in_bytes,
    integer,
    offset,
    parse_bool,
    seconds,
    size,
    words,
)

TLS_PROTOCOLS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_SIZE = re.compile(r"[0-9]{1,9}[kKmM]?\Z")
_DURATION = re.compile(r"[0-9]{1,9}(ms|s|m|h|d)?\Z")


_HEADER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,99}\Z")


def _log_format(value: str) -> str:
    """An access log format: printable text (nginx variables expand in it, as they should)."""
    if not value.strip() or len(value) > 4096 or not value.isprintable():
        raise AnnotationValueError("must be one line of printable text, at most 4096 characters")
    return value


def _session_cache_size(value: str) -> str:
    """The shared TLS session cache: nginx refuses one smaller than 8 memory pages (32k with
    4k pages, 512k with 64k pages), so at least 512k."""
    if not _SIZE.match(value) or in_bytes(value) < 512 * 1024:
        raise AnnotationValueError("must be a size of at least 512k, like 10m")
    return value


def _number(value: str) -> int:
    if not value.isdigit() or len(value) > 10:
        raise AnnotationValueError("must be a whole number")
    return int(value)


def _protocols(value: str) -> tuple[str, ...]:
    protocols = tuple(value.split())
    unknown = [protocol for protocol in protocols if protocol not in TLS_PROTOCOLS]
    if not protocols or unknown:
        raise AnnotationValueError(f"must be some of {', '.join(TLS_PROTOCOLS)}")
    return protocols


_PATH_PREFIX = re.compile(r"/[A-Za-z0-9._~%/:@!$&'()*+=-]{0,1023}\Z")


def _path_prefixes(value: str) -> tuple[str, ...]:
    """Comma-separated URL path prefixes (no-auth-locations); empty items are skipped."""
    found = tuple(item.strip() for item in value.split(",") if item.strip())
    if not all(_PATH_PREFIX.match(item) for item in found):
        raise AnnotationValueError("must be URL paths starting with /, comma-separated")
    return found


def _pattern(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if not pattern.match(value):
            raise AnnotationValueError(f"must be {what}")
        return value

    return parse


OPTIONS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "ssl-redirect": ("ssl_redirect", parse_bool),
    "hsts": ("hsts", parse_bool),
    "hsts-max-age": ("hsts_max_age", _number),
    "hsts-include-subdomains": ("hsts_include_subdomains", parse_bool),
    "hsts-preload": ("hsts_preload", parse_bool),
    "ssl-protocols": ("ssl_protocols", _protocols),
    "ssl-ciphers": ("ssl_ciphers", cipher_list),
    "ssl-session-cache-size": ("ssl_session_cache_size", _session_cache_size),
    "ssl-session-timeout": ("ssl_session_timeout", _pattern(_DURATION, "a duration like 10m")),
    "proxy-body-size": ("proxy_body_size", offset),
    "proxy-connect-timeout": ("proxy_connect_timeout", seconds),
    "proxy-send-timeout": ("proxy_send_timeout", seconds),
    "proxy-read-timeout": ("proxy_read_timeout", seconds),
    "proxy-buffering": ("proxy_buffering", choice("on", "off")),
    "proxy-buffer-size": ("proxy_buffer_size", size),
    "proxy-buffers-number": ("proxy_buffers_number", integer(1, 1024)),
    "proxy-request-buffering": ("proxy_request_buffering", choice("on", "off")),
    "client-body-buffer-size": ("client_body_buffer_size", size),
    "proxy-http-version": ("proxy_http_version", choice("1.0", "1.1")),
    "proxy-next-upstream": ("proxy_next_upstream", words(NEXT_UPSTREAM_CONDITIONS)),
    "proxy-next-upstream-tries": ("proxy_next_upstream_tries", integer(0, 1000)),
    "proxy-next-upstream-timeout": ("proxy_next_upstream_timeout", seconds),
    "load-balance": ("load_balance", load_balance),
    "upstream-keepalive-connections": ("upstream_keepalive_connections", integer(0, 100000)),
    "keep-alive": ("keep_alive", seconds),
    "server-tokens": ("server_tokens", parse_bool),
    "worker-processes": (
        "worker_processes",
        _pattern(re.compile(r"(auto|[1-9][0-9]{0,3})\Z"), "auto or a number"),
    ),
    "max-worker-connections": ("max_worker_connections", integer(16, 1048576)),
    "error-log-level": (
        "error_log_level",
        choice("debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"),
    ),
    "disable-access-log": ("disable_access_log", parse_bool),
    "use-forwarded-headers": ("use_forwarded_headers", parse_bool),
    "forwarded-for-header": ("forwarded_for_header", _pattern(_HEADER, "a header name")),
    "compute-full-forwarded-for": ("compute_full_forwarded_for", parse_bool),
    "enable-real-ip": ("enable_real_ip", parse_bool),
    "proxy-real-ip-cidr": ("proxy_real_ip_cidr", cidrs),
    "use-proxy-protocol": ("use_proxy_protocol", parse_bool),
    "log-format-upstream": ("log_format_upstream", _log_format),
    "log-format-escape-json": ("log_format_escape_json", parse_bool),
    "log-format-escape-none": ("log_format_escape_none", parse_bool),
    "allow-cross-namespace-resources": ("allow_cross_namespace_resources", parse_bool),
    "use-gzip": ("use_gzip", parse_bool),
    "gzip-level": ("gzip_level", integer(1, 9)),
    "gzip-min-length": ("gzip_min_length", integer(0, 2**31 - 1)),
    "gzip-types": ("gzip_types", mime_types),
    "gzip-disable": ("gzip_disable", user_agent_pattern),
    "no-auth-locations": ("no_auth_locations", _path_prefixes),
    "limit-req-status-code": ("limit_req_status_code", integer(400, 599)),
    "limit-conn-status-code": ("limit_conn_status_code", integer(400, 599)),
}
"""ConfigMap key -> (GlobalConfig field, parser)."""


def load_global_config(path: Path) -> tuple[GlobalConfig, list[str]]:
    """Read a config file; ValueError names the file and key of a bad value.

    Returns the config and warnings (unknown keys).
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ValueError(f"--config {path}: cannot read: {error}") from error
    return parse_global_config(document, str(path))


def parse_global_config(document: object, origin: str) -> tuple[GlobalConfig, list[str]]:
    """Global options from a parsed document (a mapping, or a ConfigMap with ``data``)."""
    if isinstance(document, Mapping) and document.get("kind") == "ConfigMap":
        document = document.get("data") or {}
    if not isinstance(document, Mapping):
        raise ValueError(f"--config {origin}: must be a mapping of option to value")
    changes: dict[str, Any] = {}
    warnings = []
    for key in sorted(document, key=str):
        value = document[key]
        known = OPTIONS.get(key) if isinstance(key, str) else None
        if known is None:
            warnings.append(f"warning: --config {origin}: {shown(key)}: unknown option; ignored")
            continue
        field, parse = known
        text = str(value).lower() if isinstance(value, bool) else str(value)
        try:
            changes[field] = parse(text)
        except AnnotationValueIgnored as notice:
            warnings.append(f"warning: --config {origin}: {key}: {notice}; ignored")
        except AnnotationValueError as error:
            raise ValueError(f"--config {origin}: {key}: {shown(text)} {error}") from error
    config = replace(GlobalConfig(), **changes)
    problem = buffer_problem(ProxyOptions(), config)  # what nginx checks of them together
    if problem is not None:
        raise ValueError(f"--config {origin}: proxy buffers: {problem}")
    return config, warnings
