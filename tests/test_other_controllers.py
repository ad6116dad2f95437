"""Other controllers' annotations are named by check (on served Ingresses) and by the
migration report (on every Ingress), with the nearest ingress-nginx annotation."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e import ingress, manifest_text, path, rule, to
from golden_cases import run_cli

from ingress2nginx.features import PREFIX, REGISTRY
from ingress2nginx.report.other_controllers import (
    CONTROLLERS,
    EQUIVALENTS,
    controller_of,
    equivalent_of,
)

DOC = Path(__file__).parent.parent / "docs" / "migrate-from-ingress-nginx.md"


@pytest.mark.parametrize("key", sorted(EQUIVALENTS))
def test_each_equivalent_is_a_known_annotation_of_a_known_controller(key: str) -> None:
    assert controller_of(key) is not None
    name = EQUIVALENTS[key].annotation
    assert name is None or name in REGISTRY


def test_the_docs_hold_the_same_table() -> None:
    rows = {line.split("|")[1].strip(" `"): line for line in DOC.read_text().splitlines()
            if line.startswith("| `")}  # fmt: skip
    for key, equivalent in EQUIVALENTS.items():
        assert key in rows, f"{key} is not in {DOC.name}"
        nearest = f"`{equivalent.annotation}`" if equivalent.annotation else "| — |"
        assert nearest in rows[key], rows[key]
    for prefix, _ in CONTROLLERS:
        assert f"`{prefix}`" in DOC.read_text()


def test_ours_and_unrelated_annotations_are_not_another_controllers() -> None:
    for key in (PREFIX + "rewrite-target", "cert-manager.io/cluster-issuer",
                "kubernetes.io/ingress.class", "example.com/ingress.kubernetes.io/x"):  # fmt: skip
        assert controller_of(key) is None


def test_old_ingress_nginx_names_map_to_the_current_prefix() -> None:
    found = equivalent_of("ingress.kubernetes.io/whitelist-source-range")
    assert found is not None and found.annotation == "whitelist-source-range"
    assert equivalent_of("ingress.kubernetes.io/no-such-thing") is None


def moved(name: str, class_name: str = "nginx") -> dict[str, object]:
    annotations = {
        "nginx.org/client-max-body-size": "8m",
        "traefik.ingress.kubernetes.io/router.tls": "true",
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "cert-manager.io/cluster-issuer": "letsencrypt",
    }
    body = ingress(name, rules=[rule(f"{name}.test", path("/", to("web")))],
                   annotations=annotations)  # fmt: skip
    body["spec"]["ingressClassName"] = class_name  # type: ignore[index]
    return body


def test_check_warns_about_each_on_served_ingresses_only(tmp_path: Path) -> None:
    source = tmp_path / "in.yaml"
    source.write_text(manifest_text([moved("served"), moved("elsewhere", class_name="alb")]))
    done = run_cli(["check", str(source)])
    lines = [line for line in done.messages.splitlines() if "other" not in line and
             "ignored here" in line]  # fmt: skip
    assert lines == [
        "warning: ingress default/served: metadata.annotations[alb.ingress.kubernetes.io/scheme]:"
        " an annotation of the AWS Load Balancer Controller, ignored here; no nearest"
        " ingress-nginx annotation known",
        "warning: ingress default/served: metadata.annotations[nginx.org/client-max-body-size]:"
        " an annotation of NGINX Inc.'s NGINX Ingress Controller, ignored here; nearest"
        " ingress-nginx annotation: nginx.ingress.kubernetes.io/proxy-body-size",
        "warning: ingress default/served:"
        " metadata.annotations[traefik.ingress.kubernetes.io/router.tls]: an annotation of"
        " Traefik, ignored here; no ingress-nginx annotation: spec.tls decides which hosts get"
        " HTTPS",
    ]
    assert done.code == 1
    assert "ignored here" not in run_cli(["render", str(source)]).messages


def test_the_migration_report_lists_them_for_every_ingress(tmp_path: Path) -> None:
    source = tmp_path / "in.yaml"
    source.write_text(manifest_text([moved("served"), moved("elsewhere", class_name="alb")]))
    report = run_cli(["migration-report", str(source)]).config
    assert "| annotations of other controllers | 6 |" in report
    row = ("| `nginx.org/client-max-body-size` | `8m` | nearest ingress-nginx annotation:"
           " nginx.ingress.kubernetes.io/proxy-body-size |")  # fmt: skip
    assert report.count(row) == 2
    assert "cert-manager.io" not in report
