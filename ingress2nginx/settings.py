"""Settings shared by every command: ports, directories, class selection, DNS.

One frozen record built from the command line (cli.py) and passed down the pipeline, so the
normalizing and rendering stages never read globals or the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_INGRESS_CLASS = "nginx"
DEFAULT_CLUSTER_DOMAIN = "cluster.local"


@dataclass(frozen=True, slots=True)
class Settings:
    """How to translate and where the output will run."""

    ingress_class: str = DEFAULT_INGRESS_CLASS
    """The IngressClass name this translator serves (``--ingress-class``)."""
    watch_ingress_without_class: bool = False
    """Serve Ingresses that name no class at all (``--watch-ingress-without-class``)."""
    http_port: int = 80
    https_port: int = 443
    listen_address: str = ""
    """Address nginx listens on; empty means every address (``--listen-address``)."""
    runtime_dir: Path | None = None
    """Where the pid file and nginx's temp paths go; None keeps nginx's compiled-in paths."""
    cert_dir: Path | None = None
    """Where certificate and auth files are written (mode 0600)."""
    template_dir: Path | None = None
    """Templates overriding the bundled ones (``--template-dir``)."""
    cluster_domain: str = DEFAULT_CLUSTER_DOMAIN
    resolver: tuple[str, ...] = ()
    """DNS servers nginx uses to resolve Service names at request time."""
    allow_snippet_annotations: bool = False
