"""Every published ingress-nginx config-injection CVE, replayed against ingress2nginx.

Each test loads the published vector from ``tests/security_corpus/<cve>.yaml`` (adapted to
ingress2nginx's annotations where they differ), renders it next to a benign Ingress
(test_security_hostile's victim, ``good.example``) and asserts exactly what happens: which
Ingress is rejected or denied with which message, or how the value is written when it is
accepted — and in every case that the output holds no directive the vector tried to add, passes
`fuzz_pipeline.violations` and ``nginx -t``, and leaves the victim's server block untouched.
Most published vectors carry a newline and die at the first check (refused characters); each
test also replays a variant without one, so the allowlists and the quoting are proven too.

The tests at the end are vulnerabilities the security tests found in ingress2nginx itself
(docs/security.md, "Findings"): ``test_fixed_*`` regression tests for those fixed since;
a ``test_finding_*`` strict xfail for any still open (none at the time of writing).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e import endpoint_slice, ingress, path, rule, service, to
from fuzz_pipeline import (
    Node,
    Obj,
    Run,
    checked,
    nginx_accepts,
    nginx_parse,
    nginx_path,
    run_objects,
    server_block,
    settings,
    walk,
)
from test_security_hostile import (
    INGRESS_CLASS,
    VICTIM_HOST,
    allowed_in_trusted_snippets,
    assert_victim_answers,
    victim_objects,
    victim_served_beside,
)
from tls_secrets import tls_secret

from ingress2nginx.cli.main import build_parser
from ingress2nginx.core.errors import Severity
from ingress2nginx.core.settings import Settings
from ingress2nginx.features import PREFIX

CORPUS = Path(__file__).parent / "security_corpus"
NAMESPACE = "tenant"
ATTACK_HOST = "attack.example"
SNIPPETS_TRUSTED = settings(allow_snippet_annotations=True, snippet_namespaces=(NAMESPACE,))
INJECTED = ("include", "load_module", "ssl_engine", "alias", "root", "content_by_lua_block")
"""Directives the vectors try to add."""


@dataclass(frozen=True)
class _Backend:
    address: str = "10.3.3.3"
    port: int = 8080


def corpus(name: str) -> list[Obj]:
    """The objects of one corpus file."""
    text = (CORPUS / f"{name}.yaml").read_text()
    return [document for document in yaml.safe_load_all(text) if document]


def supporting_objects() -> list[Obj]:
    """What the vectors refer to: the Service app, a TLS Secret, a client CA Secret."""
    client_ca = tls_secret(NAMESPACE, "client-ca", ["ca.example"])
    client_ca["type"] = "Opaque"
    client_ca["data"]["ca.crt"] = client_ca["data"]["tls.crt"]
    return [
        service("app", NAMESPACE),
        endpoint_slice("app", _Backend(), NAMESPACE),  # type: ignore[arg-type]
        tls_secret(NAMESPACE, "attack-tls", [ATTACK_HOST]),
        client_ca,
    ]


@dataclass(frozen=True)
class Replay:
    """A vector rendered beside the victim, its output checked and parsed."""

    run: Run
    nodes: tuple[Node, ...]

    def problems(self, name: str = "attack") -> list[Any]:
        return self.run.about("Ingress", NAMESPACE, name)

    def codes(self, name: str = "attack") -> set[str]:
        return {problem.code for problem in self.problems(name)}

    def problem_at(self, field: str, name: str = "attack") -> Any:
        found = [problem for problem in self.problems(name) if problem.field == field]
        assert found, f"no problem at {field}: {[str(p) for p in self.problems(name)]}"
        return found[0]

    def server(self, host: str = ATTACK_HOST) -> Node:
        found = server_block(self.nodes, host)
        assert found is not None, f"no server for {host}"
        return found

    def directives(self, name: str) -> list[Node]:
        return [placed.node for placed in walk(self.nodes) if placed.node.name == name]


def replay(objects: list[Obj], chosen: Settings | None = None, *, raw: bool = False) -> Replay:
    """Render `objects` beside the victim; assert the invariants, the victim's server block
    and (when nginx is installed) nginx -t, whatever the vector."""
    chosen = chosen or settings()
    run = run_objects([INGRESS_CLASS, *victim_objects(), *supporting_objects(), *objects], chosen)
    nodes, problems = checked(run, chosen, raw_snippets=raw)
    if raw:
        problems = [problem for problem in problems if not allowed_in_trusted_snippets(problem)]
    assert not problems, "\n".join(problems)
    victim = server_block(
        nginx_parse(run_objects([INGRESS_CLASS, *victim_objects()]).text), VICTIM_HOST
    )
    assert server_block(nginx_parse(run.text), VICTIM_HOST) == victim
    for directive in INJECTED:
        assert (
            not [placed for placed in walk(nginx_parse(run.text)) if placed.node.name == directive]
            or raw
        ), f"{directive} in the output"
    if nginx_path() and not raw:
        accepted, output = nginx_accepts(run, chosen)
        assert accepted, output
    return Replay(run, nodes)


def without(objects: list[Obj], *names: str) -> list[Obj]:
    """`objects` less the Ingresses named."""
    return [
        obj
        for obj in objects
        if not (obj.get("kind") == "Ingress" and obj["metadata"]["name"] in names)
    ]


def assert_rejected_alone(result: Replay, objects: list[Obj], name: str = "attack") -> None:
    """The Ingress is rejected, and the output is exactly the output without it."""
    assert result.run.rejected(NAMESPACE, name), [str(p) for p in result.problems(name)]
    assert result.nodes == replay(without(objects, name)).nodes


def assert_ignored_alone(
    result: Replay, objects: list[Obj], annotation: str, means: str | None = None
) -> None:
    """The annotation's value is ignored with a warning naming it (as ingress-nginx ignores an
    invalid value), the Ingress is served, and the output is exactly the output without the
    annotation — or, for a list of which only part is usable, with the part kept (`means`)."""
    problem = result.problem_at(ANNOTATION_FIELD.format(annotation))
    assert problem.severity == Severity.WARNING, str(problem)
    assert result.run.served(NAMESPACE, "attack")
    twin = []
    for obj in objects:
        if obj.get("kind") == "Ingress" and obj["metadata"]["name"] == "attack":
            annotations = dict(obj["metadata"].get("annotations", {}))
            annotations.pop(PREFIX + annotation)
            if means is not None:
                annotations[PREFIX + annotation] = means
            obj = {**obj, "metadata": {**obj["metadata"], "annotations": annotations}}
        twin.append(obj)
    assert result.nodes == replay(twin).nodes


def assert_denied(result: Replay, annotation: str) -> None:
    """The Ingress's paths answer 503, with an error naming the annotation."""
    problem = result.problem_at(ANNOTATION_FIELD.format(annotation))
    assert problem.severity == Severity.ERROR and problem.code == "access-denied"
    location = next(result.server().find("location"))
    assert location.block is not None and Node("return", ("503",), None) in location.block


