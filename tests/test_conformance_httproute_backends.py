"""The Gateway API conformance suite's HTTPRoute attachment and backendRef scenarios, via nginx.

Routes in the infra namespace and in others, ReferenceGrants (valid, and wrong in each of
their fields), backendRefs that cannot be used (500 for their requests only), rules without
backendRefs, weights, named rules, Services of other shapes, and parentRefs that attach
nowhere (nothing served, the reason reported): the suite's objects, rebuilt on
conformance_base's infrastructure, and its expectations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from conformance_base import (
    APP,
    GATEWAY_CLASS_ARGS,
    INFRA,
    V1,
    V2,
    V3,
    WEB,
    Gateway,
    base_objects,
    conformance_class,
    scenario,
    suite_backends,
    suite_gateway,
    suite_route,
    to,
)
from e2e import render
from gateway_objects import backend_ref, listener, parent, path_match
from gateway_objects import route_rule as rule
from harness import EchoBackend, websocket_roundtrip

Obj = dict[str, Any]
ROUTE_GROUP = "gateway.networking.k8s.io"


def _grant(name: str, namespace: str, source: Obj, target: Obj) -> Obj:
    """A ReferenceGrant (v1) with one ``from`` and one ``to`` entry, as given."""
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "ReferenceGrant",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"from": [source], "to": [target]}}  # fmt: skip


def _from(kind: str = "HTTPRoute", namespace: str = INFRA, group: str = ROUTE_GROUP) -> Obj:
    return {"group": group, "kind": kind, "namespace": namespace}


def _service(name: str, kind: str = "Service", group: str = "") -> Obj:
    return {"group": group, "kind": kind, "name": name}


@pytest.fixture(scope="module")
def backends() -> Iterator[dict[str, EchoBackend]]:
    with suite_backends() as started:
        yield started


# ------------------------------------------------ HTTPRouteSimpleSameNamespace (class object)


@pytest.fixture(scope="module")
def simple(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    route = suite_route("gateway-conformance-infra-test", [rule(None, to(V1))])
    # the suite's class as a GatewayClass naming our controller, with no --gateway-class
    yield from scenario(request, [conformance_class(), route], "--gateway-class", "nginx")


def test_a_route_attaches_to_a_gateway_of_its_namespace(simple: Gateway) -> None:
    assert simple.backend("/") == V1
    assert simple.explain("/") == V1
    assert "gatewayClassName" not in simple.messages, simple.messages


# -------------------------------------------------------------------- HTTPRouteCrossNamespace


@pytest.fixture(scope="module")
def cross(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from scenario(request, [
        suite_route("cross-namespace", [rule(None, to("web-backend"))], namespace=WEB,
               parents=[parent("backend-namespaces", namespace=INFRA)]),
        # HTTPRouteInvalidCrossNamespaceParentRef: same-namespace admits its own namespace
        suite_route("invalid-cross-namespace-parent-ref", [rule([path_match("/invalid")],
               to("web-backend"))], namespace=WEB, parents=[parent("same-namespace",
               namespace=INFRA)]),
    ])  # fmt: skip


def test_a_route_of_a_selected_namespace_attaches_to_a_gateway_of_another(cross: Gateway) -> None:
    assert cross.backend("/") == "web-backend"
    assert cross.explain("/") == "web-backend"


def test_a_route_of_a_namespace_the_listener_does_not_admit_is_not_served(cross: Gateway) -> None:
    assert cross.backend("/invalid") == "web-backend", "served by cross-namespace's / only"
    assert (
        "httproute gateway-conformance-web-backend/invalid-cross-namespace-parent-ref"
        in cross.messages
    )
    assert "NotAllowedByListeners" in cross.messages


# -------------------------------------------------------------------- HTTPRouteReferenceGrant


def _granted_route() -> Obj:
    return suite_route("reference-grant", [rule(None, to("web-backend", namespace=WEB))])


@pytest.fixture(scope="module")
def granted(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    grant = _grant("reference-grant", WEB, _from(), _service("web-backend"))
    yield from scenario(request, [grant, _granted_route()])


@pytest.fixture(scope="module")
def grant_deleted(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from scenario(request, [_granted_route()])


def test_a_reference_grant_lets_a_route_use_a_service_of_another_namespace(
    granted: Gateway,
) -> None:
    assert granted.backend("/") == "web-backend"


def test_without_the_reference_grant_the_request_gets_500(grant_deleted: Gateway) -> None:
    assert grant_deleted.backend("/") == 500
    assert "RefNotPermitted" in grant_deleted.messages


# ------------------------------------------------------------- HTTPRouteInvalidReferenceGrant


@pytest.fixture(scope="module")
def wrong_grants(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    web = _service("web-backend")
    grants = [
        _grant("reference-grant-wrong-namespace", INFRA, _from(), web),
        _grant("reference-grant-wrong-from-group", WEB, _from(group="not-the-group"), web),
        _grant("reference-grant-wrong-from-kind", WEB, _from(kind="Gateway"), web),
        _grant("reference-grant-wrong-from-namespace", WEB, _from(namespace="not-the-ns"), web),
        _grant("reference-grant-wrong-to-group", WEB, _from(),
               _service("web-backend", group="not-the-group")),
        _grant("reference-grant-wrong-to-kind", WEB, _from(), _service("web-backend", "Secret")),
        _grant("reference-grant-wrong-to-name", WEB, _from(), _service("not-the-service")),
    ]  # fmt: skip
    yield from scenario(request, [*grants, _granted_route()])


def test_reference_grants_wrong_in_any_field_do_not_permit_the_reference(
    wrong_grants: Gateway,
) -> None:
    assert wrong_grants.backend("/") == 500
    assert "RefNotPermitted" in wrong_grants.messages


# ------------------------------------------------ HTTPRoutePartiallyInvalidViaInvalidReferenceGrant


@pytest.fixture(scope="module")
def partly(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    grant = _grant("invalid-reference-grant", APP, _from(), _service("app-backend-v1"))
    yield from scenario(request, [grant, suite_route("invalid-reference-grant", [
        rule([path_match("/v2")], to("app-backend-v2", namespace=APP)),
        rule(None, to("app-backend-v1", namespace=APP)),
    ])])  # fmt: skip


def test_a_rule_without_grant_gets_500_and_its_granted_sibling_is_served(partly: Gateway) -> None:
    assert partly.backend("/v2") == partly.explain("/v2") == 500
    assert partly.backend("/") == partly.explain("/") == "app-backend-v1"


# ---------------------------- HTTPRouteInvalidBackendRefUnknownKind, ...NonExistentBackendRef,
# ---------------------------- ...CrossNamespaceBackendRef, HTTPRouteNoBackendRefs (omitted)


def _invalid_ref_route(name: str, ref: Obj) -> Obj:
    return suite_route(name, [rule(None, [ref])], hostnames=[f"{name}.test"])


@pytest.fixture(scope="module")
def invalid(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    unknown = backend_ref(V1, 8080, group="unknownkind.example.com", kind="NonExistent")
    yield from scenario(request, [
        _invalid_ref_route("unknown-kind", unknown),
        _invalid_ref_route("nonexistent", backend_ref("nonexistent", 8080, namespace=INFRA)),
        _invalid_ref_route("cross-namespace", backend_ref("web-backend", 8080, namespace=WEB)),
        suite_route("omitted-backendrefs", [
            {"matches": [path_match("/omitted-no-forward", "Exact")]},
            rule([path_match("/empty-no-forward", "Exact")], []),
            rule([path_match("/")], to(V1)),
        ]),
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("host", "target", "reason"),
    [
        ("unknown-kind.test", "/v2", "InvalidKind"),
        ("nonexistent.test", "/", "BackendNotFound"),
        ("cross-namespace.test", "/", "RefNotPermitted"),
    ],
)
def test_a_backend_ref_that_cannot_be_used_answers_500(
    invalid: Gateway, host: str, target: str, reason: str
) -> None:
    assert invalid.backend(target, host) == invalid.explain(target, host) == 500
    assert reason in invalid.messages


def test_rules_without_backend_refs_answer_500_and_the_others_are_served(
    invalid: Gateway,
) -> None:
    assert invalid.backend("/forward") == invalid.explain("/forward") == V1
    for target in ("/omitted-no-forward", "/empty-no-forward"):
        assert invalid.backend(target) == invalid.explain(target) == 500


# ------------------------------------------------------------------------- HTTPRouteWeight


@pytest.fixture(scope="module")
def weighted(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from scenario(request, [suite_route("weighted-backends", [rule(None, [
        backend_ref(V1, 8080, weight=70), backend_ref(V2, 8080, weight=30),
        backend_ref(V3, 8080, weight=0)])])])  # fmt: skip


def test_requests_are_shared_by_weight_and_a_zero_weight_gets_none(weighted: Gateway) -> None:
    counts = Counter(weighted.backend(f"/?entropy={index}") for index in range(200))
    assert set(counts) == {V1, V2}, counts
    assert 110 <= counts[V1] <= 170, counts  # 70% of 200 is 140 (sd 6.5)


# --------------------------------------------------------------------- HTTPRouteNamedRule


@pytest.fixture(scope="module")
def named(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from scenario(request, [suite_route("http-named-rules", [
        rule([path_match("/named")], to(V1), name="named-rule"),
        rule([path_match("/unnamed")], to(V2)),
    ])])  # fmt: skip


def test_named_and_unnamed_rules_are_both_served(named: Gateway) -> None:
    assert named.backend("/named") == named.explain("/named") == V1
    assert named.backend("/unnamed") == named.explain("/unnamed") == V2


# ------------------------------------------------------------------- HTTPRouteServiceTypes


def _typed_services(backend: EchoBackend) -> list[Obj]:
    """The suite's three Service shapes; each one's endpoints are ``backend`` (IPv4 only)."""
    objects: list[Obj] = []
    for name, headless in (("manual-endpointslices", False), ("headless", True),
                           ("headless-manual-endpointslices", True)):  # fmt: skip
        spec: Obj = {"ports": [{"name": "first-port", "protocol": "TCP", "port": 8080,
                                "targetPort": 3000}]}  # fmt: skip
        if headless:
            spec["clusterIP"] = "None"
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": INFRA},
                "spec": spec,
            }
        )
        for family, endpoints in (("IPv4", [backend.address]), ("IPv6", [])):
            objects.append({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": f"{name}-ip{family[-1]}", "namespace": INFRA,
                             "labels": {"kubernetes.io/service-name": name}},
                "addressType": family,
                "ports": [{"name": "first-port", "port": backend.port, "protocol": "TCP"}],
                "endpoints": [{"addresses": [address], "conditions": {"ready": True}}
                              for address in endpoints],
            })  # fmt: skip
    return objects


@pytest.fixture(scope="module")
def service_types(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    backends = request.getfixturevalue("backends")
    rules = [
        rule([path_match(f"/{name}", "Exact")], [backend_ref(name, 8080)])
        for name in ("manual-endpointslices", "headless", "headless-manual-endpointslices")
    ]
    yield from scenario(
        request, [*_typed_services(backends[V1]), suite_route("service-types", rules)]
    )


@pytest.mark.parametrize("name", ["manual-endpointslices", "headless",
                                  "headless-manual-endpointslices"])  # fmt: skip
def test_services_of_every_shape_are_reached_through_their_endpoint_slices(
    service_types: Gateway, name: str
) -> None:
    assert service_types.backend(f"/{name}") == V1
    assert service_types.explain(f"/{name}") == name


# ------------------------- HTTPRouteDisallowedKind, HTTPRouteInvalidParentRef* (not attached)


@pytest.fixture(scope="module")
def unattached(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    tls_only = {
        "name": "tls",
        "port": 443,
        "protocol": "TLS",
        "tls": {"mode": "Passthrough"},
        "allowedRoutes": {"namespaces": {"from": "Same"}, "kinds": [{"kind": "TLSRoute"}]},
    }
    one_listener = "gateway-with-one-not-matching-port-and-section-name-route"
    yield from scenario(request, [
        suite_gateway("tlsroutes-only", [tls_only]),
        suite_gateway(one_listener, [listener("http", 80, namespaces="All",
                                              kinds=["HTTPRoute"])]),
        suite_route("disallowed-kind", [rule(None, to(V1))], hostnames=["kind.test"],
               parents=[parent("tlsroutes-only", namespace=INFRA)]),
        suite_route("httproute-listener-not-matching-route-port", [rule(None, to(V1))],
               hostnames=["port.test"], parents=[parent("same-namespace", namespace=INFRA,
                                                        port=81)]),
        suite_route("httproute-listener-not-matching-section-name", [rule(None, to(V1))],
               hostnames=["section.test"], parents=[parent("same-namespace", namespace=INFRA,
                                                           port=80, section="http1")]),
        suite_route("httproute-listener-section-name-not-matching-port", [rule(None, to(V1))],
               hostnames=["both.test"], parents=[parent(one_listener, namespace=INFRA,
                                                        section="http", port=81)]),
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("host", "route", "reason"),
    [
        ("kind.test", "disallowed-kind", "NotAllowedByListeners"),
        ("port.test", "httproute-listener-not-matching-route-port", "NoMatchingParent"),
        ("section.test", "httproute-listener-not-matching-section-name", "NoMatchingParent"),
        ("both.test", "httproute-listener-section-name-not-matching-port", "NoMatchingParent"),
    ],
)
def test_a_route_its_parent_does_not_accept_is_not_served_and_the_reason_reported(
    unattached: Gateway, host: str, route: str, reason: str
) -> None:
    assert unattached.backend("/", host) == unattached.explain("/", host) == 404
    lines = [line for line in unattached.messages.splitlines() if f"{INFRA}/{route}:" in line]
    assert lines and reason in lines[0], unattached.messages


# ------------------------------------------------------- HTTPRouteBackendProtocolWebSocket


@pytest.fixture(scope="module")
def websocket(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from scenario(
        request, [suite_route("backend-protocol-ws", [rule(None, [backend_ref(V1, 8082)])])]
    )


def test_a_websocket_reaches_the_backend_through_its_ws_port(websocket: Gateway) -> None:
    reply = websocket_roundtrip(websocket.port, "/ws", websocket.address, "Websocket Support!")
    assert reply == f"{V1}: Websocket Support!"


# ------------------------------------------- HTTPRouteRetry, session persistence (not served)


def test_rule_fields_nginx_cannot_honour_are_reported_and_the_rule_served(
    backends: dict[str, EchoBackend],
) -> None:
    retried = rule([path_match("/retry/code-500-attempts-3")], to(V3),
                   retry={"codes": [500], "attempts": 3})  # fmt: skip
    sticky = rule([path_match("/sticky")], to(V1),
                  sessionPersistence={"sessionName": "s", "type": "Cookie"})  # fmt: skip
    rendered = render([*base_objects(backends), suite_route("retries", [retried, sticky])],
                      *GATEWAY_CLASS_ARGS)  # fmt: skip
    assert rendered.code == 0
    assert "retries: spec.rules[0].retry: not supported" in rendered.messages
    assert "retries: spec.rules[1].sessionPersistence: not supported" in rendered.messages
    assert "location = /retry/code-500-attempts-3" in rendered.config
