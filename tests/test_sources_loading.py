"""Loading finds, parses and keeps the right objects, and bad text never stops it."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from ingress2nginx.core.errors import Severity, SourceError
from ingress2nginx.sources.loading import LoadResult, ParseCache, load_sources, load_text

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: shop
spec:
  ports: [{{port: 80}}]
"""

INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {name}
spec:
  defaultBackend: {{service: {{name: web, port: {{number: 80}}}}}}
"""


def service(name: str) -> str:
    return SERVICE.format(name=name)


def ingress(name: str) -> str:
    return INGRESS.format(name=name)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def names(result: LoadResult) -> list[str]:
    return [manifest.name for manifest in result.manifests]


def load(*paths: Path) -> LoadResult:
    return load_sources([str(path) for path in paths])


# --- sources -------------------------------------------------------------------------------


def test_a_file_is_read_with_its_origin(tmp_path: Path) -> None:
    path = write(tmp_path / "web.yaml", ingress("web"))

    result = load(path)

    [manifest] = result.manifests
    assert (manifest.kind, manifest.namespace, manifest.name) == ("Ingress", "default", "web")
    assert manifest.origin == f"{path}:1"
    assert result.problems == ()


def test_a_named_file_is_read_whatever_its_extension(tmp_path: Path) -> None:
    assert names(load(write(tmp_path / "manifest.txt", service("api")))) == ["api"]


def test_a_folder_is_walked_recursively_in_name_order_files_first(tmp_path: Path) -> None:
    write(tmp_path / "b.yaml", service("b"))
    write(tmp_path / "a.yml", service("a"))
    write(
        tmp_path / "c.json",
        json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}}),
    )
    write(tmp_path / "aa" / "deep" / "d.yaml", service("d"))
    write(tmp_path / "notes.txt", service("ignored"))
    write(tmp_path / "README.md", service("ignored"))

    assert names(load(tmp_path)) == ["a", "b", "c", "d"]


def test_hidden_files_and_folders_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / ".hidden.yaml", service("hidden-file"))
    write(tmp_path / ".git" / "x.yaml", service("hidden-folder"))
    write(tmp_path / "shown.yaml", service("shown"))

    assert names(load(tmp_path)) == ["shown"]


def test_a_configmap_volume_is_read_once_under_visible_names(tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    timestamped = volume / "..2026_11_26_00_00_00.123"
    write(timestamped / "app.yaml", ingress("app"))
    write(timestamped / "services.yaml", service("api"))
    (volume / "..data").symlink_to(timestamped.name)
    (volume / "app.yaml").symlink_to("..data/app.yaml")
    (volume / "services.yaml").symlink_to("..data/services.yaml")

    result = load(volume)

    assert names(result) == ["app", "api"]
    assert [m.origin for m in result.manifests] == [
        f"{volume / 'app.yaml'}:1",
        f"{volume / 'services.yaml'}:1",
    ]


def test_a_file_named_twice_or_reached_twice_is_read_once(tmp_path: Path) -> None:
    path = write(tmp_path / "web.yaml", ingress("web"))
    (tmp_path / "link.yaml").symlink_to("web.yaml")

    assert names(load(path, tmp_path, path)) == ["web"]


def test_a_folder_link_loop_ends(tmp_path: Path) -> None:
    write(tmp_path / "a" / "web.yaml", ingress("web"))
    (tmp_path / "a" / "loop").symlink_to("..")

    assert names(load(tmp_path)) == ["web"]


def test_a_missing_path_raises_source_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"

    with pytest.raises(SourceError) as raised:
        load(missing)

    assert raised.value.location == str(missing)
    assert raised.value.reason == "no such file or directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_raises_source_error(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.yaml", service("x"))
    path.chmod(0)

    with pytest.raises(SourceError, match="permission denied"):
        load(path)


def test_stdin_is_read_for_a_dash() -> None:
    stdin = io.StringIO(service("api") + "---\n" + ingress("web"))

    result = load_sources(["-"], stdin=stdin)

    assert names(result) == ["api", "web"]
    assert [m.origin for m in result.manifests] == ["<stdin>:1", "<stdin>:8"]


def test_stdin_json_is_read_for_a_dash() -> None:
    document = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"}}

    assert names(load_sources(["-"], stdin=io.StringIO(json.dumps(document)))) == ["api"]


def test_stdin_bytes_are_decoded_like_a_file() -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbf" + service("api").encode()))

    assert names(load_sources(["-"], stdin=stdin)) == ["api"]


def test_utf16_with_a_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "powershell.yaml"
    path.write_bytes(service("api").encode("utf-16"))

    assert names(load(path)) == ["api"]


# --- streams and wrappers ------------------------------------------------------------------


def test_every_document_of_a_stream_is_read_with_its_start_line(tmp_path: Path) -> None:
    text = "# header\n" + service("a") + "---\n" + service("b") + "--- # third\n" + ingress("c")
    path = write(tmp_path / "all.yaml", text)

    result = load(path)

    assert names(result) == ["a", "b", "c"]
    assert [m.origin.rsplit(":", 1)[1] for m in result.manifests] == ["1", "9", "17"]


def test_empty_and_null_documents_are_skipped(tmp_path: Path) -> None:
    text = "---\n---\n# only a comment\n---\nnull\n---\n" + service("a") + "---\n"

    result = load(write(tmp_path / "sparse.yaml", text))

    assert names(result) == ["a"]
    assert result.problems == ()


def test_a_list_is_unwrapped_with_the_line_of_the_list(tmp_path: Path) -> None:
    items = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"}},
    ]
    text = (
        service("first")
        + "---\n"
        + json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    )

    result = load(write(tmp_path / "list.yaml", text))

    assert names(result) == ["first", "a", "b"]
    assert {m.origin for m in result.manifests[1:]} == {f"{tmp_path / 'list.yaml'}:8"}


def test_an_ingress_list_from_the_api_gets_kind_and_version_for_its_items(tmp_path: Path) -> None:
    text = """\