def attack(
    annotations: dict[str, str] | None = None,
    *,
    path_value: str = "/",
    path_type: str = "Prefix",
    tls: bool = False,
) -> Obj:
    """A vector without a corpus file: Ingress tenant/attack with these annotations."""
    manifest = ingress(
        "attack",
        namespace=NAMESPACE,
        rules=[rule(ATTACK_HOST, path(path_value, to("app"), path_type))],
        annotations={PREFIX + key: value for key, value in (annotations or {}).items()},
    )
    if tls:
        manifest["spec"]["tls"] = [{"hosts": [ATTACK_HOST], "secretName": "attack-tls"}]
    return manifest


ANNOTATION_FIELD = "metadata.annotations[" + PREFIX + "{}]"
PATH_FIELD = "spec.rules[0].http.paths[{}].path"


# --------------------------------------------------------------------------- 2021


def test_cve_2021_25742_snippets_reading_secrets_are_refused_by_default() -> None:
    """CVE-2021-25742: configuration-/server-snippets read the controller's token (alias,
    Lua). ingress2nginx refuses snippets unless --allow-snippet-annotations names the
    namespace: both are warnings and the output is exactly as without them."""
    objects = corpus("cve-2021-25742")
    result = replay(objects)
    for name in ("configuration-snippet", "server-snippet"):
        problem = result.problem_at(ANNOTATION_FIELD.format(name))
        assert problem.severity == Severity.WARNING
        assert "snippet annotations are disabled" in problem.reason
    plain = [{**obj, "metadata": {**obj["metadata"], "annotations": {}}} for obj in objects]
    assert result.nodes == replay(plain).nodes


def test_cve_2021_25742_snippets_of_an_untrusted_namespace_are_refused() -> None:
    """CVE-2021-25742, with snippets allowed for another namespace only: still refused."""
    elsewhere = settings(allow_snippet_annotations=True, snippet_namespaces=("platform",))
    result = replay(corpus("cve-2021-25742"), elsewhere)
    problem = result.problem_at(ANNOTATION_FIELD.format("configuration-snippet"))
    assert "is not named by --snippet-namespace" in problem.reason


