"""Any two annotations on one Ingress give a config nginx accepts.

Features add to the server as well as to the location (internal auth locations, error-page
locations, zones); two annotations can disagree about which locations carry what, as when a
redirect answers every path itself while auth-url's sign-in location still expects the
variables an authenticated location sets — and nginx refuses the whole config. Every pair of
registered annotations (with a benign value each, and their companions) goes through the real
``nginx -t`` here.
"""

from __future__ import annotations

import pytest
from fuzz_pipeline import nginx_accepts, run_objects
from test_security_hostile import PARSED, PREFIX, Tenant, all_objects, companions, valid_examples

MAIN = [name for name in PARSED if not name.startswith("canary")]
"""Annotations of the main Ingress (canary-* act on the canary one)."""


def _tenant(*chosen: tuple[str, str]) -> Tenant:
    annotations: dict[str, str] = {}
    for name, _ in chosen:
        annotations.update({f"{PREFIX}{key}": value for key, value in companions(name).items()})
    annotations.update({f"{PREFIX}{name}": value for name, value in chosen})
    return Tenant(annotations=tuple(sorted(annotations.items())))


@pytest.mark.parametrize("first", MAIN)
def test_every_pair_of_annotations_gives_a_config_nginx_accepts(
    first: str, nginx_binary: str
) -> None:
    refused = []
    for second in (name for name in MAIN if name > first):
        chosen = ((first, valid_examples(first)[0]), (second, valid_examples(second)[0]))
        run = run_objects(all_objects(_tenant(*chosen)))
        accepted, output = nginx_accepts(run)
        if not accepted:
            refused.append(f"{chosen}: {output.strip().splitlines()[0]}")
    assert not refused, "\n".join(refused)