apiVersion: networking.k8s.io/v1beta1
kind: IngressList
items:
- metadata: {name: one, namespace: shop}
  spec: {backend: {serviceName: web, servicePort: 80}}
- metadata: {name: two}
  spec: {backend: {serviceName: web, servicePort: 80}}
"""
    result = load(write(tmp_path / "ingresses.yaml", text))

    assert [(m.kind, m.namespace, m.name) for m in result.manifests] == [
        ("Ingress", "shop", "one"),
        ("Ingress", "default", "two"),
    ]
    assert all(m.body["apiVersion"] == "networking.k8s.io/v1" for m in result.manifests)
    assert "defaultBackend" in result.manifests[0].body["spec"]


def test_a_json_object_is_read(tmp_path: Path) -> None:
    document = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"}}

    assert names(load(write(tmp_path / "svc.json", json.dumps(document, indent=2)))) == ["api"]


def test_a_json_array_of_objects_is_read(tmp_path: Path) -> None:
    documents = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b"}},
    ]

    assert names(load(write(tmp_path / "all.json", json.dumps(documents)))) == ["a", "b"]


def test_json_values_one_after_another_are_read_with_their_lines() -> None:
    first = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}
    second = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b"}}
    text = json.dumps(first, indent=2) + "\n" + json.dumps(second, indent=2)

    result = load_text(text, "two.json")

    assert [m.origin for m in result.manifests] == ["two.json:1", "two.json:8"]


def test_yaml_flow_style_that_is_not_json_is_read_as_yaml() -> None:
    result = load_text("{apiVersion: v1, kind: Service, metadata: {name: api}}\n", "<stdin>")

    assert names(result) == ["api"]
    assert result.problems == ()


# --- bad text ------------------------------------------------------------------------------


def test_malformed_yaml_loses_only_its_document(tmp_path: Path) -> None:
    broken = "apiVersion: v1\nkind: Service\nmetadata:\n  name: x: y\n"
    path = write(tmp_path / "three.yaml", service("a") + "---\n" + broken + "---\n" + service("c"))

    result = load(path)

    assert names(result) == ["a", "c"]
    [problem] = result.problems
    assert problem.severity is Severity.ERROR
    assert problem.code == "malformed-source"
    assert problem.subject == f"{path}:12"
    assert problem.reason.startswith("could not parse YAML: mapping values are not allowed")


def test_an_unclosed_quote_names_where_it_was_opened() -> None:
    text = service("a") + "---\nkind: Service\nmetadata:\n  name: 'open\n"

    [problem] = load_text(text, "q.yaml").problems

    assert problem.reason == (
        "could not parse YAML: found unexpected end of stream "
        "(while scanning a quoted scalar started on line 11)"
    )


def test_a_control_character_is_reported_at_its_line() -> None:
    text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: é\x07\n"

    [problem] = load_text(text, "bell.yaml").problems

    assert problem.subject == "bell.yaml:4"
    assert problem.reason.startswith("could not parse YAML: unacceptable character #x0007")


def test_an_impossible_timestamp_is_reported_at_its_document() -> None:
    [problem] = load_text("a: 1\n---\nwhen: 2024-02-30\n", "date.yaml").problems

    assert problem.subject == "date.yaml:2"
    assert problem.reason == "could not parse YAML: day is out of range for month"


@pytest.mark.parametrize("value", ["!!int abc", "!!bool maybe", "!!timestamp abc"])
def test_a_value_that_does_not_fit_its_tag_is_a_problem_not_a_crash(value: str) -> None:
    [problem] = load_text(f"{service('a')}---\nkind: Service\nx: {value}\n", "tag.yaml").problems

    assert problem.subject == "tag.yaml:8"
    assert problem.code == "malformed-source"


def test_anchors_and_aliases_are_read() -> None:
    text = """\
apiVersion: v1
kind: Secret
metadata:
  name: a
  labels: &labels {app: shop}
  annotations: *labels
