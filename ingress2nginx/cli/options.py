"""Command-line options shared by every command, and the `Settings` they make.

Each option is defined once here (`shared_options`), checked here (the ``type=`` parsers and
`settings_from`), and turned into the frozen `Settings` the pipeline reads; cli.py assembles
the commands, commands.py and sidecar.py run them.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingress2nginx.apply import workers
from ingress2nginx.cli import privileges
from ingress2nginx.cli.argtypes import port, version
from ingress2nginx.core.grammar import is_dns1123_label, is_dns1123_subdomain
from ingress2nginx.core.settings import (
    DEFAULT_CLUSTER_DOMAIN,
    DEFAULT_GATEWAY_CLASS,
    DEFAULT_INGRESS_CLASS,
    DEFAULT_NGINX_VERSION,
    FALLBACK_CERT_DIR,
    RESOLVE_IN_UPSTREAMS_SINCE,
    GlobalConfig,
    Settings,
)
from ingress2nginx.normalize.records import parse_listen
from ingress2nginx.sources.configuring import load_global_config

if TYPE_CHECKING:
    from ingress2nginx.cluster.loading import ClusterOptions
    from ingress2nginx.sources.loading import LoadResult


ENDPOINTS_CHOICES = ("auto", "static", "dns", "service-dns", "slices")
"""``slices``: the old name of ``static``, still accepted."""


def shared_options() -> argparse.ArgumentParser:
    """The options every command takes, each with its help text (a test checks that every
    option of every command has one)."""
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="manifest file, folder (recursive) or - for stdin (default: stdin)",
    )
    shared.add_argument(
        "--ingress-class",
        default=DEFAULT_INGRESS_CLASS,
        metavar="NAME",
        help="the IngressClass served (default: %(default)s)",
    )
    shared.add_argument(
        "--gateway-class",
        default=DEFAULT_GATEWAY_CLASS,
        metavar="NAME",
        help="Gateways of this GatewayClass name are served, as are those of a class whose"
        " controllerName is ingress2nginx.dev/gateway-controller (default: %(default)s)",
    )
    shared.add_argument(
        "--watch-ingress-without-class",
        action="store_true",
        help="also serve Ingresses that name no class",
    )
    shared.add_argument(
        "--http-port",
        type=port,
        default=80,
        metavar="N",
        help="the port nginx serves plain HTTP on (default: %(default)s)",
    )
    shared.add_argument(
        "--https-port",
        type=port,
        default=443,
        metavar="N",
        help="the port nginx serves HTTPS on, when some host has TLS (default: %(default)s)",
    )
    shared.add_argument(
        "--published-http-port",
        type=port,
        default=80,
        metavar="N",
        help="the HTTP port clients reach, as the Service in front of nginx"
        " publishes it: X-Forwarded-Port (default: %(default)s)",
    )
    shared.add_argument(
        "--published-https-port",
        type=port,
        default=443,
        metavar="N",
        help="the HTTPS port clients reach: X-Forwarded-Port, and HTTPS"
        " redirects that name a port (default: %(default)s)",
    )
    shared.add_argument(
        "--listen-address",
        default="",
        metavar="ADDR",
        help="address nginx listens on (default: all)",
    )
    shared.add_argument(
        "--runtime-dir",
        type=Path,
        metavar="DIR",
        help="pid file and nginx temp paths go here, so nginx runs unprivileged",
    )
    shared.add_argument(
        "--cert-dir",
        type=Path,
        metavar="DIR",
        help="where certificate and auth files are written (mode 0600;"
        f" default: RUNTIME_DIR/certs, else {FALLBACK_CERT_DIR})",
    )
    shared.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="global options: a YAML mapping or an ingress-nginx ConfigMap",
    )
    shared.add_argument(
        "--nginx-version",
        type=version,
        metavar="X.Y.Z",
        help="the nginx the output is for; 1.25.1 and later get 'http2 on;', 1.27.3 and later"
        " upstreams nginx resolves (default: 1.22.0 syntax, accepted by every later nginx;"
        " watch: what nginx -v says)",
    )
    shared.add_argument(
        "--template-dir", type=Path, metavar="DIR", help="templates overriding the bundled ones"
    )
    shared.add_argument(
        "--cluster-domain",
        default=DEFAULT_CLUSTER_DOMAIN,
        metavar="DOMAIN",
        help="the cluster's DNS domain, for Service names (default: %(default)s)",
    )
    shared.add_argument(
        "--resolver",
        action="append",
        default=[],
        metavar="ADDR",
        help="DNS server for Service names (repeatable; default: /etc/resolv.conf)",
    )
    add_endpoints_options(shared)
    privileges.add_options(shared)
    workers.add_options(shared)
    shared.add_argument(
        "-q", "--quiet", action="store_true", help="print only warnings and errors, not notes"
    )
    add_cluster_options(shared)
    return shared


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """``--from-cluster`` and its options (docs/cluster.md)."""
    cluster = parser.add_argument_group("reading from the Kubernetes API")
    cluster.add_argument(
        "--from-cluster",
        action="store_true",
        help="read the objects from the Kubernetes API instead of SOURCE",
    )
    cluster.add_argument(
        "--kubeconfig",
        type=Path,
        metavar="PATH",
        help="kubeconfig file (default: in-cluster service account, else $KUBECONFIG"
        " or ~/.kube/config)",
    )
    cluster.add_argument(
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="read only this namespace (repeatable; default: all namespaces)",
    )


def add_endpoints_options(parser: argparse.ArgumentParser) -> None:
    """``--endpoints`` and dns mode's options (docs/watch.md)."""
    group = parser.add_argument_group("endpoints (docs/watch.md)")
    group.add_argument(
        "--endpoints",
        choices=ENDPOINTS_CHOICES,
        default="auto",
        help="static: upstreams list the ready endpoints (a reload on each change); dns:"
        " nginx resolves them from the sidecar's DNS responder, no reload; auto: dns in watch"
        " when nginx is 1.27.3 or later, else static; service-dns (with --from-cluster):"
        " the Service DNS name at request time, no EndpointSlice read (default: %(default)s)",
    )
    group.add_argument(
        "--dns-listen",
        default="127.0.0.1:5353",
        metavar="ADDR:PORT",
        help="dns mode: where the responder listens, nginx's resolver (default: %(default)s)",
    )
    group.add_argument(
        "--dns-unavailable-port",
        type=port,
        default=5354,
        metavar="N",
        help="dns mode: 127.0.0.1 port of nginx's 503 stand-in for a Service port with no"
        " endpoint (default: %(default)s)",
    )


