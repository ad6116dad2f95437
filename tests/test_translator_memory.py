"""What watch mode remembers between passes never makes a result stale.

A `Translator` keeps, per `Manifest` object, what it derived from that object alone; a
`Renderer` keeps server and upstream blocks. The file source hands out the same Manifest for
an unchanged file and a new one for a changed file, so every test here edits files as a
person or a tool would, reads them through the watch loop's real `FileSource`, and checks
that the long-lived translator and renderer give exactly what fresh ones give — and that the
unchanged objects were not looked at again. No timing is asserted anywhere.
"""

from __future__ import annotations

import dataclasses
import datetime
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e import Obj, ingress, path, rule, service, to
from golden_cases import all_cases, args_of, inputs_of
from tls_secrets import secrets_from_spec, tls_secret
from watchrun import write_manifests

import ingress2nginx.normalize.normalizing
from ingress2nginx.cli.main import build_parser
from ingress2nginx.cli.options import settings_from
from ingress2nginx.core.errors import ObjectRef
from ingress2nginx.core.objects import Inventory, Manifest, ManifestMemo
from ingress2nginx.core.settings import Settings
from ingress2nginx.features import DEFAULT_OPTIONS, IngressOptions
from ingress2nginx.model import (
    Endpoint,
    Location,
    Match,
    Origin,
    ProxyToUpstream,
    Server,
    Upstream,
    compared_fields,
)
from ingress2nginx.normalize.certificates import Certificates
from ingress2nginx.normalize.endpoints import (
    PortEndpoints,
    legacy_endpoints,
    merged,
    slice_endpoints,
)
from ingress2nginx.normalize.normalizing import Translation, Translator, normalize
from ingress2nginx.render.rendering import Renderer
from ingress2nginx.sources.loading import ParseCache, load_sources
from ingress2nginx.watch.files import FileSource

SETTINGS = Settings(resolver=("127.0.0.1",))


# --------------------------------------------------------------------------- the memo


def _manifest(name: str) -> Manifest:
    return Manifest("Service", "default", name, {"metadata": {"name": name}}, "test")


def test_a_memo_derives_once_per_manifest_object_and_forgets_what_a_pass_did_not_ask_for() -> None:
    memo: ManifestMemo[str] = ManifestMemo()
    derived: list[str] = []

    def derive(manifest: Manifest) -> str:
        derived.append(manifest.name)
        return manifest.name.upper()

    first, second = _manifest("a"), _manifest("b")
    assert memo.get(first, derive) == "A" and memo.get(second, derive) == "B"
    memo.forget_unused()
    assert memo.get(first, derive) == "A"  # remembered from the previous pass
    memo.forget_unused()  # `second` was not asked for in that pass
    assert len(memo) == 1
    assert memo.get(second, derive) == "B"
    assert derived == ["a", "b", "b"]


def test_a_memo_tells_equal_but_distinct_manifests_apart() -> None:
    memo: ManifestMemo[int] = ManifestMemo()
    one, same_content = _manifest("a"), _manifest("a")
    calls: list[Manifest] = []
    memo.get(one, lambda m: calls.append(m) or 1)
    memo.get(same_content, lambda m: calls.append(m) or 2)
    assert calls == [one, same_content]


def test_a_memo_without_keep_remembers_nothing() -> None:
    memo: ManifestMemo[int] = ManifestMemo(keep=False)
    calls: list[Manifest] = []
    manifest = _manifest("a")
    for _ in range(2):
        memo.get(manifest, lambda m: calls.append(m) or 1)
    memo.forget_unused()
    assert len(calls) == 2 and len(memo) == 0


# --------------------------------------------------------------------------- golden parity


def _case_settings(case: Path, runtime: Path) -> Settings:
    fixed = ["--resolver", "10.96.0.10", "--runtime-dir", str(runtime)]
    files = [str(item) for item in inputs_of(case)]
    return settings_from(build_parser().parse_args(["render", *files, *fixed, *args_of(case)]))


