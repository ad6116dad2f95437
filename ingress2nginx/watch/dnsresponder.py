"""The sidecar's DNS responder: nginx re-resolves dns-mode upstreams here, with no reload.

In dns mode (docs/watch.md) each Service-port upstream is ``server <service host>
service=_<port>._tcp resolve`` and nginx's ``resolver`` is this responder, on
``--dns-listen`` (loopback by default; the pod's containers share it). It answers, over UDP
and TCP:

- SRV for the Service ports it holds (records.py: ready endpoints at their target ports),
  priority 0, weight 1, with the TTL nginx is told to re-resolve after;
- A and AAAA for the target hosts those records name (the address is spelled in the name);
- anything else: relayed to the cluster's resolvers (``--resolver``, else resolv.conf), so
  names nginx resolves at request time (ExternalName, mirror targets, named ports of absent
  Services) still reach the cluster DNS; with no resolver to relay to, REFUSED.

A UDP answer longer than 512 bytes is sent truncated, and nginx asks again over TCP.
The wire format is dnslib's. Answers are encoded once per question and kept until the
records of that name change, so a repeated query costs a dictionary lookup; a new or changed
name is encoded ahead of nginx's question, as nginx asks it, on a warming thread. The
responder runs in a thread of its own and never waits for the translator, which only swaps
records in (`update`, `replace`).
"""

from __future__ import annotations

import collections
import contextlib
import ipaddress
import itertools
import queue
import selectors
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, Self

from dnslib import AAAA, QTYPE, RCODE, RR, SRV, A, DNSRecord

from ingress2nginx.normalize.records import DEFAULT_TTL, RecordSet, Target, address_of, target_host
from ingress2nginx.watch.dnssockets import Reply, TcpReader, UdpReply, bound_pair

DEFAULT_LISTEN = ("127.0.0.1", 5353)
"""``--dns-listen`` by default: loopback, shared by the containers of the pod."""
UDP_LIMIT = 512
"""Longest UDP answer without EDNS (nginx sends none); longer ones are truncated."""
DEFAULT_ANSWER_RATE = 40000.0
"""UDP answers a second at most. bench/dns_bench.py at 16,000 upstreams: unpaced, nginx's
resolver socket dropped thousands of answers in each burst; nginx's steady load there is
about 20,000 questions a second, so this rate only shapes the bursts."""
PACE_BURST = 200
READ_BURST = 1024
"""Queries read in a row before answers are sent: the kernel buffer empties fast, the
answers wait in memory."""
PACE_TICK = 0.002
RELAY_TIMEOUT = 5.0
"""A relayed query not answered within this many seconds is forgotten."""


OUTCOMES = {
    "udp": "queries received over UDP",
    "tcp": "queries received over TCP",
    "relayed": "queries for names not held here, relayed to the cluster's resolvers",
    "relay_timeouts": f"relayed queries not answered within {RELAY_TIMEOUT:g} s",
    "refused": "queries for names not held here, with no resolver to relay to",
    "truncated": "UDP answers sent truncated (nginx asks again over TCP)",
    "unreadable": "queries that were not DNS messages, or held no question",
    "record_changes": "SRV names whose targets changed: endpoint changes nginx picks up"
    " without a reload",
}
"""The keys of `DnsResponder.counts`, with their meaning."""


