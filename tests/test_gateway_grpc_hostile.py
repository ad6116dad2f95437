"""Hostile and malformed GRPCRoutes: never a traceback, never an added directive.

Fields of the GRPCRoute golden cases are replaced, one at a time, by values of the wrong
shape, and rendered: always a message, never a traceback. Values built to break out of their
token (quotes, braces, semicolons, ``$``, line breaks) in service and method matches (Exact
and RegularExpression), header matches, header filters and mirror shares either are refused
with a message or stay one quoted token: nginx accepts the config and it holds no directive a
plain route would not have.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e import manifest_text
from gateway_objects import backend_ref, gateway, grpc_route, listener, method_match, parent
from gateway_objects import route_rule as rule
from golden_cases import run_cli
from test_gateway_hostile import HOSTILE, _directives, _servers, wrong_shapes_end_in_messages

from ingress2nginx.apply.applying import validate_structure, validate_with_nginx

GOLDEN = Path(__file__).parent / "golden"
CASES = ("gateway-grpc", "gateway-grpc-backends", "gateway-grpc-listeners")


def _documents() -> list[Any]:
    return [
        document
        for case in CASES
        for document in yaml.safe_load_all((GOLDEN / case / "gateway.yaml").read_text())
    ]


@pytest.mark.parametrize("seed", range(3))
def test_fields_of_the_wrong_shape_end_in_a_message_never_a_traceback(seed: int) -> None:
    wrong_shapes_end_in_messages(_documents(), seed)


def _route(value: str) -> dict[str, Any]:
    modify = {
        "type": "RequestHeaderModifier",
        "requestHeaderModifier": {"set": [{"name": "X-Set", "value": value}]},
    }
    mirror = {
        "type": "RequestMirror",
        "requestMirror": {"backendRef": backend_ref("copy"), "percent": value},
    }
    rules = [
        rule([method_match(value, "M")], [backend_ref("web")]),
        rule([method_match("s.S", value)], [backend_ref("web")]),
        rule([method_match(value, kind="RegularExpression")], [backend_ref("web")]),
        rule([method_match(method=value, kind="RegularExpression")], [backend_ref("web")]),
        rule([method_match("h.H", headers=[{"name": "x-probe", "value": value}])],
             [backend_ref("web")]),
        rule([method_match("f.F")], [backend_ref("web")], filters=[modify]),
        rule([method_match("m.M")], [backend_ref("web")], filters=[mirror]),
    ]  # fmt: skip
    return grpc_route("hostile", parents=[parent("edge")], hostnames=["hostile.test"], rules=rules)


@pytest.mark.parametrize("value", HOSTILE)
def test_values_built_to_break_out_stay_one_token_or_are_refused(
    value: str, nginx_binary: str
) -> None:
    listeners = [listener("https", 443, secret="absent-tls")]
    objects = [gateway("edge", class_name="nginx", listeners=listeners), _route(value)]
    with tempfile.TemporaryDirectory() as runtime:
        rendered = run_cli(["render", "-", "--runtime-dir", runtime], manifest_text(objects))
        assert "Traceback" not in rendered.messages
        assert rendered.code in (0, 1), rendered.messages
        validate_structure(rendered.config)
        validate_with_nginx(rendered.config, nginx_binary)
    directives = _directives(rendered.config)
    assert ("return", "200") not in {(name, args[0]) for name, args in directives if args}
    assert ("listen", ("9",)) not in directives
    assert _servers(directives) == 2, "the catch-all and hostile.test, no other"
