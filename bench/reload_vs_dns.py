"""Reload mode against dns mode under load: what endpoint changes cost (docs/performance.md).

    python bench/reload_vs_dns.py --nginx PATH                    # 1,000 Ingresses, 10 changes
    python bench/reload_vs_dns.py --nginx PATH --ingresses 2000 --changes 20

N Ingresses of one host each (dns_bench.py's), whose Services all lead to two echo probes on
loopback (in a process of their own). The same nginx (>= 1.27.3) runs each mode's rendered
config while a load process keeps CONNECTIONS keep-alive connections busy, each sending at
most RATE requests a second to the hosts in turn. CHANGES times, service 0's endpoint moves
to the other probe:

- static mode (the default ``--endpoints``): the config is rendered again, written, and nginx
  reloaded (SIGHUP), as ``watch`` does;
- dns mode: the responder's records are replaced; nginx is not signalled.

A change has landed when h0 answers from the new probe. Reported per mode: reloads, requests
sent and failed (anything but a 200: a connection closed under a request, an error status),
the time a change took to be served, nginx's RSS (master and workers) before the first change
and after the last (once the old workers are gone), and in dns mode the CPU time of this
process, which runs the responder, over the changes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dns_bench import (
    DOMAIN,
    _free_port,
    _get,
    _Probe,
    _stand_in,
    _wait_for,
    endpoint_slice,
    ingress,
    service,
)
from nginx_runs import _children, _rss_mb

from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.normalizing import normalize
from ingress2nginx.normalize.records import inventory_records
from ingress2nginx.render.rendering import Renderer
from ingress2nginx.watch.dnsresponder import DnsResponder

CONNECTIONS = 4
RATE = 100.0
"""Requests a second per connection at most: a steady load, not a saturating one."""


def probes(ports: Any, stop: Any) -> None:
    """Two echo servers answering their own port (a process of their own)."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Probe) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ports.put([server.server_address[1] for server in servers])
    stop.wait()