class DnsResponder:
    """SRV/A/AAAA answers from the records it holds, on one UDP and one TCP socket."""

    def __init__(
        self,
        domain: str,
        listen: tuple[str, int] = DEFAULT_LISTEN,
        ttl: int = DEFAULT_TTL,
        relay_to: Sequence[tuple[str, int]] = (),
        answer_rate: float = DEFAULT_ANSWER_RATE,
    ) -> None:
        self.domain = domain.lower().rstrip(".")
        self.ttl = ttl
        self.queries = 0
        """Queries answered or relayed so far."""
        self.counts: collections.Counter[str] = collections.Counter()
        """What became of queries and records so far, by `OUTCOMES` (the /metrics page)."""
        self.asked: set[str] = set()
        """Every name asked for, each once (a repeated question is answered from the cache
        without being noted again)."""
        self._records: RecordSet = {}
        self._lock = threading.Lock()
        self._answers: dict[bytes, tuple[bytes, str]] = {}
        """Query without its ID -> (answer without its ID, the name asked)."""
        self._warm: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        """(name, type) questions to answer ahead of nginx, as nginx will ask them."""
        self._warmed_hosts: set[str] = set()
        self._keys_of: dict[str, list[bytes]] = {}
        """SRV name -> the `_answers` keys to forget when its records change."""
        self._relay_to = tuple(relay_to)
        self.answer_rate = answer_rate
        """UDP answers sent a second at most (`_send_paced`)."""
        self._outgoing: collections.deque[tuple[bytes, Any]] = collections.deque()
        self._tokens = float(PACE_BURST)
        self._paced_at = time.monotonic()
        self._pending: dict[int, tuple[int, Reply, float]] = {}
        self._ids = itertools.count(1)
        self._udp, self._tcp = bound_pair(listen)
        self._relay = socket.socket(
            socket.AF_INET6 if self._v6_relay() else socket.AF_INET, socket.SOCK_DGRAM
        )
        self._selector = selectors.DefaultSelector()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dns-responder", daemon=True)
        self._warmer = threading.Thread(target=self._warm_up, name="dns-warmer", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        """(address, port) it listens on (the port chosen by the system when 0 was asked)."""
        host, port = self._udp.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> Self:
        for sock in (self._udp, self._tcp, self._relay):
            sock.setblocking(False)
        self._selector.register(self._udp, selectors.EVENT_READ, self._read_udp)
        self._selector.register(self._tcp, selectors.EVENT_READ, self._accept)
        self._selector.register(self._relay, selectors.EVENT_READ, self._read_relay)
        self._thread.start()
        self._warmer.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for thread in (self._thread, self._warmer):
            if thread.is_alive():
                thread.join(timeout=5)
        for key in list(self._selector.get_map().values()):
            with contextlib.suppress(OSError):
                key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def records(self) -> RecordSet:
        """A copy of the records it answers from."""
        with self._lock:
            return dict(self._records)

    def held(self) -> tuple[int, int]:
        """(SRV names, endpoint targets) it answers for now."""
        with self._lock:
            return len(self._records), sum(map(len, self._records.values()))

    def replace(self, records: RecordSet) -> None:
        """Answer from `records` from now on (names left out are no longer answered)."""
        with self._lock:
            changes: dict[str, tuple[Target, ...] | None] = dict.fromkeys(self._records)
            changes.update(records)
        self.update(changes)

    def update(self, changes: Mapping[str, tuple[Target, ...] | None]) -> None:
        """Set the targets of some SRV names (None: no longer answered), forgetting their
        encoded answers; other names keep theirs."""
        with self._lock:
            for name, targets in changes.items():
                key = name.lower().rstrip(".")
                if self._records.get(key) == targets:
                    continue
                self.counts["record_changes"] += 1
                if targets is None:
                    self._records.pop(key, None)
                else:
                    self._records[key] = targets
                for stale in self._keys_of.pop(key, ()):
                    self._answers.pop(stale, None)
                if targets:
                    self._warm_names(key, targets)

    def answer(self, query: bytes, limit: int = 65535) -> bytes | None:
        """The answer to a wire-format query, or None when it is relayed (or unreadable)."""
        key = bytes(query[2:])
        found = self._answers.get(key)
        if found is not None and len(found[0]) + 2 <= limit:
            self.asked.add(found[1])
            return bytes(query[:2]) + found[0]
        try:
            request = DNSRecord.parse(query)
        except Exception:  # dnslib raises several kinds on garbage
            self.counts["unreadable"] += 1
            return None
        if not request.questions:
            self.counts["unreadable"] += 1
            return None
        name = str(request.q.qname).rstrip(".").lower()
        self.asked.add(name)
        with self._lock:
            reply = self._reply(request, name)
            if reply is None:
                return None
            packed = reply.pack()
            if name in self._records or address_of(name, self.domain) is not None:
                self._answers[key] = (bytes(packed[2:]), name)
                self._keys_of.setdefault(name, []).append(key)
        if len(packed) > limit:
            self.counts["truncated"] += 1
            truncated = request.reply()
            truncated.header.tc = 1
            packed = truncated.pack()
        return bytes(packed)

    def _warm_names(self, name: str, targets: tuple[Target, ...]) -> None:
        """Queue the questions nginx will ask next about `name` (under the lock)."""
        self._warm.put((name, "SRV"))
        for target in targets:
            host = target_host(target.address, self.domain, target.port)
            if host not in self._warmed_hosts:
                self._warmed_hosts.add(host)
                self._warm.put((host, "A"))
                self._warm.put((host, "AAAA"))

    def warming(self) -> bool:
        """Whether answers are still being encoded ahead of nginx."""
        return not self._warm.empty()

    def _warm_up(self) -> None:
        """Encode answers before nginx asks, on a thread of its own: an encoding costs about
        a hundred times a cached answer, and nginx asks for every upstream at once."""
        while not self._stopping.is_set():
            try:
                name, qtype = self._warm.get(timeout=0.2)
            except queue.Empty:
                continue
            self.answer(bytes(DNSRecord.question(name, qtype).pack()))

    def _reply(self, request: DNSRecord, name: str) -> DNSRecord | None:
        """The reply for a name this responder answers; None to relay it."""
        qtype = request.q.qtype
        reply = request.reply()
        targets = self._records.get(name)
        if targets is not None:
            if qtype in (QTYPE.SRV, QTYPE.ANY):
                for target in targets:
                    host = target_host(target.address, self.domain, target.port)
                    srv = SRV(priority=0, weight=1, port=target.port, target=host + ".")
                    reply.add_answer(RR(name + ".", QTYPE.SRV, rdata=srv, ttl=self.ttl))
            return reply
        address = address_of(name, self.domain)
        if address is not None:
            if address.version == 4 and qtype in (QTYPE.A, QTYPE.ANY):
                reply.add_answer(RR(name + ".", QTYPE.A, rdata=A(str(address)), ttl=self.ttl))
            if address.version == 6 and qtype in (QTYPE.AAAA, QTYPE.ANY):
                rdata = AAAA(str(address))
                reply.add_answer(RR(name + ".", QTYPE.AAAA, rdata=rdata, ttl=self.ttl))
            return reply
        if self._relay_to:
            return None
        self.counts["refused"] += 1
        reply.header.rcode = RCODE.REFUSED
        return reply

    def _serve(self) -> None:
        while not self._stopping.is_set():
            timeout = PACE_TICK if self._outgoing else 0.2
            for key, _ in self._selector.select(timeout=timeout):
                try:
                    key.data(key.fileobj)
                except OSError:
                    continue
            self._send_paced()
            self._expire()

    def _send_paced(self) -> None:
        """Send queued UDP answers, at most `answer_rate` a second in bursts of PACE_BURST:
        nginx's resolver reads its answers from a socket with the system's default buffer,
        and answering all its questions at once overflows it (lost answers wait for
        resolver_timeout)."""
        now = time.monotonic()
        self._tokens = min(PACE_BURST, self._tokens + (now - self._paced_at) * self.answer_rate)
        self._paced_at = now
        while self._outgoing and self._tokens >= 1:
            answer, client = self._outgoing.popleft()
            self._tokens -= 1
            with contextlib.suppress(OSError):
                self._udp.sendto(answer, client)

    def _read_udp(self, sock: socket.socket) -> None:
        for _ in range(READ_BURST):
            try:
                query, client = sock.recvfrom(65535)
            except BlockingIOError:
                return
            self.counts["udp"] += 1
            self.handle(query, UDP_LIMIT, UdpReply(self._outgoing, client))

    def _accept(self, listener: socket.socket) -> None:
        conn, _ = listener.accept()
        conn.settimeout(2.0)
        self._selector.register(conn, selectors.EVENT_READ, TcpReader(self))

    def handle(self, query: bytes, limit: int, reply: Reply) -> None:
        """Answer one query (from records, cached) or relay it; `reply` sends the answer."""
        self.queries += 1
        answered = self.answer(query, limit)
        if answered is not None:
            reply(answered)
        elif len(query) >= 12 and self._relay_to:
            self.counts["relayed"] += 1
            self._forward(query, reply)

    def _forward(self, query: bytes, reply: Reply) -> None:
        relay_id = next(self._ids) & 0xFFFF
        original = int.from_bytes(query[:2], "big")
        self._pending[relay_id] = (original, reply, time.monotonic() + RELAY_TIMEOUT)
        message = relay_id.to_bytes(2, "big") + query[2:]
        with contextlib.suppress(OSError):
            self._relay.sendto(message, self._relay_to[0])

    def _read_relay(self, sock: socket.socket) -> None:
        for _ in range(64):
            try:
                data, _ = sock.recvfrom(65535)
            except BlockingIOError:
                return
            pending = self._pending.pop(int.from_bytes(data[:2], "big"), None)
            if pending is not None:
                original, reply, _ = pending
                with contextlib.suppress(OSError):
                    reply(original.to_bytes(2, "big") + data[2:])

    def _expire(self) -> None:
        now = time.monotonic()
        for relay_id in [key for key, (_, _, until) in self._pending.items() if until < now]:
            self.counts["relay_timeouts"] += 1
            del self._pending[relay_id]

    def _v6_relay(self) -> bool:
        return bool(self._relay_to) and ipaddress.ip_address(self._relay_to[0][0]).version == 6

    def forget(self, conn: socket.socket) -> None:
        """Close a TCP connection (the client closed it, or sent garbage)."""
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn)
        conn.close()
