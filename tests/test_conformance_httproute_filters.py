"""The Gateway API conformance suite's HTTPRoute filter scenarios, through real nginx.

URL rewrites of host and path, request and response header modifiers, mirrors and timeouts
(redirects: test_conformance_httproute_redirects.py): the suite's objects (our own manifests
on conformance_base's infrastructure) and its expectations: the request the backend saw, the
headers the client got, the copies the mirrors got.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from conformance_base import (
    INFRA,
    V1,
    V2,
    V3,
    Gateway,
    replace_full,
    replace_prefix,
    scenario,
    suite_backends,
    suite_route,
    to,
)
from gateway_objects import backend_ref, path_match
from gateway_objects import route_rule as rule
from harness import EchoBackend, Response

Obj = dict[str, Any]


def _rewrite(**fields: Any) -> Obj:
    return {"type": "URLRewrite", "urlRewrite": fields}


def _pairs(**values: str) -> list[dict[str, str]]:
    return [{"name": name.replace("_", "-"), "value": value} for name, value in values.items()]


def _header_modifier(kind: str, set_: list[Obj], add: list[Obj], remove: list[str]) -> Obj:
    key = "requestHeaderModifier" if kind == "Request" else "responseHeaderModifier"
    body = {name: value for name, value in (("set", set_), ("add", add), ("remove", remove))
            if value}  # fmt: skip
    return {"type": f"{kind}HeaderModifier", key: body}


MODIFY_REQUEST = _header_modifier(
    "Request",
    _pairs(X_Header_Set="set-overwrites-values"),
    _pairs(X_Header_Add="header-val-1", X_Header_Add_Append="header-val-2"),
    ["X-Header-Remove"],
)
SENT_FOR_MODIFY = {"X-Header-Remove": "remove-val", "X-Header-Add-Append": "append-val-1"}


def _check_modified(headers: dict[str, str]) -> None:
    """What MODIFY_REQUEST leaves of SENT_FOR_MODIFY (echo headers are lowercased)."""
    assert headers["x-header-add"] == "header-val-1"
    assert headers["x-header-add-append"] == "append-val-1,header-val-2"
    assert headers["x-header-set"] == "set-overwrites-values"
    assert "x-header-remove" not in headers


@pytest.fixture(scope="module")
def backends() -> Iterator[dict[str, EchoBackend]]:
    with suite_backends() as started:
        yield started


# ----------------------------------------------------------------- HTTPRouteRewriteHost


@pytest.fixture(scope="module")
def rewrite_host(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from scenario(request, [suite_route("rewrite-host", [
        rule([path_match("/one")], to(V1), filters=[_rewrite(hostname="one.example.org")]),
        rule(None, to(V2), filters=[_rewrite(hostname="example.org")]),
        rule([path_match("/rewrite-host-and-modify-headers")], to(V2),
             filters=[_rewrite(hostname="test.example.org"), MODIFY_REQUEST]),
    ], hostnames=["rewrite.example"])])  # fmt: skip


@pytest.mark.parametrize(
    ("target", "backend", "host"),
    [("/one", V1, "one.example.org"), ("/two", V2, "example.org")],
)
def test_a_url_rewrite_gives_the_backend_the_new_host(
    rewrite_host: Gateway, target: str, backend: str, host: str
) -> None:
    seen = rewrite_host.seen(target, "rewrite.example")
    assert (seen["backend"], seen["path"], seen["headers"]["host"]) == (backend, target, host)


def test_a_host_rewrite_and_a_header_modifier_apply_together(rewrite_host: Gateway) -> None:
    target = "/rewrite-host-and-modify-headers"
    seen = rewrite_host.seen(target, "rewrite.example", headers=SENT_FOR_MODIFY)
    assert (seen["backend"], seen["path"], seen["headers"]["host"]) == (
        V2, target, "test.example.org")  # fmt: skip
    _check_modified(seen["headers"])


# ----------------------------------------------------------------- HTTPRouteRewritePath


@pytest.fixture(scope="module")
def rewrite_path(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    prefix, full = replace_prefix, replace_full
    yield from scenario(request, [suite_route("rewrite-path", [
        rule([path_match("/prefix/one")], to(V1), filters=[_rewrite(path=prefix("/one"))]),
        rule([path_match("/strip-prefix")], to(V1), filters=[_rewrite(path=prefix("/"))]),
        rule([path_match("/full/one")], to(V1), filters=[_rewrite(path=full("/one"))]),
        rule([path_match("/full/rewrite-path-and-modify-headers")], to(V1),
             filters=[_rewrite(path=full("/test")), MODIFY_REQUEST]),
        rule([path_match("/prefix/rewrite-path-and-modify-headers")], to(V1),
             filters=[_rewrite(path=prefix("/prefix")), MODIFY_REQUEST]),
    ])])  # fmt: skip


@pytest.mark.parametrize(
    ("target", "rewritten"),
    [("/prefix/one/two", "/one/two"), ("/strip-prefix/three", "/three"),
     ("/strip-prefix", "/"), ("/full/one/two", "/one")],
)  # fmt: skip
def test_a_url_rewrite_replaces_the_prefix_or_the_full_path(
    rewrite_path: Gateway, target: str, rewritten: str
) -> None:
    assert rewrite_path.seen(target)["path"] == rewritten


@pytest.mark.parametrize(
    ("target", "rewritten"),
    [("/full/rewrite-path-and-modify-headers/test", "/test"),
     ("/prefix/rewrite-path-and-modify-headers/one", "/prefix/one")],
)  # fmt: skip
def test_a_path_rewrite_and_a_header_modifier_apply_together(
    rewrite_path: Gateway, target: str, rewritten: str
) -> None:
    seen = rewrite_path.seen(target, headers={**SENT_FOR_MODIFY, "X-Header-Set": "set-val"})
    assert seen["path"] == rewritten
    _check_modified(seen["headers"])


# ------------------------------------------------------- HTTPRouteRequestHeaderModifier


def _modifier_rules(kind: str) -> list[Obj]:
    def each(prefix: str, set_: list[Obj], add: list[Obj], remove: list[str]) -> Obj:
        return rule([path_match(prefix)], to(V1),
                    filters=[_header_modifier(kind, set_, add, remove)])  # fmt: skip

    case_add = _pairs(X_Header_Add="header-add")
    if kind == "Response":
        case_add += [{"name": "x-lowercase-add", "value": "lowercase-add"},
                     {"name": "x-Mixedcase-ADD-1", "value": "mixedcase-add-1"},
                     {"name": "X-mixeDcase-add-2", "value": "mixedcase-add-2"},
                     {"name": "X-UPPERCASE-ADD", "value": "uppercase-add"}]  # fmt: skip
    return [
        each("/set", _pairs(X_Header_Set="set-overwrites-values"), [], []),
        each("/add", [], _pairs(X_Header_Add="add-appends-values"), []),
        each("/remove", [], [], ["X-Header-Remove"]),
        each("/multiple", _pairs(X_Header_Set_1="header-set-1", X_Header_Set_2="header-set-2"),
             _pairs(X_Header_Add_1="header-add-1", X_Header_Add_2="header-add-2",
                    X_Header_Add_3="header-add-3"), ["X-Header-Remove-1", "X-Header-Remove-2"]),
        each("/case-insensitivity", _pairs(X_Header_Set="header-set"), case_add,
             ["X-Header-Remove"]),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def request_headers(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from scenario(
        request, [suite_route("request-header-modifier", _modifier_rules("Request"))]
    )


HEADER_CASES = [
    # target, headers sent (by the client, or by the backend), expected, absent
    ("/set", {"Some-Other-Header": "val"},
     {"Some-Other-Header": "val", "X-Header-Set": "set-overwrites-values"}, []),
    ("/set", {"Some-Other-Header": "val", "X-Header-Set": "some-other-value"},
     {"Some-Other-Header": "val", "X-Header-Set": "set-overwrites-values"}, []),
    ("/add", {"Some-Other-Header": "val"},
     {"Some-Other-Header": "val", "X-Header-Add": "add-appends-values"}, []),
    ("/add", {"Some-Other-Header": "val", "X-Header-Add": "some-other-value"},
     {"Some-Other-Header": "val", "X-Header-Add": "some-other-value,add-appends-values"}, []),
    ("/remove", {"X-Header-Remove": "val"}, {}, ["X-Header-Remove"]),
    ("/multiple", {"X-Header-Set-2": "set-val-2", "X-Header-Add-2": "add-val-2",
                   "X-Header-Remove-2": "remove-val-2", "Another-Header": "another-header-val",
                   "X-Header-Remove-1": "val"},
     {"X-Header-Set-1": "header-set-1", "X-Header-Set-2": "header-set-2",
      "X-Header-Add-1": "header-add-1", "X-Header-Add-2": "add-val-2,header-add-2",
      "X-Header-Add-3": "header-add-3", "Another-Header": "another-header-val"},
     ["X-Header-Remove-1", "X-Header-Remove-2"]),
    ("/case-insensitivity", {"x-header-set": "original-val-set",
                             "x-header-add": "original-val-add",
                             "x-header-remove": "original-val-remove",
                             "Another-Header": "another-header-val"},
     {"X-Header-Set": "header-set", "X-Header-Add": "original-val-add,header-add",
      "Another-Header": "another-header-val"}, ["X-Header-Remove"]),
]  # fmt: skip


def _joined(values: list[str] | None) -> str | None:
    """Several fields of one name as the suite compares them: joined with ','."""
    return ",".join(values) if values else None


@pytest.mark.parametrize(("target", "sent", "expected", "absent"), HEADER_CASES)
def test_request_headers_are_set_added_and_removed_by_the_filter(
    request_headers: Gateway, target: str, sent: dict[str, str], expected: dict[str, str],
    absent: list[str],
) -> None:  # fmt: skip
    seen = request_headers.seen(target, headers=sent)
    assert seen["backend"] == V1
    got = {name.lower(): value.replace(", ", ",") for name, value in seen["headers"].items()}
    for name, value in expected.items():
        assert got.get(name.lower()) == value, name
    for name in absent:
        assert name.lower() not in got


# ------------------------------------------------------ HTTPRouteResponseHeaderModifier


@pytest.fixture(scope="module")
def response_headers(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    both = rule([path_match("/response-and-request-header-modifiers")], to(V1), filters=[
        _header_modifier("Response", _pairs(X_Header_Set_1="header-set-1",
                                            X_Header_Set_2="header-set-2"),
                         _pairs(X_Header_Add_1="header-add-1", X_Header_Add_2="header-add-2"),
                         ["X-Header-Remove-1", "X-Header-Remove-2"]),
        MODIFY_REQUEST])  # fmt: skip
    rules = [*_modifier_rules("Response"), both]
    yield from scenario(request, [suite_route("response-header-modifier", rules)])


RESPONSE_CASE_ADDS = {
    "X-Lowercase-Add": "lowercase-add",
    "X-Mixedcase-Add-1": "mixedcase-add-1",
    "X-Mixedcase-Add-2": "mixedcase-add-2",
    "X-Uppercase-Add": "uppercase-add",
}


def _answered(gateway: Gateway, target: str, set_by_backend: dict[str, str], **options: Any
              ) -> Response:  # fmt: skip
    asked = [("X-Echo-Set-Header", f"{name}: {value}") for name, value in set_by_backend.items()]
    response = gateway.get(target, headers=[*asked, *options.pop("headers", [])], **options)
    assert response.status == 200
    assert response.json()["backend"] == V1
    return response


@pytest.mark.parametrize(("target", "sent", "expected", "absent"), HEADER_CASES)
def test_response_headers_are_set_added_and_removed_by_the_filter(
    response_headers: Gateway, target: str, sent: dict[str, str], expected: dict[str, str],
    absent: list[str],
) -> None:  # fmt: skip
    response = _answered(response_headers, target, sent)
    if target == "/case-insensitivity":
        expected = {**expected, **RESPONSE_CASE_ADDS}
    for name, value in expected.items():
        assert _joined(response.headers.get_all(name)) == value, name
    for name in absent:
        assert response.headers.get_all(name) is None, name


def test_response_and_request_header_modifiers_apply_together(response_headers: Gateway) -> None:
    set_by_backend = {"X-Header-Set-2": "set-val-2", "X-Header-Add-2": "add-val-2",
                      "X-Header-Remove-2": "remove-val-2", "Another-Header": "another-header-val",
                      "X-Header-Remove-1": "remove-val-1", "X-Header-Echo": "echo"}  # fmt: skip
    sent = [*SENT_FOR_MODIFY.items(), ("X-Header-Echo", "echo")]
    response = _answered(response_headers, "/response-and-request-header-modifiers",
                         set_by_backend, headers=sent)  # fmt: skip
    seen = response.json()["headers"]
    _check_modified({name: value.replace(", ", ",") for name, value in seen.items()})
    assert seen["x-header-echo"] == "echo"
    expected = {"X-Header-Set-1": "header-set-1", "X-Header-Set-2": "header-set-2",
                "X-Header-Add-1": "header-add-1", "X-Header-Add-2": "add-val-2,header-add-2",
                "Another-Header": "another-header-val", "X-Header-Echo": "echo"}  # fmt: skip
    for name, value in expected.items():
        assert _joined(response.headers.get_all(name)) == value, name
    for name in ("X-Header-Remove-1", "X-Header-Remove-2"):
        assert response.headers.get_all(name) is None, name


# ------------------------------------------ HTTPRouteRequestMirror, ...RequestMultipleMirrors


def _mirror(service: str) -> Obj:
    return {"type": "RequestMirror", "requestMirror": {
        "backendRef": {"name": service, "namespace": INFRA, "port": 8080}}}  # fmt: skip


@pytest.fixture(scope="module")
def mirrors(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    main = [backend_ref(V1, 8080, namespace=INFRA)]
    yield from scenario(request, [
        suite_route("request-mirror", [
            rule([path_match("/mirror")], main, filters=[_mirror(V2)]),
            rule([path_match("/mirror-and-modify-headers")], main,
                 filters=[MODIFY_REQUEST, _mirror(V2)]),
        ], hostnames=["mirror.test"]),
        suite_route("request-multiple-mirrors", [
            rule([path_match("/multi-mirror")], main, filters=[_mirror(V2), _mirror(V3)]),
            rule([path_match("/multi-mirror-and-modify-request-headers")], main,
                 filters=[MODIFY_REQUEST, _mirror(V2), _mirror(V3)]),
        ], hostnames=["multi-mirror.test"]),
    ])  # fmt: skip


def _copies(backend: EchoBackend, target: str) -> list[Any]:
    """The mirrored copies of ``target`` (sent in the background: waited for, boundedly)."""
    for _ in range(100):
        copies = [seen for seen in backend.requests if seen.path == target]
        if copies:
            return copies
        time.sleep(0.05)
    return []


@pytest.mark.parametrize(
    ("host", "target", "modified", "mirrored_to"),
    [("mirror.test", "/mirror", False, [V2]),
     ("mirror.test", "/mirror-and-modify-headers", True, [V2]),
     ("multi-mirror.test", "/multi-mirror", False, [V2, V3]),
     ("multi-mirror.test", "/multi-mirror-and-modify-request-headers", True, [V2, V3])],
)  # fmt: skip
def test_a_mirror_gets_a_copy_and_the_client_the_main_backend_answer(
    mirrors: Gateway, backends: dict[str, EchoBackend], host: str, target: str,
    modified: bool, mirrored_to: list[str],
) -> None:  # fmt: skip
    target = f"{target}?request-id={uuid.uuid4()}"
    seen = mirrors.seen(target, host, headers=SENT_FOR_MODIFY if modified else {})
    assert (seen["backend"], seen["path"]) == (V1, target)
    if modified:
        _check_modified({name: value.replace(", ", ",") for name, value in seen["headers"].items()})
    for name in mirrored_to:  # the suite checks the copy's path only
        assert len(_copies(backends[name], target)) == 1, name


# --------------------------------------------------------------- HTTPRouteRequestPercentageMirror


@pytest.fixture(scope="module")
def percent_mirror(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    copy = {"type": "RequestMirror", "requestMirror": {
        "backendRef": {"name": V2, "namespace": INFRA, "port": 8080}, "percent": 20}}  # fmt: skip
    yield from scenario(request, [suite_route("request-percentage-mirror", [
        rule([path_match("/percent-mirror")], to(V1), filters=[copy])])])  # fmt: skip


def test_a_mirror_percent_mirrors_that_share_of_the_requests(
    percent_mirror: Gateway, backends: dict[str, EchoBackend]
) -> None:
    run = uuid.uuid4()
    for index in range(100):
        assert percent_mirror.backend(f"/percent-mirror?run={run}&n={index}") == V1
    time.sleep(0.5)  # let the copies in flight arrive (bounded)
    copies = [seen for seen in backends[V2].requests if f"run={run}" in seen.path]
    assert 5 <= len(copies) <= 40, len(copies)  # 20% of 100 is 20 (sd 4)


# ------------------------------------ HTTPRouteTimeoutBackendRequest, HTTPRouteTimeoutRequest


@pytest.fixture(scope="module")
def timeouts(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    def timed(prefix: str, field: str, value: str) -> Obj:
        return rule([path_match(prefix)], to(V1), timeouts={field: value})

    yield from scenario(request, [
        suite_route("backend-request-timeout", [
            timed("/backend-timeout", "backendRequest", "500ms"),
            timed("/disable-backend-timeout", "backendRequest", "0s")]),
        suite_route("request-timeout", [
            timed("/request-timeout", "request", "500ms"),
            timed("/disable-request-timeout", "request", "0s")]),
    ])  # fmt: skip


@pytest.mark.parametrize("prefix", ["/backend-timeout", "/request-timeout"])
def test_a_backend_slower_than_the_timeout_gets_504(timeouts: Gateway, prefix: str) -> None:
    assert timeouts.backend(prefix) == V1
    slow = [("X-Echo-Delay", "1")]
    assert timeouts.backend(f"{prefix}?delay=1s", headers=slow) == 504


@pytest.mark.parametrize("prefix", ["/disable-backend-timeout", "/disable-request-timeout"])
def test_a_zero_timeout_disables_it(timeouts: Gateway, prefix: str) -> None:
    slow = [("X-Echo-Delay", "1")]
    assert timeouts.backend(f"{prefix}?delay=1s", headers=slow) == V1


# ------------------------------ HTTPRouteBackendRequestHeaderModifier, ...BackendWeights


@pytest.fixture(scope="module")
def backend_filters(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    def with_header(service: str) -> Obj:
        modifier = _header_modifier("Request", _pairs(Backend=service), [], [])
        return backend_ref(service, 8080, weight=10, filters=[modifier])

    yield from scenario(request, [suite_route("request-header-modifier-backend-weights", [
        rule(None, [with_header(V1), with_header(V2)])])])  # fmt: skip


def test_each_backend_ref_applies_its_own_header_filter(backend_filters: Gateway) -> None:
    answered = Counter()
    for index in range(40):
        seen = backend_filters.seen(f"/?n={index}")
        assert seen["headers"]["backend"] == seen["backend"]
        answered[seen["backend"]] += 1
    assert set(answered) == {V1, V2}
