"""The command line: ``render``, ``check``, ``explain`` (and ``watch``), as SPEC §2 defines.

This module only parses arguments, wires the pipeline stages together and maps outcomes to
exit codes; the stages themselves live in their own modules.

Exit codes (each means one thing):
  0  done; problems, if any, were printed on stderr (rejected Ingresses included)
  1  ``check`` found problems
  2  usage error: bad command line
  3  a source could not be read or parsed (the rest was still rendered)
  4  the rendered config failed validation (nothing was written)
  5  ``watch`` could not start (its metrics port is taken); it stops with 0 on SIGTERM/SIGINT
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ingress2nginx import __version__, privileges
from ingress2nginx.applying import validate, write_atomically, write_certificates
from ingress2nginx.configuring import load_global_config
from ingress2nginx.errors import (
    Ingress2NginxError,
    OutputValidationError,
    Problem,
    Severity,
    SourceError,
)
from ingress2nginx.loading import LoadResult, load_sources
from ingress2nginx.normalizing import Translation, normalize
from ingress2nginx.objects import Inventory
from ingress2nginx.rendering import Renderer
from ingress2nginx.settings import (
    DEFAULT_CLUSTER_DOMAIN,
    DEFAULT_INGRESS_CLASS,
    FALLBACK_CERT_DIR,
    GlobalConfig,
    Settings,
)
from ingress2nginx.validating import is_dns1123_label, is_dns1123_subdomain

if TYPE_CHECKING:
    from ingress2nginx.cluster_loading import ClusterOptions
    from ingress2nginx.cluster_publishing import StatusPublisher

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_SOURCE = 3
EXIT_INVALID_OUTPUT = 4
EXIT_WATCH_START = 5

EPILOG = """exit codes:
  0  done; problems, if any, were printed on stderr (rejected Ingresses included)
  1  check found problems
  2  usage error
  3  a source could not be read or parsed (the rest was still rendered)
  4  the rendered config failed validation (nothing was written)
  5  watch could not start (its metrics port is taken); it exits 0 on SIGTERM/SIGINT
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ingress2nginx`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from(args)
    except ValueError as error:
        parser.error(str(error))
    try:
        return int(args.run(args, settings))
    except OutputValidationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID_OUTPUT
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_SOURCE
    except Ingress2NginxError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_SOURCE
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="ingress2nginx",
        description="Translate Kubernetes Ingress resources into a plain, validated nginx.conf.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = _shared_options()

    render = commands.add_parser(
        "render",
        parents=[shared],
        help="write nginx.conf for the Ingresses",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    render.add_argument("-o", "--output", type=Path, help="write here (atomically), not stdout")
    render.add_argument(
        "--validate",
        action="store_true",
        help="check the result with nginx -t (crossplane when nginx is missing) before writing",
    )
    render.set_defaults(run=run_render)

    check = commands.add_parser(
        "check",
        parents=[shared],
        help="lint the manifests; exit 1 when there are problems",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.set_defaults(run=run_check)

    explain = commands.add_parser(
        "explain",
        parents=[shared],
        help="print the routing table",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    explain.set_defaults(run=run_explain)
    _add_watch_command(commands, shared)
    return parser


def _shared_options() -> argparse.ArgumentParser:
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
        "--watch-ingress-without-class",
        action="store_true",
        help="also serve Ingresses that name no class",
    )
    shared.add_argument("--http-port", type=_port, default=80, metavar="N")
    shared.add_argument("--https-port", type=_port, default=443, metavar="N")
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
        type=_version,
        default=(1, 22, 0),
        metavar="X.Y.Z",
        help="the nginx the output is for; 1.25.1 and later get 'http2 on;'"
        " (default: 1.22.0 syntax, accepted by every later nginx)",
    )
    shared.add_argument(
        "--template-dir", type=Path, metavar="DIR", help="templates overriding the bundled ones"
    )
    shared.add_argument("--cluster-domain", default=DEFAULT_CLUSTER_DOMAIN, metavar="DOMAIN")
    shared.add_argument(
        "--resolver",
        action="append",
        default=[],
        metavar="ADDR",
        help="DNS server for Service names (repeatable; default: /etc/resolv.conf)",
    )
    privileges.add_options(shared)
    shared.add_argument(
        "-q", "--quiet", action="store_true", help="print only warnings and errors, not notes"
    )
    _add_cluster_options(shared)
    return shared


def _add_cluster_options(parser: argparse.ArgumentParser) -> None:
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
    cluster.add_argument(
        "--endpoints",
        choices=("slices", "dns"),
        default="slices",
        help="slices: upstreams of ready pod addresses from EndpointSlices (a reload on pod"
        " changes); dns: the Service DNS name resolved at request time, no EndpointSlice"
        " read (default: %(default)s)",
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 1-65535: {port}")
    return port


def _version(text: str) -> tuple[int, int, int]:
    parts = text.split(".")
    if not 1 <= len(parts) <= 3 or not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"not a version like 1.25.1: {text!r}")
    major, minor, patch = ([int(part) for part in parts] + [0, 0])[:3]
    return (major, minor, patch)


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from parsed arguments; ValueError names the bad option."""
    _check_cluster_options(args)
    if not is_dns1123_subdomain(args.ingress_class):
        raise ValueError(f"--ingress-class: not a valid class name: {args.ingress_class!r}")
    if not is_dns1123_subdomain(args.cluster_domain):
        raise ValueError(f"--cluster-domain: not a DNS name: {args.cluster_domain!r}")
    if args.listen_address and not _is_ip(args.listen_address):
        raise ValueError(f"--listen-address: not an IP address: {args.listen_address!r}")
    resolvers = tuple(args.resolver) or system_resolvers()
    for address in args.resolver:
        if not _is_resolver_address(address):
            raise ValueError(f"--resolver: not an IP address (optionally :port): {address!r}")
    runtime_dir = _absolute(args.runtime_dir)
    cert_dir = _absolute(args.cert_dir) or (runtime_dir / "certs" if runtime_dir else None)
    return Settings(
        ingress_class=args.ingress_class,
        watch_ingress_without_class=args.watch_ingress_without_class,
        http_port=args.http_port,
        https_port=args.https_port,
        listen_address=args.listen_address,
        runtime_dir=runtime_dir,
        cert_dir=cert_dir or FALLBACK_CERT_DIR,
        template_dir=args.template_dir,
        cluster_domain=args.cluster_domain,
        resolver=resolvers,
        nginx_version=args.nginx_version,
        config=_global_config(args.config),
        **privileges.settings_fields(args),
    )


def _global_config(path: Path | None) -> GlobalConfig:
    if path is None:
        return GlobalConfig()
    config, warnings = load_global_config(path)
    for warning in warnings:
        print(warning, file=sys.stderr)
    return config


def _absolute(path: Path | None) -> Path | None:
    return path.resolve() if path is not None else None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return "%" not in text


def _is_resolver_address(text: str) -> bool:
    if _is_ip(text):
        return True
    host, _, port = text.rpartition(":")
    return port.isdigit() and 1 <= int(port) <= 65535 and _is_ip(host.strip("[]"))


def system_resolvers(path: Path = Path("/etc/resolv.conf")) -> tuple[str, ...]:
    """The nameservers of resolv.conf (valid IP addresses only); 127.0.0.1 when none."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    found = [
        words[1]
        for words in (line.split() for line in lines)
        if len(words) >= 2 and words[0] == "nameserver" and _is_ip(words[1])
    ]
    return tuple(found) or ("127.0.0.1",)


def translate(args: argparse.Namespace, settings: Settings) -> tuple[Translation, list[Problem]]:
    """Load the sources and normalize them; returns the translation and loading problems."""
    if getattr(args, "from_cluster", False):
        loaded = load_from_cluster(args, settings)
        return normalize(Inventory.build(loaded.manifests), settings), list(loaded.problems)
    sources = args.sources or ["-"]
    if sources == ["-"] and sys.stdin.isatty():
        raise SourceError("<stdin>", "no SOURCE given and stdin is a terminal")
    loaded = load_sources(sources, stdin=sys.stdin)
    translation = normalize(Inventory.build(loaded.manifests), settings)
    return translation, list(loaded.problems)


def _check_cluster_options(args: argparse.Namespace) -> None:
    """ValueError when the ``--from-cluster`` options do not fit together."""
    if not getattr(args, "from_cluster", False):
        given = [
            option
            for option, value in (
                ("--kubeconfig", args.kubeconfig),
                ("--namespace", args.namespace),
                ("--endpoints", args.endpoints != "slices"),
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
    from ingress2nginx.cluster_loading import ClusterOptions, EndpointsMode

    return ClusterOptions(
        kubeconfig=args.kubeconfig,
        namespaces=tuple(dict.fromkeys(args.namespace)),
        endpoints=EndpointsMode(args.endpoints),
    )


def load_from_cluster(args: argparse.Namespace, settings: Settings) -> LoadResult:
    """Every object ``--from-cluster`` names, read once from the API."""
    from ingress2nginx.cluster_loading import load_cluster

    return load_cluster(cluster_options_from(args), settings)


def report(problems: Sequence[Problem], quiet: bool, stream: TextIO | None = None) -> None:
    """Print problems on stderr, one a line; notes only when not quiet."""
    out = stream or sys.stderr
    for problem in problems:
        if quiet and problem.severity < Severity.WARNING:
            continue
        print(problem, file=out)


def run_render(args: argparse.Namespace, settings: Settings) -> int:
    """``render``: write nginx.conf for the Ingresses to stdout or -o FILE."""
    translation, load_problems = translate(args, settings)
    report([*load_problems, *translation.problems], args.quiet)
    text = Renderer(settings).render(translation.config)
    write_certificates(translation.config, settings.cert_dir)
    if args.validate:
        validator = validate(text)
        if not args.quiet:
            print(f"note: the config passed {validator}", file=sys.stderr)
    if args.output:
        write_atomically(args.output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return EXIT_SOURCE if load_problems else EXIT_OK


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    """``check``: report every problem; exit 1 when there is a warning or an error."""
    translation, load_problems = translate(args, settings)
    problems = [*load_problems, *translation.problems]
    report(problems, args.quiet)
    Renderer(settings).render(translation.config)
    count = sum(1 for problem in problems if problem.severity >= Severity.WARNING)
    served = len(translation.served)
    if count:
        print(f"{count} problem(s); {served} Ingress(es) would be served", file=sys.stderr)
        return EXIT_PROBLEMS
    if not args.quiet:
        print(f"ok: {served} Ingress(es) served, no problems", file=sys.stderr)
    return EXIT_OK


def run_explain(args: argparse.Namespace, settings: Settings) -> int:
    """``explain``: the routing table, one served path a line."""
    translation, load_problems = translate(args, settings)
    report([*load_problems, *translation.problems], quiet=True)
    rows = [("HOST", "PATH", "TYPE", "BACKEND", "SOURCE")]
    for route in translation.config.routes:
        rows.append(
            (route.host or "*", route.path, str(route.path_type), route.backend, str(route.origin))
        )
    for server in translation.config.servers:
        root = next(loc for loc in server.locations if loc.path == "/" and not loc.match)
        if root.origin is None or root.origin.field == "spec.defaultBackend":
            backend = _describe_action(root.action)
            source = str(root.origin) if root.origin else "-"
            rows.append((server.host or "*", "(default)", "-", backend, source))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        print("  ".join([*cells, row[4]]).rstrip())
    return EXIT_SOURCE if load_problems else EXIT_OK


def _describe_action(action: object) -> str:
    service = getattr(action, "service", None)
    if isinstance(service, str):
        return service
    return str(getattr(action, "status", "?"))


# --- watch (docs/watch.md) --------------------------------------------------------------------

DEFAULT_STATUS_PORT = 10246
"""Loopback port of nginx's config-identity server in watch mode (ingress-nginx's status port)."""
DEFAULT_METRICS_PORT = 10254
"""Port of /healthz, /readyz and /metrics (ingress-nginx serves the same paths there)."""


def _add_watch_command(commands: Any, shared: argparse.ArgumentParser) -> None:
    watch = commands.add_parser(
        "watch",
        parents=[shared],
        help="keep nginx in step with the sources: re-render, validate, reload, confirm",
        description="Render at start, then on every change: debounce, re-render, validate,"
        " replace the output atomically, reload nginx and confirm it runs the new config;"
        " on failure keep the last good config and retry (docs/watch.md).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    watch.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE", help="the nginx.conf to keep"
    )
    applying = watch.add_argument_group("validating, reloading, confirming")
    reload = applying.add_mutually_exclusive_group()
    reload.add_argument(
        "--reload-command",
        metavar="CMD",
        help="run through /bin/sh after each new config ($CONFIG: the output); exit 0 = done"
        " (default: SIGHUP to the nginx master)",
    )
    reload.add_argument(
        "--nginx-pid-file",
        type=Path,
        metavar="PATH",
        help="pid file of the nginx master to SIGHUP (default: RUNTIME_DIR/nginx.pid, the one"
        " the config names; without --runtime-dir, /run/nginx.pid)",
    )
    applying.add_argument(
        "--validate-command",
        metavar="CMD",
        help="check each new config with CMD instead of nginx -t: {} in CMD and $CONFIG name"
        " the file to check; exit 0 accepts (default: nginx -t, crossplane without nginx)",
    )
    applying.add_argument(
        "--nginx-prefix",
        type=Path,
        metavar="DIR",
        help="-p for nginx -t, as nginx runs (default: RUNTIME_DIR, else nginx's own)",
    )
    applying.add_argument(
        "--status-port",
        type=_port_or_zero,
        default=DEFAULT_STATUS_PORT,
        metavar="N",
        help="127.0.0.1 port where nginx answers which config it runs, polled after each"
        " reload to confirm it; 0: no confirmation (default: %(default)s)",
    )
    applying.add_argument(
        "--confirm-timeout", type=_seconds, default=10.0, metavar="SECONDS",
        help="how long nginx may take to run a new config (default: %(default)s)",
    )  # fmt: skip
    timing = watch.add_argument_group("timing")
    timing.add_argument(
        "--debounce", type=_seconds, default=0.5, metavar="SECONDS",
        help="apply once changes have been quiet this long (default: %(default)s)",
    )  # fmt: skip
    timing.add_argument(
        "--max-delay", type=_seconds, default=5.0, metavar="SECONDS",
        help="apply at most this long after the first change of a burst (default: %(default)s)",
    )  # fmt: skip
    timing.add_argument(
        "--resync-interval", type=_seconds, default=60.0, metavar="SECONDS",
        help="re-read the sources this often even without events; 0: never"
        " (default: %(default)s)",
    )  # fmt: skip
    health = watch.add_argument_group("health, metrics and logs")
    health.add_argument(
        "--metrics-port", type=_port_or_zero, default=DEFAULT_METRICS_PORT, metavar="N",
        help="serve /healthz, /readyz and /metrics here; 0: not at all (default: %(default)s)",
    )  # fmt: skip
    health.add_argument(
        "--metrics-address", default="0.0.0.0", metavar="ADDR",
        help="address of the metrics server (default: %(default)s)",
    )  # fmt: skip
    health.add_argument(
        "--log-format", choices=("text", "json"), default="text",
        help="log lines on stderr as text or as JSON objects (default: %(default)s)",
    )  # fmt: skip
    status = watch.add_argument_group("Ingress status (with --from-cluster; docs/deploy.md)")
    status.add_argument(
        "--publish-service", metavar="NAMESPACE/NAME",
        help="write this Service's address into the status of served Ingresses",
    )  # fmt: skip
    status.add_argument(
        "--publish-status-address", action="append", default=[], type=_status_address,
        metavar="ADDR", help="write this IP or host name into the status (repeatable)",
    )  # fmt: skip
    status.add_argument(
        "--election-id", default="ingress2nginx-status", type=_status_address, metavar="NAME",
        help="the Lease electing the one replica that writes statuses (default: %(default)s)",
    )  # fmt: skip
    status.add_argument(
        "--election-namespace", metavar="NS",
        help="namespace of that Lease (default: $POD_NAMESPACE, else the pod's own)",
    )  # fmt: skip
    watch.set_defaults(run=run_watch)


def _status_address(text: str) -> str:
    if _is_ip(text) or is_dns1123_subdomain(text):
        return text
    raise argparse.ArgumentTypeError(f"not an IP address or DNS name: {text!r}")


def status_publisher(args: argparse.Namespace) -> StatusPublisher | None:
    """The Ingress status writer the options ask for, or None."""
    if not (args.publish_service or args.publish_status_address):
        return None
    from ingress2nginx.cluster_connecting import connect
    from ingress2nginx.cluster_publishing import (
        PublishOptions,
        StatusPublisher,
        default_election_namespace,
        default_identity,
    )

    service = tuple(args.publish_service.split("/")) if args.publish_service else None
    options = PublishOptions(
        service=service,
        addresses=tuple(args.publish_status_address),
        election_namespace=args.election_namespace or default_election_namespace(),
        identity=default_identity(),
        election_id=args.election_id,
    )
    return StatusPublisher(connect(args.kubeconfig), options)


def _port_or_zero(text: str) -> int:
    return 0 if text.strip() == "0" else _port(text)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= seconds <= 86400:
        raise argparse.ArgumentTypeError(f"seconds out of range 0-86400: {text}")
    return seconds


def _watch_usage_error(args: argparse.Namespace) -> str | None:
    """Why these watch options cannot work together, or None."""
    if not args.sources and not getattr(args, "from_cluster", False):
        return "watch needs a SOURCE (a manifest file or folder) or --from-cluster"
    if "-" in args.sources:
        return "watch cannot watch stdin: name files or folders"
    if not args.output.absolute().parent.is_dir():
        return f"-o: the folder of {args.output} does not exist"
    if args.max_delay < args.debounce:
        return "--max-delay must be at least --debounce"
    publishing = args.publish_service or args.publish_status_address
    if publishing and not getattr(args, "from_cluster", False):
        return "--publish-service and --publish-status-address need --from-cluster"
    if args.publish_service and not re.fullmatch(r"[a-z0-9-]+/[a-z0-9-]+", args.publish_service):
        return f"--publish-service: not NAMESPACE/NAME: {args.publish_service!r}"
    ports = {"--http-port": args.http_port, "--https-port": args.https_port}
    for option in ("--status-port", "--metrics-port"):
        port = getattr(args, option[2:].replace("-", "_"))
        clash = [name for name, used in ports.items() if port and used == port]
        if clash:
            return f"{option} {port} is also {clash[0]}"
        ports[option] = port
    return None


def run_watch(args: argparse.Namespace, settings: Settings) -> int:
    """``watch``: keep the output and nginx in step with the sources until SIGTERM/SIGINT."""
    # imported here: only watch needs watchdog and prometheus-client
    from ingress2nginx import logs
    from ingress2nginx.filewatching import FileSource
    from ingress2nginx.watching import Source, WatchOptions, WatchStartError, serve

    problem = _watch_usage_error(args)
    if problem:
        print(f"ingress2nginx watch: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    logs.configure(args.log_format)
    settings = dataclasses.replace(settings, status_port=args.status_port or None)
    options = WatchOptions(
        output=args.output.absolute(),
        debounce=args.debounce,
        max_delay=args.max_delay,
        resync_interval=args.resync_interval,
        reload_command=args.reload_command,
        nginx_pid_file=_absolute(args.nginx_pid_file),
        validate_command=args.validate_command,
        nginx_prefix=_absolute(args.nginx_prefix),
        confirm_timeout=args.confirm_timeout,
        metrics_port=args.metrics_port,
        metrics_address=args.metrics_address,
        quiet=args.quiet,
    )
    source: Source = FileSource(args.sources)
    publisher = None
    if getattr(args, "from_cluster", False):
        from ingress2nginx.cluster_caching import ClusterSource

        source = ClusterSource(cluster_options_from(args), settings)
        publisher = status_publisher(args)
    try:
        if publisher is None:
            return serve(source, settings, options)
        publisher.start()
        try:
            return serve(source, settings, options, publisher.after_apply)
        finally:
            publisher.stop()
    except WatchStartError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_WATCH_START