def load(port: int, hosts: list[str], stop: Any, out: Any) -> None:
    """CONNECTIONS keep-alive clients until `stop`; put (sent, failed, {failure: count})."""
    totals = [0, 0]
    failures: dict[str, int] = {}

    def one_client(offset: int) -> None:
        conn: socket.socket | None = None
        n = offset
        while not stop.is_set():
            started = time.perf_counter()
            host = hosts[n % len(hosts)]
            n += CONNECTIONS
            try:
                if conn is None:
                    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
                conn.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                status = _read_response(conn)
            except OSError as error:
                status = type(error).__name__
            totals[0] += 1
            if status != "200":
                totals[1] += 1
                kind = f"{status} on h0" if host == hosts[0] else status
                failures[kind] = failures.get(kind, 0) + 1
                if conn is not None:
                    conn.close()
                conn = None
            time.sleep(max(0.0, 1 / RATE - (time.perf_counter() - started)))

    threads = [threading.Thread(target=one_client, args=(i,)) for i in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put((*totals, failures))


def _read_response(conn: socket.socket) -> str:
    """The status of the response read whole from the connection ("closed" if it was not)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return "closed"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            return "closed"
        body += chunk
    return head.split(b" ", 2)[1].decode()


def cluster(size: int, ports: list[int], moved: bool) -> list[Manifest]:
    objects: list[Manifest] = []
    for n in range(size):
        port = ports[(n + moved) % 2] if n == 0 else ports[n % 2]
        objects += [ingress(n), service(n), endpoint_slice(n, ("127.0.0.1",), port)]
    return objects


def nginx_rss_mb(pid: int) -> float:
    return sum(_rss_mb(p) or 0.0 for p in {pid, *_children(pid)})


def run_mode(mode: str, size: int, changes: int, nginx: str, ports: list[int]) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix=f"reload-vs-dns-{mode}-") as scratch,
        DnsResponder(DOMAIN, ("127.0.0.1", 0)) as responder,
    ):
        http_port = _free_port()
        extra: dict[str, Any] = {}
        if mode == "dns":
            extra = {"endpoints": "dns", "dns_unavailable_port": _free_port(),
                     "dns_listen": f"127.0.0.1:{responder.address[1]}"}  # fmt: skip
        settings = Settings(
            nginx_version=(1, 27, 3), http_port=http_port, listen_address="127.0.0.1",
            runtime_dir=Path(scratch), cert_dir=Path(scratch) / "certs", **extra,
        )  # fmt: skip
        config = Path(scratch) / "nginx.conf"

        def apply(moved: bool) -> None:
            objects = cluster(size, ports, moved)
            if mode == "dns":
                responder.replace(inventory_records(Inventory.build(objects), DOMAIN,
                                                    _stand_in(settings)))  # fmt: skip
                return
            text = Renderer(settings).render(normalize(Inventory.build(objects), settings).config)
            config.write_text(text)

        if mode == "dns":
            apply(False)
            text = Renderer(settings).render(
                normalize(Inventory.build(cluster(size, ports, False)), settings).config
            )
            config.write_text(text)
        else:
            apply(False)
        base = [nginx, "-p", f"{scratch}/", "-c", str(config), "-e", "stderr"]
        log = Path(scratch) / "nginx.log"
        with log.open("wb") as sink:
            process = subprocess.Popen([*base, "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                                       stderr=sink)  # fmt: skip
        try:
            return _under_load(mode, process, apply, changes, http_port, ports, size)
        finally:
            process.terminate()
            process.wait(timeout=60)


def _under_load(
    mode: str, process: Any, apply: Any, changes: int, http_port: int, ports: list[int], size: int
) -> dict[str, Any]:
    _wait_for(lambda: _get(http_port, "h0.bench.test") == str(ports[0]), 300)
    workers = len(_children(process.pid))
    time.sleep(2)
    figures: dict[str, Any] = {
        "mode": mode,
        "reloads": 0,
        "rss_before_mb": nginx_rss_mb(process.pid),
    }
    stop, out = multiprocessing.Event(), multiprocessing.Queue()
    hosts = [f"h{n}.bench.test" for n in range(size)]
    loader = multiprocessing.Process(target=load, args=(http_port, hosts, stop, out))
    loader.start()
    time.sleep(1)
    took: list[float] = []
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    for n in range(changes):
        moved = n % 2 == 0
        started = time.perf_counter()
        apply(moved)
        if mode == "static":
            process.send_signal(signal.SIGHUP)
            figures["reloads"] += 1
        expected = str(ports[1] if moved else ports[0])
        _wait_for(lambda expected=expected: _get(http_port, "h0.bench.test") == expected, 60)
        took.append(time.perf_counter() - started)
        time.sleep(1.0)
    figures["process_cpu_s"] = time.process_time() - cpu_before
    figures["wall_s"] = time.perf_counter() - wall_before
    time.sleep(1)
    stop.set()
    figures["requests"], figures["failed"], figures["failures"] = out.get(timeout=60)
    loader.join()
    _wait_for(lambda: len(_children(process.pid)) <= workers, 120)
    figures["rss_after_mb"] = nginx_rss_mb(process.pid)
    took.sort()
    figures["change_median_s"], figures["change_max_s"] = took[len(took) // 2], took[-1]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nginx", required=True, help="nginx >= 1.27.3")
    parser.add_argument("--ingresses", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args()
    queue, stop = multiprocessing.Queue(), multiprocessing.Event()
    server = multiprocessing.Process(target=probes, args=(queue, stop))
    server.start()
    ports = queue.get(timeout=30)
    try:
        for mode in ("static", "dns"):
            figures = run_mode(mode, args.ingresses, args.changes, args.nginx, ports)
            print(f"{mode} mode, {args.ingresses:,} Ingresses, {args.changes} endpoint changes")
            for name, value in figures.items():
                shown = f"{value:,.3f}" if isinstance(value, float) else str(value)
                print(f"  {name:20} {shown}")
    finally:
        stop.set()
        server.join(timeout=10)


if __name__ == "__main__":
    main()