def host_or_ip(text: str) -> str:
    """An IP address or a DNS name."""
    if is_ip(text) or is_dns1123_subdomain(text):
        return text
    raise argparse.ArgumentTypeError(f"not an IP address or DNS name: {text!r}")


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from parsed arguments; ValueError names the bad option."""
    check_cluster_options(args)
    if not is_dns1123_subdomain(args.ingress_class):
        raise ValueError(f"--ingress-class: not a valid class name: {args.ingress_class!r}")
    if not is_dns1123_subdomain(args.gateway_class):
        raise ValueError(f"--gateway-class: not a valid class name: {args.gateway_class!r}")
    if not is_dns1123_subdomain(args.cluster_domain):
        raise ValueError(f"--cluster-domain: not a DNS name: {args.cluster_domain!r}")
    if args.listen_address and not is_ip(args.listen_address):
        raise ValueError(f"--listen-address: not an IP address: {args.listen_address!r}")
    resolvers = tuple(args.resolver) or system_resolvers()
    for address in args.resolver:
        if not _is_resolver_address(address):
            raise ValueError(f"--resolver: not an IP address (optionally :port): {address!r}")
    if args.template_dir is not None and not args.template_dir.is_dir():
        raise ValueError(f"--template-dir: not a folder: {str(args.template_dir)!r}")
    runtime_dir = absolute(args.runtime_dir)
    cert_dir = absolute(args.cert_dir) or (runtime_dir / "certs" if runtime_dir else None)
    return Settings(
        ingress_class=args.ingress_class,
        watch_ingress_without_class=args.watch_ingress_without_class,
        gateway_class=args.gateway_class,
        http_port=args.http_port,
        https_port=args.https_port,
        published_http_port=args.published_http_port,
        published_https_port=args.published_https_port,
        listen_address=args.listen_address,
        runtime_dir=runtime_dir,
        cert_dir=cert_dir or FALLBACK_CERT_DIR,
        template_dir=args.template_dir,
        cluster_domain=args.cluster_domain,
        resolver=resolvers,
        **endpoints_fields(args),
        config=_global_config(args.config),
        **privileges.settings_fields(args),
        **workers.settings_fields(args),
    )


def endpoints_fields(args: argparse.Namespace) -> dict[str, Any]:
    """``nginx_version``, ``endpoints`` and dns mode's settings; ``auto`` is static here
    (only watch runs the responder: endpoint_modes.py settles ``auto`` there)."""
    mode = "dns" if args.endpoints == "dns" else "static"
    if args.endpoints == "slices":
        print("note: --endpoints slices is now called static", file=sys.stderr)
    nginx_version = args.nginx_version or DEFAULT_NGINX_VERSION
    if mode == "dns" and args.nginx_version is None:
        nginx_version = max(nginx_version, RESOLVE_IN_UPSTREAMS_SINCE)
    if mode == "dns" and nginx_version < RESOLVE_IN_UPSTREAMS_SINCE:
        raise ValueError("--endpoints dns needs nginx 1.27.3 or later (--nginx-version)")
    parse_listen(args.dns_listen)
    return {
        "nginx_version": nginx_version,
        "endpoints": mode,
        "dns_listen": args.dns_listen,
        "dns_unavailable_port": args.dns_unavailable_port,
    }


def _global_config(path: Path | None) -> GlobalConfig:
    if path is None:
        return GlobalConfig()
    config, warnings = load_global_config(path)
    for warning in warnings:
        print(warning, file=sys.stderr)
    return config


def absolute(path: Path | None) -> Path | None:
    """An absolute path, symlinks resolved; None stays None."""
    return path.resolve() if path is not None else None


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return "%" not in text


def _is_resolver_address(text: str) -> bool:
    if is_ip(text):
        return True
    host, _, port = text.rpartition(":")
    return port.isdigit() and 1 <= int(port) <= 65535 and is_ip(host.strip("[]"))


def system_resolvers(path: Path = Path("/etc/resolv.conf")) -> tuple[str, ...]:
    """The nameservers of resolv.conf (valid IP addresses only); 127.0.0.1 when none."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    found = [
        words[1]
        for words in (line.split() for line in lines)
        if len(words) >= 2 and words[0] == "nameserver" and is_ip(words[1])
    ]
    return tuple(found) or ("127.0.0.1",)


