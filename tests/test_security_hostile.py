"""Hostile input in every field the renderer reads changes nothing but its own Ingress.

Two tenants share the input: a victim (namespace ``victim``, host ``good.example``, TLS, its
own default backend) and a tenant whose objects — three Ingresses (main, use-regex, canary),
Services (one ExternalName), EndpointSlices, Endpoints, Secrets — carry benign values except in
the field under test, which gets a value built from nginx's metacharacters (``;{}"'$#\\``, CR,
LF, NUL, U+2028, U+0085, tabs), directive names (``include``, ``load_module``, Lua), ``}``
runs, ``%0a``, and Unicode lookalikes (fullwidth semicolon and braces, Cyrillic i, the Kelvin
sign), alone or spliced into the field's benign value, and now and then a JSON value of the
wrong type (security_corpus/hostile-text.yaml).

For each such input the output must:

- come out at all: loading, normalizing and rendering never raise;
- satisfy every invariant of `fuzz_pipeline.violations` (crossplane and nginx's own tokenizer
  read it, no argument holds a line break, no file-reading or code-loading directive, no
  attacker variable);
- have exactly the shape of a benign twin: when the tenant's Ingress is rejected, the output is
  the output without it, directive for directive; when an annotation is ignored, the output
  without that annotation; when a value is accepted, the output of a benign value that parses
  to the same thing (exactly), or else the shape — the set of (context, directive name) — of
  one of the outcomes a benign value of that field can have (served, denied, 503...);
- leave the victim's server block and upstream exactly as they are in the benign twin;
- pass ``nginx -t`` (a deterministic sample of outputs, to bound the time).

Every annotation of `ingress2nginx.features.REGISTRY` is a field, so a new annotation is
covered the day it is declared; `test_every_annotation_has_a_benign_value` says when a new one
needs a benign example (security_corpus/annotations.yaml). Also here: everything hostile at
once (with and without ssl-passthrough), trusted snippets, host sharing, file names, and real
nginx serving the victim. ``HYPOTHESIS_PROFILE=deep`` runs 25 times as many examples.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from fuzz_pipeline import (
    CONTROL,
    OWN_FILES,
    Node,
    Obj,
    Run,
    checked,
    nginx_accepts,
    nginx_parse,
    nginx_path,
    parse,
    run_objects,
    sampled,
    scaled,
    server_block,
    settings,
    shape,
    upstream_block,
    violations,
)
from hypothesis import HealthCheck, assume, given, note
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from tls_secrets import tls_secret

from ingress2nginx.core.errors import Severity
from ingress2nginx.core.settings import Settings
from ingress2nginx.features import PREFIX, REGISTRY
from ingress2nginx.features.base import AnnotationValueError, AnnotationValueIgnored, Kept

if TYPE_CHECKING:
    from e2e import Site


# --------------------------------------------------------------------------- hostile text

CORPUS = Path(__file__).parent / "security_corpus"
HOSTILE_TEXT = yaml.safe_load((CORPUS / "hostile-text.yaml").read_text())
METACHARACTERS: tuple[str, ...] = tuple(HOSTILE_TEXT["metacharacters"])
"""Characters that mean something to nginx's tokenizer, to PCRE, to URLs or to terminals."""
PAYLOADS: tuple[str, ...] = tuple(HOSTILE_TEXT["payloads"])
"""Whole pieces of past attacks, and lookalikes of the characters allowlists refuse."""
SNIPPET_PIECES: tuple[str, ...] = tuple(HOSTILE_TEXT["snippet_pieces"])
"""Pieces of snippets: directives, blocks, quoting, spellings of refused names."""

ODD_JSON = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)
"""Values of the wrong JSON type for a field that should hold a string or a number."""

hostile_text = st.lists(
    st.one_of(
        st.sampled_from(PAYLOADS),
        st.sampled_from(METACHARACTERS),
        st.text(max_size=3),
    ),
    min_size=1,
    max_size=6,
).map("".join)
"""Text made of nginx metacharacters, attack pieces and anything else."""


def hostile_value(benign: str) -> st.SearchStrategy[Any]:
    """A hostile replacement for `benign`: hostile text alone, spliced into the benign value
    (so it nearly passes its allowlist), the benign value with a lookalike or case change,
    and rarely a value of the wrong JSON type."""
    spliced = st.tuples(hostile_text, st.integers(0, len(benign))).map(
        lambda pair: benign[: pair[1]] + pair[0] + benign[pair[1] :]
    )
    mutated = st.sampled_from(
        [benign.upper(), f" {benign} ", benign + "\n", benign.replace("e", "\u0435"), benign * 2]
    )
    return st.one_of(hostile_text, spliced, spliced, mutated, ODD_JSON)


def hostile_key(benign: str) -> st.SearchStrategy[str]:
    """As `hostile_value`, always a string (for fields that are JSON object keys)."""
    return hostile_value(benign).filter(lambda value: isinstance(value, str))


# --------------------------------------------------------------------------- the input

VICTIM_NS = "victim"
VICTIM_HOST = "good.example"
VICTIM_UPSTREAM = f"{VICTIM_NS}_good_80"
TENANT_HOST = "tenant.example"


