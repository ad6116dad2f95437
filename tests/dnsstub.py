"""A tiny DNS server on loopback that answers every A query with one fixed address.

With ``srv_port``, SRV queries too: one record, port ``srv_port``, target ``srv.stub.test``
(whose A record is the same address), as the cluster DNS answers for a named Service port.

nginx resolves Service DNS names (no Service or EndpointSlices in the input) and ExternalName
targets at request time through its ``resolver``. Tests point ``--resolver`` at this stub so
those names lead to echo backends on 127.0.0.1, and read ``queries`` to see which names nginx
asked for. AAAA and every other type get an empty NOERROR answer, so nginx uses the A record.

    with DnsStub() as dns:
        render(..., "--resolver", dns.endpoint)
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Self

from harness import LOOPBACK

TYPE_A = 1
TYPE_SRV = 33
SRV_TARGET = "srv.stub.test"
CLASS_IN = 1
_HEADER = struct.Struct("!HHHHHH")


def parse_question(message: bytes) -> tuple[str, int, bytes]:
    """(lowercased name, query type, raw question section) of a DNS query's first question."""
    offset = _HEADER.size
    labels: list[str] = []
    while (length := message[offset]) != 0:
        labels.append(message[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    end = offset + 1 + 4  # the zero label, then QTYPE and QCLASS
    qtype = struct.unpack("!H", message[offset + 1 : offset + 3])[0]
    return ".".join(labels).lower(), qtype, message[_HEADER.size : end]


def answer(query: bytes, address: str) -> bytes:
    """The response to ``query``: ``address`` for A, no records for anything else."""
    query_id, flags = struct.unpack("!HH", query[:4])
    _, qtype, question = parse_question(query)
    records = b""
    if qtype == TYPE_A:
        # name: pointer to the question's name at offset 12; TTL 5 s; 4-byte address
        records = struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, 5, 4)
        records += socket.inet_aton(address)
    response_flags = 0x8000 | (flags & 0x0100) | 0x0080  # QR, copy RD, RA; NOERROR
    header = _HEADER.pack(query_id, response_flags, 1, 1 if records else 0, 0, 0)
    return header + question + records


def srv_answer(query: bytes, port: int) -> bytes:
    """The response to an SRV ``query``: one record, ``port`` on `SRV_TARGET`."""
    from dnslib import QTYPE, RR, SRV, DNSRecord

    request = DNSRecord.parse(query)
    reply = request.reply()
    rdata = SRV(priority=0, weight=1, port=port, target=SRV_TARGET + ".")
    reply.add_answer(RR(request.q.qname, QTYPE.SRV, rdata=rdata, ttl=5))
    return bytes(reply.pack())


class DnsStub:
    """UDP DNS on ``127.0.0.1:<random port>`` answering ``address`` for every A query."""

    def __init__(self, address: str = LOOPBACK, srv_port: int | None = None) -> None:
        self.address = address
        self.srv_port = srv_port
        self.queries: list[tuple[str, int]] = []
        """(name, type) of every query received, in order."""
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((LOOPBACK, 0))
        self._socket.settimeout(0.1)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dns-stub", daemon=True)

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    @property
    def endpoint(self) -> str:
        """``127.0.0.1:PORT``, as ``--resolver`` takes it."""
        return f"{LOOPBACK}:{self.port}"

    def names(self, qtype: int = TYPE_A) -> set[str]:
        """The names asked for with query type ``qtype``."""
        return {name for name, asked in self.queries if asked == qtype}

    def start(self) -> Self:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                query, peer = self._socket.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            with contextlib.suppress(IndexError, struct.error, OSError):
                name, qtype, _ = parse_question(query)
                self.queries.append((name, qtype))
                if qtype == TYPE_SRV and self.srv_port is not None:
                    response = srv_answer(query, self.srv_port)
                else:
                    response = answer(query, self.address)
                self._socket.sendto(response, peer)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
