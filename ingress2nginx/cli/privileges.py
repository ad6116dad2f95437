"""Command-line options that let Ingresses do more than they may by default.

Some annotations hand an Ingress's author power over nginx that the person running
ingress2nginx must grant explicitly, as ingress-nginx asks its operator to: snippets (raw
nginx text, ``--allow-snippet-annotations`` for the namespaces named by
``--snippet-namespace``) and ssl-passthrough (``--enable-ssl-passthrough``, which hands the
whole HTTPS port to nginx's stream module). ``--stream-module`` is the one way a
``load_module`` line gets into the output: from the command line, never from input.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from ingress2nginx.cli.argtypes import port
from ingress2nginx.core.grammar import is_dns1123_label

_MODULE_PATH = re.compile(r"[A-Za-z0-9_./+@-]+\Z")


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options, in their own help group."""
    group = parser.add_argument_group("annotations the operator must allow (docs/snippets.md,"
                                      " docs/passthrough.md)")  # fmt: skip
    group.add_argument(
        "--allow-snippet-annotations",
        action="store_true",
        help="insert configuration-, server-, auth- and stream-snippet annotations (raw nginx"
        " text), for Ingresses in the namespaces named by --snippet-namespace only",
    )
    group.add_argument(
        "--snippet-namespace",
        action="append",
        default=[],
        metavar="NS",
        help="a namespace whose Ingresses may use snippets (repeatable)",
    )
    group.add_argument(
        "--enable-ssl-passthrough",
        action="store_true",
        help="honour ssl-passthrough: TLS on the HTTPS port is routed by SNI name by nginx's"
        " stream module (needs it: see --stream-module)",
    )
    group.add_argument(
        "--ssl-passthrough-proxy-port", type=port, default=442, metavar="N",
        help="with ssl-passthrough, nginx's own HTTPS servers listen on 127.0.0.1:N"
        " (default: %(default)s)",
    )  # fmt: skip
    group.add_argument(
        "--ssl-passthrough-relay-port", type=port, default=441, metavar="N",
        help="with ssl-passthrough, the relay to passthrough backends listens on 127.0.0.1:N"
        " (default: %(default)s)",
    )  # fmt: skip
    group.add_argument(
        "--stream-module",
        metavar="PATH",
        help="load_module this file when the output has a stream block (Debian:"
        " /usr/lib/nginx/modules/ngx_stream_module.so; not needed where nginx has the"
        " stream module built in, as in the official nginx images)",
    )


def settings_fields(args: argparse.Namespace) -> dict[str, Any]:
    """`Settings` fields from the options; ValueError names a bad one."""
    namespaces = tuple(dict.fromkeys(args.snippet_namespace))
    for namespace in namespaces:
        if not is_dns1123_label(namespace):
            raise ValueError(f"--snippet-namespace: not a namespace name: {namespace!r}")
    if namespaces and not args.allow_snippet_annotations:
        raise ValueError("--snippet-namespace is only used with --allow-snippet-annotations")
    if args.allow_snippet_annotations and not namespaces:
        raise ValueError(
            "--allow-snippet-annotations needs --snippet-namespace NS: the namespaces trusted"
            " with snippets"
        )
    module = args.stream_module
    if module is not None and not _MODULE_PATH.match(module):
        raise ValueError(f"--stream-module: not a plain file path: {module!r}")
    if args.enable_ssl_passthrough:
        _check_ports(args)
    return {
        "allow_snippet_annotations": args.allow_snippet_annotations,
        "snippet_namespaces": namespaces,
        "ssl_passthrough": args.enable_ssl_passthrough,
        "ssl_passthrough_proxy_port": args.ssl_passthrough_proxy_port,
        "ssl_passthrough_relay_port": args.ssl_passthrough_relay_port,
        "stream_module": module,
    }


def _check_ports(args: argparse.Namespace) -> None:
    ports = {
        "--http-port": args.http_port,
        "--https-port": args.https_port,
        "--ssl-passthrough-proxy-port": args.ssl_passthrough_proxy_port,
        "--ssl-passthrough-relay-port": args.ssl_passthrough_relay_port,
    }
    seen: dict[int, str] = {}
    for option, number in ports.items():
        if number in seen:
            raise ValueError(f"{option} {number} is also {seen[number]}")
        seen[number] = option