@functools.cache
def _tls_data(host: str) -> dict[str, str]:
    """A certificate and key for `host` (made once: key generation is the slow part)."""
    return dict(tls_secret("x", "x", [host])["data"])


BENIGN_FIELDS: dict[str, Any] = {
    "name": "web",
    "namespace": "tenant",
    "uid": "6f1c3e0a-52b1-4d2e-9b1e-2b8e6f1c3e0a",
    "label": "frontend",
    "label_key": "app.kubernetes.io/name",
    "annotation_key": "example.com/owner",
    "class_name": "nginx",
    "legacy_class": "nginx",
    "creation": "2021-01-01T00:00:00Z",
    "host": TENANT_HOST,
    "tls_host": TENANT_HOST,
    "secret_name": "tenant-tls",
    "secret_type": "kubernetes.io/tls",
    "service_name": "api",
    "port_name": "http",
    "port_number": 80,
    "target_port": "web",
    "prefix_path": "/api",
    "exact_path": "/exact",
    "impl_path": "/impl",
    "regex_path": "/re/(.*)",
    "default_backend_service": "api",
    "endpoint_address": "10.1.2.3",
    "address_type": "IPv4",
    "slice_name": "api-abcde",
    "external_name": "external.example.org",
    "legacy_address": "10.1.2.6",
    "auth_data": "alice:{PLAIN}wonderland\n",
}
"""Every field the renderer reads, with its benign value (`tenant_objects` places them)."""

FIELD_COMPANIONS: dict[str, dict[str, str]] = {
    "auth_data": {"auth-type": "basic", "auth-secret": "tenant-auth"},
}
"""Annotations that make a field matter (the htpasswd data is read only with auth on)."""


@dataclass(frozen=True)
class Tenant:
    """What varies in the tenant's objects: field values, annotations, what is left out."""

    fields: tuple[tuple[str, Any], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    canary_annotations: tuple[tuple[str, str], ...] = ()
    drop: frozenset[str] = frozenset()
    """Objects or parts left out: tenant (all), main, regex, canary, tls, secret, service,
    endpoints, auth."""

    def value(self, name: str) -> Any:
        return dict(self.fields).get(name, BENIGN_FIELDS[name])

    def with_(self, **changes: Any) -> Tenant:
        return dataclasses.replace(self, **changes)


def victim_objects(backend_address: str = "10.9.9.9", backend_port: int = 8080) -> list[Obj]:
    """The benign Ingress that must keep being served exactly as it is."""
    backend = {"service": {"name": "good", "port": {"number": 80}}}
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "good",
            "namespace": VICTIM_NS,
            "creationTimestamp": "2020-01-01T00:00:00Z",
        },
        "spec": {
            "ingressClassName": "nginx",
            "defaultBackend": backend,
            "tls": [{"hosts": [VICTIM_HOST], "secretName": "good-tls"}],
            "rules": [
                {
                    "host": VICTIM_HOST,
                    "http": {
                        "paths": [{"path": "/good", "pathType": "Prefix", "backend": backend}]
                    },
                }
            ],
        },
    }
    return [
        ingress,
        _service("good", VICTIM_NS, "http", "web"),
        _slice("good-1", VICTIM_NS, "good", "IPv4", "http", backend_address, backend_port),
        _secret("good-tls", VICTIM_NS, "kubernetes.io/tls", _tls_data(VICTIM_HOST)),
    ]


def tenant_objects(tenant: Tenant) -> list[Obj]:
    """The tenant's objects, each field from `tenant` (benign unless overridden)."""
    v = tenant.value
    namespace, service = v("namespace"), v("service_name")
    objects: list[Obj] = []
    if "tenant" in tenant.drop:
        return objects
    if "main" not in tenant.drop:
        objects.append(_main_ingress(tenant))
    if "regex" not in tenant.drop:
        objects.append(_regex_ingress(tenant))
    if "canary" not in tenant.drop:
        objects.append(_canary_ingress(tenant))
    if "service" not in tenant.drop:
        objects.append(_service(service, namespace, v("port_name"), v("target_port")))
        address = [] if "endpoints" in tenant.drop else [v("endpoint_address")]
        objects.append(
            _slice(
                v("slice_name"),
                namespace,
                service,
                v("address_type"),
                v("port_name"),
                *address,
                8080,
            )
        )
    objects += [
        _service("canary", namespace, "http", "web"),
        _slice("canary-1", namespace, "canary", "IPv4", "http", "10.1.2.4", 8080),
        _service("alt", namespace, "http", "web"),
        _slice("alt-1", namespace, "alt", "IPv4", "http", "10.1.2.5", 8080),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "ext", "namespace": namespace},
            "spec": {"type": "ExternalName", "externalName": v("external_name")},
        },
        _service("legacy", namespace, "http", "web"),
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "legacy", "namespace": namespace},
            "subsets": [
                {
                    "addresses": [{"ip": v("legacy_address")}],
                    "ports": [{"name": "http", "port": 8080}],
                }
            ],
        },
        _secret(
            "tenant-ca",
            namespace,
            "Opaque",
            {"ca.crt": _tls_data(TENANT_HOST)["tls.crt"], **_tls_data(TENANT_HOST)},
        ),
    ]
    if "auth" not in tenant.drop:
        objects.append(_secret("tenant-auth", namespace, "Opaque", {"auth": _b64(v("auth_data"))}))
    if "secret" not in tenant.drop:
        objects.append(
            _secret(v("secret_name"), namespace, v("secret_type"), _tls_data(TENANT_HOST))
        )
    return objects


