"""Files parsed by worker processes load exactly as files parsed by the loader itself."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from ingress2nginx.core.errors import SourceError
from ingress2nginx.sources import loading, pooling
from ingress2nginx.sources.loading import LoadResult, load_sources
from ingress2nginx.sources.pooling import parse_in_workers

INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {name}
  namespace: {namespace}
spec:
  rules:
  - host: {name}.example.test
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
"""


@pytest.fixture(autouse=True)
def _any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pooling, "MIN_BYTES", 0)  # small test inputs use the workers too


def _cluster(root: Path) -> list[str]:
    """A folder of several files: good ones, a malformed document, an unreadable file, a
    link to a file read already, a subfolder, and a JSON file."""
    for index in range(6):
        documents = [INGRESS.format(name=f"web-{index}-{n}", namespace=f"team-{index}")
                     for n in range(3)]  # fmt: skip
        (root / f"team-{index}.yaml").write_text("---\n".join(documents))
    (root / "broken.yaml").write_text(INGRESS.format(name="ok", namespace="x") + "---\na: [1\n")
    (root / "sub").mkdir()
    (root / "sub" / "more.yaml").write_text(INGRESS.format(name="deep", namespace="sub"))
    (root / "sub" / "list.json").write_text('{"kind": "List", "items": []}')
    (root / "again.yaml").symlink_to(root / "team-0.yaml")
    unreadable = root / "secret.yaml"
    unreadable.write_text(INGRESS.format(name="hidden", namespace="x"))
    unreadable.chmod(0)
    return [str(root), str(root / "team-1.yaml"), str(root / "missing")]


def _load(sources: list[str], workers: int) -> LoadResult:
    return load_sources(sources, unreadable="report", workers=workers)


def test_a_folder_loads_the_same_with_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = _cluster(tmp_path)
    pooled_files: list[int] = []

    def spied(*args: Any) -> dict[str, Any]:
        parsed = parse_in_workers(*args)
        pooled_files.append(len(parsed))
        return parsed

    monkeypatch.setattr(loading, "parse_in_workers", spied)
    alone, pooled = _load(sources, 1), _load(sources, 3)

    assert pooled_files == [10]  # every file but the missing source, the link read once

    assert [(m.kind, m.key, m.origin, m.body) for m in pooled.manifests] == [
        (m.kind, m.key, m.origin, m.body) for m in alone.manifests
    ]
    assert pooled.problems == alone.problems
    assert len(alone.manifests) == 3 * 6 + 2 + (os.geteuid() == 0)  # root reads secret.yaml
    assert any("could not parse YAML" in problem.reason for problem in alone.problems)
    assert any(problem.subject == sources[2] for problem in alone.problems)


def test_an_unreadable_source_still_raises_with_workers(tmp_path: Path) -> None:
    sources = _cluster(tmp_path)
    if os.geteuid() != 0:  # root reads every file: only the missing source fails then
        with pytest.raises(SourceError, match=r"secret\.yaml"):
            load_sources(sources[:1], workers=3)
    with pytest.raises(SourceError, match="missing"):
        load_sources(sources, workers=3)


def _process(path: str) -> tuple[str, int]:
    return path, os.getpid()


def test_the_files_are_parsed_in_other_processes(tmp_path: Path) -> None:
    paths = [str(tmp_path / f"{index}.yaml") for index in range(8)]

    parsed = parse_in_workers(paths, _process, 2)

    assert list(parsed) == paths
    assert [path for path, _ in parsed.values()] == paths
    assert os.getpid() not in {pid for _, pid in parsed.values()}


def test_no_worker_is_started_for_one_file_or_in_a_process_with_threads(
    tmp_path: Path,
) -> None:
    assert parse_in_workers([str(tmp_path / "one.yaml")], _process, 4) == {}
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert parse_in_workers([str(tmp_path / f"{n}.yaml") for n in range(4)], _process, 4) == {}
    finally:
        release.set()
        thread.join()


def _fails(path: str) -> str:
    raise RuntimeError(path)


def test_a_worker_that_fails_leaves_the_file_to_the_loader(tmp_path: Path) -> None:
    paths = [str(tmp_path / f"{index}.yaml") for index in range(4)]

    assert parse_in_workers(paths, _fails, 2) == {}
