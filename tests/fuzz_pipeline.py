"""The whole pipeline on arbitrary input, and what no input may change in its output.

The security tests share this module (test_security_hostile.py, test_security_cves.py,
test_fuzz.py); it is also a fuzzing entry point to run by hand for longer than CI allows::

    PYTHONPATH=. python tests/fuzz_pipeline.py --seconds 600      # hypothesis, any Python
    PYTHONPATH=. python tests/fuzz_pipeline.py --atheris -- -max_total_time=600 CORPUS_DIR
        # coverage-guided (pip install atheris); libFuzzer adds its finds to CORPUS_DIR, so
        # start from a copy of tests/security_corpus

What it checks holds for ANY input, hostile or not (`violations`):

- loading, normalizing and rendering never raise: a bad object is a `Problem`, never a crash
  (one Ingress that crashes the render denies service to every other Ingress);
- crossplane parses the output, and no directive argument holds a line break or a control
  character (a newline inside a quoted argument is how a value smuggles a second line);
- directives that read or write files, or load code, appear only in the forms ingress2nginx
  writes itself: paths under --runtime-dir and --cert-dir with file names it derived, never
  ``include``, ``load_module``, ``ssl_engine``, ``root``, ``alias``, Lua, Perl, njs...;
- no argument in a position where nginx expands variables refers to a variable that only an
  attacker would name (`MARKER_VARIABLES`, which the hostile generators plant);
- problem messages, which reach terminals and log collectors, hold no control character.

Comparing a hostile input's output with its benign twin is the job of the tests; this module
gives them `shape` (the set of (context, directive) pairs), `server_block` and `nginx_accepts`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import crossplane

from ingress2nginx.apply.applying import write_certificates
from ingress2nginx.core.errors import ObjectRef, Problem
from ingress2nginx.core.objects import Inventory
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.normalizing import Translation, normalize
from ingress2nginx.render.rendering import Renderer
from ingress2nginx.sources.loading import LoadResult, load_sources, load_text

Obj = dict[str, Any]

DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
"""``HYPOTHESIS_PROFILE=deep``: every security property runs many more examples."""


def scaled(examples: int) -> int:
    """`examples` for the default quick run; 25 times as many with HYPOTHESIS_PROFILE=deep."""
    return examples * 25 if DEEP else examples


# --------------------------------------------------------------------------- settings


@cache
def scratch_dir() -> Path:
    """One 0755 folder per process for runtime files, certificates and configs to check."""
    root = Path(tempfile.gettempdir()) / f"ingress2nginx-security-{os.getpid()}"
    root.mkdir(mode=0o755, parents=True, exist_ok=True)
    root.chmod(0o755)
    return root


def settings(**changes: Any) -> Settings:
    """The settings every security test renders with (runtime and cert dir in `scratch_dir`)."""
    root = scratch_dir()
    base: dict[str, Any] = {
        "runtime_dir": root / "run",
        "cert_dir": root / "run" / "certs",
        "resolver": ("127.0.0.1",),
    }
    base.update(changes)
    return Settings(**base)


@cache
def _renderer(chosen: Settings) -> Renderer:
    """One renderer per settings: compiling the templates costs more than rendering."""
    return Renderer(chosen)


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Run:
    """One pass through the pipeline: what was loaded, translated and rendered."""

    loaded: LoadResult
    translation: Translation
    text: str

    @property
    def problems(self) -> tuple[Problem, ...]:
        return (*self.loaded.problems, *self.translation.problems)

    def about(self, kind: str, namespace: str, name: str) -> list[Problem]:
        """The problems reported against one object."""
        ref = ObjectRef(kind, namespace, name)
        return [problem for problem in self.problems if problem.subject == ref]

    def rejected(self, namespace: str, name: str) -> bool:
        """Whether the Ingress `namespace/name` was rejected (left out, alone)."""
        return any(p.code == "rejected" for p in self.about("Ingress", namespace, name))

    def served(self, namespace: str, name: str) -> bool:
        return any((m.namespace, m.name) == (namespace, name) for m in self.translation.served)


def run_text(text: str, source_name: str = "input.json", chosen: Settings | None = None) -> Run:
    """Load `text` as one source, normalize and render it. Exceptions propagate: a test
    calling this asserts, by calling it, that nothing raises."""
    chosen = chosen or settings()
    loaded = load_text(text, source_name)
    return _translate(loaded, chosen)


def run_objects(objects: Iterable[Obj], chosen: Settings | None = None) -> Run:
    """`run_text` on objects written as a JSON array (JSON keeps every string exactly)."""
    return run_text(json.dumps(list(objects), ensure_ascii=True), "input.json", chosen)


def run_stdin_bytes(data: bytes, chosen: Settings | None = None) -> Run:
    """The pipeline on raw bytes given as stdin (decoding included)."""
    import io

    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="strict")
    loaded = load_sources(["-"], stdin=stream)
    return _translate(loaded, chosen or settings())


def _translate(loaded: LoadResult, chosen: Settings) -> Run:
    translation = normalize(Inventory.build(loaded.manifests), chosen)
    text = _renderer(chosen).render(translation.config)
    return Run(loaded, translation, text)


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Node:
    """One directive as crossplane reads it; `block` is None for a simple directive."""

    name: str
    args: tuple[str, ...]
    block: tuple[Node, ...] | None

    def find(self, name: str) -> Iterator[Node]:
        for child in self.block or ():
            if child.name == name:
                yield child


ENTRY_BLOCKS = frozenset({"map", "geo", "split_clients", "types", "match", "charset_map"})
"""Blocks whose children are entries (``key value;``), not directives."""

ENTRY = "<entry>"


class ParseError(AssertionError):
    """crossplane refused the output."""


def parse(text: str) -> tuple[Node, ...]:
    """The config as nodes (comments left out); ParseError when crossplane refuses it."""
    handle, name = tempfile.mkstemp(suffix=".conf", dir=scratch_dir())
    try:
        with os.fdopen(handle, "w", encoding="utf-8", errors="surrogatepass") as file:
            file.write(text)
        payload = crossplane.parse(
            name, single=True, check_ctx=True, check_args=True, comments=False
        )
    finally:
        os.unlink(name)
    if payload["status"] != "ok":
        errors = "; ".join(f"line {e.get('line')}: {e.get('error')}" for e in payload["errors"])
        raise ParseError(f"crossplane refused the output: {errors}")
    return tuple(_node(item) for item in payload["config"][0]["parsed"])


def _node(item: dict[str, Any]) -> Node:
    block = item.get("block")
    return Node(
        item["directive"],
        tuple(item.get("args", ())),
        tuple(_node(child) for child in block) if block is not None else None,
    )


def nginx_parse(text: str) -> tuple[Node, ...]:
    """The config as nginx itself reads it: a port of ``ngx_conf_read_token`` and the block
    structure of ``ngx_conf_parse`` (nginx 1.22). crossplane's lexer differs from nginx's on
    odd input (a ``}`` inside a bare word ends the word for crossplane, not for nginx), so what
    a snippet can do is judged by this one. ParseError where nginx would stop."""
    stack: list[list[Node]] = [[]]
    heads: list[tuple[str, tuple[str, ...]]] = []
    for words, end in _statements(text):
        if end == "}":
            if not heads:
                raise ParseError('nginx: unexpected "}"')
            name, args = heads.pop()
            children = stack.pop()
            stack[-1].append(Node(name, args, tuple(children)))
        elif end == "{":
            heads.append((words[0], tuple(words[1:])))
            stack.append([])
        else:
            stack[-1].append(Node(words[0], tuple(words[1:]), None))
    if heads:
        raise ParseError('nginx: unexpected end of file, expecting "}"')
    return tuple(stack[0])


_SPACE = " \t\r\n"


def _statements(text: str) -> Iterator[tuple[list[str], str]]:
    """(words, ";" or "{" or "}") for each statement, as ngx_conf_read_token returns them."""
    words: list[str] = []
    index, end = 0, len(text)
    while True:
        while index < end and text[index] in _SPACE:
            index += 1
        if index >= end:
            if words:
                raise ParseError('nginx: unexpected end of file, expecting ";" or "}"')
            return
        char = text[index]
        if char in ";{":
            if not words:
                raise ParseError(f'nginx: unexpected "{char}"')
            yield words, char
            words, index = [], index + 1
        elif char == "}":
            if words:
                raise ParseError('nginx: unexpected "}"')
            yield [], "}"
            index += 1
        elif char == "#":
            newline = text.find("\n", index)
            index = end if newline < 0 else newline + 1
        else:
            word, index, stop = _word(text, index)
            words.append(word)
            if stop in (";", "{"):
                yield words, stop
                words = []


def _word(text: str, start: int) -> tuple[str, int, str]:
    """One word from `start`: (its value, the index after it, the ; or { that ended it, if)."""
    quote = text[start] if text[start] in "\"'" else ""
    index = start + 1 if quote else start
    variable = False
    raw_start = index
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            variable = False
            continue
        if char == "{" and variable:
            index += 1
            continue
        variable = char == "$"
        if quote and char == quote:
            raw = text[raw_start:index]
            index += 1
            if index < len(text) and text[index] not in _SPACE + ";{)":
                raise ParseError(f'nginx: unexpected "{text[index]}"')
            return _unescape(raw), index, ""  # a ")" right after starts the next word
        if not quote and char in _SPACE + ";{":
            return _unescape(text[raw_start:index]), index + (char in ";{"), char
        index += 1
    raise ParseError("nginx: unexpected end of file")


def _unescape(raw: str) -> str:
    out, index = [], 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw):
            following = raw[index + 1]
            if following in "\"'\\":
                out.append(following)
                index += 2
                continue
            if following in "trn":
                out.append({"t": "\t", "r": "\r", "n": "\n"}[following])
                index += 2
                continue
        out.append(char)
        index += 1
    return "".join(out)


@dataclass(frozen=True)
class Placed:
    """A directive with the names of the blocks around it (``("http", "server")``)."""

    context: tuple[str, ...]
    node: Node

    @property
    def in_entries(self) -> bool:
        return bool(self.context) and self.context[-1] in ENTRY_BLOCKS


def walk(nodes: Sequence[Node], context: tuple[str, ...] = ()) -> Iterator[Placed]:
    """Every directive, depth first, with its context."""
    for node in nodes:
        yield Placed(context, node)
        if node.block is not None:
            yield from walk(node.block, (*context, node.name))


def shape(nodes: Sequence[Node]) -> frozenset[tuple[tuple[str, ...], str]]:
    """The set of (context, directive name): what a hostile value must never change. Entries
    of map-like blocks count as one kind of entry, whatever their key."""
    return frozenset(
        (placed.context, ENTRY if placed.in_entries else placed.node.name) for placed in walk(nodes)
    )


def server_block(nodes: Sequence[Node], host: str) -> Node | None:
    """The ``server`` whose server_name lists `host` (exactly), or None."""
    for http in nodes:
        if http.name != "http":
            continue
        for server in http.find("server"):
            for names in server.find("server_name"):
                if host in names.args:
                    return server
    return None


def upstream_block(nodes: Sequence[Node], name: str) -> Node | None:
    for http in nodes:
        for upstream in http.find("upstream") if http.name == "http" else ():
            if upstream.args == (name,):
                return upstream
    return None


# --------------------------------------------------------------------------- invariants

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""Characters no argument or message may hold: C0, DEL, C1, line separators, bidi controls."""

NEVER_WRITTEN = frozenset(
    {
        "include",
        "load_module",
        "ssl_engine",
        "root",
        "alias",
        "autoindex",
        "ssi",
        "try_files",
        "random_index",
        "env",
        "user",
        "daemon",
        "master_process",
        "working_directory",
        "lock_file",
        "proxy_store",
        "dav_methods",
        "xslt_stylesheet",
        "ssl_password_file",
        "ssl_stapling_file",
        "ssl_session_ticket_key",
        "ssl_dhparam",
        "charset_map",
        "google_perftools_profiles",
        "debug_points",
        "fastcgi_pass",
        "uwsgi_pass",
        "scgi_pass",
        "memcached_pass",
        "sub_filter",
        "add_before_body",
        "add_after_body",
        "image_filter",
        "mp4",
        "flv",
        "index",
        "open_file_cache",
        "secure_link_secret",
        "internal_redirect",
        "error_page_file",
    }
)
"""Directives ingress2nginx never writes: they read or write files, load code, or change
who nginx runs as. Their presence in an output is an injection."""

NEVER_WRITTEN_PATTERN = re.compile(r".*lua|perl|js_|.*njs")

OWN_FILES = re.compile(
    r"(?:tls-|auth-file-|auth-map-|ca-|client-)[a-z0-9.-]+_[a-z0-9.-]+(?:-[0-9a-f]{16})?"
    r"(?:\.crt|\.key|\.htpasswd|\.pem)?\Z|default-server\.(?:crt|key)\Z"
)
"""File names ingress2nginx derives from validated Secret names (certificates.py,
secret_files.py): a fixed prefix, namespace ``_`` name, an optional digest."""

CERT_DIR_DIRECTIVES = re.compile(
    r"(?:ssl_certificate|ssl_certificate_key|ssl_client_certificate|ssl_trusted_certificate"
    r"|ssl_crl|auth_basic_user_file|(?:proxy|grpc)_ssl_(?:certificate|certificate_key"
    r"|trusted_certificate|crl))\Z"
)
"""Directives naming files read from --cert-dir: only files ingress2nginx wrote may appear."""

RUNTIME_DIRECTIVES = re.compile(r"pid|[a-z]+_temp_path|[a-z]+_cache_path\Z")
"""Directives naming files under --runtime-dir."""

_LOG_FORMAT = re.compile(r"[a-z_]+\Z")
"""A log_format name after /dev/stdout (never a path: no '/' or '=')."""

MARKER_VARIABLES = frozenset(
    {
        "INJECT",
        "inject",
        "hostile",
        "ssl_client_raw_cert",
        "request_body",
        "document_root",
        "realpath_root",
        "secret",
    }
)
"""Variables the hostile generators plant: no allowlist of ingress2nginx admits them, so one
in an argument nginx expands means a value reached nginx unchecked."""

_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")

NOT_EXPANDED = frozenset({"location", "server_name", "valid_referers"})
"""Directives whose arguments nginx never expands (a ``$`` there is a plain character)."""


def violations(run: Run, chosen: Settings | None = None) -> list[str]:
    """Everything wrong with `run` whatever its input was (an empty list when all holds).
    Each starts with its kind: ``[message]``, ``[parse]``, ``[control]``, ``[never-written]``,
    ``[file]``, ``[variable]``."""
    return checked(run, chosen)[1]


def checked(
    run: Run, chosen: Settings | None = None, *, raw_snippets: bool = False
) -> tuple[tuple[Node, ...], list[str]]:
    """The parsed output and its `violations`. The output is read twice, by crossplane (which
    also checks each directive's context and arguments) and by `nginx_parse` (nginx's own
    tokenizer), and the checks run on both readings. With `raw_snippets` (trusted snippets in
    the output, which may hold text crossplane reads differently) only nginx's reading counts.
    The nodes are crossplane's, or nginx's with `raw_snippets`; empty when unreadable."""
    chosen = chosen or settings()
    found = [
        f"[message] a control character in: {str(problem)!r}"
        for problem in run.problems
        if CONTROL.search(str(problem))
    ]
    readings: list[tuple[Node, ...]] = []
    for reader in (nginx_parse, parse):
        try:
            readings.append(reader(run.text))
        except ParseError as error:
            if raw_snippets and reader is parse:
                continue
            return (), [*found, f"[parse] {error}"]
    for nodes in readings:
        for placed in walk(nodes):
            found.extend(
                problem for problem in _directive_violations(placed, chosen) if problem not in found
            )
    return readings[-1] if not raw_snippets else readings[0], found


def _directive_violations(placed: Placed, chosen: Settings) -> Iterator[str]:
    node = placed.node
    where = "/".join((*placed.context, node.name))
    for arg in node.args:
        if CONTROL.search(arg):
            yield f"[control] {where}: an argument with a control character or line break: {arg!r}"
    if placed.in_entries:
        yield from _marker_violations(where, node.args)
        return
    configured = node.name == "load_module" and node.args == (chosen.stream_module,)
    if (node.name in NEVER_WRITTEN or NEVER_WRITTEN_PATTERN.match(node.name)) and not configured:
        yield f"[never-written] {where}: a directive ingress2nginx never writes: {node.args!r}"
    yield from _file_violations(where, node, chosen)
    if node.name not in NOT_EXPANDED:
        yield from _marker_violations(where, _expanded_args(node))


def _file_violations(where: str, node: Node, chosen: Settings) -> Iterator[str]:
    if CERT_DIR_DIRECTIVES.match(node.name):
        for arg in node.args:
            path = Path(arg)
            if path.parent != chosen.cert_dir or not OWN_FILES.match(path.name):
                yield f"[file] {where}: a file ingress2nginx did not write: {arg!r}"
    elif RUNTIME_DIRECTIVES.match(node.name):
        runtime = chosen.runtime_dir
        first = Path(node.args[0]) if node.args else Path("/")
        if runtime is None or runtime not in (first, *first.parents):
            yield f"[file] {where}: a path outside --runtime-dir: {node.args!r}"
    elif node.name == "error_log" and node.args[:1] != ("stderr",):
        yield f"[file] {where}: an error log that is not stderr: {node.args!r}"
    elif node.name == "access_log" and not (
        node.args == ("off",)
        or (node.args[:1] == ("/dev/stdout",) and all(_LOG_FORMAT.match(a) for a in node.args[1:]))
    ):
        yield f"[file] {where}: an access log that is not /dev/stdout or off: {node.args!r}"


def _expanded_args(node: Node) -> list[str]:
    """The arguments nginx expands: not a rewrite's regex, not the regex of an ``if``."""
    if node.name == "rewrite":
        return list(node.args[1:])
    if node.name == "if":
        regex = {i + 1 for i, arg in enumerate(node.args) if arg in ("~", "~*", "!~", "!~*")}
        return [arg for i, arg in enumerate(node.args) if i not in regex]
    return list(node.args)


def _marker_violations(where: str, args: Iterable[str]) -> Iterator[str]:
    for arg in args:
        for name in _VARIABLE.findall(arg):
            if name in MARKER_VARIABLES or name.startswith(("INJECT", "hostile")):
                yield f"[variable] {where}: an attacker's ${name} where nginx expands it: {arg!r}"


# --------------------------------------------------------------------------- nginx -t


def nginx_path() -> str | None:
    """The nginx to check with (the test harness's choice: $INGRESS2NGINX_NGINX, PATH...)."""
    from harness import find_nginx

    return find_nginx()


def nginx_accepts(run: Run, chosen: Settings | None = None) -> tuple[bool, str]:
    """``nginx -t`` on the output, with the certificates and secret files it names written
    where it names them. (accepted, nginx's output)."""
    from harness import test_config

    chosen = chosen or settings()
    materialize(run, chosen)
    return test_config(run.text, prefix=scratch_dir(), binary=nginx_path())


def materialize(run: Run, chosen: Settings) -> None:
    """Write the files the config reads, as the CLI would (certificates, secret files)."""
    assert chosen.runtime_dir is not None
    chosen.runtime_dir.mkdir(parents=True, exist_ok=True)
    write_certificates(run.translation.config, chosen.cert_dir)
    try:
        from ingress2nginx.apply.applying import write_secret_files
        from ingress2nginx.normalize.references import secret_files
    except ImportError:  # a tree without annotation secret files
        return
    write_secret_files(secret_files(run.translation.config.servers), chosen.cert_dir)


def sampled(text: str, one_in: int) -> bool:
    """A deterministic sample of outputs (so a failing example replays the same way, in any
    process: the per-process scratch folder the output names is left out of the checksum)."""
    portable = text.replace(str(scratch_dir()), "SCRATCH")
    return zlib.crc32(portable.encode("utf-8", "surrogatepass")) % one_in == 0


# --------------------------------------------------------------------------- fuzz inputs

KINDS = ("Ingress", "IngressClass", "Service", "EndpointSlice", "Endpoints", "Secret")
API_VERSIONS = {
    "Ingress": ("networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1"),
    "IngressClass": ("networking.k8s.io/v1",),
    "Service": ("v1",),
    "EndpointSlice": ("discovery.k8s.io/v1",),
    "Endpoints": ("v1",),
    "Secret": ("v1",),
}


def check_any_input(run_once: Callable[[], Run]) -> None:
    """The fuzzing oracle: running never raises, and every invariant holds."""
    run = run_once()
    problems = violations(run)
    assert not problems, "\n".join(problems)


def fuzz_one_input(data: bytes) -> None:
    """atheris entry point: the bytes as stdin, as a JSON document and as YAML text."""
    check_any_input(lambda: run_stdin_bytes(data))
    text = data.decode("utf-8", "replace")
    check_any_input(lambda: run_text(text, "input.yaml"))


def _hypothesis_session(seconds: float) -> int:
    """Run test_fuzz's properties (HYPOTHESIS_PROFILE=deep sizes) until `seconds` pass."""
    import time

    import test_fuzz

    deadline = time.monotonic() + seconds
    properties = [
        getattr(test_fuzz, name)
        for name in dir(test_fuzz)
        if name.startswith("test_") and hasattr(getattr(test_fuzz, name), "hypothesis")
    ]
    rounds = 0
    while time.monotonic() < deadline:
        for prop in properties:
            prop()
        rounds += 1
    print(f"{rounds} rounds of {len(properties)} properties without a failure")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Fuzz by hand: hypothesis for --seconds, or atheris with libFuzzer's own options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--atheris", action="store_true", help="coverage-guided, with atheris")
    parser.add_argument("libfuzzer", nargs="*", help="after --: libFuzzer options and corpus")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).parent))
    if not args.atheris:
        os.environ.setdefault("HYPOTHESIS_PROFILE", "deep")
        return _hypothesis_session(args.seconds)
    import atheris

    atheris.instrument_all()  # ingress2nginx is imported already: instrument what is loaded
    atheris.Setup([sys.argv[0], *args.libfuzzer], fuzz_one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