@pytest.mark.parametrize("case", all_cases(), ids=lambda case: case.name)
def test_a_translator_and_a_renderer_kept_between_passes_give_what_fresh_ones_give(
    case: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "input"
    folder.mkdir()
    for item in inputs_of(case):
        (folder / item.name).write_bytes(item.read_bytes())
    secrets = secrets_from_spec(case / "tls-secrets")
    if secrets:
        (folder / "generated-secrets.yaml").write_text(yaml.safe_dump_all(secrets))
    settings = _case_settings(case, tmp_path / "run")
    cache, translator, renderer = ParseCache(), Translator(settings), Renderer(settings)
    for _ in range(3):
        loaded = load_sources([str(folder)], cache=cache)
        inventory = Inventory.build(loaded.manifests)
        remembered = translator.translate(inventory)
        assert remembered == normalize(inventory, settings)
        text = renderer.render(remembered.config)
        assert text == Renderer(settings).render(remembered.config)


# --------------------------------------------------------------------------- edits in watch mode


def _slice(name: str, addresses: list[Any], port_name: str = "http") -> Obj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": "web"},
        },
        "addressType": "IPv4",
        "ports": [{"name": port_name, "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": addresses, "conditions": {"ready": True}}],
    }


def _site(name: str, host: str, *paths: str, annotations: dict[str, str] | None = None) -> Obj:
    return ingress(
        name,
        rules=[rule(host, *(path(value, to("web")) for value in paths))],
        annotations=annotations,
        created=f"2024-01-0{1 + int(name[-1])}T00:00:00Z",
    )


def _tls_site(host: str, secret: str) -> Obj:
    site = _site("site3", host, "/")
    site["spec"]["tls"] = [{"hosts": [host], "secretName": secret}]
    return site


class Watched:
    """A folder of manifest files read through `FileSource`, with a long-lived translator
    and renderer, as ``ingress2nginx watch`` keeps them."""

    def __init__(self, folder: Path, validated: list[str]) -> None:
        self.folder = folder
        self.source = FileSource([str(folder)])
        self.translator = Translator(SETTINGS)
        self.renderer = Renderer(SETTINGS)
        self._validated = validated
        self.validated: list[str] = []
        """The Ingresses the translator validated in the last pass."""

    def write(self, name: str, *objects: Obj) -> None:
        write_manifests(self.folder / name, objects)

    def translate(self) -> tuple[Translation, str]:
        """One pass; asserts it equals a fresh translation and rendering of the same input."""
        inventory = Inventory.build(self.source.snapshot().manifests)
        before = len(self._validated)
        translation = self.translator.translate(inventory)
        self.validated = self._validated[before:]
        assert translation == normalize(inventory, SETTINGS)
        text = self.renderer.render(translation.config)
        assert text == Renderer(SETTINGS).render(translation.config)
        return translation, text


@pytest.fixture
def watched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Watched]:
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        state = Watched(Path(folder), _validated(monkeypatch))
        state.write("site1.yaml", _site("site1", "one.test", "/", "/api"))
        state.write("site2.yaml", _site("site2", "two.test", "/"))
        state.write("web.yaml", service("web"), _slice("web-a", ["10.0.0.2", "10.0.0.1"]))
        yield state
        state.source.stop()


