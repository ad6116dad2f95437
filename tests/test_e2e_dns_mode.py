"""dns mode through a current nginx: upstreams resolved from the sidecar's DNS responder.

The config is rendered once with ``--endpoints dns``; then only the responder's records
change (fed from EndpointSlice objects, as the sidecar feeds them), and nginx follows with no
reload and no new config: the master and worker pids stay the same. Under steady keep-alive
load, traffic moves to a new endpoint address and port, leaves an endpoint that turns
not-ready, and no request fails; a Service scaled to zero answers 503 (the stand-in) and
serves again when an endpoint comes back. The balancing tests of
test_e2e_annotations_balancing.py run again here against a dns-mode site (affinity,
upstream-hash-by, load-balance, service-upstream), and canary and keepalive are checked here.
Needs ``INGRESS2NGINX_MAINLINE_NGINX`` (nginx >= 1.27.3), as test_mainline_nginx.py.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

import pytest
from dnslib import DNSRecord
from e2e import (
    Obj,
    Site,
    endpoint_slice,
    ingress,
    path,
    render,
    rule,
    service,
    serving,
    started_backends,
    to,
)
from harness import LOOPBACK, EchoBackend, free_port
from test_e2e_annotations_balancing import (  # noqa: F401 - the same tests, on a dns-mode site
    annotated,
    cluster_ip_service,
    ingresses,
    pool,
    test_a_younger_ingress_on_the_same_service_follows_the_affinity_without_cookies,
    test_different_cookies_spread_over_every_endpoint,
    test_every_request_with_the_cookie_reaches_the_endpoint_that_gave_it,
    test_hashing_by_a_header_sends_each_value_to_one_endpoint_every_time,
    test_least_conn_is_written_and_spreads_requests,
    test_requests_without_the_cookie_spread_over_every_endpoint,
    test_service_upstream_proxies_to_the_cluster_ip_not_the_endpoints,
    test_without_service_upstream_the_same_service_uses_its_endpoints,
)
from test_mainline_nginx import find_mainline_nginx, version_of
from tls_secrets import tls_secret

from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.normalize.records import Unavailable, inventory_records, target_host
from ingress2nginx.watch.dnsresponder import DnsResponder

DOMAIN = "cluster.local"
SETTLE = 10.0
"""Upper bound for nginx to follow a record change (TTL 1 s + re-resolution); a failure
bound, not a timed assertion."""


@pytest.fixture(scope="module")
def mainline_nginx() -> str:
    return find_mainline_nginx()


@pytest.fixture(scope="module")
def mainline_version(mainline_nginx: str) -> str:
    return version_of(mainline_nginx)


class DnsSite:
    """A dns-mode site: nginx, the responder it resolves from, and the stand-in's port."""

    def __init__(self, responder: DnsResponder, stand_in: int) -> None:
        self.responder = responder
        self.stand_in = stand_in
        self.site: Site

    def feed(self, objects: Iterable[Obj]) -> None:
        """Answer from these Services and EndpointSlices from now on (as the sidecar does)."""
        manifests = [
            Manifest(kind, found["metadata"].get("namespace", "default"), name, found, "test")
            for found in objects
            if (kind := found["kind"]) in ("Service", "EndpointSlice", "Endpoints")
            and (name := found["metadata"]["name"])
        ]
        stand_in = Unavailable(LOOPBACK, self.stand_in)
        records = inventory_records(Inventory.build(manifests), "cluster.local", stand_in)
        self.responder.replace(records)

    def resolved(self) -> None:
        """Wait (bounded) until nginx has asked for every SRV name and target host: its
        workers accept requests before their first lookups are answered (502 until then)."""
        records = self.responder.records()
        wanted = set(records)
        wanted |= {target_host(t.address, DOMAIN, t.port) for ts in records.values() for t in ts}
        deadline = time.monotonic() + SETTLE
        while not wanted <= self.responder.asked:
            assert time.monotonic() < deadline, f"never asked: {wanted - self.responder.asked}"
            time.sleep(0.05)
        time.sleep(0.2)  # the answer just sent reaches the upstream zone

    def wait(self, condition: Callable[[], object]) -> None:
        """Poll (bounded) until `condition` holds: nginx re-resolves within a few seconds."""
        deadline = time.monotonic() + SETTLE
        while not condition():
            assert time.monotonic() < deadline, "nginx did not follow the records"
            time.sleep(0.05)

    def pids(self) -> tuple[int, set[int]]:
        return self.site.nginx.pid, self.site.nginx.worker_pids()


@contextlib.contextmanager
def dns_site(objects: list[Obj], binary: str, version: str, *args: str) -> Iterator[DnsSite]:
    """Records fed first (nginx resolves as soon as its workers start), then nginx."""
    stand_in = free_port()
    with DnsResponder("cluster.local", (LOOPBACK, 0)) as responder:
        found = DnsSite(responder, stand_in)
        found.feed(objects)
        listen = f"{LOOPBACK}:{responder.address[1]}"
        options = ["--endpoints", "dns", "--dns-listen", listen, "--nginx-version", version]
        options += ["--dns-unavailable-port", str(stand_in), *args]
        with serving(objects, *options, binary=binary) as site:
            found.site = site
            found.resolved()
            yield found


