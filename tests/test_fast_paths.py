"""Each shortcut taken for the common case answers exactly what the general code answers."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingress2nginx.core import grammar
from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import ObjectRef
from ingress2nginx.normalize import validating
from ingress2nginx.normalize.endpoints import _Collected, parse_ip
from ingress2nginx.normalize.fields import Report

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