def _main_ingress(tenant: Tenant) -> Obj:
    v = tenant.value

    def to(port: Obj, name: str | None = None) -> Obj:
        return {"service": {"name": name or v("service_name"), "port": port}}

    paths = [
        {
            "path": v("prefix_path"),
            "pathType": "Prefix",
            "backend": to({"number": v("port_number")}),
        },
        {"path": v("exact_path"), "pathType": "Exact", "backend": to({"name": v("port_name")})},
        {
            "path": v("impl_path"),
            "pathType": "ImplementationSpecific",
            "backend": to({"number": 80}),
        },
        {"path": "/ext", "pathType": "Prefix", "backend": to({"number": 80}, "ext")},
        {"path": "/legacy", "pathType": "Prefix", "backend": to({"number": 80}, "legacy")},
    ]
    spec: Obj = {
        "ingressClassName": v("class_name"),
        "defaultBackend": {
            "service": {"name": v("default_backend_service"), "port": {"number": 80}}
        },
        "rules": [{"host": v("host"), "http": {"paths": paths}}],
    }
    if "tls" not in tenant.drop:
        spec["tls"] = [{"hosts": [v("tls_host")], "secretName": v("secret_name")}]
    annotations = {**dict(tenant.annotations), v("annotation_key"): "someone"}
    return _ingress(v("name"), tenant, annotations, spec)


def _regex_ingress(tenant: Tenant) -> Obj:
    v = tenant.value
    backend = {"service": {"name": v("service_name"), "port": {"number": 80}}}
    path = {"path": v("regex_path"), "pathType": "ImplementationSpecific", "backend": backend}
    annotations = {
        f"{PREFIX}use-regex": "true",
        f"{PREFIX}rewrite-target": "/$1",
        "kubernetes.io/ingress.class": v("legacy_class"),
    }
    spec = {"rules": [{"host": v("host"), "http": {"paths": [path]}}]}
    return _ingress("web-regex", tenant, annotations, spec)


def _canary_ingress(tenant: Tenant) -> Obj:
    v = tenant.value
    backend = {"service": {"name": "canary", "port": {"number": 80}}}
    path = {"path": v("prefix_path"), "pathType": "Prefix", "backend": backend}
    annotations = {f"{PREFIX}canary": "true", f"{PREFIX}canary-weight": "10"}
    annotations.update(tenant.canary_annotations)
    annotations = {key: value for key, value in annotations.items() if value is not ABSENT}
    spec = {"ingressClassName": "nginx", "rules": [{"host": v("host"), "http": {"paths": [path]}}]}
    return _ingress("web-canary", tenant, annotations, spec)


def _ingress(name: Any, tenant: Tenant, annotations: dict[str, Any], spec: Obj) -> Obj:
    v = tenant.value
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "namespace": v("namespace"),
            "uid": v("uid"),
            "creationTimestamp": v("creation"),
            "labels": {v("label_key"): v("label")},
            "annotations": annotations,
        },
        "spec": spec,
    }


def _service(name: Any, namespace: Any, port_name: Any, target_port: Any) -> Obj:
    port = {"name": port_name, "port": 80, "targetPort": target_port, "protocol": "TCP"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": [port]},
    }


def _slice(
    name: Any, namespace: Any, service: Any, address_type: Any, port_name: Any, *rest: Any
) -> Obj:
    *addresses, port = rest
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service},
        },
        "addressType": address_type,
        "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": list(addresses), "conditions": {"ready": True}}],
    }


def _secret(name: Any, namespace: Any, kind: Any, data: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": kind,
        "data": data,
    }


def _b64(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return base64.b64encode(value.encode("utf-8", "surrogatepass")).decode()


INGRESS_CLASS: Obj = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "IngressClass",
    "metadata": {"name": "nginx"},
    "spec": {"controller": "k8s.io/ingress-nginx"},
}


def all_objects(tenant: Tenant) -> list[Obj]:
    return [INGRESS_CLASS, *victim_objects(), *tenant_objects(tenant)]


# --------------------------------------------------------------------------- benign twins


@dataclass
class Rendered:
    """A run and its parse, memoized: benign twins are rendered once per session."""

    run: Run
    nodes: tuple[Node, ...] = field(default=())

    @property
    def shape(self) -> frozenset[tuple[tuple[str, ...], str]]:
        return shape(self.nodes)


@functools.cache
def render(tenant: Tenant, chosen: Settings | None = None) -> Rendered:
    """A benign (or reference) tenant rendered beside the victim; asserted clean."""
    run = run_objects(all_objects(tenant), chosen)
    problems = violations(run, chosen)
    assert not problems, f"a benign twin breaks an invariant: {problems}"
    return Rendered(run, parse(run.text))


@functools.cache
def victim_reference(
    chosen: Settings | None = None, benign: Tenant = Tenant()
) -> tuple[Node | None, Node | None]:
    """The victim's server block and upstream beside the benign tenant."""
    nodes = render(benign, chosen).nodes
    return server_block(nodes, VICTIM_HOST), upstream_block(nodes, VICTIM_UPSTREAM)