"""
    [manifest] = load_text(text, "anchors.yaml").manifests

    assert manifest.labels == manifest.annotations == {"app": "shop"}


def test_an_alias_inside_itself_is_refused() -> None:
    text = "apiVersion: v1\nkind: Service\nmetadata: &m {name: loop, self: [*m]}\n"

    [problem] = load_text(text, "loop.yaml").problems

    assert problem.reason == "could not parse YAML: an alias refers to a node that contains it"


def test_a_billion_laughs_is_refused() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    text = "apiVersion: v1\nkind: Service\nmetadata: {name: lol}\n" + "\n".join(levels) + "\n"

    result = load_text(text, "lol.yaml")

    assert result.manifests == ()
    assert (
        result.problems[0].reason == "could not parse YAML: aliases expand it far beyond its size"
    )


def test_malformed_json_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.json", '{\n  "kind": "Service",\n  "metadata": {"name": }\n}\n')

    result = load(path)

    assert result.manifests == ()
    [problem] = result.problems
    assert problem.subject == f"{path}:3"
    assert problem.reason.startswith("could not parse JSON: expecting value")


def test_bytes_that_are_not_utf8_are_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")

    [problem] = load(path).problems

    assert problem.subject == f"{path}:2"
    assert problem.code == "malformed-source"


def test_a_file_name_with_control_characters_is_escaped_in_problems(tmp_path: Path) -> None:
    path = write(tmp_path / "evil\nname.yaml", "a: b: c\n")

    [problem] = load(path).problems

    assert "\n" not in str(problem)
    assert "evil\\nname.yaml:1" in str(problem.subject)


# --- objects -------------------------------------------------------------------------------


def test_other_kinds_and_non_objects_are_skipped_silently() -> None:
    text = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
- just
- strings
---
plain scalar
---
kind: Service
metadata: {name: no-api-version}
---
apiVersion: v1
metadata: {name: no-kind}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: knative}
"""
    result = load_text(text, "mixed.yaml")

    assert result.manifests == ()
    assert result.problems == ()


def test_an_unsupported_version_of_a_known_kind_is_reported() -> None:
    text = "apiVersion: networking.k8s.io/v2\nkind: Ingress\nmetadata: {name: web}\n"

    [problem] = load_text(text, "v2.yaml").problems

    assert (problem.severity, problem.code) == (Severity.WARNING, "unsupported-api-version")
    assert problem.subject == "v2.yaml:1"


def test_namespaces_default_and_cluster_scoped_kinds_have_none() -> None:
    text = """\
apiVersion: v1
kind: Service
metadata: {name: api}
---
apiVersion: v1
kind: Secret
metadata: {name: tls, namespace: shop}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx, namespace: ignored}
"""
    result = load_text(text, "ns.yaml")

    assert [m.key for m in result.manifests] == [("default", "api"), ("shop", "tls"), ("", "nginx")]


@pytest.mark.parametrize("metadata", ["{}", "{name: 42}", "{generateName: web-}", "null"])
def test_an_object_without_a_string_name_is_reported_and_skipped(metadata: str) -> None:
    text = f"{service('ok')}---\napiVersion: v1\nkind: Service\nmetadata: {metadata}\n"

    result = load_text(text, "names.yaml")

    assert names(result) == ["ok"]
    [problem] = result.problems
    assert (problem.severity, problem.code) == (Severity.ERROR, "invalid-object")
    assert (problem.subject, problem.field) == ("names.yaml:8", "metadata.name")


def test_a_namespace_that_is_not_a_string_is_reported() -> None:
    text = "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: [x]}\n"

    [problem] = load_text(text, "ns.yaml").problems

    assert (problem.code, problem.field) == ("invalid-object", "metadata.namespace")


@pytest.mark.parametrize("api_version", ["networking.k8s.io/v1beta1", "extensions/v1beta1"])
def test_legacy_ingresses_are_loaded_as_v1(api_version: str) -> None:
    text = f"""\
apiVersion: {api_version}
kind: Ingress
metadata: {{name: web}}
spec:
  backend: {{serviceName: fallback, servicePort: 8080}}
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /api
        backend: {{serviceName: api, servicePort: http}}
"""
    [manifest] = load_text(text, "legacy.yaml").manifests

    assert manifest.body["apiVersion"] == "networking.k8s.io/v1"
    spec = manifest.body["spec"]
    assert spec["defaultBackend"] == {"service": {"name": "fallback", "port": {"number": 8080}}}
    assert spec["rules"][0]["http"]["paths"][0] == {
        "path": "/api",
        "pathType": "ImplementationSpecific",
        "backend": {"service": {"name": "api", "port": {"name": "http"}}},
    }


# --- watch mode ----------------------------------------------------------------------------


def test_a_parse_cache_reuses_unchanged_files_and_sees_every_change(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", service("a"))
    changed = write(tmp_path / "b.yaml", service("b"))
    removed = write(tmp_path / "c.yaml", service("c"))
    cache = ParseCache()
    first = load_sources([str(tmp_path)], cache=cache)

    changed.write_text(service("b2"))
    removed.unlink()
    second = load_sources([str(tmp_path)], cache=cache)

    assert names(second) == ["a", "b2"]
    assert second.manifests[0] is first.manifests[0]
    write(tmp_path / "c.yaml", service("c"))
    assert names(load_sources([str(tmp_path)], cache=cache)) == ["a", "b2", "c"]
