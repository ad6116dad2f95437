"""rapid_yaml.py returns exactly what PyYAML's C loader builds, or declines and lets it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ingress2nginx import parsing
from ingress2nginx.plain_yaml import Scalars
from ingress2nginx.rapid_yaml import rapid_documents
from tests.test_plain_yaml import PLAIN, _walk

pytest.importorskip("ryml")

ROOT = Path(__file__).resolve().parent.parent


def _pyyaml(text: str) -> list[object]:
    return list(yaml.load_all(text, Loader=yaml.CSafeLoader))


def _same_as_pyyaml(text: str) -> bool:
    """Whether rapid_documents declined the text or built exactly PyYAML's documents."""
    built = rapid_documents(text, Scalars())
    if built is None:
        return True
    expected = _pyyaml(text)
    return built == expected and [list(map(type, _walk(d))) for d in built] == [
        list(map(type, _walk(d))) for d in expected
    ]


@pytest.mark.parametrize("text", PLAIN.values(), ids=PLAIN.keys())
def test_plain_text_is_pyyamls_or_declined(text: str) -> None:
    assert _same_as_pyyaml(text)


def test_a_manifest_is_read_fast_with_quoted_timestamps_and_labels() -> None:
    text = (
        "kind: Secret\nmetadata:\n  name: a\n  creationTimestamp: '2024-06-01T00:00:00Z'\n"
        "  labels:\n    x: 'true'\n    port: \"80\"\n  annotations:\n    a: ''\n  finalizers: []\n"
        "data:\n  tls.crt: QUJD\n"
    )
    built = rapid_documents(text, Scalars())
    assert built is not None and built == _pyyaml(text)


HOSTILE = {
    "control character": "a: b\x01c\n",
    "tab as indentation": "a:\n\t- b\n",
    "tab after a colon": "a:\tb\n",
    "impossible date": "a: 2024-02-30\n",
    "self-referencing alias": "a: &x [1, *x]\n",
    "billion laughs": "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
    "explicit tag": "a: !!str 0777\nb: !!int 3\n",
    "merge key": "base: &b {x: 1}\nd: {<<: *b}\n",
    "complex key": "? [a]\n: b\n",
    "unquoted timestamp": "t: 2024-06-01T00:00:00Z\nu: '2024-06-01T00:00:00Z'\n",
    "folded plain timestamp": "a: '2024-06-01 00:00:00'\nb: 2024-06-01\n  00:00:00\nc: |\n  true\n",
    "quoted in a plain scalar": "a: x 'yes' y\nb: yes\n",
    "float": "a: 1.\nb: 1.5e3\n",
    "unquoted empty and quoted empty": "a:\nb: ''\n",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_or_unusual_text_is_pyyamls_or_declined(text: str) -> None:
    assert _same_as_pyyaml(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: b\x01c\n",
        "a:\n\t- b\n",
        "a: 2024-02-30\n",
        "a: &x [1, *x]\n",
        "a: &a [x, x]\nb: [*a, *a]\n",
        "a: [1\n",
        ": 'yes'\n",
        "\r1",
        "}",
        "| -",
        "[:",
        "|\n1",
        "{:1}",
    ],
)
def test_what_pyyaml_refuses_or_walks_specially_is_declined(text: str) -> None:
    assert rapid_documents(text, Scalars()) is None


def _repository_yaml() -> list[Path]:
    folders = [ROOT / "tests" / "golden", ROOT / "tests" / "corpus", ROOT / "samples"]
    folders.append(ROOT / "tests" / "security_corpus")
    return sorted(p for f in folders if f.exists() for p in f.rglob("*.y*ml"))


def test_every_yaml_file_of_the_repository_reads_as_pyyaml_reads_it() -> None:
    files = _repository_yaml()
    assert len(files) > 20
    read_fast = 0
    for path in files:
        text = parsing.decode(path.read_bytes())
        for _line, chunk in parsing._yaml_chunks(text):
            try:
                _pyyaml(chunk)
            except Exception:
                assert rapid_documents(chunk, Scalars()) is None, path
                continue
            assert _same_as_pyyaml(chunk), path
            read_fast += rapid_documents(chunk, Scalars()) is not None
    assert read_fast > 20


TEXTS = st.sampled_from(
    ["yes", "No", "on", "off", "true", "False", "~", "null", "", "0777", "0x1F", "1_000",
     "12:30", "-3", "+4", "1e3", "1.5", ".inf", "2024-02-01", "2024-02-30", "x y", "a:b",
     "80", "0", "-0", "web", "/api", "*.example.test", "a#b", "é", "=", "<<", "- x"]
)  # fmt: skip
QUOTES = st.sampled_from(["{}", "'{}'", '"{}"'])


@st.composite
def documents(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        key = draw(QUOTES).format(draw(TEXTS))
        indent = "  " * draw(st.integers(0, 1))
        if draw(st.booleans()):
            items = ", ".join(
                draw(QUOTES).format(draw(TEXTS)) for _ in range(draw(st.integers(0, 3)))
            )
            lines.append(f"{indent}{key}: [{items}]")
        else:
            lines.append(f"{indent}{key}: {draw(QUOTES).format(draw(TEXTS))}")
    return "\n".join(lines) + "\n"


@settings(max_examples=int(os.environ.get("RAPID_YAML_EXAMPLES", "300")), deadline=None)
@given(documents())
def test_generated_documents_read_as_pyyaml_reads_them(text: str) -> None:
    try:
        _pyyaml(text)
    except Exception:
        assert rapid_documents(text, Scalars()) is None
        return
    assert _same_as_pyyaml(text)


@settings(max_examples=int(os.environ.get("RAPID_YAML_EXAMPLES", "300")), deadline=None)
@given(st.text(alphabet=list(": -[]{},'\"#|>\n\r\t ab1y.\\é?&*!%~0\x85"), max_size=40))
def test_yaml_like_noise_reads_as_pyyaml_reads_it_or_is_declined(text: str) -> None:
    try:
        _pyyaml(text)
    except Exception:
        assert rapid_documents(text, Scalars()) is None
        return
    assert _same_as_pyyaml(text)


VALUES = st.recursive(
    st.one_of(TEXTS, st.text(max_size=12), st.integers(), st.booleans(), st.none()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXTS, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=int(os.environ.get("RAPID_YAML_EXAMPLES", "300")), deadline=None)
@given(VALUES, st.sampled_from([None, True, False]), st.integers(10, 80))
def test_what_pyyaml_writes_reads_as_pyyaml_reads_it(
    value: object, flow: object, width: int
) -> None:
    text = yaml.safe_dump(value, default_flow_style=flow, width=width, allow_unicode=True)
    assert _same_as_pyyaml(text)