def test_cve_2021_25742_lua_is_refused_even_in_a_trusted_namespace() -> None:
    """CVE-2021-25742 in a namespace trusted with snippets: the Lua server-snippet is refused
    by the snippet policy. (The alias configuration-snippet is inserted: a trusted namespace
    may read what nginx can read — docs/snippets.md, docs/security.md.)"""
    result = replay(corpus("cve-2021-25742"), SNIPPETS_TRUSTED, raw=True)
    problem = result.problem_at(ANNOTATION_FIELD.format("server-snippet"))
    assert "'content_by_lua_block' is not allowed in snippets" in problem.reason
    assert not [p for p in walk(result.nodes) if "lua" in p.node.name]


def test_cve_2021_25745_a_path_cannot_point_nginx_at_a_file() -> None:
    """CVE-2021-25745: a path closed its location and served the token file with alias. Here
    the path is refused (spaces, braces, ';' are no URL path, nor a regex path), and the
    token's file path as a plain URL path is only that: a location proxying to the Service."""
    objects = corpus("cve-2021-25745")
    result = replay(objects)
    problem = result.problem_at(PATH_FIELD.format(0))
    assert problem.code == "invalid-path"
    assert_rejected_alone(result, objects)
    token = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    served = result.server("token.attack.example")
    locations = {node.args for node in served.find("location")}
    assert ("=", token) in locations and (f"{token}/",) in locations
    assert not result.directives("alias") and not result.directives("root")


@pytest.mark.parametrize(
    ("annotation", "value", "companions"),
    [
        ("x-forwarded-prefix", "/p;alias=/var/run/secrets/", {"rewrite-target": "/"}),
        ("upstream-vhost", "x.example;include /etc/passwd", {}),
        ("rewrite-target", "/;include /etc/passwd;", {}),
        ("app-root", "/app { alias /; }", {}),
        ("proxy-body-size", "1m; include /etc/passwd", {}),
        (
            "proxy-redirect-from",
            "http://a/ http://b/; include /etc/passwd",
            {"proxy-redirect-to": "/"},
        ),
        ("connection-proxy-header", 'close"; include "/etc/passwd', {}),
        ("server-alias", "a.example; include /etc/passwd", {}),
        ("canary-by-header", "X-A; include /etc/passwd", {"canary": "true"}),
        ("session-cookie-name", "SESSION; include /etc/passwd", {"affinity": "cookie"}),
        ("upstream-hash-by", "$request_uri; include /etc/passwd", {}),
        ("custom-http-errors", "404; include /etc/passwd", {"default-backend": "app"}),
    ],
)
def test_cve_2021_25746_annotation_values_cannot_carry_directives(
    annotation: str, value: str, companions: dict[str, str]
) -> None:
    """CVE-2021-25746: annotation values with ';', quotes or newlines added directives. Each
    value here is outside its annotation's allowlist: it is ignored with a warning naming the
    annotation, as ingress-nginx ignores an invalid value, and the output is exactly the
    output without it (a newline rejects the Ingress alone: the next tests)."""
    objects = [attack({**companions, annotation: value})]
    assert_ignored_alone(replay(objects), objects, annotation)


def test_cve_2021_25746_an_origin_list_keeps_only_its_origins() -> None:
    """An origin list with an entry carrying directives: that entry is dropped, the origins
    are kept, and the output is exactly the output of those origins alone."""
    value = 'https://a.example, https://b.example"; include "/etc/passwd'
    objects = [attack({"enable-cors": "true", "cors-allow-origin": value})]
    result = replay(objects)
    assert_ignored_alone(result, objects, "cors-allow-origin", means="https://a.example")


def test_cve_2021_25746_a_source_range_carrying_directives_denies_the_paths() -> None:
    """A source range outside the CIDR allowlist denies the paths (503) rather than opening
    them to every client, without a trace of the value."""
    result = replay([attack({"allowlist-source-range": "10.0.0.0/8; allow all"})])
    assert_denied(result, "allowlist-source-range")
    assert "10.0.0.0/8" not in result.run.text


def test_cve_2021_25746_a_newline_in_an_annotation_value_rejects_the_ingress_alone() -> None:
    objects = [attack({"x-forwarded-prefix": "/p;\nalias /var/run/secrets/kubernetes.io/;"})]
    result = replay(objects)
    assert "line feed" in result.problem_at(ANNOTATION_FIELD.format("x-forwarded-prefix")).reason
    assert_rejected_alone(result, objects)


