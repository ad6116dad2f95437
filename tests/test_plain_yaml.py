"""plain_yaml.py builds exactly what PyYAML's C loader builds, or declines and lets it."""

from __future__ import annotations

import datetime

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingress2nginx.sources import parsing
from ingress2nginx.sources.parsing import parse_documents
from ingress2nginx.sources.plain_yaml import MAX_DEPTH, Scalars, plain_documents


def _pyyaml(text: str) -> list[object]:
    return list(yaml.load_all(text, Loader=yaml.CSafeLoader))


PLAIN = {
    "manifest": """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: default
  creationTimestamp: 2024-01-01T00:00:00Z
  annotations:
    nginx.ingress.kubernetes.io/ssl-redirect: "false"
    nginx.ingress.kubernetes.io/proxy-body-size: 8m
spec:
  rules:
  - host: example.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
""",
    "YAML 1.1 scalars": """\
booleans: [yes, No, on, OFF, true, False, y, n]
nulls: [~, null, Null, ""]
empty:
numbers: [0777, 0x1F, 0b101, 1_000, 12:30, -3, +4, 1e3, 1.5e3, .inf, -.Inf, .NaN, 3.]
dates: [2024-02-01, 2024-02-01 10:00:00.5 +02:00]
quoted: ["yes", '0777', "2024-02-01", "~"]
explicit: !!str 0777
""",
    "block scalars and flows": "a: |\n  one\n  two\nb: >-\n  folded\n  text\nc: {x: [1, {y: z}]}\n",
    "documents": "---\na: 1\n---\n---\n- b\n...\n",
    "duplicate keys": "a: 1\na: 2\n",
    "scalar keys": "1: one\ntrue: yes\n~: nothing\n2024-01-01: day\n",
    "unicode": 'name: café\nemoji: "\\U0001F600"\n',
    "empty": "",
    "comments only": "# nothing here\n",
}


@pytest.mark.parametrize("text", PLAIN.values(), ids=PLAIN.keys())
def test_plain_text_builds_what_pyyaml_builds(text: str) -> None:
    built = plain_documents(text, Scalars())
    assert built is not None
    assert built == _pyyaml(text)
    assert [list(map(type, _walk(doc))) for doc in built] == [
        list(map(type, _walk(doc))) for doc in _pyyaml(text)
    ]


def _walk(value: object) -> list[object]:
    """Every value in a document, depth first (types matter: 1 == True == 1.0)."""
    found = [value]
    children: list[object] = []
    if isinstance(value, dict):
        for item in value.items():
            children.extend(item)
    elif isinstance(value, list):
        children = value
    for child in children:
        found.extend(_walk(child))
    return found


def test_the_timestamp_and_octal_are_pyyaml_s() -> None:
    built = plain_documents("when: 2024-01-01T00:00:00Z\nmode: 0777\n", Scalars())
    assert built == [{"when": datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC), "mode": 511}]


DECLINED = {
    "anchor and alias": "a: &x {b: 1}\nc: *x\n",
    "merge key": "base: &b {x: 1}\nderived:\n  <<: *b\n",
    "merge key without alias": "derived:\n  <<: {x: 1}\n",
    "custom tag": "a: !thing 1\n",
    "binary": "a: !!binary aGVsbG8=\n",
    "set": "a: !!set {x, y}\n",
    "omap": "a: !!omap [x: 1]\n",
    "complex key": "? [a, b]\n: value\n",
    "mapping key": "? {a: b}\n: value\n",
    "bad syntax": "a: [1, 2\n",
    "tab indentation": "a:\n\tb: 1\n",
    "control character": "a: \x07\n",
    "impossible date": "a: 2024-02-30\n",
    "deep": "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
}


@pytest.mark.parametrize("text", DECLINED.values(), ids=DECLINED.keys())
def test_anything_else_is_left_to_pyyaml(text: str) -> None:
    assert plain_documents(text, Scalars()) is None


def test_parse_documents_reports_what_it_always_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "a: 1\n---\nb: [1\n---\nc: 2024-02-30\n---\nd: &x [*x]\n---\ne: !!str 1\n"
    documents, malformed = parse_documents(text, "x.yaml")
    assert documents == [("x.yaml:1", {"a": 1}), ("x.yaml:8", {"e": "1"})]
    assert [where for where, _ in malformed] == ["x.yaml:4", "x.yaml:4", "x.yaml:6"]
    assert malformed[1] == ("x.yaml:4", "could not parse YAML: day is out of range for month")
    monkeypatch.setattr(parsing, "plain_documents", lambda text, scalars: None)
    assert parse_documents(text, "x.yaml") == (documents, malformed)


