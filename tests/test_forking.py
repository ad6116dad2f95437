"""Work shared with forked children gives what doing it here gives, errors included."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ingress2nginx.core.forking import forked_map, started
from ingress2nginx.core.objects import Inventory
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.normalizing import normalize
from ingress2nginx.render import rendering
from ingress2nginx.render.rendering import Renderer
from ingress2nginx.sources.loading import load_text


def _square_and_pid(number: int) -> tuple[int, int]:
    return number * number, os.getpid()


def test_items_are_mapped_in_order_by_this_process_and_its_children() -> None:
    found = forked_map(_square_and_pid, list(range(10)), 3)
    assert [square for square, _ in found] == [n * n for n in range(10)]
    assert len({pid for _, pid in found}) == 3
    assert found[0][1] == os.getpid()


def _fails_in_children(number: int) -> int:
    if number >= 5 and os.getpid() != PARENT:
        raise RuntimeError("only in a child")
    return number


PARENT = os.getpid()


def test_a_child_that_fails_has_its_share_done_here() -> None:
    assert os.getpid() == PARENT
    assert forked_map(_fails_in_children, list(range(10)), 2) == list(range(10))


def _refuses_seven(number: int) -> int:
    if number == 7:
        raise ValueError("seven")
    return number


def test_an_error_is_raised_here_as_without_children() -> None:
    with pytest.raises(ValueError, match="seven"):
        forked_map(_refuses_seven, list(range(10)), 2)
    with pytest.raises(ValueError, match="seven"):
        forked_map(_refuses_seven, list(range(10)), 4)


def test_a_process_with_threads_does_the_work_itself() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        found = forked_map(_square_and_pid, list(range(6)), 3)
    finally:
        release.set()
        thread.join()
    assert {pid for _, pid in found} == {os.getpid()}


def test_started_work_is_done_by_the_time_it_is_waited_for(tmp_path: Path) -> None:
    marker = tmp_path / "done"

    def work() -> None:
        marker.write_text(str(os.getpid()))

    started(work)()
    assert marker.read_text() != str(os.getpid())  # written by the child


def test_started_work_that_fails_in_the_child_is_done_here(tmp_path: Path) -> None:
    parent = os.getpid()
    marker = tmp_path / "done"

    def work() -> None:
        if os.getpid() != parent:
            os._exit(3)
        marker.write_text("here")

    started(work)()
    assert marker.read_text() == "here"


def _hosts(count: int) -> str:
    return "".join(
        f"""---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: app-{n}, namespace: default}}
spec:
  ingressClassName: nginx
  rules:
  - host: app-{n}.example.test
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
"""
        for n in range(count)
    )


def test_a_config_rendered_with_workers_is_the_same_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rendering, "MIN_SHARED_SERVERS", 2)
    shared: list[int] = []

    def spied(function: Callable[[Any], str], items: list[Any], workers: int) -> list[str]:
        shared.append(workers)
        return forked_map(function, items, workers)

    monkeypatch.setattr(rendering, "forked_map", spied)
    inventory = Inventory.build(load_text(_hosts(40), "hosts.yaml").manifests)
    config = normalize(inventory, Settings()).config
    assert len(config.servers) == 41
    assert Renderer(Settings()).render(config, workers=3) == Renderer(Settings()).render(config)
    assert shared == [3, 1]
