"""dns mode at scale: the DNS responder's capacity, and what nginx asks of it (docs/performance.md).

    python bench/dns_bench.py                              # 16,000 upstreams, responder only
    python bench/dns_bench.py --nginx PATH                 # also nginx >= 1.27.3 against it
    python bench/dns_bench.py --upstreams 1000 --seconds 1 # quicker

Measured in one run, in this order:

1. records: building the SRV records of N Services (2 ready endpoints each) from their
   Services and EndpointSlices, as the sidecar does at start; then one EndpointSlice changed
   (dns_watching's per-Service memo: only that Service is worked out again);
2. responder: the time to encode every answer ahead of nginx (warm-up), then queries per
   second answered over UDP on loopback (pacing off), by a client in another process keeping
   a window of queries in flight, over every SRV name, over the target hosts' A records, and
   over every SRV name right after half of them changed (answered while re-encoded);
3. with ``--nginx``: the config of N Ingresses rendered in dns mode, nginx started on it
   (``nginx -t`` time, start time), the queries per second nginx sends the responder in
   steady state (its re-resolution load), and how long an EndpointSlice change takes to
   move a request to a new backend (no reload), measured end to end by polling, seven
   times (median and max); the CPU time of this process (the responder's thread; the
   probes are idle then) per second of the steady state, and per second of the changes
   (records worked out again included).
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dnslib import DNSRecord

from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.normalizing import normalize
from ingress2nginx.normalize.records import inventory_records, target_host
from ingress2nginx.render.rendering import Renderer
from ingress2nginx.watch.dns import ResponderFeed
from ingress2nginx.watch.dnsresponder import DEFAULT_ANSWER_RATE, DnsResponder

DOMAIN = "cluster.local"
WINDOW = 64
"""Queries the client keeps in flight."""
CHANGES = 7
"""Endpoint changes timed end to end through nginx."""


def service(n: int) -> Manifest:
    body = {
        "kind": "Service",
        "metadata": {"name": f"svc-{n}", "namespace": f"ns-{n // 100}"},
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
    }
    return Manifest("Service", f"ns-{n // 100}", f"svc-{n}", body, "bench")


def endpoint_slice(n: int, addresses: tuple[str, ...], port: int = 8080) -> Manifest:
    body = {
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"svc-{n}-1",
            "namespace": f"ns-{n // 100}",
            "labels": {"kubernetes.io/service-name": f"svc-{n}"},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses],
    }
    return Manifest("EndpointSlice", f"ns-{n // 100}", f"svc-{n}-1", body, "bench")


def ingress(n: int) -> Manifest:
    namespace = f"ns-{n // 100}"
    backend = {"service": {"name": f"svc-{n}", "port": {"number": 80}}}
    body = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": f"ing-{n}", "namespace": namespace},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": f"h{n}.bench.test",
                    "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                }
            ],
        },
    }
    return Manifest("Ingress", namespace, f"ing-{n}", body, "bench")


def pod_addresses(n: int) -> tuple[str, str]:
    return f"10.{n // 250 % 250}.{n % 250}.1", f"10.{n // 250 % 250}.{n % 250}.2"


def cluster(size: int, probe_port: int | None = None) -> list[Manifest]:
    objects: list[Manifest] = []
    for n in range(size):
        objects.append(service(n))
        objects.append(endpoint_slice(n, pod_addresses(n)))
    if probe_port is not None:  # service 0 leads to a real backend on loopback
        objects[1] = endpoint_slice(0, ("127.0.0.1",), probe_port)
    return objects


def client(
    address: tuple[str, int], names: list[str], qtype: str, seconds: float, out: Any
) -> None:
    """Send queries over `names` (cycling) with WINDOW in flight; put (answered, elapsed)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(1.0)
    queries = [bytearray(DNSRecord.question(name, qtype).pack()) for name in names]
    answered = sent = 0
    started = time.perf_counter()
    deadline = started + seconds
    for _ in range(WINDOW):
        sock.sendto(queries[sent % len(queries)], address)
        sent += 1
    while time.perf_counter() < deadline:
        try:
            sock.recv(65535)
        except TimeoutError:
            for _ in range(WINDOW):  # lost queries: refill the window
                sock.sendto(queries[sent % len(queries)], address)
                sent += 1
            continue
        answered += 1
        sock.sendto(queries[sent % len(queries)], address)
        sent += 1
    out.put((answered, time.perf_counter() - started))


