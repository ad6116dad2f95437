"""End-to-end test harness: real nginx on loopback, echo backends, raw HTTP(S) clients.

Behaviour of a rendered nginx.conf is proven by running it, not by reading it. This module gives
tests four things and nothing more:

- ``EchoBackend``: an HTTP/1.1 server that answers every request with a JSON description of it
  (``backend``, ``method``, ``path`` as received, ``version``, ``headers``, ``body``) and the
  header ``X-Echo-Backend``; it also completes WebSocket upgrades and echoes text frames as
  ``"<name>: <payload>"``. A request header ``X-Echo-Status: NNN`` makes it answer with that
  status (to test error handling), ``X-Echo-Location: URL`` with that Location header; each
  ``X-Echo-Set-Header: Name: value`` adds that response header, and ``X-Echo-Delay: SECONDS``
  (at most 5) delays the answer.
- ``Nginx``: the real binary running a given config text under a private prefix directory.
- ``request`` / ``websocket_roundtrip``: clients that send any Host header and any raw request
  target, verbatim, to a loopback port, optionally over TLS with a chosen SNI name.
- ``free_port`` / ``free_ports``: listen ports for the configs under test.

Everything is bounded in time: every wait has a deadline and every socket a timeout.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import socketserver
import ssl
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import pytest

LOOPBACK = "127.0.0.1"
REQUIRE_NGINX_ENV = "INGRESS2NGINX_REQUIRE_NGINX"
NGINX_BINARY_ENV = "INGRESS2NGINX_NGINX"
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
DEFAULT_TIMEOUT = 5.0
_POLL_INTERVAL = 0.02


# --------------------------------------------------------------------------- free ports

_handed_out_ports: set[int] = set()
_ports_lock = threading.Lock()


def _ephemeral_port_floor() -> int:
    """The lowest port the kernel hands out for bind-to-0 and outgoing connections."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _can_bind(address: str, port: int) -> bool:
    """Whether ``address:port`` is free right now (checked with SO_REUSEADDR, as nginx binds)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


def free_port(address: str = LOOPBACK) -> int:
    """A TCP port on ``address`` that is free now and never handed out before in this process.

    Ports are drawn at random from 10000 up to the kernel's ephemeral range, so the ports that
    echo backends (bind to 0) and outgoing connections receive can never take one in the window
    between this call and nginx binding it. The remaining race is with other processes binding
    the same port in that window (e.g. another pytest-xdist worker drawing the same number);
    the random draw makes it rare, and nginx then fails loudly with "Address already in use".
    """
    ceiling = _ephemeral_port_floor()
    if ceiling <= 10100:
        return _kernel_port(address)
    with _ports_lock:
        for _ in range(200):
            port = random.randrange(10000, ceiling)
            if port not in _handed_out_ports and _can_bind(address, port):
                _handed_out_ports.add(port)
                return port
    raise RuntimeError(f"no free port found on {address}")


def _kernel_port(address: str) -> int:
    """Fallback: let the kernel choose (bind to 0, then release)."""
    with _ports_lock:
        while True:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.bind((address, 0))
                port = int(probe.getsockname()[1])
            if port not in _handed_out_ports:
                _handed_out_ports.add(port)
                return port


def free_ports(count: int, address: str = LOOPBACK) -> list[int]:
    """``count`` distinct free ports (see ``free_port``)."""
    return [free_port(address) for _ in range(count)]


# --------------------------------------------------------------------------- websocket frames


def websocket_accept(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` value for a ``Sec-WebSocket-Key`` (RFC 6455 §4.2.2)."""
    digest = hashlib.sha1((key + WEBSOCKET_GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def _read_exact(stream: Any, size: int) -> bytes:
    """Exactly ``size`` bytes from a buffered reader, or ``ConnectionError`` at EOF."""
    data = stream.read(size)
    if len(data) != size:
        raise ConnectionError("connection closed in the middle of a WebSocket frame")
    return bytes(data)


def _apply_mask(payload: bytes, mask: bytes) -> bytes:
    """XOR ``payload`` with the 4-byte ``mask`` repeated (masking and unmasking are the same)."""
    if not payload:
        return payload
    key = (mask * (len(payload) // 4 + 1))[: len(payload)]
    value = int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")
    return value.to_bytes(len(payload), "big")


def _read_frame(stream: Any) -> tuple[bool, int, bytes]:
    """One frame: (fin, opcode, unmasked payload)."""
    first, second = _read_exact(stream, 2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", _read_exact(stream, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", _read_exact(stream, 8))[0]
    mask = _read_exact(stream, 4) if second & 0x80 else b""
    payload = _read_exact(stream, length)
    return bool(first & 0x80), first & 0x0F, _apply_mask(payload, mask) if mask else payload


def _encode_frame(opcode: int, payload: bytes, *, masked: bool) -> bytes:
    """A single final frame; clients must mask, servers must not."""
    head = bytes([0x80 | opcode])
    mask_bit = 0x80 if masked else 0
    if len(payload) < 126:
        head += bytes([mask_bit | len(payload)])
    elif len(payload) < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", len(payload))
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", len(payload))
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + _apply_mask(payload, mask)


# --------------------------------------------------------------------------- echo backend


@dataclass(frozen=True)
class RecordedRequest:
    """One request as an ``EchoBackend`` received it."""

    method: str
    path: str  # the raw request target: path and query exactly as sent
    version: str  # e.g. "HTTP/1.1"
    headers: dict[str, str]  # lowercased names; repeated headers joined with ", "
    body: bytes
    websocket: bool = False


class _EchoServer(ThreadingHTTPServer):
    """The socket server behind an ``EchoBackend``; tracks live connections to close them."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, backend: EchoBackend, address: str, port: int) -> None:
        self.address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.backend = backend
        self.connections: set[socket.socket] = set()
        super().__init__((address, port), _EchoHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore peers that hang up (nginx, a test's client); report anything else."""
        if not isinstance(sys.exception(), OSError):
            super().handle_error(request, client_address)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup (slow or hanging in sandboxes)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]


class _EchoHandler(BaseHTTPRequestHandler):
    """Answers any method with the JSON description of the request."""

    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive and WebSocket connections end after this many seconds
    disable_nagle_algorithm = True
    server: _EchoServer
    raw_requestline: bytes

    def __getattr__(self, name: str) -> Callable[[], None]:
        """Route every ``do_<METHOD>`` to ``answer`` so any method token is echoed."""
        if name.startswith("do_"):
            return self.answer
        raise AttributeError(name)

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests assert on ``EchoBackend.requests`` instead."""

    def answer(self) -> None:
        """Record the request, then echo it (or switch to the WebSocket echo)."""
        if "websocket" in self.headers.get("Upgrade", "").lower():
            self._record(b"", websocket=True)
            self._serve_websocket()
            return
        recorded = self._record(self._read_body())
        payload = json.dumps(
            {
                "backend": self.server.backend.name,
                "method": recorded.method,
                "path": recorded.path,
                "version": recorded.version,
                "headers": recorded.headers,
                "body": recorded.body.decode("utf-8", "replace"),
            }
        ).encode()
        self.send_response(_asked_status(self.headers.get("X-Echo-Status")))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Echo-Backend", self.server.backend.name)
        location = self.headers.get("X-Echo-Location")
        if location:
            self.send_header("Location", location)
        for asked in self.headers.get_all("X-Echo-Set-Header") or []:
            name, _, value = asked.partition(":")
            self.send_header(name.strip(), value.strip())
        time.sleep(_asked_delay(self.headers.get("X-Echo-Delay")))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _record(self, body: bytes, *, websocket: bool = False) -> RecordedRequest:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        # self.path has leading "//" collapsed by http.server; the raw line has it verbatim
        target = self.raw_requestline.decode("latin-1").split(" ")[1]
        recorded = RecordedRequest(
            self.command, target, self.request_version, headers, body, websocket
        )
        self.server.backend.requests.append(recorded)
        return recorded

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked_body()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunked_body(self) -> bytes:
        chunks: list[bytes] = []
        while size := int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline(16)  # the CRLF after the chunk data
        while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
            pass  # trailer fields
        return b"".join(chunks)

    def _serve_websocket(self) -> None:
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header(
            "Sec-WebSocket-Accept", websocket_accept(self.headers.get("Sec-WebSocket-Key", ""))
        )
        self.send_header("X-Echo-Backend", self.server.backend.name)
        self.end_headers()
        self.close_connection = True
        with contextlib.suppress(ConnectionError, TimeoutError, OSError):
            self._echo_frames()

    def _echo_frames(self) -> None:
        prefix = f"{self.server.backend.name}: ".encode()
        opcode, message = 0x1, b""
        while True:
            fin, frame_opcode, payload = _read_frame(self.rfile)
            if frame_opcode == 0x8:  # close: answer with the same status code, then stop
                self.wfile.write(_encode_frame(0x8, payload[:2], masked=False))
                return
            if frame_opcode == 0x9:  # ping
                self.wfile.write(_encode_frame(0xA, payload, masked=False))
                continue
            if frame_opcode == 0xA:  # unsolicited pong
                continue
            if frame_opcode != 0x0:
                opcode, message = frame_opcode, b""
            message += payload
            if fin:
                self.wfile.write(_encode_frame(opcode, prefix + message, masked=False))


def _asked_status(value: str | None) -> int:
    """The status a test asks for with ``X-Echo-Status: NNN`` (200 by default)."""
    if value is not None and value.isdigit() and 200 <= int(value) <= 599:
        return int(value)
    return 200


def _asked_delay(value: str | None) -> float:
    """The delay a test asks for with ``X-Echo-Delay: SECONDS`` (none by default, 5 at most)."""
    try:
        return min(max(float(value or 0), 0.0), 5.0)
    except ValueError:
        return 0.0


class EchoBackend:
    """An HTTP/1.1 + WebSocket echo server on loopback that says who it is.

    Use as a context manager (or ``start()``/``close()``)::

        with EchoBackend("api") as api:
            conf = f"... proxy_pass http://{api.endpoint}; ..."

    Every answer is 200 with ``X-Echo-Backend: <name>`` and a JSON body describing the request
    (see ``Response.json()``); ``requests`` records each one for assertions.
    """

    def __init__(self, name: str, address: str = LOOPBACK, port: int = 0) -> None:
        self.name = name
        self.requests: list[RecordedRequest] = []
        self._bind = (address, port)
        self._server: _EchoServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Bind and serve in a background thread; returns ``self``."""
        self._server = _EchoServer(self, *self._bind)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"echo-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and cut every open connection (keep-alive, WebSocket)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        for connection in list(server.connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=DEFAULT_TIMEOUT)

    def _bound(self) -> _EchoServer:
        if self._server is None:
            raise RuntimeError(f"echo backend {self.name!r} is not started")
        return self._server

    @property
    def address(self) -> str:
        """The IP address it listens on, e.g. ``127.0.0.1``."""
        return str(self._bound().server_address[0])

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return int(self._bound().server_address[1])

    @property
    def endpoint(self) -> str:
        """``address:port`` as nginx's ``server``/``proxy_pass`` want it (IPv6 bracketed)."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """``http://address:port``."""
        return f"http://{self.endpoint}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.endpoint if self._server else "stopped"
        return f"EchoBackend({self.name!r}, {where})"


# --------------------------------------------------------------------------- nginx


class NginxError(RuntimeError):
    """nginx failed to start, reload or stop; the message carries nginx's own stderr."""


def find_nginx(environ: Mapping[str, str] = os.environ) -> str | None:
    """Path of the nginx binary: ``$INGRESS2NGINX_NGINX`` if set (even if wrong, so a typo
    is not silently replaced), else ``nginx`` on PATH, else Debian's ``/usr/sbin/nginx``."""
    if environ.get(NGINX_BINARY_ENV):
        return environ[NGINX_BINARY_ENV]
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def require_nginx(binary: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The policy for tests that need nginx: return ``binary``, else skip or fail the test.

    Missing nginx skips the test, unless ``INGRESS2NGINX_REQUIRE_NGINX=1`` (set by CI), which
    turns the skip into a failure so a broken CI image cannot pass by skipping everything.
    """
    if binary and os.access(binary, os.X_OK):
        return binary
    reason = f"nginx binary not found (looked for {binary or 'nginx on PATH and /usr/sbin/nginx'})"
    if environ.get(REQUIRE_NGINX_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_NGINX_ENV}=1 requires it", pytrace=False)
    pytest.skip(reason)


_LISTEN = re.compile(r"^\s*listen\s+([^\s;]+)", re.MULTILINE)


def listen_endpoints(conf_text: str, default_address: str = LOOPBACK) -> list[tuple[str, int]]:
    """The ``(address, port)`` pairs of the config's ``listen`` lines that name a port.

    ``listen 8080``, ``listen *:8080`` and ``listen 0.0.0.0:8080`` are probed on
    ``default_address``, ``listen [::]:8080`` on ``::1``; unix sockets and port-less listens
    are ignored.
    """
    endpoints: list[tuple[str, int]] = []
    for token in _LISTEN.findall(conf_text):
        host, _, port = token.rpartition(":")
        if token.startswith("unix:") or not port.isdigit():
            continue
        host = host.strip("[]")
        if host in ("", "*", "0.0.0.0"):
            host = default_address
        elif host == "::":
            host = "::1"
        if (host, int(port)) not in endpoints:
            endpoints.append((host, int(port)))
    return endpoints


def _accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.25):
            return True
    except OSError:
        return False


def _child_pids(pid: int) -> set[int]:
    """PIDs of the direct children of ``pid``, from /proc (scanned if no ``children`` file)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        with contextlib.suppress(OSError):
            return {int(child) for child in children.read_text().split()}
    found: set[int] = set()
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat_file.read_text().rpartition(")")[2].split()[1]) == pid:
                found.add(int(stat_file.parent.name))
    return found


def _daemon_args(conf_text: str) -> list[str]:
    """``-g 'daemon off;'`` unless the config already says so (nginx rejects duplicates)."""
    if re.search(r"^\s*daemon\s+off\s*;", conf_text, re.MULTILINE):
        return []
    if re.search(r"^\s*daemon\s+on\s*;", conf_text, re.MULTILINE):
        raise ValueError("the config says 'daemon on;': the harness cannot supervise that")
    return ["-g", "daemon off;"]


def _single_process(conf_text: str) -> bool:
    """Whether the config says ``master_process off;`` (no worker processes to wait for)."""
    return re.search(r"^\s*master_process\s+off\s*;", conf_text, re.MULTILINE) is not None


def make_prefix(prefix: Path | str | None = None) -> Path:
    """A prefix dir for nginx, mode 0755 (a fresh one under the temp dir by default).

    Run as root, nginx's workers run as ``nobody`` and must traverse every ancestor to use
    temp files under the prefix (request bodies over 16 KiB, buffered responses). pytest's
    ``tmp_path`` lies under a 0700 dir, so it fails there with "13: Permission denied":
    a warning says so.
    """
    path = Path(prefix) if prefix else Path(tempfile.mkdtemp(prefix="ingress2nginx-"))
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)
    closed = [p for p in path.resolve().parents if not p.stat().st_mode & stat.S_IXOTH]
    if closed and os.geteuid() == 0:
        warnings.warn(
            f"nginx prefix {path} is under {closed[0]}, which nginx workers (user nobody) "
            "cannot traverse: temp files will fail; use make_prefix() or the nginx_prefix "
            "fixture",
            stacklevel=2,
        )
    return path


def test_config(
    conf_text: str,
    *,
    prefix: Path | str | None = None,
    binary: str | None = None,
    timeout: float = 30.0,
) -> tuple[bool, str]:
    """Run ``nginx -t`` on ``conf_text``: (accepted, nginx's output).

    Relative paths in the config resolve against ``prefix`` (a fresh temp dir by default, so
    pass ``nginx.prefix`` to check a config that uses files written there).
    """
    nginx = binary or find_nginx()
    if nginx is None:
        raise NginxError("nginx binary not found")
    own_prefix = prefix is None
    root = make_prefix(prefix)
    conf_path = root / f"nginx-t-{os.getpid()}-{threading.get_ident()}.conf"
    conf_path.write_text(conf_text)
    try:
        argv = [nginx, "-t", "-p", f"{root}/", "-c", str(conf_path), "-e", "stderr"]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    finally:
        conf_path.unlink(missing_ok=True)
        if own_prefix:
            shutil.rmtree(root, ignore_errors=True)
    return done.returncode == 0, done.stdout + done.stderr


test_config.__test__ = False  # type: ignore[attr-defined]  # not a test when imported


_running: weakref.WeakSet[Nginx] = weakref.WeakSet()


class Nginx:
    """The real nginx running a config text, in the foreground, under a private prefix.

    Started as ``nginx -p PREFIX/ -c PREFIX/nginx.conf -e stderr -g 'daemon off;'``; the config
    text is written as given. Relative paths in it (pid, temp paths, certificates) resolve
    against ``prefix``, which exists from construction so files can be written there first::

        with Nginx(conf_text) as nginx:          # waits until every listen port accepts
            request(port, "/", host="a.example")
            nginx.reload(other_conf_text)        # returns once the new workers serve

    ``stderr`` holds everything nginx wrote to stderr (workers included).
    """

    def __init__(
        self,
        conf_text: str,
        ports: Iterable[int] | None = None,
        *,
        address: str = LOOPBACK,
        prefix: Path | str | None = None,
        files: Mapping[str, str | bytes] | None = None,
        binary: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """``ports``: the ports to wait for; default: every port in the config's ``listen``.

        ``files``: relative path -> content, written under the prefix (mode 0600) before the
        config, e.g. certificates and keys the config names relatively.
        """
        found = binary or find_nginx()
        if found is None:
            raise NginxError("nginx binary not found")
        self.binary = found
        self.conf_text = conf_text
        self.address = address
        self.timeout = timeout
        self._ports = list(ports) if ports is not None else None
        self._own_prefix = prefix is None
        self.prefix = make_prefix(prefix)
        self.conf_path = self.prefix / "nginx.conf"
        self._log_path = self.prefix / "nginx.stderr"
        self._process: subprocess.Popen[bytes] | None = None
        self._final_stderr: str | None = None
        for relative_path, content in (files or {}).items():
            self.write_file(relative_path, content)

    # -- lifecycle

    def start(self) -> Self:
        """Write the config, start nginx, wait (bounded) until its listen ports accept."""
        self.conf_path.write_text(self.conf_text)
        argv = [self.binary, "-p", f"{self.prefix}/", "-c", str(self.conf_path), "-e", "stderr"]
        argv += _daemon_args(self.conf_text)
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        _running.add(self)
        try:
            self._wait_until(self._serving, "workers and listen ports")
        except NginxError:
            self.stop()
            raise
        return self

    def reload(self, conf_text: str, ports: Iterable[int] | None = None) -> None:
        """Replace the config and SIGHUP the master; return once only new workers run.

        Raises ``NginxError`` (with stderr) when nginx rejects the config — it then keeps
        serving the old one — or when old workers outlive the deadline (e.g. an open
        WebSocket holds them: close long-lived connections before reloading).
        """
        old_workers = self.worker_pids()
        log_mark = len(self.stderr)
        self.conf_text = conf_text
        self._ports = list(ports) if ports is not None else self._ports
        self.conf_path.write_text(conf_text)
        os.kill(self.pid, signal.SIGHUP)

        def swapped() -> bool:
            if "[emerg]" in self.stderr[log_mark:]:
                raise NginxError(f"nginx rejected the new config:\n{self.stderr[log_mark:]}")
            workers = self.worker_pids()
            return bool(workers) and not workers & old_workers

        self._wait_until(swapped, "new workers to replace the old ones after reload")
        self._wait_until(self._listening, "listen ports to accept connections after reload")

    def stop(self) -> None:
        """SIGQUIT (graceful), then SIGKILL master and workers after ``timeout``; idempotent."""
        process, self._process = self._process, None
        if process is None:
            return
        workers = _child_pids(process.pid)
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=self.timeout)
        for pid in workers:  # orphans if the master was killed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._final_stderr = self._read_log()
        _running.discard(self)
        if self._own_prefix:
            shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- inspection

    @property
    def pid(self) -> int:
        """The master process id."""
        if self._process is None:
            raise NginxError("nginx is not running")
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether the master process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def stderr(self) -> str:
        """Everything nginx wrote to stderr so far (kept after ``stop()``)."""
        return self._final_stderr if self._final_stderr is not None else self._read_log()

    def worker_pids(self) -> set[int]:
        """PIDs of the master's children (workers, cache manager/loader)."""
        return _child_pids(self.pid) if self.running else set()

    def write_file(self, relative_path: str, content: str | bytes, mode: int = 0o600) -> Path:
        """Write a file (certificate, key, htpasswd) under the prefix; returns its path."""
        path = self.prefix / relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        path.chmod(mode)
        return path

    # -- helpers

    def _read_log(self) -> str:
        try:
            return self._log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _serving(self) -> bool:
        """Workers are up (the config was accepted) and every listen port accepts."""
        return (bool(self.worker_pids()) or _single_process(self.conf_text)) and self._listening()

    def _listening(self) -> bool:
        if self._ports is not None:
            endpoints = [(self.address, port) for port in self._ports]
        else:
            endpoints = listen_endpoints(self.conf_text, self.address)
        return all(_accepts(address, port) for address, port in endpoints)

    def _wait_until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not condition():
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                raise NginxError(
                    f"nginx exited (status {code}) while waiting for {what}:\n{self.stderr}"
                )
            if time.monotonic() > deadline:
                raise NginxError(
                    f"timed out after {self.timeout}s waiting for {what}:\n{self.stderr}"
                )
            time.sleep(_POLL_INTERVAL)

    def __repr__(self) -> str:
        return f"Nginx(prefix={str(self.prefix)!r}, running={self.running})"


@atexit.register
def _stop_leftover_nginx() -> None:
    """Safety net: never leave an nginx holding ports after the test process ends."""
    for nginx in list(_running):
        nginx.stop()


# --------------------------------------------------------------------------- clients

HeaderItems = Mapping[str, str] | Sequence[tuple[str, str]]


@dataclass(frozen=True)
class PeerCertificate:
    """The certificate a TLS server presented."""

    der: bytes
    subject_alt_names: tuple[str, ...]  # DNS names, then IP addresses, as in the certificate
    common_name: str | None


@dataclass(frozen=True)
class Response:
    """An HTTP response as received (redirects are never followed)."""

    status: int
    reason: str
    headers: Message  # case-insensitive: headers["location"], headers.get_all("set-cookie")
    body: bytes
    certificate: PeerCertificate | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON (an echo backend's description of the request)."""
        return json.loads(self.body)

    @property
    def backend(self) -> str | None:
        """The echo backend that answered, or None when nginx answered by itself."""
        return self.headers.get("X-Echo-Backend")


def _parse_certificate(der: bytes) -> PeerCertificate:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = x509.load_der_x509_certificate(der)
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*extension.get_values_for_type(x509.DNSName)]
        names += [str(ip) for ip in extension.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = []
    common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return PeerCertificate(der, tuple(names), str(common[0].value) if common else None)


def _tls_context(cafile: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cafile)
    if cafile is None:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _sni_name(host: str | None, server_name: str | None) -> str | None:
    """SNI to send: ``server_name`` if given ("" = none), else the Host header's hostname."""
    if server_name is not None:
        return server_name or None
    if not host or host.startswith("["):
        return None
    hostname = host.rsplit(":", 1)[0]
    return None if re.fullmatch(r"[\d.]+", hostname) else hostname


def _connect(
    address: str, port: int, timeout: float, tls: bool, sni: str | None, cafile: str | None
) -> socket.socket:
    sock = socket.create_connection((address, port), timeout=timeout)
    if not tls:
        return sock
    try:
        return _tls_context(cafile).wrap_socket(sock, server_hostname=sni)
    except BaseException:
        sock.close()
        raise


def _header_fields(host: str | None, headers: HeaderItems | None) -> list[tuple[str, str]]:
    """Host first (unless None), then the caller's headers in their order."""
    items = list(headers.items() if isinstance(headers, Mapping) else headers or [])
    return ([("Host", host)] if host is not None else []) + items


def request(
    port: int,
    path: str = "/",
    host: str | None = "localhost",
    method: str = "GET",
    headers: HeaderItems | None = None,
    body: bytes | str | None = None,
    *,
    address: str = LOOPBACK,
    tls: bool = False,
    server_name: str | None = None,
    cafile: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Response:
    """Send one HTTP/1.1 request with ``path`` as the raw request target, verbatim.

    ``host`` is the Host header (None: no Host header); ``headers`` are added as given (a list
    of pairs may repeat a name). ``Connection: close`` and ``Content-Length`` are added unless
    ``headers`` set them. With ``tls``, SNI is ``server_name`` if given (``""`` sends none),
    else the Host header's hostname; the certificate is not verified unless ``cafile`` is
    given, and ``Response.certificate`` tells which one the server presented.
    """
    payload = body.encode() if isinstance(body, str) else body
    fields = _header_fields(host, headers)
    names = {name.lower() for name, _ in fields}
    if "connection" not in names:
        fields.append(("Connection", "close"))
    if payload is not None and not names & {"content-length", "transfer-encoding"}:
        fields.append(("Content-Length", str(len(payload))))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in fields)
    sni = _sni_name(host, server_name)
    with _connect(address, port, timeout, tls, sni, cafile) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n" + (payload or b""))
        certificate = _peer_certificate(sock)
        answer = http.client.HTTPResponse(sock, method=method)
        try:
            answer.begin()
            content = answer.read()
        finally:
            answer.close()
    return Response(answer.status, answer.reason, answer.msg, content, certificate)


def _peer_certificate(sock: socket.socket) -> PeerCertificate | None:
    if not isinstance(sock, ssl.SSLSocket):
        return None
    der = sock.getpeercert(binary_form=True)
    return _parse_certificate(der) if der else None


class WebSocketError(RuntimeError):
    """The WebSocket handshake or exchange did not go as RFC 6455 says."""


def websocket_roundtrip(
    port: int,
    path: str = "/",
    host: str = "localhost",
    message: str = "hello",
    *,
    address: str = LOOPBACK,
    tls: bool = False,
    server_name: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Upgrade to a WebSocket, send ``message`` as a text frame, return the first text reply.

    Through nginx to an ``EchoBackend`` the reply is ``"<backend name>: <message>"``. Raises
    ``WebSocketError`` when the answer is not a valid ``101 Switching Protocols``.
    """
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    head = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    sni = _sni_name(host, server_name)
    with _connect(address, port, timeout, tls, sni, None) as sock, sock.makefile("rb") as stream:
        sock.sendall(head.encode("latin-1"))
        _check_handshake(stream, key)
        sock.sendall(_encode_frame(0x1, message.encode(), masked=True))
        reply = _next_text_frame(stream)
        sock.sendall(_encode_frame(0x8, struct.pack("!H", 1000), masked=True))
    return reply


def _check_handshake(stream: Any, key: str) -> None:
    status_line = stream.readline(65536).decode("latin-1").strip()
    headers = http.client.parse_headers(stream)
    if status_line.split(" ")[1:2] != ["101"]:
        raise WebSocketError(f"expected 101 Switching Protocols, got {status_line!r}")
    if headers.get("Sec-WebSocket-Accept") != websocket_accept(key):
        raise WebSocketError(f"bad Sec-WebSocket-Accept: {headers.get('Sec-WebSocket-Accept')}")


def _next_text_frame(stream: Any) -> str:
    while True:
        _, opcode, payload = _read_frame(stream)
        if opcode == 0x1:
            return payload.decode("utf-8")
        if opcode == 0x8:
            raise WebSocketError("server closed the WebSocket before replying")


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class CertificatePair:
    """A PEM certificate and its unencrypted PEM private key."""

    cert_pem: bytes
    key_pem: bytes


def make_self_signed_cert(*hostnames: str, days: int = 30) -> CertificatePair:
    """A self-signed EC P-256 certificate: CN = first name, SAN = every name (DNS or IP)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])])
    sans: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return CertificatePair(cert.public_bytes(serialization.Encoding.PEM), key_pem)


# --------------------------------------------------------------------------- fixture types


class EchoBackendFactory(Protocol):
    """The ``echo_backends`` fixture: ``a, b = echo_backends("a", "b")``."""

    def __call__(self, *names: str, address: str = LOOPBACK) -> list[EchoBackend]: ...


class NginxRunner(Protocol):
    """The ``nginx_runner`` fixture: ``nginx = nginx_runner(conf_text)`` (started)."""

    def __call__(
        self,
        conf_text: str,
        ports: Iterable[int] | None = None,
        *,
        prefix: Path | str | None = None,
        files: Mapping[str, str | bytes] | None = None,
    ) -> Nginx: ...
