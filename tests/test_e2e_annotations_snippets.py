"""Snippet annotations through real nginx: refused unless the command line allows them, and
then only in the namespaces it names; an allowed snippet's directives take effect; a snippet
that would close its block, or use a forbidden directive, is refused with a warning while the
Ingress is still served. The variables ingress-nginx defines for snippets ($namespace,
$service_name...) hold its values; an auth-snippet goes in the auth-url subrequest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from auth_helpers import AuthService
from e2e import Site, echo_service, ingress, path, render, rule, serving, started_backends, to
from harness import EchoBackend

from ingress2nginx.cli.main import main

PREFIX = "nginx.ingress.kubernetes.io/"
ALLOW = ("--allow-snippet-annotations", "--snippet-namespace", "team-a")
HEADER_SNIPPET = "add_header X-Snippet yes;\n"
SERVER_SNIPPET = 'location = /snippet-health {\n    return 200 "snippet ok";\n}\n'
ESCAPE = "}\nserver {\n    listen 8081;\n    location / {\n        return 200 pwned;\n    }\n"


def snippets(**values: str) -> dict[str, str]:
    return {f"{PREFIX}{name.replace('_', '-')}-snippet": text for name, text in values.items()}


def objects(echo: dict[str, EchoBackend]) -> list[dict[str, Any]]:
    return [
        ingress(
            "trusted",
            namespace="team-a",
            rules=[rule("a.test", path("/", to("web")))],
            annotations=snippets(configuration=HEADER_SNIPPET, server=SERVER_SNIPPET),
        ),
        ingress(
            "escape",
            namespace="team-a",
            rules=[rule("escape.test", path("/", to("web")))],
            annotations=snippets(configuration=ESCAPE),
        ),
        ingress(
            "untrusted",
            namespace="team-b",
            rules=[rule("b.test", path("/", to("web")))],
            annotations=snippets(configuration=HEADER_SNIPPET),
        ),
        *echo_service(echo["web"], namespace="team-a"),
        *echo_service(echo["web"], namespace="team-b"),
    ]


@pytest.fixture(scope="module")
def allowed(nginx_binary: str) -> Iterator[Site]:
    with (
        started_backends("web") as echo,
        serving(objects(echo), *ALLOW, binary=nginx_binary) as site,
    ):
        yield site


@pytest.fixture(scope="module")
def default_site(nginx_binary: str) -> Iterator[Site]:
    with started_backends("web") as echo, serving(objects(echo), binary=nginx_binary) as site:
        yield site


def test_snippets_are_refused_by_default_with_a_warning_naming_the_ingress(
    default_site: Site,
) -> None:
    messages = default_site.messages
    for ingress_name, kind in (
        ("team-a/trusted", "configuration"),
        ("team-a/trusted", "server"),
        ("team-b/untrusted", "configuration"),
    ):
        assert (
            f"warning: ingress {ingress_name}: metadata.annotations[{PREFIX}{kind}-snippet]:"
            " refused: snippet annotations are disabled (see --allow-snippet-annotations)"
        ) in messages
    assert "X-Snippet" not in default_site.rendered.config


def test_an_ingress_with_a_refused_snippet_is_still_served(default_site: Site) -> None:
    response = default_site.get("/", host="a.test")
    assert response.backend == "web"
    assert "X-Snippet" not in response.headers
    assert default_site.get("/snippet-health", host="a.test").backend == "web"


def test_an_allowed_configuration_snippet_takes_effect_through_nginx(allowed: Site) -> None:
    response = allowed.get("/page", host="a.test")
    assert response.backend == "web"
    assert response.headers["X-Snippet"] == "yes"


def test_an_allowed_server_snippet_adds_to_the_server(allowed: Site) -> None:
    response = allowed.get("/snippet-health", host="a.test")
    assert (response.status, response.backend, response.text) == (200, None, "snippet ok")


def test_snippets_are_allowed_only_in_the_named_namespaces(allowed: Site) -> None:
    response = allowed.get("/", host="b.test")
    assert response.backend == "web"
    assert "X-Snippet" not in response.headers
    assert (
        f"warning: ingress team-b/untrusted: metadata.annotations[{PREFIX}configuration-snippet]:"
        " refused: namespace team-b is not named by --snippet-namespace; ignored"
    ) in allowed.messages


def test_a_snippet_that_would_close_its_block_is_refused(allowed: Site) -> None:
    assert (
        f"warning: ingress team-a/escape: metadata.annotations[{PREFIX}configuration-snippet]:"
        " refused: a } closes a block the snippet did not open; ignored"
    ) in allowed.messages
    assert "pwned" not in allowed.rendered.config
    assert "8081" not in allowed.rendered.config
    assert allowed.get("/", host="escape.test").backend == "web"


@pytest.mark.parametrize(
    ("snippet", "reason"),
    [
        ("include /etc/passwd;", "the directive 'include' is not allowed"),
        ('"include" /etc/shadow;', "the directive 'include' is not allowed"),
        ("load_module /tmp/evil.so;", "the directive 'load_module' is not allowed"),
        ("content_by_lua_block { os.execute('id') }", "the directive 'content_by_lua_block'"),
        ("perl_set $x 'sub { 1 }';", "the directive 'perl_set' is not allowed"),
        ("js_import evil.js;", "the directive 'js_import' is not allowed"),
        ('add_header X "unterminated;', "a quoted string is never closed"),
        ("add_header X y", "the last statement is not finished"),
        ("if ($a) {", "a { is never closed"),
    ],
)
def test_dangerous_snippets_are_refused_with_the_reason(snippet: str, reason: str) -> None:
    rendered = render(
        [
            ingress(
                "risky",
                namespace="team-a",
                rules=[rule("r.test", path("/", to("web")))],
                annotations=snippets(configuration=snippet),
            )
        ],
        *ALLOW,
    )
    assert rendered.code == 0
    where = f"warning: ingress team-a/risky: metadata.annotations[{PREFIX}configuration-snippet]"
    assert f"{where}: refused: " in rendered.messages
    assert reason in rendered.messages
    assert "configuration-snippet of" not in rendered.config
    assert "server_name r.test;" in rendered.config


@pytest.mark.parametrize("snippet", ["add_header X y;\r}", "add_header X y;\x00", "a;\rb;"])
def test_a_snippet_with_cr_or_nul_rejects_the_ingress_as_every_such_value_does(
    snippet: str,
) -> None:
    rendered = render(
        [
            ingress(
                "risky",
                namespace="team-a",
                rules=[rule("r.test", path("/", to("web")))],
                annotations=snippets(configuration=snippet),
            )
        ],
        *ALLOW,
    )
    assert "error: ingress team-a/risky: rejected" in rendered.messages
    assert "r.test" not in rendered.config


def test_the_oldest_ingress_server_snippet_wins_a_host() -> None:
    rendered = render(
        [
            ingress(
                "first",
                namespace="team-a",
                created="2026-01-01T00:00:00Z",
                rules=[rule("a.test", path("/", to("web")))],
                annotations=snippets(server="return 200 first;"),
            ),
            ingress(
                "second",
                namespace="team-a",
                created="2026-02-01T00:00:00Z",
                rules=[rule("a.test", path("/other", to("web")))],
                annotations=snippets(server="return 200 second;"),
            ),
        ],
        *ALLOW,
    )
    assert "return 200 first;" in rendered.config
    assert "return 200 second;" not in rendered.config
    assert (
        f"warning: ingress team-a/second: metadata.annotations[{PREFIX}server-snippet]:"
        " host a.test already has the server-snippet of team-a/first; ignored"
    ) in rendered.messages


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--snippet-namespace", "team-a"], "--snippet-namespace is only used with"),
        (["--allow-snippet-annotations"], "--allow-snippet-annotations needs --snippet-namespace"),
        (["--allow-snippet-annotations", "--snippet-namespace", "Team_A"], "not a namespace"),
    ],
)
def test_snippet_options_that_do_not_fit_together_are_usage_errors(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["render", "-", *arguments])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


# --------------------------------------------------------------------------- snippet variables

LINKERD = (
    "proxy_set_header l5d-dst-override $service_name.$namespace.svc.cluster.local:$service_port;\n"
)
WHERE = "add_header X-Where $namespace/$ingress_name/$service_name/$service_port$location_path;\n"


def variable_objects(echo: dict[str, EchoBackend], auth_url: str) -> list[dict[str, Any]]:
    return [
        ingress(
            "mesh",
            namespace="team-a",
            rules=[rule("mesh.test", path("/api", to("web")), path("/named", to("web", "http")))],
            annotations=snippets(configuration=LINKERD + WHERE),
        ),
        ingress(
            "regex",
            namespace="team-a",
            rules=[
                rule("regex.test", path("/v[0-9]+/items$", to("web"), "ImplementationSpecific"))
            ],
            annotations={**snippets(configuration=WHERE), f"{PREFIX}use-regex": "true"},
        ),
        ingress(
            "edge",
            namespace="team-a",
            created="2026-01-01T00:00:00Z",
            rules=[rule("edge.test", path("/", to("web")))],
            annotations=snippets(server="add_header X-Ingress $namespace/$ingress_name always;"),
        ),
        ingress(
            "neighbour",
            namespace="team-b",
            created="2026-02-01T00:00:00Z",
            rules=[rule("edge.test", path("/other", to("web")))],
        ),
        ingress(
            "headers",
            namespace="team-a",
            rules=[rule("headers.test", path("/", to("web")))],
            annotations=snippets(server="proxy_set_header X-From-Server-Snippet yes;"),
        ),
        ingress(
            "guarded",
            namespace="team-a",
            rules=[rule("guard.test", path("/", to("web")))],
            annotations={
                f"{PREFIX}auth-url": auth_url,
                **snippets(auth="proxy_set_header X-From-Snippet $namespace/$service_name;\n"),
            },
        ),
        ingress(
            "no-auth-url",
            namespace="team-a",
            rules=[rule("plain.test", path("/", to("web")))],
            annotations=snippets(auth="proxy_set_header X-From-Snippet yes;"),
        ),
        *echo_service(echo["web"], namespace="team-a"),
        *echo_service(echo["web"], namespace="team-b"),
    ]


@pytest.fixture(scope="module")
def auth_service() -> Iterator[AuthService]:
    with AuthService() as service:
        yield service


@pytest.fixture(scope="module")
def variables_site(nginx_binary: str, auth_service: AuthService) -> Iterator[Site]:
    with (
        started_backends("web") as echo,
        serving(
            variable_objects(echo, f"{auth_service.url}/verify"), *ALLOW, binary=nginx_binary
        ) as site,
    ):
        yield site


def test_the_linkerd_snippet_names_the_service_the_ingress_routes_to(
    variables_site: Site,
) -> None:
    by_number = variables_site.get("/api/orders", host="mesh.test")
    assert by_number.backend == "web"
    headers = by_number.json()["headers"]
    assert headers["l5d-dst-override"] == "web.team-a.svc.cluster.local:80"
    by_name = variables_site.get("/named", host="mesh.test").json()["headers"]
    assert by_name["l5d-dst-override"] == "web.team-a.svc.cluster.local:http"


def test_a_snippet_setting_a_header_keeps_the_standard_headers(variables_site: Site) -> None:
    response = variables_site.get("/api", host="mesh.test", headers={"X-Forwarded-For": "1.2.3.4"})
    headers = response.json()["headers"]
    assert headers["host"] == "mesh.test"
    assert headers["x-forwarded-host"] == "mesh.test"
    assert headers["x-real-ip"] == "127.0.0.1"
    assert headers["x-original-forwarded-for"] == "1.2.3.4"
    assert len(headers["x-request-id"]) == 32
    assert "," not in headers["l5d-dst-override"]  # sent once


def test_the_variables_hold_ingress_nginx_values(variables_site: Site) -> None:
    assert (
        variables_site.get("/api/x", host="mesh.test").headers["X-Where"]
        == "team-a/mesh/web/80/api"
    )
    assert (
        variables_site.get("/named", host="mesh.test").headers["X-Where"]
        == "team-a/mesh/web/http/named"
    )
    regex = variables_site.get("/v2/items", host="regex.test")
    assert regex.backend == "web"
    assert regex.headers["X-Where"] == "team-a/regex/web/80/v[0-9]+/items$"


def test_a_server_snippet_reads_each_location_s_own_values(variables_site: Site) -> None:
    assert variables_site.get("/", host="edge.test").headers["X-Ingress"] == "team-a/edge"
    neighbour = variables_site.get("/other", host="edge.test")
    assert (neighbour.backend, neighbour.headers["X-Ingress"]) == ("web", "team-b/neighbour")


def test_a_server_snippet_setting_a_header_leaves_the_standard_ones_as_ingress_nginx(
    variables_site: Site,
) -> None:
    # ingress-nginx writes the standard headers in every location, so a server-level
    # proxy_set_header reaches no proxied location: the standard set stays whole
    headers = variables_site.get("/", host="headers.test").json()["headers"]
    assert (headers["host"], headers["x-forwarded-host"]) == ("headers.test", "headers.test")
    assert "x-request-id" in headers
    assert "x-from-server-snippet" not in headers


def test_an_auth_snippet_goes_in_the_auth_request_and_reads_the_variables(
    variables_site: Site, auth_service: AuthService
) -> None:
    auth_service.requests.clear()
    allowed = variables_site.get("/", host="guard.test", headers={"X-Token": "good"})
    assert (allowed.status, allowed.backend) == (200, "web")
    assert auth_service.requests[-1]["headers"]["x-from-snippet"] == "team-a/web"
    assert "x-from-snippet" not in allowed.json()["headers"]
    refused = variables_site.get("/", host="guard.test")
    assert (refused.status, refused.backend) == (401, None)


def test_an_auth_snippet_without_auth_url_is_ignored_with_a_warning(variables_site: Site) -> None:
    assert (
        f"warning: ingress team-a/no-auth-url: metadata.annotations[{PREFIX}auth-snippet]:"
        " ignored: auth-snippet goes in the auth-url location, and there is no auth-url"
    ) in variables_site.messages
    assert variables_site.get("/", host="plain.test").backend == "web"


def test_locations_without_snippets_define_no_variables() -> None:
    with started_backends("web") as echo:
        rendered = render(
            [
                ingress("plain", rules=[rule("a.test", path("/", to("web")))]),
                *echo_service(echo["web"]),
            ],
            *ALLOW,
        )
    assert "$namespace" not in rendered.config
    assert "$location_path" not in rendered.config