def test_cve_2021_25746_the_published_vector_is_refused() -> None:
    """CVE-2021-25746's published shape (a newline in an annotation value): rejected with
    the refused character named."""
    objects = corpus("cve-2021-25746")
    result = replay(objects)
    problem = result.problem_at(ANNOTATION_FIELD.format("x-forwarded-prefix"))
    assert "line feed (U+000A)" in problem.reason
    assert_rejected_alone(result, objects)


def test_cve_2021_25748_a_newline_in_a_path_is_refused() -> None:
    """CVE-2021-25748: a newline in the path bypassed ingress-nginx's per-line blocklist.
    Here CR, LF, NUL and every control character are refused in every field, the path's
    percent-decoded form included."""
    objects = corpus("cve-2021-25748")
    result = replay(objects)
    assert "line feed (U+000A)" in result.problem_at(PATH_FIELD.format(0)).reason
    assert_rejected_alone(result, objects)


@pytest.mark.parametrize(
    "value",
    [
        "//var/run/secrets/",
        "/x//y",
        "/%2e%2e/etc",
        "/x/%2F..",
        "/x/%0a",
        "/x/%0d",
        "/x/%00",
        "/x/%c2%85",
        "/x/%e2%80%a8",
        "/x/..",
    ],
)
def test_cve_2021_25748_double_slashes_and_encoded_breaks_are_refused(value: str) -> None:
    """CVE-2021-25748's neighbours: '//' and dot segments (which nginx merges and resolves
    before matching, so such a rule could never match as written) and percent-encoded line
    breaks or NUL are refused in every path type."""
    for path_type in ("Prefix", "Exact", "ImplementationSpecific"):
        objects = [attack(path_value=value, path_type=path_type)]
        result = replay(objects)
        assert result.problem_at(PATH_FIELD.format(0)).code == "invalid-path"
        assert_rejected_alone(result, objects)


def test_cve_2022_4886_directives_in_a_regex_path_are_refused() -> None:
    """CVE-2022-4886: a path bypassed the sanitization with directives written so the
    blocklisted words did not appear. ingress2nginx has no blocklist: a regex path
    (use-regex) is an allowlist of characters (no whitespace, ';', quotes, '#', '{' outside a
    quantifier), so no word of any spelling can form a directive."""
    objects = corpus("cve-2022-4886")
    result = replay(objects)
    problem = result.problem_at(PATH_FIELD.format(0))
    assert "regular expression path must not contain whitespace" in problem.reason
    assert_rejected_alone(result, objects)
    for value in ("/x/(.*);root/;", "/x/{root}", "/x/(?<secret>.*)", "/x/#", "/x/(.*)'"):
        variant = [
            attack({"use-regex": "true"}, path_value=value, path_type="ImplementationSpecific")
        ]
        assert_rejected_alone(replay(variant), variant)


# --------------------------------------------------------------------------- 2023


def test_cve_2023_5043_configuration_snippet_commands_are_refused() -> None:
    """CVE-2023-5043: a configuration-snippet ran commands (Lua). Refused by default, and
    refused by the snippet policy in a trusted namespace: ignored with a warning, the Ingress
    still served without it."""
    objects = corpus("cve-2023-5043")
    for chosen, reason in (
        (settings(), "snippet annotations are disabled"),
        (SNIPPETS_TRUSTED, "'content_by_lua_block' is not allowed in snippets"),
    ):
        result = replay(objects, chosen, raw=chosen is SNIPPETS_TRUSTED)
        problem = result.problem_at(ANNOTATION_FIELD.format("configuration-snippet"))
        assert reason in problem.reason
        assert result.run.served(NAMESPACE, "attack")
        assert not [p for p in walk(result.nodes) if "lua" in p.node.name]


def test_cve_2023_5044_permanent_redirect_cannot_end_its_return() -> None:
    """CVE-2023-5044: permanent-redirect was pasted into ``return 301 <value>;``. Here the
    value must be an http(s) URL or a path without spaces, quotes, ';', braces or '$': the
    published vector (a newline) is rejected, its newline-free variants are ignored with a
    warning; a URL full of characters a URL may hold is one quoted argument of ``return``."""
    objects = corpus("cve-2023-5044")
    result = replay(objects)
    assert "line feed" in result.problem_at(ANNOTATION_FIELD.format("permanent-redirect")).reason
    assert_rejected_alone(result, objects)
    for value in (
        "https://a.example;}location~*/pwn{root/;}",
        "https://a.example/$INJECT",
        'https://a.example/"x',
        "https://a.example/ x",
        "https://a.example/#x",
    ):
        variant = [attack({"permanent-redirect": value})]
        assert_ignored_alone(replay(variant), variant, "permanent-redirect")
    odd = "https://a.example/p!a'b(c)*d+e,f=g:h@i~j?k=l&m=n"
    result = replay([attack({"permanent-redirect": odd})])
    assert result.run.served(NAMESPACE, "attack")
    assert ("301", odd) in [node.args for node in result.directives("return")]


