"""The garbage collector around the pipeline (collecting.py): paused, frozen, collected.

Only states are checked (enabled or not, frozen or not, collected or not), never timings.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from ingress2nginx.core.collecting import PassCollector, collector_paused


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    """Leave the collector as the test found it: enabled, nothing frozen."""
    yield
    gc.unfreeze()
    gc.enable()


def test_the_collector_is_off_inside_and_back_on_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_back_on_even_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError), collector_paused(freeze=True):
        raise RuntimeError("a failed pass")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_freezing_puts_what_is_alive_out_of_the_collectors_sight() -> None:
    gc.unfreeze()
    with collector_paused(freeze=True):
        kept = [[index] for index in range(1000)]
    assert gc.get_freeze_count() >= len(kept)


def test_watch_passes_are_frozen_and_every_nth_is_followed_by_a_full_collection() -> None:
    collector = PassCollector(every=3)
    ran = []
    for _ in range(6):
        with collector.paused():
            assert not gc.isenabled()
        assert gc.get_freeze_count() > 0
        ran.append(collector.after_pass())
        if ran[-1]:
            assert gc.get_freeze_count() == 0
    assert ran == [False, False, True, False, False, True]


class _Node:
    partner: object = None


def test_a_reference_cycle_made_in_a_pass_lives_until_the_periodic_collection() -> None:
    collector = PassCollector(every=2)
    with collector.paused():
        node = _Node()
        node.partner = node
        alive = weakref.ref(node)
        del node
    collector.after_pass()
    gc.collect()  # frozen: even a full collection leaves it
    assert alive() is not None
    with collector.paused():
        pass
    assert collector.after_pass()
    assert alive() is None