FIELD_OUTCOMES: dict[str, tuple[Tenant, ...]] = {
    "name": (Tenant(drop=frozenset({"main"})),),
    "namespace": (Tenant(drop=frozenset({"tenant"})),),
    "class_name": (Tenant(drop=frozenset({"main"})),),
    "legacy_class": (Tenant(drop=frozenset({"regex"})),),
    "tls_host": (Tenant(drop=frozenset({"tls"})),),
    "secret_name": (Tenant(drop=frozenset({"secret"})),),
    "secret_type": (Tenant(drop=frozenset({"secret"})),),
    "service_name": (Tenant(drop=frozenset({"service"})), Tenant(drop=frozenset({"endpoints"}))),
    "port_name": (Tenant(drop=frozenset({"endpoints"})), Tenant(fields=(("port_name", "other"),))),
    "port_number": (Tenant(fields=(("port_number", 81),)),),
    "target_port": (Tenant(drop=frozenset({"endpoints"})),),
    "endpoint_address": (Tenant(drop=frozenset({"endpoints"})),),
    "address_type": (Tenant(drop=frozenset({"endpoints"})),),
    "default_backend_service": (Tenant(fields=(("default_backend_service", "elsewhere"),)),),
    "external_name": (Tenant(fields=(("external_name", "-not-a-name-"),)),),
    "legacy_address": (Tenant(fields=(("legacy_address", "not-an-address"),)),),
    "auth_data": (Tenant(drop=frozenset({"auth"})),),
}
"""Outcomes a benign value of a field can also have, as benign tenants giving them: a name
of the wrong type leaves the object out, a class that is not ours leaves the Ingress out, a
Secret that is not a usable TLS Secret gives the default certificate, a port nobody serves
answers 503, a Service not in the input is resolved by DNS, a missing htpasswd denies..."""

KEY_FIELDS = frozenset({"label_key", "annotation_key"})
"""Fields used as JSON object keys: always strings."""


# --------------------------------------------------------------------------- annotations

ANNOTATION_DATA = yaml.safe_load((CORPUS / "annotations.yaml").read_text())
ANNOTATION_EXAMPLES: dict[str, tuple[str, ...]] = {
    name: tuple(values) for name, values in ANNOTATION_DATA["examples"].items()
}
"""Benign values of each annotation, one per meaning where the meanings render differently."""

GENERIC_EXAMPLES = (
    "true",
    "false",
    "10",
    "0",
    "1m",
    "/app",
    "on",
    "off",
    "http://example.com/x",
    "example.com",
    "10.0.0.0/8",
    "X-Custom",
    "GET",
    "any",
    "cookie",
    "$request_uri",
)
"""Tried for an annotation declared after this file was written."""

INVALID_EXAMPLES = ("!", "{", "\\", "'", "-1")
"""Values (nearly) every allowlist refuses: the benign way to get a "denied" outcome."""

COMPANIONS: tuple[tuple[tuple[str, ...], dict[str, str]], ...] = tuple(
    (tuple(entry["prefixes"]), dict(entry["with"])) for entry in ANNOTATION_DATA["companions"]
)
"""Annotations that only matter with others (by name prefix), and those others (benign)."""


def companions(name: str) -> dict[str, str]:
    """The benign annotations `name` needs to take effect (without the prefix)."""
    found: dict[str, str] = {}
    for prefixes, extra in COMPANIONS:
        if name.startswith(prefixes):
            found.update(extra)
    found.pop(name, None)
    return found


def _parses(name: str, value: str) -> bool:
    parse = REGISTRY[name].parse
    assert parse is not None
    try:
        parsed = parse(value)
    except (AnnotationValueError, AnnotationValueIgnored):
        return False
    return type(parsed).__name__ != "Invalid"


@functools.cache
def valid_examples(name: str) -> tuple[str, ...]:
    """Benign values of annotation `name` that its parser accepts, declared ones first."""
    candidates = ANNOTATION_EXAMPLES.get(name, ()) + GENERIC_EXAMPLES
    return tuple(dict.fromkeys(c for c in candidates if _parses(name, c)))


PARSED = sorted(name for name, annotation in REGISTRY.items() if annotation.parse is not None)
REFUSED = sorted(name for name, annotation in REGISTRY.items() if annotation.parse is None)


ABSENT = object()
"""`annotation_tenant`'s value for "leave the annotation out" (None is a JSON null)."""


def annotation_tenant(name: str, value: Any) -> Tenant:
    """The tenant with annotation `name` (and its companions) on the Ingress it acts on: the
    canary Ingress for canary-*, the main one otherwise; `ABSENT` leaves it out."""
    extra: dict[str, Any] = {f"{PREFIX}{key}": val for key, val in companions(name).items()}
    if value is not ABSENT:
        extra[f"{PREFIX}{name}"] = value
    if name.startswith("canary"):  # ABSENT also takes out what the canary Ingress always has
        extra.setdefault(f"{PREFIX}{name}", ABSENT)
        return Tenant(canary_annotations=tuple(sorted(extra.items())))
    return Tenant(annotations=tuple(sorted(extra.items())))


