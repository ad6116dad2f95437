"""The ``watch`` command: its options, and wiring the sidecar together (docs/watch.md).

Everything watch mode does lives in watch/watching.py (the loop), apply/reloading.py (the
apply pipeline), watch/files.py and cluster/caching.py (the sources) and cluster/publishing.py
(Ingress and Gateway API status); this module only turns the command line into those pieces.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingress2nginx.apply.applying import make_runtime_dir
from ingress2nginx.cli import exit_codes
from ingress2nginx.cli.argtypes import port_or_zero, seconds
from ingress2nginx.cli.options import absolute, cluster_options_from, host_or_ip
from ingress2nginx.core.errors import OutputWriteError
from ingress2nginx.core.settings import Settings
from ingress2nginx.watch.grace import DEFAULT_SECONDS as EMPTY_SOURCE_GRACE_SECONDS

if TYPE_CHECKING:
    from ingress2nginx.cluster.events import EventRecorder
    from ingress2nginx.cluster.publishing import StatusPublisher

DEFAULT_STATUS_PORT = 10246
"""Loopback port of nginx's config-identity server in watch mode (ingress-nginx's status port)."""
DEFAULT_METRICS_PORT = 10254
"""Port of /healthz, /readyz and /metrics (ingress-nginx serves the same paths there)."""


def add_watch_command(commands: Any, shared: argparse.ArgumentParser) -> None:
    """The ``watch`` subcommand and its options."""
    watch = commands.add_parser(
        "watch",
        parents=[shared],
        help="keep nginx in step with the sources: re-render, validate, reload, confirm",
        description="Render at start, then on every change: debounce, re-render, validate,"
        " replace the output atomically, reload nginx and confirm it runs the new config;"
        " on failure keep the last good config and retry (docs/watch.md).",
        epilog=exit_codes.HELP,
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
        type=port_or_zero,
        default=DEFAULT_STATUS_PORT,
        metavar="N",
        help="127.0.0.1 port where nginx answers which config it runs, polled after each"
        " reload to confirm it; 0: no confirmation (default: %(default)s)",
    )
    applying.add_argument(
        "--confirm-timeout", type=seconds, default=10.0, metavar="SECONDS",
        help="how long nginx may take to run a new config (default: %(default)s)",
    )  # fmt: skip
    timing = watch.add_argument_group("timing")
    timing.add_argument(
        "--debounce", type=seconds, default=0.5, metavar="SECONDS",
        help="apply once changes have been quiet this long (default: %(default)s)",
    )  # fmt: skip
    timing.add_argument(
        "--max-delay", type=seconds, default=5.0, metavar="SECONDS",
        help="apply at most this long after the first change of a burst (default: %(default)s)",
    )  # fmt: skip
    timing.add_argument(
        "--resync-interval", type=seconds, default=60.0, metavar="SECONDS",
        help="re-read the sources this often even without events; 0: never"
        " (default: %(default)s)",
    )  # fmt: skip
    timing.add_argument(
        "--empty-source-grace", type=seconds, default=EMPTY_SOURCE_GRACE_SECONDS,
        metavar="SECONDS",
        help="when a source that held objects suddenly holds none (a folder recreated empty),"
        " keep nginx's config this long before every host is dropped; 0: at once"
        " (default: %(default)s)",
    )  # fmt: skip
    health = watch.add_argument_group("health, metrics and logs")
    health.add_argument(
        "--metrics-port", type=port_or_zero, default=DEFAULT_METRICS_PORT, metavar="N",
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
    timing.add_argument(
        "--secret-refresh", type=seconds, default=60.0, metavar="SECONDS",
        help="with --from-cluster: read each referenced Secret again this often, so a rotated"
        " certificate is served (default: %(default)s)",
    )  # fmt: skip
    status = watch.add_argument_group("status (with --from-cluster; docs/deploy.md)")
    status.add_argument(
        "--publish-service", metavar="NAMESPACE/NAME",
        help="write this Service's address into the status of served Ingresses",
    )  # fmt: skip
    status.add_argument(
        "--publish-status-address", action="append", default=[], type=host_or_ip,
        metavar="ADDR", help="write this IP or host name into the status (repeatable)",
    )  # fmt: skip
    status.add_argument(
        "--election-id", default="ingress2nginx-status", type=host_or_ip, metavar="NAME",
        help="the Lease electing the one replica that writes statuses (default: %(default)s)",
    )  # fmt: skip
    status.add_argument(
        "--election-namespace", metavar="NS",
        help="namespace of that Lease (default: $POD_NAMESPACE, else the pod's own)",
    )  # fmt: skip
    watch.set_defaults(run=run_watch)


def status_publisher(args: argparse.Namespace, settings: Settings) -> StatusPublisher:
    """The status writer: Gateway API statuses always, Ingress statuses when an address
    source (--publish-service, --publish-status-address) is given."""
    from ingress2nginx.cluster.connecting import connect
    from ingress2nginx.cluster.publishing import (
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
    return StatusPublisher(connect(args.kubeconfig), options, settings)


def event_recorder(args: argparse.Namespace) -> EventRecorder:
    """The poster of Events on rejected and refused Ingresses (cluster/events.py)."""
    from ingress2nginx.cluster.connecting import connect
    from ingress2nginx.cluster.events import EventRecorder
    from ingress2nginx.cluster.publishing import default_identity

    return EventRecorder(connect(args.kubeconfig), default_identity())


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
    from ingress2nginx.core import logs
    from ingress2nginx.watch.files import FileSource
    from ingress2nginx.watch.serving import serve
    from ingress2nginx.watch.watching import Source, WatchOptions, WatchStartError

    problem = _watch_usage_error(args)
    if problem:
        print(f"ingress2nginx watch: error: {problem}", file=sys.stderr)
        return exit_codes.USAGE
    logs.configure(args.log_format)
    try:
        make_runtime_dir(settings.runtime_dir)
    except OutputWriteError as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_codes.WATCH_START
    settings = dataclasses.replace(settings, status_port=args.status_port or None)
    from ingress2nginx.watch.dns import fed_by_responder, settle_endpoints

    settings = settle_endpoints(args, settings)
    options = WatchOptions(
        output=args.output.absolute(),
        debounce=args.debounce,
        max_delay=args.max_delay,
        resync_interval=args.resync_interval,
        reload_command=args.reload_command,
        nginx_pid_file=absolute(args.nginx_pid_file),
        validate_command=args.validate_command,
        nginx_prefix=absolute(args.nginx_prefix),
        confirm_timeout=args.confirm_timeout,
        metrics_port=args.metrics_port,
        metrics_address=args.metrics_address,
        quiet=args.quiet,
        empty_source_grace=args.empty_source_grace,
    )
    source: Source = FileSource(args.sources)
    publisher, recorder = None, None
    if getattr(args, "from_cluster", False):
        from ingress2nginx.cluster.caching import ClusterSource
        from ingress2nginx.cluster.watching import WatchTiming

        timing = WatchTiming(secret_refresh=args.secret_refresh)
        source = ClusterSource(cluster_options_from(args), settings, timing=timing)
        publisher = status_publisher(args, settings)
        recorder = event_recorder(args)
    source = fed_by_responder(source, settings)
    try:
        with contextlib.ExitStack() as running:
            if publisher is not None:
                publisher.start()
                running.callback(publisher.stop)
            if recorder is not None:
                recorder.start()
                running.callback(recorder.stop)
            after_apply = publisher.after_apply if publisher is not None else None
            notify = recorder.notify if recorder is not None else None
            return serve(source, settings, options, after_apply, notify)
    except WatchStartError as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_codes.WATCH_START