class Load:
    """Keep-alive clients sending requests until stopped; every answer counted by backend."""

    def __init__(self, port: int, host: str, clients: int = 2) -> None:
        self.port = port
        self.host = host
        self.answers: list[str] = []
        """``backend`` name for each 200, ``status N`` or the error for anything else."""
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self) -> None:
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=5)
        while not self._stop.is_set():
            try:
                connection.request("GET", "/", headers={"Host": self.host})
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as error:
                self.answers.append(f"error {type(error).__name__}")
                connection.close()
                connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=5)
                continue
            backend = response.getheader("X-Echo-Backend")
            ok = response.status == 200 and backend
            self.answers.append(backend if ok else f"status {response.status}")

    def until(self, done: Callable[[list[str]], bool], what: str) -> None:
        """Wait (bounded) until the answers since now satisfy `done`."""
        start = len(self.answers)
        deadline = time.monotonic() + SETTLE
        while not done(self.answers[start:]):
            assert time.monotonic() < deadline, f"{what}: {Counter(self.answers[start:])}"
            time.sleep(0.05)

    def failures(self) -> Counter[str]:
        return Counter(a for a in self.answers if a.startswith(("status", "error")))


def only(name: str, count: int = 40) -> Callable[[list[str]], bool]:
    """The last `count` answers all came from backend `name`."""
    return lambda answers: len(answers) >= count and set(answers[-count:]) == {name}


@pytest.fixture
def web_site(
    mainline_nginx: str, mainline_version: str
) -> Iterator[tuple[DnsSite, dict[str, EchoBackend]]]:
    with started_backends("one", "two") as echo:
        objects = [
            ingress("web", rules=[rule("web.test", path("/", to("web")))]),
            service("web"),
            endpoint_slice("web", echo["one"], slice_name="web-1"),
        ]
        with dns_site(objects, mainline_nginx, mainline_version) as site:
            yield site, echo


def test_the_config_names_the_service_port_and_the_responder_answers_it(
    web_site: tuple[DnsSite, dict[str, EchoBackend]],
) -> None:
    site, _ = web_site
    config = site.site.rendered.config
    assert "server web.default.svc.cluster.local service=_80._tcp resolve;" in config
    assert f"resolver {LOOPBACK}:{site.responder.address[1]} valid=1s;" in config
    assert site.site.served_by("/", "web.test") == "one"


def test_a_new_endpoint_address_and_port_takes_the_traffic_with_no_reload_and_no_failure(
    web_site: tuple[DnsSite, dict[str, EchoBackend]],
) -> None:
    site, echo = web_site
    before = site.pids()
    objects = [service("web"), endpoint_slice("web", echo["two"], slice_name="web-1")]
    with Load(site.site.port, "web.test") as load:
        load.until(only("one"), "traffic reaches the first endpoint")
        site.feed(objects)
        load.until(only("two"), "traffic moves to the new endpoint")
    assert load.failures() == Counter()
    assert site.pids() == before


def test_an_endpoint_turning_not_ready_is_drained_with_no_failure(
    web_site: tuple[DnsSite, dict[str, EchoBackend]],
) -> None:
    site, echo = web_site
    before = site.pids()
    # the echo backends listen on different ports: one slice each, as EndpointSlices group them
    second = endpoint_slice("web", echo["two"], slice_name="web-2")
    site.feed([service("web"), endpoint_slice("web", echo["one"], slice_name="web-1"), second])
    with Load(site.site.port, "web.test") as load:
        load.until(lambda a: {"one", "two"} <= set(a[-40:]), "traffic spreads over both")
        second["endpoints"][0]["conditions"] = {"ready": False, "serving": False}
        site.feed([service("web"), endpoint_slice("web", echo["one"], slice_name="web-1"), second])
        load.until(only("one"), "the not-ready endpoint is drained")
    assert load.failures() == Counter()
    assert site.pids() == before


def test_a_service_scaled_to_zero_answers_503_and_serves_again(
    web_site: tuple[DnsSite, dict[str, EchoBackend]],
) -> None:
    site, echo = web_site
    before = site.pids()
    empty = endpoint_slice("web", echo["one"], slice_name="web-1")
    empty["endpoints"] = []
    with Load(site.site.port, "web.test", clients=1) as load:
        site.feed([service("web"), empty])
        load.until(only("status 503", 20), "the Service with no endpoint answers 503")
        site.feed([service("web"), endpoint_slice("web", echo["two"], slice_name="web-1")])
        load.until(only("two"), "the Service serves again")
    assert not {a for a in load.answers if a.startswith("error") or a == "status 502"}
    assert site.pids() == before