# --------------------------------------------------------------------------- known findings


def _parses_to(name: str, meaning: object) -> Callable[[Any], bool]:
    def matches(value: Any) -> bool:
        parse = REGISTRY[name].parse
        try:
            return parse is not None and isinstance(value, str) and parse(value) == meaning
        except (AnnotationValueError, AnnotationValueIgnored):
            return False

    return matches


KNOWN_FINDINGS: dict[str, Callable[[Any], bool]] = {}
"""Annotation -> values that trigger a finding already proven by a strict xfail test, e.g.
``{"backend-protocol": _parses_to("backend-protocol", "AUTO_HTTP")}`` (fixed since): the
properties skip them so they keep searching for new ones. Remove an entry when its finding is
fixed (the xfail test then passes, which strict mode reports as a failure)."""


# --------------------------------------------------------------------------- the checks

TENANT_INGRESSES = ("main", "regex", "canary")
_INGRESS_NAMES = {"regex": "web-regex", "canary": "web-canary"}


def _ingress_name(tenant: Tenant, which: str) -> Any:
    return _INGRESS_NAMES.get(which) or tenant.value("name")


def rejected_parts(run: Run, tenant: Tenant) -> frozenset[str]:
    """Which tenant Ingresses the run rejected."""
    namespace = tenant.value("namespace")
    if not isinstance(namespace, str) or not namespace:
        namespace = "default"
    found = set()
    for which in TENANT_INGRESSES:
        name = _ingress_name(tenant, which)
        if isinstance(name, str) and run.rejected(namespace, name):
            found.add(which)
    return frozenset(found)


def check_common(
    run: Run, nginx: bool = True, chosen: Settings | None = None, benign: Tenant = Tenant()
) -> tuple[Node, ...]:
    """What holds for every output: the invariants, the victim served as in the `benign`
    twin, and (for a sample) nginx -t."""
    nodes, problems = checked(run, chosen)
    assert not problems, "\n".join(problems)
    victim_server, victim_upstream = victim_reference(chosen, benign)
    server = server_block(nodes, VICTIM_HOST)
    if chosen is not None and chosen.ssl_passthrough:
        # whether nginx's HTTPS servers sit behind the stream router depends on whether some
        # host's passthrough can be honoured: only the listen lines may differ
        server, victim_server = _without_listen(server), _without_listen(victim_server)
    assert server == victim_server, "the victim's server changed"
    assert upstream_block(nodes, VICTIM_UPSTREAM) == victim_upstream, "its upstream changed"
    if nginx and nginx_path() and sampled(run.text, NGINX_SAMPLE):
        accepted, output = nginx_accepts(run, chosen)
        assert accepted, f"nginx -t refused the output:\n{output}"
    return nodes


def _without_listen(server: Node | None) -> Node | None:
    if server is None or server.block is None:
        return server
    return dataclasses.replace(
        server, block=tuple(node for node in server.block if node.name != "listen")
    )


NGINX_SAMPLE = 16
"""One output in this many goes through ``nginx -t`` (deterministically, by checksum)."""

NGINX_REFUSES_SOME_VALUES: frozenset[str] = frozenset()
"""Annotations with accepted values nginx -t refuses, while such a finding is open (proven by
a strict xfail in test_security_cves.py): their outputs skip nginx -t here. Empty: the buffer
sizes and long affinity cookie names found so far are fixed."""


def assert_same_as_one_of(nodes: tuple[Node, ...], references: Iterable[Tenant]) -> None:
    """The output's shape equals the shape of (at least) one benign reference."""
    hostile = shape(nodes)
    shapes = [render(reference).shape for reference in references]
    if any(hostile == reference for reference in shapes):
        return
    closest = min(shapes, key=lambda reference: len(hostile ^ reference))
    raise AssertionError(
        "the output's shape is none of its benign twins'; closest twin differs by\n"
        f"  only in the output: {sorted(hostile - closest)}\n"
        f"  only in the twin:   {sorted(closest - hostile)}"
    )


def assert_identical(nodes: tuple[Node, ...], reference: Tenant, why: str) -> None:
    expected = render(reference).nodes
    assert nodes == expected, f"the output differs from the {why}"


def check_field(name: str, value: Any) -> None:
    """The whole property for one hostile value of a field."""
    tenant = Tenant(fields=((name, value),))
    extra = FIELD_COMPANIONS.get(name)
    if extra:
        tenant = tenant.with_(annotations=tuple((PREFIX + k, v) for k, v in extra.items()))
    run = run_objects(all_objects(tenant))
    nodes = check_common(run)
    rejected = rejected_parts(run, tenant)
    note(f"rejected: {sorted(rejected)}")
    base = tenant.with_(fields=())
    if rejected:
        assert_identical(nodes, base.with_(drop=rejected), "output without the rejected Ingress")
        return
    outcomes = [
        base.with_(fields=outcome.fields, drop=outcome.drop)
        for outcome in FIELD_OUTCOMES.get(name, ())
    ]
    assert_same_as_one_of(nodes, [base, *outcomes])


def annotation_problems(run: Run, tenant: Tenant, name: str) -> list[Any]:
    """The problems a run reports about annotation `name` of the tenant."""
    where = f"metadata.annotations[{PREFIX}{name}]"
    return [
        problem
        for problem in run.problems
        if problem.field == where and getattr(problem.subject, "kind", "") == "Ingress"
    ]


