"""Realistic clusters for the benchmark: N Ingresses with their Services, EndpointSlices and
TLS Secrets, written as YAML and JSON manifest folders.

The shape (issue 9) is what a migrating ingress-nginx user feeds the translator:

- N Ingresses of 3 paths each, Prefix and Exact mixed, in namespaces of 100 Ingresses
  (``team-000``, ``team-001``...), one file per namespace (a YAML stream, or a JSON ``List``
  as ``kubectl get -o json`` writes it);
- every tenth Ingress adds 3 paths to the host of the one before it (several Ingresses on one
  host are merged), one host in a hundred is a wildcard (``*.app-...``);
- a third of the hosts serve HTTPS, each from its own ``kubernetes.io/tls`` Secret holding a
  certificate for that host (leaf + bench CA chain); the leaf keys come from a pool of four
  (two EC P-256, two RSA-2048), so thousands of certificates cost four key generations;
- annotations on some Ingresses: ``ssl-redirect``, ``force-ssl-redirect``, and the
  ``proxy-body-size`` / ``proxy-read-timeout`` / cert-manager ones real clusters carry;
- per Ingress one Service (ports ``http`` and, for primary hosts, ``api``; some paths name
  the port, some give its number) and one EndpointSlice with 2 ready endpoints.

Everything is deterministic for a seed, certificates and keys included (keys are derived from
the seed, ECDSA signatures are RFC 6979), so two runs write byte-identical files.

Run: ``python bench/generate.py --size 1000`` writes ``bench/out/n1000-s1/{yaml,json}/``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime
import hashlib
import json
import math
import random
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import signing
import yaml

GENERATOR_VERSION = 2
"""Bumped whenever the shape changes, so stale folders under bench/out are rewritten."""

DEFAULT_SEED = 1
DEFAULT_OUT = Path(__file__).resolve().parent / "out"
FORMATS = ("yaml", "json")
INGRESS_CLASS = "nginx"
INGRESSES_PER_NAMESPACE = 100
DOMAINS = ("example.com", "example.org", "example.net", "shop.example", "corp.example")
CREATED = datetime.datetime(2024, 6, 1, tzinfo=datetime.UTC)
PREFIX = "nginx.ingress.kubernetes.io/"

Object = dict[str, Any]
"""One Kubernetes object as plain JSON-like data."""

PATH_SETS: tuple[tuple[tuple[str, str, str | int], ...], ...] = (
    (("/", "Prefix", 80), ("/api", "Prefix", "api"), ("/healthz", "Exact", 80)),
    (("/", "Prefix", 80), ("/login", "Exact", 80), ("/static/", "Prefix", 80)),
    (("/shop", "Prefix", 80), ("/shop/api/v2", "Prefix", "api"), ("/shop/status", "Exact", 80)),
)
"""Primary Ingresses' paths: (path, pathType, service port number or name)."""
PATH_SET_WEIGHTS = (5, 3, 2)
SIBLING_PATHS: tuple[tuple[str, str, str | int], ...] = (
    ("/admin", "Prefix", 80),
    ("/admin/login", "Exact", 80),
    ("/assets", "Prefix", "http"),
)
"""Paths of the Ingress that joins the host of the one before it."""


@dataclass(frozen=True, slots=True)
class Cluster:
    """A generated cluster: its objects by file stem (a namespace, or ``cluster``)."""

    size: int
    seed: int
    files: dict[str, list[Object]]

    @property
    def ingress_count(self) -> int:
        """How many Ingresses the files hold."""
        return sum(1 for objects in self.files.values() for o in objects if o["kind"] == "Ingress")


# --- the cluster ---------------------------------------------------------------------------


def build_cluster(size: int, seed: int = DEFAULT_SEED) -> Cluster:
    """A cluster of `size` Ingresses (see the module docstring for its shape)."""
    keys = signing.bench_keys(seed)
    files: dict[str, list[Object]] = {"cluster": [_ingress_class()]}
    namespaces = max(1, math.ceil(size / INGRESSES_PER_NAMESPACE))
    primary_host = ""
    primary_tls: Object | None = None
    for index in range(size):
        namespace = f"team-{(index // 10) % namespaces:03d}"
        rng = random.Random(f"{seed}:{index}")
        objects = files.setdefault(namespace, [])
        sibling = index % 10 == 9
        if not sibling:
            primary_host = _host(index, namespace)
            primary_tls = None
            if index % 3 == 0:
                secret = _tls_secret(namespace, primary_host, index, keys)
                objects.append(secret)
                name = secret["metadata"]["name"]
                primary_tls = {"hosts": [primary_host], "secretName": name}
        app = f"app-{index - 1:05d}-admin" if sibling else f"app-{index:05d}"
        paths = SIBLING_PATHS if sibling else rng.choices(PATH_SETS, PATH_SET_WEIGHTS)[0]
        objects.append(
            _ingress(namespace, app, primary_host, paths, primary_tls, index, rng, sibling)
        )
        objects.append(_service(namespace, app, index, with_api=not sibling))
        objects.append(_endpoint_slice(namespace, app, index, rng, with_api=not sibling))
    return Cluster(size, seed, files)