@pytest.fixture(scope="module")
def site(mainline_nginx: str, mainline_version: str) -> Iterator[Site]:
    """test_e2e_annotations_balancing.py's site, in dns mode (its tests run on it here)."""
    names = ("s1", "s2", "h1", "h2", "h3", "l1", "l2", "cluster-ip", "endpoint")
    with started_backends(*names) as echo:
        objects = [
            *ingresses(cluster_ip_port=echo["cluster-ip"].port),
            tls_secret("default", "secure-tls", ["secure.test"]),
            *pool("sticky-pool", echo["s1"], echo["s2"]),
            *pool("hash-pool", echo["h1"], echo["h2"], echo["h3"]),
            *pool("least-pool", echo["l1"], echo["l2"]),
            *cluster_ip_service("direct", echo["cluster-ip"], echo["endpoint"]),
        ]
        https = ("--https-port", str(free_port()))
        with dns_site(objects, mainline_nginx, mainline_version, *https) as found:
            config = found.site.rendered.config
            assert (
                "server sticky-pool.default.svc.cluster.local service=_80._tcp resolve;" in config
            )

            yield found.site


def test_canary_by_header_and_weight_in_dns_mode(
    mainline_nginx: str, mainline_version: str
) -> None:
    with started_backends("main", "canary") as echo:
        canary = ingress(
            "web-canary",
            rules=[rule("web.test", path("/", to("web-next")))],
            annotations=annotated(canary="true", canary_by_header="X-Canary", canary_weight="0"),
        )
        objects = [
            ingress("web", rules=[rule("web.test", path("/", to("web")))]),
            canary,
            *pool("web", echo["main"]),
            *pool("web-next", echo["canary"]),
        ]
        with dns_site(objects, mainline_nginx, mainline_version) as found:
            site = found.site
            assert site.served_by("/", "web.test") == "main"
            response = site.get("/", "web.test", headers={"X-Canary": "always"})
            assert response.backend == "canary"


class _PeerRecorder(http.server.BaseHTTPRequestHandler):
    """Answers 200 and notes the client port of each request (one port: one connection)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.peers.append(self.client_address[1])  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("X-Echo-Backend", "recorder")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def test_upstream_keepalive_reuses_connections_to_a_resolved_endpoint(
    mainline_nginx: str, mainline_version: str
) -> None:
    backend = http.server.ThreadingHTTPServer((LOOPBACK, 0), _PeerRecorder)
    backend.peers = []  # type: ignore[attr-defined]
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    try:
        port = backend.server_address[1]
        objects = [
            ingress("web", rules=[rule("web.test", path("/", to("web")))]),
            service("web"),
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {"name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
                "endpoints": [{"addresses": [LOOPBACK]}],
            },
        ]
        with dns_site(objects, mainline_nginx, mainline_version) as found:
            for _ in range(8):
                assert found.site.served_by("/", "web.test") == "recorder"
        peers = backend.peers  # type: ignore[attr-defined]
        assert len(peers) == 8
        assert len(set(peers)) < 8  # connections are kept and reused
    finally:
        backend.shutdown()
        backend.server_close()


def test_a_service_with_more_endpoints_than_a_udp_answer_holds_is_resolved_over_tcp(
    mainline_nginx: str, mainline_version: str
) -> None:
    names = [f"pod-{n}" for n in range(30)]
    with started_backends(*names) as echo:
        objects = [
            ingress("big", rules=[rule("big.test", path("/", to("big")))]),
            *pool("big", *echo.values()),
        ]
        with dns_site(objects, mainline_nginx, mainline_version) as found:
            reached = {found.site.served_by("/", "big.test") for _ in range(90)}
            assert reached == set(names)  # round robin over all 30: the whole answer arrived
            answer = found.responder.answer(
                _srv_query("_80._tcp.big.default.svc.cluster.local"), 512
            )
            assert answer is not None and answer[2] & 0x02  # over UDP it is truncated (TC)


def _srv_query(name: str) -> bytes:
    return bytes(DNSRecord.question(name, "SRV").pack())


def test_a_reload_for_an_ingress_change_keeps_resolved_upstreams_serving(
    web_site: tuple[DnsSite, dict[str, EchoBackend]], mainline_version: str
) -> None:
    site, echo = web_site
    more = [
        ingress("web", rules=[rule("web.test", path("/", to("web")))]),
        ingress("admin", rules=[rule("admin.test", path("/", to("web")))]),
        service("web"),
        endpoint_slice("web", echo["one"], slice_name="web-1"),
    ]
    stand_in = str(site.stand_in)
    options = ["--endpoints", "dns", "--dns-listen", f"{LOOPBACK}:{site.responder.address[1]}"]
    options += ["--dns-unavailable-port", stand_in, "--listen-address", LOOPBACK]
    options += ["--http-port", str(site.site.port), "--runtime-dir", str(site.site.nginx.prefix)]
    rendered = render(more, *options, "--nginx-version", mainline_version)
    assert rendered.code == 0, rendered.messages
    with Load(site.site.port, "web.test") as load:
        load.until(only("one"), "traffic before the reload")
        site.site.nginx.reload(rendered.config)
        load.until(only("one"), "traffic after the reload")
    assert site.site.served_by("/", "admin.test") == "one"
    statuses = Counter(a for a in load.answers if a.startswith("status"))
    assert statuses == Counter()  # no 502 while the new workers resolve: none at all