def check_annotation(name: str, value: Any) -> None:
    """The whole property for one hostile value of an annotation."""
    known = KNOWN_FINDINGS.get(name)
    assume(known is None or not known(value))
    tenant = annotation_tenant(name, value)
    run = run_objects(all_objects(tenant))
    nodes = check_common(run, nginx=name not in NGINX_REFUSES_SOME_VALUES)
    rejected = rejected_parts(run, tenant)
    absent = annotation_tenant(name, ABSENT)
    if rejected:
        note(f"rejected: {sorted(rejected)}")
        assert_identical(nodes, absent.with_(drop=rejected), "output without the rejected Ingress")
        return
    problems = annotation_problems(run, tenant, name)
    note(f"problems: {[str(problem) for problem in problems]}")
    kept = _kept_part(name, value)
    if kept is not None:
        reference = annotation_tenant(name, kept) if kept else Tenant()
        assert_identical(nodes, reference, f"output of the part kept, {kept!r}")
        return
    if problems and all(problem.severity < Severity.ERROR for problem in problems):
        assert_identical(nodes, absent, "output without the ignored annotation")
        return
    if problems:
        denied = [annotation_tenant(name, bad) for bad in INVALID_EXAMPLES]
        assert_same_as_one_of(nodes, denied)
        return
    same = _same_meaning(name, value)
    if same is not None:
        assert_identical(nodes, annotation_tenant(name, same), f"output of the same value {same!r}")
        return
    references = [annotation_tenant(name, example) for example in valid_examples(name)]
    assert_same_as_one_of(nodes, [*references, absent])


def _kept_part(name: str, value: Any) -> str | None:
    """For a list of which only some entries are usable (`Kept`), those entries as a value
    (empty when none is: the feature then does nothing); None for any other value."""
    parse = REGISTRY[name].parse
    if parse is None or not isinstance(value, str):
        return None
    try:
        meaning = parse(value)
    except (AnnotationValueError, AnnotationValueIgnored):
        return None
    return ", ".join(meaning.value) if isinstance(meaning, Kept) else None


def _same_meaning(name: str, value: Any) -> str | None:
    """A benign example that parses to what `value` parses to, if there is one."""
    parse = REGISTRY[name].parse
    if parse is None or not isinstance(value, str):
        return None
    try:
        meaning = parse(value)
    except (AnnotationValueError, AnnotationValueIgnored):
        return None
    for example in valid_examples(name):
        if parse(example) == meaning:
            return example
    return None


# --------------------------------------------------------------------------- the properties

