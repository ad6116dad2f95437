"""Bounded fuzzing of the loader, normalizer and renderer: no input makes them crash.

Four generators feed the whole pipeline (`fuzz_pipeline.check_any_input`: it must not raise,
and its output must keep every invariant of `fuzz_pipeline.violations`):

- raw bytes given as stdin (decoding, BOMs, UTF-16, invalid UTF-8);
- YAML-ish text assembled from YAML's own syntax (anchors, aliases, tags, flow collections,
  document markers, block scalars, odd indentation) and Kubernetes keys;
- arbitrary JSON values, and Kubernetes-shaped objects whose every field is arbitrary JSON;
- the golden inputs (tests/golden/*) and the security corpus, with one field replaced by an
  arbitrary JSON value or deleted — the structure-aware mutation that reaches deepest.

Each runs a few seconds in CI. ``HYPOTHESIS_PROFILE=deep`` multiplies the examples by 25;
``python tests/fuzz_pipeline.py --seconds N`` loops over these properties for N seconds, and
``--atheris`` runs a coverage-guided session (docs/security.md).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml
from fuzz_pipeline import (
    API_VERSIONS,
    KINDS,
    check_any_input,
    run_objects,
    run_stdin_bytes,
    run_text,
    scaled,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TESTS = Path(__file__).parent
FUZZ = settings(
    max_examples=scaled(60),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --------------------------------------------------------------------------- inputs

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

K8S_KEYS = (
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "annotations",
    "labels",
    "uid",
    "creationTimestamp",
    "spec",
    "rules",
    "host",
    "http",
    "paths",
    "path",
    "pathType",
    "backend",
    "service",
    "port",
    "number",
    "tls",
    "hosts",
    "secretName",
    "defaultBackend",
    "ingressClassName",
    "items",
    "ports",
    "targetPort",
    "endpoints",
    "addresses",
    "conditions",
    "ready",
    "addressType",
    "type",
    "data",
    "stringData",
    "externalName",
    "subsets",
    "controller",
    "resource",
)

YAML_PIECES = (
    "---",
    "...",
    "%YAML 1.1",
    "%TAG ! tag:x:",
    "&a",
    "*a",
    "<<: *a",
    "!!binary",
    "!!str",
    "!!int",
    "!!float",
    "!!timestamp",
    "!!python/object:os.system",
    "!!set",
    "!!omap",
    "? ",
    ": ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "|",
    ">-",
    "'",
    '"',
    "#",
    "\t",
    "\\",
    "~",
    "null",
    "true",
    "no",
    "0x1F",
    "0o17",
    "1e309",
    ".nan",
    "2024-02-30",
    "2024-02-29T25:00:00Z",
    "&b [*b]",
    "&c {x: *c}",
    "\ufeff",
    "\x00",
    "\x85",
    "\u2028",
    "=",
    "@",
    "`",
)

yaml_lines = st.lists(
    st.tuples(
        st.integers(0, 6),
        st.lists(
            st.one_of(
                st.sampled_from(YAML_PIECES),
                st.sampled_from(K8S_KEYS).map(lambda key: f"{key}:"),
                st.sampled_from(
                    (
                        "Ingress",
                        "Service",
                        "List",
                        "IngressList",
                        "Secret",
                        "EndpointSlice",
                        "networking.k8s.io/v1",
                        "v1",
                    )
                ),
                st.text(max_size=6),
            ),
            max_size=5,
        ),
    ),
    max_size=25,
).map(lambda lines: "\n".join(" " * indent + " ".join(words) for indent, words in lines))
"""Text shaped like YAML and like Kubernetes manifests, usually not quite either."""


def k8s_objects() -> st.SearchStrategy[dict[str, Any]]:
    """A Kubernetes-looking object of a kind this program reads, any JSON inside."""
    return st.sampled_from(KINDS).flatmap(
        lambda kind: st.fixed_dictionaries(
            {
                "kind": st.just(kind),
                "apiVersion": st.sampled_from(API_VERSIONS[kind]),
                "metadata": st.one_of(
                    json_values,
                    st.fixed_dictionaries(
                        {"name": json_scalars, "namespace": json_scalars},
                        optional={
                            "annotations": json_values,
                            "labels": json_values,
                            "uid": json_values,
                            "creationTimestamp": json_values,
                        },
                    ),
                ),
            },
            optional={
                "spec": json_values,
                "data": json_values,
                "type": json_values,
                "endpoints": json_values,
                "ports": json_values,
                "addressType": json_values,
                "subsets": json_values,
            },
        )
    )


def _seed_documents() -> list[dict[str, Any]]:
    """Valid manifests to mutate: the golden inputs and the security corpus."""
    documents: list[dict[str, Any]] = []
    for file in sorted((TESTS / "golden").glob("*/*.y*ml")) + sorted(
        (TESTS / "security_corpus").glob("cve-*.yaml")
    ):
        try:
            documents += [d for d in yaml.safe_load_all(file.read_text()) if isinstance(d, dict)]
        except yaml.YAMLError:
            continue
    return documents


SEEDS = _seed_documents()


def _locations(value: Any, trail: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a document."""
    found = [trail]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _locations(child, (*trail, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _locations(child, (*trail, index))
    return found


@st.composite
def mutated_seeds(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A few seed documents, one of them with one value replaced by any JSON, or deleted."""
    chosen = draw(st.lists(st.sampled_from(SEEDS), min_size=1, max_size=4))
    documents = copy.deepcopy(chosen)
    target = draw(st.sampled_from(documents))
    trail = draw(st.sampled_from(_locations(target)[1:] or [()]))
    if not trail:
        return documents
    parent = target
    for step in trail[:-1]:
        parent = parent[step]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[trail[-1]]
    else:
        parent[trail[-1]] = draw(json_values)
    return documents


# --------------------------------------------------------------------------- properties


def test_the_seeds_are_many() -> None:
    """Sanity: the mutation fuzzer has valid manifests to start from."""
    assert len(SEEDS) >= 20


@FUZZ
@given(data=st.binary(max_size=2048))
def test_raw_bytes_on_stdin_never_crash(data: bytes) -> None:
    check_any_input(lambda: run_stdin_bytes(data))


@FUZZ
@given(prefix=st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]), text=yaml_lines)
def test_encoded_yaml_on_stdin_never_crashes(prefix: bytes, text: str) -> None:
    encoding = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}.get(prefix, "utf-8")
    data = prefix + text.encode(encoding, "surrogatepass")
    check_any_input(lambda: run_stdin_bytes(data))


@FUZZ
@given(text=yaml_lines)
def test_yaml_ish_text_never_crashes(text: str) -> None:
    check_any_input(lambda: run_text(text, "input.yaml"))


@FUZZ
@given(value=json_values)
def test_any_json_value_never_crashes(value: Any) -> None:
    check_any_input(lambda: run_text(json.dumps(value), "input.json"))


@FUZZ
@given(objects=st.lists(k8s_objects(), max_size=6), wrap=st.booleans())
def test_kubernetes_shaped_objects_with_any_fields_never_crash(
    objects: list[dict[str, Any]], wrap: bool
) -> None:
    documents: list[Any] = (
        [{"apiVersion": "v1", "kind": "List", "items": objects}] if wrap else objects
    )
    check_any_input(lambda: run_objects(documents))


@FUZZ
@given(documents=mutated_seeds())
def test_valid_manifests_with_one_field_changed_never_crash(documents: list[Any]) -> None:
    check_any_input(lambda: run_objects(documents))


@FUZZ
@given(documents=mutated_seeds())
def test_mutated_manifests_as_yaml_never_crash(documents: list[Any]) -> None:
    text = yaml.safe_dump_all(documents, allow_unicode=True)
    check_any_input(lambda: run_text(text, "input.yaml"))