# --------------------------------------------------------------------------- 2025


def test_cve_2025_1097_auth_tls_match_cn_stays_one_regex() -> None:
    """CVE-2025-1097 (IngressNightmare): auth-tls-match-cn was pasted into an ``if``
    condition and closed it to add ssl_engine. Here the published vector is refused (a line
    feed); a value of the allowed characters (letters, spaces, regex operators) that spells
    a directive stays one quoted regex inside the condition."""
    objects = corpus("cve-2025-1097")
    result = replay(objects)
    assert "line feed" in result.problem_at(ANNOTATION_FIELD.format("auth-tls-match-cn")).reason
    assert_rejected_alone(result, objects)
    cn = "CN=(x) ssl_engine /proc/self/fd/3"
    result = replay(
        [attack({"auth-tls-secret": "tenant/client-ca", "auth-tls-match-cn": cn}, tls=True)]
    )
    conditions = [node.args for node in result.server().find("if")]
    assert ("$ssl_client_s_dn", "!~", cn) in conditions


def test_cve_2025_1098_mirror_annotations_and_the_uid_cannot_inject() -> None:
    """CVE-2025-1098 (IngressNightmare): mirror-target, mirror-host and the Ingress UID were
    pasted into the config. Here mirror-target and mirror-host are URL and host allowlists
    (the vector, with a newline, is rejected; without one, the value is ignored), and the UID
    is never written: the mirror's internal location is named by a digest of its settings."""
    objects = corpus("cve-2025-1098")
    result = replay(objects)
    assert "line feed" in result.problem_at(ANNOTATION_FIELD.format("mirror-target")).reason
    assert_rejected_alone(result, objects)
    for annotation, value in (
        ("mirror-target", "https://mirror.example/;ssl_engine"),
        ("mirror-host", "mirror.example; include /etc/passwd"),
    ):
        variant = [attack({"mirror-target": "https://m.example/", annotation: value})]
        assert_ignored_alone(replay(variant), variant, annotation)
    uid = "x; } ssl_engine /proc/self/fd/3; location /y { #"
    served = attack({"mirror-target": "https://mirror.example$request_uri"})
    served["metadata"]["uid"] = uid
    result = replay([served])
    assert uid not in result.run.text and "ssl_engine" not in result.run.text
    mirrors = [node.args for node in result.directives("mirror")]
    assert len(mirrors) == 1 and mirrors[0][0].startswith("/%mirror-")


def test_cve_2025_24514_auth_url_cannot_inject() -> None:
    """CVE-2025-24514 (IngressNightmare): auth-url was pasted into the auth location. Here
    the published vector is refused (line feed: the Ingress is rejected), and a value outside
    the URL allowlist without one denies the Ingress's paths (503) rather than serving them
    unauthenticated — still without a trace of the value in the output."""
    objects = corpus("cve-2025-24514")
    result = replay(objects)
    assert "line feed" in result.problem_at(ANNOTATION_FIELD.format("auth-url")).reason
    assert_rejected_alone(result, objects)
    value = "http://auth.example/#;ssl_engine/x"
    result = replay([attack({"auth-url": value})])
    problem = result.problem_at(ANNOTATION_FIELD.format("auth-url"))
    assert problem.severity == Severity.ERROR and "access-denied" in result.codes()
    location = next(result.server().find("location"))
    assert location.block is not None and location.block[0] == Node("return", ("503",), None)
    assert "ssl_engine" not in result.run.text and "auth.example" not in result.run.text


REVIEWED_COMMANDS = frozenset(
    {"render", "check", "explain", "watch", "migration-report", "completion"}
)
"""Commands checked to take objects only from files, stdin or the API (not from a listener)."""


