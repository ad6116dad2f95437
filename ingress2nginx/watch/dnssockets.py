"""The DNS responder's sockets: a UDP and a TCP socket bound to one address and port, UDP
answers queued for paced sending, and TCP's length-prefixed messages (RFC 1035 4.2.2).

dnsresponder.py decides the answers; this module only moves bytes.
"""

from __future__ import annotations

import collections
import contextlib
import socket
from collections.abc import Callable
from typing import Any, Protocol

RECEIVE_BUFFER = 8 * 1024 * 1024
"""Bytes of queries the kernel may hold for the responder (capped by net.core.rmem_max): a
burst larger than the buffer is dropped, and nginx asks again after resolver_timeout."""
BIND_ATTEMPTS = 20
"""Ports tried when the system gives a UDP port already taken for TCP."""

Reply = Callable[[bytes], None]


class Handler(Protocol):
    """What a TCP connection hands its queries to (the responder)."""

    counts: collections.Counter[str]

    def handle(self, query: bytes, limit: int, reply: Reply) -> None: ...

    def forget(self, conn: socket.socket) -> None: ...


def bound_pair(listen: tuple[str, int]) -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket on one address and port; with port 0, a port free for both
    (the one the system gives the UDP socket may be taken for TCP: then another)."""
    family = socket.AF_INET6 if ":" in listen[0] else socket.AF_INET
    for attempt in range(BIND_ATTEMPTS):
        udp = socket.socket(family, socket.SOCK_DGRAM)
        tcp = socket.socket(family, socket.SOCK_STREAM)
        try:
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with contextlib.suppress(OSError):  # nginx asks in bursts (every upstream at start)
                udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            udp.bind(listen)
            tcp.bind((listen[0], udp.getsockname()[1]))
            tcp.listen(64)
        except OSError:
            udp.close()
            tcp.close()
            if listen[1] != 0 or attempt == BIND_ATTEMPTS - 1:
                raise
            continue
        return udp, tcp
    raise AssertionError("unreachable")


class UdpReply:
    """Queues an answer for the UDP client that asked (sent paced: `_send_paced`)."""

    __slots__ = ("_client", "_queue")

    def __init__(self, queue: collections.deque[tuple[bytes, Any]], client: Any) -> None:
        self._queue = queue
        self._client = client

    def __call__(self, answer: bytes) -> None:
        self._queue.append((answer, self._client))


class TcpReader:
    """Length-prefixed queries from one TCP connection (RFC 1035 4.2.2)."""

    def __init__(self, responder: Handler) -> None:
        self._responder = responder
        self._buffer = b""

    def __call__(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(65537)
        except (TimeoutError, OSError):
            data = b""
        if not data:
            self._responder.forget(conn)
            return
        self._buffer += data
        while len(self._buffer) >= 2:
            length = int.from_bytes(self._buffer[:2], "big")
            if len(self._buffer) < 2 + length:
                return
            query, self._buffer = self._buffer[2 : 2 + length], self._buffer[2 + length :]
            self._responder.counts["tcp"] += 1
            self._responder.handle(query, 65535, lambda answer: send_framed(conn, answer))


def send_framed(conn: socket.socket, answer: bytes) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(len(answer).to_bytes(2, "big") + answer)