def measure_qps(responder: DnsResponder, names: list[str], qtype: str, seconds: float) -> float:
    results: Any = multiprocessing.Queue()
    process = multiprocessing.Process(
        target=client, args=(responder.address, names, qtype, seconds, results)
    )
    process.start()
    answered, elapsed = results.get(timeout=seconds + 30)
    process.join()
    return float(answered / elapsed)


def bench_records(size: int) -> tuple[dict[str, Any], Settings, list[Manifest]]:
    settings = Settings(endpoints="dns", nginx_version=(1, 27, 3))
    objects = cluster(size)
    feed = ResponderFeed(_NoSource(), settings)  # type: ignore[arg-type] - records only
    feed.responder = DnsResponder(DOMAIN, ("127.0.0.1", 0))
    started = time.perf_counter()
    feed._answer_from(objects)
    first = time.perf_counter() - started
    objects[1] = endpoint_slice(0, ("10.255.0.9",))
    started = time.perf_counter()
    feed._answer_from(objects)
    one_change = time.perf_counter() - started
    feed.responder.stop()
    started = time.perf_counter()
    inventory_records(Inventory.build(objects), DOMAIN, _stand_in())
    plain = time.perf_counter() - started
    figures = {
        "records_first_s": first,
        "records_one_change_s": one_change,
        "records_plain_s": plain,
    }
    return figures, settings, objects


