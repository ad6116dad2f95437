"""Each shortcut taken for the common case answers exactly what the general code answers."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingress2nginx.core import grammar, quoting
from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import ObjectRef, shown
from ingress2nginx.core.settings import GlobalConfig
from ingress2nginx.features import DEFAULT_OPTIONS, IngressOptions, _options, proxy
from ingress2nginx.normalize import metadata, paths, validating
from ingress2nginx.normalize.endpoints import _Collected, parse_ip
from ingress2nginx.normalize.fields import Report, json_type, keyed, utf8_length
from ingress2nginx.normalize.ingress_view import HTTPPath, ServiceBackend
from ingress2nginx.render.rendering import file_in

_OCTETS = st.one_of(st.integers(0, 300).map(str), st.text("0123456789", min_size=1, max_size=4))
_ADDRESSES = st.one_of(
    st.lists(_OCTETS, min_size=1, max_size=5).map(".".join),
    st.text("0123456789.:abcdef%x ", max_size=20),
    st.ip_addresses().map(str),
)


@settings(max_examples=2000, deadline=None)
@given(_ADDRESSES)
@example("01.2.3.4")
@example("1.2.3.04")
@example("256.1.1.1")
@example("1.2.3")
@example("0.0.0.0")
@example("255.255.255.255")
def test_an_endpoint_address_reads_as_ipaddress_reads_it(address: str) -> None:
    found = _Collected()
    found.add(address, 8080, "endpoints", 0)
    result = found.result()
    ip = parse_ip(address)
    if ip is None:
        assert not result.endpoints and result.skipped
    else:
        [endpoint], [key] = result.endpoints, result.order
        assert (endpoint.address, endpoint.port) == (str(ip), 8080)
        assert key == (ip.version, int(ip), 8080)


def _is_ip_address_in_full(host: str) -> bool:
    candidate = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return grammar._IPV4_SLOPPY.fullmatch(candidate) is not None and all(
            int(part) <= 255 for part in candidate.split(".")
        )
    return True


@settings(max_examples=2000, deadline=None)
@given(st.one_of(_ADDRESSES, st.text(max_size=12), _ADDRESSES.map(lambda a: f"[{a}]")))
def test_a_host_is_an_ip_address_exactly_when_ipaddress_says_so(host: str) -> None:
    assert grammar._is_ip_address(host) == _is_ip_address_in_full(host)


def _literal_path_problem_in_full(path: str) -> str | None:
    if not path.startswith("/"):
        return "must be an absolute path (start with '/')"
    if len(path) > paths.PATH_MAX_LENGTH:
        return f"must be no more than {paths.PATH_MAX_LENGTH} characters"
    problem = grammar.refused_characters(path) or paths._path_character_problem(path)
    if problem:
        return problem
    try:
        decoded = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return "percent-escapes must decode to UTF-8 text"
    refused = grammar.refused_characters(decoded)
    if refused:
        return f"once percent-decoded, {refused}"
    return _dot_segment_problem_in_full(path, decoded)


def _dot_segment_problem_in_full(path: str, decoded: str) -> str | None:
    after = "" if decoded == path else " once percent-decoded"
    for sequence in ("//", "/./", "/../"):
        if sequence in decoded:
            return f"must not contain '{sequence}'{after}"
    for suffix in ("/..", "/."):
        if decoded.endswith(suffix):
            return f"must not end with '{suffix}'{after}"
    return None


_PATHS = st.one_of(
    st.text("/.%2fFe9aA-_~!$&'()*+,;=:@? #\\\n\u00e9", max_size=16),
    st.text(max_size=16).map(lambda text: "/" + text),
    st.sampled_from(["/", "/api", "/a/../b", "/a/.", "//", "/%2e%2e/", "/caf%C3%A9", "/a" * 1025]),
)


@settings(max_examples=2000, deadline=None)
@given(_PATHS)
def test_a_plain_path_is_checked_and_decoded_as_any_path(path: str) -> None:
    problem = paths._literal_path_problem(path)
    assert problem == _literal_path_problem_in_full(path)
    if problem is None and path:
        assert paths.location_path(path) == unquote_to_bytes(path).decode("utf-8")


def _public_der(public_key: Any) -> bytes:
    return bytes(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


_PRIVATE_KEYS = (
    rsa.generate_private_key(65537, 1024),
    rsa.generate_private_key(3, 1024),
    ec.generate_private_key(ec.SECP256R1()),
    ec.generate_private_key(ec.SECP384R1()),
    ed25519.Ed25519PrivateKey.generate(),
    ed448.Ed448PrivateKey.generate(),
    dsa.generate_private_key(1024),
)
_PUBLIC_KEYS = [key.public_key() for key in _PRIVATE_KEYS] + [
    serialization.load_der_public_key(_public_der(key.public_key())) for key in _PRIVATE_KEYS
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_PUBLIC_KEYS), st.sampled_from(_PUBLIC_KEYS))
def test_public_keys_are_equal_exactly_when_they_serialize_alike(one: Any, other: Any) -> None:
    assert (one != other) == (_public_der(one) != _public_der(other))


def _path_problem_in_full(path: str, path_type: str) -> str | None:
    if path_type not in paths.PATH_TYPES:
        return f"pathType must be one of {', '.join(paths.PATH_TYPES)}"
    if path == "" and path_type == paths.IMPLEMENTATION_SPECIFIC:
        return None
    sign = paths.regex_sign(path)
    if sign is not None and path_type != paths.IMPLEMENTATION_SPECIFIC:
        return (
            f"looks like a regular expression ({shown(sign)}), but pathType {path_type} matches"
            " the path as written: use pathType ImplementationSpecific with the annotation"
            ' nginx.ingress.kubernetes.io/use-regex: "true"'
        )
    return _literal_path_problem_in_full(path)


_PATH_TYPE_NAMES = st.sampled_from([*paths.PATH_TYPES, "prefix", ""])


@settings(max_examples=3000, deadline=None)
@given(st.one_of(_PATHS, st.text("/-._~a0*+$)", max_size=12)), _PATH_TYPE_NAMES)
@example("/a" * 1025, "Prefix")
@example("/a/..", "Exact")
@example("/a.*", "Prefix")
def test_a_quiet_path_is_checked_as_any_path(path: str, path_type: str) -> None:
    assert paths.path_problem(path, path_type) == _path_problem_in_full(path, path_type)


def _host_problem_in_full(host: str) -> str | None:
    if host == "":
        return "must not be empty"
    refused = grammar.refused_characters(host)
    if refused:
        return refused
    if len(host) > grammar.DNS1123_SUBDOMAIN_MAX:
        return f"must be no more than {grammar.DNS1123_SUBDOMAIN_MAX} characters"
    if _is_ip_address_in_full(host):
        return "an IP address is not allowed; use a DNS name"
    if not host.isascii():
        return "must be ASCII; write an internationalized name in its punycode (xn--) form"
    if host.lower() != host:
        return "must be lowercase"
    if re.fullmatch(r"[^:]+:[0-9]*", host):
        return "must not include a port"
    if "*" in host:
        if not host.startswith("*.") or "*" in host[2:] or host == "*.":
            return 'wildcard must be "*." followed by a DNS name'
        host = host[2:]
    return grammar._dns_name_problem(host)


_LABELS = st.one_of(
    st.text("abz09-", min_size=1, max_size=6),
    st.sampled_from(["a" * 63, "a" * 64, "-a", "a-", "xn--caf-dma", "A", ""]),
)
_HOSTS = st.one_of(
    st.lists(_LABELS, min_size=1, max_size=5).map(".".join),
    st.lists(_LABELS, min_size=1, max_size=4).map(lambda labels: "*." + ".".join(labels)),
    st.lists(st.sampled_from(["a" * 63, "b" * 62]), min_size=3, max_size=5).map(".".join),
    st.text("abc019.-*:[]A\u00e9\n", max_size=14),
    _ADDRESSES,
)


@settings(max_examples=3000, deadline=None)
@given(_HOSTS)
@example("1.2.3.4")
@example("*.1.2.3.4")
@example("0x1.example")
@example("a.b.")
def test_a_plain_host_is_checked_as_any_host(host: str) -> None:
    assert grammar.host_problem(host) == _host_problem_in_full(host)


def _is_port_name_in_full(s: str) -> bool:
    return (
        0 < len(s) <= grammar.PORT_NAME_MAX
        and re.fullmatch(r"[-a-z0-9]+", s) is not None
        and any("a" <= c <= "z" for c in s)
        and "--" not in s
        and not s.startswith("-")
        and not s.endswith("-")
    )


@settings(max_examples=3000, deadline=None)
@given(st.one_of(st.text("ab09-", max_size=17), st.text(max_size=4)))
@example("a" * 15)
@example("a" * 16)
@example("1-2")
def test_a_port_name_is_checked_in_one_match_as_in_full(name: str) -> None:
    assert grammar.is_port_name(name) == _is_port_name_in_full(name)


_REF = ObjectRef("Ingress", "default", "site")


@settings(max_examples=2000, deadline=None)
@given(st.one_of(_HOSTS, st.text(max_size=8)))
def test_a_rule_host_found_valid_is_read_as_any_host(host: str) -> None:
    report = Report(_REF)
    rule = validating._check_rule(report, "r", {"host": host})
    if grammar.host_problem(host) is None:
        assert rule is not None and rule.host == host
        assert report.problems == []
    full = Report(_REF)
    text = full.text("r.host", host or None, Code.INVALID_HOST)
    if text is not None:
        validating._check_host(full, "r.host", text, Code.INVALID_HOST)
    assert report.problems == full.problems


def _text_in_full(report: Report, path: str, value: object, required: bool) -> str | None:
    if value is None or (required and value == ""):
        if required:
            report.add(path, "is required", Code.INVALID_NAME)
        return None
    if not isinstance(value, str):
        report.add(path, f"must be a string, not {json_type(value)}", Code.INVALID_NAME)
        return None
    refused = grammar.refused_characters(value)
    if refused:
        report.invalid(path, value, refused, Code.INVALID_CHARACTER)
        return None
    return value


_STRINGS = st.one_of(
    st.text(max_size=8),
    st.text("ab \t\n\x7f\x85\u2028\u202e\ud800\u00e9", max_size=6),
    st.characters(max_codepoint=0x2070).map(str),
)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(_STRINGS, st.none(), st.integers()), st.booleans())
def test_a_printable_ascii_field_is_read_as_any_field(value: object, required: bool) -> None:
    fast, full = Report(_REF), Report(_REF)
    read = fast.text("f", value, Code.INVALID_NAME, required=required)
    assert read == _text_in_full(full, "f", value, required)
    assert fast.problems == full.problems


@settings(max_examples=2000, deadline=None)
@given(_STRINGS)
def test_an_ascii_length_in_utf8_is_its_length(text: str) -> None:
    assert utf8_length(text) == len(text.encode("utf-8", "surrogatepass"))


def _check_labels_in_full(report: Report, labels: dict[object, object]) -> None:
    for key, value in labels.items():
        path = keyed("metadata.labels", key)
        name = report.text(path, key, Code.INVALID_LABEL)
        if name is not None and not grammar.is_qualified_name(name):
            report.invalid(path, name, metadata._QUALIFIED_REASON, Code.INVALID_LABEL)
        text = report.text(path, value, Code.INVALID_LABEL)
        if text is not None and not grammar.is_label_value(text):
            report.invalid(path, text, metadata._LABEL_VALUE_REASON, Code.INVALID_LABEL)


_LABEL_TEXT = st.one_of(
    st.sampled_from(["app", "app.kubernetes.io/name", "a/b", "-a", "a" * 64, "", "A_b.c"]),
    _STRINGS,
    st.integers(),
)


@settings(max_examples=2000, deadline=None)
@given(st.dictionaries(_LABEL_TEXT, st.one_of(_LABEL_TEXT, st.none()), max_size=4))
def test_a_valid_label_is_checked_as_any_label(labels: dict[object, object]) -> None:
    fast, full = Report(_REF), Report(_REF)
    metadata._check_labels(fast, labels)
    _check_labels_in_full(full, labels)
    assert fast.problems == full.problems


def _check_http_path_in_full(report: Report, path: str, raw: object) -> HTTPPath | None:
    entry = report.entry(path, raw, Code.INVALID_PATH)
    if entry is None:
        return None
    path_type = validating._check_path_type(report, f"{path}.pathType", entry.get("pathType"))
    raw_value = entry.get("path")
    value = report.text(f"{path}.path", "" if raw_value is None else raw_value, Code.INVALID_PATH)
    if path_type is not None and value is not None:
        validating._check_path_value(report, f"{path}.path", value, path_type)
    raw_backend = entry.get("backend")
    backend = None
    if raw_backend is None:
        report.add(f"{path}.backend", "is required", Code.INVALID_BACKEND)
    else:
        backend = validating._check_backend(report, f"{path}.backend", raw_backend)
    if path_type is None or value is None or backend is None:
        return None
    return HTTPPath(value, validating._PATH_TYPES[path_type], backend, path)


_ODD = st.one_of(st.none(), st.booleans(), st.integers(-1, 3), st.just([]), st.just("x\n"))
_PORT_NUMBERS = st.one_of(st.sampled_from([80, 0, 65535, 65536, 443.0, "80"]), _ODD)
_PORT_NAMES = st.one_of(st.sampled_from(["http", "", "HTTP", "a--b", "-a", "1", "a" * 16]), _ODD)
_PORTS = st.one_of(
    st.fixed_dictionaries({"number": _PORT_NUMBERS}),
    st.fixed_dictionaries({"name": _PORT_NAMES}),
    st.fixed_dictionaries({}, optional={"number": _PORT_NUMBERS, "name": _PORT_NAMES}),
    _ODD,
)
_SERVICE_NAMES = st.one_of(st.sampled_from(["app", "", "App", "1app", "a" * 64, "a-"]), _ODD)
_SERVICES = st.one_of(
    st.fixed_dictionaries({"name": _SERVICE_NAMES, "port": _PORTS}),
    st.fixed_dictionaries({}, optional={"name": _SERVICE_NAMES, "port": _PORTS}),
    _ODD,
)
_BACKENDS = st.one_of(
    st.fixed_dictionaries({"service": _SERVICES}),
    st.fixed_dictionaries(
        {},
        optional={
            "service": _SERVICES,
            "resource": st.one_of(st.just({"kind": "Bucket"}), _ODD),
            "serviceName": st.just("app"),
        },
    ),
    _ODD,
)
_ENTRY_PATHS = st.one_of(_PATHS, _ODD, st.sampled_from(["", "/", "/a.*", "/api(/|$)(.*)"]))
_ENTRY_PATH_TYPES = st.one_of(_PATH_TYPE_NAMES, _ODD)
_USUAL_PORTS = st.one_of(
    st.fixed_dictionaries({"number": st.integers(-1, 70000)}),
    st.fixed_dictionaries({"name": st.sampled_from(["http", "h2c", "a--b", "x" * 16])}),
    st.fixed_dictionaries({"name": st.just(""), "number": st.sampled_from([80, None, True])}),
)
_USUAL_ENTRIES = st.fixed_dictionaries(
    {
        "path": st.one_of(st.sampled_from(["/", "/api", "", "/a/..", "/caf%C3%A9"]), _PATHS),
        "pathType": st.sampled_from(paths.PATH_TYPES),
        "backend": st.fixed_dictionaries(
            {"service": st.fixed_dictionaries({"name": st.just("app"), "port": _USUAL_PORTS})}
        ),
    }
)
_ENTRIES = st.one_of(
    _USUAL_ENTRIES,
    st.fixed_dictionaries(
        {"path": _ENTRY_PATHS, "pathType": _ENTRY_PATH_TYPES, "backend": _BACKENDS}
    ),
    st.fixed_dictionaries(
        {},
        optional={"path": _ENTRY_PATHS, "pathType": _ENTRY_PATH_TYPES, "backend": _BACKENDS},
    ),
)


@settings(max_examples=3000, deadline=None)
@given(_ENTRIES)
@example(
    {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": "a", "port": {"number": 80}}},
    }
)
@example(
    {
        "pathType": "ImplementationSpecific",
        "backend": {"service": {"name": "a", "port": {"name": "http"}}},
    }
)
def test_a_plain_http_path_is_read_as_any_http_path(entry: dict[str, object]) -> None:
    report = Report(_REF)
    full = _check_http_path_in_full(report, "p", entry)
    plain = validating._plain_http_path("p", entry)
    if plain is not None:
        assert (plain, report.problems) == (full, [])
    fast = Report(_REF)
    assert (validating._check_http_path(fast, "p", entry), fast.problems) == (full, report.problems)


def test_the_usual_http_path_takes_the_short_way() -> None:
    backend = {"service": {"name": "app", "port": {"number": 80}}}
    plain = validating._plain_http_path(
        "p", {"path": "/api", "pathType": "Prefix", "backend": backend}
    )
    assert plain == HTTPPath(
        "/api", validating._PATH_TYPES["Prefix"], ServiceBackend("app", 80), "p"
    )


_GROUP_CHANGES = st.sampled_from(
    [
        (group.name, type(getattr(DEFAULT_OPTIONS, group.name)))
        for group in dataclasses.fields(IngressOptions)
        if group.init
    ]
).flatmap(
    lambda named: st.tuples(
        st.just(named[0]),
        st.dictionaries(
            st.sampled_from([attribute.name for attribute in dataclasses.fields(named[1])]),
            st.one_of(st.none(), st.integers(), st.text(max_size=3)),
            min_size=1,
        ),
    )
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(_GROUP_CHANGES, max_size=4).map(dict))
def test_options_are_the_defaults_replaced(values: dict[str, dict[str, object]]) -> None:
    groups = {
        name: dataclasses.replace(getattr(DEFAULT_OPTIONS, name), **changes)
        for name, changes in values.items()
    }
    assert _options(values) == dataclasses.replace(DEFAULT_OPTIONS, **groups)


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