def test_cve_2025_1974_ingress_nightmare_has_nothing_to_reach() -> None:
    """CVE-2025-1974 (IngressNightmare): anyone reaching the admission webhook could make the
    controller run ``nginx -t`` on a config built from their AdmissionReview; the injection
    CVEs above put ``ssl_engine`` in it, loading a shared object uploaded as an nginx client
    body temp file (read back through /proc/<pid>/fd). Not applicable to ingress2nginx:

    - there is no webhook and no listener that takes objects: every command reads files,
      stdin or the API with the sidecar's own credentials (watch's HTTP server only serves
      health and metrics);
    - the ``nginx -t`` it does run (``--validate``, watch mode) checks only its own output,
      in which no input can place ssl_engine, load_module or include (asserted for every
      output of every security test), and whose temp paths are under --runtime-dir.

    Asserted here: the commands are the reviewed ones (a new command fails this test until
    someone checks it takes no objects from the network and adds it to REVIEWED_COMMANDS), and
    the three IngressNightmare injection vectors at once, with ssl_engine payloads, give an
    output without ssl_engine."""
    commands = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    assert set(commands.choices) <= REVIEWED_COMMANDS
    objects = [
        *corpus("cve-2025-1097"),
        *[
            {**obj, "metadata": {**obj["metadata"], "name": "attack-2"}}
            for obj in corpus("cve-2025-1098")
        ],
        *[
            {**obj, "metadata": {**obj["metadata"], "name": "attack-3"}}
            for obj in corpus("cve-2025-24514")
        ],
    ]
    result = replay(objects)
    for name in ("attack", "attack-2", "attack-3"):
        assert result.run.rejected(NAMESPACE, name)
    temp_paths = [
        node for placed in walk(result.nodes) if (node := placed.node).name.endswith("_temp_path")
    ]
    runtime = settings().runtime_dir
    assert temp_paths and all(Path(node.args[0]).parent == runtime for node in temp_paths)


# --------------------------------------------------------------------------- 2026


def test_cve_2026_24512_paths_are_quoted_in_location() -> None:
    """CVE-2026-24512: paths were written unquoted in ``location``. Here a path that is no
    URL path is refused, and a valid one holding ';', '$', quotes and parentheses is written
    as one quoted argument of its locations (and ``$`` is plain text there)."""
    objects = corpus("cve-2026-24512")
    result = replay(objects)
    assert result.problem_at(PATH_FIELD.format(0)).code == "invalid-path"
    assert result.run.rejected(NAMESPACE, "attack")
    odd = "/api;include=/etc/passwd;$(x)'y'"
    server = result.server("quoted.attack.example")
    locations = {node.args for node in server.find("location")}
    assert ("=", odd) in locations and (odd + "/",) in locations
    raw = result.run.text
    assert f'location = "{odd}"' in raw.replace("\\'", "'")


def test_cve_2026_3288_the_rewrite_regex_cannot_be_closed() -> None:
    """CVE-2026-3288: with rewrite-target, the path went unsanitized into the quoted regex of
    ``rewrite``. Here a regex path is an allowlist without quotes or whitespace (the vector
    is rejected), a trailing or stray backslash cannot escape the closing quote, and the
    rewrite target is a path with $1..$9 only (any other is ignored with a warning)."""
    objects = corpus("cve-2026-3288")
    result = replay(objects)
    assert result.problem_at(PATH_FIELD.format(0)).code == "invalid-path"
    assert_rejected_alone(result, objects)
    regex = {"use-regex": "true", "rewrite-target": "/$1"}
    for value in ("/x/(.*)\\", '/x/(.*)\\"', "/x/(.*)\\\\"):
        variant = [attack(regex, path_value=value, path_type="ImplementationSpecific")]
        assert_rejected_alone(replay(variant), variant)
    for target in ("/$1; include /etc/passwd", '/$1"', "/$hostile", "/$1 break"):
        variant = [
            attack(
                {"use-regex": "true", "rewrite-target": target},
                path_value="/x/(.*)",
                path_type="ImplementationSpecific",
            )
        ]
        assert_ignored_alone(replay(variant), variant, "rewrite-target")
    served = replay([attack(regex, path_value="/x/(.*)", path_type="ImplementationSpecific")])
    rewrites = [node.args for node in served.directives("rewrite")]
    assert rewrites and all(len(args) == 3 and args[1] == "/$1" for args in rewrites)


