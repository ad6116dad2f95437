"""Problem codes: the stable short identifiers tools and tests match on.

Every `Problem` carries one (``check --format json``, GitHub annotations, the watch log's
``code=`` field). They are an enum so that a call site names a code mypy knows, and a new
one is added here, where every code can be read at once; the values are the strings users
already see, so no output changes.
"""

from __future__ import annotations

import enum


class Code(enum.StrEnum):
    """What kind of problem a `Problem` is."""

    ACCESS_DENIED = "access-denied"
    ANNOTATION = "annotation"
    ATTACH = "attach"
    BACKEND = "backend"
    BALANCING = "balancing"
    BUFFERS = "buffers"
    CANARY = "canary"
    CERTIFICATE_EXPIRY = "certificate-expiry"
    CLASS = "class"
    CONFLICT = "conflict"
    DUPLICATE_OBJECT = "duplicate-object"
    ERRORS = "errors"
    INVALID_ANNOTATION = "invalid-annotation"
    INVALID_BACKEND = "invalid-backend"
    INVALID_CHARACTER = "invalid-character"
    INVALID_CLASS = "invalid-class"
    INVALID_ENDPOINT = "invalid-endpoint"
    INVALID_FILTER = "invalid-filter"
    INVALID_HOST = "invalid-host"
    INVALID_LABEL = "invalid-label"
    INVALID_MATCH = "invalid-match"
    INVALID_METADATA = "invalid-metadata"
    INVALID_NAME = "invalid-name"
    INVALID_NAMESPACE = "invalid-namespace"
    INVALID_OBJECT = "invalid-object"
    INVALID_PATH = "invalid-path"
    INVALID_PATH_TYPE = "invalid-path-type"
    INVALID_PORT = "invalid-port"
    INVALID_RULE = "invalid-rule"
    INVALID_SPEC = "invalid-spec"
    INVALID_TLS = "invalid-tls"
    KEPT_LAST_GOOD = "kept-last-good"
    LISTENER = "listener"
    MALFORMED_SOURCE = "malformed-source"
    MISSING_SERVICE = "missing-service"
    NO_INGRESS = "no-ingress"
    NO_PATHS = "no-paths"
    NO_RULES = "no-rules"
    OTHER_CLASS = "other-class"
    OTHER_CONTROLLER = "other-controller"
    PASSTHROUGH = "passthrough"
    REFUSED_BY_NGINX = "refused-by-nginx"
    REJECTED = "rejected"
    SECRET = "secret"
    SHADOWED = "shadowed"
    SNIPPET_REFUSED = "snippet-refused"
    STALE_SOURCE = "stale-source"
    TLS = "tls"
    TLS_HOST = "tls-host"
    UNKNOWN = "unknown"
    UNREADABLE_SOURCE = "unreadable-source"
    UNSUPPORTED = "unsupported"
    UNSUPPORTED_ANNOTATION = "unsupported-annotation"
    UNSUPPORTED_API_VERSION = "unsupported-api-version"
    V1_FIELD_IN_LEGACY_INGRESS = "v1-field-in-legacy-ingress"
