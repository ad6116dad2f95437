"""Edge values of every annotation give a config nginx accepts, with every neighbour served.

The hostile-input properties (test_security_hostile.py) send a sample of their outputs
through ``nginx -t``; values at the edges of an allowlist — 0, the largest number nginx
takes and one more, sizes with and without units — are where an accepted value still made
nginx refuse the whole config (``limit_req burst=0``, ``limit_conn 65536``,
``proxy_max_temp_file_size 1g``, ``split_clients 0%``). Here each of them goes through the
real ``nginx -t``, every time.
"""

from __future__ import annotations

import pytest
from fuzz_pipeline import checked, nginx_accepts, run_objects, server_block
from test_security_hostile import (
    PARSED,
    VICTIM_HOST,
    all_objects,
    annotation_tenant,
    victim_reference,
)

EDGES = ("0", "1", "-1", "65535", "65536", "1000000", "2147483648", "1g", "1024m", "4k", "")
"""Numbers around nginx's limits (connections, percentages, int32), sizes with units."""


@pytest.mark.parametrize("annotation", PARSED)
def test_edge_values_of_every_annotation_give_a_config_nginx_accepts(
    annotation: str, nginx_binary: str
) -> None:
    refused = []
    for value in EDGES:
        run = run_objects(all_objects(annotation_tenant(annotation, value)))
        nodes, problems = checked(run)
        assert not problems, f"{annotation}={value!r}: {problems}"
        assert server_block(nodes, VICTIM_HOST) == victim_reference()[0], annotation
        accepted, output = nginx_accepts(run)
        if not accepted:
            refused.append(f"{annotation}={value!r}: {output.strip()}")
    assert not refused, "\n".join(refused)
