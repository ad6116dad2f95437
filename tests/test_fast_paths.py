"""Each shortcut taken for the common case answers exactly what the general code answers."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import unquote_to_bytes

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingress2nginx.core import grammar
from ingress2nginx.normalize import paths
from ingress2nginx.normalize.endpoints import _Collected, parse_ip

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
    return paths._dot_segment_problem(path, decoded)


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