def edited_ingress(ingress: Object, marker: int) -> Object:
    """A copy of an Ingress body given one more path (``Exact /bench-change-<marker>``, to the
    backend of its first path): one Ingress changed, as ``kubectl apply`` of an edit would."""
    body = copy.deepcopy(ingress)
    rule = body["spec"]["rules"][0]
    backend = copy.deepcopy(rule["http"]["paths"][0]["backend"])
    rule["http"]["paths"].append(
        {"path": f"/bench-change-{marker}", "pathType": "Exact", "backend": backend}
    )
    body["metadata"]["generation"] = int(body["metadata"].get("generation", 1)) + 1
    return body


def _host(index: int, namespace: str) -> str:
    domain = DOMAINS[index % len(DOMAINS)]
    if index % 100 == 50:
        return f"*.app-{index:05d}.{namespace}.{domain}"
    return f"app-{index:05d}.{namespace}.{domain}"


def _metadata(
    namespace: str, name: str, index: int, labels: dict[str, str] | None = None
) -> Object:
    created = CREATED + datetime.timedelta(seconds=index)
    uid = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()
    return {
        "name": name,
        "namespace": namespace,
        "uid": f"{uid[:8]}-{uid[8:12]}-{uid[12:16]}-{uid[16:20]}-{uid[20:32]}",
        "resourceVersion": str(100_000 + index),
        "generation": 1,
        "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "labels": labels or {"app.kubernetes.io/name": name, "team": namespace},
    }


def _ingress_class() -> Object:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": INGRESS_CLASS},
        "spec": {"controller": "k8s.io/ingress-nginx"},
    }


def _ingress(
    namespace: str,
    app: str,
    host: str,
    paths: Sequence[tuple[str, str, str | int]],
    tls: Object | None,
    index: int,
    rng: random.Random,
    sibling: bool,
) -> Object:
    metadata = _metadata(namespace, app, index)
    annotations = _annotations(rng, tls is not None and not sibling)
    if annotations:
        metadata["annotations"] = annotations
    spec: Object = {
        "ingressClassName": INGRESS_CLASS,
        "rules": [
            {
                "host": host,
                "http": {"paths": [_path(path, kind, app, port) for path, kind, port in paths]},
            }
        ],
    }
    if tls is not None:
        spec["tls"] = [copy.deepcopy(tls)]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": spec,
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}},
    }


def _path(path: str, path_type: str, service: str, port: str | int) -> Object:
    port_ref = {"name": port} if isinstance(port, str) else {"number": port}
    return {
        "path": path,
        "pathType": path_type,
        "backend": {"service": {"name": service, "port": port_ref}},
    }


def _annotations(rng: random.Random, tls: bool) -> dict[str, str]:
    """Some Ingresses carry annotations, as migrated ones do."""
    annotations: dict[str, str] = {}
    if tls:
        annotations["cert-manager.io/cluster-issuer"] = "letsencrypt-prod"
        if rng.random() < 0.1:
            annotations[PREFIX + "ssl-redirect"] = "false"
    elif rng.random() < 0.05:
        annotations[PREFIX + "force-ssl-redirect"] = "true"
    if rng.random() < 0.3:
        annotations[PREFIX + "proxy-body-size"] = "8m"
    if rng.random() < 0.2:
        annotations[PREFIX + "proxy-read-timeout"] = "120"
    return annotations


def _service(namespace: str, app: str, index: int, with_api: bool) -> Object:
    ports: list[Object] = [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    if with_api:
        ports.append({"name": "api", "port": 8081, "protocol": "TCP", "targetPort": 9090})
    cluster_ip = _address(0x0A600000, index)  # 10.96.0.0/12
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(namespace, app, index),
        "spec": {
            "type": "ClusterIP",
            "clusterIP": cluster_ip,
            "clusterIPs": [cluster_ip],
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
            "sessionAffinity": "None",
            "selector": {"app.kubernetes.io/name": app},
            "ports": ports,
        },
    }