def _validated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the Ingresses validated from now on, in order."""
    seen: list[str] = []
    real = ingress2nginx.normalize.normalizing.validate_ingress

    def counting(manifest: Manifest) -> Any:
        seen.append(manifest.name)
        return real(manifest)

    monkeypatch.setattr(ingress2nginx.normalize.normalizing, "validate_ingress", counting)
    return seen


def test_an_edited_ingress_is_translated_again_and_only_it(watched: Watched) -> None:
    watched.translate()
    assert sorted(watched.validated) == ["site1", "site2"]
    watched.translate()
    assert watched.validated == []
    watched.write("site1.yaml", _site("site1", "one.test", "/", "/v2"))
    _, text = watched.translate()
    assert "location /v2/" in text and "location /api/" not in text
    assert watched.validated == ["site1"]


def test_an_ingress_made_invalid_by_an_edit_is_rejected_and_valid_again_after_the_next(
    watched: Watched,
) -> None:
    watched.translate()
    # an invalid path (an invalid annotation value is only ignored, as in ingress-nginx)
    watched.write("site2.yaml", _site("site2", "two.test", "/a//b"))
    translation, text = watched.translate()
    assert "server_name two.test" not in text
    rejected = [p.subject for p in translation.problems if p.code == "rejected"]
    assert rejected == [ObjectRef("Ingress", "default", "site2")]
    watched.write("site2.yaml", _site("site2", "two.test", "/"))
    translation, text = watched.translate()
    assert "server_name two.test" in text
    assert not any(p.code == "rejected" for p in translation.problems)


def test_changed_endpoints_change_the_upstream_and_bad_addresses_are_reported_every_pass(
    watched: Watched,
) -> None:
    _, text = watched.translate()
    assert text.index("10.0.0.1:8080") < text.index("10.0.0.2:8080")
    watched.write("web.yaml", service("web"), _slice("web-a", ["10.0.0.3", "not-an-ip"]))
    for _ in range(2):  # the second pass finds the slice remembered: still reported
        translation, text = watched.translate()
        assert "10.0.0.3:8080" in text and "10.0.0.1:8080" not in text
        assert [p.code for p in translation.problems].count("invalid-endpoint") == 1


def test_a_service_port_is_resolved_again_when_only_its_slices_or_only_the_service_change(
    watched: Watched,
) -> None:
    watched.write("web.yaml", service("web"))
    watched.write("slices.yaml", _slice("web-a", ["10.0.0.1"]))
    _, text = watched.translate()
    assert "server 10.0.0.1:8080;" in text
    watched.write("slices.yaml", _slice("web-a", ["10.0.0.4"]))
    _, text = watched.translate()
    assert "server 10.0.0.4:8080;" in text and "10.0.0.1" not in text
    watched.write("web.yaml", service("web", port_name="other"))
    translation, text = watched.translate()
    assert "10.0.0.4" not in text and "no ready endpoints" in str(translation.problems)
    (watched.folder / "slices.yaml").unlink()
    watched.write("web.yaml", service("web"))
    _, text = watched.translate()
    assert "web.default.svc.cluster.local:80" in text  # no endpoint objects: DNS


def test_a_second_slice_of_the_service_is_merged_in_address_order(watched: Watched) -> None:
    watched.translate()
    watched.write(
        "web.yaml",
        service("web"),
        _slice("web-a", ["10.0.0.2", "10.0.0.1"]),
        _slice("web-b", ["10.0.0.10", "10.0.0.2"]),
    )
    _, text = watched.translate()
    servers = [line.strip() for line in text.splitlines() if line.strip().startswith("server 10.")]
    assert servers == ["server 10.0.0.1:8080;", "server 10.0.0.2:8080;", "server 10.0.0.10:8080;"]


def test_a_replaced_tls_secret_is_parsed_again(watched: Watched) -> None:
    watched.write("site3.yaml", _tls_site("three.test", "three"))
    watched.write("secret.yaml", tls_secret("default", "three", ["three.test"]))
    translation, _ = watched.translate()
    first = translation.config.certificates[0].chain_pem
    watched.write("secret.yaml", tls_secret("default", "three", ["other.test"]))
    translation, _ = watched.translate()
    assert translation.config.certificates == ()
    assert any("does not cover this host" in p.reason for p in translation.problems)
    watched.write("secret.yaml", tls_secret("default", "three", ["three.test"]))
    translation, _ = watched.translate()
    assert translation.config.certificates[0].chain_pem != first  # a new certificate


def _server_of(servers: tuple[Server, ...], host: str) -> Server:
    return next(server for server in servers if server.host == host)


def test_a_host_is_laid_out_again_when_another_ingress_changes_its_fallback(
    watched: Watched,
) -> None:
    second = _slice("web2-a", ["10.0.0.9"])
    second["metadata"]["labels"] = {"kubernetes.io/service-name": "web2"}
    watched.write("web2.yaml", service("web2"), second)
    watched.write("site1.yaml", _site("site1", "one.test", "/api"))
    created = "2024-01-01T00:00:00Z"
    watched.write("fallback.yaml", ingress("fallback", default_backend=to("web"), created=created))
    before = watched.translate()[0].config.servers
    watched.write("fallback.yaml", ingress("fallback", default_backend=to("web2"), created=created))
    after = watched.translate()[0].config.servers
    root = next(item for item in _server_of(after, "one.test").locations if item.path == "/")
    assert getattr(root.action, "upstream", None) == "default_web2_80"
    assert _server_of(after, "two.test") is not _server_of(before, "two.test")


def test_an_unchanged_host_keeps_its_server_object_between_passes(watched: Watched) -> None:
    before = {server.host: server for server in watched.translate()[0].config.servers}
    watched.write("site1.yaml", _site("site1", "one.test", "/", "/v2"))
    after = {server.host: server for server in watched.translate()[0].config.servers}
    assert after["two.test"] is before["two.test"]
    assert after["one.test"] is not before["one.test"]


def _claims_of(watched: Watched, name: str) -> dict[str, Any]:
    """The claims the translator remembers for the Ingress `name` (by field path)."""
    manifest = next(m for m in watched.source.snapshot().manifests if m.name == name)

    def never(_: Manifest) -> dict[str, Any]:
        raise AssertionError(f"no claims remembered for {name}")

    return dict(watched.translator.claims.get(manifest, never))


def test_a_claim_is_made_again_only_when_its_backend_resolves_differently(
    watched: Watched,
) -> None:
    watched.translate()
    first = _claims_of(watched, "site2")
    watched.write("site1.yaml", _site("site1", "one.test", "/", "/v2"))
    watched.translate()
    again = _claims_of(watched, "site2")
    assert again.keys() == first.keys()
    assert all(again[where] is first[where] for where in first)
    watched.write("web.yaml", service("web"))  # no endpoint objects: DNS at request time
    _, text = watched.translate()
    moved = _claims_of(watched, "site2")
    assert all(moved[where] is not first[where] for where in first)
    assert all(getattr(claim.action, "upstream", None) is None for claim in moved.values())
    assert "web.default.svc.cluster.local:80" in text


def test_a_removed_file_takes_its_objects_and_what_was_remembered_of_them(
    watched: Watched,
) -> None:
    watched.translate()
    (watched.folder / "site2.yaml").unlink()
    _, text = watched.translate()
    assert "server_name two.test" not in text
    assert len(watched.translator.accepted) == 1


# --------------------------------------------------------------------------- certificates


def test_a_remembered_certificate_expires_when_its_time_comes() -> None:
    secret = Manifest(
        "Secret", "default", "site", tls_secret("default", "site", ["site.test"]), "test"
    )
    inventory = Inventory.build([secret])
    memo: Any = ManifestMemo()
    today = datetime.datetime.now(datetime.UTC)
    valid = Certificates(inventory, today, memo).lookup("default", "site")
    later = today + datetime.timedelta(days=60)  # the test certificate lasts 30 days
    expired = Certificates(inventory, later, memo).lookup("default", "site")
    assert not isinstance(valid, str) and not isinstance(expired, str)
    assert not valid.expired and expired.expired
    assert valid.file is expired.file  # parsed once


# --------------------------------------------------------------------------- endpoints


def _slice_manifest(addresses: list[Any], port_name: str = "http") -> Manifest:
    return Manifest("EndpointSlice", "default", "s", _slice("s", addresses, port_name), "t")


def test_endpoints_are_parsed_once_each_in_canonical_form_and_order() -> None:
    found = slice_endpoints(_slice_manifest(["10.0.0.9", "::1", "10.0.0.10", "0:0::1"]), "http")
    assert found.endpoints == (
        Endpoint("10.0.0.9", 8080),
        Endpoint("10.0.0.10", 8080),
        Endpoint("::1", 8080),
    )
    assert found.skipped == ()


def test_addresses_that_are_not_ips_are_skipped_with_their_field() -> None:
    found = slice_endpoints(_slice_manifest(["10.0.0.1", "fe80::1%eth0", "web"]), "http")
    assert found.endpoints == (Endpoint("10.0.0.1", 8080),)
    assert [field for field, _ in found.skipped] == ["endpoints[0].addresses"] * 2


def test_a_slice_without_the_port_name_gives_nothing() -> None:
    assert slice_endpoints(_slice_manifest(["10.0.0.1"], "grpc"), "http") == PortEndpoints(
        (), (), ()
    )


def test_merging_slices_keeps_each_endpoint_once_in_order() -> None:
    one = slice_endpoints(_slice_manifest(["10.0.0.3", "10.0.0.1"]), "http")
    two = slice_endpoints(_slice_manifest(["10.0.0.2", "10.0.0.3"]), "http")
    assert [str(e) for e in merged([one, two])] == ["10.0.0.1:8080", "10.0.0.2:8080",
                                                   "10.0.0.3:8080"]  # fmt: skip


def test_legacy_endpoints_report_what_they_skip() -> None:
    body = {
        "subsets": [
            {"addresses": [{"ip": "10.0.0.1"}, {"ip": 7}], "ports": [{"name": "http", "port": 80}]}
        ]
    }
    found = legacy_endpoints(Manifest("Endpoints", "default", "web", body, "t"), "http")
    assert found.endpoints == (Endpoint("10.0.0.1", 80),)
    assert found.skipped == (("subsets[0].addresses", '"7" is not an IP address; skipped'),)


# --------------------------------------------------------------------------- remembered hashes


def _location(path_value: str = "/", options: IngressOptions = DEFAULT_OPTIONS) -> Location:
    action = ProxyToUpstream("default_web_80", "default/web:80")
    return Location(Match.PREFIX, path_value, action, Origin("default", "a", "spec"),
                    options=options)  # fmt: skip


def test_records_that_remember_their_hash_still_compare_and_hash_by_every_field() -> None:
    for record_type in (Server, Upstream, IngressOptions):
        names = {item.name for item in dataclasses.fields(record_type) if item.compare}
        assert "_hash" not in names and "_hash" in record_type.__slots__
    assert len(compared_fields(Server)(Server("a", (), False, ()))) == 11  # port, listens_*, sni
    location = _location()
    moved = dataclasses.replace(location, path="/b")
    tuned = IngressOptions(proxy=dataclasses.replace(DEFAULT_OPTIONS.proxy, read_timeout=5))
    assert _location(options=tuned) != location
    assert hash(tuned) == hash(dataclasses.replace(tuned)) and tuned != DEFAULT_OPTIONS
    server = Server("a.test", ("a.test",), False, (location,))
    assert hash(server) == hash(Server("a.test", ("a.test",), False, (_location(),)))
    assert server == Server("a.test", ("a.test",), False, (_location(),))
    assert "_hash" not in repr(server)
    other = dataclasses.replace(server, locations=(moved,))
    assert other._hash is None and other != server
    upstream = Upstream("u", "default/web:80", (Endpoint("10.0.0.1", 80),))
    assert hash(upstream) == hash(dataclasses.replace(upstream))
    assert upstream != dataclasses.replace(upstream, endpoints=(Endpoint("10.0.0.2", 80),))