QUICK = hsettings(
    max_examples=scaled(8),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_every_annotation_has_a_benign_value() -> None:
    """Each parsed annotation of the registry has a benign value its own parser accepts (a
    new annotation needs one in security_corpus/annotations.yaml when no generic value fits)."""
    missing = [name for name in PARSED if not valid_examples(name)]
    assert not missing, f"add benign values to ANNOTATION_EXAMPLES for: {missing}"


def test_the_benign_twin_serves_every_tenant_ingress() -> None:
    """Sanity: with benign values nothing is rejected, and the tenant is really rendered."""
    rendered = render(Tenant())
    assert not rejected_parts(rendered.run, Tenant())
    assert server_block(rendered.nodes, TENANT_HOST) is not None
    assert server_block(rendered.nodes, VICTIM_HOST) is not None


@pytest.mark.parametrize("field_name", sorted(BENIGN_FIELDS))
def test_a_hostile_field_value_changes_nothing_but_its_own_ingress(field_name: str) -> None:
    benign = str(BENIGN_FIELDS[field_name])
    values = hostile_key(benign) if field_name in KEY_FIELDS else hostile_value(benign)

    @QUICK
    @given(value=values)
    def prop(value: Any) -> None:
        check_field(field_name, value)

    prop()


@pytest.mark.parametrize("annotation", PARSED)
def test_a_hostile_annotation_value_changes_nothing_but_its_own_ingress(annotation: str) -> None:
    examples = valid_examples(annotation) or ("x",)

    @QUICK
    @given(value=st.sampled_from(examples).flatmap(hostile_value))
    def prop(value: Any) -> None:
        check_annotation(annotation, value)

    prop()


def test_refused_annotations_are_ignored_whatever_their_value() -> None:
    """Annotations ingress2nginx refuses are warnings, and the output is as without them."""

    @hsettings(max_examples=scaled(60), deadline=None)
    @given(name=st.sampled_from(REFUSED), value=hostile_text)
    def prop(name: str, value: str) -> None:
        check_annotation(name, value)

    prop()


STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
PASSTHROUGH = settings(ssl_passthrough=True, stream_module=STREAM_MODULE)
"""--enable-ssl-passthrough (and Debian's stream module): a stream block routes TLS by SNI."""


@pytest.mark.parametrize("mode", ["default", "ssl-passthrough"])
def test_hostile_values_everywhere_at_once_leave_the_victim_served(mode: str) -> None:
    """Many fields and annotations hostile together (with ssl-passthrough enabled and asked
    for, the stream block too): the reference-free invariants and the victim's server block
    must hold."""
    chosen = PASSTHROUGH if mode == "ssl-passthrough" else settings()
    passthrough = ((f"{PREFIX}ssl-passthrough", "true"),) if mode == "ssl-passthrough" else ()
    fields = st.dictionaries(
        st.sampled_from(sorted(BENIGN_FIELDS)), hostile_text, min_size=1, max_size=8
    )
    annotations = st.dictionaries(
        st.sampled_from([PREFIX + name for name in REGISTRY]), hostile_text, max_size=8
    )

    @hsettings(max_examples=scaled(100), deadline=None)
    @given(fields=fields, annotations=annotations)
    def prop(fields: dict[str, str], annotations: dict[str, str]) -> None:
        tenant = Tenant(
            fields=tuple(sorted(fields.items())),
            annotations=tuple(sorted({**dict(passthrough), **annotations}.items())),
            canary_annotations=tuple(sorted(annotations.items())),
        )
        run = run_objects(all_objects(tenant), chosen)
        check_common(run, chosen=chosen, benign=Tenant(annotations=passthrough))

    prop()


def test_snippets_allowed_for_the_tenant_never_carry_forbidden_directives() -> None:
    """With --allow-snippet-annotations and the tenant's namespace trusted, a snippet is
    inserted as written — but never one using include, load_module, ssl_engine, Lua, Perl or
    njs, never one that escapes its block, and the victim's server stays as it was."""
    trusted = settings(allow_snippet_annotations=True, snippet_namespaces=("tenant",))
    names = ("configuration-snippet", "server-snippet")
    text = st.lists(
        st.one_of(
            st.sampled_from(PAYLOADS),
            st.sampled_from(METACHARACTERS),
            st.sampled_from(SNIPPET_PIECES),
        ),
        min_size=1,
        max_size=8,
    ).map("".join)

    @hsettings(max_examples=scaled(150), deadline=None)
    @given(name=st.sampled_from(names), snippet=text)
    def prop(name: str, snippet: str) -> None:
        tenant = annotation_tenant(name, snippet)
        run = run_objects(all_objects(tenant), trusted)
        nodes, found = checked(run, trusted, raw_snippets=True)
        problems = [problem for problem in found if not allowed_in_trusted_snippets(problem)]
        assert not problems, "\n".join(problems)
        victim_server = server_block(nginx_parse(render(Tenant()).run.text), VICTIM_HOST)
        assert server_block(nodes, VICTIM_HOST) == victim_server

    prop()


def allowed_in_trusted_snippets(problem: str) -> bool:
    """A trusted snippet may write any directive and variable but those its policy refuses
    (its own ``root``, ``alias``, log files... are the risk --snippet-namespace accepts:
    docs/security.md), and line feeds inside its quoted strings (nginx reads them); never
    another control character."""
    if problem.startswith(("[file]", "[variable]")):
        return True
    if problem.startswith("[control]"):
        argument = ast.literal_eval(problem.rsplit("line break: ", 1)[1])
        return not CONTROL.search(argument.replace("\n", ""))
    if not problem.startswith("[never-written]"):
        return False
    directive = problem.split(":", 1)[0].rsplit("/", 1)[-1].lower()
    return not (
        directive in ("include", "load_module", "ssl_engine")
        or "lua" in directive
        or directive.startswith(("perl", "js_"))
    )


def test_file_names_from_secret_names_never_collide_or_leave_the_folder() -> None:
    """Files written under --cert-dir are named from a fixed prefix and the Secret's
    validated namespace and name (certificates.certificate_name, secret_files.file_name):
    for any two different Secrets the names differ, and a name is always one plain file name
    of the form `fuzz_pipeline.OWN_FILES` checks."""
    from ingress2nginx.core.grammar import is_dns1123_label, is_dns1123_subdomain
    from ingress2nginx.core.secret_files import PREFIXES, file_name
    from ingress2nginx.normalize.certificates import certificate_name

    label = st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,70}[a-z0-9])?", fullmatch=True)
    secret = st.tuples(
        label.filter(is_dns1123_label),
        st.text("abc.-0", min_size=1, max_size=260)
        .map(lambda n: f"a{n}z")
        .filter(is_dns1123_subdomain),
    )

    @hsettings(max_examples=scaled(300), deadline=None)
    @given(first=secret, second=secret, prefix=st.sampled_from(PREFIXES))
    def prop(first: tuple[str, str], second: tuple[str, str], prefix: str) -> None:
        for one, other in (
            (certificate_name(*first) + ".crt", certificate_name(*second) + ".crt"),
            (file_name(prefix, *first, ".crt"), file_name(prefix, *second, ".crt")),
        ):
            assert OWN_FILES.match(one) and "/" not in one and len(one.encode()) < 255
            assert (one == other) == (first == second)

    prop()


HOST_WIDE = frozenset(
    {"app-root", "server-alias", "ssl-ciphers", "ssl-prefer-server-ciphers"}
    | {name for name in PARSED if name.startswith("auth-tls-")}
)
"""Annotations that act on a whole host (its ``server``), taken from the oldest Ingress with
rules for the host that sets them — so also from an Ingress of another namespace that merely
adds a path to the host, when the host's own Ingresses leave them unset (as in ingress-nginx;
docs/security.md, "Hosts are shared")."""


