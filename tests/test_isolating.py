"""Finding the Ingresses nginx refuses (isolating.py), and ``render --validate`` leaving them out.

The search is tried against small worlds whose refusals follow the rules nginx's do (a config
fails while any culprit is in it, naming the line of the first one, or no line at all, as a
``--validate-command`` may); then ``render --validate`` is run against real nginx with trusted
snippets nginx refuses, and the config it writes is served by nginx.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from e2e import echo_service, ingress, path, rule, serving, started_backends, to

from ingress2nginx.apply.isolating import MAX_RUNS, Budget, Key, Outcome, isolate, suspect_at

SNIPPETS = ("--allow-snippet-annotations", "--snippet-namespace", "default")


@dataclass
class World:
    """Ingresses rendered one location each, under a comment naming them; a config fails
    while a culprit is in it."""

    names: list[str]
    culprits: set[str]
    lines: bool = True
    """Whether refusals name the line (nginx -t does; a custom validate command may not)."""
    runs: int = 0

    def text(self, excluded: frozenset[Key]) -> str:
        lines = ["http {", "    server {"]
        for name in self.names:
            if ("default", name) not in excluded:
                lines += [f"        # default/{name} spec.rules[0]", f"        location /{name} {{"]
                lines += ["            bogus;" if name in self.culprits else "            ok;"]
                lines += ["        }"]
        return "\n".join([*lines, "    }", "}"]) + "\n"

    def trial(self, excluded: frozenset[Key]) -> Outcome:
        self.runs += 1
        text = self.text(excluded)
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip() == "bogus;":
                where = f" in /conf/nginx.conf:{number}" if self.lines else ""
                return Outcome(f'[emerg] unknown directive "bogus"{where}', text)
        return Outcome(None, text)

    def first(self) -> Outcome:
        self.runs -= 1  # the failed apply, not a trial
        return self.trial(frozenset())


def keys(*names: str) -> list[Key]:
    return [("default", name) for name in names]


def test_the_line_nginx_names_finds_each_culprit_in_one_run() -> None:
    world = World([f"app{n}" for n in range(50)], {"app7", "app31"})
    found = isolate(world.first(), world.trial, [keys(*world.names)])
    assert found is not None
    assert set(found.culprits) == set(keys("app7", "app31"))
    assert "unknown directive" in found.culprits[("default", "app7")]
    assert found.passed.refusal is None and world.runs == 2


def test_without_a_line_bisection_finds_the_culprits_within_the_budget() -> None:
    world = World([f"app{n}" for n in range(40)], {"app3", "app29"}, lines=False)
    found = isolate(world.first(), world.trial, [keys(*world.names)])
    assert found is not None
    assert set(found.culprits) == set(keys("app3", "app29"))
    assert world.runs <= MAX_RUNS and found.runs == world.runs


def test_the_changed_ingresses_are_searched_before_all_of_them() -> None:
    world = World([f"app{n}" for n in range(64)], {"app60"}, lines=False)
    found = isolate(world.first(), world.trial, [keys("app59", "app60"), keys(*world.names)])
    assert found is not None and set(found.culprits) == set(keys("app60"))
    assert world.runs == 3  # both changed out, then each half


def test_the_search_gives_up_when_the_budget_is_spent() -> None:
    culprits = {f"app{n}" for n in range(0, 100, 9)}
    world = World([f"app{n}" for n in range(100)], culprits, lines=False)
    assert isolate(world.first(), world.trial, [keys(*world.names)]) is None
    assert world.runs == MAX_RUNS
    world = World([f"app{n}" for n in range(10)], {"app1"}, lines=False)
    assert isolate(world.first(), world.trial, [keys(*world.names)], Budget(seconds=-1)) is None


def test_a_refusal_no_ingress_causes_is_not_pinned_on_one() -> None:
    def always_refused(excluded: frozenset[Key]) -> Outcome:
        return Outcome("[emerg] bind() to 127.0.0.1:80 failed", "http {\n}\n")

    assert isolate(always_refused(frozenset()), always_refused, [keys("a", "b")]) is None


def test_the_suspect_is_the_ingress_named_nearest_above_the_line_in_its_block() -> None:
    text = "\n".join([
        "http {", "    server {", "        # default/a spec.rules[0]", "        location / {",
        "            # configuration-snippet of shop/b", "            bogus;", "        }", "    }",
        "    server {", "        listen 80;", "    }", "}",
    ])  # fmt: skip
    assert suspect_at(text, "unknown directive in /x/nginx.conf:6") == ("shop", "b")
    assert suspect_at(text, "unknown directive in /x/nginx.conf:4") == ("default", "a")
    assert suspect_at(text, "crossplane: line 10: bad") is None  # a server without Ingress
    assert suspect_at(text, "no line here") is None


@pytest.mark.nginx
def test_render_validate_leaves_out_the_ingresses_nginx_refuses_names_them_and_exits_3(
    nginx_binary: str,
) -> None:
    refused_location = ingress("loc", rules=[rule("loc.test", path("/", to("web")))])
    refused_location["metadata"]["annotations"] = {
        "nginx.ingress.kubernetes.io/configuration-snippet": "bogus_directive on;"
    }
    refused_server = ingress("srv", rules=[rule("srv.test", path("/", to("web")))])
    refused_server["metadata"]["annotations"] = {
        "nginx.ingress.kubernetes.io/server-snippet": "listen_twice on;"
    }
    with started_backends("web") as echo:
        good = ingress("good", rules=[rule("good.test", path("/", to("web")))])
        objects = [*echo_service(echo["web"]), refused_location, good, refused_server]
        with serving(
            objects, "--validate", *SNIPPETS, binary=nginx_binary, expected_code=3
        ) as site:
            assert site.served_by("/", "good.test") == "web"
            assert site.served_by("/", "loc.test") is None
            assert site.served_by("/", "srv.test") is None
            messages = site.messages
    refused = [line for line in messages.splitlines() if "nginx refused" in line]
    assert len(refused) == 2, messages
    assert any(
        "ingress default/loc" in line and 'unknown directive "bogus_directive"' in line
        for line in refused
    )
    assert any(
        "ingress default/srv" in line and 'unknown directive "listen_twice"' in line
        for line in refused
    )
    assert "note: the config passed nginx -t" in messages