def test_repeated_texts_share_one_string() -> None:
    scalars = Scalars()
    first = plain_documents("kind: Service\nname: web-application\n", scalars)
    second = plain_documents("kind: Service\nname: web-application\n", scalars)
    assert first is not None and second is not None
    assert first[0]["name"] is second[0]["name"]  # type: ignore[index]


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["yes", "off", "0777", "12:30", "1e3", "~", "", "2024-01-01", "<<", "="]),
)
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.one_of(st.text(max_size=8), st.integers(), st.booleans()), inner, max_size=4
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_DOCUMENTS, st.booleans(), st.sampled_from([None, '"', "'", "|"]))
def test_any_dumped_document_reads_back_as_pyyaml_reads_it(
    document: object, flow: bool, style: str | None
) -> None:
    text = yaml.safe_dump(
        document, default_flow_style=flow, default_style=style, allow_unicode=True
    )
    built = plain_documents(text, Scalars())
    expected = _pyyaml(text)
    if built is None:  # only the merge key and the value tag are beyond plain YAML here
        assert "<<" in text or "=" in text
    else:
        assert built == expected
        assert [type(item) for item in _walk(built)] == [type(item) for item in _walk(expected)]


_PIECE_DOCUMENTS = st.one_of(
    _DOCUMENTS.map(lambda document: yaml.safe_dump(document, allow_unicode=True)),
    _DOCUMENTS.map(lambda document: yaml.safe_dump(document, default_flow_style=True)),
    st.sampled_from(["", "a: 1\n", "- a\n", "|\n  text\n", "[a, b]\n", "d: |\n  x\n  ---\n"]),
)
_SEPARATORS = st.sampled_from(["---\n", "--- ", "---\t", "---\n# a comment\n", "...\n---\n"])
_NOISE = st.sampled_from(
    [
        "",
        "# a comment\n",
        "\n",
        "----\n",
        "---x: 1\n",
        "...\n",
        "%YAML 1.1\n",
        "a: [1\n",
        "a: 'x\n",
        "b: 2024-02-30\n",
        "c: &x [*x]\n",
        "\r\n",
        'e: "x\n---\ny"\n',
        "k: v\r",
        "l: \x85\n",
        "m: !!binary aGVsbG8=\n",
        "n:\n\t- 1\n",
    ]
)
_STREAMS = st.tuples(
    _NOISE,
    _PIECE_DOCUMENTS,
    st.lists(st.tuples(_SEPARATORS, _PIECE_DOCUMENTS, _NOISE), max_size=5),
).map(lambda parts: parts[0] + parts[1] + "".join("".join(more) for more in parts[2]))


@settings(max_examples=500, deadline=None)
@given(_STREAMS)
@example("%YAML 1.1\n---\na: 1\n")
@example("a: 1\n...\n%YAML 1.1\n---\nb: 2\n")
@example("a: 1\r\r\r\n---\nb: 2\n---\nc: 3\n")
@example("a: 1\x85\x85\n---\nb: 2\n---\nc: 3\n")
def test_a_stream_read_at_once_gives_what_its_pieces_give(text: str) -> None:
    """parse_documents reads a whole YAML text as one stream when it can: the documents,
    their lines and the errors are those of reading it piece by piece, as it did before."""
    at_once = parse_documents(text, "x.yaml")
    original = parsing._one_stream
    try:
        parsing._one_stream = lambda text: False  # type: ignore[assignment]
        by_piece = parse_documents(text, "x.yaml")
    finally:
        parsing._one_stream = original
    assert at_once == by_piece
    assert [list(map(type, _walk(doc))) for _, doc in at_once[0]] == [
        list(map(type, _walk(doc))) for _, doc in by_piece[0]
    ]


def test_a_stream_is_read_at_once_only_when_its_pieces_read_the_same() -> None:
    text = "# one\na: 1\n---\nb: 2\n--- # two\nc: 3\n"
    assert parse_documents(text, "x.yaml") == (
        [("x.yaml:1", {"a": 1}), ("x.yaml:3", {"b": 2}), ("x.yaml:5", {"c": 3})],
        [],
    )
    for declined in ("%YAML 1.1\n---\na: 1\n", "a: 1\r\n", "a: \x85\n"):
        assert not parsing._one_stream(declined)