def check_cluster_options(args: argparse.Namespace) -> None:
    """ValueError when the ``--from-cluster`` options do not fit together."""
    if not getattr(args, "from_cluster", False):
        given = [
            option
            for option, value in (
                ("--kubeconfig", args.kubeconfig),
                ("--namespace", args.namespace),
                ("--endpoints service-dns", args.endpoints == "service-dns"),
            )
            if value
        ]
        if given:
            raise ValueError(f"{given[0]} is only used with --from-cluster")
        return
    if args.sources:
        raise ValueError("--from-cluster reads the API: SOURCE arguments cannot be given with it")
    for namespace in args.namespace:
        if not is_dns1123_label(namespace):
            raise ValueError(f"--namespace: not a namespace name: {namespace!r}")


def cluster_options_from(args: argparse.Namespace) -> ClusterOptions:
    """What ``--from-cluster`` reads, from the parsed arguments (imports the API client)."""
    from ingress2nginx.cluster.loading import ClusterOptions, EndpointsMode

    return ClusterOptions(
        kubeconfig=args.kubeconfig,
        namespaces=tuple(dict.fromkeys(args.namespace)),
        endpoints=EndpointsMode.SERVICE_DNS
        if args.endpoints == "service-dns"
        else EndpointsMode.SLICES,
    )


def load_from_cluster(args: argparse.Namespace, settings: Settings) -> LoadResult:
    """Every object ``--from-cluster`` names, read once from the API."""
    from ingress2nginx.cluster.loading import load_cluster

    return load_cluster(cluster_options_from(args), settings)