def test_cve_2026_4342_paths_never_reach_comments() -> None:
    """CVE-2026-4342: external auth wrote the path into a comment, where a newline ended it.
    Here paths with a line break (raw or %0a) are refused, and no user text but validated
    namespace and Ingress names ever reaches a comment: every comment of the output is made
    of the plain character set quoting.comment allows, and the odd path is in none."""
    objects = corpus("cve-2026-4342")
    result = replay(objects)
    assert result.run.rejected(NAMESPACE, "attack")
    assert "line feed" in result.problem_at(PATH_FIELD.format(1)).reason
    assert result.run.served(NAMESPACE, "attack-comment")
    comments = [
        line.strip() for line in result.run.text.splitlines() if line.strip().startswith("#")
    ]
    odd = "/z;load_module=x.so;!$(y)'w'@*+,"
    assert not [line for line in comments if odd in line or "load_module" in line]
    generated = [line for line in comments if "tenant/" in line]
    assert generated, "the served Ingress's locations are named in comments"
    for line in generated:
        assert all(ch.isalnum() or ch in " ._/:,()[]=*-#" for ch in line), line


# --------------------------------------------------------------------------- beyond CVEs


@pytest.mark.parametrize(
    "annotations",
    [
        {"auth-type": "basic", "auth-secret": "victim/good-tls"},
        {"backend-protocol": "HTTPS", "proxy-ssl-secret": "victim/good-tls"},
        {"auth-tls-secret": "victim/good-tls"},
    ],
    ids=["auth-secret", "proxy-ssl-secret", "auth-tls-secret"],
)
def test_a_tenant_cannot_use_the_secrets_of_another_namespace(annotations: dict[str, str]) -> None:
    """Annotations naming a Secret of another namespace are refused (unless the operator sets
    allow-cross-namespace-resources): the Ingress's paths are denied (503), and nothing of the
    other namespace's Secret — no file, no file name — reaches the output."""
    result = replay([attack(annotations, tls=True)])
    assert "access-denied" in result.codes()
    assert "another namespace" in " ".join(str(p) for p in result.problems())
    cert_dir = str(settings().cert_dir)
    victim_files = {
        arg
        for placed in walk(result.nodes)
        for arg in placed.node.args
        if arg.startswith(cert_dir) and "victim" in arg
    }
    assert victim_files == {
        f"{cert_dir}/tls-victim_good-tls.{suffix}" for suffix in ("crt", "key")
    }, "only the victim's own server names its certificate"
    victim_server = result.server(VICTIM_HOST)
    tenant_server = result.server()
    assert not [n for n in tenant_server.block or () if any("victim" in a for a in n.args)]
    assert victim_server is not tenant_server


# --------------------------------------------------------------------------- a real nginx


def test_all_vectors_at_once_leave_the_victim_served(nginx_binary: str) -> None:
    """Every corpus vector in one input, served by real nginx: the victim answers from its
    backend (over HTTPS; plain HTTP redirects there), and the vectors' /token path serves no
    file."""
    from harness import request

    objects: list[Obj] = []
    for index, file in enumerate(sorted(CORPUS.glob("cve-*.yaml"))):
        for document in corpus(file.stem):
            metadata = {**document["metadata"], "name": f"{document['metadata']['name']}-{index}"}
            objects.append({**document, "metadata": metadata})
    with victim_served_beside([*supporting_objects(), *objects], nginx_binary) as (site, https):
        assert_victim_answers(site, https, plain="/good/")
        token = request(https, "/token", host=ATTACK_HOST, tls=True)
        assert token.status != 200, "no file is served"


# --------------------------------------------------------------------------- findings

# Found by the security tests while they were written, and fixed since (e26db36, 693f02d);
# kept as regression tests. An open finding is a strict xfail named test_finding_*.


def test_fixed_backend_protocol_auto_http_no_longer_crashes_the_render() -> None:
    """Was: backend-protocol AUTO_HTTP with a Service that has endpoints made the renderer
    raise UnsafeValueError (``expanded("$scheme://<upstream>")`` in views._pass_target), so one
    tenant's valid annotation stopped the whole render. Now the request's scheme is a trusted
    variable composed with the upstream name."""
    result = replay([attack({"backend-protocol": "AUTO_HTTP"})])
    assert ("$scheme://tenant_app_80",) in [n.args for n in result.directives("proxy_pass")]


BUFFER_VALUES = (
    ("proxy-busy-buffers-size", "16k"),
    ("proxy-busy-buffers-size", "1"),
    ("proxy-buffer-size", "0"),
    ("proxy-buffers-number", "1"),
    ("proxy-buffers-number", "2"),
    ("proxy-max-temp-file-size", "1k"),
    ("client-body-buffer-size", "1g"),
)