def _endpoint_slice(
    namespace: str, app: str, index: int, rng: random.Random, with_api: bool
) -> Object:
    suffix = "".join(rng.choices("bcdfghjklmnpqrstvwxz2456789", k=5))
    labels = {
        "kubernetes.io/service-name": app,
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
    }
    ports: list[Object] = [{"name": "http", "port": 8080, "protocol": "TCP"}]
    if with_api:
        ports.append({"name": "api", "port": 9090, "protocol": "TCP"})
    endpoints = []
    for replica in range(2):
        pod = f"{app}-{suffix}-{replica}"
        endpoints.append(
            {
                "addresses": [_address(0x0A400000, 2 * index + replica)],  # 10.64.0.0/10
                "conditions": {"ready": True, "serving": True, "terminating": False},
                "nodeName": f"node-{(index + replica) % 50:02d}",
                "zone": f"zone-{'abc'[(index + replica) % 3]}",
                "targetRef": {"kind": "Pod", "name": pod, "namespace": namespace},
            }
        )
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": _metadata(namespace, f"{app}-{suffix}", index, labels),
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    }


def _address(base: int, offset: int) -> str:
    value = base + offset + 1
    return ".".join(str((value >> shift) & 255) for shift in (24, 16, 8, 0))


# --- secrets --------------------------------------------------------------------------


def _tls_secret(namespace: str, host: str, index: int, keys: signing.Keys) -> Object:
    """A ``kubernetes.io/tls`` Secret for `host`: leaf + CA chain, key from the pool."""
    chain, key_pem = signing.certificate_pair(host, index // 3, keys)
    label = host.removeprefix("*.").split(".", 1)[0]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(
            namespace, f"{label}-tls", index, {"controller.cert-manager.io/fao": "true"}
        ),
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": base64.b64encode(chain).decode("ascii"),
            "tls.key": base64.b64encode(key_pem).decode("ascii"),
        },
    }


# --- writing -------------------------------------------------------------------------------


def dump(objects: Sequence[Mapping[str, Any]], fmt: str) -> str:
    """One file's text: a YAML stream, or a JSON ``List`` as ``kubectl get -o json`` prints."""
    if fmt == "json":
        wrapper = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
        return json.dumps(wrapper, indent=2) + "\n"
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump_all(objects, Dumper=dumper, sort_keys=False, explicit_start=True)


def write_cluster(cluster: Cluster, folder: Path, fmt: str) -> None:
    """Write one file per namespace (and ``cluster.<fmt>``) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, objects in sorted(cluster.files.items()):
        (folder / f"{stem}.{fmt}").write_text(dump(objects, fmt), encoding="utf-8")


def cluster_folder(out: Path, size: int, seed: int = DEFAULT_SEED) -> Path:
    """Where the cluster of this size and seed is written: ``OUT/n<size>-s<seed>``."""
    return out / f"n{size}-s{seed}"


def ensure_cluster(
    size: int, seed: int = DEFAULT_SEED, out: Path = DEFAULT_OUT, formats: Sequence[str] = FORMATS
) -> Path:
    """The cluster's folder, holding ``<fmt>/`` for each format; generated unless a folder
    from this generator version is already there."""
    folder = cluster_folder(out, size, seed)
    stamp = folder / "stamp.json"
    wanted = {"version": GENERATOR_VERSION, "size": size, "seed": seed}
    done: set[str] = set()
    if stamp.exists():
        record = json.loads(stamp.read_text(encoding="utf-8"))
        if all(record.get(key) == value for key, value in wanted.items()):
            done = set(record.get("formats", []))
        else:
            shutil.rmtree(folder)
    missing = [fmt for fmt in formats if fmt not in done]
    if missing:
        cluster = build_cluster(size, seed)
        for fmt in missing:
            write_cluster(cluster, folder / fmt, fmt)
        record = {**wanted, "formats": sorted(done | set(missing))}
        stamp.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    """``python bench/generate.py --size N [--seed S] [--out DIR] [--formats yaml,json]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, required=True, help="number of Ingresses")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--formats", default=",".join(FORMATS), help="yaml,json")
    args = parser.parse_args(argv)
    formats = [fmt for fmt in args.formats.split(",") if fmt]
    folder = ensure_cluster(args.size, args.seed, args.out, formats)
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
