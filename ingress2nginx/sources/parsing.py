"""YAML and JSON text into documents, each with the line it starts on; bad text never raises.

The loader (loading.py) decides which objects to keep; this module only turns text into
documents. A YAML stream is cut at its ``---`` lines and each piece parsed on its own with
libyaml's C loader (values built by plain_yaml.py when the piece is plain YAML, as manifests
are), so one broken document loses only itself; JSON (a file ending in
``.json``, or text starting with ``{`` or ``[``) may hold several values one after another.
Errors come back as (``name:line``, reason); aliases that would make a document contain itself
or expand far beyond its text are refused.
"""

from __future__ import annotations

import bisect
import codecs
import json
import re
from collections.abc import Iterable, Iterator

import yaml

from ingress2nginx.sources.plain_yaml import Scalars, plain_documents, plain_stream

try:
    _YamlLoader: type[yaml.CSafeLoader] | type[yaml.SafeLoader] = yaml.CSafeLoader
    _YAML_OFFSETS_IN_BYTES = True  # libyaml reports reader errors at byte offsets
except AttributeError:  # PyYAML built without libyaml
    _YamlLoader = yaml.SafeLoader
    _YAML_OFFSETS_IN_BYTES = False

_NOT_BLANK = re.compile(r"\S")
_JSON = json.JSONDecoder()

Documents = list[tuple[str, object]]
"""(origin ``name:line``, document) in stream order."""
Malformed = list[tuple[str, str]]
"""(location ``name:line``, reason) of what could not be parsed."""


def parse_documents(text: str, name: str) -> tuple[Documents, Malformed]:
    """The documents of one source's text; JSON when the name ends in ``.json`` or the text
    starts with ``{`` or ``[`` (falling back to YAML flow style otherwise), else YAML."""
    text = text.removeprefix("\ufeff")
    is_json = name.lower().endswith(".json")
    if is_json or text.lstrip().startswith(("{", "[")):
        documents, error = _json_documents(text)
        if error is None or is_json:
            found = [(f"{name}:{line}", document) for line, document in documents]
            return found, ([] if error is None else [(f"{name}:{error[0]}", error[1])])
    scalars = Scalars()
    starts = _chunk_starts(text)
    if _one_stream(text):
        stream = plain_stream(text, scalars)
        if stream is not None:
            lines = [line for line, _ in starts]
            return [(f"{name}:{_chunk_line(lines, line)}", doc) for line, doc in stream], []
    parsed: Documents = []
    malformed: Malformed = []
    for line, chunk in _chunks(text, starts):
        _yaml_documents(chunk, name, line, scalars, parsed, malformed)
    return parsed, malformed


def _one_stream(text: str) -> bool:
    """Whether the documents of a YAML text, read as one stream, are those of its pieces
    read one by one, each on the line its piece starts: no directive (it would govern the
    next piece only), and no line break but LF (libyaml counts CR, NEL, LS and PS as line
    breaks too, the cutting does not), nor a BOM inside."""
    return not (
        text.startswith("%")
        or "\n%" in text
        or "\r" in text
        or "\x85" in text
        or "\u2028" in text
        or "\u2029" in text
        or "\ufeff" in text
    )


def _chunk_line(lines: list[int], document_line: int) -> int:
    """The first line of the piece a document starts in, from its start event's 0-based
    line (a document starts on its ``---`` line, or after the comments of the first piece)."""
    return lines[bisect.bisect_right(lines, document_line + 1) - 1]