@pytest.mark.parametrize(("annotation", "value"), BUFFER_VALUES)
def test_fixed_buffer_sizes_nginx_would_refuse_never_reach_it(annotation: str, value: str) -> None:
    """Was: these values passed their allowlists but nginx -t refused the output (busy buffers
    outside [one buffer, all buffers but one), fewer than 2 buffers, a zero buffer, a max temp
    file size below one buffer, a client body buffer nginx cannot take), so one tenant's
    annotation blocked every config change. Now each is refused (the Ingress rejected alone) or
    ignored with a warning; either way the output passes nginx -t (`replay`)."""
    result = replay([attack({annotation: value})])
    about = [
        problem
        for problem in result.problems()
        if problem.field.startswith(ANNOTATION_FIELD.format("proxy-").rstrip("]"))
        or problem.field == ANNOTATION_FIELD.format(annotation)
    ]
    assert about and all(problem.severity >= Severity.WARNING for problem in about)


ENGINE_SNIPPETS = (
    ("configuration-snippet", "proxy_ssl_certificate_key engine:/tmp/evil.so:key;"),
    ("configuration-snippet", "grpc_ssl_certificate_key engine:/tmp/evil.so:key;"),
    ("server-snippet", 'ssl_certificate_key "engine:/tmp/evil.so:key";'),
)


@pytest.mark.parametrize(("annotation", "snippet"), ENGINE_SNIPPETS)
def test_fixed_snippets_cannot_load_shared_objects_through_engine_keys(
    annotation: str, snippet: str
) -> None:
    """Was: the snippet policy refused ssl_engine but not ``*ssl_certificate_key
    engine:<path>:<id>``, which makes OpenSSL dlopen() the path when nginx reads the config
    (verified with strace: the sidecar's own ``nginx -t`` opened it) — code execution from a
    snippet of a trusted namespace. Now any ``engine:`` argument is refused."""
    result = replay([attack({annotation: snippet})], SNIPPETS_TRUSTED, raw=True)
    assert "engine:" in result.problem_at(ANNOTATION_FIELD.format(annotation)).reason
    assert "engine:" not in result.run.text


def test_fixed_long_affinity_cookie_names_no_longer_break_nginx() -> None:
    """Was: with affinity: cookie, a session-cookie-name of 16 characters or more (allowed by
    its allowlist) made affinity.key_variable name map variables of 45+ characters, beyond
    nginx's default variables_hash_bucket_size, and nginx -t refused the whole output ("could
    not build variables_hash"): one tenant — or an honest long cookie name — blocked every
    config change. Now the http block sizes the variables and map hashes (693f02d)."""
    if not nginx_path():
        pytest.skip("needs nginx")
    annotations = {"affinity": "cookie", "session-cookie-name": "c" * 16}
    run = run_objects([INGRESS_CLASS, *supporting_objects(), attack(annotations)])
    assert run.served(NAMESPACE, "attack")
    accepted, output = nginx_accepts(run)
    assert accepted, output


def rendered_snippets(snippets: tuple[tuple[str, str], ...]) -> list[str]:
    """The snippets that reach the output when the tenant's namespace is trusted with them."""
    reached = []
    for name, text in snippets:
        run = run_objects(
            [INGRESS_CLASS, *supporting_objects(), attack({name: text})], SNIPPETS_TRUSTED
        )
        if text.strip() in run.text:
            reached.append(f"{name}: {text}")
    return reached


FILE_SNIPPETS = (
    ("configuration-snippet", "alias /var/run/secrets/kubernetes.io/serviceaccount/;"),
    ("configuration-snippet", "location /t { root /var/run/secrets/kubernetes.io/; }"),
    ("configuration-snippet", "access_log /etc/cron.d/x;"),
    ("configuration-snippet", "error_log /etc/nginx/nginx.conf debug;"),
    ("configuration-snippet", "auth_basic_user_file /etc/shadow;"),
    ("configuration-snippet", "client_body_temp_path /etc;"),
    ("server-snippet", "ssl_password_file /etc/shadow;"),
)


def test_trusted_snippets_may_read_and_write_files_as_docs_snippets_md_says() -> None:
    """Not a finding but the documented price of --snippet-namespace (docs/snippets.md,
    docs/security.md): these snippets read or write files of their choosing (the service
    account token — CVE-2021-25742's exact vector; the root master opens log files) and are
    inserted. Pinned so that docs/security.md stays true: when the policy tightens, change
    this test and the docs together."""
    assert rendered_snippets(FILE_SNIPPETS) == [f"{name}: {text}" for name, text in FILE_SNIPPETS]
