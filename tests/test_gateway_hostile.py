"""Hostile and malformed Gateway API input: never a traceback, never an added directive.

Every field of the gateway golden cases is replaced, one at a time, by values of the wrong
shape (a number for a list, a mapping for a name...) and the result is rendered: the command
always ends with a message, never a traceback. Values built to break out of their token
(quotes, braces, semicolons, ``$``, line breaks) in header and query matches, redirects and
rewrites either are refused with a message or stay one quoted token: nginx accepts the
config and it holds no directive a plain route would not have.
"""

from __future__ import annotations

import copy
import random
import tempfile
from pathlib import Path
from typing import Any

import crossplane
import pytest
import yaml
from e2e import manifest_text
from gateway_objects import backend_ref, gateway, http_route, listener, parent, path_match
from gateway_objects import route_rule as rule
from golden_cases import run_cli

from ingress2nginx.apply.applying import validate_structure, validate_with_nginx

GOLDEN = Path(__file__).parent / "golden"
CASES = ("gateway-filters", "gateway-matches", "gateway-attachment", "gateway-weights")
JUNK: tuple[Any, ...] = (None, 1, -5, "", [], {}, [1], {"a": 1}, True, "$host", "a\nb",
                         99999999, [None], "*", "/a b", 1.5)  # fmt: skip
HOSTILE = ('x"; return 200 "owned', "x} server { listen 9; }", "a;b", "$request_uri",
           "x\\", "\\\"", "{", "#comment", "a b\tc", "line\nbreak")  # fmt: skip


def _documents() -> list[Any]:
    return [doc for case in CASES for doc in yaml.safe_load_all((GOLDEN / case / "gateway.yaml")
            .read_text())]  # fmt: skip


def _fields(value: Any, where: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [where] if where else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(
        value, list) else ()  # fmt: skip
    for key, item in items:
        found += _fields(item, (*where, key))
    return found


@pytest.mark.parametrize("seed", range(3))
def test_fields_of_the_wrong_shape_end_in_a_message_never_a_traceback(seed: int) -> None:
    wrong_shapes_end_in_messages(_documents(), seed)


def wrong_shapes_end_in_messages(base: list[Any], seed: int) -> None:
    """Render `base` 60 times, each time with one field (chosen by `seed`) replaced by JUNK:
    always a message, never a traceback."""
    chance = random.Random(seed)
    for _ in range(60):
        documents = copy.deepcopy(base)
        document = chance.randrange(len(documents))
        where = chance.choice(_fields(documents[document]))
        target = documents[document]
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = chance.choice(JUNK)
        rendered = run_cli(["render", "-"], manifest_text(documents))
        assert "Traceback" not in rendered.messages, (where, rendered.messages)
        assert rendered.code in (0, 1), (where, rendered.messages)


def _route(value: str) -> dict[str, Any]:
    header = {"name": "X-Probe", "value": value}
    regex = {"name": "X-Regex", "value": value, "type": "RegularExpression"}
    redirect = {"type": "RequestRedirect", "requestRedirect": {"hostname": value}}
    rewrite = {"type": "URLRewrite", "urlRewrite": {"path": {
        "type": "ReplaceFullPath", "replaceFullPath": value}}}  # fmt: skip
    modify = {
        "type": "RequestHeaderModifier",
        "requestHeaderModifier": {
            "set": [{"name": "X-Set", "value": value}],
            "add": [{"name": "X-Add", "value": value}],
        },
    }
    return http_route("hostile", parents=[parent("edge")], hostnames=["hostile.test"], rules=[
        rule([path_match("/h", headers=[header])], [backend_ref("web")]),
        rule([path_match("/r", headers=[regex])], [backend_ref("web")]),
        rule([path_match("/q", queryParams=[{"name": "q", "value": value}])],
             [backend_ref("web")]),
        rule([path_match("/redirect")], filters=[redirect]),
        rule([path_match("/rewrite")], [backend_ref("web")], filters=[rewrite]),
        rule([path_match("/modify")], [backend_ref("web")], filters=[modify]),
        rule([path_match(value)], [backend_ref("web")]),
    ])  # fmt: skip


@pytest.mark.parametrize("value", HOSTILE)
def test_values_built_to_break_out_stay_one_token_or_are_refused(
    value: str, nginx_binary: str
) -> None:
    objects = [gateway("edge", class_name="nginx", listeners=[listener("http", 80)]),
               _route(value)]  # fmt: skip
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


def _directives(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Every directive of the config, depth first, as (name, arguments)."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "nginx.conf"
        path.write_text(text)
        payload = crossplane.parse(str(path), single=True)
    found: list[tuple[str, tuple[str, ...]]] = []

    def walk(block: list[dict[str, Any]]) -> None:
        for item in block:
            found.append((item["directive"], tuple(item["args"])))
            walk(item.get("block") or [])

    walk(payload["config"][0]["parsed"])
    return found


def _servers(directives: list[tuple[str, tuple[str, ...]]]) -> int:
    return sum(1 for name, _ in directives if name == "server")
