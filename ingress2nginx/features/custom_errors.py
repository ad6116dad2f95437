"""custom-http-errors, default-backend, disable-proxy-intercept-errors: error pages served by a
backend of your own.

``default-backend`` names a Service (first port, same namespace) that answers instead of the
Ingress's own backend when that one has no ready endpoint, and that renders the error pages
``custom-http-errors`` lists (else the global default backend does). As in ingress-nginx, nginx
intercepts those statuses from the backend (``proxy_intercept_errors``) and sends the request,
path reset to ``/``, to a named location per error backend and code, with ``X-Code``,
``X-Format``, ``X-Original-URI``, ``X-Namespace``, ``X-Ingress-Name``, ``X-Service-Name``,
``X-Service-Port`` and ``X-Request-ID``; the error backend's own status is returned. The
``default-backend`` Service standing in for one without endpoints gets the same headers, with
``X-Code: 503`` (the answer it replaces), and the request as it came (path unchanged).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingress2nginx.core.actions import ProxyToUpstream
from ingress2nginx.core.directives import Directive, block, directive
from ingress2nginx.core.grammar import is_dns1035_label
from ingress2nginx.core.quoting import Token, expanded, literal, trusted
from ingress2nginx.features.base import Annotation, AnnotationValueError, Hooks, supported
from ingress2nginx.features.values import parse_bool

if TYPE_CHECKING:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.model import Location, ProxyToAddress, Server


def status_codes(value: str) -> tuple[int, ...]:
    """Comma-separated HTTP status codes from 300 to 599."""
    codes = []
    for item in (part.strip() for part in value.split(",")):
        if not re.fullmatch(r"[3-5][0-9][0-9]", item):
            raise AnnotationValueError("must be HTTP status codes from 300 to 599, comma-separated")
        codes.append(int(item))
    return tuple(sorted(set(codes)))


def service_name(value: str) -> str:
    """A Service name in the Ingress's namespace."""
    if not is_dns1035_label(value.strip()):
        raise AnnotationValueError("must be the name of a Service in the Ingress's namespace")
    return value.strip()


@dataclass(frozen=True, slots=True)
class ErrorOptions:
    """Error handling asked for by one Ingress."""

    codes: tuple[int, ...] = ()
    """``custom-http-errors``: statuses answered by the error backend."""
    default_backend: str | None = None
    """``default-backend``: Service answering errors and standing in when no endpoint is ready."""
    disable_intercept: bool = False
    """``disable-proxy-intercept-errors``: leave backend errors as they are."""


ANNOTATIONS: tuple[Annotation, ...] = (
    supported("custom-http-errors", "Statuses (comma-separated) whose pages the default-backend"
              " Service (else the global default backend) renders.", "errors.codes", status_codes),
    supported("default-backend", "Service (first port) standing in when the rule's Service has"
              " no ready endpoint, and rendering custom-http-errors.", "errors.default_backend",
              service_name),
    supported("disable-proxy-intercept-errors", "Do not intercept backend errors even with"
              " custom-http-errors.", "errors.disable_intercept", parse_bool),
)  # fmt: skip


def page_name(target: ProxyToUpstream | ProxyToAddress, code: int) -> str:
    """The named location rendering `code` with `target`: ``@custom_<digest>_<code>``."""
    digest = hashlib.sha256(_target_text(target).encode()).hexdigest()[:12]
    return f"@custom_{digest}_{code}"


def location_directives(location: Location, settings: Settings) -> list[Directive]:
    """Intercept the listed statuses and send them to the error backend's named locations."""
    pages = location.error_pages
    if pages is None:
        return []
    origin = location.origin
    found = [
        directive(
            "set", trusted("$ingress_namespace"), literal(origin.namespace if origin else "")
        ),
        directive("set", trusted("$ingress_name"), literal(origin.name if origin else "")),
        directive("set", trusted("$service_name"), expanded(pages.service_name)),
        directive("set", trusted("$service_port"), expanded(pages.service_port)),
    ]
    if not location.options.errors.disable_intercept:
        found.append(directive("proxy_intercept_errors", trusted("on")))
    for code in pages.codes:
        found.append(
            directive("error_page", code, trusted("="), trusted(page_name(pages.target, code)))
        )
    return found


def server_directives(server: Server, settings: Settings) -> list[Directive]:
    """One named location per error backend and status used in the server."""
    wanted: dict[str, tuple[ProxyToUpstream | ProxyToAddress, int]] = {}
    for location in server.locations:
        pages = location.error_pages
        if pages is not None and location.proxies:  # only those set the pages' variables
            for code in pages.codes:
                wanted.setdefault(page_name(pages.target, code), (pages.target, code))
    return [_page(name, target, code) for name, (target, code) in sorted(wanted.items())]


def _page(name: str, target: ProxyToUpstream | ProxyToAddress, code: int) -> Directive:

    headers = [
        ("X-Code", Token(str(code))),
        ("X-Format", trusted("$http_accept")),
        ("X-Original-URI", trusted("$request_uri")),
        ("X-Namespace", trusted("$ingress_namespace")),
        ("X-Ingress-Name", trusted("$ingress_name")),
        ("X-Service-Name", trusted("$service_name")),
        ("X-Service-Port", trusted("$service_port")),
        ("X-Request-ID", trusted("$req_id")),
        ("X-Forwarded-For", trusted("$remote_addr")),
        ("Host", trusted("$best_http_host")),
    ]
    body = [directive("internal"), directive("proxy_intercept_errors", trusted("off"))]
    body += [directive("proxy_set_header", trusted(header), value) for header, value in headers]
    body.append(directive("rewrite", trusted("(.*)"), trusted("/"), trusted("break")))
    if isinstance(target, ProxyToUpstream):
        body.append(directive("proxy_pass", expanded(f"http://{target.upstream}")))
    else:
        body.append(directive("set", trusted("$service_address"), expanded(target.address)))
        body.append(directive("proxy_pass", trusted("http://$service_address")))
    return block("location", [trusted(name)], body)


def _target_text(target: ProxyToUpstream | ProxyToAddress) -> str:

    return target.upstream if isinstance(target, ProxyToUpstream) else target.address


def stand_in_headers(location: Location) -> dict[str, Token]:
    """A default-backend Service standing in for a rule's Service without a ready endpoint
    is told what it answers for, with the headers an error backend gets (X-Request-ID is
    among the standard headers)."""
    stand_in, origin = location.stand_in, location.origin
    if stand_in is None or origin is None:
        return {}
    return {
        "X-Code": Token(str(stand_in.code)),
        "X-Format": trusted("$http_accept"),
        "X-Original-URI": trusted("$request_uri"),
        "X-Namespace": expanded(origin.namespace),
        "X-Ingress-Name": expanded(origin.name),
        "X-Service-Name": expanded(stand_in.service_name),
        "X-Service-Port": expanded(stand_in.service_port),
    }


HOOKS = Hooks(location=location_directives, server=server_directives, headers=stand_in_headers)
