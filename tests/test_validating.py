"""The API server's Ingress validation, redone for manifests read from files."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingress2nginx.core.errors import Problem, Severity
from ingress2nginx.core.grammar import (
    host_problem,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_port_name,
    is_qualified_name,
    refused_characters,
)
from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.normalizing import normalize
from ingress2nginx.normalize.paths import (
    PATH_MAX_LENGTH,
    location_path,
    path_problem,
    regex_path_problem,
)
from ingress2nginx.normalize.validating import validate_ingress

Key = str | int


def service_backend(name: str = "web", port: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"service": {"name": name, "port": port or {"number": 80}}}


def valid_body() -> dict[str, Any]:
    """An Ingress using every field validated here, all of them valid."""
    body = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "6b0d7e0e-4c1c-4d43-9a57-1f0b3b3f1c11",
            "labels": {"app.kubernetes.io/name": "web", "tier": ""},
            "annotations": {
                "nginx.ingress.kubernetes.io/ssl-redirect": "false",
                "nginx.ingress.kubernetes.io/configuration-snippet": "more_set_headers 'A: b';\n",
                "kubectl.kubernetes.io/last-applied-configuration": '{"kind":"Ingress"}\n',
            },
        },
        "spec": {
            "ingressClassName": "nginx",
            "defaultBackend": service_backend("fallback", {"name": "http"}),
            "tls": [{"hosts": ["shop.example.com", "*.example.com"], "secretName": "shop-tls"}],
            "rules": [
                {
                    "host": "shop.example.com",
                    "http": {
                        "paths": [
                            {"path": "/", "pathType": "Prefix", "backend": service_backend()},
                            {"path": "/api", "pathType": "Exact", "backend": service_backend()},
                            {
                                "path": "/static",
                                "pathType": "ImplementationSpecific",
                                "backend": service_backend(),
                            },
                        ]
                    },
                },
                {"host": "*.example.com", "http": {"paths": [PREFIX_ROOT]}},
                {"http": {"paths": [PREFIX_ROOT]}},
                {"host": "only-a-host.example.com"},
            ],
        },
    }
    return copy.deepcopy(body)


PREFIX_ROOT: dict[str, Any] = {"path": "/", "pathType": "Prefix", "backend": service_backend()}


def manifest(body: dict[str, Any]) -> Manifest:
    return Manifest("Ingress", "shop", "web", body, "test.yaml:1")


def changed(keys: tuple[Key, ...], value: Any) -> dict[str, Any]:
    """The valid body with the field at `keys` set to `value`."""
    body = valid_body()
    target: Any = body
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return body


def removed(keys: tuple[Key, ...]) -> dict[str, Any]:
    body = valid_body()
    target: Any = body
    for key in keys[:-1]:
        target = target[key]
    del target[keys[-1]]
    return body


def found(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(problem.field, problem.code) for problem in validate_ingress(manifest(body)).problems]


RULE0 = ("spec", "rules", 0)
PATH0 = (*RULE0, "http", "paths", 0)
PATH1 = (*RULE0, "http", "paths", 1)
PATH2 = (*RULE0, "http", "paths", 2)
SERVICE0 = (*PATH0, "backend", "service")
F_PATH0 = "spec.rules[0].http.paths[0]"
F_PATH1 = "spec.rules[0].http.paths[1]"
F_PATH2 = "spec.rules[0].http.paths[2]"
F_SERVICE0 = f"{F_PATH0}.backend.service"
F_PORT0 = f"{F_SERVICE0}.port"


def test_a_valid_ingress_has_no_problems() -> None:
    assert validate_ingress(manifest(valid_body())).problems == []


def test_problems_are_errors_about_the_ingress() -> None:
    (problem,) = validate_ingress(manifest(changed((*RULE0, "host"), "Shop.example.com"))).problems
    assert problem.severity is Severity.ERROR
    assert str(problem.subject) == "ingress shop/web"
    assert str(problem) == (
        'error: ingress shop/web: spec.rules[0].host: must be lowercase (got "Shop.example.com")'
    )


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "label", "subdomain", "dns1035"),
    [
        ("web", True, True, True),
        ("web-1", True, True, True),
        ("1web", True, True, False),
        ("a", True, True, True),
        ("web.shop", False, True, False),
        ("Web", False, False, False),
        ("-web", False, False, False),
        ("web-", False, False, False),
        ("web_1", False, False, False),
        ("", False, False, False),
        ("a" * 63, True, True, True),
        ("a" * 64, False, True, False),
        (".".join(["a" * 63] * 4)[:253], False, True, False),
        ("a" * 254, False, False, False),
        ("web.", False, False, False),
        ("web\n", False, False, False),
    ],
)
def test_kubernetes_name_rules(name: str, label: bool, subdomain: bool, dns1035: bool) -> None:
    assert is_dns1123_label(name) is label
    assert is_dns1123_subdomain(name) is subdomain
    assert is_dns1035_label(name) is dns1035


@pytest.mark.parametrize(
    ("port_name", "valid"),
    [
        ("http", True),
        ("http-alt", True),
        ("h2c", True),
        ("a" * 15, True),
        ("a" * 16, False),
        ("", False),
        ("80", False),
        ("HTTP", False),
        ("-http", False),
        ("http-", False),
        ("http--alt", False),
        ("http_alt", False),
        ("http\n", False),
    ],
)
def test_port_names_are_iana_service_names(port_name: str, valid: bool) -> None:
    assert is_port_name(port_name) is valid


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("app", True),
        ("nginx.ingress.kubernetes.io/ssl-redirect", True),
        ("example.com/Some_Key.1", True),
        ("/app", False),
        ("a/b/c", False),
        ("Example.com/app", False),
        ("app-", False),
        ("", False),
        ("a" * 64, False),
    ],
)
def test_label_and_annotation_keys_are_qualified_names(key: str, valid: bool) -> None:
    assert is_qualified_name(key) is valid


# --- characters refused everywhere ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("web", None),
        ("café ünïcode ok", None),
        ("a\nb", "line feed (U+000A)"),
        ("a\rb", "carriage return (U+000D)"),
        ("a\x00b", "NUL (U+0000)"),
        ("a\tb", "tab (U+0009)"),
        ("a\x1bb", "control character (U+001B)"),
        ("a\x7fb", "DEL (U+007F)"),
        ("a\x85b", "next-line (NEL) (U+0085)"),
        ("a\x9bb", "control character (U+009B)"),
        ("a\u2028b", "line separator (U+2028)"),
        ("a\u2029b", "paragraph separator (U+2029)"),
        ("a\u202eb", "bidirectional text control (U+202E)"),
        ("a\u2066b", "bidirectional text control (U+2066)"),
        ("a\ud800b", "unpaired surrogate (U+D800)"),
    ],
)
def test_refused_characters(text: str, reason: str | None) -> None:
    found_reason = refused_characters(text)
    if reason is None:
        assert found_reason is None
    else:
        assert found_reason is not None and reason in found_reason


# --- hosts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("foo.com", None),
        ("foo", None),
        ("a-1.b-2.example", None),
        ("xn--caf-dma.com", None),
        ("*.foo.com", None),
        ("*.com", None),
        ("Foo.com", "must be lowercase"),
        ("FOO.COM", "must be lowercase"),
        ("*.Foo.com", "must be lowercase"),
        ("café.com", "must be ASCII"),
        ("1.2.3.4", "an IP address is not allowed"),
        ("010.001.001.001", "an IP address is not allowed"),
        ("::1", "an IP address is not allowed"),
        ("2001:db8::1", "an IP address is not allowed"),
        ("[::1]", "an IP address is not allowed"),
        ("1.2.3.400", None),
        ("foo.com:80", "must not include a port"),
        ("*foo.com", 'wildcard must be "*." followed by a DNS name'),
        ("foo.*.com", 'wildcard must be "*." followed by a DNS name'),
        ("*.*.foo.com", 'wildcard must be "*." followed by a DNS name'),
        ("*", 'wildcard must be "*." followed by a DNS name'),
        ("*.", 'wildcard must be "*." followed by a DNS name'),
        ("foo.com.", "must not end with '.'"),
        (".foo.com", "empty label"),
        ("foo..com", "empty label"),
        ("foo_bar.com", "may contain only lowercase letters"),
        ("foo bar.com", "may contain only lowercase letters"),
        ("-foo.com", "start and end with a letter or digit"),
        ("foo-.com", "start and end with a letter or digit"),
        ("a" * 63 + ".com", None),
        ("a" * 64 + ".com", "at most 63 characters"),
        (".".join(["a" * 49] * 5) + ".abc", None),
        (".".join(["a" * 49] * 5) + ".abcd", "no more than 253 characters"),
        ("", "must not be empty"),
        ("foo.com\r\nX-Injected: 1", "carriage return"),
        ("foo.com\x00", "NUL"),
        ("foo\u2028.com", "line separator"),
    ],
)
def test_host_rules(host: str, reason: str | None) -> None:
    problem = host_problem(host)
    if reason is None:
        assert problem is None
    else:
        assert problem is not None and reason in problem


# --- paths -----------------------------------------------------------------------------------

PATH_CASES = [
    # (path, reason substring or None) — for Exact, Prefix and ImplementationSpecific alike
    ("/", None),
    ("/foo", None),
    ("/foo/", None),
    ("/aaa/bbb", None),
    ("/.well-known/acme-challenge", None),
    ("/a.b/..c/c..", None),
    ("/a-b_c~d!e$f&g'h(i)j*k+l,m;n=o:p@q", None),
    ("/caf%C3%A9", None),
    ("/caf%c3%a9", None),
    ("/a%20b", None),
    ("/a%3Fb", None),
    ("//", "must not contain '//'"),
    ("/foo//bar", "must not contain '//'"),
    ("/./", "must not contain '/./'"),
    ("/foo/./bar", "must not contain '/./'"),
    ("/../", "must not contain '/../'"),
    ("/foo/../bar", "must not contain '/../'"),
    ("/foo/.", "must not end with '/.'"),
    ("/.", "must not end with '/.'"),
    ("/foo/..", "must not end with '/..'"),
    ("/..", "must not end with '/..'"),
    ("/foo%2fbar", "'%2f' or '%2F'"),
    ("/foo%2Fbar", "'%2f' or '%2F'"),
    ("/%2e%2e/etc/passwd", "must not contain '/../' once percent-decoded"),
    ("/foo/%2E%2E", "must not end with '/..' once percent-decoded"),
    ("/foo/%2e", "must not end with '/.' once percent-decoded"),
    ("/foo/.%2e/bar", "must not contain '/../' once percent-decoded"),
    ("/a%252e%252e", "'%25'"),
    ("/caf%C3", "must decode to UTF-8"),
    ("/%FF", "must decode to UTF-8"),
    ("/a%", "'%' must start a %XX escape"),
    ("/a%2", "'%' must start a %XX escape"),
    ("/a%zz", "'%' must start a %XX escape"),
    ("/a%00", "NUL (U+0000)"),
    ("/a%0D%0A", "carriage return"),
    ("/a%0a", "line feed"),
    ("/a%09", "tab"),
    ("/a%7f", "DEL"),
    ("/a%C2%85", "next-line"),
    ("/a%E2%80%A8", "line separator"),
    ("/a\u2028", "line separator"),
    ("/a\nb", "line feed"),
    ("/a\x00", "NUL"),
    ("/café", None),  # as /caf%C3%A9: nginx compares the decoded path
    ("/a b", "percent-encode it"),
    ('/a"b', "percent-encode it"),
    ("/a{b}", "percent-encode it"),
    ("/a\\b", "percent-encode it"),
    ("/a?b=1", "the query string never takes part"),
    ("/a#frag", "the query string never takes part"),
    ("foo", "must be an absolute path"),
    ("foo/", "must be an absolute path"),
    ("*", "must be an absolute path"),
    ("/" + "a" * (PATH_MAX_LENGTH - 1), None),
    ("/" + "a" * PATH_MAX_LENGTH, f"no more than {PATH_MAX_LENGTH} characters"),
]


@pytest.mark.parametrize("path_type", ["Exact", "Prefix", "ImplementationSpecific"])
@pytest.mark.parametrize(("path", "reason"), PATH_CASES)
def test_path_rules(path: str, reason: str | None, path_type: str) -> None:
    problem = path_problem(path, path_type)
    if reason is None:
        assert problem is None
    else:
        assert problem is not None and reason in problem


@pytest.mark.parametrize(
    ("path_type", "reason"),
    [
        ("Exact", "must be an absolute path"),
        ("Prefix", "must be an absolute path"),
        ("ImplementationSpecific", None),
    ],
)
def test_only_implementation_specific_paths_may_be_empty(
    path_type: str, reason: str | None
) -> None:
    problem = path_problem("", path_type)
    assert problem == reason or (reason is not None and problem and reason in problem)


def test_an_unknown_path_type_is_a_problem_not_an_exception() -> None:
    assert (
        path_problem("/", "Regex")
        == "pathType must be one of Exact, Prefix, ImplementationSpecific"
    )


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/foo", "/foo"),
        ("/foo/", "/foo/"),
        ("/caf%C3%A9", "/café"),
        ("/caf%c3%a9", "/café"),
        ("/%E6%97%A5%E6%9C%AC", "/日本"),
        ("/日本/caf%C3%A9", "/日本/café"),
        ("/a%20b", "/a b"),
        ("/a%3Fb%23c", "/a?b#c"),
        ("/%7Euser", "/~user"),
        ("/a;b", "/a;b"),
        ("", "/"),
    ],
)
def test_location_path_is_the_path_nginx_compares(path: str, location: str) -> None:
    assert location_path(path) == location


@pytest.mark.parametrize("path", ["//", "/%2e%2e/", "/a%2fb", "/a%00", "foo", "/a b", "/caf%C3"])
def test_location_path_refuses_what_path_problem_refuses(path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        location_path(path)


@pytest.mark.parametrize(
    ("regex", "reason"),
    [
        ("/api(/|$)(.*)", None),
        ("^/api/v[0-9]+/", None),
        ("/foo$", None),
        ("/(?:a|b)/x", None),
        ("/a(?=b)", None),
        ("/a(?!b)", None),
        ("/[^/]+/edit", None),
        ("/a{1,3}", None),
        ("/a{2}", None),
        ("/a{2,}", None),
        ("/files/\\d+\\.txt", None),
        ("/a\\/b\\-c\\w\\?", None),
        ("/a~!&,=:@", None),
        ("foo", "must start with '/' or '^/'"),
        ("^foo", "must start with '/' or '^/'"),
        (".*", "must start with '/' or '^/'"),
        ("/a b", "whitespace"),
        ("/a\u00a0b", "whitespace"),
        ("/a;b", '";"'),
        ("/a'b", '"\'"'),
        ('/a"b', '"\\""'),
        ("/a#b", '"#"'),
        ("/a`b", '"`"'),
        ("/a%20", "'%'"),
        ("/é", "must be ASCII"),
        ("/(?<name>x)", '"<"'),
        ("/a>b", '">"'),
        ("/foo$host", "'$' may only be an end anchor"),
        ("/a$/b", "'$' may only be an end anchor"),
        ("/a${b}", "'$' may only be an end anchor"),
        ("/a\\$", "'\\' may only escape"),
        ("/a\\1", "'\\' may only escape"),
        ("/a\\Q.\\E", "'\\' may only escape"),
        ("/a\\x41", "'\\' may only escape"),
        ("/a\\", "'\\' may only escape"),
        ("/a\\\\", "'\\' may only escape"),
        ("/a{", "quantifier"),
        ("/a}", "quantifier"),
        ("/a{b}", "quantifier"),
        ("/a{1,2,3}", "quantifier"),
        ("/a{1000}", "quantifier"),
        ("/a{3,1}", "n <= m"),
        ("/({2})", "quantifier"),
        ("/a|{2}", "quantifier"),
        ("/(?i)a", "groups may only be"),
        ("/(?P=x)", "groups may only be"),
        ("/(?#comment)", '"#"'),
        ("/(?x)a", "groups may only be"),
        ("/(*UTF)a", "groups may only be"),
        ("/a(", "not a valid regular expression"),
        ("/a[", "not a valid regular expression"),
        ("/a**", "not a valid regular expression"),
        ("/a\n", "line feed"),
        ("/" + "a" * PATH_MAX_LENGTH, "no more than"),
    ],
)
def test_regex_path_allowlist(regex: str, reason: str | None) -> None:
    problem = regex_path_problem(regex)
    if reason is None:
        assert problem is None
    else:
        assert problem is not None and reason in problem


# --- one Ingress: each rule with its field path and code -------------------------------------

FIELD_CASES: list[tuple[str, tuple[Key, ...], Any, str, str]] = [
    # (id, keys to set, value, field path reported, code)
    ("name uppercase", ("metadata", "name"), "Web", "metadata.name", "invalid-name"),
    ("name underscore", ("metadata", "name"), "web_1", "metadata.name", "invalid-name"),
    ("name too long", ("metadata", "name"), "a" * 254, "metadata.name", "invalid-name"),
    ("name empty", ("metadata", "name"), "", "metadata.name", "invalid-name"),
    ("name int", ("metadata", "name"), 42, "metadata.name", "invalid-name"),
    ("name newline", ("metadata", "name"), "web\n", "metadata.name", "invalid-character"),
    ("namespace dot", ("metadata", "namespace"), "a.b", "metadata.namespace", "invalid-namespace"),
    ("namespace list", ("metadata", "namespace"), [], "metadata.namespace", "invalid-namespace"),
    (
        "namespace false",
        ("metadata", "namespace"),
        False,
        "metadata.namespace",
        "invalid-namespace",
    ),
    ("uid newline", ("metadata", "uid"), "x\ny", "metadata.uid", "invalid-character"),
    ("uid dict", ("metadata", "uid"), {}, "metadata.uid", "invalid-metadata"),
    ("metadata list", ("metadata",), [], "metadata", "invalid-metadata"),
    (
        "class uppercase",
        ("spec", "ingressClassName"),
        "Nginx",
        "spec.ingressClassName",
        "invalid-class",
    ),
    ("class empty", ("spec", "ingressClassName"), "", "spec.ingressClassName", "invalid-class"),
    (
        "class list",
        ("spec", "ingressClassName"),
        ["nginx"],
        "spec.ingressClassName",
        "invalid-class",
    ),
    (
        "class CR",
        ("spec", "ingressClassName"),
        "nginx\r",
        "spec.ingressClassName",
        "invalid-character",
    ),
    ("spec list", ("spec",), [], "spec", "invalid-spec"),
    ("rules dict", ("spec", "rules"), {}, "spec.rules", "invalid-rule"),
    ("rules string", ("spec", "rules"), "rules", "spec.rules", "invalid-rule"),
    ("rule null", RULE0, None, "spec.rules[0]", "invalid-rule"),
    ("rule string", RULE0, "host", "spec.rules[0]", "invalid-rule"),
    ("host uppercase", (*RULE0, "host"), "Shop.example.com", "spec.rules[0].host", "invalid-host"),
    ("host IPv4", (*RULE0, "host"), "10.0.0.1", "spec.rules[0].host", "invalid-host"),
    ("host IPv6", (*RULE0, "host"), "fd00::1", "spec.rules[0].host", "invalid-host"),
    ("host bad wildcard", (*RULE0, "host"), "*shop.com", "spec.rules[0].host", "invalid-host"),
    ("host dict", (*RULE0, "host"), {"a": 1}, "spec.rules[0].host", "invalid-host"),
    ("host int", (*RULE0, "host"), 7, "spec.rules[0].host", "invalid-host"),
    ("host LF", (*RULE0, "host"), "a.com\nb", "spec.rules[0].host", "invalid-character"),
    ("host U+2028", (*RULE0, "host"), "a.com\u2028", "spec.rules[0].host", "invalid-character"),
    ("http list", (*RULE0, "http"), [], "spec.rules[0].http", "invalid-rule"),
    ("paths empty", (*RULE0, "http", "paths"), [], "spec.rules[0].http.paths", "no-paths"),
    ("paths null", (*RULE0, "http", "paths"), None, "spec.rules[0].http.paths", "no-paths"),
    ("paths dict", (*RULE0, "http", "paths"), {}, "spec.rules[0].http.paths", "invalid-rule"),
    ("path entry null", PATH0, None, F_PATH0, "invalid-path"),
    ("path entry int", PATH0, 3, F_PATH0, "invalid-path"),
    ("pathType unknown", (*PATH0, "pathType"), "Regex", f"{F_PATH0}.pathType", "invalid-path-type"),
    (
        "pathType lowercase",
        (*PATH0, "pathType"),
        "prefix",
        f"{F_PATH0}.pathType",
        "invalid-path-type",
    ),
    ("pathType null", (*PATH0, "pathType"), None, f"{F_PATH0}.pathType", "invalid-path-type"),
    ("pathType list", (*PATH0, "pathType"), ["Prefix"], f"{F_PATH0}.pathType", "invalid-path-type"),
    ("Prefix //", (*PATH0, "path"), "//", f"{F_PATH0}.path", "invalid-path"),
    ("Prefix relative", (*PATH0, "path"), "foo", f"{F_PATH0}.path", "invalid-path"),
    ("Prefix empty", (*PATH0, "path"), "", f"{F_PATH0}.path", "invalid-path"),
    ("Prefix null", (*PATH0, "path"), None, f"{F_PATH0}.path", "invalid-path"),
    ("Prefix list", (*PATH0, "path"), ["/"], f"{F_PATH0}.path", "invalid-path"),
    ("Prefix %2e%2e", (*PATH0, "path"), "/%2e%2e/x", f"{F_PATH0}.path", "invalid-path"),
    ("Prefix NUL", (*PATH0, "path"), "/a\x00", f"{F_PATH0}.path", "invalid-character"),
    ("Prefix %00", (*PATH0, "path"), "/a%00", f"{F_PATH0}.path", "invalid-path"),
    ("Exact /..", (*PATH1, "path"), "/api/..", f"{F_PATH1}.path", "invalid-path"),
    ("Exact %2F", (*PATH1, "path"), "/a%2Fb", f"{F_PATH1}.path", "invalid-path"),
    ("IS relative", (*PATH2, "path"), "static", f"{F_PATH2}.path", "invalid-path"),
    ("IS anchored", (*PATH2, "path"), "^/static", f"{F_PATH2}.path", "invalid-path"),
    ("IS neither", (*PATH2, "path"), "/a b;", f"{F_PATH2}.path", "invalid-path"),
    ("IS quote", (*PATH2, "path"), '/a"', f"{F_PATH2}.path", "invalid-path"),
    ("IS U+2028", (*PATH2, "path"), "/a\u2028", f"{F_PATH2}.path", "invalid-character"),
    ("backend null", (*PATH0, "backend"), None, f"{F_PATH0}.backend", "invalid-backend"),
    ("backend list", (*PATH0, "backend"), [], f"{F_PATH0}.backend", "invalid-backend"),
    ("backend empty", (*PATH0, "backend"), {}, f"{F_PATH0}.backend", "invalid-backend"),
    (
        "resource backend",
        (*PATH0, "backend"),
        {"resource": {"apiGroup": "k8s.example.com", "kind": "Bucket", "name": "b"}},
        f"{F_PATH0}.backend.resource",
        "invalid-backend",
    ),
    ("service string", SERVICE0, "web", F_SERVICE0, "invalid-backend"),
    ("service name dot", (*SERVICE0, "name"), "web.v1", f"{F_SERVICE0}.name", "invalid-backend"),
    ("service name digit", (*SERVICE0, "name"), "1web", f"{F_SERVICE0}.name", "invalid-backend"),
    ("service name empty", (*SERVICE0, "name"), "", f"{F_SERVICE0}.name", "invalid-backend"),
    ("service name int", (*SERVICE0, "name"), 1, f"{F_SERVICE0}.name", "invalid-backend"),
    ("port null", (*SERVICE0, "port"), None, F_PORT0, "invalid-port"),
    ("port int", (*SERVICE0, "port"), 80, F_PORT0, "invalid-port"),
    ("port empty", (*SERVICE0, "port"), {}, F_PORT0, "invalid-port"),
    ("port 0", (*SERVICE0, "port", "number"), 0, f"{F_PORT0}.number", "invalid-port"),
    ("port 65536", (*SERVICE0, "port", "number"), 65536, f"{F_PORT0}.number", "invalid-port"),
    ("port -1", (*SERVICE0, "port", "number"), -1, f"{F_PORT0}.number", "invalid-port"),
    ("port true", (*SERVICE0, "port", "number"), True, f"{F_PORT0}.number", "invalid-port"),
    ("port '80'", (*SERVICE0, "port", "number"), "80", f"{F_PORT0}.number", "invalid-port"),
    ("port 80.0", (*SERVICE0, "port", "number"), 80.0, f"{F_PORT0}.number", "invalid-port"),
    ("port name digits", (*SERVICE0, "port"), {"name": "80"}, f"{F_PORT0}.name", "invalid-port"),
    (
        "port name too long",
        (*SERVICE0, "port"),
        {"name": "a-very-long-name"},
        f"{F_PORT0}.name",
        "invalid-port",
    ),
    ("port name list", (*SERVICE0, "port"), {"name": ["http"]}, f"{F_PORT0}.name", "invalid-port"),
    (
        "default backend string",
        ("spec", "defaultBackend"),
        "web",
        "spec.defaultBackend",
        "invalid-backend",
    ),
    (
        "default backend port",
        ("spec", "defaultBackend", "service", "port"),
        {"number": 70000},
        "spec.defaultBackend.service.port.number",
        "invalid-port",
    ),
    ("tls dict", ("spec", "tls"), {}, "spec.tls", "invalid-tls"),
    ("tls entry null", ("spec", "tls", 0), None, "spec.tls[0]", "invalid-tls"),
    ("tls hosts string", ("spec", "tls", 0, "hosts"), "a.com", "spec.tls[0].hosts", "invalid-tls"),
    (
        "tls host IP",
        ("spec", "tls", 0, "hosts", 1),
        "1.2.3.4",
        "spec.tls[0].hosts[1]",
        "invalid-tls",
    ),
    (
        "tls host upper",
        ("spec", "tls", 0, "hosts", 0),
        "A.com",
        "spec.tls[0].hosts[0]",
        "invalid-tls",
    ),
    ("tls host empty", ("spec", "tls", 0, "hosts", 0), "", "spec.tls[0].hosts[0]", "invalid-tls"),
    ("tls host null", ("spec", "tls", 0, "hosts", 0), None, "spec.tls[0].hosts[0]", "invalid-tls"),
    (
        "tls host LF",
        ("spec", "tls", 0, "hosts", 0),
        "a.com\n",
        "spec.tls[0].hosts[0]",
        "invalid-character",
    ),
    (
        "tls secret upper",
        ("spec", "tls", 0, "secretName"),
        "Shop",
        "spec.tls[0].secretName",
        "invalid-tls",
    ),
    (
        "tls secret int",
        ("spec", "tls", 0, "secretName"),
        5,
        "spec.tls[0].secretName",
        "invalid-tls",
    ),
    (
        "tls secret ;",
        ("spec", "tls", 0, "secretName"),
        "a;include /etc/passwd",
        "spec.tls[0].secretName",
        "invalid-tls",
    ),
    (
        "annotations list",
        ("metadata", "annotations"),
        [],
        "metadata.annotations",
        "invalid-annotation",
    ),
    ("labels string", ("metadata", "labels"), "app=web", "metadata.labels", "invalid-label"),
    ("label value", ("metadata", "labels", "app"), "-web", "metadata.labels[app]", "invalid-label"),
    ("label value int", ("metadata", "labels", "app"), 1, "metadata.labels[app]", "invalid-label"),
]


@pytest.mark.parametrize(
    ("keys", "value", "field", "code"),
    [case[1:] for case in FIELD_CASES],
    ids=[case[0] for case in FIELD_CASES],
)
def test_each_rule_is_reported_at_its_field(
    keys: tuple[Key, ...], value: Any, field: str, code: str
) -> None:
    assert found(changed(keys, value)) == [(field, code)]


@pytest.mark.parametrize(
    ("keys", "field", "code"),
    [
        (("metadata", "name"), "metadata.name", "invalid-name"),
        ((*PATH0, "pathType"), f"{F_PATH0}.pathType", "invalid-path-type"),
        ((*PATH0, "path"), f"{F_PATH0}.path", "invalid-path"),
        ((*PATH0, "backend"), f"{F_PATH0}.backend", "invalid-backend"),
        ((*SERVICE0, "name"), f"{F_SERVICE0}.name", "invalid-backend"),
        ((*SERVICE0, "port"), F_PORT0, "invalid-port"),
        ((*PATH0, "backend", "service"), f"{F_PATH0}.backend", "invalid-backend"),
        ((*RULE0, "http", "paths"), "spec.rules[0].http.paths", "no-paths"),
    ],
)
def test_a_missing_required_field_is_reported(keys: tuple[Key, ...], field: str, code: str) -> None:
    assert found(removed(keys)) == [(field, code)]


@pytest.mark.parametrize(
    "keys",
    [
        ("metadata", "namespace"),
        ("metadata", "annotations"),
        ("metadata", "labels"),
        ("spec", "ingressClassName"),
        ("spec", "tls"),
        ("spec", "tls", 0, "hosts"),
        ("spec", "tls", 0, "secretName"),
        ("spec", "defaultBackend"),
        (*RULE0, "host"),
        (*RULE0, "http"),
        (*PATH2, "path"),
    ],
)
def test_optional_fields_may_be_left_out(keys: tuple[Key, ...]) -> None:
    assert found(removed(keys)) == []


def test_rules_or_a_default_backend_must_be_present() -> None:
    body = removed(("spec", "defaultBackend"))
    body["spec"]["rules"] = []
    assert found(body) == [("spec", "no-rules")]
    assert found(removed(("spec",))) == [("spec", "no-rules")]
    default_only = removed(("spec", "rules"))
    assert found(default_only) == []


def test_a_rule_with_only_a_host_is_allowed_as_the_api_allows_it() -> None:
    body = valid_body()
    body["spec"]["rules"] = [{"host": "a.example.com"}]
    assert found(body) == []


def test_both_service_and_resource_backends() -> None:
    backend = {**service_backend(), "resource": {"kind": "Bucket", "name": "b"}}
    assert found(changed((*PATH0, "backend"), backend)) == [
        (f"{F_PATH0}.backend", "invalid-backend"),
        (f"{F_PATH0}.backend.resource", "invalid-backend"),
    ]


def test_both_port_name_and_number() -> None:
    port = {"name": "http", "number": 80}
    assert found(changed((*SERVICE0, "port"), port)) == [(F_PORT0, "invalid-port")]


def test_an_empty_port_name_counts_as_unset_like_the_api_server() -> None:
    assert found(changed((*SERVICE0, "port"), {"name": "", "number": 80})) == []


def test_an_implementation_specific_path_may_be_a_regex_for_later() -> None:
    assert found(changed((*PATH2, "path"), "/api(/|$)(.*)")) == []
    assert found(changed((*PATH2, "path"), "")) == []


def test_the_reason_names_the_value_safely() -> None:
    body = changed((*PATH0, "path"), "/a\r\nproxy_pass http://evil;")
    (problem,) = validate_ingress(manifest(body)).problems
    assert "\r" not in str(problem) and "\n" not in str(problem)
    assert "\\r\\n" in problem.reason


# --- annotations ------------------------------------------------------------------------------

ANNOTATION = "nginx.ingress.kubernetes.io/rewrite-target"


@pytest.mark.parametrize(
    ("key", "value", "problems"),
    [
        (ANNOTATION, "/", []),
        (ANNOTATION, "/\nmore", [(f"metadata.annotations[{ANNOTATION}]", "invalid-character")]),
        (ANNOTATION, "/\u2028", [(f"metadata.annotations[{ANNOTATION}]", "invalid-character")]),
        (ANNOTATION, True, [(f"metadata.annotations[{ANNOTATION}]", "invalid-annotation")]),
        (ANNOTATION, 80, [(f"metadata.annotations[{ANNOTATION}]", "invalid-annotation")]),
        (ANNOTATION, None, [(f"metadata.annotations[{ANNOTATION}]", "invalid-annotation")]),
        (
            "kubernetes.io/ingress.class",
            "nginx\x00",
            [("metadata.annotations[kubernetes.io/ingress.class]", "invalid-character")],
        ),
        ("nginx.ingress.kubernetes.io/server-snippet", "a;\n\tb;\n", []),
        (
            "nginx.ingress.kubernetes.io/server-snippet",
            "a;\r\n",
            [
                (
                    "metadata.annotations[nginx.ingress.kubernetes.io/server-snippet]",
                    "invalid-character",
                )
            ],
        ),
        ("example.com/description", "two\nlines", []),
        (
            "example.com/flag",
            False,
            [("metadata.annotations[example.com/flag]", "invalid-annotation")],
        ),
        ("Example.com/Key", "v", []),
        ("bad key", "v", [('metadata.annotations["bad key"]', "invalid-annotation")]),
        ("a/b/c", "v", [("metadata.annotations[a/b/c]", "invalid-annotation")]),
        ("", "v", [('metadata.annotations[""]', "invalid-annotation")]),
        ("evil\nkey", "v", [('metadata.annotations["evil\\nkey"]', "invalid-character")]),
        (80, "v", [('metadata.annotations["80"]', "invalid-annotation")]),
    ],
)
def test_annotations(key: Any, value: Any, problems: list[tuple[str, str]]) -> None:
    assert found(changed(("metadata", "annotations", key), value)) == problems


def test_annotations_are_limited_to_256_kib_in_all() -> None:
    annotations = {f"example.com/k{i}": "x" * 60_000 for i in range(5)}
    assert found(changed(("metadata", "annotations"), annotations)) == [
        ("metadata.annotations", "invalid-annotation")
    ]


# --- many problems at once ----------------------------------------------------------------------


def test_every_problem_of_an_ingress_is_reported_with_its_field_path() -> None:
    body = valid_body()
    body["metadata"]["name"] = "Web_App"
    body["spec"]["ingressClassName"] = ["nginx"]
    body["spec"]["rules"][0]["host"] = "10.0.0.1"
    paths = body["spec"]["rules"][0]["http"]["paths"]
    paths[0]["path"] = "/a/../b"
    paths[1]["pathType"] = None
    paths[1]["backend"]["service"]["port"] = {"number": True}
    paths[2]["backend"] = {"resource": {"kind": "Bucket", "name": "b"}}
    body["spec"]["rules"][1]["http"]["paths"] = []
    body["spec"]["tls"][0]["hosts"][1] = "*foo.com"
    body["spec"]["defaultBackend"]["service"]["port"]["name"] = "HTTP"
    assert found(body) == [
        ("metadata.name", "invalid-name"),
        ("spec.ingressClassName", "invalid-class"),
        ("spec.defaultBackend.service.port.name", "invalid-port"),
        ("spec.rules[0].host", "invalid-host"),
        ("spec.rules[0].http.paths[0].path", "invalid-path"),
        ("spec.rules[0].http.paths[1].pathType", "invalid-path-type"),
        ("spec.rules[0].http.paths[1].backend.service.port.number", "invalid-port"),
        ("spec.rules[0].http.paths[2].backend.resource", "invalid-backend"),
        ("spec.rules[1].http.paths", "no-paths"),
        ("spec.tls[0].hosts[1]", "invalid-tls"),
    ]


# --- wrong JSON types anywhere never raise ------------------------------------------------------

WRONG_TYPES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    float("nan"),
    "",
    "x\n",
    [],
    [1, [2]],
    {},
    {"a": {}},
]
EVERY_FIELD: list[tuple[Key, ...]] = [
    ("metadata",),
    ("metadata", "name"),
    ("metadata", "namespace"),
    ("metadata", "uid"),
    ("metadata", "labels"),
    ("metadata", "annotations"),
    ("spec",),
    ("spec", "ingressClassName"),
    ("spec", "defaultBackend"),
    ("spec", "defaultBackend", "service"),
    ("spec", "rules"),
    RULE0,
    (*RULE0, "host"),
    (*RULE0, "http"),
    (*RULE0, "http", "paths"),
    PATH0,
    (*PATH0, "path"),
    (*PATH0, "pathType"),
    (*PATH0, "backend"),
    SERVICE0,
    (*SERVICE0, "name"),
    (*SERVICE0, "port"),
    (*SERVICE0, "port", "number"),
    ("spec", "tls"),
    ("spec", "tls", 0),
    ("spec", "tls", 0, "hosts"),
    ("spec", "tls", 0, "hosts", 0),
    ("spec", "tls", 0, "secretName"),
]


@pytest.mark.parametrize("keys", EVERY_FIELD, ids=lambda keys: ".".join(map(str, keys)))
def test_a_wrong_json_type_in_any_field_is_reported_never_raised(keys: tuple[Key, ...]) -> None:
    for value in WRONG_TYPES:
        problems = validate_ingress(manifest(changed(keys, copy.deepcopy(value)))).problems
        assert all(isinstance(problem, Problem) for problem in problems)
        assert all(refused_characters(str(problem)) is None for problem in problems)


# --- properties ----------------------------------------------------------------------------------

ANY_CHARACTER = st.characters(codec=None, exclude_categories=())
ANY_TEXT = st.text(ANY_CHARACTER, max_size=12)
PATHLIKE = st.text(st.sampled_from(list("/.%2eEfF0aA5C3 ?#\\{}$()|*^\n")), max_size=16)
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(ANY_TEXT | st.integers(), children, max_size=3)
    ),
    max_leaves=8,
)


def either(shape: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(shape, JSON)


def record(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return either(st.fixed_dictionaries({}, optional=fields))


NAMES = either(st.sampled_from(["web", "Web", "", "a.b", "http", "80"]) | ANY_TEXT)
PATHS = either(st.sampled_from(["/", "/foo", "//", "/%2e%2e/", "/api(/|$)(.*)"]) | PATHLIKE)
PORT = record(name=NAMES, number=either(st.integers(-2, 70_000)))
BACKEND = record(service=record(name=NAMES, port=PORT), resource=JSON)
HTTP_PATH = record(
    path=PATHS,
    pathType=either(st.sampled_from(["Exact", "Prefix", "ImplementationSpecific", "Regex"])),
    backend=BACKEND,
)
RULE = record(host=NAMES, http=record(paths=either(st.lists(HTTP_PATH, max_size=3))))
TLS = record(hosts=either(st.lists(NAMES, max_size=3)), secretName=NAMES)
INGRESS = st.fixed_dictionaries(
    {},
    optional={
        "metadata": record(
            name=NAMES,
            namespace=NAMES,
            uid=NAMES,
            labels=either(st.dictionaries(ANY_TEXT | st.integers(), NAMES, max_size=3)),
            annotations=either(st.dictionaries(ANY_TEXT, JSON, max_size=3)),
        ),
        "spec": record(
            ingressClassName=NAMES,
            defaultBackend=BACKEND,
            rules=either(st.lists(RULE, max_size=3)),
            tls=either(st.lists(TLS, max_size=2)),
        ),
    },
)


@settings(max_examples=500, deadline=None)
@given(INGRESS)
def test_validate_ingress_never_raises_and_prints_safely(body: dict[str, Any]) -> None:
    problems = validate_ingress(manifest(body)).problems
    for problem in problems:
        assert problem.severity is Severity.ERROR
        assert refused_characters(str(problem)) is None


@settings(max_examples=500)
@given(st.one_of(PATHLIKE, ANY_TEXT))
def test_an_accepted_path_decodes_to_a_clean_location(path: str) -> None:
    regex_path_problem(path)
    if path_problem(path, "Prefix") is not None:
        return
    location = location_path(path)
    assert location.startswith("/")
    assert refused_characters(location) is None
    assert not any(part in location for part in ("//", "/./", "/../"))
    assert not location.endswith(("/.", "/.."))


@given(ANY_TEXT)
def test_an_accepted_host_is_a_lowercase_ascii_name(host: str) -> None:
    if host_problem(host) is None:
        assert host.isascii() and host == host.lower()
        assert all(char.isalnum() or char in "-.*" for char in host)


REGEX_LOOKING = ["/api/(.*)", "/v2/.+", "/api(/|$)(.*)", "/v[0-9]+/users", "/x{2}", "/\\d+",
                 "/api/.*?", "/(?:a|b)", "/price$"]  # fmt: skip


@pytest.mark.parametrize("path_type", ["Exact", "Prefix"])
@pytest.mark.parametrize("path", REGEX_LOOKING)
def test_a_regex_under_exact_or_prefix_is_refused_for_its_path_type(
    path: str, path_type: str
) -> None:
    problem = path_problem(path, path_type)
    assert problem is not None and problem.startswith("looks like a regular expression")
    assert f"pathType {path_type} matches the path as written" in problem
    assert "use-regex" in problem and "query string" not in problem


@pytest.mark.parametrize("path", ["/search?q=1", "/wiki/Foo_(bar)", "/c++", "/a$b"])
def test_what_only_resembles_a_regex_keeps_its_own_reason(path: str) -> None:
    problem = path_problem(path, "Exact")
    assert problem is None or "regular expression" not in problem
    if "?" in path:
        assert problem is not None and "query string" in problem


def test_a_regex_implementation_specific_path_without_use_regex_names_the_annotation() -> None:
    body = changed((*PATH2, "path"), "/v[0-9]+/users")
    problems = normalize(Inventory.build([manifest(body)]), Settings()).problems
    reasons = [problem.reason for problem in problems if problem.code == "invalid-path"]
    assert reasons == [
        'looks like a regular expression ("[0-9]"), which an ImplementationSpecific path is only'
        ' in an Ingress with the annotation nginx.ingress.kubernetes.io/use-regex: "true"'
    ]


def test_a_v1_backend_written_with_v1beta1_fields_says_so() -> None:
    body = changed((*PATH0, "backend"), {"serviceName": "web", "servicePort": 80})
    (problem,) = validate_ingress(manifest(body)).problems
    assert (problem.field, problem.code) == (f"{F_PATH0}.backend", "invalid-backend")
    assert problem.reason.startswith("must set service: serviceName and servicePort are")
    assert "service: {name: NAME, port: {number: N}}" in problem.reason