def bench_responder(size: int, seconds: float) -> dict[str, float]:
    records = inventory_records(Inventory.build(cluster(size)), DOMAIN, _stand_in())
    names = sorted(records)
    hosts = sorted({target_host(t.address, DOMAIN, t.port) for ts in records.values() for t in ts})
    with DnsResponder(DOMAIN, ("127.0.0.1", 0), answer_rate=float("inf")) as responder:
        started = time.perf_counter()
        responder.replace(records)
        _wait_for(lambda: not responder.warming(), 600)
        warm_up = time.perf_counter() - started
        srv = measure_qps(responder, names, "SRV", seconds)
        a_records = measure_qps(responder, hosts, "A", seconds)
        responder.update({name: None for name in names[: size // 2]})
        responder.update(dict(list(records.items())[: size // 2]))  # half changed: re-encoded
        changed = measure_qps(responder, names, "SRV", seconds)
    return {"warm_up_s": warm_up, "srv_qps": srv, "a_qps": a_records,
            "srv_qps_half_just_changed": changed}  # fmt: skip


class _Probe(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        name = str(self.server.server_address[1]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(name)))
        self.end_headers()
        self.wfile.write(name)

    def log_message(self, *_: object) -> None:
        pass


def bench_nginx(
    size: int, nginx: str, seconds: float, rate: float, resolver_extra: str = ""
) -> dict[str, Any]:
    probes = [ThreadingHTTPServer(("127.0.0.1", 0), _Probe) for _ in range(2)]
    for probe in probes:
        threading.Thread(target=probe.serve_forever, daemon=True).start()
    ports = [probe.server_address[1] for probe in probes]
    objects = cluster(size, ports[0])
    ingresses = [ingress(n) for n in range(size)]
    figures: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="dns-bench-") as scratch,
        DnsResponder(DOMAIN, ("127.0.0.1", 0)) as responder,
    ):
        http_port = _free_port()
        settings = Settings(
            endpoints="dns", nginx_version=(1, 27, 3),
            dns_listen=f"127.0.0.1:{responder.address[1]}", dns_unavailable_port=_free_port(),
            http_port=http_port, listen_address="127.0.0.1",
            runtime_dir=Path(scratch), cert_dir=Path(scratch) / "certs",
        )  # fmt: skip
        records = inventory_records(Inventory.build(objects), DOMAIN, _stand_in(settings))
        responder.replace(records)
        translation = normalize(Inventory.build([*ingresses, *objects]), settings)
        text = Renderer(settings).render(translation.config)
        if resolver_extra:
            text = text.replace(" valid=1s;", f" valid=1s {resolver_extra};", 1)
        config = Path(scratch) / "nginx.conf"
        config.write_text(text)
        figures["config_bytes"] = len(text)
        base = [nginx, "-p", f"{scratch}/", "-c", str(config), "-e", "stderr"]
        started = time.perf_counter()
        checked = subprocess.run([*base, "-t"], capture_output=True, text=True, check=False)
        figures["nginx_t_s"] = time.perf_counter() - started
        if checked.returncode != 0:
            figures["nginx_error"] = checked.stderr[-1000:]
            return figures
        started = time.perf_counter()
        log = Path(scratch) / "nginx.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [*base, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=sink
            )
        try:
            _wait_for(lambda: _get(http_port, "h0.bench.test") == str(ports[0]), 120)
            figures["nginx_start_to_first_answer_s"] = time.perf_counter() - started
            time.sleep(2)  # past the first lookups of every upstream
            before, at, cpu = responder.queries, time.perf_counter(), time.process_time()
            time.sleep(seconds)
            figures["nginx_steady_qps"] = (responder.queries - before) / (time.perf_counter() - at)
            figures["responder_cpu_share_steady"] = (time.process_time() - cpu) / (
                time.perf_counter() - at
            )
            at, cpu = time.perf_counter(), time.process_time()
            figures.update(_endpoint_changes(responder, objects, settings, ports, http_port))
            figures["process_cpu_share_changes"] = (time.process_time() - cpu) / (
                time.perf_counter() - at
            )
            figures["responder_queries_total"] = responder.queries
        finally:
            process.terminate()
            process.wait(timeout=60)
            errors = log.read_text(errors="replace").splitlines()
            figures["nginx_errors"] = [e for e in errors if "[error]" in e or "[crit]" in e][:5]
    for probe in probes:
        probe.shutdown()
    return figures


def _endpoint_changes(
    responder: DnsResponder,
    objects: list[Manifest],
    settings: Settings,
    ports: list[int],
    http_port: int,
) -> dict[str, Any]:
    """CHANGES times: service 0's endpoint moved to the other probe; the time until nginx
    serves from it (a change lands anywhere in nginx's re-resolution cycle: median and max)."""
    took: list[float] = []
    for n in range(CHANGES):
        port = ports[(n + 1) % 2]
        objects[1] = endpoint_slice(0, ("127.0.0.1",), port)
        records = inventory_records(Inventory.build(objects), DOMAIN, _stand_in(settings))
        started = time.perf_counter()
        responder.replace(records)
        try:
            _wait_for(lambda port=port: _get(http_port, "h0.bench.test") == str(port), 30)
        except TimeoutError:
            return {"endpoint_change_to_nginx_s": "not within 30 s"}
        took.append(time.perf_counter() - started)
        time.sleep(0.37 * (n + 1) % 1.0)  # land the next change elsewhere in the cycle
    took.sort()
    return {
        "endpoint_change_median_s": took[len(took) // 2],
        "endpoint_change_max_s": took[-1],
    }


class _NoSource:
    name = "bench"


def _stand_in(settings: Settings | None = None) -> Any:
    from ingress2nginx.features.dns_upstreams import stand_in

    return stand_in(settings or Settings())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, host: str) -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
    except OSError:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    return body.decode() if head.startswith(b"HTTP/1.1 200") else None


def _wait_for(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the bench waited too long")  # nginx_errors says why
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstreams", type=int, default=16000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--nginx", help="an nginx >= 1.27.3 to run against the responder")
    parser.add_argument(
        "--resolver-extra", default="", help="words added to the resolver line, e.g. ipv6=off"
    )
    parser.add_argument(
        "--answer-rate", type=float, default=DEFAULT_ANSWER_RATE, help="the responder's pacing"
    )
    args = parser.parse_args()
    figures, _, _ = bench_records(args.upstreams)
    figures.update(bench_responder(args.upstreams, args.seconds))
    if args.nginx:
        nginx_figures = bench_nginx(
            args.upstreams, args.nginx, args.seconds * 2, args.answer_rate, args.resolver_extra
        )
        figures.update(nginx_figures)
    print(f"dns mode, {args.upstreams:,} upstreams (2 endpoints each)")
    for name, value in figures.items():
        shown = f"{value:,.3f}" if isinstance(value, float) else str(value)
        print(f"  {name:32} {shown}")


if __name__ == "__main__":
    main()
