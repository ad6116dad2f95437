"""Annotations ingress2nginx does not honour, each with the reason a user reads in the matrix.

Two kinds: those that cannot work with stock nginx or are deliberately refused, and those not
implemented yet (`PENDING`), refused until their feature module declares them.
"""

from __future__ import annotations

from ingress2nginx.features.base import Annotation, refused

_NO_MODULE = "needs a module stock nginx does not ship"
_SNIPPET = (
    "raw nginx text is refused here even with --allow-snippet-annotations (which allows"
    " configuration-, server-, auth- and stream-snippet only)"
)

ANNOTATIONS: tuple[Annotation, ...] = (
    refused("modsecurity-snippet", "ModSecurity rules.", _SNIPPET),
    refused("enable-modsecurity", "Enable the ModSecurity WAF.", f"ModSecurity {_NO_MODULE}"),
    refused("enable-owasp-core-rules", "Enable the OWASP core rule set.",
            f"ModSecurity {_NO_MODULE}"),
    refused("modsecurity-transaction-id", "ModSecurity transaction id.",
            f"ModSecurity {_NO_MODULE}"),
    refused("enable-opentelemetry", "Enable OpenTelemetry tracing.",
            f"OpenTelemetry {_NO_MODULE}"),
    refused("opentelemetry-trust-incoming-span", "Trust incoming trace spans.",
            f"OpenTelemetry {_NO_MODULE}"),
    refused("opentelemetry-operation-name", "Name of the traced operation.",
            f"OpenTelemetry {_NO_MODULE}"),
    refused("http2-push-preload", "HTTP/2 server push of preload links.",
            "nginx removed HTTP/2 server push in 1.25.1"),
    refused("fastcgi-index", "FastCGI index file.", "the FCGI backend protocol is refused"),
    refused("fastcgi-params-configmap", "FastCGI parameters from a ConfigMap.",
            "the FCGI backend protocol is refused"),
    refused("custom-headers", "Response headers from a ConfigMap.",
            "ingress2nginx reads no ConfigMaps named by Ingresses"),
    refused("enable-global-auth", "Use the controller-wide external auth.",
            "there is no controller-wide external auth"),
)  # fmt: skip

PENDING: tuple[str, ...] = ()
"""Not implemented yet; each is refused until its feature module declares it."""

ANNOTATIONS = ANNOTATIONS + tuple(
    refused(name, "See ingress-nginx's documentation.", "not supported yet") for name in PENDING
)