def decode(data: bytes) -> str:
    """UTF-8 (a BOM allowed), or UTF-16 with its BOM (PowerShell's ``>`` writes that)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def _json_documents(text: str) -> tuple[list[tuple[int, object]], tuple[int, str] | None]:
    """JSON values one after another, each with its starting line; the first error stops."""
    documents: list[tuple[int, object]] = []
    line, position = 1, 0
    while (start := _NOT_BLANK.search(text, position)) is not None:
        line += text.count("\n", position, start.start())
        try:
            document, end = _JSON.raw_decode(text, start.start())
        except json.JSONDecodeError as error:
            return documents, (error.lineno, f"could not parse JSON: {lower_first(error.msg)}")
        except RecursionError:
            return documents, (line, "could not parse JSON: nested too deeply")
        documents.append((line, document))
        line += text.count("\n", start.start(), end)
        position = end
    return documents, None


def document_chunk(text: str, line: int) -> str | None:
    """The text of the YAML document that starts on `line` (as `parse_documents` names it);
    the whole text for a JSON source, whose values carry their own lines. None when no
    document starts there."""
    text = text.removeprefix("\ufeff")
    if text.lstrip().startswith(("{", "[")):
        return text if line == 1 else None
    for first_line, chunk in _chunks(text, _chunk_starts(text)):
        if first_line == line:
            return chunk
    return None


def _chunk_starts(text: str) -> list[tuple[int, int]]:
    """Where the stream is cut: (line, offset) of its start and of each later ``---`` line
    (three dashes starting a line, then a space, tab, line break or the end)."""
    starts = [(1, 0)]
    line, counted = 1, 0
    found = text.find("\n---")
    while found != -1:
        marker = found + 1
        if text[marker + 3 : marker + 4] in _AFTER_MARKER:
            line += text.count("\n", counted, marker)
            counted = marker
            starts.append((line, marker))
        found = text.find("\n---", marker)
    return starts


_AFTER_MARKER = ("", " ", "\t", "\r", "\n")


def _chunks(text: str, starts: list[tuple[int, int]]) -> Iterator[tuple[int, str]]:
    """The stream cut at `starts`, each piece with the line it starts on (1-based)."""
    ends = [offset for _, offset in starts[1:]] + [len(text)]
    for (line, offset), end in zip(starts, ends, strict=True):
        yield line, text[offset:end]


def _yaml_documents(
    chunk: str,
    name: str,
    first_line: int,
    scalars: Scalars,
    parsed: Documents,
    malformed: Malformed,
) -> None:
    documents = plain_documents(chunk, scalars)
    try:
        if documents is None:
            documents = list(yaml.load_all(chunk, Loader=_YamlLoader))
    except yaml.YAMLError as error:
        line, reason = _yaml_error(error, chunk, first_line)
        malformed.append((f"{name}:{line}", f"could not parse YAML: {reason}"))
        return
    except RecursionError:
        malformed.append((f"{name}:{first_line}", "could not parse YAML: nested too deeply"))
        return
    except Exception as error:  # PyYAML's constructors fail plainly on `2024-02-30`, `!!int x`
        reason = str(error) if isinstance(error, ValueError) else "a value does not fit its tag"
        malformed.append((f"{name}:{first_line}", f"could not parse YAML: {reason}"))
        return
    for document in documents:
        trouble = _aliasing_trouble(document, chunk)
        if trouble:
            malformed.append((f"{name}:{first_line}", f"could not parse YAML: {trouble}"))
        else:
            parsed.append((f"{name}:{first_line}", document))


def _aliasing_trouble(document: object, chunk: str) -> str | None:
    """Why YAML aliases make a document unsafe to walk: it contains itself, or it expands far
    beyond its text (a "billion laughs"). Only documents that may use aliases are walked."""
    if "&" not in chunk or "*" not in chunk:
        return None
    budget = 10 * len(chunk) + 10_000
    stack: list[tuple[object, bool]] = [(document, False)]
    open_nodes: set[int] = set()
    while stack:
        node, leaving = stack.pop()
        if leaving:
            open_nodes.discard(id(node))
            continue
        budget -= 1
        if budget < 0:
            return "aliases expand it far beyond its size"
        if isinstance(node, dict):
            children: Iterable[object] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if id(node) in open_nodes:
            return "an alias refers to a node that contains it"
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children)
    return None


def _yaml_error(error: yaml.YAMLError, chunk: str, first_line: int) -> tuple[int, str]:
    """(line in the file, short reason) for a PyYAML error raised on one chunk."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        line = first_line + error.problem_mark.line
        reason = error.problem or "invalid YAML"
        context = error.context_mark
        if error.context and context is not None and context.line != error.problem_mark.line:
            reason += f" ({error.context} started on line {first_line + context.line})"
        return line, reason
    if isinstance(error, yaml.reader.ReaderError):
        return first_line + _newlines_before(chunk, error.position), str(error).split("\n", 1)[0]
    return first_line, str(error).split("\n", 1)[0]


def _newlines_before(chunk: str, position: int) -> int:
    if _YAML_OFFSETS_IN_BYTES:
        return chunk.encode()[:position].count(b"\n")
    return chunk.count("\n", 0, position)


def lower_first(text: str) -> str:
    """A message fragment starting in lower case (``Expecting value`` -> ``expecting value``)."""
    return text[:1].lower() + text[1:]
