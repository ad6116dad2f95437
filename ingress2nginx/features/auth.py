"""auth-type basic: HTTP basic authentication against users from a Secret.

The Secret (auth-secret: ``name`` or ``namespace/name``) holds an htpasswd file under the key
``auth`` (auth-secret-type ``auth-file``, the default) or one key per user whose value is the
password hash (``auth-map``). Its content is checked line by line (secret_files.py) and written
under --cert-dir as ``auth-file-<namespace>_<name>.htpasswd`` (or ``auth-map-...``), which the
location reads with ``auth_basic_user_file``; the realm (auth-realm) is the ``auth_basic``
text. As in ingress-nginx the client's ``Authorization`` header is not passed to the backend.

nginx reads the file at each request, in its worker processes: they must be able to read a
file of mode 0600, so nginx runs as the user that writes --cert-dir (as with --runtime-dir);
otherwise nginx answers 500, never lets the request through.

Anything wrong — an invalid value, a Secret missing, in another namespace, without the key or
with a line that is not ``user:hash`` — denies the Ingress's paths (503, secured.py). auth-type
digest is refused the same way: stock nginx has no digest module. auth-secret without
auth-type does nothing, as in ingress-nginx, and says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ingress2nginx.core.directives import Directive, directive
from ingress2nginx.core.quoting import Token, expanded, literal, trusted
from ingress2nginx.core.secret_files import (
    HTPASSWD_FILE,
    HTPASSWD_MAP,
    SecretFile,
    file_name,
    htpasswd_from_file,
    htpasswd_from_map,
)
from ingress2nginx.features.base import (
    Annotation,
    AnnotationValueError,
    Hooks,
    Invalid,
    OnInvalid,
    partly,
)
from ingress2nginx.features.secured import Lookup, SecretRef, field_names, secret_ref
from ingress2nginx.features.values import choice

if TYPE_CHECKING:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.model import Location

AUTH_FILE = "auth-file"
AUTH_MAP = "auth-map"
_REALM = re.compile(r"[A-Za-z0-9 /._~:-]{0,128}\Z")
"""ingress-nginx's characters for auth-realm (letters, digits, space, / . _ ~ : -)."""


def _auth_type(value: str) -> str:
    """``basic``; ``digest`` is refused (stock nginx has no digest authentication)."""
    text = value.strip()
    if text == "digest":
        raise AnnotationValueError(
            "digest authentication needs a third-party nginx module that stock nginx does not"
            " ship; use basic"
        )
    if text != "basic":
        raise AnnotationValueError('must be "basic"')
    return text


def _realm(value: str) -> str:
    """Letters, digits, spaces and ``/ . _ ~ : -``; never ``off`` (which would switch the
    authentication off in nginx)."""
    if not _REALM.match(value):
        raise AnnotationValueError("must be letters, digits, spaces and / . _ ~ : - only")
    if value.strip().lower() == "off":
        raise AnnotationValueError('"off" would switch authentication off in nginx')
    return value


@dataclass(frozen=True, slots=True)
class BasicAuthOptions:
    """Basic authentication one Ingress asks for, and once resolved its user file."""

    type: str | Invalid | None = None
    secret: SecretRef | Invalid | None = None
    secret_type: str | Invalid = AUTH_FILE
    realm: str | Invalid = ""
    user_file: SecretFile | None = None
    """The htpasswd file, once the Secret was read and checked (references.py)."""
    denied: str | None = None
    """Why the Ingress's paths are denied, when something is wrong."""


ANNOTATIONS: tuple[Annotation, ...] = (
    partly("auth-type", "Authentication type: basic (with auth-secret).",
           "digest is refused (stock nginx has no digest module): the Ingress's paths then"
           " answer 503", "auth.type", _auth_type, OnInvalid.DENY),
    partly("auth-secret", "Secret with the users and password hashes: name or namespace/name"
           " (another namespace needs allow-cross-namespace-resources).",
           "the htpasswd content is checked line by line (user:hash, hashes nginx reads:"
           " {SHA}, {SSHA}, {PLAIN}, apr1, crypt() formats); a Secret that is missing or fails"
           " the check makes the paths answer 503, as do ingress-nginx's denied locations",
           "auth.secret", secret_ref, OnInvalid.DENY),
    partly("auth-secret-type", "auth-file (an htpasswd file under the key auth, default) or"
           " auth-map (each key a user, each value a password hash).",
           "an invalid value makes the paths answer 503 rather than rejecting the Ingress",
           "auth.secret_type", choice(AUTH_FILE, AUTH_MAP), OnInvalid.DENY),
    partly("auth-realm", "Realm shown in the browser's login prompt (WWW-Authenticate).",
           '"off" is refused (it would switch authentication off in nginx); an invalid value'
           " makes the paths answer 503", "auth.realm", _realm, OnInvalid.DENY),
)  # fmt: skip

_NAMES = field_names(ANNOTATIONS)


def resolve(lookup: Lookup, options: BasicAuthOptions) -> BasicAuthOptions:
    """Read and check the Secret; the options with the user file, or denied."""
    if options.type is None:
        if options.secret is not None:
            lookup.warn("auth-secret", "has no effect without auth-type; no authentication")
        return options
    denied = lookup.invalid(options, _NAMES) or _user_file(lookup, options)
    if isinstance(denied, SecretFile):
        return replace(options, user_file=denied)
    return replace(options, denied=denied)


def _user_file(lookup: Lookup, options: BasicAuthOptions) -> SecretFile | str:
    ref, kind = options.secret, options.secret_type
    if not isinstance(ref, SecretRef):
        return lookup.deny("auth-type", "authentication needs auth-secret, which is not set")
    items = lookup.secret("auth-secret", ref)
    if isinstance(items, str):
        return items
    namespace, name = ref.key(lookup.ingress.namespace)
    if kind == AUTH_MAP:
        content = htpasswd_from_map(items)
    elif "auth" not in items:
        content = "it has no key auth (auth-secret-type auth-file)"
    else:
        content = htpasswd_from_file(items["auth"])
    if isinstance(content, str):
        return lookup.deny("auth-secret", f"Secret {namespace}/{name}: {content}")
    prefix = HTPASSWD_MAP if kind == AUTH_MAP else HTPASSWD_FILE
    return SecretFile(file_name(prefix, namespace, name, ".htpasswd"), f"{namespace}/{name}",
                      content)  # fmt: skip


def location_directives(location: Location, settings: Settings) -> list[Directive]:
    """``auth_basic`` with the realm and ``auth_basic_user_file``."""
    options = location.options.auth
    if options.user_file is None or options.denied or isinstance(options.realm, Invalid):
        return []
    return [
        directive("auth_basic", expanded(options.realm)),
        directive("auth_basic_user_file", literal(str(settings.cert_dir / options.user_file.name))),
    ]


def proxy_headers(location: Location) -> dict[str, Token]:
    """The client's credentials stay with nginx: no Authorization header to the backend."""
    if location.options.auth.user_file is None:
        return {}
    return {"Authorization": trusted('""')}


HOOKS = Hooks(location=location_directives, headers=proxy_headers)
