"""dnsresponder.py over real sockets on loopback: SRV and A answers from the records it holds,
new records answered at once, long answers truncated over UDP and whole over TCP, other names
relayed to the cluster's resolver (here the test suite's DNS stub)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from dnslib import QTYPE, RCODE, DNSRecord
from dnsstub import DnsStub
from harness import LOOPBACK

from ingress2nginx.normalize.records import (
    Target,
    parse_listen,
    relay_addresses,
    srv_name,
    target_host,
)
from ingress2nginx.watch.dnsresponder import DnsResponder

DOMAIN = "cluster.local"
NAME = srv_name("shop", "web", 80, DOMAIN)


@pytest.fixture
def responder() -> Iterator[DnsResponder]:
    with DnsResponder(DOMAIN, (LOOPBACK, 0)) as running:
        yield running


def ask(responder: DnsResponder, name: str, qtype: str = "SRV", tcp: bool = False) -> DNSRecord:
    query = DNSRecord.question(name, qtype).pack()
    host, port = responder.address
    if tcp:
        with socket.create_connection((host, port), timeout=3) as conn:
            conn.sendall(len(query).to_bytes(2, "big") + query)
            length = int.from_bytes(_read(conn, 2), "big")
            return DNSRecord.parse(_read(conn, length))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        for attempt in range(3):  # UDP: a resolver asks again when an answer is lost
            sock.sendto(query, (host, port))
            try:
                return DNSRecord.parse(sock.recvfrom(65535)[0])
            except TimeoutError:
                if attempt == 2:
                    raise
    raise AssertionError("unreachable")


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        assert chunk, "connection closed early"
        data += chunk
    return data


def srv_answers(reply: DNSRecord) -> list[tuple[str, int]]:
    return sorted((str(rr.rdata.target).rstrip("."), rr.rdata.port) for rr in reply.rr)


def test_srv_answers_name_the_targets_and_a_answers_their_addresses(
    responder: DnsResponder,
) -> None:
    responder.replace({NAME: (Target("10.0.0.1", 8080), Target("fd00::2", 8081))})
    reply = ask(responder, NAME)
    assert reply.header.rcode == RCODE.NOERROR
    v4, v6 = target_host("10.0.0.1", DOMAIN, 8080), target_host("fd00::2", DOMAIN, 8081)
    assert v4 == "p8080.10-0-0-1.endpoint.cluster.local"
    assert srv_answers(reply) == sorted([(v4, 8080), (v6, 8081)])
    assert all(rr.ttl == responder.ttl for rr in reply.rr)
    assert [str(rr.rdata) for rr in ask(responder, v4, "A").rr] == ["10.0.0.1"]
    assert ask(responder, v4, "AAAA").rr == []
    assert [str(rr.rdata) for rr in ask(responder, v6, "AAAA").rr] == ["fd00::2"]


def test_a_change_is_answered_by_the_next_query_and_removed_names_are_refused(
    responder: DnsResponder,
) -> None:
    responder.replace({NAME: (Target("10.0.0.1", 8080),)})
    assert srv_answers(ask(responder, NAME)) == [(target_host("10.0.0.1", DOMAIN, 8080), 8080)]
    responder.update({NAME: (Target("10.0.0.2", 9090),)})
    assert srv_answers(ask(responder, NAME)) == [(target_host("10.0.0.2", DOMAIN, 9090), 9090)]
    responder.replace({})
    assert ask(responder, NAME).header.rcode == RCODE.REFUSED


def test_a_long_answer_is_truncated_over_udp_and_whole_over_tcp(responder: DnsResponder) -> None:
    targets = tuple(Target(f"10.0.{i // 250}.{i % 250 + 1}", 8080) for i in range(300))
    responder.replace({NAME: targets})
    over_udp = ask(responder, NAME)
    assert over_udp.header.tc == 1
    assert over_udp.rr == []
    over_tcp = ask(responder, NAME, tcp=True)
    assert over_tcp.header.tc == 0
    assert len(over_tcp.rr) == 300


def test_names_it_does_not_hold_are_relayed_to_the_cluster_resolver() -> None:
    with DnsStub("10.9.8.7") as stub:
        relay = relay_addresses([stub.endpoint])
        with DnsResponder(DOMAIN, (LOOPBACK, 0), relay_to=relay) as responder:
            reply = ask(responder, "api.example.com", "A")
            assert [str(rr.rdata) for rr in reply.rr] == ["10.9.8.7"]
            assert reply.header.id != 0
            assert ("api.example.com", QTYPE.A) in stub.queries


def test_garbage_is_dropped_and_the_responder_keeps_answering(responder: DnsResponder) -> None:
    responder.replace({NAME: (Target("10.0.0.1", 8080),)})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"\x00\x01garbage", responder.address)
    assert len(ask(responder, NAME).rr) == 1


def test_the_counts_say_what_became_of_each_query(responder: DnsResponder) -> None:
    many = tuple(Target(f"10.1.{i // 250}.{i % 250 + 1}", 80) for i in range(300))
    responder.replace({NAME: many})
    assert responder.held() == (1, 300)
    assert ask(responder, NAME).header.tc == 1
    assert len(ask(responder, NAME, tcp=True).rr) == 300
    assert ask(responder, "elsewhere.example.com", "A").header.rcode == RCODE.REFUSED
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"\x00\x01garbage", responder.address)
    responder.update({NAME: (Target("10.0.0.9", 9090),)})
    responder.update({NAME: (Target("10.0.0.9", 9090),)})  # the same: no change
    ask(responder, NAME)  # answered after the garbage: the garbage was read before it
    counts = responder.counts
    assert (counts["udp"], counts["tcp"]) == (4, 1)
    assert (counts["truncated"], counts["refused"], counts["unreadable"]) == (1, 1, 1)
    assert counts["record_changes"] == 2  # the first records, then the move
    assert responder.held() == (1, 1)


def test_listen_addresses_are_checked() -> None:
    assert parse_listen("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_listen("[::1]:53") == ("::1", 53)
    for bad in ("127.0.0.1", "localhost:53", "127.0.0.1:0", "127.0.0.1:x"):
        with pytest.raises(ValueError, match="--dns-listen"):
            parse_listen(bad)
