"""Annotations of other Ingress controllers, and the nearest ingress-nginx one to each.

Manifests that move between controllers carry the old controller's annotations: NGINX Inc.'s
``nginx.org/*``, Traefik's, the AWS Load Balancer Controller's, HAProxy's, ingress-nginx's own
pre-0.9 ``ingress.kubernetes.io/*``. None of them does anything here. ``check`` names each one
on the Ingresses it serves (`foreign_problems`) and the migration report lists them for every
Ingress (`foreign_annotations`), with the ``nginx.ingress.kubernetes.io/*`` annotation that
does the nearest thing, where there is one (`EQUIVALENTS`), so a migration is a list of edits
rather than a search. docs/migrate-from-ingress-nginx.md holds the same table (a test keeps
them together).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem, Severity
from ingress2nginx.core.objects import Manifest
from ingress2nginx.features import PREFIX, REGISTRY

CONTROLLERS: tuple[tuple[str, str], ...] = (
    ("nginx.org/", "NGINX Inc.'s NGINX Ingress Controller"),
    ("ingress.kubernetes.io/", "ingress-nginx before 0.9 (and controllers that kept its names)"),
    ("traefik.ingress.kubernetes.io/", "Traefik"),
    ("alb.ingress.kubernetes.io/", "the AWS Load Balancer Controller"),
    ("haproxy.org/", "HAProxy Kubernetes Ingress Controller"),
    ("haproxy-ingress.github.io/", "HAProxy Ingress"),
    ("haproxy.router.openshift.io/", "the OpenShift router"),
    ("konghq.com/", "Kong"),
    ("projectcontour.io/", "Contour"),
    ("getambassador.io/", "Emissary-ingress"),
    ("appgw.ingress.kubernetes.io/", "Azure Application Gateway"),
    ("ingress.gcp.kubernetes.io/", "GKE Ingress"),
    ("networking.gke.io/", "GKE Ingress"),
    ("zalando.org/", "Skipper"),
)
"""Annotation prefixes of other controllers, with the controller's name."""


@dataclass(frozen=True, slots=True)
class Equivalent:
    """The ingress-nginx annotation nearest to another controller's one."""

    annotation: str | None
    """A name in the ``nginx.ingress.kubernetes.io/`` registry; None when there is none."""
    note: str
    """What differs, or what to do instead."""


def _same(name: str, note: str = "") -> Equivalent:
    return Equivalent(name, note)


def _none(note: str) -> Equivalent:
    return Equivalent(None, note)


