"""The balancing and affinity allowlists, the quoting helper behind upstream-hash-by, the global
``load-balance`` key, and how Ingresses sharing a Service port settle its balancing."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e import Obj, ingress, path, render, rule, service, to
from harness import test_config

from ingress2nginx.core.quoting import UnsafeValueError, interpolated, variable
from ingress2nginx.features.affinity import (
    cookie_domain,
    cookie_name,
    cookie_path,
    cookie_seconds,
    key_variable,
    same_site,
)
from ingress2nginx.features.balancing import (
    KNOWN_VARIABLES,
    Balancing,
    hash_key,
    load_balance,
    upstream_directive,
)
from ingress2nginx.features.base import AnnotationValueError, AnnotationValueIgnored
from ingress2nginx.sources.configuring import parse_global_config

PREFIX = "nginx.ingress.kubernetes.io/"


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("$request_uri", ("$request_uri",)),
        ("$request_uri$host", ("$request_uri", "$host")),
        ("${request_uri}-text-value", ("$request_uri", "-text-value")),
        ("${request_uri}text", ("$request_uri", "text")),
        ("$binary_remote_addr", ("$binary_remote_addr",)),
        ("v1-$http_x_user_id", ("v1-", "$http_x_user_id")),
        ("$cookie_Session_ID", ("$cookie_Session_ID",)),
        ("  $arg_tenant  ", ("$arg_tenant",)),
    ],
)
def test_hash_keys_are_read_as_nginx_reads_them(value: str, parts: tuple[str, ...]) -> None:
    assert hash_key(value) == parts


@pytest.mark.parametrize(
    "value",
    [
        "",
        "text-only",
        "$request_body",
        "$hostx",
        "$1",
        "${host",
        "$host;",
        "$host }",
        '$host"',
        "$host $uri",
        "$host\nproxy_pass http://evil;",
        "${host}${}",
        "$http_",
        "$secret_key",
        "$http_x." + "a" * 10,
        "$request_uri" * 30,
    ],
)
def test_hash_keys_outside_the_allowlist_are_refused(value: str) -> None:
    with pytest.raises(AnnotationValueError):
        hash_key(value)


def test_an_interpolated_token_expands_only_the_variables_named() -> None:
    assert interpolated(variable("request_uri"), "-v1") == "$request_uri-v1"
    assert interpolated(variable("host"), "abc") == '"${host}abc"'
    assert interpolated(variable("a"), variable("b")) == "$a$b"
    with pytest.raises(UnsafeValueError):
        interpolated(variable("host"), "$uri")
    for bad in ("1", "a-b", "a}", "", "a b"):
        with pytest.raises(UnsafeValueError):
            variable(bad)
    with pytest.raises(UnsafeValueError):
        interpolated("")


def test_every_allowlisted_variable_is_one_nginx_knows(nginx_binary: str) -> None:
    names = [*sorted(KNOWN_VARIABLES), "http_x_user", "cookie_session", "arg_page"]
    keys = [upstream_directive(Balancing("hash", ("$" + name,))) for name in names]
    upstreams = "\n".join(
        f"upstream u{index} {{\n{key.lines(1)[0]}\nserver 127.0.0.1:9;\n}}"
        for index, key in enumerate(keys)
        if key is not None
    )
    conf = (
        "events {}\nhttp {\n"
        'map $http_host $best_http_host { default $http_host; "" $host; }\n'
        f"{upstreams}\n}}\n"
    )
    accepted, output = test_config(conf, binary=nginx_binary)
    assert accepted, output


def test_load_balance_takes_what_nginx_implements_and_ignores_lua_balancers() -> None:
    assert load_balance("least_conn") == "least_conn"
    assert load_balance(" round_robin ") == "round_robin"
    for lua in ("ewma", "chash", "sticky_balanced"):
        with pytest.raises(AnnotationValueIgnored):
            load_balance(lua)
    for bad in ("random", "LEAST_CONN", "least_conn;", "ip_hash"):
        with pytest.raises(AnnotationValueError):
            load_balance(bad)


@pytest.mark.parametrize(
    ("parse", "good", "bad"),
    [
        (cookie_name, ["INGRESSCOOKIE", "route-id", "shop.route", "a_b~c"],
         ["", "a b", "a;b", "a=b", "a/b", 'a"', "a$b", "x" * 65]),
        (cookie_path, ["/", "/app", "/a/b-c_d.e~f%20"],
         ["app", "/a;Domain=x", "/a b", "/$uri", '/a"', "/a,b"]),
        (cookie_domain, ["example.com", ".example.com", "a-b.example.org"],
         ["", "example.com;", "-a.com", "a..com", "exa mple.com", "$host"]),
        (cookie_seconds, ["0", "3600", "-1"], ["", "1.5", "01", "1h", "- 1"]),
    ],
)  # fmt: skip
def test_cookie_attributes_keep_to_their_allowlists(
    parse: object, good: list[str], bad: list[str]
) -> None:
    assert callable(parse)
    for value in good:
        parse(value)
    for value in bad:
        with pytest.raises(AnnotationValueError):
            parse(value)


def test_samesite_is_read_in_any_case_and_written_capitalized() -> None:
    assert [same_site(v) for v in ("none", "LAX", "Strict")] == ["None", "Lax", "Strict"]


def test_cookie_variables_depend_on_the_name_alone_and_keep_case_apart() -> None:
    assert key_variable("INGRESSCOOKIE") == key_variable("INGRESSCOOKIE")
    assert key_variable("Route") != key_variable("route")
    assert key_variable("a.b") != key_variable("a-b")
    assert variable(key_variable("~.~")) == key_variable("~.~")


def test_the_global_load_balance_is_read_from_the_configmap() -> None:
    config, warnings = parse_global_config({"load-balance": "least_conn"}, "test")
    assert config.load_balance == "least_conn" and warnings == []
    config, warnings = parse_global_config({"load-balance": "ewma"}, "test")
    assert config.load_balance == "round_robin"
    assert len(warnings) == 1 and "load-balance: ewma needs" in warnings[0]
    with pytest.raises(ValueError, match="load-balance"):
        parse_global_config({"load-balance": "fastest"}, "test")


def objects(*ingresses: Obj) -> list[Obj]:
    """The Ingresses, and a Service ``pool`` with two endpoints."""
    endpoints = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "pool-1",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": "pool"},
        },
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["10.0.0.1", "10.0.0.2"]}],
    }
    return [*ingresses, service("pool"), endpoints]


def test_the_global_load_balance_applies_where_no_ingress_asks(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("load-balance: least_conn\n")
    plain = ingress("plain", rules=[rule("a.test", path("/", to("pool")))])
    rendered = render(objects(plain), "--config", str(config))
    assert rendered.code == 0, rendered.messages
    assert "least_conn;" in rendered.config


@pytest.mark.parametrize(
    ("setting", "expected"),
    [(None, "keepalive 32;"), ("320", "keepalive 320;"), ("0", None)],
)
def test_upstream_keepalive_is_per_upstream_and_zero_turns_it_off(
    tmp_path: Path, setting: str | None, expected: str | None
) -> None:
    plain = ingress("plain", rules=[rule("a.test", path("/", to("pool")))])
    args: list[str] = []
    if setting is not None:
        config = tmp_path / "config.yaml"
        config.write_text(f'upstream-keepalive-connections: "{setting}"\n')
        args = ["--config", str(config)]
    rendered = render(objects(plain), *args)
    assert rendered.code == 0, rendered.messages
    upstream = rendered.config.split("upstream default_pool_80 {", 1)[1].split("}", 1)[0]
    if expected is None:
        assert "keepalive" not in upstream
    else:
        assert expected in upstream


def test_an_ingress_asking_nothing_does_not_decide_for_a_younger_one_asking() -> None:
    plain = ingress(
        "plain", rules=[rule("a.test", path("/", to("pool")))], created="2026-01-01T00:00:00Z"
    )
    hashed = ingress(
        "hashed",
        rules=[rule("b.test", path("/", to("pool")))],
        annotations={PREFIX + "upstream-hash-by": "$remote_addr"},
        created="2026-01-02T00:00:00Z",
    )
    rendered = render(objects(hashed, plain))
    assert "hash $remote_addr consistent;" in rendered.config
    assert "warning" not in rendered.messages


def test_the_oldest_ingress_asking_wins_and_the_younger_is_told() -> None:
    least = ingress(
        "least",
        rules=[rule("a.test", path("/", to("pool")))],
        annotations={PREFIX + "load-balance": "least_conn"},
        created="2026-01-01T00:00:00Z",
    )
    hashed = ingress(
        "hashed",
        rules=[rule("b.test", path("/", to("pool")), path("/x", to("pool")))],
        annotations={PREFIX + "upstream-hash-by": "$remote_addr"},
        created="2026-01-02T00:00:00Z",
    )
    rendered = render(objects(hashed, least))
    assert "least_conn;" in rendered.config and "hash " not in rendered.config
    told = [line for line in rendered.messages.splitlines() if "default/hashed" in line]
    assert len(told) == 1, rendered.messages
    assert "balanced by least_conn, as the older ingress default/least asks" in told[0]


@pytest.mark.parametrize(
    ("extra", "by_userid", "written"),
    [
        ({"session-cookie-secure": "true"}, True, "userid_expires 600;"),
        (
            {"session-cookie-secure": "true", "session-cookie-max-age": "60"},
            True,
            'userid_path "/; Max-Age=60";',
        ),
        ({}, False, "Max-Age=600; HttpOnly$affinity_secure"),
        ({"session-cookie-secure": "true", "session-cookie-expires": "0"}, False, "Max-Age=0;"),
        (
            {
                "session-cookie-secure": "true",
                "session-cookie-samesite": "None",
                "session-cookie-conditional-samesite-none": "true",
            },
            False,
            "Max-Age=600; HttpOnly; Secure$affinity_samesite_none",
        ),
    ],
)
def test_expires_is_written_by_userid_only_where_the_attributes_are_fixed(
    extra: dict[str, str], by_userid: bool, written: str
) -> None:
    asked = {"affinity": "cookie", "session-cookie-expires": "600", **extra}
    sticky = ingress(
        "sticky",
        rules=[rule("a.test", path("/", to("pool")))],
        annotations={PREFIX + name: value for name, value in asked.items()},
    )
    rendered = render(objects(sticky))
    assert rendered.code == 0, rendered.messages
    assert ("userid on;" in rendered.config) is by_userid
    assert ("$uid_got$uid_set" in rendered.config) is by_userid
    assert ("userid log;" in rendered.config) is by_userid
    assert written in rendered.config
