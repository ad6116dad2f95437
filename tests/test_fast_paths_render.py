"""Each shortcut rendering takes for the common case answers exactly what the general code
answers (quoting, file names, proxy directives)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingress2nginx.core import quoting
from ingress2nginx.core.settings import GlobalConfig
from ingress2nginx.features import proxy
from ingress2nginx.render.rendering import file_in


def _literal_in_full(value: str) -> str:
    """`quoting.literal` as first written: refuse control characters, then quote."""
    quoting._refuse_control(value)
    if quoting._BARE.match(value):
        return value
    return '"' + quoting._ESCAPE.sub(lambda found: "\\" + found.group(), value) + '"'


def _outcome(function: Callable[[str], str], value: str) -> tuple[str, str]:
    try:
        return ("token", function(value))
    except quoting.UnsafeValueError as error:
        return ("refused", str(error))


_VALUES = st.one_of(
    st.text("az09_./:@%+,=*!^~$[]- \"\\'nrt;{}#\n\r\t\x00\x7f\x85\u2028\u00e9", max_size=12),
    st.text(max_size=12),
)


@settings(max_examples=3000, deadline=None)
@given(_VALUES)
@example("")
@example("a\n")
@example("/api\x00")
@example("\u2029")
def test_a_plain_word_is_quoted_and_refused_as_any_value(value: str) -> None:
    assert _outcome(quoting.literal, value) == _outcome(_literal_in_full, value)


_DIRECTORIES = st.one_of(
    st.sampled_from(["/", "//", ".", "", "/var/lib/certs", "certs", "./certs/", "/a//b/./c"]),
    st.text("/.ab", max_size=8),
).map(Path)
_NAMES = st.one_of(
    st.sampled_from(["", ".", "..", "a.crt", "/abs.crt", "a/b.key", "./x", ".crt"]),
    st.text("/.ab-_ ", max_size=8),
)


@settings(max_examples=2000, deadline=None)
@given(_DIRECTORIES, _NAMES)
def test_a_file_in_a_directory_is_named_as_pathlib_names_it(directory: Path, name: str) -> None:
    assert file_in(directory, name) == str(directory / name)


def _simple_in_full(options: proxy.ProxyOptions, config: GlobalConfig) -> list[tuple[str, str]]:
    """proxy.py's one-argument directives as first written: a table built per call."""
    secs = proxy._secs
    literal, trusted = quoting.literal, quoting.trusted
    table = [
        ("client_max_body_size", options.body_size, config.proxy_body_size, literal),
        ("proxy_connect_timeout", options.connect_timeout, config.proxy_connect_timeout, secs),
        ("proxy_send_timeout", options.send_timeout, config.proxy_send_timeout, secs),
        ("proxy_read_timeout", options.read_timeout, config.proxy_read_timeout, secs),
        ("proxy_buffering", options.buffering, config.proxy_buffering, trusted),
        ("proxy_buffer_size", options.buffer_size, config.proxy_buffer_size, literal),
        ("proxy_busy_buffers_size", options.busy_buffers_size, None, literal),
        ("proxy_max_temp_file_size", options.max_temp_file_size, None, literal),
        ("proxy_request_buffering", options.request_buffering,
         config.proxy_request_buffering, trusted),
        ("client_body_buffer_size", options.client_body_buffer_size,
         config.client_body_buffer_size, literal),
        ("proxy_http_version", options.http_version, config.proxy_http_version, trusted),
        ("proxy_next_upstream_tries", options.next_upstream_tries,
         config.proxy_next_upstream_tries, int),
        ("proxy_next_upstream_timeout", options.next_upstream_timeout,
         config.proxy_next_upstream_timeout, secs),
    ]  # fmt: skip
    return [
        (name, make(value))
        for name, value, default, make in table
        if value is not None and value != default
    ]


_SIZES = st.sampled_from(["1m", "8m", "4k", "0", "16k", "1g"])
_SECONDS = st.integers(0, 700)
_PROXY_OPTIONS = st.builds(
    proxy.ProxyOptions,
    body_size=st.none() | _SIZES,
    connect_timeout=st.none() | _SECONDS,
    send_timeout=st.none() | _SECONDS,
    read_timeout=st.none() | _SECONDS,
    buffering=st.none() | st.sampled_from(["on", "off"]),
    buffer_size=st.none() | _SIZES,
    busy_buffers_size=st.none() | _SIZES,
    max_temp_file_size=st.none() | _SIZES,
    request_buffering=st.none() | st.sampled_from(["on", "off"]),
    client_body_buffer_size=st.none() | _SIZES,
    http_version=st.none() | st.sampled_from(["1.0", "1.1"]),
    next_upstream_tries=st.none() | st.integers(0, 5),
    next_upstream_timeout=st.none() | _SECONDS,
)
_GLOBAL_CONFIGS = st.builds(
    GlobalConfig,
    proxy_body_size=_SIZES,
    proxy_read_timeout=_SECONDS,
    proxy_buffering=st.sampled_from(["on", "off"]),
    proxy_next_upstream_tries=st.integers(0, 5),
)


@settings(max_examples=2000, deadline=None)
@given(_PROXY_OPTIONS, st.one_of(st.just(GlobalConfig()), _GLOBAL_CONFIGS))
def test_proxy_directives_are_the_ones_the_table_gives(
    options: proxy.ProxyOptions, config: GlobalConfig
) -> None:
    assert proxy._simple(options, config) == _simple_in_full(options, config)