EQUIVALENTS: dict[str, Equivalent] = {
    # NGINX Inc.'s controller
    "nginx.org/rewrites": _same("rewrite-target", "one rewrite per Ingress, not per Service"),
    "nginx.org/ssl-redirect": _same("ssl-redirect"),
    "nginx.org/redirect-to-https": _same("force-ssl-redirect"),
    "nginx.org/client-max-body-size": _same("proxy-body-size"),
    "nginx.org/proxy-connect-timeout": _same("proxy-connect-timeout", "seconds, no unit"),
    "nginx.org/proxy-read-timeout": _same("proxy-read-timeout", "seconds, no unit"),
    "nginx.org/proxy-send-timeout": _same("proxy-send-timeout", "seconds, no unit"),
    "nginx.org/proxy-buffering": _same("proxy-buffering"),
    "nginx.org/proxy-buffer-size": _same("proxy-buffer-size"),
    "nginx.org/proxy-buffers": _same("proxy-buffers-number", "the number only"),
    "nginx.org/ssl-services": _same("backend-protocol", '"HTTPS", for the whole Ingress'),
    "nginx.org/grpc-services": _same("backend-protocol", '"GRPC", for the whole Ingress'),
    "nginx.org/websocket-services": _none("not needed (WebSocket upgrades always work)"),
    "nginx.org/server-snippets": _same("server-snippet", "needs --allow-snippet-annotations"),
    "nginx.org/location-snippets": _same(
        "configuration-snippet", "needs --allow-snippet-annotations"
    ),
    "nginx.org/lb-method": _same("load-balance"),
    "nginx.org/basic-auth-secret": _same("auth-secret", 'with auth-type: "basic"'),
    "nginx.org/basic-auth-realm": _same("auth-realm"),
    "nginx.org/sticky-cookie-services": _same("affinity", '"cookie", with session-cookie-*'),
    "nginx.org/use-cluster-ip": _same("service-upstream"),
    "nginx.org/mergeable-ingress-type": _none("not needed (Ingresses of one host are merged)"),
    "nginx.org/hsts": _none("the hsts option of --config"),
    # Traefik (v1 names, and v2's router options)
    "traefik.ingress.kubernetes.io/rewrite-target": _same("rewrite-target"),
    "traefik.ingress.kubernetes.io/app-root": _same("app-root"),
    "traefik.ingress.kubernetes.io/redirect-entry-point": _same(
        "force-ssl-redirect", "when it names the HTTPS entry point"
    ),
    "traefik.ingress.kubernetes.io/whitelist-source-range": _same("whitelist-source-range"),
    "traefik.ingress.kubernetes.io/auth-type": _same("auth-type"),
    "traefik.ingress.kubernetes.io/auth-secret": _same("auth-secret"),
    "traefik.ingress.kubernetes.io/affinity": _same("affinity", '"cookie"'),
    "traefik.ingress.kubernetes.io/router.entrypoints": _none(
        "listening ports are --http-port and --https-port"
    ),
    "traefik.ingress.kubernetes.io/router.tls": _none("spec.tls decides which hosts get HTTPS"),
    "traefik.ingress.kubernetes.io/router.middlewares": _none(
        "middlewares are Traefik objects; use the annotation of each feature"
    ),
    "traefik.ingress.kubernetes.io/router.pathmatcher": _none("pathType decides how paths match"),
    # AWS Load Balancer Controller
    "alb.ingress.kubernetes.io/ssl-redirect": _same("force-ssl-redirect", '"true"; no port'),
    "alb.ingress.kubernetes.io/backend-protocol": _same("backend-protocol"),
    "alb.ingress.kubernetes.io/backend-protocol-version": _same(
        "backend-protocol", '"GRPC" for GRPC'
    ),
    "alb.ingress.kubernetes.io/inbound-cidrs": _same("whitelist-source-range"),
    "alb.ingress.kubernetes.io/certificate-arn": _none(
        "certificates come from kubernetes.io/tls Secrets named in spec.tls"
    ),
    "alb.ingress.kubernetes.io/listen-ports": _none(
        "listening ports are --http-port and --https-port"
    ),
    "alb.ingress.kubernetes.io/auth-type": _same("auth-url", "with an OIDC proxy (oauth2-proxy)"),
    # HAProxy Kubernetes Ingress Controller
    "haproxy.org/ssl-redirect": _same("ssl-redirect"),
    "haproxy.org/path-rewrite": _same("rewrite-target", "a capture-group rewrite"),
    "haproxy.org/allow-list": _same("whitelist-source-range"),
    "haproxy.org/whitelist": _same("whitelist-source-range"),
    "haproxy.org/deny-list": _same("denylist-source-range"),
    "haproxy.org/blacklist": _same("denylist-source-range"),
    "haproxy.org/cors-enable": _same("enable-cors"),
    "haproxy.org/cors-allow-origin": _same("cors-allow-origin"),
    "haproxy.org/cors-allow-methods": _same("cors-allow-methods"),
    "haproxy.org/cors-allow-headers": _same("cors-allow-headers"),
    "haproxy.org/cors-allow-credentials": _same("cors-allow-credentials"),
    "haproxy.org/cors-max-age": _same("cors-max-age", "seconds, no unit"),
    "haproxy.org/auth-type": _same("auth-type"),
    "haproxy.org/auth-secret": _same("auth-secret"),
    "haproxy.org/auth-realm": _same("auth-realm"),
    "haproxy.org/timeout-connect": _same("proxy-connect-timeout", "seconds, no unit"),
    "haproxy.org/timeout-server": _same("proxy-read-timeout", "seconds, no unit"),
    "haproxy.org/load-balance": _same("load-balance"),
    "haproxy.org/server-ssl": _same("backend-protocol", '"HTTPS"'),
    "haproxy.org/cookie-persistence": _same("affinity", '"cookie", session-cookie-name'),
    "haproxy.org/rate-limit-requests": _same("limit-rps", "per second, per client address"),
    "haproxy.org/request-redirect": _same("permanent-redirect"),
    "haproxy.org/ssl-passthrough": _same("ssl-passthrough", "needs --enable-ssl-passthrough"),
    "haproxy.org/backend-config-snippet": _same(
        "configuration-snippet", "nginx text, needs --allow-snippet-annotations"
    ),
}
"""Another controller's annotation → the nearest ``nginx.ingress.kubernetes.io/`` one. An
``ingress.kubernetes.io/NAME`` not listed is ``nginx.ingress.kubernetes.io/NAME`` when that
exists (the names ingress-nginx gave its annotations before the ``nginx.`` prefix)."""

OLD_INGRESS_NGINX = "ingress.kubernetes.io/"


@dataclass(frozen=True, slots=True)
class ForeignAnnotation:
    """One annotation of another controller found on an Ingress."""

    key: str
    controller: str
    equivalent: Equivalent | None
    """None when the table does not know the annotation."""

    @property
    def advice(self) -> str:
        """The nearest ingress-nginx annotation (and what differs), or why there is none."""
        found = self.equivalent
        if found is None:
            return "no nearest ingress-nginx annotation known"
        if found.annotation is None:
            return f"no ingress-nginx annotation: {found.note}"
        note = f" ({found.note})" if found.note else ""
        return f"nearest ingress-nginx annotation: {PREFIX}{found.annotation}{note}"


def controller_of(key: str) -> str | None:
    """The controller an annotation key belongs to, or None for ours and unrelated ones."""
    if key.startswith(PREFIX):
        return None
    return next((name for prefix, name in CONTROLLERS if key.startswith(prefix)), None)


def equivalent_of(key: str) -> Equivalent | None:
    """The nearest ingress-nginx annotation to another controller's `key`, if known."""
    found = EQUIVALENTS.get(key)
    if found is None and key.startswith(OLD_INGRESS_NGINX):
        name = key.removeprefix(OLD_INGRESS_NGINX)
        if name in REGISTRY:
            found = Equivalent(name, "the same annotation under its current prefix")
    return found


def foreign_annotations(ingress: Manifest) -> list[ForeignAnnotation]:
    """The other controllers' annotations of `ingress`, by key."""
    found = []
    for key in sorted(ingress.annotations):
        controller = controller_of(key)
        if controller is not None:
            found.append(ForeignAnnotation(key, controller, equivalent_of(key)))
    return found


def foreign_problems(served: Iterable[Manifest]) -> list[Problem]:
    """A warning per other controller's annotation on the served Ingresses: each is ignored."""
    problems = []
    for ingress in served:
        for found in foreign_annotations(ingress):
            reason = f"an annotation of {found.controller}, ignored here; {found.advice}"
            field = f"metadata.annotations[{found.key}]"
            problems.append(
                Problem(Severity.WARNING, ingress.ref, field, reason, Code.OTHER_CONTROLLER)
            )
    return problems
