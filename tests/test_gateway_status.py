"""Gateway API status as the Gateway API defines it, one condition reason at a time: what
normalize/gateway/status.py wants each GatewayClass, Gateway (and listener) and HTTPRoute
parent to say, from the same translation the renderer makes (no cluster here: the writer is
tests/test_cluster_gateway_status.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from e2e import ingress, path, rule, service, to
from gateway_objects import (
    CONTROLLER,
    backend_ref,
    gateway,
    gateway_class,
    grpc_route,
    http_route,
    listener,
    parent,
    path_match,
    reference_grant,
    route_rule,
)
from tls_secrets import tls_secret

from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.gateway.status import desired_statuses
from ingress2nginx.normalize.normalizing import normalize

Obj = dict[str, Any]
ADDRESS = {"type": "IPAddress", "value": "203.0.113.5"}
HTTP_ROUTE_KIND = {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}
BOTH_KINDS = [HTTP_ROUTE_KIND, {"group": "gateway.networking.k8s.io", "kind": "GRPCRoute"}]
CURRENT_NGINX = Settings(nginx_version=(1, 30, 0))


def manifests(objects: Iterable[Obj]) -> list[Manifest]:
    found = []
    for body in objects:
        metadata = body["metadata"]
        namespace = "" if body["kind"] in ("GatewayClass", "Namespace") else "default"
        found.append(Manifest(body["kind"], metadata.get("namespace", namespace),
                              metadata["name"], body, "test"))  # fmt: skip
    return found


def statuses(*objects: Obj, settings: Settings | None = None) -> dict[tuple[str, str, str], Obj]:
    """The wanted status of each object of ours, by (kind, namespace, name)."""
    settings = settings or Settings()
    inventory = Inventory.build(manifests(objects))
    translation = normalize(inventory, settings)
    wanted = desired_statuses(inventory, settings, translation.problems, [ADDRESS])
    return {(item.manifest.kind, item.manifest.namespace, item.manifest.name): item.status
            for item in wanted}  # fmt: skip


def condition(holder: Obj, kind: str) -> tuple[str, str]:
    (found,) = [item for item in holder["conditions"] if item["type"] == kind]
    return found["status"], found["reason"]


def listener_of(status: Obj, name: str) -> Obj:
    (found,) = [item for item in status["listeners"] if item["name"] == name]
    return found


def parents_of(
    found: dict[tuple[str, str, str], Obj], name: str, namespace: str = "default"
) -> list[Obj]:
    return found[("HTTPRoute", namespace, name)]["parents"]


def web_gateway(*listeners: Obj, namespace: str = "default") -> Obj:
    return gateway("web", namespace=namespace, listeners=list(listeners) or [listener("http", 80)])


def shop_route(*parents: Obj, namespace: str = "default", hostnames: Iterable[str] = ("shop.test",),
               backends: Iterable[Obj] = (), rules: list[Obj] | None = None) -> Obj:  # fmt: skip
    refs = list(backends) or [backend_ref("shop")]
    rules = rules or [route_rule(None, refs)]
    return http_route("shop", namespace=namespace, parents=list(parents) or [parent("web")],
                      hostnames=list(hostnames), rules=rules)  # fmt: skip


# -- GatewayClass


def test_a_gateway_class_of_ours_is_accepted_and_another_controllers_gets_no_status() -> None:
    found = statuses(gateway_class(), gateway_class("theirs", "example.com/other"))
    assert condition(found[("GatewayClass", "", "ours")], "Accepted") == ("True", "Accepted")
    assert ("GatewayClass", "", "theirs") not in found


def test_a_gateway_class_with_parameters_is_not_accepted_and_its_gateways_not_served() -> None:
    with_parameters = gateway_class()
    with_parameters["spec"]["parametersRef"] = {"group": "", "kind": "ConfigMap", "name": "x"}
    found = statuses(with_parameters, web_gateway(), shop_route(), service("shop"))
    assert condition(found[("GatewayClass", "", "ours")], "Accepted") == (
        "False",
        "InvalidParameters",
    )
    assert ("Gateway", "default", "web") not in found
    assert parents_of(found, "shop") == []


def test_the_gateway_class_option_names_no_class_that_is_not_accepted() -> None:
    refused = gateway_class("nginx")
    refused["spec"]["parametersRef"] = {"group": "", "kind": "ConfigMap", "name": "x"}
    web = gateway("web", class_name="nginx", listeners=[listener("http", 80)])
    found = statuses(refused, web, shop_route(), service("shop"))
    assert ("Gateway", "default", "web") not in found
    inventory = Inventory.build(manifests([refused, web, shop_route(), service("shop")]))
    hosts = {server.host for server in normalize(inventory, Settings()).config.servers}
    assert "shop.test" not in hosts


# -- Gateway


def test_a_served_gateway_is_accepted_and_programmed_with_the_published_addresses() -> None:
    found = statuses(gateway_class(), web_gateway(), shop_route(), service("shop"))
    status = found[("Gateway", "default", "web")]
    assert condition(status, "Accepted") == ("True", "Accepted")
    assert condition(status, "Programmed") == ("True", "Programmed")
    assert status["addresses"] == [ADDRESS]
    http = listener_of(status, "http")
    assert http["supportedKinds"] == [HTTP_ROUTE_KIND]  # no h2c beside HTTP/1.1 before 1.25.1
    assert http["attachedRoutes"] == 1
    for kind, reason in (("Accepted", "Accepted"), ("ResolvedRefs", "ResolvedRefs"),
                         ("Programmed", "Programmed")):  # fmt: skip
        assert condition(http, kind) == ("True", reason)
    assert condition(http, "Conflicted") == ("False", "NoConflicts")


def test_every_condition_carries_the_objects_generation() -> None:
    web = web_gateway()
    web["metadata"]["generation"] = 7
    status = statuses(gateway_class(), web)[("Gateway", "default", "web")]
    generations = {item["observedGeneration"] for item in status["conditions"]}
    generations |= {item["observedGeneration"] for item in status["listeners"][0]["conditions"]}
    assert generations == {7}


def test_the_gateway_of_the_gateway_class_option_gets_a_status_without_a_gateway_class() -> None:
    found = statuses(gateway("web", class_name="nginx", listeners=[listener("http", 80)]))
    assert condition(found[("Gateway", "default", "web")], "Programmed") == ("True", "Programmed")


def test_a_gateway_of_another_controllers_class_gets_no_status() -> None:
    theirs = gateway_class("nginx", "example.com/other")
    found = statuses(theirs, gateway("web", class_name="nginx", listeners=[listener("http", 80)]))
    assert ("Gateway", "default", "web") not in found


def test_a_route_counts_once_on_a_listener_it_attaches_to_twice() -> None:
    route = shop_route(parent("web"), parent("web", section="http"))
    found = statuses(gateway_class(), web_gateway(), route, service("shop"))
    assert listener_of(found[("Gateway", "default", "web")], "http")["attachedRoutes"] == 1


# -- listeners


def test_a_listener_of_an_unsupported_protocol_is_not_accepted() -> None:
    tcp = {"name": "tcp", "port": 9000, "protocol": "TCP"}
    status = statuses(gateway_class(), web_gateway(listener("http", 80), tcp))[
        ("Gateway", "default", "web")
    ]
    assert condition(listener_of(status, "tcp"), "Accepted") == ("False", "UnsupportedProtocol")
    assert condition(listener_of(status, "tcp"), "Programmed") == ("False", "Invalid")
    assert listener_of(status, "tcp")["supportedKinds"] == []
    assert condition(status, "Accepted") == ("True", "ListenersNotValid")
    assert condition(status, "Programmed") == ("True", "Programmed")


def test_a_listener_on_a_port_nginx_cannot_serve_it_on_is_port_unavailable() -> None:
    odd = {"name": "odd", "port": 443, "protocol": "HTTP"}
    status = statuses(gateway_class(), web_gateway(odd))[("Gateway", "default", "web")]
    assert condition(listener_of(status, "odd"), "Accepted") == ("False", "PortUnavailable")
    assert condition(status, "Accepted") == ("False", "ListenersNotValid")
    assert condition(status, "Programmed") == ("False", "Invalid")


@pytest.mark.parametrize(
    ("secrets", "reference", "reason"),
    [
        ([], {"kind": "Secret", "name": "missing-tls"}, "InvalidCertificateRef"),
        ([], {"group": "", "kind": "ConfigMap", "name": "web-tls"}, "InvalidCertificateRef"),
        ([tls_secret("default", "bad-tls", ["secure.test"], not_pem=True)],
         {"kind": "Secret", "name": "bad-tls"}, "InvalidCertificateRef"),
        ([tls_secret("vault", "web-tls", ["secure.test"])],
         {"kind": "Secret", "name": "web-tls", "namespace": "vault"}, "RefNotPermitted"),
    ],
    ids=["missing-secret", "not-a-secret", "malformed-secret", "other-namespace-no-grant"],
)  # fmt: skip
def test_an_https_listener_without_a_usable_certificate_does_not_resolve_its_refs(
    secrets: list[Obj], reference: Obj, reason: str
) -> None:
    https = listener("https", 443, hostname="secure.test")
    https["tls"] = {"mode": "Terminate", "certificateRefs": [reference]}
    found = statuses(gateway_class(), web_gateway(https), *secrets)
    status = listener_of(found[("Gateway", "default", "web")], "https")
    assert condition(status, "ResolvedRefs") == ("False", reason)
    assert condition(status, "Programmed") == ("False", "Invalid")
    assert status["supportedKinds"] == BOTH_KINDS


def test_a_certificate_in_another_namespace_resolves_with_a_reference_grant() -> None:
    https = listener(
        "https", 443, hostname="secure.test", secret="web-tls", secret_namespace="vault"
    )
    found = statuses(gateway_class(), web_gateway(https),
                     tls_secret("vault", "web-tls", ["secure.test"]),
                     reference_grant("vault", "Gateway", "default", "Secret"))  # fmt: skip
    status = listener_of(found[("Gateway", "default", "web")], "https")
    assert condition(status, "ResolvedRefs") == ("True", "ResolvedRefs")
    assert condition(status, "Programmed") == ("True", "Programmed")


@pytest.mark.parametrize(
    ("kinds", "supported"),
    [(["TCPRoute"], []), (["HTTPRoute", "TCPRoute"], ["HTTPRoute"])],
    ids=["only-unsupported", "mixed"],
)
def test_a_listener_naming_route_kinds_it_cannot_take_has_invalid_route_kinds(
    kinds: list[str], supported: list[str]
) -> None:
    found = statuses(gateway_class(), web_gateway(listener("http", 80, kinds=kinds)))
    status = listener_of(found[("Gateway", "default", "web")], "http")
    assert condition(status, "ResolvedRefs") == ("False", "InvalidRouteKinds")
    assert [item["kind"] for item in status["supportedKinds"]] == supported


def test_a_second_listener_on_the_same_port_and_hostname_is_conflicted() -> None:
    first, second = listener("a", 80, hostname="x.test"), listener("b", 80, hostname="x.test")
    status = statuses(gateway_class(), web_gateway(first, second))[("Gateway", "default", "web")]
    assert condition(listener_of(status, "a"), "Conflicted") == ("False", "NoConflicts")
    assert condition(listener_of(status, "b"), "Conflicted") == ("True", "HostnameConflict")


def test_a_listener_on_the_port_and_hostname_of_an_older_gateways_is_not_conflicted() -> None:
    """Gateways share nginx's addresses: the two listeners are one there, which a note says;
    both are served (Conflicted would mean a port left unconfigured), so neither is
    Conflicted and their routes still attach."""
    older, newer = (gateway(name, listeners=[listener("http", 80),
                                             listener(f"{name}-only", 80, hostname=f"{name}.test")])
                    for name in ("older", "newer"))  # fmt: skip
    older["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    newer["metadata"]["creationTimestamp"] = "2026-01-02T00:00:00Z"
    found = statuses(gateway_class(), newer, older)
    for name, expected in (
        ("older", ("False", "NoConflicts")),
        ("newer", ("False", "NoConflicts")),
    ):
        status = found[("Gateway", "default", name)]
        assert condition(listener_of(status, "http"), "Conflicted") == expected, name
        assert condition(listener_of(status, "http"), "Accepted") == ("True", "Accepted")
        assert condition(listener_of(status, f"{name}-only"), "Conflicted")[0] == "False"


def test_a_listener_on_a_port_served_for_the_other_protocol_is_conflicted() -> None:
    plain = listener("plain", 8080)
    secure = listener("secure", 8080, hostname="secure.test", secret="web-tls")
    found = statuses(gateway_class(), web_gateway(plain, secure),
                     tls_secret("default", "web-tls", ["secure.test"]))  # fmt: skip
    status = found[("Gateway", "default", "web")]
    assert condition(listener_of(status, "plain"), "Conflicted") == ("False", "NoConflicts")
    assert condition(listener_of(status, "secure"), "Conflicted") == ("True", "ProtocolConflict")
    assert condition(listener_of(status, "secure"), "Accepted") == ("False", "PortUnavailable")
    assert condition(listener_of(status, "secure"), "Programmed") == ("False", "Invalid")


def test_an_http_listener_takes_grpc_routes_where_nginx_serves_h2c_beside_http1() -> None:
    found = statuses(gateway_class(), web_gateway(), settings=CURRENT_NGINX)
    assert listener_of(found[("Gateway", "default", "web")], "http")["supportedKinds"] == BOTH_KINDS


# -- HTTPRoute parents


def test_an_attached_route_is_accepted_with_resolved_refs_for_its_parent() -> None:
    found = statuses(gateway_class(), web_gateway(), shop_route(), service("shop"))
    (entry,) = parents_of(found, "shop")
    assert entry["controllerName"] == CONTROLLER
    assert entry["parentRef"] == {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                  "name": "web"}  # fmt: skip
    assert condition(entry, "Accepted") == ("True", "Accepted")
    assert condition(entry, "ResolvedRefs") == ("True", "ResolvedRefs")


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (shop_route(parent("web", namespace="default"), namespace="other"),
         "NotAllowedByListeners"),
        (shop_route(hostnames=["elsewhere.test"]), "NoMatchingListenerHostname"),
        (shop_route(parent("web", section="nope")), "NoMatchingParent"),
        (shop_route(parent("web", port=8080)), "NoMatchingParent"),
    ],
    ids=["other-namespace", "hostname", "section-name", "port"],
)  # fmt: skip
def test_a_route_that_does_not_attach_says_why(route: Obj, reason: str) -> None:
    http = listener("http", 80, hostname="shop.test")
    found = statuses(gateway_class(), web_gateway(http), route, service("shop"),
                     service("shop", "other"))  # fmt: skip
    (entry,) = parents_of(found, "shop", route["metadata"]["namespace"])
    assert condition(entry, "Accepted") == ("False", reason)
    assert listener_of(found[("Gateway", "default", "web")], "http")["attachedRoutes"] == 0


def test_parent_refs_to_gateways_not_ours_get_no_entry() -> None:
    route = shop_route(parent("web"), parent("theirs"), parent("missing"))
    theirs = gateway("theirs", class_name="other", listeners=[listener("http", 80)])
    found = statuses(gateway_class(), web_gateway(), theirs, route, service("shop"))
    assert [entry["parentRef"]["name"] for entry in parents_of(found, "shop")] == ["web"]


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        (backend_ref("absent"), "BackendNotFound"),
        (backend_ref("shop", namespace="other"), "RefNotPermitted"),
        (backend_ref("shop", kind="Bucket", group="example.com"), "InvalidKind"),
    ],
    ids=["missing-service", "other-namespace-no-grant", "not-a-service"],
)
def test_a_backend_ref_that_does_not_resolve_gives_resolved_refs_false(
    backend: Obj, reason: str
) -> None:
    found = statuses(gateway_class(), web_gateway(), shop_route(backends=[backend]),
                     service("shop"), service("shop", "other"))  # fmt: skip
    (entry,) = parents_of(found, "shop")
    assert condition(entry, "Accepted") == ("True", "Accepted")
    assert condition(entry, "ResolvedRefs") == ("False", reason)


def test_a_backend_in_another_namespace_resolves_with_a_reference_grant() -> None:
    route = shop_route(backends=[backend_ref("shop", namespace="other")])
    grant = reference_grant("other", "HTTPRoute", "default", "Service")
    found = statuses(gateway_class(), web_gateway(), route, grant, service("shop", "other"))
    assert condition(parents_of(found, "shop")[0], "ResolvedRefs") == ("True", "ResolvedRefs")


def test_a_route_whose_every_rule_is_invalid_is_not_accepted() -> None:
    bad = route_rule([path_match("no-slash")], [backend_ref("shop")])
    found = statuses(gateway_class(), web_gateway(), shop_route(rules=[bad]), service("shop"))
    assert condition(parents_of(found, "shop")[0], "Accepted") == ("False", "UnsupportedValue")


def test_a_route_with_one_valid_rule_stays_accepted() -> None:
    rules = [route_rule([path_match("no-slash")], [backend_ref("shop")]),
             route_rule([path_match("/ok")], [backend_ref("shop")])]  # fmt: skip
    found = statuses(gateway_class(), web_gateway(), shop_route(rules=rules), service("shop"))
    assert condition(parents_of(found, "shop")[0], "Accepted") == ("True", "Accepted")


def test_a_route_on_a_host_the_ingresses_keep_is_accepted_and_says_so() -> None:
    held = ingress("web", rules=[rule("shop.test", path("/", to("shop")))])
    found = statuses(gateway_class(), web_gateway(), shop_route(), service("shop"), held)
    (entry,) = parents_of(found, "shop")
    assert condition(entry, "Accepted") == ("True", "Accepted")
    (accepted,) = [item for item in entry["conditions"] if item["type"] == "Accepted"]
    assert "served by Ingresses" in accepted["message"]


# -- GRPCRoute parents


def greeter(*parents: Obj) -> Obj:
    rules = [route_rule(None, [backend_ref("shop")])]
    return grpc_route("greeter", parents=list(parents) or [parent("web")],
                      hostnames=["grpc.test"], rules=rules)  # fmt: skip


def test_a_grpc_route_on_an_https_listener_is_accepted_and_counted() -> None:
    https = listener("https", 443, hostname="grpc.test", secret="web-tls")
    found = statuses(gateway_class(), web_gateway(https), greeter(), service("shop"),
                     tls_secret("default", "web-tls", ["grpc.test"]))  # fmt: skip
    (entry,) = found[("GRPCRoute", "default", "greeter")]["parents"]
    assert condition(entry, "Accepted") == ("True", "Accepted")
    assert condition(entry, "ResolvedRefs") == ("True", "ResolvedRefs")
    assert listener_of(found[("Gateway", "default", "web")], "https")["attachedRoutes"] == 1


@pytest.mark.parametrize(
    ("settings", "accepted"),
    [(Settings(), ("False", "NotAllowedByListeners")), (CURRENT_NGINX, ("True", "Accepted"))],
    ids=["nginx-1.22", "nginx-1.30"],
)
def test_a_grpc_route_on_an_http_listener_is_accepted_only_where_nginx_serves_h2c(
    settings: Settings, accepted: tuple[str, str]
) -> None:
    found = statuses(gateway_class(), web_gateway(), greeter(), service("shop"), settings=settings)
    (entry,) = found[("GRPCRoute", "default", "greeter")]["parents"]
    assert condition(entry, "Accepted") == accepted
    attached = listener_of(found[("Gateway", "default", "web")], "http")["attachedRoutes"]
    assert attached == (1 if accepted[0] == "True" else 0)
