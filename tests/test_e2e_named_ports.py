"""A port given by name for a Service that is not in the input (``render``, nginx >= 1.27.3).

The cluster DNS publishes ``_<port name>._tcp.<service>.<namespace>.svc.<cluster domain>``
SRV records for named Service ports, so the output names that record and nginx resolves the
port at run time, through the ``--resolver`` it already uses (here the suite's DNS stub,
answering the SRV record with an echo backend's port). For an older nginx, such a backend
still answers 503, with the reason.
"""

from __future__ import annotations

import time

from dnsstub import TYPE_SRV, DnsStub
from e2e import ingress, path, render, rule, serving, started_backends, to
from harness import LOOPBACK, free_port
from test_mainline_nginx import find_mainline_nginx, version_of

from ingress2nginx.watch.dnsresponder import DnsResponder

OBJECTS = [ingress("web", rules=[rule("web.test", path("/", to("elsewhere", "http")))])]
SRV_NAME = "_http._tcp.elsewhere.default.svc.cluster.local"


def test_the_named_port_is_looked_up_in_the_cluster_dns_srv_record() -> None:
    nginx = find_mainline_nginx()
    with started_backends("elsewhere") as echo:
        backend = echo["elsewhere"]
        with DnsStub(backend.address, srv_port=backend.port) as dns:
            version = ("--nginx-version", version_of(nginx), "--resolver", dns.endpoint)
            with serving(OBJECTS, *version, binary=nginx) as site:
                config = site.rendered.config
                assert "server elsewhere.default.svc.cluster.local service=_http._tcp resolve;" in (
                    config
                )
                assert f"resolver {dns.endpoint} valid=30s;" in config
                assert site.rendered.messages == ""
                deadline = time.monotonic() + 10  # a failure bound: nginx's first lookup
                while site.get("/", "web.test").status == 502:
                    assert time.monotonic() < deadline, "nginx never resolved the SRV record"
                    time.sleep(0.05)
                assert site.served_by("/", "web.test") == "elsewhere"
            assert SRV_NAME in dns.names(TYPE_SRV)


def test_for_an_older_nginx_the_named_port_answers_503_with_the_reason() -> None:
    rendered = render(OBJECTS)
    assert "return 503" in rendered.config
    assert "a port given by name needs the Service in the input" in rendered.messages
    assert "nginx 1.27.3 or later" in rendered.messages


def test_in_dns_mode_the_responder_relays_the_named_port_to_the_cluster_dns() -> None:
    nginx = find_mainline_nginx()
    with started_backends("elsewhere") as echo:
        backend = echo["elsewhere"]
        with (
            DnsStub(backend.address, srv_port=backend.port) as dns,
            DnsResponder("cluster.local", (LOOPBACK, 0), relay_to=[(LOOPBACK, dns.port)]) as ours,
        ):
            options = ["--nginx-version", version_of(nginx), "--endpoints", "dns"]
            options += ["--dns-listen", f"{LOOPBACK}:{ours.address[1]}"]
            options += ["--dns-unavailable-port", str(free_port())]
            with serving(OBJECTS, *options, binary=nginx) as site:
                assert f"resolver {LOOPBACK}:{ours.address[1]} valid=1s;" in site.rendered.config
                deadline = time.monotonic() + 10  # a failure bound: nginx's first lookup
                while site.get("/", "web.test").status == 502:
                    assert time.monotonic() < deadline, "nginx never resolved the SRV record"
                    time.sleep(0.05)
                assert site.served_by("/", "web.test") == "elsewhere"
            assert SRV_NAME in dns.names(TYPE_SRV)  # asked of the cluster DNS, through ours