def _own_or_internal(node: Node) -> bool:
    """The tenant's own locations, and internal ones serving only them (named by digest)."""
    target = node.args[-1] if node.args else ""
    return node.name == "location" and (
        target.startswith(("/tenant", "@", "/_external-auth-", "/%mirror-"))
    )


def test_an_ingress_sharing_a_host_changes_only_its_own_locations_but_host_wide_ones() -> None:
    """A younger Ingress of another namespace adding a path to the victim's host, with any
    annotation: the victim's server keeps every directive but the younger Ingress's own
    locations, except for the `HOST_WIDE` annotations (pinned here so that a new host-wide
    annotation cannot appear without docs/security.md saying so)."""
    base = server_block(render(Tenant()).nodes, VICTIM_HOST)
    assert base is not None and base.block is not None
    changed = set()
    for name in PARSED:
        extra = {**companions(name), name: valid_examples(name)[0]}
        sharing = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": "sharing",
                "namespace": "tenant",
                "creationTimestamp": "2024-01-01T00:00:00Z",
                "annotations": {PREFIX + key: value for key, value in extra.items()},
            },
            "spec": {
                "ingressClassName": "nginx",
                "rules": [
                    {
                        "host": VICTIM_HOST,
                        "http": {
                            "paths": [
                                {
                                    "path": "/tenant",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "api", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ],
            },
        }
        run = run_objects([*all_objects(Tenant()), sharing])
        nodes, problems = checked(run)
        assert not problems, problems
        server = server_block(nodes, VICTIM_HOST)
        assert server is not None and server.block is not None
        kept = tuple(node for node in server.block if not _own_or_internal(node))
        if _redirects_spelled_out(kept) != _redirects_spelled_out(base.block):
            changed.add(name)
    assert changed == HOST_WIDE


def _is_redirect(node: Node) -> bool:
    return node.name == "if" and node.args == ("$https_redirect",)


def _redirects_spelled_out(block: tuple[Node, ...]) -> tuple[Node, ...]:
    """A server's directives with the HTTPS redirect written in each location, whether the
    renderer wrote it once at server level (all locations share it) or per location: the
    layout may change with the siblings, what each location does may not."""
    shared = [node for node in block if _is_redirect(node)]
    spelled = []
    for node in block:
        if _is_redirect(node):
            continue
        if node.name == "location" and node.block is not None and shared:
            node = Node(node.name, node.args, (*shared, *node.block))
        if node.name == "location" and node.block is not None:
            redirects = tuple(child for child in node.block if _is_redirect(child))
            others = tuple(child for child in node.block if not _is_redirect(child))
            node = Node(node.name, node.args, redirects[:1] + others)
        spelled.append(node)
    return tuple(spelled)


# --------------------------------------------------------------------------- a real nginx

HOSTILE_TENANT = Tenant(
    fields=(
        ("prefix_path", "/api;\ninclude /etc/passwd;"),
        ("exact_path", '/exact"; return 200 pwned; #'),
        ("host", "tenant.example}"),
        ("service_name", 'api"; return 200 pwned; #'),
        ("endpoint_address", "10.1.2.3; server 127.0.0.1:22"),
    ),
    annotations=(
        (f"{PREFIX}rewrite-target", "/x; alias /etc/;"),
        (f"{PREFIX}permanent-redirect", "https://x.example/$INJECT"),
        (f"{PREFIX}configuration-snippet", "alias /var/run/secrets/;"),
        (f"{PREFIX}server-alias", "good.example"),
        (f"{PREFIX}mirror-target", "https://m.example/;include /etc/passwd"),
    ),
)
"""Hostile values in many fields at once (each would be rejected or ignored on its own)."""


@contextlib.contextmanager
def victim_served_beside(others: list[Obj], nginx_binary: str) -> Iterator[tuple[Site, int]]:
    """Real nginx serving the victim, with its real backend ``good``, beside `others`; the
    site and its HTTPS port."""
    from e2e import serving, started_backends
    from harness import free_port

    https_port = free_port()
    with started_backends("good") as echo:
        backend = echo["good"]
        objects = [INGRESS_CLASS, *victim_objects(backend.address, backend.port), *others]
        with serving(objects, "--https-port", str(https_port), binary=nginx_binary) as site:
            yield site, https_port


def assert_victim_answers(site: Site, https_port: int, plain: str = "/good/x") -> None:
    """The victim answers from its backend over HTTPS, and plain HTTP (`plain`) redirects."""
    from harness import request

    assert site.get(plain, host=VICTIM_HOST).status == 308
    answer = request(https_port, "/good/x", host=VICTIM_HOST, tls=True)
    assert (answer.status, answer.backend) == (200, "good")


def test_the_victim_is_served_by_real_nginx_beside_a_hostile_tenant(nginx_binary: str) -> None:
    """End to end, with real nginx and a real backend: the victim answers from its backend over
    HTTPS (and redirects plain HTTP there) while the hostile tenant is in the same input."""
    with victim_served_beside(tenant_objects(HOSTILE_TENANT), nginx_binary) as (site, https):
        assert "rejected" in site.messages
        assert_victim_answers(site, https)
